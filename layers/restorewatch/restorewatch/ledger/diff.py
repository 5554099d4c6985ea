"""Compare a fresh check with the stored state: which transition, if any, to alert (pure).

Rules, per action (``before`` = stored status, or ``None`` at first sight):

* ``LOST``: an action became ``denied``. At first sight every denied action counts, so a
  principal found non-compliant the first time it is seen alerts as ``LOST``. An action that was
  ``unknown`` and is now ``denied`` also counts: the last word its admin heard was "could not
  check", so a known loss is news.
* ``UNKNOWN``: an action became ``unknown``, or the whole check could not be made (``error``). A
  check that stays unknown (or keeps failing) does not alert again.
* ``DEGRADED`` (only with ``alert_on_degraded``): an action became ``partial`` from ``allowed``,
  ``unknown`` or first sight. ``denied`` -> ``partial`` is an improvement and not alerted on its own.
* ``RESTORED``: a problem alert is open (the last alert was LOST, DEGRADED or UNKNOWN) and no
  action is denied or unknown any more, nor partial when degraded alerts are on. With degraded
  alerts off a partial action counts as fine, otherwise a LOST repaired to partial would never close.
* ``UNWATCHED`` / ``DELETED``: a watched principal lost its watch tag or was deleted (``Gone``).

One evaluation gives at most one transition. When several rules fire, the most urgent names it
(LOST, then UNKNOWN, then DEGRADED) and ``changes`` lists every action whose status changed, so
the alert still shows the whole picture. A stored tombstone (unwatched or deleted) counts as first
sight: a principal tagged again is judged afresh.

Before any of this, ``fail_closed`` holds the information level: a check made with less than the
stored state had (SCPs were evaluated, now they could not be), or with SCPs unreadable for a reason
a retry may fix, is fail-closed (``compliance.without_scps``): never compliant, so it can never
close a problem with RESTORED on what it did not see.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restorewatch.compliance import ComplianceStatus, PrincipalCheck, ScpStatus, without_scps
from restorewatch.domain import ActionChange, AlertKind, Gone, GoneReason, Transition
from restorewatch.engine.model import RequirementStatus

if TYPE_CHECKING:
    from restorewatch.state.model import StoredState

__all__ = [
    "fail_closed",
    "scps_evaluated",
    "transition_between",
]

_PROBLEM_ALERTS = frozenset({AlertKind.LOST, AlertKind.DEGRADED, AlertKind.UNKNOWN})


def fail_closed(previous: StoredState | None, current: PrincipalCheck) -> PrincipalCheck:
    """``current`` as it may be saved and diffed: fail-closed when SCPs were not evaluated and

    * the stored state had them evaluated (``scps_evaluated``), whatever the failure, even when
      nothing was tried (Organizations access switched off): less information than was known;
    * or a retry may read them (throttling, 5xx, network), or one was read and could not be parsed,
      even at first sight: whether an SCP denies is simply not known.

    A watcher that never could read Organizations (AccessDenied from the start, or no access
    configured) keeps the identity-only answer at first sight, said as "SCPs not evaluated".
    """
    coverage = current.scps
    if coverage is None or coverage.status is not ScpStatus.NOT_EVALUATED or current.error is not None:
        return current
    known_before = previous is not None and previous.scps_evaluated
    if not (known_before or coverage.unknown_at_first_sight):
        return current
    error = coverage.error or f"SCPs were evaluated before and are not now: {coverage.detail}"
    return without_scps(current, error)


def scps_evaluated(previous: StoredState | None, current: PrincipalCheck) -> bool:
    """The high-water mark to save: raised by an evaluation, lowered only by a definite answer that
    SCPs do not apply (``not_applicable``); a check that could not evaluate them keeps it."""
    coverage = current.scps
    if coverage is None or coverage.status is ScpStatus.NOT_EVALUATED:
        return previous is not None and previous.scps_evaluated
    return coverage.status is ScpStatus.EVALUATED


def transition_between(
    previous: StoredState | None, current: PrincipalCheck | Gone, *, alert_on_degraded: bool
) -> Transition | None:
    """The transition from ``previous`` to ``current``, or ``None`` when nothing is worth alerting.

    ``current`` is diffed as ``fail_closed`` leaves it (the outbox saves that same check)."""
    if isinstance(current, Gone):
        return _gone(previous, current)
    current = fail_closed(previous, current)
    known = previous if previous is not None and previous.watched else None
    before = dict(known.actions) if known is not None else {}
    changes = tuple(
        ActionChange(check.action, before.get(check.action), check.status, check.reasons)
        for check in current.actions
        if before.get(check.action) is not check.status
    )
    kind = _kind(known, current, changes, alert_on_degraded=alert_on_degraded)
    if kind is None:
        return None
    return Transition(
        kind=kind,
        arn=current.arn,
        name=current.name,
        principal_kind=current.kind,
        account=current.account,
        profile=current.profile,
        before=known.status if known is not None else None,
        after=current.status,
        changes=changes,
        statuses={check.action: check.status for check in current.actions},
        error=current.error,
        first_sight=known is None,
        scps=current.scps,
        account_name=current.account_name,
    )


def _kind(
    known: StoredState | None,
    current: PrincipalCheck,
    changes: tuple[ActionChange, ...],
    *,
    alert_on_degraded: bool,
) -> AlertKind | None:
    became = {change.after for change in changes}
    if RequirementStatus.DENIED in became:
        return AlertKind.LOST
    # a stored error: the last check already failed (and said so), even if a denial outranked it
    was_unknown = known is not None and (known.status is ComplianceStatus.UNKNOWN or known.error is not None)
    # a check that stays unknown (whatever else became unknown meanwhile) does not alert again
    if not was_unknown and (RequirementStatus.UNKNOWN in became or current.error is not None):
        return AlertKind.UNKNOWN
    newly_partial = any(
        change.after is RequirementStatus.PARTIAL and change.before is not RequirementStatus.DENIED
        for change in changes
    )
    if alert_on_degraded and newly_partial:
        return AlertKind.DEGRADED
    problem_open = (
        known is not None and known.last_alert is not None and known.last_alert.kind in _PROBLEM_ALERTS
    )
    blocking = {RequirementStatus.DENIED, RequirementStatus.UNKNOWN}
    if alert_on_degraded:
        blocking.add(RequirementStatus.PARTIAL)
    still_bad = current.error is not None or any(check.status in blocking for check in current.actions)
    if problem_open and not still_bad:
        return AlertKind.RESTORED
    return None


def _gone(previous: StoredState | None, current: Gone) -> Transition | None:
    # never watched, or already unwatched/deleted (a duplicate or late event): nothing to say
    if previous is None or not previous.watched:
        return None
    kind = AlertKind.UNWATCHED if current.reason is GoneReason.UNWATCHED else AlertKind.DELETED
    return Transition(
        kind=kind,
        arn=previous.principal,
        name=previous.name,
        principal_kind=previous.kind,
        account=previous.account,
        profile=previous.profile,
        before=previous.status,
        after=previous.status,
        changes=(),
        statuses=dict(previous.actions),
        account_name=current.account_name,
    )
