#!/usr/bin/env python3
"""`restorewatch check` against a bare ``json.load`` of the same file (issue 14, point 7).

  python bench/check_speed.py                       # the 5,000-principal account, 3 rounds
  python bench/check_speed.py --rounds 5 --file F   # any auth-details file

Whole processes, as a user runs them: ``python -c "import json; json.load(open(F))"`` and
``python -m restorewatch_cli check --auth-details F --format json`` (output to /dev/null), taking
turns, ``--rounds`` times each in the same run; the medians give the ratio. Wall time, CPU time
(user + system) and peak RSS come from ``os.wait4`` on each child. Targets: ratio at most 3 and
peak RSS at most 120 MiB. A measurement: it exits 0 unless ``--enforce`` is given and a target is
missed. Without ``--file`` the account comes from bench/run.py's cache (``bench/run.py --sizes 5000``
makes it); ``RESTOREWATCH_REPO=DIR`` measures another checkout with the same interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = Path(os.environ.get("RESTOREWATCH_REPO", BENCH.parent))
TARGET_RATIO = 3.0
TARGET_PEAK_MIB = 120.0
MIB = 1024 * 1024


def _environment() -> dict[str, str]:
    """The checkout's code with compiled bytecode, as an installed package runs: byte-compiled
    files go to a cache outside the tree (``PYTHONDONTWRITEBYTECODE`` would recompile every module
    on every start and measure the compiler)."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    environment["PYTHONPATH"] = os.pathsep.join([str(REPO / "layers" / "restorewatch"), str(REPO / "cli")])
    environment["PYTHONPYCACHEPREFIX"] = str(BENCH / ".cache" / "pycache")
    return environment


def _child(command: list[str]) -> tuple[float, float, float]:
    """(wall s, cpu s, peak RSS MiB) of one child process."""
    environment = _environment()
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO, env=environment
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if code not in (0, 1):  # check exits 1 when some principal is not compliant
        raise SystemExit(f"{' '.join(command)} exited {code}: {stderr}")
    peak = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024) / MIB
    return wall, usage.ru_utime + usage.ru_stime, peak


def measure(file: Path, rounds: int, python: str) -> dict[str, object]:
    bare = [python, "-c", f"import json; json.load(open({str(file)!r}))"]
    check = [python, "-m", "restorewatch_cli", "check", "--auth-details", str(file), "--format", "json"]
    runs: dict[str, list[tuple[float, float, float]]] = {"json.load": [], "check": []}
    _child(check)  # untimed: fills the bytecode cache and the page cache
    for _ in range(rounds):
        runs["json.load"].append(_child(bare))
        runs["check"].append(_child(check))
    summary: dict[str, object] = {"file": str(file), "rounds": rounds, "load_average": os.getloadavg()[0]}
    for name, results in runs.items():
        summary[name] = {
            "wall_s": round(statistics.median(r[0] for r in results), 3),
            "cpu_s": round(statistics.median(r[1] for r in results), 3),
            "peak_mib": round(max(r[2] for r in results), 1),
            "walls": [round(r[0], 3) for r in results],
        }
    bare_wall = summary["json.load"]["wall_s"]  # type: ignore[index]
    check_wall = summary["check"]["wall_s"]  # type: ignore[index]
    summary["ratio_wall"] = round(check_wall / bare_wall, 2)
    summary["ratio_cpu"] = round(summary["check"]["cpu_s"] / summary["json.load"]["cpu_s"], 2)  # type: ignore[index]
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, default=BENCH / ".cache" / "account-5000-seed1.json")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--enforce", action="store_true")
    parser.add_argument("--write", action="store_true", help="also write bench/results/check-speed.json")
    args = parser.parse_args()
    if not args.file.exists():
        print(f"{args.file} does not exist: run bench/run.py --sizes 5000 once (it generates and caches it)")
        return 0
    summary = measure(args.file, args.rounds, args.python)
    text = json.dumps(summary, indent=2)
    print(text)
    if args.write:
        (BENCH / "results" / "check-speed.json").write_text(text + "\n", encoding="utf-8")
    check = summary["check"]
    missed = summary["ratio_wall"] > TARGET_RATIO or check["peak_mib"] > TARGET_PEAK_MIB  # type: ignore[index,operator]
    return 1 if args.enforce and missed else 0


if __name__ == "__main__":
    sys.exit(main())
