"""A KMS key's state decides before any policy: a key that is not Enabled cannot be used in
cryptographic operations (https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html;
DisableKey "temporarily prevents use of the KMS key for cryptographic operations",
https://docs.aws.amazon.com/kms/latest/APIReference/API_DisableKey.html)."""

from __future__ import annotations

from typing import Any

import pytest

from restorewatch.catalog import default_catalog
from restorewatch.engine import (
    AccountSnapshot,
    RequirementStatus,
    ResourcePolicy,
    parse_resource_policy,
    requirement_status,
)
from restorewatch.engine.resources import BoundResource

ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/restore-role"
KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
# KMS's default key policy: IAM policies decide for the account's principals
DEFAULT_KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ],
}


def _role() -> Any:
    allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}
    role = {
        "RoleName": "restore-role",
        "RoleId": "AROAEXAMPLE",
        "Arn": ROLE,
        "Path": "/",
        "AttachedManagedPolicies": [],
        "Tags": [],
        "RolePolicyList": [{"PolicyName": "kms", "PolicyDocument": allow}],
    }
    pages = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [role], "Policies": []}
    return AccountSnapshot.from_pages([pages]).principal(ROLE)


def _status(action: str, state: str | None, policy: bool = True) -> Any:
    known = ResourcePolicy(
        KEY,
        parse_resource_policy(DEFAULT_KEY_POLICY, KEY) if policy else None,
        unreadable=None if policy else "kms GetKeyPolicy failed: AccessDeniedException",
        key_state=state,
    )
    return requirement_status(_role(), action, None, default_catalog(), bound=BoundResource(KEY, known))


@pytest.mark.parametrize("state", ["Disabled", "PendingDeletion", "PendingImport", "Unavailable"])
@pytest.mark.parametrize("action", ["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt", "kms:ReEncryptFrom"])
def test_a_key_that_is_not_enabled_denies_cryptographic_actions(action: str, state: str) -> None:
    result = _status(action, state)
    assert result.status is RequirementStatus.DENIED
    (reason,) = result.reasons
    assert reason.code == "key_state"
    assert reason.resource == KEY
    assert f"is {state}" in reason.message


def test_enabled_key_leaves_the_answer_to_the_policies() -> None:
    assert _status("kms:Decrypt", "Enabled").status is RequirementStatus.ALLOWED
    assert _status("kms:Decrypt", None).status is RequirementStatus.ALLOWED  # state not read


def test_management_actions_are_left_to_the_policies() -> None:
    """The key-state table gives DescribeKey and the grant operations per state: not guessed here."""
    assert _status("kms:DescribeKey", "Disabled").status is RequirementStatus.ALLOWED


def test_a_disabled_key_is_denied_even_when_its_policy_is_unreadable() -> None:
    """The state is known (DescribeKey answered), the policy is not: the answer is still definite."""
    assert _status("kms:Decrypt", "Disabled", policy=False).status is RequirementStatus.DENIED
    assert _status("kms:Decrypt", "Enabled", policy=False).status is RequirementStatus.UNKNOWN


def test_a_state_not_known_to_restorewatch_is_unknown_never_allowed() -> None:
    result = _status("kms:Decrypt", "Creating")
    assert result.status is RequirementStatus.UNKNOWN
    assert result.reasons[0].code == "key_state"
