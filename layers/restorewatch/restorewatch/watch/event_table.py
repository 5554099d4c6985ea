"""The event table: every IAM, AWS Organizations, S3 and KMS call the watcher acts on, in one place.

Each ``EventRule`` says what one call can change (a ``TargetKind`` for IAM, an ``OrgScope`` for
Organizations, a ``ResourceScope`` for a bucket or key policy change, ``None`` when it cannot
change any effective permission), the request parameters it
must carry (the first of them, ``key``, names what it changed), the condition under which it has its
effect, and why. Everything that knows the event names derives from this table:

* the planners, ``watch.targets.plan_targets``, ``watch.org_events.plan_org_change`` and
  ``watch.resource_events.plan_resource_change``, which are
  also the one place a change is checked for its parameters (the parser accepts a record whose
  ``requestParameters`` is null or lacks one; the planner then re-checks the account, or every
  account, instead);
* template.yaml's ``IamChangeRule``, ``OrganizationsChangeRule`` and ``ResourcePolicyChangeRule``
  (and the IAM rule of
  templates/forwarder.yaml and templates/member-stackset.yaml) list exactly ``rule_event_names``
  (tests/template/test_template.py, tests/template/test_member_stackset.py);
* docs/events.md is generated from it (tests/unit/watch/test_event_table.py);
* events/ holds one sample per IAM event name (tests/unit/watch/test_events.py).

The IAM API reference (https://docs.aws.amazon.com/IAM/latest/APIReference/API_Operations.html)
and the Organizations API reference
(https://docs.aws.amazon.com/organizations/latest/APIReference/API_Operations.html) give the rules
the reasons below rely on: a non-default policy version grants nothing and the default one cannot be
deleted; a policy in use and a group with members or policies cannot be deleted (the detachments
and removals that must come first have their own events); ``UpdateUser`` with ``newUserName`` or
``newPath`` changes the user's ARN; ``EnablePolicyType``/``DisablePolicyType`` matter only for
``SERVICE_CONTROL_POLICY`` and ``RESOURCE_CONTROL_POLICY``; ``CreateAccountResult`` and
``CloseAccountResult`` are service-originated records (``eventType: AwsServiceEvent``) that no
rule of the template sends.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from restorewatch.domain import TargetKind

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "EVENT_TABLE",
    "IAM_EVENTS",
    "IAM_SOURCE",
    "KMS_SOURCE",
    "ORG_EVENTS",
    "ORG_SOURCE",
    "RESOURCE_EVENTS",
    "RESOURCE_SOURCES",
    "S3_SOURCE",
    "Condition",
    "EventRule",
    "OrgScope",
    "ResourceScope",
    "rule_event_names",
]

IAM_SOURCE = "iam.amazonaws.com"
ORG_SOURCE = "organizations.amazonaws.com"
S3_SOURCE = "s3.amazonaws.com"
KMS_SOURCE = "kms.amazonaws.com"
RESOURCE_SOURCES = (S3_SOURCE, KMS_SOURCE)


class OrgScope(enum.Enum):
    """The accounts an Organizations change can affect."""

    TARGETS = "targets"  # the accounts below each id in ``ids`` (root, OU or account ids)
    POLICY_TARGETS = "policy_targets"  # the accounts below every target of policy ``ids[0]``
    ALL = "all"  # every account of the organization
    NONE = "none"  # nothing that SCPs decide changed


class ResourceScope(enum.Enum):
    """The watched principals a bucket or key change can affect: those whose bound profile names it
    (the state remembers which, ``StoredState.resources``)."""

    BUCKET = "bucket"  # the principals bound to bucket ``bucketName`` (or its objects)
    KEY = "key"  # the principals bound to the KMS key ``keyId`` (an id, ARN or alias; resources[])


class Condition(enum.Enum):
    """When a call has its effect; the planners hold what each condition reads."""

    ALWAYS = "always"
    SET_AS_DEFAULT = "set_as_default"  # CreatePolicyVersion: only with setAsDefault
    CREATED_WATCHED = "created_watched"  # CreateUser/CreateRole: only with the watch tag
    TAGS_WATCHED = "tags_watched"  # TagUser/TagRole: adding the watch tag makes it watched
    RENAMED = "renamed"  # UpdateUser: only with newUserName or newPath; the old ARN is gone
    NEW_CONTENT = "new_content"  # UpdatePolicy: only with new content
    SCP_TYPE = "scp_type"  # Enable/DisablePolicyType: only for the SCP and RCP policy types


@dataclass(frozen=True, slots=True)
class EventRule:
    """One call: what it can change, the parameters it must carry, when, and why.

    ``reason`` is formatted with the call's ``requestParameters``, ``event`` (its name) and
    ``tag_key`` (the configured watch tag). ``watched_only``: the change can matter only to a
    principal the state already watches (``Target.watched_only``). ``in_rule``: the template's
    EventBridge rule sends it (a service-originated record is matched by none).
    """

    source: str
    section: str
    name: str
    changes: TargetKind | OrgScope | ResourceScope | None
    parameters: tuple[str, ...]
    reason: str
    when: Condition = Condition.ALWAYS
    watched_only: bool = True
    in_rule: bool = True
    note: str = ""  # what docs/events.md adds about the row

    @property
    def key(self) -> str | None:
        """The request parameter that names what the call changed (the first one it must carry)."""
        return self.parameters[0] if self.parameters else None

    def missing(self, parameters: Mapping[str, object]) -> str | None:
        """The first parameter the call must carry and does not (as a non-empty string)."""
        for name in self.parameters:
            value = parameters.get(name)
            if not isinstance(value, str) or not value:
                return name
        return None


def _iam(
    section: str,
    name: str,
    changes: TargetKind | None,
    parameters: tuple[str, ...],
    reason: str,
    *,
    when: Condition = Condition.ALWAYS,
    watched_only: bool = True,
) -> EventRule:
    return EventRule(IAM_SOURCE, section, name, changes, parameters, reason, when, watched_only)


def _org(
    name: str,
    changes: OrgScope | None,
    parameters: tuple[str, ...],
    reason: str,
    *,
    when: Condition = Condition.ALWAYS,
    in_rule: bool = True,
) -> EventRule:
    return EventRule(ORG_SOURCE, "SCPs and RCPs", name, changes, parameters, reason, when, in_rule=in_rule)


def _resource(
    source: str, section: str, name: str, scope: ResourceScope, reason: str, *, note: str = ""
) -> EventRule:
    key = "bucketName" if scope is ResourceScope.BUCKET else "keyId"
    return EventRule(source, section, name, scope, (key,), reason, note=note)


_BUCKET_POLICY, _KEY = "bucket policies", "key policies, key state and grants"
_ON_BUCKET = "{event} on bucket {bucketName}: the principals bound to it"
_ON_KEY = "{event} on key {keyId}: the principals bound to it"
_GRANTS = "grants are not evaluated (the key policy and IAM policies are): the re-check keeps the state fresh"
_KEY_STATE = "a key that is not Enabled cannot decrypt: its cryptographic actions are denied"

_USER, _ROLE, _GROUP = TargetKind.USER, TargetKind.ROLE, TargetKind.GROUP_MEMBERS
_ON_USER, _ON_ROLE = "{event} on user {userName}", "{event} on role {roleName}"
_ON_GROUP = "{event} on group {groupName}: its members"
_ENTITIES = "{event} on {policyArn}: the principals that attach it or use it as boundary"

EVENT_TABLE: tuple[EventRule, ...] = (
    # users
    _iam("users", "CreateUser", _USER, ("userName",), "{event} {userName} with the {tag_key} tag",
         when=Condition.CREATED_WATCHED, watched_only=False),
    _iam("users", "DeleteUser", TargetKind.USER_GONE, ("userName",), "{event} {userName}"),
    _iam("users", "UpdateUser", _USER, ("userName",), "{event} {userName}", when=Condition.RENAMED),
    _iam("users", "AttachUserPolicy", _USER, ("userName",), _ON_USER),
    _iam("users", "DetachUserPolicy", _USER, ("userName",), _ON_USER),
    _iam("users", "PutUserPolicy", _USER, ("userName",), _ON_USER),
    _iam("users", "DeleteUserPolicy", _USER, ("userName",), _ON_USER),
    _iam("users", "PutUserPermissionsBoundary", _USER, ("userName",), _ON_USER),
    _iam("users", "DeleteUserPermissionsBoundary", _USER, ("userName",), _ON_USER),
    # a new watch tag makes the principal watched; other tags can change aws:PrincipalTag conditions
    _iam("users", "TagUser", _USER, ("userName",), "{event} {userName}", when=Condition.TAGS_WATCHED),
    # removing the watch tag makes a watched principal UNWATCHED: the state knows if it was watched
    _iam("users", "UntagUser", _USER, ("userName",), "{event} {userName}"),
    # groups and membership
    _iam("groups and membership", "AddUserToGroup", _USER, ("userName", "groupName"),
         "{event} {groupName} for user {userName}"),
    _iam("groups and membership", "RemoveUserFromGroup", _USER, ("userName", "groupName"),
         "{event} {groupName} for user {userName}"),
    _iam("groups and membership", "AttachGroupPolicy", _GROUP, ("groupName",), _ON_GROUP, watched_only=False),
    _iam("groups and membership", "DetachGroupPolicy", _GROUP, ("groupName",), _ON_GROUP, watched_only=False),
    _iam("groups and membership", "PutGroupPolicy", _GROUP, ("groupName",), _ON_GROUP, watched_only=False),
    _iam("groups and membership", "DeleteGroupPolicy", _GROUP, ("groupName",), _ON_GROUP, watched_only=False),
    _iam("groups and membership", "DeleteGroup", None, ("groupName",),
         "{event}: a group with members or policies cannot be deleted; removals come first"),
    # roles
    _iam("roles", "CreateRole", _ROLE, ("roleName",), "{event} {roleName} with the {tag_key} tag",
         when=Condition.CREATED_WATCHED, watched_only=False),
    _iam("roles", "DeleteRole", TargetKind.ROLE_GONE, ("roleName",), "{event} {roleName}"),
    # UpdateRole (description, max session duration) grants nothing; a watched role is re-checked anyway
    _iam("roles", "UpdateRole", _ROLE, ("roleName",), "{event} {roleName}"),
    _iam("roles", "AttachRolePolicy", _ROLE, ("roleName",), _ON_ROLE),
    _iam("roles", "DetachRolePolicy", _ROLE, ("roleName",), _ON_ROLE),
    _iam("roles", "PutRolePolicy", _ROLE, ("roleName",), _ON_ROLE),
    _iam("roles", "DeleteRolePolicy", _ROLE, ("roleName",), _ON_ROLE),
    _iam("roles", "PutRolePermissionsBoundary", _ROLE, ("roleName",), _ON_ROLE),
    _iam("roles", "DeleteRolePermissionsBoundary", _ROLE, ("roleName",), _ON_ROLE),
    _iam("roles", "TagRole", _ROLE, ("roleName",), "{event} {roleName}", when=Condition.TAGS_WATCHED),
    _iam("roles", "UntagRole", _ROLE, ("roleName",), "{event} {roleName}"),
    # managed policies
    _iam("managed policies", "CreatePolicyVersion", TargetKind.POLICY_ENTITIES, ("policyArn",), _ENTITIES,
         when=Condition.SET_AS_DEFAULT, watched_only=False),
    _iam("managed policies", "DeletePolicyVersion", None, ("policyArn",),
         "{event}: the default version cannot be deleted, nothing in effect changed"),
    _iam("managed policies", "SetDefaultPolicyVersion", TargetKind.POLICY_ENTITIES, ("policyArn",), _ENTITIES,
         watched_only=False),
    _iam("managed policies", "DeletePolicy", None, ("policyArn",),
         "{event}: a policy in use cannot be deleted; its detachments have their own events"),
    # S3 and KMS (regional: the central rule hears them from us-east-1 and from the forwarders of
    # other Regions): the principals whose bound profile names the bucket or key
    _resource(S3_SOURCE, _BUCKET_POLICY, "PutBucketPolicy", ResourceScope.BUCKET, _ON_BUCKET),
    _resource(S3_SOURCE, _BUCKET_POLICY, "DeleteBucketPolicy", ResourceScope.BUCKET, _ON_BUCKET),
    _resource(KMS_SOURCE, _KEY, "PutKeyPolicy", ResourceScope.KEY, _ON_KEY),
    _resource(KMS_SOURCE, _KEY, "DisableKey", ResourceScope.KEY, _ON_KEY, note=_KEY_STATE),
    _resource(KMS_SOURCE, _KEY, "EnableKey", ResourceScope.KEY, _ON_KEY, note=_KEY_STATE),
    _resource(KMS_SOURCE, _KEY, "ScheduleKeyDeletion", ResourceScope.KEY, _ON_KEY, note=_KEY_STATE),
    _resource(KMS_SOURCE, _KEY, "CancelKeyDeletion", ResourceScope.KEY, _ON_KEY, note=_KEY_STATE),
    _resource(KMS_SOURCE, _KEY, "CreateGrant", ResourceScope.KEY, _ON_KEY, note=_GRANTS),
    _resource(KMS_SOURCE, _KEY, "RevokeGrant", ResourceScope.KEY, _ON_KEY, note=_GRANTS),
    # Organizations (the management account's CloudTrail, us-east-1): the accounts whose SCPs or RCPs
    # changed. AttachPolicy/DetachPolicy do not say the policy's type: a tag or backup policy costs a
    # re-check (and an RCP's is one like an SCP's).
    _org("AttachPolicy", OrgScope.TARGETS, ("targetId", "policyId"), "{event} {policyId} on {targetId}"),
    _org("DetachPolicy", OrgScope.TARGETS, ("targetId", "policyId"), "{event} {policyId} on {targetId}"),
    _org("UpdatePolicy", OrgScope.POLICY_TARGETS, ("policyId",),
         "{event} {policyId}: the accounts below its targets", when=Condition.NEW_CONTENT),
    _org("DeletePolicy", None, ("policyId",), "{event}: an attached policy cannot be deleted"),
    _org("EnablePolicyType", OrgScope.ALL, ("rootId", "policyType"),
         "{event} {policyType} at {rootId}: every account", when=Condition.SCP_TYPE),
    _org("DisablePolicyType", OrgScope.ALL, ("rootId", "policyType"),
         "{event} {policyType} at {rootId}: every account", when=Condition.SCP_TYPE),
    # the account now sits under other OUs
    _org("MoveAccount", OrgScope.TARGETS, ("accountId",), "{event} {accountId}"),
    _org("CreateAccountResult", None, (),
         "{event}: a new account has no watched principal yet; the next sweep covers it", in_rule=False),
    _org("CloseAccountResult", None, (), "{event}: closing an account changes no other account's SCPs",
         in_rule=False),
)  # fmt: skip

IAM_EVENTS: Mapping[str, EventRule] = {rule.name: rule for rule in EVENT_TABLE if rule.source == IAM_SOURCE}
ORG_EVENTS: Mapping[str, EventRule] = {rule.name: rule for rule in EVENT_TABLE if rule.source == ORG_SOURCE}
RESOURCE_EVENTS: Mapping[tuple[str, str], EventRule] = {
    (rule.source, rule.name): rule for rule in EVENT_TABLE if rule.source in RESOURCE_SOURCES
}


def rule_event_names(source: str) -> frozenset[str]:
    """The ``eventName`` list of the template's EventBridge rule for ``source``."""
    return frozenset(rule.name for rule in EVENT_TABLE if rule.source == source and rule.in_rule)
