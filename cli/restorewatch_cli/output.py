"""Rendering results: JSON for machines, a table for people (coloured only on a terminal)."""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING, TextIO

from restorewatch.compliance import ComplianceStatus
from restorewatch.engine.model import RequirementStatus

if TYPE_CHECKING:
    from collections.abc import Sequence

    from restorewatch.catalog import CatalogVersion
    from restorewatch.compliance import PrincipalCheck
    from restorewatch.engine.model import RequestResult

__all__ = ["render_check_json", "render_check_table", "render_request_json", "use_colour"]

_RED, _GREEN, _YELLOW, _MAGENTA = "31", "32", "33", "35"
_COLOURS = {
    ComplianceStatus.COMPLIANT.value: _GREEN,
    ComplianceStatus.DEGRADED.value: _YELLOW,
    ComplianceStatus.NON_COMPLIANT.value: _RED,
    ComplianceStatus.UNKNOWN.value: _MAGENTA,
    RequirementStatus.ALLOWED.value: _GREEN,
    RequirementStatus.PARTIAL.value: _YELLOW,
    RequirementStatus.DENIED.value: _RED,
}


def use_colour(stream: TextIO) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _paint(text: str, status: str, colour: bool) -> str:
    code = _COLOURS.get(status)
    return f"\033[{code}m{text}\033[0m" if colour and code else text


def _catalog() -> CatalogVersion:
    from restorewatch.catalog import default_catalog

    return default_catalog().catalog_version()


def render_check_json(checks: Sequence[PrincipalCheck]) -> str:
    """``{"catalog": ..., "principals": [check.as_dict(), ...]}`` as ``json.dumps(..., indent=2)``
    writes it, byte for byte; ``catalog`` names the action catalog the checks used (evaluation spec,
    "The action catalog").

    Most actions of a large account have the same result as some other principal's (the same
    "allowed by" reason of a shared managed policy: on the 5,000-principal benchmark account 12,265
    actions, 3,202 distinct), so each distinct action is encoded once, all of them in one call of
    the C encoder, and the document is joined once from the pieces (one copy of a text of several
    MB, not one per nesting level).
    """
    distinct: dict[tuple[object, ...], int] = {}  # an action's fields, its reasons by identity -> index
    values: list[dict[str, object]] = []
    listed: list[list[int]] = []  # per check, the index of each action's text
    for check in checks:
        indexes: list[int] = []
        for action in check.actions:
            # the reasons are alive (in ``checks``) while this runs, so their ids are theirs alone;
            # the status by id too: hashing an Enum member runs Python code
            key = (action.action, id(action.status), action.resource, *map(id, action.reasons))
            index = distinct.get(key)
            if index is None:
                index = distinct[key] = len(values)
                values.append(action.as_dict())
            indexes.append(index)
        listed.append(indexes)
    texts = _encode_each(values, _ACTION_DEPTH)
    document = _ENCODER.encode({"catalog": _catalog().as_dict(), "principals": []})
    if not checks:
        return document
    parts: list[str] = []
    after = _open_list(parts, document, "principals", 0)
    for number, (check, indexes) in enumerate(zip(checks, listed, strict=True)):
        parts.append(_NEXT_PRINCIPAL if number else _FIRST_PRINCIPAL)
        head = _ENCODER.encode(replace(check, actions=()).as_dict())
        head = head.replace("\n", "\n" + " " * (_INDENT * _PRINCIPAL_DEPTH))
        if not indexes:
            parts.append(head)
            continue
        after_actions = _open_list(parts, head, "actions", _PRINCIPAL_DEPTH)
        parts.append(_FIRST_ACTION)
        parts.append(texts[indexes[0]])
        for index in indexes[1:]:
            parts.append(_NEXT_ACTION)
            parts.append(texts[index])
        parts.append(after_actions)
    parts.append(after)
    return "".join(parts)


_INDENT = 2
_PRINCIPAL_DEPTH = 2  # in the document, its "principals" list
_ACTION_DEPTH = 4  # ... a principal, its "actions" list
_ENCODER = json.JSONEncoder(indent=_INDENT)  # json.dumps(indent=2) makes one per call
# what goes before the first and each later item of the lists
_FIRST_PRINCIPAL = "\n" + " " * (_INDENT * _PRINCIPAL_DEPTH)
_NEXT_PRINCIPAL = "," + _FIRST_PRINCIPAL
_FIRST_ACTION = "\n" + " " * (_INDENT * _ACTION_DEPTH)
_NEXT_ACTION = "," + _FIRST_ACTION


def _encode_each(values: list[dict[str, object]], depth: int) -> list[str]:
    """The text of each of ``values`` (JSON objects) as ``json.dumps(indent=2)`` writes it ``depth``
    containers deep in a larger document, encoded in one call (each call of the encoder costs more
    than encoding an action). They are written as the items of a list ``depth - 1`` lists deep, so
    that their lines are indented as they will be, and cut apart where one item ends and the next
    begins: the only lines indented by exactly ``depth`` levels that start with ``{``."""
    if not values:
        return []
    nested: object = values
    for _ in range(depth - 1):
        nested = [nested]
    text = _ENCODER.encode(nested)
    pad = " " * (_INDENT * depth)
    opening = "".join(f"{' ' * (_INDENT * level)}[\n" for level in range(depth)) + pad
    closing = "".join(f"\n{' ' * (_INDENT * level)}]" for level in reversed(range(depth)))
    assert text.startswith(opening), "not written as expected"
    assert text.endswith(closing), "not written as expected"
    first, *rest = text[len(opening) : -len(closing)].split(f",\n{pad}{{")
    return [first, *("{" + item for item in rest)]


def _open_list(parts: list[str], text: str, key: str, depth: int) -> str:
    """Append to ``parts`` the part of ``text`` (an object ``depth`` containers deep, written with
    an empty list under ``key``) up to that list's opening bracket; return what follows its items
    (the closing bracket and the rest of ``text``). The empty list is found on its own line: a
    JSON string holds no raw line break, so no value can be mistaken for it."""
    indent = " " * (_INDENT * (depth + 1))
    head, found, tail = text.partition(f'\n{indent}"{key}": []')
    assert found, f"{key} not written as expected"
    parts.append(f'{head}\n{indent}"{key}": [')
    return f"\n{indent}]{tail}"


def render_check_table(checks: Sequence[PrincipalCheck], *, colour: bool, empty_note: str) -> str:
    """One row per principal and profile, then its missing and partial actions with their reasons."""
    if not checks:
        return empty_note
    header = ("STATUS", "PRINCIPAL", "PROFILE", "ALLOWED")
    rows = [
        (
            check.status.value,
            check.arn,
            check.profile,
            f"{sum(a.status is RequirementStatus.ALLOWED for a in check.actions)}/{len(check.actions)}",
        )
        for check in checks
    ]
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(3)]
    lines = ["  ".join(title.ljust(width) for title, width in zip(header, [*widths, 0], strict=True))]
    for check, row in zip(checks, rows, strict=True):
        status = _paint(row[0].ljust(widths[0]), row[0], colour)
        lines.append(f"{status}  {row[1].ljust(widths[1])}  {row[2].ljust(widths[2])}  {row[3]}")
        if check.error:
            lines.append(f"    error: {check.error}")
        for action in check.actions:
            if action.status is RequirementStatus.ALLOWED:
                continue
            label = _paint(action.status.value.ljust(8), action.status.value, colour)
            on = f" on {action.resource}" if action.resource is not None else ""
            lines.append(f"    {label} {action.action}{on}")
            lines.extend(f"        - {reason.message}" for reason in action.reasons)
    counts = Counter(check.status.value for check in checks)
    summary = ", ".join(f"{counts[status.value]} {status.value}" for status in ComplianceStatus)
    lines.append("")
    lines.append(f"AWS action catalog: {_catalog()}")
    lines.append(f"{len(checks)} checked: {summary}")  # last: scripts read the summary there
    return "\n".join(lines).rstrip()


def render_request_json(result: RequestResult) -> str:
    return json.dumps(
        {
            "decision": result.decision.value,
            "explanation": result.explanation,
            "reasons": [reason.as_dict() for reason in result.reasons],
        },
        indent=2,
    )
