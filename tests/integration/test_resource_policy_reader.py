"""inventory.ResourcePolicyReader against moto: what each answer of S3 and KMS becomes.

* ``s3:GetBucketPolicy`` answering ``NoSuchBucketPolicy`` means the bucket has none, a valid state
  (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketPolicy.html); any other error is
  unknown, naming the call;
* ``kms:DescribeKey`` gives ``KeyManager`` (AWS managed keys: RCPs do not apply,
  https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html) and
  ``KeyState``; ``kms:GetKeyPolicy`` the ``default`` policy, the only name a key policy has
  (https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyPolicy.html);
* each resource is read once per reader (one reader per run).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from restorewatch.inventory import ResourcePolicyReader, make_client

if TYPE_CHECKING:
    from collections.abc import Iterator

ACCOUNT = "111122223333"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
    with mock_aws():
        yield


def _reader() -> ResourcePolicyReader:
    return ResourcePolicyReader(lambda service, _account, region: make_client(service, region_name=region))


def test_bucket_without_policy_has_none(aws: None) -> None:
    boto3.client("s3").create_bucket(Bucket="repo-a")
    reader = _reader()
    found = reader.policy("arn:aws:s3:::repo-a", ACCOUNT)
    assert found.policy is None
    assert found.unreadable is None
    assert found.account == ACCOUNT
    assert reader.failures == {}


def test_bucket_policy_is_parsed_and_read_once(aws: None) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="repo-b")
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "NoDeletes", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
             "Resource": "arn:aws:s3:::repo-b/*"}
        ],
    }  # fmt: skip
    s3.put_bucket_policy(Bucket="repo-b", Policy=json.dumps(document))
    reader = _reader()
    first = reader.policy("arn:aws:s3:::repo-b", ACCOUNT)
    again = reader.policy("arn:aws:s3:::repo-b", ACCOUNT)
    assert first is again
    assert reader.calls["s3.GetBucketPolicy"] == 1
    assert first.policy is not None
    assert first.policy.statements[0].sid == "NoDeletes"


def test_missing_bucket_is_unknown_naming_the_call(aws: None) -> None:
    reader = _reader()
    found = reader.policy("arn:aws:s3:::no-such-repo", ACCOUNT)
    assert found.policy is None
    assert found.unreadable is not None
    assert "s3 GetBucketPolicy on arn:aws:s3:::no-such-repo failed: NoSuchBucket" in found.unreadable
    assert not reader.failures["arn:aws:s3:::no-such-repo"].transient  # a retry cannot fix it


def test_key_policy_and_state(aws: None) -> None:
    kms = boto3.client("kms", region_name="eu-west-1")
    key: dict[str, Any] = kms.create_key(Description="repo")["KeyMetadata"]
    kms.disable_key(KeyId=key["KeyId"])
    reader = _reader()
    found = reader.policy(key["Arn"], ACCOUNT)
    assert found.key_state == "Disabled"
    assert found.aws_managed is False
    assert found.policy is not None  # KMS's default key policy
    assert reader.calls == {"kms.DescribeKey": 1, "kms.GetKeyPolicy": 1}


def test_missing_key_is_unknown(aws: None) -> None:
    arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/00000000-0000-4000-8000-000000000000"
    found = _reader().policy(arn, ACCOUNT)
    assert found.unreadable is not None
    assert "kms DescribeKey" in found.unreadable
    assert "NotFoundException" in found.unreadable


def test_a_vault_is_not_read_live(aws: None) -> None:
    """Backup vault access policies are not read (moto implements no GetBackupVaultAccessPolicy to
    test it against): unknown, saying so, and no call is made."""
    reader = _reader()
    vault = f"arn:aws:backup:us-east-1:{ACCOUNT}:backup-vault:repo"
    found = reader.policy(vault, ACCOUNT)
    assert found.unreadable is not None
    assert "does not read the vault access policy" in found.unreadable
    assert reader.total_calls == 0
