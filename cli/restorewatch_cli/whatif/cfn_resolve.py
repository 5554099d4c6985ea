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
from restorewatch_cli.local.template import TemplateResolver
from restorewatch_cli.whatif.changes import Unknown

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


# other resource types a policy commonly names: the property that names one, and its ARN
_NAMED = {
    "AWS::S3::Bucket": ("BucketName", "arn:aws:s3:::{name}"),
    "AWS::DynamoDB::Table": ("TableName", "arn:aws:dynamodb:{region}:{account}:table/{name}"),
    "AWS::Lambda::Function": ("FunctionName", "arn:aws:lambda:{region}:{account}:function:{name}"),
    "AWS::SQS::Queue": ("QueueName", "arn:aws:sqs:{region}:{account}:{name}"),
    "AWS::SNS::Topic": ("TopicName", "arn:aws:sns:{region}:{account}:{name}"),
    "AWS::KMS::Key": (None, "arn:aws:kms:{region}:{account}:key/{name}"),
}
_ARN_ATTRIBUTES = frozenset({"Arn", "PolicyArn", "TopicArn"})


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
        if kind == "AWS::SNS::Topic":  # Ref of a topic is its ARN, of a queue its URL
            return self.get_att(name, "TopicArn")
        if kind == "AWS::SQS::Queue":
            return self.concat(
                [f"https://sqs.{self.region}.amazonaws.com/{self.account}/", self._other_name(name)]
            )
        if kind in _NAMED:
            return self._other_name(name)
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
        return self._generated(logical_id)

    def _generated(self, logical_id: str) -> Unknown:
        what = f"the name CloudFormation gives {logical_id}"
        return Unknown(f"{logical_id}.Ref", what, placeholder=f"<{logical_id}>")

    def _other_name(self, logical_id: str) -> Any:
        """The name (or id) of a bucket, table, function, queue, topic or key of the template."""
        kind = str(self.resources[logical_id].get("Type"))
        field = _NAMED[kind][0]
        properties = self.resources[logical_id].get("Properties") or {}
        if field is not None and field in properties:
            return self.resolve(properties[field])
        physical = self.physical.get(logical_id)
        if physical is None:
            return self._generated(logical_id)
        # a queue's physical id is its URL, a topic's its ARN: the name is the last part
        return (
            physical.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
            if kind.startswith(("AWS::SQS", "AWS::SNS"))
            else physical
        )

    def _path(self, logical_id: str) -> Any:
        path = (self.resources[logical_id].get("Properties") or {}).get("Path", "/")
        return self.resolve(path)

    def get_att(self, logical_id: str, attribute: str) -> Any:
        if logical_id not in self.resources:
            raise InputError(f"template {self.origin}: Fn::GetAtt names no resource {logical_id!r}")
        kind = str(self.resources[logical_id].get("Type"))
        if kind in _NAMES and attribute in _ARN_ATTRIBUTES:
            return self.concat(
                [
                    f"arn:aws:iam::{self.account}:{_NAMES[kind][1]}",
                    self._path(logical_id),
                    self._name(logical_id),
                ]
            )
        if kind in _NAMED and attribute in _ARN_ATTRIBUTES:
            head, _, tail = (
                _NAMED[kind][1].format(region=self.region, account=self.account, name="\0").partition("\0")
            )
            return self.concat([head, self._other_name(logical_id), tail])
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
        if not unknown:
            return super().concat(parts)
        keys = "+".join(part.key for part in unknown)
        stand_ins = [part.placeholder if isinstance(part, Unknown) else str(part) for part in parts]
        placeholder = "".join(p for p in stand_ins if p is not None) if None not in stand_ins else None
        return Unknown(keys, "; ".join(part.what for part in unknown), placeholder)
