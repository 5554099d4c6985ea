"""SCP levels: parsing and their place in evaluation.

https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
"""

from __future__ import annotations

import pytest

from restorewatch.engine import (
    LayerKind,
    RequestDecision,
    RequirementStatus,
    decide_request,
    parse_scps,
    requirement_status,
)
from restorewatch.errors import MalformedPolicyError, SnapshotError

from .conftest import ALLOW_ALL_SCP, allow, deny, doc, scp_levels, user_with


def test_scps_null_not_governed():
    """``null`` means the account is not governed by SCPs.

    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html
    """
    assert parse_scps(None) is None


def test_scps_levels_kept_in_order():
    """Levels go from the root to the account; each is a list of SCP documents.

    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
    """
    levels = parse_scps([[ALLOW_ALL_SCP], [doc(allow("ec2:*")), doc(deny("iam:*"))]])
    assert levels is not None
    assert [len(level) for level in levels] == [1, 2]
    assert levels[1][1].source.scp_level == 1
    assert levels[1][1].source.layer is LayerKind.SCP
    assert levels[0][0].source.name == "FullAWSAccess"


def test_scps_not_a_list_raises():
    """SCPs must be a list of levels, each a list.

    RestoreWatch spec (scps)
    """
    with pytest.raises(SnapshotError):
        parse_scps({"Statement": []})
    with pytest.raises(SnapshotError):
        parse_scps([doc(allow("*"))])


def test_scps_malformed_document_raises_naming_level():
    """A malformed SCP is reported naming the SCP and its level.

    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_syntax.html
    """
    with pytest.raises(MalformedPolicyError) as info:
        parse_scps([[ALLOW_ALL_SCP], [doc({"Effect": "Maybe", "Action": "*"})]])
    assert "level 1" in str(info.value)


def test_scps_allow_with_layers_requires_identity_allow():
    """SCPs never grant; the identity policies must allow too.

    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html
    """
    levels = scp_levels([ALLOW_ALL_SCP])
    assert decide_request(user_with(doc(allow("s3:*"))), "ec2:RunInstances", scps=levels).decision is (
        RequestDecision.IMPLICIT_DENY
    )
    assert requirement_status(user_with(doc(allow("s3:*"))), "ec2:RunInstances", levels).status is (
        RequirementStatus.DENIED
    )


def test_scps_allow_at_root_only_not_enough():
    """An Allow at the root does not pass a lower OU with no matching Allow (no flattening).

    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
    ("there must be an explicit Allow statement at every level")
    """
    levels = scp_levels([ALLOW_ALL_SCP], [doc(allow("s3:*"))], [ALLOW_ALL_SCP])
    assert decide_request(user_with(doc(allow("*"))), "ec2:RunInstances", scps=levels).decision is (
        RequestDecision.IMPLICIT_DENY
    )
    # flattened, the levels would allow it:
    flat = scp_levels([ALLOW_ALL_SCP, doc(allow("s3:*")), ALLOW_ALL_SCP])
    assert decide_request(user_with(doc(allow("*"))), "ec2:RunInstances", scps=flat).decision is (
        RequestDecision.ALLOWED
    )


def test_scps_deny_at_account_level_explicit():
    """A Deny attached directly to the account is an explicit deny.

    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
    """
    levels = scp_levels([ALLOW_ALL_SCP], [ALLOW_ALL_SCP, doc(deny("iam:*"))])
    result = decide_request(user_with(doc(allow("*"))), "iam:CreateRole", scps=levels)
    assert result.decision is RequestDecision.EXPLICIT_DENY
    assert result.reasons[0].scp_level == 1


def test_scps_named_entry_content_string_accepted():
    """Organizations returns SCP ``Content`` as a JSON string; a named entry keeps its name in reasons.

    https://docs.aws.amazon.com/organizations/latest/APIReference/API_DescribePolicy.html
    """
    import json

    entry = {"Name": "DenyIam", "Id": "p-123", "Content": json.dumps(doc(deny("iam:*", sid="NoIam")))}
    levels = scp_levels([ALLOW_ALL_SCP, entry])
    result = decide_request(user_with(doc(allow("*"))), "iam:GetRole", scps=levels)
    assert result.decision is RequestDecision.EXPLICIT_DENY
    assert "p-123" in result.explanation
    assert "statement 'NoIam'" in result.explanation


def test_scps_statement_without_resource_means_all():
    """SCP statements may omit ``Resource``; it then means all resources.

    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_syntax.html
    """
    levels = scp_levels([doc({"Effect": "Allow", "Action": "*"})])
    assert requirement_status(user_with(doc(allow("*"))), "ec2:RunInstances", levels).status is (
        RequirementStatus.ALLOWED
    )
