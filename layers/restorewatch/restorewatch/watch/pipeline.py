"""The watcher's one path: change (or sweep) -> targets -> inventory -> engine -> diff -> alert -> state.

``Watcher`` holds no AWS client of its own: it is given a reader factory, the state store and the
outbox (which publishes), so the Lambda handler, the CLI and the tests run the very same code.
Failures never turn into silence:

* a principal that cannot be read or evaluated is recorded as ``unknown`` (and alerted once);
* a failure that a retry can fix (throttling, 5xx, network, a state-write conflict) also makes the
  event retryable, so SQS delivers it again and finally parks it in the DLQ, whose alarm is loud;
* a change that cannot be mapped to principals triggers a sweep of every tagged principal.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from restorewatch.alerts import Outcome
from restorewatch.compliance import ComplianceStatus, PrincipalCheck, check_principal, unknown_check
from restorewatch.engine import AccountSnapshot
from restorewatch.errors import InputError, ReadError
from restorewatch.profiles import profile_names_from_tag, tag_value
from restorewatch.state import Presence, SweepHeartbeat
from restorewatch.watch.diff import Gone, GoneReason
from restorewatch.watch.targets import Target, TargetKind, plan_targets

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from restorewatch.alerts import Outbox, RecordResult
    from restorewatch.engine import ScpLevels
    from restorewatch.inventory import IamReader
    from restorewatch.profiles import ProfileRegistry
    from restorewatch.state import Store, StoredState
    from restorewatch.watch.targets import CloudTrailChange

logger = logging.getLogger(__name__)

# Codes a retry cannot fix: the watcher lacks permission, or the thing is gone.
_PERMANENT_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "NoSuchEntity", "InvalidClientTokenId"}
)


def is_transient(error: ReadError) -> bool:
    return error.code not in _PERMANENT_CODES


class ScpSource(Protocol):
    """Where the SCP levels of the watched account come from (``None``: no SCPs to evaluate)."""

    def levels(self, account: str) -> ScpLevels | None: ...


@dataclass(frozen=True, slots=True)
class WatchSettings:
    tag_key: str


@dataclass(slots=True)
class RunSummary:
    """What one change or sweep did; the handler turns it into metrics and batch failures."""

    checks: list[PrincipalCheck] = field(default_factory=list)
    results: list[RecordResult] = field(default_factory=list)
    gone: list[Gone] = field(default_factory=list)
    retry_reasons: list[str] = field(default_factory=list)
    swept: bool = False
    iam_calls: int = 0
    duration_seconds: float = 0.0

    @property
    def retryable(self) -> bool:
        return bool(self.retry_reasons)

    @property
    def alerts(self) -> list[str]:
        ids = [r.alert_id for r in self.results if r.outcome is Outcome.ALERTED and r.alert_id]
        return ids + [alert for r in self.results for alert in r.flushed]

    def count(self, status: ComplianceStatus) -> int:
        return sum(1 for check in self.checks if check.status is status)


@dataclass(slots=True)
class _Run:
    """What one change or sweep carries through its steps."""

    summary: RunSummary
    trigger: CloudTrailChange | None
    observed_at: datetime  # taken before any read: the evaluation reflects IAM from then on
    watched: _WatchedIndex


class Watcher:
    def __init__(
        self,
        *,
        reader_factory: Callable[[], IamReader],
        store: Store,
        outbox: Outbox,
        profiles: ProfileRegistry,
        settings: WatchSettings,
        scps: ScpSource | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._reader_factory = reader_factory
        self._store = store
        self._outbox = outbox
        self._profiles = profiles
        self._settings = settings
        self._scps = scps
        self._clock = clock

    def _start(self, trigger: CloudTrailChange | None, *, swept: bool = False) -> _Run:
        return _Run(RunSummary(swept=swept), trigger, self._clock(), _WatchedIndex(self._store))

    # ---- one change ------------------------------------------------------------------------------

    def handle_change(self, change: CloudTrailChange) -> RunSummary:
        started = time.monotonic()
        plan = plan_targets(change, self._settings.tag_key)
        if plan.sweep:
            logger.info("%s (%s): sweeping instead", change.event_name, plan.reason)
            return self.sweep(trigger=change)
        if plan.no_effect:
            logger.info("%s cannot change effective permissions: %s", change.event_name, plan.reason)
            return RunSummary()
        reader = self._reader_factory()
        run = self._start(change)
        to_read: dict[str, None] = {}
        for target in plan.targets:
            to_read.update(dict.fromkeys(self._resolve(run, target, reader)))
        if to_read:
            self._evaluate_read(run, list(to_read), reader)
        run.summary.iam_calls = reader.total_calls
        run.summary.duration_seconds = time.monotonic() - started
        return run.summary

    def _resolve(self, run: _Run, target: Target, reader: IamReader) -> tuple[str, ...]:
        """The tagged principals ``target`` names; records what is gone or unreadable on the way."""
        if target.kind in (TargetKind.USER_GONE, TargetKind.ROLE_GONE):
            for state in run.watched.matching(target):
                self._record_gone(run, Gone(state.principal, state.profile, GoneReason.DELETED))
            return ()
        single = target.kind in (TargetKind.USER, TargetKind.ROLE)
        if single and target.watched_only and not run.watched.matching(target):
            return ()  # not watched: costs no IAM read (the sweep picks up a principal tagged later)
        try:
            resolution = reader.resolve(target)
        except ReadError as failure:
            # the target itself could not be read: the principals it names are unknown
            self._unreadable(run, run.watched.matching(target), failure)
            run.summary.retry_reasons.append(str(failure))
            return ()
        for arn in resolution.unwatched:
            for state in run.watched.of(arn):
                self._record_gone(run, Gone(arn, state.profile, GoneReason.UNWATCHED))
        if resolution.missing:
            for state in run.watched.matching(target):
                self._record_gone(run, Gone(state.principal, state.profile, GoneReason.DELETED))
        for read_failure in resolution.errors:
            where = read_failure.target or ""
            affected = [s for s in run.watched.all() if where and s.principal.endswith(where)]
            self._unreadable(run, affected, read_failure)
            if is_transient(read_failure) or not affected:
                run.summary.retry_reasons.append(str(read_failure))
        return resolution.watched

    def _evaluate_read(self, run: _Run, arns: list[str], reader: IamReader) -> None:
        pages = reader.principal_pages(arns)
        for arn in pages.deleted:
            for state in run.watched.of(arn):
                self._record_gone(run, Gone(arn, state.profile, GoneReason.DELETED))
        for arn, failure in pages.errors.items():
            states = run.watched.of(arn)
            self._unreadable(run, states, failure)
            if is_transient(failure) or not states:
                # a principal the state does not know yet has nothing to mark: retry instead
                run.summary.retry_reasons.append(f"{arn}: {failure}")
        snapshot = AccountSnapshot.from_pages(pages.pages)
        for arn in pages.read_arns:
            self._evaluate_principal(run, snapshot, arn)

    # ---- a sweep -----------------------------------------------------------------------------------

    def sweep(self, trigger: CloudTrailChange | None = None) -> RunSummary:
        """Re-check every tagged principal; catches missed events and changes no event reports."""
        started = time.monotonic()
        for alert_id in self._outbox.flush_pending():
            logger.warning("published alert %s left pending by an earlier run", alert_id)
        reader = self._reader_factory()
        run = self._start(trigger, swept=True)
        try:
            snapshot = AccountSnapshot.from_pages(reader.account_pages())
        except ReadError as failure:
            self._unreadable(run, run.watched.all(), failure)
            run.summary.retry_reasons.append(str(failure))
        else:
            seen: set[str] = set()
            for arn in snapshot.principal_arns():
                if tag_value(snapshot.tags_of(arn), self._settings.tag_key) is None and not run.watched.of(
                    arn
                ):
                    continue
                seen.add(arn)
                self._evaluate_principal(run, snapshot, arn)
            for state in list(run.watched.all()):
                if state.principal not in seen:
                    self._record_gone(run, Gone(state.principal, state.profile, GoneReason.DELETED))
            if not run.summary.retryable:
                # the heartbeat behind the "no successful sweep" alarm: only a complete sweep counts
                self._store.record_sweep(SweepHeartbeat(run.observed_at, len(seen)))
        run.summary.iam_calls = reader.total_calls
        run.summary.duration_seconds = time.monotonic() - started
        return run.summary

    # ---- shared steps ------------------------------------------------------------------------------

    def _evaluate_principal(self, run: _Run, snapshot: AccountSnapshot, arn: str) -> None:
        value = tag_value(snapshot.tags_of(arn), self._settings.tag_key)
        names: tuple[str, ...] = ()
        if value is not None:
            try:
                names = profile_names_from_tag(value)
            except InputError as failure:
                self._record(run, unknown_check(arn, "(invalid tag)", f"watch tag: {failure}"))
        for state in run.watched.of(arn):
            if state.profile not in names:
                self._record_gone(run, Gone(arn, state.profile, GoneReason.UNWATCHED))
        for name in names:
            self._record(run, self._check(snapshot, arn, name))

    def _check(self, snapshot: AccountSnapshot, arn: str, profile_name: str) -> PrincipalCheck:
        try:
            profile = self._profiles.get(profile_name)
        except InputError as failure:
            return unknown_check(arn, profile_name, f"the watch tag names an unknown profile: {failure}")
        try:
            principal = snapshot.principal(arn)
            scps = self._scps.levels(principal.account) if self._scps is not None else None
            return check_principal(principal, profile, scps)
        except (InputError, ReadError) as failure:
            logger.warning("cannot evaluate %s for %s: %s", arn, profile_name, failure)
            return unknown_check(arn, profile_name, str(failure), profile.actions)

    def _unreadable(self, run: _Run, states: Iterable[StoredState], failure: ReadError) -> None:
        logger.warning("read failed: %s", failure)
        for state in list(states):
            self._record(run, unknown_check(state.principal, state.profile, str(failure), state.actions))

    def _record(self, run: _Run, check: PrincipalCheck) -> None:
        run.summary.checks.append(check)
        run.summary.results.append(
            self._outbox.record(check, observed_at=run.observed_at, trigger=run.trigger)
        )

    def _record_gone(self, run: _Run, gone: Gone) -> None:
        run.summary.gone.append(gone)
        run.summary.results.append(
            self._outbox.record(gone, observed_at=run.observed_at, trigger=run.trigger)
        )


class _WatchedIndex:
    """The principals the state says are watched, read once per run and only when needed.

    The state table is the index of watched principals: it is what lets a change to a principal
    nobody watches cost no IAM read at all.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._by_arn: dict[str, list[StoredState]] | None = None

    def _load(self) -> Mapping[str, list[StoredState]]:
        if self._by_arn is None:
            by_arn: dict[str, list[StoredState]] = {}
            for state in self._store.scan_states():
                if state.presence is Presence.WATCHED:
                    by_arn.setdefault(state.principal, []).append(state)
            self._by_arn = by_arn
        return self._by_arn

    def all(self) -> Iterator[StoredState]:
        for states in self._load().values():
            yield from states

    def of(self, arn: str) -> list[StoredState]:
        return list(self._load().get(arn, ()))

    def matching(self, target: Target) -> list[StoredState]:
        return [state for arn, states in self._load().items() if target.matches(arn) for state in states]
