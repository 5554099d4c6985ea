"""The crash windows of the outbox, through the real handler on moto.

The function dies (a ``Crash``, a ``BaseException`` nothing in the watcher catches: a timeout or an
out-of-memory kill) right after an AWS call succeeded, via a botocore ``after-call`` hook on the
watcher's own client (``FaultInjector.crash_after``). The SQS message then comes back after the
queue's visibility timeout (the test moves the clock, ``on_invocation``), as with the event source
mapping, and the next invocation finishes the work.

* after SNS accepted the publish, before the pending alert is cleared: the next run publishes the
  alert again with the SAME ``alert_id`` (at-least-once in that window, never lost); a consumer
  deduplicating by ``alert_id`` sees exactly one alert.
* after the state and its pending alert were saved, before the publish: the next run publishes it
  exactly once.

Docs: Lambda SQS visibility and retries https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from .conftest import queue_visibility_timeout
from .injection import client
from .stack import POLICY_ARN, ROLE, ROLE_ARN, drain, event

if TYPE_CHECKING:
    from .conftest import World
    from .stack import DrainResult

pytestmark = pytest.mark.slow  # the real handler on moto, crashed and redelivered


def _lose_the_role_and_deliver(world: World, crash_after: str) -> DrainResult:
    world.stack.invoke_sweep()
    assert world.stack.alerts() == []  # baseline: compliant, nothing to say
    client("iam").detach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)
    world.injector.crash_after.add(crash_after)
    world.stack.send(event("iam-DetachRolePolicy", roleName=ROLE, policyArn=POLICY_ARN))

    def after_invocation(_: Any) -> None:
        world.clock.advance(queue_visibility_timeout())  # the message comes back only after this

    return drain(world.stack, on_invocation=after_invocation)


def test_crash_after_publish_before_clear_republishes_the_same_alert_id_once(world: World) -> None:
    drained = _lose_the_role_and_deliver(world, "sns.Publish")
    assert drained.crashes == 1  # the first invocation died after SNS took the alert
    assert drained.failed_items == 0
    assert drained.processed == 1  # the redelivered event finished the work
    alerts = world.stack.alerts()
    assert [a["kind"] for a in alerts] == ["LOST", "LOST"]  # at-least-once in this window ...
    assert len({a["alert_id"] for a in alerts}) == 1  # ... with the same id
    deduplicated = {a["alert_id"]: a for a in alerts}  # what a consumer keeps
    assert [a["principal"]["arn"] for a in deduplicated.values()] == [ROLE_ARN]
    state = world.stack.state(ROLE_ARN)
    assert state is not None
    assert state.pending_alert is None
    assert state.status.value == "non_compliant"
    assert world.stack.dead_letters() == []
    # nothing further: another sweep says nothing
    world.injector.clear()
    world.stack.invoke_sweep()
    assert world.stack.alerts() == []


def test_crash_after_state_save_before_publish_publishes_exactly_once(world: World) -> None:
    drained = _lose_the_role_and_deliver(world, "dynamodb.PutItem")
    assert drained.crashes == 1  # died right after the state and its pending alert were saved
    assert drained.processed == 1
    alerts = world.stack.alerts()
    assert [(a["kind"], a["principal"]["arn"]) for a in alerts] == [("LOST", ROLE_ARN)]
    state = world.stack.state(ROLE_ARN)
    assert state is not None
    assert state.pending_alert is None
    assert state.last_alert is not None
    assert state.last_alert.alert_id == alerts[0]["alert_id"]
    assert world.stack.dead_letters() == []
    world.injector.clear()
    world.stack.invoke_sweep()
    assert world.stack.alerts() == []


def test_crash_after_save_is_also_recovered_by_the_sweep_alone(world: World) -> None:
    """The event is gone for good (say it reached the DLQ and nobody redrove it): the next
    scheduled sweep still publishes the pending alert, once."""
    world.stack.invoke_sweep()
    assert world.stack.alerts() == []
    client("iam").detach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)
    world.injector.crash_after.add("dynamodb.PutItem")
    from .injection import Crash
    from .stack import invoke, sqs_records

    body = event("iam-DetachRolePolicy", roleName=ROLE, policyArn=POLICY_ARN)
    import json

    message = {"MessageId": "m1", "ReceiptHandle": "r", "Body": json.dumps(body), "MD5OfBody": "0"}
    try:
        invoke(sqs_records([message], "arn:aws:sqs:us-east-1:111122223333:q"))
    except Crash:
        pass
    else:
        raise AssertionError("the invocation should have died after the save")
    assert world.stack.alerts() == []  # saved, not yet published
    world.clock.advance(queue_visibility_timeout())  # the writer's lease is long expired
    world.stack.invoke_sweep()
    alerts = world.stack.alerts()
    assert [(a["kind"], a["principal"]["arn"]) for a in alerts] == [("LOST", ROLE_ARN)]
