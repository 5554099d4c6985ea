"""Every ``events/`` sample through the real handler (``functions/watcher/app.py``) against moto.

Each file is passed to ``lambda_handler`` unchanged, exactly as ``sam local invoke -e <file>`` passes
it, after the IAM change it reports was really made on a seeded account (moto's IAM). The test is
parametrized over the directory listing: a new sample fails here until it has a scenario below.

Event shapes: CloudTrail events via EventBridge
(https://docs.aws.amazon.com/eventbridge/latest/ref/events-structure.html,
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html),
SQS batches with partial batch responses
(https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting),
scheduled events (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

from faults.report import record_row
from integration.conftest import (
    EVENTS_DIR,
    GROUP,
    POLICY_ARN,
    ROLE,
    ROLE_ARN,
    TRUST,
    USER,
    USER_ARN,
    WATCH_TAGS,
    fresh_event,
    load_event,
    policy_document,
    sqs_batch,
)
from integration.repository import (
    BUCKET,
    KEY_ARN,
    KEY_ID,
    PROFILE_DIR,
    bind_role,
    deny_put,
    key_policy_without_the_role,
)
from restorewatch.watch.events import InvocationKind, parse_lambda_event

if TYPE_CHECKING:
    from collections.abc import Callable

    from integration.conftest import Account, Handler, Stack

pytestmark = (
    pytest.mark.slow
)  # every sample event through the real handler on moto (one to seven seconds each)

SWEEP = "scheduled-sweep"
USER_OLD_ARN = USER_ARN
RENAMED_ARN = USER_ARN.replace(USER, "veeam-restore-old")
ROLE_ACTIONS_LOST_TO_POWER_USER = [
    "iam:CreateRole",
    "iam:DeleteRolePolicy",
    "iam:GetRole",
    "iam:PutRolePolicy",
]


def params_of(name: str) -> dict[str, Any]:
    params: dict[str, Any] = load_event(name)["detail"]["requestParameters"]
    return params


# --- what each sample's change really does to the seeded account -----------------------------------


def nothing(_: Account) -> None:
    return None


def without_group(acct: Account) -> None:
    acct.iam.remove_user_from_group(GroupName=GROUP, UserName=USER)


def without_role_policy(acct: Account) -> None:
    acct.iam.detach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)


def without_group_policy(acct: Account) -> None:
    acct.iam.detach_group_policy(GroupName=GROUP, PolicyArn=POLICY_ARN)


def untagged_role_without_policy(acct: Account) -> None:
    acct.iam.untag_role(RoleName=ROLE, TagKeys=["restorewatch:profile"])
    without_role_policy(acct)


def untagged_user_without_group(acct: Account) -> None:
    acct.iam.untag_user(UserName=USER, TagKeys=["restorewatch:profile"])
    without_group(acct)


def role_deleted(acct: Account) -> None:
    without_role_policy(acct)
    acct.iam.delete_role(RoleName=ROLE)


def user_deleted(acct: Account) -> None:
    without_group(acct)
    acct.iam.delete_user(UserName=USER)


def role_inline_only(acct: Account) -> None:
    without_role_policy(acct)
    acct.iam.put_role_policy(
        RoleName=ROLE, PolicyName="VeeamRestoreInline", PolicyDocument=policy_document(acct.actions)
    )


def user_inline_only(acct: Account) -> None:
    without_group(acct)
    acct.iam.put_user_policy(
        UserName=USER, PolicyName="VeeamRestoreInline", PolicyDocument=policy_document(acct.actions)
    )


def user_policy_attached(acct: Account) -> None:
    without_group(acct)
    acct.iam.attach_user_policy(UserName=USER, PolicyArn=POLICY_ARN)


def group_deny(acct: Account) -> None:
    p = params_of("iam-PutGroupPolicy")
    acct.iam.put_group_policy(GroupName=GROUP, PolicyName=p["policyName"], PolicyDocument=p["policyDocument"])


def role_boundary_ec2_only(acct: Account) -> None:
    boundary = acct.create_policy("Ec2OnlyBoundary", policy_document(["ec2:*"]))
    acct.iam.put_role_permissions_boundary(RoleName=ROLE, PermissionsBoundary=boundary)


def policy_v2_not_default(acct: Account) -> None:
    p = params_of("iam-CreatePolicyVersion")  # the narrower document, kept as a non-default v2
    acct.iam.create_policy_version(
        PolicyArn=POLICY_ARN, PolicyDocument=p["policyDocument"], SetAsDefault=False
    )


def policy_unused(acct: Account) -> None:
    without_role_policy(acct)
    without_group_policy(acct)


def group_emptied(acct: Account) -> None:
    without_group(acct)
    without_group_policy(acct)


@dataclass(frozen=True, slots=True)
class Scenario:
    """``prepare`` runs before the first sweep (which learns the baseline), ``act`` is the change the
    sample reports, ``expected`` the alerts (kind, principal ARN) its delivery must publish.
    ``iam``: ``"none"`` when the change can cost no IAM read, ``"some"`` when a watched principal
    is re-read."""

    act: Callable[[Account], object]  # a boto3 call: its answer is ignored
    expected: tuple[tuple[str, str], ...]
    prepare: Callable[[Account], object] = nothing
    baseline: tuple[tuple[str, str], ...] = ()
    iam: str = "some"
    managed_policies: bool = False
    note: str = ""


def _run(calls: list[Callable[[Account], object]]) -> Callable[[Account], None]:
    def run(acct: Account) -> None:
        for call in calls:
            call(acct)

    return run


SCENARIOS: dict[str, Scenario] = {
    "iam-AddUserToGroup": Scenario(
        prepare=without_group,
        baseline=(("LOST", USER_ARN),),
        act=lambda a: a.iam.add_user_to_group(GroupName=GROUP, UserName=USER),
        expected=(("RESTORED", USER_ARN),),
    ),
    "iam-AttachGroupPolicy": Scenario(
        prepare=without_group_policy,
        baseline=(("LOST", USER_ARN),),
        act=lambda a: a.iam.attach_group_policy(GroupName=GROUP, PolicyArn=POLICY_ARN),
        expected=(("RESTORED", USER_ARN),),
    ),
    "iam-AttachRolePolicy-PowerUserAccess": Scenario(
        # the Terraform swap of the demo: the restore policy detached, PowerUserAccess attached
        act=_run(
            [
                without_role_policy,
                lambda a: a.iam.attach_role_policy(
                    RoleName=ROLE, PolicyArn=params_of("iam-AttachRolePolicy-PowerUserAccess")["policyArn"]
                ),
            ]
        ),
        expected=(("LOST", ROLE_ARN),),
        managed_policies=True,
    ),
    "iam-AttachRolePolicy": Scenario(
        prepare=without_role_policy,
        baseline=(("LOST", ROLE_ARN),),
        act=lambda a: a.iam.attach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN),
        expected=(("RESTORED", ROLE_ARN),),
    ),
    "iam-AttachUserPolicy": Scenario(
        prepare=without_group,
        baseline=(("LOST", USER_ARN),),
        act=lambda a: a.iam.attach_user_policy(UserName=USER, PolicyArn=POLICY_ARN),
        expected=(("RESTORED", USER_ARN),),
    ),
    "iam-CreatePolicyVersion-not-default": Scenario(
        act=lambda a: a.iam.create_policy_version(
            PolicyArn=POLICY_ARN,
            PolicyDocument=params_of("iam-CreatePolicyVersion-not-default")["policyDocument"],
            SetAsDefault=False,
        ),
        expected=(),
        iam="none",
        note="a non-default version grants nothing",
    ),
    "iam-CreatePolicyVersion": Scenario(
        act=lambda a: a.iam.create_policy_version(
            PolicyArn=POLICY_ARN,
            PolicyDocument=params_of("iam-CreatePolicyVersion")["policyDocument"],
            SetAsDefault=True,
        ),
        expected=(("LOST", ROLE_ARN), ("LOST", USER_ARN)),
    ),
    "iam-CreateRole": Scenario(
        prepare=role_deleted,
        act=lambda a: a.iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=TRUST, Tags=WATCH_TAGS),
        expected=(("LOST", ROLE_ARN),),
        note="a new tagged role without policies is non-compliant at first sight",
    ),
    "iam-CreateUser": Scenario(
        prepare=user_deleted,
        act=lambda a: a.iam.create_user(UserName=USER, Tags=WATCH_TAGS),
        expected=(("LOST", USER_ARN),),
    ),
    "iam-DeleteGroup": Scenario(
        prepare=group_emptied,
        baseline=(("LOST", USER_ARN),),
        act=lambda a: a.iam.delete_group(GroupName=GROUP),
        expected=(),
        iam="none",
        note="only an empty group can be deleted; the removals have their own events",
    ),
    "iam-DeleteGroupPolicy": Scenario(
        prepare=group_deny,
        baseline=(("LOST", USER_ARN),),
        act=lambda a: a.iam.delete_group_policy(
            GroupName=GROUP, PolicyName=params_of("iam-DeleteGroupPolicy")["policyName"]
        ),
        expected=(("RESTORED", USER_ARN),),
    ),
    "iam-DeletePolicy": Scenario(
        prepare=policy_unused,
        baseline=(("LOST", ROLE_ARN), ("LOST", USER_ARN)),
        act=lambda a: a.iam.delete_policy(PolicyArn=POLICY_ARN),
        expected=(),
        iam="none",
        note="a policy in use cannot be deleted; its detachments have their own events",
    ),
    "iam-DeletePolicyVersion": Scenario(
        prepare=lambda a: a.iam.create_policy_version(
            PolicyArn=POLICY_ARN, PolicyDocument=policy_document(a.actions), SetAsDefault=True
        ),
        act=lambda a: a.iam.delete_policy_version(PolicyArn=POLICY_ARN, VersionId="v1"),
        expected=(),
        iam="none",
        note="the default version cannot be deleted",
    ),
    "iam-DeleteRole": Scenario(act=role_deleted, expected=(("DELETED", ROLE_ARN),), iam="none"),
    "iam-DeleteRolePermissionsBoundary": Scenario(
        prepare=role_boundary_ec2_only,
        baseline=(("LOST", ROLE_ARN),),
        act=lambda a: a.iam.delete_role_permissions_boundary(RoleName=ROLE),
        expected=(("RESTORED", ROLE_ARN),),
    ),
    "iam-DeleteRolePolicy": Scenario(
        prepare=role_inline_only,
        act=lambda a: a.iam.delete_role_policy(RoleName=ROLE, PolicyName="VeeamRestoreInline"),
        expected=(("LOST", ROLE_ARN),),
    ),
    "iam-DeleteUser": Scenario(act=user_deleted, expected=(("DELETED", USER_ARN),), iam="none"),
    "iam-DeleteUserPermissionsBoundary": Scenario(
        # moto gap: no PutUserPermissionsBoundary/DeleteUserPermissionsBoundary, so the change cannot
        # be made; the delivery must still re-read the watched user (and find nothing to alert)
        act=nothing,
        expected=(),
    ),
    "iam-DeleteUserPolicy": Scenario(
        prepare=user_inline_only,
        act=lambda a: a.iam.delete_user_policy(UserName=USER, PolicyName="VeeamRestoreInline"),
        expected=(("LOST", USER_ARN),),
    ),
    "iam-DetachGroupPolicy": Scenario(act=without_group_policy, expected=(("LOST", USER_ARN),)),
    "iam-DetachRolePolicy": Scenario(act=without_role_policy, expected=(("LOST", ROLE_ARN),)),
    "iam-DetachRolePolicy-requestParameters-null": Scenario(
        act=without_role_policy,
        expected=(("LOST", ROLE_ARN),),
        note="no roleName to key on: the account is swept instead (it went to the DLQ before)",
    ),
    "iam-DetachUserPolicy": Scenario(
        prepare=user_policy_attached,
        act=lambda a: a.iam.detach_user_policy(UserName=USER, PolicyArn=POLICY_ARN),
        expected=(("LOST", USER_ARN),),
    ),
    "iam-PutGroupPolicy": Scenario(act=group_deny, expected=(("LOST", USER_ARN),)),
    "iam-PutRolePermissionsBoundary": Scenario(
        act=lambda a: a.iam.put_role_permissions_boundary(
            RoleName=ROLE,
            PermissionsBoundary=params_of("iam-PutRolePermissionsBoundary")["permissionsBoundary"],
        ),
        expected=(("LOST", ROLE_ARN),),
        managed_policies=True,
    ),
    "iam-PutRolePolicy": Scenario(
        prepare=without_role_policy,
        baseline=(("LOST", ROLE_ARN),),
        act=lambda a: a.iam.put_role_policy(
            RoleName=ROLE, PolicyName="VeeamRestoreInline", PolicyDocument=policy_document(a.actions)
        ),
        expected=(("RESTORED", ROLE_ARN),),
    ),
    "iam-PutUserPermissionsBoundary": Scenario(
        # moto gap: PutUserPermissionsBoundary is missing; the watched user is re-read all the same
        act=nothing,
        expected=(),
    ),
    "iam-PutUserPolicy": Scenario(
        prepare=without_group,
        baseline=(("LOST", USER_ARN),),
        act=lambda a: a.iam.put_user_policy(
            UserName=USER, PolicyName="VeeamRestoreInline", PolicyDocument=policy_document(a.actions)
        ),
        expected=(("RESTORED", USER_ARN),),
    ),
    "iam-RemoveUserFromGroup": Scenario(act=without_group, expected=(("LOST", USER_ARN),)),
    "iam-SetDefaultPolicyVersion": Scenario(
        prepare=policy_v2_not_default,
        act=lambda a: a.iam.set_default_policy_version(PolicyArn=POLICY_ARN, VersionId="v2"),
        expected=(("LOST", ROLE_ARN), ("LOST", USER_ARN)),
    ),
    "iam-TagRole": Scenario(
        prepare=untagged_role_without_policy,
        act=lambda a: a.iam.tag_role(RoleName=ROLE, Tags=WATCH_TAGS),
        expected=(("LOST", ROLE_ARN),),
    ),
    "iam-TagUser": Scenario(
        prepare=untagged_user_without_group,
        act=lambda a: a.iam.tag_user(UserName=USER, Tags=WATCH_TAGS),
        expected=(("LOST", USER_ARN),),
    ),
    "iam-UntagRole": Scenario(
        act=lambda a: a.iam.untag_role(RoleName=ROLE, TagKeys=["restorewatch:profile"]),
        expected=(("UNWATCHED", ROLE_ARN),),
    ),
    "iam-UntagUser": Scenario(
        act=lambda a: a.iam.untag_user(UserName=USER, TagKeys=["restorewatch:profile"]),
        expected=(("UNWATCHED", USER_ARN),),
    ),
    "iam-UpdateRole": Scenario(
        act=lambda a: a.iam.update_role(
            RoleName=ROLE, Description="Veeam Backup for AWS restore role (prod)"
        ),
        expected=(),
    ),
    "iam-UpdateUser": Scenario(
        act=lambda a: a.iam.update_user(UserName=USER, NewUserName="veeam-restore-old"),
        # the old ARN is gone; the renamed user keeps tag, group and permissions: compliant, no alert
        expected=(("DELETED", USER_OLD_ARN),),
    ),
    SWEEP: Scenario(act=without_role_policy, expected=(("LOST", ROLE_ARN),)),
    # --- the repository bucket and key the role is bound to (integration/repository.py) ---------
    "s3-PutBucketPolicy": Scenario(prepare=bind_role, act=deny_put, expected=(("LOST", ROLE_ARN),)),
    "s3-DeleteBucketPolicy": Scenario(
        prepare=_run([bind_role, deny_put]),
        baseline=(("LOST", ROLE_ARN),),
        act=lambda _: boto3.client("s3").delete_bucket_policy(Bucket=BUCKET),
        expected=(("RESTORED", ROLE_ARN),),
    ),
    "kms-PutKeyPolicy": Scenario(
        prepare=bind_role,
        act=lambda _: boto3.client("kms").put_key_policy(
            KeyId=KEY_ID, PolicyName="default", Policy=key_policy_without_the_role()
        ),
        expected=(("LOST", ROLE_ARN),),
    ),
    "kms-DisableKey": Scenario(
        prepare=bind_role,
        act=lambda _: boto3.client("kms").disable_key(KeyId=KEY_ID),
        expected=(("LOST", ROLE_ARN),),
    ),
    "kms-EnableKey": Scenario(
        prepare=_run([bind_role, lambda _: boto3.client("kms").disable_key(KeyId=KEY_ID)]),
        baseline=(("LOST", ROLE_ARN),),
        act=lambda _: boto3.client("kms").enable_key(KeyId=KEY_ID),  # moto: ids only
        expected=(("RESTORED", ROLE_ARN),),
    ),
    "kms-ScheduleKeyDeletion": Scenario(
        prepare=bind_role,
        act=lambda _: boto3.client("kms").schedule_key_deletion(KeyId=KEY_ID, PendingWindowInDays=30),
        expected=(("LOST", ROLE_ARN),),
    ),
    "kms-CancelKeyDeletion": Scenario(
        prepare=_run(
            [
                bind_role,
                lambda _: boto3.client("kms").schedule_key_deletion(KeyId=KEY_ID, PendingWindowInDays=30),
            ]
        ),
        baseline=(("LOST", ROLE_ARN),),
        act=lambda _: boto3.client("kms").cancel_key_deletion(KeyId=KEY_ID),
        # a cancelled deletion leaves the key Disabled: still no decrypt, and nothing new to say
        expected=(),
    ),
    "kms-CreateGrant": Scenario(
        prepare=bind_role,
        act=lambda _: boto3.client("kms").create_grant(
            KeyId=KEY_ARN, GranteePrincipal=ROLE_ARN, Operations=["Decrypt", "GenerateDataKey"]
        ),
        expected=(),  # grants are not evaluated; the role was compliant and stays so
    ),
    "kms-RevokeGrant": Scenario(
        prepare=_run(
            [
                bind_role,
                lambda _: boto3.client("kms").create_grant(
                    KeyId=KEY_ARN, GranteePrincipal=ROLE_ARN, Operations=["Decrypt"]
                ),
            ]
        ),
        act=lambda _: boto3.client("kms").revoke_grant(
            KeyId=KEY_ARN, GrantId=boto3.client("kms").list_grants(KeyId=KEY_ARN)["Grants"][0]["GrantId"]
        ),
        expected=(),
    ),
    "sqs-batch": Scenario(
        # the batch's three changes: DetachRolePolicy, AttachRolePolicy PowerUserAccess, PutGroupPolicy
        act=_run(
            [
                without_role_policy,
                lambda a: a.iam.attach_role_policy(
                    RoleName=ROLE, PolicyArn="arn:aws:iam::aws:policy/PowerUserAccess"
                ),
                group_deny,
            ]
        ),
        expected=(("LOST", ROLE_ARN), ("LOST", USER_ARN)),
        managed_policies=True,
    ),
}

# organizations-* samples need an organization: tests/integration/test_org_watcher.py sends each
# through the handler in organization mode
SAMPLES = sorted(
    path.stem for path in EVENTS_DIR.glob("*.json") if not path.stem.startswith("organizations-")
)


@pytest.fixture
def handler_env(stack: Stack, request: pytest.FixtureRequest) -> dict[str, str]:
    """The template's environment, with the bound test profile (``repository-restore``) available
    to the watch tag, as a deployment's profile folder would make it (PROFILE_PATHS)."""
    return {**stack.environment, "PROFILE_PATHS": str(PROFILE_DIR), **getattr(request, "param", {})}


def kinds(alerts: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((alert["kind"], alert["principal"]["arn"]) for alert in alerts)


def test_every_sample_has_a_scenario() -> None:
    assert len(SAMPLES) >= 37
    assert sorted(SCENARIOS) == SAMPLES


@pytest.fixture
def managed_policies(request: pytest.FixtureRequest) -> bool:
    """AWS managed policies (PowerUserAccess, ReadOnlyAccess) only where a scenario needs them."""
    param = getattr(request, "param", False)
    return SCENARIOS[param].managed_policies if isinstance(param, str) else bool(param)


@pytest.mark.parametrize("managed_policies", SAMPLES, indirect=True, ids=SAMPLES)
def test_sample_through_handler_gives_expected_alerts(
    request: pytest.FixtureRequest, stack: Stack, account: Account, handler: Handler
) -> None:
    name = request.node.callspec.params["managed_policies"]
    scenario = SCENARIOS[name]
    event = load_event(name)

    parsed = parse_lambda_event(event)
    if name == "sqs-batch":
        assert parsed.kind is InvocationKind.SQS
        assert len(parsed.changes) == len(event["Records"]) == 3
    elif name == SWEEP:
        assert parsed.kind is InvocationKind.SWEEP
        assert parsed.sweep_requested
    else:
        assert parsed.kind is InvocationKind.EVENTBRIDGE
        (change,) = parsed.changes
        suffixes = ("-PowerUserAccess", "-not-default", "-requestParameters-null")
        assert f"{change.event_source.split('.')[0]}-{change.event_name}" == next(
            (name.removesuffix(suffix) for suffix in suffixes if name.endswith(suffix)), name
        )
        assert change.account == "111122223333"

    scenario.prepare(account)
    swept = handler.file(SWEEP)
    baseline = stack.alerts()
    assert swept == {"alerts": [a["alert_id"] for a in baseline]}
    assert kinds(baseline) == sorted(scenario.baseline)
    handler.iam_calls.clear()

    scenario.act(account)
    result = handler(event)
    alerts = stack.alerts()

    assert kinds(alerts) == sorted(scenario.expected)
    assert sorted(result["alerts"]) == sorted(a["alert_id"] for a in alerts)
    if name == "sqs-batch":
        assert result["batchItemFailures"] == []
    if scenario.iam == "none":
        assert handler.total_iam_calls == 0, handler.iam_calls
    elif name != SWEEP:
        assert handler.total_iam_calls > 0
    for alert in alerts:
        trigger = alert["trigger"]
        if name == SWEEP:
            assert trigger == {"type": "scheduled_sweep"}
        elif name == "sqs-batch":
            assert trigger["type"] == "cloudtrail"
        else:
            assert trigger["eventName"] == event["detail"]["eventName"]
            assert trigger["eventID"] == event["detail"]["eventID"]


def test_sample_lost_alert_names_the_lost_actions(stack: Stack, account: Account, handler: Handler) -> None:
    """DetachRolePolicy on the watched role after the policy really was detached: one LOST alert
    that lists every profile action as denied, with the CloudTrail actor and source IP."""
    handler.file(SWEEP)
    assert stack.alerts() == []
    without_role_policy(account)
    handler.file("iam-DetachRolePolicy")
    (alert,) = stack.alerts()
    assert alert["kind"] == "LOST"
    assert alert["principal"]["arn"] == ROLE_ARN
    assert sorted(c["action"] for c in alert["changed_actions"]) == sorted(account.actions)
    assert {c["status"] for c in alert["changed_actions"]} == {"denied"}
    trigger = alert["trigger"]
    assert trigger["eventName"] == "DetachRolePolicy"
    assert "TerraformDeploy" in json.dumps(trigger)
    assert "203.0.113.24" in json.dumps(trigger)


# --- watched or not: what an event costs --------------------------------------------------------------


def test_event_for_unwatched_role_costs_no_iam_call(stack: Stack, account: Account, handler: Handler) -> None:
    """A change to a principal nobody watches: no alert and not a single IAM API call."""
    account.iam.create_role(RoleName="ops-deployer", AssumeRolePolicyDocument=TRUST)
    account.iam.attach_role_policy(RoleName="ops-deployer", PolicyArn=POLICY_ARN)
    handler.file(SWEEP)
    assert stack.alerts() == []
    handler.iam_calls.clear()
    account.iam.detach_role_policy(RoleName="ops-deployer", PolicyArn=POLICY_ARN)
    result = handler(fresh_event("iam-DetachRolePolicy", roleName="ops-deployer", policyArn=POLICY_ARN))
    assert result == {"alerts": []}
    assert stack.alerts() == []
    assert handler.total_iam_calls == 0, handler.iam_calls


def test_event_for_watched_role_reads_only_that_role(
    stack: Stack, account: Account, handler: Handler
) -> None:
    handler.file(SWEEP)
    handler.iam_calls.clear()
    without_role_policy(account)
    handler.file("iam-DetachRolePolicy")
    assert "GetAccountAuthorizationDetails" not in handler.iam_calls
    assert handler.iam_calls["GetRole"] >= 1
    assert "GetUser" not in handler.iam_calls  # the watched user is not touched by a role change
    assert handler.total_iam_calls <= 8, handler.iam_calls


# --- SQS batches -----------------------------------------------------------------------------------


def test_sqs_batch_malformed_record_fails_alone(stack: Stack, account: Account, handler: Handler) -> None:
    """One record whose body is not an IAM CloudTrail event: only its messageId is reported in
    batchItemFailures, the other records are processed (their alerts published)."""
    handler.file(SWEEP)
    batch = sqs_batch(
        fresh_event("iam-DetachRolePolicy"),
        '{"detail-type": "AWS API Call via CloudTrail", "source": "aws.iam", "detail": {}}',
        fresh_event("iam-PutGroupPolicy"),
    )
    bad = batch["Records"][1]["messageId"]
    without_role_policy(account)
    group_deny(account)
    result = handler(batch)
    assert result["batchItemFailures"] == [{"itemIdentifier": bad}]
    assert kinds(stack.alerts()) == [("LOST", ROLE_ARN), ("LOST", USER_ARN)]


def test_sqs_batch_body_not_json_fails_alone(stack: Stack, account: Account, handler: Handler) -> None:
    handler.file(SWEEP)
    batch = sqs_batch("not json at all", fresh_event("iam-DetachRolePolicy"))
    without_role_policy(account)
    result = handler(batch)
    assert result["batchItemFailures"] == [{"itemIdentifier": batch["Records"][0]["messageId"]}]
    assert kinds(stack.alerts()) == [("LOST", ROLE_ARN)]


def test_sqs_batch_with_scheduled_event_sweeps(stack: Stack, account: Account, handler: Handler) -> None:
    without_role_policy(account)
    result = handler(sqs_batch(load_event(SWEEP)))
    assert result["batchItemFailures"] == []
    assert kinds(stack.alerts()) == [("LOST", ROLE_ARN)]
    assert stack.store().last_sweep() is not None


def test_invalid_invocation_raises(stack: Stack, handler: Handler) -> None:
    """Neither an event, a batch nor a schedule: the invocation fails as a whole (Lambda retries)."""
    from restorewatch.errors import EventError

    with pytest.raises(EventError):
        handler({"hello": "world"})


# --- failures injected on the watcher's IAM client ------------------------------------------------------


def raiser(code: str, message: str = "injected") -> Callable[..., None]:
    """A botocore ``before-call`` hook failing the call as IAM would after the client's retries."""

    def hook(model: Any, **_: Any) -> None:
        raise ClientError({"Error": {"Code": code, "Message": message}}, model.name)

    return hook


@pytest.mark.parametrize(
    ("code", "retryable"), [("Throttling", True), ("AccessDenied", False)], ids=["throttled", "denied"]
)
def test_read_failure_alerts_unknown_once(
    stack: Stack, account: Account, handler: Handler, code: str, retryable: bool
) -> None:
    """IAM throttling beyond the client's retries, or AccessDenied, while re-reading the watched role:
    one UNKNOWN alert (never silence, never "denied"); the SQS record is reported for retry only when
    a retry can help (throttling), not for AccessDenied.
    https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html"""
    handler.file(SWEEP)
    handler.on_iam("ListAttachedRolePolicies", raiser(code))
    batch = sqs_batch(fresh_event("iam-DetachRolePolicy"))
    first = handler(batch)
    (alert,) = stack.alerts()
    assert alert["kind"] == "UNKNOWN"
    assert alert["principal"]["arn"] == ROLE_ARN
    assert code in alert["error"]
    assert "ListAttachedRolePolicies" in alert["error"]
    failures = [{"itemIdentifier": batch["Records"][0]["messageId"]}] if retryable else []
    assert first["batchItemFailures"] == failures
    # SQS delivers the same record again: still failing, but UNKNOWN is not alerted twice
    again = handler(batch)
    assert again["batchItemFailures"] == failures
    assert stack.alerts() == []


def test_throttled_sweep_is_retryable_and_writes_no_heartbeat(
    stack: Stack, account: Account, handler: Handler
) -> None:
    handler.file(SWEEP)
    first_heartbeat = stack.store().last_sweep()
    assert first_heartbeat is not None
    handler.on_iam("GetAccountAuthorizationDetails", raiser("Throttling"))
    result = handler(sqs_batch(load_event(SWEEP)))
    assert len(result["batchItemFailures"]) == 1
    assert kinds(stack.alerts()) == [("UNKNOWN", ROLE_ARN), ("UNKNOWN", USER_ARN)]
    assert stack.store().last_sweep() == first_heartbeat


def test_direct_scheduled_sweep_failure_raises_for_lambda_retry(
    stack: Stack, account: Account, handler: Handler
) -> None:
    """The schedule invokes asynchronously: a failed sweep must raise so Lambda retries it (and the
    function's DLQ and errors alarm see it). https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html"""
    from restorewatch.errors import RestoreWatchError

    handler.on_iam("GetAccountAuthorizationDetails", raiser("Throttling"))
    with pytest.raises(RestoreWatchError):
        handler.file(SWEEP)


def test_unreadable_new_principal_retries(stack: Stack, account: Account, handler: Handler) -> None:
    """A role tagged just now whose read is denied: the state has nothing to mark unknown yet, so the
    record must stay retryable rather than be dropped silently."""
    account.iam.untag_role(RoleName=ROLE, TagKeys=["restorewatch:profile"])
    handler.file(SWEEP)
    account.iam.tag_role(RoleName=ROLE, Tags=WATCH_TAGS)
    handler.on_iam("ListRolePolicies", raiser("AccessDenied"))
    batch = sqs_batch(fresh_event("iam-TagRole"))
    result = handler(batch)
    assert result["batchItemFailures"] == [{"itemIdentifier": batch["Records"][0]["messageId"]}]


# --- poison records -------------------------------------------------------------------------------------

HUGE_INTEGER_BODY = (
    '{"detail-type": "AWS API Call via CloudTrail", "detail": {"eventID": ' + "9" * 5000 + "}}"
)
DEEP_BODY = "[" * 100_000 + "]" * 100_000


def emitted_metrics(output: str) -> dict[str, list[float]]:
    """The metrics of every CloudWatch embedded metric format (EMF) document Powertools printed."""
    values: dict[str, list[float]] = {}
    for line in output.splitlines():
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if not isinstance(document, dict) or "_aws" not in document:
            continue
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                values.setdefault(metric["Name"], []).extend(value if isinstance(value, list) else [value])
    return values


def test_sqs_batch_poison_records_fail_alone_and_are_counted(
    stack: Stack,
    account: Account,
    handler: Handler,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A body with a 5,000-digit integer (``ValueError`` past Python's integer string limit) and one
    nested 100,000 deep (``RecursionError``) next to a real change: the real change is processed
    (LOST alert), only the two poison records are reported failed (SQS moves them to the DLQ after
    ``maxReceiveCount``, where the DLQ alarm sees them), each logged at ERROR and counted in the
    ``PoisonRecords`` metric. Before, the parser's exception failed the whole invocation, and the
    real change was retried with them until it reached the DLQ.
    https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting
    https://docs.python.org/3/library/stdtypes.html#int-max-str-digits"""
    handler.file(SWEEP)
    capsys.readouterr()
    batch = sqs_batch(HUGE_INTEGER_BODY, fresh_event("iam-DetachRolePolicy"), DEEP_BODY)
    poison = [batch["Records"][0]["messageId"], batch["Records"][2]["messageId"]]
    without_role_policy(account)

    result = handler(batch)

    assert result["batchItemFailures"] == [{"itemIdentifier": m} for m in poison]
    assert kinds(stack.alerts()) == [("LOST", ROLE_ARN)]
    assert emitted_metrics(capsys.readouterr().out)["PoisonRecords"] == [2]
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert [m for m in poison if any(f"poison record {m}" in e for e in errors)] == poison
    assert any("4300 digits" in e for e in errors)
    assert any("nested too deeply" in e for e in errors)
    for body, what in ((HUGE_INTEGER_BODY, "a 5,000-digit integer"), (DEEP_BODY, "100,000-deep nesting")):
        record_row(
            "poison",
            {
                "SQS record body": f"{what} ({len(body):,} bytes)",
                "the real change in the same batch": "processed: LOST alerted once",
                "the poison record": "batch item failure -> DLQ after maxReceiveCount (DLQ alarm); "
                "ERROR log; `PoisonRecords` metric",
            },
        )


def test_sqs_batch_without_poison_emits_no_poison_metric(
    stack: Stack, account: Account, handler: Handler, capsys: pytest.CaptureFixture[str]
) -> None:
    handler.file(SWEEP)
    capsys.readouterr()
    result = handler(sqs_batch(fresh_event("iam-DetachRolePolicy")))
    assert result["batchItemFailures"] == []
    assert "PoisonRecords" not in emitted_metrics(capsys.readouterr().out)


def test_direct_poison_event_raises_event_error_and_is_counted(
    stack: Stack, handler: Handler, capsys: pytest.CaptureFixture[str]
) -> None:
    """A direct invocation nested 100,000 deep: one ``EventError`` naming the event (Lambda's
    retries, then the function's DLQ), counted as poison, never a ``RecursionError``."""
    from restorewatch.errors import EventError

    event: Any = {"detail": {}}
    for _ in range(100_000):
        event = {"detail": event}
    with pytest.raises(EventError, match=r"^event"):
        handler(event)
    assert emitted_metrics(capsys.readouterr().out)["PoisonRecords"] == [1]


# --- IAM names are case-insensitive -----------------------------------------------------------------------


def test_event_naming_the_role_in_another_case_rechecks_it(
    stack: Stack, account: Account, handler: Handler
) -> None:
    """CloudTrail records the role name as the caller typed it; "Names of IAM entities ... are not
    distinguished by case" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html),
    so ``veeamrestorerole`` is ``VeeamRestoreRole``: the watcher re-checks it and alerts LOST (before,
    nothing was re-checked). moto's IAM looks names up case-sensitively, so the watcher must read
    the role by the name IAM gave it (the state's), and never report it DELETED for a spelling."""
    handler.file(SWEEP)
    handler.iam_calls.clear()
    without_role_policy(account)
    result = handler(fresh_event("iam-DetachRolePolicy", roleName="veeamrestorerole", policyArn=POLICY_ARN))
    alerts = stack.alerts()
    assert kinds(alerts) == [("LOST", ROLE_ARN)]
    assert result == {"alerts": [alerts[0]["alert_id"]]}
    assert handler.iam_calls["GetRole"] >= 1
    assert "GetAccountAuthorizationDetails" not in handler.iam_calls  # the role alone, not a sweep


def test_event_naming_the_user_in_another_case_rechecks_it(
    stack: Stack, account: Account, handler: Handler
) -> None:
    handler.file(SWEEP)
    without_group(account)
    handler(fresh_event("iam-RemoveUserFromGroup", groupName=GROUP, userName="VEEAM-RESTORE"))
    assert kinds(stack.alerts()) == [("LOST", USER_ARN)]


def test_delete_role_in_another_case_is_deleted(stack: Stack, account: Account, handler: Handler) -> None:
    handler.file(SWEEP)
    role_deleted(account)
    handler(fresh_event("iam-DeleteRole", roleName="VEEAMRESTOREROLE"))
    assert kinds(stack.alerts()) == [("DELETED", ROLE_ARN)]


def test_untag_role_in_another_case_is_unwatched(stack: Stack, account: Account, handler: Handler) -> None:
    handler.file(SWEEP)
    account.iam.untag_role(RoleName=ROLE, TagKeys=["restorewatch:profile"])
    handler(fresh_event("iam-UntagRole", roleName="veeamRestoreRole", tagKeys=["restorewatch:profile"]))
    assert kinds(stack.alerts()) == [("UNWATCHED", ROLE_ARN)]


def test_unchanged_role_named_in_another_case_gives_no_alert(
    stack: Stack, account: Account, handler: Handler
) -> None:
    """A harmless change to the role, spelt in another case: re-read, still compliant, no alert
    (in particular no DELETED for the spelling moto's IAM does not know)."""
    handler.file(SWEEP)
    handler(fresh_event("iam-UpdateRole", roleName="veeamrestorerole", description="prod"))
    assert stack.alerts() == []


def test_group_named_in_another_case_is_rechecked(stack: Stack, account: Account, handler: Handler) -> None:
    """``Backup-Operators`` for group ``backup-operators``: moto's IAM (case-sensitive) does not know
    that spelling, so the watcher sweeps the account rather than conclude the change touched
    nobody; the member user's LOST is found."""
    handler.file(SWEEP)
    group_deny(account)
    params = {**params_of("iam-PutGroupPolicy"), "groupName": "Backup-Operators"}
    handler(fresh_event("iam-PutGroupPolicy", **params))
    assert kinds(stack.alerts()) == [("LOST", USER_ARN)]


def test_policy_named_in_another_case_is_rechecked(stack: Stack, account: Account, handler: Handler) -> None:
    """``CreatePolicyVersion`` on ``.../policy/veeamrestorepolicy`` for ``VeeamRestorePolicy``.

    moto gap worked around: moto's ``ListEntitiesForPolicy`` answers a policy ARN it does not know
    with empty lists, where IAM answers ``NoSuchEntity``
    (https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListEntitiesForPolicy.html#API_ListEntitiesForPolicy_Errors);
    a hook on the watcher's IAM client gives IAM's answer for that spelling. The watcher then sweeps
    the account instead of concluding that nobody uses the policy, and finds both LOST."""

    def no_such_policy(params: dict[str, Any], model: Any, **_: Any) -> None:
        if params.get("PolicyArn") != POLICY_ARN:
            message = f"Policy {params.get('PolicyArn')} was not found."
            raise ClientError({"Error": {"Code": "NoSuchEntity", "Message": message}}, model.name)

    handler.on_iam("ListEntitiesForPolicy", no_such_policy)
    handler.file(SWEEP)
    document = params_of("iam-CreatePolicyVersion")["policyDocument"]
    account.iam.create_policy_version(PolicyArn=POLICY_ARN, PolicyDocument=document, SetAsDefault=True)
    handler(
        fresh_event(
            "iam-CreatePolicyVersion",
            policyArn=POLICY_ARN.replace("VeeamRestorePolicy", "veeamrestorepolicy"),
            policyDocument=document,
            setAsDefault=True,
        )
    )
    assert kinds(stack.alerts()) == [("LOST", ROLE_ARN), ("LOST", USER_ARN)]


# --- read-only records ------------------------------------------------------------------------------------


@pytest.mark.parametrize("delivery", ["eventbridge", "sqs"])
def test_read_only_record_causes_no_work(
    stack: Stack, account: Account, handler: Handler, delivery: str
) -> None:
    """``readOnly: true`` (here ``GetRole``, a name the watcher does not map, which would sweep the
    account): no IAM read, no sweep, no alert, nothing retried."""
    handler.file(SWEEP)
    heartbeat = stack.store().last_sweep()
    without_role_policy(account)  # a sweep would find this
    handler.iam_calls.clear()
    event = fresh_event("iam-DetachRolePolicy", roleName=ROLE)
    event["detail"].update(eventName="GetRole", readOnly=True)
    result = handler(event if delivery == "eventbridge" else sqs_batch(event))
    assert result.get("batchItemFailures", []) == []
    assert result["alerts"] == []
    assert handler.total_iam_calls == 0, handler.iam_calls
    assert stack.alerts() == []
    assert stack.store().last_sweep() == heartbeat
