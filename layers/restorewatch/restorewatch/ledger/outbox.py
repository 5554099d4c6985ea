"""Exactly-once alerts: the transactional-outbox protocol over the state store and the publisher.

Order, for one (principal, profile):

1. **Deliver what is pending first.** Read the item (strongly consistent). If it holds a pending
   alert, publish it before anything else (waiting if its writer's lease is still live).
2. **Save state and alert together.** Diff the fresh check against the stored state; write the new
   state *and*, if there is a transition, the rendered alert as ``pending_alert`` in ONE
   conditional write (revision unchanged, nothing pending, not older than the stored observation:
   ``state.model.Observation``; when two overlapping runs each read something the other did not,
   nothing is written and the caller reads the principal again).
   Losing the condition means another run saved first: re-read and diff again, so a duplicate or
   concurrent delivery finds nothing new to alert.
3. **Publish**, then **clear** the pending alert (conditional on its id).

Why save before publish: a crash after the save and before (or during) the publish leaves the alert
pending, and the next run for that key, the SQS redelivery of the same event, or the sweep
publishes it: never lost. Publishing first would lose nothing either but would re-alert after a
crash *with a new diff* (the state was never saved), and two concurrent runs would both publish.
The one window left is a crash after SNS accepted the message and before the clear: the alert is
then published again with the same ``alert_id`` (at-least-once there, never lost); consumers
deduplicate by that id. Standard SNS topics cannot deduplicate, and FIFO topics cannot send email.

A pending alert carries a lease (``lease_until``) owned by its writer; another run publishes it
only after the lease expired and after winning ``claim_pending`` (a conditional write on the lease
it saw), so two runs never take over the same pending alert. The publisher's own timeouts are well
inside the lease, so a takeover cannot overlap a publish still in flight.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from restorewatch.alerts.digest import render_digest
from restorewatch.alerts.render import render_alert
from restorewatch.domain import Gone, GoneReason, Transition
from restorewatch.errors import RestoreWatchError
from restorewatch.ledger.diff import fail_closed, scps_evaluated, transition_between
from restorewatch.state.model import (
    LastAlert,
    Observation,
    Order,
    PendingAlert,
    Presence,
    StoredState,
    alert_id_for,
)
from restorewatch.state.store import StateConflictError, StateStoreError

if TYPE_CHECKING:
    from restorewatch.alerts.publish import Publisher
    from restorewatch.compliance import PrincipalCheck
    from restorewatch.domain import CloudTrailChange
    from restorewatch.ledger.batch import AlertBatch
    from restorewatch.state.store import Store

logger = logging.getLogger(__name__)

# what a gone principal's item says it is now
_TOMBSTONE = {GoneReason.UNWATCHED: Presence.UNWATCHED, GoneReason.DELETED: Presence.DELETED}

Clock = Callable[[], datetime]
Sleep = Callable[[float], None]


class AlertInFlightError(RestoreWatchError):
    """Another run is publishing this key's pending alert. Retryable: put the event back."""

    def __init__(self, principal: str, profile: str, alert_id: str) -> None:
        super().__init__(f"alert {alert_id} for {principal} / {profile} is being published by another run")
        self.principal = principal
        self.profile = profile
        self.alert_id = alert_id


class Outcome(enum.Enum):
    SAVED = "saved"  # saved, nothing to alert
    ALERTED = "alerted"  # saved a transition and published its alert
    STALE = "stale"  # a newer evaluation is already stored: nothing written
    IGNORED = "ignored"  # gone, but it was never watched (or already gone): nothing written
    DEFERRED = "deferred"  # saved a transition; its pending alert waits in an AlertBatch (digest mode)
    # nothing written: the stored evaluation and this one each saw something the other did not
    # (overlapping runs); the caller reads the principal again and records that
    OVERLAPPED = "overlapped"


@dataclass(frozen=True, slots=True)
class RecordResult:
    outcome: Outcome
    transition: Transition | None = None
    alert_id: str | None = None
    revision: int | None = None
    flushed: tuple[str, ...] = ()  # earlier pending alerts this run published first
    pending: PendingAlert | None = None  # the alert held back (DEFERRED)
    # the check as saved: fail-closed (``ledger.diff.fail_closed``) when it knew less than the state
    check: PrincipalCheck | None = None


@dataclass(frozen=True, slots=True)
class OutboxSettings:
    tag_key: str  # the watch tag (WatchTagKey): the alert text says which tag to set
    alert_on_degraded: bool = True
    # > the publisher's worst case (3 attempts x (5 s connect + 10 s read) + backoff, about 50 s),
    # so that a run taking over an expired lease cannot race a publish still in flight
    lease: timedelta = timedelta(seconds=90)
    max_attempts: int = 5  # conditional-write rounds before giving up (retryable)
    wait_attempts: int = 3  # how often to re-check a live lease before giving up
    wait_seconds: float = 1.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Outbox:
    def __init__(
        self,
        store: Store,
        publisher: Publisher,
        settings: OutboxSettings,
        *,
        clock: Clock = _utcnow,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.settings = settings
        self._clock = clock
        self._sleep = sleep

    def record(
        self,
        current: PrincipalCheck | Gone,
        *,
        observed_at: datetime,
        trigger: CloudTrailChange | None,
        batch: AlertBatch | None = None,
        read_from: datetime | None = None,
    ) -> RecordResult:
        """Save ``current`` and alert its transition exactly once.

        ``observed_at`` is when the IAM read of the principal behind ``current`` began, ``read_from``
        (``None``: the same) when the earliest read behind it began (``state.model.Observation``);
        ``trigger`` is the CloudTrail change that caused the check, ``None`` for a sweep.
        Raises ``StateStoreError``, ``PublishError`` or ``AlertInFlightError``: all retryable, and
        a retry never alerts the same transition twice.

        With ``batch`` (digest mode) the transition is saved with its pending alert exactly as
        without, but not published: it waits in ``batch`` for ``deliver_batch``. Until then it is an
        ordinary pending alert, so a crash loses nothing (the next run or sweep publishes it alone).
        """
        principal, profile = (current.arn, current.profile)
        seen = Observation(observed_at, read_from if read_from != observed_at else None)
        flushed: list[str] = []
        for _ in range(self.settings.max_attempts):
            previous = self.store.get(principal, profile)
            if previous is not None and previous.pending_alert is not None:
                held = batch.take(previous.pending_alert.alert_id) if batch is not None else None
                # this run's own deferred alert, and the key changes again: deliver it first, in order
                delivered = self._deliver_held(*held) if held is not None else self._deliver_found(previous)
                if delivered is not None:
                    flushed.append(delivered)
                continue
            if isinstance(current, Gone) and (previous is None or not previous.watched):
                return RecordResult(Outcome.IGNORED, flushed=tuple(flushed))
            order = seen.order(previous.observation) if previous is not None else Order.NEWER
            if order is not Order.NEWER:
                outcome = Outcome.STALE if order is Order.OLDER else Outcome.OVERLAPPED
                logger.info("%s evaluation of %s / %s not saved", outcome.value, principal, profile)
                unsaved = None if isinstance(current, Gone) else fail_closed(previous, current)
                return RecordResult(outcome, flushed=tuple(flushed), check=unsaved)
            # diffed and saved alike: a check that knew less than the stored state is fail-closed
            settled = current if isinstance(current, Gone) else fail_closed(previous, current)
            transition = transition_between(
                previous, settled, alert_on_degraded=self.settings.alert_on_degraded
            )
            state = self._next_state(previous, settled, transition, seen, trigger)
            check = None if isinstance(settled, Gone) else settled
            try:
                self.store.save(state, expected_revision=previous.revision if previous else None)
            except StateConflictError:
                if not self._landed(state):
                    logger.info("concurrent write on %s / %s: re-reading", principal, profile)
                    continue
            if state.pending_alert is None:
                return RecordResult(
                    Outcome.SAVED, revision=state.revision, flushed=tuple(flushed), check=check
                )
            logger.info("transition %s of %s / %s", state.pending_alert.kind.value, principal, profile)
            result = RecordResult(
                Outcome.ALERTED,
                transition=transition,
                alert_id=state.pending_alert.alert_id,
                revision=state.revision,
                flushed=tuple(flushed),
                check=check,
            )
            if batch is not None:
                batch.add(state, state.pending_alert)
                return replace(result, outcome=Outcome.DEFERRED, pending=state.pending_alert)
            self._publish_owned(state, state.pending_alert)
            return result
        raise StateConflictError(principal, profile)

    def deliver_batch(self, batch: AlertBatch, *, digest_over: int) -> list[str]:
        """Publish the alerts held in ``batch``: one by one, or as ONE digest when there are more
        than ``digest_over``. Returns the ids of the alerts delivered (each exactly once).

        Each held alert is first re-claimed on the lease its own write set (``claim_pending``): if
        the run took so long that another run took it over, that run publishes it and it is left
        out here. The digest is then published and every alert it carries is cleared with the
        digest's message id. A crash after the digest was published and before the clears is the
        one window of a repeat (as for single alerts): the alerts are published again, one by one,
        with the same alert ids, which the digest lists.
        """
        held = batch.drain()
        if not held:
            return []
        if len(held) <= digest_over:
            return [alert_id for state, pending in held if (alert_id := self._deliver_held(state, pending))]
        claimed = [(state, pending) for state, pending in held if self._reclaim(state, pending)]
        if not claimed:
            return []
        digest = render_digest([pending for _, pending in claimed], now=self._clock())
        try:
            message_id = self.publisher.publish(digest)
        except Exception:
            for state, pending in claimed:
                try:
                    self.store.release_pending(
                        state.principal, state.profile, pending.alert_id, lease=self._clock()
                    )
                except StateStoreError:
                    logger.exception("could not release the lease of alert %s", pending.alert_id)
            raise
        logger.info("digest %s published: %d alerts", digest.alert_id, len(claimed))
        for state, pending in claimed:
            if not self.store.clear_pending(
                state.principal,
                state.profile,
                pending.alert_id,
                delivered_at=self._clock(),
                message_id=message_id,
            ):
                logger.warning("alert %s was cleared by another run", pending.alert_id)
        return [pending.alert_id for _, pending in claimed]

    def _reclaim(self, state: StoredState, pending: PendingAlert) -> bool:
        """Renew the lease this run's own write set; ``False`` if another run took the alert over."""
        return self.store.claim_pending(
            state.principal,
            state.profile,
            pending.alert_id,
            seen_lease=pending.lease_until,
            new_lease=self._clock() + self.settings.lease,
        )

    def _deliver_held(self, state: StoredState, pending: PendingAlert) -> str | None:
        if not self._reclaim(state, pending):
            return None
        self._publish_owned(state, pending)
        return pending.alert_id

    def flush_pending(self, account: str | None = None) -> list[str]:
        """Publish every pending alert left by a crash (the sweep calls this first; a member
        account's sweep flushes that account's)."""
        delivered = []
        for state in self.store.with_pending(account):
            try:
                alert_id = self._deliver_found(state)
            except AlertInFlightError as error:
                logger.warning("%s", error)
                continue
            if alert_id is not None:
                delivered.append(alert_id)
        return delivered

    # -- internals ---------------------------------------------------------------------------

    def _next_state(
        self,
        previous: StoredState | None,
        current: PrincipalCheck | Gone,
        transition: Transition | None,
        seen: Observation,
        trigger: CloudTrailChange | None,
    ) -> StoredState:
        now = self._clock()
        observed_at = seen.observed_at
        revision = previous.revision + 1 if previous is not None else 1
        last_alert = previous.last_alert if previous is not None else None
        pending = None
        if transition is not None:
            alert_id = alert_id_for(current.arn, current.profile, revision, observed_at)
            rendered = render_alert(
                transition,
                alert_id=alert_id,
                trigger=trigger,
                observed_at=observed_at,
                tag_key=self.settings.tag_key,
            )
            pending = PendingAlert(
                alert_id=alert_id,
                kind=transition.kind,
                subject=rendered.subject,
                message=rendered.message,
                attributes=rendered.attributes,
                created_at=now,
                lease_until=now + self.settings.lease,
            )
            last_alert = LastAlert(alert_id=alert_id, kind=transition.kind, at=now)
        if isinstance(current, Gone):
            assert previous is not None  # record() returns IGNORED for a gone key never stored
            # a tombstone: the last known evaluation stays, only presence and alert bookkeeping move
            return replace(
                previous,
                revision=revision,
                observed_at=observed_at,
                read_from=seen.read_from,
                presence=_TOMBSTONE[current.reason],
                last_alert=last_alert,
                pending_alert=pending,
                updated_at=now,
            )
        return StoredState(
            principal=current.arn,
            profile=current.profile,
            revision=revision,
            observed_at=observed_at,
            presence=Presence.WATCHED,
            status=current.status,
            actions={check.action: check.status for check in current.actions},
            name=current.name,
            kind=current.kind,
            account=current.account,
            error=current.error,
            last_alert=last_alert,
            pending_alert=pending,
            updated_at=now,
            scps_evaluated=scps_evaluated(previous, current),
            read_from=seen.read_from,
            resources=current.holders,
        )

    def _landed(self, state: StoredState) -> bool:
        """Did our own write land although the call failed its condition?

        botocore retries a PutItem whose response was lost; the retry then fails the revision
        condition against our own first attempt. The pending alert id (derived from the revision and
        observation we wrote) tells; without this check the alert would wait for the lease to expire.
        """
        if state.pending_alert is None:
            return False
        fresh = self.store.get(state.principal, state.profile)
        return (
            fresh is not None
            and fresh.pending_alert is not None
            and fresh.pending_alert.alert_id == state.pending_alert.alert_id
        )

    def _deliver_found(self, state: StoredState) -> str | None:
        """Publish the pending alert of ``state`` unless its writer still holds the lease.

        Returns the alert id if this run published it, ``None`` if someone else delivered or
        claimed it meanwhile (the caller re-reads either way).
        """
        pending = state.pending_alert
        assert pending is not None
        waited = 0
        while pending.lease_until > self._clock():
            if waited >= self.settings.wait_attempts:
                raise AlertInFlightError(state.principal, state.profile, pending.alert_id)
            self._sleep(self.settings.wait_seconds)
            waited += 1
            fresh = self.store.get(state.principal, state.profile)
            if (
                fresh is None
                or fresh.pending_alert is None
                or fresh.pending_alert.alert_id != pending.alert_id
            ):
                return None
            pending = fresh.pending_alert
        claimed = self.store.claim_pending(
            state.principal,
            state.profile,
            pending.alert_id,
            seen_lease=pending.lease_until,
            new_lease=self._clock() + self.settings.lease,
        )
        if not claimed:
            return None
        logger.warning("publishing pending alert %s left by an earlier run", pending.alert_id)
        self._publish_owned(state, pending)
        return pending.alert_id

    def _publish_owned(self, state: StoredState, pending: PendingAlert) -> None:
        try:
            message_id = self.publisher.publish(pending)
        except Exception:
            # the alert stays pending; hand the lease back so the retry need not wait it out
            try:
                self.store.release_pending(
                    state.principal, state.profile, pending.alert_id, lease=self._clock()
                )
            except StateStoreError:
                logger.exception("could not release the lease of alert %s", pending.alert_id)
            raise
        cleared = self.store.clear_pending(
            state.principal,
            state.profile,
            pending.alert_id,
            delivered_at=self._clock(),
            message_id=message_id,
        )
        if not cleared:
            # someone took over after our lease expired and may have published it too (same id)
            logger.warning("alert %s was cleared by another run", pending.alert_id)
