"""The sweep benchmark's recorded figures (``bench/sweep.py`` writes ``bench/results/sweep.json``
and, with ``--accounts 100``, ``sweep-100.json``), as the guarantees report quotes them.

The benchmark runs for minutes on moto's server and is not part of the test run: the report quotes
its last recorded results, with their date, instead of a sentence typed by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"
SINGLE = "sweep.json"  # one account of 5,000 principals (and the 10-account fan-out)
FANOUT = "sweep-100.json"  # 100 member accounts


@dataclass(frozen=True, slots=True)
class SweepFigures:
    principals: int
    seconds: tuple[float, float]  # first sweep (empty state), steady state
    peak_mb: float
    when: str
    accounts: int | None = None  # the largest fan-out measured, if any
    principals_per_account: int | None = None
    concurrency: int | None = None
    fanout_seconds: tuple[float, float] | None = None  # first, steady: dispatch and every account
    fanout_when: str | None = None


def _load(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def sweep_figures(results: Path = RESULTS) -> SweepFigures | None:
    """The figures of the last recorded benchmark runs, ``None`` if none was recorded."""
    single = _load(results / SINGLE)
    if single is None:
        return None
    one = single["single"]
    first, steady = one["first_sweep"], one["steady_sweep"]
    figures = SweepFigures(
        principals=int(one["principals"]),
        seconds=(float(first["seconds"]), float(steady["seconds"])),
        peak_mb=max(float(first["peak_rss_mb"]), float(steady["peak_rss_mb"])),
        when=str(single["when"]),
    )
    fanout_run = _load(results / FANOUT) or single
    fanout = fanout_run.get("fanout")
    if not fanout:
        return figures
    return replace(
        figures,
        accounts=int(fanout["accounts"]),
        principals_per_account=int(fanout["principals_per_account"]),
        concurrency=int(fanout["concurrency"]),
        fanout_seconds=(float(fanout["first"]["total_seconds"]), float(fanout["steady"]["total_seconds"])),
        fanout_when=str(fanout_run["when"]),
    )


def _span(values: tuple[float, float]) -> str:
    low, high = sorted(round(value) for value in values)
    return f"{low} s" if low == high else f"{low}-{high} s"


def sweep_line(figures: SweepFigures) -> str:
    """``5,000 principals in 8-11 s and 128 MB; 100 member accounts x 500 principals, 5 at a time,
    in 123-131 s (...)``: what the load section and the summary quote."""
    line = f"{figures.principals:,} principals in {_span(figures.seconds)} and {figures.peak_mb:.0f} MB"
    sources = [f"{SINGLE} of {figures.when}"]
    if figures.fanout_seconds is not None:
        line += (
            f"; {figures.accounts} member accounts x {figures.principals_per_account} principals, "
            f"{figures.concurrency} at a time, in {_span(figures.fanout_seconds)}"
        )
        if figures.fanout_when != figures.when:
            sources.append(f"{FANOUT} of {figures.fanout_when}")
    return f"{line} (bench/results/{', '.join(sources)})"
