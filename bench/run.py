#!/usr/bin/env python3
"""RestoreWatch benchmark: `restorewatch check` over synthetic accounts of 500, 2000 and 5000 principals.

Not a timed test: it measures and reports, and exits 0 unless asked to enforce the targets
(``--enforce``). See bench/README.md for what each column means.

  python bench/run.py                    # sizes 500 2000 5000, seed 1, 3 runs each
  python bench/run.py --sizes 5000 --profile
  python bench/run.py --enforce          # exit 1 when the largest account misses a target

The accounts come from ``../shared/bench/gen_account.py`` (next to the repository) and are cached in
``bench/.cache/``. Without the generator (a fresh clone has no ``../shared``) the benchmark says so
and exits 0. Results go to ``bench/results/latest.md`` and ``latest.json``.

Each measurement runs in a fresh interpreter so that nothing (compiled policies, caches, the heap)
carries over from one size or one run to the next:

* the *engine path* runs in a worker subprocess (this file with ``--worker``): json.load, then
  ``AccountSnapshot.from_pages``, building each watched principal (which parses and compiles its
  policies), then ``requirement_status`` for every action of its profile(s);
* the *CLI* is run as ``python -m restorewatch_cli check --auth-details FILE --format json`` with its
  output sent to /dev/null; wall time covers the whole process (interpreter start-up included), and
  peak RSS is that child's own ``ru_maxrss`` from ``os.wait4``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DEFAULT_GENERATOR = REPO.parent / "shared" / "bench" / "gen_account.py"
CACHE = BENCH / ".cache"
RESULTS = BENCH / "results"
SIZES = (500, 2000, 5000)
SEED = 1
TAG_KEY = "restorewatch:profile"

# Targets of issue 2, item 7, for the 5000-principal account (223 tagged x 55 actions) on the CI machine.
TARGET_WALL_S = 1.5
TARGET_CHECKS_PER_S = 24_000
TARGET_PEAK_MB = 150.0
# For scale, the figures for other tools on the same account.
REFERENCE = "PMapper ~17 s end to end and ~12,000 checks/s; iam-ape and iam-simulate 36-42 s"

MB = 1024 * 1024


# ---- child processes --------------------------------------------------------------------------------


def _maxrss_bytes(rusage: Any) -> int:
    # ru_maxrss is in kilobytes on Linux and the BSDs, in bytes on macOS
    return int(rusage.ru_maxrss) if sys.platform == "darwin" else int(rusage.ru_maxrss) * 1024


def run_child(command: list[str], *, stdout: Any = subprocess.DEVNULL) -> dict[str, Any]:
    """Run ``command``; its wall time, exit code, stderr and its own peak RSS (None if unknown)."""
    stderr_path = CACHE / f"stderr-{os.getpid()}.tmp"
    with stderr_path.open("w+b") as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=stdout, stderr=stderr, cwd=REPO)
        peak: int | None = None
        cpu: float | None = None
        if hasattr(os, "wait4"):
            # per-child rusage: RUSAGE_CHILDREN would give the max over every child so far
            _, status, rusage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            peak = _maxrss_bytes(rusage)
            cpu = rusage.ru_utime + rusage.ru_stime
        else:  # pragma: no cover - Windows
            proc.wait()
        wall = time.perf_counter() - start
        stderr.seek(0)
        err = stderr.read().decode("utf-8", "replace")
    stderr_path.unlink(missing_ok=True)
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "returncode": proc.returncode,
        "stderr": err,
        "peak_rss_bytes": peak,
    }


# ---- accounts ---------------------------------------------------------------------------------------


def _generator_key(generator: Path) -> dict[str, Any]:
    """What the generated account depends on: the generator's source and the managed-policy set."""
    data_dir = generator.resolve().parent.parent / "data" / "aws-managed-policies"
    files = sorted(p.name for p in data_dir.glob("*.json")) if data_dir.is_dir() else []
    return {
        "generator_sha256": hashlib.sha256(generator.read_bytes()).hexdigest(),
        "managed_policies": len(files),
        "managed_policies_names_sha256": hashlib.sha256("\n".join(files).encode()).hexdigest(),
    }


def account_file(generator: Path, size: int, seed: int, regenerate: bool) -> Path:
    """The cached account of ``size`` principals, generated when missing or stale."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"account-{size}-seed{seed}.json"
    meta_path = path.with_suffix(".meta.json")
    key = {**_generator_key(generator), "principals": size, "seed": seed}
    if not regenerate and path.is_file() and meta_path.is_file():
        with contextlib.suppress(ValueError, OSError):
            if json.loads(meta_path.read_text()) == key:
                return path
    print(f"  generating {path.relative_to(REPO)} ...", file=sys.stderr, flush=True)
    tmp = path.with_suffix(".json.tmp")
    with tmp.open("wb") as out:
        result = run_child(
            [sys.executable, str(generator), "--principals", str(size), "--seed", str(seed)], stdout=out
        )
    if result["returncode"] != 0:
        tmp.unlink(missing_ok=True)
        raise SystemExit(f"bench: {generator} failed for --principals {size}:\n{result['stderr']}")
    tmp.replace(path)
    meta_path.write_text(json.dumps(key, indent=2) + "\n")
    return path


# ---- the engine path (runs in a worker subprocess) ------------------------------------------------


def _profiles_resolver() -> Any:
    """A function from a watch-tag value to [(profile name, actions)], as the CLI resolves it."""
    from restorewatch.profiles import ProfileRegistry, profile_names_from_tag

    registry = ProfileRegistry.default()

    def resolve(value: str) -> list[tuple[str, tuple[str, ...]]]:
        found = []
        for name in profile_names_from_tag(value):
            profile = registry.get(name)
            found.append((profile.name, tuple(profile.actions)))
        return found

    return resolve


def engine_worker(path: Path, profile_out: Path | None) -> dict[str, Any]:
    """Time each stage of the engine path on one account; returns the figures as a dict."""
    import resource

    t0 = time.perf_counter()
    with path.open("rb") as handle:
        data = json.load(handle)
    t_json = time.perf_counter() - t0

    from restorewatch.catalog import default_catalog
    from restorewatch.engine import AccountSnapshot, requirement_status

    resolve = _profiles_resolver()
    catalog = default_catalog()  # what `check` uses: the installed action catalog

    profiler = None
    if profile_out is not None:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()

    t1 = time.perf_counter()
    snapshot = AccountSnapshot.from_pages([data])
    t_snapshot = time.perf_counter() - t1

    t2 = time.perf_counter()
    targets: list[tuple[str, list[tuple[str, tuple[str, ...]]]]] = []
    for arn in snapshot.principal_arns():
        value = snapshot.tags_of(arn).get(TAG_KEY)
        if value is not None:
            targets.append((arn, resolve(value)))
    t_select = time.perf_counter() - t2

    t3 = time.perf_counter()
    principals = [(snapshot.principal(arn), profiles) for arn, profiles in targets]
    t_build = time.perf_counter() - t3

    statuses: dict[str, int] = {}
    checks = 0
    t4 = time.perf_counter()
    for principal, profiles in principals:
        for _name, actions in profiles:
            for action in actions:
                result = requirement_status(principal, action, None, catalog)
                statuses[result.status.value] = statuses.get(result.status.value, 0) + 1
                checks += 1
    t_eval = time.perf_counter() - t4

    if profiler is not None and profile_out is not None:
        profiler.disable()
        import io
        import pstats

        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.strip_dirs()
        text.write(f"# cProfile of the engine path (from_pages .. evaluation) on {path.name}\n")
        text.write("\n## by own time (tottime)\n")
        stats.sort_stats("tottime").print_stats(30)
        text.write("\n## by cumulative time\n")
        stats.sort_stats("cumulative").print_stats(30)
        profile_out.write_text(text.getvalue())
        stats.dump_stats(str(profile_out.with_suffix(".pstats")))

    return {
        "file_bytes": path.stat().st_size,
        "tagged": len(targets),
        "checks": checks,
        "statuses": statuses,
        "json_s": t_json,
        "snapshot_s": t_snapshot,
        "select_s": t_select,
        "build_s": t_build,
        "eval_s": t_eval,
        "worker_peak_rss_self_bytes": _maxrss_bytes(resource.getrusage(resource.RUSAGE_SELF)),
    }


def json_worker(path: Path) -> dict[str, Any]:
    """json.load alone with the cyclic garbage collector off: what the GC costs while loading."""
    import gc

    gc.disable()
    start = time.perf_counter()
    with path.open("rb") as handle:
        json.load(handle)
    return {"json_nogc_s": time.perf_counter() - start}


def _worker(path: Path, *extra: str) -> dict[str, Any]:
    out = CACHE / f"worker-{os.getpid()}.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(path), "--worker-out", str(out)]
    result = run_child([*command, *extra])
    if result["returncode"] != 0:
        raise SystemExit(f"bench: engine worker {' '.join(extra)} failed on {path.name}:\n{result['stderr']}")
    sample: dict[str, Any] = json.loads(out.read_text())
    out.unlink(missing_ok=True)
    sample["worker_peak_rss_bytes"] = result["peak_rss_bytes"]
    sample["worker_cpu_s"] = result["cpu_s"]
    return sample


STAGES = ("json_s", "json_nogc_s", "snapshot_s", "select_s", "build_s", "eval_s")


def run_engine(path: Path, runs: int, profile_out: Path | None) -> dict[str, Any]:
    """The engine path in ``runs`` fresh interpreters; the median of each stage, the max peak RSS."""
    samples = []
    for _ in range(runs):
        sample = _worker(path)
        sample["json_nogc_s"] = _worker(path, "--worker-json-nogc")["json_nogc_s"]
        samples.append(sample)
    if profile_out is not None:
        # a separate run: cProfile's overhead must not enter the timings above
        _worker(path, "--worker-profile", str(profile_out))
    merged: dict[str, Any] = dict(samples[0])
    for key in STAGES:
        merged[key] = statistics.median(s[key] for s in samples)
        merged[key.replace("_s", "_min_s")] = min(s[key] for s in samples)
    merged["samples"] = [{key: s[key] for key in STAGES} for s in samples]
    peaks = [s["worker_peak_rss_bytes"] for s in samples if s["worker_peak_rss_bytes"] is not None]
    merged["worker_peak_rss_bytes"] = max(peaks) if peaks else None
    cpus = [s["worker_cpu_s"] for s in samples if s["worker_cpu_s"] is not None]
    merged["worker_cpu_s"] = statistics.median(cpus) if cpus else None
    return merged


# ---- the CLI ----------------------------------------------------------------------------------------


def cli_command(python: str, path: Path) -> list[str]:
    return [python, "-m", "restorewatch_cli", "check", "--auth-details", str(path), "--format", "json"]


def cli_available(python: str) -> bool:
    probe = subprocess.run(
        [python, "-c", "import restorewatch_cli.commands.check"], capture_output=True, cwd=REPO, check=False
    )
    return probe.returncode == 0


def run_cli(python: str, path: Path, runs: int) -> dict[str, Any]:
    """Whole-process wall time (median of ``runs``) and peak RSS (max) of `check --format json`."""
    walls, cpus, peaks = [], [], []
    for _ in range(runs):
        result = run_child(cli_command(python, path))
        # 0: every principal compliant, 1: some action partial or denied; both are successful runs
        if result["returncode"] not in (0, 1):
            return {"error": f"exit {result['returncode']}: {result['stderr'].strip()[-500:]}"}
        walls.append(result["wall_s"])
        if result["cpu_s"] is not None:
            cpus.append(result["cpu_s"])
        if result["peak_rss_bytes"] is not None:
            peaks.append(result["peak_rss_bytes"])
    # one untimed run that keeps the output, to cross-check it against the engine path
    output = CACHE / f"cli-{path.stem}.out.json"
    with output.open("wb") as out:
        kept = run_child(cli_command(python, path), stdout=out)
    summary: dict[str, Any] = {"returncode": kept["returncode"]}
    try:
        principals = json.loads(output.read_text())["principals"]
        statuses: dict[str, int] = {}
        for principal in principals:
            for action in principal["actions"]:
                statuses[action["status"]] = statuses.get(action["status"], 0) + 1
        summary.update(
            principals=len(principals),
            checks=sum(statuses.values()),
            statuses=statuses,
            output_bytes=output.stat().st_size,
        )
    except (ValueError, KeyError, TypeError) as exc:
        summary["parse_error"] = str(exc)
    return {
        "wall_s": statistics.median(walls),
        "wall_min_s": min(walls),
        "wall_all_s": walls,
        "cpu_s": statistics.median(cpus) if cpus else None,
        "peak_rss_bytes": max(peaks) if peaks else None,
        "output": summary,
    }


# ---- reporting --------------------------------------------------------------------------------------


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _git_revision() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "layers", "cli"],
            capture_output=True,
            text=True,
            cwd=REPO,
            check=True,
        ).stdout.strip()
        return head + (" (+ uncommitted changes in layers/)" if dirty else "")
    return "unknown"


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "revision": _git_revision(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def _busy(*loadavgs: str) -> str | None:
    """A warning when other processes competed for the CPUs during the run."""
    cpus = os.cpu_count() or 1
    with contextlib.suppress(ValueError, IndexError):
        highest = max(float(text.split()[0]) for text in loadavgs)
        if highest >= 0.75 * cpus:
            return (
                f"the machine was busy (1-minute load average up to {highest:.2f} on {cpus} CPUs): "
                "wall times are inflated by other processes; compare CPU times, or rerun on a quiet machine."
            )
    return None


def _loadavg() -> str:
    with contextlib.suppress(OSError, AttributeError):
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    return "n/a"


def _mb(value: int | None) -> str:
    return "n/a" if value is None else f"{value / MB:.1f} MB"


def _ms(value: float) -> str:
    return f"{value * 1000:.0f} ms"


def derive(row: dict[str, Any]) -> None:
    """Add the derived figures to one size's row."""
    engine = row["engine"]
    engine["load_s"] = engine["json_s"] + engine["snapshot_s"]
    engine["compile_s"] = engine["select_s"] + engine["build_s"]
    engine["checks_per_s"] = engine["checks"] / engine["eval_s"] if engine["eval_s"] else None
    compile_eval = engine["compile_s"] + engine["eval_s"]
    engine["checks_per_s_incl_compile"] = engine["checks"] / compile_eval if compile_eval else None


def verdicts(row: dict[str, Any]) -> dict[str, bool | None]:
    cli = row.get("cli") or {}
    wall = cli.get("wall_s")
    peak = cli.get("peak_rss_bytes")
    rate = row["engine"]["checks_per_s"]
    return {
        "wall": None if wall is None else wall < TARGET_WALL_S,
        "checks_per_s": None if rate is None else rate >= TARGET_CHECKS_PER_S,
        "peak": None if peak is None else peak / MB < TARGET_PEAK_MB,
    }


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---:"] * len(head)) + "|",
        *["| " + " | ".join(row) + " |" for row in rows],
    ]


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def markdown(rows: list[dict[str, Any]], info: dict[str, Any], runs: int, notes: list[str]) -> str:
    lines = [
        "# RestoreWatch benchmark",
        "",
        f"`python bench/run.py` on {info['date']}: Python {info['python']} ({info['implementation']}), "
        f"{info['cpu']} x {info['cpus']}, {info['platform']}; revision {info['revision']}; "
        f"load average {info['loadavg_before']} before, {info['loadavg_after']} after.",
        f"Accounts from `../shared/bench/gen_account.py --principals N --seed {SEED}`. "
        f"Times are the median of {runs} fresh processes (CLI wall also its minimum), peak RSS the maximum.",
        "",
    ]
    main_rows, detail_rows = [], []
    for row in rows:
        engine, cli = row["engine"], row.get("cli") or {}
        has_cli = "wall_s" in cli
        main_rows.append(
            [
                f"{row['principals']:,}",
                _mb(engine["file_bytes"]),
                str(engine["tagged"]),
                f"{engine['checks']:,}",
                _ms(engine["load_s"]),
                _ms(engine["eval_s"]),
                _rate(engine["checks_per_s"]),
                f"{_ms(cli['wall_s'])} ({_ms(cli['wall_min_s'])})" if has_cli else "n/a",
                _ms(cli["cpu_s"]) if has_cli and cli.get("cpu_s") is not None else "n/a",
                _mb(cli.get("peak_rss_bytes")),
            ]
        )
        detail_rows.append(
            [
                f"{row['principals']:,}",
                _ms(engine["json_s"]),
                _ms(engine["json_nogc_s"]),
                _ms(engine["snapshot_s"]),
                _ms(engine["compile_s"]),
                _ms(engine["eval_s"]),
                _rate(engine["checks_per_s_incl_compile"]),
                _ms(engine["worker_cpu_s"]) if engine.get("worker_cpu_s") is not None else "n/a",
                _mb(engine.get("worker_peak_rss_bytes")),
            ]
        )
    lines += _table(
        [
            "principals",
            "file",
            "tagged",
            "checks",
            "load (json+snapshot)",
            "evaluation",
            "checks/s",
            "CLI wall (min)",
            "CLI CPU",
            "CLI peak RSS",
        ],
        main_rows,
    )
    lines += ["", "Engine path, stage by stage:", ""]
    lines += _table(
        [
            "principals",
            "json.load",
            "json.load, GC off",
            "from_pages",
            "build principals",
            "evaluation",
            "checks/s incl. build",
            "worker CPU",
            "worker peak RSS",
        ],
        detail_rows,
    )
    largest = rows[-1]
    verdict = verdicts(largest)
    cli = largest.get("cli") or {}

    def mark(ok: bool | None) -> str:
        return "n/a" if ok is None else ("met" if ok else "**missed**")

    lines += [
        "",
        f"Targets (issue 2, item 7) for the {largest['principals']:,}-principal account:",
        "",
        f"- whole `restorewatch check --format json` process < {TARGET_WALL_S} s wall: "
        f"{_ms(cli['wall_s']) if 'wall_s' in cli else 'n/a'} (median) - {mark(verdict['wall'])}",
        f"- evaluation >= {TARGET_CHECKS_PER_S:,} checks/s: "
        f"{_rate(largest['engine']['checks_per_s'])} - {mark(verdict['checks_per_s'])}",
        f"- peak memory < {TARGET_PEAK_MB:.0f} MB: "
        f"{_mb(cli.get('peak_rss_bytes'))} - {mark(verdict['peak'])}",
        "",
        f"For scale, from the issue: {REFERENCE}.",
        "",
        "*load* = `json.load` + `AccountSnapshot.from_pages` (indexing only). *evaluation* = "
        "`requirement_status` for every action of each tagged principal's profile(s); *checks/s* = "
        "checks / evaluation. *build principals* finds the tagged principals and builds them, which "
        "parses and compiles their policies (lazily, once per policy). *CLI* = the whole "
        "`python -m restorewatch_cli check --auth-details F --format json > /dev/null` process, "
        "interpreter start-up included; CPU is its user + system time, which is steadier than wall "
        "time on a busy machine. *worker* = the engine-path process. See bench/README.md.",
    ]
    if notes:
        lines += ["", "Notes:", "", *[f"- {note}" for note in notes]]
    return "\n".join(lines) + "\n"


# ---- main -------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="principals per account")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per measurement (median)")
    parser.add_argument("--generator", type=Path, default=DEFAULT_GENERATOR, help="gen_account.py to use")
    parser.add_argument("--python", default=sys.executable, help="interpreter that runs the CLI")
    parser.add_argument("--regenerate", action="store_true", help="regenerate the cached accounts")
    parser.add_argument("--no-cli", action="store_true", help="skip the whole-process CLI runs")
    parser.add_argument(
        "--profile", action="store_true", help="also cProfile the engine path on the largest account"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; do not write bench/results")
    parser.add_argument(
        "--enforce", action="store_true", help="exit 1 when the largest account misses a target"
    )
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--worker-profile", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--worker-json-nogc", action="store_true", help=argparse.SUPPRESS)
    return parser


def measure_size(args: argparse.Namespace, generator: Path, size: int, profile: bool) -> dict[str, Any]:
    """Every figure for one account size; CLI problems are recorded under ``notes``."""
    print(f"bench: {size} principals", file=sys.stderr, flush=True)
    path = account_file(generator, size, args.seed, args.regenerate)
    profile_out = RESULTS / f"profile-{size}.txt" if profile else None
    if profile_out is not None:
        RESULTS.mkdir(parents=True, exist_ok=True)
    row: dict[str, Any] = {
        "principals": size,
        "seed": args.seed,
        "account": str(path.relative_to(REPO)),
        "notes": [],
    }
    row["engine"] = run_engine(path, args.runs, profile_out)
    if args.with_cli:
        row["cli"] = run_cli(args.python, path, args.runs)
        if "error" in row["cli"]:
            row["notes"].append(f"{size}: the CLI failed: {row['cli']['error']}")
        else:
            out, engine = row["cli"]["output"], row["engine"]
            if (out.get("checks"), out.get("statuses")) != (engine["checks"], engine["statuses"]):
                row["notes"].append(
                    f"{size}: the CLI's JSON ({out.get('checks')} checks, {out.get('statuses')}) "
                    f"differs from the engine path ({engine['checks']} checks, {engine['statuses']})"
                )
    derive(row)
    return row


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.worker is not None:
        if args.worker_json_nogc:
            figures = json_worker(args.worker)
        else:
            figures = engine_worker(args.worker, args.worker_profile)
        args.worker_out.write_text(json.dumps(figures))
        return 0

    generator: Path = args.generator
    if not generator.is_file():
        print(
            f"bench: the account generator {generator} is not there, so there is nothing to measure.\n"
            "It lives in the shared workspace next to the repository (../shared/bench/gen_account.py), "
            "which a fresh clone does not have; pass --generator PATH to use a copy. Skipping.",
        )
        return 0

    # the workers and the CLI import restorewatch from this checkout even when it is not installed
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO / "layers" / "restorewatch"), str(REPO / "cli"), os.environ.get("PYTHONPATH")])
    )
    CACHE.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    args.with_cli = not args.no_cli and cli_available(args.python)
    if not args.no_cli and not args.with_cli:
        notes.append(
            f"`restorewatch_cli` cannot be imported by {args.python}; the CLI columns are n/a "
            "(the engine path was measured directly)."
        )

    loadavg_before = _loadavg()
    sizes = sorted(set(args.sizes))
    rows = [measure_size(args, generator, size, args.profile and size == sizes[-1]) for size in sizes]
    for row in rows:
        notes += row.pop("notes")

    info = {**machine(), "loadavg_before": loadavg_before, "loadavg_after": _loadavg()}
    busy = _busy(loadavg_before, info["loadavg_after"])
    if busy:
        notes.append(busy)
    text = markdown(rows, info, args.runs, notes)
    print(text)
    report = {
        "machine": info,
        "runs": args.runs,
        "targets": {
            "principals": sizes[-1],
            "wall_s": TARGET_WALL_S,
            "checks_per_s": TARGET_CHECKS_PER_S,
            "peak_mb": TARGET_PEAK_MB,
            "met": verdicts(rows[-1]),
        },
        "results": rows,
        "notes": notes,
    }
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "latest.md").write_text(text)
        (RESULTS / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
        print(f"written {RESULTS.relative_to(REPO)}/latest.md and latest.json", file=sys.stderr)
    if args.enforce and any(met is False for met in verdicts(rows[-1]).values()):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
