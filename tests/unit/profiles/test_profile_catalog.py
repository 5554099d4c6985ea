"""Profiles against the action catalog: unknown actions are input errors, built-ins are AWS's actions,
and the vendors' published lists are kept with their scoping and our corrections (issue 14).

Evaluation spec, "The action catalog", rule 3: a required action the catalog does not know (unknown
service prefix or action name, compared case-insensitively) is rejected where the profile is loaded,
naming the action, the closest known names and the catalog's date.
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from restorewatch.catalog import default_catalog
from restorewatch.errors import ProfileError
from restorewatch.profiles import Profile, ProfileRegistry, load_profile_file, make_profile

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PINNED_CATALOG = "0.1.202610271"


def _date() -> str:
    return default_catalog().catalog_version().date


# --- unknown actions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "fragments"),
    [
        ("s3:HeadBucket", ["unknown action 's3:HeadBucket'", "closest: s3:"]),
        ("s3:NoSuchAction", ["unknown action 's3:NoSuchAction'"]),
        ("ec2:RunInstance", ["unknown action 'ec2:RunInstance'", "ec2:RunInstances"]),
        ("s4:GetObject", ["unknown service prefix 's4'", "s3:GetObject"]),
    ],
)
def test_a_profile_file_with_an_unknown_action_is_refused(
    tmp_path: Path, action: str, fragments: list[str]
) -> None:
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"name": "mine", "actions": ["s3:GetObject", action]}), encoding="utf-8")
    with pytest.raises(ProfileError) as raised:
        load_profile_file(path)
    message = str(raised.value)
    assert str(path) in message
    assert "profile 'mine'" in message
    assert _date() in message  # the catalog's date: the action may be newer than the data
    for fragment in fragments:
        assert fragment in message


def test_letter_case_of_a_known_action_never_matters() -> None:
    """IAM action names are case-insensitive ("Prefixes and action names are case insensitive",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html)."""
    profile = make_profile(
        "x", ["s3:getobject", "ec2:describeINSTANCES", "iam:listInstanceProfiles"], source="t"
    )
    assert profile.actions == ("s3:getobject", "ec2:describeINSTANCES", "iam:listInstanceProfiles")


def test_a_folder_of_user_profiles_with_an_unknown_action_is_refused_whole() -> None:
    """The watcher's profile folder and ``--profile-path`` load through ``ProfileRegistry.default``."""
    with pytest.raises(
        ProfileError, match=r"s3-repository-typo\.json: profile 's3-repository-typo': unknown action"
    ):
        ProfileRegistry.default([FIXTURES / "profiles-unknown-action"])


def test_a_built_in_profile_is_checked_when_first_used() -> None:
    """Built-ins are read without the catalog (a run reads only the services it asks about) and
    checked on first use: a built-in naming an unknown action can never be used."""
    broken = make_profile(
        "broken", ["s3:GetObject", "s3:HeadBucket"], source="built-in broken.json", check_catalog=False
    )
    fine = make_profile("fine", ["s3:GetObject"], source="built-in fine.json", check_catalog=False)
    registry = ProfileRegistry.from_profiles([broken, fine])
    assert registry.get("fine") is fine
    with pytest.raises(
        ProfileError, match=r"built-in broken\.json: profile 'broken': unknown action 's3:HeadBucket'"
    ):
        registry.get("broken")
    with pytest.raises(ProfileError):  # and again: nothing is remembered as checked
        registry.get("broken")


# --- the built-in profiles ------------------------------------------------------------------------


def _builtins() -> dict[str, Profile]:
    registry = ProfileRegistry.default()
    return {name: registry.get(name) for name in registry.names()}


def test_built_in_profiles_are_all_aws_actions_of_the_pinned_catalog() -> None:
    """Every built-in action is in the pinned catalog: a catalog upgrade that drops one fails here."""
    catalog = default_catalog()
    assert catalog.catalog_version().version == PINNED_CATALOG
    unknown = {name: [a for a in p.actions if catalog.spelling(a) is None] for name, p in _builtins().items()}
    assert {name: actions for name, actions in unknown.items() if actions} == {}


def test_built_in_profiles_name_their_source_and_its_version() -> None:
    for name, profile in _builtins().items():
        assert profile.url, name
        assert profile.url.startswith("https://"), name
        assert profile.source_version, name
        assert profile.description, name


def test_the_profiles_people_need_are_built_in() -> None:
    assert set(_builtins()) >= {
        "veeam-ec2-restore",
        "veeam-ec2-restore-helper-appliance",
        "veeam-s3-repository",
        "veeam-s3-repository-immutable",
        "veeam-aws-ec2-restore",
        "veeam-aws-ec2-restore-workers",
        "aws-backup-restore",
    }


def test_aws_backup_restore_is_the_managed_policy_for_restores() -> None:
    """The profile requires exactly the actions of AWSBackupServiceRolePolicyForRestores (v35, copied
    into tests/fixtures), and keeps each statement's resources and conditions as published.
    https://docs.aws.amazon.com/aws-backup/latest/devguide/security-iam-awsmanpol.html"""
    version = json.loads(
        (FIXTURES / "managed-policies" / "AWSBackupServiceRolePolicyForRestores.json").read_text()
    )["PolicyVersion"]
    statements = version["Document"]["Statement"]
    published = {
        a.lower()
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    profile = _builtins()["aws-backup-restore"]
    assert {a.lower() for a in profile.actions} == published
    assert version["VersionId"] in (profile.source_version or "")
    assert len(profile.scopes) == len(statements)
    for scope, statement in zip(profile.scopes, statements, strict=True):
        assert scope.sid == statement["Sid"]
        resources = statement["Resource"]
        assert list(scope.resources) == ([resources] if isinstance(resources, str) else resources)
        assert scope.condition == statement.get("Condition")


@pytest.mark.parametrize("name", ["veeam-s3-repository", "veeam-s3-repository-immutable"])
def test_veeam_s3_repository_profiles_correct_s3_head_bucket(name: str) -> None:
    """Veeam KB3151 listed s3:HeadBucket, which is no IAM action: HeadBucket is authorized through
    s3:ListBucket (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html)."""
    profile = _builtins()[name]
    actions = {a.lower() for a in profile.actions}
    assert "s3:headbucket" not in actions
    assert "s3:listbucket" in actions
    (correction,) = profile.corrections
    assert correction.published == "s3:HeadBucket"
    assert correction.replacement == ("s3:ListBucket",)
    assert correction.doc == "https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html"
    bucket_scope = next(
        scope for scope in profile.scopes if "arn:aws:s3:::<yourbucketname>" in scope.resources
    )
    assert "arn:aws:s3:::<yourbucketname>/*" in bucket_scope.resources


def test_immutable_repository_adds_the_object_lock_actions() -> None:
    builtins = _builtins()
    plain = {a.lower() for a in builtins["veeam-s3-repository"].actions}
    immutable = {a.lower() for a in builtins["veeam-s3-repository-immutable"].actions}
    assert plain <= immutable
    assert immutable - plain == {
        "s3:listbucketversions",
        "s3:getobjectversion",
        "s3:getobjectretention",
        "s3:getobjectlegalhold",
        "s3:putobjectretention",
        "s3:putobjectlegalhold",
        "s3:deleteobjectversion",
    }


def test_veeam_aws_worker_profile_extends_the_restore_role() -> None:
    builtins = _builtins()
    base = set(builtins["veeam-aws-ec2-restore"].actions)
    workers = set(builtins["veeam-aws-ec2-restore-workers"].actions)
    assert base < workers
    assert {"ssm:SendCommand", "sqs:CreateQueue", "iam:GetRole"} <= workers - base


# --- the published-list keys of a profile file ------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"scopes": {"actions": []}}, "scopes must be a list"),
        (
            {"scopes": [{"actions": ["s3:PutObject"], "resources": ["*"]}]},
            "names s3:PutObject, which the profile does not require",
        ),
        ({"scopes": [{"actions": ["s3:GetObject"]}]}, "scope #0 resources must be a list"),
        (
            {"scopes": [{"actions": ["s3:GetObject"], "resources": ["*"], "Condition": {}}]},
            "unknown key(s) Condition",
        ),
        (
            {"scopes": [{"actions": ["s3:GetObject"], "resources": ["*"], "condition": "x"}]},
            "condition must be an object",
        ),
        ({"corrections": [{"published": "s3:HeadBucket"}]}, "reason must say why"),
        ({"corrections": [{"published": "s3:GetObject", "reason": "r"}]}, "is corrected but still required"),
        (
            {
                "corrections": [
                    {"published": "s3:HeadBucket", "replacement": ["s3:ListBucket"], "reason": "r"}
                ]
            },
            "replacement s3:ListBucket is not required",
        ),
        ({"source_version": 3}, "source_version must be a string"),
    ],
)
def test_published_list_keys_are_validated(tmp_path: Path, extra: dict[str, object], fragment: str) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"name": "mine", "actions": ["s3:GetObject"], **extra}), encoding="utf-8")
    with pytest.raises(ProfileError) as raised:
        load_profile_file(path)
    assert fragment in str(raised.value)
    assert str(path) in str(raised.value)


def test_published_list_keys_round_trip(tmp_path: Path) -> None:
    scope = {
        "sid": "Bucket",
        "actions": ["s3:ListBucket"],
        "resources": ["arn:aws:s3:::b"],
        "condition": {"Bool": {"aws:SecureTransport": "true"}},
    }
    correction = {"published": "s3:HeadBucket", "replacement": ["s3:ListBucket"], "reason": "no such action"}
    path = tmp_path / "p.json"
    path.write_text(
        json.dumps(
            {
                "name": "mine",
                "actions": ["s3:ListBucket"],
                "source_version": "v1",
                "scopes": [scope],
                "corrections": [correction],
            }
        ),
        encoding="utf-8",
    )
    (profile,) = load_profile_file(path)
    assert profile.source_version == "v1"
    assert [s.as_dict() for s in profile.scopes] == [scope]
    assert [c.as_dict() for c in profile.corrections] == [correction]
