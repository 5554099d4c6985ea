"""The status report: one self-contained HTML page, every watched principal against its profile (pure).

No external resource at all (CSS and JS are inline, the Content-Security-Policy forbids fetching
anything), so the page works from an S3 bucket, an email attachment or a file on disk, and prints.
Summary on top; then the matrix, one row per (principal, profile) and one column per required
action, each cell allowed / partial / denied / unknown with its reasons in the cell's tooltip and in
an expandable ``<details>``. Rows sort by clicking a column header and filter by text and status.
Every text from IAM is HTML-escaped.
"""

from __future__ import annotations

import html
from collections import Counter
from typing import TYPE_CHECKING

from restorewatch.compliance import ComplianceStatus
from restorewatch.engine.model import RequirementStatus
from restorewatch.state.model import format_time

from .assets import PAGE_CSS, PAGE_JS

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from restorewatch.compliance import ActionCheck, PrincipalCheck

__all__ = ["render_report"]

# the order a "worst first" sort uses (and the summary shows)
STATUS_RANK = {
    ComplianceStatus.NON_COMPLIANT: 0,
    ComplianceStatus.UNKNOWN: 1,
    ComplianceStatus.DEGRADED: 2,
    ComplianceStatus.COMPLIANT: 3,
}
STATUS_LABEL = {
    ComplianceStatus.NON_COMPLIANT: "non-compliant",
    ComplianceStatus.UNKNOWN: "unknown",
    ComplianceStatus.DEGRADED: "degraded",
    ComplianceStatus.COMPLIANT: "compliant",
}
CELL_MARK = {
    RequirementStatus.ALLOWED: "✓",
    RequirementStatus.PARTIAL: "◐",
    RequirementStatus.DENIED: "✗",
    RequirementStatus.UNKNOWN: "?",
}
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


_CELL_RANK = {
    RequirementStatus.DENIED: 0,
    RequirementStatus.UNKNOWN: 1,
    RequirementStatus.PARTIAL: 2,
    RequirementStatus.ALLOWED: 3,
}


def _columns(checks: Sequence[PrincipalCheck]) -> list[str]:
    """Every action any profile requires: the ones in trouble first (so they show without
    scrolling), then in the order the profiles list them."""
    order = list(dict.fromkeys(action.action for check in checks for action in check.actions))
    worst = dict.fromkeys(order, 3)
    for check in checks:
        for action in check.actions:
            worst[action.action] = min(worst[action.action], _CELL_RANK[action.status])
    return sorted(order, key=lambda name: (worst[name], order.index(name)))


def _cell(action: ActionCheck | None) -> str:
    if action is None:
        return '<td class="cell na" data-status="na" title="not required by this profile">–</td>'
    status = action.status.value
    reasons = [reason.message for reason in action.reasons]
    tip = "\n".join(reasons) if reasons else status
    mark = CELL_MARK[action.status]
    if not reasons or action.status is RequirementStatus.ALLOWED:  # why it is allowed: on hover only
        return f'<td class="cell s-{status}" data-status="{status}" title="{_e(tip)}">{mark} {status}</td>'
    items = "".join(f"<li>{_e(reason)}</li>" for reason in reasons)
    return (
        f'<td class="cell s-{status}" data-status="{status}" title="{_e(tip)}">'
        f"<details><summary>{mark} {status}</summary><ul>{items}</ul></details></td>"
    )


def _row(check: PrincipalCheck, columns: list[str]) -> str:
    by_action = {action.action: action for action in check.actions}
    allowed = sum(1 for a in check.actions if a.status is RequirementStatus.ALLOWED)
    kind = check.kind.value if check.kind is not None else "principal"
    account = check.account + (f" ({check.account_name})" if check.account_name else "")
    search = " ".join((check.name, check.arn, check.profile, kind, account, check.status.value)).lower()
    error = f'<div class="error">{_e(check.error)}</div>' if check.error else ""
    cells = "".join(_cell(by_action.get(column)) for column in columns)
    return (
        f'<tr data-status="{check.status.value}" data-rank="{STATUS_RANK[check.status]}" '
        f'data-name="{_e(check.name.lower())}" data-profile="{_e(check.profile)}" '
        f'data-allowed="{allowed}" data-search="{_e(search)}">'
        f'<td class="status"><span class="badge b-{check.status.value}">'
        f"{STATUS_LABEL[check.status]}</span></td>"
        f'<th scope="row" class="who"><strong>{_e(check.name)}</strong> '
        f'<span class="kind">{_e(kind)}</span><div class="arn">{_e(check.arn)}</div>'
        f'<div class="acct">account {_e(account)}</div>{error}</th>'
        f'<td class="profile">{_e(check.profile)}</td>'
        f'<td class="num">{allowed}/{len(check.actions)}</td>{cells}</tr>'
    )


def _summary(checks: Sequence[PrincipalCheck]) -> str:
    counts = Counter(check.status for check in checks)
    cards = "".join(
        f'<div class="card b-{status.value}">'
        f'<span class="n" id="count-{status.value}">{counts[status]}</span>'
        f"<span>{STATUS_LABEL[status]}</span></div>"
        for status in sorted(ComplianceStatus, key=STATUS_RANK.__getitem__)
    )
    total = (
        f'<div class="card total"><span class="n" id="count-total">{len(checks)}</span>'
        "<span>checked</span></div>"
    )
    problems = len(checks) - counts[ComplianceStatus.COMPLIANT]
    verdict = (
        "Every watched principal can perform every restore action of its profile."
        if checks and not problems
        else f"{problems} of {len(checks)} watched principal/profile pairs cannot fully restore."
        if checks
        else "No watched principal: no user or role carries the watch tag."
    )
    verdict_html = f'<p class="verdict" id="verdict">{_e(verdict)}</p>'
    return f'<section class="summary">{verdict_html}{total}{cards}</section>'


def render_report(
    checks: Sequence[PrincipalCheck],
    *,
    generated_at: datetime,
    title: str = "RestoreWatch status report",
    source: str = "",
    catalog: str | None = None,
) -> str:
    """The whole page. ``checks`` in any order: the page shows the worst first.

    ``catalog`` names the action catalog the checks used (default: the installed one), so that a
    page can be traced to the data behind its answers.
    """
    ordered = sorted(checks, key=lambda c: (STATUS_RANK[c.status], c.name.lower(), c.profile))
    columns = _columns(ordered)
    accounts = sorted({check.account for check in ordered if check.account})
    head = "".join(
        f'<th scope="col" class="action sortable" data-sort="col" data-col="{index}" '
        f'title="{_e(action)}"><span>{_e(action)}</span></th>'
        for index, action in enumerate(columns)
    )
    rows = "".join(_row(check, columns) for check in ordered)
    options = "".join(
        f'<option value="{status.value}">{STATUS_LABEL[status]}</option>'
        for status in sorted(ComplianceStatus, key=STATUS_RANK.__getitem__)
    )
    meta = f"Generated {_e(format_time(generated_at))}"
    if accounts:
        meta += f" · account{'s' if len(accounts) > 1 else ''} {_e(', '.join(accounts))}"
    if source:
        meta += f" · {_e(source)}"
    if catalog is None:
        from restorewatch.catalog import default_catalog

        catalog = default_catalog().version
    meta += f" · AWS action catalog {_e(catalog)}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>{_e(title)}</title>
<style>{PAGE_CSS}</style>
</head>
<body>
<header><h1>{_e(title)}</h1><p class="meta">{meta}</p></header>
{_summary(ordered)}
<section class="controls no-print">
<label>Filter <input id="filter" type="search" placeholder="principal, profile, account..."></label>
<label>Status <select id="status-filter"><option value="">all</option>{options}</select></label>
<label><input id="problems-only" type="checkbox"> only principals that cannot fully restore</label>
<span id="shown" aria-live="polite"></span>
</section>
<p class="legend">✓ allowed · ◐ partial (only some resources or conditions) · ✗ denied · ? unknown (could not
be checked) · – not required by the profile. Hover a cell for its reasons, or click it to expand them.</p>
<div class="wrap">
<table id="matrix">
<thead><tr>
<th scope="col" class="sortable" data-sort="rank">Status</th>
<th scope="col" class="sortable" data-sort="name">Principal</th>
<th scope="col" class="sortable" data-sort="profile">Profile</th>
<th scope="col" class="sortable" data-sort="allowed">Allowed</th>{head}
</tr></thead>
<tbody>{rows}</tbody>
</table>
</div>
<script>{PAGE_JS}</script>
</body>
</html>
"""
