"""Each branch of the central watcher of an organization (organization mode), on the in-memory fakes.

``modes.Organization``: IAM is read through each member account's role (a ``FakeIam`` per account;
an account whose role cannot be assumed raises ``ReadError``), the organization's sweep enqueues one
sweep per account (``RecordingDispatcher``, which meets ``SqsSweepDispatcher``'s contract) and reads
no IAM itself, each of those sweeps one account and records whether it could be read at all, a
change run reads its own account's states and reader only, and an Organizations change re-checks
the accounts below what it touched by enqueuing their sweeps.
tests/integration/test_org_watcher.py runs these paths through the handler on moto.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from restorewatch.errors import ReadError
from restorewatch.watch.watched import ACCOUNT_ACCESS_PROFILE, account_access_arn
from support.fakes import FakeIam, FakeOrganization
from support.fakes.iam import access_denied, allow, throttled
from support.fakes.organization import deny_scp
from support.fakes.watcher import PROFILE, TAG, change, organization
from support.fakes.watcher import profile_actions as actions

if TYPE_CHECKING:
    from support.fakes.watcher import FakeWorld

CENTRAL = "123456789012"  # the management account, where the central watcher runs
A, B = "111122223333", "444455556666"
OU, OTHER_OU = "ou-root-workloads", "ou-root-sandbox"
ORG_SOURCE = "organizations.amazonaws.com"


def member(account: str) -> FakeIam:
    iam = FakeIam(account)
    policy = iam.put_policy("RestorePolicy", allow(*actions()))
    iam.put_role("Restore", tags={TAG: PROFILE}, managed=[policy])
    return iam


def role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/Restore"


@pytest.fixture
def org() -> FakeOrganization:
    org = FakeOrganization(CENTRAL)
    org.add_ou(OU, "Workloads")
    org.add_ou(OTHER_OU, "Sandbox")
    org.add_account(A, "backup-prod", OU)
    org.add_account(B, "backup-dev", OTHER_OU)
    return org


@pytest.fixture
def world(org: FakeOrganization) -> FakeWorld:
    world = organization(org, {A: member(A), B: member(B)})
    for account in (A, B):
        summary = world.watcher().sweep(account=account)
        assert (summary.retry_reasons, world.alerts()) == ([], [])
    return world


def test_the_organizations_sweep_enqueues_one_sweep_per_account_and_reads_no_iam(world: FakeWorld) -> None:
    reads = world.iam_calls
    summary = world.watcher().sweep()
    assert sorted(world.dispatcher.accounts) == sorted([CENTRAL, A, B])
    assert summary.dispatched == 3
    assert world.iam_calls == reads
    assert world.alerts() == []


def test_an_account_sweep_sweeps_that_account_only_and_records_it_readable(world: FakeWorld) -> None:
    summary = world.watcher().sweep(account=A)
    assert summary.account == A
    assert sorted(check.arn for check in summary.checks) == sorted([account_access_arn(A), role(A)])
    access = world.store.get(account_access_arn(A), ACCOUNT_ACCESS_PROFILE)
    assert access is not None
    assert access.status.value == "compliant"
    assert summary.report is not None
    assert A in summary.report  # one report per account


def test_an_account_whose_role_cannot_be_assumed_is_unknown_once_then_restored(world: FakeWorld) -> None:
    world.unreachable[B] = ReadError("AssumeRole", f"arn:aws:iam::{B}:role/reader", "AccessDenied", "denied")
    first = world.watcher().sweep(account=B)
    world.watcher().sweep(account=B)
    assert sorted(world.alerts()) == sorted([("UNKNOWN", account_access_arn(B)), ("UNKNOWN", role(B))])
    assert first.retryable
    del world.unreachable[B]
    world.watcher().sweep(account=B)
    assert sorted(world.alerts()[2:]) == sorted([("RESTORED", account_access_arn(B)), ("RESTORED", role(B))])


def test_a_change_run_reads_its_own_account_only(world: FakeWorld) -> None:
    world.iam[B].detach(role(B), f"arn:aws:iam::{B}:policy/RestorePolicy")
    world.iam[A].fail[role(A)] = throttled("GetRole", role(A))  # A must not be read at all
    summary = world.watcher().handle_change(
        change("DetachRolePolicy", B, roleName="Restore", policyArn=f"arn:aws:iam::{B}:policy/RestorePolicy")
    )
    assert world.alerts() == [("LOST", role(B))]
    assert not summary.retryable


def test_a_change_that_needs_a_sweep_enqueues_its_accounts_sweep(world: FakeWorld) -> None:
    summary = world.watcher().handle_change(change("DetachRolePolicy", A))  # no parameters
    assert world.dispatcher.accounts == [A]
    assert summary.dispatched == 1
    (trigger,) = [trigger for _, trigger in world.dispatcher.sweeps()]
    assert trigger is not None
    assert trigger.event_name == "DetachRolePolicy"


def test_an_scp_attached_to_an_ou_enqueues_the_sweeps_of_the_accounts_below_it(
    world: FakeWorld, org: FakeOrganization
) -> None:
    org.attach(deny_scp("p-norun", "NoRun", "ec2:RunInstances"), OU)
    event = change("AttachPolicy", CENTRAL, source=ORG_SOURCE, policyId="p-norun", targetId=OU)
    world.watcher().handle_change(event)
    assert world.dispatcher.sweeps() == [(A, event)]
    for account, trigger in world.dispatcher.sweeps():
        world.watcher().sweep(trigger=trigger, account=account)
    assert world.alerts() == [("LOST", role(A))]


def test_an_scp_changed_in_place_reaches_every_target_of_the_policy(
    world: FakeWorld, org: FakeOrganization
) -> None:
    org.attach(deny_scp("p-guard", "Guard", "organizations:LeaveOrganization"), OU)
    org.attach(deny_scp("p-guard", "Guard", "organizations:LeaveOrganization"), B)
    event = change("UpdatePolicy", CENTRAL, source=ORG_SOURCE, policyId="p-guard", content="{}")
    world.watcher().handle_change(event)
    assert sorted(world.dispatcher.accounts) == [A, B]


def test_a_refused_fan_out_is_retried(world: FakeWorld) -> None:
    world.dispatcher.refuse_next()
    summary = world.watcher().sweep()
    assert summary.retryable
    assert world.dispatcher.messages == []


def test_an_organization_that_cannot_be_listed_is_retried(world: FakeWorld, org: FakeOrganization) -> None:
    org.fail["accounts"] = access_denied("ListAccounts", None)
    summary = world.watcher().sweep()
    assert summary.retryable
    assert world.dispatcher.messages == []
