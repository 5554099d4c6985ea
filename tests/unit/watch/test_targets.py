"""watch.targets and watch.org_events: which principals (accounts) a change can affect (pure).

IAM API reference for the rules the mapping relies on:
https://docs.aws.amazon.com/IAM/latest/APIReference/API_Operations.html
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from restorewatch.domain import CloudTrailChange, Target, TargetKind, same_name
from restorewatch.profiles import DEFAULT_TAG_KEY
from restorewatch.watch.event_table import ORG_SOURCE as ORG_EVENT_SOURCE
from restorewatch.watch.org_events import ORG_REQUIRED_PARAMETERS, OrgScope, plan_org_change
from restorewatch.watch.targets import KNOWN_EVENT_NAMES, REQUIRED_PARAMETERS, plan_targets

ACCOUNT = "111122223333"
IAM = f"arn:aws:iam::{ACCOUNT}:"
POLICY = f"{IAM}policy/VeeamRestorePolicy"
TAG = {"key": "restorewatch:profile", "value": "veeam-restore"}
USER, ROLE, GROUP, ENTITIES = (
    TargetKind.USER,
    TargetKind.ROLE,
    TargetKind.GROUP_MEMBERS,
    TargetKind.POLICY_ENTITIES,
)
USER_GONE, ROLE_GONE = TargetKind.USER_GONE, TargetKind.ROLE_GONE
U, R, G = "veeam-restore", "VeeamRestoreRole", "backup-operators"


def change(
    name: str,
    error_code: str | None = None,
    *,
    read_only: bool = False,
    source: str = "iam.amazonaws.com",
    **params: Any,
) -> CloudTrailChange:
    return CloudTrailChange(
        event_id="e-1",
        event_name=name,
        event_time=datetime(2025, 3, 14, 10, 0, tzinfo=UTC),
        account=ACCOUNT,
        region="us-east-1",
        event_source=source,
        request_parameters=params,
        error_code=error_code,
        read_only=read_only,
    )


@pytest.mark.parametrize(
    ("name", "params", "kind", "target_name", "watched_only"),
    [
        ("AttachUserPolicy", {"userName": U, "policyArn": POLICY}, USER, U, True),
        ("DetachUserPolicy", {"userName": U, "policyArn": POLICY}, USER, U, True),
        ("PutUserPolicy", {"userName": "u", "policyName": "p", "policyDocument": "{}"}, USER, "u", True),
        ("DeleteUserPolicy", {"userName": "u", "policyName": "p"}, USER, "u", True),
        ("AttachRolePolicy", {"roleName": R, "policyArn": POLICY}, ROLE, R, True),
        ("DetachRolePolicy", {"roleName": "r", "policyArn": POLICY}, ROLE, "r", True),
        ("PutRolePolicy", {"roleName": "r", "policyName": "p", "policyDocument": "{}"}, ROLE, "r", True),
        ("DeleteRolePolicy", {"roleName": "r", "policyName": "p"}, ROLE, "r", True),
        ("AttachGroupPolicy", {"groupName": G, "policyArn": POLICY}, GROUP, G, False),
        ("DetachGroupPolicy", {"groupName": "g", "policyArn": POLICY}, GROUP, "g", False),
        ("PutGroupPolicy", {"groupName": "g", "policyName": "p", "policyDocument": "{}"}, GROUP, "g", False),
        ("DeleteGroupPolicy", {"groupName": "g", "policyName": "p"}, GROUP, "g", False),
        ("AddUserToGroup", {"groupName": "g", "userName": "u"}, USER, "u", True),
        ("RemoveUserFromGroup", {"groupName": "g", "userName": "u"}, USER, "u", True),
        ("PutUserPermissionsBoundary", {"userName": "u", "permissionsBoundary": POLICY}, USER, "u", True),
        ("DeleteUserPermissionsBoundary", {"userName": "u"}, USER, "u", True),
        ("PutRolePermissionsBoundary", {"roleName": "r", "permissionsBoundary": POLICY}, ROLE, "r", True),
        ("DeleteRolePermissionsBoundary", {"roleName": "r"}, ROLE, "r", True),
        ("SetDefaultPolicyVersion", {"policyArn": POLICY, "versionId": "v2"}, ENTITIES, POLICY, False),
        (
            "CreatePolicyVersion",
            {"policyArn": POLICY, "policyDocument": "{}", "setAsDefault": True},
            ENTITIES,
            POLICY,
            False,
        ),
        ("TagUser", {"userName": "u", "tags": [TAG]}, USER, "u", False),
        ("TagUser", {"userName": "u", "tags": [{"key": "team", "value": "x"}]}, USER, "u", True),
        ("TagRole", {"roleName": "r", "tags": [TAG]}, ROLE, "r", False),
        ("UntagUser", {"userName": "u", "tagKeys": ["restorewatch:profile"]}, USER, "u", True),
        ("UntagRole", {"roleName": "r", "tagKeys": ["restorewatch:profile"]}, ROLE, "r", True),
        ("CreateUser", {"userName": "u", "tags": [TAG]}, USER, "u", False),
        ("CreateRole", {"roleName": "r", "assumeRolePolicyDocument": "{}", "tags": [TAG]}, ROLE, "r", False),
        ("DeleteUser", {"userName": "u"}, USER_GONE, "u", True),
        ("DeleteRole", {"roleName": "r"}, ROLE_GONE, "r", True),
        ("UpdateRole", {"roleName": "r", "description": "d"}, ROLE, "r", True),
    ],
)
def test_plan_targets_event_maps_to_one_target(
    name: str, params: dict[str, Any], kind: TargetKind, target_name: str, watched_only: bool
) -> None:
    plan = plan_targets(change(name, **params), DEFAULT_TAG_KEY)
    assert not plan.sweep
    assert len(plan.targets) == 1
    target = plan.targets[0]
    assert (target.kind, target.name, target.account, target.watched_only) == (
        kind,
        target_name,
        ACCOUNT,
        watched_only,
    )
    assert target.reason


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("CreatePolicyVersion", {"policyArn": POLICY, "policyDocument": "{}", "setAsDefault": False}),
        ("CreatePolicyVersion", {"policyArn": POLICY, "policyDocument": "{}"}),
        ("DeletePolicyVersion", {"policyArn": POLICY, "versionId": "v1"}),
        ("DeletePolicy", {"policyArn": POLICY}),
        ("DeleteGroup", {"groupName": G}),
        ("CreateUser", {"userName": "u"}),
        ("CreateRole", {"roleName": "r", "tags": [{"key": "team", "value": "x"}]}),
        ("UpdateUser", {"userName": "u"}),
    ],
)
def test_plan_targets_change_without_effect_has_no_target(name: str, params: dict[str, Any]) -> None:
    """A non-default version grants nothing; the default version, a policy in use and a non-empty
    group cannot be deleted (IAM returns DeleteConflict), so those events change nothing."""
    plan = plan_targets(change(name, **params), DEFAULT_TAG_KEY)
    assert plan.no_effect
    assert plan.reason


def test_plan_targets_create_policy_version_set_as_default_string_targets_entities() -> None:
    plan = plan_targets(change("CreatePolicyVersion", policyArn=POLICY, setAsDefault="true"), DEFAULT_TAG_KEY)
    assert plan.targets[0].kind is TargetKind.POLICY_ENTITIES


def test_plan_targets_failed_call_has_no_effect() -> None:
    failed = change("DetachRolePolicy", error_code="AccessDenied", roleName="r", policyArn=POLICY)
    plan = plan_targets(failed, DEFAULT_TAG_KEY)
    assert plan.no_effect
    assert "AccessDenied" in plan.reason


def test_plan_targets_unknown_event_sweeps() -> None:
    plan = plan_targets(change("UpdateAssumeRolePolicy", roleName="r"), DEFAULT_TAG_KEY)
    assert plan.sweep
    assert not plan.targets


def test_plan_targets_missing_parameter_sweeps() -> None:
    plan = plan_targets(change("DetachRolePolicy", policyArn=POLICY), DEFAULT_TAG_KEY)
    assert plan.sweep
    assert "roleName" in plan.reason


def test_plan_targets_update_user_rename_old_gone_new_read() -> None:
    """UpdateUser with newUserName changes the user's ARN: the old one is gone."""
    plan = plan_targets(change("UpdateUser", userName=U, newUserName="veeam-restore-2"), DEFAULT_TAG_KEY)
    assert [(t.kind, t.name, t.watched_only) for t in plan.targets] == [
        (USER_GONE, U, True),
        (USER, "veeam-restore-2", False),
    ]


def test_plan_targets_update_user_new_path_keeps_name() -> None:
    plan = plan_targets(change("UpdateUser", userName="u", newPath="/backup/"), DEFAULT_TAG_KEY)
    assert [(t.kind, t.name) for t in plan.targets] == [(USER_GONE, "u"), (USER, "u")]


def test_plan_targets_custom_tag_key_decides_watched_only() -> None:
    tagged = change("TagUser", userName="u", tags=[{"key": "watch", "value": "p"}])
    plan = plan_targets(tagged, tag_key="watch")
    assert plan.targets[0].watched_only is False


def test_plan_targets_every_known_event_has_a_mapping() -> None:
    for name in KNOWN_EVENT_NAMES:
        params: dict[str, Any] = {
            "userName": "u",
            "roleName": "r",
            "groupName": "g",
            "policyArn": POLICY,
        }
        assert not plan_targets(change(name, **params), DEFAULT_TAG_KEY).sweep, name


@pytest.mark.parametrize(
    ("target", "arn", "expected"),
    [
        (Target(USER, U, ACCOUNT), f"{IAM}user/veeam-restore", True),
        (Target(USER, U, ACCOUNT), f"{IAM}user/ops/veeam-restore", True),
        (Target(USER_GONE, U, ACCOUNT), f"{IAM}user/veeam-restore", True),
        (Target(USER, U, ACCOUNT), f"{IAM}role/veeam-restore", False),
        (Target(USER, U, ACCOUNT), "arn:aws:iam::444455556666:user/veeam-restore", False),
        (Target(USER, "veeam", ACCOUNT), f"{IAM}user/veeam-restore", False),
        (Target(ROLE_GONE, R, ACCOUNT), f"{IAM}role/VeeamRestoreRole", True),
        (Target(GROUP, "g", ACCOUNT), f"{IAM}user/g", False),
        (Target(USER, "u", ACCOUNT), "not-an-arn", False),
        # IAM names are not distinguished by case: the event's spelling names the stored principal
        (Target(ROLE, "veeamrestorerole", ACCOUNT), f"{IAM}role/VeeamRestoreRole", True),
        (Target(ROLE_GONE, "VEEAMRESTOREROLE", ACCOUNT), f"{IAM}role/backup/VeeamRestoreRole", True),
        (Target(USER, "Veeam-Restore", ACCOUNT), f"{IAM}user/veeam-restore", True),
        (Target(USER_GONE, "VEEAM-RESTORE", ACCOUNT), f"{IAM}user/veeam-restore", True),
        (Target(ROLE, "veeamrestorerole", ACCOUNT), f"{IAM}user/VeeamRestoreRole", False),
        (Target(ROLE, "veeamrestorerole2", ACCOUNT), f"{IAM}role/VeeamRestoreRole", False),
    ],
)
def test_target_matches_principal_arn_any_path(target: Target, arn: str, expected: bool) -> None:
    """Any path, and any letter case: "Names of IAM entities ... are not distinguished by case"
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html), so an event naming
    ``veeamrestorerole`` changed ``VeeamRestoreRole``."""
    assert target.matches(arn) is expected


def test_same_name_is_case_insensitive_only() -> None:
    assert same_name("VeeamRestorePolicy", "veeamrestorepolicy")
    assert same_name("backup-operators", "Backup-Operators")
    assert not same_name("backup-operators", "backup_operators")


# --- one place checks the parameters; read-only calls cause no work ------------------------------------


@pytest.mark.parametrize("name", sorted(REQUIRED_PARAMETERS))
def test_plan_targets_without_required_parameters_sweeps_the_account(name: str) -> None:
    """``requestParameters`` null (or without the parameter the mapping keys on): the change is
    still planned, as a sweep of its account, never dropped."""
    plan = plan_targets(change(name), DEFAULT_TAG_KEY)
    assert plan.sweep
    assert not plan.targets
    assert f"requestParameters.{REQUIRED_PARAMETERS[name][0]}" in plan.reason


@pytest.mark.parametrize("name", sorted(ORG_REQUIRED_PARAMETERS))
def test_plan_org_change_without_required_parameters_rechecks_every_account(name: str) -> None:
    plan = plan_org_change(change(name, source=ORG_EVENT_SOURCE))
    assert plan.scope is OrgScope.ALL
    assert f"requestParameters.{ORG_REQUIRED_PARAMETERS[name][0]}" in plan.reason


@pytest.mark.parametrize("name", ["GetRole", "ListAttachedRolePolicies", "DetachRolePolicy", "Frobnicate"])
def test_plan_targets_read_only_call_causes_no_work(name: str) -> None:
    """``readOnly: true``: the call changed nothing. An unmapped name would otherwise sweep the
    account. https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html"""
    assert plan_targets(change(name, read_only=True), DEFAULT_TAG_KEY).no_effect
    assert plan_targets(
        change(name, read_only=True, roleName="r", policyArn=POLICY), DEFAULT_TAG_KEY
    ).no_effect


@pytest.mark.parametrize("name", ["DescribePolicy", "ListAccounts", "AttachPolicy", "Frobnicate"])
def test_plan_org_change_read_only_call_causes_no_work(name: str) -> None:
    plan = plan_org_change(change(name, read_only=True, source=ORG_EVENT_SOURCE))
    assert plan.no_effect
    assert "read-only" in plan.reason


@pytest.mark.parametrize("name", ["CreateAccountResult", "CloseAccountResult"])
def test_plan_org_change_account_service_events_change_no_scp(name: str) -> None:
    """Organizations' service-originated records of an account created or closed change no SCP of any
    other account; an unmapped Organizations call still re-checks every account."""
    assert plan_org_change(change(name, source=ORG_EVENT_SOURCE)).no_effect
    assert plan_org_change(change("CreateOrganizationalUnit", source=ORG_EVENT_SOURCE)).scope is OrgScope.ALL
