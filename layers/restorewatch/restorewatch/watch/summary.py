"""What one watcher run returns: ``RunSummary``, which the handler turns into metrics and batch failures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from restorewatch.ledger import Outcome

if TYPE_CHECKING:
    from restorewatch.compliance import ComplianceStatus, PrincipalCheck
    from restorewatch.domain import Gone
    from restorewatch.ledger import RecordResult

__all__ = ["RunSummary"]


@dataclass(slots=True)
class RunSummary:
    """What one change or sweep did; the handler turns it into metrics and batch failures."""

    checks: list[PrincipalCheck] = field(default_factory=list)
    results: list[RecordResult] = field(default_factory=list)
    gone: list[Gone] = field(default_factory=list)
    retry_reasons: list[str] = field(default_factory=list)
    swept: bool = False
    iam_calls: int = 0
    duration_seconds: float = 0.0
    account: str | None = None  # the one account swept (organization mode)
    dispatched: int = 0  # account sweeps enqueued (organization mode fan-out)
    org_calls: int = 0
    delivered: list[str] = field(default_factory=list)  # deferred alerts published at the end (digest mode)
    report: str | None = None  # where the sweep wrote the HTML report

    @property
    def retryable(self) -> bool:
        return bool(self.retry_reasons)

    @property
    def alert_ids(self) -> list[str]:
        """The ids of the alerts this run published (its own, earlier pending ones, held ones)."""
        ids = [r.alert_id for r in self.results if r.outcome is Outcome.ALERTED and r.alert_id]
        return ids + [alert for r in self.results for alert in r.flushed] + self.delivered

    def count(self, status: ComplianceStatus) -> int:
        return sum(1 for check in self.checks if check.status is status)
