"""Requirement status: can the principal perform an action on any resource, whatever the context?

The rules and their edge notes are RestoreWatch's evaluation spec (requirement status), built on
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
"""

from __future__ import annotations

from typing import cast

import pytest

from restorewatch.engine import LayerKind, Limit, RequirementStatus, check_actions, requirement_status

from .conftest import (
    ALLOW_ALL_SCP,
    allow,
    aws_managed,
    deny,
    doc,
    group,
    managed_policy,
    role_with,
    scp_levels,
    snapshot,
    stmt,
    user,
    user_arn,
    user_with,
)

ALLOWED = RequirementStatus.ALLOWED
PARTIAL = RequirementStatus.PARTIAL
DENIED = RequirementStatus.DENIED
VEEAM_IAM = ["iam:GetRole", "iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy"]


def status(principal, action="ec2:RunInstances", scps=None):
    return requirement_status(principal, action, scps).status


# ---- basic statuses ----


def test_requirement_allow_star_unconditional_allowed():
    """An unconditional Allow on ``"Resource": "*"`` with no Deny: allowed.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    """
    result = requirement_status(user_with(doc(allow("ec2:RunInstances", sid="Run"))), "ec2:RunInstances")
    assert result.status is ALLOWED
    assert result.reasons[0].code == "allow"
    assert "statement 'Run'" in result.explanation


def test_requirement_no_covering_allow_denied():
    """No covering Allow in the identity layer: denied (implicit deny).

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    """
    result = requirement_status(user_with(doc(allow("s3:*"))), "ec2:RunInstances")
    assert result.status is DENIED
    assert result.reasons[0].code == "no_allow"
    assert "identity policies" in result.explanation


def test_requirement_action_case_insensitive_and_wildcards():
    """Actions match as in requests: case-insensitive with wildcards (Veeam spells
    ``s3:PutLifeCycleConfiguration``).

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    """
    alice = user_with(doc(allow(["s3:PutLifecycleConfiguration", "ec2:Describe?nstances"])))
    assert status(alice, "s3:PutLifeCycleConfiguration") is ALLOWED
    assert status(alice, "EC2:describeinstances") is ALLOWED


def test_requirement_resource_scoped_allow_partial_names_resource():
    """An Allow only on some resources: partial, explained as a resource scope.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    """
    result = requirement_status(
        user_with(doc(allow("s3:GetObject", "arn:aws:s3:::*", sid="S3"))), "s3:GetObject"
    )
    assert result.status is PARTIAL
    [reason] = result.reasons
    assert reason.code == "limited_allow"
    assert reason.limits == (Limit.RESOURCE_SCOPE,)
    assert "only on arn:aws:s3:::*" in reason.message
    assert "statement 'S3'" in reason.message


def test_requirement_resource_list_containing_star_allowed():
    """A ``Resource`` list that contains ``"*"`` counts as all resources.

    RestoreWatch spec (unconditional-on-star); https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    """
    assert status(user_with(doc(allow("ec2:RunInstances", ["arn:aws:ec2:*:*:instance/*", "*"])))) is ALLOWED


def test_requirement_resource_with_variable_partial():
    """A resource pattern with a policy variable is not ``"*"``: partial.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
    """
    assert status(user_with(doc(allow("s3:GetObject", "${aws:username}"))), "s3:GetObject") is PARTIAL


def test_requirement_conditional_allow_partial_names_keys():
    """An Allow with a request condition: partial, explained as a condition naming its keys.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
    """
    alice = user_with(
        doc(
            allow(
                "ec2:RunInstances",
                condition={
                    "IpAddress": {"aws:SourceIp": "203.0.113.0/24"},
                    "Bool": {"aws:SecureTransport": "true"},
                },
            )
        )
    )
    result = requirement_status(alice, "ec2:RunInstances")
    assert result.status is PARTIAL
    [reason] = result.reasons
    assert reason.code == "limited_allow"
    assert reason.limits == (Limit.CONDITION,)
    assert set(reason.condition_keys) == {"aws:SourceIp", "aws:SecureTransport"}
    data = reason.as_dict()
    assert data["layer"] == "identity"
    assert data["limits"] == ["condition"]
    assert sorted(cast("list[str]", data["condition_keys"])) == ["aws:SecureTransport", "aws:SourceIp"]
    assert data["policy"] == "p0"
    assert "aws:SourceIp" in reason.message
    assert "aws:SecureTransport" in reason.message


def test_requirement_allow_scoped_and_conditional_both_limits():
    """An Allow limited both by resource and condition reports both limits.

    RestoreWatch spec (partial explanation); https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    """
    alice = user_with(
        doc(allow("s3:GetObject", "arn:aws:s3:::b/*", condition={"Bool": {"aws:SecureTransport": "true"}}))
    )
    [reason] = requirement_status(alice, "s3:GetObject").reasons
    assert reason.limits == (Limit.RESOURCE_SCOPE, Limit.CONDITION)


def test_requirement_full_allow_beats_limited_allow_same_layer():
    """One unconditional-on-star Allow in a layer is enough, whatever else it holds.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    """
    alice = user_with(doc(allow("s3:GetObject", "arn:aws:s3:::b/*")), doc(allow("s3:*")))
    assert status(alice, "s3:GetObject") is ALLOWED


def test_requirement_if_exists_allow_partial():
    """Even a condition that is usually true (``...IfExists``) makes an Allow conditional.

    RestoreWatch spec: conditions on request keys are never evaluated; https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IfExists
    """
    alice = user_with(
        doc(allow("ec2:RunInstances", condition={"StringEqualsIfExists": {"ec2:InstanceType": "t3.micro"}}))
    )
    assert status(alice) is PARTIAL


# ---- denies ----


def test_requirement_unconditional_star_deny_denied_names_statement():
    """An unconditional Deny on ``*`` denies the action everywhere: denied, naming the Deny.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    ("An explicit deny in any policy overrides any allows")
    """
    result = requirement_status(
        user_with(doc(allow("*")), doc(deny("ec2:*", sid="NoEc2"))), "ec2:RunInstances"
    )
    assert result.status is DENIED
    [reason] = result.reasons
    assert reason.code == "explicit_deny"
    assert reason.layer is LayerKind.IDENTITY
    assert "statement 'NoEc2'" in reason.message
    assert "inline policy p1" in reason.message


def test_requirement_resource_limited_deny_partial():
    """A Deny on some resources only: partial, explained as a limited deny.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    """
    result = requirement_status(
        user_with(doc(allow("*"), deny("s3:DeleteObject", "arn:aws:s3:::vault/*", sid="Vault"))),
        "s3:DeleteObject",
    )
    assert result.status is PARTIAL
    [reason] = result.reasons
    assert reason.code == "limited_deny"
    assert reason.limits == (Limit.RESOURCE_SCOPE,)
    assert "denied on arn:aws:s3:::vault/*" in reason.message
    assert "statement 'Vault'" in reason.message


def test_requirement_conditional_deny_partial_names_keys():
    """A Deny with a condition: partial, explained as a limited deny naming the condition keys.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
    """
    alice = user_with(
        doc(allow("*"), deny("*", condition={"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}}))
    )
    result = requirement_status(alice, "ec2:RunInstances")
    assert result.status is PARTIAL
    [reason] = result.reasons
    assert reason.code == "limited_deny"
    assert reason.limits == (Limit.CONDITION,)
    assert reason.condition_keys == ("aws:RequestedRegion",)


def test_requirement_deny_if_exists_always_true_still_partial():
    """Edge note: a Deny whose condition is usually true for the watcher (``BoolIfExists`` on a key
    that is usually absent) still counts as conditional: partial.

    RestoreWatch spec, edge notes; https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IfExists
    """
    alice = user_with(
        doc(allow("*"), deny("*", condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}))
    )
    assert status(alice) is PARTIAL


def test_requirement_notresource_deny_partial():
    """Edge note: ``NotResource`` in a Deny is a resource-limited deny (the listed resources stay
    reachable): partial.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html
    """
    result = requirement_status(
        user_with(doc(allow("*"), stmt("Deny", "s3:*", not_resource="arn:aws:s3:::backups/*"))),
        "s3:PutObject",
    )
    assert result.status is PARTIAL
    assert result.reasons[0].code == "limited_deny"
    assert result.reasons[0].limits == (Limit.NOT_RESOURCE,)
    assert "except arn:aws:s3:::backups/*" in result.reasons[0].message


def test_requirement_notresource_allow_always_partial():
    """Edge note: ``NotResource`` in an Allow always makes it partial, even when the listed ARNs belong
    to another service.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html
    """
    alice = user_with(doc(stmt("Allow", "ec2:*", not_resource="arn:aws:s3:::secret")))
    result = requirement_status(alice, "ec2:RunInstances")
    assert result.status is PARTIAL
    assert result.reasons[0].limits == (Limit.NOT_RESOURCE,)


def test_requirement_deny_plus_full_allow_and_limited_deny_partial():
    """Any covering Deny (whatever its resource or condition) prevents ``allowed``.

    RestoreWatch spec (allowed requires no covering Deny); https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    """
    restore = role_with(
        doc(allow("ec2:*")), doc(deny("ec2:RunInstances", "arn:aws:ec2:*:*:instance/i-legacy"))
    )
    assert status(restore) is PARTIAL
    assert status(restore, "ec2:StopInstances") is ALLOWED


def test_requirement_full_deny_beats_everything_denied():
    """``denied`` wins over limited allows and limited denies elsewhere.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    """
    alice = user_with(
        doc(allow("ec2:*", "arn:aws:ec2:*:*:instance/*"), deny("ec2:*", "arn:aws:ec2:*:*:volume/*")),
        boundary=doc(allow("*"), deny("ec2:RunInstances")),
    )
    result = requirement_status(alice, "ec2:RunInstances")
    assert result.status is DENIED
    assert any(r.code == "explicit_deny" and r.layer is LayerKind.BOUNDARY for r in result.reasons)


# ---- NotAction ----


def test_requirement_notaction_allow_covers_other_services():
    """Edge note: ``NotAction`` in an Allow covers every action not listed (any service).

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
    """
    alice = user_with(doc(stmt("Allow", not_action="iam:*", resource="*")))
    assert status(alice, "ec2:RunInstances") is ALLOWED
    assert status(alice, "iam:GetRole") is DENIED


def test_requirement_notaction_allow_scoped_resource_partial():
    """Edge note: an Allow ``NotAction`` whose ``Resource`` is not ``*`` gives partial for other services.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
    """
    alice = user_with(doc(stmt("Allow", not_action="iam:*", resource="arn:aws:s3:::*")))
    assert status(alice, "ec2:RunInstances") is PARTIAL


def test_requirement_notaction_deny_denies_unlisted():
    """Edge note: ``NotAction`` in a Deny denies every action not listed.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
    """
    alice = user_with(doc(allow("*"), stmt("Deny", not_action=["ec2:*", "s3:*"], resource="*")))
    assert status(alice, "iam:CreateRole") is DENIED
    assert status(alice, "ec2:RunInstances") is ALLOWED


def test_requirement_power_user_access_veeam_iam_actions_denied():
    """PowerUserAccess: the four ``iam:`` actions of Veeam's restore profile are denied, and the
    explanation names PowerUserAccess's NotAction statement; EC2 and S3 actions stay allowed.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
    ("NotAction ... allows access to all of the actions except those listed")
    https://docs.aws.amazon.com/aws-managed-policy/latest/reference/PowerUserAccess.html
    """
    power = aws_managed("PowerUserAccess")
    snap = snapshot(users=[user("veeam", managed=[power])], policies=[power])
    veeam = snap.principal(user_arn("veeam"))
    results = check_actions(veeam, [*VEEAM_IAM, "ec2:RunInstances", "s3:PutLifeCycleConfiguration"])
    by_action = {r.action: r for r in results}
    for action in VEEAM_IAM:
        result = by_action[action]
        assert result.status is DENIED, action
        [reason] = result.reasons
        assert reason.code == "no_allow"
        assert reason.layer is LayerKind.IDENTITY
        assert reason.statement is not None
        assert reason.statement.statement == "statement #0"
        assert reason.statement.source.arn == "arn:aws:iam::aws:policy/PowerUserAccess"
        assert "PowerUserAccess" in reason.message
        assert "NotAction" in reason.message
        assert "iam:*" in reason.message
    assert by_action["ec2:RunInstances"].status is ALLOWED
    assert by_action["s3:PutLifeCycleConfiguration"].status is ALLOWED


def test_requirement_power_user_access_via_group_names_group():
    """PowerUserAccess attached to the user's group: same denial, naming the group.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_groups.html
    """
    power = aws_managed("PowerUserAccess")
    snap = snapshot(
        users=[user(groups=["power"])], groups=[group("power", managed=[power])], policies=[power]
    )
    result = requirement_status(snap.principal(user_arn()), "iam:CreateRole")
    assert result.status is DENIED
    assert result.reasons[0].as_dict()["via_group"] == "power"


def test_requirement_power_user_plus_iam_read_only_get_role_allowed():
    """Adding IAMReadOnlyAccess restores iam:GetRole (``iam:Get*``) but not iam:CreateRole.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    """
    power, reader = aws_managed("PowerUserAccess"), aws_managed("IAMReadOnlyAccess")
    snap = snapshot(users=[user(managed=[power, reader])], policies=[power, reader])
    alice = snap.principal(user_arn())
    assert status(alice, "iam:GetRole") is ALLOWED
    assert status(alice, "iam:CreateRole") is DENIED


def test_requirement_administrator_access_allowed():
    """AdministratorAccess (``Action: *``, ``Resource: *``) allows every action.

    https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AdministratorAccess.html
    """
    admin = aws_managed("AdministratorAccess")
    snap = snapshot(users=[user(managed=[admin])], policies=[admin])
    alice = snap.principal(user_arn())
    assert all(r.status is ALLOWED for r in check_actions(alice, VEEAM_IAM))


# ---- principal-derived condition keys ----


def test_requirement_principal_tag_condition_satisfied_allowed():
    """Edge note: an Allow whose only condition is on a principal tag the principal has is
    unconditional: allowed.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principaltag
    """
    document = doc(allow("ec2:*", condition={"StringEquals": {"aws:PrincipalTag/project": "restore"}}))
    assert status(role_with(document, tags={"project": "restore"})) is ALLOWED


def test_requirement_principal_tag_condition_missing_tag_denied():
    """Edge note: had the role lacked the tag, the Allow would not apply at all: denied.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principaltag
    """
    document = doc(allow("ec2:*", condition={"StringEquals": {"aws:PrincipalTag/project": "restore"}}))
    assert status(role_with(document)) is DENIED
    assert status(role_with(document, tags={"project": "other"})) is DENIED


def test_requirement_principal_condition_plus_request_condition_partial():
    """When the principal-derived entries hold but other entries remain, the Allow is conditional.

    RestoreWatch spec (principal-derived keys); https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
    """
    document = doc(
        allow(
            "ec2:*",
            condition={
                "StringEquals": {"aws:PrincipalTag/project": "restore", "aws:RequestedRegion": "eu-west-1"}
            },
        )
    )
    result = requirement_status(role_with(document, tags={"project": "restore"}), "ec2:RunInstances")
    assert result.status is PARTIAL
    assert result.reasons[0].condition_keys == ("aws:RequestedRegion",)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"StringEquals": {"aws:username": "alice"}}, ALLOWED),
        ({"StringEquals": {"aws:username": "bob"}}, DENIED),
        ({"StringEquals": {"aws:userid": "AIDAALICEEXAMPLE"}}, ALLOWED),
        ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/a*"}}, ALLOWED),
        ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}, DENIED),
        ({"StringEquals": {"aws:PrincipalAccount": "111122223333"}}, ALLOWED),
        ({"StringEquals": {"aws:PrincipalAccount": "444455556666"}}, DENIED),
        ({"StringEquals": {"aws:PrincipalType": "User"}}, ALLOWED),
        ({"StringNotEquals": {"aws:PrincipalTag/team": "dev"}}, ALLOWED),
        ({"Null": {"aws:PrincipalTag/team": "false"}}, ALLOWED),
        ({"Null": {"aws:PrincipalTag/missing": "false"}}, DENIED),
        ({"StringEquals": {"aws:PrincipalTag/team": "${aws:username}-ops"}}, DENIED),
        ({"StringEqualsIfExists": {"aws:PrincipalTag/missing": "x"}}, ALLOWED),
        ({"StringEquals": {"aws:PrincipalTag/TEAM": "ops"}}, ALLOWED),
    ],
)
def test_requirement_principal_derived_allow_evaluated(condition, expected):
    """Principal-derived keys (aws:username, aws:userid, aws:PrincipalArn, aws:PrincipalAccount,
    aws:PrincipalType, aws:PrincipalTag/*) are evaluated with the principal's own values.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principal-properties
    """
    alice = user_with(doc(allow("ec2:RunInstances", condition=condition)), tags={"team": "ops"})
    assert status(alice) is expected


def test_requirement_principal_derived_deny_true_denied():
    """A Deny whose only condition is principal-derived and true is unconditional: denied.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    """
    alice = user_with(
        doc(allow("*"), deny("iam:*", condition={"StringNotEquals": {"aws:PrincipalTag/admin": "yes"}}))
    )
    assert status(alice, "iam:CreateRole") is DENIED


def test_requirement_principal_derived_deny_false_ignored_allowed():
    """A Deny whose principal-derived condition is false never applies: ignored.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    """
    alice = user_with(
        doc(allow("*"), deny("iam:*", condition={"StringNotEquals": {"aws:PrincipalTag/admin": "yes"}})),
        tags={"admin": "yes"},
    )
    assert status(alice, "iam:CreateRole") is ALLOWED


def test_requirement_principal_key_with_request_variable_conditional():
    """An entry on a principal key whose value refers to a request key is not decided by the
    principal: conditional.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
    """
    document = doc(
        allow("ec2:*", condition={"StringEquals": {"aws:PrincipalTag/team": "${aws:RequestTag/team}"}})
    )
    assert status(user_with(document, tags={"team": "ops"})) is PARTIAL


# ---- boundary and SCP layers ----


def test_requirement_boundary_missing_allow_denied_names_boundary():
    """A boundary without a covering Allow: denied, naming the boundary.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
    """
    result = requirement_status(user_with(doc(allow("*")), boundary=doc(allow("s3:*"))), "iam:CreateRole")
    assert result.status is DENIED
    [reason] = result.reasons
    assert reason.layer is LayerKind.BOUNDARY
    assert "permissions boundary Boundary" in reason.message


def test_requirement_boundary_limited_allow_partial():
    """A boundary that allows only some resources: partial.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
    """
    result = requirement_status(
        role_with(doc(allow("*")), boundary=doc(allow("s3:*", "arn:aws:s3:::backups*"))), "s3:PutObject"
    )
    assert result.status is PARTIAL
    assert result.reasons[0].layer is LayerKind.BOUNDARY
    assert result.reasons[0].code == "limited_allow"


def test_requirement_boundary_default_version_only():
    """Edge note: only default policy versions count, also for boundaries.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html
    """
    boundary = managed_policy("B", doc(allow("s3:*")), other_versions=[doc(allow("*"))])
    identity = managed_policy("I", doc(allow("*")), other_versions=[doc(deny("*"))])
    snap = snapshot(users=[user(managed=[identity], boundary=boundary)], policies=[boundary, identity])
    alice = snap.principal(user_arn())
    assert status(alice, "s3:GetObject") is ALLOWED
    assert status(alice, "ec2:RunInstances") is DENIED


def test_requirement_scp_level_without_allow_denied_names_level():
    """An SCP level with no covering Allow: denied, naming the level.

    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
    """
    levels = scp_levels([ALLOW_ALL_SCP], [doc(allow(["ec2:*", "s3:*"]))])
    result = requirement_status(user_with(doc(allow("*"))), "iam:CreateRole", levels)
    assert result.status is DENIED
    [reason] = result.reasons
    assert reason.layer is LayerKind.SCP
    assert reason.scp_level == 1


def test_requirement_scp_deny_unconditional_denied():
    """An unconditional SCP Deny at any level: denied.

    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
    """
    levels = scp_levels([ALLOW_ALL_SCP, doc(deny("iam:CreateRole", sid="NoCreate"))], [ALLOW_ALL_SCP])
    result = requirement_status(user_with(doc(allow("*"))), "iam:CreateRole", levels)
    assert result.status is DENIED
    assert result.reasons[0].scp_level == 0
    assert "statement 'NoCreate'" in result.reasons[0].message


def test_requirement_scp_conditional_deny_partial():
    """A conditional SCP Deny (e.g. region guard): partial.

    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_examples_general.html
    """
    guard = doc(deny("*", condition={"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}}))
    levels = scp_levels([ALLOW_ALL_SCP, guard])
    result = requirement_status(user_with(doc(allow("*"))), "ec2:RunInstances", levels)
    assert result.status is PARTIAL
    assert result.reasons[0].layer is LayerKind.SCP
    assert result.reasons[0].condition_keys == ("aws:RequestedRegion",)


def test_requirement_scp_every_level_full_allow_allowed():
    """Every layer has an unconditional Allow on ``*`` and no Deny: allowed.

    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
    """
    levels = scp_levels([ALLOW_ALL_SCP], [doc(allow("ec2:*"))], [ALLOW_ALL_SCP])
    alice = user_with(doc(allow("*")), boundary=doc(allow("ec2:*")))
    assert status(alice, "ec2:RunInstances", levels) is ALLOWED


def test_requirement_scp_none_vs_empty_list():
    """``scps`` null means not governed; an empty list of levels also adds no layer.

    RestoreWatch spec (scps); https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
    """
    alice = user_with(doc(allow("*")))
    assert status(alice, scps=None) is ALLOWED
    assert status(alice, scps=scp_levels()) is ALLOWED


def test_requirement_check_actions_preserves_order():
    """``check_actions`` answers each action in order.

    RestoreWatch spec (requirement status)
    """
    results = check_actions(user_with(doc(allow("ec2:*"))), ["s3:GetObject", "ec2:RunInstances"])
    assert [(r.action, r.status) for r in results] == [
        ("s3:GetObject", DENIED),
        ("ec2:RunInstances", ALLOWED),
    ]


def test_requirement_role_userid_condition_stays_conditional():
    """A role's ``aws:userid`` is ``role-id:session-name``; the session is chosen per request, so a
    condition on it is not decided by the role alone: partial.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#principaltable
    ("Role assigned to an Amazon EC2 instance ... aws:userid: role-id:ec2-instance-id")
    """
    document = doc(allow("ec2:*", condition={"StringLike": {"aws:userid": "AROARESTOREEXAMPLE:*"}}))
    result = requirement_status(role_with(document), "ec2:RunInstances")
    assert result.status is PARTIAL
    assert result.reasons[0].condition_keys == ("aws:userid",)


def test_requirement_role_username_condition_never_applies():
    """Roles have no ``aws:username``: an Allow requiring it never applies to a role.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-username
    ("This key is not included in the request context for ... IAM roles")
    """
    document = doc(allow("ec2:*", condition={"StringEquals": {"aws:username": "restore"}}))
    assert status(role_with(document)) is DENIED
