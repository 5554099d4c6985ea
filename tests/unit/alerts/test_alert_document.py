"""The JSON document, the Subject line and the rendered SNS message of an alert."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from restorewatch.alerts import SCHEMA_VERSION, build_document, build_email, build_subject, render_alert
from restorewatch.domain import AlertKind, Transition
from restorewatch.engine.model import LayerKind, PrincipalKind, Reason
from restorewatch.ledger.diff import transition_between
from restorewatch.profiles import DEFAULT_TAG_KEY
from unit.alerts.builders import ACCOUNT, ROLE_ARN, T0, D, check, detach_event, lost, stored, unreadable

ALERT_ID = "rw-feedfacefeedfacefeedfacefeedface"


def lost_transition(*actions: str) -> Transition:
    t = transition_between(stored(check()), lost(*actions), alert_on_degraded=True)
    assert t is not None
    return t


def test_document_lost_has_versioned_schema_and_every_field() -> None:
    doc = build_document(
        lost_transition("s3:GetObject"), alert_id=ALERT_ID, trigger=detach_event(), observed_at=T0
    )
    assert doc["schema_version"] == SCHEMA_VERSION == "1"
    assert doc["version"] == "1.0"  # the chat-notification envelope (alerts.chatbot)
    assert doc["alert_id"] == ALERT_ID
    assert (doc["kind"], doc["severity"]) == ("LOST", "critical")
    assert doc["account"] == ACCOUNT
    assert doc["principal"] == {"arn": ROLE_ARN, "name": "VeeamRestore", "kind": "role"}
    assert doc["status"] == {"before": "compliant", "after": "non_compliant"}
    assert doc["changed_actions"] == [
        {
            "action": "s3:GetObject",
            "before": "allowed",
            "status": "denied",
            "reasons": [
                {
                    "code": "no_allow",
                    "layer": "identity",
                    "message": "no statement in the identity policies allows s3:GetObject",
                }
            ],
        }
    ]
    assert doc["counts"] == {"allowed": 5, "partial": 0, "denied": 1, "unknown": 0, "total": 6}
    assert doc["trigger"] == {
        "type": "cloudtrail",
        "eventName": "DetachRolePolicy",
        "eventID": "3f1c2a6e-5b1d-4c1e-9a55-0d6f1f0b7c11",
        "actorArn": "arn:aws:sts::123456789012:assumed-role/Admin/alice",
        "sourceIPAddress": "203.0.113.7",
        "eventTime": "2026-05-04T09:00:00.000000Z",
        "requestParameters": {
            "roleName": "VeeamRestore",
            "policyArn": "arn:aws:iam::123456789012:policy/VeeamRestorePolicy",
        },
    }
    json.dumps(doc)  # serialisable as is


def test_document_sweep_trigger() -> None:
    doc = build_document(lost_transition("s3:GetObject"), alert_id=ALERT_ID, trigger=None, observed_at=T0)
    assert doc["trigger"] == {"type": "scheduled_sweep"}


def test_document_unknown_carries_error() -> None:
    t = transition_between(stored(check()), unreadable(), alert_on_degraded=True)
    assert t is not None
    doc = build_document(t, alert_id=ALERT_ID, trigger=None, observed_at=T0)
    assert (doc["kind"], doc["severity"]) == ("UNKNOWN", "high")
    assert "ThrottlingException" in doc["error"]


def test_subject_lost_names_principal_and_count() -> None:
    assert build_subject(lost_transition("s3:GetObject", "ec2:CreateVolume")) == (
        "RestoreWatch LOST: role VeeamRestore lost 2 restore actions"
    )
    assert build_subject(lost_transition("s3:GetObject")).endswith("lost 1 restore action")


def test_subject_long_name_shortened_under_100_ascii() -> None:
    name = "R" * 64
    long_arn = f"arn:aws:iam::{ACCOUNT}:role/a/very/long/path/{name}"
    t = transition_between(None, lost("s3:GetObject", arn=long_arn), alert_on_degraded=True)
    assert t is not None
    subject = build_subject(t)
    assert len(subject) < 100
    assert subject.isascii()
    assert subject.startswith("RestoreWatch LOST: role RRR")
    assert subject.endswith("... lost 1 restore action")


@pytest.mark.parametrize("kind", list(AlertKind))
def test_subject_every_kind_short(kind: AlertKind) -> None:
    t = replace(lost_transition("s3:GetObject"), kind=kind, principal_kind=PrincipalKind.USER, name="x" * 200)
    subject = build_subject(t)
    assert len(subject) < 100
    assert subject.startswith(f"RestoreWatch {kind.value}: ")


def test_render_message_structure_json_with_default_document_and_email_text() -> None:
    t = lost_transition("s3:GetObject")
    rendered = render_alert(t, alert_id=ALERT_ID, trigger=None, observed_at=T0, tag_key=DEFAULT_TAG_KEY)
    message = json.loads(rendered.message)
    assert set(message) == {"default", "email"}
    assert json.loads(message["default"])["alert_id"] == ALERT_ID
    assert message["email"].startswith("LOST: role VeeamRestore")
    assert ALERT_ID in message["email"]
    assert rendered.attributes == {
        "kind": "LOST",
        "severity": "critical",
        "profile": "veeam-ec2-restore",
        "principal": ROLE_ARN,
        "alert_id": ALERT_ID,
    }


def _with_reason(reason: Reason) -> Transition:
    t = lost_transition("s3:GetObject")
    change = replace(t.changes[0], reasons=(reason,))
    return replace(t, changes=(change,))


def test_email_scp_without_allow_points_at_organizations_admin() -> None:
    reason = Reason(
        "no_allow",
        LayerKind.SCP,
        "no statement in the SCPs at level 1 (p-123) allows s3:GetObject",
        scp_level=1,
    )
    text = build_email(
        _with_reason(reason), alert_id=ALERT_ID, trigger=None, observed_at=T0, tag_key=DEFAULT_TAG_KEY
    )
    assert "The SCPs at level 1 do not allow s3:GetObject." in text
    assert "AWS Organizations administrator" in text
    assert '"s3:GetObject"' in text


def test_email_boundary_without_allow_says_boundary_must_allow() -> None:
    reason = Reason(
        "no_allow",
        LayerKind.BOUNDARY,
        "no statement in the permissions boundary RestoreBoundary allows s3:GetObject",
    )
    text = build_email(
        _with_reason(reason), alert_id=ALERT_ID, trigger=None, observed_at=T0, tag_key=DEFAULT_TAG_KEY
    )
    assert "The permissions boundary RestoreBoundary does not allow s3:GetObject." in text
    assert "A permissions boundary must allow them too" in text


def test_email_denied_action_without_reasons_still_listed() -> None:
    t = transition_between(stored(check()), check({"s3:GetObject": D}), alert_on_degraded=True)
    assert t is not None
    t = replace(t, changes=(replace(t.changes[0], reasons=()),))
    text = build_email(t, alert_id=ALERT_ID, trigger=None, observed_at=T0, tag_key=DEFAULT_TAG_KEY)
    assert "- s3:GetObject (was allowed)" in text
