"""Reading the CLI's inputs: auth-details pages, the SCP and RCP files, resource policies, a request
context and ``--param`` values.

Every failure becomes an ``InputError`` whose message names the file and what is wrong with it,
so that the CLI can print one line and exit 2.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from restorewatch.engine import (
    AccountSnapshot,
    ResourcePolicies,
    ResourcePolicy,
    parse_rcps,
    parse_resource_policy,
    parse_scps,
    policy_holder,
    resource_policies_from_json,
)
from restorewatch.engine.jsontext import load_json
from restorewatch.engine.resources import key_policy_required
from restorewatch.errors import InputError, SnapshotError, UnknownPrincipalError

if TYPE_CHECKING:
    import argparse

    from restorewatch.engine import RcpLevels, ScpLevels

__all__ = [
    "add_resource_arguments",
    "add_snapshot_arguments",
    "load_live_snapshot",
    "parse_context",
    "read_auth_details",
    "read_json",
    "read_org",
    "read_rcps",
    "read_resource_policies",
    "read_resource_policy",
    "read_scp_levels",
    "read_scps",
    "require_principal",
    "snapshot_from_args",
]

_AUTH_DETAILS_KEYS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")


def add_snapshot_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every subcommand that reads an account shares."""
    parser.add_argument(
        "--auth-details",
        nargs="+",
        metavar="FILE",
        help="output of `aws iam get-account-authorization-details` (several pages: several files)",
    )
    parser.add_argument(
        "--scps",
        metavar="FILE",
        help="JSON list of SCP levels from the organization root to the account, "
        "each a list of SCP documents (null: no SCPs)",
    )
    parser.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="without --auth-details, read the live account through this endpoint "
        "(default: AWS, or $AWS_ENDPOINT_URL)",
    )


def add_resource_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the resource side (profiles that bind actions to buckets and keys)."""
    parser.add_argument(
        "--resource-policies",
        metavar="FILE",
        help="JSON object mapping a resource ARN (bucket arn:aws:s3:::name, key arn:aws:kms:region:account:"
        "key/id) to its policy document: a bucket missing from it has no bucket policy, a key missing from "
        "it is unknown (without the file: read from the live account, as the watcher reads them; with "
        "--auth-details, every bound action is unknown)",
    )
    parser.add_argument(
        "--rcps",
        metavar="FILE",
        help="JSON list of RCP levels from the organization root to the account, each a list of RCP "
        "documents (RCPFullAWSAccess included), as --scps (null: no RCPs)",
    )
    parser.add_argument(
        "--org-id",
        metavar="o-...",
        help="the AWS Organizations organization of the account: decides conditions on aws:PrincipalOrgID "
        "(as in the usual RCP and bucket policy perimeter); without it they are conditions (partial)",
    )
    parser.add_argument(
        "--org-path",
        metavar="PATH",
        help="with --org-id, the account's path in it (o-.../r-.../ou-.../), for aws:PrincipalOrgPaths",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a bound profile's parameter for every checked principal, over its restorewatch:param:NAME "
        "tag (repeatable)",
    )


def _load_without_gc(text: str) -> object:
    """``json.loads`` with the cyclic collector paused, then its result frozen out of it.

    A snapshot of a large account is a million small containers with no cycles; left alone, the
    collector re-scans them all again and again while the engine works (about 15% of a check).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        data = load_json(text)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
    return data


def read_json(path: str, what: str) -> object:
    """Parse the JSON file ``path``; ``what`` names it in error messages ("SCP file")."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"cannot read {what} {path}: not UTF-8 text") from None
    try:
        return _load_without_gc(text)
    except ValueError as exc:
        raise InputError(f"{what} {path} is not valid JSON: {exc}") from None


def read_auth_details(paths: list[str]) -> AccountSnapshot:
    """Merge the pages of ``get-account-authorization-details`` output (one page or a list per file)."""
    pages: list[Mapping[str, object]] = []
    for path in paths:
        data = read_json(path, "auth details file")
        file_pages = data if isinstance(data, list) else [data]
        for page in file_pages:
            if not isinstance(page, Mapping):
                raise InputError(
                    f"auth details file {path} is not an object (or list of objects) as printed by "
                    "`aws iam get-account-authorization-details`"
                )
            if not any(key in page for key in _AUTH_DETAILS_KEYS):
                raise InputError(
                    f"auth details file {path} has none of {', '.join(_AUTH_DETAILS_KEYS)}; expected the "
                    "output of `aws iam get-account-authorization-details`"
                )
            pages.append(page)
    try:
        return AccountSnapshot.from_pages(pages)
    except SnapshotError as exc:  # its page numbers count across the files, in the order given
        raise SnapshotError(f"auth details {' '.join(paths)}: {exc}") from None


def load_live_snapshot(endpoint_url: str | None) -> AccountSnapshot:
    """Read the account itself: ``GetAccountAuthorizationDetails``, every page, with the default
    credential chain (a failed read raises ``ReadError``, which the CLI reports as exit 2)."""
    from restorewatch.inventory import IamReader, iam_client

    return AccountSnapshot.from_pages(IamReader(iam_client(endpoint_url)).account_pages())


def snapshot_from_args(args: argparse.Namespace) -> AccountSnapshot:
    paths: list[str] | None = args.auth_details
    if paths:
        return read_auth_details(paths)
    return load_live_snapshot(getattr(args, "endpoint_url", None))


def read_scps(path: str | None) -> ScpLevels | None:
    """The SCP levels of ``path`` (root first), or None without a file or when it holds null."""
    return parse_scps(read_scp_levels(path))


def read_scp_levels(path: str | None, word: str = "SCP") -> list[list[object]] | None:
    """The SCP (or RCP) file's levels as written (root first), checked; None without a file or for null."""
    if path is None:
        return None
    data = read_json(path, f"{word} file")
    if data is None:
        return None
    if not isinstance(data, list):
        raise InputError(
            f"{word} file {path} must hold a list of levels (root first), each a list of {word} documents"
        )
    for number, level in enumerate(data):
        if not isinstance(level, list):
            raise InputError(f"{word} file {path}: level {number} is not a list of {word} documents")
        for position, document in enumerate(level):
            if not isinstance(document, Mapping | str):
                raise InputError(
                    f"{word} file {path}: document {position} of level {number} is not a policy document"
                )
    return data


_ORG_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
_ORG_PATH = re.compile(r"^o-[a-z0-9]{10,32}/r-[0-9a-z]{4,32}/(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}/)*$")


def read_org(org_id: str | None, org_path: str | None) -> tuple[str | None, tuple[str, ...]]:
    """``--org-id`` and ``--org-path``, checked (the formats of
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalorgpaths)."""
    if org_id is None:
        if org_path is not None:
            raise InputError("--org-path needs --org-id")
        return None, ()
    if not _ORG_ID.match(org_id):
        raise InputError(f"--org-id {org_id!r} is not an organization ID (o- and 10 to 32 letters or digits)")
    if org_path is None:
        return org_id, ()
    if not _ORG_PATH.match(org_path) or not org_path.startswith(f"{org_id}/"):
        raise InputError(
            f"--org-path {org_path!r} is not a path of {org_id} ({org_id}/r-.../ou-.../, ending with /)"
        )
    return org_id, (org_path,)


def read_rcps(path: str | None) -> RcpLevels | None:
    """The RCP levels of ``path`` (root first), or None without a file or when it holds null."""
    levels = read_scp_levels(path, "RCP")
    try:
        return parse_rcps(levels)
    except InputError as error:
        raise InputError(f"RCP file {path}: {error}") from None


def read_resource_policies(path: str | None) -> ResourcePolicies:
    """``--resource-policies``: the user's statement of every resource policy; without it, none was read."""
    if path is None:
        return ResourcePolicies.unread(
            "no resource policies were given: pass --resource-policies FILE (a bucket missing from it has "
            "no bucket policy, a key missing from it is unknown)"
        )
    return resource_policies_from_json(
        read_json(path, "resource policies file"), f"resource policies file {path}"
    )


def live_resource_policies(endpoint_url: str | None, account: str) -> ResourcePolicies:
    """A live account's bucket and key policies, read as the watcher reads them (``s3:GetBucketPolicy``,
    ``kms:DescribeKey``, ``kms:GetKeyPolicy``, with the same retries and fail-closed answers), each
    when a bound profile first names it."""
    from restorewatch.inventory import make_client
    from restorewatch.inventory.resource_policies import LiveResourcePolicies, ResourcePolicyReader

    clients: dict[tuple[str, str | None], object] = {}

    def client_for(service: str, _account: str, region: str | None) -> object:
        if (service, region) not in clients:
            clients[service, region] = make_client(service, endpoint_url=endpoint_url, region_name=region)
        return clients[service, region]

    known = LiveResourcePolicies(ResourcePolicyReader(client_for), account)
    return ResourcePolicies(known, given=False, source="read live from the account (no --resource-policies)")


def read_resource_policy(path: str, resource: str, account: str | None = None) -> ResourcePolicy:
    """``simulate --resource-policy``: one document (or ``{"Policy": ...}`` as the AWS CLI prints it,
    or null for none) for the resource the request acts on."""
    holder = policy_holder(resource)
    if holder is None:
        raise InputError(
            "--resource-policy needs --resource to name one resource (a bucket, an object, a key), "
            f"not {resource!r}"
        )
    data = read_json(path, "resource policy file")
    if isinstance(data, Mapping) and "Statement" not in data and "Policy" in data:
        data = data["Policy"]
    if data is None:
        if key_policy_required(holder):
            raise InputError(
                f"resource policy file {path}: a KMS key always has a key policy; null is not one"
            )
        return ResourcePolicy.none(holder, account=account)
    try:
        policy = parse_resource_policy(data, holder)
    except InputError as error:
        raise InputError(f"resource policy file {path}: {error}") from None
    return ResourcePolicy(holder, policy, account=account)


def _context_value(key: str, value: object) -> str | list[str]:
    # Request context values are strings on the wire; JSON booleans and numbers are accepted for
    # convenience and spelled as AWS spells them ("true", "3600").
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        items: list[str] = []
        for item in value:
            converted = _context_value(key, item)
            if isinstance(converted, list):
                raise InputError(f"context key {key!r}: a list may hold only strings, numbers or booleans")
            items.append(converted)
        return items
    raise InputError(f"context key {key!r}: value must be a string, number, boolean or list of them")


def parse_context(text: str | None) -> dict[str, str | list[str]] | None:
    """``--context``: a JSON object given inline, or ``@FILE`` naming a file that holds it."""
    if text is None:
        return None
    if text.startswith("@"):
        data = read_json(text[1:], "context file")
        where = f"context file {text[1:]}"
    else:
        try:
            data = load_json(text)
        except ValueError as exc:
            raise InputError(f"--context is not valid JSON: {exc}") from None
        where = "--context"
    if not isinstance(data, Mapping):
        raise InputError(f"{where} must be a JSON object of condition keys to values")
    try:
        return {str(key): _context_value(str(key), value) for key, value in data.items()}
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None


def require_principal(snapshot: AccountSnapshot, arn: str) -> str:
    """``arn`` as the snapshot spells it; fail clearly when it is not a user or role of the snapshot."""
    try:
        return snapshot.arn_of(arn)  # cheap: no policy is parsed
    except UnknownPrincipalError:
        raise UnknownPrincipalError(
            f"unknown principal {arn}: no user or role with this ARN in the auth details "
            "(groups cannot be checked)"
        ) from None
