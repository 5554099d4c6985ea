"""Read the SAM templates as data, so tests assert on (and build resources from) what is deployed.

CloudFormation's short-form tags (``!Ref``, ``!Sub``, ``!GetAtt``, ``!If``, ...) are turned into their
long form (``{"Ref": ...}``, ``{"Fn::Sub": ...}``, ``{"Fn::GetAtt": [resource, attribute]}``), exactly
as CloudFormation reads them.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
FORWARDER_TEMPLATE_PATH = REPO_ROOT / "templates" / "forwarder.yaml"

STATE_TABLE_LOGICAL_ID = "StateTable"


class CloudFormationLoader(yaml.SafeLoader):
    """A SafeLoader that understands CloudFormation's short-form intrinsic function tags."""


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - yaml has no other node kinds
        raise yaml.constructor.ConstructorError(
            None, None, f"unexpected node for !{tag_suffix}", node.start_mark
        )
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{tag_suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)


@cache
def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        loaded = yaml.load(stream, Loader=CloudFormationLoader)
    if not isinstance(loaded, dict):
        raise TypeError(f"{path}: a template must be a mapping, got {type(loaded).__name__}")
    return loaded


def load_template(path: Path | str = TEMPLATE_PATH) -> dict[str, Any]:
    """The template as a dict (a fresh deep copy: callers may modify it)."""
    return copy.deepcopy(_load(Path(path).resolve()))


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource, for every resource of ``resource_type`` (e.g. ``AWS::SQS::Queue``)."""
    return {
        logical_id: resource
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == resource_type
    }


def state_table_kwargs(
    table_name: str = "restorewatch-state", template_path: Path | str = TEMPLATE_PATH
) -> dict[str, Any]:
    """``boto3`` ``create_table`` keyword arguments for the state table, built from the template.

    KeySchema, AttributeDefinitions, BillingMode (and any secondary indexes) come from the
    template's own ``StateTable`` properties, so a test table is built exactly as deployed.
    """
    template = load_template(template_path)
    table = template["Resources"][STATE_TABLE_LOGICAL_ID]
    if table.get("Type") != "AWS::DynamoDB::Table":
        raise TypeError(f"{STATE_TABLE_LOGICAL_ID} is a {table.get('Type')}, not an AWS::DynamoDB::Table")
    properties = table["Properties"]
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "BillingMode": properties.get("BillingMode", "PROVISIONED"),
    }
    for index_kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if index_kind in properties:
            kwargs[index_kind] = properties[index_kind]
    if kwargs["BillingMode"] == "PROVISIONED":
        kwargs["ProvisionedThroughput"] = properties["ProvisionedThroughput"]
    return kwargs


def function_environment(
    logical_id: str = "WatcherFunction", template_path: Path | str = TEMPLATE_PATH
) -> dict[str, Any]:
    """The function's ``Environment.Variables`` as written in the template (values may be intrinsics)."""
    template = load_template(template_path)
    function = template["Resources"][logical_id]
    variables: dict[str, Any] = {}
    globals_env = template.get("Globals", {}).get("Function", {}).get("Environment", {})
    variables.update(globals_env.get("Variables", {}))
    variables.update(function["Properties"].get("Environment", {}).get("Variables", {}))
    return variables
