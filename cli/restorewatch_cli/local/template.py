"""Read CloudFormation/SAM templates, and ``template.yaml`` the way ``sam local`` does.

``load_template`` and ``TemplateResolver`` (the intrinsic functions) serve every template reader
(the local run, and ``what-if``, whose resolver knows a stack's real names or says "unknown").
For running the stack without Docker, ``LocalStack`` resolves only what the local run needs: the
runtime resources (tables, topics, queues), the functions' handlers and code locations, and their
environment (``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` and ``Fn::If`` over parameters and those
resources). Physical names are deterministic (``<stack>-<LogicalId>``) so that ``local up`` and
``local invoke``, run as separate processes, agree on them without a state file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from restorewatch.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

LOCAL_STACK = "restorewatch-local"
LOCAL_REGION = "us-east-1"

_SHORT_TAGS = (
    "Ref", "Condition", "GetAtt", "Sub", "If", "Equals", "Not", "And", "Or", "Join", "Select", "Split",
    "FindInMap", "GetAZs", "ImportValue", "Base64", "Cidr", "Transform",
)  # fmt: skip


def load_template(path: Path) -> dict[str, Any]:
    """Load a CloudFormation/SAM template: JSON, or YAML with the short-form intrinsics (``!Ref``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot read template {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"cannot read template {path}: not UTF-8 text") from None
    return parse_template_text(text, str(path))


def parse_template_text(text: str, origin: str) -> dict[str, Any]:
    """A template from its text (``origin`` names it in errors): JSON when it starts with ``{``."""
    if text.lstrip()[:1] == "{":
        try:
            loaded: Any = json.loads(text)
        except ValueError as error:
            raise InputError(f"template {origin} is not valid JSON: {error}") from None
    else:
        loaded = _load_yaml(text, origin)
    if not isinstance(loaded, dict) or "Resources" not in loaded:
        raise InputError(f"template {origin} has no Resources")
    if not isinstance(loaded["Resources"], dict):
        raise InputError(f"template {origin}: Resources is not a map of logical ids to resources")
    return loaded


def _load_yaml(text: str, origin: str) -> Any:
    import yaml  # only the template readers need YAML

    class _Loader(yaml.SafeLoader):
        pass

    def construct(tag: str) -> Any:
        def _construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
            if isinstance(node, yaml.ScalarNode):
                value: Any = loader.construct_scalar(node)
                if tag == "GetAtt" and isinstance(value, str):
                    value = value.split(".", 1)
            elif isinstance(node, yaml.SequenceNode):
                value = loader.construct_sequence(node, deep=True)
            else:
                value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
            name = tag if tag in ("Ref", "Condition") else f"Fn::{tag}"
            return {name: value}

        return _construct

    for tag in _SHORT_TAGS:
        _Loader.add_constructor(f"!{tag}", construct(tag))
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as error:
        raise InputError(f"template {origin} is not valid YAML: {error}") from None


class TemplateResolver:
    """Evaluates a template's intrinsic functions; subclasses say what ``Ref`` and ``Fn::GetAtt`` of
    their resources give (``sam local``'s deterministic names, or a stack's real ones).

    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference.html
    """

    def __init__(self, template: Mapping[str, Any]) -> None:
        self.template = template
        self.parameters: dict[str, Any] = {
            name: spec.get("Default", "") for name, spec in (template.get("Parameters") or {}).items()
        }

    @property
    def resources(self) -> dict[str, Mapping[str, Any]]:
        resources: dict[str, Mapping[str, Any]] = self.template["Resources"]
        return resources

    def ref(self, name: str) -> Any:
        raise NotImplementedError

    def get_att(self, logical_id: str, attribute: str) -> Any:
        raise NotImplementedError

    def intrinsic(self, key: str, argument: Any) -> Any:
        """A function this resolver does not know (``Fn::ImportValue``...); by default left as is."""
        return {key: self.resolve(argument)}

    def concat(self, parts: list[Any]) -> Any:
        """The string ``Fn::Sub`` and ``Fn::Join`` make of resolved parts."""
        return "".join(str(part) for part in parts)

    def condition_holds(self, name: str | None) -> bool:
        if name is None:
            return True
        conditions = self.template.get("Conditions") or {}
        if name not in conditions:
            raise InputError(f"template condition {name!r} is not defined")
        return bool(self.resolve(conditions[name]))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            # AWS::NoValue (None here) in a list removes the element, as CloudFormation does
            return [resolved for resolved in map(self.resolve, value) if resolved is not None]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Fn::GetAtt":
                parts = argument if isinstance(argument, list) else str(argument).split(".", 1)
                return self.get_att(parts[0], parts[1])
            if key == "Fn::Sub":
                return self._sub(argument)
            if key == "Fn::If":
                name, when_true, when_false = argument
                return self.resolve(when_true if self.condition_holds(name) else when_false)
            if key == "Fn::Equals":
                left, right = (self.resolve(item) for item in argument)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.resolve(argument[0])
            if key == "Fn::And":
                return all(self.resolve(item) for item in argument)
            if key == "Fn::Or":
                return any(self.resolve(item) for item in argument)
            if key == "Condition":
                return self.condition_holds(argument)
            if key == "Fn::Join":
                separator, items = argument
                resolved = self.resolve(items)
                if not isinstance(resolved, list):
                    return self.concat([resolved])  # an unknown list stays unknown
                joined: list[Any] = []
                for index, item in enumerate(resolved):
                    joined += [separator, item] if index else [item]
                return self.concat(joined)
            if key == "Fn::Select":
                index, items = self.resolve(argument[0]), self.resolve(argument[1])
                if isinstance(items, list) and str(index).isdigit() and int(index) < len(items):
                    return items[int(index)]
                return self.intrinsic(key, argument)
            if key == "Fn::FindInMap":
                return self._find_in_map(argument)
            if key.startswith("Fn::"):
                return self.intrinsic(key, argument)
        # a property whose value is AWS::NoValue is removed, as CloudFormation does
        resolved_map = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved_map.items() if item is not None}

    def _find_in_map(self, argument: Any) -> Any:
        name, first, second = (self.resolve(item) for item in argument)
        try:
            return self.template["Mappings"][name][first][second]
        except (KeyError, TypeError):
            where = f"{name}.{first}.{second}"
            raise InputError(f"Fn::FindInMap: no {where} in the template's Mappings") from None

    def _sub(self, argument: Any) -> Any:
        template, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
        parts: list[Any] = []
        position = 0
        for match in re.finditer(r"\$\{([^}!]+)\}", template):
            parts.append(template[position : match.start()])
            name = match.group(1)
            if name in variables:
                parts.append(self.resolve(variables[name]))
            elif "." in name:
                logical_id, attribute = name.split(".", 1)
                parts.append(self.get_att(logical_id, attribute))
            else:
                parts.append(self.ref(name))
            position = match.end()
        parts.append(template[position:])
        # ${!Literal} is the literal text ${Literal}
        return self.concat([part.replace("${!", "${") if isinstance(part, str) else part for part in parts])


@dataclass(frozen=True, slots=True)
class LocalResource:
    logical_id: str
    type: str
    physical_name: str  # table name, topic name, queue name
    properties: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class LocalFunction:
    logical_id: str
    code_uri: str
    handler: str
    environment: Mapping[str, Any]  # unresolved
    condition: str | None


class LocalStack(TemplateResolver):
    """The runtime resources and functions of a template, with deterministic physical names."""

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        account: str,
        stack: str = LOCAL_STACK,
        region: str = LOCAL_REGION,
    ) -> None:
        super().__init__(template)
        self.account = account
        self.stack = stack
        self.region = region
        # filled by the caller from the endpoint (queue URLs embed the endpoint's host)
        self.queue_urls: dict[str, str] = {}

    def physical_name(self, logical_id: str) -> str:
        return f"{self.stack}-{logical_id}"

    def runtime_resources(self) -> list[LocalResource]:
        wanted = ("AWS::DynamoDB::Table", "AWS::SNS::Topic", "AWS::SQS::Queue")
        return [
            LocalResource(
                logical_id, spec["Type"], self.physical_name(logical_id), spec.get("Properties") or {}
            )
            for logical_id, spec in self.resources.items()
            if spec.get("Type") in wanted and self.condition_holds(spec.get("Condition"))
        ]

    def functions(self) -> dict[str, LocalFunction]:
        globals_ = (self.template.get("Globals") or {}).get("Function") or {}
        found: dict[str, LocalFunction] = {}
        for logical_id, spec in self.resources.items():
            if spec.get("Type") != "AWS::Serverless::Function":
                continue
            props = spec.get("Properties") or {}
            env = dict(((globals_.get("Environment") or {}).get("Variables")) or {})
            env.update(((props.get("Environment") or {}).get("Variables")) or {})
            found[logical_id] = LocalFunction(
                logical_id,
                str(props.get("CodeUri", ".")),
                str(props.get("Handler", "app.lambda_handler")),
                env,
                spec.get("Condition"),
            )
        return found

    def arn(self, logical_id: str) -> str:
        spec = self.resources[logical_id]
        name = self.physical_name(logical_id)
        kind = spec.get("Type")
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{self.region}:{self.account}:{name}"
        if kind == "AWS::SQS::Queue":
            return f"arn:aws:sqs:{self.region}:{self.account}:{name}"
        if kind == "AWS::DynamoDB::Table":
            return f"arn:aws:dynamodb:{self.region}:{self.account}:table/{name}"
        return f"arn:aws:cloudformation:{self.region}:{self.account}:{name}"

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::StackName": self.stack,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name not in self.resources:
            raise InputError(f"template reference {name!r} is neither a parameter nor a resource")
        kind = self.resources[name].get("Type")
        if kind == "AWS::SNS::Topic":
            return self.arn(name)
        if kind == "AWS::SQS::Queue":
            return self.queue_urls.get(name, f"https://sqs.{self.region}.amazonaws.com/{self.account}/{name}")
        return self.physical_name(name)

    def get_att(self, logical_id: str, attribute: str) -> Any:
        if attribute == "Arn":
            return self.arn(logical_id)
        if attribute in ("QueueName", "TopicName"):
            return self.physical_name(logical_id)
        if attribute == "QueueUrl":
            return self.ref(logical_id)
        raise InputError(f"Fn::GetAtt {logical_id}.{attribute} is not supported by the local run")
