"""watch.diff.transitions: which change of a principal's check alerts, and as what (pure)."""

from __future__ import annotations

import pytest

from restorewatch.compliance import ComplianceStatus
from restorewatch.state.model import AlertKind, Presence
from restorewatch.watch.diff import Gone, GoneReason, transitions
from unit.alerts.builders import A, D, P, U, check, lost, stored, unreadable


def test_diff_first_sight_compliant_no_transition() -> None:
    assert transitions(None, check(), alert_on_degraded=True) is None


def test_diff_first_sight_non_compliant_is_lost_with_every_denied_action() -> None:
    t = transitions(None, lost("ec2:CreateVolume", "s3:GetObject"), alert_on_degraded=True)
    assert t is not None
    assert t.kind is AlertKind.LOST
    assert t.first_sight
    assert t.before is None
    assert {(c.action, c.before, c.after) for c in t.changes if c.after is D} == {
        ("ec2:CreateVolume", None, D),
        ("s3:GetObject", None, D),
    }


def test_diff_action_became_denied_is_lost_and_names_only_changed_actions() -> None:
    t = transitions(stored(check()), lost("ec2:CreateVolume"), alert_on_degraded=True)
    assert t is not None
    assert t.kind is AlertKind.LOST
    assert [(c.action, c.before, c.after) for c in t.changes] == [("ec2:CreateVolume", A, D)]
    assert t.changes[0].reasons[0].code == "no_allow"
    assert t.before is ComplianceStatus.COMPLIANT
    assert t.after is ComplianceStatus.NON_COMPLIANT
    assert t.counts()[D] == 1
    assert t.counts()[A] == 5


def test_diff_same_check_twice_no_transition() -> None:
    """A duplicate event re-checks the same state: nothing to alert the second time."""
    previous = stored(lost("ec2:CreateVolume"), last_alert=AlertKind.LOST)
    assert transitions(previous, lost("ec2:CreateVolume"), alert_on_degraded=True) is None


def test_diff_another_action_lost_while_lost_alerts_again() -> None:
    previous = stored(lost("ec2:CreateVolume"), last_alert=AlertKind.LOST)
    t = transitions(previous, lost("ec2:CreateVolume", "s3:GetObject"), alert_on_degraded=True)
    assert t is not None
    assert t.kind is AlertKind.LOST
    assert [c.action for c in t.changes] == ["s3:GetObject"]


def test_diff_back_to_allowed_after_lost_is_restored() -> None:
    previous = stored(lost("ec2:CreateVolume"), last_alert=AlertKind.LOST)
    t = transitions(previous, check(), alert_on_degraded=True)
    assert t is not None
    assert t.kind is AlertKind.RESTORED
    assert [(c.action, c.before, c.after) for c in t.changes] == [("ec2:CreateVolume", D, A)]


def test_diff_compliant_without_open_problem_no_restored() -> None:
    previous = stored(check(), last_alert=AlertKind.RESTORED)
    assert transitions(previous, check(), alert_on_degraded=True) is None


def test_diff_partial_is_degraded_when_switched_on() -> None:
    t = transitions(stored(check()), check({"s3:GetObject": P}), alert_on_degraded=True)
    assert t is not None
    assert t.kind is AlertKind.DEGRADED
    assert [(c.action, c.before, c.after) for c in t.changes] == [("s3:GetObject", A, P)]


def test_diff_partial_not_alerted_when_degraded_switched_off() -> None:
    assert transitions(stored(check()), check({"s3:GetObject": P}), alert_on_degraded=False) is None


def test_diff_lost_repaired_to_partial_with_degraded_off_is_restored() -> None:
    previous = stored(lost("s3:GetObject"), last_alert=AlertKind.LOST)
    t = transitions(previous, check({"s3:GetObject": P}), alert_on_degraded=False)
    assert t is not None
    assert t.kind is AlertKind.RESTORED


def test_diff_lost_repaired_to_partial_with_degraded_on_stays_open() -> None:
    """denied -> partial is better, not a new degradation, and not yet a restore."""
    previous = stored(lost("s3:GetObject"), last_alert=AlertKind.LOST)
    assert transitions(previous, check({"s3:GetObject": P}), alert_on_degraded=True) is None


def test_diff_degraded_never_alerted_then_compliant_no_restored() -> None:
    previous = stored(check({"s3:GetObject": P}))  # degraded alerts off: nothing was sent
    assert transitions(previous, check(), alert_on_degraded=False) is None


def test_diff_lost_outranks_degraded_and_lists_both() -> None:
    t = transitions(
        stored(check()), check({"s3:GetObject": P, "ec2:RunInstances": D}), alert_on_degraded=True
    )
    assert t is not None
    assert t.kind is AlertKind.LOST
    assert {c.action for c in t.changes} == {"s3:GetObject", "ec2:RunInstances"}


def test_diff_unreadable_is_unknown_once() -> None:
    t = transitions(stored(check()), unreadable(), alert_on_degraded=True)
    assert t is not None
    assert t.kind is AlertKind.UNKNOWN
    assert t.error is not None
    assert "ThrottlingException" in t.error
    repeated = stored(unreadable(), revision=2, last_alert=AlertKind.UNKNOWN)
    assert transitions(repeated, unreadable("AccessDenied"), alert_on_degraded=True) is None


def test_diff_first_sight_unreadable_is_unknown() -> None:
    t = transitions(None, unreadable(), alert_on_degraded=True)
    assert t is not None
    assert t.kind is AlertKind.UNKNOWN


def test_diff_one_action_unknown_is_unknown() -> None:
    t = transitions(stored(check()), check({"s3:ListBucket": U}), alert_on_degraded=True)
    assert t is not None
    assert t.kind is AlertKind.UNKNOWN
    assert [(c.action, c.after) for c in t.changes] == [("s3:ListBucket", U)]


def test_diff_unknown_then_compliant_is_restored() -> None:
    previous = stored(unreadable(), last_alert=AlertKind.UNKNOWN)
    t = transitions(previous, check(), alert_on_degraded=True)
    assert t is not None
    assert t.kind is AlertKind.RESTORED


def test_diff_unknown_then_denied_is_lost() -> None:
    """The admin's last word was "could not check": a known loss is news even if it predates it."""
    previous = stored(unreadable(), last_alert=AlertKind.UNKNOWN)
    t = transitions(previous, lost("ec2:CreateVolume"), alert_on_degraded=True)
    assert t is not None
    assert t.kind is AlertKind.LOST


@pytest.mark.parametrize(
    ("reason", "kind"), [(GoneReason.UNWATCHED, AlertKind.UNWATCHED), (GoneReason.DELETED, AlertKind.DELETED)]
)
def test_diff_watched_principal_gone_alerts(reason: GoneReason, kind: AlertKind) -> None:
    previous = stored(lost("s3:GetObject"), last_alert=AlertKind.LOST)
    t = transitions(previous, Gone(previous.principal, previous.profile, reason), alert_on_degraded=True)
    assert t is not None
    assert t.kind is kind
    assert t.name == "VeeamRestore"
    assert t.changes == ()
    assert t.counts()[D] == 1


@pytest.mark.parametrize("reason", list(GoneReason))
def test_diff_gone_never_watched_or_already_gone_no_transition(reason: GoneReason) -> None:
    c = check()
    gone = Gone(c.arn, c.profile, reason)
    assert transitions(None, gone, alert_on_degraded=True) is None
    tombstone = stored(c, presence=Presence.DELETED, last_alert=AlertKind.DELETED)
    assert transitions(tombstone, gone, alert_on_degraded=True) is None


def test_diff_tombstone_then_tagged_again_is_first_sight() -> None:
    tombstone = stored(check(), revision=7, presence=Presence.UNWATCHED, last_alert=AlertKind.UNWATCHED)
    assert transitions(tombstone, check(), alert_on_degraded=True) is None
    t = transitions(tombstone, lost("s3:GetObject"), alert_on_degraded=True)
    assert t is not None
    assert t.kind is AlertKind.LOST
    assert t.first_sight
