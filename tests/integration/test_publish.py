"""SnsPublisher against moto: SNS -> SQS subscription, the message read back and checked.

SNS Publish with MessageStructure=json: https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from restorewatch.alerts import PublishError, SnsPublisher, render_alert
from restorewatch.ledger.diff import transition_between
from restorewatch.profiles import DEFAULT_TAG_KEY
from restorewatch.state import PendingAlert
from unit.alerts.builders import ROLE_ARN, T0, check, detach_event, lost, stored

if TYPE_CHECKING:
    from collections.abc import Iterator

ALERT_ID = "rw-00112233445566778899aabbccddeeff"


@pytest.fixture
def tap() -> Iterator[tuple[str, Any, str]]:
    """(topic ARN, SQS client, queue URL) with the queue subscribed to the topic (envelope on)."""
    with mock_aws():
        sns = boto3.client("sns", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        topic_arn = sns.create_topic(Name="restorewatch-alerts")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="tap")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        yield topic_arn, sqs, queue_url


def pending_lost() -> PendingAlert:
    t = transition_between(stored(check()), lost("s3:GetObject", "ec2:CreateVolume"), alert_on_degraded=True)
    assert t is not None
    rendered = render_alert(
        t, alert_id=ALERT_ID, trigger=detach_event(), observed_at=T0, tag_key=DEFAULT_TAG_KEY
    )
    return PendingAlert(
        alert_id=ALERT_ID,
        kind=t.kind,
        subject=rendered.subject,
        message=rendered.message,
        attributes=rendered.attributes,
        created_at=T0,
        lease_until=T0,
    )


def test_publish_sqs_subscriber_gets_document_subject_and_attributes(tap: tuple[str, Any, str]) -> None:
    topic_arn, sqs, queue_url = tap
    message_id = SnsPublisher(topic_arn).publish(pending_lost())
    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert len(received) == 1
    envelope = json.loads(received[0]["Body"])
    assert envelope["MessageId"] == message_id
    assert envelope["Subject"] == "RestoreWatch LOST: role VeeamRestore lost 2 restore actions"
    document = json.loads(envelope["Message"])  # non-email protocols get the "default" body
    assert document["schema_version"] == "1"
    assert document["alert_id"] == ALERT_ID
    assert document["kind"] == "LOST"
    assert [a["action"] for a in document["changed_actions"]] == ["ec2:CreateVolume", "s3:GetObject"]
    assert document["trigger"]["eventName"] == "DetachRolePolicy"
    attributes = {name: value["Value"] for name, value in envelope["MessageAttributes"].items()}
    assert attributes == {
        "kind": "LOST",
        "severity": "critical",
        "profile": "veeam-ec2-restore",
        "principal": ROLE_ARN,
        "alert_id": ALERT_ID,
    }


def test_publish_email_body_is_the_text(tap: tuple[str, Any, str]) -> None:
    """What SNS sends to email subscribers is the message's "email" key."""
    message = json.loads(pending_lost().message)
    assert message["email"].startswith("LOST: role VeeamRestore can no longer perform 2 of its 6")


def test_publish_filter_policy_on_kind_routes_only_matching(tap: tuple[str, Any, str]) -> None:
    topic_arn, sqs, _ = tap
    sns = boto3.client("sns", region_name="us-east-1")
    restored_only = sqs.create_queue(QueueName="restored-only")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=restored_only, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"FilterPolicy": json.dumps({"kind": ["RESTORED"]})},
    )
    SnsPublisher(topic_arn).publish(pending_lost())
    assert sqs.receive_message(QueueUrl=restored_only).get("Messages", []) == []


def test_publish_missing_topic_raises_publish_error(tap: tuple[str, Any, str]) -> None:
    topic_arn, _, _ = tap
    with pytest.raises(PublishError) as info:
        SnsPublisher(topic_arn + "-gone").publish(pending_lost())
    assert info.value.alert_id == ALERT_ID
