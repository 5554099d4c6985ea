"""The template resolved as CloudFormation would deploy it, for tests that check deployed values.

``Deployed`` extends the local run's resolver (``restorewatch_cli.local.template.LocalStack``: parameters,
conditions, ``Ref``/``Fn::GetAtt``/``Fn::Sub``/``Fn::If``) with what a deployed stack has instead of
the local run's fixed names: CloudFormation's generated names (``<stack>-<LogicalId>-<suffix>``),
explicit names where the template sets them, the ARNs of rules, functions and keys, a key id, the
UUIDs of the SQS mappings (SAM's ``WatcherFunctionIamChanges`` among them), ``Fn::Select`` and
``Fn::Split``, and ``AWS::NoValue`` dropped from maps as well as lists.
"""

from __future__ import annotations

from typing import Any, ClassVar

from restorewatch_cli.local.template import LocalStack
from support.template import load_template

STACK, REGION, ACCOUNT = "restorewatch", "eu-west-1", "111122223333"
ORGANIZATION_ID = "o-a1b2c3d4e5"


class Deployed(LocalStack):
    """The template resolved for a deployed stack: CloudFormation-style generated names
    (``<stack>-<LogicalId>-<suffix>``), explicit names where the template sets them, ARNs, key ids and
    mapping UUIDs; ``Fn::Select``/``Fn::Split``; ``AWS::NoValue`` dropped from maps too."""

    SUFFIX = "1A2B3C4D5E6F7"  # CloudFormation appends 12-13 characters
    KEY_ID = "0f1e2d3c-4b5a-4697-8876-a5b4c3d2e1f0"
    MAPPING_UUIDS: ClassVar[dict[str, str]] = {
        "WatcherFunctionIamChanges": "a1b2c3d4-0000-4000-8000-00000000e5a1",  # SAM's, from the SQS event
        "AccountSweeps": "a1b2c3d4-0000-4000-8000-00000000e5a2",
    }
    SAM_GENERATED: ClassVar[dict[str, str]] = {
        "WatcherFunctionSweep": "AWS::Events::Rule",
        "WatcherFunctionIamChanges": "AWS::Lambda::EventSourceMapping",
    }

    def __init__(self, *, organization: bool, slack: bool, stack: str = STACK) -> None:
        super().__init__(load_template(), account=ACCOUNT, stack=stack, region=REGION)
        self.organization, self.slack = organization, slack
        self.parameters.update(
            OrganizationMode="true" if organization else "false",
            OrganizationId=ORGANIZATION_ID if organization else "",
            SlackWebhookSecretArn=f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:slack-AbCdEf"
            if slack
            else "",
            AlertEmail="oncall@example.com",
        )

    def kind(self, logical_id: str) -> str:
        if logical_id in self.SAM_GENERATED:
            return self.SAM_GENERATED[logical_id]
        return str(self.resources[logical_id]["Type"])

    def physical_name(self, logical_id: str) -> str:
        properties = self.resources.get(logical_id, {}).get("Properties") or {}
        explicit = properties.get("Name") or properties.get("AlarmName")
        if explicit is not None:
            return str(self.resolve(explicit))
        return f"{self.stack}-{logical_id}-{self.SUFFIX}"

    def arn(self, logical_id: str) -> str:
        name, kind = self.physical_name(logical_id), self.kind(logical_id)
        arns = {
            "AWS::Events::Rule": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}",
            "AWS::Serverless::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
            "AWS::KMS::Key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{self.KEY_ID}",
        }
        return arns[kind] if kind in arns else super().arn(logical_id)

    def ref(self, name: str) -> Any:
        if name in self.MAPPING_UUIDS:
            return self.MAPPING_UUIDS[name]
        if name in self.resources and self.kind(name) == "AWS::KMS::Key":
            return self.KEY_ID
        return super().ref(name)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Fn::Select":
                index, items = argument
                return self.resolve(items)[int(index)]
            if key == "Fn::Split":
                separator, text = argument
                return str(self.resolve(text)).split(separator)
        resolved = super().resolve(value)
        if isinstance(resolved, dict):
            return {k: v for k, v in resolved.items() if v is not None}
        return resolved

    def exists(self, logical_id: str) -> bool:
        return self.condition_holds(self.resources[logical_id].get("Condition"))

    def pattern(self, rule: str) -> dict[str, Any]:
        resolved: dict[str, Any] = self.resolve(self.resources[rule]["Properties"]["EventPattern"])
        return resolved

    def value(self, logical_id: str, form: str = "name") -> str:
        """How a CloudTrail record names a resource: its name, ARN, URL, partial ARN, id."""
        if form == "arn":
            return str(self.get_att(logical_id, "Arn"))
        if form == "partial":  # Lambda: <account>:function:<name>
            return f"{ACCOUNT}:function:{self.physical_name(logical_id)}"
        return str(self.ref(logical_id))
