"""The Slack message of an alert: Block Kit built from the alert document (pure, no I/O).

The Slack function receives only the SNS ``default`` body, the JSON alert document, so everything
here is built from that document. Text that comes from IAM or CloudTrail (names, tag values, policy
names, request parameters, error messages) is untrusted: Slack treats ``&``, ``<`` and ``>`` as
control characters (``<!channel>`` mentions, ``<http://x|y>`` links), so they are always escaped as
HTML entities, the only escaping Slack decodes. Formatting characters (``*bold*``, ``_x_``, ``~x~``)
have no escape in mrkdwn, so untrusted text is put where Slack applies no formatting: inline code
for names, ``plain_text`` objects for prose, and a code block for the fix. Every text is clipped to
its Block Kit limit (header 150, section 3000, field 2000 characters; 50 blocks) without cutting an
entity in two. See https://api.slack.com/reference/surfaces/formatting#escaping and
https://api.slack.com/reference/block-kit/blocks.

Repeated alerts about one principal read as one story: the header is the same for every alert about
a (principal, profile), and the kind (LOST ... RESTORED) is the first word under it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any
from urllib.parse import quote

from .wording import actor_label, parameter_lines, service_of

__all__ = [
    "HEADER_MAX",
    "MAX_BLOCKS",
    "SECTION_MAX",
    "clip",
    "code",
    "console_url",
    "escape",
    "render_slack",
    "render_slack_message",
    "slack_as_text",
    "story_title",
]

HEADER_MAX = 150
SECTION_MAX = 3000
FIELD_MAX = 2000
CONTEXT_MAX = 2000
BUTTON_MAX = 75
MAX_BLOCKS = 50
FALLBACK_MAX = 3000
NAME_MAX = 120  # one name shown inline
DIGEST_ITEMS = 40  # alerts listed in a digest message (the rest are counted)

EMOJI = {
    "LOST": "\N{LARGE RED CIRCLE}",
    "DELETED": "\N{WASTEBASKET}",
    "UNKNOWN": "\N{BLACK QUESTION MARK ORNAMENT}",
    "UNWATCHED": "\N{WARNING SIGN}",
    "DEGRADED": "\N{LARGE ORANGE CIRCLE}",
    "RESTORED": "\N{WHITE HEAVY CHECK MARK}",
    "DIGEST": "\N{BELL}",
}
_GROUPS = (
    ("denied", "Lost (now denied)"),
    ("partial", "Only in part (now partial)"),
    ("unknown", "Not checked (now unknown)"),
    ("allowed", "Back (now allowed)"),
)
_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))


# -- escaping ------------------------------------------------------------------------------------


def escape(text: object) -> str:
    """Slack's three control characters as entities (``&`` first, so entities are not re-escaped)."""
    result = str(text)
    for char, entity in _ENTITIES:
        result = result.replace(char, entity)
    return result


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, never inside an ``&...;`` entity."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&", max(0, len(cut) - 5))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def code(text: object, limit: int = NAME_MAX) -> str:
    """Untrusted text as inline code: no bold/italic/strike/links inside, mentions escaped."""
    flat = " ".join(str(text).split()).replace("`", "ˋ") or "-"
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return f"`{escape(flat)}`"


def _plain(text: str, limit: int) -> dict[str, Any]:
    # plain_text: Slack applies no formatting, links or mentions; entities are still decoded
    return {"type": "plain_text", "text": clip(escape(text), limit) or " ", "emoji": False}


def _mrkdwn(text: str, limit: int = SECTION_MAX) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(text, limit), "verbatim": True}


def _code_block(lines: list[str], limit: int = SECTION_MAX) -> str:
    body = escape("\n".join(lines).replace("```", "ˋˋˋ"))
    return "```\n" + clip(body, limit - 8) + "\n```"


# -- pieces --------------------------------------------------------------------------------------


def story_title(document: dict[str, Any]) -> str:
    """The same words for every alert about one (principal, profile): the thread of the story."""
    principal = document.get("principal") or {}
    kind = principal.get("kind") or "principal"
    name = principal.get("name") or principal.get("arn") or "?"
    return f"RestoreWatch: {kind} {name} ({document.get('profile', '?')})"


def console_url(document: dict[str, Any]) -> str | None:
    """The IAM console page of the principal (a user or a role), or ``None``."""
    principal = document.get("principal") or {}
    section = {"user": "users", "role": "roles"}.get(principal.get("kind") or "")
    name = principal.get("name")
    if section is None or not name:
        return None
    return f"https://console.aws.amazon.com/iam/home#/{section}/details/{quote(str(name), safe='')}"


def _facts(document: dict[str, Any]) -> dict[str, Any]:
    principal = document.get("principal") or {}
    status = document.get("status") or {}
    kind = str(document.get("kind", "?"))
    account = str(document.get("account", "?"))
    if document.get("account_name"):
        account = f"{account} ({document['account_name']})"
    before = status.get("before") or "first sight"
    fields = [
        f"*Principal*\n{code(principal.get('name') or principal.get('arn'))} "
        f"({escape(principal.get('kind') or '?')})",
        f"*Profile*\n{code(document.get('profile'))}",
        f"*Account*\n{code(account)}",
        f"*Status*\n{escape(before)} → {escape(status.get('after', '?'))}",
    ]
    headline = f"{EMOJI.get(kind, '')} *{escape(kind)}* · severity {escape(document.get('severity', '?'))}"
    return {
        "type": "section",
        "text": _mrkdwn(headline),
        "fields": [_mrkdwn(field, FIELD_MAX) for field in fields],
    }


def _actions(document: dict[str, Any]) -> list[dict[str, Any]]:
    by_status: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for change in document.get("changed_actions") or []:
        action = str(change.get("action", "?"))
        by_status[str(change.get("status"))][service_of(action)].append(action)
    blocks = []
    for status, title in _GROUPS:
        services = by_status.get(status)
        if not services:
            continue
        lines = [f"*{title}*"]
        for service in sorted(services):
            names = ", ".join(code(action.partition(":")[2] or action) for action in services[service])
            lines.append(f"• {code(service)}: {names}")
        blocks.append({"type": "section", "text": _mrkdwn("\n".join(lines))})
    return blocks


def _why(document: dict[str, Any]) -> list[dict[str, Any]]:
    lines: list[str] = []
    if document.get("error"):
        lines.append(f"The check failed: {document['error']}")
    for change in document.get("changed_actions") or []:
        if change.get("status") == "allowed":
            continue
        for reason in change.get("reasons") or []:
            message = str(reason.get("message", ""))
            line = (
                f"• {message}"
                if change.get("action", "") in message
                else f"• {change.get('action')}: {message}"
            )
            if line not in lines:
                lines.append(line)
    if not lines:
        return []
    return [
        {"type": "section", "text": _mrkdwn("*Why*")},
        {"type": "section", "text": _plain("\n".join(lines), SECTION_MAX)},
    ]


def _trigger(document: dict[str, Any]) -> list[dict[str, Any]]:
    trigger = document.get("trigger") or {}
    if trigger.get("type") != "cloudtrail":
        when = escape(document.get("observed_at", "?"))
        text = f"*Found by the scheduled sweep* at {when}: no IAM change event reported it."
        return [{"type": "section", "text": _mrkdwn(text)}]
    who = actor_label(trigger.get("actorArn"))
    fields = [
        f"*Who*\n{code(who, 300)}",
        f"*What*\n{code(trigger.get('eventName'))}",
        f"*When*\n{escape(trigger.get('eventTime', '?'))}",
        f"*From*\n{code(trigger.get('sourceIPAddress') or 'unknown')}",
    ]
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": _mrkdwn("*The change*"),
            "fields": [_mrkdwn(field, FIELD_MAX) for field in fields],
        }
    ]
    parameters = parameter_lines(trigger.get("requestParameters") or {})
    if parameters:
        blocks.append({"type": "context", "elements": [_plain("\n".join(parameters), CONTEXT_MAX)]})
    return blocks


def _fix(document: dict[str, Any]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    fix = [str(line) for line in document.get("fix") or []]
    if fix:
        blocks.append({"type": "section", "text": _mrkdwn("*How to fix it*\n" + _code_block(fix))})
    if document.get("next"):
        blocks.append({"type": "context", "elements": [_plain(str(document["next"]), CONTEXT_MAX)]})
    return blocks


def _footer(document: dict[str, Any]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    url = console_url(document)
    if url is not None:
        kind = (document.get("principal") or {}).get("kind", "principal")
        button = {
            "type": "button",
            "text": {"type": "plain_text", "text": clip(f"Open the {kind} in the IAM console", BUTTON_MAX)},
            "url": url,
        }
        blocks.append({"type": "actions", "elements": [button]})
    alert_id = f"alert id {code(document.get('alert_id'))}"
    blocks.append({"type": "context", "elements": [_mrkdwn(alert_id, CONTEXT_MAX)]})
    return blocks


# -- messages ------------------------------------------------------------------------------------


def _fallback(document: dict[str, Any]) -> str:
    """The notification text (mrkdwn, shown where blocks are not): kind and principal, all escaped."""
    principal = document.get("principal") or {}
    kind = str(document.get("kind", "?"))
    name = principal.get("name") or principal.get("arn")
    return clip(
        f"RestoreWatch {escape(kind)}: {escape(principal.get('kind') or 'principal')} {code(name)} "
        f"(profile {code(document.get('profile'))})",
        FALLBACK_MAX,
    )


def _alert_blocks(document: dict[str, Any]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(story_title(document), HEADER_MAX)},
        _facts(document),
    ]
    if document.get("headline"):
        blocks.append({"type": "section", "text": _plain(str(document["headline"]), SECTION_MAX)})
    blocks += _actions(document)
    blocks += _why(document)
    blocks += _trigger(document)
    blocks += _fix(document)
    blocks.append({"type": "divider"})
    blocks += _footer(document)
    return blocks


def _digest_blocks(document: dict[str, Any]) -> list[dict[str, Any]]:
    alerts = list(document.get("alerts") or [])
    title = f"RestoreWatch: {len(alerts)} backup principals changed at once"
    blocks: list[dict[str, Any]] = [{"type": "header", "text": _plain(title, HEADER_MAX)}]
    if document.get("headline"):
        blocks.append({"type": "section", "text": _plain(str(document["headline"]), SECTION_MAX)})
    for alert in alerts[:DIGEST_ITEMS]:
        principal = alert.get("principal") or {}
        kind = str(alert.get("kind", "?"))
        line = (
            f"{EMOJI.get(kind, '')} *{escape(kind)}* {escape(principal.get('kind') or 'principal')} "
            f"{code(principal.get('name') or principal.get('arn'))} · profile {code(alert.get('profile'))}"
        )
        blocks.append({"type": "section", "text": _mrkdwn(line)})
    if len(alerts) > DIGEST_ITEMS:
        more = f"… and {len(alerts) - DIGEST_ITEMS} more: see the email digest or the report."
        blocks.append({"type": "context", "elements": [_plain(more, CONTEXT_MAX)]})
    blocks.append({"type": "context", "elements": [_mrkdwn(f"digest id {code(document.get('alert_id'))}")]})
    return blocks


def _alarm_blocks(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """A CloudWatch alarm of the stack (they share the alert topic): name, state and reason."""
    state = str(alarm.get("NewStateValue", "?"))
    mark = EMOJI["LOST"] if state == "ALARM" else EMOJI["RESTORED"]
    return [
        {"type": "header", "text": _plain(f"RestoreWatch alarm: {alarm.get('AlarmName', '?')}", HEADER_MAX)},
        {"type": "section", "text": _mrkdwn(f"{mark} *{escape(state)}*")},
        {"type": "section", "text": _plain(str(alarm.get("AlarmDescription") or ""), SECTION_MAX)},
        {"type": "context", "elements": [_plain(str(alarm.get("NewStateReason") or ""), CONTEXT_MAX)]},
    ]


def render_slack(document: dict[str, Any]) -> dict[str, Any]:
    """The webhook payload (``text`` fallback + ``blocks``) for an alert or digest document (or one
    of the stack's CloudWatch alarms, which publish to the same topic)."""
    if "AlarmName" in document and "kind" not in document:
        text = f"RestoreWatch alarm {code(document['AlarmName'])}: {escape(document.get('NewStateValue'))}"
        return {"text": clip(text, FALLBACK_MAX), "blocks": _alarm_blocks(document)}
    if document.get("kind") == "DIGEST":
        blocks = _digest_blocks(document)
        count = len(document.get("alerts") or [])
        text = f"RestoreWatch digest: {count} backup principals changed at once"
    else:
        blocks = _alert_blocks(document)
        text = _fallback(document)
    if len(blocks) > MAX_BLOCKS:
        blocks = [*blocks[: MAX_BLOCKS - 1], {"type": "context", "elements": [_plain("(shortened)", 20)]}]
    return {"text": text, "blocks": blocks, "unfurl_links": False, "unfurl_media": False}


def render_slack_message(message: str) -> dict[str, Any]:
    """The payload for one SNS message on the alert topic.

    Alerts and alarms are JSON objects; the stack's tamper rule publishes a plain sentence, which
    is posted as plain text (no formatting, links or mentions) rather than dropped.
    """
    try:
        document = json.loads(message)
    except ValueError:
        document = None
    if isinstance(document, dict):
        return render_slack(document)
    text = message if isinstance(message, str) else str(message)
    notice = f"RestoreWatch notice: {text}"
    return {
        "text": clip(escape(notice), FALLBACK_MAX),
        "blocks": [{"type": "section", "text": _plain(notice, SECTION_MAX)}],
        "unfurl_links": False,
        "unfurl_media": False,
    }


def slack_as_text(payload: dict[str, Any]) -> str:
    """A plain-text rendering of a payload, roughly as Slack shows it (for the demo and the logs)."""
    out: list[str] = []
    for block in payload.get("blocks", []):
        kind = block.get("type")
        if kind == "header":
            out += [block["text"]["text"], "=" * min(len(block["text"]["text"]), 60)]
        elif kind == "section":
            out.append(block["text"]["text"])
            out += [field["text"].replace("\n", ": ", 1) for field in block.get("fields", [])]
        elif kind == "context":
            out += [element.get("text", "") for element in block.get("elements", [])]
        elif kind == "actions":
            out += [f"[{e['text']['text']}] {e.get('url', '')}" for e in block.get("elements", [])]
        elif kind == "divider":
            out.append("-" * 40)
    return "\n".join(out)
