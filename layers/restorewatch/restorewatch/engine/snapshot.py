"""An account snapshot: the output of ``aws iam get-account-authorization-details`` (pages merged).

https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html

Principals are built on demand and policies compiled once: a sweep of a large account only pays
for the principals it evaluates, and a managed policy shared by a thousand roles is parsed once.
Pages that say more follows, with no page that ends the listing, are refused: a check of part of an
account would answer for principals and policies it never saw.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from restorewatch.engine.arn import parse_arn
from restorewatch.engine.model import LayerKind, Policy, PolicySource, Principal, PrincipalKind
from restorewatch.engine.parse import parse_policy
from restorewatch.errors import SnapshotError, UnknownPrincipalError

_LISTS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
_JSON_KINDS = {dict: "an object", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


def _json_kind(value: object) -> str:
    return _JSON_KINDS.get(type(value), type(value).__name__)


def _list_field(raw: Mapping[str, Any], key: str, items: str) -> list[Any]:
    """``raw[key]``, a list in every API response; anything else is named, never iterated as one
    (iterating an object would read its keys as entries, and lose what it says)."""
    value = raw.get(key)
    if value is None:
        return []
    if isinstance(value, list):
        return value
    owner = raw.get("Arn") or raw.get("GroupName") or "an entry"
    raise SnapshotError(f"{owner}: {key} is {_json_kind(value)}, not a list of {items}")


def _more_follows(page: Mapping[str, Any], number: int) -> str | None:
    """How ``page`` says that the listing goes on, or None when it ends it: the API's
    ``IsTruncated``, or the ``NextToken`` the AWS CLI prints under ``--max-items``."""
    truncated = page.get("IsTruncated", False)
    if not isinstance(truncated, bool):
        raise SnapshotError(f"page {number}: IsTruncated must be true or false, not {_json_kind(truncated)}")
    if truncated:
        return "IsTruncated: true"
    if page.get("NextToken"):
        return "NextToken"
    return None


def _tags(raw: Mapping[str, Any]) -> dict[str, str]:
    # read for every user and role of the account when the CLI looks for the watch tag
    tags: dict[str, str] = {}
    for tag in raw.get("Tags") or ():
        if isinstance(tag, (dict, Mapping)):  # a dict first: the ABC alone checks slower
            key, value = tag.get("Key"), tag.get("Value", "")
            if isinstance(key, str):
                tags[key] = value if isinstance(value, str) else str(value)
    return tags


def account_of(arn: str) -> str:
    parsed = parse_arn(arn)
    return parsed.account if parsed is not None else ""


@dataclass(slots=True)
class AccountSnapshot:
    users: dict[str, Mapping[str, Any]]
    roles: dict[str, Mapping[str, Any]]
    groups: dict[str, Mapping[str, Any]]  # by GroupName
    policies: dict[str, Mapping[str, Any]]  # by Arn
    _managed: dict[tuple[str, LayerKind], Policy] = field(default_factory=dict)
    _principals: dict[str, Principal] = field(default_factory=dict)
    _groups: dict[str, tuple[Policy, ...]] = field(default_factory=dict)  # by GroupName

    @classmethod
    def from_pages(cls, pages: Iterable[Mapping[str, Any]]) -> AccountSnapshot:
        users: dict[str, Mapping[str, Any]] = {}
        roles: dict[str, Mapping[str, Any]] = {}
        groups: dict[str, Mapping[str, Any]] = {}
        policies: dict[str, Mapping[str, Any]] = {}
        unfinished: dict[int, str] = {}  # page number -> how it says that more follows
        ended = False
        for number, page in enumerate(pages, start=1):
            if not isinstance(page, Mapping) or not any(key in page for key in _LISTS):
                raise SnapshotError(
                    f"page {number} is not get-account-authorization-details output "
                    f"(expected {', '.join(_LISTS)})"
                )
            more = _more_follows(page, number)
            if more is None:
                ended = True
            else:
                unfinished[number] = more
            for key, index, target in (
                ("UserDetailList", "Arn", users),
                ("RoleDetailList", "Arn", roles),
                ("GroupDetailList", "GroupName", groups),
                ("Policies", "Arn", policies),
            ):
                entries = page.get(key) or []
                if not isinstance(entries, list):
                    raise SnapshotError(f"page {number}: {key} must be a list")
                for entry in entries:
                    if not isinstance(entry, Mapping) or not isinstance(entry.get(index), str):
                        raise SnapshotError(f"page {number}: an entry of {key} has no {index}")
                    target[entry[index]] = entry
        if unfinished and not ended:
            # Pages come in any order (a shell glob sorts page10 before page2), so the test is that
            # some page ends the listing, not that the last one does.
            which = ", ".join(f"page {number} ({more})" for number, more in unfinished.items())
            raise SnapshotError(
                f"incomplete account: more follows {which} and no page given ends the listing; give "
                "every page, or the output of `aws iam get-account-authorization-details` without "
                "--max-items or --no-paginate"
            )
        return cls(users, roles, groups, policies)

    @property
    def account_id(self) -> str:
        for arn in (*self.users, *self.roles):
            return account_of(arn)
        return ""

    def principal_arns(self) -> list[str]:
        return [*self.users, *self.roles]

    def tags_of(self, arn: str) -> dict[str, str]:
        return _tags(self._raw(arn)[0])

    def arn_of(self, arn: str) -> str:
        """The ARN as the snapshot spells it (``arn`` may differ in letter case)."""
        return str(self._raw(arn)[0]["Arn"])

    def _raw(self, arn: str) -> tuple[Mapping[str, Any], PrincipalKind]:
        if arn in self.users:
            return self.users[arn], PrincipalKind.USER
        if arn in self.roles:
            return self.roles[arn], PrincipalKind.ROLE
        # IAM names are unique case-insensitively; accept an ARN typed with other case
        lowered = arn.lower()
        for table, kind in ((self.users, PrincipalKind.USER), (self.roles, PrincipalKind.ROLE)):
            for candidate, raw in table.items():
                if candidate.lower() == lowered:
                    return raw, kind
        raise UnknownPrincipalError(f"no user or role with ARN {arn} in the snapshot")

    def principal(self, arn: str) -> Principal:
        cached = self._principals.get(arn)
        if cached is not None:
            return cached
        raw, kind = self._raw(arn)
        real_arn = raw["Arn"]
        if kind is PrincipalKind.USER:
            name, principal_id = raw.get("UserName", ""), raw.get("UserId", "")
            inline_key, owner_label = "UserPolicyList", f"user {raw.get('UserName', '')}"
        else:
            name, principal_id = raw.get("RoleName", ""), raw.get("RoleId", "")
            inline_key, owner_label = "RolePolicyList", f"role {raw.get('RoleName', '')}"
        identity = [*self._inline(raw, inline_key, owner_label, None), *self._attached(raw, None)]
        if kind is PrincipalKind.USER:
            for group_name in _list_field(raw, "GroupList", "group names"):
                if not isinstance(group_name, str):
                    found = _json_kind(group_name)
                    raise SnapshotError(f"{real_arn}: GroupList holds {found}, not a group name")
                identity += self._group_policies(group_name, real_arn)
        boundary = None
        boundary_info = raw.get("PermissionsBoundary")
        if isinstance(boundary_info, Mapping) and boundary_info.get("PermissionsBoundaryArn"):
            boundary = self._managed_policy(
                boundary_info["PermissionsBoundaryArn"], LayerKind.BOUNDARY, real_arn
            )
        principal = Principal(
            arn=real_arn,
            name=name,
            kind=kind,
            account=account_of(real_arn),
            principal_id=principal_id,
            tags=_tags(raw),
            identity=tuple(identity),
            boundary=boundary,
        )
        self._principals[arn] = principal
        return principal

    def _group_policies(self, group_name: str, user_arn: str) -> tuple[Policy, ...]:
        """The policies a user inherits from a group, compiled once per group: every member shares
        them (and what the engine caches on them)."""
        cached = self._groups.get(group_name)
        if cached is not None:
            return cached
        group = self.groups.get(group_name)
        if group is None:
            raise SnapshotError(f"{user_arn} is in group {group_name!r}, which the snapshot lacks")
        policies = (
            *self._inline(group, "GroupPolicyList", None, group_name),
            *self._attached(group, group_name),
        )
        self._groups[group_name] = policies
        return policies

    def _inline(
        self, raw: Mapping[str, Any], key: str, owner: str | None, via_group: str | None
    ) -> list[Policy]:
        policies: list[Policy] = []
        for entry in _list_field(raw, key, "{PolicyName, PolicyDocument} objects"):
            name = entry.get("PolicyName", "?") if isinstance(entry, Mapping) else "?"
            source = PolicySource(LayerKind.IDENTITY, name, via_group=via_group, owner=owner)
            document = entry.get("PolicyDocument") if isinstance(entry, Mapping) else entry
            policies.append(parse_policy(document, source))
        return policies

    def _attached(self, raw: Mapping[str, Any], via_group: str | None) -> list[Policy]:
        policies: list[Policy] = []
        for entry in _list_field(raw, "AttachedManagedPolicies", "{PolicyName, PolicyArn} objects"):
            arn = entry.get("PolicyArn") if isinstance(entry, Mapping) else None
            if not isinstance(arn, str):
                raise SnapshotError(f"{raw.get('Arn')}: an attached managed policy has no PolicyArn")
            policy = self._managed_policy(arn, LayerKind.IDENTITY, str(raw.get("Arn")))
            if via_group is not None:
                source = PolicySource(LayerKind.IDENTITY, policy.source.name, arn, via_group=via_group)
                policy = Policy(
                    source, policy.version, policy.statements, policy.by_service, policy._covering
                )
            policies.append(policy)
        return policies

    def _managed_policy(self, arn: str, layer: LayerKind, used_by: str) -> Policy:
        cached = self._managed.get((arn, layer))
        if cached is not None:
            return cached
        raw = self.policies.get(arn)
        if raw is None:
            raise SnapshotError(f"managed policy {arn} used by {used_by} is not in the snapshot's Policies")
        default = [
            v
            for v in _list_field(raw, "PolicyVersionList", "policy versions")
            if isinstance(v, Mapping) and v.get("IsDefaultVersion")
        ]
        if len(default) != 1:
            raise SnapshotError(
                f"managed policy {arn} has {len(default)} default versions in the snapshot, not 1"
            )
        parsed = parse_arn(arn)
        name = raw.get("PolicyName") or (parsed.name if parsed is not None else arn)
        source = PolicySource(layer, str(name), arn)
        policy = parse_policy(default[0].get("Document"), source)
        self._managed[(arn, layer)] = policy
        return policy
