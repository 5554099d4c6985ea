"""Render a transition into the SNS message that will be stored as the pending alert (pure).

Rendering happens once, before the state write, and the result is stored in the pending alert:
a re-publish after a crash sends exactly the same bytes and the same ``alert_id``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .chatbot import chat_notification
from .document import SEVERITY, build_document
from .email import build_email, fix_lines, headline, next_step
from .subject import build_subject

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from restorewatch.domain import CloudTrailChange, Transition


@dataclass(frozen=True, slots=True)
class RenderedAlert:
    alert_id: str
    subject: str
    message: str  # JSON {"default": <document JSON>, "email": <text>} for MessageStructure='json'
    attributes: Mapping[str, str]


def render_alert(
    transition: Transition,
    *,
    alert_id: str,
    trigger: CloudTrailChange | None,
    observed_at: datetime,
    tag_key: str,
) -> RenderedAlert:
    """``tag_key``: the watch tag the watcher is configured with, named where the text says which
    tag to set."""
    document = build_document(transition, alert_id=alert_id, trigger=trigger, observed_at=observed_at)
    email = build_email(
        transition, alert_id=alert_id, trigger=trigger, observed_at=observed_at, tag_key=tag_key
    )
    subject = build_subject(transition)
    # Subscribers other than email (SQS, Lambda, chat) get only ``default``: give them the words too.
    document["subject"] = subject
    document["text"] = email
    # additive: the parts Slack and chat show apart (the email says the same in its sections)
    document["headline"] = headline(transition, tag_key=tag_key)
    document["fix"] = fix_lines(transition, tag_key=tag_key)
    document["next"] = next_step(transition)
    document.update(chat_notification(document))
    message = json.dumps({"default": json.dumps(document, sort_keys=True), "email": email})
    attributes = {
        "kind": transition.kind.value,
        "severity": SEVERITY[transition.kind].value,
        "profile": transition.profile,
        "principal": transition.arn,
        "alert_id": alert_id,
    }
    return RenderedAlert(alert_id, subject, message, attributes)
