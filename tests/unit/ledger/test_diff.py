"""ledger.diff.transition_between: which change of a principal's check alerts, and as what (pure)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from restorewatch.compliance import (
    SCPS_NOT_CONFIGURED,
    ComplianceStatus,
    PrincipalCheck,
    ScpCoverage,
    ScpFailure,
    ScpStatus,
    without_scps,
)
from restorewatch.domain import AlertKind, Gone, GoneReason
from restorewatch.ledger.diff import fail_closed, scps_evaluated, transition_between
from restorewatch.state.model import Presence
from unit.alerts.builders import A, D, P, U, check, lost, stored, unreadable

if TYPE_CHECKING:
    from restorewatch.engine.model import RequirementStatus
    from restorewatch.state.model import StoredState


def test_diff_first_sight_compliant_no_transition() -> None:
    assert transition_between(None, check(), alert_on_degraded=True) is None


def test_diff_first_sight_non_compliant_is_lost_with_every_denied_action() -> None:
    t = transition_between(None, lost("ec2:CreateVolume", "s3:GetObject"), alert_on_degraded=True)
    assert t is not None
    assert t.kind is AlertKind.LOST
    assert t.first_sight
    assert t.before is None
    assert {(c.action, c.before, c.after) for c in t.changes if c.after is D} == {
        ("ec2:CreateVolume", None, D),
        ("s3:GetObject", None, D),
    }


def test_diff_action_became_denied_is_lost_and_names_only_changed_actions() -> None:
    t = transition_between(stored(check()), lost("ec2:CreateVolume"), alert_on_degraded=True)
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
    assert transition_between(previous, lost("ec2:CreateVolume"), alert_on_degraded=True) is None


def test_diff_another_action_lost_while_lost_alerts_again() -> None:
    previous = stored(lost("ec2:CreateVolume"), last_alert=AlertKind.LOST)
    t = transition_between(previous, lost("ec2:CreateVolume", "s3:GetObject"), alert_on_degraded=True)
    assert t is not None
    assert t.kind is AlertKind.LOST
    assert [c.action for c in t.changes] == ["s3:GetObject"]


def test_diff_back_to_allowed_after_lost_is_restored() -> None:
    previous = stored(lost("ec2:CreateVolume"), last_alert=AlertKind.LOST)
    t = transition_between(previous, check(), alert_on_degraded=True)
    assert t is not None
    assert t.kind is AlertKind.RESTORED
    assert [(c.action, c.before, c.after) for c in t.changes] == [("ec2:CreateVolume", D, A)]


def test_diff_compliant_without_open_problem_no_restored() -> None:
    previous = stored(check(), last_alert=AlertKind.RESTORED)
    assert transition_between(previous, check(), alert_on_degraded=True) is None


def test_diff_partial_is_degraded_when_switched_on() -> None:
    t = transition_between(stored(check()), check({"s3:GetObject": P}), alert_on_degraded=True)
    assert t is not None
    assert t.kind is AlertKind.DEGRADED
    assert [(c.action, c.before, c.after) for c in t.changes] == [("s3:GetObject", A, P)]


def test_diff_partial_not_alerted_when_degraded_switched_off() -> None:
    assert transition_between(stored(check()), check({"s3:GetObject": P}), alert_on_degraded=False) is None


def test_diff_lost_repaired_to_partial_with_degraded_off_is_restored() -> None:
    previous = stored(lost("s3:GetObject"), last_alert=AlertKind.LOST)
    t = transition_between(previous, check({"s3:GetObject": P}), alert_on_degraded=False)
    assert t is not None
    assert t.kind is AlertKind.RESTORED


def test_diff_lost_repaired_to_partial_with_degraded_on_stays_open() -> None:
    """denied -> partial is better, not a new degradation, and not yet a restore."""
    previous = stored(lost("s3:GetObject"), last_alert=AlertKind.LOST)
    assert transition_between(previous, check({"s3:GetObject": P}), alert_on_degraded=True) is None


def test_diff_degraded_never_alerted_then_compliant_no_restored() -> None:
    previous = stored(check({"s3:GetObject": P}))  # degraded alerts off: nothing was sent
    assert transition_between(previous, check(), alert_on_degraded=False) is None


def test_diff_lost_outranks_degraded_and_lists_both() -> None:
    t = transition_between(
        stored(check()), check({"s3:GetObject": P, "ec2:RunInstances": D}), alert_on_degraded=True
    )
    assert t is not None
    assert t.kind is AlertKind.LOST
    assert {c.action for c in t.changes} == {"s3:GetObject", "ec2:RunInstances"}


def test_diff_unreadable_is_unknown_once() -> None:
    t = transition_between(stored(check()), unreadable(), alert_on_degraded=True)
    assert t is not None
    assert t.kind is AlertKind.UNKNOWN
    assert t.error is not None
    assert "ThrottlingException" in t.error
    repeated = stored(unreadable(), revision=2, last_alert=AlertKind.UNKNOWN)
    assert transition_between(repeated, unreadable("AccessDenied"), alert_on_degraded=True) is None


def test_diff_first_sight_unreadable_is_unknown() -> None:
    t = transition_between(None, unreadable(), alert_on_degraded=True)
    assert t is not None
    assert t.kind is AlertKind.UNKNOWN


def test_diff_one_action_unknown_is_unknown() -> None:
    t = transition_between(stored(check()), check({"s3:ListBucket": U}), alert_on_degraded=True)
    assert t is not None
    assert t.kind is AlertKind.UNKNOWN
    assert [(c.action, c.after) for c in t.changes] == [("s3:ListBucket", U)]


def test_diff_unknown_then_compliant_is_restored() -> None:
    previous = stored(unreadable(), last_alert=AlertKind.UNKNOWN)
    t = transition_between(previous, check(), alert_on_degraded=True)
    assert t is not None
    assert t.kind is AlertKind.RESTORED


def test_diff_unknown_then_denied_is_lost() -> None:
    """The admin's last word was "could not check": a known loss is news even if it predates it."""
    previous = stored(unreadable(), last_alert=AlertKind.UNKNOWN)
    t = transition_between(previous, lost("ec2:CreateVolume"), alert_on_degraded=True)
    assert t is not None
    assert t.kind is AlertKind.LOST


@pytest.mark.parametrize(
    ("reason", "kind"), [(GoneReason.UNWATCHED, AlertKind.UNWATCHED), (GoneReason.DELETED, AlertKind.DELETED)]
)
def test_diff_watched_principal_gone_alerts(reason: GoneReason, kind: AlertKind) -> None:
    previous = stored(lost("s3:GetObject"), last_alert=AlertKind.LOST)
    t = transition_between(
        previous, Gone(previous.principal, previous.profile, reason), alert_on_degraded=True
    )
    assert t is not None
    assert t.kind is kind
    assert t.name == "VeeamRestore"
    assert t.changes == ()
    assert t.counts()[D] == 1


@pytest.mark.parametrize("reason", list(GoneReason))
def test_diff_gone_never_watched_or_already_gone_no_transition(reason: GoneReason) -> None:
    c = check()
    gone = Gone(c.arn, c.profile, reason)
    assert transition_between(None, gone, alert_on_degraded=True) is None
    tombstone = stored(c, presence=Presence.DELETED, last_alert=AlertKind.DELETED)
    assert transition_between(tombstone, gone, alert_on_degraded=True) is None


def test_diff_tombstone_then_tagged_again_is_first_sight() -> None:
    tombstone = stored(check(), revision=7, presence=Presence.UNWATCHED, last_alert=AlertKind.UNWATCHED)
    assert transition_between(tombstone, check(), alert_on_degraded=True) is None
    t = transition_between(tombstone, lost("s3:GetObject"), alert_on_degraded=True)
    assert t is not None
    assert t.kind is AlertKind.LOST
    assert t.first_sight


# --- the information level: SCPs that could not be read (issue 10, item 1) ---------------------------

SCP_DOC = (
    "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html"
)
EVALUATED = ScpCoverage(ScpStatus.EVALUATED, "3 levels, root to account")
NOT_APPLICABLE = ScpCoverage(ScpStatus.NOT_APPLICABLE, "the management account is not affected by SCPs")
THROTTLED = ScpCoverage(
    ScpStatus.NOT_EVALUATED,
    "Organizations could not be read: ...",
    ScpFailure.TRANSIENT,
    "organizations ListPoliciesForTarget on r-abcd failed: TooManyRequestsException: Rate exceeded",
)
NO_ACCESS = ScpCoverage(
    ScpStatus.NOT_EVALUATED,
    "Organizations could not be read: ...",
    ScpFailure.PERMANENT,
    "organizations DescribeOrganization failed: AccessDeniedException: not authorized",
)
UNPARSABLE = ScpCoverage(
    ScpStatus.NOT_EVALUATED,
    "an SCP could not be parsed: ...",
    ScpFailure.UNPARSABLE,
    "an SCP could not be parsed: malformed policy Odd: Statement is missing",
)


def scp_lost(*actions: str) -> PrincipalCheck:
    """What the watcher stored when an SCP denied ``actions`` (SCPs evaluated)."""
    return replace(lost(*actions), scps=EVALUATED)


def identity_only(
    coverage: ScpCoverage, statuses: dict[str, RequirementStatus] | None = None
) -> PrincipalCheck:
    """A check computed on identity policies and boundary alone, SCPs not evaluated."""
    return replace(check(statuses), scps=coverage)


def known(current: PrincipalCheck, *, evaluated: bool, last_alert: AlertKind | None = None) -> StoredState:
    return replace(stored(current, last_alert=last_alert), scps_evaluated=evaluated)


def test_without_scps_keeps_definite_denials_and_makes_the_rest_unknown() -> None:
    """An SCP can only take permissions away, never grant them
    (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html):
    what the identity policies or the boundary deny stays denied whatever the SCPs say; what they
    allow, fully or in part, an SCP might deny, so it is unknown. The result is never compliant."""
    made = identity_only(THROTTLED, {"ec2:RunInstances": D, "s3:GetObject": P})
    closed = without_scps(made, "the failed call")
    statuses = {a.action: a.status for a in closed.actions}
    assert statuses["ec2:RunInstances"] is D
    assert (
        next(a for a in closed.actions if a.action == "ec2:RunInstances").reasons == made.actions[0].reasons
    )
    assert {s for action, s in statuses.items() if action != "ec2:RunInstances"} == {U}
    assert closed.status is ComplianceStatus.NON_COMPLIANT
    assert closed.error == "the failed call"
    everything_allowed = without_scps(identity_only(THROTTLED), "x")
    assert everything_allowed.status is ComplianceStatus.UNKNOWN
    assert all(not a.reasons for a in everything_allowed.actions)


@pytest.mark.parametrize("coverage", [THROTTLED, NO_ACCESS, UNPARSABLE, SCPS_NOT_CONFIGURED])
def test_fail_closed_when_the_stored_state_had_scps_evaluated(coverage: ScpCoverage) -> None:
    """Less information than the stored state had, whatever the failure (even Organizations access
    switched off): fail-closed, naming what failed."""
    previous = known(scp_lost("ec2:RunInstances"), evaluated=True, last_alert=AlertKind.LOST)
    settled = fail_closed(previous, identity_only(coverage))
    assert settled.status is ComplianceStatus.UNKNOWN
    assert {a.status for a in settled.actions} == {U}
    assert settled.error == (
        coverage.error or "SCPs were evaluated before and are not now: " + coverage.detail
    )


@pytest.mark.parametrize("coverage", [THROTTLED, UNPARSABLE])
def test_fail_closed_at_first_sight_when_a_retry_may_read_them_or_one_is_unparsable(
    coverage: ScpCoverage,
) -> None:
    """A transient failure (or an SCP read and not understood) at first sight: not known."""
    for previous in (None, known(check(), evaluated=False)):
        settled = fail_closed(previous, identity_only(coverage))
        assert settled.status is ComplianceStatus.UNKNOWN
        assert settled.error == coverage.error


@pytest.mark.parametrize("coverage", [NO_ACCESS, SCPS_NOT_CONFIGURED])
def test_a_watcher_that_never_read_organizations_keeps_the_identity_answer(coverage: ScpCoverage) -> None:
    """The documented "SCPs not evaluated" mode: never evaluated, a permanent failure or no access
    configured leaves the identity-only answer (the alert says SCPs were not evaluated)."""
    current = identity_only(coverage)
    assert fail_closed(None, current) is current
    assert fail_closed(known(check(), evaluated=False), current) is current


@pytest.mark.parametrize("coverage", [EVALUATED, NOT_APPLICABLE, None])
def test_fail_closed_leaves_a_check_that_knows_enough(coverage: ScpCoverage | None) -> None:
    current = replace(check(), scps=coverage)
    assert fail_closed(known(scp_lost("ec2:RunInstances"), evaluated=True), current) is current


def test_fail_closed_leaves_a_check_that_failed_already() -> None:
    current = replace(unreadable(), scps=THROTTLED)
    assert fail_closed(known(check(), evaluated=True), current) is current


def test_scp_loss_then_unreadable_is_unknown_never_restored() -> None:
    """The issue's sequence: LOST by an SCP, then Organizations throttled: UNKNOWN naming the call."""
    previous = known(scp_lost("ec2:RunInstances"), evaluated=True, last_alert=AlertKind.LOST)
    t = transition_between(previous, identity_only(THROTTLED), alert_on_degraded=True)
    assert t is not None
    assert t.kind is AlertKind.UNKNOWN
    assert t.error == THROTTLED.error
    assert t.after is ComplianceStatus.UNKNOWN


def test_still_unreadable_alerts_nothing_more() -> None:
    previous = known(
        without_scps(identity_only(THROTTLED), THROTTLED.error or ""),
        evaluated=True,
        last_alert=AlertKind.UNKNOWN,
    )
    assert transition_between(previous, identity_only(THROTTLED), alert_on_degraded=True) is None


def test_a_new_definite_denial_while_scps_are_unreadable_is_lost_and_then_quiet() -> None:
    """A denial by the layers that were read is known whatever the SCPs say: LOST. A check that keeps
    failing with that denial (status non-compliant, error kept) does not alert again."""
    previous = known(scp_lost("ec2:RunInstances"), evaluated=True, last_alert=AlertKind.LOST)
    current = identity_only(THROTTLED, {"s3:GetObject": D})
    t = transition_between(previous, current, alert_on_degraded=True)
    assert t is not None
    assert t.kind is AlertKind.LOST
    assert t.after is ComplianceStatus.NON_COMPLIANT
    saved = known(fail_closed(previous, current), evaluated=True, last_alert=AlertKind.LOST)
    assert saved.error is not None
    assert transition_between(saved, current, alert_on_degraded=True) is None


def test_readable_again_unknown_to_denied_is_lost_and_unknown_to_allowed_is_restored() -> None:
    """Organizations readable again: the SCP still denies (unknown -> denied is news: LOST), or it
    was removed meanwhile (RESTORED). Never a RESTORED in between."""
    previous = known(
        without_scps(identity_only(THROTTLED), "x"), evaluated=True, last_alert=AlertKind.UNKNOWN
    )
    still = transition_between(previous, scp_lost("ec2:RunInstances"), alert_on_degraded=True)
    assert still is not None
    assert still.kind is AlertKind.LOST
    removed = transition_between(previous, replace(check(), scps=EVALUATED), alert_on_degraded=True)
    assert removed is not None
    assert removed.kind is AlertKind.RESTORED


def test_scps_evaluated_is_a_high_water_mark() -> None:
    """Raised by an evaluation, kept by any check that could not evaluate them, lowered only by a
    definite "SCPs do not apply"."""
    evaluated, not_evaluated = known(check(), evaluated=True), known(check(), evaluated=False)
    assert scps_evaluated(None, replace(check(), scps=EVALUATED))
    assert scps_evaluated(not_evaluated, replace(check(), scps=EVALUATED))
    for coverage in (THROTTLED, NO_ACCESS, UNPARSABLE, SCPS_NOT_CONFIGURED, None):
        assert scps_evaluated(evaluated, replace(check(), scps=coverage))
        assert not scps_evaluated(not_evaluated, replace(check(), scps=coverage))
        assert not scps_evaluated(None, replace(check(), scps=coverage))
    assert scps_evaluated(evaluated, unreadable())
    assert not scps_evaluated(evaluated, replace(check(), scps=NOT_APPLICABLE))
