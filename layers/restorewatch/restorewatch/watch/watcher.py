"""The watcher's one path: change (or sweep) -> targets -> inventory -> engine -> ledger -> alert.

``Watcher`` holds no AWS client of its own: it is built from its parts (``watch.context.
WatcherParts``: the execution mode, the outbox, the profiles, the settings, the report sink), so the
Lambda handler, the CLI and the tests run the very same code. It decides what a change needs and
hands the work to the units that do it: a change run (``watch.change_run``), an account sweep
(``watch.account_sweep``), or the mode (``watch.modes``) when accounts must be re-checked. A change
that cannot be mapped to principals, or names too many, is re-checked by a sweep of its account.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from restorewatch.errors import InputError, ReadError
from restorewatch.state import Observation
from restorewatch.watch.change_run import run_change
from restorewatch.watch.context import RunContext, WatcherParts, utcnow
from restorewatch.watch.org_events import affected_accounts, is_org_change, plan_org_change
from restorewatch.watch.resource_events import is_resource_change, plan_resource_change
from restorewatch.watch.summary import RunSummary
from restorewatch.watch.targets import plan_targets

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from datetime import datetime

    from restorewatch.domain import CloudTrailChange
    from restorewatch.ledger import Outbox
    from restorewatch.profiles import ProfileRegistry
    from restorewatch.report import ReportSink
    from restorewatch.state import StoredState
    from restorewatch.watch.modes import ExecutionMode
    from restorewatch.watch.settings import WatchSettings

__all__ = ["Watcher"]

logger = logging.getLogger(__name__)


class Watcher:
    def __init__(
        self,
        mode: ExecutionMode,
        outbox: Outbox,
        profiles: ProfileRegistry,
        settings: WatchSettings,
        *,
        report: ReportSink | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """``mode``: where IAM is read and how sweeps spread (``SingleAccount``, ``Organization``);
        ``outbox``: the ledger, which saves and publishes; ``report``: where a sweep writes the HTML
        status report, if anywhere."""
        self.parts = WatcherParts(mode, outbox, profiles, settings, report, clock)

    def handle_change(self, change: CloudTrailChange, *, received_at: datetime | None = None) -> RunSummary:
        """Re-check what one change can affect. ``received_at``: when the invocation that carries the
        change began (its queue delay over). A sweep begun since then covers the change: a batch of
        changes that each need a sweep of the same account sweeps it once (ten sweeps of a large
        account would outlast the timeout)."""
        started = time.monotonic()
        if is_org_change(change):
            return self._handle_org_change(change, started)
        if is_resource_change(change):
            return self._handle_resource_change(change, started)
        plan = plan_targets(change, self.parts.settings.tag_key)
        if plan.sweep:
            logger.info("%s (%s): sweeping instead", change.event_name, plan.reason)
            return self._recheck(change, started, received_at, None)
        if plan.no_effect:
            logger.info("%s cannot change effective permissions: %s", change.event_name, plan.reason)
            return RunSummary()
        scope = self.parts.mode.scope(change)
        run = RunContext.start(self.parts, change, scope=scope)
        run.read_account = scope
        summary = run_change(run, plan, started)
        if summary is None:
            return self._recheck(change, started, received_at, run)
        return summary

    def sweep(self, trigger: CloudTrailChange | None = None, account: str | None = None) -> RunSummary:
        """Re-check every tagged principal; catches missed events and changes no event reports.
        ``account``: sweep that one account (a fan-out message of organization mode)."""
        return self.parts.mode.sweep(self.parts, trigger, account, time.monotonic())

    def _recheck(
        self, change: CloudTrailChange, started: float, received_at: datetime | None, run: RunContext | None
    ) -> RunSummary:
        """Re-check the change's account by a sweep, unless one begun since ``received_at`` has."""
        begun = self.parts.sweeps_begun.get(self.parts.mode.scope(change))
        if received_at is not None and begun is not None and begun >= received_at:
            logger.info("%s: covered by the sweep begun at %s", change.event_name, begun.isoformat())
            return RunSummary()
        return self.parts.mode.recheck(self.parts, change, run, started)

    def _handle_resource_change(self, change: CloudTrailChange, started: float) -> RunSummary:
        """A bucket or key change: re-check the watched principals bound to it (the state knows
        which), in the change's account (organization mode: a principal of another member account
        bound to it is re-checked by that account's next sweep)."""
        plan = plan_resource_change(change)
        if plan.no_effect:
            logger.info("%s cannot change a bound profile's answer: %s", change.event_name, plan.reason)
            return RunSummary()
        scope = self.parts.mode.scope(change)
        run = RunContext.start(self.parts, change, scope=scope)
        run.read_account = scope
        arns = [
            arn
            for arn, states in _by_principal(run.watched.all()).items()
            if any(plan.reaches(state.resources) or self._unknown_binding(state) for state in states)
        ]
        logger.info("%s: %d bound principals to re-check", plan.reason, len(arns))
        if not arns:
            return run.finish(started)
        try:
            reader = run.reader = self.parts.mode.reader(run.read_account)
        except ReadError as failure:  # the member account's role could not be assumed
            for arn in arns:
                run.unreadable(run.watched.of(arn), failure)
            run.retry(str(failure))
            return run.finish(started)
        run.seen = Observation(self.parts.clock())
        run.evaluate_read(arns, reader)
        return run.finish(started)

    def _unknown_binding(self, state: StoredState) -> bool:
        """A state of a bound profile that names no resource because it was saved before states
        remembered them: re-checked by every bucket or key change until it names them. A check that
        failed before binding (a parameter tag missing: ``error``) waits for its tag (TagRole) or the
        sweep instead: no bucket or key change can repair it, and CreateGrant is frequent."""
        if state.resources or state.error is not None:
            return False
        try:
            return self.parts.profiles.get(state.profile).bound
        except InputError:
            return False

    def _handle_org_change(self, change: CloudTrailChange, started: float) -> RunSummary:
        """An Organizations change: re-check the accounts below what it touched, and only those."""
        plan = plan_org_change(change)
        if plan.no_effect:
            logger.info("%s cannot change SCPs: %s", change.event_name, plan.reason)
            return RunSummary()
        org = self.parts.mode.org_view()
        if org is None:
            logger.info("%s (%s): no Organizations access, sweeping", change.event_name, plan.reason)
            return self.sweep(trigger=change)
        run = RunContext.start(self.parts, change, org=org)
        try:
            accounts = affected_accounts(org, plan)
        except ReadError as failure:
            if failure.code == "AWSOrganizationsNotInUseException":
                logger.info("%s: this account is in no organization, nothing to re-check", plan.reason)
            else:
                run.retry(f"{plan.reason}: {failure}")
            return run.finish(started)
        logger.info("%s: %d accounts affected", plan.reason, len(accounts))
        return self.parts.mode.recheck_accounts(self.parts, run, accounts, started)


def _by_principal(states: Iterable[StoredState]) -> dict[str, list[StoredState]]:
    grouped: dict[str, list[StoredState]] = {}
    for state in states:
        grouped.setdefault(state.principal, []).append(state)
    return grouped
