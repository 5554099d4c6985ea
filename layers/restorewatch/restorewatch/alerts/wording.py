"""Words for people, shared by the email, Slack and the report (pure).

A person reads names, not ARNs: every ARN shown gets its name beside it, CloudTrail's caller ARN
becomes "alice (assumed role Admin)", and request parameters are listed as short lines, never JSON.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from restorewatch.domain import parse_arn

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["actor_label", "arn_label", "arn_name", "parameter_lines", "service_of"]

MAX_VALUE = 160  # one request parameter value, before it is shortened
# CloudTrail request parameters that hold a whole policy document (summarised, never printed as JSON)
_DOCUMENT_KEYS = frozenset({"policyDocument", "assumeRolePolicyDocument"})


def arn_name(arn: str) -> str:
    """The last path segment of an ARN's resource ("VeeamRestore" for ``...:role/path/VeeamRestore``)."""
    parsed = parse_arn(arn)
    return parsed.name if parsed is not None else arn


def arn_label(value: str) -> str:
    """``"Name (arn)"`` for an ARN, the value itself otherwise."""
    if not value.startswith("arn:"):
        return value
    return f"{arn_name(value)} ({value})"


def actor_label(arn: str | None) -> str:
    """Who made the call, by name first: CloudTrail gives only the caller's ARN."""
    if not arn:
        return "an unknown caller"
    parsed = parse_arn(arn)
    if parsed is None:
        return arn
    if parsed.service == "sts" and parsed.resource_type == "assumed-role":
        role, _, session = parsed.resource_id.partition("/")
        return f"{session or role} (assumed role {role}, {arn})"
    if parsed.resource_type == "user":
        return f"user {parsed.name} ({arn})"
    if parsed.resource == "root":
        return f"the root user of account {parsed.account} ({arn})"
    return arn_label(arn)


def service_of(action: str) -> str:
    return action.partition(":")[0].lower() or action


def _document_summary(text: Any) -> str:
    try:
        document = json.loads(text) if isinstance(text, str) else text
        statements = document.get("Statement", [])
    except (ValueError, AttributeError):
        return "a policy document"
    if isinstance(statements, dict):
        statements = [statements]
    parts = []
    for statement in statements if isinstance(statements, list) else []:
        if not isinstance(statement, dict):
            continue
        listed = statement.get("Action", statement.get("NotAction")) or []
        actions = [listed] if isinstance(listed, str) else list(listed)
        negated = "everything but " if "NotAction" in statement and "Action" not in statement else ""
        sid = f" ({statement['Sid']})" if statement.get("Sid") else ""
        parts.append(f"{statement.get('Effect', '?')}{sid} {negated}{', '.join(map(str, actions))}")
    count = len(parts)
    head = f"a policy document with {count} statement{'s' if count != 1 else ''}"
    return f"{head}: {'; '.join(parts)}" if parts else head


def _value(key: str, value: Any) -> str:
    if key in _DOCUMENT_KEYS:
        text = _document_summary(value)
    elif isinstance(value, str):
        text = arn_label(value)
    elif isinstance(value, list | tuple):
        text = ", ".join(_value(key, item) for item in value)
    elif isinstance(value, dict):
        text = ", ".join(f"{k} {_value(str(k), v)}" for k, v in value.items())
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def parameter_lines(parameters: Mapping[str, Any]) -> list[str]:
    """``key: value`` lines for the request parameters of a CloudTrail event, in a stable order."""
    return [f"{key}: {_value(key, parameters[key])}" for key in sorted(parameters)]
