"""The checks `check` and `report` print: one per watched principal and profile.

A principal that cannot be checked (its tag names no profile, or one nobody defined; a policy it
uses is malformed or missing from the snapshot) is an ``unknown`` row that says why, and every other
principal is still checked: one bad principal must not hide the state of the rest. The watcher does
the same (``watch.context.RunContext``), so the CLI and the alerts agree on what ``unknown`` means.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restorewatch.compliance import check_principal, unknown_check
from restorewatch.errors import InputError
from restorewatch.profiles import profile_names_from_tag, tag_value

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from restorewatch.compliance import PrincipalCheck
    from restorewatch.engine import AccountSnapshot, ScpLevels
    from restorewatch.profiles import Profile, ProfileRegistry

__all__ = [
    "INVALID_TAG",
    "add_allow_empty_argument",
    "check_profile",
    "collect_checks",
    "require_watched",
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


def check_profile(
    snapshot: AccountSnapshot, arn: str, profile: Profile, scps: ScpLevels | None
) -> PrincipalCheck:
    """``arn`` against ``profile``; ``unknown`` with the reason when the principal cannot be evaluated."""
    try:
        return check_principal(snapshot.principal(arn), profile, scps)
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
        checks.append(check_profile(snapshot, arn, profile, scps))
    return checks


def collect_checks(
    snapshot: AccountSnapshot, registry: ProfileRegistry, tag_key: str, scps: ScpLevels | None = None
) -> list[PrincipalCheck]:
    """One check per tagged principal and profile, in the snapshot's order."""
    checks: list[PrincipalCheck] = []
    for arn in snapshot.principal_arns():
        value = tag_value(snapshot.tags_of(arn), tag_key)
        if value is not None:
            checks.extend(tagged_checks(snapshot, arn, value, tag_key=tag_key, registry=registry, scps=scps))
    return checks
