"""Organization mode reads a member's bucket and key policies through the member's role.

GetBucketPolicy and GetKeyPolicy work only from the account that owns the bucket or key
(https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketPolicy.html: "the calling identity
must ... belong to the bucket owner's account"; GetKeyPolicy: "Cross-account use: No",
https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyPolicy.html): the central watcher reads
them with the credentials of the member role it assumes (``AccountReaders.client``). The bucket and
key here exist only in the member account, so a read made with the central account's credentials
would find no bucket (unknown), never the Deny.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .injection import client, shared_session
from .organization import WATCHED
from .scenarios import BOUND_PROFILE, BUCKET, DENY_GET
from .stack import ROLE, ROLE_ARN, document, sweep

if TYPE_CHECKING:
    from .conftest import World


def member_client(service: str) -> Any:
    credentials = client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{WATCHED}:role/OrganizationAccountAccessRole", RoleSessionName="setup"
    )["Credentials"]
    return shared_session().client(
        service,
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def test_central_watcher_reads_the_members_bucket_policy(org_world: World) -> None:
    world = org_world
    s3, kms = member_client("s3"), member_client("kms")
    s3.create_bucket(Bucket=BUCKET)
    key = kms.create_key(Description="repository")["KeyMetadata"]["Arn"]
    assert f":{WATCHED}:" in key
    world.iam.put_role_policy(
        RoleName=ROLE, PolicyName="repository", PolicyDocument=document(["kms:Decrypt"])
    )
    world.iam.tag_role(
        RoleName=ROLE,
        Tags=[
            {"Key": "restorewatch:profile", "Value": BOUND_PROFILE},
            {"Key": "restorewatch:param:RepositoryBucket", "Value": BUCKET},
            {"Key": "restorewatch:param:RepositoryKey", "Value": key},
        ],
    )
    sweep(world.stack)
    assert world.stack.alerts() == []
    state = world.stack.state(ROLE_ARN, BOUND_PROFILE)
    assert state is not None
    assert state.status.value == "compliant"

    s3.put_bucket_policy(Bucket=BUCKET, Policy=DENY_GET)
    sweep(world.stack)
    (alert,) = [a for a in world.stack.alerts() if a["profile"] == BOUND_PROFILE]
    assert alert["kind"] == "LOST"
    (change,) = alert["changed_actions"]
    assert change["action"] == "s3:GetObject"
    assert any(r.get("policy") == f"bucket policy of arn:aws:s3:::{BUCKET}" for r in change["reasons"])
    assert json.loads(DENY_GET)["Statement"][0]["Sid"] in json.dumps(change["reasons"])
