"""The Slack function's Lambda handler: an SNS alert in, one Block Kit message to the webhook out.

Subscribed to the alert topic. The webhook URL is read from Secrets Manager with Powertools
Parameters (cached for ``SECRET_MAX_AGE`` seconds across warm invocations) and never logged; the
<<<<<<< HEAD
environment holds only the secret's ARN. The URL must go to https://hooks.slack.com or to a host of
``SLACK_WEBHOOK_ALLOWED_HOSTS``. A delivery that fails after the sender's retries raises, and so does
a secret that holds no such URL: Lambda retries the asynchronous SNS invocation, then hands the event
to the on-failure destination (the Slack dead-letter queue, whose alarm is loud), so the alert is
kept, never dropped. The email subscription is a separate SNS delivery, so Slack failing never holds
up the email.
=======
environment holds only the secret's ARN. The Secrets Manager client comes from the package's client
factory, like every other client (its retries, and its endpoint under ``sam local invoke``).
A delivery that fails after the sender's retries raises:
Lambda retries the asynchronous SNS invocation, then hands the event to the on-failure destination
(the Slack dead-letter queue, whose alarm is loud). The email subscription is a separate SNS
delivery, so Slack failing never holds up the email.
>>>>>>> sam-local
"""

from __future__ import annotations

import json
import logging
import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.data_classes import SNSEvent

from restorewatch.alerts.slack import render_slack_message
from restorewatch.alerts.slack_send import SlackSender, parse_allowed_hosts, webhook_url_from_secret
from restorewatch.errors import InputError
from restorewatch.inventory.clients import make_client

logger = Logger()

SECRET_MAX_AGE = 300  # seconds: a rotated webhook URL is picked up within five minutes


@cache
def _secrets() -> parameters.SecretsProvider:
    # built on first use (no client at import time); kept for warm invocations, with its cache
    return parameters.SecretsProvider(boto3_client=make_client("secretsmanager"))


def _sender() -> SlackSender:
    # botocore logs response bodies at DEBUG, the secret's value among them: never below INFO here
    for name in ("botocore", "boto3", "urllib3"):
        logging.getLogger(name).setLevel(max(logging.getLogger(name).level, logging.INFO))
    secret = _secrets().get(os.environ["SLACK_WEBHOOK_SECRET_ARN"], max_age=SECRET_MAX_AGE)
    allowed = parse_allowed_hosts(os.environ.get("SLACK_WEBHOOK_ALLOWED_HOSTS", ""))
    return SlackSender(
        webhook_url_from_secret(secret or "", allowed),
        timeout=float(os.environ.get("SLACK_TIMEOUT_SECONDS", "5")),
        retries=int(os.environ.get("SLACK_RETRIES", "2")),
    )


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        sender = _sender()
    except InputError as error:
        # nothing can be posted until the secret (or the allow-list) is fixed: failing the invocation
        # keeps the alert (Lambda's retries, then the Slack DLQ and its alarm)
        logger.error("Slack webhook refused, the alert goes to the Slack dead-letter queue: %s", error)
        raise
    posted = []
    for record in SNSEvent(event).records:
        message = record.sns.message
        try:
            document = json.loads(message)
        except ValueError:
            document = None  # the tamper rule's plain sentence
        facts = document if isinstance(document, dict) else {}
        alert_id = str(facts.get("alert_id") or record.sns.message_id)
        logger.set_correlation_id(alert_id)
        sender.send(render_slack_message(message))  # raises SlackDeliveryError: Lambda retries, then the DLQ
        logger.info("alert posted to Slack", extra={"kind": facts.get("kind", "notice")})
        posted.append(alert_id)
    return {"posted": posted}
