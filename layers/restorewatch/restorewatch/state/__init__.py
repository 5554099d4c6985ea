"""The DynamoDB state store: conditional writes that make each transition alert exactly once."""

from restorewatch.state.model import (
    SWEEP_PRINCIPAL,
    SWEEP_PROFILE,
    LastAlert,
    Observation,
    Order,
    PendingAlert,
    Presence,
    StoredState,
    SweepHeartbeat,
    alert_id_for,
)
from restorewatch.state.store import DynamoStateStore, StateConflictError, StateStoreError, Store

__all__ = [
    "SWEEP_PRINCIPAL",
    "SWEEP_PROFILE",
    "DynamoStateStore",
    "LastAlert",
    "Observation",
    "Order",
    "PendingAlert",
    "Presence",
    "StateConflictError",
    "StateStoreError",
    "Store",
    "StoredState",
    "SweepHeartbeat",
    "alert_id_for",
]
