"""``MemoryStore`` and ``DynamoStateStore`` (on moto, the table from template.yaml) keep one contract.

Each assertion below is what ``ledger.outbox`` and ``watch`` rely on (see ``state/store.py``): the
conditional save (first sight only once; the revision read; nothing pending; never an older
observation), the pending-alert updates pinned to the alert id and the lease seen, the heartbeat
moving forward only, the account index leaving out an empty account, and a stored state read back
exactly (times to the microsecond, in UTC).
DynamoDB condition expressions: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from restorewatch.domain import AlertKind
from restorewatch.state import DynamoStateStore, PendingAlert, StateConflictError, SweepHeartbeat
from support.fakes import MemoryStore
from support.template import state_table_kwargs
from unit.alerts.builders import PROFILE, ROLE_ARN, T0, check, stored

if TYPE_CHECKING:
    from collections.abc import Iterator

    from restorewatch.state import Store

OTHER_ACCOUNT = "210987654321"
OTHER = f"arn:aws:iam::{OTHER_ACCOUNT}:role/VeeamRestore"
ACCOUNT = ROLE_ARN.split(":")[4]


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**state_table_kwargs("contract"))
        yield DynamoStateStore("contract", client=client)


def pending(alert_id: str = "rw-1", lease: timedelta = timedelta(0)) -> PendingAlert:
    return PendingAlert(alert_id, AlertKind.LOST, "subject", "{}", {"kind": "LOST"}, T0, T0 + lease)


def test_a_saved_state_reads_back_exactly(store: Store) -> None:
    state = replace(
        stored(check(), last_alert=AlertKind.LOST, observed_at=T0 + timedelta(microseconds=7)),
        pending_alert=pending(),
        read_from=T0 - timedelta(minutes=3),
        scps_evaluated=True,
        error="something",
    )
    store.save(state, expected_revision=None)
    assert store.get(ROLE_ARN, PROFILE) == state
    assert store.get(ROLE_ARN, "other-profile") is None
    assert store.states_for(ROLE_ARN) == [state]


def test_first_sight_saves_once(store: Store) -> None:
    store.save(stored(check()), expected_revision=None)
    with pytest.raises(StateConflictError):
        store.save(stored(check()), expected_revision=None)


def test_save_needs_the_revision_read(store: Store) -> None:
    store.save(stored(check()), expected_revision=None)
    later = T0 + timedelta(seconds=5)
    with pytest.raises(StateConflictError):
        store.save(stored(check(), revision=3, observed_at=later), expected_revision=2)
    with pytest.raises(ValueError, match="does not follow"):
        store.save(stored(check(), revision=5, observed_at=later), expected_revision=1)
    store.save(stored(check(), revision=2, observed_at=later), expected_revision=1)
    with pytest.raises(StateConflictError):  # the loser of a race on revision 1
        store.save(stored(check(), revision=2, observed_at=later), expected_revision=1)
    saved = store.get(ROLE_ARN, PROFILE)
    assert saved is not None
    assert saved.revision == 2


def test_save_of_a_missing_item_at_a_revision_conflicts(store: Store) -> None:
    with pytest.raises(StateConflictError):
        store.save(stored(check(), revision=2), expected_revision=1)


def test_an_older_observation_never_overwrites_an_equal_one_may(store: Store) -> None:
    store.save(stored(check(), observed_at=T0), expected_revision=None)
    with pytest.raises(StateConflictError):
        store.save(
            stored(check(), revision=2, observed_at=T0 - timedelta(microseconds=1)), expected_revision=1
        )
    store.save(stored(check(), revision=2, observed_at=T0), expected_revision=1)


def test_no_save_while_an_alert_is_pending(store: Store) -> None:
    store.save(replace(stored(check()), pending_alert=pending()), expected_revision=None)
    with pytest.raises(StateConflictError):
        store.save(stored(check(), revision=2, observed_at=T0 + timedelta(seconds=5)), expected_revision=1)


def test_claim_needs_the_lease_seen_and_the_alert_id(store: Store) -> None:
    store.save(replace(stored(check()), pending_alert=pending()), expected_revision=None)
    new_lease = T0 + timedelta(seconds=90)
    assert not store.claim_pending(ROLE_ARN, PROFILE, "rw-other", seen_lease=T0, new_lease=new_lease)
    assert not store.claim_pending(ROLE_ARN, PROFILE, "rw-1", seen_lease=new_lease, new_lease=new_lease)
    assert store.claim_pending(ROLE_ARN, PROFILE, "rw-1", seen_lease=T0, new_lease=new_lease)
    assert not store.claim_pending(ROLE_ARN, PROFILE, "rw-1", seen_lease=T0, new_lease=new_lease)
    assert not store.claim_pending(OTHER, PROFILE, "rw-1", seen_lease=T0, new_lease=new_lease)
    claimed = store.get(ROLE_ARN, PROFILE)
    assert claimed is not None
    assert claimed.pending_alert == replace(pending(), lease_until=new_lease, attempts=1)
    assert claimed.revision == 1


def test_release_hands_the_lease_back_for_its_own_alert_only(store: Store) -> None:
    store.save(
        replace(stored(check()), pending_alert=pending(lease=timedelta(seconds=90))), expected_revision=None
    )
    assert not store.release_pending(ROLE_ARN, PROFILE, "rw-other", lease=T0)
    assert store.release_pending(ROLE_ARN, PROFILE, "rw-1", lease=T0)
    released = store.get(ROLE_ARN, PROFILE)
    assert released is not None
    assert released.pending_alert == pending()


def test_clear_removes_the_pending_alert_once_and_records_the_delivery(store: Store) -> None:
    state = replace(stored(check(), last_alert=AlertKind.LOST), pending_alert=pending())
    store.save(state, expected_revision=None)
    delivered = T0 + timedelta(seconds=1)
    assert not store.clear_pending(ROLE_ARN, PROFILE, "rw-other", delivered_at=delivered, message_id="m")
    assert store.clear_pending(ROLE_ARN, PROFILE, "rw-1", delivered_at=delivered, message_id="m-1")
    assert not store.clear_pending(ROLE_ARN, PROFILE, "rw-1", delivered_at=delivered, message_id="m-2")
    cleared = store.get(ROLE_ARN, PROFILE)
    assert cleared is not None
    assert cleared.pending_alert is None
    assert cleared.last_alert is not None
    assert (cleared.last_alert.delivered_at, cleared.last_alert.message_id) == (delivered, "m-1")
    assert cleared.revision == 1  # clearing is not a new evaluation
    assert list(store.with_pending()) == []


def test_heartbeat_moves_forward_only_and_is_no_principal(store: Store) -> None:
    assert store.last_sweep() is None
    assert store.record_sweep(SweepHeartbeat(T0, 12))
    assert not store.record_sweep(SweepHeartbeat(T0 - timedelta(microseconds=1), 3))
    assert store.record_sweep(SweepHeartbeat(T0, 13))  # an equal time moves it (<=)
    assert store.last_sweep() == SweepHeartbeat(T0, 13)
    assert list(store.scan_states()) == []


def test_account_reads_and_pending_of_one_account(store: Store) -> None:
    store.save(replace(stored(check()), pending_alert=pending()), expected_revision=None)
    store.save(replace(stored(check(arn=OTHER)), account=OTHER_ACCOUNT), expected_revision=None)
    store.save(
        replace(stored(check(arn=OTHER), observed_at=T0), profile="p2", account=""), expected_revision=None
    )
    assert [s.principal for s in store.states_in_account(OTHER_ACCOUNT)] == [OTHER]
    assert [s.principal for s in store.states_in_account(ACCOUNT)] == [ROLE_ARN]
    assert list(store.states_in_account("999999999999")) == []
    assert list(store.states_in_account("")) == []  # no item is indexed under an empty account
    assert [s.principal for s in store.with_pending(ACCOUNT)] == [ROLE_ARN]
    assert list(store.with_pending(OTHER_ACCOUNT)) == []
    assert [s.principal for s in store.with_pending()] == [ROLE_ARN]
    assert sorted((s.principal, s.profile) for s in store.scan_states()) == [
        (ROLE_ARN, PROFILE),
        (OTHER, "p2"),
        (OTHER, PROFILE),
    ]
    assert [s.profile for s in store.states_for(OTHER)] == ["p2", PROFILE]
