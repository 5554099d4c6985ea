"""`restorewatch what-if` against a live account and stack (moto, in process): the account read with
GetAccountAuthorizationDetails, the stack with DescribeStackResources, GetTemplate and DescribeStacks,
a change set with DescribeChangeSet."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from restorewatch_cli import main

pytestmark = pytest.mark.slow  # CloudFormation stacks on moto

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "whatif"
RESTORE_ACTIONS = [
    "backup:StartRestoreJob",
    "backup:DescribeRestoreJob",
    "iam:PassRole",
    "ec2:CreateVolume",
    "s3:GetObject",
]
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "backup.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def _template(policy_arns: list[str]) -> dict[str, Any]:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Restore": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": "stack-restore",
                    "AssumeRolePolicyDocument": TRUST,
                    "ManagedPolicyArns": policy_arns,
                    "Tags": [{"Key": "restorewatch:profile", "Value": "backup-restore"}],
                },
            }
        },
    }


@pytest.fixture
def stack() -> Any:
    """A stack whose role gets every restore action from a managed policy made outside it.

    moto gap: moto 5's CloudFormation creates the role but does not attach its ManagedPolicyArns;
    the fixture attaches the policy itself, as CloudFormation does."""
    with mock_aws():
        iam = boto3.client("iam")
        document = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": RESTORE_ACTIONS, "Resource": "*"}],
        }
        policy_arn = iam.create_policy(PolicyName="RestoreAccess", PolicyDocument=json.dumps(document))[
            "Policy"
        ]["Arn"]
        cfn = boto3.client("cloudformation")
        cfn.create_stack(StackName="restore", TemplateBody=json.dumps(_template([policy_arn])))
        if not iam.list_attached_role_policies(RoleName="stack-restore")["AttachedPolicies"]:
            iam.attach_role_policy(RoleName="stack-restore", PolicyArn=policy_arn)
        role = iam.get_role(RoleName="stack-restore")["Role"]
        assert {t["Key"] for t in role.get("Tags", [])} == {"restorewatch:profile"}
        yield cfn, policy_arn


def _what_if(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code = main(["what-if", "--profile-path", str(FIXTURES / "profiles"), "--format", "json", *args])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out else {}, err


def test_a_template_updating_a_live_stack(
    stack: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The template is compared with the deployed one: the managed policy it no longer lists is
    detached from the role, which loses every restore action."""
    _, policy_arn = stack
    new = tmp_path / "template.json"
    new.write_text(json.dumps(_template([])))
    code, result, err = _what_if(capsys, "--template", str(new), "--stack-name", "restore")
    assert (code, err) == (1, "")
    (row,) = result["principals"]
    assert row["arn"].endswith(":role/stack-restore")
    assert (row["before"], row["after"], row["lost"]) == ("compliant", "non_compliant", RESTORE_ACTIONS)
    # the same template as deployed changes nothing
    same = tmp_path / "same.json"
    same.write_text(json.dumps(_template([policy_arn])))
    code, result, _ = _what_if(capsys, "--template", str(same), "--stack-name", "restore")
    assert code == 0
    assert [(r["before"], r["after"]) for r in result["principals"]] == [("compliant", "compliant")]


def test_a_new_sam_stack_with_an_aws_managed_policy_nobody_used(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stack that does not exist yet is a new stack; the AWS managed policy SAM attaches to the
    function's role is read live (GetPolicy, GetPolicyVersion) when the account does not use it yet.
    moto gap: AWS managed policies exist only with MOTO_IAM_LOAD_MANAGED_POLICIES=true."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    with mock_aws():  # an account with no user or role yet: its id comes from STS
        code, result, err = _what_if(
            capsys, "--template", str(FIXTURES / "template-sam.yaml"), "--stack-name", "new-app"
        )
    assert err == ""
    assert code == 1
    (row,) = result["principals"]
    assert row["arn"] == "arn:aws:iam::123456789012:role/<RestoreFunctionRole.Ref>"
    assert row["before"] is None
    assert row["degraded"] == ["s3:GetObject"]
    assert code == 1


def test_a_change_set_read_live(
    stack: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto gap: moto 5's DescribeChangeSet ignores IncludePropertyValues, so its changes carry no
    BeforeContext/AfterContext (nor PhysicalResourceId). moto makes the change set; botocore's Stubber
    adds what CloudFormation documents for the missing part
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html), and
    checks that what-if asks for property values."""
    cfn, policy_arn = stack
    cfn.create_change_set(
        StackName="restore",
        ChangeSetName="detach",
        TemplateBody=json.dumps(_template([])),
        ChangeSetType="UPDATE",
    )
    described = cfn.describe_change_set(StackName="restore", ChangeSetName="detach")
    (change,) = described["Changes"]
    assert "AfterContext" not in change["ResourceChange"]  # the gap this test works around
    before = _template([policy_arn])["Resources"]["Restore"]["Properties"]
    after = _template([])["Resources"]["Restore"]["Properties"]
    change["ResourceChange"].update(
        {
            "PhysicalResourceId": "stack-restore",
            "Replacement": "False",
            "BeforeContext": json.dumps({"Properties": before}),
            "AfterContext": json.dumps({"Properties": after}),
        }
    )
    response = {k: v for k, v in described.items() if k != "ResponseMetadata"}
    client = boto3.client("cloudformation")
    stubber = Stubber(client)
    stubber.add_response(
        "describe_change_set",
        response,
        {"ChangeSetName": "detach", "StackName": "restore", "IncludePropertyValues": True},
    )
    stubber.activate()
    import restorewatch.inventory

    real_make_client = restorewatch.inventory.make_client
    monkeypatch.setattr(
        restorewatch.inventory,
        "make_client",
        lambda service, **kw: client if service == "cloudformation" else real_make_client(service, **kw),
    )
    code, result, _ = _what_if(capsys, "--change-set", "detach", "--stack-name", "restore")
    stubber.assert_no_pending_responses()
    assert code == 1
    (row,) = result["principals"]
    assert (row["after"], row["lost"]) == ("non_compliant", RESTORE_ACTIONS)
