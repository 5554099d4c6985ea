"""A Terraform plan (``terraform show -json PLAN``) as data: its resources and how to read a value.

https://developer.hashicorp.com/terraform/internals/json-format: ``resource_changes[]`` gives each
resource instance's ``change.actions`` with ``before`` (the state) and ``after`` (the plan);
``after_unknown`` marks the values known only after apply (they are left out of ``after``, and an
unknown list element is null there). A value Terraform cannot know is followed, when the
configuration says where it comes from (``configuration...expressions.<attribute>.references``),
to the resource of the same plan that makes it: the policy an attachment names by
``aws_iam_policy.x.arn`` is the document ``aws_iam_policy.x`` plans. Otherwise it is ``Unknown``.
``whatif.terraform`` turns each resource into planned IAM changes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from restorewatch.errors import InputError
from restorewatch_cli.whatif.changes import EntityKind, Unknown

__all__ = ["ENTITY_TYPES", "PlanReader", "PlanResource", "check_plan"]

ENTITY_TYPES = {
    "aws_iam_user": EntityKind.USER,
    "aws_iam_role": EntityKind.ROLE,
    "aws_iam_group": EntityKind.GROUP,
}
_INDEX = re.compile(r"\[[^\]]*\]")


@dataclass(frozen=True, slots=True)
class PlanResource:
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


def check_plan(plan: object, origin: str, supported: frozenset[str]) -> Mapping[str, Any]:
    """``plan`` checked to be a complete plan JSON of a supported format (``supported``: the resource
    types read; a deferred change of one of them is refused)."""
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
        if isinstance(entry, Mapping) and str(entry.get("resource_change", {}).get("type", "")) in supported
    ]
    if deferred:
        raise InputError(
            f"{origin}: Terraform deferred IAM changes it could not plan yet ({', '.join(deferred)}); "
            "what-if needs a complete plan"
        )
    return plan


def _resources(plan: Mapping[str, Any], origin: str) -> list[PlanResource]:
    changes = plan.get("resource_changes") or []
    if not isinstance(changes, list):
        raise InputError(f"{origin}: resource_changes is not a list")
    found: list[PlanResource] = []
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
            PlanResource(
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


class PlanReader:
    """The plan's resources, their configuration, and how to read one attribute of each."""

    def __init__(self, plan: Mapping[str, Any], origin: str, account: str) -> None:
        self.account = account
        self.resources = _resources(plan, origin)
        self.config = _config_index(plan)
        self.has_config = bool(self.config)
        self.by_config: dict[tuple[str, str], list[PlanResource]] = {}
        for resource in self.resources:
            self.by_config.setdefault(resource.config_key, []).append(resource)

    # -- values --------------------------------------------------------------------------------

    def configured(self, resource: PlanResource, attribute: str) -> bool:
        """Whether the configuration sets ``attribute`` (an exclusive setting only counts then)."""
        if not self.has_config:
            return attribute in (resource.after or {}) or attribute in resource.after_unknown
        return attribute in self.config.get(resource.config_key, {})

    def value(self, resource: PlanResource, attribute: str, expected: str | None = None) -> Any:
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

    def unknown(self, resource: PlanResource, attribute: str) -> Unknown:
        return Unknown(
            f"{resource.address}.{attribute}", f"{resource.address}.{attribute}, known after apply"
        )

    def attribute(self, resource: PlanResource, attribute: str) -> Any:
        """An attribute of a plan resource as others see it: what it plans, or what IAM will make of
        it when that can be told in advance (an ARN from path and name), or ``Unknown``."""
        after = resource.after or {}
        if resource.after_unknown.get(attribute) is not True and attribute in after:
            return after[attribute]
        name = after.get("name")
        if attribute == "arn" and isinstance(name, str) and resource.after_unknown.get("name") is not True:
            kind = {"aws_iam_policy": "policy", **{t: k.value for t, k in ENTITY_TYPES.items()}}.get(
                resource.type
            )
            path = after.get("path") if isinstance(after.get("path"), str) else "/"
            if kind is not None and self.account and resource.after_unknown.get("path") is not True:
                return f"arn:aws:iam::{self.account}:{kind}{path}{name}"
        return self.unknown(resource, attribute)

    def _follow(self, resource: PlanResource, attribute: str, expected: str | None) -> Any:
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
