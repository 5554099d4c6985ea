"""Alerts: render a transition (JSON document, email text, subject) and deliver it exactly once."""

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
from restorewatch.alerts.subject import build_subject

__all__ = [
    "SCHEMA_VERSION",
    "SEVERITY",
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
    "render_alert",
]
