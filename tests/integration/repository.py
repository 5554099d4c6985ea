"""The seeded account's repository: a bucket and a KMS key the restore role is bound to.

``bind_role`` gives the role ``VeeamRestoreRole`` of the seeded account (``integration.conftest``)
a second profile, ``repository-restore`` (tests/fixtures/profiles-resource: S3 actions bound to the
bucket's objects, KMS actions bound to the key), its parameter tags, the bucket, the key (with
KMS's default key policy, which enables IAM policies) and an identity policy that grants the bound
actions. The ``events/`` samples ``s3-*`` and ``kms-*`` name this bucket and key; the key's id is
fixed by seeding moto's random generator before it is created (``mock_random.seed``, what moto's
own ``/moto-api/seed`` endpoint calls).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
from moto.moto_api._internal import mock_random

from integration.conftest import ACCOUNT, PROFILE, ROLE, ROLE_ARN, TAG_KEY, policy_document
from support.template import REPO_ROOT

if TYPE_CHECKING:
    from integration.conftest import Account

PROFILE_DIR = REPO_ROOT / "tests" / "fixtures" / "profiles-resource"
BOUND_PROFILE = "repository-restore"
BUCKET = f"restorewatch-repository-{ACCOUNT}"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
KEY_ID = "85750621-02fb-4d4f-b57f-bc5af71a1bfc"  # what moto gives the first key after seed(15)
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}"
KEY_SEED = 15
BOUND_ACTIONS = [
    "s3:ListAllMyBuckets",
    "s3:ListBucket",
    "s3:GetObject",
    "s3:PutObject",
    "kms:Decrypt",
    "kms:GenerateDataKey",
]
DENY_SID = "DenyWritesFromRestoreRole"


def create_repository() -> None:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    mock_random.seed(KEY_SEED)
    key = boto3.client("kms").create_key(Description="RestoreWatch test repository key")["KeyMetadata"]
    assert key["Arn"] == KEY_ARN, "moto's seeded key id changed: update KEY_ID and the kms-* samples"


def bind_role(acct: Account) -> None:
    create_repository()
    acct.iam.put_role_policy(
        RoleName=ROLE, PolicyName="RepositoryAccess", PolicyDocument=policy_document(BOUND_ACTIONS)
    )
    acct.iam.tag_role(
        RoleName=ROLE,
        Tags=[
            {"Key": TAG_KEY, "Value": f"{PROFILE} {BOUND_PROFILE}"},
            {"Key": "restorewatch:param:RepositoryBucket", "Value": BUCKET},
            {"Key": "restorewatch:param:RepositoryKey", "Value": KEY_ARN},
        ],
    )


def deny_put_document(principal: str = ROLE_ARN) -> dict[str, Any]:
    """The bucket policy of events/s3-PutBucketPolicy.json: a Deny of s3:PutObject to the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": DENY_SID,
                "Effect": "Deny",
                "Principal": {"AWS": principal},
                "Action": "s3:PutObject",
                "Resource": f"{BUCKET_ARN}/*",
            }
        ],
    }


def deny_put(_: Account | None = None) -> None:
    boto3.client("s3").put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(deny_put_document()))


def key_policy_without_the_role() -> str:
    """The key policy of events/kms-PutKeyPolicy.json: key administrators only, no statement that
    enables IAM policies, none naming the restore role."""
    sample = json.loads((REPO_ROOT / "events" / "kms-PutKeyPolicy.json").read_text(encoding="utf-8"))
    policy: str = sample["detail"]["requestParameters"]["policy"]
    return policy
