"""A change run: the principals one IAM change can affect, read and re-checked.

The targets (``watch.targets.plan_targets``) are resolved to the tagged principals they name and
those are read and evaluated together. A change to a principal nobody watches costs no IAM read at
all (the state table is the index: ``watch.watched``). A run returns ``None`` instead of a summary
when the change's account must be swept instead, before anything was recorded for that target: a
group or policy naming more principals than ``WatchSettings.sweep_over``, or one IAM does not know
by the name the event gives (deleted since, or, names being case-insensitive, spelt in another case
than a case-sensitive lookup knows).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from restorewatch.domain import Gone, GoneReason, TargetKind
from restorewatch.errors import ReadError
from restorewatch.state import Observation

if TYPE_CHECKING:
    from restorewatch.domain import Target
    from restorewatch.inventory import IamReader
    from restorewatch.watch.context import RunContext
    from restorewatch.watch.summary import RunSummary
    from restorewatch.watch.targets import TargetPlan

__all__ = ["run_change"]

logger = logging.getLogger(__name__)


def run_change(run: RunContext, plan: TargetPlan, started: float) -> RunSummary | None:
    """Re-check what ``plan`` names, reading through ``run.read_account``'s reader; ``None``: sweep
    the change's account instead."""
    try:
        reader = run.reader = run.parts.mode.reader(run.read_account)
    except ReadError as failure:  # the member account's role could not be assumed
        for target in plan.targets:
            run.unreadable(run.watched.matching(target), failure)
        run.retry(str(failure))
        return run.finish(started)
    # everything evaluated below is read from here on (the reader caches what resolve read)
    run.seen = Observation(run.parts.clock())
    to_read: dict[str, None] = {}
    for target in plan.targets:
        resolved = _resolve(run, target, reader)
        if resolved is None:
            return None
        to_read.update(dict.fromkeys(resolved))
    if to_read:
        run.evaluate_read(list(to_read), reader)
    return run.finish(started)


def _resolve(run: RunContext, target: Target, reader: IamReader) -> tuple[str, ...] | None:
    """The tagged principals ``target`` names; records what is gone or unreadable on the way.
    ``None``: sweep the account instead, nothing was recorded for this target."""
    if target.kind in (TargetKind.USER_GONE, TargetKind.ROLE_GONE):
        for state in run.watched.matching(target):
            run.record_gone(Gone(state.principal, state.profile, GoneReason.DELETED))
        return ()
    single = target.kind in (TargetKind.USER, TargetKind.ROLE)
    if single and target.watched_only and not run.watched.matching(target):
        return ()  # not watched: costs no IAM read (the sweep picks up a principal tagged later)
    settings = run.parts.settings
    try:
        resolution = reader.resolve(target, tag_key=settings.tag_key, wide_over=settings.sweep_over)
        # IAM names are case-insensitive: a watched principal the event spells in another case
        # is read by the name IAM gave it (the state's), never reported gone for a spelling
        for name in run.watched.other_spellings(target) if resolution.missing else ():
            respelt = replace(target, name=name)
            resolution = reader.resolve(respelt, tag_key=settings.tag_key, wide_over=settings.sweep_over)
            if not resolution.missing:
                break
    except ReadError as failure:
        # the target itself could not be read: the principals it names are unknown
        run.unreadable(run.watched.matching(target), failure)
        run.retry(str(failure))
        return ()
    if resolution.wide:
        logger.info("%s names over %d principals: sweeping instead", target.name, settings.sweep_over)
        return None
    if resolution.missing and not single:
        logger.info("IAM knows no %s %s: sweeping instead", target.kind.value, target.name)
        return None
    for arn in resolution.unwatched:
        for state in run.watched.of(arn):
            run.record_gone(Gone(arn, state.profile, GoneReason.UNWATCHED))
    if resolution.missing:
        for state in run.watched.matching(target):
            run.record_gone(Gone(state.principal, state.profile, GoneReason.DELETED))
    for read_failure in resolution.errors:
        where = read_failure.target or ""
        affected = [s for s in run.watched.all() if where and s.principal.endswith(where)]
        run.unreadable(affected, read_failure)
        if read_failure.transient or not affected:
            run.retry(str(read_failure))
    return resolution.watched
