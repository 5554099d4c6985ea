"""A sweep of one account: every tagged principal re-checked, page by page.

It catches missed events and changes no event reports (an SCP edited without an event, a managed
policy's new default version). Memory stays bounded however large the account is
(``watch.stream``). A watched principal the listing no longer shows was deleted by then; an account
that cannot be read at all makes its watched principals ``unknown``. Only a complete sweep moves
the heartbeat behind the "no successful sweep" alarm.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from restorewatch.compliance import ComplianceStatus, PrincipalCheck, unknown_check
from restorewatch.domain import Gone, GoneReason
from restorewatch.errors import ReadError
from restorewatch.profiles import tag_value
from restorewatch.state import Observation, SweepHeartbeat
from restorewatch.watch.context import RunContext
from restorewatch.watch.stream import stream_snapshots
from restorewatch.watch.watched import ACCOUNT_ACCESS_PROFILE, account_access_arn

if TYPE_CHECKING:
    from restorewatch.domain import CloudTrailChange
    from restorewatch.watch.context import WatcherParts
    from restorewatch.watch.summary import RunSummary

__all__ = ["sweep_account"]

logger = logging.getLogger(__name__)


def sweep_account(
    parts: WatcherParts, trigger: CloudTrailChange | None, account: str | None, started: float
) -> RunSummary:
    """Sweep ``account`` (``None``: the watcher's own). ``trigger``: the change that made it sweep."""
    for alert_id in parts.outbox.flush_pending(account):
        logger.warning("published alert %s left pending by an earlier run", alert_id)
    run = RunContext.start(parts, trigger, swept=True, account=account)
    run.read_account = account
    seen: set[str] = set()
    failure: ReadError | None = None
    try:
        reader = run.reader = parts.mode.reader(account)
        read_from = parts.clock()  # the listing of managed policies and groups begins
        # pages of users and roles as they come: memory stays bounded (see watch.stream)
        for page in stream_snapshots(reader, parts.clock):
            run.seen = Observation(page.read_at, read_from)
            snapshot = page.snapshot
            for arn in snapshot.principal_arns():
                tagged = tag_value(snapshot.tags_of(arn), parts.settings.tag_key) is not None
                if not tagged and not run.watched.of(arn):
                    continue
                seen.add(arn)
                run.evaluate_principal(snapshot, arn)
    except ReadError as error:
        failure = error
        run.seen = Observation(run.started_at)
        run.unreadable((s for s in run.watched.all() if s.principal not in seen), error)
        run.retry(str(error))
    else:
        # absent from a listing that began after read_from: deleted by then, as far as it shows
        run.seen = Observation(read_from)
        for state in list(run.watched.all()):
            if state.principal not in seen:
                run.record_gone(Gone(state.principal, state.profile, GoneReason.DELETED))
    run.seen = Observation(run.started_at)
    if account is not None:
        _record_account_access(run, account, failure)
    if not run.summary.retryable:
        # the heartbeat behind the "no successful sweep" alarm: only a complete sweep counts
        parts.store.record_sweep(SweepHeartbeat(run.started_at, len(seen)))
        parts.sweeps_begun[account] = run.started_at
    return run.finish(started)


def _record_account_access(run: RunContext, account: str, failure: ReadError | None) -> None:
    """Whether a member account could be read at all: its own state item, so that an account that
    cannot be read alerts UNKNOWN once (and RESTORED later) even before any of its principals was
    ever seen."""
    arn = account_access_arn(account)
    if failure is not None:
        check = unknown_check(arn, ACCOUNT_ACCESS_PROFILE, f"account {account} could not be read: {failure}")
    else:
        check = PrincipalCheck(arn, "", None, account, ACCOUNT_ACCESS_PROFILE, ComplianceStatus.COMPLIANT, ())
    name = run.account_name(account)
    run.record(replace(check, name=f"every watched principal of account {account}", account_name=name))
