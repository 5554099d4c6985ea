"""The guarantees report's figures come from runs, and the README and docs/guarantees.md agree.

The summary bullets are generated (``report.summary_markdown``) into both files from one run; the
load test's figures and the sweep benchmark's recorded results are what they quote.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from . import report
from .bench_results import SweepFigures, sweep_figures, sweep_line

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

LOAD_SUMMARY = re.compile(r"an SQS batch of 100 events for one account in ([\d.]+) s and (\d+) MB")
LOAD_FIGURE = re.compile(
    r"batch of 100 SQS events, one account .*?: ([\d.]+) s wall(?: \([\d.]+ s CPU\))?, (\d+) MB peak"
)


def _doc(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_readme_quotes_the_summary_of_docs_guarantees() -> None:
    summary = report.section(_doc(report.DOC_PATH), report.SUMMARY)
    assert summary is not None, "docs/guarantees.md has no generated summary"
    assert report.section(_doc(report.README_PATH), report.SUMMARY) == summary


def test_summary_quotes_the_load_section_of_the_same_run() -> None:
    doc = _doc(report.DOC_PATH)
    summary, load = report.section(doc, report.SUMMARY), report.section(doc, "load")
    assert summary is not None
    assert load is not None
    quoted, measured = LOAD_SUMMARY.search(summary), LOAD_FIGURE.search(load)
    assert quoted is not None
    assert measured is not None
    assert quoted.groups() == measured.groups()


def test_load_section_quotes_the_recorded_sweep_benchmark() -> None:
    figures = sweep_figures()
    assert figures is not None, "bench/results/sweep.json is missing"
    line = sweep_line(figures)
    assert line in (report.section(_doc(report.DOC_PATH), "load") or "")
    assert line in (report.section(_doc(report.DOC_PATH), report.SUMMARY) or "")


def _bench(directory: Path, seconds: tuple[float, float], fanout: tuple[float, float]) -> None:
    def sweep(value: float) -> dict[str, Any]:
        return {"seconds": value, "peak_rss_mb": 101.6}

    def run(value: float) -> dict[str, Any]:
        return {"total_seconds": value}

    single = {"principals": 2000, "first_sweep": sweep(seconds[0]), "steady_sweep": sweep(seconds[1])}
    (directory / "sweep.json").write_text(json.dumps({"when": "2030-01-02 03:04", "single": single}))
    fan = {
        "accounts": 40,
        "principals_per_account": 300,
        "concurrency": 4,
        "first": run(fanout[0]),
        "steady": run(fanout[1]),
    }
    (directory / "sweep-100.json").write_text(json.dumps({"when": "2030-01-01 00:00", "fanout": fan}))


def test_sweep_line_comes_from_the_recorded_results(tmp_path: Path) -> None:
    _bench(tmp_path, (4.4, 6.6), (50.2, 61.7))
    figures = sweep_figures(tmp_path)
    assert figures == SweepFigures(
        2000, (4.4, 6.6), 101.6, "2030-01-02 03:04", 40, 300, 4, (50.2, 61.7), "2030-01-01 00:00"
    )
    assert sweep_line(figures) == (
        "2,000 principals in 4-7 s and 102 MB; 40 member accounts x 300 principals, 4 at a time, "
        "in 50-62 s (bench/results/sweep.json of 2030-01-02 03:04, sweep-100.json of 2030-01-01 00:00)"
    )
    assert sweep_figures(tmp_path / "nothing-recorded") is None


def test_write_doc_puts_one_summary_in_both_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data: dict[str, Any] = {"cells": [], "figures": {}, "fuzz": {"policies": 7}, "rows": {}, "failed": 0}
    data["figures"]["summary"] = {
        "matrix": {"rows": 3, "faults": 6, "full": 36, "default": 9},
        "storm": {"threads": 2, "ci_events": 8, "ci_principals": 4, "full_events": 80, "full_principals": 40},
        "load": {"seconds": 3.14, "peak_mb": 27.4, "sweeps": None},
    }
    data["figures"]["load"] = {"batch of 100 SQS events": "3.1 s wall"}
    monkeypatch.setattr(report, "_data", data)
    marked = "intro\n<!-- BEGIN summary -->\nold\n<!-- END summary -->\n"
    doc, readme = tmp_path / "guarantees.md", tmp_path / "README.md"
    doc.write_text(marked + "<!-- BEGIN load -->\nold\n<!-- END load -->\n")
    readme.write_text("# RestoreWatch\n" + marked)
    written = report.write_doc(doc, readme)
    assert written == ["summary", "load", "summary (README.md)"]
    summary = report.section(doc.read_text(), "summary")
    assert summary is not None
    assert summary == report.section(readme.read_text(), "summary")
    assert "in 3.1 s and 27 MB" in summary
    assert "(3 call rows:" in summary
    assert "(36 cells with `MATRIX=full`, 9 per CI run)" in summary
    assert "(8 events / 4 principals per CI run; 80 / 40 with `STORM=full`)" in summary
    assert "7 fuzzed examples per run" in summary


def test_a_partial_run_leaves_the_summary_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    data: dict[str, Any] = {"cells": [], "figures": {}, "fuzz": {"policies": 7}, "rows": {}, "failed": 0}
    data["figures"]["summary"] = {"load": {"seconds": 3.14, "peak_mb": 27.4, "sweeps": None}}
    monkeypatch.setattr(report, "_data", data)
    assert report.summary_markdown() == ""


def test_an_empty_section_is_written_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A section whose markers hold nothing (``BEGIN`` and ``END`` on adjacent lines) is rewritten
    by the next run that has its rows, and once written reads back exactly."""
    data: dict[str, Any] = {"cells": [], "figures": {}, "fuzz": {}, "rows": {}, "failed": 0}
    data["rows"]["poison"] = [{"SQS record body": "deep", "the poison record": "DLQ"}]
    monkeypatch.setattr(report, "_data", data)
    doc, readme = tmp_path / "guarantees.md", tmp_path / "README.md"
    doc.write_text("intro\n<!-- BEGIN poison -->\n<!-- END poison -->\nafter\n")
    readme.write_text("# RestoreWatch\n")
    assert report.section(doc.read_text(), "poison") == ""
    assert report.write_doc(doc, readme) == ["poison"]
    assert report.section(doc.read_text(), "poison") == report.rows_markdown("poison")
    assert doc.read_text().endswith("<!-- END poison -->\nafter\n")
    assert report.write_doc(doc, readme) == ["poison"]
    assert doc.read_text().count("| deep | DLQ |") == 1


def test_every_generated_section_of_the_doc_holds_a_run() -> None:
    """docs/guarantees.md has each section ``make guarantees`` writes, none of them empty."""
    text = _doc(report.DOC_PATH)
    empty = [name for name in report.sections() if not report.section(text, name)]
    assert empty == []
