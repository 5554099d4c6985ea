"""`restorewatch what-if`: would this Terraform plan or CloudFormation change break a restore?

The planned IAM changes are laid over the account (``--auth-details`` files, or the live account)
and every watched principal they touch is checked before and after, as the watcher would after
the change: what it would lose, what would become partial, what it would regain, with the alert's
explanations and fix hints. Exit 1 when a watched principal would lose or degrade a required
action, be deleted or unwatched, or when an answer is unknown (never a pass); 0 otherwise; 2 on bad
input.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import TYPE_CHECKING, Any

from restorewatch.engine import AccountSnapshot, account_of, parse_scps
from restorewatch.errors import InputError, ReadError
from restorewatch.profiles import DEFAULT_TAG_KEY, ProfileRegistry, tag_value
from restorewatch_cli.checks import add_allow_empty_argument
from restorewatch_cli.inputs import add_snapshot_arguments, read_json, read_scp_levels, snapshot_from_args

if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping, Sequence

    from restorewatch_cli.app import Subparsers
    from restorewatch_cli.whatif import Change, WhatIfReport, WhatIfRow

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "what-if",
        help="would a Terraform plan or CloudFormation change break a restore?",
        description="Lay the IAM changes of a Terraform plan, a CloudFormation (or SAM) template or a "
        "change set over the account, and report every watched principal they touch: what it would "
        "lose, what would become partial, what it would regain. Exit 1 if a watched principal would "
        "lose or degrade a required action, be deleted or unwatched, or if an answer is unknown; 0 "
        "otherwise; 2 on bad input.",
    )
    add_snapshot_arguments(parser)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--terraform-plan", metavar="PLAN.json", help="the JSON of `terraform show -json PLANFILE`"
    )
    source.add_argument(
        "--template", metavar="TEMPLATE", help="a CloudFormation or SAM template (JSON or YAML)"
    )
    source.add_argument(
        "--change-set",
        metavar="NAME",
        help="a CloudFormation change set of --stack-name, read live (DescribeChangeSet)",
    )
    parser.add_argument(
        "--stack-name",
        metavar="NAME",
        help="the stack the template or change set updates (read live: its resources and template)",
    )
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a template parameter value (repeatable)",
    )
    parser.add_argument(
        "--profile-path",
        action="append",
        default=[],
        metavar="PATH",
        help="extra profile file or directory of files, for the names in watch tags (repeatable)",
    )
    parser.add_argument(
        "--tag-key", default=DEFAULT_TAG_KEY, help=f"the watch tag key (default {DEFAULT_TAG_KEY})"
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    add_allow_empty_argument(parser)
    parser.set_defaults(handler=run)


def _parameters(pairs: Sequence[str]) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise InputError(f"--parameter {pair!r} is not KEY=VALUE")
        parameters[key] = value
    return parameters


def _account_id(args: argparse.Namespace, snapshot: AccountSnapshot) -> str:
    """The account's id: from its principals or policies, else (live) from STS."""
    if snapshot.account_id:
        return snapshot.account_id
    for arn in snapshot.policies:
        account = account_of(arn)
        if account.isdigit():
            return account
    if args.auth_details:
        return ""
    from botocore.exceptions import BotoCoreError, ClientError

    from restorewatch.inventory import make_client

    try:
        return str(make_client("sts", endpoint_url=args.endpoint_url).get_caller_identity()["Account"])
    except (BotoCoreError, ClientError) as exc:
        raise ReadError("GetCallerIdentity", None, type(exc).__name__, str(exc)) from None


def _fetch_missing(args: argparse.Namespace, snapshot: AccountSnapshot, missing: set[str]) -> AccountSnapshot:
    """The live account's managed policies that a planned change attaches and nobody used before."""
    from restorewatch.inventory import IamReader, iam_client

    reader = IamReader(iam_client(args.endpoint_url))
    fetched: dict[str, Mapping[str, Any]] = {}
    for arn in sorted(missing):
        try:
            fetched[arn] = reader.managed_policy(arn)
        except ReadError as failure:  # the row that uses it says it is missing
            print(f"restorewatch: note: {failure}", file=sys.stderr)
    policies = {**snapshot.policies, **fetched}
    return AccountSnapshot(snapshot.users, snapshot.roles, snapshot.groups, policies)


def _changes(args: argparse.Namespace, snapshot: AccountSnapshot, account: str) -> list[Change]:
    if args.parameter and args.template is None:
        raise InputError("--parameter applies only to --template")
    if args.terraform_plan is not None:
        if args.stack_name is not None:
            raise InputError("--stack-name applies only to --template and --change-set")
        from restorewatch_cli.whatif.terraform import plan_changes

        plan = read_json(args.terraform_plan, "Terraform plan")
        return plan_changes(plan, origin=args.terraform_plan, account=account)
    from restorewatch_cli.whatif.cloudformation import change_set_changes, template_changes

    if args.change_set is not None:
        if args.stack_name is None:
            raise InputError("--change-set needs --stack-name (the stack the change set belongs to)")
        return change_set_changes(
            args.change_set,
            args.stack_name,
            snapshot=snapshot,
            endpoint_url=args.endpoint_url,
            account=account,
        )
    return template_changes(
        args.template,
        snapshot=snapshot,
        parameters=_parameters(args.parameter),
        stack_name=args.stack_name,
        endpoint_url=args.endpoint_url,
        account=account,
    )


def _require_watched(snapshot: AccountSnapshot, rows: Sequence[WhatIfRow], tag_key: str) -> None:
    """A wrong --tag-key must not pass every plan: the account must watch someone."""
    if rows or any(
        tag_value(snapshot.tags_of(arn), tag_key) is not None for arn in snapshot.principal_arns()
    ):
        return
    count = len(snapshot.principal_arns())
    raise InputError(
        f"no watched principal (tag key {tag_key!r}): none of the {count} users and roles read "
        "carries it; check --tag-key and the account, or pass --allow-empty if none is expected"
    )


def _verdict(row: WhatIfRow) -> str:
    if row.kind is not None:
        return row.kind.value
    if row.after == "unknown":
        return "UNKNOWN"
    if row.before is None:
        return "NEW"  # newly watched, and fine
    return "IMPROVED" if row.restored else "no change"


def render_table(report: WhatIfReport) -> str:
    rows = report.rows
    unchanged = (
        f"{report.unchanged} more watched principal(s) touched by the change, every answer unchanged."
        if report.unchanged
        else ""
    )
    if not rows:
        return unchanged or "No watched principal is touched by the planned IAM changes."
    header = ("IF APPLIED", "PRINCIPAL", "PROFILE", "BEFORE -> AFTER")
    cells = [
        (_verdict(row), row.arn, row.profile, f"{row.before or '(not watched)'} -> {row.after}")
        for row in rows
    ]
    widths = [max(len(cell[column]) for cell in [header, *cells]) for column in range(3)]
    lines = [
        "  ".join(title.ljust(width) for title, width in zip(header, [*widths, 0], strict=True)).rstrip()
    ]
    for row, cell in zip(rows, cells, strict=True):
        lines.append(
            "  ".join(value.ljust(width) for value, width in zip(cell, [*widths, 0], strict=True)).rstrip()
        )
        listed = (
            ("lost", row.lost),
            ("degraded", row.degraded),
            ("unknown", row.unknown),
            ("restored", row.restored),
        )
        for title, actions in listed:
            if actions:
                lines.append(f"    {title}: {', '.join(actions)}")
        if row.headline and row.kind is not None and row.blocks:
            lines.append(f"    {row.headline}")
        if row.reasons:
            lines.append("    why:")
            lines += [f"      {line}" if line else "" for line in row.reasons]
        if row.fix:
            lines.append("    how to fix:")
            lines += [f"      {line}" if line else "" for line in row.fix]
    counts = Counter(_verdict(row) for row in rows)
    summary = ", ".join(f"{count} {verdict}" for verdict, count in sorted(counts.items()))
    blocking = sum(row.blocks for row in rows)
    from restorewatch.catalog import default_catalog

    # as `check` says it: the answers depend on the catalog's view of each action
    lines += ["", f"AWS action catalog: {default_catalog().catalog_version()}"]
    lines.append(f"{len(rows)} watched principal-profile pairs changed ({summary}); {blocking} would block.")
    if unchanged:
        lines.append(unchanged)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    # imported here: the other subcommands start without the what-if modules
    from restorewatch_cli.whatif import apply_changes, compare, missing_policies

    snapshot = snapshot_from_args(args)
    scp_levels = read_scp_levels(args.scps)
    before_scps = parse_scps(scp_levels)
    registry = ProfileRegistry.default(args.profile_path)
    account = _account_id(args, snapshot)
    changes = _changes(args, snapshot, account)
    after = apply_changes(snapshot, changes, scp_levels=scp_levels, tag_key=args.tag_key, account=account)
    missing = missing_policies(after)
    if missing and not args.auth_details:
        snapshot = _fetch_missing(args, snapshot, missing)
        after = apply_changes(snapshot, changes, scp_levels=scp_levels, tag_key=args.tag_key, account=account)
    report = compare(snapshot, before_scps, after, registry=registry, tag_key=args.tag_key)
    if not args.allow_empty:
        _require_watched(snapshot, report.rows, args.tag_key)
    for note in after.notes:
        print(f"restorewatch: note: {note}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps({"principals": [row.as_dict() for row in report.rows]}, indent=2))
    else:
        print(render_table(report))
    return 1 if report.blocks else 0
