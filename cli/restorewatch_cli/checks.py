"""The checks `check` and `report` print: one per watched principal and profile.

A principal that cannot be checked (its tag names no profile, or one nobody defined; a policy it
uses is malformed or missing from the snapshot) is an ``unknown`` row that says why, and every other
principal is still checked: one bad principal must not hide the state of the rest. The watcher does
the same (``watch.context.RunContext``), so the CLI and the alerts agree on what ``unknown`` means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from restorewatch.compliance import check_principal, unknown_check
from restorewatch.errors import InputError
from restorewatch.profiles import profile_names_from_tag, tag_value

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterable, Mapping, Sequence

    from restorewatch.compliance import PrincipalCheck
    from restorewatch.engine import AccountSnapshot, RcpLevels, ResourcePolicies, ScpLevels
    from restorewatch.profiles import Profile, ProfileRegistry

__all__ = [
    "INVALID_TAG",
    "NO_RESOURCE_INPUTS",
    "ResourceInputs",
    "add_allow_empty_argument",
    "check_profile",
    "collect_checks",
    "require_known_params",
    "require_watched",
    "resource_inputs",
    "tagged_checks",
]

# the profile column of the row for a tag value that names no profile
INVALID_TAG = "(invalid tag)"


def add_allow_empty_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-empty",
        action="store_true",
        help="succeed when no user or role carries the watch tag (by default that is an error: "
        "a removed tag or a wrong --tag-key must not pass as 'all compliant')",
    )


def require_watched(
    checks: Sequence[PrincipalCheck], snapshot: AccountSnapshot, tag_key: str, *, allow_empty: bool
) -> None:
    """Raise when nothing was checked: an empty result would read as a pass."""
    if checks or allow_empty:
        return
    count = len(snapshot.principal_arns())
    raise InputError(
        f"no watched principal (tag key {tag_key!r}): none of the {count} users and roles read "
        "carries it; check --tag-key and the account, or pass --allow-empty if none is expected"
    )


@dataclass(frozen=True, slots=True)
class ResourceInputs:
    """What `check` and `report` know of the resource side: the resource policies (``--resource-
    policies``; none read by default), the RCP levels by account (``--rcps``, for the snapshot's
    account), the ``--param`` values that win over the principals' tags, and the organization of the
    snapshot's account (``--org-id``, ``--org-path``) for conditions on ``aws:PrincipalOrgID``."""

    policies: ResourcePolicies | None = None
    rcps: Mapping[str, RcpLevels] = field(default_factory=dict)
    parameters: Mapping[str, str] = field(default_factory=dict)
    org_id: str | None = None  # --org-id: the organization of the snapshot's account
    org_paths: tuple[str, ...] = ()


NO_RESOURCE_INPUTS = ResourceInputs()


def check_profile(
    snapshot: AccountSnapshot,
    arn: str,
    profile: Profile,
    scps: ScpLevels | None,
    resources: ResourceInputs = NO_RESOURCE_INPUTS,
) -> PrincipalCheck:
    """``arn`` against ``profile``; ``unknown`` with the reason when the principal cannot be evaluated
    (a policy is malformed, a bound profile's parameter has no value)."""
    try:
        return check_principal(
            snapshot.principal(arn),
            profile,
            scps,
            resources=resources.policies,
            rcps=resources.rcps,
            parameters=resources.parameters,
            org_id=resources.org_id,
            org_paths=resources.org_paths,
        )
    except InputError as failure:
        return unknown_check(arn, profile.name, str(failure), profile.actions)


def tagged_checks(
    snapshot: AccountSnapshot,
    arn: str,
    value: str,
    *,
    tag_key: str,
    registry: ProfileRegistry,
    scps: ScpLevels | None,
    resources: ResourceInputs = NO_RESOURCE_INPUTS,
) -> list[PrincipalCheck]:
    """One check per profile the watch tag value names; an unusable tag or name is an unknown row."""
    try:
        names = profile_names_from_tag(value)
    except InputError as failure:
        return [unknown_check(arn, INVALID_TAG, f"watch tag {tag_key}={value!r}: {failure}")]
    checks: list[PrincipalCheck] = []
    for name in names:
        try:
            profile = registry.get(name)
        except InputError as failure:
            error = f"watch tag {tag_key}={value!r} names an unknown profile: {failure}"
            checks.append(unknown_check(arn, name, error))
            continue
        checks.append(check_profile(snapshot, arn, profile, scps, resources))
    return checks


def collect_checks(
    snapshot: AccountSnapshot,
    registry: ProfileRegistry,
    tag_key: str,
    scps: ScpLevels | None = None,
    resources: ResourceInputs = NO_RESOURCE_INPUTS,
) -> list[PrincipalCheck]:
    """One check per tagged principal and profile, in the snapshot's order."""
    checks: list[PrincipalCheck] = []
    for arn in snapshot.principal_arns():
        value = tag_value(snapshot.tags_of(arn), tag_key)
        if value is not None:
            checks.extend(
                tagged_checks(
                    snapshot, arn, value, tag_key=tag_key, registry=registry, scps=scps, resources=resources
                )
            )
    return checks


def resource_inputs(args: argparse.Namespace, snapshot: AccountSnapshot) -> ResourceInputs:
    """``--resource-policies``, ``--rcps`` (the RCP levels of the snapshot's account) and ``--param``.

    On a live account (no ``--auth-details``) without ``--resource-policies``, the bucket and key
    policies are read from the account as the watcher reads them."""
    from restorewatch.profiles import parse_param_options
    from restorewatch_cli.inputs import live_resource_policies, read_org, read_rcps, read_resource_policies

    rcps = read_rcps(args.rcps)
    account = snapshot.account_id
    org_id, org_paths = read_org(args.org_id, args.org_path)
    live = args.resource_policies is None and not getattr(args, "auth_details", None) and account
    return ResourceInputs(
        policies=(
            live_resource_policies(getattr(args, "endpoint_url", None), account)
            if live
            else read_resource_policies(args.resource_policies)
        ),
        rcps={account: rcps} if rcps is not None and account else {},
        parameters=parse_param_options(args.param),
        org_id=org_id,
        org_paths=org_paths,
    )


def require_known_params(resources: ResourceInputs, profiles: Iterable[Profile]) -> None:
    """A ``--param`` that no checked profile declares is a typo, not a value to ignore."""
    declared = {name.casefold() for profile in profiles for name in profile.parameters}
    for name in resources.parameters:
        if name.casefold() not in declared:
            known = ", ".join(sorted({n for profile in profiles for n in profile.parameters})) or "none"
            raise InputError(
                f"--param {name}: no checked profile has a parameter of that name (parameters: {known})"
            )
