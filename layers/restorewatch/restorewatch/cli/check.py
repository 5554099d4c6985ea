"""`restorewatch check`: can each watched principal still do every action of its profile(s)?"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from restorewatch.cli.inputs import add_snapshot_arguments, read_scps, require_principal, snapshot_from_args
from restorewatch.cli.output import render_check_json, render_check_table, use_colour
from restorewatch.compliance import ComplianceStatus, check_principal
from restorewatch.errors import InputError, ProfileError
from restorewatch.profiles import (
    DEFAULT_TAG_KEY,
    ProfileRegistry,
    load_profile_file,
    make_profile,
    profile_names_from_tag,
    tag_value,
)

if TYPE_CHECKING:
    import argparse

    from restorewatch.cli.app import Subparsers
    from restorewatch.compliance import PrincipalCheck
    from restorewatch.engine import AccountSnapshot
    from restorewatch.profiles import Profile

__all__ = ["register", "run"]

ADHOC_PROFILE = "adhoc"


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check principals against their restore profiles",
        description="Check that each watched user and role can still perform every action of its "
        "profile(s). Without --principal, every user and role carrying the watch tag is checked "
        "against the profile(s) its tag names.",
    )
    add_snapshot_arguments(parser)
    parser.add_argument(
        "--principal", action="append", metavar="ARN", help="check this user or role (repeatable)"
    )
    requirement = parser.add_mutually_exclusive_group()
    requirement.add_argument("--profile", metavar="NAME", help="require this profile instead of the tag's")
    requirement.add_argument(
        "--profile-file", metavar="FILE", help="require the profile(s) of this JSON or YAML file"
    )
    requirement.add_argument(
        "--action",
        action="extend",
        nargs="+",
        metavar="ACTION",
        help=f"require these actions (an ad-hoc profile named {ADHOC_PROFILE!r})",
    )
    parser.add_argument(
        "--profile-path",
        action="append",
        default=[],
        metavar="PATH",
        help="extra profile file or directory of files, for the names in tags and --profile (repeatable)",
    )
    parser.add_argument(
        "--tag-key", default=DEFAULT_TAG_KEY, help=f"the watch tag key (default {DEFAULT_TAG_KEY})"
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(handler=run)


def _override(args: argparse.Namespace, registry: ProfileRegistry) -> tuple[Profile, ...] | None:
    """The profiles that --profile, --profile-file or --action require of every principal, if any."""
    if args.profile is not None:
        return (registry.get(args.profile),)
    if args.profile_file is not None:
        return tuple(load_profile_file(args.profile_file))
    if args.action:
        return (make_profile(ADHOC_PROFILE, args.action, source="--action"),)
    return None


def _tagged_profiles(
    snapshot: AccountSnapshot, arn: str, tag_key: str, registry: ProfileRegistry
) -> tuple[Profile, ...] | None:
    """The profiles the watch tag of ``arn`` names; None when it has no such tag."""
    value = tag_value(snapshot.tags_of(arn), tag_key)
    if value is None:
        return None
    try:
        return tuple(registry.get(name) for name in profile_names_from_tag(value))
    except ProfileError as exc:
        raise ProfileError(f"principal {arn}: tag {tag_key}={value!r}: {exc}") from None


def _targets(
    args: argparse.Namespace, snapshot: AccountSnapshot, registry: ProfileRegistry
) -> list[tuple[str, tuple[Profile, ...]]]:
    """Which principals to check against which profiles; every input error is raised up front."""
    override = _override(args, registry)
    targets: list[tuple[str, tuple[Profile, ...]]] = []
    if args.principal:
        for arn in dict.fromkeys(args.principal):
            require_principal(snapshot, arn)
            profiles = override or _tagged_profiles(snapshot, arn, args.tag_key, registry)
            if profiles is None:
                raise InputError(
                    f"principal {arn} has no {args.tag_key!r} tag; say what it needs with --profile, "
                    "--profile-file or --action"
                )
            targets.append((arn, profiles))
        return targets
    for arn in snapshot.principal_arns():
        if override is not None:
            # The override replaces what the tag requires: the tag only selects the principal (and
            # a tag naming an unknown profile is then no reason to stop).
            if tag_value(snapshot.tags_of(arn), args.tag_key) is not None:
                targets.append((arn, override))
            continue
        tagged = _tagged_profiles(snapshot, arn, args.tag_key, registry)
        if tagged is not None:
            targets.append((arn, tagged))
    return targets


def run(args: argparse.Namespace) -> int:
    snapshot = snapshot_from_args(args)
    scps = read_scps(args.scps)
    registry = ProfileRegistry.default(args.profile_path)
    checks: dict[tuple[str, str], PrincipalCheck] = {}
    for arn, profiles in _targets(args, snapshot, registry):
        principal = snapshot.principal(arn)
        for profile in profiles:
            # keyed on the snapshot's ARN: --principal may spell the same ARN in another case
            if (principal.arn, profile.name) not in checks:
                checks[principal.arn, profile.name] = check_principal(principal, profile, scps)
    ordered = [checks[key] for key in sorted(checks)]
    if args.format == "json":
        text = render_check_json(ordered)
    else:
        text = render_check_table(
            ordered,
            colour=use_colour(sys.stdout),
            empty_note=f"No principal to check: no user or role has the {args.tag_key!r} tag.",
        )
    print(text)
    return 0 if all(check.status is ComplianceStatus.COMPLIANT for check in ordered) else 1
