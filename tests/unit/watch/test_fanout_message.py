"""A per-account sweep message carries its trigger as JSON; the account's run must see the same change."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from restorewatch.domain import CloudTrailChange
from restorewatch.errors import EventError
from restorewatch.watch.fanout import account_sweep_message, change_from_json


def _bucket_policy_change() -> CloudTrailChange:
    return CloudTrailChange(
        event_id="e-1",
        event_name="PutBucketPolicy",
        event_time=datetime(2026, 12, 6, 7, 0, tzinfo=UTC),
        account="111122223333",
        region="eu-west-1",
        event_source="s3.amazonaws.com",
        actor_arn="arn:aws:iam::111122223333:user/alice",
        request_parameters={"bucketName": "veeam-repo"},
        resources=(("AWS::S3::Bucket", "arn:aws:s3:::veeam-repo"),),
    )


def test_a_trigger_with_resources_comes_back_equal_and_hashable() -> None:
    change = _bucket_policy_change()
    message = json.loads(json.dumps(account_sweep_message("111122223333", change)))
    back = change_from_json(message["trigger"])
    assert back == change
    assert back.resources == (("AWS::S3::Bucket", "arn:aws:s3:::veeam-repo"),)


def test_a_trigger_sent_before_resources_existed_still_reads() -> None:
    message = json.loads(json.dumps(account_sweep_message("111122223333", _bucket_policy_change())))
    del message["trigger"]["resources"]
    assert change_from_json(message["trigger"]).resources == ()


def test_a_malformed_resource_pair_is_an_event_error() -> None:
    message = json.loads(json.dumps(account_sweep_message("111122223333", _bucket_policy_change())))
    message["trigger"]["resources"] = [["AWS::S3::Bucket"]]
    with pytest.raises(EventError, match="not a recorded change"):
        change_from_json(message["trigger"])
