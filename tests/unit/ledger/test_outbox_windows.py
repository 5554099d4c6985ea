"""The outbox's crash windows (``ledger/outbox.py``), each crashed in, on the in-memory fakes.

Every window the outbox documents gets a crash exactly there (``support.fakes.Crash``, a
``BaseException`` nothing in the watcher catches: a timeout or an out-of-memory kill), then the
re-delivery (the SQS message coming back, or the sweep) shows the alert is neither lost nor
repeated, except in the one window where a repeat is documented (SNS accepted the publish and the
function died before clearing it: the same ``alert_id`` again, which consumers deduplicate on).
``MemoryStore`` keeps the DynamoDB store's conditions (tests/contracts/test_store_contract.py), so
these run in milliseconds what tests/integration/test_state_store.py and
tests/faults/test_crash_window.py show on moto.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from restorewatch.alerts.publish import PublishError
from restorewatch.domain import AlertKind
from restorewatch.ledger import AlertBatch, AlertInFlightError, Outbox, OutboxSettings, Outcome
from restorewatch.profiles import DEFAULT_TAG_KEY
from restorewatch.state import StateConflictError, StateStoreError
from support.fakes import Crash, MemoryStore, RecordingPublisher
from unit.alerts.builders import ACCOUNT, PROFILE, ROLE_ARN, T0, check, detach_event, lost

LEASE = OutboxSettings(tag_key=DEFAULT_TAG_KEY).lease


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Ledger:
    """One state table and one topic, and the runs (outboxes) that share them."""

    store: MemoryStore = field(default_factory=MemoryStore)
    publisher: RecordingPublisher = field(default_factory=RecordingPublisher)
    clock: Clock = field(default_factory=Clock)

    def outbox(self) -> Outbox:
        """A run (a new outbox: nothing in memory carries over from a crashed one)."""
        return Outbox(
            self.store,
            self.publisher,
            OutboxSettings(tag_key=DEFAULT_TAG_KEY),
            clock=self.clock,
            sleep=self.clock.advance,
        )

    def seed_compliant(self) -> None:
        assert self.outbox().record(check(), observed_at=T0, trigger=None).outcome is Outcome.SAVED

    def pending_id(self) -> str | None:
        state = self.store.get(ROLE_ARN, PROFILE)
        assert state is not None
        return state.pending_alert.alert_id if state.pending_alert is not None else None


LATER = T0 + timedelta(minutes=5)


@pytest.fixture
def ledger() -> Ledger:
    world = Ledger()
    world.seed_compliant()
    return world


def record_loss(outbox: Outbox, observed_at: datetime = LATER) -> Outcome:
    return outbox.record(lost("ec2:RunInstances"), observed_at=observed_at, trigger=detach_event()).outcome


def test_no_crash_one_alert_published_and_cleared(ledger: Ledger) -> None:
    result = ledger.outbox().record(lost("ec2:RunInstances"), observed_at=LATER, trigger=detach_event())
    assert result.outcome is Outcome.ALERTED
    assert ledger.publisher.alert_ids == [result.alert_id]
    state = ledger.store.get(ROLE_ARN, PROFILE)
    assert state is not None
    assert state.pending_alert is None
    assert state.last_alert is not None
    assert (state.last_alert.kind, state.last_alert.message_id) == (AlertKind.LOST, "message-1")
    # the same event delivered again: nothing new to alert
    assert record_loss(ledger.outbox()) is Outcome.SAVED
    assert ledger.publisher.alert_ids == [result.alert_id]


def test_crash_after_the_save_before_the_publish_redelivery_publishes_it_once(ledger: Ledger) -> None:
    """Window: state and alert saved in one write, the function dies before publishing. The alert is
    pending with the writer's lease; a re-delivery inside the lease waits and gives up (retryable),
    one after it publishes the SAME alert once and finds nothing new to alert."""
    ledger.store.hooks.crash_after_next("save")
    with pytest.raises(Crash):
        record_loss(ledger.outbox())
    alert_id = ledger.pending_id()
    assert alert_id is not None
    assert ledger.publisher.alert_ids == []

    with pytest.raises(AlertInFlightError):  # the writer might still be publishing: wait for its lease
        record_loss(ledger.outbox())
    assert ledger.publisher.alert_ids == []

    ledger.clock.advance(LEASE.total_seconds())
    result = ledger.outbox().record(lost("ec2:RunInstances"), observed_at=LATER, trigger=detach_event())
    assert result.outcome is Outcome.SAVED  # the transition was saved before the crash
    assert result.flushed == (alert_id,)
    assert ledger.publisher.alert_ids == [alert_id]
    assert ledger.pending_id() is None


def test_crash_after_the_save_the_sweep_publishes_it_once(ledger: Ledger) -> None:
    ledger.store.hooks.crash_after_next("save")
    with pytest.raises(Crash):
        record_loss(ledger.outbox())
    alert_id = ledger.pending_id()
    assert ledger.outbox().flush_pending() == []  # inside the lease: left to its writer
    ledger.clock.advance(LEASE.total_seconds())
    assert ledger.outbox().flush_pending(ACCOUNT) == [alert_id]
    assert ledger.outbox().flush_pending() == []
    assert ledger.publisher.alert_ids == [alert_id]


def test_crash_after_sns_accepted_before_the_clear_repeats_the_same_id_once(ledger: Ledger) -> None:
    """The one documented window of a repeat: SNS accepted the message, the function died before
    clearing the pending alert. The re-delivery publishes it again with the SAME id (never lost;
    a consumer deduplicating by ``alert_id`` sees one alert), and never a new transition."""
    ledger.publisher.hooks.crash_after_next("publish")
    with pytest.raises(Crash):
        record_loss(ledger.outbox())
    alert_id = ledger.pending_id()
    assert ledger.publisher.alert_ids == [alert_id]

    ledger.clock.advance(LEASE.total_seconds())
    assert record_loss(ledger.outbox()) is Outcome.SAVED
    assert ledger.publisher.alert_ids == [alert_id, alert_id]
    assert ledger.pending_id() is None
    assert record_loss(ledger.outbox()) is Outcome.SAVED
    assert len(ledger.publisher.published) == 2


def test_crash_after_the_clear_nothing_is_repeated(ledger: Ledger) -> None:
    ledger.store.hooks.crash_after_next("clear_pending")
    with pytest.raises(Crash):
        record_loss(ledger.outbox())
    (alert_id,) = ledger.publisher.alert_ids
    ledger.clock.advance(LEASE.total_seconds())
    assert record_loss(ledger.outbox()) is Outcome.SAVED
    assert ledger.outbox().flush_pending() == []
    assert ledger.publisher.alert_ids == [alert_id]


def test_publish_refused_the_lease_is_handed_back_and_the_retry_publishes_at_once(ledger: Ledger) -> None:
    ledger.publisher.refuse_next()
    with pytest.raises(PublishError):
        record_loss(ledger.outbox())
    alert_id = ledger.pending_id()
    assert ledger.publisher.alert_ids == []
    before = ledger.clock.now
    assert record_loss(ledger.outbox()) is Outcome.SAVED  # no clock moved: the lease was released
    assert ledger.clock.now == before  # and nothing waited
    assert ledger.publisher.alert_ids == [alert_id]


def test_publish_refused_and_the_release_failing_the_retry_waits_out_the_lease(ledger: Ledger) -> None:
    ledger.publisher.refuse_next()
    ledger.store.hooks.fail_next("release_pending", StateStoreError("UpdateItem", "InternalServerError", "x"))
    with pytest.raises(PublishError):
        record_loss(ledger.outbox())
    alert_id = ledger.pending_id()
    with pytest.raises(AlertInFlightError):
        record_loss(ledger.outbox())
    ledger.clock.advance(LEASE.total_seconds())
    assert record_loss(ledger.outbox()) is Outcome.SAVED
    assert ledger.publisher.alert_ids == [alert_id]


def test_a_save_whose_answer_was_lost_is_recognised_and_published_at_once(ledger: Ledger) -> None:
    """botocore retried a PutItem whose response was lost: the retry fails the revision condition
    against the first attempt, which did land (``Outbox._landed``)."""

    def lost_answer() -> None:
        raise StateConflictError(ROLE_ARN, PROFILE)

    ledger.store.hooks.after_next("save", lost_answer)
    result = ledger.outbox().record(lost("ec2:RunInstances"), observed_at=LATER, trigger=detach_event())
    assert result.outcome is Outcome.ALERTED
    assert ledger.publisher.alert_ids == [result.alert_id]
    assert ledger.pending_id() is None


def test_two_runs_racing_on_one_revision_alert_once(ledger: Ledger) -> None:
    """Two deliveries of one event read the same revision; the second saves and publishes between
    the first one's read and its save. The first loses the condition, re-reads, and finds nothing new."""
    first, second = ledger.outbox(), ledger.outbox()

    def second_delivery() -> None:
        assert record_loss(second) is Outcome.ALERTED

    ledger.store.hooks.after_next("get", second_delivery)  # right after the first one's read
    assert record_loss(first) is Outcome.SAVED
    assert len(ledger.publisher.alert_ids) == 1


def test_two_runs_taking_over_one_expired_alert_publish_it_once(ledger: Ledger) -> None:
    ledger.store.hooks.crash_after_next("save")
    with pytest.raises(Crash):
        record_loss(ledger.outbox())
    alert_id = ledger.pending_id()
    ledger.clock.advance(LEASE.total_seconds())
    first, second = ledger.outbox(), ledger.outbox()
    found: list[list[str]] = []
    # the second sweep read the same expired lease, and tries right after the first claimed it
    ledger.store.hooks.after_next("claim_pending", lambda: found.append(second.flush_pending()))
    assert first.flush_pending() == [alert_id]
    assert found == [[]]  # it found the lease renewed: left to the first (AlertInFlightError, logged)
    assert ledger.publisher.alert_ids == [alert_id]


def test_an_older_evaluation_arriving_late_is_stale_and_alerts_nothing(ledger: Ledger) -> None:
    assert record_loss(ledger.outbox()) is Outcome.ALERTED
    restored = ledger.outbox().record(check(), observed_at=LATER - timedelta(seconds=1), trigger=None)
    assert restored.outcome is Outcome.STALE
    assert len(ledger.publisher.alert_ids) == 1


def test_digest_crash_after_the_digest_before_the_clears_repeats_each_id_once(ledger: Ledger) -> None:
    """Digest mode's window: the digest (listing every alert id) was accepted, the function died
    before clearing the alerts it carries; after the lease they go out one by one, same ids."""
    others = [f"arn:aws:iam::{ACCOUNT}:role/Restore{n}" for n in range(3)]
    outbox = ledger.outbox()
    for arn in others:
        outbox.record(check(arn=arn), observed_at=T0, trigger=None)
    batch = AlertBatch()
    deferred = [
        outbox.record(lost("ec2:RunInstances", arn=arn), observed_at=LATER, trigger=None, batch=batch)
        for arn in others
    ]
    assert {result.outcome for result in deferred} == {Outcome.DEFERRED}
    assert ledger.publisher.alert_ids == []
    ledger.publisher.hooks.crash_after_next("publish")
    with pytest.raises(Crash):
        outbox.deliver_batch(batch, digest_over=1)
    (digest,) = ledger.publisher.published
    ids = sorted(result.alert_id for result in deferred if result.alert_id)
    assert all(alert_id in digest.alert.message for alert_id in ids)

    ledger.clock.advance(LEASE.total_seconds())
    assert sorted(ledger.outbox().flush_pending()) == ids
    assert sorted(ledger.publisher.alert_ids[1:]) == ids
    assert ledger.outbox().flush_pending() == []


def test_digest_crash_before_delivering_the_batch_loses_nothing(ledger: Ledger) -> None:
    batch = AlertBatch()
    result = ledger.outbox().record(lost("ec2:RunInstances"), observed_at=LATER, trigger=None, batch=batch)
    assert result.outcome is Outcome.DEFERRED
    # the function dies here: the batch (in memory) is gone, the pending alert is not
    ledger.clock.advance(LEASE.total_seconds())
    assert ledger.outbox().flush_pending() == [result.alert_id]
    assert ledger.publisher.alert_ids == [result.alert_id]


def test_a_held_alert_taken_over_by_another_run_is_left_out_of_the_batch(ledger: Ledger) -> None:
    """``deliver_batch`` re-claims each held alert on the lease its own write set: when the run took
    so long that another run took the alert over (and published it), it is left out here."""
    batch = AlertBatch()
    result = ledger.outbox().record(lost("ec2:RunInstances"), observed_at=LATER, trigger=None, batch=batch)
    ledger.clock.advance(LEASE.total_seconds())
    assert ledger.outbox().flush_pending() == [result.alert_id]  # the sweep took it over
    assert ledger.outbox().deliver_batch(batch, digest_over=5) == []
    assert ledger.publisher.alert_ids == [result.alert_id]


def test_a_refused_digest_hands_the_leases_back_and_the_retry_publishes_each_once(ledger: Ledger) -> None:
    others = [f"arn:aws:iam::{ACCOUNT}:role/Restore{n}" for n in range(3)]
    outbox = ledger.outbox()
    batch = AlertBatch()
    for arn in others:
        outbox.record(check(arn=arn), observed_at=T0, trigger=None)
        outbox.record(lost("ec2:RunInstances", arn=arn), observed_at=LATER, trigger=None, batch=batch)
    ledger.publisher.refuse_next()
    with pytest.raises(PublishError):
        outbox.deliver_batch(batch, digest_over=1)
    assert ledger.publisher.published == []
    delivered = ledger.outbox().flush_pending()  # at once: the leases were handed back
    assert len(delivered) == 3
    assert sorted(ledger.publisher.alert_ids) == sorted(delivered)
