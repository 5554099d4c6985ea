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
from restorewatch.watch.events import InvocationKind, parse_lambda_event, sweep_event
from restorewatch.watch.targets import KNOWN_EVENT_NAMES

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


def test_parse_lambda_event_sqs_missing_parameter_names_field() -> None:
    event = load("iam-DetachRolePolicy.json")
    del event["detail"]["requestParameters"]["roleName"]
    parsed = parse_lambda_event({"Records": [sqs_record(event, "m-9")]})
    (record,) = parsed.errors
    assert "detail.requestParameters.roleName" in str(record.error)
    assert "m-9" in str(record.error)


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
        (lambda e: e["detail"]["requestParameters"].pop("policyArn"), None),
        (lambda e: e["detail"]["requestParameters"].pop("roleName"), "detail.requestParameters.roleName"),
    ],
)
def test_parse_lambda_event_malformed_event_names_field(mutate: Any, field: str | None) -> None:
    event = load("iam-DetachRolePolicy.json")
    mutate(event)
    if field is None:  # policyArn is not needed to map the change: accepted
        assert parse_lambda_event(event).changes
        return
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
