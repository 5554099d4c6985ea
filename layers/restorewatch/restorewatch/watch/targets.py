"""Which principals can an IAM change affect, and what must be read to know? (pure, no AWS calls)

``plan_targets`` maps one parsed CloudTrail change to a ``TargetPlan``: a few ``Target`` values
(a user, a role, the members of a group, the entities that use a managed policy, a principal that
is gone), or a sweep when the change cannot be mapped. The inventory resolves targets to principal
ARNs; the state decides what a ``gone`` target means (``DELETED`` only if it was watched).

IAM rules this mapping relies on (IAM API reference):
- a non-default policy version grants nothing, and the default version cannot be deleted
  (``CreatePolicyVersion`` without ``setAsDefault``, ``DeletePolicyVersion`` change nothing);
- ``DeletePolicy`` fails while the policy is attached or used as a boundary, and ``DeleteGroup``
  fails while the group has members or policies: the detachments and removals that must come
  first have their own events, so these two change nothing by themselves;
- ``UpdateUser`` with ``newUserName`` or ``newPath`` changes the user's ARN: the old ARN is gone;
- names of users, groups, roles and policies "are not distinguished by case"
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): CloudTrail records
  the name as the caller typed it, so ``veeamrestorerole`` names the role ``VeeamRestoreRole``
  (``Target.matches``).

This module is the one place that decides whether a change names what it must
(``REQUIRED_PARAMETERS``): the parser accepts a record whose ``requestParameters`` is null or lacks
the parameter, and ``plan_targets`` re-checks the whole account instead. A read-only call
(``readOnly: true``) never causes work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from restorewatch.domain import Target, TargetKind

if TYPE_CHECKING:
    from restorewatch.domain import CloudTrailChange


@dataclass(frozen=True, slots=True)
class TargetPlan:
    """The targets of one change. ``sweep``: cannot tell, re-check every tagged principal.

    An empty plan without ``sweep`` means the change cannot alter any effective permission.
    """

    targets: tuple[Target, ...]
    sweep: bool = False
    reason: str = ""

    @property
    def no_effect(self) -> bool:
        return not self.targets and not self.sweep


_USER_POLICY = frozenset({"AttachUserPolicy", "DetachUserPolicy", "PutUserPolicy", "DeleteUserPolicy"})
_ROLE_POLICY = frozenset({"AttachRolePolicy", "DetachRolePolicy", "PutRolePolicy", "DeleteRolePolicy"})
_GROUP_POLICY = frozenset({"AttachGroupPolicy", "DetachGroupPolicy", "PutGroupPolicy", "DeleteGroupPolicy"})
_USER_BOUNDARY = frozenset({"PutUserPermissionsBoundary", "DeleteUserPermissionsBoundary"})
_ROLE_BOUNDARY = frozenset({"PutRolePermissionsBoundary", "DeleteRolePermissionsBoundary"})

# every eventName the EventBridge rule sends (template.yaml); anything else is mapped to a sweep
KNOWN_EVENT_NAMES: frozenset[str] = (
    _USER_POLICY
    | _ROLE_POLICY
    | _GROUP_POLICY
    | _USER_BOUNDARY
    | _ROLE_BOUNDARY
    | frozenset(
        {
            "CreatePolicyVersion",
            "DeletePolicyVersion",
            "SetDefaultPolicyVersion",
            "DeletePolicy",
            "AddUserToGroup",
            "RemoveUserFromGroup",
            "DeleteGroup",
            "TagUser",
            "UntagUser",
            "TagRole",
            "UntagRole",
            "CreateUser",
            "DeleteUser",
            "UpdateUser",
            "CreateRole",
            "DeleteRole",
            "UpdateRole",
        }
    )
)

# the request parameters each event needs to be mapped: checked here only (``plan_targets``)
REQUIRED_PARAMETERS: Mapping[str, tuple[str, ...]] = {
    **dict.fromkeys(_USER_POLICY | _USER_BOUNDARY, ("userName",)),
    **dict.fromkeys(_ROLE_POLICY | _ROLE_BOUNDARY, ("roleName",)),
    **dict.fromkeys(_GROUP_POLICY, ("groupName",)),
    "CreatePolicyVersion": ("policyArn",),
    "DeletePolicyVersion": ("policyArn",),
    "SetDefaultPolicyVersion": ("policyArn",),
    "DeletePolicy": ("policyArn",),
    "AddUserToGroup": ("groupName", "userName"),
    "RemoveUserFromGroup": ("groupName", "userName"),
    "DeleteGroup": ("groupName",),
    "TagUser": ("userName",),
    "UntagUser": ("userName",),
    "TagRole": ("roleName",),
    "UntagRole": ("roleName",),
    "CreateUser": ("userName",),
    "DeleteUser": ("userName",),
    "UpdateUser": ("userName",),
    "CreateRole": ("roleName",),
    "DeleteRole": ("roleName",),
    "UpdateRole": ("roleName",),
}


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


def _tag_keys(tags: object) -> set[str]:
    """Keys of a CloudTrail ``tags`` list (``[{"key": .., "value": ..}]``; ``Key`` tolerated)."""
    keys: set[str] = set()
    if isinstance(tags, list):
        for tag in tags:
            if isinstance(tag, Mapping):
                key = tag.get("key", tag.get("Key"))
                if isinstance(key, str):
                    keys.add(key)
    return keys


def _sweep(reason: str) -> TargetPlan:
    return TargetPlan((), sweep=True, reason=reason)


def _nothing(reason: str) -> TargetPlan:
    return TargetPlan((), reason=reason)


def plan_targets(change: CloudTrailChange, tag_key: str) -> TargetPlan:
    """Map one CloudTrail IAM change to the principals it can affect."""
    name = change.event_name
    if change.error_code:
        return _nothing(f"{name} failed ({change.error_code}): nothing changed")
    if change.read_only:
        return _nothing(f"{name} is a read-only call: nothing changed")
    if change.event_source != "iam.amazonaws.com" or name not in KNOWN_EVENT_NAMES:
        return _sweep(f"{change.event_source} {name} is not mapped: sweep")
    params = change.request_parameters
    for key in REQUIRED_PARAMETERS.get(name, ()):
        if not isinstance(params.get(key), str) or not params.get(key):
            return _sweep(f"{name} without requestParameters.{key}: sweep")
    account = change.account

    def one(kind: TargetKind, value_key: str, reason: str, *, watched_only: bool = True) -> TargetPlan:
        target = Target(kind, str(params[value_key]), account, watched_only=watched_only, reason=reason)
        return TargetPlan((target,), reason=reason)

    if name in _USER_POLICY or name in _USER_BOUNDARY:
        return one(TargetKind.USER, "userName", f"{name} on user {params['userName']}")
    if name in _ROLE_POLICY or name in _ROLE_BOUNDARY:
        return one(TargetKind.ROLE, "roleName", f"{name} on role {params['roleName']}")
    if name in _GROUP_POLICY:
        return one(
            TargetKind.GROUP_MEMBERS,
            "groupName",
            f"{name} on group {params['groupName']}: its members",
            watched_only=False,
        )
    if name in ("AddUserToGroup", "RemoveUserFromGroup"):
        return one(TargetKind.USER, "userName", f"{name} {params['groupName']} for user {params['userName']}")
    if name in ("SetDefaultPolicyVersion", "CreatePolicyVersion"):
        if name == "CreatePolicyVersion" and not _truthy(params.get("setAsDefault")):
            return _nothing(f"{name} on {params['policyArn']} without setAsDefault: not in effect")
        return one(
            TargetKind.POLICY_ENTITIES,
            "policyArn",
            f"{name} on {params['policyArn']}: the principals that attach it or use it as boundary",
            watched_only=False,
        )
    if name == "DeletePolicyVersion":
        return _nothing(f"{name}: the default version cannot be deleted, nothing in effect changed")
    if name == "DeletePolicy":
        return _nothing(f"{name}: a policy in use cannot be deleted; its detachments have their own events")
    if name == "DeleteGroup":
        return _nothing(f"{name}: a group with members or policies cannot be deleted; removals come first")
    if name in ("TagUser", "TagRole"):
        kind = TargetKind.USER if name == "TagUser" else TargetKind.ROLE
        key = "userName" if kind is TargetKind.USER else "roleName"
        added = tag_key in _tag_keys(params.get("tags"))
        # a new watch tag makes the principal watched; other tags can change aws:PrincipalTag conditions
        return one(kind, key, f"{name} {params[key]}", watched_only=not added)
    if name in ("UntagUser", "UntagRole"):
        kind = TargetKind.USER if name == "UntagUser" else TargetKind.ROLE
        key = "userName" if kind is TargetKind.USER else "roleName"
        # removing the watch tag makes a watched principal UNWATCHED: the state knows if it was watched
        return one(kind, key, f"{name} {params[key]}")
    if name in ("CreateUser", "CreateRole"):
        kind = TargetKind.USER if name == "CreateUser" else TargetKind.ROLE
        key = "userName" if kind is TargetKind.USER else "roleName"
        if tag_key not in _tag_keys(params.get("tags")):
            return _nothing(f"{name} {params[key]} without the {tag_key} tag: not watched")
        return one(kind, key, f"{name} {params[key]} with the {tag_key} tag", watched_only=False)
    if name == "DeleteUser":
        return one(TargetKind.USER_GONE, "userName", f"{name} {params['userName']}")
    if name == "DeleteRole":
        return one(TargetKind.ROLE_GONE, "roleName", f"{name} {params['roleName']}")
    if name == "UpdateUser":
        old = str(params["userName"])
        new_name = params.get("newUserName")
        if not new_name and not params.get("newPath"):
            return _nothing(f"{name} {old} without a new name or path: nothing changed")
        new = str(new_name or old)
        reason = f"{name} {old} -> {new}" + (f" (path {params['newPath']})" if params.get("newPath") else "")
        return TargetPlan(
            (
                Target(TargetKind.USER_GONE, old, account, watched_only=True, reason=reason),
                Target(TargetKind.USER, new, account, watched_only=False, reason=reason),
            ),
            reason=reason,
        )
    # UpdateRole (description, max session duration) grants nothing; re-check a watched role anyway
    return one(TargetKind.ROLE, "roleName", f"{name} {params['roleName']}")


__all__ = [
    "KNOWN_EVENT_NAMES",
    "REQUIRED_PARAMETERS",
    "TargetPlan",
    "plan_targets",
]
