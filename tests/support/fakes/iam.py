"""``FakeIam`` and ``FakeIamReader``: an account's IAM as authorization details, and the reader the
watcher takes (``inventory.IamReader``'s methods the watcher calls), reading it.

The watcher reads IAM only through an ``IamReader`` its mode hands out (``ExecutionMode.reader``):
``resolve`` (which principals a target names, and which carry the watch tag), ``principal_pages``
(those principals as one ``get-account-authorization-details`` page), ``filtered_pages`` (the
sweep's listing), ``account_alias`` and ``total_calls``. ``FakeIamReader`` answers them from a
``FakeIam`` the test builds and changes between runs, with the real reader's rules: a principal
whose ARN no longer matches (deleted, or recreated on another path) is ``deleted``; a group or
policy IAM does not know is ``missing``; more than ``wide_over`` principals is ``wide`` before any is
read; only a managed policy's default version is read; names are matched as IAM's API matches them
on moto (exactly). tests/contracts/test_iam_reader_contract.py seeds one account on moto, builds
the ``FakeIam`` from moto's own authorization details, and asserts both readers answer alike.

Reads fail where the test says (``FakeIam.fail``): keyed by a principal ARN, ``"group/<name>"``, a
policy ARN, ``"listing"`` (the sweep's ``GetAccountAuthorizationDetails``) or ``"alias"``.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from restorewatch.errors import ReadError
from restorewatch.inventory.iam_reader import PrincipalPages, TargetResolver, split_arn

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping


ACCOUNT = "111122223333"
_DETAIL_KEYS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
Doc = dict[str, Any]


def allow(*actions: str, resource: str = "*") -> Doc:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}],
    }


def deny(*actions: str, resource: str = "*") -> Doc:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": list(actions), "Resource": resource}],
    }


def no_such_entity(operation: str, target: str) -> ReadError:
    return ReadError(operation, target, "NoSuchEntity", f"{target} cannot be found")


def throttled(operation: str, target: str | None) -> ReadError:
    return ReadError(operation, target, "Throttling", "Rate exceeded")


def access_denied(operation: str, target: str | None) -> ReadError:
    return ReadError(operation, target, "AccessDenied", "not authorized")


@dataclass
class FakeIam:
    """One account's IAM, as ``get-account-authorization-details`` shows it (default versions only)."""

    account: str = ACCOUNT
    alias: str | None = None
    users: dict[str, Doc] = field(default_factory=dict)
    roles: dict[str, Doc] = field(default_factory=dict)
    groups: dict[str, Doc] = field(default_factory=dict)
    policies: dict[str, Doc] = field(default_factory=dict)  # ARN -> Policies[] entry
    fail: dict[str, ReadError] = field(default_factory=dict)
    page_size: int = 100  # entries per page of the sweep's listing

    @classmethod
    def from_details(cls, pages: Iterable[Mapping[str, Any]], *, account: str = ACCOUNT) -> FakeIam:
        iam = cls(account)
        for page in copy.deepcopy(list(pages)):
            iam.users.update({u["UserName"]: u for u in page.get("UserDetailList", [])})
            iam.roles.update({r["RoleName"]: r for r in page.get("RoleDetailList", [])})
            iam.groups.update({g["GroupName"]: g for g in page.get("GroupDetailList", [])})
            for policy in page.get("Policies", []):
                versions = [v for v in policy.get("PolicyVersionList", []) if v.get("IsDefaultVersion")]
                iam.policies[policy["Arn"]] = {**policy, "PolicyVersionList": versions}
        return iam

    # -- building and changing it ------------------------------------------------------------------

    def arn(self, kind: str, name: str) -> str:
        return f"arn:aws:iam::{self.account}:{kind}/{name}"

    def put_policy(self, name: str, document: Doc) -> str:
        """Create the managed policy, or give it a new default version."""
        arn = self.arn("policy", name)
        version = len(self.policies.get(arn, {}).get("PolicyVersionList", [])) + 1
        self.policies[arn] = {
            "PolicyName": name,
            "Arn": arn,
            "Path": "/",
            "DefaultVersionId": f"v{version}",
            "AttachmentCount": 0,
            "PolicyVersionList": [
                {"Document": document, "VersionId": f"v{version}", "IsDefaultVersion": True}
            ],
        }
        return arn

    def put_role(
        self,
        name: str,
        *,
        tags: Mapping[str, str] | None = None,
        inline: Mapping[str, Doc] | None = None,
        managed: Iterable[str] = (),
        boundary: str | None = None,
    ) -> str:
        arn = self.arn("role", name)
        self.roles[name] = {
            "Path": "/",
            "RoleName": name,
            "RoleId": f"AROA{name.upper()[:12]}",
            "Arn": arn,
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "ec2.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            **self._body("Role", tags, inline, managed, boundary),
        }
        return arn

    def put_user(
        self,
        name: str,
        *,
        tags: Mapping[str, str] | None = None,
        inline: Mapping[str, Doc] | None = None,
        managed: Iterable[str] = (),
        boundary: str | None = None,
        groups: Iterable[str] = (),
    ) -> str:
        arn = self.arn("user", name)
        self.users[name] = {
            "Path": "/",
            "UserName": name,
            "UserId": f"AIDA{name.upper()[:12]}",
            "Arn": arn,
            "GroupList": list(groups),
            **self._body("User", tags, inline, managed, boundary),
        }
        return arn

    def put_group(
        self, name: str, *, inline: Mapping[str, Doc] | None = None, managed: Iterable[str] = ()
    ) -> str:
        arn = self.arn("group", name)
        self.groups[name] = {
            "Path": "/",
            "GroupName": name,
            "GroupId": f"AGPA{name.upper()[:12]}",
            "Arn": arn,
            "GroupPolicyList": [{"PolicyName": n, "PolicyDocument": d} for n, d in (inline or {}).items()],
            "AttachedManagedPolicies": self._attached(managed),
        }
        return arn

    def _body(
        self,
        prefix: str,
        tags: Mapping[str, str] | None,
        inline: Mapping[str, Doc] | None,
        managed: Iterable[str],
        boundary: str | None,
    ) -> Doc:
        body: Doc = {
            f"{prefix}PolicyList": [
                {"PolicyName": n, "PolicyDocument": d} for n, d in (inline or {}).items()
            ],
            "AttachedManagedPolicies": self._attached(managed),
            "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
        }
        if boundary is not None:
            body["PermissionsBoundary"] = {
                "PermissionsBoundaryType": "Policy",
                "PermissionsBoundaryArn": boundary,
            }
        return body

    def _attached(self, managed: Iterable[str]) -> list[Doc]:
        return [{"PolicyName": arn.rsplit("/", 1)[-1], "PolicyArn": arn} for arn in managed]

    def entity(self, arn: str) -> Doc:
        kind, name = split_arn(arn)
        return (self.users if kind == "user" else self.roles)[name]

    def set_tags(self, arn: str, tags: Mapping[str, str]) -> None:
        self.entity(arn)["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]

    def set_inline(self, arn: str, inline: Mapping[str, Doc]) -> None:
        kind, _ = split_arn(arn)
        policies = [{"PolicyName": n, "PolicyDocument": d} for n, d in inline.items()]
        self.entity(arn)[f"{kind.capitalize()}PolicyList"] = policies

    def attach(self, arn: str, policy_arn: str) -> None:
        """Attach a managed policy to a user, role (by ARN) or group (by name)."""
        entity = self.groups[arn] if arn in self.groups else self.entity(arn)
        entity["AttachedManagedPolicies"] += self._attached([policy_arn])

    def detach(self, arn: str, policy_arn: str) -> None:
        entity = self.groups[arn] if arn in self.groups else self.entity(arn)
        entity["AttachedManagedPolicies"] = [
            p for p in entity["AttachedManagedPolicies"] if p["PolicyArn"] != policy_arn
        ]

    def delete(self, arn: str) -> None:
        kind, name = split_arn(arn)
        del (self.users if kind == "user" else self.roles)[name]

    def details(self) -> Doc:
        return copy.deepcopy(
            {
                "UserDetailList": list(self.users.values()),
                "GroupDetailList": list(self.groups.values()),
                "RoleDetailList": list(self.roles.values()),
                "Policies": list(self.policies.values()),
            }
        )

    def reader(self) -> FakeIamReader:
        return FakeIamReader(self, page_size=self.page_size)


class FakeIamReader(TargetResolver):
    """The reader the watcher takes, over a ``FakeIam`` (a fresh one per run, as the modes build);
    ``resolve`` is the real one (``TargetResolver``) over this fake's reads."""

    def __init__(self, iam: FakeIam, *, page_size: int = 100) -> None:
        self.iam = iam
        self.page_size = page_size
        self.calls: Counter[str] = Counter()

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def _check(self, operation: str, key: str, target: str | None = None) -> None:
        self.calls[operation] += 1
        failure = self.iam.fail.get(key)
        if failure is not None:
            raise ReadError(operation, target if target is not None else key, failure.code, failure.message)

    # -- the sweep's listing ------------------------------------------------------------------------

    def filtered_pages(self, entity_filter: Iterable[str]) -> Iterator[dict[str, Any]]:
        wanted = set(entity_filter)
        details = self.iam.details()
        entries: list[tuple[str, Doc]] = []
        if wanted & {"LocalManagedPolicy", "AWSManagedPolicy"}:
            entries += [("Policies", p) for p in details["Policies"]]
        for kind, key in (
            ("Group", "GroupDetailList"),
            ("User", "UserDetailList"),
            ("Role", "RoleDetailList"),
        ):
            if kind in wanted:
                entries += [(key, entry) for entry in details[key]]
        for start in range(0, max(len(entries), 1), self.page_size):
            self._check("GetAccountAuthorizationDetails", "listing")
            # every list present, as IAM answers whatever the filter
            page: dict[str, Any] = {key: [] for key in _DETAIL_KEYS}
            for key, entry in entries[start : start + self.page_size]:
                page[key].append(entry)
            yield json.loads(json.dumps(page))

    def account_alias(self) -> str | None:
        self._check("ListAccountAliases", "alias")
        return self.iam.alias

    # -- a few principals ---------------------------------------------------------------------------

    def principal_pages(self, arns: Iterable[str]) -> PrincipalPages:
        users: list[Doc] = []
        roles: list[Doc] = []
        groups: dict[str, Doc] = {}
        policies: dict[str, Doc] = {}
        deleted: list[str] = []
        errors: dict[str, ReadError] = {}
        for arn in dict.fromkeys(arns):
            kind, name = split_arn(arn)
            try:
                self._check("GetUser" if kind == "user" else "GetRole", arn)
            except ReadError as failure:
                if failure.code == "NoSuchEntity":
                    deleted.append(arn)
                else:
                    errors[arn] = failure
                continue
            entity = (self.iam.users if kind == "user" else self.iam.roles).get(name)
            if entity is None or entity["Arn"] != arn:
                deleted.append(arn)
                continue
            detail = copy.deepcopy(entity)
            own_groups: dict[str, Doc] = {}
            own_policies: dict[str, Doc] = {}
            managed = [p["PolicyArn"] for p in detail["AttachedManagedPolicies"]]
            try:
                # a group's or a policy's read failing makes this principal unreadable, as in IamReader
                if kind == "user":
                    for group_name in detail.get("GroupList", []):
                        self._check("GetGroupPolicy", f"group/{group_name}", arn)
                        group = self.iam.groups[group_name]
                        own_groups[group_name] = copy.deepcopy(group)
                        managed += [p["PolicyArn"] for p in group["AttachedManagedPolicies"]]
                boundary = detail.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
                if boundary:
                    managed.append(boundary)
                for policy_arn in managed:
                    self._check("GetPolicy", policy_arn)
                    own_policies[policy_arn] = copy.deepcopy(self.iam.policies[policy_arn])
            except ReadError as failure:
                errors[arn] = failure
                continue
            groups.update(own_groups)
            policies.update(own_policies)
            (users if kind == "user" else roles).append(detail)
        page = {
            "UserDetailList": users,
            "GroupDetailList": list(groups.values()),
            "RoleDetailList": roles,
            "Policies": list(policies.values()),
        }
        return PrincipalPages(json.loads(json.dumps(page)), tuple(deleted), errors)

    # -- targets ------------------------------------------------------------------------------------

    def _sort(
        self, kind: str, name: str, where: str, watched: list[str], unwatched: list[str], *, tag_key: str
    ) -> bool:
        arn = self.iam.arn(kind, name)
        try:
            self._check("GetUser" if kind == "user" else "GetRole", arn, where)
        except ReadError as failure:
            if failure.code != "NoSuchEntity":
                raise
            return False
        entity = (self.iam.users if kind == "user" else self.iam.roles).get(name)
        if entity is None:
            return False
        tagged = any(tag.get("Key") == tag_key for tag in entity.get("Tags", []))
        (watched if tagged else unwatched).append(entity["Arn"])
        return True

    def _group_members(self, group: str) -> dict[str, str] | None:
        self._check("GetGroup", f"group/{group}")
        if group not in self.iam.groups:
            return None
        return {u["UserName"]: u["Arn"] for u in self.iam.users.values() if group in u.get("GroupList", [])}

    def _policy_entities(self, policy_arn: str) -> tuple[dict[str, str], dict[str, str], list[str]]:
        self._check("ListEntitiesForPolicy", policy_arn)
        if policy_arn not in self.iam.policies:
            raise no_such_entity("ListEntitiesForPolicy", policy_arn)
        users: dict[str, str] = {}
        roles: dict[str, str] = {}
        for entities, names in ((self.iam.users.values(), users), (self.iam.roles.values(), roles)):
            for entity in entities:
                if self._uses(entity, policy_arn):
                    kind = "user" if "UserName" in entity else "role"
                    name = entity["UserName" if kind == "user" else "RoleName"]
                    names[name] = f"{kind}/{name}"
        groups = [g for g, group in self.iam.groups.items() if self._uses(group, policy_arn)]
        return users, roles, groups

    @staticmethod
    def _uses(entity: Mapping[str, Any], policy_arn: str) -> bool:
        attached = any(p["PolicyArn"] == policy_arn for p in entity.get("AttachedManagedPolicies", []))
        boundary = entity.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn") == policy_arn
        return attached or boundary
