"""A Terraform plan (``terraform show -json PLAN``) read as planned IAM changes.

https://developer.hashicorp.com/terraform/internals/json-format: ``resource_changes[]`` gives each
resource instance's ``change.actions`` with ``before`` (the state) and ``after`` (the plan);
``after_unknown`` marks the values known only after apply (they are left out of ``after``, and an
unknown list element is null there). A value Terraform cannot know is followed, when the
configuration says where it comes from (``configuration...expressions.<attribute>.references``),
to the resource of the same plan that makes it: the policy an attachment names by
``aws_iam_policy.x.arn`` is the document ``aws_iam_policy.x`` plans. Otherwise it is ``Unknown``.

Attribute semantics are the AWS provider's (https://registry.terraform.io/providers/hashicorp/aws/
latest/docs): ``aws_iam_role.inline_policy`` and ``managed_policy_arns`` are exclusive once
configured, ``aws_iam_group_membership`` and ``aws_iam_policy_attachment`` are exclusive for their
group and policy, ``aws_iam_user_group_membership`` is not, ``tags_all`` includes the provider's
``default_tags``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from restorewatch.errors import InputError
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
    KeepInlines,
    PutInline,
    PutPolicy,
    PutScp,
    RemoveMember,
    ScpRef,
    SetAttached,
    SetBoundary,
    SetInlines,
    SetMembers,
    SetPolicyHolders,
    SetTags,
    Unknown,
)
from restorewatch_cli.whatif.terraform_plan import ENTITY_TYPES, PlanReader, check_plan

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from restorewatch_cli.whatif.changes import Change, Name
    from restorewatch_cli.whatif.terraform_plan import PlanResource

__all__ = ["SUPPORTED_TYPES", "plan_changes"]


_SCP_TYPE = "SERVICE_CONTROL_POLICY"
_OWNER_FIELD = {EntityKind.USER: "user", EntityKind.ROLE: "role", EntityKind.GROUP: "group"}
_NOTHING = frozenset({"no-op", "read", "forget"})

# -- per resource type ------------------------------------------------------------------------------


def _tags(plan: PlanReader, resource: PlanResource) -> Any:
    after = resource.after or {}
    if "tags_all" in after or resource.after_unknown.get("tags_all") is True:
        value = plan.value(resource, "tags_all")
    else:
        value = plan.value(resource, "tags")
    if isinstance(value, Unknown):
        return value
    if isinstance(value, Mapping):
        if any(v is None for v in value.values()) or isinstance(
            resource.after_unknown.get("tags_all"), Mapping
        ):
            marks = resource.after_unknown.get("tags_all") or resource.after_unknown.get("tags") or {}
            if any(mark is True for mark in marks.values()):
                return plan.unknown(resource, "tags_all")
        return {str(k): str(v) for k, v in value.items()}
    return {}


def _entity(plan: PlanReader, resource: PlanResource, removing: bool, adding: bool) -> Iterator[Change]:
    kind = ENTITY_TYPES[resource.type]
    source = resource.address
    if removing and resource.before is not None:
        yield DeleteEntity(source, kind, str(resource.before.get("name")))
    if not adding or resource.after is None:
        return
    name = plan.value(resource, "name")
    path = plan.value(resource, "path")
    yield CreateEntity(source, kind, name, path if isinstance(path, str) else "/")
    if kind is EntityKind.GROUP:
        return
    # a new (or replaced) entity starts bare; an updated one changes only what differs
    fresh = removing or resource.before is None
    before = resource.before or {}
    tags = _tags(plan, resource)
    before_tags = {str(k): str(v) for k, v in (before.get("tags_all") or before.get("tags") or {}).items()}
    if fresh or isinstance(tags, Unknown) or tags != before_tags:
        yield SetTags(source, kind, name, tags)
    boundary = plan.value(resource, "permissions_boundary", "arn")
    if boundary == "":
        boundary = None
    if fresh or isinstance(boundary, Unknown) or boundary != (before.get("permissions_boundary") or None):
        yield SetBoundary(source, kind, name, boundary)
    if kind is EntityKind.ROLE:
        yield from _role_exclusives(plan, resource, name)


def _role_exclusives(plan: PlanReader, resource: PlanResource, name: Name) -> Iterator[Change]:
    source = resource.address
    if plan.configured(resource, "inline_policy"):
        blocks = plan.value(resource, "inline_policy")
        marks = resource.after_unknown.get("inline_policy")
        if isinstance(blocks, Unknown):
            yield SetInlines(source, EntityKind.ROLE, name, blocks)
        else:
            policies: dict[str, Any] = {}
            for number, block in enumerate(blocks or ()):
                mark = marks[number] if isinstance(marks, list) and number < len(marks) else {}
                if not isinstance(block, Mapping) or mark is True:
                    yield SetInlines(source, EntityKind.ROLE, name, plan.unknown(resource, "inline_policy"))
                    return
                mark = mark if isinstance(mark, Mapping) else {}
                policy_name = block.get("name")
                if not policy_name and mark.get("name") is not True:
                    continue  # an empty inline_policy {} block: "remove every inline policy"
                key: Name = (
                    str(policy_name)
                    if mark.get("name") is not True
                    else plan.unknown(resource, f"inline_policy[{number}].name")
                )
                document = (
                    plan.unknown(resource, f"inline_policy[{number}].policy")
                    if mark.get("policy") is True
                    else block.get("policy")
                )
                policies[str(key) if isinstance(key, str) else f"<{key.key}>"] = document
            yield SetInlines(source, EntityKind.ROLE, name, policies)
    if plan.configured(resource, "managed_policy_arns"):
        arns = _names(plan.value(resource, "managed_policy_arns", "arn"))
        yield SetAttached(source, EntityKind.ROLE, name, arns)


def _inline(plan: PlanReader, resource: PlanResource, removing: bool, adding: bool) -> Iterator[Change]:
    kind = ENTITY_TYPES["aws_iam_" + resource.type.removeprefix("aws_iam_").split("_")[0]]
    owner_field = _OWNER_FIELD[kind]
    if removing and resource.before is not None:
        before = resource.before
        yield DeleteInline(resource.address, kind, str(before.get(owner_field)), str(before.get("name")))
    if adding and resource.after is not None:
        owner = plan.value(resource, owner_field, "name")
        name = plan.value(resource, "name")
        yield PutInline(resource.address, kind, owner, name, plan.value(resource, "policy"))


def _attachment(plan: PlanReader, resource: PlanResource, removing: bool, adding: bool) -> Iterator[Change]:
    kind = ENTITY_TYPES["aws_iam_" + resource.type.removeprefix("aws_iam_").split("_")[0]]
    owner_field = _OWNER_FIELD[kind]
    if removing and resource.before is not None:
        before = resource.before
        yield Detach(resource.address, kind, str(before.get(owner_field)), str(before.get("policy_arn")))
    if adding and resource.after is not None:
        owner = plan.value(resource, owner_field, "name")
        yield Attach(resource.address, kind, owner, plan.value(resource, "policy_arn", "arn"))


def _exclusive(plan: PlanReader, resource: PlanResource, removing: bool, adding: bool) -> Iterator[Change]:
    """aws_iam_{role,user,group}_policies_exclusive and ..._policy_attachments_exclusive: the
    inline policy names or managed policy ARNs the entity keeps; destroying one stops managing."""
    kind_word, _, what = resource.type.removeprefix("aws_iam_").partition("_")
    kind = ENTITY_TYPES[f"aws_iam_{kind_word}"]
    if not adding or resource.after is None:
        return
    owner = plan.value(resource, f"{kind_word}_name", "name")
    if what == "policies_exclusive":
        yield KeepInlines(resource.address, kind, owner, _names(plan.value(resource, "policy_names")))
    else:
        yield SetAttached(resource.address, kind, owner, _names(plan.value(resource, "policy_arns", "arn")))


def _names(value: Any) -> Any:
    """A set of names or ARNs; one followed reference stands for a set of one."""
    if isinstance(value, Unknown):
        return value
    if isinstance(value, str):
        return frozenset({value})
    return frozenset(item if isinstance(item, str | Unknown) else str(item) for item in value or ())


def _user_groups(plan: PlanReader, resource: PlanResource, removing: bool, adding: bool) -> Iterator[Change]:
    before_groups = set((resource.before or {}).get("groups") or ())
    source = resource.address
    if resource.before is not None:
        user = str(resource.before.get("user"))
        keep: set[str] = set()
        if not removing and resource.after is not None:
            after_groups = _names(plan.value(resource, "groups", "name"))
            keep = (
                {g for g in after_groups or () if isinstance(g, str)}
                if not isinstance(after_groups, Unknown)
                else set()
            )
        for group in sorted(before_groups - keep):
            yield RemoveMember(source, user, group)
    if adding and resource.after is not None:
        user_name = plan.value(resource, "user", "name")
        groups = _names(plan.value(resource, "groups", "name"))
        if isinstance(groups, Unknown):
            yield AddMember(source, user_name, groups)
            return
        for group in sorted(groups, key=str):
            yield AddMember(source, user_name, group)


def _group_members(
    plan: PlanReader, resource: PlanResource, removing: bool, adding: bool
) -> Iterator[Change]:
    source = resource.address
    if removing and resource.before is not None:
        group = str(resource.before.get("group"))
        for user in resource.before.get("users") or ():
            yield RemoveMember(source, str(user), group)
    if adding and resource.after is not None:
        group_name = plan.value(resource, "group", "name")
        users = _names(plan.value(resource, "users", "name"))
        yield SetMembers(source, group_name, users)


def _policy(plan: PlanReader, resource: PlanResource, removing: bool, adding: bool) -> Iterator[Change]:
    if removing and resource.before is not None:
        yield DeletePolicy(resource.address, str(resource.before.get("arn")))
    if adding and resource.after is not None:
        arn = plan.attribute(resource, "arn")
        yield PutPolicy(resource.address, arn, plan.value(resource, "name"), plan.value(resource, "policy"))


def _policy_attachment(
    plan: PlanReader, resource: PlanResource, removing: bool, adding: bool
) -> Iterator[Change]:
    source = resource.address
    if removing and resource.before is not None:
        arn = str(resource.before.get("policy_arn"))
        for kind, field in (
            (EntityKind.USER, "users"),
            (EntityKind.ROLE, "roles"),
            (EntityKind.GROUP, "groups"),
        ):
            for owner in resource.before.get(field) or ():
                yield Detach(source, kind, str(owner), arn)
    if adding and resource.after is not None:
        yield SetPolicyHolders(
            source,
            plan.value(resource, "policy_arn", "arn"),
            _names(plan.value(resource, "users", "name")),
            _names(plan.value(resource, "roles", "name")),
            _names(plan.value(resource, "groups", "name")),
        )


def _is_scp(values: Mapping[str, Any] | None) -> bool:
    return values is not None and (values.get("type") or _SCP_TYPE) == _SCP_TYPE


def _scp(plan: PlanReader, resource: PlanResource, removing: bool, adding: bool) -> Iterator[Change]:
    if removing and _is_scp(resource.before):
        assert resource.before is not None
        yield DeleteScp(resource.address, ScpRef(str(resource.before.get("id")), resource.before.get("name")))
    if adding and _is_scp(resource.after):
        ref = ScpRef(plan.attribute(resource, "id"), plan.value(resource, "name"))
        yield PutScp(resource.address, ref, plan.value(resource, "content"))


def _scp_ref(plan: PlanReader, resource: PlanResource, policy_id: Any) -> ScpRef | None:
    """The SCP an attachment names, with its name when the plan has it; None for another type."""
    for candidate in plan.resources:
        if candidate.type != "aws_organizations_policy":
            continue
        for values in (candidate.after, candidate.before):
            if values is None:
                continue
            same = values.get("id") == policy_id or (
                isinstance(policy_id, Unknown) and policy_id.key == f"{candidate.address}.id"
            )
            if same:
                return ScpRef(policy_id, values.get("name")) if _is_scp(values) else None
    return ScpRef(policy_id)


def _scp_attachment(
    plan: PlanReader, resource: PlanResource, removing: bool, adding: bool
) -> Iterator[Change]:
    if removing and resource.before is not None:
        ref = _scp_ref(plan, resource, str(resource.before.get("policy_id")))
        if ref is not None:
            yield DetachScp(resource.address, ref, str(resource.before.get("target_id")))
    if adding and resource.after is not None:
        ref = _scp_ref(plan, resource, plan.value(resource, "policy_id", "id"))
        if ref is not None:
            yield AttachScp(resource.address, ref, plan.value(resource, "target_id", "id"))


_HANDLERS: dict[str, Callable[[PlanReader, PlanResource, bool, bool], Iterator[Change]]] = {
    "aws_iam_user": _entity,
    "aws_iam_role": _entity,
    "aws_iam_group": _entity,
    "aws_iam_role_policy": _inline,
    "aws_iam_user_policy": _inline,
    "aws_iam_group_policy": _inline,
    "aws_iam_role_policy_attachment": _attachment,
    "aws_iam_user_policy_attachment": _attachment,
    "aws_iam_group_policy_attachment": _attachment,
    "aws_iam_user_group_membership": _user_groups,
    "aws_iam_group_membership": _group_members,
    "aws_iam_policy": _policy,
    "aws_iam_policy_attachment": _policy_attachment,
    "aws_iam_role_policies_exclusive": _exclusive,
    "aws_iam_user_policies_exclusive": _exclusive,
    "aws_iam_group_policies_exclusive": _exclusive,
    "aws_iam_role_policy_attachments_exclusive": _exclusive,
    "aws_iam_user_policy_attachments_exclusive": _exclusive,
    "aws_iam_group_policy_attachments_exclusive": _exclusive,
    "aws_organizations_policy": _scp,
    "aws_organizations_policy_attachment": _scp_attachment,
}
SUPPORTED_TYPES = frozenset(_HANDLERS)


def plan_changes(plan: object, *, origin: str, account: str) -> list[Change]:
    """The IAM changes of a plan (``origin`` names it in errors; ``account`` predicts ARNs)."""
    checked = check_plan(plan, origin, SUPPORTED_TYPES)
    reader = PlanReader(checked, origin, account)
    changes: list[Change] = []
    for resource in reader.resources:
        handler = _HANDLERS.get(resource.type)
        actions = set(resource.actions)
        if handler is None or actions <= _NOTHING:
            continue
        unknown = actions - {"create", "update", "delete", *_NOTHING}
        if unknown:
            raise InputError(
                f"{origin}: {resource.address} has actions {sorted(unknown)} this reader does not know"
            )
        removing = "delete" in actions
        adding = "create" in actions or "update" in actions
        changes.extend(handler(reader, resource, removing, adding))
    return changes
