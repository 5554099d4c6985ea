"""Least privilege and supply chain, read from the repository's own files.

* every function's role (every ``AWS::IAM::Role`` a function uses) has no IAM write action, no
  wildcard in any action (``*``, ``service:*``, ``iam:Get*``), no NotAction/NotResource, and writes
  only to this stack's own resources (``Ref``/``GetAtt``/``Sub`` of a resource in the template),
  except X-Ray's unscopable trace writes and reads of a secret the user names by parameter;
* the IAM reads the watcher's role and the member accounts' reader role grant are exactly the IAM
  operations the code issues: those ``inventory/iam_reader.py`` names (every IAM call of the
  watcher goes through its ``IamReader``), each a real IAM operation, all issued on moto by the
  reader's paths, and every IAM call of the fault matrix's table among them;
* every checkov skip in ``.checkov.yaml`` carries a reason;
* the layer's ``requirements.txt`` pins exactly the versions ``uv.lock`` resolved.
Docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from faults.report import record_figure, record_row
from faults.scenarios import ROWS

if TYPE_CHECKING:
    from types_boto3_iam.type_defs import TagTypeDef
from restorewatch.domain import Target, TargetKind
from restorewatch.inventory.iam_reader import IamReader
from restorewatch.profiles import DEFAULT_TAG_KEY
from support.template import REPO_ROOT, load_template

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
            if "*" in action or "?" in action:
                problems.append(f"{where}: {action} is a wildcard")
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
                "wildcard actions": "none",
                "writes outside the stack": "none",
            },
        )


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("iam:PassRole", "*"),
        ("*", "*"),
        ("iam:Get*", "*"),
        ("iam:List?ccountAliases", "*"),
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


# ---- the IAM reads: granted = what the code issues -------------------------------------------------

IAM_READER = REPO_ROOT / "layers" / "restorewatch" / "restorewatch" / "inventory" / "iam_reader.py"
MEMBER_TEMPLATE = REPO_ROOT / "templates" / "member-stackset.yaml"
_CALLERS = {"_call", "_pages", "_list"}  # IamReader's three ways of issuing an operation
_KINDS = ("User", "Role", "Group")  # what its f-string operation names are built from


def _constants_assigned(function: ast.FunctionDef, name: str) -> set[str]:
    """The strings ``name`` takes in ``function``: ``a, b = ("GetUser", ...) if ... else (...)``."""
    found: set[str] = set()
    for node in ast.walk(function):
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target = node.targets[0]
        names = [e.id if isinstance(e, ast.Name) else "" for e in getattr(target, "elts", [target])]
        if name not in names:
            continue
        position = names.index(name)
        branches = [node.value.body, node.value.orelse] if isinstance(node.value, ast.IfExp) else [node.value]
        for branch in branches:
            value = branch.elts[position] if isinstance(branch, ast.Tuple) else branch
            assert isinstance(value, ast.Constant), f"line {node.lineno}: {name} is not a literal"
            found.add(str(value.value))
    return found


def iam_operations_in_code() -> set[str]:
    """Every IAM operation ``IamReader`` can issue: the first argument of each ``_call``, ``_pages``
    and ``_list``: a literal, a local variable set from literals (``GetUser``/``GetRole``), or an
    f-string (``f"List{prefix}Policies"``) expanded over user, role and group. An argument that is
    the enclosing helper's own parameter is passed through, not named there."""
    operations: set[str] = set()
    tree = ast.parse(IAM_READER.read_text(encoding="utf-8"))
    for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
        parameters = {a.arg for a in function.args.args + function.args.kwonlyargs}
        for node in ast.walk(function):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr not in _CALLERS or not node.args:
                continue
            name = node.args[0]
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                operations.add(name.value)
            elif isinstance(name, ast.JoinedStr):
                pattern = "".join(str(p.value) if isinstance(p, ast.Constant) else "{}" for p in name.values)
                operations.update(pattern.format(*[kind] * pattern.count("{}")) for kind in _KINDS)
            elif isinstance(name, ast.Name) and name.id in parameters:
                continue  # _list passes its own operation on to _pages
            elif isinstance(name, ast.Name):
                operations |= _constants_assigned(function, name.id)
            else:
                raise AssertionError(f"iam_reader.py:{node.lineno}: an operation name the test cannot read")
    return operations


def granted_iam_actions(template: dict[str, Any], role: str) -> set[str]:
    statements = [
        s
        for p in template["Resources"][role]["Properties"]["Policies"]
        for s in _as_list(p["PolicyDocument"]["Statement"])
    ]
    return {
        str(action)
        for statement in statements
        if statement.get("Effect") == "Allow"
        for action in _as_list(statement["Action"])
        if str(action).startswith("iam:")
    }


def test_the_iam_operations_the_code_names_are_real_read_operations() -> None:
    model = boto3.session.Session().get_available_services()
    assert "iam" in model
    real = set(boto3.client("iam", region_name="us-east-1").meta.service_model.operation_names)
    operations = iam_operations_in_code()
    assert len(operations) >= 10
    assert operations <= real, operations - real
    assert all(op.startswith(("Get", "List")) for op in operations), operations


def test_roles_grant_exactly_the_iam_reads_the_code_makes() -> None:
    """\"No wildcard action\" is literally true: the watcher's role and the member accounts' reader
    role list the IAM reads one by one, and the list is what the code issues, no more, no less."""
    expected = {f"iam:{op}" for op in iam_operations_in_code()}
    record_figure("least-privilege", "iam_reads", len(expected))
    assert granted_iam_actions(load_template(), "WatcherRole") == expected
    assert granted_iam_actions(load_template(MEMBER_TEMPLATE), "MemberReaderRole") == expected


def test_the_reader_issues_every_iam_read_it_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """On moto, every path of ``IamReader`` (a sweep's pages, the account alias, a user in a group
    with inline and attached policies, a role with a boundary, a group's members, a policy's
    entities): the operations recorded at botocore's ``before-call`` are exactly those the code
    names, so the static list above misses none and invents none."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
    issued: set[str] = set()
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        statement = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}
        policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        arn = iam.create_policy(PolicyName="restore", PolicyDocument=policy)["Policy"]["Arn"]
        tags: list[TagTypeDef] = [{"Key": DEFAULT_TAG_KEY, "Value": "veeam-ec2-restore"}]
        ec2 = {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        trust = json.dumps({"Version": "2012-10-17", "Statement": [ec2]})
        iam.create_role(
            RoleName="restore", AssumeRolePolicyDocument=trust, Tags=tags, PermissionsBoundary=arn
        )
        iam.put_role_policy(RoleName="restore", PolicyName="inline", PolicyDocument=policy)
        iam.attach_role_policy(RoleName="restore", PolicyArn=arn)
        iam.create_user(UserName="backup", Tags=tags)
        iam.put_user_policy(UserName="backup", PolicyName="inline", PolicyDocument=policy)
        iam.attach_user_policy(UserName="backup", PolicyArn=arn)
        iam.create_group(GroupName="operators")
        iam.add_user_to_group(GroupName="operators", UserName="backup")
        iam.put_group_policy(GroupName="operators", PolicyName="inline", PolicyDocument=policy)
        iam.attach_group_policy(GroupName="operators", PolicyArn=arn)
        iam.meta.events.register("before-call.iam", lambda model, **_: issued.add(model.name))
        reader = IamReader(iam)
        list(reader.account_pages())
        reader.account_alias()
        pages = reader.principal_pages(
            ["arn:aws:iam::123456789012:user/backup", "arn:aws:iam::123456789012:role/restore"]
        )
        assert not pages.errors
        assert len(pages.read_arns) == 2
        assert reader.resolve(
            Target(TargetKind.GROUP_MEMBERS, "operators", "123456789012"), tag_key=DEFAULT_TAG_KEY
        ).watched
        assert reader.resolve(
            Target(TargetKind.POLICY_ENTITIES, arn, "123456789012"), tag_key=DEFAULT_TAG_KEY
        ).watched
    assert issued == iam_operations_in_code()


def test_every_iam_call_of_the_fault_matrix_is_granted() -> None:
    """The fault matrix's table lists every AWS call a run of the watcher makes (its own test fails on
    a call without a row): its IAM calls are among the reads granted."""
    matrix = {call.removeprefix("iam.") for call in ROWS if call.startswith("iam.")}
    assert matrix
    assert matrix <= iam_operations_in_code(), matrix - iam_operations_in_code()
