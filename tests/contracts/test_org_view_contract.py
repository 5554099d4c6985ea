"""``FakeOrgView`` and ``inventory.OrganizationsScpSource`` (on moto) see one organization alike.

The organization is built on moto (the management account, an OU, a member account below it, an
SCP at the OU and one at the account) and the ``FakeOrganization`` from the same ids and names;
both views answer the watcher's questions alike: the accounts, the accounts below a root, OU or
account, the targets of an SCP, an account's name, its SCP levels (root, OU, account) and the
coverage the alert quotes, and the management account's ``not_applicable``.
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import boto3
import pytest
from moto import mock_aws

from restorewatch.compliance import ScpStatus
from restorewatch.inventory import OrganizationsReader, OrganizationsScpSource
from support.fakes import FakeOrganization, Scp
from support.fakes.organization import FULL_ACCESS

if TYPE_CHECKING:
    from collections.abc import Iterator

    from restorewatch.watch.modes import OrgView

SCP: Final = "SERVICE_CONTROL_POLICY"


@dataclass
class World:
    view: OrgView
    management: str
    root: str
    ou: str
    member: str
    guardrail: str


def _deny(*actions: str) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": list(actions), "Resource": "*"}]}
    )


@pytest.fixture(params=["fake", "moto"])
def world(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    with mock_aws():
        org = boto3.client("organizations", region_name="us-east-1")
        management = org.create_organization(FeatureSet="ALL")["Organization"]["MasterAccountId"]
        root = org.list_roots()["Roots"][0]["Id"]
        org.enable_policy_type(RootId=root, PolicyType=SCP)
        ou = org.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
        created = org.create_account(AccountName="backup-prod", Email="backup@example.com")
        member = created["CreateAccountStatus"]["AccountId"]
        org.move_account(AccountId=member, SourceParentId=root, DestinationParentId=ou)
        guardrail = org.create_policy(
            Content=_deny("organizations:LeaveOrganization"), Description="g", Name="Guardrails", Type=SCP
        )["Policy"]["PolicySummary"]
        org.attach_policy(PolicyId=guardrail["Id"], TargetId=ou)
        local = org.create_policy(Content=_deny("ec2:RunInstances"), Description="l", Name="NoRun", Type=SCP)
        local_summary = local["Policy"]["PolicySummary"]
        org.attach_policy(PolicyId=local_summary["Id"], TargetId=member)
        if request.param == "moto":
            view: OrgView = OrganizationsScpSource(OrganizationsReader(org))
        else:
            fake = FakeOrganization(management, root)
            fake.names[management] = org.describe_account(AccountId=management)["Account"]["Name"]
            fake.add_ou(ou, "Workloads")
            fake.add_account(member, "backup-prod", ou)
            fake.attach(Scp(guardrail["Id"], "Guardrails", _deny("organizations:LeaveOrganization")), ou)
            fake.attach(Scp(local_summary["Id"], "NoRun", _deny("ec2:RunInstances")), member)
            view = fake.view()
        yield World(view, management, root, ou, member, guardrail["Id"])


def test_accounts_and_what_is_below(world: World) -> None:
    view = world.view
    assert sorted(view.account_ids()) == sorted([world.management, world.member])
    assert sorted(view.accounts_below(world.root)) == sorted([world.management, world.member])
    assert view.accounts_below(world.ou) == [world.member]
    assert view.accounts_below(world.member) == [world.member]
    assert view.targets_of(world.guardrail) == [world.ou]
    assert sorted(view.targets_of(FULL_ACCESS.policy_id)) == sorted(
        [world.root, world.ou, world.management, world.member]
    )
    assert view.account_name(world.member) == "backup-prod"


def test_a_members_levels_run_from_the_root_to_the_account(world: World) -> None:
    coverage = world.view.coverage(world.member)
    assert coverage.status is ScpStatus.EVALUATED
    assert coverage.detail == (
        f"3 levels, root to account (root {world.root}: FullAWSAccess, OU Workloads ({world.ou}): "
        f"FullAWSAccess, Guardrails, account {world.member} (backup-prod): FullAWSAccess, NoRun)"
    )
    levels = world.view.levels(world.member)
    assert levels is not None
    assert [len(level) for level in levels] == [1, 2, 2]


def test_the_management_account_is_not_affected(world: World) -> None:
    assert world.view.coverage(world.management).status is ScpStatus.NOT_APPLICABLE
    assert world.view.levels(world.management) is None


def test_the_organization_and_the_accounts_path(world: World) -> None:
    """aws:PrincipalOrgPaths values end in the account's parent: ``o-id/r-root/ou-.../``
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalorgpaths)."""
    org_id, paths = world.view.organization_of(world.member)
    assert org_id is not None
    assert org_id.startswith("o-")
    assert paths == (f"{org_id}/{world.root}/{world.ou}/",)


def test_rcps_do_not_apply_to_the_management_account(world: World) -> None:
    """RCPs never restrict the management account's resources
    (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html)."""
    coverage = world.view.rcps(world.management).coverage
    assert coverage.status is ScpStatus.NOT_APPLICABLE
