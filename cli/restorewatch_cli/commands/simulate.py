"""`restorewatch simulate`: AWS's decision for one concrete request, with its explanation."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from restorewatch.engine import decide_request, policy_holder
from restorewatch.engine.model import RequestDecision
from restorewatch.engine.resources import key_policy_required
from restorewatch.errors import InputError
from restorewatch_cli.inputs import (
    add_snapshot_arguments,
    parse_context,
    read_rcps,
    read_resource_policy,
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
_ACCOUNT = re.compile(r"^\d{12}$")


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="decide one request as AWS would",
        description="Decide one request (principal, action, resource, context) as AWS would and "
        "explain the decision, with the resource's own policy (--resource-policy) and the RCPs of its "
        "account (--rcps) when given. Exit 0 when allowed, 1 when denied.",
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
    parser.add_argument(
        "--resource-policy",
        metavar="FILE",
        help="the policy of the request's resource (its bucket's policy, its key policy): a policy document, "
        "or the output of `aws s3api get-bucket-policy` / `aws kms get-key-policy`; required for a KMS key",
    )
    parser.add_argument(
        "--resource-account",
        metavar="ACCOUNT",
        help="the account that owns the resource when its ARN does not say (an S3 bucket); default: the "
        "principal's",
    )
    parser.add_argument(
        "--rcps",
        metavar="FILE",
        help="the RCP levels of the resource's account, root first, as --scps (RCPFullAWSAccess included)",
    )
    parser.add_argument("--format", choices=("json",), default="json")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    action: str = args.action
    if not _ACTION.match(action):
        raise InputError(f"--action {action!r} is not one concrete action of the form service:ActionName")
    context = parse_context(args.context)
    if args.resource_account is not None and not _ACCOUNT.match(args.resource_account):
        raise InputError(f"--resource-account {args.resource_account!r} is not a 12-digit account ID")
    resource_policy = (
        read_resource_policy(args.resource_policy, args.resource, args.resource_account)
        if args.resource_policy is not None
        else None
    )
    holder = policy_holder(args.resource)
    if resource_policy is None and holder is not None and key_policy_required(holder):
        raise InputError(
            f"{args.resource} is a KMS key: its key policy decides too, give it with --resource-policy FILE "
            "(aws kms get-key-policy --key-id ... --policy-name default)"
        )
    if resource_policy is None and args.resource_account is not None:
        raise InputError(
            "--resource-account needs --resource-policy (another account's resource needs its policy)"
        )
    rcps = read_rcps(args.rcps)
    snapshot = snapshot_from_args(args)
    scps = read_scps(args.scps)
    require_principal(snapshot, args.principal)
    principal = snapshot.principal(args.principal)
    catalog = None
    if rcps is not None:
        from restorewatch.catalog import default_catalog

        catalog = default_catalog()
    result = decide_request(
        principal,
        action,
        args.resource,
        context,
        scps,
        resource_policy=resource_policy,
        rcps=rcps,
        catalog=catalog,
    )
    print(render_request_json(result))
    return 0 if result.decision is RequestDecision.ALLOWED else 1
