"""`restorewatch report`: the status of every watched principal as one self-contained HTML page."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from restorewatch.cli.inputs import add_snapshot_arguments, read_scps, snapshot_from_args
from restorewatch.compliance import ComplianceStatus, check_principal, unknown_check
from restorewatch.errors import InputError
from restorewatch.profiles import DEFAULT_TAG_KEY, ProfileRegistry, profile_names_from_tag, tag_value

if TYPE_CHECKING:
    import argparse

    from restorewatch.cli.app import Subparsers
    from restorewatch.compliance import PrincipalCheck
    from restorewatch.engine import AccountSnapshot, ScpLevels

__all__ = ["collect_checks", "register", "run"]


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write the status of every watched principal as one HTML page",
        description="Check every user and role carrying the watch tag against the profile(s) its tag "
        "names, and write the result as one self-contained HTML page (summary, then a principal x "
        "action matrix that sorts, filters and prints). Without --auth-details, the live account is read.",
    )
    add_snapshot_arguments(parser)
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
    parser.set_defaults(handler=run)


def collect_checks(
    snapshot: AccountSnapshot, registry: ProfileRegistry, tag_key: str, scps: ScpLevels | None = None
) -> list[PrincipalCheck]:
    """One check per tagged principal and profile; a tag the watcher cannot use is an ``unknown`` row
    (the page shows it) rather than an error (the page would not be written)."""
    checks: list[PrincipalCheck] = []
    for arn in snapshot.principal_arns():
        value = tag_value(snapshot.tags_of(arn), tag_key)
        if value is None:
            continue
        try:
            names = profile_names_from_tag(value)
        except InputError as failure:
            checks.append(unknown_check(arn, "(invalid tag)", f"watch tag {tag_key}={value!r}: {failure}"))
            continue
        for name in names:
            try:
                profile = registry.get(name)
            except InputError as failure:
                checks.append(unknown_check(arn, name, f"the watch tag names an unknown profile: {failure}"))
                continue
            try:
                checks.append(check_principal(snapshot.principal(arn), profile, scps))
            except InputError as failure:
                checks.append(unknown_check(arn, name, str(failure), profile.actions))
    return checks


def run(args: argparse.Namespace) -> int:
    # the page's renderer (and its CSS and JS) is loaded only for this subcommand: `check` starts faster
    from restorewatch.report import render_report

    snapshot = snapshot_from_args(args)
    scps = read_scps(args.scps)
    registry = ProfileRegistry.default(args.profile_path)
    checks = collect_checks(snapshot, registry, args.tag_key, scps)
    source = "from " + (", ".join(args.auth_details) if args.auth_details else "the live account")
    page = render_report(checks, generated_at=datetime.now(UTC), title=args.title, source=source)
    out = Path(args.html)
    out.write_text(page, encoding="utf-8")
    compliant = sum(1 for check in checks if check.status is ComplianceStatus.COMPLIANT)
    print(f"wrote {out} ({len(checks)} checked, {compliant} compliant)")
    return 0
