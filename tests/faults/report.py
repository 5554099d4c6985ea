"""The guarantees report: what the fault, storm, fuzz, tamper, least-privilege and load tests saw.

A pytest plugin (registered by ``tests/conftest.py``). Tests record *observed* results here
(``record_cell``, ``record_figure``, ``record_fuzz``, ``record_row``); at the end of the run the
plugin prints them (``pytest_terminal_summary``) and, when ``RESTOREWATCH_WRITE_GUARANTEES=1`` and
every recording test passed, rewrites the generated sections of ``docs/guarantees.md`` (between
``<!-- BEGIN name -->`` and ``<!-- END name -->`` markers; the prose around them is hand-written).

The summary (``summary_markdown``: the bullets at the top of docs/guarantees.md) is generated too,
from the same run's figures, and written to the README's "What RestoreWatch guarantees" as well
(between the same markers), so that the two always quote one run.

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
REPO_ROOT = Path(__file__).resolve().parents[2]
DOC_PATH = REPO_ROOT / "docs" / "guarantees.md"
README_PATH = REPO_ROOT / "README.md"
SUMMARY = "summary"  # the generated section both files carry
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


# The folders whose tests record into the report: a failure there keeps docs/guarantees.md as it is.
RECORDING_FOLDERS = ("tests/faults/", "tests/security/")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    nodeid = report.nodeid.replace("\\", "/")
    if report.failed and any(folder in nodeid for folder in RECORDING_FOLDERS):
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


def _figures_markdown(name: str) -> str:
    figures = _data["figures"].get(name, {})
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


def summary_markdown() -> str:
    """The guarantees in seven bullets, every figure from this run (empty unless the run had the
    matrix, the storm, the fuzz properties and the load test: a partial run does not rewrite it)."""
    facts = _data["figures"].get(SUMMARY, {})
    fuzz = sum(_data["fuzz"].values())
    if not fuzz or not all(key in facts for key in ("matrix", "storm", "load")):
        return ""
    matrix, storm, load = facts["matrix"], facts["storm"], facts["load"]
    sweep = f"; sweeps (`bench/sweep.py`): {load['sweeps']}" if load.get("sweeps") else ""
    heard = _data["figures"].get("tamper", {}).get("heard")
    tamper = f"a notice received on moto's EventBridge for each of {heard} calls" if heard else "tested"
    reads = _data["figures"].get("least-privilege", {}).get("iam_reads")
    iam_reads = f"the {reads} IAM reads the code makes are listed one by one" if reads else "IAM reads listed"
    return "\n".join(
        [
            "- **No lost, repeated or silent alert under AWS faults**: every AWS call the watcher makes "
            f"({matrix['rows']} call rows: an account in no organization, a member account, and the "
            "organization's central watcher; a test run fails on any AWS operation the package "
            f"issues without a row) x {matrix['faults']} faults x first/every attempt "
            f"({matrix['full']} cells with `MATRIX=full`, {matrix['default']} per CI run) each end in "
            "exactly one `LOST`, an intact DLQ message, or an `UNKNOWN` naming the call.",
            "- **Crash-safe**: a crash after the state save publishes once; a crash after SNS accepted "
            "re-publishes the same `alert_id` once (deduplicate by id).",
            f"- **Storms**: shuffled, duplicated events on {storm['threads']} concurrent consumers "
            f"({storm['ci_events']} events / {storm['ci_principals']} principals per CI run; "
            f"{storm['full_events']} / {storm['full_principals']} with `STORM=full`): each transition "
            "alerted once, final state = a sweep's.",
            f"- **Bad input**: {fuzz:,} fuzzed examples per run (policies, events, SQS batches, profiles, "
            "tags, CLI, handler): never a crash.",
            "- **Tampering**: four EventBridge rules hear every way to silence the watcher found (its "
            "rules, functions, queue mappings, queues, table, alarms, topics and subscriptions, and the "
            "alert key, on the stack's own resources only) and send who did what to a tamper topic that "
            "does not depend on the alert key; tampering with that path goes to the alert topic: each "
            f"path watches the other ({tamper}); `SweepMissingAlarm` after 26 h without a sweep.",
            "- **Least privilege, no leaks**: the functions' roles have no IAM write and no wildcard "
            f"action ({iam_reads}), write only to the stack's own resources, and assume member roles "
            "only inside the watcher's organization; no secret in either function's logs at DEBUG.",
            f"- **Load**: an SQS batch of 100 events for one account in {load['seconds']:.1f} s and "
            f"{load['peak_mb']:.0f} MB (moto, in-process){sweep}; inside the function's 512 MB.",
        ]
    )


def sections() -> dict[str, str]:
    return {
        SUMMARY: summary_markdown(),
        "fault-matrix": fault_matrix_markdown(),
        "storm": _figures_markdown("storm"),
        "fuzz": fuzz_markdown(),
        "tamper": rows_markdown("tamper"),
        "least-privilege": rows_markdown("least-privilege"),
        "supply-chain": rows_markdown("supply-chain"),
        "poison": rows_markdown("poison"),
        "wildcards": rows_markdown("wildcards"),
        "load": _figures_markdown("load"),
    }


def replace_section(text: str, name: str, body: str) -> tuple[str, int]:
    """``text`` with the section between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` replaced."""
    # an empty section ("BEGIN\nEND") must match too, or a section once emptied is never written again
    pattern = re.compile(rf"(<!-- BEGIN {name} -->\n)(?:.*?\n)?(<!-- END {name} -->)", re.DOTALL)
    return pattern.subn(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def section(text: str, name: str) -> str | None:
    """The body of section ``name`` in ``text`` (``None`` without its markers)."""
    found = re.search(rf"<!-- BEGIN {name} -->\n(?:(.*?)\n)?<!-- END {name} -->", text, re.DOTALL)
    return (found.group(1) or "") if found else None


def write_doc(path: Path = DOC_PATH, readme: Path = README_PATH) -> list[str]:
    """Replace each generated section of ``path`` that this run produced (and the summary in
    ``readme``); return their names."""
    text = path.read_text(encoding="utf-8")
    written = []
    for name, body in sections().items():
        if not body:
            continue
        text, count = replace_section(text, name, body)
        if count:
            written.append(name)
    path.write_text(text, encoding="utf-8")
    summary = sections()[SUMMARY]
    if summary:
        quoted, count = replace_section(readme.read_text(encoding="utf-8"), SUMMARY, summary)
        if count:
            readme.write_text(quoted, encoding="utf-8")
            written.append(f"{SUMMARY} ({readme.name})")
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
        from support.aws_calls import FAILED as AWS_CALLS_FAILED

        if _data["failed"] or exitstatus != 0 or config.stash.get(AWS_CALLS_FAILED, False):
            terminalreporter.write_line(f"{DOC_PATH.name} not written: the run failed")
        else:
            written = write_doc()
            terminalreporter.write_line(f"{DOC_PATH} and {README_PATH.name} updated: {', '.join(written)}")
