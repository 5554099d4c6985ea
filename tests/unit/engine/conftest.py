"""Small builders for the engine's unit tests: policy documents, snapshots, principals and SCPs.

The snapshot builders produce the JSON shape of ``aws iam get-account-authorization-details``
(https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html).
AWS managed policies come from ``tests/fixtures/managed-policies/`` (copies of the real documents).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from restorewatch.engine import (
    AccountSnapshot,
    LayerKind,
    Policy,
    PolicySource,
    Principal,
    ScpLevels,
    parse_policy,
    parse_scps,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from restorewatch.engine.catalog import ActionFacts

ACCOUNT = "111122223333"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "managed-policies"
V2012 = "2012-10-17"
V2008 = "2008-10-17"

Doc = dict[str, Any]


@dataclass(eq=False)  # hashable by identity, as the engine's caches need
class FakeCatalog:
    """A hand-made catalog: the engine's interface is a Protocol, so any object with these two
    members serves (the real one is restorewatch.catalog.IamDataCatalog, tested elsewhere)."""

    known: dict[str, ActionFacts]
    version: str = "fake 1 (2026-01-01)"

    def facts(self, action: str) -> ActionFacts | None:
        return self.known.get(action.lower())


def stmt(
    effect: str = "Allow",
    action: str | list[str] | None = "*",
    resource: str | list[str] | None = "*",
    *,
    not_action: str | list[str] | None = None,
    not_resource: str | list[str] | None = None,
    condition: dict[str, Any] | None = None,
    sid: str | None = None,
) -> Doc:
    """One statement; pass ``not_action``/``not_resource`` to use the negated elements instead."""
    statement: Doc = {"Effect": effect}
    if sid is not None:
        statement["Sid"] = sid
    if not_action is not None:
        statement["NotAction"] = not_action
    elif action is not None:
        statement["Action"] = action
    if not_resource is not None:
        statement["NotResource"] = not_resource
    elif resource is not None:
        statement["Resource"] = resource
    if condition is not None:
        statement["Condition"] = condition
    return statement


def allow(action: str | list[str] = "*", resource: str | list[str] = "*", **kw: Any) -> Doc:
    return stmt("Allow", action, resource, **kw)


def deny(action: str | list[str] = "*", resource: str | list[str] = "*", **kw: Any) -> Doc:
    return stmt("Deny", action, resource, **kw)


def doc(*statements: Doc, version: str | None = V2012) -> Doc:
    document: Doc = {"Statement": list(statements)}
    if version is not None:
        document["Version"] = version
    return document


def compile_doc(document: object, name: str = "test-policy", layer: LayerKind = LayerKind.IDENTITY) -> Policy:
    return parse_policy(document, PolicySource(layer, name))


# ---- snapshot builders ----


def inline(name: str, document: object) -> Doc:
    return {"PolicyName": name, "PolicyDocument": document}


def managed_policy(
    name: str,
    document: object,
    *,
    arn: str | None = None,
    other_versions: Sequence[object] = (),
    default_version: bool = True,
) -> Doc:
    """A ``Policies[]`` entry: the default version holds ``document``; ``other_versions`` are not default."""
    versions = [
        {"Document": document, "VersionId": "v9", "IsDefaultVersion": default_version},
        *(
            {"Document": other, "VersionId": f"v{number}", "IsDefaultVersion": False}
            for number, other in enumerate(other_versions, start=1)
        ),
    ]
    return {
        "PolicyName": name,
        "Arn": arn or f"arn:aws:iam::{ACCOUNT}:policy/{name}",
        "Path": "/",
        "DefaultVersionId": "v9",
        "PolicyVersionList": versions,
    }


def aws_managed(name: str) -> Doc:
    """A ``Policies[]`` entry for a real AWS managed policy copied into tests/fixtures."""
    raw = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))["PolicyVersion"]
    return {
        "PolicyName": name,
        "Arn": f"arn:aws:iam::aws:policy/{name}",
        "Path": "/",
        "DefaultVersionId": raw["VersionId"],
        "PolicyVersionList": [
            {"Document": raw["Document"], "VersionId": raw["VersionId"], "IsDefaultVersion": True}
        ],
    }


def attached(*policies: Doc) -> list[Doc]:
    return [{"PolicyName": p["PolicyName"], "PolicyArn": p["Arn"]} for p in policies]


def _boundary(policy: Doc | None) -> dict[str, str] | None:
    if policy is None:
        return None
    return {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": policy["Arn"]}


def _tags(tags: dict[str, str] | None) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in (tags or {}).items()]


def user(
    name: str = "alice",
    *,
    inline_policies: Sequence[Doc] = (),
    managed: Sequence[Doc] = (),
    groups: Sequence[str] = (),
    boundary: Doc | None = None,
    tags: dict[str, str] | None = None,
) -> Doc:
    entry: Doc = {
        "Path": "/",
        "UserName": name,
        "UserId": f"AIDA{name.upper()}EXAMPLE",
        "Arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
        "UserPolicyList": list(inline_policies),
        "GroupList": list(groups),
        "AttachedManagedPolicies": attached(*managed),
        "Tags": _tags(tags),
    }
    if boundary is not None:
        entry["PermissionsBoundary"] = _boundary(boundary)
    return entry


def role(
    name: str = "restore",
    *,
    inline_policies: Sequence[Doc] = (),
    managed: Sequence[Doc] = (),
    boundary: Doc | None = None,
    tags: dict[str, str] | None = None,
    trust: Doc | None = None,
) -> Doc:
    entry: Doc = {
        "Path": "/",
        "RoleName": name,
        "RoleId": f"AROA{name.upper()}EXAMPLE",
        "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
        "AssumeRolePolicyDocument": trust
        or {
            "Version": V2012,
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        },
        "RolePolicyList": list(inline_policies),
        "AttachedManagedPolicies": attached(*managed),
        "Tags": _tags(tags),
    }
    if boundary is not None:
        entry["PermissionsBoundary"] = _boundary(boundary)
    return entry


def group(
    name: str,
    *,
    inline_policies: Sequence[Doc] = (),
    managed: Sequence[Doc] = (),
) -> Doc:
    return {
        "Path": "/",
        "GroupName": name,
        "GroupId": f"AGPA{name.upper()}EXAMPLE",
        "Arn": f"arn:aws:iam::{ACCOUNT}:group/{name}",
        "GroupPolicyList": list(inline_policies),
        "AttachedManagedPolicies": attached(*managed),
    }


def auth_details(
    *,
    users: Sequence[Doc] = (),
    roles: Sequence[Doc] = (),
    groups: Sequence[Doc] = (),
    policies: Sequence[Doc] = (),
) -> Doc:
    return {
        "UserDetailList": list(users),
        "GroupDetailList": list(groups),
        "RoleDetailList": list(roles),
        "Policies": list(policies),
    }


def snapshot(**kw: Any) -> AccountSnapshot:
    return AccountSnapshot.from_pages([auth_details(**kw)])


def user_arn(name: str = "alice") -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/{name}"


def role_arn(name: str = "restore") -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def user_with(*documents: Doc, boundary: Doc | None = None, tags: dict[str, str] | None = None) -> Principal:
    """User alice with one inline policy per document (named p0, p1, ...) and an optional boundary."""
    policies = [inline(f"p{index}", document) for index, document in enumerate(documents)]
    boundary_policy = managed_policy("Boundary", boundary) if boundary is not None else None
    snap = snapshot(
        users=[user("alice", inline_policies=policies, boundary=boundary_policy, tags=tags)],
        policies=[boundary_policy] if boundary_policy else [],
    )
    return snap.principal(user_arn("alice"))


def role_with(*documents: Doc, boundary: Doc | None = None, tags: dict[str, str] | None = None) -> Principal:
    """Role restore with one inline policy per document (named p0, p1, ...) and an optional boundary."""
    policies = [inline(f"p{index}", document) for index, document in enumerate(documents)]
    boundary_policy = managed_policy("Boundary", boundary) if boundary is not None else None
    snap = snapshot(
        roles=[role("restore", inline_policies=policies, boundary=boundary_policy, tags=tags)],
        policies=[boundary_policy] if boundary_policy else [],
    )
    return snap.principal(role_arn("restore"))


def scp_levels(*levels: list[object]) -> ScpLevels:
    """SCP levels from the organization root down to the account."""
    parsed = parse_scps([list(level) for level in levels])
    assert parsed is not None
    return parsed


ALLOW_ALL_SCP = {
    "Name": "FullAWSAccess",
    "Arn": "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess",
    "Content": doc(allow("*", "*")),
}
