"""Amazon Q Developer in chat applications (formerly AWS Chatbot): the custom-notification fields.

A chat channel subscribed to the alert topic through Amazon Q Developer receives the SNS ``default``
body, the alert document. Amazon Q Developer shows it only if it is a custom notification:
``version`` "1.0", ``source`` "custom" and a ``content`` object (``textType`` "client-markdown",
``title``, ``description``, ``nextSteps``); other top-level fields are allowed, so the document keeps
all of its own fields and gains these. ``metadata.threadId`` is the same for every alert about one
(principal, profile), so the channel threads one story (LOST ... RESTORED) together.
https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html

``client-markdown`` is rendered in the chat platform's own markdown (Slack's mrkdwn for Slack), so
IAM-sourced text is escaped and quoted as code exactly as for the Slack function.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .slack import EMOJI, clip, code, console_url, escape, story_title

__all__ = ["CHAT_VERSION", "chat_notification"]

CHAT_VERSION = "1.0"  # required value of ``version`` in a custom notification
TITLE_MAX = 250
DESCRIPTION_MAX = 8000
LISTED_ACTIONS = 20


def thread_id(document: dict[str, Any]) -> str:
    principal = (document.get("principal") or {}).get("arn") or ""
    material = f"{principal}\n{document.get('profile', '')}"
    return "restorewatch-" + hashlib.sha256(material.encode()).hexdigest()[:24]


def _description(document: dict[str, Any]) -> str:
    principal = document.get("principal") or {}
    lines = [
        f"*{escape(document.get('kind', '?'))}* · severity {escape(document.get('severity', '?'))}",
        f"{escape(principal.get('kind') or 'principal')} "
        f"{code(principal.get('name') or principal.get('arn'))}"
        f" · profile {code(document.get('profile'))} · account {code(document.get('account'))}",
    ]
    changed = [c for c in document.get("changed_actions") or [] if c.get("status") != "allowed"]
    if changed:
        shown = ", ".join(code(c.get("action")) for c in changed[:LISTED_ACTIONS])
        more = f" and {len(changed) - LISTED_ACTIONS} more" if len(changed) > LISTED_ACTIONS else ""
        lines.append(f"Now not fully allowed: {shown}{more}")
    trigger = document.get("trigger") or {}
    if trigger.get("type") == "cloudtrail":
        lines.append(
            f"Change: {code(trigger.get('eventName'))} by {code(trigger.get('actorArn'), 300)}"
            f" at {escape(trigger.get('eventTime', '?'))}"
        )
    elif document.get("kind") != "DIGEST":
        lines.append("Found by the scheduled sweep.")
    for alert in (document.get("alerts") or [])[:LISTED_ACTIONS]:
        who = alert.get("principal") or {}
        lines.append(
            f"• {escape(alert.get('kind', '?'))} {code(who.get('name') or who.get('arn'))}"
            f" (profile {code(alert.get('profile'))})"
        )
    fix = [str(line) for line in document.get("fix") or []]
    if fix:
        body = escape("\n".join(fix).replace("```", "ˋˋˋ"))
        lines.append("How to fix it:\n```" + clip(body, 3000) + "```")
    return clip("\n".join(lines), DESCRIPTION_MAX)


def chat_notification(document: dict[str, Any]) -> dict[str, Any]:
    """The custom-notification fields to merge into the alert (or digest) document."""
    kind = str(document.get("kind", "?"))
    if kind == "DIGEST":
        title = f"{EMOJI['DIGEST']} RestoreWatch: {len(document.get('alerts') or [])} principals changed"
    else:
        title = f"{EMOJI.get(kind, '')} {kind}: {story_title(document)}"
    next_steps = [escape(document["next"])] if document.get("next") else []
    url = console_url(document)
    if url is not None:
        next_steps.append(f"Open it in the IAM console: {url}")
    principal_arn = (document.get("principal") or {}).get("arn")
    return {
        "version": CHAT_VERSION,
        "source": "custom",
        "id": document.get("alert_id"),
        "content": {
            "textType": "client-markdown",
            "title": clip(escape(title), TITLE_MAX),
            "description": _description(document),
            "nextSteps": next_steps,
            "keywords": [kind, str(document.get("severity", "")), str(document.get("profile", ""))],
        },
        "metadata": {
            "threadId": thread_id(document),
            "summary": str(document.get("subject") or title),
            "eventType": kind,
            "relatedResources": [principal_arn] if principal_arn else [],
            "additionalContext": {"alert_id": str(document.get("alert_id", ""))},
        },
    }
