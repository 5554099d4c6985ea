"""The watcher's one path: change (or sweep) -> targets -> inventory -> engine -> diff -> alert -> state.

``Watcher`` holds no AWS client of its own: it is given a reader factory, the state store and the
outbox (which publishes), so the Lambda handler, the CLI and the tests run the very same code.
Failures never turn into silence:

* a principal that cannot be read or evaluated is recorded as ``unknown`` (and alerted once);
* a failure that a retry can fix (throttling, 5xx, network, a state-write conflict) also makes the
  event retryable, so SQS delivers it again and finally parks it in the DLQ, whose alarm is loud;
* a change that cannot be mapped to principals (or names too many) triggers a sweep of its account.

What a run is given and returns (``WatchSettings``, ``RunSummary``, the Organizations view) lives
in ``watch.run``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from restorewatch.compliance import (
    SCPS_NOT_CONFIGURED,
    ComplianceStatus,
    PrincipalCheck,
    ScpFailure,
    check_principal,
    unknown_check,
)
from restorewatch.domain import Gone, GoneReason, Target, TargetKind
from restorewatch.engine import AccountSnapshot
from restorewatch.errors import InputError, ReadError, RestoreWatchError
from restorewatch.ledger import AlertBatch, Outcome
from restorewatch.profiles import profile_names_from_tag, tag_value
from restorewatch.state import Observation, SweepHeartbeat
from restorewatch.watch.org_events import OrgScope, is_org_change, plan_org_change
from restorewatch.watch.run import OrgView, RunSummary, ScpSource, WatchSettings, is_transient
from restorewatch.watch.stream import stream_snapshots
from restorewatch.watch.targets import plan_targets
from restorewatch.watch.watched import ACCOUNT_ACCESS_PROFILE, WatchedIndex, account_access_arn

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from restorewatch.compliance import ScpCoverage
    from restorewatch.domain import CloudTrailChange
    from restorewatch.engine import ScpLevels
    from restorewatch.inventory import IamReader
    from restorewatch.ledger import Outbox, RecordResult
    from restorewatch.profiles import ProfileRegistry
    from restorewatch.report import ReportSink
    from restorewatch.state import Store, StoredState
    from restorewatch.watch.fanout import SweepDispatcher

logger = logging.getLogger(__name__)

# how often one run reads a principal again after overlapping runs, before it retries instead
_READ_AGAIN_LIMIT = 2


@dataclass(slots=True)
class _Run:
    """What one change or sweep carries through its steps."""

    summary: RunSummary
    trigger: CloudTrailChange | None
    started_at: datetime  # before any read: when a sweep began, what its report is dated
    # when the IAM data behind the evaluations being recorded was read (state.model.Observation):
    # a change run's read, or the sweep's policy listing and the page being evaluated
    seen: Observation
    watched: WatchedIndex
    org: OrgView | None = None
    reader: IamReader | None = None
    read_account: str | None = None  # the account whose reader a principal is read again with
    read_again: Counter[str] = field(default_factory=Counter)
    reread_iam_calls: int = 0
    names: dict[str, str | None] = field(default_factory=dict)
    scps_retry: set[str] = field(default_factory=set)  # accounts whose SCPs a retry may read
    batch: AlertBatch | None = None  # digest mode: the alerts this run holds back


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
        org_factory: Callable[[], OrgView] | None = None,
        account_reader_factory: Callable[[str], IamReader] | None = None,
        dispatcher: SweepDispatcher | None = None,
        digest_over: int | None = None,
        report: ReportSink | None = None,
    ) -> None:
        """``org_factory``: one ``OrgView`` per run (SCPs, account names, accounts below an OU).
        ``account_reader_factory`` and ``dispatcher`` make it the central watcher of an
        organization: IAM reads go through the member account's role, and sweeps fan out."""
        self._reader_factory = reader_factory
        self._store = store
        self._outbox = outbox
        self._profiles = profiles
        self._settings = settings
        self._scps = scps
        self._clock = clock
        self._org_factory = org_factory
        self._account_reader_factory = account_reader_factory
        self._dispatcher = dispatcher
        # digest mode: hold this run's alerts back and send more than ``digest_over`` as one digest
        self._digest_over = digest_over
        self._report = report  # where a sweep writes the HTML status report, if anywhere
        # account (None: this one) -> when its last complete sweep began reading, or was enqueued
        self._sweeps_begun: dict[str | None, datetime] = {}

    @property
    def fans_out(self) -> bool:
        return self._dispatcher is not None and self._org_factory is not None

    def _start(
        self, trigger: CloudTrailChange | None, *, swept: bool = False, account: str | None = None
    ) -> _Run:
        # the central watcher's table holds every member account: a run reads its own account's
        # states only (the index). A single account's table is small, and read consistently whole.
        if account is None and trigger is not None and self.fans_out:
            index_account: str | None = trigger.account
        else:
            index_account = account
        started_at = self._clock()
        return _Run(
            RunSummary(swept=swept, account=account),
            trigger,
            started_at,
            Observation(started_at),
            WatchedIndex(self._store, index_account),
            org=self._org_factory() if self._org_factory is not None else None,
        )

    def _reader_for(self, account: str | None) -> IamReader:
        if account is not None and self._account_reader_factory is not None:
            return self._account_reader_factory(account)
        return self._reader_factory()

    def _finish(self, run: _Run, started: float) -> RunSummary:
        self._deliver_held(run)
        if run.summary.swept and self._report is not None:
            self._write_report(run)
        run.summary.iam_calls = run.reread_iam_calls + (
            run.reader.total_calls if run.reader is not None else 0
        )
        run.summary.org_calls = run.org.total_calls if run.org is not None else 0
        run.summary.duration_seconds = time.monotonic() - started
        return run.summary

    # ---- one change ------------------------------------------------------------------------------

    def handle_change(self, change: CloudTrailChange, *, received_at: datetime | None = None) -> RunSummary:
        """``received_at``: when the invocation that carries the change began (its queue delay over).
        A sweep begun since then covers the change: a batch of changes that each need a sweep of
        the same account sweeps it once (ten sweeps of a large account would outlast the timeout)."""
        started = time.monotonic()
        if is_org_change(change):
            return self._handle_org_change(change, started)
        plan = plan_targets(change, self._settings.tag_key)
        if plan.sweep:
            logger.info("%s (%s): sweeping instead", change.event_name, plan.reason)
            return self._sweep_instead(change, started, received_at)
        if plan.no_effect:
            logger.info("%s cannot change effective permissions: %s", change.event_name, plan.reason)
            return RunSummary()
        run = self._start(change)
        run.read_account = change.account if self.fans_out else None
        try:
            reader = run.reader = self._reader_for(run.read_account)
        except ReadError as failure:  # the member account's role could not be assumed
            for target in plan.targets:
                self._unreadable(run, run.watched.matching(target), failure)
            run.summary.retry_reasons.append(str(failure))
            return self._finish(run, started)
        # everything evaluated below is read from here on (the reader caches what resolve read)
        run.seen = Observation(self._clock())
        to_read: dict[str, None] = {}
        for target in plan.targets:
            resolved = self._resolve(run, target, reader)
            if resolved is None:
                return self._sweep_instead(change, started, received_at, run)
            to_read.update(dict.fromkeys(resolved))
        if to_read:
            self._evaluate_read(run, list(to_read), reader)
        return self._finish(run, started)

    def _sweep_instead(
        self,
        change: CloudTrailChange,
        started: float,
        received_at: datetime | None,
        run: _Run | None = None,
    ) -> RunSummary:
        """Re-check the change's account by a sweep, unless one begun since ``received_at`` has."""
        key = change.account if self.fans_out else None
        begun = self._sweeps_begun.get(key)
        if received_at is not None and begun is not None and begun >= received_at:
            logger.info("%s: covered by the sweep begun at %s", change.event_name, begun.isoformat())
            return RunSummary()
        if self.fans_out:
            return self._dispatch_sweeps(run or self._start(change), [change.account], started)
        return self.sweep(trigger=change)

    def _handle_org_change(self, change: CloudTrailChange, started: float) -> RunSummary:
        """An Organizations change: re-check the accounts below what it touched, and only those."""
        plan = plan_org_change(change)
        if plan.no_effect:
            logger.info("%s cannot change SCPs: %s", change.event_name, plan.reason)
            return RunSummary()
        if self._org_factory is None:
            logger.info("%s (%s): no Organizations access, sweeping", change.event_name, plan.reason)
            return self.sweep(trigger=change)
        run = self._start(change)
        assert run.org is not None
        try:
            accounts = self._affected_accounts(run.org, plan.scope, plan.ids)
        except ReadError as failure:
            if failure.code == "AWSOrganizationsNotInUseException":
                logger.info("%s: this account is in no organization, nothing to re-check", plan.reason)
            else:
                run.summary.retry_reasons.append(f"{plan.reason}: {failure}")
            return self._finish(run, started)
        logger.info("%s: %d accounts affected", plan.reason, len(accounts))
        if self.fans_out:
            return self._dispatch_sweeps(run, accounts, started)
        home = self._settings.home_account
        if home is not None and home not in accounts:
            return self._finish(run, started)  # the watched account is not below what changed
        return self.sweep(trigger=change)

    @staticmethod
    def _affected_accounts(org: OrgView, scope: OrgScope, ids: tuple[str, ...]) -> list[str]:
        if scope is OrgScope.ALL:
            return org.account_ids()
        targets = list(ids)
        if scope is OrgScope.POLICY_TARGETS:
            targets = [target for policy in ids for target in org.targets_of(policy)]
        return list(dict.fromkeys(a for target in targets for a in org.accounts_below(target)))

    def _resolve(self, run: _Run, target: Target, reader: IamReader) -> tuple[str, ...] | None:
        """The tagged principals ``target`` names; records what is gone or unreadable on the way.
        ``None``: sweep the account instead, nothing was recorded: too many principals to read one
        by one (``WatchSettings.sweep_over``), or a group or policy IAM does not know by the name
        the event gives (deleted since, or, names being case-insensitive, spelt in another case
        than a case-sensitive lookup knows)."""
        if target.kind in (TargetKind.USER_GONE, TargetKind.ROLE_GONE):
            for state in run.watched.matching(target):
                self._record_gone(run, Gone(state.principal, state.profile, GoneReason.DELETED))
            return ()
        single = target.kind in (TargetKind.USER, TargetKind.ROLE)
        if single and target.watched_only and not run.watched.matching(target):
            return ()  # not watched: costs no IAM read (the sweep picks up a principal tagged later)
        try:
            resolution = reader.resolve(
                target, tag_key=self._settings.tag_key, wide_over=self._settings.sweep_over
            )
            # IAM names are case-insensitive: a watched principal the event spells in another case
            # is read by the name IAM gave it (the state's), never reported gone for a spelling
            for name in run.watched.other_spellings(target) if resolution.missing else ():
                resolution = reader.resolve(
                    replace(target, name=name),
                    tag_key=self._settings.tag_key,
                    wide_over=self._settings.sweep_over,
                )
                if not resolution.missing:
                    break
        except ReadError as failure:
            # the target itself could not be read: the principals it names are unknown
            self._unreadable(run, run.watched.matching(target), failure)
            run.summary.retry_reasons.append(str(failure))
            return ()
        if resolution.wide:
            logger.info(
                "%s names over %d principals: sweeping instead", target.name, self._settings.sweep_over
            )
            return None
        if resolution.missing and not single:
            logger.info("IAM knows no %s %s: sweeping instead", target.kind.value, target.name)
            return None
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

    def sweep(self, trigger: CloudTrailChange | None = None, account: str | None = None) -> RunSummary:
        """Re-check every tagged principal; catches missed events and changes no event reports.

        The central watcher of an organization (``fans_out``) sweeps no account itself: it enqueues
        one sweep per account, and each of those (``account`` given) sweeps that account only.
        """
        started = time.monotonic()
        if account is None and self.fans_out:
            return self._fan_out(trigger, started)
        for alert_id in self._outbox.flush_pending(account):
            logger.warning("published alert %s left pending by an earlier run", alert_id)
        run = self._start(trigger, swept=True, account=account)
        run.read_account = account
        seen: set[str] = set()
        failure: ReadError | None = None
        try:
            reader = run.reader = self._reader_for(account)
            read_from = self._clock()  # the listing of managed policies and groups begins
            # pages of users and roles as they come: memory stays bounded (see watch.stream)
            for page in stream_snapshots(reader, self._clock):
                run.seen = Observation(page.read_at, read_from)
                snapshot = page.snapshot
                for arn in snapshot.principal_arns():
                    tagged = tag_value(snapshot.tags_of(arn), self._settings.tag_key) is not None
                    if not tagged and not run.watched.of(arn):
                        continue
                    seen.add(arn)
                    self._evaluate_principal(run, snapshot, arn)
        except ReadError as error:
            failure = error
            run.seen = Observation(run.started_at)
            self._unreadable(run, (s for s in run.watched.all() if s.principal not in seen), error)
            run.summary.retry_reasons.append(str(error))
        else:
            # absent from a listing that began after read_from: deleted by then, as far as it shows
            run.seen = Observation(read_from)
            for state in list(run.watched.all()):
                if state.principal not in seen:
                    self._record_gone(run, Gone(state.principal, state.profile, GoneReason.DELETED))
        run.seen = Observation(run.started_at)
        if account is not None:
            self._record_account_access(run, account, failure)
        if not run.summary.retryable:
            # the heartbeat behind the "no successful sweep" alarm: only a complete sweep counts
            self._store.record_sweep(SweepHeartbeat(run.started_at, len(seen)))
            self._sweeps_begun[account] = run.started_at
        return self._finish(run, started)

    def _fan_out(self, trigger: CloudTrailChange | None, started: float) -> RunSummary:
        run = self._start(trigger)
        assert run.org is not None
        try:
            accounts = run.org.account_ids()
        except ReadError as failure:
            run.summary.retry_reasons.append(f"sweep fan-out: {failure}")
            return self._finish(run, started)
        return self._dispatch_sweeps(run, accounts, started)

    def _dispatch_sweeps(self, run: _Run, accounts: list[str], started: float) -> RunSummary:
        """Organization mode: one sweep message per account, each swept by its own invocation."""
        assert self._dispatcher is not None
        try:
            run.summary.dispatched = self._dispatcher.dispatch(accounts, run.trigger)
        except ReadError as failure:
            run.summary.retry_reasons.append(f"sweep fan-out: {failure}")
        else:
            self._sweeps_begun.update(dict.fromkeys(accounts, run.started_at))
        return self._finish(run, started)

    def _record_account_access(self, run: _Run, account: str, failure: ReadError | None) -> None:
        """Whether the member account could be read at all: its own state item, so that an account
        that cannot be read alerts UNKNOWN once (and RESTORED later) even before any of its
        principals was ever seen."""
        arn = account_access_arn(account)
        if failure is not None:
            check = unknown_check(
                arn, ACCOUNT_ACCESS_PROFILE, f"account {account} could not be read: {failure}"
            )
        else:
            check = PrincipalCheck(
                arn, "", None, account, ACCOUNT_ACCESS_PROFILE, ComplianceStatus.COMPLIANT, ()
            )
        name = self._account_name(run, account)
        self._record(
            run, replace(check, name=f"every watched principal of account {account}", account_name=name)
        )

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
            self._record(run, self._check(run, snapshot, arn, name))

    def _scps_for(self, run: _Run, account: str) -> tuple[ScpLevels | None, ScpCoverage | None]:
        if run.org is not None:
            coverage = run.org.coverage(account)
            if coverage.failure is ScpFailure.TRANSIENT and account not in run.scps_retry:
                # the check is fail-closed unknown (ledger.diff.fail_closed); a retry may read them
                run.scps_retry.add(account)
                run.summary.retry_reasons.append(f"SCPs of account {account}: {coverage.error}")
            return run.org.levels(account), coverage
        if self._scps is not None:
            return self._scps.levels(account), None
        return None, SCPS_NOT_CONFIGURED  # say so in the alert: never pretend SCPs allow

    def _account_name(self, run: _Run, account: str) -> str | None:
        if account not in run.names:
            name = run.org.account_name(account) if run.org is not None else None
            if name is None and run.reader is not None:
                try:
                    name = run.reader.account_alias()
                except ReadError as failure:
                    logger.info("no alias for account %s: %s", account, failure)
            run.names[account] = name
        return run.names[account]

    def _check(self, run: _Run, snapshot: AccountSnapshot, arn: str, profile_name: str) -> PrincipalCheck:
        try:
            profile = self._profiles.get(profile_name)
        except InputError as failure:
            return unknown_check(arn, profile_name, f"the watch tag names an unknown profile: {failure}")
        try:
            principal = snapshot.principal(arn)
            scps, coverage = self._scps_for(run, principal.account)
            name = self._account_name(run, principal.account)
            return check_principal(principal, profile, scps, coverage=coverage, account_name=name)
        except (InputError, ReadError) as failure:
            logger.warning("cannot evaluate %s for %s: %s", arn, profile_name, failure)
            return unknown_check(arn, profile_name, str(failure), profile.actions)

    def _unreadable(self, run: _Run, states: Iterable[StoredState], failure: ReadError) -> None:
        logger.warning("read failed: %s", failure)
        for state in list(states):
            self._record(run, unknown_check(state.principal, state.profile, str(failure), state.actions))

    def _record(self, run: _Run, check: PrincipalCheck) -> None:
        result = self._save(run, check)
        if result.outcome is Outcome.OVERLAPPED:
            self._read_again(run, check.arn)
            return
        run.summary.results.append(result)
        run.summary.checks.append(result.check or check)  # as saved: fail-closed if it knew less

    def _record_gone(self, run: _Run, gone: Gone) -> None:
        result = self._save(run, gone)
        if result.outcome is Outcome.OVERLAPPED:
            self._read_again(run, gone.arn)
            return
        run.summary.gone.append(gone)
        run.summary.results.append(result)

    def _save(self, run: _Run, current: PrincipalCheck | Gone) -> RecordResult:
        return self._outbox.record(
            current,
            observed_at=run.seen.observed_at,
            read_from=run.seen.read_from,
            trigger=run.trigger,
            batch=self._batch(run),
        )

    def _read_again(self, run: _Run, arn: str) -> None:
        """Another run saved an evaluation of ``arn`` that saw something this one did not, and this
        one saw something that did not (a sweep's late page against a change run's read in between,
        see ``state.model.Observation``): read the principal again, now, and record that instead."""
        run.read_again[arn] += 1
        if run.read_again[arn] > _READ_AGAIN_LIMIT:
            run.summary.retry_reasons.append(f"{arn}: read by overlapping runs {_READ_AGAIN_LIMIT} times")
            return
        logger.info("%s was read by an overlapping run: reading it again", arn)
        outer = run.seen
        try:
            reader = self._reader_for(run.read_account)  # a new reader: nothing cached
        except ReadError as failure:
            run.summary.retry_reasons.append(f"{arn}: {failure}")
            return
        try:
            run.seen = Observation(self._clock())
            self._evaluate_read(run, [arn], reader)
        finally:
            run.seen = outer
            run.reread_iam_calls += reader.total_calls

    # ---- digest mode and the report ----------------------------------------------------------------

    def _batch(self, run: _Run) -> AlertBatch | None:
        if self._digest_over is not None and run.batch is None:
            run.batch = AlertBatch()
        return run.batch

    def _deliver_held(self, run: _Run) -> None:
        """Digest mode: publish what the run held back, as one digest when there are many."""
        if run.batch is None or not len(run.batch) or self._digest_over is None:
            return
        try:
            run.summary.delivered += self._outbox.deliver_batch(run.batch, digest_over=self._digest_over)
        except RestoreWatchError as failure:
            # still pending in the state: the retry (or the next sweep) publishes them one by one
            run.summary.retry_reasons.append(f"delivering held alerts: {failure}")

    def _write_report(self, run: _Run) -> None:
        assert self._report is not None
        checks = [check for check in run.summary.checks if not check.profile.startswith("#")]
        try:
            run.summary.report = self._report.write(
                checks, generated_at=run.started_at, account=run.summary.account
            )
        except RestoreWatchError as failure:
            # the report is a convenience: its failure must not make the sweep (and its alerts) retry
            logger.error("could not write the status report: %s", failure)
