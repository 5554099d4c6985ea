"""Rendering results: JSON for machines, a table for people (coloured only on a terminal)."""

from __future__ import annotations

import json
import os
from collections import Counter
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
    """``catalog`` names the action catalog the checks used (evaluation spec, "The action catalog")."""
    return json.dumps(
        {"catalog": _catalog().as_dict(), "principals": [check.as_dict() for check in checks]}, indent=2
    )


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
