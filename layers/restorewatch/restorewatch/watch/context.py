"""One run of the watcher (a change or a sweep) and the steps every run shares.

``WatcherParts`` are what a watcher is built from, grouped once: the execution mode (where IAM is
read, how sweeps spread), the outbox (the ledger: state store and publisher), the profiles, the
settings, the report sink and the clock. ``RunContext`` is what one run carries through its steps,
and those steps: evaluate a principal against each profile its watch tag names, record the check (or
that the principal is gone) through the outbox, read a principal again when an overlapping run saw
something this one did not, and finish (deliver held alerts, write the report, count the calls).

Failures never turn into silence: a principal that cannot be read or evaluated is recorded as
``unknown`` (and alerted once); a failure a retry can fix also adds a ``retry_reasons`` entry, so
the record is delivered again and finally parked in the DLQ, whose alarm is loud.
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
    ScpFailure,
    ScpStatus,
    check_principal,
    unknown_check,
)
from restorewatch.domain import Gone, GoneReason
from restorewatch.engine import AccountSnapshot
from restorewatch.engine.resources import ResourcePolicies, policy_holder
from restorewatch.errors import InputError, ReadError, RestoreWatchError
from restorewatch.ledger import AlertBatch, Outcome
from restorewatch.profiles import profile_names_from_tag, tag_value
from restorewatch.profiles.parameters import bind_requirements
from restorewatch.state import Observation
from restorewatch.watch.summary import RunSummary
from restorewatch.watch.watched import WatchedIndex

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from restorewatch.compliance import PrincipalCheck, ScpCoverage
    from restorewatch.domain import CloudTrailChange
    from restorewatch.engine import Principal, RcpLevels, ResourcePolicy, ScpLevels
    from restorewatch.inventory import IamReader, ResourcePolicyReader
    from restorewatch.ledger import Outbox, RecordResult
    from restorewatch.profiles import Profile, ProfileRegistry
    from restorewatch.report import ReportSink
    from restorewatch.state import Store, StoredState
    from restorewatch.watch.modes import ExecutionMode, OrgView
    from restorewatch.watch.settings import WatchSettings

__all__ = ["LIVE_SOURCE", "ResourceSide", "RunContext", "WatcherParts", "utcnow"]

# what an unread resource policy says (a pattern with a wildcard names no one resource to read)
LIVE_SOURCE = "the watcher reads the policy of each bucket or key a bound profile names, one by one"

logger = logging.getLogger(__name__)

# how often one run reads a principal again after overlapping runs, before it retries instead
_READ_AGAIN_LIMIT = 2


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class WatcherParts:
    """What every run of one watcher uses."""

    mode: ExecutionMode
    outbox: Outbox
    profiles: ProfileRegistry
    settings: WatchSettings
    report: ReportSink | None = None  # where a sweep writes the HTML status report, if anywhere
    clock: Callable[[], datetime] = utcnow
    # account (None: the watcher's own) -> when its last complete sweep began reading, or was enqueued
    sweeps_begun: dict[str | None, datetime] = field(default_factory=dict)

    @property
    def store(self) -> Store:
        return self.outbox.store


@dataclass(slots=True)
class ResourceSide:
    """What one check of a principal knows of the resource side, as ``check_principal`` takes it."""

    policies: ResourcePolicies
    org_id: str | None
    org_paths: tuple[str, ...] = ()
    rcps: dict[str, RcpLevels] = field(default_factory=dict)
    rcp_failures: list[ScpCoverage] = field(default_factory=list)
    read_failures: list[str] = field(default_factory=list)  # the bucket and key reads that failed

    def coverage(self, scps: ScpCoverage | None) -> ScpCoverage | None:
        """The SCP coverage, or the RCP failure when SCPs were read and RCPs were not: the check then
        knows less than an evaluated one, and ``ledger.diff.fail_closed`` holds it as it holds SCPs
        (never RESTORED on less than was known)."""
        if not self.rcp_failures or (scps is not None and scps.status is ScpStatus.NOT_EVALUATED):
            return scps
        return self.rcp_failures[0]


@dataclass(slots=True)
class RunContext:
    """What one change or sweep carries through its steps."""

    parts: WatcherParts
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
    read_again_counts: Counter[str] = field(default_factory=Counter)
    reread_iam_calls: int = 0
    names: dict[str, str | None] = field(default_factory=dict)
    scps_retry: set[str] = field(default_factory=set)  # accounts whose SCPs a retry may read
    # the bucket and key policies bound profiles name, read once per resource per run
    resource_reader: ResourcePolicyReader | None = None
    resources_retry: set[str] = field(default_factory=set)  # holders whose read a retry may repeat
    held: AlertBatch | None = None  # digest mode: the alerts this run holds back

    @classmethod
    def start(
        cls,
        parts: WatcherParts,
        trigger: CloudTrailChange | None,
        *,
        swept: bool = False,
        account: str | None = None,
        scope: str | None = None,
        org: OrgView | None = None,
    ) -> RunContext:
        """``account``: the one account a sweep sweeps; ``scope``: the account whose watched states
        the run reads (``None``: the whole table; defaults to ``account``); ``org``: the run's view
        of the organization (default: a fresh one from the mode, if it has any)."""
        started_at = parts.clock()
        return cls(
            parts,
            RunSummary(swept=swept, account=account),
            trigger,
            started_at,
            Observation(started_at),
            WatchedIndex(parts.store, scope if scope is not None else account),
            org=org if org is not None else parts.mode.org_view(),
        )

    def finish(self, started: float) -> RunSummary:
        self._deliver_held()
        if self.summary.swept and self.parts.report is not None:
            self._write_report(self.parts.report)
        self.summary.iam_calls = self.reread_iam_calls + (
            self.reader.total_calls if self.reader is not None else 0
        )
        self.summary.org_calls = self.org.total_calls if self.org is not None else 0
        self.summary.duration_seconds = time.monotonic() - started
        return self.summary

    def retry(self, reason: str) -> None:
        self.summary.retry_reasons.append(reason)

    # ---- evaluating --------------------------------------------------------------------------------

    def evaluate_read(self, arns: list[str], reader: IamReader) -> None:
        """Read ``arns`` (users and roles) and record each: evaluated, gone, or unreadable."""
        pages = reader.principal_pages(arns)
        for arn in pages.deleted:
            for state in self.watched.of(arn):
                self.record_gone(Gone(arn, state.profile, GoneReason.DELETED))
        for arn, failure in pages.errors.items():
            states = self.watched.of(arn)
            self.unreadable(states, failure)
            if failure.transient or not states:
                # a principal the state does not know yet has nothing to mark: retry instead
                self.retry(f"{arn}: {failure}")
        snapshot = AccountSnapshot.from_pages(pages.pages)
        for arn in pages.read_arns:
            self.evaluate_principal(snapshot, arn)

    def evaluate_principal(self, snapshot: AccountSnapshot, arn: str) -> None:
        """Check ``arn`` against each profile its watch tag names; a profile it no longer names is gone."""
        value = tag_value(snapshot.tags_of(arn), self.parts.settings.tag_key)
        names: tuple[str, ...] = ()
        if value is not None:
            try:
                names = profile_names_from_tag(value)
            except InputError as failure:
                self.record(unknown_check(arn, "(invalid tag)", f"watch tag: {failure}"))
        for state in self.watched.of(arn):
            if state.profile not in names:
                self.record_gone(Gone(arn, state.profile, GoneReason.UNWATCHED))
        for name in names:
            self.record(self._check(snapshot, arn, name))

    def _check(self, snapshot: AccountSnapshot, arn: str, profile_name: str) -> PrincipalCheck:
        try:
            profile = self.parts.profiles.get(profile_name)
        except InputError as failure:
            return unknown_check(arn, profile_name, f"the watch tag names an unknown profile: {failure}")
        try:
            principal = snapshot.principal(arn)
            scps, coverage = self._scps_for(principal.account)
            name = self.account_name(principal.account)
            if not profile.bound and self.org is None:
                return check_principal(principal, profile, scps, coverage=coverage, account_name=name)
            side = self._resource_side(principal, profile)
            coverage = side.coverage(coverage)
            check = check_principal(
                principal,
                profile,
                scps,
                coverage=coverage,
                account_name=name,
                resources=side.policies,
                rcps=side.rcps,
                org_id=side.org_id,
                org_paths=side.org_paths,
            )
            if side.read_failures and check.status is ComplianceStatus.UNKNOWN:
                # the alert names the call that failed, as for an unreadable principal
                return replace(check, error="; ".join(side.read_failures))
            return check
        except (InputError, ReadError) as failure:
            logger.warning("cannot evaluate %s for %s: %s", arn, profile_name, failure)
            return unknown_check(arn, profile_name, str(failure), profile.actions)

    def _resource_side(self, principal: Principal, profile: Profile) -> ResourceSide:
        """The policies of the buckets and keys ``profile`` binds for ``principal`` (its parameters
        from its tags: a missing one raises ``ParameterError``, and the check is unknown), the RCPs
        of the accounts that own them and of the principal's, and its organization."""
        policies: dict[str, ResourcePolicy] = {}
        read_failures: list[str] = []
        if profile.bound:
            if self.resource_reader is None:
                from restorewatch.inventory import ResourcePolicyReader  # boto3 on first use only

                self.resource_reader = ResourcePolicyReader(self.parts.mode.resource_client)
            reader = self.resource_reader
            for bound in bind_requirements(profile, principal.tags):
                holder = policy_holder(bound.resource) if bound.resource is not None else None
                if holder is None or holder in policies:
                    continue  # on `*`, or a pattern naming several resources: unknown, never read
                policies[holder] = reader.policy(holder, principal.account)
                failure = reader.failures.get(holder)
                if failure is None:
                    continue
                read_failures.append(
                    f"the {policies[holder].kind} of {holder}: {policies[holder].unreadable}"
                )
                if failure.transient and holder not in self.resources_retry:
                    self.resources_retry.add(holder)
                    self.retry(f"{holder}: {failure}")
        side = ResourceSide(
            ResourcePolicies(policies, given=False, source=LIVE_SOURCE),
            org_id=None,
            read_failures=read_failures,
        )
        if self.org is None:
            return side
        owners = dict.fromkeys([principal.account, *(p.owner(principal.account) for p in policies.values())])
        for account in owners:
            found = self.org.rcps(account)
            if found.levels is not None:
                side.rcps[account] = found.levels
            elif found.coverage.status is ScpStatus.NOT_EVALUATED:
                side.rcp_failures.append(found.coverage)
                if found.coverage.failure is ScpFailure.TRANSIENT and f"rcp {account}" not in self.scps_retry:
                    self.scps_retry.add(f"rcp {account}")
                    self.retry(f"RCPs of account {account}: {found.coverage.error}")
        side.org_id, side.org_paths = self.org.organization_of(principal.account)
        return side

    def _scps_for(self, account: str) -> tuple[ScpLevels | None, ScpCoverage | None]:
        if self.org is None:
            return None, SCPS_NOT_CONFIGURED  # say so in the alert: never pretend SCPs allow
        coverage = self.org.coverage(account)
        if coverage.failure is ScpFailure.TRANSIENT and account not in self.scps_retry:
            # the check is fail-closed unknown (ledger.diff.fail_closed); a retry may read them
            self.scps_retry.add(account)
            self.retry(f"SCPs of account {account}: {coverage.error}")
        return self.org.levels(account), coverage

    def account_name(self, account: str) -> str | None:
        """The account's name in the organization, else its alias (read once per run)."""
        if account not in self.names:
            name = self.org.account_name(account) if self.org is not None else None
            if name is None and self.reader is not None:
                try:
                    name = self.reader.account_alias()
                except ReadError as failure:
                    logger.info("no alias for account %s: %s", account, failure)
            self.names[account] = name
        return self.names[account]

    # ---- recording ----------------------------------------------------------------------------------

    def unreadable(self, states: Iterable[StoredState], failure: ReadError) -> None:
        logger.warning("read failed: %s", failure)
        for state in list(states):
            self.record(unknown_check(state.principal, state.profile, str(failure), state.actions))

    def record(self, check: PrincipalCheck) -> None:
        result = self._save(check)
        if result.outcome is Outcome.OVERLAPPED:
            self._read_again(check.arn)
            return
        self.summary.results.append(result)
        self.summary.checks.append(result.check or check)  # as saved: fail-closed if it knew less

    def record_gone(self, gone: Gone) -> None:
        result = self._save(gone)
        if result.outcome is Outcome.OVERLAPPED:
            self._read_again(gone.arn)
            return
        self.summary.gone.append(gone)
        self.summary.results.append(result)

    def _save(self, current: PrincipalCheck | Gone) -> RecordResult:
        if self.parts.settings.digest_over is not None and self.held is None:
            self.held = AlertBatch()
        return self.parts.outbox.record(
            current,
            observed_at=self.seen.observed_at,
            read_from=self.seen.read_from,
            trigger=self.trigger,
            batch=self.held,
        )

    def _read_again(self, arn: str) -> None:
        """Another run saved an evaluation of ``arn`` that saw something this one did not, and this
        one saw something that did not (a sweep's late page against a change run's read in between,
        see ``state.model.Observation``): read the principal again, now, and record that instead."""
        self.read_again_counts[arn] += 1
        if self.read_again_counts[arn] > _READ_AGAIN_LIMIT:
            self.retry(f"{arn}: read by overlapping runs {_READ_AGAIN_LIMIT} times")
            return
        logger.info("%s was read by an overlapping run: reading it again", arn)
        outer = self.seen
        try:
            reader = self.parts.mode.reader(self.read_account)  # a new reader: nothing cached
        except ReadError as failure:
            self.retry(f"{arn}: {failure}")
            return
        try:
            self.seen = Observation(self.parts.clock())
            self.evaluate_read([arn], reader)
        finally:
            self.seen = outer
            self.reread_iam_calls += reader.total_calls

    # ---- digest mode and the report ----------------------------------------------------------------

    def _deliver_held(self) -> None:
        """Digest mode: publish what the run held back, as one digest when there are many."""
        digest_over = self.parts.settings.digest_over
        if self.held is None or not len(self.held) or digest_over is None:
            return
        try:
            self.summary.delivered += self.parts.outbox.deliver_batch(self.held, digest_over=digest_over)
        except RestoreWatchError as failure:
            # still pending in the state: the retry (or the next sweep) publishes them one by one
            self.retry(f"delivering held alerts: {failure}")

    def _write_report(self, report: ReportSink) -> None:
        checks = [check for check in self.summary.checks if not check.profile.startswith("#")]
        try:
            self.summary.report = report.write(
                checks, generated_at=self.started_at, account=self.summary.account
            )
        except RestoreWatchError as failure:
            # the report is a convenience: its failure must not make the sweep (and its alerts) retry
            logger.error("could not write the status report: %s", failure)
