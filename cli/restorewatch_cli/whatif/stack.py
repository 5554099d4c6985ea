"""Live CloudFormation reads for what-if: a stack's resources, template and parameters, a change set.

Every failed call becomes a ``ReadError`` naming the operation and the stack (exit 2 on the
command line); a stack that does not exist yet is a new stack, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from restorewatch.errors import InputError, ReadError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from types_boto3_cloudformation import CloudFormationClient

__all__ = ["DeployedStack", "StackReader"]


@dataclass(frozen=True, slots=True)
class DeployedStack:
    """What a deployed stack is: physical ids by logical id, its processed template, its parameters."""

    physical: Mapping[str, str]
    types: Mapping[str, str]
    template: Mapping[str, Any]
    parameters: Mapping[str, str]


def _error(operation: str, stack: str, exc: Exception) -> ReadError:
    response = getattr(exc, "response", None) or {}
    error = response.get("Error", {}) if isinstance(response, dict) else {}
    return ReadError(
        operation, stack, str(error.get("Code") or type(exc).__name__), str(error.get("Message") or exc)
    )


def _missing_stack(exc: Exception) -> bool:
    response = getattr(exc, "response", None) or {}
    message = str(response.get("Error", {}).get("Message", "")) if isinstance(response, dict) else ""
    return "does not exist" in message


class StackReader:
    """Reads through a boto3 CloudFormation client."""

    def __init__(self, client: CloudFormationClient) -> None:
        self.client = client

    def deployed(self, stack: str, *, origin: str) -> DeployedStack | None:
        """The stack as deployed, or None when no stack of that name exists (a new stack)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            listed = self.client.describe_stack_resources(StackName=stack)["StackResources"]
            # a JSON template arrives parsed (a dict, whatever the stubs say), a YAML one as text
            body: object = self.client.get_template(StackName=stack, TemplateStage="Processed")[
                "TemplateBody"
            ]
            described = self.client.describe_stacks(StackName=stack)["Stacks"][0]
        except ClientError as exc:
            if _missing_stack(exc):
                return None
            raise _error("DescribeStackResources/GetTemplate", stack, exc) from None
        except BotoCoreError as exc:
            raise _error("DescribeStackResources/GetTemplate", stack, exc) from None
        if isinstance(body, str):
            from restorewatch_cli.local.template import parse_template_text

            template: Mapping[str, Any] = parse_template_text(body, f"of stack {stack}")
        elif isinstance(body, dict):
            template = body
        else:
            raise InputError(f"{origin}: stack {stack} returned a template that is neither text nor JSON")
        parameters = {
            str(p["ParameterKey"]): str(p.get("ResolvedValue") or p.get("ParameterValue") or "")
            for p in described.get("Parameters") or ()
        }
        return DeployedStack(
            physical={
                r["LogicalResourceId"]: r["PhysicalResourceId"] for r in listed if r.get("PhysicalResourceId")
            },
            types={r["LogicalResourceId"]: r["ResourceType"] for r in listed},
            template=template,
            parameters=parameters,
        )

    def change_set(self, name: str, stack: str) -> list[Mapping[str, Any]]:
        """Every ``ResourceChange`` of the change set, with property values (every page)."""
        from botocore.exceptions import BotoCoreError, ClientError

        changes: list[Mapping[str, Any]] = []
        token: str | None = None
        while True:
            request: dict[str, Any] = {
                "ChangeSetName": name,
                "StackName": stack,
                "IncludePropertyValues": True,
            }
            if token:
                request["NextToken"] = token
            try:
                page = self.client.describe_change_set(**request)
            except (ClientError, BotoCoreError) as exc:
                raise _error("DescribeChangeSet", f"{stack} change set {name}", exc) from None
            status = page.get("Status")
            if status == "FAILED" and not page.get("Changes"):
                reason = str(page.get("StatusReason") or "")
                if "didn't contain changes" in reason or "No updates" in reason:
                    return []
                raise InputError(f"change set {name} of stack {stack} failed: {reason}")
            if status not in (None, "CREATE_COMPLETE"):
                raise InputError(f"change set {name} of stack {stack} is {status}, not CREATE_COMPLETE yet")
            changes += [c["ResourceChange"] for c in page.get("Changes") or () if c.get("Type") == "Resource"]
            token = page.get("NextToken")
            if not token:
                return changes
