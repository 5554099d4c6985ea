"""Digest mode (template parameter DigestMode=digest): many transitions of one run, one message.

Runs the real outbox on moto (DynamoDB state table built from the template, SNS topic, an SQS queue
subscribed to it to read back what subscribers get). The exactly-once protocol is the outbox's
(see ledger/outbox.py): every transition is still saved with its own pending alert; the digest only
publishes them together and clears them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from restorewatch.alerts import PublishError, SnsPublisher
from restorewatch.ledger import AlertBatch, Outbox, OutboxSettings, Outcome
from restorewatch.profiles import DEFAULT_TAG_KEY
from restorewatch.state import DynamoStateStore
from support.template import state_table_kwargs
from unit.alerts.builders import ACCOUNT, T0, check, lost

if TYPE_CHECKING:
    from collections.abc import Iterator

    from restorewatch.state.model import PendingAlert

pytestmark = pytest.mark.slow  # digest mode through the handler on moto


class Stack:
    def __init__(self) -> None:
        boto3.client("dynamodb").create_table(**state_table_kwargs("state"))
        sns, self.sqs = boto3.client("sns"), boto3.client("sqs")
        self.topic = sns.create_topic(Name="alerts")["TopicArn"]
        self.queue = self.sqs.create_queue(QueueName="inbox")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"]
        sns.subscribe(TopicArn=self.topic, Protocol="sqs", Endpoint=arn["QueueArn"])
        self.store = DynamoStateStore("state")
        self.outbox = Outbox(self.store, SnsPublisher(self.topic), OutboxSettings(tag_key=DEFAULT_TAG_KEY))

    def received(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while batch := self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages"):
            for message in batch:
                messages.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])
        return messages


@pytest.fixture
def stack() -> Iterator[Stack]:
    with mock_aws():
        yield Stack()


def arns(count: int) -> list[str]:
    return [f"arn:aws:iam::{ACCOUNT}:role/restore-{number:02d}" for number in range(count)]


def record_lost(stack: Stack, principals: list[str], batch: AlertBatch | None) -> None:
    for arn in principals:
        stack.outbox.record(check(arn=arn), observed_at=T0, trigger=None)  # first sight: compliant
    stack.received()
    later = T0.replace(hour=10)
    for arn in principals:
        result = stack.outbox.record(
            lost("s3:GetObject", arn=arn), observed_at=later, trigger=None, batch=batch
        )
        assert result.outcome is (Outcome.DEFERRED if batch is not None else Outcome.ALERTED)


def test_digest_many_transitions_publish_one_message_and_clear_every_pending_alert(stack: Stack) -> None:
    principals = arns(8)
    batch = AlertBatch()
    record_lost(stack, principals, batch)
    assert stack.received() == []  # held back: nothing published yet
    assert len(list(stack.store.with_pending())) == 8  # but saved, pending: a crash would lose nothing
    delivered = stack.outbox.deliver_batch(batch, digest_over=5)
    assert len(delivered) == 8
    (message,) = stack.received()
    document = json.loads(message["Message"])
    assert document["kind"] == "DIGEST"
    assert document["count"] == 8
    assert document["counts"] == {"LOST": 8}
    assert sorted(document["alert_ids"]) == sorted(delivered)
    assert {alert["principal"]["arn"] for alert in document["alerts"]} == set(principals)
    assert (document["version"], document["source"]) == ("1.0", "custom")  # a chat notification too
    assert message["MessageAttributes"]["kind"]["Value"] == "DIGEST"
    assert message["Subject"] == "RestoreWatch digest: 8 principals changed (8 LOST)"
    assert list(stack.store.with_pending()) == []
    states = [stack.store.get(arn, "veeam-ec2-restore") for arn in principals]
    assert all(state is not None and state.last_alert is not None for state in states)


def test_digest_email_body_summarises_then_gives_every_alert_in_full(stack: Stack) -> None:
    batch = AlertBatch()
    record_lost(stack, arns(6), batch)
    stack.outbox.deliver_batch(batch, digest_over=5)
    (message,) = stack.received()
    text = json.loads(message["Message"])["text"]
    assert text.startswith("RestoreWatch: 6 backup principals changed at once (6 LOST).")
    firsts = [line for line in text.splitlines() if line.startswith("LOST: role restore-")]
    assert len(firsts) == 6  # each alert's own email, in full, from its first line
    assert "SUMMARY" in text
    assert "{" not in text.split("HOW TO FIX IT")[0]  # no JSON before the fix statements


def test_digest_at_or_below_threshold_publishes_one_alert_per_principal(stack: Stack) -> None:
    batch = AlertBatch()
    record_lost(stack, arns(3), batch)
    stack.outbox.deliver_batch(batch, digest_over=5)
    messages = stack.received()
    assert len(messages) == 3
    assert {json.loads(m["Message"])["kind"] for m in messages} == {"LOST"}


def test_default_mode_is_unchanged_one_alert_each_at_once(stack: Stack) -> None:
    record_lost(stack, arns(7), None)
    assert len(stack.received()) == 7


def test_digest_publish_failure_leaves_alerts_pending_for_one_by_one_delivery(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = AlertBatch()
    record_lost(stack, arns(6), batch)

    def refuse(alert: PendingAlert) -> str:
        raise PublishError(alert.alert_id, "Throttling", "slow down")

    real = stack.outbox.publisher
    monkeypatch.setattr(stack.outbox, "publisher", type("Refusing", (), {"publish": staticmethod(refuse)})())
    with pytest.raises(PublishError):
        stack.outbox.deliver_batch(batch, digest_over=5)
    assert len(list(stack.store.with_pending())) == 6
    monkeypatch.setattr(stack.outbox, "publisher", real)
    # the sweep's flush (or the SQS retry) delivers them, one by one, with the same alert ids
    flushed = stack.outbox.flush_pending()
    assert len(flushed) == 6
    assert len(stack.received()) == 6
    assert list(stack.store.with_pending()) == []


def test_digest_skips_an_alert_another_run_took_over(stack: Stack) -> None:
    batch = AlertBatch()
    record_lost(stack, arns(7), batch)
    taken = next(iter(stack.store.with_pending()))
    assert taken.pending_alert is not None
    # another run claims it (its lease expired for that run), and publishes it itself
    assert stack.store.claim_pending(
        taken.principal, taken.profile, taken.pending_alert.alert_id,
        seen_lease=taken.pending_alert.lease_until, new_lease=T0.replace(year=2099),
    )  # fmt: skip
    delivered = stack.outbox.deliver_batch(batch, digest_over=5)
    assert taken.pending_alert.alert_id not in delivered
    assert len(delivered) == 6


def test_runtime_reads_digest_mode_threshold_and_report_bucket_from_the_template_environment() -> None:
    from restorewatch.watch.config import WatcherConfig

    base = {"STATE_TABLE": "t", "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:111122223333:a"}
    default = WatcherConfig.from_environment(base)
    assert (default.digest_mode, default.report_bucket) == (False, None)
    config = WatcherConfig.from_environment(
        {**base, "DIGEST_MODE": "digest", "DIGEST_THRESHOLD": "3", "REPORT_BUCKET": "reports"}
    )
    assert (config.digest_mode, config.digest_threshold, config.report_bucket) == (True, 3, "reports")
