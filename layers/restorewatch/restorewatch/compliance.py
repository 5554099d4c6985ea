"""A principal's compliance with a profile: one requirement check per action, folded into a status.

This is the value the watcher diffs against its stored state and the CLI prints, so its dictionary
form is a stable contract (see docs/interfaces.md).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from restorewatch.engine import check_actions
from restorewatch.engine.arn import parse_arn
from restorewatch.engine.model import PrincipalKind, RequirementStatus

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from restorewatch.engine import BoundResource, RcpLevels, ResourcePolicies, ScpLevels
    from restorewatch.engine.catalog import ActionCatalog
    from restorewatch.engine.model import Principal, Reason
    from restorewatch.profiles import Profile

__all__ = [
    "SCPS_NOT_CONFIGURED",
    "ActionCheck",
    "ComplianceStatus",
    "PrincipalCheck",
    "ScpCoverage",
    "ScpFailure",
    "ScpStatus",
    "check_principal",
    "is_service_linked_role",
    "overall_status",
    "unknown_check",
    "without_scps",
]


class ComplianceStatus(enum.Enum):
    COMPLIANT = "compliant"
    DEGRADED = "degraded"
    NON_COMPLIANT = "non_compliant"
    UNKNOWN = "unknown"


class ScpStatus(enum.Enum):
    """Whether the check took service control policies into account."""

    EVALUATED = "evaluated"  # the account's SCP levels, root to account, were read and applied
    NOT_EVALUATED = "not_evaluated"  # they could not be read: an SCP may still deny (never "allowed")
    NOT_APPLICABLE = "not_applicable"  # SCPs do not apply (management account, service-linked role)


class ScpFailure(enum.Enum):
    """Why SCPs were not evaluated when something was tried and failed."""

    TRANSIENT = "transient"  # throttling, 5xx, network: a retry may read them
    PERMANENT = "permanent"  # AccessDenied and the like: the watcher may never have had access
    UNPARSABLE = "unparsable"  # they were read, and one could not be evaluated


@dataclass(frozen=True, slots=True)
class ScpCoverage:
    """What the check knows about SCPs, for the alert: ``detail`` says which or why not.

    ``failure`` and ``error`` (the failed call, or the SCP that could not be parsed) are set when
    SCPs are ``not_evaluated`` because something failed; without them nothing was tried (no
    Organizations access was configured).
    """

    status: ScpStatus
    detail: str
    failure: ScpFailure | None = None
    error: str | None = None
    # "RCP" when the resource control policies are what could not be evaluated (SCPs were)
    policies: str = "SCP"

    @property
    def unknown_at_first_sight(self) -> bool:
        """Not even a first check may leave SCPs out: a retry may read them, or an SCP that
        applies could not be evaluated. (A permanent failure at first sight is the documented
        "SCPs not evaluated" mode of a watcher that cannot read Organizations.)"""
        return self.failure in (ScpFailure.TRANSIENT, ScpFailure.UNPARSABLE)

    def as_dict(self) -> dict[str, str]:
        return {"status": self.status.value, "detail": self.detail}


SCPS_NOT_CONFIGURED = ScpCoverage(ScpStatus.NOT_EVALUATED, "no Organizations access was configured")

# https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html:
# "SCPs don't affect service-linked roles."
_SLR_EXEMPT = ScpCoverage(ScpStatus.NOT_APPLICABLE, "service-linked roles are not affected by SCPs")


# what a bound action says when the caller read no resource policy at all
_NOT_READ = "no bucket or key policy was read for this check, and the resource's policy decides too"


def is_service_linked_role(arn: str) -> bool:
    """Service-linked roles live under the path ``/aws-service-role/`` (IAM creates them there)."""
    return ":role/aws-service-role/" in arn


@dataclass(frozen=True, slots=True)
class ActionCheck:
    """One required action: ``action`` keeps the profile's spelling, not AWS's; ``resource`` is the
    pattern a bound action was checked on (its parameters put in), None for ``*``."""

    action: str
    status: RequirementStatus
    reasons: tuple[Reason, ...] = ()
    resource: str | None = None

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"action": self.action}
        if self.resource is not None:
            data["resource"] = self.resource
        data["status"] = self.status.value
        data["reasons"] = [reason.as_dict() for reason in self.reasons]
        return data


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
    scps: ScpCoverage | None = None  # None: the caller did not say (the CLI with --scps or none)
    account_name: str | None = None  # the account's alias or Organizations name, when known

    @property
    def holders(self) -> tuple[str, ...]:
        """The buckets and keys (ARNs, or ARN patterns) whose policies the bound actions depend on:
        what a bucket or key policy change re-checks this principal for (``watch.resource_events``)."""
        from restorewatch.engine.resources import holder_pattern

        found = (holder_pattern(action.resource) for action in self.actions if action.resource is not None)
        return tuple(sorted(set(found)))

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
        if self.scps is not None:
            data["scps"] = self.scps.as_dict()
        if self.account_name is not None:
            data["account_name"] = self.account_name
        return data


def overall_status(statuses: Iterable[RequirementStatus]) -> ComplianceStatus:
    """Fold action statuses into the principal's status.

    A definite denial outranks an unknown: the principal is known to be unable to restore, and
    saying ``unknown`` would hide that. An unknown outranks ``partial`` because it could hide a
    denial; only when every action is allowed is the principal compliant.
    """
    unknown = partial = False
    for status in statuses:  # compared by identity: hashing an Enum member runs Python code
        if status is RequirementStatus.DENIED:
            return ComplianceStatus.NON_COMPLIANT
        if status is RequirementStatus.UNKNOWN:
            unknown = True
        elif status is RequirementStatus.PARTIAL:
            partial = True
    if unknown:
        return ComplianceStatus.UNKNOWN
    return ComplianceStatus.DEGRADED if partial else ComplianceStatus.COMPLIANT


def check_principal(
    principal: Principal,
    profile: Profile,
    scps: ScpLevels | None = None,
    *,
    coverage: ScpCoverage | None = None,
    account_name: str | None = None,
    catalog: ActionCatalog | None = None,
    resources: ResourcePolicies | None = None,
    rcps: Mapping[str, RcpLevels] | None = None,
    parameters: Mapping[str, str] | None = None,
    org_id: str | None = None,
    org_paths: tuple[str, ...] = (),
) -> PrincipalCheck:
    """Check every action of ``profile`` for ``principal`` (SCP levels root first, or None).

    ``coverage`` says how ``scps`` came about (for the alert). ``catalog`` is the action catalog
    the engine consults (default: the installed one, ``restorewatch.catalog.default_catalog``).
    A service-linked role is checked
    without SCPs whatever is passed: SCPs do not affect service-linked roles
    (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html),
    nor do RCPs (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html).

    A bound action (``profiles.model``) is checked on its pattern with the principal's parameter
    values (its tags ``restorewatch:param:<Name>``; ``parameters`` win), the policy of the resource
    as ``resources`` knows it (default: none read, so such actions are ``unknown``) and ``rcps``,
    the RCP levels by account (the principal's account's also govern its actions on ``*``).
    Raises ``ParameterError`` (an ``InputError``) when a parameter has no usable value. ``org_id``
    and ``org_paths``: the organization of the principal's account (AWS Organizations), which
    decides conditions on ``aws:PrincipalOrgID`` and ``aws:PrincipalOrgPaths`` (without it they
    stay conditions: partial, never guessed).
    """
    if org_id is not None:
        principal = replace(principal, org_id=org_id, org_paths=org_paths)
    if is_service_linked_role(principal.arn):
        scps, coverage, rcps = None, _SLR_EXEMPT, None
    if catalog is None:
        from restorewatch.catalog import default_catalog

        catalog = default_catalog()
    entries: list[tuple[str, BoundResource | None]] = []
    patterns: list[str | None] = []
    if profile.bound:
        from restorewatch.engine.resources import ResourcePolicies, bound_resource
        from restorewatch.profiles.parameters import bind_requirements

        known = resources if resources is not None else ResourcePolicies.unread(_NOT_READ)
        for bound in bind_requirements(profile, principal.tags, parameters):
            side = None
            if bound.resource is not None:
                side = bound_resource(bound.resource, known, principal.account, rcps)
            entries.append((bound.action, side))
            patterns.append(bound.resource)
    else:
        entries = [(action, None) for action in profile.actions]
        patterns = [None] * len(entries)
    own_rcps = (rcps or {}).get(principal.account)
    results = check_actions(principal, entries, scps, catalog, rcps=own_rcps)
    checks = tuple(
        [
            ActionCheck(result.action, result.status, result.reasons, pattern)
            for result, pattern in zip(results, patterns, strict=True)
        ]
    )
    return PrincipalCheck(
        arn=principal.arn,
        name=principal.name,
        kind=principal.kind,
        account=principal.account,
        profile=profile.name,
        status=overall_status([result.status for result in results]),
        actions=checks,
        scps=coverage,
        account_name=account_name,
    )


def without_scps(check: PrincipalCheck, error: str) -> PrincipalCheck:
    """``check`` (made without SCPs) fail-closed: what the layers that were read deny stays
    ``denied`` (an SCP can only take more away:
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html),
    every other action is ``unknown`` (an SCP may deny it), and ``error`` says what failed. Such a
    check is never compliant."""
    actions = tuple(
        action
        if action.status is RequirementStatus.DENIED
        else ActionCheck(action=action.action, status=RequirementStatus.UNKNOWN, resource=action.resource)
        for action in check.actions
    )
    status = overall_status(action.status for action in actions) if actions else ComplianceStatus.UNKNOWN
    return replace(check, status=status, actions=actions, error=error)


def unknown_check(arn: str, profile_name: str, error: str, actions: Iterable[str] = ()) -> PrincipalCheck:
    """The check of a principal that could not be read or evaluated.

    Every action is ``unknown`` (never ``denied``: a failed read says nothing about permissions);
    pass the profile's ``actions`` so that the result still lists what was not checked.
    """
    parsed = parse_arn(arn)  # best effort: an unreadable principal's ARN may say little
    return PrincipalCheck(
        arn=arn,
        name=parsed.name if parsed is not None else arn,
        kind=parsed.principal_kind if parsed is not None else None,
        account=parsed.account if parsed is not None else "",
        profile=profile_name,
        status=ComplianceStatus.UNKNOWN,
        actions=tuple(ActionCheck(action=action, status=RequirementStatus.UNKNOWN) for action in actions),
        error=error,
    )
