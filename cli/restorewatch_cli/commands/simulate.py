"""`restorewatch simulate`: AWS's decision for one concrete request, with its explanation."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from restorewatch.engine import decide_request
from restorewatch.engine.model import RequestDecision
from restorewatch.errors import InputError
from restorewatch_cli.inputs import (
    add_snapshot_arguments,
    parse_context,
    read_scps,
    require_principal,
    snapshot_from_args,
)
from restorewatch_cli.output import render_request_json

if TYPE_CHECKING:
    import argparse

    from restorewatch_cli.app import Subparsers

__all__ = ["register", "run"]

# A request is for one concrete action; AWS compares action names case-insensitively.
_ACTION = re.compile(r"^[A-Za-z0-9-]+:[A-Za-z0-9]+$")


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="decide one request as AWS would",
        description="Decide one request (principal, action, resource, context) as AWS would and "
        "explain the decision. Exit 0 when allowed, 1 when denied.",
    )
    add_snapshot_arguments(parser)
    parser.add_argument("--principal", required=True, metavar="ARN")
    parser.add_argument("--action", required=True, metavar="ACTION")
    parser.add_argument("--resource", default="*", metavar="ARN", help="resource ARN (default: *)")
    parser.add_argument(
        "--context",
        metavar="JSON|@FILE",
        help='request context keys, e.g. \'{"aws:SourceIp": "203.0.113.5"}\', or @FILE holding them',
    )
    parser.add_argument("--format", choices=("json",), default="json")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    action: str = args.action
    if not _ACTION.match(action):
        raise InputError(f"--action {action!r} is not one concrete action of the form service:ActionName")
    context = parse_context(args.context)
    snapshot = snapshot_from_args(args)
    scps = read_scps(args.scps)
    require_principal(snapshot, args.principal)
    principal = snapshot.principal(args.principal)
    result = decide_request(principal, action, args.resource, context, scps)
    print(render_request_json(result))
    return 0 if result.decision is RequestDecision.ALLOWED else 1
