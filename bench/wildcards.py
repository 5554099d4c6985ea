#!/usr/bin/env python3
"""RestoreWatch benchmark: the wildcard matcher on hostile patterns and on a regular workload.

Not a timed test (``tests/unit/engine/test_wildcard_worst_case.py`` asserts the bounds): it measures
and reports, and exits 0. See bench/README.md.

  python bench/wildcards.py              # the tables, written to bench/results/wildcards.md and .json
  python bench/wildcards.py --no-write   # print only
  python bench/wildcards.py --runs 21 --regex-cap 2

* *Pathological family*: patterns of 100 stars (``*a*a*a...*b`` and variants with ``?``) against
  10,000-character subjects, both case modes: compile time (cache cleared) and match time.
* *Regex, for comparison*: the translation main used before (``*`` -> ``.*``, ``?`` -> ``.``,
  ``re.fullmatch``) on the same family at growing sizes, each stopped after ``--regex-cap`` seconds.
* *Regular workload*: realistic action, ARN and ``StringLike`` patterns against realistic subjects,
  per match, next to the same comparison done with compiled regexes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import signal
import statistics
import sys
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import FrameType

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(REPO / "layers" / "restorewatch"))  # measure this checkout's code

SIZE = 10_000
A_ONLY = "a" * SIZE
A_THEN_B = "a" * (SIZE - 1) + "b"

# (label, pattern, subject): 100 stars each (one has 101), 10,000-character subjects
FAMILY: list[tuple[str, str, str]] = [
    ("`*a` x99 `*b` vs `a...a`", "*a" * 99 + "*b", A_ONLY),
    ("`*a` x99 `*b` vs `a...ab`", "*a" * 99 + "*b", A_THEN_B),
    ("`*a` x99 `*b*` vs `a...a`", "*a" * 99 + "*b*", A_ONLY),
    ("`*a?` x99 `*b` vs `a...a`", "*a?" * 99 + "*b", A_ONLY),
    ("`*?a` x99 `*b?` vs `a...a`", "*?a" * 99 + "*b?", A_ONLY),
    ("`*ab` x99 `*c` vs `abab...`", "*ab" * 99 + "*c", "ab" * (SIZE // 2)),
    ("`*A` x99 `*B` vs `a...ab`", "*A" * 99 + "*B", A_THEN_B),
    # the matcher's own worst case: a segment with `?` whose literal run occurs at every position
    ("`*a?b` x99 `*` vs `a...a`", "*a?b" * 99 + "*", A_ONLY),
    (
        "`*` + 25 a `?` 24 a `b` + `*a` x98 `*` vs `a...a`",
        "*" + "a" * 25 + "?" + "a" * 24 + "b" + "*a" * 98 + "*",
        A_ONLY,
    ),
]

# a realistic mix: (what, pattern, subject, case-sensitive)
WORKLOAD: list[tuple[str, str, str, bool]] = [
    ("action prefix", "ec2:Describe*", "ec2:describeinstances", False),
    ("action infix", "s3:*Object*", "s3:getobjectversion", False),
    ("action ?", "iam:?etRole*", "iam:getrolepolicy", False),
    ("action miss", "kms:*Key*", "ec2:runinstances", False),
    ("bucket objects", "arn:aws:s3:::veeam-*/*", "arn:aws:s3:::veeam-backups-eu/2024/01/disk.vmdk", True),
    (
        "any region instance",
        "arn:aws:ec2:*:*:instance/*",
        "arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc",
        True,
    ),
    ("role ?", "arn:aws:iam::*:role/restore-?", "arn:aws:iam::111122223333:role/restore-7", True),
    ("resource miss", "arn:aws:s3:::logs-*/*", "arn:aws:s3:::veeam-backups-eu/2024/01/disk.vmdk", True),
    ("StringLike prefix", "home/*/docs/*", "home/alice/docs/report.pdf", True),
    ("StringLike tag", "team-*-restore", "team-platform-restore", True),
]


class _Stopped(BaseException):
    pass


@contextlib.contextmanager
def _cap(seconds: float) -> Iterator[None]:
    """Stop the block after ``seconds`` (SIGALRM; the regex engine checks for signals)."""

    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise _Stopped

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _regex(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    """The translation main used before the matcher (``engine/patterns.py`` at dbf8267)."""
    source = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(source, re.DOTALL | (0 if case_sensitive else re.IGNORECASE))


def _median_s(call: Callable[[], object], runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times), max(times)


def measure_family(runs: int) -> list[dict[str, Any]]:
    from restorewatch.engine.patterns import compile_wildcard

    rows = []
    for label, pattern, subject in FAMILY:
        for case_sensitive in (True, False):
            pieces = ((pattern, False),)

            def compile_fresh(
                pieces: tuple[tuple[str, bool], ...] = pieces, cs: bool = case_sensitive
            ) -> object:
                compile_wildcard.cache_clear()
                return compile_wildcard(pieces, cs)

            compile_s, _ = _median_s(compile_fresh, runs)
            compiled = compile_wildcard(pieces, case_sensitive)
            match_s, worst_s = _median_s(partial(compiled.matches, subject), runs)
            rows.append(
                {
                    "label": label,
                    "stars": pattern.count("*"),
                    "pattern_chars": len(pattern),
                    "subject_chars": len(subject),
                    "case_sensitive": case_sensitive,
                    "matches": compiled.matches(subject),
                    "compile_s": compile_s,
                    "match_s": match_s,
                    "match_max_s": worst_s,
                }
            )
    return rows


def measure_regex(cap_s: float) -> list[dict[str, Any]]:
    """``*a`` x k ``*b`` against ``a`` x 2k: how the old translation grows with the number of stars."""
    rows = []
    for stars in (8, 10, 12, 14, 16, 100):
        pattern, subject = "*a" * (stars - 1) + "*b", "a" * (2 * stars)
        if stars == 100:
            subject = A_ONLY
        compiled = _regex(pattern, True)
        started = time.perf_counter()
        stopped = False
        try:
            with _cap(cap_s):
                compiled.fullmatch(subject)
        except _Stopped:
            stopped = True
        rows.append(
            {
                "stars": stars,
                "subject_chars": len(subject),
                "seconds": time.perf_counter() - started,
                "stopped": stopped,
            }
        )
        if stopped:
            break  # every larger size takes longer still
    return rows


def measure_workload(iterations: int) -> list[dict[str, Any]]:
    """Per-match time of the matcher (compiled once) and of the old translation's compiled regex."""
    from restorewatch.engine.patterns import compile_wildcard

    rows = []
    for what, pattern, subject, case_sensitive in WORKLOAD:
        compiled = compile_wildcard(((pattern, False),), case_sensitive)
        regex = _regex(pattern, case_sensitive)
        expected = compiled.matches(subject)
        assert (regex.fullmatch(subject) is not None) is expected, what
        started = time.perf_counter()
        for _ in range(iterations):
            compiled.matches(subject)
        ours = (time.perf_counter() - started) / iterations
        started = time.perf_counter()
        for _ in range(iterations):
            regex.fullmatch(subject)
        theirs = (time.perf_counter() - started) / iterations
        rows.append(
            {"what": what, "pattern": pattern, "matches": expected, "matcher_s": ours, "regex_s": theirs}
        )
    return rows


def _loadavg() -> str:
    with contextlib.suppress(OSError, AttributeError):
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    return "n/a"


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def _time(seconds: float) -> str:
    return _us(seconds) if seconds < 1e-3 else _ms(seconds)


def markdown(report: dict[str, Any]) -> str:
    info = report["machine"]
    lines = [
        "# Wildcard matcher benchmark",
        "",
        f"`python bench/wildcards.py` on {info['date']}: Python {info['python']}, {info['cpus']} CPUs, "
        f"load average {info['loadavg_before']} before, {info['loadavg_after']} after. "
        f"Medians of {report['runs']} runs (max in brackets).",
        "",
        "## Pathological family: 100 stars, 10,000-character subjects",
        "",
        "| pattern vs subject | stars | case | matches | compile | match (max) |",
        "|---|---:|---|---|---:|---:|",
    ]
    for row in report["family"]:
        case = "sensitive" if row["case_sensitive"] else "insensitive"
        lines.append(
            f"| {row['label']} | {row['stars']} | {case} | {row['matches']} | {_us(row['compile_s'])} | "
            f"{_time(row['match_s'])} ({_time(row['match_max_s'])}) |"
        )
    lines += [
        "",
        f"## For comparison: the regex translation main used (`re.fullmatch`, stopped after "
        f"{report['regex_cap_s']:g} s)",
        "",
        "| stars | subject | time |",
        "|---:|---:|---:|",
    ]
    for row in report["regex"]:
        spent = f"stopped after {row['seconds']:.1f} s" if row["stopped"] else _ms(row["seconds"])
        lines.append(f"| {row['stars']} | {row['subject_chars']:,} `a` | {spent} |")
    lines += [
        "",
        f"## Regular workload (per match, {report['iterations']:,} iterations)",
        "",
        "| what | pattern | matches | matcher | compiled regex |",
        "|---|---|---|---:|---:|",
    ]
    for row in report["workload"]:
        lines.append(
            f"| {row['what']} | `{row['pattern']}` | {row['matches']} | {_us(row['matcher_s'])} | "
            f"{_us(row['regex_s'])} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=11, help="runs per pathological case (median)")
    parser.add_argument("--iterations", type=int, default=20_000, help="matches per workload row")
    parser.add_argument("--regex-cap", type=float, default=5.0, help="seconds before a regex run is stopped")
    parser.add_argument("--no-write", action="store_true", help="print only; do not write bench/results")
    args = parser.parse_args(argv)

    loadavg_before = _loadavg()
    report: dict[str, Any] = {
        "runs": args.runs,
        "iterations": args.iterations,
        "regex_cap_s": args.regex_cap,
        "family": measure_family(args.runs),
        "workload": measure_workload(args.iterations),
        "regex": measure_regex(args.regex_cap),
    }
    report["machine"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "loadavg_before": loadavg_before,
        "loadavg_after": _loadavg(),
    }
    text = markdown(report)
    print(text)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "wildcards.md").write_text(text)
        (RESULTS / "wildcards.json").write_text(json.dumps(report, indent=2) + "\n")
        print(f"written {RESULTS.relative_to(REPO)}/wildcards.md and wildcards.json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
