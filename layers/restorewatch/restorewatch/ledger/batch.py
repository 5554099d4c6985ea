"""Digest mode: the pending alerts one run saved and held back, delivered together at its end.

Each transition is saved with its own pending alert exactly as without digest mode (``ledger.outbox``);
the batch only remembers which of them this run holds, so ``Outbox.deliver_batch`` can publish them
one by one or as one digest (``alerts.digest.render_digest``). Until then each is an ordinary pending
alert: a crash loses nothing, the next run or sweep publishes it alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from restorewatch.state.model import PendingAlert, StoredState

__all__ = ["AlertBatch"]


class AlertBatch:
    """The pending alerts one run saved and held back, in the order they were saved."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[StoredState, PendingAlert]] = {}

    def __len__(self) -> int:
        return len(self._held)

    def add(self, state: StoredState, pending: PendingAlert) -> None:
        self._held[pending.alert_id] = (state, pending)

    def take(self, alert_id: str) -> tuple[StoredState, PendingAlert] | None:
        return self._held.pop(alert_id, None)

    def drain(self) -> list[tuple[StoredState, PendingAlert]]:
        held, self._held = list(self._held.values()), {}
        return held
