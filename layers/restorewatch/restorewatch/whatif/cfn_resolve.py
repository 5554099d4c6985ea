"""A template's intrinsic functions resolved against a stack: known names, or ``Unknown``.

``Ref`` and ``Fn::GetAtt`` of the template's own resources give what CloudFormation will give: the
name the template sets (``RoleName``), else the physical id the stack already has
(``DescribeStackResources``), else a value known only after the stack is deployed. ``Fn::Sub`` and
``Fn::Join`` over an unknown part are unknown as a whole. Return values per resource type:
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-role.html
(and the pages of the other ``AWS::IAM::*`` types); pseudo parameters:
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/pseudo-parameter-reference.html
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from restorewatch.errors import InputError
from restorewatch.local.template import TemplateResolver
from restorewatch.whatif.changes import Unknown

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["StackResolver", "contains_unknown", "first_unknown"]

# the property that names each IAM entity, and the ARN word for it
_NAMES = {
    "AWS::IAM::Role": ("RoleName", "role"),
    "AWS::IAM::User": ("UserName", "user"),
    "AWS::IAM::Group": ("GroupName", "group"),
    "AWS::IAM::ManagedPolicy": ("ManagedPolicyName", "policy"),
}


def first_unknown(value: Any) -> Unknown | None:
    """The first ``Unknown`` inside ``value`` (any depth), or None."""
    if isinstance(value, Unknown):
        return value
    if isinstance(value, dict):
        items: Any = value.values()
    elif isinstance(value, list):
        items = value
    else:
        return None
    for item in items:
        found = first_unknown(item)
        if found is not None:
            return found
    return None


def contains_unknown(value: Any) -> bool:
    return first_unknown(value) is not None


class StackResolver(TemplateResolver):
    """Resolves a template for what-if: ``physical`` maps logical ids to the stack's physical ids."""

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        account: str,
        region: str,
        stack_name: str | None,
        parameters: Mapping[str, str],
        physical: Mapping[str, str],
        origin: str,
    ) -> None:
        super().__init__(template)
        self.account = account
        self.region = region
        self.stack_name = stack_name
        self.physical = physical
        self.origin = origin
        for name, spec in (template.get("Parameters") or {}).items():
            if name in parameters:
                self.parameters[name] = parameters[name]
            elif not isinstance(spec, dict) or "Default" not in spec:
                raise InputError(
                    f"template {origin}: parameter {name} has no default; give --parameter {name}=VALUE"
                )
        unknown_names = set(parameters) - set(template.get("Parameters") or {})
        if unknown_names:
            raise InputError(f"template {origin} has no parameter {', '.join(sorted(unknown_names))}")

    def _unknown(self, key: str, what: str) -> Unknown:
        return Unknown(key, what)

    def ref(self, name: str) -> Any:
        pseudo: dict[str, Any] = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }
        if name in pseudo:
            return pseudo[name]
        if name == "AWS::StackName":
            if self.stack_name:
                return self.stack_name
            return self._unknown("AWS::StackName", "the stack name (give --stack-name)")
        if name.startswith("AWS::"):
            return self._unknown(name, f"{name}, known after deployment")
        if name in self.parameters:
            value = self.parameters[name]
            spec = (self.template.get("Parameters") or {}).get(name) or {}
            if str(spec.get("Type", "")).startswith(("List<", "CommaDelimitedList")) and isinstance(
                value, str
            ):
                return [item.strip() for item in value.split(",")] if value else []
            return value
        if name not in self.resources:
            raise InputError(f"template {self.origin}: Ref {name!r} is neither a parameter nor a resource")
        kind = str(self.resources[name].get("Type"))
        if kind in _NAMES and kind != "AWS::IAM::ManagedPolicy":
            return self._name(name)
        if kind == "AWS::IAM::ManagedPolicy":
            return self.get_att(name, "PolicyArn")
        if name in self.physical:
            return self.physical[name]
        return self._unknown(f"{name}.Ref", f"Ref {name} ({kind}), known after deployment")

    def _name(self, logical_id: str) -> Any:
        spec = self.resources[logical_id]
        field, _ = _NAMES[str(spec.get("Type"))]
        properties = spec.get("Properties") or {}
        if field in properties:
            return self.resolve(properties[field])
        if logical_id in self.physical:
            physical = self.physical[logical_id]
            return physical.rsplit("/", 1)[-1] if physical.startswith("arn:") else physical
        return self._unknown(f"{logical_id}.Ref", f"the name CloudFormation generates for {logical_id}")

    def _path(self, logical_id: str) -> Any:
        path = (self.resources[logical_id].get("Properties") or {}).get("Path", "/")
        return self.resolve(path)

    def get_att(self, logical_id: str, attribute: str) -> Any:
        if logical_id not in self.resources:
            raise InputError(f"template {self.origin}: Fn::GetAtt names no resource {logical_id!r}")
        kind = str(self.resources[logical_id].get("Type"))
        if kind in _NAMES and attribute in ("Arn", "PolicyArn"):
            name, path = self._name(logical_id), self._path(logical_id)
            if isinstance(name, Unknown) or isinstance(path, Unknown):
                return self._unknown(f"{logical_id}.Arn", f"the ARN of {logical_id}, known after deployment")
            return f"arn:aws:iam::{self.account}:{_NAMES[kind][1]}{path}{name}"
        if kind == "AWS::S3::Bucket" and attribute == "Arn":
            bucket = self.ref(logical_id)
            return bucket if isinstance(bucket, Unknown) else f"arn:aws:s3:::{bucket}"
        return self._unknown(f"{logical_id}.{attribute}", f"{logical_id}.{attribute}, known after deployment")

    def intrinsic(self, key: str, argument: Any) -> Any:
        if key == "Fn::Split":
            separator, text = argument
            resolved = self.resolve(text)
            return resolved if isinstance(resolved, Unknown) else str(resolved).split(separator)
        if key == "Fn::Select":
            return self._unknown(f"{key}", "an Fn::Select over values known after deployment")
        return self._unknown(key, f"{key}, known after deployment")

    def concat(self, parts: list[Any]) -> Any:
        unknown = [part for part in parts if isinstance(part, Unknown)]
        if unknown:
            keys = "+".join(part.key for part in unknown)
            return Unknown(keys, "; ".join(part.what for part in unknown))
        return super().concat(parts)
