"""The ledger: exactly-once alerts over the state store.

``diff`` decides which transition a fresh check makes against the stored state (pure); ``outbox``
saves the state and the rendered alert in one conditional write, then publishes and clears it (the
transactional-outbox protocol, its crash windows documented there); ``batch`` holds a run's alerts
back in digest mode. It sits between ``state``/``alerts`` (below) and ``watch`` (above).
"""

from restorewatch.ledger.batch import AlertBatch
from restorewatch.ledger.diff import fail_closed, scps_evaluated, transition_between
from restorewatch.ledger.outbox import AlertInFlightError, Outbox, OutboxSettings, Outcome, RecordResult

__all__ = [
    "AlertBatch",
    "AlertInFlightError",
    "Outbox",
    "OutboxSettings",
    "Outcome",
    "RecordResult",
    "fail_closed",
    "scps_evaluated",
    "transition_between",
]
