"""The alert's Subject line: under 100 characters, ASCII, naming the principal and what happened.

SNS rejects a Subject of 100 characters or more, with line breaks or control characters, so the
principal's name is shortened (never the verdict) when it does not fit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restorewatch.domain import AlertKind
from restorewatch.engine.model import RequirementStatus

if TYPE_CHECKING:
    from restorewatch.domain import Transition

MAX_SUBJECT = 99
PREFIX = "RestoreWatch"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def principal_label(transition: Transition) -> str:
    kind = transition.principal_kind.value if transition.principal_kind is not None else "principal"
    return f"{kind} {transition.name or transition.arn}"


def _text(kind: AlertKind, who: str, transition: Transition) -> str:
    if kind is AlertKind.LOST:
        lost = len(transition.changed(RequirementStatus.DENIED))
        return f"{who} lost {_plural(lost, 'restore action')}"
    if kind is AlertKind.DEGRADED:
        partial = len(transition.changed(RequirementStatus.PARTIAL))
        return f"{who} has {_plural(partial, 'restore action')} only in part"
    if kind is AlertKind.RESTORED:
        return f"{who} can restore again"
    if kind is AlertKind.UNKNOWN:
        return f"could not check {who}"
    if kind is AlertKind.UNWATCHED:
        return f"{who} is no longer watched"
    return f"watched {who} was deleted"


def build_subject(transition: Transition) -> str:
    kind = transition.kind
    head = f"{PREFIX} {kind.value}: "
    who = _ascii(principal_label(transition))
    subject = head + _text(kind, who, transition)
    excess = len(subject) - MAX_SUBJECT
    if excess > 0:
        who = who[: max(len(who) - excess - 3, 1)] + "..."
        subject = head + _text(kind, who, transition)
    return subject[:MAX_SUBJECT]


def _ascii(text: str) -> str:
    # IAM names are ASCII already; this guards the Subject against anything else SNS would reject
    return "".join(char if " " <= char <= "~" else "?" for char in text)
