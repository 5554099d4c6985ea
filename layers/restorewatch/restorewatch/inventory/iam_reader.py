"""Read IAM state as ``get-account-authorization-details``-shaped pages, with few calls.

- ``account_pages()``: the whole account (sweep), streamed page by page;
- ``principal_pages(arns)``: a few principals (an event), one page built from Get/List calls;
- ``resolve(target, tag_key=)`` / ``resolve_targets(target, tag_key=)``: which principals a
  ``Target`` names, and which of them carry the watch tag.

Pages are plain JSON values exactly as the AWS CLI prints them (datetimes as ISO 8601 strings,
policy documents as objects, no ``Marker``/``IsTruncated``/``ResponseMetadata``), so
``restorewatch.engine.AccountSnapshot.from_pages`` reads them. Every failed call becomes a
``ReadError`` naming the operation and the ARN/name; ``NoSuchEntity`` on a principal means it was
deleted, which is a result, not an error. ``calls`` counts API calls (each page is one call) by
operation name. A reader caches what it read (principals, groups, policies): use one reader per
invocation; only policy version documents, which never change, are safe to keep longer.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError

from restorewatch.domain import Target, TargetKind, parse_arn
from restorewatch.errors import ReadError, UnknownPrincipalError

if TYPE_CHECKING:
    from types_boto3_iam import IAMClient

logger = logging.getLogger(__name__)

ACCOUNT_FILTER = ("User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy")
_DROP_KEYS = frozenset({"ResponseMetadata", "IsTruncated", "Marker"})


def to_json(value: Any) -> Any:
    """A boto3 response as the CLI prints it: datetimes as ISO 8601, no response metadata."""
    if isinstance(value, Mapping):
        return {k: to_json(v) for k, v in value.items() if k not in _DROP_KEYS}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def split_arn(arn: str) -> tuple[str, str]:
    """``("user" | "role", name)`` of an IAM user or role ARN (any path)."""
    parsed = parse_arn(arn)
    if parsed is not None and parsed.principal_kind is not None:
        return parsed.principal_kind.value, parsed.name
    raise UnknownPrincipalError(f"not an IAM user or role ARN: {arn!r}")


@dataclass(frozen=True, slots=True)
class PrincipalPages:
    """What ``principal_pages`` read.

    ``page``: one authorization-details page with the principals that were read, their groups and
    every managed policy they use (default version only); ``deleted``: requested ARNs that no
    longer exist; ``errors``: ARN -> the read that failed (that principal is ``unknown``).
    """

    page: dict[str, Any]
    deleted: tuple[str, ...] = ()
    errors: Mapping[str, ReadError] = field(default_factory=dict)

    @property
    def pages(self) -> list[dict[str, Any]]:
        return [self.page]

    @property
    def read_arns(self) -> tuple[str, ...]:
        users = [u["Arn"] for u in self.page.get("UserDetailList", [])]
        return tuple(users + [r["Arn"] for r in self.page.get("RoleDetailList", [])])


@dataclass(frozen=True, slots=True)
class Resolution:
    """The principals a target names: ``watched`` carry the watch tag, ``unwatched`` do not;
    ``missing``: the user, role, group or policy named does not exist (any more); ``errors``: reads
    that failed (``ReadError.target`` names the principal, group or policy); ``wide``: see
    ``IamReader.resolve``."""

    watched: tuple[str, ...] = ()
    unwatched: tuple[str, ...] = ()
    missing: bool = False
    errors: tuple[ReadError, ...] = ()
    wide: bool = False  # more principals than asked to read one by one: none was read, sweep instead


class TargetResolver(ABC):
    """How a target becomes principals (``resolve``), over three reads a subclass makes: one
    principal's tags (``_sort``), a group's members and a policy's entities. ``IamReader`` reads
    them from IAM; the tests' in-memory reader from its own data, under these same rules."""

    @abstractmethod
    def _sort(
        self, kind: str, name: str, target: str, watched: list[str], unwatched: list[str], *, tag_key: str
    ) -> bool:
        """Read one principal's tags into ``watched``/``unwatched``; ``False`` if it does not exist."""

    @abstractmethod
    def _group_members(self, group: str) -> dict[str, str] | None:
        """The users in ``group`` (name: ARN); ``None`` if there is no such group."""

    @abstractmethod
    def _policy_entities(self, policy_arn: str) -> tuple[dict[str, str], dict[str, str], list[str]]:
        """Users and roles (name: what a failed read names) and groups that attach ``policy_arn``
        or use it as permissions boundary; ``ReadError`` ``NoSuchEntity`` for an unknown policy."""

    def resolve(self, target: Target, *, tag_key: str, wide_over: int | None = None) -> Resolution:
        """Which principals ``target`` names and which carry the watch tag ``tag_key``.

        A failed read of the target itself (the user, the group, the policy's entity list) raises
        ``ReadError``; a failed read of one member or entity is returned in ``errors``. A group or
        policy naming more than ``wide_over`` principals is returned ``wide``, before any of them is
        read: reading each costs about four IAM calls, a sweep a few pages for the whole account.
        """
        watched: list[str] = []
        unwatched: list[str] = []
        if target.kind in (TargetKind.USER, TargetKind.ROLE):
            kind = target.principal_kind or "user"
            missing = not self._sort(
                kind, target.name, f"{kind}/{target.name}", watched, unwatched, tag_key=tag_key
            )
            return Resolution(tuple(watched), tuple(unwatched), missing)
        missing = False
        # name: what a failed read of it names (the member's ARN where known, else kind/name)
        users: dict[str, str] = {}
        roles: dict[str, str] = {}
        errors: list[ReadError] = []
        if target.kind is TargetKind.GROUP_MEMBERS:
            members = self._group_members(target.name)
            missing = members is None
            users.update(members or {})
        elif target.kind is TargetKind.POLICY_ENTITIES:
            groups: list[str] = []
            try:
                users, roles, groups = self._policy_entities(target.name)
            except ReadError as exc:
                if exc.code != "NoSuchEntity":
                    raise
                missing = True
            for group in groups:
                try:
                    users.update(self._group_members(group) or {})
                except ReadError as exc:
                    errors.append(exc)
        # USER_GONE / ROLE_GONE: nothing to read, the state knows whether it was watched
        if wide_over is not None and len(users) + len(roles) > wide_over:
            return Resolution(missing=missing, wide=True)
        for kind, names in (("user", users), ("role", roles)):
            for name, where in names.items():
                try:
                    self._sort(kind, name, where, watched, unwatched, tag_key=tag_key)
                except ReadError as exc:
                    errors.append(exc)
        return Resolution(
            tuple(dict.fromkeys(watched)), tuple(dict.fromkeys(unwatched)), missing, tuple(errors)
        )

    def resolve_targets(self, target: Target, *, tag_key: str) -> list[str]:
        """ARNs of the principals ``target`` names that carry the watch tag.

        Raises the first ``ReadError`` (use ``resolve`` to keep the reads that succeeded)."""
        resolution = self.resolve(target, tag_key=tag_key)
        if resolution.errors:
            raise resolution.errors[0]
        return list(resolution.watched)


class IamReader(TargetResolver):
    """IAM reads for the watcher and the CLI. ``client``: a boto3 IAM client (``clients.iam_client``)."""

    def __init__(self, client: IAMClient | None = None) -> None:
        if client is None:
            from restorewatch.inventory.clients import iam_client

            client = iam_client()
        self.client = client
        self.calls: Counter[str] = Counter()
        self._principals: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._groups: dict[str, dict[str, Any]] = {}
        self._policies: dict[str, dict[str, Any]] = {}
        self._versions: dict[tuple[str, str], dict[str, Any]] = {}
        self._alias: tuple[str] | None = None

    # --- calls ------------------------------------------------------------------------------------

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def _error(self, operation: str, target: str | None, exc: Exception) -> ReadError:
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code, message = str(error.get("Code", "Unknown")), str(error.get("Message", exc))
            return ReadError(operation, target, code, message)
        return ReadError(operation, target, type(exc).__name__, str(exc))

    def _call(self, operation: str, target: str | None, **kwargs: Any) -> dict[str, Any]:
        self.calls[operation] += 1
        try:
            response: dict[str, Any] = getattr(self.client, xform_name(operation))(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(operation, target, exc) from exc
        return response

    def _pages(self, operation: str, target: str | None, **kwargs: Any) -> Iterator[dict[str, Any]]:
        # the operation is named at run time (calls are counted and faults injected by name)
        client: Any = self.client
        paginator = client.get_paginator(xform_name(operation))
        pages = iter(paginator.paginate(**kwargs))
        while True:
            self.calls[operation] += 1
            try:
                page: dict[str, Any] = next(pages)
            except StopIteration:
                self.calls[operation] -= 1  # the paginator stopped without a request
                return
            except (ClientError, BotoCoreError) as exc:
                raise self._error(operation, target, exc) from exc
            yield page

    def _list(self, operation: str, key: str, target: str | None, **kwargs: Any) -> list[Any]:
        items: list[Any] = []
        for page in self._pages(operation, target, **kwargs):
            items.extend(page.get(key, []))
        return items

    # --- the whole account ------------------------------------------------------------------------

    def account_pages(self) -> Iterator[dict[str, Any]]:
        """``GetAccountAuthorizationDetails``, every page, as the CLI prints it."""
        for page in self._pages("GetAccountAuthorizationDetails", None, Filter=list(ACCOUNT_FILTER)):
            yield to_json(page)

    def filtered_pages(self, entity_filter: Iterable[str]) -> Iterator[dict[str, Any]]:
        """``GetAccountAuthorizationDetails`` with ``Filter=entity_filter``, page by page (streaming)."""
        for page in self._pages("GetAccountAuthorizationDetails", None, Filter=list(entity_filter)):
            yield to_json(page)

    def account_alias(self) -> str | None:
        """The account's alias (``ListAccountAliases``; an account has at most one), cached."""
        if self._alias is None:
            aliases = self._list("ListAccountAliases", "AccountAliases", None)
            self._alias = (str(aliases[0]) if aliases else "",)
        return self._alias[0] or None

    # --- single entities (cached for the reader's life) -------------------------------------------

    def _principal(self, kind: str, name: str, target: str) -> dict[str, Any] | None:
        """GetUser / GetRole (tags and boundary included); ``None`` when it does not exist."""
        key = (kind, name)
        if key not in self._principals:
            operation, param, result = (
                ("GetUser", "UserName", "User") if kind == "user" else ("GetRole", "RoleName", "Role")
            )
            try:
                self._principals[key] = self._call(operation, target, **{param: name})[result]
            except ReadError as exc:
                if exc.code != "NoSuchEntity":
                    raise
                self._principals[key] = None
        return self._principals[key]

    @staticmethod
    def _is_watched(entity: Mapping[str, Any], tag_key: str) -> bool:
        return any(tag.get("Key") == tag_key for tag in entity.get("Tags", []))

    def _inline(self, kind: str, name: str, target: str) -> list[dict[str, Any]]:
        prefix = kind.capitalize()  # User, Role, Group
        param = {f"{prefix}Name": name}
        names = self._list(f"List{prefix}Policies", "PolicyNames", target, **param)
        policies = []
        for policy_name in names:
            response = self._call(f"Get{prefix}Policy", target, PolicyName=policy_name, **param)
            policies.append({"PolicyName": policy_name, "PolicyDocument": response["PolicyDocument"]})
        return policies

    def _attached(self, kind: str, name: str, target: str) -> list[dict[str, Any]]:
        prefix = kind.capitalize()
        return self._list(
            f"ListAttached{prefix}Policies", "AttachedPolicies", target, **{f"{prefix}Name": name}
        )

    def _group(self, group: Mapping[str, Any]) -> dict[str, Any]:
        name = group["GroupName"]
        if name not in self._groups:
            arn = group.get("Arn", name)
            self._groups[name] = {
                **{k: group[k] for k in ("Path", "GroupName", "GroupId", "Arn", "CreateDate") if k in group},
                "GroupPolicyList": self._inline("group", name, arn),
                "AttachedManagedPolicies": self._attached("group", name, arn),
            }
        return self._groups[name]

    def _policy(self, arn: str) -> dict[str, Any]:
        """GetPolicy + GetPolicyVersion(default) as a ``Policies`` entry with only that version."""
        if arn not in self._policies:
            policy = self._call("GetPolicy", arn, PolicyArn=arn)["Policy"]
            version_id = policy["DefaultVersionId"]
            if (arn, version_id) not in self._versions:
                self._versions[(arn, version_id)] = self._call(
                    "GetPolicyVersion", arn, PolicyArn=arn, VersionId=version_id
                )["PolicyVersion"]
            entry = {k: v for k, v in policy.items() if k not in ("Tags", "Description")}
            entry["PolicyVersionList"] = [self._versions[(arn, version_id)]]
            self._policies[arn] = entry
        return self._policies[arn]

    def managed_policy(self, arn: str) -> dict[str, Any]:
        """A managed policy as a ``Policies`` entry of authorization details (default version only)."""
        return self._policy(arn)

    # --- a few principals -------------------------------------------------------------------------

    def _read_principal(
        self, arn: str, groups: dict[str, dict[str, Any]], policies: dict[str, dict[str, Any]]
    ) -> dict[str, Any] | None:
        kind, name = split_arn(arn)
        entity = self._principal(kind, name, arn)
        if entity is None or entity.get("Arn") != arn:
            return None
        prefix = kind.capitalize()
        skip = ("PasswordLastUsed", "Description", "MaxSessionDuration")
        detail: dict[str, Any] = {k: v for k, v in entity.items() if k not in skip}
        detail[f"{prefix}PolicyList"] = self._inline(kind, name, arn)
        detail["AttachedManagedPolicies"] = self._attached(kind, name, arn)
        detail.setdefault("Tags", [])
        managed = [p["PolicyArn"] for p in detail["AttachedManagedPolicies"]]
        if kind == "user":
            user_groups = self._list("ListGroupsForUser", "Groups", arn, UserName=name)
            detail["GroupList"] = [g["GroupName"] for g in user_groups]
            for group in user_groups:
                group_detail = self._group(group)
                groups[group["GroupName"]] = group_detail
                managed += [p["PolicyArn"] for p in group_detail["AttachedManagedPolicies"]]
        boundary = entity.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
        if boundary:
            managed.append(boundary)
        for policy_arn in managed:
            policies[policy_arn] = self._policy(policy_arn)
        return detail

    def principal_pages(self, arns: Iterable[str]) -> PrincipalPages:
        """Read these users and roles into one authorization-details page (see ``PrincipalPages``)."""
        users: list[dict[str, Any]] = []
        roles: list[dict[str, Any]] = []
        groups: dict[str, dict[str, Any]] = {}
        policies: dict[str, dict[str, Any]] = {}
        deleted: list[str] = []
        errors: dict[str, ReadError] = {}
        for arn in dict.fromkeys(arns):
            own_groups: dict[str, dict[str, Any]] = {}
            own_policies: dict[str, dict[str, Any]] = {}
            try:
                detail = self._read_principal(arn, own_groups, own_policies)
            except ReadError as exc:
                if exc.code == "NoSuchEntity" and exc.target == arn:  # deleted while being read
                    deleted.append(arn)
                else:
                    logger.warning("reading %s failed: %s", arn, exc)
                    errors[arn] = exc
                continue
            if detail is None:
                deleted.append(arn)
                continue
            (users if split_arn(arn)[0] == "user" else roles).append(detail)
            groups.update(own_groups)
            policies.update(own_policies)
        page = {
            "UserDetailList": users,
            "GroupDetailList": list(groups.values()),
            "RoleDetailList": roles,
            "Policies": list(policies.values()),
        }
        return PrincipalPages(to_json(page), tuple(deleted), errors)

    # --- targets ------------------------------------------------------------------------------------

    def _sort(
        self, kind: str, name: str, target: str, watched: list[str], unwatched: list[str], *, tag_key: str
    ) -> bool:
        entity = self._principal(kind, name, target)
        if entity is None:
            return False
        (watched if self._is_watched(entity, tag_key) else unwatched).append(entity["Arn"])
        return True

    def _group_members(self, group: str) -> dict[str, str] | None:
        try:
            members = self._list("GetGroup", "Users", f"group/{group}", GroupName=group)
        except ReadError as exc:
            if exc.code == "NoSuchEntity":
                return None
            raise
        return {member["UserName"]: member["Arn"] for member in members}

    def _policy_entities(self, policy_arn: str) -> tuple[dict[str, str], dict[str, str], list[str]]:
        users: dict[str, str] = {}
        roles: dict[str, str] = {}
        groups: dict[str, None] = {}
        for usage in ("PermissionsPolicy", "PermissionsBoundary"):
            for page in self._pages(
                "ListEntitiesForPolicy", policy_arn, PolicyArn=policy_arn, PolicyUsageFilter=usage
            ):
                users.update({u["UserName"]: f"user/{u['UserName']}" for u in page.get("PolicyUsers", [])})
                roles.update({r["RoleName"]: f"role/{r['RoleName']}" for r in page.get("PolicyRoles", [])})
                groups.update(dict.fromkeys(g["GroupName"] for g in page.get("PolicyGroups", [])))
        return users, roles, list(groups)


__all__ = [
    "ACCOUNT_FILTER",
    "IamReader",
    "PrincipalPages",
    "Resolution",
    "TargetResolver",
    "split_arn",
    "to_json",
]
