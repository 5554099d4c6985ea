"""What an alert is about: a transition of one (principal, profile), or a principal that is gone.

``ledger.diff`` decides which transition (if any) a fresh check makes against the stored state;
``alerts`` renders it; ``state`` remembers its kind as the last alert.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from restorewatch.engine.model import RequirementStatus

if TYPE_CHECKING:
    from collections.abc import Mapping

    from restorewatch.compliance import ComplianceStatus, ScpCoverage
    from restorewatch.engine.model import PrincipalKind, Reason

__all__ = ["ActionChange", "AlertKind", "Gone", "GoneReason", "Transition"]


class AlertKind(enum.Enum):
    """The transitions that alert. Upper case values: they are SNS filter-policy attribute values."""

    LOST = "LOST"
    DEGRADED = "DEGRADED"
    RESTORED = "RESTORED"
    UNKNOWN = "UNKNOWN"
    UNWATCHED = "UNWATCHED"
    DELETED = "DELETED"


class GoneReason(enum.Enum):
    UNWATCHED = "unwatched"  # the watch tag no longer names this profile
    DELETED = "deleted"  # the principal no longer exists


@dataclass(frozen=True, slots=True)
class Gone:
    """A stored (principal, profile) that is no longer there to check."""

    arn: str
    profile: str
    reason: GoneReason
    account_name: str | None = None


@dataclass(frozen=True, slots=True)
class ActionChange:
    action: str
    before: RequirementStatus | None  # None: first sight
    after: RequirementStatus
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True, slots=True)
class Transition:
    """What an alert is about. ``statuses`` are every action's statuses after the change."""

    kind: AlertKind
    arn: str
    name: str
    principal_kind: PrincipalKind | None
    account: str
    profile: str
    before: ComplianceStatus | None
    after: ComplianceStatus
    changes: tuple[ActionChange, ...]
    statuses: Mapping[str, RequirementStatus] = field(default_factory=dict)
    error: str | None = None
    first_sight: bool = False
    scps: ScpCoverage | None = None  # None: SCPs are not part of the story (gone, or not said)
    account_name: str | None = None

    def changed(self, *statuses: RequirementStatus) -> tuple[ActionChange, ...]:
        return tuple(change for change in self.changes if change.after in statuses)

    def counts(self) -> dict[RequirementStatus, int]:
        counts = dict.fromkeys(RequirementStatus, 0)
        for status in self.statuses.values():
            counts[status] += 1
        return counts
