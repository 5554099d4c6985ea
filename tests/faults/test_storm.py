"""Event storms and ordering: 1000 IAM events for 50 principals, shuffled, duplicated, concurrent.

Lambda runs concurrent batches in separate execution environments; here each thread is one: its own
``Watcher`` built by ``watch.config.build_watcher`` from the template's environment (its own
clients), processing SQS batches exactly as the handler does (``process_batch``: a record whose
work is incomplete fails alone). The handler module itself is not shared between threads because
Powertools ``Metrics`` keeps its metric set at class level (one Lambda environment never runs two
invocations at once, so it need not be thread-safe).

moto gap worked around: DynamoDB evaluates a ``ConditionExpression`` and writes atomically; moto's
in-process backend does not lock between threads, so ``atomic_moto_writes`` serialises its item
writes (the condition check and the write), which is what DynamoDB guarantees.
Docs: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html
SQS at-least-once delivery (duplicates): https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/standard-queues-at-least-once-delivery.html
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest

from restorewatch.errors import RestoreWatchError
from restorewatch.watch.config import WatcherConfig, build_watcher
from restorewatch.watch.events import parse_lambda_event
from support.moto_gaps import make_moto_dynamodb_atomic

from .conftest import build_world
from .injection import client
from .report import record_figure
from .stack import ACCOUNT, TRUST, WATCH_TAGS, document, event, profile_actions, sqs_records

if TYPE_CHECKING:
    from restorewatch.watch import Watcher

    from .conftest import World

pytestmark = pytest.mark.slow  # 1000 events through concurrent watchers on moto

# The storm is 1000 events for 50 principals (STORM=full, `make guarantees`, ~12 min on moto:
# each change scans the whole state table, and moto serialises every item). The default run keeps
# the same shape at an eighth of the size so that `make test` stays within its budget.
FULL = os.environ.get("STORM") == "full"
FULL_PRINCIPALS, FULL_EVENTS = 50, 1000
CI_PRINCIPALS, CI_EVENTS = 12, 120
PRINCIPALS = FULL_PRINCIPALS if FULL else CI_PRINCIPALS
EVENTS = FULL_EVENTS if FULL else CI_EVENTS
THREADS = 4
GRANT = "StormGrant"
GRANT_ARN = f"arn:aws:iam::{ACCOUNT}:policy/{GRANT}"


def role_name(index: int) -> str:
    return f"storm-role-{index:02d}"


def role_arn(index: int) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{role_name(index)}"


@pytest.fixture
def atomic_moto_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    make_moto_dynamodb_atomic(monkeypatch)


@pytest.fixture
def storm_world(aws: None, monkeypatch: pytest.MonkeyPatch, atomic_moto_writes: None) -> World:
    world = build_world(monkeypatch, seed=False, fake_clock=False)
    iam = client("iam")
    iam.create_policy(PolicyName=GRANT, PolicyDocument=document(profile_actions()))
    for index in range(PRINCIPALS):
        iam.create_role(RoleName=role_name(index), AssumeRolePolicyDocument=TRUST, Tags=WATCH_TAGS)
        iam.attach_role_policy(RoleName=role_name(index), PolicyArn=GRANT_ARN)
    return world


def process_batch(watcher: Watcher, batch: dict[str, Any]) -> list[str]:
    """What the handler does with an SQS batch; returns the failed message ids."""
    failures = []
    for record in parse_lambda_event(batch).records:
        try:
            if record.error is not None:
                raise record.error
            assert record.change is not None
            if watcher.handle_change(record.change).retryable:
                failures.append(str(record.message_id))
        except RestoreWatchError:
            failures.append(str(record.message_id))
    return failures


def storm(world: World, bodies: list[str]) -> dict[str, int]:
    """Send ``bodies`` to the event queue and drain it with ``THREADS`` concurrent consumers."""
    sqs = client("sqs")
    for start in range(0, len(bodies), 10):
        sqs.send_message_batch(
            QueueUrl=world.stack.queue_url,
            Entries=[
                {"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start : start + 10])
            ],
        )
    queue_arn = sqs.get_queue_attributes(QueueUrl=world.stack.queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    config = WatcherConfig.from_environment()
    stats: Counter[str] = Counter()
    lock = threading.Lock()

    def consumer() -> None:
        watcher = build_watcher(config)  # one execution environment
        idle = 0
        while idle < 3:
            messages = sqs.receive_message(
                QueueUrl=world.stack.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                idle += 1
                continue
            idle = 0
            failed = set(process_batch(watcher, sqs_records(messages, queue_arn)))
            for message in messages:
                if message["MessageId"] not in failed:
                    try:
                        sqs.delete_message(
                            QueueUrl=world.stack.queue_url, ReceiptHandle=message["ReceiptHandle"]
                        )
                    except sqs.exceptions.ReceiptHandleIsInvalid:
                        # the queue's visibility timeout is 0 here: another consumer received the
                        # message again meanwhile (SQS at-least-once); it processes and deletes it
                        with lock:
                            stats["redelivered"] += 1
            with lock:
                stats["batches"] += 1
                stats["records"] += len(messages)
                stats["failed"] += len(failed)

    with ThreadPoolExecutor(THREADS) as pool:
        for future in [pool.submit(consumer) for _ in range(THREADS)]:
            future.result()
    return dict(stats)


def change_event(name: str, index: int, **extra: Any) -> str:
    return json.dumps(event(name, roleName=role_name(index), **extra))


def test_storm_of_1000_events_alerts_each_transition_once_and_matches_a_sweep(storm_world: World) -> None:
    world = storm_world
    rng = random.Random(6)
    iam = client("iam")
    world.stack.invoke_sweep()
    assert world.stack.alerts() == []  # baseline: 50 compliant, nothing to say

    lost = set(range(0, PRINCIPALS * 3 // 10))
    flapped = set(range(PRINCIPALS // 2, PRINCIPALS * 7 // 10))  # Terraform-style detach then re-attach
    restored = set(range(0, PRINCIPALS // 10))  # phase B gives these their grant back
    # phase A: the real changes, then their events (and noise events) in random order
    base_a: list[str] = []
    for index in lost:
        iam.detach_role_policy(RoleName=role_name(index), PolicyArn=GRANT_ARN)
        base_a.append(change_event("iam-DetachRolePolicy", index, policyArn=GRANT_ARN))
    for index in flapped:
        iam.detach_role_policy(RoleName=role_name(index), PolicyArn=GRANT_ARN)
        iam.attach_role_policy(RoleName=role_name(index), PolicyArn=GRANT_ARN)
        base_a.append(change_event("iam-DetachRolePolicy", index, policyArn=GRANT_ARN))
        base_a.append(change_event("iam-AttachRolePolicy", index, policyArn=GRANT_ARN))
    for index in set(range(PRINCIPALS)) - lost - flapped:
        iam.put_role_policy(
            RoleName=role_name(index), PolicyName="noise", PolicyDocument=document(["sqs:ListQueues"])
        )
        base_a.append(change_event("iam-PutRolePolicy", index, policyName="noise"))
    phase_a = base_a + [rng.choice(base_a) for _ in range(EVENTS * 6 // 10 - len(base_a))]  # SQS duplicates
    rng.shuffle(phase_a)
    started = time.perf_counter()
    stats_a = storm(world, phase_a)
    alerts_a = world.stack.alerts()

    # phase B: grants restored, their events mixed with late duplicates of phase A's
    base_b = []
    for index in restored:
        iam.attach_role_policy(RoleName=role_name(index), PolicyArn=GRANT_ARN)
        base_b.append(change_event("iam-AttachRolePolicy", index, policyArn=GRANT_ARN))
    phase_b = base_b + [rng.choice(base_b + phase_a) for _ in range(EVENTS - len(phase_a) - len(base_b))]
    rng.shuffle(phase_b)
    stats_b = storm(world, phase_b)
    elapsed = time.perf_counter() - started
    alerts_b = world.stack.alerts()

    by_key = Counter((a["principal"]["arn"], a["kind"]) for a in alerts_a + alerts_b)
    expected = Counter(
        {(role_arn(i), "LOST"): 1 for i in lost} | {(role_arn(i), "RESTORED"): 1 for i in restored}
    )
    assert by_key == expected, f"unexpected: {by_key - expected}, missing: {expected - by_key}"
    assert {a["principal"]["arn"] for a in alerts_a if a["kind"] == "LOST"} == {role_arn(i) for i in lost}
    assert stats_a["records"] + stats_b["records"] >= EVENTS
    assert stats_a["failed"] + stats_b["failed"] == 0

    # the stored state is what a sweep finds: a sweep changes nothing and alerts nothing
    store = world.stack.store()
    before = {(s.principal, s.profile): (s.status, dict(s.actions)) for s in store.scan_states()}
    world.stack.invoke_sweep()
    assert world.stack.alerts() == []
    after = {(s.principal, s.profile): (s.status, dict(s.actions)) for s in store.scan_states()}
    assert before == after
    statuses = Counter(status.value for status, _ in after.values())
    assert statuses == Counter(
        {"non_compliant": len(lost - restored), "compliant": PRINCIPALS - len(lost - restored)}
    )

    processed = stats_a["records"] + stats_b["records"]
    record_figure("storm", "events delivered (with duplicates)", f"{EVENTS} for {PRINCIPALS} principals")
    record_figure("storm", "concurrent consumers", str(THREADS))
    record_figure(
        "storm", "records processed / failed", f"{processed} / {stats_a['failed'] + stats_b['failed']}"
    )
    record_figure(
        "storm", "alerts (expected = observed)", f"{len(lost)} LOST + {len(restored)} RESTORED, 0 duplicates"
    )
    record_figure("storm", "detach-then-reattach principals alerted", f"0 of {len(flapped)}")
    record_figure("storm", "final state = sweep's result", "yes (the sweep changed nothing, alerted nothing)")
    record_figure("storm", "wall time (moto, in-process)", f"{elapsed:.1f} s")
    record_figure(
        "summary",
        "storm",
        {
            "threads": THREADS,
            "ci_events": CI_EVENTS,
            "ci_principals": CI_PRINCIPALS,
            "full_events": FULL_EVENTS,
            "full_principals": FULL_PRINCIPALS,
        },
    )


def test_detach_then_reattach_in_one_batch_after_settling_gives_no_alert(world: World) -> None:
    """The queue delay (template ``QueueDelaySeconds``) lets a Terraform apply settle: when both
    events arrive in one batch, the watcher reads the settled (unchanged) state and says nothing."""
    from .stack import POLICY_ARN, ROLE, ROLE_ARN, drain

    world.stack.invoke_sweep()
    assert world.stack.alerts() == []
    iam = client("iam")
    iam.detach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)
    iam.attach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)
    world.stack.send(
        event("iam-DetachRolePolicy", roleName=ROLE, policyArn=POLICY_ARN),
        event("iam-AttachRolePolicy", roleName=ROLE, policyArn=POLICY_ARN),
    )
    drained = drain(world.stack)
    assert (drained.invocations, drained.processed, drained.failed_items) == (1, 2, 0)
    assert world.stack.alerts() == []
    state = world.stack.state(ROLE_ARN)
    assert state is not None
    assert state.status.value == "compliant"
    # the watcher did read the principal (the events were not ignored): a real loss is still caught
    iam.detach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)
    world.stack.send(event("iam-DetachRolePolicy", roleName=ROLE, policyArn=POLICY_ARN))
    drain(world.stack)
    assert [a["kind"] for a in world.stack.alerts()] == ["LOST"]
