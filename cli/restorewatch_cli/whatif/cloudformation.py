"""A CloudFormation (or SAM) template or change set read as planned IAM changes.

A template is compared with what the stack deploys today (``--stack-name``: its processed
template, resolved with its parameters and physical ids, read live), or with nothing for a new
stack; a change set already says, resource by resource, what changes (``DescribeChangeSet`` with
``IncludePropertyValues``, whose values CloudFormation cannot know yet read
``{{changeSet:KNOWN_AFTER_APPLY}}``:
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeChangeSet.html).
A template whose resources depend on each other in a circle is refused, as CloudFormation
refuses it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from restorewatch.errors import InputError
from restorewatch_cli.local.template import load_template
from restorewatch_cli.whatif.cfn_changes import SUPPORTED_TYPES, ResourceState, resource_changes
from restorewatch_cli.whatif.cfn_resolve import StackResolver
from restorewatch_cli.whatif.changes import EntityKind, Note, Unknown
from restorewatch_cli.whatif.sam import is_sam, transform_sam

if TYPE_CHECKING:
    from collections.abc import Mapping

    from restorewatch.engine import AccountSnapshot
    from restorewatch_cli.whatif.changes import Change, Name
    from restorewatch_cli.whatif.stack import DeployedStack

__all__ = ["change_set_changes", "check_cycles", "template_changes"]

KNOWN_AFTER_APPLY = "{{changeSet:KNOWN_AFTER_APPLY}}"
_NAME_FIELDS = {
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
}
_SUB_NAME = re.compile(r"\$\{([^}!.]+)(?:\.[^}]*)?\}")


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def _references(value: Any, found: set[str]) -> set[str]:
    """Every logical id ``value`` refers to (Ref, Fn::GetAtt, Fn::Sub)."""
    if isinstance(value, list):
        for item in value:
            _references(item, found)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                target = item[0] if isinstance(item, list) and item else str(item).split(".", 1)[0]
                found.add(str(target))
            elif key == "Fn::Sub":
                text = item[0] if isinstance(item, list) and item else item
                if isinstance(text, str):
                    found.update(_SUB_NAME.findall(text))
                _references(item[1:] if isinstance(item, list) else [], found)
            else:
                _references(item, found)
    return found


def check_cycles(template: Mapping[str, Any], origin: str) -> None:
    """Refuse a template whose resources depend on each other in a circle (CloudFormation does:
    "Circular dependency between resources")."""
    resources = template.get("Resources") or {}
    edges: dict[str, list[str]] = {}
    for logical_id, spec in resources.items():
        if not isinstance(spec, dict):
            raise InputError(f"template {origin}: resource {logical_id} is not a map")
        found = _references({k: v for k, v in spec.items() if k != "DependsOn"}, set())
        depends = spec.get("DependsOn") or []
        found.update([depends] if isinstance(depends, str) else [str(d) for d in depends])
        edges[logical_id] = sorted(name for name in found if name in resources and name != logical_id)
        if logical_id in found:
            raise InputError(f"template {origin}: resource {logical_id} depends on itself")
    state: dict[str, int] = {}  # 1 visiting, 2 done
    for start in edges:
        if state.get(start):
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = [start]
        state[start] = 1
        while stack:
            node, index = stack[-1]
            if index < len(edges[node]):
                stack[-1] = (node, index + 1)
                nxt = edges[node][index]
                if state.get(nxt) == 1:
                    cycle = [*path[path.index(nxt) :], nxt]
                    raise InputError(
                        f"template {origin}: circular dependency between resources: {' -> '.join(cycle)}"
                    )
                if not state.get(nxt):
                    state[nxt] = 1
                    stack.append((nxt, 0))
                    path.append(nxt)
            else:
                state[node] = 2
                stack.pop()
                path.pop()


def _current_tags(snapshot: AccountSnapshot) -> Any:
    def lookup(kind: EntityKind, name: Name) -> dict[str, str] | None:
        if not isinstance(name, str) or kind is EntityKind.GROUP:
            return None
        table = snapshot.users if kind is EntityKind.USER else snapshot.roles
        for arn in table:
            if arn.rsplit("/", 1)[-1].lower() == name.lower():
                return snapshot.tags_of(arn)
        return None

    return lookup


def _states(resolver: StackResolver) -> dict[str, ResourceState]:
    """The IAM resources of a resolved template, by logical id (resources whose Condition is false
    do not exist)."""
    states: dict[str, ResourceState] = {}
    for logical_id, spec in resolver.resources.items():
        kind = str(spec.get("Type"))
        if kind not in SUPPORTED_TYPES or not resolver.condition_holds(spec.get("Condition")):
            continue
        properties = resolver.resolve(spec.get("Properties") or {})
        if kind == "AWS::IAM::ManagedPolicy":
            arn = resolver.get_att(logical_id, "PolicyArn")
            name = properties.get("ManagedPolicyName") or (
                arn.rsplit("/", 1)[-1] if isinstance(arn, str) else arn
            )
            states[logical_id] = ResourceState(kind, name, properties, properties.get("Path", "/"), arn)
        elif kind in _NAME_FIELDS or kind == "AWS::Organizations::Policy":
            states[logical_id] = ResourceState(
                kind, resolver.ref(logical_id), properties, properties.get("Path", "/")
            )
        else:
            states[logical_id] = ResourceState(kind, logical_id, properties)
    return states


def _declared(template: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, str]:
    declared = template.get("Parameters") or {}
    return {key: value for key, value in values.items() if key in declared}


def _managed_policy_names(snapshot: AccountSnapshot) -> dict[str, str]:
    return {
        str(entry.get("PolicyName")): arn
        for arn, entry in snapshot.policies.items()
        if entry.get("PolicyName")
    }


def _prepare(
    template: Mapping[str, Any],
    origin: str,
    *,
    snapshot: AccountSnapshot,
    parameters: Mapping[str, str],
    account: str,
) -> Mapping[str, Any]:
    if is_sam(template):
        template = transform_sam(
            template,
            origin=origin,
            parameters=parameters,
            region=_region(),
            account=account,
            managed_policies=_managed_policy_names(snapshot),
        )
    check_cycles(template, origin)
    return template


def template_changes(
    path: str,
    *,
    snapshot: AccountSnapshot,
    parameters: Mapping[str, str],
    stack_name: str | None,
    endpoint_url: str | None,
    deployed: DeployedStack | None = None,
    account: str | None = None,
) -> list[Change]:
    """The IAM changes of deploying the template at ``path`` (as an update of ``stack_name`` when
    that stack exists: read live unless ``deployed`` is given)."""
    account = account or snapshot.account_id
    template = _prepare(
        load_template(Path(path)), path, snapshot=snapshot, parameters=parameters, account=account
    )
    if stack_name is not None and deployed is None:
        from restorewatch.inventory import make_client
        from restorewatch_cli.whatif.stack import StackReader

        reader = StackReader(make_client("cloudformation", endpoint_url=endpoint_url))
        deployed = reader.deployed(stack_name, origin=path)
    region = _region()
    physical = dict(deployed.physical) if deployed is not None else {}
    after = StackResolver(
        template,
        account=account,
        region=region,
        stack_name=stack_name,
        # the deployed values of the parameters the new template still has, then the given ones
        parameters={**_declared(template, deployed.parameters if deployed else {}), **parameters},
        physical=physical,
        origin=path,
    )
    before_states: dict[str, ResourceState] = {}
    if deployed is not None:
        old_template = deployed.template
        if is_sam(old_template):  # a processed template has no transform left; an original may
            old_template = _prepare(
                old_template, f"of stack {stack_name}", snapshot=snapshot, parameters={}, account=account
            )
        before = StackResolver(
            old_template,
            account=account,
            region=region,
            stack_name=stack_name,
            parameters=_declared(old_template, deployed.parameters),
            physical=physical,
            origin=f"of stack {stack_name}",
        )
        before_states = _states(before)
    after_states = _states(after)
    tags = _current_tags(snapshot)
    changes: list[Change] = [
        Note(
            logical_id,
            "a nested stack is not read: run what-if on its template too (its IAM changes are not "
            "in this answer)",
        )
        for logical_id, spec in after.resources.items()
        if spec.get("Type") == "AWS::CloudFormation::Stack"
    ]
    for logical_id in sorted(set(before_states) | set(after_states)):
        changes += resource_changes(
            logical_id, before_states.get(logical_id), after_states.get(logical_id), current_tags=tags
        )
    return changes


def _unknowns(value: Any, key: str) -> Any:
    """A change set's property values, with what CloudFormation cannot know yet as ``Unknown``."""
    if value == KNOWN_AFTER_APPLY:
        return Unknown(key, f"{key}, known after the change set runs")
    if isinstance(value, dict):
        return {k: _unknowns(v, f"{key}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_unknowns(v, f"{key}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str) and KNOWN_AFTER_APPLY in value:
        return Unknown(key, f"{key}, known after the change set runs")
    return value


def _context(change: Mapping[str, Any], field: str, name: str) -> dict[str, Any]:
    text = change.get(field)
    if not isinstance(text, str):
        raise InputError(
            f"change set: {change.get('LogicalResourceId')} has no {field} (DescribeChangeSet gave no "
            "property values; create the change set again with a current AWS CLI or SDK)"
        )
    try:
        context = json.loads(text)
    except ValueError:
        raise InputError(f"change set: {change.get('LogicalResourceId')}: {field} is not JSON") from None
    properties = context.get("Properties", context) if isinstance(context, dict) else {}
    return dict(_unknowns(properties, name))


def _change_set_state(
    change: Mapping[str, Any], field: str, account: str, *, replaced: bool
) -> ResourceState:
    logical_id, kind = str(change.get("LogicalResourceId")), str(change.get("ResourceType"))
    properties = _context(change, field, logical_id)
    physical = change.get("PhysicalResourceId") if field == "BeforeContext" or not replaced else None
    unknown = Unknown(f"{logical_id}.Ref", f"the name CloudFormation gives {logical_id}")
    path = properties.get("Path", "/")
    if kind == "AWS::IAM::ManagedPolicy":
        name = properties.get("ManagedPolicyName")
        if isinstance(name, str) and isinstance(path, str):
            arn: Name = f"arn:aws:iam::{account}:policy{path}{name}"
        else:
            arn = str(physical) if physical else Unknown(f"{logical_id}.Arn", f"the ARN of {logical_id}")
        display = (
            name
            if isinstance(name, str | Unknown)
            else (arn.rsplit("/", 1)[-1] if isinstance(arn, str) else arn)
        )
        return ResourceState(kind, display, properties, path, arn)
    name_field = _NAME_FIELDS.get(kind)
    name_value = properties.get(name_field) if name_field else None
    if isinstance(name_value, str | Unknown):
        return ResourceState(kind, name_value, properties, path)
    return ResourceState(kind, str(physical) if physical else unknown, properties, path)


def change_set_changes(
    name: str,
    stack_name: str,
    *,
    snapshot: AccountSnapshot,
    endpoint_url: str | None,
    changes: list[Mapping[str, Any]] | None = None,
    account: str | None = None,
) -> list[Change]:
    """The IAM changes of a change set (read live unless ``changes`` are given)."""
    account = account or snapshot.account_id
    if changes is None:
        from restorewatch.inventory import make_client
        from restorewatch_cli.whatif.stack import StackReader

        changes = StackReader(make_client("cloudformation", endpoint_url=endpoint_url)).change_set(
            name, stack_name
        )
    tags = _current_tags(snapshot)
    planned: list[Change] = []
    for change in changes:
        if str(change.get("ResourceType")) not in SUPPORTED_TYPES:
            continue
        action = change.get("Action")
        logical_id = str(change.get("LogicalResourceId"))
        replaced = change.get("Replacement") in ("True", "Conditional")
        if action in ("Import", "SyncWithActual"):
            continue  # the resource itself does not change
        before = (
            _change_set_state(change, "BeforeContext", account, replaced=replaced)
            if action in ("Modify", "Remove", "Dynamic")
            else None
        )
        after = (
            _change_set_state(change, "AfterContext", account, replaced=replaced)
            if action in ("Add", "Modify", "Dynamic")
            else None
        )
        planned += resource_changes(logical_id, before, after, current_tags=tags)
    return planned
