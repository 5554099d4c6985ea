"""The fault matrix's table: every AWS call the watcher makes, and a change that makes it.

A ``Scenario`` is one real change (IAM, or an SCP of AWS Organizations, made on moto) and how the
watcher learns of it: a CloudTrail event through the event queue, or the scheduled sweep (a direct,
asynchronous invocation). It runs in one of two worlds (``conftest.WorldKind``): the watcher of its
own account (a member of an organization: every check reads SCPs, every sweep writes the report to
S3), or the central watcher of the organization (``OrganizationMode=true``: member accounts read
through STS AssumeRole, sweeps fanned out through the sweep queue with SQS SendMessageBatch).

``ROWS`` maps each ``service.Operation`` the watcher calls to the scenarios whose run makes that
call. Two checks keep the table whole: ``test_every_call_the_watcher_makes_has_a_row`` (each
scenario's calls have rows, and each row's scenario makes its call), and the whole test run's
record of every AWS operation the package issues (``tests/support/aws_calls.py``): an operation
the package starts to call anywhere, in any test, without a row here fails the run by name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .conftest import WorldKind
from .organization import DENIED_ACTION, scp_document
from .stack import GROUP, POLICY_ARN, PROFILE, ROLE, ROLE_ARN, USER_ARN, document, event

if TYPE_CHECKING:
    from collections.abc import Callable

    from .conftest import World


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    change: Callable[[World], None]  # the real change, on moto
    event: Callable[[World], dict[str, Any]]  # what the watcher receives
    via_queue: bool  # True: through the event queue (SQS); False: a direct (scheduled) invocation
    lost: tuple[str, ...]  # the principals whose restore permissions the change took away
    world: WorldKind = WorldKind.ACCOUNT  # where it runs
    # a new execution environment takes the change (new clients): the central watcher assumes the
    # member's role again (a warm one reuses the credentials for most of an hour)
    cold_start: bool = False
    setup: Callable[[World], None] | None = None  # before the baseline sweep
    profile: str = PROFILE  # the profile whose state and alerts the cell follows


def _detach_role(world: World) -> None:
    world.iam.detach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)


def _detach_group(world: World) -> None:
    world.iam.detach_group_policy(GroupName=GROUP, PolicyArn=POLICY_ARN)


NEW_VERSION = document(["ec2:DescribeInstances"])


def _new_version(world: World) -> None:
    world.iam.create_policy_version(PolicyArn=POLICY_ARN, PolicyDocument=NEW_VERSION, SetAsDefault=True)


def _deny_at_ou(world: World) -> None:
    """An SCP that denies a restore action attached to the watched account's OU."""
    org = world.organization
    assert org is not None
    org.client.attach_policy(PolicyId=org.deny_restore, TargetId=org.ou)


# the guardrail at the OU now also denies a restore action (UpdatePolicy with new content)
STRICTER_GUARDRAIL = scp_document("organizations:LeaveOrganization", DENIED_ACTION)


def _tighten_guardrail(world: World) -> None:
    org = world.organization
    assert org is not None
    org.client.update_policy(PolicyId=org.guardrail, Content=STRICTER_GUARDRAIL)


def _guardrail_event(world: World) -> dict[str, Any]:
    org = world.organization
    assert org is not None
    # recorded in the management account's CloudTrail, forwarded to the central bus
    return event(
        "organizations-UpdatePolicy",
        in_account=org.management,
        policyId=org.guardrail,
        content=STRICTER_GUARDRAIL,
    )


# the repository of a bound profile (restore-bound): the samples' bucket, and a key of moto's
BOUND_PROFILE = "restore-bound"
BUCKET = "restorewatch-repository-111122223333"


def bind_role(world: World) -> None:
    """The role watched for ``restore-bound`` only, bound to the bucket and a key (KMS's default key
    policy: IAM policies enabled), with an identity policy that grants kms:Decrypt too."""
    from .injection import client

    client("s3").create_bucket(Bucket=BUCKET)
    key = client("kms").create_key(Description="repository")["KeyMetadata"]["Arn"]
    world.iam.put_role_policy(
        RoleName=ROLE, PolicyName="repository", PolicyDocument=document(["kms:Decrypt"])
    )
    world.iam.tag_role(
        RoleName=ROLE,
        Tags=[
            {"Key": "restorewatch:profile", "Value": BOUND_PROFILE},
            {"Key": "restorewatch:param:RepositoryBucket", "Value": BUCKET},
            {"Key": "restorewatch:param:RepositoryKey", "Value": key},
        ],
    )


DENY_GET = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyReadsFromRestoreRole",
                "Effect": "Deny",
                "Principal": {"AWS": ROLE_ARN},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/*",
            }
        ],
    }
)


def _deny_in_bucket_policy(world: World) -> None:
    from .injection import client

    client("s3").put_bucket_policy(Bucket=BUCKET, Policy=DENY_GET)


def _bucket_event(_: World) -> dict[str, Any]:
    return event("s3-PutBucketPolicy", bucketName=BUCKET, bucketPolicy=json.loads(DENY_GET), policy="")


def sweep_event(_: World | None = None) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(event("scheduled-sweep")))
    return loaded


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario(
            "role",
            _detach_role,
            lambda _: event("iam-DetachRolePolicy", roleName=ROLE, policyArn=POLICY_ARN),
            True,
            (ROLE_ARN,),
        ),
        Scenario(
            "group",
            _detach_group,
            lambda _: event("iam-DetachGroupPolicy", groupName=GROUP, policyArn=POLICY_ARN),
            True,
            (USER_ARN,),
        ),
        Scenario(
            "policy",
            _new_version,
            lambda _: event(
                "iam-CreatePolicyVersion", policyArn=POLICY_ARN, policyDocument=NEW_VERSION, setAsDefault=True
            ),
            True,
            (ROLE_ARN, USER_ARN),
        ),
        # a change whose event never arrived: only the sweep finds it
        Scenario("sweep", _detach_role, sweep_event, False, (ROLE_ARN,)),
        # an account in no organization: no SCP to read, and the account's name is its IAM alias
        Scenario(
            "standalone",
            _detach_role,
            lambda _: event("iam-DetachRolePolicy", roleName=ROLE, policyArn=POLICY_ARN),
            True,
            (ROLE_ARN,),
            world=WorldKind.STANDALONE,
        ),
        # an SCP attached to the account's OU takes a restore action away from both principals; the
        # watcher of a member account hears no Organizations event (CloudTrail records them in the
        # management account): the sweep finds it, reading the SCPs of every level
        Scenario("scp", _deny_at_ou, sweep_event, False, (ROLE_ARN, USER_ARN)),
        # a bucket policy Deny takes a bound action away: its event re-checks the role bound to the
        # bucket, reading the bucket's policy and the key's (DescribeKey, GetKeyPolicy)
        Scenario(
            "bucket",
            _deny_in_bucket_policy,
            _bucket_event,
            True,
            (ROLE_ARN,),
            setup=bind_role,
            profile=BOUND_PROFILE,
        ),
        # --- organization mode: the central watcher, the member account through its role ---------
        Scenario(
            "org-sweep",
            _detach_role,
            sweep_event,
            False,
            (ROLE_ARN,),
            world=WorldKind.ORGANIZATION,
            cold_start=True,
        ),
        Scenario(
            "org-role",
            _detach_role,
            lambda _: event("iam-DetachRolePolicy", roleName=ROLE, policyArn=POLICY_ARN),
            True,
            (ROLE_ARN,),
            world=WorldKind.ORGANIZATION,
            cold_start=True,
        ),
        # the SCP attached to the member's OU changes: its event reaches the central watcher, which
        # finds the accounts below the policy's targets and fans a sweep of each out
        Scenario(
            "org-scp",
            _tighten_guardrail,
            _guardrail_event,
            True,
            (ROLE_ARN, USER_ARN),
            world=WorldKind.ORGANIZATION,
            cold_start=True,
        ),
    )
}

_ROLE_READS = ("GetRole", "ListRolePolicies", "GetRolePolicy", "ListAttachedRolePolicies")
_USER_READS = (
    "GetUser",
    "ListUserPolicies",
    "GetUserPolicy",
    "ListAttachedUserPolicies",
    "ListGroupsForUser",
)
_GROUP_READS = ("GetGroup", "ListGroupPolicies", "GetGroupPolicy", "ListAttachedGroupPolicies")
_STATE = ("dynamodb.Scan", "dynamodb.GetItem", "dynamodb.PutItem", "dynamodb.UpdateItem")
# the SCPs of the account's levels (root, OU, account), read on every check
_SCP_READS = ("ListRoots", "ListParents", "ListPoliciesForTarget", "DescribeOrganizationalUnit")

# call -> the scenarios whose run makes it and in which the matrix injects faults into it
ROWS: dict[str, tuple[str, ...]] = {
    "iam.GetRole": ("role", "org-role"),  # also through the member account's role
    **{f"iam.{op}": ("role",) for op in _ROLE_READS[1:]},
    "iam.GetPolicy": ("role",),
    "iam.GetPolicyVersion": ("role",),
    **{f"iam.{op}": ("group",) for op in _USER_READS + _GROUP_READS},
    "iam.ListEntitiesForPolicy": ("policy",),
    "iam.GetAccountAuthorizationDetails": ("sweep", "org-sweep"),
    **dict.fromkeys(_STATE, ("role", "sweep")),
    "sns.Publish": ("role", "sweep"),
    # the account's name for the alert: read on every check (the IAM alias outside an organization)
    "organizations.DescribeAccount": ("role",),
    "iam.ListAccountAliases": ("standalone",),
    # SCPs: a fault while an SCP is what took the action away must never read as "SCPs allow"
    "organizations.DescribeOrganization": ("role", "sweep", "scp", "standalone"),
    **{f"organizations.{op}": ("scp",) for op in _SCP_READS},
    "organizations.DescribePolicy": ("scp", "org-scp"),  # in organization mode: the changed SCP
    "s3.PutObject": ("sweep",),  # the status report (ReportBucket)
    # the resource side of a bound profile: the bucket's policy, the key's state and policy
    "s3.GetBucketPolicy": ("bucket",),
    "kms.DescribeKey": ("bucket",),
    "kms.GetKeyPolicy": ("bucket",),
    # organization mode
    "sts.AssumeRole": ("org-role", "org-sweep"),
    "dynamodb.Query": ("org-role",),  # the member account's states (the table's account index)
    "organizations.ListAccounts": ("org-sweep",),
    "sqs.SendMessageBatch": ("org-sweep", "org-scp"),
    "organizations.ListTargetsForPolicy": ("org-scp",),
    "organizations.ListAccountsForParent": ("org-scp",),
    "organizations.ListChildren": ("org-scp",),
}


def cells() -> list[tuple[str, str]]:
    """``(call, scenario)`` pairs, in table order."""
    return [(call, scenario) for call, scenarios in ROWS.items() for scenario in scenarios]
