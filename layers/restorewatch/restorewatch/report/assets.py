"""The report page's inline stylesheet (screen and print) and script (sort, filter, print)."""
# ruff: noqa: E501  (CSS and JS lines are kept whole)

from __future__ import annotations

__all__ = ["PAGE_CSS", "PAGE_JS"]

PAGE_CSS = """
:root { --ok: #1a7f37; --part: #9a6700; --bad: #cf222e; --unk: #8250df; --na: #8c959f; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 1.5rem; color: #1f2328; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
.meta, .legend { color: #59636e; margin: .25rem 0 1rem; }
.summary { display: flex; flex-wrap: wrap; gap: .75rem; align-items: stretch; margin-bottom: 1rem; }
.verdict { flex-basis: 100%; font-size: 1.05rem; margin: 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: .5rem 1rem; min-width: 8rem; border-left-width: 6px; }
.card .n { display: block; font-size: 1.6rem; font-weight: 600; }
.card.total { border-left-color: #0969da; }
.b-compliant { border-left-color: var(--ok); } .b-degraded { border-left-color: var(--part); }
.b-non_compliant { border-left-color: var(--bad); } .b-unknown { border-left-color: var(--unk); }
.controls { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; margin-bottom: .5rem; }
.controls input[type=search] { padding: .3rem .5rem; min-width: 18rem; }
.wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: .35rem .5rem; vertical-align: top; text-align: left; }
thead th { background: #f6f8fa; position: sticky; top: 0; font-size: .8rem; white-space: nowrap; }
th.action span { display: inline-block; max-width: 9rem; overflow: hidden; text-overflow: ellipsis; }
th.sortable { cursor: pointer; user-select: none; }
th.sortable[aria-sort=ascending]::after { content: " ▲"; } th.sortable[aria-sort=descending]::after { content: " ▼"; }
th.who { font-weight: normal; min-width: 14rem; }
.arn, .acct { color: #59636e; font-size: .75rem; word-break: break-all; }
.kind { color: #59636e; font-size: .8rem; }
.error { color: var(--unk); font-size: .8rem; }
.badge { display: inline-block; padding: 0 .4rem; border-radius: 1rem; color: #fff; font-size: .75rem; white-space: nowrap; }
.badge.b-compliant { background: var(--ok); } .badge.b-degraded { background: var(--part); }
.badge.b-non_compliant { background: var(--bad); } .badge.b-unknown { background: var(--unk); }
.num { white-space: nowrap; }
.cell { white-space: nowrap; font-size: .8rem; }
.cell details { white-space: normal; }
.cell summary { cursor: pointer; white-space: nowrap; }
.cell ul { margin: .25rem 0 0; padding-left: 1rem; min-width: 16rem; }
.s-allowed { color: var(--ok); background: #dafbe1; } .s-partial { color: var(--part); background: #fff8c5; }
.s-denied { color: var(--bad); background: #ffebe9; } .s-unknown { color: var(--unk); background: #fbefff; }
.na { color: var(--na); }
tr.hidden { display: none; }
@media print {
  body { margin: 0; font-size: 10px; }
  .no-print { display: none !important; }
  .wrap { overflow: visible; border: none; }
  thead th { position: static; }
  th.action span { max-width: none; white-space: normal; }
  tr { break-inside: avoid; }
  tr.hidden { display: table-row; }
  .cell, .s-allowed, .s-partial, .s-denied, .s-unknown, .badge { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .cell summary { list-style: none; }
}
"""

PAGE_JS = """
(function () {
  "use strict";
  var table = document.getElementById("matrix");
  var body = table.tBodies[0];
  var text = document.getElementById("filter");
  var status = document.getElementById("status-filter");
  var problems = document.getElementById("problems-only");
  var shown = document.getElementById("shown");
  var cellRank = { denied: 0, unknown: 1, partial: 2, allowed: 3, na: 4 };
  var fixed = 4; // status, principal, profile, allowed: the action cells come after

  function key(row, how, col) {
    if (how === "rank") { return [Number(row.dataset.rank), row.dataset.name]; }
    if (how === "name") { return [row.dataset.name, row.dataset.profile]; }
    if (how === "profile") { return [row.dataset.profile, row.dataset.name]; }
    if (how === "allowed") { return [Number(row.dataset.allowed), row.dataset.name]; }
    var cell = row.cells[fixed + col];
    return [cellRank[cell.dataset.status], Number(row.dataset.rank), row.dataset.name];
  }
  function compare(a, b) {
    for (var i = 0; i < a.length; i++) {
      if (a[i] < b[i]) { return -1; }
      if (a[i] > b[i]) { return 1; }
    }
    return 0;
  }
  function sortBy(header) {
    var how = header.dataset.sort;
    var col = Number(header.dataset.col || 0);
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(table.tHead.querySelectorAll("th[aria-sort]"), function (th) {
      th.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var order = compare(key(a, how, col), key(b, how, col));
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  function filter() {
    var words = text.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var wanted = status.value;
    var count = 0;
    Array.prototype.forEach.call(body.rows, function (row) {
      var visible = words.every(function (word) { return row.dataset.search.indexOf(word) !== -1; })
        && (!wanted || row.dataset.status === wanted)
        && (!problems.checked || row.dataset.status !== "compliant");
      row.classList.toggle("hidden", !visible);
      if (visible) { count += 1; }
    });
    shown.textContent = count + " of " + body.rows.length + " shown";
  }
  Array.prototype.forEach.call(table.tHead.querySelectorAll("th.sortable"), function (th) {
    th.addEventListener("click", function () { sortBy(th); });
  });
  text.addEventListener("input", filter);
  status.addEventListener("change", filter);
  problems.addEventListener("change", filter);
  // a printed page shows every reason: open the details before printing, close them after
  var opened = [];
  window.addEventListener("beforeprint", function () {
    opened = Array.prototype.filter.call(document.querySelectorAll("details:not([open])"), function (d) {
      d.open = true;
      return true;
    });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; });
  });
  filter();
})();
"""
