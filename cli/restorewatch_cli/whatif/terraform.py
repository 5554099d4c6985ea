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

import re
from collections.abc import Mapping
from dataclasses import dataclass
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

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from restorewatch_cli.whatif.changes import Change, Name

__all__ = ["SUPPORTED_TYPES", "plan_changes"]

_SCP_TYPE = "SERVICE_CONTROL_POLICY"
_ENTITY_TYPES = {
    "aws_iam_user": EntityKind.USER,
    "aws_iam_role": EntityKind.ROLE,
    "aws_iam_group": EntityKind.GROUP,
}
_OWNER_FIELD = {EntityKind.USER: "user", EntityKind.ROLE: "role", EntityKind.GROUP: "group"}
_INDEX = re.compile(r"\[[^\]]*\]")
_NOTHING = frozenset({"no-op", "read", "forget"})


@dataclass(frozen=True, slots=True)
class _Resource:
    """One ``resource_changes[]`` entry."""

    address: str
    module: str  # "" for the root module, else "module.a.module.b" (instance keys dropped)
    type: str
    name: str
    actions: tuple[str, ...]
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    after_unknown: Mapping[str, Any]

    @property
    def config_key(self) -> tuple[str, str]:
        return self.module, f"{self.type}.{self.name}"


def _module_path(module_address: object) -> str:
    return _INDEX.sub("", module_address) if isinstance(module_address, str) else ""


def _check_plan(plan: object, origin: str) -> Mapping[str, Any]:
    if not isinstance(plan, Mapping) or "format_version" not in plan:
        raise InputError(
            f"{origin} is not a Terraform plan: expected the JSON of `terraform show -json PLANFILE` "
            "(an object with format_version and resource_changes)"
        )
    version = plan["format_version"]
    if not isinstance(version, str) or version.split(".", 1)[0] != "1":
        # https://developer.hashicorp.com/terraform/internals/json-format: "Reject any input which
        # reports an unsupported major version."
        raise InputError(f"{origin}: plan format_version {version!r} is not supported (1.x only)")
    if "planned_values" not in plan and "resource_changes" not in plan:
        if "values" in plan:
            raise InputError(
                f"{origin} is Terraform state, not a plan: run `terraform plan -out PLANFILE` and "
                "`terraform show -json PLANFILE`"
            )
        raise InputError(f"{origin} is not a Terraform plan: it has no planned_values or resource_changes")
    if plan.get("errored") is True:
        raise InputError(f"{origin}: the plan errored (Terraform could not finish it); fix the plan first")
    deferred = [
        str(entry.get("resource_change", {}).get("address"))
        for entry in plan.get("deferred_changes") or ()
        if isinstance(entry, Mapping)
        and str(entry.get("resource_change", {}).get("type", "")) in SUPPORTED_TYPES
    ]
    if deferred:
        raise InputError(
            f"{origin}: Terraform deferred IAM changes it could not plan yet ({', '.join(deferred)}); "
            "what-if needs a complete plan"
        )
    return plan


def _resources(plan: Mapping[str, Any], origin: str) -> list[_Resource]:
    changes = plan.get("resource_changes") or []
    if not isinstance(changes, list):
        raise InputError(f"{origin}: resource_changes is not a list")
    found: list[_Resource] = []
    for number, entry in enumerate(changes):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("change"), Mapping):
            raise InputError(f"{origin}: resource_changes[{number}] has no change object")
        change = entry["change"]
        actions = change.get("actions")
        if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
            raise InputError(f"{origin}: resource_changes[{number}].change.actions is not a list of words")
        before, after = change.get("before"), change.get("after")
        unknown = change.get("after_unknown")
        found.append(
            _Resource(
                address=str(entry.get("address", f"resource_changes[{number}]")),
                module=_module_path(entry.get("module_address")),
                type=str(entry.get("type", "")),
                name=str(entry.get("name", "")),
                actions=tuple(actions) if entry.get("mode", "managed") == "managed" else ("read",),
                before=before if isinstance(before, Mapping) else None,
                after=after if isinstance(after, Mapping) else None,
                after_unknown=unknown if isinstance(unknown, Mapping) else {},
            )
        )
    return found


def _config_index(plan: Mapping[str, Any]) -> dict[tuple[str, str], Mapping[str, Any]]:
    """(module path, ``type.name``) -> that resource's ``expressions`` in the configuration."""
    index: dict[tuple[str, str], Mapping[str, Any]] = {}

    def walk(module: Mapping[str, Any], path: str) -> None:
        for resource in module.get("resources") or ():
            if isinstance(resource, Mapping) and resource.get("mode", "managed") == "managed":
                expressions = resource.get("expressions")
                index[path, str(resource.get("address"))] = (
                    expressions if isinstance(expressions, Mapping) else {}
                )
        for name, call in (module.get("module_calls") or {}).items():
            child = call.get("module") if isinstance(call, Mapping) else None
            if isinstance(child, Mapping):
                walk(child, f"{path}.module.{name}" if path else f"module.{name}")

    configuration = plan.get("configuration")
    root = configuration.get("root_module") if isinstance(configuration, Mapping) else None
    if isinstance(root, Mapping):
        walk(root, "")
    return index


class _Plan:
    """The plan's resources, their configuration, and how to read one attribute of each."""

    def __init__(self, plan: Mapping[str, Any], origin: str, account: str) -> None:
        self.account = account
        self.resources = _resources(plan, origin)
        self.config = _config_index(plan)
        self.has_config = bool(self.config)
        self.by_config: dict[tuple[str, str], list[_Resource]] = {}
        for resource in self.resources:
            self.by_config.setdefault(resource.config_key, []).append(resource)

    # -- values --------------------------------------------------------------------------------

    def configured(self, resource: _Resource, attribute: str) -> bool:
        """Whether the configuration sets ``attribute`` (an exclusive setting only counts then)."""
        if not self.has_config:
            return attribute in (resource.after or {}) or attribute in resource.after_unknown
        return attribute in self.config.get(resource.config_key, {})

    def value(self, resource: _Resource, attribute: str, expected: str | None = None) -> Any:
        """``after[attribute]``; an unknown value followed to the plan resource it references
        (``expected``: the attribute of that resource it must be), else ``Unknown``."""
        if resource.after_unknown.get(attribute) is True:
            followed = self._follow(resource, attribute, expected)
            if followed is not None:
                return followed
            return self.unknown(resource, attribute)
        value = (resource.after or {}).get(attribute)
        marks = resource.after_unknown.get(attribute)
        if isinstance(value, list) and isinstance(marks, list):
            # an unknown list or set element is null in after and true in after_unknown
            return [
                self.unknown(resource, f"{attribute}[{i}]") if i < len(marks) and marks[i] is True else item
                for i, item in enumerate(value)
            ]
        return value

    def unknown(self, resource: _Resource, attribute: str) -> Unknown:
        return Unknown(
            f"{resource.address}.{attribute}", f"{resource.address}.{attribute}, known after apply"
        )

    def attribute(self, resource: _Resource, attribute: str) -> Any:
        """An attribute of a plan resource as others see it: what it plans, or what IAM will make of
        it when that can be told in advance (an ARN from path and name), or ``Unknown``."""
        after = resource.after or {}
        if resource.after_unknown.get(attribute) is not True and attribute in after:
            return after[attribute]
        name = after.get("name")
        if attribute == "arn" and isinstance(name, str) and resource.after_unknown.get("name") is not True:
            kind = {"aws_iam_policy": "policy", **{t: k.value for t, k in _ENTITY_TYPES.items()}}.get(
                resource.type
            )
            path = after.get("path") if isinstance(after.get("path"), str) else "/"
            if kind is not None and self.account and resource.after_unknown.get("path") is not True:
                return f"arn:aws:iam::{self.account}:{kind}{path}{name}"
        return self.unknown(resource, attribute)

    def _follow(self, resource: _Resource, attribute: str, expected: str | None) -> Any:
        expression = self.config.get(resource.config_key, {}).get(attribute)
        if expected is None or not isinstance(expression, Mapping):
            return None
        references = expression.get("references")
        if not isinstance(references, list):
            return None
        # only a plain reference to one resource is followed ("aws_iam_policy.x.arn", listed with
        # "aws_iam_policy.x"): anything that also uses a variable or another resource is not its value
        targets: dict[str, str] = {}  # referenced address -> attribute
        for reference in references:
            parts = str(reference).split(".")
            if parts[0] in ("var", "local", "each", "count", "path", "module", "data", "self", "terraform"):
                return None
            if len(parts) >= 3:
                targets.setdefault(f"{parts[0]}.{parts[1]}", parts[2])
        if len(targets) != 1 or any(
            str(r).split(".")[:2] != next(iter(targets)).split(".")[:2] for r in references
        ):
            return None
        ((address, referenced),) = targets.items()
        if _INDEX.sub("", referenced) != expected and not (
            referenced == "id" and expected in ("name", "arn")
        ):
            return None
        plain, _, key = address.partition("[")
        instances = self.by_config.get((resource.module, _INDEX.sub("", plain)), [])
        if key:
            instances = [r for r in instances if r.address.endswith(f"{plain}[{key}")]
        if len(instances) != 1:
            return None
        return self.attribute(instances[0], expected)


# -- per resource type ------------------------------------------------------------------------------


def _tags(plan: _Plan, resource: _Resource) -> Any:
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


def _entity(plan: _Plan, resource: _Resource, removing: bool, adding: bool) -> Iterator[Change]:
    kind = _ENTITY_TYPES[resource.type]
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


def _role_exclusives(plan: _Plan, resource: _Resource, name: Name) -> Iterator[Change]:
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


def _inline(plan: _Plan, resource: _Resource, removing: bool, adding: bool) -> Iterator[Change]:
    kind = _ENTITY_TYPES["aws_iam_" + resource.type.removeprefix("aws_iam_").split("_")[0]]
    owner_field = _OWNER_FIELD[kind]
    if removing and resource.before is not None:
        before = resource.before
        yield DeleteInline(resource.address, kind, str(before.get(owner_field)), str(before.get("name")))
    if adding and resource.after is not None:
        owner = plan.value(resource, owner_field, "name")
        name = plan.value(resource, "name")
        yield PutInline(resource.address, kind, owner, name, plan.value(resource, "policy"))


def _attachment(plan: _Plan, resource: _Resource, removing: bool, adding: bool) -> Iterator[Change]:
    kind = _ENTITY_TYPES["aws_iam_" + resource.type.removeprefix("aws_iam_").split("_")[0]]
    owner_field = _OWNER_FIELD[kind]
    if removing and resource.before is not None:
        before = resource.before
        yield Detach(resource.address, kind, str(before.get(owner_field)), str(before.get("policy_arn")))
    if adding and resource.after is not None:
        owner = plan.value(resource, owner_field, "name")
        yield Attach(resource.address, kind, owner, plan.value(resource, "policy_arn", "arn"))


def _exclusive(plan: _Plan, resource: _Resource, removing: bool, adding: bool) -> Iterator[Change]:
    """aws_iam_{role,user,group}_policies_exclusive and ..._policy_attachments_exclusive: the
    inline policy names or managed policy ARNs the entity keeps; destroying one stops managing."""
    kind_word, _, what = resource.type.removeprefix("aws_iam_").partition("_")
    kind = _ENTITY_TYPES[f"aws_iam_{kind_word}"]
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


def _user_groups(plan: _Plan, resource: _Resource, removing: bool, adding: bool) -> Iterator[Change]:
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


def _group_members(plan: _Plan, resource: _Resource, removing: bool, adding: bool) -> Iterator[Change]:
    source = resource.address
    if removing and resource.before is not None:
        group = str(resource.before.get("group"))
        for user in resource.before.get("users") or ():
            yield RemoveMember(source, str(user), group)
    if adding and resource.after is not None:
        group_name = plan.value(resource, "group", "name")
        users = _names(plan.value(resource, "users", "name"))
        yield SetMembers(source, group_name, users)


def _policy(plan: _Plan, resource: _Resource, removing: bool, adding: bool) -> Iterator[Change]:
    if removing and resource.before is not None:
        yield DeletePolicy(resource.address, str(resource.before.get("arn")))
    if adding and resource.after is not None:
        arn = plan.attribute(resource, "arn")
        yield PutPolicy(resource.address, arn, plan.value(resource, "name"), plan.value(resource, "policy"))


def _policy_attachment(plan: _Plan, resource: _Resource, removing: bool, adding: bool) -> Iterator[Change]:
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


def _scp(plan: _Plan, resource: _Resource, removing: bool, adding: bool) -> Iterator[Change]:
    if removing and _is_scp(resource.before):
        assert resource.before is not None
        yield DeleteScp(resource.address, ScpRef(str(resource.before.get("id")), resource.before.get("name")))
    if adding and _is_scp(resource.after):
        ref = ScpRef(plan.attribute(resource, "id"), plan.value(resource, "name"))
        yield PutScp(resource.address, ref, plan.value(resource, "content"))


def _scp_ref(plan: _Plan, resource: _Resource, policy_id: Any) -> ScpRef | None:
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


def _scp_attachment(plan: _Plan, resource: _Resource, removing: bool, adding: bool) -> Iterator[Change]:
    if removing and resource.before is not None:
        ref = _scp_ref(plan, resource, str(resource.before.get("policy_id")))
        if ref is not None:
            yield DetachScp(resource.address, ref, str(resource.before.get("target_id")))
    if adding and resource.after is not None:
        ref = _scp_ref(plan, resource, plan.value(resource, "policy_id", "id"))
        if ref is not None:
            yield AttachScp(resource.address, ref, plan.value(resource, "target_id", "id"))


_HANDLERS: dict[str, Callable[[_Plan, _Resource, bool, bool], Iterator[Change]]] = {
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
    checked = _check_plan(plan, origin)
    reader = _Plan(checked, origin, account)
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
