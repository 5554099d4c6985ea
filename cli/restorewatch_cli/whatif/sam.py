"""A SAM template transformed locally, with the translator ``sam validate`` uses (aws-sam-translator).

Only the IAM of the result matters here: the roles SAM makes for functions and state machines
(their ``Policies``, policy templates and managed policy names) count like any other role. Local
code locations are replaced by a placeholder S3 URI first, as ``sam validate`` does (the
translator accepts only S3 locations); code is never read.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from restorewatch.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["INSTALL_HINT", "SAM_TRANSFORM", "is_sam", "transform_sam"]

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
INSTALL_HINT = "pip install 'restorewatch[whatif]' (or: pip install aws-sam-translator)"
_PLACEHOLDER_URI = "s3://bucket/value"
# (resource type, property) whose local path the translator refuses
_URI_PROPERTIES = (
    ("AWS::Serverless::Function", "CodeUri"),
    ("AWS::Serverless::LayerVersion", "ContentUri"),
    ("AWS::Serverless::Api", "DefinitionUri"),
    ("AWS::Serverless::HttpApi", "DefinitionUri"),
    ("AWS::Serverless::StateMachine", "DefinitionUri"),
)


def is_sam(template: Mapping[str, Any]) -> bool:
    transform = template.get("Transform")
    transforms = transform if isinstance(transform, list) else [transform]
    return SAM_TRANSFORM in transforms


def _local_uri(value: object) -> bool:
    return isinstance(value, str) and not value.startswith("s3://")


def _without_local_paths(template: dict[str, Any]) -> dict[str, Any]:
    function_globals = (template.get("Globals") or {}).get("Function")
    if isinstance(function_globals, dict) and _local_uri(function_globals.get("CodeUri", None)):
        function_globals["CodeUri"] = _PLACEHOLDER_URI
    for resource in (template.get("Resources") or {}).values():
        if not isinstance(resource, dict):
            continue
        properties = resource.setdefault("Properties", {})
        for kind, key in _URI_PROPERTIES:
            if resource.get("Type") != kind or not isinstance(properties, dict):
                continue
            if kind == "AWS::Serverless::Function" and properties.get("PackageType") == "Image":
                properties.setdefault("ImageUri", "111111111111.dkr.ecr.us-east-1.amazonaws.com/placeholder")
                continue
            needs = (
                kind in ("AWS::Serverless::Function", "AWS::Serverless::LayerVersion") or key in properties
            )
            if needs and _local_uri(properties.get(key, ".")):
                properties[key] = _PLACEHOLDER_URI
    return template


def transform_sam(
    template: Mapping[str, Any],
    *,
    origin: str,
    parameters: Mapping[str, str],
    region: str,
    account: str,
    managed_policies: Mapping[str, str],
) -> dict[str, Any]:
    """The CloudFormation template SAM makes of ``template`` (``managed_policies``: name -> ARN, for
    policy names the translator's own list lacks)."""
    try:
        import boto3
        from samtranslator.parser.parser import Parser
        from samtranslator.public.exceptions import InvalidDocumentException
        from samtranslator.translator.translator import Translator
    except ImportError:
        raise InputError(
            f"template {origin} is a SAM template ({SAM_TRANSFORM}); transforming it needs the AWS SAM "
            f"translator: {INSTALL_HINT}"
        ) from None
    values: dict[str, Any] = {"AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": "aws"}
    values.update(parameters)
    translator = Translator(
        managed_policy_map=None,
        sam_parser=Parser(),
        plugins=[],
        # only its region is read (for the partition); no call is made
        boto_session=boto3.session.Session(region_name=region),
    )
    try:
        transformed: dict[str, Any] = translator.translate(
            sam_template=_without_local_paths(copy.deepcopy(dict(template))),
            parameter_values=values,
            get_managed_policy_map=lambda: dict(managed_policies),
        )
    except InvalidDocumentException as error:
        causes = " ".join(str(cause) for cause in error.causes)
        raise InputError(f"template {origin} is not a valid SAM template: {causes or error}") from None
    return transformed
