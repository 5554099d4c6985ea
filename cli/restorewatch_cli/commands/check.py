"""`restorewatch check`: can each watched principal still do every action of its profile(s)?"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from restorewatch.compliance import ComplianceStatus
from restorewatch.errors import InputError
from restorewatch.profiles import DEFAULT_TAG_KEY, ProfileRegistry, load_profile_file, make_profile, tag_value
from restorewatch_cli.checks import (
    add_allow_empty_argument,
    check_profile,
    require_known_params,
    require_watched,
    resource_inputs,
    tagged_checks,
)
from restorewatch_cli.inputs import (
    add_resource_arguments,
    add_snapshot_arguments,
    read_scps,
    require_principal,
    snapshot_from_args,
)
from restorewatch_cli.output import render_check_json, render_check_table, use_colour

if TYPE_CHECKING:
    import argparse

    from restorewatch.compliance import PrincipalCheck
    from restorewatch.engine import AccountSnapshot
    from restorewatch.profiles import Profile
    from restorewatch_cli.app import Subparsers

__all__ = ["register", "run"]

ADHOC_PROFILE = "adhoc"


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check principals against their restore profiles",
        description="Check that each watched user and role can still perform every action of its "
        "profile(s). Without --principal, every user and role carrying the watch tag is checked "
        "against the profile(s) its tag names. A profile that binds actions to a bucket or key takes its "
        "parameters from the principal's restorewatch:param:<Name> tags (or --param) and weighs the "
        "resource's policy (--resource-policies) and RCPs (--rcps). Exit 0 when every check is compliant, "
        "1 otherwise (unknown included), 2 on bad input or when no principal carries the watch tag (unless "
        "--allow-empty).",
    )
    add_snapshot_arguments(parser)
    add_resource_arguments(parser)
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
    add_allow_empty_argument(parser)
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


def _selected(
    args: argparse.Namespace, snapshot: AccountSnapshot, override: tuple[Profile, ...] | None
) -> list[tuple[str, str | None]]:
    """The principals to check with their watch tag values; a --principal that cannot be checked is
    an input error, raised before anything is evaluated."""
    if not args.principal:
        tagged = ((arn, tag_value(snapshot.tags_of(arn), args.tag_key)) for arn in snapshot.principal_arns())
        return [(arn, value) for arn, value in tagged if value is not None]
    selected: dict[tuple[str, str | None], None] = {}
    for given in args.principal:
        arn = require_principal(snapshot, given)  # as the snapshot spells it: one row per principal
        value = tag_value(snapshot.tags_of(arn), args.tag_key)
        if value is None and override is None:
            raise InputError(
                f"principal {given} has no {args.tag_key!r} tag; say what it needs with --profile, "
                "--profile-file or --action"
            )
        selected[arn, value] = None
    return list(selected)


def run(args: argparse.Namespace) -> int:
    snapshot = snapshot_from_args(args)
    scps = read_scps(args.scps)
    resources = resource_inputs(args, snapshot)
    registry = ProfileRegistry.default(args.profile_path)
    override = _override(args, registry)
    require_known_params(resources, override if override is not None else registry.profiles.values())
    checks: list[PrincipalCheck] = []
    for arn, value in _selected(args, snapshot, override):
        if override is not None:
            # The override replaces what the tag requires: the tag only selects the principal (and
            # a tag naming an unknown profile is then no reason for an unknown row).
            checks.extend(check_profile(snapshot, arn, profile, scps, resources) for profile in override)
        elif value is not None:
            checks.extend(
                tagged_checks(
                    snapshot,
                    arn,
                    value,
                    tag_key=args.tag_key,
                    registry=registry,
                    scps=scps,
                    resources=resources,
                )
            )
    require_watched(checks, snapshot, args.tag_key, allow_empty=args.allow_empty)
    ordered = sorted(checks, key=lambda check: (check.arn, check.profile))
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
