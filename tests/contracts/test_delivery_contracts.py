"""The delivery fakes and the real adapters on moto keep one contract: the publisher (SNS), the
report sink (S3) and the sweep dispatcher (SQS).

What the outbox and the watcher rely on: a publish returns a message id, a new one each time (a
standard SNS topic does not deduplicate: https://docs.aws.amazon.com/sns/latest/dg/fifo-message-dedup.html),
and a refused one raises ``PublishError`` naming the alert; a report has one location per account
and a refused write raises ``ReportWriteError``; a fan-out enqueues each account once with its
trigger and returns the count, and a refused one raises ``ReadError``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from restorewatch.alerts import SnsPublisher
from restorewatch.alerts.publish import PublishError
from restorewatch.domain import AlertKind
from restorewatch.errors import ReadError
from restorewatch.report import ReportWriteError, S3ReportSink
from restorewatch.state import PendingAlert
from restorewatch.watch.fanout import SqsSweepDispatcher, parse_account_sweep
from support.fakes import MemoryReportSink, RecordingDispatcher, RecordingPublisher
from unit.alerts.builders import T0, check, detach_event

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from restorewatch.alerts.publish import Publisher
    from restorewatch.domain import CloudTrailChange
    from restorewatch.report import ReportSink
    from restorewatch.watch.fanout import SweepDispatcher

ALERT = PendingAlert(
    "rw-1",
    AlertKind.LOST,
    "subject",
    json.dumps({"default": "{}", "email": "text"}),
    {"kind": "LOST"},
    T0,
    T0,
)


@dataclass
class Delivery:
    publisher: Publisher
    refusing_publisher: Publisher
    sink: ReportSink
    refusing_sink: ReportSink
    dispatcher: SweepDispatcher
    refusing_dispatcher: SweepDispatcher
    sweeps: Callable[[], list[tuple[str, CloudTrailChange | None]]]


def _memory() -> Delivery:
    refusing_publisher = RecordingPublisher()
    refusing_publisher.refuse_next(ALERT.alert_id)
    refusing_sink = MemoryReportSink()
    refusing_sink.refuse_next()
    dispatcher = RecordingDispatcher()
    refusing_dispatcher = RecordingDispatcher()
    refusing_dispatcher.refuse_next()
    return Delivery(
        RecordingPublisher(),
        refusing_publisher,
        MemoryReportSink(),
        refusing_sink,
        dispatcher,
        refusing_dispatcher,
        lambda: _take(dispatcher),
    )


def _take(dispatcher: RecordingDispatcher) -> list[tuple[str, CloudTrailChange | None]]:
    """The sweeps enqueued since the last call (as receiving from the queue consumes them)."""
    sweeps = dispatcher.sweeps()
    dispatcher.messages.clear()
    return sweeps


def _queue_sweeps(sqs: Any, url: str) -> list[tuple[str, CloudTrailChange | None]]:
    found = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            found.append(parse_account_sweep(json.loads(message["Body"]), "message"))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


@pytest.fixture(params=["memory", "aws"])
def delivery(request: pytest.FixtureRequest) -> Iterator[Delivery]:
    if request.param == "memory":
        yield _memory()
        return
    with mock_aws():
        sns = boto3.client("sns", region_name="us-east-1")
        s3 = boto3.client("s3", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        s3.create_bucket(Bucket="reports")
        url = sqs.create_queue(QueueName="sweeps")["QueueUrl"]
        yield Delivery(
            SnsPublisher(topic, client=sns),
            SnsPublisher(topic.replace(":alerts", ":no-such-topic"), client=sns),
            S3ReportSink("reports", client=s3),
            S3ReportSink("no-such-bucket", client=s3),
            SqsSweepDispatcher(url, sqs),
            SqsSweepDispatcher(url.replace("/sweeps", "/no-such-queue"), sqs),
            lambda: _queue_sweeps(sqs, url),
        )


def test_each_publish_gets_its_own_message_id_even_for_the_same_alert(delivery: Delivery) -> None:
    first = delivery.publisher.publish(ALERT)
    again = delivery.publisher.publish(ALERT)
    assert isinstance(first, str)
    assert first
    assert again != first


def test_a_refused_publish_raises_publish_error_naming_the_alert(delivery: Delivery) -> None:
    with pytest.raises(PublishError) as refused:
        delivery.refusing_publisher.publish(ALERT)
    assert refused.value.alert_id == ALERT.alert_id


def test_one_report_location_per_account(delivery: Delivery) -> None:
    own = delivery.sink.write([check()], generated_at=T0, account=None)
    member = delivery.sink.write([check()], generated_at=T0, account="210987654321")
    assert own != member
    assert "210987654321" in member
    assert delivery.sink.write([], generated_at=T0, account=None) == own  # replaced, same place


def test_a_refused_report_raises_report_write_error(delivery: Delivery) -> None:
    with pytest.raises(ReportWriteError):
        delivery.refusing_sink.write([check()], generated_at=T0, account=None)


def test_fan_out_enqueues_each_account_once_with_its_trigger(delivery: Delivery) -> None:
    trigger = detach_event()
    count = delivery.dispatcher.dispatch(["210987654321", "123456789012", "210987654321"], trigger)
    assert count == 2
    assert sorted(delivery.sweeps(), key=lambda sweep: sweep[0]) == [
        ("123456789012", trigger),
        ("210987654321", trigger),
    ]
    assert delivery.dispatcher.dispatch([f"{n:012d}" for n in range(1, 24)], None) == 23  # > one batch
    assert sorted(account for account, _ in delivery.sweeps()) == [f"{n:012d}" for n in range(1, 24)]


def test_a_refused_fan_out_raises_read_error(delivery: Delivery) -> None:
    with pytest.raises(ReadError):
        delivery.refusing_dispatcher.dispatch(["210987654321"], None)
