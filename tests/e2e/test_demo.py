"""``make demo`` (``python -m restorewatch_cli.demo``): moto's server, real IAM calls, alerts read back.

The issue's promise: it prints the alerts a person would receive for each change, and finishes in
under a minute. Measured as the CPU time of the whole process tree (the demo, moto's server, every
CLI subprocess; ``RUSAGE_CHILDREN`` counts them once waited for): on an idle machine that is about
the wall time (~25 s of ~27 s here), but unlike wall time it does not triple when ``make test``
runs this next to the rest of the suite on two cores. Wall time is bounded loosely, against hangs.
"""

from __future__ import annotations

import ast
import os
import re
import resource
import subprocess
import sys
import time

import pytest

from support.template import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# the IAM scenes, the repository bucket's policy scene (demo_repository), the watch tag removed
EXPECTED = ["LOST", "RESTORED", "LOST", "RESTORED", "LOST", "RESTORED", "LOST", "RESTORED", "UNWATCHED"]


def _run_demo(module: str) -> subprocess.CompletedProcess[str]:
    """``python -m module`` from the repository, as ``make demo`` runs it (no endpoint preset)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_ENDPOINT_URL")}
    return subprocess.run(
        [sys.executable, "-m", module],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_demo_prints_nine_alerts_in_order_within_a_minute() -> None:
    started = time.monotonic()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = _run_demo("restorewatch_cli.demo")
    elapsed = time.monotonic() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    assert done.returncode == 0, done.stderr[-3000:]
    kinds = re.findall(r"--- alert ([A-Z]+) rw-[0-9a-f]+ ---", done.stdout)
    assert kinds == EXPECTED, done.stdout[-3000:]
    assert "Demo finished: 9 alerts" in done.stdout
    assert "can no longer perform" in done.stdout  # the email text, not just the kind
    # the bucket policy scene: LOST naming the bucket, its policy and the statement, then RESTORED
    bucket = "arn:aws:s3:::veeam-repository-111122223333"
    assert f"An explicit Deny in the bucket policy of {bucket} blocks s3:PutObject" in done.stdout
    assert "statement 'DenyRepositoryWritesFromRestoreRole'" in done.stdout
    assert "RESTORED: role VeeamRestoreRole can perform all 8 restore actions of profile" in done.stdout
    assert cpu < 60, f"the demo used {cpu:.1f} s of CPU ({elapsed:.1f} s wall)"
    assert elapsed < 180, f"the demo took {elapsed:.1f} s"


def test_demo_org_shows_an_ou_scp_taking_create_role_from_a_member_account() -> None:
    """``make demo-org`` (``python -m restorewatch_cli.demo_org``), issue 5's "done when": an SCP attached
    at an OU takes iam:CreateRole away from a restore role in a member account, and the one alert
    names the SCP, the OU and the account (id and name). The central watcher's sweep and the
    Organizations event both go through the account-sweep queue, one message per account."""
    done = _run_demo("restorewatch_cli.demo_org")
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    member = re.search(r"member account (\d{12}) \(prod-workloads\)", out)
    assert member, out[:2000]
    account = member.group(1)
    assert re.findall(r"--- alert ([A-Z]+) rw-[0-9a-f]+ ---", out) == ["LOST"], out[-3000:]
    swept = re.search(r"enqueued 2 account sweep\(s\): (\[.*\])", out)  # the baseline: every account
    assert swept, out[:3000]
    assert sorted(ast.literal_eval(swept.group(1))) == sorted(["111122223333", account])
    assert f"enqueued 1 account sweep(s): ['{account}']" in out  # only the account below the OU
    assert f"Account:   {account} (prod-workloads)" in out
    assert re.search(r"iam:CreateRole is denied by .* SCP DenyIamWrites \(attached to OU Workloads", out)
    assert "called AttachPolicy" in out
