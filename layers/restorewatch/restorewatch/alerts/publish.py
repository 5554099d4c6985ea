"""Publish a pending alert to SNS: ``MessageStructure='json'``, one body per protocol.

Standard SNS topics have no deduplication (and FIFO topics cannot deliver email), so exactly-once
is the outbox's job (``ledger.outbox``); this module only makes every publish carry the alert id,
in the message attributes and in both bodies, so that a consumer can drop a re-publish.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from restorewatch.errors import RestoreWatchError

if TYPE_CHECKING:
    from types_boto3_sns import SNSClient

    from restorewatch.state.model import PendingAlert

logger = logging.getLogger(__name__)


class PublishError(RestoreWatchError):
    """SNS refused or could not be reached after retries; the alert stays pending."""

    def __init__(self, alert_id: str, code: str, message: str) -> None:
        super().__init__(f"publishing alert {alert_id} failed: {code}: {message}")
        self.alert_id = alert_id
        self.code = code


class Publisher(Protocol):
    def publish(self, alert: PendingAlert) -> str:
        """Publish ``alert`` and return the provider's message id; raise ``PublishError`` on failure."""
        ...


class SnsPublisher:
    # Timeouts bound a publish well inside the outbox lease (90 s by default), so that a run
    # taking over an expired lease cannot race a publish that is still in flight.
    CONNECT_TIMEOUT = 5
    READ_TIMEOUT = 10
    MAX_ATTEMPTS = 3

    def __init__(self, topic_arn: str, client: SNSClient | None = None) -> None:
        self.topic_arn = topic_arn
        self._client = client

    @property
    def client(self) -> SNSClient:
        if self._client is None:
            import boto3
            from botocore.config import Config

            config = Config(
                retries={"mode": "standard", "max_attempts": self.MAX_ATTEMPTS},
                connect_timeout=self.CONNECT_TIMEOUT,
                read_timeout=self.READ_TIMEOUT,
            )
            self._client = boto3.client("sns", config=config)
        return self._client

    def publish(self, alert: PendingAlert) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.publish(
                TopicArn=self.topic_arn,
                Subject=alert.subject,
                Message=alert.message,
                MessageStructure="json",
                MessageAttributes={
                    name: {"DataType": "String", "StringValue": value}
                    for name, value in alert.attributes.items()
                    if value  # SNS rejects empty attribute values
                },
            )
        except ClientError as error:
            details = error.response.get("Error", {})
            raise PublishError(
                alert.alert_id, str(details.get("Code")), str(details.get("Message"))
            ) from error
        except BotoCoreError as error:
            raise PublishError(alert.alert_id, type(error).__name__, str(error)) from error
        message_id = str(response["MessageId"])
        logger.info("published alert %s (%s) as %s", alert.alert_id, alert.kind.value, message_id)
        return message_id
