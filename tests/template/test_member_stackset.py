"""templates/member-stackset.yaml: what each member account gets, validated with cfn-lint.

https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-manage-auto-deployment.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalorgid
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html
"""

from __future__ import annotations

from typing import Any

import pytest

from support.template import REPO_ROOT, TEMPLATE_PATH, load_template

MEMBER = REPO_ROOT / "templates" / "member-stackset.yaml"


@pytest.fixture(scope="module")
def member() -> dict[str, Any]:
    return load_template(MEMBER)


@pytest.mark.slow  # cfn-lint loads its whole rule set and spec (seconds)
def test_member_stackset_passes_cfn_lint() -> None:
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(MEMBER, config=ManualArgs(regions=["us-east-1"]))
    assert [str(match) for match in matches] == []


@pytest.mark.slow  # cfn-lint, as above
def test_cfn_lint_catches_a_broken_member_template(tmp_path: Any) -> None:
    """The lint is real: an unknown property in the role fails it."""
    from cfnlint.api import ManualArgs, lint_file

    broken = tmp_path / "broken.yaml"
    broken.write_text(MEMBER.read_text().replace("MaxSessionDuration: 3600", "MaxSessionSeconds: 3600"))
    assert lint_file(broken, config=ManualArgs(regions=["us-east-1"]))


def test_member_reader_role_trusts_only_the_central_watcher_inside_the_org(member: dict[str, Any]) -> None:
    role = member["Resources"]["MemberReaderRole"]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": {"Ref": "CentralWatcherRoleArn"}}
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}}
    actions = role["Policies"][0]["PolicyDocument"]["Statement"][0]["Action"]
    assert all(action.startswith(("iam:Get", "iam:List")) for action in actions)


def test_member_forwards_the_same_iam_events_as_the_central_rule(member: dict[str, Any]) -> None:
    central = load_template(TEMPLATE_PATH)["Resources"]["IamChangeRule"]["Properties"]["EventPattern"]
    forwarded = member["Resources"]["ForwardIamChanges"]["Properties"]
    assert forwarded["EventPattern"] == central
    (target,) = forwarded["Targets"]
    assert "event-bus/default" in target["Arn"]["Fn::Sub"]


def test_member_role_name_matches_the_central_default(member: dict[str, Any]) -> None:
    central = load_template(TEMPLATE_PATH)["Parameters"]["MemberRoleName"]["Default"]
    assert member["Parameters"]["MemberRoleName"]["Default"] == central
    assert member["Resources"]["MemberReaderRole"]["Properties"]["RoleName"] == {"Ref": "MemberRoleName"}
