"""CloudFormation resources before and after, as planned IAM changes.

A resource is compared with itself: CloudFormation changes what its template says and leaves the
rest (an inline policy or tag added by hand stays). Property semantics are those of the resource
type pages (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/
aws-resource-iam-role.html, ...-iam-user, -iam-group, -iam-policy, -iam-managedpolicy,
-iam-rolepolicy, -iam-userpolicy, -iam-grouppolicy, -iam-usertogroupaddition, and
aws-resource-organizations-policy.html). ``AWS::IAM::Policy`` puts an *inline* policy in each role,
user and group it names; ``AWS::IAM::ManagedPolicy`` is a customer managed policy attached to them.
A policy document with a value known only after deployment is unknown as a whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from restorewatch_cli.whatif.cfn_resolve import first_unknown
from restorewatch_cli.whatif.changes import (
    AddMember,
    Attach,
    AttachScp,
    CreateEntity,
    DeleteEntity,
    DeleteInline,
    DeletePolicy,
    DeleteScp,
    Detach,
    DetachScp,
    EntityKind,
    PutInline,
    PutPolicy,
    PutScp,
    RemoveMember,
    ScpRef,
    SetBoundary,
    SetTags,
    Unknown,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from restorewatch_cli.whatif.changes import Change, Name

__all__ = ["SUPPORTED_TYPES", "ResourceState", "resource_changes"]

_SCP_TYPE = "SERVICE_CONTROL_POLICY"
_ENTITIES = {
    "AWS::IAM::Role": EntityKind.ROLE,
    "AWS::IAM::User": EntityKind.USER,
    "AWS::IAM::Group": EntityKind.GROUP,
}
_OWNER_LISTS = (("Roles", EntityKind.ROLE), ("Users", EntityKind.USER), ("Groups", EntityKind.GROUP))
_SINGLE_OWNER = {
    "AWS::IAM::RolePolicy": ("RoleName", EntityKind.ROLE),
    "AWS::IAM::UserPolicy": ("UserName", EntityKind.USER),
    "AWS::IAM::GroupPolicy": ("GroupName", EntityKind.GROUP),
}


@dataclass(frozen=True, slots=True)
class ResourceState:
    """One side of a resource: its name or id as CloudFormation gives it (``Ref``), its resolved
    properties, and ``arn`` for a managed policy."""

    type: str
    name: Name
    properties: Mapping[str, Any] = field(default_factory=dict)
    path: Any = "/"
    arn: Name | None = None


def _document(value: Any, what: str) -> Any:
    """A policy document, or ``Unknown`` when any part of it is known only after deployment.

    One exception: a ``Resource`` or ``NotResource`` naming a resource the stack has not made yet
    (``!Sub ${Vault.Arn}/*``) is given a stand-in of the same shape (``arn:aws:s3:::<Vault>/*``).
    The real name is a name too, never a wildcard, so the statement covers the same actions on as
    much of ``*`` (some resources, not all) and every answer is the same.
    """
    unknown = first_unknown(value)
    if unknown is None:
        return value
    stood_in = _with_stand_ins(value)
    if stood_in is not None:
        return stood_in
    return Unknown(f"{what}#document", f"its policy document uses {unknown.what}")


def _stand_in(item: Any) -> Any:
    """``item`` with its unknown resource names stood in for, or None when one cannot be."""
    if isinstance(item, Unknown):
        return item.placeholder
    return None if first_unknown(item) is not None else item


def _with_stand_ins(document: Any) -> Any:
    if not isinstance(document, dict) or first_unknown(
        {k: v for k, v in document.items() if k != "Statement"}
    ):
        return None
    statements = document.get("Statement")
    listed = statements if isinstance(statements, list) else [statements]
    rewritten: list[Any] = []
    for statement in listed:
        if not isinstance(statement, dict):
            return None
        new: dict[str, Any] = {}
        for key, item in statement.items():
            if key in ("Resource", "NotResource"):
                items = [_stand_in(element) for element in (item if isinstance(item, list) else [item])]
                if any(element is None for element in items):
                    return None
                new[key] = items if isinstance(item, list) else items[0]
            elif first_unknown(item) is not None:
                return None  # an action, effect or condition nobody knows: no stand-in is the same
            else:
                new[key] = item
        rewritten.append(new)
    return {**document, "Statement": rewritten if isinstance(statements, list) else rewritten[0]}


def _names(values: Any) -> list[Name]:
    if isinstance(values, Unknown):
        return [values]
    return [value if isinstance(value, Unknown) else str(value) for value in values or ()]


def _inline_policies(properties: Mapping[str, Any], what: str) -> dict[str, Any]:
    policies: dict[str, Any] = {}
    for entry in properties.get("Policies") or ():
        if isinstance(entry, dict):
            name = entry.get("PolicyName")
            key = name if isinstance(name, str) else f"<{what}.Policies>"
            policies[key] = _document(entry.get("PolicyDocument"), f"{what} policy {key}")
    return policies


def _tags(properties: Mapping[str, Any]) -> Any:
    tags = properties.get("Tags")
    unknown = first_unknown(tags)
    if unknown is not None:
        return unknown
    return {str(tag.get("Key")): str(tag.get("Value", "")) for tag in tags or () if isinstance(tag, dict)}


class _Context:
    def __init__(self, logical_id: str, current_tags: Callable[[EntityKind, Name], dict[str, str] | None]):
        self.source = logical_id
        self.current_tags = current_tags


def _entity(context: _Context, before: ResourceState | None, after: ResourceState | None) -> Iterator[Change]:
    source = context.source
    kind = _ENTITIES[(after or before).type]  # type: ignore[union-attr]
    renamed = (
        before is not None and after is not None and (before.name != after.name or before.path != after.path)
    )
    if before is not None and (after is None or renamed):
        # a new name or path replaces the entity: CloudFormation creates the new one, deletes the old
        yield DeleteEntity(source, kind, before.name)
        before = None
    if after is None:
        return
    old = before.properties if before is not None else {}
    new = after.properties
    path = after.path if isinstance(after.path, str) else "/"
    yield CreateEntity(source, kind, after.name, path)
    if kind is not EntityKind.GROUP:
        tags = _tags(new)
        old_tags = _tags(old)
        if isinstance(tags, Unknown) or before is None:
            yield SetTags(source, kind, after.name, tags)
        elif tags != old_tags:
            # CloudFormation tags and untags what its template changed; other tags stay
            current = context.current_tags(kind, after.name) or {}
            merged = (
                {k: v for k, v in current.items() if k not in old_tags}
                if not isinstance(old_tags, Unknown)
                else {}
            )
            yield SetTags(source, kind, after.name, {**merged, **tags})
        boundary = new.get("PermissionsBoundary")
        if before is None or boundary != old.get("PermissionsBoundary"):
            yield SetBoundary(source, kind, after.name, boundary if boundary else None)
    old_inline, new_inline = _inline_policies(old, source), _inline_policies(new, source)
    for name in sorted(set(old_inline) - set(new_inline)):
        yield DeleteInline(source, kind, after.name, name)
    for name, document in new_inline.items():
        yield PutInline(source, kind, after.name, name, document)
    old_arns, new_arns = _names(old.get("ManagedPolicyArns")), _names(new.get("ManagedPolicyArns"))
    for arn in old_arns:
        if arn not in new_arns:
            yield Detach(source, kind, after.name, arn)
    for arn in new_arns:
        yield Attach(source, kind, after.name, arn)
    if kind is EntityKind.USER:
        old_groups, new_groups = _names(old.get("Groups")), _names(new.get("Groups"))
        for group in old_groups:
            if group not in new_groups:
                yield RemoveMember(source, after.name, group)
        for group in new_groups:
            yield AddMember(source, after.name, group)


def _owners(properties: Mapping[str, Any]) -> list[tuple[EntityKind, Name]]:
    return [(kind, owner) for key, kind in _OWNER_LISTS for owner in _names(properties.get(key))]


def _inline_policy(
    context: _Context, before: ResourceState | None, after: ResourceState | None
) -> Iterator[Change]:
    """``AWS::IAM::Policy``: one inline policy, embedded in every role, user and group it names."""
    source = context.source
    old_owners = _owners(before.properties) if before is not None else []
    new_owners = _owners(after.properties) if after is not None else []
    old_name = before.properties.get("PolicyName") if before is not None else None
    new_name = after.properties.get("PolicyName") if after is not None else None
    for kind, owner in old_owners:
        if (kind, owner) not in new_owners or old_name != new_name:
            yield DeleteInline(source, kind, owner, _name_of(old_name, source))
    if after is not None:
        document = _document(after.properties.get("PolicyDocument"), source)
        for kind, owner in new_owners:
            yield PutInline(source, kind, owner, _name_of(new_name, source), document)


def _name_of(value: Any, source: str) -> Name:
    if isinstance(value, str | Unknown):
        return value
    return Unknown(f"{source}.PolicyName", f"the policy name of {source}")


def _single_inline(
    context: _Context, before: ResourceState | None, after: ResourceState | None
) -> Iterator[Change]:
    source = context.source
    field_name, kind = _SINGLE_OWNER[(after or before).type]  # type: ignore[union-attr]
    old = (before.properties.get(field_name), before.properties.get("PolicyName")) if before else None
    new = (after.properties.get(field_name), after.properties.get("PolicyName")) if after else None
    if old is not None and old != new:
        yield DeleteInline(source, kind, _name_of(old[0], source), _name_of(old[1], source))
    if after is not None and new is not None:
        document = _document(after.properties.get("PolicyDocument"), source)
        yield PutInline(source, kind, _name_of(new[0], source), _name_of(new[1], source), document)


def _managed_policy(
    context: _Context, before: ResourceState | None, after: ResourceState | None
) -> Iterator[Change]:
    source = context.source
    if before is not None and (after is None or before.arn != after.arn):
        yield DeletePolicy(source, before.arn if before.arn is not None else before.name)
        before = None
    if after is None:
        return
    arn = after.arn if after.arn is not None else after.name
    yield PutPolicy(source, arn, after.name, _document(after.properties.get("PolicyDocument"), source))
    old_owners = _owners(before.properties) if before is not None else []
    new_owners = _owners(after.properties)
    for kind, owner in old_owners:
        if (kind, owner) not in new_owners:
            yield Detach(source, kind, owner, arn)
    for kind, owner in new_owners:
        yield Attach(source, kind, owner, arn)


def _group_addition(
    context: _Context, before: ResourceState | None, after: ResourceState | None
) -> Iterator[Change]:
    source = context.source
    old = (
        {(u, before.properties.get("GroupName")) for u in _names(before.properties.get("Users"))}
        if before
        else set()
    )
    new = (
        [(u, after.properties.get("GroupName")) for u in _names(after.properties.get("Users"))]
        if after
        else []
    )
    for user, group in sorted(old - set(new), key=str):
        yield RemoveMember(source, user, _name_of(group, source))
    for user, group in new:
        yield AddMember(source, user, _name_of(group, source))


def _content(value: Any, source: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value  # the engine names what is wrong with it
    return _document(value, source)


def _scp(context: _Context, before: ResourceState | None, after: ResourceState | None) -> Iterator[Change]:
    source = context.source
    is_scp = [s is not None and s.properties.get("Type", _SCP_TYPE) == _SCP_TYPE for s in (before, after)]
    old = before if is_scp[0] else None
    new = after if is_scp[1] else None
    if old is not None:
        ref = ScpRef(old.name, old.properties.get("Name"))
        targets = _names(old.properties.get("TargetIds"))
        kept = _names(new.properties.get("TargetIds")) if new is not None else []
        for target in targets:
            if target not in kept:
                yield DetachScp(source, ref, target)
        if new is None:
            yield DeleteScp(source, ref)
    if new is not None:
        ref = ScpRef(new.name, new.properties.get("Name"))
        yield PutScp(source, ref, _content(new.properties.get("Content"), source))
        for target in _names(new.properties.get("TargetIds")):
            yield AttachScp(source, ref, target)


_HANDLERS: dict[str, Callable[[_Context, ResourceState | None, ResourceState | None], Iterator[Change]]] = {
    "AWS::IAM::Role": _entity,
    "AWS::IAM::User": _entity,
    "AWS::IAM::Group": _entity,
    "AWS::IAM::Policy": _inline_policy,
    "AWS::IAM::ManagedPolicy": _managed_policy,
    "AWS::IAM::RolePolicy": _single_inline,
    "AWS::IAM::UserPolicy": _single_inline,
    "AWS::IAM::GroupPolicy": _single_inline,
    "AWS::IAM::UserToGroupAddition": _group_addition,
    "AWS::Organizations::Policy": _scp,
}
SUPPORTED_TYPES = frozenset(_HANDLERS)


def resource_changes(
    logical_id: str,
    before: ResourceState | None,
    after: ResourceState | None,
    *,
    current_tags: Callable[[EntityKind, Name], dict[str, str] | None],
) -> list[Change]:
    """The IAM changes of one resource going from ``before`` to ``after`` (None: absent)."""
    if before is not None and after is not None and before.type != after.type:
        return [
            *resource_changes(logical_id, before, None, current_tags=current_tags),
            *resource_changes(logical_id, None, after, current_tags=current_tags),
        ]
    kind = (after or before).type if (after or before) is not None else ""  # type: ignore[union-attr]
    handler = _HANDLERS.get(kind)
    if handler is None:
        return []
    return list(handler(_Context(logical_id, current_tags), before, after))
