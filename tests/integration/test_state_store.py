"""The state store and the exactly-once outbox against moto's DynamoDB, SNS and SQS.

The table is built from template.yaml's own ``StateTable`` properties. Alerts are read back from an
SQS queue subscribed to the topic, so "published once" means "one message arrived".
DynamoDB conditional writes: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from restorewatch.alerts import SnsPublisher
from restorewatch.domain import AlertKind, Gone, GoneReason
from restorewatch.ledger import AlertInFlightError, Outbox, OutboxSettings, Outcome
from restorewatch.profiles import DEFAULT_TAG_KEY
from restorewatch.state import DynamoStateStore, PendingAlert, Presence, StateConflictError, SweepHeartbeat
from restorewatch.state.store import item_from_state
from support.template import state_table_kwargs
from unit.alerts.builders import PROFILE, ROLE_ARN, T0, check, detach_event, lost, stored, unreadable

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

pytestmark = (
    pytest.mark.slow
)  # the outbox on moto's DynamoDB and SNS; the fast equivalents: tests/unit/ledger/, tests/contracts/

TABLE = "restorewatch-state-test"


class Clock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Aws:
    dynamodb: Any
    sqs: Any
    queue_url: str
    topic_arn: str

    def store(self) -> DynamoStateStore:
        """A new store instance (its own client), as a second Lambda would have."""
        return DynamoStateStore(TABLE, client=boto3.client("dynamodb", region_name="us-east-1"))

    def publisher(self) -> SnsPublisher:
        return SnsPublisher(self.topic_arn, client=boto3.client("sns", region_name="us-east-1"))

    def messages(self) -> list[dict[str, Any]]:
        """Every SNS notification delivered to the queue so far (consumed)."""
        out: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not batch:
                return out
            for message in batch:
                out.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def aws() -> Iterator[Aws]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(**state_table_kwargs(TABLE))
        sns = boto3.client("sns", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        topic_arn = sns.create_topic(Name="restorewatch-alerts")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="alerts-tap")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        yield Aws(dynamodb, sqs, queue_url, topic_arn)


def alert_ids(messages: list[dict[str, Any]]) -> list[str]:
    return [m["MessageAttributes"]["alert_id"]["Value"] for m in messages]


def kinds(messages: list[dict[str, Any]]) -> list[str]:
    return [m["MessageAttributes"]["kind"]["Value"] for m in messages]


def outbox(aws: Aws, clock: Clock, publisher: Any = None, store: Any = None, **settings: Any) -> Outbox:
    return Outbox(
        store or aws.store(),
        publisher or aws.publisher(),
        OutboxSettings(**{"tag_key": DEFAULT_TAG_KEY, **settings}),
        clock=clock,
        sleep=lambda _seconds: None,
    )


# -- the store ---------------------------------------------------------------------------------


def test_store_table_from_template_keys_principal_and_profile(aws: Aws) -> None:
    schema = aws.dynamodb.describe_table(TableName=TABLE)["Table"]["KeySchema"]
    assert {(k["AttributeName"], k["KeyType"]) for k in schema} == {
        ("principal", "HASH"),
        ("profile", "RANGE"),
    }


def test_store_save_then_get_round_trips_every_field(aws: Aws) -> None:
    store = aws.store()
    pending = PendingAlert(
        alert_id="rw-1",
        kind=AlertKind.LOST,
        subject="RestoreWatch LOST: role VeeamRestore lost 1 restore action",
        message='{"default": "{}", "email": "text"}',
        attributes={"kind": "LOST", "alert_id": "rw-1"},
        created_at=T0,
        lease_until=T0 + timedelta(seconds=60),
    )
    state = replace(
        stored(lost("s3:GetObject"), last_alert=AlertKind.LOST), pending_alert=pending, scps_evaluated=True
    )
    store.save(state, expected_revision=None)
    assert store.get(ROLE_ARN, PROFILE) == state
    assert store.get(ROLE_ARN, "other-profile") is None
    assert store.states_for(ROLE_ARN) == [state]
    assert list(store.scan_states()) == [state]
    assert list(store.with_pending()) == [state]


def test_store_reads_items_written_before_the_scps_mark(aws: Aws) -> None:
    """Items saved before ``scps_evaluated`` existed lack the attribute: they read as "not known to
    have been evaluated", and a state saved with the mark down writes no attribute at all."""
    item = item_from_state(replace(stored(check()), scps_evaluated=True))
    del item["scps_evaluated"]
    aws.dynamodb.put_item(TableName=TABLE, Item=item)
    state = aws.store().get(ROLE_ARN, PROFILE)
    assert state is not None
    assert not state.scps_evaluated
    assert "scps_evaluated" not in item_from_state(state)


def test_store_first_sight_twice_second_conflicts(aws: Aws) -> None:
    state = stored(check())
    aws.store().save(state, expected_revision=None)
    with pytest.raises(StateConflictError):
        aws.store().save(state, expected_revision=None)


def test_store_two_writers_same_revision_exactly_one_wins(aws: Aws) -> None:
    aws.store().save(stored(check()), expected_revision=None)
    writer_a, writer_b = aws.store(), aws.store()
    read_a, read_b = writer_a.get(ROLE_ARN, PROFILE), writer_b.get(ROLE_ARN, PROFILE)
    assert read_a is not None
    assert read_b is not None
    later = T0 + timedelta(seconds=1)
    writer_a.save(
        replace(read_a, revision=2, observed_at=later, status=lost("x").status), expected_revision=1
    )
    with pytest.raises(StateConflictError):
        writer_b.save(replace(read_b, revision=2, observed_at=later), expected_revision=1)
    winner = aws.store().get(ROLE_ARN, PROFILE)
    assert winner is not None
    assert winner.revision == 2
    assert winner.status is lost("x").status


def test_store_older_observation_never_overwrites_newer(aws: Aws) -> None:
    store = aws.store()
    store.save(stored(check(), observed_at=T0), expected_revision=None)
    with pytest.raises(StateConflictError):
        store.save(stored(check(), revision=2, observed_at=T0 - timedelta(seconds=1)), expected_revision=1)


def test_store_no_save_while_alert_pending(aws: Aws) -> None:
    store = aws.store()
    pending = PendingAlert("rw-1", AlertKind.LOST, "s", "{}", {}, T0, T0)
    store.save(replace(stored(check()), pending_alert=pending), expected_revision=None)
    with pytest.raises(StateConflictError):
        store.save(stored(check(), revision=2, observed_at=T0 + timedelta(seconds=5)), expected_revision=1)


def test_store_claim_pending_only_one_of_two_wins(aws: Aws) -> None:
    pending = PendingAlert("rw-1", AlertKind.LOST, "s", "{}", {}, T0, T0)
    aws.store().save(replace(stored(check()), pending_alert=pending), expected_revision=None)
    new_lease = T0 + timedelta(seconds=60)
    first = aws.store().claim_pending(ROLE_ARN, PROFILE, "rw-1", seen_lease=T0, new_lease=new_lease)
    second = aws.store().claim_pending(ROLE_ARN, PROFILE, "rw-1", seen_lease=T0, new_lease=new_lease)
    assert (first, second) == (True, False)
    state = aws.store().get(ROLE_ARN, PROFILE)
    assert state is not None
    assert state.pending_alert is not None
    assert state.pending_alert.lease_until == new_lease
    assert state.pending_alert.attempts == 1


def test_store_clear_pending_pinned_to_alert_id(aws: Aws) -> None:
    pending = PendingAlert("rw-1", AlertKind.LOST, "s", "{}", {}, T0, T0)
    state = replace(stored(check(), last_alert=AlertKind.LOST), pending_alert=pending)
    aws.store().save(state, expected_revision=None)
    store = aws.store()
    assert not store.clear_pending(ROLE_ARN, PROFILE, "rw-other", delivered_at=T0, message_id="m")
    assert store.clear_pending(ROLE_ARN, PROFILE, "rw-1", delivered_at=T0, message_id="m-1")
    assert not store.clear_pending(ROLE_ARN, PROFILE, "rw-1", delivered_at=T0, message_id="m-1")
    cleared = store.get(ROLE_ARN, PROFILE)
    assert cleared is not None
    assert cleared.pending_alert is None
    assert cleared.last_alert is not None
    assert cleared.last_alert.message_id == "m-1"
    assert cleared.revision == 1  # clearing is not a new evaluation
    assert list(store.with_pending()) == []


def test_store_sweep_heartbeat_only_moves_forward(aws: Aws) -> None:
    store = aws.store()
    assert store.last_sweep() is None
    assert store.record_sweep(SweepHeartbeat(T0, 12))
    assert not store.record_sweep(SweepHeartbeat(T0 - timedelta(hours=1), 3))
    assert store.record_sweep(SweepHeartbeat(T0 + timedelta(days=1), 13))
    assert store.last_sweep() == SweepHeartbeat(T0 + timedelta(days=1), 13)
    assert list(store.scan_states()) == []  # the heartbeat is not a principal


def test_store_states_in_account_reads_that_account_only_through_the_index(aws: Aws) -> None:
    """Organization mode: a member account's run reads its own states, not the whole table."""
    store = aws.store()
    other = "arn:aws:iam::210987654321:role/VeeamRestore"
    store.save(stored(check()), expected_revision=None)
    store.save(replace(stored(check(arn=other)), account="210987654321"), expected_revision=None)
    operations: list[tuple[str, str | None]] = []
    store.client.meta.events.register(
        "before-parameter-build.dynamodb.*",
        lambda model, params, **_: operations.append((model.name, params.get("IndexName"))),
    )
    assert [s.principal for s in store.states_in_account("210987654321")] == [other]
    assert [s.principal for s in store.states_in_account(ROLE_ARN.split(":")[4])] == [ROLE_ARN]
    assert list(store.states_in_account("999999999999")) == []
    assert list(store.states_in_account("")) == []  # no item is indexed under an empty account
    assert set(operations) == {("Query", "by-account")}


def test_store_with_pending_of_one_account(aws: Aws) -> None:
    store = aws.store()
    pending = PendingAlert("rw-1", AlertKind.LOST, "s", "{}", {}, T0, T0)
    other = "arn:aws:iam::210987654321:role/VeeamRestore"
    store.save(replace(stored(check()), pending_alert=pending), expected_revision=None)
    store.save(replace(stored(check(arn=other)), account="210987654321"), expected_revision=None)
    assert [s.principal for s in store.with_pending(ROLE_ARN.split(":")[4])] == [ROLE_ARN]
    assert list(store.with_pending("210987654321")) == []  # its state has nothing pending
    assert [s.principal for s in store.with_pending()] == [ROLE_ARN]


def test_store_state_without_account_saves_and_stays_out_of_the_index(aws: Aws) -> None:
    """DynamoDB refuses an empty string as an index key: such a state is stored unindexed."""
    store = aws.store()
    store.save(replace(stored(check()), account=""), expected_revision=None)
    saved = store.get(ROLE_ARN, PROFILE)
    assert saved is not None
    assert saved.account == ""
    assert [s.principal for s in store.scan_states()] == [ROLE_ARN]


# -- exactly once: the outbox ------------------------------------------------------------------


def test_outbox_transition_published_once_and_cleared(aws: Aws) -> None:
    clock = Clock()
    result = outbox(aws, clock).record(lost("ec2:CreateVolume"), observed_at=T0, trigger=detach_event())
    assert result.outcome is Outcome.ALERTED
    messages = aws.messages()
    assert alert_ids(messages) == [result.alert_id]
    assert kinds(messages) == ["LOST"]
    state = aws.store().get(ROLE_ARN, PROFILE)
    assert state is not None
    assert state.pending_alert is None
    assert state.last_alert is not None
    assert state.last_alert.alert_id == result.alert_id
    assert state.last_alert.message_id == messages[0]["MessageId"]


def test_outbox_first_sight_compliant_saves_without_alert(aws: Aws) -> None:
    result = outbox(aws, Clock()).record(check(), observed_at=T0, trigger=None)
    assert result.outcome is Outcome.SAVED
    assert result.revision == 1
    assert aws.messages() == []


def test_outbox_same_event_twice_one_alert(aws: Aws) -> None:
    clock = Clock()
    box = outbox(aws, clock)
    first = box.record(lost("ec2:CreateVolume"), observed_at=T0, trigger=detach_event())
    clock.advance(30)
    second = box.record(lost("ec2:CreateVolume"), observed_at=clock.now, trigger=detach_event())
    assert (first.outcome, second.outcome) == (Outcome.ALERTED, Outcome.SAVED)
    assert len(aws.messages()) == 1


class HookedStore:
    """A real DynamoStateStore that runs ``hook`` once, just before its first save (interleaving)."""

    def __init__(self, inner: DynamoStateStore, hook: Callable[[], None]) -> None:
        self.inner = inner
        self.hook: Callable[[], None] | None = hook

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def save(self, state: Any, *, expected_revision: int | None) -> None:
        if self.hook is not None:
            hook, self.hook = self.hook, None
            hook()
        self.inner.save(state, expected_revision=expected_revision)


def test_outbox_concurrent_duplicates_racing_on_one_revision_alert_once(aws: Aws) -> None:
    """B reads, A reads+saves+publishes, B's conditional save loses, re-reads, finds nothing new."""
    clock = Clock()
    outbox(aws, clock).record(check(), observed_at=T0, trigger=None)
    clock.advance(60)
    event = detach_event(clock.now)
    a = outbox(aws, clock)
    results = {}

    def a_runs_between_b_read_and_b_save() -> None:
        results["a"] = a.record(lost("s3:GetObject"), observed_at=clock.now, trigger=event)

    b = outbox(aws, clock, store=HookedStore(aws.store(), a_runs_between_b_read_and_b_save))
    results["b"] = b.record(lost("s3:GetObject"), observed_at=clock.now, trigger=event)
    assert results["a"].outcome is Outcome.ALERTED
    assert results["b"].outcome is Outcome.SAVED
    assert kinds(aws.messages()) == ["LOST"]
    state = aws.store().get(ROLE_ARN, PROFILE)
    assert state is not None
    assert state.revision == 3


class InterleavingPublisher:
    """Publishes for real, but runs ``during`` first: another run arriving while this one publishes."""

    def __init__(self, inner: SnsPublisher, during: Callable[[], None]) -> None:
        self.inner = inner
        self.during = during

    def publish(self, alert: PendingAlert) -> str:
        self.during()
        return self.inner.publish(alert)


def test_outbox_run_arriving_while_alert_in_flight_waits_then_alerts_nothing(aws: Aws) -> None:
    clock = Clock()
    b = outbox(aws, clock)
    raised = []

    def b_arrives() -> None:
        with pytest.raises(AlertInFlightError) as info:
            b.record(lost("s3:GetObject"), observed_at=clock.now, trigger=detach_event())
        raised.append(info.value)

    a = outbox(aws, clock, publisher=InterleavingPublisher(aws.publisher(), b_arrives))
    a.record(lost("s3:GetObject"), observed_at=clock.now, trigger=detach_event())
    assert len(raised) == 1  # B did not publish A's alert while A held the lease
    retry = b.record(lost("s3:GetObject"), observed_at=clock.now, trigger=detach_event())  # SQS redelivery
    assert retry.outcome is Outcome.SAVED
    assert kinds(aws.messages()) == ["LOST"]


class LostResponseStore(DynamoStateStore):
    """The PutItem lands but its response is lost; botocore's retry then fails the condition."""

    def save(self, state: Any, *, expected_revision: int | None) -> None:
        super().save(state, expected_revision=expected_revision)
        raise StateConflictError(state.principal, state.profile)


def test_outbox_own_write_landed_despite_conflict_publishes_at_once(aws: Aws) -> None:
    clock = Clock()
    store = LostResponseStore(TABLE, client=boto3.client("dynamodb", region_name="us-east-1"))
    result = outbox(aws, clock, store=store).record(lost("s3:GetObject"), observed_at=T0, trigger=None)
    assert result.outcome is Outcome.ALERTED
    assert alert_ids(aws.messages()) == [result.alert_id]
    state = aws.store().get(ROLE_ARN, PROFILE)
    assert state is not None
    assert state.pending_alert is None


def test_outbox_older_evaluation_arriving_late_is_stale(aws: Aws) -> None:
    clock = Clock()
    box = outbox(aws, clock)
    box.record(lost("s3:GetObject"), observed_at=T0 + timedelta(seconds=10), trigger=None)
    late = box.record(check(), observed_at=T0 + timedelta(seconds=5), trigger=detach_event())
    assert late.outcome is Outcome.STALE
    state = aws.store().get(ROLE_ARN, PROFILE)
    assert state is not None
    assert state.revision == 1
    assert kinds(aws.messages()) == ["LOST"]  # no false RESTORED from the older read


def test_outbox_overlapping_evaluations_write_nothing_and_say_so(aws: Aws) -> None:
    """A sweep's page read at +10 with the policies it listed at 0, against a change run that read
    everything at +5: each saw something the other did not, so neither replaces the other
    (``Outcome.OVERLAPPED``: the watcher reads the principal again). An evaluation read at +11
    replaces the sweep's; one read at -1 is stale."""
    box = outbox(aws, Clock())
    sweep = box.record(
        lost("s3:GetObject"), observed_at=T0 + timedelta(seconds=10), read_from=T0, trigger=None
    )
    assert sweep.outcome is Outcome.ALERTED
    change_run = box.record(check(), observed_at=T0 + timedelta(seconds=5), trigger=detach_event())
    assert change_run.outcome is Outcome.OVERLAPPED
    assert box.record(check(), observed_at=T0 - timedelta(seconds=1), trigger=None).outcome is Outcome.STALE
    state = aws.store().get(ROLE_ARN, PROFILE)
    assert state is not None
    assert (state.revision, state.observed_at, state.read_from) == (1, T0 + timedelta(seconds=10), T0)
    assert kinds(aws.messages()) == ["LOST"]
    again = box.record(check(), observed_at=T0 + timedelta(seconds=11), trigger=detach_event())
    assert again.outcome is Outcome.ALERTED
    assert kinds(aws.messages()) == ["RESTORED"]


class FailingPublisher:
    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.calls = 0

    def publish(self, alert: PendingAlert) -> str:
        self.calls += 1
        raise self.error


class Crash(BaseException):
    """The Lambda dies (timeout, OOM): nothing after this line runs, not even except-Exception."""


def test_outbox_publish_fails_after_write_next_run_publishes_same_id_once(aws: Aws) -> None:
    clock = Clock()
    with pytest.raises(RuntimeError):
        outbox(aws, clock, publisher=FailingPublisher(RuntimeError("SNS unreachable"))).record(
            lost("s3:GetObject"), observed_at=T0, trigger=detach_event()
        )
    left = aws.store().get(ROLE_ARN, PROFILE)
    assert left is not None
    assert left.pending_alert is not None
    assert aws.messages() == []
    pending_id = left.pending_alert.alert_id

    clock.advance(1)  # the SQS redelivery, the lease handed back at once
    retry = outbox(aws, clock).record(lost("s3:GetObject"), observed_at=clock.now, trigger=detach_event())
    assert retry.flushed == (pending_id,)
    assert retry.outcome is Outcome.SAVED  # the transition itself was already saved: no second alert
    assert alert_ids(aws.messages()) == [pending_id]
    outbox(aws, clock).record(lost("s3:GetObject"), observed_at=clock.now, trigger=None)
    assert aws.messages() == []


def test_outbox_crash_after_write_lease_then_sweep_publishes_once(aws: Aws) -> None:
    clock = Clock()
    crashing = FailingPublisher(Crash())
    with pytest.raises(Crash):
        outbox(aws, clock, publisher=crashing).record(lost("s3:GetObject"), observed_at=T0, trigger=None)
    left = aws.store().get(ROLE_ARN, PROFILE)
    assert left is not None
    assert left.pending_alert is not None

    clock.advance(5)  # a redelivery while the dead run's lease is live: wait, then give up (retryable)
    with pytest.raises(AlertInFlightError):
        outbox(aws, clock).record(lost("s3:GetObject"), observed_at=clock.now, trigger=None)
    assert aws.messages() == []

    clock.advance(120)  # lease expired: the sweep flushes it, with the id written before the crash
    assert outbox(aws, clock).flush_pending() == [left.pending_alert.alert_id]
    assert outbox(aws, clock).flush_pending() == []
    messages = aws.messages()
    assert alert_ids(messages) == [left.pending_alert.alert_id]
    assert json.loads(messages[0]["Message"])["alert_id"] == left.pending_alert.alert_id


def test_outbox_crash_after_publish_before_clear_republishes_same_id(aws: Aws) -> None:
    """The one at-least-once window: SNS took it, the clear did not happen. Same id: dedupable."""
    clock = Clock()

    class CrashOnClear(DynamoStateStore):
        def clear_pending(self, *args: Any, **kwargs: Any) -> bool:
            raise Crash

    crashing_store = CrashOnClear(TABLE, client=boto3.client("dynamodb", region_name="us-east-1"))
    with pytest.raises(Crash):
        outbox(aws, clock, store=crashing_store).record(lost("s3:GetObject"), observed_at=T0, trigger=None)
    clock.advance(120)
    outbox(aws, clock).record(lost("s3:GetObject"), observed_at=clock.now, trigger=None)
    ids = alert_ids(aws.messages())
    assert len(ids) == 2
    assert len(set(ids)) == 1


def test_outbox_pending_alert_delivered_before_the_next_transition(aws: Aws) -> None:
    clock = Clock()
    with pytest.raises(RuntimeError):
        outbox(aws, clock, publisher=FailingPublisher(RuntimeError("down"))).record(
            lost("s3:GetObject"), observed_at=T0, trigger=None
        )
    clock.advance(60)
    result = outbox(aws, clock).record(check(), observed_at=clock.now, trigger=detach_event(clock.now))
    assert result.outcome is Outcome.ALERTED
    assert kinds(aws.messages()) == ["LOST", "RESTORED"]


def test_outbox_lost_restored_lost_each_once_with_distinct_ids(aws: Aws) -> None:
    clock = Clock()
    box = outbox(aws, clock)
    sequence = [
        check(),
        lost("s3:GetObject"),
        lost("s3:GetObject"),
        check(),
        check(),
        lost("ec2:CreateVolume"),
    ]
    for current in sequence:
        clock.advance(10)
        box.record(current, observed_at=clock.now, trigger=None)
    messages = aws.messages()
    assert kinds(messages) == ["LOST", "RESTORED", "LOST"]
    assert len(set(alert_ids(messages))) == 3


def test_outbox_unknown_alerts_once_then_restored(aws: Aws) -> None:
    clock = Clock()
    box = outbox(aws, clock)
    for current in (check(), unreadable(), unreadable("AccessDenied"), check()):
        clock.advance(10)
        box.record(current, observed_at=clock.now, trigger=None)
    assert kinds(aws.messages()) == ["UNKNOWN", "RESTORED"]


def test_outbox_deleted_alerts_once_and_keeps_tombstone(aws: Aws) -> None:
    clock = Clock()
    box = outbox(aws, clock)
    box.record(check(), observed_at=clock.now, trigger=None)
    gone = Gone(ROLE_ARN, PROFILE, GoneReason.DELETED)
    clock.advance(10)
    assert box.record(gone, observed_at=clock.now, trigger=None).outcome is Outcome.ALERTED
    clock.advance(10)
    assert box.record(gone, observed_at=clock.now, trigger=None).outcome is Outcome.IGNORED
    assert kinds(aws.messages()) == ["DELETED"]
    tombstone = aws.store().get(ROLE_ARN, PROFILE)
    assert tombstone is not None
    assert tombstone.presence is Presence.DELETED
    assert tombstone.revision == 2


def test_outbox_gone_never_watched_writes_nothing(aws: Aws) -> None:
    result = outbox(aws, Clock()).record(
        Gone(ROLE_ARN, PROFILE, GoneReason.UNWATCHED), observed_at=T0, trigger=None
    )
    assert result.outcome is Outcome.IGNORED
    assert aws.store().get(ROLE_ARN, PROFILE) is None
    assert aws.messages() == []
