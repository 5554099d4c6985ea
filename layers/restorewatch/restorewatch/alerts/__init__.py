"""Alerts: render a transition (JSON document, email text, subject, Slack blocks, digest) and the
delivery adapters (``SnsPublisher``, ``SlackSender``). Exactly-once delivery is ``restorewatch.ledger``'s
job: nothing here reads or writes the state."""

from restorewatch.alerts.chatbot import chat_notification
from restorewatch.alerts.digest import render_digest
from restorewatch.alerts.document import SCHEMA_VERSION, SEVERITY, Severity, build_document
from restorewatch.alerts.email import build_email
from restorewatch.alerts.publish import Publisher, PublishError, SnsPublisher
from restorewatch.alerts.render import RenderedAlert, render_alert
from restorewatch.alerts.slack import render_slack
from restorewatch.alerts.subject import build_subject

__all__ = [
    "SCHEMA_VERSION",
    "SEVERITY",
    "PublishError",
    "Publisher",
    "RenderedAlert",
    "Severity",
    "SnsPublisher",
    "build_document",
    "build_email",
    "build_subject",
    "chat_notification",
    "render_alert",
    "render_digest",
    "render_slack",
]
