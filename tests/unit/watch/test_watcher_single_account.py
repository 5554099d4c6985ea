"""Each branch of the watcher of one account, on the in-memory fakes (milliseconds per test).

The real ``Watcher``, ``Outbox``, modes and profile registry run over ``support.fakes``: the state
in ``MemoryStore`` (DynamoDB's conditions), alerts in ``RecordingPublisher``, IAM in ``FakeIam``
read by a fresh ``FakeIamReader`` per run, and the organization in ``FakeOrganization``. Each fake
meets its real adapter's contract (tests/contracts/); tests/integration/test_pipeline.py runs the
same paths through the handler on moto.

Branches: a change run (a role, a user through its group, a managed policy's users and roles, the
watch tag added and removed, a deleted role, a name spelt in another case), a change that sweeps
instead (too many principals, no parameters, a batch covered by one sweep), the sweep (every tagged
principal, the report, the heartbeat, a principal gone from the listing), the fail-closed paths (an
unreadable principal or listing is UNKNOWN and retried, never a silent all-clear; SCPs that could be
read before and not now make the check UNKNOWN, never RESTORED), an unknown profile, SCP changes
through Organizations events, duplicate and reordered events, and digest mode.
SCP evaluation: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from support.fakes import FakeIam, FakeOrganization
from support.fakes.iam import access_denied, allow, deny, throttled
from support.fakes.organization import deny_scp
from support.fakes.watcher import PROFILE, TAG, change, single_account
from support.fakes.watcher import profile_actions as actions

if TYPE_CHECKING:
    from support.fakes.watcher import FakeWorld

ACCOUNT = "111122223333"
MANAGEMENT = "999988887777"
OU = "ou-root-workloads"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/Restore"
USER = f"arn:aws:iam::{ACCOUNT}:user/restore"
POLICY = f"arn:aws:iam::{ACCOUNT}:policy/RestorePolicy"


def restore_account() -> FakeIam:
    """A watched role and a watched user (through its group) with the profile's actions, and an
    unwatched role with the same policy."""
    iam = FakeIam(ACCOUNT)
    iam.put_policy("RestorePolicy", allow(*actions()))
    iam.put_role("Restore", tags={TAG: PROFILE}, managed=[POLICY])
    iam.put_group("operators", managed=[POLICY])
    iam.put_user("restore", tags={TAG: PROFILE}, groups=["operators"])
    iam.put_role("Unwatched", managed=[POLICY])
    return iam


def swept(world: FakeWorld) -> FakeWorld:
    """The first sweep: every watched principal stored compliant, nothing alerted."""
    summary = world.watcher().sweep()
    assert (summary.retry_reasons, world.alerts()) == ([], [])
    assert sorted(world.store.states) == [(ROLE, PROFILE), (USER, PROFILE)]
    return world


@pytest.fixture
def iam() -> FakeIam:
    return restore_account()


@pytest.fixture
def world(iam: FakeIam) -> FakeWorld:
    return swept(single_account(iam))


def detach_role() -> object:
    return change("DetachRolePolicy", ACCOUNT, roleName="Restore", policyArn=POLICY)


# -- change runs ------------------------------------------------------------------------------------


def test_a_detached_policy_is_alerted_lost_once_and_a_duplicate_event_alerts_nothing(
    world: FakeWorld, iam: FakeIam
) -> None:
    iam.detach(ROLE, POLICY)
    event = change("DetachRolePolicy", ACCOUNT, roleName="Restore", policyArn=POLICY)
    summary = world.watcher().handle_change(event)
    assert world.alerts() == [("LOST", ROLE)]
    assert summary.alert_ids == [world.publisher.alert_ids[0]]
    assert not summary.retryable
    again = world.watcher().handle_change(event)  # the same event delivered twice
    assert (again.alert_ids, world.alerts()) == ([], [("LOST", ROLE)])


def test_a_change_to_an_unwatched_principal_costs_no_iam_read(world: FakeWorld, iam: FakeIam) -> None:
    iam.detach(iam.arn("role", "Unwatched"), POLICY)
    reads = world.iam_calls
    world.watcher().handle_change(change("DetachRolePolicy", ACCOUNT, roleName="Unwatched", policyArn=POLICY))
    assert world.iam_calls == reads
    assert world.alerts() == []


def test_a_group_change_rechecks_its_members(world: FakeWorld, iam: FakeIam) -> None:
    iam.detach("operators", POLICY)
    world.watcher().handle_change(
        change("DetachGroupPolicy", ACCOUNT, groupName="operators", policyArn=POLICY)
    )
    assert world.alerts() == [("LOST", USER)]


def test_a_new_default_policy_version_rechecks_everyone_who_uses_it(world: FakeWorld, iam: FakeIam) -> None:
    iam.put_policy("RestorePolicy", allow("s3:GetObject"))
    event = change("CreatePolicyVersion", ACCOUNT, policyArn=POLICY, setAsDefault=True)
    summary = world.watcher().handle_change(event)
    assert sorted(world.alerts()) == [("LOST", ROLE), ("LOST", USER)]
    assert not summary.swept


def test_the_watch_tag_added_to_a_non_compliant_role_is_lost_at_first_sight(
    world: FakeWorld, iam: FakeIam
) -> None:
    late = iam.put_role("Late", tags={TAG: PROFILE})
    tags = [{"key": TAG, "value": PROFILE}]
    world.watcher().handle_change(change("TagRole", ACCOUNT, roleName="Late", tags=tags))
    assert world.alerts() == [("LOST", late)]


def test_the_watch_tag_removed_is_unwatched_once(world: FakeWorld, iam: FakeIam) -> None:
    iam.set_tags(ROLE, {})
    event = change("UntagRole", ACCOUNT, roleName="Restore", tagKeys=[TAG])
    world.watcher().handle_change(event)
    world.watcher().handle_change(event)
    assert world.alerts() == [("UNWATCHED", ROLE)]


def test_a_deleted_role_is_deleted_once_without_reading_iam(world: FakeWorld, iam: FakeIam) -> None:
    iam.delete(ROLE)
    reads = world.iam_calls
    event = change("DeleteRole", ACCOUNT, roleName="Restore")
    world.watcher().handle_change(event)
    world.watcher().handle_change(event)
    assert world.alerts() == [("DELETED", ROLE)]
    assert world.iam_calls == reads


def test_a_name_spelt_in_another_case_reads_the_name_iam_stored(world: FakeWorld, iam: FakeIam) -> None:
    """IAM names are case-insensitive (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html):
    an event spelling ``restore`` re-checks ``Restore``, and never reports it deleted."""
    iam.detach(ROLE, POLICY)
    world.watcher().handle_change(change("DetachRolePolicy", ACCOUNT, roleName="RESTORE", policyArn=POLICY))
    assert world.alerts() == [("LOST", ROLE)]


def test_a_principal_deleted_before_the_event_is_read_is_deleted(world: FakeWorld, iam: FakeIam) -> None:
    iam.delete(ROLE)
    world.watcher().handle_change(change("PutRolePolicy", ACCOUNT, roleName="Restore", policyName="x"))
    assert world.alerts() == [("DELETED", ROLE)]


# -- changes that sweep instead ---------------------------------------------------------------------


def test_a_policy_naming_more_than_sweep_over_sweeps_the_account_instead(iam: FakeIam) -> None:
    world = swept(single_account(iam, sweep_over=1))
    iam.put_policy("RestorePolicy", allow("s3:GetObject"))
    summary = world.watcher().handle_change(
        change("CreatePolicyVersion", ACCOUNT, policyArn=POLICY, setAsDefault=True)
    )
    assert summary.swept
    assert sorted(world.alerts()) == [("LOST", ROLE), ("LOST", USER)]


def test_a_change_without_its_parameters_sweeps_the_account(world: FakeWorld, iam: FakeIam) -> None:
    iam.detach(ROLE, POLICY)
    summary = world.watcher().handle_change(change("DetachRolePolicy", ACCOUNT))
    assert summary.swept
    assert world.alerts() == [("LOST", ROLE)]


def test_a_group_iam_does_not_know_sweeps_the_account(world: FakeWorld) -> None:
    summary = world.watcher().handle_change(
        change("DetachGroupPolicy", ACCOUNT, groupName="gone", policyArn=POLICY)
    )
    assert summary.swept


def test_a_batch_of_changes_that_each_need_a_sweep_sweeps_once(world: FakeWorld) -> None:
    watcher = world.watcher()
    received_at = world.clock()
    first = watcher.handle_change(change("DetachRolePolicy", ACCOUNT), received_at=received_at)
    second = watcher.handle_change(change("DetachUserPolicy", ACCOUNT), received_at=received_at)
    assert (first.swept, second.swept) == (True, False)
    assert second.checks == []


# -- the sweep --------------------------------------------------------------------------------------


def test_the_sweep_checks_every_tagged_principal_writes_the_report_and_the_heartbeat(
    world: FakeWorld,
) -> None:
    summary = world.watcher().sweep()
    assert sorted(check.arn for check in summary.checks) == [ROLE, USER]
    assert summary.report is not None
    generated_at, checks = world.report.reports[summary.report]
    assert sorted(check.arn for check in checks) == [ROLE, USER]
    assert world.store.heartbeat is not None
    assert (world.store.heartbeat.at, world.store.heartbeat.principals) == (generated_at, 2)


def test_a_watched_principal_missing_from_the_sweeps_listing_is_deleted(
    world: FakeWorld, iam: FakeIam
) -> None:
    iam.delete(USER)
    world.watcher().sweep()
    assert world.alerts() == [("DELETED", USER)]


def test_a_sweep_over_one_principal_pages_sees_the_policies_listed_first(iam: FakeIam) -> None:
    """``watch.stream``: managed policies and groups are listed before the principals, so a role on
    a later page still sees the policy it attaches (one entry per page here)."""
    iam.page_size = 1
    world = single_account(iam)
    summary = world.watcher().sweep()
    assert sorted((check.arn, check.status.value) for check in summary.checks) == [
        (ROLE, "compliant"),
        (USER, "compliant"),
    ]
    listing = sum(reader.calls["GetAccountAuthorizationDetails"] for reader in world.readers)
    assert listing == 1 + 1 + 1 + 2  # the policy, the group, the user, the two roles: a page each


def test_a_report_that_cannot_be_written_does_not_retry_the_sweep(world: FakeWorld) -> None:
    world.report.refuse_next()
    summary = world.watcher().sweep()
    assert (summary.retry_reasons, summary.report) == ([], None)


# -- fail closed: unknown, never a silent all-clear --------------------------------------------------


def test_an_unreadable_listing_makes_every_watched_principal_unknown_and_retries(
    world: FakeWorld, iam: FakeIam
) -> None:
    heartbeat = world.store.heartbeat
    iam.fail["listing"] = throttled("GetAccountAuthorizationDetails", None)
    summary = world.watcher().sweep()
    assert sorted(world.alerts()) == [("UNKNOWN", ROLE), ("UNKNOWN", USER)]
    assert summary.retryable
    assert world.store.heartbeat == heartbeat  # only a complete sweep moves it
    del iam.fail["listing"]
    world.watcher().sweep()
    assert sorted(world.alerts()[2:]) == [("RESTORED", ROLE), ("RESTORED", USER)]


def test_an_unreadable_principal_is_unknown_and_retried_then_restored(world: FakeWorld, iam: FakeIam) -> None:
    iam.fail[ROLE] = throttled("GetRole", ROLE)
    summary = world.watcher().handle_change(detach_role())  # type: ignore[arg-type]
    assert world.alerts() == [("UNKNOWN", ROLE)]
    assert summary.retryable
    stored = world.store.get(ROLE, PROFILE)
    assert stored is not None
    assert stored.error is not None
    assert "Throttling" in stored.error
    del iam.fail[ROLE]
    world.watcher().handle_change(detach_role())  # type: ignore[arg-type]
    assert world.kinds() == ["UNKNOWN", "RESTORED"]


def test_a_denied_read_of_a_principals_policy_is_unknown_naming_it_and_not_retried(
    world: FakeWorld, iam: FakeIam
) -> None:
    """AccessDenied is permanent (a retry cannot fix it) and the state knows the principal: the
    check is UNKNOWN, alerted once, naming the call, and the record is not retried forever."""
    iam.fail[POLICY] = access_denied("GetPolicy", POLICY)
    summary = world.watcher().handle_change(detach_role())  # type: ignore[arg-type]
    assert world.alerts() == [("UNKNOWN", ROLE)]
    assert not summary.retryable
    stored = world.store.get(ROLE, PROFILE)
    assert stored is not None
    assert stored.error is not None
    assert "GetPolicy" in stored.error
    assert "AccessDenied" in stored.error


def test_a_tag_naming_an_unknown_profile_is_unknown_naming_it(world: FakeWorld, iam: FakeIam) -> None:
    iam.set_tags(ROLE, {TAG: "no-such-profile"})
    world.watcher().handle_change(
        change("TagRole", ACCOUNT, roleName="Restore", tags=[{"key": TAG, "value": "x"}])
    )
    assert sorted(world.alerts()) == [("UNKNOWN", ROLE), ("UNWATCHED", ROLE)]
    stored = world.store.get(ROLE, "no-such-profile")
    assert stored is not None
    assert stored.error is not None
    assert "unknown profile" in stored.error


# -- SCPs (Organizations) ----------------------------------------------------------------------------


def member_of_an_organization(iam: FakeIam) -> tuple[FakeWorld, FakeOrganization]:
    org = FakeOrganization(MANAGEMENT)
    org.add_ou(OU, "Workloads")
    org.add_account(ACCOUNT, "backup-prod", OU)
    return swept(single_account(iam, org=org)), org


def test_an_scp_at_the_ou_taking_an_action_away_is_lost_at_the_sweep(iam: FakeIam) -> None:
    world, org = member_of_an_organization(iam)
    org.attach(deny_scp("p-norun", "NoRun", "ec2:RunInstances"), OU)
    world.watcher().sweep()
    assert sorted(world.alerts()) == [("LOST", ROLE), ("LOST", USER)]


def test_an_organizations_event_rechecks_the_account_when_it_is_below(iam: FakeIam) -> None:
    world, org = member_of_an_organization(iam)
    org.attach(deny_scp("p-norun", "NoRun", "ec2:RunInstances"), OU)
    source = "organizations.amazonaws.com"
    elsewhere = world.watcher().handle_change(
        change("AttachPolicy", MANAGEMENT, source=source, policyId="p-norun", targetId="ou-root-other")
    )
    assert (elsewhere.swept, world.alerts()) == (False, [])
    below = world.watcher().handle_change(
        change("AttachPolicy", MANAGEMENT, source=source, policyId="p-norun", targetId=OU)
    )
    assert below.swept
    assert sorted(world.alerts()) == [("LOST", ROLE), ("LOST", USER)]


def test_scps_readable_before_and_not_now_are_unknown_never_restored(iam: FakeIam) -> None:
    """``ledger.diff.fail_closed``: SCPs evaluated before and not evaluated now (a transient
    Organizations failure) make the check UNKNOWN naming the call, and the run is retried."""
    world, org = member_of_an_organization(iam)
    org.fail[ACCOUNT] = throttled("ListPoliciesForTarget", ACCOUNT)
    summary = world.watcher().handle_change(detach_role())  # type: ignore[arg-type]
    assert world.alerts() == [("UNKNOWN", ROLE)]
    assert any("SCPs of account" in reason for reason in summary.retry_reasons)
    del org.fail[ACCOUNT]
    world.watcher().handle_change(detach_role())  # type: ignore[arg-type]
    assert world.kinds() == ["UNKNOWN", "RESTORED"]


def test_an_scp_loss_then_unreadable_scps_never_turns_into_restored(iam: FakeIam) -> None:
    world, org = member_of_an_organization(iam)
    org.attach(deny_scp("p-norun", "NoRun", "ec2:RunInstances"), OU)
    world.watcher().handle_change(detach_role())  # type: ignore[arg-type]
    org.fail[ACCOUNT] = throttled("ListPoliciesForTarget", ACCOUNT)
    world.watcher().handle_change(detach_role())  # type: ignore[arg-type]
    assert "RESTORED" not in world.kinds()
    assert world.kinds()[0] == "LOST"


# -- duplicate and reordered events ------------------------------------------------------------------


def test_reordered_events_read_live_iam_so_a_detach_undone_alerts_nothing(
    world: FakeWorld, iam: FakeIam
) -> None:
    iam.detach(ROLE, POLICY)
    iam.attach(ROLE, POLICY)
    attach = change("AttachRolePolicy", ACCOUNT, roleName="Restore", policyArn=POLICY)
    world.watcher().handle_change(attach)  # the later event first
    world.watcher().handle_change(detach_role())  # type: ignore[arg-type]
    assert world.alerts() == []


def test_each_transition_in_order_is_alerted_once_with_its_own_id(world: FakeWorld, iam: FakeIam) -> None:
    for step in range(2):
        iam.detach(ROLE, POLICY)
        world.watcher().handle_change(detach_role())  # type: ignore[arg-type]
        iam.attach(ROLE, POLICY)
        world.watcher().handle_change(
            change("AttachRolePolicy", ACCOUNT, roleName="Restore", policyArn=POLICY)
        )
        assert len(world.kinds()) == 2 * (step + 1)
    assert world.kinds() == ["LOST", "RESTORED", "LOST", "RESTORED"]
    assert len(set(world.publisher.alert_ids)) == 4


def test_an_explicit_deny_added_inline_is_lost(world: FakeWorld, iam: FakeIam) -> None:
    """An explicit deny in any identity policy wins over an allow:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"""
    iam.set_inline(ROLE, {"no-run": deny("ec2:RunInstances")})
    world.watcher().handle_change(change("PutRolePolicy", ACCOUNT, roleName="Restore", policyName="no-run"))
    assert world.alerts() == [("LOST", ROLE)]


# -- digest mode -------------------------------------------------------------------------------------


def test_digest_mode_sends_one_digest_for_many_transitions(iam: FakeIam) -> None:
    world = swept(single_account(iam, digest_over=1))
    iam.put_policy("RestorePolicy", allow("s3:GetObject"))
    summary = world.watcher().handle_change(
        change("CreatePolicyVersion", ACCOUNT, policyArn=POLICY, setAsDefault=True)
    )
    assert len(world.publisher.published) == 1
    assert len(summary.delivered) == 2
    assert all(alert_id in world.publisher.published[0].alert.message for alert_id in summary.delivered)
    assert list(world.store.with_pending()) == []
