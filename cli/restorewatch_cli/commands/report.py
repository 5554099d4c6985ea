"""`restorewatch report`: the status of every watched principal as one self-contained HTML page."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from restorewatch.compliance import ComplianceStatus
from restorewatch.profiles import DEFAULT_TAG_KEY, ProfileRegistry
from restorewatch_cli.checks import (
    add_allow_empty_argument,
    collect_checks,
    require_known_params,
    require_watched,
    resource_inputs,
)
from restorewatch_cli.inputs import (
    add_resource_arguments,
    add_snapshot_arguments,
    read_scps,
    snapshot_from_args,
)

if TYPE_CHECKING:
    import argparse

    from restorewatch_cli.app import Subparsers

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write the status of every watched principal as one HTML page",
        description="Check every user and role carrying the watch tag against the profile(s) its tag "
        "names, and write the result as one self-contained HTML page (summary, then a principal x "
        "action matrix that sorts, filters and prints). Without --auth-details, the live account is read. "
        "Bound profiles take their parameters from the principals' restorewatch:param:<Name> tags.",
    )
    add_snapshot_arguments(parser)
    add_resource_arguments(parser)
    parser.add_argument("--html", required=True, metavar="OUT.html", help="the page to write")
    parser.add_argument(
        "--profile-path",
        action="append",
        default=[],
        metavar="PATH",
        help="extra profile file or directory of files, for the names in tags (repeatable)",
    )
    parser.add_argument(
        "--tag-key", default=DEFAULT_TAG_KEY, help=f"the watch tag key (default {DEFAULT_TAG_KEY})"
    )
    parser.add_argument("--title", default="RestoreWatch status report", help="the page's title")
    add_allow_empty_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # the page's renderer (and its CSS and JS) is loaded only for this subcommand: `check` starts faster
    from restorewatch.report import render_report

    snapshot = snapshot_from_args(args)
    scps = read_scps(args.scps)
    resources = resource_inputs(args, snapshot)
    registry = ProfileRegistry.default(args.profile_path)
    require_known_params(resources, registry.profiles.values())
    checks = collect_checks(snapshot, registry, args.tag_key, scps, resources)
    require_watched(checks, snapshot, args.tag_key, allow_empty=args.allow_empty)
    source = "from " + (", ".join(args.auth_details) if args.auth_details else "the live account")
    page = render_report(checks, generated_at=datetime.now(UTC), title=args.title, source=source)
    out = Path(args.html)
    out.write_text(page, encoding="utf-8")
    compliant = sum(1 for check in checks if check.status is ComplianceStatus.COMPLIANT)
    print(f"wrote {out} ({len(checks)} checked, {compliant} compliant)")
    return 0
