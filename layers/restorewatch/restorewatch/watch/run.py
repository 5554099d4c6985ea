"""What one watcher run is given and what it returns: settings, the organization it sees, its summary.

Kept apart from ``watch.pipeline`` (the steps) so that the handler, the runtime and the tests can
name these without the pipeline's dependencies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from restorewatch.ledger import Outcome

if TYPE_CHECKING:
    from restorewatch.compliance import ComplianceStatus, PrincipalCheck, ScpCoverage
    from restorewatch.domain import Gone
    from restorewatch.engine import ScpLevels
    from restorewatch.errors import ReadError
    from restorewatch.ledger import RecordResult


def is_transient(error: ReadError) -> bool:
    return error.transient


class ScpSource(Protocol):
    """Where the SCP levels of the watched account come from (``None``: no SCPs to evaluate)."""

    def levels(self, account: str) -> ScpLevels | None: ...


class OrgView(ScpSource, Protocol):
    """The organization as one run sees it (met by ``inventory.OrganizationsScpSource``)."""

    @property
    def total_calls(self) -> int: ...
    def coverage(self, account: str) -> ScpCoverage: ...
    def account_name(self, account: str) -> str | None: ...
    def account_ids(self) -> list[str]: ...
    def accounts_below(self, target: str) -> list[str]: ...
    def targets_of(self, policy_id: str) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class WatchSettings:
    tag_key: str
    home_account: str | None = None  # the watcher's own account, when known
    # A group or policy change naming more principals than this is re-checked by sweeping the
    # account: reading principals one by one costs about four IAM calls each (bench/watcher.py),
    # a sweep a few GetAccountAuthorizationDetails pages for the whole account.
    sweep_over: int = 25


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
    def alerts(self) -> list[str]:
        ids = [r.alert_id for r in self.results if r.outcome is Outcome.ALERTED and r.alert_id]
        return ids + [alert for r in self.results for alert in r.flushed] + self.delivered

    def count(self, status: ComplianceStatus) -> int:
        return sum(1 for check in self.checks if check.status is status)


__all__ = ["OrgView", "RunSummary", "ScpSource", "WatchSettings", "is_transient"]
