"""watch.events: what the watcher's Lambda receives, parsed with the Powertools Parser models.

Shapes: CloudTrail via EventBridge
(https://docs.aws.amazon.com/eventbridge/latest/ref/events-structure.html,
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html),
SQS batches (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html) and scheduled events
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from restorewatch.errors import EventError
from restorewatch.profiles import DEFAULT_TAG_KEY
from restorewatch.watch.events import InvocationKind, parse_lambda_event, sweep_event
from restorewatch.watch.org_events import OrgScope, plan_org_change
from restorewatch.watch.targets import KNOWN_EVENT_NAMES, plan_targets

EVENTS = Path(__file__).resolve().parents[3] / "events"
EVENT_FILES = sorted(EVENTS.glob("*.json"))


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


def sqs_record(body: object, message_id: str = "m-1") -> dict[str, Any]:
    batch = load("sqs-batch.json")
    record: dict[str, Any] = batch["Records"][0]
    record["messageId"] = message_id
    record["body"] = body if isinstance(body, str) else json.dumps(body)
    return record


def test_events_directory_has_the_samples() -> None:
    assert len(EVENT_FILES) >= 36


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda p: p.name)
def test_parse_lambda_event_every_sample_parses(path: Path) -> None:
    parsed = parse_lambda_event(json.loads(path.read_text()))
    assert parsed.records
    assert not parsed.errors
    for record in parsed.records:
        assert (record.change is None) != (record.sweep is None)
        assert record.correlation_id


def test_events_every_rule_event_name_has_a_sample() -> None:
    names = set()
    for path in EVENT_FILES:
        if path.name.startswith("iam-"):
            data = json.loads(path.read_text())
            names.add(data["detail"]["eventName"])
            assert path.name.split("-")[1].removesuffix(".json") == data["detail"]["eventName"]
            assert data["source"] == "aws.iam"
            assert data["detail-type"] == "AWS API Call via CloudTrail"
            assert data["region"] == data["detail"]["awsRegion"] == "us-east-1"
            assert data["detail"]["recipientAccountId"] == "111122223333"
    assert names == set(KNOWN_EVENT_NAMES)


def test_parse_lambda_event_eventbridge_gives_the_change() -> None:
    parsed = parse_lambda_event(load("iam-DetachRolePolicy.json"))
    assert parsed.kind is InvocationKind.EVENTBRIDGE
    (record,) = parsed.records
    change = record.change
    assert change is not None
    assert record.message_id is None
    assert change.event_name == "DetachRolePolicy"
    assert change.account == "111122223333"
    assert change.request_parameters == {
        "roleName": "VeeamRestoreRole",
        "policyArn": "arn:aws:iam::111122223333:policy/VeeamRestorePolicy",
    }
    assert change.actor_arn == "arn:aws:sts::111122223333:assumed-role/TerraformDeploy/terraform-apply"
    assert change.actor_type == "AssumedRole"
    assert change.source_ip == "203.0.113.24"
    assert change.event_time.tzinfo is not None
    assert record.correlation_id == change.event_id


def test_parse_lambda_event_iam_user_actor() -> None:
    change = parse_lambda_event(load("iam-DetachUserPolicy.json")).records[0].change
    assert change is not None
    assert change.actor_arn == "arn:aws:iam::111122223333:user/alice.admin"
    assert change.actor_type == "IAMUser"


def test_parse_lambda_event_put_policy_keeps_document_string() -> None:
    change = parse_lambda_event(load("iam-PutGroupPolicy.json")).records[0].change
    assert change is not None
    document = json.loads(change.request_parameters["policyDocument"])
    assert document["Statement"][0]["Effect"] == "Deny"


def test_parse_lambda_event_sqs_batch_keeps_message_ids() -> None:
    batch = load("sqs-batch.json")
    parsed = parse_lambda_event(batch)
    assert parsed.kind is InvocationKind.SQS
    assert [r.message_id for r in parsed.records] == [r["messageId"] for r in batch["Records"]]
    names = [c.event_name for c in parsed.changes]
    assert names == ["DetachRolePolicy", "AttachRolePolicy", "PutGroupPolicy"]


def test_parse_lambda_event_sqs_bad_record_does_not_spoil_batch() -> None:
    good = sqs_record(load("iam-DetachRolePolicy.json"), "good")
    broken_event = load("iam-DetachRolePolicy.json")
    del broken_event["detail"]["eventID"]
    bad_field = sqs_record(broken_event, "bad-field")
    not_json = sqs_record("{not json", "not-json")
    parsed = parse_lambda_event({"Records": [good, bad_field, not_json]})
    assert [r.message_id for r in parsed.errors] == ["bad-field", "not-json"]
    assert parsed.records[0].change is not None
    errors = [str(r.error) for r in parsed.errors]
    assert "Records[1] (messageId bad-field)" in errors[0]
    assert "detail.eventID" in errors[0]
    assert "not JSON" in errors[1]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda e: e["detail"]["requestParameters"].pop("roleName"),
        lambda e: e["detail"].update(requestParameters=None),
        lambda e: e["detail"].pop("requestParameters"),
    ],
    ids=["without-roleName", "requestParameters-null", "requestParameters-absent"],
)
def test_parse_lambda_event_change_without_its_parameter_is_a_change(mutate: Any) -> None:
    """CloudTrail's ``requestParameters`` is "the parameters, if any": a record without the one the
    planner keys on is still a change, never an error (the planner sweeps the account instead; it
    is the one place that checks parameters). Before, the parser rejected it and SQS retried it
    to the DLQ. https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html"""
    event = load("iam-DetachRolePolicy.json")
    mutate(event)
    parsed = parse_lambda_event({"Records": [sqs_record(event, "m-9")]})
    assert not parsed.errors
    (change,) = parsed.changes
    assert "roleName" not in change.request_parameters
    assert plan_targets(change, DEFAULT_TAG_KEY).sweep


def test_parse_lambda_event_org_change_without_its_parameter_is_a_change() -> None:
    event = load("organizations-AttachPolicy.json")
    del event["detail"]["requestParameters"]["targetId"]
    (change,) = parse_lambda_event(event).changes
    assert plan_org_change(change).scope is OrgScope.ALL


def test_parse_lambda_event_sqs_record_without_message_id_fails_batch() -> None:
    record = sqs_record(load("iam-DetachRolePolicy.json"))
    del record["messageId"]
    with pytest.raises(EventError, match=r"Records\[0\]\.messageId"):
        parse_lambda_event({"Records": [record]})


def test_parse_lambda_event_sqs_record_body_sweep() -> None:
    parsed = parse_lambda_event({"Records": [sqs_record(load("scheduled-sweep.json"))]})
    assert parsed.sweep_requested
    assert parsed.kind is InvocationKind.SQS


def test_parse_lambda_event_not_sqs_records_raises() -> None:
    with pytest.raises(EventError, match="aws:sqs"):
        parse_lambda_event({"Records": [{"eventSource": "aws:sns", "messageId": "x"}]})


def test_parse_lambda_event_scheduled_event_is_sweep() -> None:
    scheduled = load("scheduled-sweep.json")
    parsed = parse_lambda_event(scheduled)
    assert parsed.kind is InvocationKind.SWEEP
    sweep = parsed.records[0].sweep
    assert sweep is not None
    assert sweep.trigger == "schedule"
    assert sweep.event_id == scheduled["id"]


def test_parse_lambda_event_manual_sweep_constant() -> None:
    parsed = parse_lambda_event(sweep_event())
    assert parsed.kind is InvocationKind.SWEEP
    assert parsed.sweep_requested
    assert parsed.records[0].sweep is not None
    assert parsed.records[0].sweep.trigger == "manual"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e.update(source="aws.s3"), "source"),
        (lambda e: e.update({"detail-type": "Object Created"}), "detail-type"),
        (lambda e: e["detail"].update(eventSource="s3.amazonaws.com"), "detail.eventSource"),
        (lambda e: e["detail"].pop("eventName"), "detail.eventName"),
        (lambda e: e["detail"].update(eventTime="yesterday"), "detail.eventTime"),
        (lambda e: e["detail"].update(recipientAccountId="1234"), "detail.recipientAccountId"),
        (lambda e: e["detail"].pop("userIdentity"), "detail.userIdentity"),
        (lambda e: e["detail"].update(requestParameters=["roleName"]), "detail.requestParameters"),
    ],
)
def test_parse_lambda_event_malformed_event_names_field(mutate: Any, field: str) -> None:
    event = load("iam-DetachRolePolicy.json")
    mutate(event)
    with pytest.raises(EventError) as raised:
        parse_lambda_event(event)
    assert field in str(raised.value)
    assert str(raised.value).startswith("event:")


def test_parse_lambda_event_failed_call_without_parameters_parses() -> None:
    """A failed call (errorCode set) can lack requestParameters: it parses and maps to nothing."""
    event = load("iam-DetachRolePolicy.json")
    event["detail"]["errorCode"] = "AccessDenied"
    event["detail"]["requestParameters"] = None
    change = parse_lambda_event(event).changes[0]
    assert change.error_code == "AccessDenied"
    assert change.request_parameters == {}


@pytest.mark.parametrize("event", [[], "x", None])
def test_parse_lambda_event_not_an_object_raises(event: Any) -> None:
    with pytest.raises(EventError, match="expected a JSON object"):
        parse_lambda_event(event)


def test_parse_lambda_event_does_not_mutate_input() -> None:
    batch = load("sqs-batch.json")
    before = copy.deepcopy(batch)
    parse_lambda_event(batch)
    assert batch == before


def test_watch_events_import_loads_no_pydantic() -> None:
    """No work at import time: the Parser models (pydantic, Powertools) load on first parse."""
    code = (
        "import sys, restorewatch.watch.events, restorewatch.watch.targets;"
        "bad = [m for m in ('pydantic', 'aws_lambda_powertools', 'boto3', 'botocore') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


# --- poison records: whatever one body does to the parser fails that record alone ----------------


POISON_BODIES = {
    # json.loads raises ValueError past sys.get_int_max_str_digits() (4,300 digits)
    "5000-digit-integer": '{"detail": {"eventID": ' + "7" * 5000 + "}}",
    # json.loads raises RecursionError
    "100000-deep-nesting": "[" * 100_000 + "]" * 100_000,
    "deep-object": '{"a":' * 100_000 + "1" + "}" * 100_000,
    "lone-surrogate-key": '{"\\ud800": 1}',
}


@pytest.mark.parametrize("body", POISON_BODIES.values(), ids=POISON_BODIES.keys())
def test_parse_lambda_event_poison_body_fails_its_record_only(body: str) -> None:
    """A 5,000-digit integer (``ValueError``) or 100,000-deep nesting (``RecursionError``) escaped
    the parser and failed the whole batch; now it is an error record of its own, the other records
    parse. https://docs.python.org/3/library/stdtypes.html#int-max-str-digits"""
    good = sqs_record(load("iam-DetachRolePolicy.json"), "good")
    poison = sqs_record(body, "poison")
    parsed = parse_lambda_event({"Records": [poison, good]})
    assert [r.message_id for r in parsed.errors] == ["poison"]
    assert "Records[0] (messageId poison)" in str(parsed.errors[0].error)
    assert [c.event_name for c in parsed.changes] == ["DetachRolePolicy"]


def test_parse_lambda_event_unexpected_parser_failure_fails_its_record_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Any exception the parsing of one body raises (here a validator's own bug) is that record's
    error, named with its type; the batch still parses."""
    from restorewatch.watch import events

    real = events._one

    def broken(event: object, where: str, message_id: str | None) -> Any:
        if message_id == "odd":
            raise KeyError("validator bug")
        return real(event, where, message_id)

    monkeypatch.setattr(events, "_one", broken)
    good = sqs_record(load("iam-DetachRolePolicy.json"), "good")
    odd = sqs_record(load("iam-DetachRolePolicy.json"), "odd")
    parsed = parse_lambda_event({"Records": [odd, good]})
    assert [r.message_id for r in parsed.errors] == ["odd"]
    assert "KeyError" in str(parsed.errors[0].error)
    assert len(parsed.changes) == 1


def test_parse_lambda_event_deep_direct_event_is_an_event_error() -> None:
    """A direct invocation that nests too deeply fails as an ``EventError`` (one clear line), not a
    ``RecursionError`` traceback."""
    event: Any = {"detail": {}}
    for _ in range(100_000):
        event = {"detail": event}
    with pytest.raises(EventError, match="event"):
        parse_lambda_event(event)


# --- service-originated and read-only records -----------------------------------------------------------


@pytest.mark.parametrize("name", ["organizations-CreateAccountResult", "organizations-CloseAccountResult"])
def test_parse_lambda_event_organizations_service_event_is_accepted(name: str) -> None:
    """Organizations' service-originated records (``detail-type: AWS Service Event via CloudTrail``,
    ``eventType: AwsServiceEvent``, ``userIdentity`` of ``accountId`` and ``invokedBy`` only, no
    ``type``) were rejected as "not a CloudTrail event"; they parse, and change no SCP.
    https://docs.aws.amazon.com/awscloudtrail/latest/userguide/non-api-aws-service-events.html
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_cloudtrail-integration.html"""
    event = load(f"{name}.json")
    assert event["detail-type"] == "AWS Service Event via CloudTrail"
    assert "type" not in event["detail"]["userIdentity"]
    (change,) = parse_lambda_event(event).changes
    assert change.event_name == name.removeprefix("organizations-")
    assert change.actor_type is None
    assert change.request_parameters == {}
    plan = plan_org_change(change)
    assert plan.no_effect, plan


def test_parse_lambda_event_read_only_flag_is_kept() -> None:
    event = load("iam-DetachRolePolicy.json")
    assert parse_lambda_event(event).changes[0].read_only is False
    event["detail"].update(eventName="GetRole", readOnly=True, requestParameters={"roleName": "r"})
    change = parse_lambda_event(event).changes[0]
    assert change.read_only is True
    assert plan_targets(change, DEFAULT_TAG_KEY).no_effect
