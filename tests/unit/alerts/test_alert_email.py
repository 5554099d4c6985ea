"""The email text of each alert kind, pinned by golden files (tests/unit/alerts/golden/<kind>.txt).

Regenerate after a deliberate wording change with ``RESTOREWATCH_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from restorewatch.alerts import build_email
from restorewatch.compliance import ScpCoverage, ScpFailure, ScpStatus
from restorewatch.domain import AlertKind, CloudTrailChange, Gone, GoneReason, Transition
from restorewatch.ledger.diff import transition_between
from restorewatch.profiles import DEFAULT_TAG_KEY
from unit.alerts.builders import (
    PROFILE,
    ROLE_ARN,
    T0,
    D,
    P,
    check,
    detach_event,
    lost,
    stored,
    unreadable,
)

GOLDEN = Path(__file__).parent / "golden"
ALERT_ID = "rw-0123456789abcdef0123456789abcdef"
LOST_ACTIONS = ("ec2:CreateVolume", "ec2:AttachVolume", "s3:GetObject")


def _t(transition: Transition | None) -> Transition:
    assert transition is not None
    return transition


def cases() -> dict[AlertKind, tuple[Transition, CloudTrailChange | None]]:
    event = detach_event()
    lost_check = check(
        dict.fromkeys((*LOST_ACTIONS, "ec2:RunInstances"), D), denied_by_deny=("ec2:RunInstances",)
    )
    open_lost = stored(lost(*LOST_ACTIONS), last_alert=AlertKind.LOST)
    untag = replace(
        event,
        event_name="UntagRole",
        request_parameters={"roleName": "VeeamRestore", "tagKeys": ["restorewatch:profile"]},
    )
    attach = replace(event, event_name="AttachRolePolicy", actor_arn="arn:aws:iam::123456789012:user/bob")
    delete = replace(event, event_name="DeleteRole", request_parameters={"roleName": "VeeamRestore"})
    return {
        AlertKind.LOST: (_t(transition_between(stored(check()), lost_check, alert_on_degraded=True)), event),
        AlertKind.DEGRADED: (
            _t(transition_between(stored(check()), check({"s3:GetObject": P}), alert_on_degraded=True)),
            event,
        ),
        AlertKind.RESTORED: (_t(transition_between(open_lost, check(), alert_on_degraded=True)), attach),
        AlertKind.UNKNOWN: (
            _t(transition_between(stored(check()), unreadable(), alert_on_degraded=True)),
            None,
        ),
        AlertKind.UNWATCHED: (
            _t(
                transition_between(
                    open_lost, Gone(ROLE_ARN, PROFILE, GoneReason.UNWATCHED), alert_on_degraded=True
                )
            ),
            untag,
        ),
        AlertKind.DELETED: (
            _t(
                transition_between(
                    stored(check()), Gone(ROLE_ARN, PROFILE, GoneReason.DELETED), alert_on_degraded=True
                )
            ),
            delete,
        ),
    }


@pytest.mark.parametrize("kind", list(AlertKind), ids=lambda kind: kind.value)
def test_email_matches_golden(kind: AlertKind) -> None:
    transition, trigger = cases()[kind]
    assert transition.kind is kind
    text = build_email(
        transition, alert_id=ALERT_ID, trigger=trigger, observed_at=T0, tag_key=DEFAULT_TAG_KEY
    )
    path = GOLDEN / f"{kind.value.lower()}.txt"
    if os.environ.get("RESTOREWATCH_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", list(AlertKind), ids=lambda kind: kind.value)
def test_email_first_line_says_what_and_to_whom(kind: AlertKind) -> None:
    transition, trigger = cases()[kind]
    first = build_email(
        transition, alert_id=ALERT_ID, trigger=trigger, observed_at=T0, tag_key=DEFAULT_TAG_KEY
    ).splitlines()[0]
    assert first.startswith(f"{kind.value}: ")
    assert "role VeeamRestore" in first


def test_email_lost_missing_allow_gives_statement_that_restores_exactly_those_actions() -> None:
    transition, trigger = cases()[AlertKind.LOST]
    text = build_email(
        transition, alert_id=ALERT_ID, trigger=trigger, observed_at=T0, tag_key=DEFAULT_TAG_KEY
    )
    lines = text[text.index("HOW TO FIX IT") :].splitlines()
    start = lines.index("    {")
    statement = json.loads("\n".join(lines[start : lines.index("    }", start) + 1]))
    assert statement == {
        "Sid": "RestoreWatchRestore",
        "Effect": "Allow",
        "Action": sorted(LOST_ACTIONS),
        "Resource": "*",
    }


def test_email_lost_explicit_deny_names_statement_and_policy_not_a_new_allow() -> None:
    transition, trigger = cases()[AlertKind.LOST]
    text = build_email(
        transition, alert_id=ALERT_ID, trigger=trigger, observed_at=T0, tag_key=DEFAULT_TAG_KEY
    )
    fix = text[text.index("HOW TO FIX IT") :]
    assert "An explicit Deny blocks ec2:RunInstances:" in fix
    assert "Deny statement 'DenyEc2' of inline policy NoEc2Writes of Contractors via group Contractors" in fix
    assert '"ec2:RunInstances"' not in fix  # an Allow cannot fix a Deny: it is not offered


def test_email_lost_groups_lost_actions_by_service_and_says_who() -> None:
    transition, trigger = cases()[AlertKind.LOST]
    text = build_email(
        transition, alert_id=ALERT_ID, trigger=trigger, observed_at=T0, tag_key=DEFAULT_TAG_KEY
    )
    what = text[text.index("WHAT CHANGED") : text.index("WHY")]
    assert what.index("    ec2:") < what.index("      - ec2:CreateVolume") < what.index("    s3:")
    assert (
        "alice (assumed role Admin, arn:aws:sts::123456789012:assumed-role/Admin/alice) "
        "called DetachRolePolicy" in text
    )
    assert "203.0.113.7" in text
    assert "RestoreWatch will tell you when it is restored." in text
    assert ALERT_ID in text


@pytest.mark.parametrize(
    ("failure", "code", "fix"),
    [
        (ScpFailure.TRANSIENT, "TooManyRequestsException", "retries by itself"),
        (ScpFailure.PERMANENT, "AccessDeniedException", "organizations:DescribeOrganization"),
    ],
)
def test_email_unknown_because_scps_are_unreadable_names_the_call_and_the_fix(
    failure: ScpFailure, code: str, fix: str
) -> None:
    """A role LOST by an SCP, then Organizations unreadable: the UNKNOWN mail names the failed call
    and its error, says that SCPs were not evaluated, and tells what to do about Organizations
    (not IAM)."""
    error = f"organizations ListPoliciesForTarget on r-abcd failed: {code}: Rate exceeded"
    coverage = ScpCoverage(
        ScpStatus.NOT_EVALUATED, f"Organizations could not be read: {error}", failure, error
    )
    previous = replace(stored(lost("ec2:RunInstances"), last_alert=AlertKind.LOST), scps_evaluated=True)
    transition = _t(transition_between(previous, replace(check(), scps=coverage), alert_on_degraded=True))
    assert transition.kind is AlertKind.UNKNOWN
    text = build_email(transition, alert_id=ALERT_ID, trigger=None, observed_at=T0, tag_key=DEFAULT_TAG_KEY)
    assert f"The check failed: {error}" in text
    assert "SCPs:      NOT EVALUATED" in text
    assert fix in text
    assert "iam:GetAccountAuthorizationDetails" not in text
