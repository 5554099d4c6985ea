"""watch.resource_events: which bound principals a bucket or key change re-checks (pure).

CloudTrail record shapes: S3 and KMS management events name the bucket
(``requestParameters.bucketName``) or the key as the caller gave it (``requestParameters.keyId``: a
key id, key ARN or alias), and the resource in ``resources[]``
(https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html,
https://docs.aws.amazon.com/kms/latest/developerguide/logging-using-cloudtrail.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-s3-info.html).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from restorewatch.watch.event_table import RESOURCE_EVENTS
from restorewatch.watch.events import parse_lambda_event
from restorewatch.watch.resource_events import Reach, is_resource_change, plan_resource_change

EVENTS = Path(__file__).resolve().parents[3] / "events"
BUCKET = "arn:aws:s3:::restorewatch-repository-111122223333"
KEY = "arn:aws:kms:us-east-1:111122223333:key/85750621-02fb-4d4f-b57f-bc5af71a1bfc"
OTHER_KEY = "arn:aws:kms:us-east-1:111122223333:key/0f0f0f0f-0000-4000-8000-000000000000"


def change_of(name: str, **params: Any) -> Any:
    event = json.loads((EVENTS / f"{name}.json").read_text())
    if params:
        event["detail"]["requestParameters"] = params
    (change,) = parse_lambda_event(event).changes
    return change


def test_every_resource_rule_has_a_sample() -> None:
    """One events/ sample per S3 and KMS row of the event table, named source-EventName."""
    names = set()
    for path in EVENTS.glob("*.json"):
        prefix, _, name = path.stem.partition("-")
        if prefix in ("s3", "kms"):
            data = json.loads(path.read_text())
            assert data["source"] == f"aws.{prefix}"
            assert data["detail"]["eventSource"] == f"{prefix}.amazonaws.com"
            assert data["detail"]["eventName"] == name
            names.add((f"{prefix}.amazonaws.com", name))
    assert names == set(RESOURCE_EVENTS)


@pytest.mark.parametrize("name", ["s3-PutBucketPolicy", "s3-DeleteBucketPolicy"])
def test_bucket_events_name_the_bucket(name: str) -> None:
    change = change_of(name)
    assert is_resource_change(change)
    plan = plan_resource_change(change)
    assert plan.reach is Reach.NAMED
    assert plan.holders == (BUCKET,)
    assert plan.reaches((BUCKET,))
    assert plan.reaches(("arn:aws:s3:::restorewatch-repository-*",))  # a pattern that can name it
    assert not plan.reaches(("arn:aws:s3:::other-bucket", KEY))


@pytest.mark.parametrize(
    "name",
    [
        "kms-PutKeyPolicy",
        "kms-DisableKey",
        "kms-EnableKey",
        "kms-ScheduleKeyDeletion",
        "kms-CancelKeyDeletion",
        "kms-CreateGrant",
        "kms-RevokeGrant",
    ],
)
def test_key_events_name_the_key_by_arn(name: str) -> None:
    plan = plan_resource_change(change_of(name))
    assert plan.reach is Reach.NAMED
    assert plan.holders == (KEY,)
    assert plan.reaches((BUCKET, KEY))
    assert not plan.reaches((OTHER_KEY, BUCKET))


def test_key_id_without_resources_is_completed_from_the_record() -> None:
    """A bare key id names the key of the record's account and Region."""
    change = dataclasses.replace(change_of("kms-DisableKey"), resources=())
    plan = plan_resource_change(change)
    assert plan.holders == (KEY,)


def test_alias_without_resources_rechecks_every_bound_key() -> None:
    """An alias names a key the record does not say: every principal bound to a KMS key is
    re-checked (never missed), none bound only to a bucket."""
    change = dataclasses.replace(change_of("kms-DisableKey", keyId="alias/veeam-repository"), resources=())
    plan = plan_resource_change(change)
    assert plan.reach is Reach.SERVICE
    assert plan.reaches((OTHER_KEY,))
    assert not plan.reaches((BUCKET,))


def test_missing_parameter_rechecks_every_principal_bound_to_that_service() -> None:
    change = dataclasses.replace(change_of("s3-PutBucketPolicy", Host="x"), resources=())
    plan = plan_resource_change(change)
    assert plan.reach is Reach.SERVICE
    assert "bucketName" in plan.reason
    assert plan.reaches(("arn:aws:s3:::any-bucket",))
    assert not plan.reaches((KEY,))


def test_failed_or_read_only_calls_change_nothing() -> None:
    change = change_of("s3-PutBucketPolicy")
    assert plan_resource_change(dataclasses.replace(change, error_code="AccessDenied")).no_effect
    assert plan_resource_change(dataclasses.replace(change, read_only=True)).no_effect
    assert not plan_resource_change(change).reaches(())


def test_parser_keeps_the_resources() -> None:
    change = change_of("kms-PutKeyPolicy")
    assert change.resources == (("AWS::KMS::Key", KEY),)
    assert change.event_source == "kms.amazonaws.com"


def test_source_must_match_event_source() -> None:
    from restorewatch.errors import EventError

    event = json.loads((EVENTS / "kms-DisableKey.json").read_text())
    event["source"] = "aws.s3"
    with pytest.raises(
        EventError, match=r"detail\.eventSource kms\.amazonaws\.com does not match source aws\.s3"
    ):
        parse_lambda_event(event)


@pytest.mark.parametrize(
    ("policy_type", "scope"),
    [
        ("SERVICE_CONTROL_POLICY", "all"),
        ("RESOURCE_CONTROL_POLICY", "all"),  # RCPs govern the bound buckets and keys
        ("TAG_POLICY", "none"),
        ("BACKUP_POLICY", "none"),
    ],
)
@pytest.mark.parametrize("name", ["EnablePolicyType", "DisablePolicyType"])
def test_enabling_or_disabling_rcps_rechecks_every_account(name: str, policy_type: str, scope: str) -> None:
    """Enabling the RCP policy type attaches RCPFullAWSAccess everywhere, and disabling it removes
    every RCP (https://docs.aws.amazon.com/organizations/latest/userguide/enable-policy-type.html):
    both change what RestoreWatch evaluates, as for SCPs; the other policy types change nothing."""
    from restorewatch.watch.org_events import plan_org_change

    event = json.loads((EVENTS / f"organizations-{name}.json").read_text())
    event["detail"]["requestParameters"]["policyType"] = policy_type
    (change,) = parse_lambda_event(event).changes
    assert plan_org_change(change).scope.value == scope
