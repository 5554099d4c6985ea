"""The fault matrix's table: every AWS call the watcher makes, and a change that makes it.

A ``Scenario`` is one real IAM change (made on moto) and how the watcher learns of it: a CloudTrail
event through the event queue, or the scheduled sweep (a direct, asynchronous invocation). ``ROWS``
maps each ``service.Operation`` the watcher calls to the scenarios whose run makes that call;
``test_every_call_the_watcher_makes_has_a_row`` fails when the watcher starts making a call that has
no row here, so a new call (Organizations' ListParents/DescribePolicy or STS AssumeRole once the SCP
and member-account work is wired into ``watch.runtime``, SQS SendMessageBatch for the fan-out, the
Slack function's calls) is covered by adding one entry: ``"organizations.ListParents": ("scp",)``
with a scenario that reaches it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .injection import client
from .stack import GROUP, POLICY_ARN, ROLE, ROLE_ARN, USER_ARN, document, event

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    change: Callable[[], None]  # the real IAM change, on moto
    event: Callable[[], dict[str, Any]]  # what the watcher receives
    via_queue: bool  # True: through the event queue (SQS); False: a direct (scheduled) invocation
    lost: tuple[str, ...]  # the principals whose restore permissions the change took away


def _detach_role() -> None:
    client("iam").detach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)


def _detach_group() -> None:
    client("iam").detach_group_policy(GroupName=GROUP, PolicyArn=POLICY_ARN)


NEW_VERSION = document(["ec2:DescribeInstances"])


def _new_version() -> None:
    client("iam").create_policy_version(PolicyArn=POLICY_ARN, PolicyDocument=NEW_VERSION, SetAsDefault=True)


def sweep_event() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(event("scheduled-sweep")))
    return loaded


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario(
            "role",
            _detach_role,
            lambda: event("iam-DetachRolePolicy", roleName=ROLE, policyArn=POLICY_ARN),
            True,
            (ROLE_ARN,),
        ),
        Scenario(
            "group",
            _detach_group,
            lambda: event("iam-DetachGroupPolicy", groupName=GROUP, policyArn=POLICY_ARN),
            True,
            (USER_ARN,),
        ),
        Scenario(
            "policy",
            _new_version,
            lambda: event(
                "iam-CreatePolicyVersion", policyArn=POLICY_ARN, policyDocument=NEW_VERSION, setAsDefault=True
            ),
            True,
            (ROLE_ARN, USER_ARN),
        ),
        # a change whose event never arrived: only the sweep finds it
        Scenario("sweep", _detach_role, sweep_event, False, (ROLE_ARN,)),
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

# call -> the scenarios whose run makes it and in which the matrix injects faults into it
ROWS: dict[str, tuple[str, ...]] = {
    **{f"iam.{op}": ("role",) for op in _ROLE_READS},
    "iam.GetPolicy": ("role",),
    "iam.GetPolicyVersion": ("role",),
    **{f"iam.{op}": ("group",) for op in _USER_READS + _GROUP_READS},
    "iam.ListEntitiesForPolicy": ("policy",),
    "iam.GetAccountAuthorizationDetails": ("sweep",),
    **dict.fromkeys(_STATE, ("role", "sweep")),
    "sns.Publish": ("role", "sweep"),
    # the account's name and SCPs for the alert (issue 5): read on every check
    "iam.ListAccountAliases": ("role",),
    "organizations.DescribeOrganization": ("role", "sweep"),
    "organizations.DescribeAccount": ("role",),
}


def cells() -> list[tuple[str, str]]:
    """``(call, scenario)`` pairs, in table order."""
    return [(call, scenario) for call, scenarios in ROWS.items() for scenario in scenarios]
