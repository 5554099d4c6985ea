"""Alerts: render a transition (JSON document, email text, subject) and deliver it exactly once."""

from restorewatch.alerts.chatbot import chat_notification
from restorewatch.alerts.digest import AlertBatch, render_digest
from restorewatch.alerts.document import SCHEMA_VERSION, SEVERITY, Severity, build_document
from restorewatch.alerts.email import build_email
from restorewatch.alerts.outbox import (
    AlertInFlightError,
    Outbox,
    OutboxSettings,
    Outcome,
    RecordResult,
)
from restorewatch.alerts.publish import Publisher, PublishError, SnsPublisher
from restorewatch.alerts.render import RenderedAlert, render_alert
from restorewatch.alerts.slack import render_slack
from restorewatch.alerts.subject import build_subject

__all__ = [
    "SCHEMA_VERSION",
    "SEVERITY",
    "AlertBatch",
    "AlertInFlightError",
    "Outbox",
    "OutboxSettings",
    "Outcome",
    "PublishError",
    "Publisher",
    "RecordResult",
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
