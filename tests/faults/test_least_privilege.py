"""Least privilege and supply chain, read from the repository's own files.

* every function's role (every ``AWS::IAM::Role`` a function uses) has no IAM write action, no
  ``*`` or ``service:*`` action, no NotAction/NotResource, and writes only to this stack's own
  resources (``Ref``/``GetAtt``/``Sub`` of a resource in the template), except X-Ray's unscopable
  trace writes and reads of a secret the user names by parameter;
* every checkov skip in ``.checkov.yaml`` carries a reason;
* the layer's ``requirements.txt`` pins exactly the versions ``uv.lock`` resolved.
Docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest

from support.template import REPO_ROOT, load_template

from .report import record_row

READ_VERBS = ("Get", "List", "Describe", "BatchGet", "Query", "Scan")
UNSCOPABLE = {"xray:puttracesegments", "xray:puttelemetryrecords"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _refs(value: Any) -> set[str]:
    if isinstance(value, dict):
        if "Ref" in value:
            return {str(value["Ref"])}
        if "Fn::GetAtt" in value:
            return {str(value["Fn::GetAtt"][0])}
        if "Fn::Sub" in value:
            text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
            return {
                name.split(".")[0]
                for name in re.findall(r"\$\{([^}!]+)\}", text)
                if not name.startswith("AWS::")
            }
        if "Fn::If" in value:
            return set().union(*(_refs(v) for v in value["Fn::If"][1:]))
    return set()


def function_roles(template: dict[str, Any]) -> dict[str, str]:
    """Function logical id -> the logical id of the role it runs as."""
    roles = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            role = resource["Properties"].get("Role")
            assert isinstance(role, dict), f"{logical_id}: no explicit role"
            assert "Fn::GetAtt" in role, f"{logical_id}: no explicit role"
            assert "Policies" not in resource["Properties"], f"{logical_id}: SAM policies next to a role"
            roles[logical_id] = role["Fn::GetAtt"][0]
    return roles


def violations(template: dict[str, Any], role: str) -> list[str]:
    resources = template["Resources"]
    parameters = set(template.get("Parameters", {}))
    own = set(resources)
    properties = resources[role]["Properties"]
    assert not properties.get("ManagedPolicyArns"), f"{role}: managed policies"
    statements = [
        s for p in properties.get("Policies", []) for s in _as_list(p["PolicyDocument"]["Statement"])
    ]
    problems = []
    for statement in statements:
        where = f"{role}.{statement.get('Sid', '?')}"
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement or "NotResource" in statement:
            problems.append(f"{where}: NotAction/NotResource")
            continue
        for action in _as_list(statement["Action"]):
            service, _, name = str(action).partition(":")
            if action == "*" or name.startswith("*"):
                problems.append(f"{where}: {action}")
            elif service == "iam" and not name.startswith(("Get", "List")):
                problems.append(f"{where}: {action} writes IAM")
            elif name.startswith(READ_VERBS) or action.lower() in UNSCOPABLE:
                continue
            else:
                for resource in _as_list(statement.get("Resource", [])):
                    refs = _refs(resource)
                    if not refs or not refs <= own | (parameters if name == "GetSecretValue" else set()):
                        problems.append(f"{where}: {action} on {resource!r}")
    return problems


def test_every_function_role_is_least_privilege() -> None:
    template = load_template()
    roles = function_roles(template)
    assert "WatcherFunction" in roles
    for function, role in sorted(roles.items()):
        problems = violations(template, role)
        assert problems == [], problems
        record_row(
            "least-privilege",
            {
                "function": function,
                "role": role,
                "IAM writes": "none",
                "`*` actions": "none",
                "writes outside the stack": "none",
            },
        )


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("iam:PassRole", "*"),
        ("*", "*"),
        ("s3:*", "*"),
        ("sns:Publish", "*"),
        ("dynamodb:PutItem", {"Ref": "Elsewhere"}),
    ],
)
def test_least_privilege_check_catches_overbroad_grants(action: str, resource: Any) -> None:
    template = load_template()
    role = template["Resources"]["WatcherRole"]["Properties"]
    role["Policies"][0]["PolicyDocument"]["Statement"].append(
        {"Sid": "Bad", "Effect": "Allow", "Action": action, "Resource": resource}
    )
    assert violations(template, "WatcherRole")


def test_every_checkov_skip_has_a_reason() -> None:
    lines = (REPO_ROOT / ".checkov.yaml").read_text(encoding="utf-8").splitlines()
    skips = [i for i, line in enumerate(lines) if re.match(r"\s*- CKV_", line)]
    assert skips
    for index in skips:
        above = lines[index - 1].strip()
        assert above.startswith("#") or re.match(r"\s*- CKV_", lines[index - 1]), lines[index]
        record_row(
            "supply-chain",
            {"check": f"checkov skip {lines[index].strip()[2:]}", "status": "explained in .checkov.yaml"},
        )


def test_layer_requirements_pin_what_uv_lock_resolved() -> None:
    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text(encoding="utf-8"))
    locked = {p["name"].lower(): p["version"] for p in lock["package"]}
    text = (REPO_ROOT / "layers" / "restorewatch" / "requirements.txt").read_text(encoding="utf-8")
    pins = re.findall(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s#]+)", text, flags=re.MULTILINE)
    assert pins
    for name, version in pins:
        assert locked.get(name.lower().replace("_", "-")) == version, (
            f"{name}=={version} vs uv.lock {locked.get(name.lower())}"
        )
    record_row(
        "supply-chain", {"check": f"layer requirements.txt = uv.lock ({len(pins)} pins)", "status": "pass"}
    )
