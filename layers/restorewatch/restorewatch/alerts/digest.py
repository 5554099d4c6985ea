"""Digest mode: many transitions of one run sent as ONE alert (pure rendering + the run's batch).

With ``DigestMode=digest`` a sweep (or a change that fans out to many principals, such as an SCP
change) that finds more than ``DigestThreshold`` transitions sends one summary instead of one mail
per principal. Each transition is still saved with its own pending alert (see ``ledger.outbox``):
the digest is only another way of publishing them, and clearing them, so the exactly-once protocol
is unchanged. The digest lists every alert id it carries.

SNS refuses messages over 256 KB, so the digest carries the full text of as many alerts as fit in
``TEXT_BUDGET`` and names the rest; every alert is in the summary list.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from restorewatch.domain import AlertKind
from restorewatch.state.model import PendingAlert, format_time

from .chatbot import chat_notification
from .document import SCHEMA_VERSION, SEVERITY, Severity

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime


__all__ = ["DIGEST_SCHEMA", "render_digest"]

DIGEST_SCHEMA = "restorewatch.digest"
TEXT_BUDGET = 150_000  # characters of full alert texts in the email body
LISTED = 200  # alerts listed in the JSON document (the rest are counted)
_URGENCY = (
    AlertKind.LOST,
    AlertKind.DELETED,
    AlertKind.UNKNOWN,
    AlertKind.UNWATCHED,
    AlertKind.DEGRADED,
    AlertKind.RESTORED,
)
_SEVERITY_ORDER = (Severity.CRITICAL, Severity.HIGH, Severity.WARNING, Severity.INFO)


def _parts(pending: PendingAlert) -> tuple[dict[str, Any], str]:
    message = json.loads(pending.message)
    return json.loads(message["default"]), str(message.get("email", ""))


def _line(document: dict[str, Any]) -> str:
    principal = document.get("principal") or {}
    who = f"{principal.get('kind') or 'principal'} {principal.get('name') or principal.get('arn')}"
    where = f"(profile {document.get('profile')}, account {document.get('account')})"
    return f"{document.get('kind', '?'):<10}{who} {where}"


def render_digest(alerts: Sequence[PendingAlert], *, now: datetime) -> PendingAlert:
    """One pending alert (for ``Publisher.publish``) that carries ``alerts``, most urgent first."""
    rank = {kind: position for position, kind in enumerate(_URGENCY)}
    ordered = sorted(alerts, key=lambda pending: rank[pending.kind])
    ids = sorted(pending.alert_id for pending in ordered)
    digest_id = "rw-digest-" + hashlib.sha256("\n".join(ids).encode()).hexdigest()[:32]
    parts = [_parts(pending) for pending in ordered]
    kinds = Counter(pending.kind for pending in ordered)
    tally = ", ".join(f"{kinds[kind]} {kind.value}" for kind in _URGENCY if kinds[kind])
    severity = min((SEVERITY[p.kind] for p in ordered), key=_SEVERITY_ORDER.index)
    count = len(ordered)
    headline = f"RestoreWatch: {count} backup principals changed at once ({tally})."
    subject = f"RestoreWatch digest: {count} principals changed ({tally})"
    if len(subject) > 99:
        subject = f"RestoreWatch digest: {count} principals changed"

    text = [
        headline,
        "",
        "One summary instead of one mail per principal (digest mode). Every alert follows in full.",
        "",
        "SUMMARY",
        *(f"  {_line(document)}" for document, _ in parts),
        "",
    ]
    used = 0
    for number, ((_, email), pending) in enumerate(zip(parts, ordered, strict=True), start=1):
        if used + len(email) > TEXT_BUDGET:
            text += [
                f"({count - number + 1} more alerts are listed in the summary above but not in full.)",
                "",
            ]
            break
        used += len(email)
        text += [f"======== {number} of {count}: {pending.subject} ========", email]
    text += ["--", f"Digest id: {digest_id}", f"It delivers the alerts {', '.join(ids)}."]
    email_body = "\n".join(text) + "\n"

    document: dict[str, Any] = {
        "schema": DIGEST_SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "alert_id": digest_id,
        "kind": "DIGEST",
        "severity": severity.value,
        "observed_at": format_time(now),
        "count": count,
        "counts": {kind.value: kinds[kind] for kind in _URGENCY if kinds[kind]},
        "alerts": [
            {
                key: document.get(key)
                for key in ("alert_id", "kind", "severity", "principal", "profile", "account", "subject")
            }
            | {"headline": document.get("headline")}
            for document, _ in parts[:LISTED]
        ],
        "alert_ids": ids,
        "subject": subject,
        "headline": headline,
        "text": email_body,
    }
    document.update(chat_notification(document))
    message = json.dumps({"default": json.dumps(document, sort_keys=True), "email": email_body})
    first = ordered[0]
    return replace(
        first,
        alert_id=digest_id,
        subject=subject,
        message=message,
        attributes={"kind": "DIGEST", "severity": severity.value, "alert_id": digest_id},
        created_at=now,
        lease_until=now,
    )
