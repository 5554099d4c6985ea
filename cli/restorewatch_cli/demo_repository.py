"""``make demo``'s scene of the resource side: the repository bucket's policy takes a restore away.

The demo's role also gets the built-in profile ``veeam-s3-repository-bound``, bound to the demo's
repository bucket by its tag ``restorewatch:param:RepositoryBucket`` (a TagRole event: checked,
compliant, no alert). Then someone adds a bucket policy whose Deny takes ``s3:PutObject`` away from
the role: LOST, naming the bucket, the bucket policy and the statement. Removing the bucket policy
gives RESTORED. The watcher reads the bucket policy itself (``s3:GetBucketPolicy`` on moto's server).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types_boto3_iam.type_defs import TagTypeDef

    from restorewatch_cli.demo import Demo

BOUND_PROFILE = "veeam-s3-repository-bound"
DENY_SID = "DenyRepositoryWritesFromRestoreRole"


def repository_scene(demo: Demo, *, account: str, role: str, tag_key: str, profile: str) -> int:
    """The scene's three steps; returns the number of alerts printed (LOST, then RESTORED)."""
    from restorewatch.inventory import make_client
    from restorewatch.profiles import ProfileRegistry

    bucket = f"veeam-repository-{account}"
    role_arn = f"arn:aws:iam::{account}:role/{role}"
    s3 = make_client("s3", endpoint_url=demo.endpoint)
    s3.create_bucket(Bucket=bucket)
    actions = sorted({r.action for r in ProfileRegistry.default().get(BOUND_PROFILE).requirements})
    grant = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    tags: list[TagTypeDef] = [
        {"Key": tag_key, "Value": f"{profile} {BOUND_PROFILE}"},
        {"Key": "restorewatch:param:RepositoryBucket", "Value": bucket},
    ]

    def bind() -> None:
        demo.iam.put_role_policy(
            RoleName=role, PolicyName="VeeamRepository", PolicyDocument=json.dumps(grant)
        )
        demo.iam.tag_role(RoleName=role, Tags=tags)

    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": DENY_SID,
                "Effect": "Deny",
                "Principal": {"AWS": role_arn},
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    total = demo.step(
        f"Role {role} also gets profile {BOUND_PROFILE}, bound to bucket {bucket} by its tag "
        "restorewatch:param:RepositoryBucket (compliant: no alert)",
        bind,
        demo.event(
            "TagRole", {"roleName": role, "tags": [{"key": t["Key"], "value": t["Value"]} for t in tags]}
        ),
    )
    total += demo.step(
        f"Someone adds a bucket policy to {bucket} that denies s3:PutObject to role {role}",
        lambda: s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(deny)),
        _bucket_event(demo, "PutBucketPolicy", bucket, {"bucketPolicy": deny}),
    )
    total += demo.step(
        f"The bucket policy of {bucket} is deleted",
        lambda: s3.delete_bucket_policy(Bucket=bucket),
        _bucket_event(demo, "DeleteBucketPolicy", bucket, {}),
    )
    return total


def _bucket_event(demo: Demo, name: str, bucket: str, extra: dict[str, Any]) -> dict[str, Any]:
    """The CloudTrail record S3 writes for ``name`` on ``bucket`` (from ``events/s3-<name>.json``)."""
    parameters = {**extra, "bucketName": bucket, "Host": f"{bucket}.s3.us-east-1.amazonaws.com"}
    event = demo.event(name, parameters, f"s3-{name}")
    event["detail"]["resources"] = [
        {
            "accountId": event["detail"]["recipientAccountId"],
            "type": "AWS::S3::Bucket",
            "ARN": f"arn:aws:s3:::{bucket}",
        }
    ]
    return event
