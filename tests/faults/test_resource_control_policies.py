"""RCPs (resource control policies) read live from AWS Organizations, through the real handler.

The world of the fault matrix (``conftest.world``): the watched account is a member of an
organization, below the OU ``Workloads``; the role is bound to the repository bucket and a KMS key
(``scenarios.bind_role``, profile ``restore-bound``). The watcher reads the RCPs of every level,
root to account, as it reads SCPs.

AWS's rules pinned here
(https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_evaluation.html):
an RCP Deny at any level takes the action away whatever the bucket policy and IAM allow; every
level needs an Allow (``RCPFullAWSAccess``, attached at every level and not detachable). RestoreWatch's
rule: a check that knows less than the stored one (RCPs evaluated before, not now) is never
RESTORED.

moto gap: enabling the RCP policy type attaches ``RCPFullAWSAccess`` to the root and the management
account only (AWS attaches it to every OU and account); the tests attach it to the OU and the
member account themselves. moto also lets it be detached, which AWS refuses: the last test uses
that to make the member's RCP level unreadable (a level without an Allow cannot be evaluated).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from .organization import WATCHED
from .scenarios import BOUND_PROFILE, BUCKET, bind_role
from .stack import ROLE_ARN, event, invoke, sweep

if TYPE_CHECKING:
    from .conftest import World

RCP = "RESOURCE_CONTROL_POLICY"
FULL_ACCESS = "p-RCPFullAWSAccess"  # moto's id of the AWS managed RCP
DENY_READS = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "NoRepositoryReads",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/*",
            }
        ],
    }
)


def _enable_rcps(world: World) -> str:
    """RCPs enabled, RCPFullAWSAccess at every level; returns the Deny RCP's id (not attached)."""
    org = world.organization
    assert org is not None
    organizations = org.client
    organizations.enable_policy_type(RootId=org.root, PolicyType=RCP)
    for target in (org.ou, WATCHED):
        organizations.attach_policy(PolicyId=FULL_ACCESS, TargetId=target)
    created = organizations.create_policy(
        Content=DENY_READS, Description="no reads of the repository", Name="NoRepositoryReads", Type=RCP
    )
    policy_id: str = created["Policy"]["PolicySummary"]["Id"]
    return policy_id


def _bound_alerts(world: World) -> list[dict[str, object]]:
    return [a for a in world.stack.alerts() if a["profile"] == BOUND_PROFILE]


def test_rcp_deny_at_the_ou_is_lost_naming_the_rcp_and_where_it_is_attached(world: World) -> None:
    org = world.organization
    assert org is not None
    deny = _enable_rcps(world)
    bind_role(world)
    sweep(world.stack)
    assert world.stack.alerts() == []
    state = world.stack.state(ROLE_ARN, BOUND_PROFILE)
    assert state is not None
    assert state.status.value == "compliant"

    org.client.attach_policy(PolicyId=deny, TargetId=org.ou)
    # the management account's CloudTrail records it; delivered to the watcher as forwarded
    invoke(event("organizations-AttachPolicy", in_account=org.management, targetId=org.ou, policyId=deny))
    (alert,) = _bound_alerts(world)
    assert alert["kind"] == "LOST"
    changes = alert["changed_actions"]
    assert isinstance(changes, list)
    (change,) = changes
    assert change["action"] == "s3:GetObject"
    (reason,) = [r for r in change["reasons"] if r["code"] == "explicit_deny"]
    assert reason["layer"] == "rcp"
    assert reason["rcp_level"] == 1
    assert reason["statement"] == "statement 'NoRepositoryReads'"
    assert "NoRepositoryReads (attached to OU Workloads" in reason["policy_name"]
    text = alert["text"]
    assert isinstance(text, str)
    assert "It is a resource control policy of AWS Organizations" in text


def test_rcps_unreadable_after_evaluated_never_restore(world: World) -> None:
    """LOST by an RCP Deny; then the Deny goes, but the member's RCP level can no longer be
    evaluated: the check knows less than the stored one, so it is UNKNOWN, never RESTORED."""
    org = world.organization
    assert org is not None
    deny = _enable_rcps(world)
    bind_role(world)
    sweep(world.stack)
    org.client.attach_policy(PolicyId=deny, TargetId=org.ou)
    sweep(world.stack)
    assert [a["kind"] for a in _bound_alerts(world)] == ["LOST"]

    org.client.detach_policy(PolicyId=deny, TargetId=org.ou)
    org.client.detach_policy(PolicyId=FULL_ACCESS, TargetId=WATCHED)  # moto only: AWS refuses this
    sweep(world.stack)
    (alert,) = _bound_alerts(world)
    assert alert["kind"] == "UNKNOWN"
    assert "RCP" in str(alert["error"])
    text = str(alert["text"])
    assert "The resource control policies (RCPs) of AWS Organizations could not be evaluated" in text
    assert "an RCP may still deny these actions" in text
    state = world.stack.state(ROLE_ARN, BOUND_PROFILE)
    assert state is not None
    assert state.status.value != "compliant"
