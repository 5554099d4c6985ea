"""Profiles that bind actions to resources: the file format, the parameters, the bound built-ins.

Issue 15, "The contract": an action entry is a string (the action on ``*``) or an object
``{"action": ..., "resource": "arn:aws:s3:::${RepositoryBucket}/*"}``; a profile declares its
``parameters``; their values come from the principal's tags ``restorewatch:param:<Name>`` and from
``--param Name=Value``, which wins; a missing one is an error for that principal, never a guess.
Which resources an action acts on: the Service Authorization Reference (the pinned catalog),
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from restorewatch.catalog import default_catalog
from restorewatch.errors import InputError, ProfileError
from restorewatch.profiles import (
    BoundAction,
    ParameterError,
    ProfileRegistry,
    RequiredAction,
    bind_requirements,
    load_profile_file,
    make_profile,
    parameters_from_tags,
    parse_param_options,
)

if TYPE_CHECKING:
    from pathlib import Path

    from restorewatch.profiles import Profile

BUCKET = "arn:aws:s3:::${RepositoryBucket}"
OBJECTS = "arn:aws:s3:::${RepositoryBucket}/*"
KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _bound(**extra: Any) -> Profile:
    return make_profile(
        "repo",
        [
            "s3:ListAllMyBuckets",
            {"action": "s3:PutObject", "resource": OBJECTS},
            {"action": "s3:GetBucketLocation", "resource": BUCKET},
        ],
        parameters=["RepositoryBucket"],
        source="test",
        **extra,
    )


# --- the format -----------------------------------------------------------------------------------


def test_action_entries_are_strings_or_bound_objects(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(
        json.dumps(
            {
                "name": "repo",
                "parameters": ["RepositoryBucket"],
                "actions": ["s3:ListAllMyBuckets", {"action": "s3:PutObject", "resource": OBJECTS}],
            }
        ),
        encoding="utf-8",
    )
    (profile,) = load_profile_file(path)
    assert profile.actions == ("s3:ListAllMyBuckets", "s3:PutObject")
    assert profile.requirements == (
        RequiredAction("s3:ListAllMyBuckets"),
        RequiredAction("s3:PutObject", OBJECTS),
    )
    assert profile.parameters == ("RepositoryBucket",)
    assert profile.bound


def test_a_profile_of_strings_is_unbound() -> None:
    profile = make_profile("plain", ["s3:GetObject"], source="test")
    assert profile.requirements == (RequiredAction("s3:GetObject"),)
    assert not profile.bound


@pytest.mark.parametrize(
    ("actions", "parameters", "fragment"),
    [
        (
            [{"action": "s3:PutObject", "resource": OBJECTS}],
            [],
            "${RepositoryBucket}, which is not a declared",
        ),
        (
            [{"action": "s3:PutObject", "resource": "arn:aws:s3:::${aws:username}/*"}],
            [],
            "policy variables are not allowed here",
        ),
        (["s3:PutObject"], ["RepositoryBucket"], "parameter RepositoryBucket is declared but no action"),
        ([{"action": "s3:PutObject"}], [], None),  # no resource: on "*", like a string
        ([{"action": "s3:PutObject", "resources": OBJECTS}], [], "it needs 'action' and may have 'resource'"),
        ([{"resource": OBJECTS}], [], "it needs 'action'"),
        ([{"action": "s3:PutObject", "resource": "backups/*"}], [], "is not an ARN pattern"),
        ([{"action": "s3:PutObject", "resource": ""}], [], "resource must be a non-empty string"),
        (
            [{"action": "s3:ListAllMyBuckets", "resource": "arn:aws:s3:::${B}"}],
            ["B"],
            "cannot be bound to a resource: it has no resource types",
        ),
        (
            [{"action": "s3:GetObject", "resource": BUCKET}],
            ["RepositoryBucket"],
            "can never name a resource it acts on",
        ),
        (
            [{"action": "kms:Decrypt", "resource": "arn:aws:s3:::${Key}"}],
            ["Key"],
            "can never name a resource it acts on",
        ),
        ([{"action": "s3:PutObject", "resource": "${A}"}], ["A", "a"], "declared twice"),
        ([{"action": "s3:PutObject", "resource": "${A}"}], ["A-b"], "parameter name 'A-b' is invalid"),
        ([{"action": "s3:PutObject", "resource": "${A}"}], "A", "parameters must be a list"),
        (
            ["s3:PutObject", {"action": "s3:putobject", "resource": "${A}"}],
            ["A"],
            "is listed twice",
        ),
    ],
)
def test_bound_entries_are_validated(actions: list[object], parameters: object, fragment: str | None) -> None:
    if fragment is None:
        assert make_profile("p", actions, parameters=parameters, source="test").requirements
        return
    with pytest.raises(ProfileError) as raised:
        make_profile("p", actions, parameters=parameters, source="test")
    assert fragment in str(raised.value)
    assert "profile 'p'" in str(raised.value)


def test_a_whole_arn_parameter_is_a_pattern() -> None:
    profile = make_profile(
        "key",
        [{"action": "kms:Decrypt", "resource": "${RepositoryKey}"}],
        parameters=["RepositoryKey"],
        source="t",
    )
    assert bind_requirements(profile, {"restorewatch:param:RepositoryKey": KEY}) == (
        BoundAction("kms:Decrypt", KEY),
    )


# --- parameter values -------------------------------------------------------------------------------


def test_values_come_from_the_tags_without_letter_case() -> None:
    tags = {"RestoreWatch:Param:repositorybucket": "backups", "restorewatch:profile": "repo", "Team": "x"}
    assert parameters_from_tags(tags) == {"repositorybucket": "backups"}
    assert bind_requirements(_bound(), tags) == (
        BoundAction("s3:ListAllMyBuckets", None),
        BoundAction("s3:PutObject", "arn:aws:s3:::backups/*"),
        BoundAction("s3:GetBucketLocation", "arn:aws:s3:::backups"),
    )


def test_a_param_option_wins_over_the_tag() -> None:
    tags = {"restorewatch:param:RepositoryBucket": "backups"}
    bound = bind_requirements(_bound(), tags, {"repositorybucket": "other-bucket"})
    assert bound[1] == BoundAction("s3:PutObject", "arn:aws:s3:::other-bucket/*")


def test_a_missing_parameter_names_the_tag_to_set() -> None:
    with pytest.raises(ParameterError) as raised:
        bind_requirements(_bound(), {"restorewatch:profile": "repo"})
    message = str(raised.value)
    assert "needs parameter(s) RepositoryBucket" in message
    assert "restorewatch:param:RepositoryBucket=<value>" in message
    assert isinstance(raised.value, InputError)  # so a principal's check is unknown, never a crash


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "has an empty value"),
        ("backups*", "must name one resource"),
        ("back ups", "must name one resource"),
        ("${aws:username}", "must name one resource"),
        ("arn:aws:s3:::backups", "is one name inside arn:aws:s3:::${RepositoryBucket}/*: no ':' or '/'"),
        ("backups/veeam", "is one name inside"),
        ("Backups", "a valid bucket name"),
    ],
)
def test_a_value_must_name_one_resource(value: str, fragment: str) -> None:
    with pytest.raises(ParameterError) as raised:
        bind_requirements(_bound(), {"restorewatch:param:RepositoryBucket": value})
    assert fragment in str(raised.value)


def test_a_key_parameter_must_be_a_key_arn() -> None:
    profile = make_profile(
        "key",
        [{"action": "kms:Decrypt", "resource": "${RepositoryKey}"}],
        parameters=["RepositoryKey"],
        source="t",
    )
    alias = "arn:aws:kms:eu-west-1:111122223333:alias/backups"
    with pytest.raises(ParameterError, match="key policies are attached to keys, not aliases"):
        bind_requirements(profile, {"restorewatch:param:RepositoryKey": alias})
    with pytest.raises(ParameterError, match="names no resource kms:Decrypt acts on"):
        bind_requirements(profile, {"restorewatch:param:RepositoryKey": "arn:aws:s3:::backups"})


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (["RepositoryBucket"], "is not of the form Name=Value"),
        (["=backups"], "is not of the form Name=Value"),
        (["A=1", "a=2"], "--param a is given twice"),
        (["A=x*"], "must name one resource"),
    ],
)
def test_param_options_are_validated(options: list[str], fragment: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_param_options(options)
    assert fragment in str(raised.value)


def test_param_options_keep_their_values() -> None:
    assert parse_param_options(["RepositoryBucket=backups", "RepositoryKey=a=b"]) == {
        "RepositoryBucket": "backups",
        "RepositoryKey": "a=b",
    }


# --- the bound built-ins ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bound", "source"),
    [
        ("veeam-s3-repository-bound", "veeam-s3-repository"),
        ("veeam-s3-repository-immutable-bound", "veeam-s3-repository-immutable"),
        ("aws-backup-restore-bound", "aws-backup-restore"),
    ],
)
def test_a_bound_built_in_requires_what_its_source_requires(bound: str, source: str) -> None:
    registry = ProfileRegistry.default()
    assert registry.get(bound).actions == registry.get(source).actions
    assert registry.get(bound).scopes == registry.get(source).scopes
    assert registry.get(bound).corrections == registry.get(source).corrections


@pytest.mark.parametrize("name", ["veeam-s3-repository-bound", "veeam-s3-repository-immutable-bound"])
def test_veeam_bound_profiles_bind_what_veeam_scopes_to_the_bucket(name: str) -> None:
    """Veeam KB3151's policy grants some actions on arn:aws:s3:::<yourbucketname> and .../*, the rest
    on "*": the bound profile binds exactly the first, each to the form its resource type has
    (object actions to the objects, bucket actions to the bucket; Service Authorization Reference)."""
    profile = ProfileRegistry.default().get(name)
    scoped = {
        action.lower()
        for scope in profile.scopes
        if "arn:aws:s3:::<yourbucketname>" in scope.resources
        for action in scope.actions
    }
    bound = {r.action.lower(): r.resource for r in profile.requirements if r.resource is not None}
    assert set(bound) == scoped
    assert profile.parameters == ("RepositoryBucket",)
    catalog = default_catalog()
    for action, resource in bound.items():
        facts = catalog.facts(action)
        assert facts is not None
        acts_on_objects = any(f.endswith("/${ObjectName}") for f in facts.arn_formats)
        assert resource == (OBJECTS if acts_on_objects else BUCKET), action
    assert "s3:listallmybuckets" not in bound


def test_aws_backup_bound_profile_binds_the_vault_and_the_key() -> None:
    profile = ProfileRegistry.default().get("aws-backup-restore-bound")
    bound = {r.action: r.resource for r in profile.requirements if r.resource is not None}
    assert bound.pop("backup:ListRecoveryPointsByBackupVault") == "${RepositoryVault}"
    assert set(bound.values()) == {"${RepositoryKey}"}
    assert {a.partition(":")[0] for a in bound} == {"kms"}
    assert profile.parameters == ("RepositoryVault", "RepositoryKey")
    tags = {
        "restorewatch:param:RepositoryVault": "arn:aws:backup:eu-west-1:111122223333:backup-vault:restores",
        "restorewatch:param:RepositoryKey": KEY,
    }
    patterns = {b.action: b.resource for b in bind_requirements(profile, tags) if b.resource is not None}
    assert patterns["kms:Decrypt"] == KEY
