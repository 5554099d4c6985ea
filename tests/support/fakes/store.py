"""``MemoryStore``: the ``state.Store`` protocol in a dict, with DynamoDB's conditions.

Every write checks the very condition ``state.DynamoStateStore`` sends as its ``ConditionExpression``
and fails the same way (``StateConflictError`` from ``save``, ``False`` from the pending-alert
updates and ``record_sweep``); what is stored goes through the DynamoDB store's own item mapping
(``item_from_state`` / ``state_from_item``), so times keep the table's microsecond precision and an
empty account stays out of the account index. tests/contracts/test_store_contract.py runs the
same assertions against this store and the DynamoDB one on moto, so the two cannot drift.

``hooks`` (``support.fakes.hooks``) arms a failure instead of, or a crash right after, the next
call of an operation: ``"get"``, ``"save"``, ``"claim_pending"``, ``"release_pending"``,
``"clear_pending"``, ``"with_pending"``, ``"record_sweep"``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from restorewatch.state import StoredState, SweepHeartbeat
from restorewatch.state.model import format_time, parse_time
from restorewatch.state.store import StateConflictError, item_from_state, state_from_item

from .hooks import Hooks

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime

Key = tuple[str, str]


def _as_stored(state: StoredState) -> StoredState:
    """What reading the item back gives (the DynamoDB store's own mapping, both ways)."""
    return state_from_item(item_from_state(state))


class MemoryStore:
    """``Store`` in memory. ``states`` is the table (read it in assertions)."""

    def __init__(self) -> None:
        self.states: dict[Key, StoredState] = {}
        self.heartbeat: SweepHeartbeat | None = None
        self.hooks = Hooks()

    # -- reads -------------------------------------------------------------------------------

    def get(self, principal: str, profile: str) -> StoredState | None:
        self.hooks.before("get")
        found = self.states.get((principal, profile))
        self.hooks.after("get")
        return found

    def states_for(self, principal: str) -> list[StoredState]:
        self.hooks.before("states_for")
        return [state for (arn, _), state in sorted(self.states.items()) if arn == principal]

    def scan_states(self) -> Iterator[StoredState]:
        self.hooks.before("scan_states")
        yield from list(self.states.values())

    def states_in_account(self, account: str) -> Iterator[StoredState]:
        self.hooks.before("states_in_account")
        # an empty account is not in the index (item_from_state leaves the attribute out)
        yield from [state for state in self.states.values() if account and state.account == account]

    def with_pending(self, account: str | None = None) -> Iterator[StoredState]:
        self.hooks.before("with_pending")
        states = list(self.states.values()) if account is None else list(self.states_in_account(account))
        yield from [state for state in states if state.pending_alert is not None]

    def last_sweep(self) -> SweepHeartbeat | None:
        self.hooks.before("last_sweep")
        return self.heartbeat

    # -- conditional writes ------------------------------------------------------------------

    def save(self, state: StoredState, *, expected_revision: int | None) -> None:
        self.hooks.before("save")
        stored = self.states.get(state.key)
        if expected_revision is None:
            allowed = stored is None  # attribute_not_exists(principal)
        else:
            if state.revision != expected_revision + 1:
                raise ValueError(f"revision {state.revision} does not follow {expected_revision}")
            # revision = :expected AND attribute_not_exists(pending_alert) AND observed_at <= :observed
            allowed = (
                stored is not None
                and stored.revision == expected_revision
                and stored.pending_alert is None
                and format_time(stored.observed_at) <= format_time(state.observed_at)
            )
        if not allowed:
            raise StateConflictError(state.principal, state.profile)
        self.states[state.key] = _as_stored(state)
        self.hooks.after("save")

    def claim_pending(
        self, principal: str, profile: str, alert_id: str, *, seen_lease: datetime, new_lease: datetime
    ) -> bool:
        self.hooks.before("claim_pending")
        stored = self._pending(principal, profile, alert_id)
        if stored is None or stored.pending_alert is None:
            return False
        pending = stored.pending_alert
        if format_time(pending.lease_until) != format_time(seen_lease):
            return False
        renewed = replace(pending, lease_until=new_lease, attempts=pending.attempts + 1)
        self.states[stored.key] = _as_stored(replace(stored, pending_alert=renewed))
        self.hooks.after("claim_pending")
        return True

    def release_pending(self, principal: str, profile: str, alert_id: str, *, lease: datetime) -> bool:
        self.hooks.before("release_pending")
        stored = self._pending(principal, profile, alert_id)
        if stored is None or stored.pending_alert is None:
            return False
        released = replace(stored.pending_alert, lease_until=lease)
        self.states[stored.key] = _as_stored(replace(stored, pending_alert=released))
        self.hooks.after("release_pending")
        return True

    def clear_pending(
        self, principal: str, profile: str, alert_id: str, *, delivered_at: datetime, message_id: str
    ) -> bool:
        self.hooks.before("clear_pending")
        stored = self._pending(principal, profile, alert_id)
        if stored is None:
            return False
        # REMOVE pending_alert SET last_delivered_at, last_message_id: read back through last_alert
        last = stored.last_alert
        if last is not None:
            last = replace(last, delivered_at=delivered_at, message_id=message_id)
        self.states[stored.key] = _as_stored(replace(stored, pending_alert=None, last_alert=last))
        self.hooks.after("clear_pending")
        return True

    def record_sweep(self, heartbeat: SweepHeartbeat) -> bool:
        self.hooks.before("record_sweep")
        # attribute_not_exists(last_sweep_at) OR last_sweep_at <= :at
        if self.heartbeat is not None and format_time(self.heartbeat.at) > format_time(heartbeat.at):
            return False
        self.heartbeat = SweepHeartbeat(parse_time(format_time(heartbeat.at)), heartbeat.principals)
        self.hooks.after("record_sweep")
        return True

    def _pending(self, principal: str, profile: str, alert_id: str) -> StoredState | None:
        """The stored state if its pending alert is ``alert_id`` (every pending update's condition)."""
        stored = self.states.get((principal, profile))
        if stored is None or stored.pending_alert is None or stored.pending_alert.alert_id != alert_id:
            return None
        return stored
