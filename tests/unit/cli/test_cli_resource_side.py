"""`restorewatch check/report/simulate` with the resource side (issue 15): profiles bound to a bucket
and a key, ``--resource-policies``, ``--rcps``, ``--param``, ``simulate --resource-policy``.

The four behaviours of the issue, through the CLI: a bucket policy Deny on the role (denied), a key
policy that does not allow the principal (denied), a key policy missing from the file (unknown,
exit 1) and an RCP Deny (denied). The AWS pages behind each rule are cited per test; the same rules
are pinned as data in tests/cases/ (resource_policies.json, kms_key_policies.json, rcps.json).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from restorewatch_cli import main

ACCOUNT = "111122223333"
REPO_ROLE = f"arn:aws:iam::{ACCOUNT}:role/veeam-repository"
KEY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/backup-restore"
BUCKET = "arn:aws:s3:::backups"
OBJECTS = "arn:aws:s3:::backups/*"
KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
RCP_FULL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}],
}


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _role(name: str, policy: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    return {
        "Path": "/",
        "RoleName": name,
        "RoleId": f"AROA{name.upper().replace('-', '')[:17]}",
        "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
        "AssumeRolePolicyDocument": _doc(
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ),
        "RolePolicyList": [{"PolicyName": "restore", "PolicyDocument": policy}],
        "AttachedManagedPolicies": [],
        "Tags": [{"Key": key, "Value": value} for key, value in tags.items()],
    }


def _account(*, repo_tags: dict[str, str] | None = None) -> dict[str, Any]:
    repo = (
        repo_tags
        if repo_tags is not None
        else {
            "restorewatch:profile": "veeam-s3-repository-bound",
            "restorewatch:param:RepositoryBucket": "backups",
        }
    )
    return {
        "UserDetailList": [],
        "GroupDetailList": [],
        "RoleDetailList": [
            _role("veeam-repository", _doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}), repo),
            _role(
                "backup-restore",
                _doc({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}),
                {"restorewatch:profile": "key-restore", "restorewatch:param:RepositoryKey": KEY},
            ),
        ],
        "Policies": [],
    }


KEY_PROFILE = {
    "name": "key-restore",
    "parameters": ["RepositoryKey"],
    "actions": [
        {"action": "kms:Decrypt", "resource": "${RepositoryKey}"},
        {"action": "kms:DescribeKey", "resource": "${RepositoryKey}"},
    ],
}


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    def put(name: str, data: object) -> str:
        path = tmp_path / name
        path.write_text(json.dumps(data), encoding="utf-8")
        return str(path)

    return {
        "auth": put("auth.json", _account()),
        "profile": put("key-restore.json", KEY_PROFILE),
        "policies": put("policies.json", {KEY: _doc(_enable_iam())}),
        "dir": str(tmp_path),
    }


def _enable_iam() -> dict[str, Any]:
    return {
        "Sid": "EnableIAM",
        "Effect": "Allow",
        "Principal": {"AWS": ROOT},
        "Action": "kms:*",
        "Resource": "*",
    }


def _write(files: dict[str, str], name: str, data: object) -> str:
    path = Path(files["dir"]) / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def _check(
    capsys: pytest.CaptureFixture[str], files: dict[str, str], *extra: str
) -> tuple[int, dict[tuple[str, str], Any]]:
    code = main(
        [
            "check",
            "--auth-details",
            files["auth"],
            "--profile-path",
            files["profile"],
            "--format",
            "json",
            *extra,
        ]
    )
    out = capsys.readouterr().out
    document = json.loads(out)
    return code, {(row["arn"], row["profile"]): row for row in document["principals"]}


def _action(row: dict[str, Any], action: str) -> dict[str, Any]:
    return next(entry for entry in row["actions"] if entry["action"] == action)


def test_bound_profiles_with_a_clean_bucket_and_key_are_compliant(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A bucket missing from --resource-policies has no bucket policy (valid in S3); the key's policy
    enables IAM policies, and the identity policies allow: exit 0.
    https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html"""
    code, rows = _check(capsys, files, "--resource-policies", files["policies"])
    assert code == 0
    repo = rows[(REPO_ROLE, "veeam-s3-repository-bound")]
    assert repo["status"] == "compliant"
    assert _action(repo, "s3:PutObject")["resource"] == OBJECTS
    assert _action(repo, "s3:GetBucketLocation")["resource"] == BUCKET
    assert "resource" not in _action(repo, "s3:ListAllMyBuckets")  # on "*" as Veeam publishes it
    assert rows[(KEY_ROLE, "key-restore")]["status"] == "compliant"


def test_a_bucket_policy_deny_on_the_role_is_denied(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """An explicit Deny in the bucket policy overrides the identity policies' Allow.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"""
    deny = {
        "Sid": "NoRestoreWrites",
        "Effect": "Deny",
        "Principal": {"AWS": REPO_ROLE},
        "Action": "s3:PutObject",
        "Resource": OBJECTS,
    }
    policies = _write(files, "deny.json", {KEY: _doc(_enable_iam()), BUCKET: _doc(deny)})
    code, rows = _check(capsys, files, "--resource-policies", policies)
    assert code == 1
    repo = rows[(REPO_ROLE, "veeam-s3-repository-bound")]
    assert repo["status"] == "non_compliant"
    put = _action(repo, "s3:PutObject")
    assert (put["status"], put["resource"]) == ("denied", OBJECTS)
    (reason,) = put["reasons"]
    assert reason["code"] == "explicit_deny"
    assert reason["layer"] == "resource"
    assert reason["resource"] == BUCKET
    assert reason["statement"] == "statement 'NoRestoreWrites'"
    assert reason["policy_name"] == "bucket policy"
    assert _action(repo, "s3:GetObject")["status"] == "allowed"


def test_a_key_policy_without_the_principal_is_denied(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """ "Unless the key policy explicitly allows it, you cannot use IAM policies to allow access to a KMS
    key." https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html"""
    admin = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/key-admin"},
        "Action": "kms:*",
        "Resource": "*",
    }
    policies = _write(files, "key.json", {KEY: _doc(admin)})
    code, rows = _check(capsys, files, "--resource-policies", policies)
    assert code == 1
    row = rows[(KEY_ROLE, "key-restore")]
    assert row["status"] == "non_compliant"
    decrypt = _action(row, "kms:Decrypt")
    assert (decrypt["status"], decrypt["resource"]) == ("denied", KEY)
    assert [reason["code"] for reason in decrypt["reasons"]] == ["no_resource_allow"]
    assert "the identity policies grant nothing" in decrypt["reasons"][0]["message"]


def test_a_key_policy_missing_from_the_file_is_unknown(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Every KMS key has a key policy, so a key missing from the file is not known: unknown, exit 1.
    https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html"""
    policies = _write(files, "empty.json", {})
    code, rows = _check(capsys, files, "--resource-policies", policies)
    assert code == 1
    row = rows[(KEY_ROLE, "key-restore")]
    assert row["status"] == "unknown"
    decrypt = _action(row, "kms:Decrypt")
    assert decrypt["status"] == "unknown"
    assert decrypt["reasons"][0]["code"] == "unreadable"
    assert KEY in decrypt["reasons"][0]["message"]
    assert rows[(REPO_ROLE, "veeam-s3-repository-bound")]["status"] == "compliant"


def test_without_resource_policies_bound_actions_are_unknown(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --resource-policies nothing says what the bucket's policy is: never a silent all-clear."""
    code, rows = _check(capsys, files)
    assert code == 1
    repo = rows[(REPO_ROLE, "veeam-s3-repository-bound")]
    assert repo["status"] == "unknown"
    assert _action(repo, "s3:PutObject")["status"] == "unknown"
    assert _action(repo, "s3:ListAllMyBuckets")["status"] == "allowed"  # on "*": no resource policy


def test_an_rcp_deny_is_denied(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    """ "For a permission to be denied for a resource in a specific account, any RCP from the root
    through each OU in the direct path to the account ... can deny that permission."
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_evaluation.html"""
    deny = {"Sid": "NoUploads", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "*"}
    rcps = _write(files, "rcps.json", [[RCP_FULL], [RCP_FULL, _doc(deny)]])
    code, rows = _check(capsys, files, "--resource-policies", files["policies"], "--rcps", rcps)
    assert code == 1
    put = _action(rows[(REPO_ROLE, "veeam-s3-repository-bound")], "s3:PutObject")
    assert put["status"] == "denied"
    (reason,) = put["reasons"]
    assert (reason["layer"], reason["rcp_level"], reason["statement"]) == ("rcp", 1, "statement 'NoUploads'")
    # kms is an RCP service too, but the Deny names s3:PutObject only
    assert rows[(KEY_ROLE, "key-restore")]["status"] == "compliant"


def test_an_rcp_level_without_an_allow_is_an_input_error(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """RCPFullAWSAccess cannot be detached, so a level without an Allow is a file that left it out.
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_evaluation.html"""
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}
    rcps = _write(files, "rcps.json", [[_doc(deny)]])
    assert (
        main(["check", "--auth-details", files["auth"], "--profile-path", files["profile"], "--rcps", rcps])
        == 2
    )
    err = capsys.readouterr().err
    assert f"RCP file {rcps}: RCP level 0 has no Allow statement" in err
    assert "RCPFullAWSAccess" in err


def test_a_missing_parameter_makes_that_principal_unknown(
    tmp_path: Path, files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    auth = _write(
        files, "untagged.json", _account(repo_tags={"restorewatch:profile": "veeam-s3-repository-bound"})
    )
    code = main(
        [
            "check",
            "--auth-details",
            auth,
            "--profile-path",
            files["profile"],
            "--resource-policies",
            files["policies"],
            "--format",
            "json",
        ]
    )
    rows = {(r["arn"], r["profile"]): r for r in json.loads(capsys.readouterr().out)["principals"]}
    assert code == 1
    repo = rows[(REPO_ROLE, "veeam-s3-repository-bound")]
    assert repo["status"] == "unknown"
    assert "restorewatch:param:RepositoryBucket=<value>" in repo["error"]
    assert {a["status"] for a in repo["actions"]} == {"unknown"}
    assert rows[(KEY_ROLE, "key-restore")]["status"] == "compliant"  # the others are still checked

    code = main(
        [
            "check",
            "--auth-details",
            auth,
            "--profile-path",
            files["profile"],
            "--resource-policies",
            files["policies"],
            "--param",
            "RepositoryBucket=backups",
            "--format",
            "json",
        ]
    )
    rows = {(r["arn"], r["profile"]): r for r in json.loads(capsys.readouterr().out)["principals"]}
    assert code == 0
    assert _action(rows[(REPO_ROLE, "veeam-s3-repository-bound")], "s3:PutObject")["resource"] == OBJECTS


def test_a_param_option_wins_over_the_tag(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::other/*"}
    policies = _write(files, "other.json", {KEY: _doc(_enable_iam()), "arn:aws:s3:::other": _doc(deny)})
    code, rows = _check(capsys, files, "--resource-policies", policies, "--param", "RepositoryBucket=other")
    assert code == 1
    put = _action(rows[(REPO_ROLE, "veeam-s3-repository-bound")], "s3:PutObject")
    assert (put["status"], put["resource"]) == ("denied", "arn:aws:s3:::other/*")


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (
            ["--param", "RepositoryBuckt=backups"],
            "--param RepositoryBuckt: no checked profile has a parameter",
        ),
        (["--param", "RepositoryBucket"], "is not of the form Name=Value"),
        (
            ["--resource-policies", "/nonexistent/policies.json"],
            "resource policies file /nonexistent/policies.json does not exist",
        ),
    ],
)
def test_bad_resource_side_options_are_input_errors(
    files: dict[str, str], capsys: pytest.CaptureFixture[str], extra: list[str], fragment: str
) -> None:
    assert main(["check", "--auth-details", files["auth"], "--profile-path", files["profile"], *extra]) == 2
    assert fragment in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ([], "must hold a JSON object mapping resource ARNs"),
        ({"arn:aws:s3:::backups/*": None}, "give the bucket's ARN"),
        ({"arn:aws:kms:eu-west-1:111122223333:alias/backups": {"Statement": []}}, "not aliases"),
        ({KEY: None}, "a KMS key always has a key policy"),
        ({BUCKET: {"Policy": None, "Owner": "x"}}, "unknown key(s) Owner"),
        ({BUCKET: {"Policy": None, "Account": "12"}}, "Account must be a 12-digit account ID"),
        (
            {BUCKET: {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}},
            "needs exactly one of Principal or NotPrincipal",
        ),
        (
            {
                BUCKET: {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": "arn:aws:iam::1:role/*"},
                            "Action": "s3:*",
                            "Resource": "*",
                        }
                    ]
                }
            },
            "has a wildcard",
        ),
    ],
)
def test_a_bad_resource_policies_file_names_the_problem(
    files: dict[str, str], capsys: pytest.CaptureFixture[str], content: object, fragment: str
) -> None:
    policies = _write(files, "bad.json", content)
    assert (
        main(
            [
                "check",
                "--auth-details",
                files["auth"],
                "--profile-path",
                files["profile"],
                "--resource-policies",
                policies,
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert fragment in err
    assert policies in err


def test_the_table_names_the_bound_resource(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": OBJECTS}
    policies = _write(files, "deny.json", {KEY: _doc(_enable_iam()), BUCKET: _doc(deny)})
    assert (
        main(
            [
                "check",
                "--auth-details",
                files["auth"],
                "--profile-path",
                files["profile"],
                "--resource-policies",
                policies,
            ]
        )
        == 1
    )
    out = capsys.readouterr().out
    assert f"denied   s3:PutObject on {OBJECTS}" in out
    assert f"of the bucket policy of {BUCKET}" in out


def test_report_takes_the_parameters_from_the_tags(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    html = f"{files['dir']}/report.html"
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": OBJECTS}
    policies = _write(files, "deny.json", {KEY: _doc(_enable_iam()), BUCKET: _doc(deny)})
    assert (
        main(
            [
                "report",
                "--auth-details",
                files["auth"],
                "--profile-path",
                files["profile"],
                "--resource-policies",
                policies,
                "--html",
                html,
            ]
        )
        == 0
    )
    assert "2 checked, 1 compliant" in capsys.readouterr().out
    page = Path(html).read_text(encoding="utf-8")
    assert "bucket policy of arn:aws:s3:::backups" in page


# --- simulate ---------------------------------------------------------------------------------------


def _simulate(
    files: dict[str, str], capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, Any]]:
    code = main(["simulate", "--auth-details", files["auth"], *args])
    return code, json.loads(capsys.readouterr().out)


def test_simulate_with_a_bucket_policy_deny(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"""
    deny = {
        "Sid": "NoWrites",
        "Effect": "Deny",
        "Principal": {"AWS": REPO_ROLE},
        "Action": "s3:PutObject",
        "Resource": OBJECTS,
    }
    policy = _write(
        files, "bucket.json", {"Policy": json.dumps(_doc(deny))}
    )  # as `aws s3api get-bucket-policy` prints it
    args = [
        "--principal",
        REPO_ROLE,
        "--resource",
        "arn:aws:s3:::backups/veeam/blk",
        "--resource-policy",
        policy,
    ]
    code, result = _simulate(files, capsys, "--action", "s3:PutObject", *args)
    assert (code, result["decision"]) == (1, "explicit_deny")
    assert result["reasons"][0]["resource"] == BUCKET
    code, result = _simulate(files, capsys, "--action", "s3:GetObject", *args)
    assert (code, result["decision"]) == (0, "allowed")


def test_simulate_a_key_needs_its_key_policy(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html"""
    assert (
        main(
            [
                "simulate",
                "--auth-details",
                files["auth"],
                "--principal",
                KEY_ROLE,
                "--action",
                "kms:Decrypt",
                "--resource",
                KEY,
            ]
        )
        == 2
    )
    assert "give it with --resource-policy FILE" in capsys.readouterr().err
    policy = _write(
        files,
        "key.json",
        _doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:role/other"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ),
    )
    code, result = _simulate(
        files,
        capsys,
        "--principal",
        KEY_ROLE,
        "--action",
        "kms:Decrypt",
        "--resource",
        KEY,
        "--resource-policy",
        policy,
    )
    assert (code, result["decision"]) == (1, "implicit_deny")
    assert result["reasons"][-1]["code"] == "no_resource_allow"


def test_simulate_with_rcps(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    """https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_evaluation.html"""
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "*"}
    rcps = _write(files, "rcps.json", [[RCP_FULL, _doc(deny)]])
    args = [
        "--principal",
        REPO_ROLE,
        "--action",
        "s3:PutObject",
        "--resource",
        "arn:aws:s3:::backups/x",
        "--rcps",
        rcps,
    ]
    code, result = _simulate(files, capsys, *args)
    assert (code, result["decision"]) == (1, "explicit_deny")
    assert result["reasons"][0]["layer"] == "rcp"


def test_simulate_another_accounts_bucket(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    """Cross-account: the bucket policy must allow too.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html"""
    policy = _write(files, "none.json", None)
    args = [
        "--principal",
        REPO_ROLE,
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::backups/x",
        "--resource-policy",
        policy,
    ]
    code, result = _simulate(files, capsys, *args, "--resource-account", "444455556666")
    assert (code, result["decision"]) == (1, "implicit_deny")
    code, result = _simulate(files, capsys, *args)
    assert (code, result["decision"]) == (0, "allowed")
    assert main(["simulate", "--auth-details", files["auth"], *args, "--resource-account", "4444"]) == 2


def test_org_id_decides_the_identity_perimeter_rcp(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The usual RCP perimeter denies principals outside the organization
    (aws:PrincipalOrgID, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalorgid):
    without the account's organization the Deny is a condition (partial); with --org-id it is decided."""
    perimeter = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["s3:*", "kms:*"],
        "Resource": "*",
        "Condition": {
            "StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"},
            "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
        },
    }
    rcps = _write(files, "perimeter.json", [[RCP_FULL, _doc(perimeter)]])
    args = ("--resource-policies", files["policies"], "--rcps", rcps)
    code, rows = _check(capsys, files, *args)
    assert code == 1
    assert _action(rows[(REPO_ROLE, "veeam-s3-repository-bound")], "s3:PutObject")["status"] == "partial"
    code, rows = _check(
        capsys, files, *args, "--org-id", "o-a1b2c3d4e5", "--org-path", "o-a1b2c3d4e5/r-ab12/"
    )
    assert code == 0
    assert {row["status"] for row in rows.values()} == {"compliant"}


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--org-id", "org-1"], "is not an organization ID"),
        (["--org-path", "o-a1b2c3d4e5/r-ab12/"], "--org-path needs --org-id"),
        (["--org-id", "o-a1b2c3d4e5", "--org-path", "o-zzzzzzzzzz/r-ab12/"], "is not a path of o-a1b2c3d4e5"),
    ],
)
def test_bad_org_options_are_input_errors(
    files: dict[str, str], capsys: pytest.CaptureFixture[str], extra: list[str], fragment: str
) -> None:
    assert main(["check", "--auth-details", files["auth"], "--profile-path", files["profile"], *extra]) == 2
    assert fragment in capsys.readouterr().err
