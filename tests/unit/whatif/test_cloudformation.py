"""What-if of CloudFormation templates, SAM templates and change sets (offline).

Resource semantics: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-role.html
(and -iam-user, -iam-group, -iam-policy, -iam-managedpolicy, -iam-rolepolicy, -iam-userpolicy,
-iam-grouppolicy, -iam-usertogroupaddition, aws-resource-organizations-policy); intrinsic functions:
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference.html
The account is tests/fixtures/whatif/account.json (see test_terraform.py).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from restorewatch.domain import AlertKind
from restorewatch.engine import parse_scps
from restorewatch.errors import InputError
from restorewatch_cli.whatif import WhatIfRow, apply_changes, compare
from restorewatch_cli.whatif.cloudformation import KNOWN_AFTER_APPLY, change_set_changes, template_changes
from restorewatch_cli.whatif.stack import DeployedStack
from unit.whatif.plans import FIXTURES, RESTORE_ACTIONS, account, arn, registry, scp_levels

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from restorewatch_cli.whatif import Change

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "backup.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def _rows(changes: Sequence[Change], scps: list[list[Any]] | None = None) -> dict[str, WhatIfRow]:
    snapshot = account()
    after = apply_changes(snapshot, changes, scp_levels=scps, tag_key="restorewatch:profile")
    report = compare(snapshot, parse_scps(scps), after, registry=registry(), tag_key="restorewatch:profile")
    return {row.arn.split(":", 5)[5]: row for row in report.rows}


def _template(path: Path, resources: dict[str, Any], **extra: Any) -> str:
    path.write_text(yaml.safe_dump({"Resources": resources, **extra}))
    return str(path)


def _changes(path: str, **kwargs: Any) -> list[Change]:
    options: dict[str, Any] = {"parameters": {}, "stack_name": None, "endpoint_url": None}
    options.update(kwargs)
    return template_changes(path, snapshot=account(), **options)


def test_a_new_stack_with_every_resource_type() -> None:
    template = (FIXTURES / "template-all-types.yaml").read_text()
    resources = yaml.safe_load(template.replace("!", ""))["Resources"]  # the short forms as plain text
    types = {resource["Type"] for resource in resources.values()}
    assert types == {
        "AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group", "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy", "AWS::IAM::UserPolicy",
        "AWS::IAM::GroupPolicy", "AWS::IAM::UserToGroupAddition", "AWS::Organizations::Policy",
    }  # fmt: skip
    rows = _rows(_changes(str(FIXTURES / "template-all-types.yaml")), scps=scp_levels())
    summary = {key: (r.before, r.after, r.lost, r.degraded) for key, r in rows.items()}
    assert summary == {
        # Ref of the ManagedPolicy is its ARN, the boundary a Fn::Sub of pseudo parameters, the
        # inline policy a Fn::Sub of a parameter: s3:GetObject on one bucket only
        "role/backup/cfn-restore": (None, "degraded", (), ("s3:GetObject",)),
        "user/cfn-operator": (None, "compliant", (), ()),  # through its group (Ref of the Group)
        "role/legacy-restore": ("compliant", "non_compliant", ("ec2:CreateVolume",), ()),  # AWS::IAM::Policy
        "user/restore-operator": ("compliant", "degraded", (), ("iam:PassRole",)),  # AWS::IAM::UserPolicy
    }
    # the SCP attached to the account touches everyone, but denies an action no profile needs
    snapshot = account()
    after = apply_changes(
        snapshot,
        _changes(str(FIXTURES / "template-all-types.yaml")),
        scp_levels=scp_levels(),
        tag_key="restorewatch:profile",
    )
    report = compare(
        snapshot, parse_scps(scp_levels()), after, registry=registry(), tag_key="restorewatch:profile"
    )
    assert report.unchanged == 3  # restore-role, dr-operator, retired-operator


def _deployed(
    template: dict[str, Any], physical: dict[str, str], parameters: dict[str, str] | None = None
) -> DeployedStack:
    types = {logical: spec["Type"] for logical, spec in template["Resources"].items()}
    return DeployedStack(physical=physical, types=types, template=template, parameters=parameters or {})


def test_an_update_changes_what_the_template_changed_and_nothing_else(tmp_path: Path) -> None:
    """CloudFormation detaches the managed policies and untags the tags the new template no longer
    has; what was added outside the stack stays."""
    old = {
        "Resources": {
            "Legacy": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": "legacy-restore",
                    "AssumeRolePolicyDocument": TRUST,
                    "ManagedPolicyArns": [arn("policy", "RestoreAccess")],
                    "Tags": [{"Key": "restorewatch:profile", "Value": "backup-restore"}],
                },
            }
        }
    }
    new = json.loads(json.dumps(old))
    new["Resources"]["Legacy"]["Properties"]["ManagedPolicyArns"] = [arn("policy", "ObjectRead")]
    path = _template(tmp_path / "new.yaml", new["Resources"])
    rows = _rows(_changes(path, stack_name="restore", deployed=_deployed(old, {"Legacy": "legacy-restore"})))
    legacy = rows["role/legacy-restore"]
    assert legacy.lost == RESTORE_ACTIONS[:4]  # ObjectRead still allows s3:GetObject
    untagged = json.loads(json.dumps(old))
    del untagged["Resources"]["Legacy"]["Properties"]["Tags"]
    path = _template(tmp_path / "untagged.yaml", untagged["Resources"])
    rows = _rows(_changes(path, stack_name="restore", deployed=_deployed(old, {"Legacy": "legacy-restore"})))
    assert (rows["role/legacy-restore"].after, rows["role/legacy-restore"].kind) == (
        "unwatched",
        AlertKind.UNWATCHED,
    )


def test_a_resource_left_out_of_the_template_is_deleted(tmp_path: Path) -> None:
    old = {
        "Resources": {"Retired": {"Type": "AWS::IAM::User", "Properties": {"UserName": "retired-operator"}}}
    }
    path = _template(tmp_path / "t.yaml", {"Topic": {"Type": "AWS::SNS::Topic"}})
    rows = _rows(_changes(path, stack_name="ops", deployed=_deployed(old, {"Retired": "retired-operator"})))
    assert rows["user/retired-operator"].after == "deleted"


def test_a_generated_name_is_one_unknown_value_everywhere_it_is_used(tmp_path: Path) -> None:
    """A role without RoleName gets a name only at deployment; !Ref Role in a RolePolicy is that same
    role, so its policy lands on it (and the role's row says the name is not known yet)."""
    resources = {
        "Restore": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": TRUST,
                "Tags": [{"Key": "restorewatch:profile", "Value": "backup-restore"}],
            },
        },
        "Access": {
            "Type": "AWS::IAM::RolePolicy",
            "Properties": {
                "RoleName": {"Ref": "Restore"},
                "PolicyName": "restore",
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": list(RESTORE_ACTIONS), "Resource": "*"}],
                },
            },
        },
    }
    rows = _rows(_changes(_template(tmp_path / "t.yaml", resources)))
    (new,) = rows.values()
    assert "<Restore.Ref>" in new.arn
    assert (new.before, new.after, new.blocks) == (None, "compliant", False)


def _vault_policy(statement: dict[str, Any]) -> dict[str, Any]:
    return {
        "Vault": {"Type": "AWS::S3::Bucket"},
        "Read": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": "vault",
                "Roles": ["legacy-restore"],
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]},
            },
        },
    }


def test_a_resource_the_stack_has_not_made_yet_stands_in_by_its_shape(tmp_path: Path) -> None:
    """A Deny of s3:GetObject on everything but one bucket's objects is resource-limited (partial)
    whatever the bucket's name: its ARN stands in as arn:aws:s3:::<Vault>, which, like the real
    name, is no wildcard. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html"""
    statement = {"Effect": "Deny", "Action": "s3:GetObject", "NotResource": {"Fn::Sub": "${Vault.Arn}/*"}}
    path = _template(tmp_path / "t.yaml", _vault_policy(statement))
    legacy = _rows(_changes(path))["role/legacy-restore"]
    assert (legacy.after, legacy.degraded) == ("degraded", ("s3:GetObject",))
    assert "arn:aws:s3:::<Vault>/*" in legacy.reasons[0]
    # once the stack has the bucket, its ARN is the real one, and the answer the same
    deployed = _deployed(
        {"Resources": _vault_policy(statement)}, {"Vault": "vault-bucket", "Read": "restore-Read-1"}
    )
    legacy = _rows(_changes(path, stack_name="restore", deployed=deployed))["role/legacy-restore"]
    assert (legacy.after, legacy.degraded) == ("degraded", ("s3:GetObject",))
    assert "arn:aws:s3:::vault-bucket/*" in legacy.reasons[0]


def test_a_value_with_no_known_shape_makes_the_document_unknown(tmp_path: Path) -> None:
    """An imported value, or an unknown value in a condition (a stand-in could change what the
    condition matches), leaves the whole document unknown: never a pass."""
    imported = {"Effect": "Deny", "Action": "s3:GetObject", "Resource": {"Fn::ImportValue": "vault-arn"}}
    legacy = _rows(_changes(_template(tmp_path / "a.yaml", _vault_policy(imported))))["role/legacy-restore"]
    assert legacy.after == "unknown"
    assert legacy.reasons[0] == (
        "Known only after apply: Read: inline policy vault "
        "(its policy document uses Fn::ImportValue, known after deployment)"
    )
    conditional = {
        "Effect": "Deny",
        "Action": "s3:GetObject",
        "Resource": "*",
        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": {"Fn::GetAtt": ["Vault", "Arn"]}}},
    }
    legacy = _rows(_changes(_template(tmp_path / "b.yaml", _vault_policy(conditional))))[
        "role/legacy-restore"
    ]
    assert legacy.after == "unknown"


def test_parameters_and_conditions(tmp_path: Path) -> None:
    resources = {
        "Guard": {
            "Type": "AWS::IAM::UserPolicy",
            "Condition": "Guarded",
            "Properties": {
                "UserName": {"Ref": "User"},
                "PolicyName": "guard",
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Deny", "Action": "ec2:CreateVolume", "Resource": "*"}],
                },
            },
        }
    }
    extra = {
        "Parameters": {"User": {"Type": "String"}, "Guard": {"Type": "String", "Default": "yes"}},
        "Conditions": {"Guarded": {"Fn::Equals": [{"Ref": "Guard"}, "yes"]}},
    }
    path = _template(tmp_path / "t.yaml", resources, **extra)
    with pytest.raises(InputError, match="parameter User has no default; give --parameter User=VALUE"):
        _changes(path)
    with pytest.raises(InputError, match="has no parameter Nope"):
        _changes(path, parameters={"User": "dr-operator", "Nope": "x"})
    assert _rows(_changes(path, parameters={"User": "dr-operator"}))["user/dr-operator"].lost == (
        "ec2:CreateVolume",
    )
    assert _rows(_changes(path, parameters={"User": "dr-operator", "Guard": "no"})) == {}


def test_a_template_with_a_circular_dependency_is_refused(tmp_path: Path) -> None:
    """CloudFormation refuses "Circular dependency between resources"; so does what-if."""
    resources = {
        "A": {
            "Type": "AWS::IAM::Role",
            "Properties": {"RoleName": {"Fn::Sub": "${B}-a"}, "AssumeRolePolicyDocument": TRUST},
        },
        "B": {
            "Type": "AWS::IAM::Role",
            "Properties": {"RoleName": {"Fn::GetAtt": ["C", "Arn"]}, "AssumeRolePolicyDocument": TRUST},
        },
        "C": {"Type": "AWS::IAM::Role", "DependsOn": "A", "Properties": {"AssumeRolePolicyDocument": TRUST}},
    }
    with pytest.raises(InputError, match=r"circular dependency between resources: A -> B -> C -> A"):
        _changes(_template(tmp_path / "t.yaml", resources))


def test_a_sam_template_is_transformed_and_its_function_role_counts() -> None:
    """SAM makes the function's role, with the function's tags and policies (policy templates
    expanded), as `sam validate` would."""
    rows = _rows(_changes(str(FIXTURES / "template-sam.yaml")))
    (role,) = rows.values()
    assert role.arn.endswith("role/<RestoreFunctionRole.Ref>")
    assert (role.before, role.after, role.degraded) == (None, "degraded", ("s3:GetObject",))
    assert any("backup-vault-prod" in reason for reason in role.reasons)  # S3ReadPolicy's BucketName


def test_without_the_sam_translator_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "samtranslator", None)
    monkeypatch.setitem(sys.modules, "samtranslator.parser.parser", None)
    with pytest.raises(InputError, match=r"pip install 'restorewatch\[whatif\]'"):
        _changes(str(FIXTURES / "template-sam.yaml"))


# -- change sets ---------------------------------------------------------------------------------------


def _resource_change(
    action: str, logical: str, kind: str, before: Any = None, after: Any = None, **extra: Any
) -> dict[str, Any]:
    change: dict[str, Any] = {"Action": action, "LogicalResourceId": logical, "ResourceType": kind, **extra}
    if before is not None:
        change["BeforeContext"] = json.dumps({"Properties": before})
    if after is not None:
        change["AfterContext"] = json.dumps({"Properties": after})
    return change


def test_a_change_set_with_property_values() -> None:
    """DescribeChangeSet with IncludePropertyValues gives each resource's properties before and after
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html);
    what it cannot know yet reads {{changeSet:KNOWN_AFTER_APPLY}}."""
    legacy_before = {
        "RoleName": "legacy-restore",
        "ManagedPolicyArns": [arn("policy", "RestoreAccess")],
        "Tags": [{"Key": "restorewatch:profile", "Value": "backup-restore"}],
    }
    legacy_after = {**legacy_before, "ManagedPolicyArns": []}
    changes: list[Mapping[str, Any]] = [
        _resource_change(
            "Modify",
            "Legacy",
            "AWS::IAM::Role",
            legacy_before,
            legacy_after,
            PhysicalResourceId="legacy-restore",
            Replacement="False",
        ),
        _resource_change(
            "Add",
            "Computed",
            "AWS::IAM::RolePolicy",
            after={
                "RoleName": "restore-role",
                "PolicyName": "computed",
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": KNOWN_AFTER_APPLY}
                    ],
                },
            },
        ),
        _resource_change("Add", "Topic", "AWS::SNS::Topic", after={}),
    ]
    rows = _rows(change_set_changes("cs", "restore", snapshot=account(), endpoint_url=None, changes=changes))
    assert rows["role/legacy-restore"].lost == RESTORE_ACTIONS
    restore = rows["role/backup/restore-role"]
    assert (restore.after, restore.unknown) == ("unknown", RESTORE_ACTIONS)


def test_a_change_set_without_property_values_is_refused() -> None:
    changes: list[Mapping[str, Any]] = [
        {"Action": "Add", "LogicalResourceId": "P", "ResourceType": "AWS::IAM::RolePolicy"}
    ]
    with pytest.raises(InputError, match="no AfterContext"):
        change_set_changes("cs", "restore", snapshot=account(), endpoint_url=None, changes=changes)


def test_the_deployed_stack_gives_parameter_values_the_new_template_still_declares(tmp_path: Path) -> None:
    """A parameter without a default takes the stack's current value (UsePreviousValue); a parameter
    the new template dropped is no error."""
    old = {
        "Parameters": {"User": {"Type": "String"}, "Dropped": {"Type": "String"}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    }
    resources = {
        "Guard": {
            "Type": "AWS::IAM::UserPolicy",
            "Properties": {
                "UserName": {"Ref": "User"},
                "PolicyName": "guard",
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Deny", "Action": "ec2:CreateVolume", "Resource": "*"}],
                },
            },
        }
    }
    path = _template(tmp_path / "t.yaml", resources, Parameters={"User": {"Type": "String"}})
    deployed = _deployed(
        old, {"Topic": "arn:aws:sns:us-east-1:111122223333:t"}, {"User": "dr-operator", "Dropped": "x"}
    )
    rows = _rows(_changes(path, stack_name="ops", deployed=deployed))
    assert rows["user/dr-operator"].lost == ("ec2:CreateVolume",)
