"""A principal's compliance with a profile: one requirement check per action, folded into a status.

This is the value the watcher diffs against its stored state and the CLI prints, so its dictionary
form is a stable contract (see docs/interfaces.md).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from restorewatch.engine import check_actions
from restorewatch.engine.model import PrincipalKind, RequirementStatus

if TYPE_CHECKING:
    from collections.abc import Iterable

    from restorewatch.engine import ScpLevels
    from restorewatch.engine.model import Principal, Reason
    from restorewatch.profiles import Profile

__all__ = [
    "ActionCheck",
    "ComplianceStatus",
    "PrincipalCheck",
    "check_principal",
    "overall_status",
    "unknown_check",
]


class ComplianceStatus(enum.Enum):
    COMPLIANT = "compliant"
    DEGRADED = "degraded"
    NON_COMPLIANT = "non_compliant"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ActionCheck:
    """One required action: ``action`` keeps the profile's spelling, not AWS's."""

    action: str
    status: RequirementStatus
    reasons: tuple[Reason, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "action": self.action,
            "status": self.status.value,
            "reasons": [reason.as_dict() for reason in self.reasons],
        }


@dataclass(frozen=True, slots=True)
class PrincipalCheck:
    """The result of checking one principal against one profile.

    ``kind`` is None only when it could not be read from an ARN of an unreadable principal.
    """

    arn: str
    name: str
    kind: PrincipalKind | None
    account: str
    profile: str
    status: ComplianceStatus
    actions: tuple[ActionCheck, ...]
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "arn": self.arn,
            "name": self.name,
            "kind": self.kind.value if self.kind is not None else None,
            "account": self.account,
            "profile": self.profile,
            "status": self.status.value,
            "actions": [action.as_dict() for action in self.actions],
        }
        if self.error is not None:
            data["error"] = self.error
        return data


def overall_status(statuses: Iterable[RequirementStatus]) -> ComplianceStatus:
    """Fold action statuses into the principal's status.

    A definite denial outranks an unknown: the principal is known to be unable to restore, and
    saying ``unknown`` would hide that. An unknown outranks ``partial`` because it could hide a
    denial; only when every action is allowed is the principal compliant.
    """
    seen = set(statuses)
    if RequirementStatus.DENIED in seen:
        return ComplianceStatus.NON_COMPLIANT
    if RequirementStatus.UNKNOWN in seen:
        return ComplianceStatus.UNKNOWN
    if RequirementStatus.PARTIAL in seen:
        return ComplianceStatus.DEGRADED
    return ComplianceStatus.COMPLIANT


def check_principal(principal: Principal, profile: Profile, scps: ScpLevels | None = None) -> PrincipalCheck:
    """Check every action of ``profile`` for ``principal`` (SCP levels root first, or None)."""
    checks = [
        ActionCheck(action=result.action, status=result.status, reasons=result.reasons)
        for result in check_actions(principal, profile.actions, scps)
    ]
    return PrincipalCheck(
        arn=principal.arn,
        name=principal.name,
        kind=principal.kind,
        account=principal.account,
        profile=profile.name,
        status=overall_status(check.status for check in checks),
        actions=tuple(checks),
    )


def _parse_arn(arn: str) -> tuple[str, str, PrincipalKind | None]:
    """Best-effort account, name and kind from ``arn:aws:iam::ACCOUNT:user|role/path/NAME``."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return "", arn, None
    resource = parts[5]
    kind_word, _, rest = resource.partition("/")
    kind = {"user": PrincipalKind.USER, "role": PrincipalKind.ROLE}.get(kind_word)
    name = rest.rsplit("/", 1)[-1] if rest else resource
    return parts[4], name, kind


def unknown_check(arn: str, profile_name: str, error: str, actions: Iterable[str] = ()) -> PrincipalCheck:
    """The check of a principal that could not be read or evaluated.

    Every action is ``unknown`` (never ``denied``: a failed read says nothing about permissions);
    pass the profile's ``actions`` so that the result still lists what was not checked.
    """
    account, name, kind = _parse_arn(arn)
    return PrincipalCheck(
        arn=arn,
        name=name,
        kind=kind,
        account=account,
        profile=profile_name,
        status=ComplianceStatus.UNKNOWN,
        actions=tuple(ActionCheck(action=action, status=RequirementStatus.UNKNOWN) for action in actions),
        error=error,
    )
