"""Request decisions across the identity, group, permissions-boundary and SCP layers, with explanations.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
"""

from __future__ import annotations

from restorewatch.engine import LayerKind, RequestDecision, decide_request

from .conftest import (
    ALLOW_ALL_SCP,
    allow,
    aws_managed,
    deny,
    doc,
    group,
    inline,
    managed_policy,
    role,
    role_arn,
    role_with,
    scp_levels,
    snapshot,
    stmt,
    user,
    user_arn,
    user_with,
)

INSTANCE = "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc"


# ---- identity layer ----


def test_evaluate_request_no_policy_implicit_deny():
    """By default every request is implicitly denied.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    ("By default, all requests are implicitly denied")
    """
    result = decide_request(user_with(), "ec2:RunInstances", INSTANCE)
    assert result.decision is RequestDecision.IMPLICIT_DENY
    assert result.reasons[0].code == "no_allow"
    assert result.reasons[0].layer is LayerKind.IDENTITY
    assert "identity policies" in result.explanation


def test_evaluate_request_matching_allow_allowed_names_statement():
    """An identity-based Allow that matches the request allows it; the reason names the statement.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    ("An explicit allow in an identity-based ... policy overrides this default")
    """
    result = decide_request(
        user_with(doc(allow("ec2:RunInstances", sid="Run"))), "ec2:RunInstances", INSTANCE
    )
    assert result.decision is RequestDecision.ALLOWED
    reason = result.reasons[0]
    assert reason.code == "allow"
    assert reason.layer is LayerKind.IDENTITY
    assert reason.statement is not None
    assert reason.statement.statement == "statement 'Run'"
    assert "inline policy p0" in reason.message
    assert "user alice" in reason.message


def test_evaluate_request_explicit_deny_overrides_allow():
    """An explicit Deny in any policy overrides any Allow.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    ("An explicit deny in any policy overrides any allows")
    """
    alice = user_with(doc(allow("ec2:*")), doc(deny("ec2:RunInstances")))
    result = decide_request(alice, "ec2:RunInstances", INSTANCE)
    assert result.decision is RequestDecision.EXPLICIT_DENY
    reason = result.reasons[0]
    assert reason.code == "explicit_deny"
    assert reason.layer is LayerKind.IDENTITY
    assert "statement #0" in reason.message
    assert "inline policy p1" in reason.message
    assert reason.as_dict()["policy"] == "p1"


def test_evaluate_request_deny_resource_not_matching_allowed():
    """A Deny only applies to the resources it names.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    """
    alice = user_with(doc(allow("s3:*"), deny("s3:DeleteObject", "arn:aws:s3:::vault/*")))
    assert (
        decide_request(alice, "s3:DeleteObject", "arn:aws:s3:::scratch/k").decision is RequestDecision.ALLOWED
    )
    assert (
        decide_request(alice, "s3:DeleteObject", "arn:aws:s3:::vault/k").decision
        is RequestDecision.EXPLICIT_DENY
    )


def test_evaluate_request_deny_condition_false_not_applied():
    """A Deny whose condition is false does not apply.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    """
    alice = user_with(
        doc(allow("ec2:*"), deny("ec2:*", condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}}))
    )
    assert decide_request(alice, "ec2:RunInstances", INSTANCE, {}).decision is RequestDecision.ALLOWED
    denied = decide_request(alice, "ec2:RunInstances", INSTANCE, {"aws:MultiFactorAuthPresent": False})
    assert denied.decision is RequestDecision.EXPLICIT_DENY


def test_evaluate_request_notaction_deny_denies_unlisted():
    """A Deny with ``NotAction`` denies every action not listed.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
    ("NotAction with Deny ... deny access to all of the listed resources except for the actions
    specified in the NotAction element")
    """
    alice = user_with(doc(allow("*"), stmt("Deny", not_action=["iam:Get*", "iam:List*"], resource="*")))
    assert decide_request(alice, "iam:CreateRole").decision is RequestDecision.EXPLICIT_DENY
    assert decide_request(alice, "iam:GetRole").decision is RequestDecision.ALLOWED


def test_evaluate_request_notresource_allow_excludes_listed():
    """An Allow with ``NotResource`` allows every resource except the listed ones.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html
    """
    alice = user_with(doc(stmt("Allow", "s3:*", not_resource=["arn:aws:s3:::vault", "arn:aws:s3:::vault/*"])))
    assert decide_request(alice, "s3:GetObject", "arn:aws:s3:::open/k").decision is RequestDecision.ALLOWED
    assert (
        decide_request(alice, "s3:GetObject", "arn:aws:s3:::vault/k").decision
        is RequestDecision.IMPLICIT_DENY
    )


def test_evaluate_request_notresource_deny_denies_unlisted():
    """A Deny with ``NotResource`` denies every resource except the listed ones.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html
    """
    alice = user_with(doc(allow("s3:*"), stmt("Deny", "s3:*", not_resource="arn:aws:s3:::allowed/*")))
    assert decide_request(alice, "s3:GetObject", "arn:aws:s3:::allowed/k").decision is RequestDecision.ALLOWED
    assert (
        decide_request(alice, "s3:GetObject", "arn:aws:s3:::other/k").decision
        is RequestDecision.EXPLICIT_DENY
    )


def test_evaluate_request_several_denies_all_reported():
    """Every matching Deny is reported in the explanation.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    """
    alice = user_with(doc(allow("*"), deny("ec2:*", sid="A")), doc(deny("ec2:Run*", sid="B")))
    result = decide_request(alice, "ec2:RunInstances", INSTANCE)
    assert result.decision is RequestDecision.EXPLICIT_DENY
    assert {r.statement.statement for r in result.reasons if r.statement} == {
        "statement 'A'",
        "statement 'B'",
    }


# ---- snapshot-built identity policies ----


def test_evaluate_request_group_inline_policy_applies_names_group():
    """A user's identity policies include the inline policies of its groups.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_groups.html
    ("Any user in a user group automatically has the permissions that are assigned to the user group")
    """
    snap = snapshot(
        users=[user(groups=["restorers"])],
        groups=[
            group(
                "restorers",
                inline_policies=[inline("ec2-restore", doc(allow("ec2:RunInstances", sid="Run")))],
            )
        ],
    )
    result = decide_request(snap.principal(user_arn()), "ec2:RunInstances", INSTANCE)
    assert result.decision is RequestDecision.ALLOWED
    reason = result.reasons[0]
    assert reason.as_dict()["via_group"] == "restorers"
    assert "ec2-restore" in reason.message
    assert "via group restorers" in reason.message
    assert "statement 'Run'" in reason.message


def test_evaluate_request_group_managed_deny_names_arn_and_group():
    """A managed policy attached to a user's group applies; a Deny there names ARN, group and statement.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    """
    guard = managed_policy("NoIam", doc(deny("iam:*", sid="NoIam")))
    snap = snapshot(
        users=[user(groups=["guarded"], inline_policies=[inline("all", doc(allow("*")))])],
        groups=[group("guarded", managed=[guard])],
        policies=[guard],
    )
    result = decide_request(snap.principal(user_arn()), "iam:CreateRole")
    assert result.decision is RequestDecision.EXPLICIT_DENY
    data = result.reasons[0].as_dict()
    assert data["policy"] == "arn:aws:iam::111122223333:policy/NoIam"
    assert data["via_group"] == "guarded"
    assert data["statement"] == "statement 'NoIam'"
    assert data["layer"] == "identity"
    assert "arn:aws:iam::111122223333:policy/NoIam" in result.explanation


def test_evaluate_request_user_attached_managed_applies():
    """A managed policy attached to the user applies; the explanation gives its ARN.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-vs-inline.html
    """
    policy = managed_policy("Ec2Restore", doc(allow("ec2:RunInstances")))
    snap = snapshot(users=[user(managed=[policy])], policies=[policy])
    result = decide_request(snap.principal(user_arn()), "ec2:RunInstances", INSTANCE)
    assert result.decision is RequestDecision.ALLOWED
    assert "arn:aws:iam::111122223333:policy/Ec2Restore" in result.explanation
    assert "statement #0" in result.explanation


def test_evaluate_request_role_inline_and_managed_apply():
    """A role's identity policies are its inline and attached managed policies.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    """
    policy = managed_policy("S3Read", doc(allow("s3:GetObject")))
    snap = snapshot(
        roles=[role(inline_policies=[inline("ec2", doc(allow("ec2:RunInstances")))], managed=[policy])],
        policies=[policy],
    )
    restore = snap.principal(role_arn())
    assert decide_request(restore, "ec2:RunInstances").decision is RequestDecision.ALLOWED
    assert decide_request(restore, "s3:GetObject").decision is RequestDecision.ALLOWED
    result = decide_request(restore, "ec2:RunInstances")
    assert "role restore" in result.explanation


def test_evaluate_request_trust_policy_not_identity_policy():
    """``AssumeRolePolicyDocument`` is a trust (resource-based) policy, not an identity policy.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_resource-based
    ("Role trust policies are resource-based policies")
    """
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*"}],
    }
    snap = snapshot(roles=[role(trust=trust)])
    assert (
        decide_request(snap.principal(role_arn()), "sts:AssumeRole").decision is RequestDecision.IMPLICIT_DENY
    )


def test_evaluate_request_unattached_policy_no_effect():
    """Policies present in ``Policies`` but not attached have no effect.

    https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
    """
    loose = managed_policy("Everything", doc(allow("*")))
    snap = snapshot(users=[user()], policies=[loose])
    assert (
        decide_request(snap.principal(user_arn()), "ec2:RunInstances").decision
        is RequestDecision.IMPLICIT_DENY
    )


def test_evaluate_request_other_group_policies_no_effect():
    """Only the groups named in the user's ``GroupList`` contribute.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_groups.html
    """
    snap = snapshot(
        users=[user(groups=["a"])],
        groups=[group("a"), group("b", inline_policies=[inline("all", doc(allow("*")))])],
    )
    assert (
        decide_request(snap.principal(user_arn()), "ec2:RunInstances").decision
        is RequestDecision.IMPLICIT_DENY
    )


def test_evaluate_request_non_default_version_ignored():
    """Only the default version of a managed policy is in effect.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html
    ("the default version is the operative version — that is, it's the version that is in effect for
    all of the principal entities ... that the managed policy is attached to")
    """
    policy = managed_policy("Versioned", doc(allow("s3:GetObject")), other_versions=[doc(allow("*"))])
    snap = snapshot(users=[user(managed=[policy])], policies=[policy])
    alice = snap.principal(user_arn())
    assert decide_request(alice, "s3:GetObject").decision is RequestDecision.ALLOWED
    assert decide_request(alice, "ec2:RunInstances").decision is RequestDecision.IMPLICIT_DENY


def test_evaluate_request_non_default_deny_version_ignored():
    """A Deny in a non-default version has no effect.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html
    """
    policy = managed_policy("Versioned", doc(allow("*")), other_versions=[doc(deny("*"))])
    snap = snapshot(users=[user(managed=[policy])], policies=[policy])
    assert decide_request(snap.principal(user_arn()), "ec2:RunInstances").decision is RequestDecision.ALLOWED


def test_evaluate_request_role_principal_keys():
    """For a role, ``aws:PrincipalType`` is AssumedRole, ``aws:PrincipalArn`` the role ARN, and
    ``aws:username`` is absent.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principaltype
    """
    restore = role_with(
        doc(
            allow(
                "s3:ListAllMyBuckets",
                condition={
                    "StringEquals": {"aws:PrincipalType": "AssumedRole"},
                    "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/restore"},
                    "Null": {"aws:username": "true"},
                },
            )
        )
    )
    assert decide_request(restore, "s3:ListAllMyBuckets").decision is RequestDecision.ALLOWED


def test_evaluate_request_power_user_access_iam_denied():
    """PowerUserAccess allows everything except iam:/organizations:/account: (bar a few): the restore
    user loses iam:CreateRole, and the explanation points at the identity layer.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
    https://docs.aws.amazon.com/aws-managed-policy/latest/reference/PowerUserAccess.html
    """
    power = aws_managed("PowerUserAccess")
    snap = snapshot(users=[user(managed=[power])], policies=[power])
    alice = snap.principal(user_arn())
    assert decide_request(alice, "ec2:RunInstances", INSTANCE).decision is RequestDecision.ALLOWED
    assert decide_request(alice, "iam:ListRoles").decision is RequestDecision.ALLOWED
    result = decide_request(alice, "iam:CreateRole", "arn:aws:iam::111122223333:role/vmimport")
    assert result.decision is RequestDecision.IMPLICIT_DENY
    assert result.reasons[0].layer is LayerKind.IDENTITY


# ---- permissions boundaries ----


def test_evaluate_request_boundary_without_allow_implicit_deny():
    """An action allowed by identity policies but not by the boundary is implicitly denied.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
    ("An entity's permissions boundary allows it to perform only the actions that are allowed by both
    its identity-based policies and its permissions boundaries")
    """
    alice = user_with(doc(allow("*")), boundary=doc(allow("ec2:*")))
    assert decide_request(alice, "ec2:RunInstances").decision is RequestDecision.ALLOWED
    result = decide_request(alice, "iam:CreateRole")
    assert result.decision is RequestDecision.IMPLICIT_DENY
    assert [r.layer for r in result.reasons] == [LayerKind.BOUNDARY]
    assert "permissions boundary Boundary" in result.explanation


def test_evaluate_request_boundary_does_not_grant():
    """A boundary alone grants nothing.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
    ("Permissions boundaries don't grant permissions on their own")
    """
    alice = user_with(boundary=doc(allow("*")))
    result = decide_request(alice, "ec2:RunInstances")
    assert result.decision is RequestDecision.IMPLICIT_DENY
    assert [r.layer for r in result.reasons] == [LayerKind.IDENTITY]


def test_evaluate_request_boundary_deny_explicit_names_boundary():
    """An explicit Deny in the boundary is an explicit deny; the reason names the boundary policy.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
    """
    restore = role_with(doc(allow("*")), boundary=doc(allow("*"), deny("iam:*", sid="NoIam")))
    result = decide_request(restore, "iam:PutRolePolicy")
    assert result.decision is RequestDecision.EXPLICIT_DENY
    reason = result.reasons[0]
    assert reason.layer is LayerKind.BOUNDARY
    assert "permissions boundary managed policy Boundary" in reason.message
    assert "arn:aws:iam::111122223333:policy/Boundary" in reason.message
    assert "statement 'NoIam'" in reason.message


def test_evaluate_request_role_boundary_applies():
    """Roles honour their permissions boundary as users do.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
    """
    restore = role_with(doc(allow("*")), boundary=doc(allow("s3:*")))
    assert decide_request(restore, "ec2:RunInstances").decision is RequestDecision.IMPLICIT_DENY


def test_evaluate_request_boundary_uses_default_version_only():
    """The boundary's default version is the one in effect.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html
    """
    boundary = managed_policy("Bound", doc(allow("s3:*")), other_versions=[doc(allow("*"))])
    snap = snapshot(
        users=[user(inline_policies=[inline("all", doc(allow("*")))], boundary=boundary)], policies=[boundary]
    )
    alice = snap.principal(user_arn())
    assert decide_request(alice, "s3:GetObject").decision is RequestDecision.ALLOWED
    assert decide_request(alice, "ec2:RunInstances").decision is RequestDecision.IMPLICIT_DENY


# ---- SCP levels ----


def test_evaluate_request_scp_none_not_governed():
    """Without Organizations SCPs (``scps`` null) only identity policies and the boundary count.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    """
    assert (
        decide_request(user_with(doc(allow("*"))), "ec2:RunInstances", scps=None).decision
        is RequestDecision.ALLOWED
    )


def test_evaluate_request_scp_every_level_allows_allowed():
    """A request passes the SCPs only when every level from the root to the account allows it.

    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
    ("For a permission to be allowed for a specific account, there must be an explicit Allow statement
    at every level from the root through each OU in the direct path to the account")
    """
    levels = scp_levels([ALLOW_ALL_SCP], [doc(allow("ec2:*"))], [doc(allow("ec2:RunInstances"))])
    alice = user_with(doc(allow("*")))
    assert decide_request(alice, "ec2:RunInstances", scps=levels).decision is RequestDecision.ALLOWED


def test_evaluate_request_scp_level_missing_allow_implicit_deny():
    """One level without a matching Allow denies the request, even if others allow it; the reason
    names that level.

    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
    """
    levels = scp_levels([ALLOW_ALL_SCP], [doc(allow("s3:*"))], [ALLOW_ALL_SCP])
    result = decide_request(user_with(doc(allow("*"))), "ec2:RunInstances", scps=levels)
    assert result.decision is RequestDecision.IMPLICIT_DENY
    [reason] = result.reasons
    assert reason.layer is LayerKind.SCP
    assert reason.scp_level == 1
    assert "level 1" in reason.message


def test_evaluate_request_scp_docs_of_one_level_ored():
    """The SCPs attached at one level are ORed: any of them may provide the Allow.

    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
    """
    levels = scp_levels([doc(allow("s3:*")), doc(allow("ec2:*"))])
    assert (
        decide_request(user_with(doc(allow("*"))), "ec2:RunInstances", scps=levels).decision
        is RequestDecision.ALLOWED
    )


def test_evaluate_request_scp_deny_any_level_explicit_deny_names_scp():
    """A Deny in an SCP at any level is an explicit deny; the reason names the SCP, level and statement.

    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
    ("an explicit Deny statement ... at any level ... denies the action")
    """
    guard = {
        "Name": "DenyIam",
        "Arn": "arn:aws:organizations::999999999999:policy/o-x/service_control_policy/p-deny",
        "Content": doc(deny("iam:*", sid="NoIam")),
    }
    levels = scp_levels([ALLOW_ALL_SCP], [ALLOW_ALL_SCP, guard])
    result = decide_request(user_with(doc(allow("*"))), "iam:CreateRole", scps=levels)
    assert result.decision is RequestDecision.EXPLICIT_DENY
    [reason] = result.reasons
    assert reason.layer is LayerKind.SCP
    assert reason.scp_level == 1
    assert "p-deny" in reason.message
    assert "statement 'NoIam'" in reason.message


def test_evaluate_request_scp_does_not_grant():
    """SCPs never grant: identity policies must still allow.

    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html
    ("SCPs alone are not sufficient to granting permissions ... No permissions are granted by an SCP")
    """
    result = decide_request(user_with(), "ec2:RunInstances", scps=scp_levels([ALLOW_ALL_SCP]))
    assert result.decision is RequestDecision.IMPLICIT_DENY
    assert [r.layer for r in result.reasons] == [LayerKind.IDENTITY]


def test_evaluate_request_scp_empty_level_denies():
    """A level with no SCP has no Allow, so every request is denied.

    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
    """
    result = decide_request(
        user_with(doc(allow("*"))), "ec2:RunInstances", scps=scp_levels([ALLOW_ALL_SCP], [])
    )
    assert result.decision is RequestDecision.IMPLICIT_DENY


def test_evaluate_request_scp_condition_evaluated():
    """SCP conditions are evaluated against the request like identity-policy conditions.

    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_syntax.html
    """
    region_guard = doc(deny("*", condition={"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}}))
    levels = scp_levels([ALLOW_ALL_SCP, region_guard])
    alice = user_with(doc(allow("*")))
    ok = decide_request(alice, "ec2:RunInstances", scps=levels, context={"aws:RequestedRegion": "eu-west-1"})
    no = decide_request(alice, "ec2:RunInstances", scps=levels, context={"aws:RequestedRegion": "us-east-1"})
    assert ok.decision is RequestDecision.ALLOWED
    assert no.decision is RequestDecision.EXPLICIT_DENY


def test_evaluate_request_deny_beats_missing_allow():
    """When both an explicit deny and a missing allow exist, the decision is explicit deny.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    """
    alice = user_with(doc(deny("ec2:*")), boundary=doc(allow("s3:*")))
    assert decide_request(alice, "ec2:RunInstances").decision is RequestDecision.EXPLICIT_DENY


def test_evaluate_request_all_layers_allow_reasons_per_layer():
    """An allowed request names the Allow of each layer that granted it.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    """
    alice = user_with(doc(allow("*")), boundary=doc(allow("ec2:*")))
    result = decide_request(alice, "ec2:RunInstances", scps=scp_levels([ALLOW_ALL_SCP], [ALLOW_ALL_SCP]))
    assert result.decision is RequestDecision.ALLOWED
    assert [(r.layer, r.scp_level) for r in result.reasons] == [
        (LayerKind.IDENTITY, None),
        (LayerKind.BOUNDARY, None),
        (LayerKind.SCP, 0),
        (LayerKind.SCP, 1),
    ]
    assert "FullAWSAccess" not in result.reasons[0].message
    assert "p-FullAWSAccess" in result.reasons[2].message
