"""Secrets never reach the logs, on any alert path.

Every alert path runs with distinctive AWS credentials (an access key id, a secret access key and a
session token, as Lambda gives a function) and every log captured at DEBUG: the package's standard
``logging`` records and botocore's (``caplog``, the root logger at DEBUG) and the Powertools JSON
lines the handlers print to stdout (``capfd``, the handler's logger at DEBUG). Then the secret
access key, the session token and, for Slack, the webhook URL and its token part are searched for.

* the watcher through its real handler on moto: LOST, RESTORED, UNKNOWN, UNWATCHED and DELETED;
* the Slack function with the webhook URL in moto's Secrets Manager, posting each of those alerts to
  the 127.0.0.1 stand-in of tests/integration/test_slack_function.py (success and a failed post).

Docs: Lambda's credentials environment https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from faults import injection
from faults.conftest import build_world
from faults.injection import ACCESS_DENIED, Mode, client
from faults.stack import (
    POLICY_ARN,
    ROLE,
    ROLE_ARN,
    TAG_KEY,
    USER,
    USER_ARN,
    drain,
    event,
    fresh_watcher,
    load_handler,
)
from integration.test_slack_function import SlackStandIn, alert_document, app, put_secret, slack, sns_event
from restorewatch.alerts.slack_send import SlackDeliveryError
from restorewatch.domain import AlertKind
from restorewatch_cli.local.invoke import LocalLambdaContext

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

    from faults.conftest import World

pytestmark = pytest.mark.slow  # every alert path through the real handlers on moto

__all__ = ["app", "slack"]  # fixtures of the Slack harness, reused

ACCESS_KEY = "ASIAQRESTOREWATCH7Q"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYRWSECRETKEY42"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEPr//////////RESTOREWATCHSESSIONTOKEN/abc123+xyz=="


def use_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside ``mock_aws`` (which sets credentials of its own when it starts)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("AWS_SECURITY_TOKEN", SESSION_TOKEN)  # botocore reads this one first
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    # a fresh boto3 session (the suite shares one per process): it reads these credentials
    monkeypatch.setattr(injection, "_SESSIONS", {})


# botocore's own DEBUG records print every signed request, session token included (the canonical
# request); neither function ever enables them: the watcher leaves botocore at the runtime's level
# (``test_watcher_handler_never_turns_on_sdk_debug_logs``), the Slack function caps it at INFO.
SDK_LOGGERS = ("botocore", "boto3", "urllib3")


def quiet_sdk(caplog: pytest.LogCaptureFixture) -> None:
    for name in SDK_LOGGERS:
        caplog.set_level(logging.INFO, logger=name)


def assert_no_secret(logs: str, *secrets: str) -> None:
    assert logs, "nothing was logged: the capture is not working"
    for secret in (SECRET_KEY, SESSION_TOKEN, *secrets):
        assert secret not in logs
    assert SECRET_KEY.rsplit("/", maxsplit=1)[-1] not in logs
    assert SESSION_TOKEN[-24:] not in logs


@pytest.fixture
def logged_world(
    aws: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> Iterator[World]:
    use_credentials(monkeypatch)
    caplog.set_level(logging.DEBUG)
    quiet_sdk(caplog)
    try:
        world = build_world(monkeypatch)
        handler_logger = load_handler().logger
        level = handler_logger.log_level
        handler_logger.setLevel("DEBUG")
        yield world
        handler_logger.setLevel(level)
    finally:
        fresh_watcher()


def _kinds(world: World) -> list[tuple[str, str]]:
    return [(a["kind"], a["principal"]["arn"]) for a in world.stack.alerts()]


def test_watcher_alert_paths_never_log_credentials(
    logged_world: World, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    world = logged_world
    iam = client("iam")
    seen: list[tuple[str, str]] = []
    world.stack.invoke_sweep()
    assert world.stack.alerts() == []

    iam.detach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)  # LOST
    world.stack.send(event("iam-DetachRolePolicy", roleName=ROLE, policyArn=POLICY_ARN))
    drain(world.stack)
    seen += _kinds(world)

    iam.attach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)  # RESTORED
    world.stack.send(event("iam-AttachRolePolicy", roleName=ROLE, policyArn=POLICY_ARN))
    drain(world.stack)
    seen += _kinds(world)

    world.injector.inject("iam.GetUserPolicy", ACCESS_DENIED, Mode.EVERY)  # UNKNOWN
    world.stack.send(event("iam-PutUserPolicy", userName=USER, policyName="notes"))
    drain(world.stack)
    world.injector.clear()
    seen += _kinds(world)
    world.stack.invoke_sweep()  # readable again: the user is back to compliant (RESTORED)
    seen += _kinds(world)

    iam.untag_user(UserName=USER, TagKeys=[TAG_KEY])  # UNWATCHED
    world.stack.invoke_sweep()
    seen += _kinds(world)

    for name in [p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]]:
        iam.detach_role_policy(RoleName=ROLE, PolicyArn=f"arn:aws:iam::111122223333:policy/{name}")
    for name in iam.list_role_policies(RoleName=ROLE)["PolicyNames"]:
        iam.delete_role_policy(RoleName=ROLE, PolicyName=name)
    iam.delete_role(RoleName=ROLE)  # DELETED
    world.stack.send(event("iam-DeleteRole", roleName=ROLE))
    drain(world.stack)
    seen += _kinds(world)

    assert {kind for kind, _ in seen} == {"LOST", "RESTORED", "UNKNOWN", "UNWATCHED", "DELETED"}, seen
    assert ("LOST", ROLE_ARN) in seen
    assert ("DELETED", ROLE_ARN) in seen
    assert ("UNKNOWN", USER_ARN) in seen
    out, err = capfd.readouterr()
    logs = caplog.text + out + err
    assert '"service":"restorewatch"' in out  # the handler's Powertools JSON lines were captured
    assert "restorewatch.watch" in caplog.text  # and the package's own records
    assert_no_secret(logs)


ALERT_KINDS = [AlertKind.LOST, AlertKind.RESTORED, AlertKind.UNKNOWN, AlertKind.UNWATCHED, AlertKind.DELETED]


@pytest.mark.parametrize("kind", ALERT_KINDS)
def test_slack_alert_paths_never_log_the_webhook_or_credentials(
    app: ModuleType,
    slack: SlackStandIn,
    monkeypatch: pytest.MonkeyPatch,
    *,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    kind: AlertKind,
) -> None:
    use_credentials(monkeypatch)
    put_secret(slack.url, monkeypatch)
    caplog.set_level(logging.DEBUG)
    quiet_sdk(caplog)
    app.logger.setLevel("DEBUG")
    context = LocalLambdaContext("SlackFunction", str(uuid.uuid4()))
    document: dict[str, Any] = alert_document(kind)
    assert app.lambda_handler(sns_event(document), context) == {"posted": [document["alert_id"]]}
    slack.answer(("500", 0))  # and a post that fails after the retries
    with pytest.raises(SlackDeliveryError):
        app.lambda_handler(sns_event(document), context)
    assert len(slack.payloads) >= 2
    out, err = capfd.readouterr()
    logs = caplog.text + out + err
    token = slack.url.split("/services/", 1)[1]
    assert_no_secret(logs, slack.url, token, token.split("/")[-1])


def test_watcher_handler_never_turns_on_sdk_debug_logs(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """``LOG_LEVEL=DEBUG`` (the template's LogLevel) reaches the handler's own logger only: botocore's
    loggers stay above DEBUG, so signed requests are never logged."""
    use_credentials(monkeypatch)
    world = build_world(monkeypatch)
    try:
        load_handler().logger.setLevel("DEBUG")
        world.stack.invoke_sweep()
        for name in SDK_LOGGERS:
            assert logging.getLogger(name).getEffectiveLevel() > logging.DEBUG, name
    finally:
        fresh_watcher()
