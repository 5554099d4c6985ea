"""What-if of Terraform plans: each resource type's semantics, unknown values, SCP levels.

Plans are in the documented JSON format (https://developer.hashicorp.com/terraform/internals/json-format);
resource semantics are the AWS provider's (https://registry.terraform.io/providers/hashicorp/aws/latest/docs).
The account is tests/fixtures/whatif/account.json: restore-role (/backup/, boundary RestoreBoundary),
legacy-restore, restore-operator (via group restore-operators), dr-operator (direct, and group readers)
and retired-operator are watched for profile backup-restore; each gets every action from RestoreAccess.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from restorewatch.domain import AlertKind
from restorewatch.engine import AccountSnapshot, parse_scps
from restorewatch.errors import InputError
from restorewatch_cli.whatif import apply_changes, compare, plan_changes
from unit.whatif.plans import (
    ACCOUNT,
    FIXTURES,
    RESTORE_ACTIONS,
    Plan,
    account,
    allow,
    arn,
    deny,
    document,
    registry,
    row,
    run,
    scp_levels,
)

RESTORE_ACCESS = arn("policy", "RestoreAccess")


def _role(name: str, path: str = "/", **values: Any) -> dict[str, Any]:
    base = {
        "arn": arn("role", name, path),
        "assume_role_policy": document(allow("sts:AssumeRole")),
        "id": name,
        "inline_policy": [],
        "managed_policy_arns": [RESTORE_ACCESS],
        "name": name,
        "name_prefix": "",
        "path": path,
        "permissions_boundary": "",
        "tags": {"restorewatch:profile": "backup-restore"},
        "tags_all": {"restorewatch:profile": "backup-restore"},
    }
    base.update(values)
    return base


def test_a_detached_policy_is_lost() -> None:
    """A role's identity policies are its inline and attached managed policies; without an Allow
    the request is implicitly denied.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"""
    plan = Plan().change(
        "aws_iam_role_policy_attachment.legacy",
        ["delete"],
        {"id": "legacy-restore-1", "policy_arn": RESTORE_ACCESS, "role": "legacy-restore"},
        None,
    )
    rows = run(plan)
    legacy = row(rows, "legacy-restore")
    assert (legacy.before, legacy.after) == ("compliant", "non_compliant")
    assert legacy.lost == RESTORE_ACTIONS
    assert legacy.kind is AlertKind.LOST
    assert legacy.blocks
    assert set(rows) == {("legacy-restore", "backup-restore")}  # nobody else is touched
    assert "No policy of role legacy-restore allows" in "\n".join(legacy.fix)


def test_a_changed_policy_document_is_a_new_default_version_for_every_holder() -> None:
    """A changed aws_iam_policy document becomes the policy's default version, and only the default
    version is evaluated, for every user (directly or through a group) and role it is attached to.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html"""
    before = {
        "arn": RESTORE_ACCESS,
        "name": "RestoreAccess",
        "path": "/",
        "policy": document(allow(list(RESTORE_ACTIONS))),
    }
    after = {**before, "policy": document(allow(list(RESTORE_ACTIONS[:4])))}
    rows = run(Plan().change("aws_iam_policy.restore", ["update"], before, after))
    # every holder loses s3:GetObject, except dr-operator, whose group readers still grants it
    assert row(rows, "restore-role").lost == ("s3:GetObject",)
    assert row(rows, "legacy-restore").lost == ("s3:GetObject",)
    assert row(rows, "restore-operator").lost == ("s3:GetObject",)  # through group restore-operators
    assert row(rows, "retired-operator").lost == ("s3:GetObject",)
    dr = row(rows, "dr-operator")
    assert (dr.before, dr.after, dr.lost) == ("compliant", "compliant", ())
    assert not dr.blocks


def test_a_permissions_boundary_caps_what_identity_policies_allow() -> None:
    """With a permissions boundary, an action is allowed only if the boundary allows it too.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html"""
    before = _role("restore-role", "/backup/", permissions_boundary=arn("policy", "RestoreBoundary"))
    after = {**before, "permissions_boundary": arn("policy", "ObjectRead")}
    rows = run(Plan().change("aws_iam_role.restore", ["update"], before, after))
    restore = row(rows, "restore-role")
    assert restore.lost == RESTORE_ACTIONS[:4]  # ObjectRead allows s3:GetObject only
    assert any("permissions boundary" in reason for reason in restore.reasons)


def test_a_policy_created_in_the_same_plan_is_followed_by_its_address() -> None:
    """The attachment's policy_arn is unknown until apply; the configuration says it is
    aws_iam_policy.no_reads.arn, whose document the plan has."""
    plan = (
        Plan()
        .change(
            "aws_iam_policy.no_reads",
            ["create"],
            None,
            {"name": "NoReads", "path": "/", "policy": document(deny("s3:GetObject")), "tags": None},
            unknown={"arn": True, "id": True, "policy_id": True},
        )
        .change(
            "aws_iam_role_policy_attachment.no_reads",
            ["create"],
            None,
            {"role": "legacy-restore"},
            unknown={"id": True, "policy_arn": True},
            expressions={
                "policy_arn": {"references": ["aws_iam_policy.no_reads.arn", "aws_iam_policy.no_reads"]},
                "role": {"constant_value": "legacy-restore"},
            },
        )
    )
    legacy = row(run(plan), "legacy-restore")
    assert legacy.lost == ("s3:GetObject",)
    assert any("NoReads" in reason for reason in legacy.reasons)


def test_an_unknown_policy_arn_that_cannot_be_followed_is_unknown_never_a_pass() -> None:
    """Without a reference to follow, the attached policy could deny anything: every answer it could
    change is unknown, and the gate does not pass."""
    plan = Plan().change(
        "aws_iam_role_policy_attachment.mystery",
        ["create"],
        None,
        {"role": "legacy-restore"},
        unknown={"id": True, "policy_arn": True},
        expressions={
            "policy_arn": {"references": ["module.policies.arn"]},
            "role": {"constant_value": "legacy-restore"},
        },
    )
    legacy = row(run(plan), "legacy-restore")
    assert (legacy.before, legacy.after) == ("compliant", "unknown")
    assert legacy.lost == ()
    assert legacy.unknown == RESTORE_ACTIONS
    assert legacy.blocks
    assert legacy.reasons[0].startswith("Known only after apply: aws_iam_role_policy_attachment.mystery")


def test_an_unknown_document_leaves_a_certain_denial_denied() -> None:
    """An explicit Deny in a known policy denies whatever the unknown document says (no Allow
    overrides a Deny), so that answer stays certain; every other one is unknown.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"""
    plan = (
        Plan()
        .change(
            "aws_iam_role_policy.no_volumes",
            ["create"],
            None,
            {"name": "no-volumes", "policy": document(deny("ec2:CreateVolume")), "role": "legacy-restore"},
            unknown={"id": True},
        )
        .change(
            "aws_iam_role_policy.computed",
            ["create"],
            None,
            {"name": "computed", "role": "legacy-restore"},
            unknown={"id": True, "policy": True},
            expressions={"policy": {"references": ["data.aws_iam_policy_document.computed.json"]}},
        )
    )
    legacy = row(run(plan), "legacy-restore")
    assert legacy.after == "non_compliant"
    assert legacy.lost == ("ec2:CreateVolume",)
    assert legacy.unknown == tuple(a for a in RESTORE_ACTIONS if a != "ec2:CreateVolume")
    assert any("aws_iam_role_policy.computed.policy" in reason for reason in legacy.reasons)


def test_an_unknown_boundary_is_unknown() -> None:
    before = _role("legacy-restore")
    after = dict(before)
    del after["permissions_boundary"]
    plan = Plan().change(
        "aws_iam_role.legacy",
        ["update"],
        before,
        after,
        unknown={"permissions_boundary": True},
        expressions={"permissions_boundary": {"references": ["var.boundary_arn"]}},
    )
    legacy = row(run(plan), "legacy-restore")
    assert legacy.after == "unknown"
    assert legacy.blocks


def test_removing_the_watch_tag_is_unwatched_and_deleting_is_deleted() -> None:
    """As the watcher says them: UNWATCHED (the tag no longer names the profile), DELETED."""
    before = _role("legacy-restore")
    after = {**before, "tags": {}, "tags_all": {}}
    user = {"arn": arn("user", "retired-operator"), "name": "retired-operator", "path": "/", "tags": {}}
    plan = (
        Plan()
        .change("aws_iam_role.legacy", ["update"], before, after)
        .change("aws_iam_user.retired", ["delete"], user, None)
    )
    rows = run(plan)
    legacy, retired = row(rows, "legacy-restore"), row(rows, "retired-operator")
    assert (legacy.after, legacy.kind, legacy.lost) == ("unwatched", AlertKind.UNWATCHED, ())
    assert (retired.after, retired.kind) == ("deleted", AlertKind.DELETED)
    assert retired.lost == RESTORE_ACTIONS  # a deleted principal can restore nothing
    assert legacy.blocks
    assert retired.blocks


def test_the_advice_names_the_configured_watch_tag() -> None:
    """``what-if --tag-key``: an UNWATCHED row's headline and fix name the configured tag, as the
    watcher's alert does (template parameter WatchTagKey), never the default one."""
    key = "acme:restore-profile"
    text = (FIXTURES / "account.json").read_text().replace("restorewatch:profile", key)
    snapshot = AccountSnapshot.from_pages([json.loads(text)])
    before = _role("legacy-restore", tags={key: "backup-restore"}, tags_all={key: "backup-restore"})
    after = {**before, "tags": {}, "tags_all": {}}
    plan = Plan().change("aws_iam_role.legacy", ["update"], before, after)
    changes = plan_changes(plan.json(), origin="plan.json", account=ACCOUNT)
    state = apply_changes(snapshot, changes, scp_levels=None, tag_key=key)
    (legacy,) = compare(snapshot, None, state, registry=registry(), tag_key=key).rows
    assert (legacy.after, legacy.kind) == ("unwatched", AlertKind.UNWATCHED)
    assert legacy.headline is not None
    assert f"its {key} tag no longer names it" in legacy.headline
    assert any(f"{key} = backup-restore" in line for line in legacy.fix)
    assert "restorewatch:profile" not in "\n".join([legacy.headline, *legacy.fix])


def test_default_tags_count_through_tags_all() -> None:
    """tags_all is the resource's tags merged with the provider's default_tags."""
    before = _role("legacy-restore", tags={}, tags_all={"restorewatch:profile": "backup-restore"})
    after = {**before, "tags_all": {"team": "backup"}}
    assert (
        row(run(Plan().change("aws_iam_role.legacy", ["update"], before, after)), "legacy-restore").after
        == "unwatched"
    )


def test_unknown_tags_make_the_watch_unknown() -> None:
    before = _role("legacy-restore")
    after = {k: v for k, v in before.items() if k not in ("tags", "tags_all")}
    plan = Plan().change(
        "aws_iam_role.legacy", ["update"], before, after, unknown={"tags": True, "tags_all": True}
    )
    legacy = row(run(plan), "legacy-restore")
    assert legacy.after == "unknown"
    assert legacy.blocks


def test_replacing_a_role_creates_it_bare() -> None:
    """A replaced role is deleted and created again: what other resources attached to the old one is
    gone (Terraform does not re-attach unless those resources are replaced too)."""
    before = _role("legacy-restore")
    after = {**before, "path": "/backup/"}
    plan = Plan().change(
        "aws_iam_role.legacy",
        ["delete", "create"],
        before,
        {k: v for k, v in after.items() if k not in ("arn", "id", "managed_policy_arns")},
        unknown={"arn": True, "id": True, "managed_policy_arns": True},
        expressions={"name": {"constant_value": "legacy-restore"}, "path": {"constant_value": "/backup/"}},
    )
    snapshot = account()
    changes = plan_changes(plan.json(), origin="plan.json", account=ACCOUNT)
    after_state = apply_changes(snapshot, changes, scp_levels=None, tag_key="restorewatch:profile")
    new, old = compare(snapshot, None, after_state, registry=registry(), tag_key="restorewatch:profile").rows
    assert (old.arn, new.arn) == (arn("role", "legacy-restore"), arn("role", "legacy-restore", "/backup/"))
    assert (old.after, old.kind) == ("deleted", AlertKind.DELETED)
    assert (new.before, new.after, new.lost) == (None, "non_compliant", RESTORE_ACTIONS)


def test_configured_managed_policy_arns_are_exclusive() -> None:
    """aws_iam_role.managed_policy_arns, once configured, detaches every policy it does not list."""
    before = _role("legacy-restore")
    after = {**before, "managed_policy_arns": [arn("policy", "ObjectRead")]}
    plan = Plan().change(
        "aws_iam_role.legacy",
        ["update"],
        before,
        after,
        expressions={"managed_policy_arns": {"constant_value": [arn("policy", "ObjectRead")]}},
    )
    assert row(run(plan), "legacy-restore").lost == RESTORE_ACTIONS[:4]


def test_group_memberships() -> None:
    """A user's identity policies include those of its groups
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_groups.html): aws_iam_group_membership is
    exclusive for its group, aws_iam_user_group_membership adds to a user's groups."""
    exclusive = Plan().change(
        "aws_iam_group_membership.operators",
        ["update"],
        {"group": "restore-operators", "name": "operators", "users": ["restore-operator"]},
        {"group": "restore-operators", "name": "operators", "users": ["alice"]},
    )
    assert row(run(exclusive), "restore-operator").lost == RESTORE_ACTIONS
    added = (
        Plan()
        .change(
            "aws_iam_group_policy.readers",
            ["create"],
            None,
            {"group": "readers", "name": "no-volumes", "policy": document(deny("ec2:CreateVolume"))},
        )
        .change(
            "aws_iam_user_group_membership.operator",
            ["create"],
            None,
            {"groups": ["readers"], "user": "restore-operator"},
        )
    )
    rows = run(added)
    assert row(rows, "restore-operator").lost == ("ec2:CreateVolume",)
    assert row(rows, "dr-operator").lost == ("ec2:CreateVolume",)  # already in readers


def test_aws_iam_policy_attachment_is_exclusive_for_its_policy() -> None:
    before = {"name": "restore", "policy_arn": RESTORE_ACCESS, "roles": ["restore-role", "legacy-restore"],
              "users": ["dr-operator", "retired-operator"], "groups": ["restore-operators"]}  # fmt: skip
    after = {**before, "roles": ["restore-role"]}
    rows = run(Plan().change("aws_iam_policy_attachment.restore", ["update"], before, after))
    assert row(rows, "legacy-restore").lost == RESTORE_ACTIONS
    assert row(rows, "restore-role").lost == ()


def test_user_and_inline_policies() -> None:
    plan = Plan().change(
        "aws_iam_user_policy.guard",
        ["create"],
        None,
        {
            "name": "guard",
            "user": "dr-operator",
            "policy": document(
                deny(
                    "iam:PassRole",
                    Condition={"StringNotEquals": {"iam:PassedToService": "backup.amazonaws.com"}},
                )
            ),
        },
    )
    dr = row(run(plan), "dr-operator")
    assert (dr.after, dr.degraded, dr.kind) == ("degraded", ("iam:PassRole",), AlertKind.DEGRADED)


def test_restoring_a_lost_action_is_restored() -> None:
    detach = {"policy_arn": RESTORE_ACCESS, "role": "legacy-restore"}
    # the account with RestoreAccess detached from legacy-restore, then a plan that attaches it again
    account = json.loads((FIXTURES / "account.json").read_text())
    for role in account["RoleDetailList"]:
        if role["RoleName"] == "legacy-restore":
            role["AttachedManagedPolicies"] = []
    snapshot = AccountSnapshot.from_pages([account])
    plan = Plan().change("aws_iam_role_policy_attachment.legacy", ["create"], None, detach).json()
    changes = plan_changes(plan, origin="plan.json", account=ACCOUNT)
    after = apply_changes(snapshot, changes, scp_levels=None, tag_key="restorewatch:profile")
    (legacy,) = compare(snapshot, None, after, registry=registry(), tag_key="restorewatch:profile").rows
    assert (legacy.before, legacy.after, legacy.restored) == ("non_compliant", "compliant", RESTORE_ACTIONS)
    assert legacy.kind is AlertKind.RESTORED
    assert not legacy.blocks


# -- SCPs ---------------------------------------------------------------------------------------------


def _scp(policy_id: str, name: str, content: str) -> dict[str, Any]:
    return {
        "arn": f"arn:aws:organizations::999999999999:policy/o-example/service_control_policy/{policy_id}",
        "content": content,
        "id": policy_id,
        "name": name,
        "type": "SERVICE_CONTROL_POLICY",
    }


def test_an_scp_change_at_any_level_applies_to_every_principal_of_the_account() -> None:
    """An explicit Deny in an SCP at any level, root to account, denies.
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html"""
    before = _scp("p-0denyleave1", "DenyLeaveOrg", document(deny("organizations:LeaveOrganization")))
    after = {**before, "content": document(deny(["organizations:LeaveOrganization", "iam:PassRole"]))}
    rows = run(
        Plan().change("aws_organizations_policy.deny_leave", ["update"], before, after), scps=scp_levels()
    )
    assert {key[0] for key in rows} == {
        "restore-role", "legacy-restore", "restore-operator", "dr-operator", "retired-operator"
    }  # fmt: skip
    assert all(r.lost == ("iam:PassRole",) for r in rows.values())
    assert any("SCP" in reason for reason in row(rows, "restore-role").reasons)


def test_an_scp_attached_where_the_account_is_not_changes_nothing() -> None:
    guard = _scp("p-restoreguard", "RestoreGuard", document(deny("backup:StartRestoreJob")))
    plan = (
        Plan()
        .change("aws_organizations_policy.guard", ["create"], None, guard)
        .change(
            "aws_organizations_policy_attachment.guard",
            ["create"],
            None,
            {"policy_id": "p-restoreguard", "target_id": "ou-ab12-22222222"},
        )
    )
    assert run(plan, scps=scp_levels()) == {}
    to_ou = (
        Plan()
        .change("aws_organizations_policy.guard", ["create"], None, guard)
        .change(
            "aws_organizations_policy_attachment.guard",
            ["create"],
            None,
            {"policy_id": "p-restoreguard", "target_id": "ou-ab12-11111111"},
        )
    )
    assert all(r.lost == ("backup:StartRestoreJob",) for r in run(to_ou, scps=scp_levels()).values())


def test_every_level_must_allow_so_detaching_the_only_allow_denies() -> None:
    """Each level from the root to the account must allow the action (FullAWSAccess usually does).
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html"""
    plan = Plan().change(
        "aws_organizations_policy_attachment.full_access_account",
        ["delete"],
        {"policy_id": "p-FullAWSAccess", "target_id": ACCOUNT},
        None,
    )
    rows = run(plan, scps=scp_levels())
    assert all(r.lost == RESTORE_ACTIONS for r in rows.values())


def test_an_scp_statement_that_covers_no_required_action_changes_no_answer() -> None:
    """An SCP level is evaluated from its statements: one that covers none of a principal's actions
    leaves every answer as it was, and the principal is counted, not listed.
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html"""
    before = _scp("p-0denyleave1", "DenyLeaveOrg", document(deny("organizations:LeaveOrganization")))
    after = {**before, "content": document(deny(["organizations:LeaveOrganization", "s3:DeleteBucket"]))}
    plan = Plan().change("aws_organizations_policy.deny_leave", ["update"], before, after).json()
    snapshot = account()
    changes = plan_changes(plan, origin="plan.json", account=ACCOUNT)
    state = apply_changes(snapshot, changes, scp_levels=scp_levels(), tag_key="restorewatch:profile")
    report = compare(
        snapshot, parse_scps(scp_levels()), state, registry=registry(), tag_key="restorewatch:profile"
    )
    assert (report.rows, report.unchanged, report.blocks) == ((), 5, False)
    # a Deny with a wildcard that covers a required action is a change for everyone
    after = {
        **before,
        "content": document(
            deny(["organizations:LeaveOrganization", "s3:Get*"]),
        ),
    }
    rows = run(
        Plan().change("aws_organizations_policy.deny_leave", ["update"], before, after), scps=scp_levels()
    )
    assert len(rows) == 5
    assert {r.lost for r in rows.values()} == {("s3:GetObject",)}


def test_an_scp_change_needs_the_scp_levels() -> None:
    before = _scp("p-0denyleave1", "DenyLeaveOrg", document(deny("organizations:LeaveOrganization")))
    after = {**before, "content": document(deny("s3:DeleteBucket"))}
    rows = run(Plan().change("aws_organizations_policy.deny_leave", ["update"], before, after))
    assert rows
    assert all(r.after == "unknown" for r in rows.values())
    assert all(r.blocks for r in rows.values())
    assert "--scps" in row(rows, "restore-role").reasons[0]


def test_other_organizations_policy_types_are_not_scps() -> None:
    tag_policy = {**_scp("p-tags", "Tags", "{}"), "type": "TAG_POLICY"}
    assert run(Plan().change("aws_organizations_policy.tags", ["create"], None, tag_policy)) == {}


def test_an_scp_file_that_names_no_target_cannot_place_an_ou() -> None:
    """Without Target ids in the SCP file, an attachment to some OU may be on the account's path."""
    levels = [[{"Name": "FullAWSAccess", "Content": json.loads(document(allow("*")))}] for _ in range(3)]
    guard = _scp("p-restoreguard", "RestoreGuard", document(deny("backup:StartRestoreJob")))
    plan = (
        Plan()
        .change("aws_organizations_policy.guard", ["create"], None, guard)
        .change(
            "aws_organizations_policy_attachment.guard",
            ["create"],
            None,
            {"policy_id": "p-restoreguard", "target_id": "ou-ab12-33333333"},
        )
    )
    assert all(r.after == "unknown" for r in run(plan, scps=levels).values())


# -- the whole fixture, and bad input ------------------------------------------------------------------


def test_the_fixture_plan_with_every_resource_type() -> None:
    plan = json.loads((FIXTURES / "plan-all-types.json").read_text())
    types = {change["type"] for change in plan["resource_changes"]}
    assert types == {
        "aws_iam_role_policy", "aws_iam_role_policy_attachment", "aws_iam_user_policy",
        "aws_iam_user_policy_attachment", "aws_iam_group_policy", "aws_iam_group_policy_attachment",
        "aws_iam_user_group_membership", "aws_iam_group_membership", "aws_iam_policy", "aws_iam_role",
        "aws_iam_user", "aws_iam_policy_attachment", "aws_organizations_policy",
        "aws_organizations_policy_attachment",
    }  # fmt: skip
    rows = run(plan, scps=scp_levels())
    summary = {name: (r.before, r.after, r.lost, r.degraded) for (name, _), r in rows.items()}
    assert summary == {
        "app-role": (None, "non_compliant", RESTORE_ACTIONS[:4], ()),
        "new-restore": (None, "compliant", (), ()),
        "restore-role": ("compliant", "degraded", (), ("iam:PassRole", "s3:GetObject")),
        "legacy-restore": ("compliant", "non_compliant", RESTORE_ACTIONS, ()),
        "dr-operator": ("compliant", "non_compliant", ("ec2:CreateVolume",), ()),
        "restore-operator": ("compliant", "non_compliant", ("ec2:CreateVolume",), ()),
        "retired-operator": ("compliant", "deleted", RESTORE_ACTIONS, ()),
    }


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ({"resource_changes": []}, "is not a Terraform plan"),
        ([1, 2], "is not a Terraform plan"),
        ({"format_version": "2.0", "resource_changes": []}, "format_version '2.0' is not supported"),
        ({"format_version": "1.0", "values": {"root_module": {}}}, "is Terraform state, not a plan"),
        ({"format_version": "1.2", "resource_changes": [], "errored": True}, "the plan errored"),
        ({"format_version": "1.2", "resource_changes": [{"address": "x"}]}, "has no change object"),
    ],
)
def test_bad_plans_are_refused(plan: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        plan_changes(plan, origin="plan.json", account=ACCOUNT)


def test_exclusive_policy_resources() -> None:
    """aws_iam_role_policy_attachments_exclusive detaches what it does not list;
    aws_iam_user_policies_exclusive deletes the inline policies it does not name."""
    attachments = Plan().change(
        "aws_iam_role_policy_attachments_exclusive.legacy",
        ["create"],
        None,
        {"role_name": "legacy-restore", "policy_arns": [arn("policy", "ObjectRead")]},
    )
    assert row(run(attachments), "legacy-restore").lost == RESTORE_ACTIONS[:4]
    inline = (
        Plan()
        .change(
            "aws_iam_user_policy.dr_deny",
            ["create"],
            None,
            {"name": "old-deny", "user": "dr-operator", "policy": document(deny("iam:PassRole"))},
        )
        .change(
            "aws_iam_user_policies_exclusive.dr",
            ["create"],
            None,
            {"user_name": "dr-operator", "policy_names": []},
        )
    )
    # the exclusive list is applied last: the Deny the plan adds is deleted again
    dr = row(run(inline), "dr-operator")
    assert (dr.before, dr.after, dr.lost) == ("compliant", "compliant", ())
