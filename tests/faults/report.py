"""The guarantees report: what the fault, storm, fuzz, tamper, least-privilege and load tests saw.

A pytest plugin (registered by ``tests/conftest.py``). Tests record *observed* results here
(``record_cell``, ``record_figure``, ``record_fuzz``, ``record_row``); at the end of the run the
plugin prints them (``pytest_terminal_summary``) and, when ``RESTOREWATCH_WRITE_GUARANTEES=1`` and
every recording test passed, rewrites the generated sections of ``docs/guarantees.md`` (between
``<!-- BEGIN name -->`` and ``<!-- END name -->`` markers; the prose around them is hand-written).

Under pytest-xdist each worker records its own share; ``pytest_sessionfinish`` hands it to the
controller through ``config.workeroutput``, which ``pytest_testnodedown`` merges.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from _pytest.terminal import TerminalReporter

WRITE_ENV = "RESTOREWATCH_WRITE_GUARANTEES"
DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "guarantees.md"
_WORKER_KEY = "restorewatch_guarantees"

_lock = threading.Lock()
_data: dict[str, Any] = {"cells": [], "figures": {}, "fuzz": {}, "rows": defaultdict(list), "failed": 0}


def record_cell(call: str, fault: str, mode: str, outcome: str, detail: str = "") -> None:
    """One cell of the fault matrix: what ``call`` failing with ``fault`` on ``mode`` led to."""
    with _lock:
        _data["cells"].append(
            {"call": call, "fault": fault, "mode": mode, "outcome": outcome, "detail": detail}
        )


def record_figure(section: str, name: str, value: Any) -> None:
    """A measured figure (storm, load), shown as ``name: value`` under ``section``."""
    with _lock:
        _data["figures"].setdefault(section, {})[name] = value


def record_fuzz(prop: str, examples: int) -> None:
    """``examples`` hypothesis examples ran through property ``prop``."""
    with _lock:
        _data["fuzz"][prop] = _data["fuzz"].get(prop, 0) + examples


def record_row(table: str, row: dict[str, str]) -> None:
    """A row of a named table (tamper, least privilege, supply chain)."""
    with _lock:
        _data["rows"][table].append(row)


# ---- merging (xdist) ---------------------------------------------------------------------------


def _merge(other: dict[str, Any]) -> None:
    with _lock:
        _data["cells"].extend(other.get("cells", []))
        for section, figures in other.get("figures", {}).items():
            _data["figures"].setdefault(section, {}).update(figures)
        for prop, count in other.get("fuzz", {}).items():
            _data["fuzz"][prop] = _data["fuzz"].get(prop, 0) + count
        for table, rows in other.get("rows", {}).items():
            _data["rows"][table].extend(rows)
        _data["failed"] += other.get("failed", 0)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.failed and "tests/faults/" in report.nodeid.replace("\\", "/"):
        with _lock:
            _data["failed"] += 1


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the results to the controller
        with _lock:
            workeroutput[_WORKER_KEY] = json.dumps({**_data, "rows": dict(_data["rows"])})


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    output = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
    if output:
        _merge(json.loads(output))


# ---- rendering ---------------------------------------------------------------------------------


def _table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def fault_matrix_markdown() -> str:
    cells = _data["cells"]
    if not cells:
        return ""
    faults = list(dict.fromkeys(cell["fault"] for cell in cells))
    by_key: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for cell in cells:
        by_key[cell["call"], cell["mode"]][cell["fault"]] = cell["outcome"]
    rows = [
        [call, mode] + [outcomes.get(f, "-") for f in faults] for (call, mode), outcomes in by_key.items()
    ]
    rows.sort()
    outcomes = sorted({cell["outcome"] for cell in cells})
    summary = ", ".join(f"{o}: {sum(1 for c in cells if c['outcome'] == o)}" for o in outcomes)
    return f"{len(cells)} cells ({summary}).\n\n" + _table(["call", "fails on", *faults], rows)


def _figures_markdown(section: str) -> str:
    figures = _data["figures"].get(section, {})
    return "\n".join(f"- {name}: {value}" for name, value in sorted(figures.items()))


def fuzz_markdown() -> str:
    fuzz = _data["fuzz"]
    if not fuzz:
        return ""
    rows = [[prop, str(count)] for prop, count in sorted(fuzz.items())]
    rows.append(["**total**", f"**{sum(fuzz.values())}**"])
    return _table(["property", "examples run"], rows)


def rows_markdown(table: str) -> str:
    rows = _data["rows"].get(table, [])
    if not rows:
        return ""
    headers = list(dict.fromkeys(key for row in rows for key in row))
    body = sorted([[row.get(h, "") for h in headers] for row in rows])
    return _table(headers, body)


def sections() -> dict[str, str]:
    return {
        "fault-matrix": fault_matrix_markdown(),
        "storm": _figures_markdown("storm"),
        "fuzz": fuzz_markdown(),
        "tamper": rows_markdown("tamper"),
        "least-privilege": rows_markdown("least-privilege"),
        "supply-chain": rows_markdown("supply-chain"),
        "load": _figures_markdown("load"),
    }


def write_doc(path: Path = DOC_PATH) -> list[str]:
    """Replace each generated section of ``path`` that this run produced; return their names."""
    text = path.read_text(encoding="utf-8")
    written = []
    for name, body in sections().items():
        if not body:
            continue
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(\n<!-- END {name} -->)", re.DOTALL)
        text, count = pattern.subn(lambda m, body=body: m.group(1) + body + m.group(2), text)
        if count:
            written.append(name)
    path.write_text(text, encoding="utf-8")
    return written


def pytest_terminal_summary(
    terminalreporter: TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    if getattr(config, "workeroutput", None) is not None:
        return
    produced = {name: body for name, body in sections().items() if body}
    if not produced:
        return
    terminalreporter.section("RestoreWatch guarantees")
    for name, body in produced.items():
        terminalreporter.write_line(f"## {name}")
        for line in body.splitlines():
            terminalreporter.write_line(line)
        terminalreporter.write_line("")
    if _data["fuzz"]:
        terminalreporter.write_line(f"fuzz examples run: {sum(_data['fuzz'].values())}")
    if os.environ.get(WRITE_ENV) == "1":
        if _data["failed"] or exitstatus != 0:
            terminalreporter.write_line(f"{DOC_PATH.name} not written: the run failed")
        else:
            written = write_doc()
            terminalreporter.write_line(f"{DOC_PATH} updated: {', '.join(written)}")
