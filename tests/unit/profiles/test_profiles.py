"""Profiles: the two Veeam built-ins as published, user profile files, validation and the watch tag.

Source of the built-ins: https://helpcenter.veeam.com/docs/vbr/userguide/restore_amazon_permissions.html
(build 13.0.1.1071, page updated 3/11/2025).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from restorewatch.errors import InputError, ProfileError
from restorewatch.profiles import (
    DEFAULT_TAG_KEY,
    Profile,
    ProfileRegistry,
    load_profile_file,
    make_profile,
    profile_names_from_tag,
    tag_value,
)

if TYPE_CHECKING:
    from pathlib import Path

VEEAM_URL = "https://helpcenter.veeam.com/docs/vbr/userguide/restore_amazon_permissions.html"
BUILTINS = [
    "aws-backup-restore",
    "aws-backup-restore-bound",
    "veeam-aws-ec2-restore",
    "veeam-aws-ec2-restore-workers",
    "veeam-ec2-restore",
    "veeam-ec2-restore-helper-appliance",
    "veeam-s3-repository",
    "veeam-s3-repository-bound",
    "veeam-s3-repository-immutable",
    "veeam-s3-repository-immutable-bound",
]

# The policy of the Veeam page, in its order and its spelling (s3:PutLifeCycleConfiguration,
# s3:AbortMultiPartUpload and s3:ListBucketMultiPartUploads are Veeam's capitalisation).
VEEAM_ACTIONS = (
    "ec2:DescribeInstances", "ec2:DescribeInstanceTypes", "ec2:RunInstances", "ec2:TerminateInstances",
    "ec2:StartInstances", "ec2:StopInstances", "ec2:ModifyInstanceAttribute", "ec2:DescribeImages",
    "ec2:ImportImage", "ec2:DeregisterImage", "ec2:DescribeVolumes", "ec2:CreateVolume", "ec2:ModifyVolume",
    "ec2:ImportVolume", "ec2:DeleteVolume", "ec2:AttachVolume", "ec2:DetachVolume",
    "ec2:GetEbsEncryptionByDefault", "ec2:CreateSnapshot", "ec2:DescribeSnapshots", "ec2:DeleteSnapshot",
    "ec2:DescribeSubnets", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups",
    "ec2:DescribeKeyPairs", "ec2:CreateKeyPair", "ec2:DeleteKeyPair", "ec2:DescribeAvailabilityZones",
    "ec2:DescribeVpcs", "ec2:DescribeConversionTasks", "ec2:DescribeImportImageTasks",
    "ec2:DescribeVolumesModifications", "ec2:CancelImportTask", "ec2:CancelConversionTask", "ec2:CreateTags",
    "ec2:DescribeAccountAttributes", "ec2:DescribeDhcpOptions", "ec2:DescribeVpcAttribute", "iam:GetRole",
    "iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "s3:CreateBucket", "s3:ListBucket",
    "s3:ListAllMyBuckets", "s3:DeleteBucket", "s3:PutObject", "s3:DeleteObject", "s3:GetBucketLocation",
    "s3:PutLifeCycleConfiguration", "s3:GetObject", "s3:RestoreObject", "s3:AbortMultiPartUpload",
    "s3:ListBucketMultiPartUploads", "s3:ListMultipartUploadParts",
)  # fmt: skip


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- built-ins ----------------------------------------------------------------------------------


def test_builtin_veeam_ec2_restore_is_the_published_policy() -> None:
    profile = ProfileRegistry.default().get("veeam-ec2-restore")
    assert profile.actions == VEEAM_ACTIONS
    assert len(profile.actions) == 55
    assert "s3:PutLifeCycleConfiguration" in profile.actions  # kept as published
    assert profile.url == VEEAM_URL
    assert profile.description


def test_builtin_helper_appliance_omits_only_create_role() -> None:
    profile = ProfileRegistry.default().get("veeam-ec2-restore-helper-appliance")
    assert profile.actions == tuple(action for action in VEEAM_ACTIONS if action != "iam:CreateRole")
    assert profile.url == VEEAM_URL
    assert "If you plan to restore workloads using helper appliances, you can omit" in profile.description


def test_builtin_names_and_sources() -> None:
    registry = ProfileRegistry.default()
    assert registry.names() == BUILTINS
    for name in registry.names():
        assert registry.get(name).source == f"built-in {name}.json"


def test_registry_get_unknown_names_it_and_lists_known() -> None:
    with pytest.raises(ProfileError) as raised:
        ProfileRegistry.default().get("veeam")
    message = str(raised.value)
    assert "unknown profile 'veeam'" in message
    assert "veeam-ec2-restore, veeam-ec2-restore-helper-appliance" in message
    assert isinstance(raised.value, InputError)


def test_loading_json_profiles_does_not_import_yaml() -> None:
    """PyYAML is loaded only for a YAML file: cold start is a feature."""
    code = (
        "import sys; from restorewatch.profiles import ProfileRegistry; ProfileRegistry.default(); "
        "assert 'yaml' not in sys.modules, 'yaml imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- user files ---------------------------------------------------------------------------------


def test_load_json_single_profile(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p.json", json.dumps({"name": "mine", "description": "d", "actions": ["s3:GetObject"]})
    )
    assert load_profile_file(path) == [Profile("mine", "d", ("s3:GetObject",), str(path))]


def test_load_json_list_and_profiles_key(tmp_path: Path) -> None:
    items = [{"name": "a", "actions": ["s3:GetObject"]}, {"name": "b", "actions": ["ec2:RunInstances"]}]
    listed = write(tmp_path / "list.json", json.dumps(items))
    keyed = write(tmp_path / "keyed.json", json.dumps({"profiles": items}))
    assert [p.name for p in load_profile_file(listed)] == ["a", "b"]
    assert [p.name for p in load_profile_file(keyed)] == ["a", "b"]


def test_load_yaml_profile(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p.yaml",
        "name: commvault-restore\ndescription: mine\nsource_url: https://example.com\n"
        "actions:\n  - ec2:RunInstances\n  - s3:GetObject\n",
    )
    (profile,) = load_profile_file(path)
    assert profile == Profile(
        "commvault-restore", "mine", ("ec2:RunInstances", "s3:GetObject"), str(path), "https://example.com"
    )


def test_registry_default_with_files_and_directories(tmp_path: Path) -> None:
    folder = tmp_path / "profiles"
    folder.mkdir()
    write(folder / "a.yml", "name: a\nactions: [s3:GetObject]\n")
    write(folder / "b.json", '{"name": "b", "actions": ["s3:PutObject"]}')
    write(folder / "notes.txt", "not a profile")
    single = write(tmp_path / "c.json", '{"name": "c", "actions": ["ec2:RunInstances"]}')
    registry = ProfileRegistry.default([folder, str(single)])
    assert registry.names() == sorted(["a", "b", "c", *BUILTINS])
    assert registry.get("b").actions == ("s3:PutObject",)


def test_registry_rejects_redefining_a_builtin(tmp_path: Path) -> None:
    path = write(tmp_path / "p.json", '{"name": "veeam-ec2-restore", "actions": ["s3:GetObject"]}')
    with pytest.raises(ProfileError, match=r"already defined in built-in veeam-ec2-restore\.json") as raised:
        ProfileRegistry.default([path])
    assert str(path) in str(raised.value)


def test_load_missing_file_names_it(tmp_path: Path) -> None:
    path = tmp_path / "missing.json"
    with pytest.raises(ProfileError, match="cannot read profile file") as raised:
        load_profile_file(path)
    assert str(path) in str(raised.value)


@pytest.mark.parametrize(
    ("name", "text", "fragment"),
    [
        ("p.json", "{nope", "invalid JSON"),
        ("p.yaml", "name: [x\n", "invalid YAML"),
        ("p.json", "[]", "expected a profile object"),
        ("p.json", '"veeam"', "expected a profile object"),
        ("p.json", "[1]", "profile #0 is not an object"),
        ("p.json", '{"actions": ["s3:GetObject"]}', "profile #0 has no 'name'"),
        ("p.json", '{"name": "x"}', "profile 'x' has no 'actions'"),
        ("p.json", '{"name": "x", "action": ["s3:GetObject"]}', "profile 'x': unknown key(s) action"),
        ("p.json", '{"profiles": [], "extra": 1}', "unexpected key(s) next to 'profiles': extra"),
        (
            "p.json",
            '[{"name": "x", "actions": ["s3:GetObject"]}, {"name": "x", "actions": ["s3:PutObject"]}]',
            "defined twice",
        ),
    ],
)
def test_load_rejects_malformed_files(tmp_path: Path, name: str, text: str, fragment: str) -> None:
    path = write(tmp_path / name, text)
    with pytest.raises(ProfileError) as raised:
        load_profile_file(path)
    assert str(path) in str(raised.value)
    assert fragment in str(raised.value)


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "fragment"),
    [
        ("s3:*", "wildcard"),
        ("s3:Get?bject", "wildcard"),
        ("*", "wildcard"),
        ("s3GetObject", "service:ActionName"),
        ("s3_:GetObject", "service:ActionName"),
        ("s3:Get-Object", "service:ActionName"),
        ("s3:", "service:ActionName"),
        (" s3:GetObject", "service:ActionName"),
        ("s3:GetObject:x", "service:ActionName"),
        (3, "is not a string"),
    ],
)
def test_malformed_action_names_file_profile_and_action(
    tmp_path: Path, action: object, fragment: str
) -> None:
    path = write(tmp_path / "p.json", json.dumps({"name": "mine", "actions": ["s3:PutObject", action]}))
    with pytest.raises(ProfileError) as raised:
        load_profile_file(path)
    message = str(raised.value)
    assert str(path) in message
    assert "profile 'mine'" in message
    assert repr(action) in message
    assert fragment in message


def test_valid_action_forms() -> None:
    """Service prefixes with '-' and digits, action names with digits (all real AWS actions)."""
    actions = [
        "ec2:RunInstances",
        "ec2-instance-connect:SendSSHPublicKey",
        "route53:ListHostedZones",
        "ec2:DescribeIpv6Pools",
    ]
    assert make_profile("x", actions, source="t").actions == tuple(actions)


def test_actions_in_any_letter_case_are_valid_and_keep_their_spelling() -> None:
    """In a policy "the prefix and the action name are case insensitive"; a profile is read the same way.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    """
    profile = make_profile("x", ["IAM:ListUsers", "S3:GETOBJECT", "ec2:describeinstances"], source="t")
    assert profile.actions == ("IAM:ListUsers", "S3:GETOBJECT", "ec2:describeinstances")
    with pytest.raises(ProfileError, match=r"'iam:listusers' is listed twice \(also as 'IAM:ListUsers'\)"):
        make_profile("x", ["IAM:ListUsers", "iam:listusers"], source="t")


def test_duplicate_actions_rejected_case_insensitively() -> None:
    """Action names are case-insensitive in IAM, so these are one action listed twice.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    """
    with pytest.raises(ProfileError, match=r"'s3:PutLifecycleConfiguration' is listed twice") as raised:
        make_profile("x", ["s3:PutLifeCycleConfiguration", "s3:PutLifecycleConfiguration"], source="f.json")
    assert "f.json: profile 'x'" in str(raised.value)


@pytest.mark.parametrize("actions", [[], "s3:GetObject", None, {"s3:GetObject": 1}])
def test_actions_must_be_a_non_empty_list(actions: object) -> None:
    with pytest.raises(ProfileError, match=r"f\.json: profile 'x': actions"):
        make_profile("x", actions, source="f.json")


@pytest.mark.parametrize("name", ["", "two words", "a,b", "ümlaut", 7, None])
def test_invalid_profile_names(name: object) -> None:
    with pytest.raises(ProfileError, match=r"f\.json: profile name .* is invalid"):
        make_profile(name, ["s3:GetObject"], source="f.json")


def test_description_and_url_types() -> None:
    with pytest.raises(ProfileError, match="description must be a string"):
        make_profile("x", ["s3:GetObject"], description=3, source="f")
    with pytest.raises(ProfileError, match="source_url must be a string"):
        make_profile("x", ["s3:GetObject"], url=["u"], source="f")


# --- the watch tag ------------------------------------------------------------------------------


def test_default_tag_key() -> None:
    assert DEFAULT_TAG_KEY == "restorewatch:profile"


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("veeam-ec2-restore", ("veeam-ec2-restore",)),
        ("a b", ("a", "b")),
        ("  a\tb  a ", ("a", "b")),
    ],
)
def test_profile_names_from_tag_splits_on_whitespace(value: str, names: tuple[str, ...]) -> None:
    assert profile_names_from_tag(value) == names


@pytest.mark.parametrize("value", ["", "   "])
def test_profile_names_from_tag_rejects_empty(value: str) -> None:
    with pytest.raises(ProfileError, match="names no profile"):
        profile_names_from_tag(value)


def test_tag_value_matches_keys_case_insensitively() -> None:
    """IAM tag keys are unique regardless of case.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html
    """
    tags = {"RestoreWatch:Profile": "a", "other": "b"}
    assert tag_value(tags, "restorewatch:profile") == "a"
    assert tag_value({"restorewatch:profile": "x"}, "restorewatch:profile") == "x"
    assert tag_value(tags, "missing") is None
