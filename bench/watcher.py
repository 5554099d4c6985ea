#!/usr/bin/env python3
"""Watcher benchmark (issue 3, item 8): AWS calls per event, and the handler's import time.

  python bench/watcher.py            # prints a markdown report and writes bench/results/watcher.md

Scenarios run the real watcher (``restorewatch.watch.config.build_watcher``, the code the Lambda
runs) against moto in-process, counting every AWS call by operation with botocore's event hooks:

* a change to one watched user (inline + managed + group policies);
* a change to a principal nobody watches (should cost no IAM read at all);
* a new default version of a managed policy attached to 20 roles (read one by one), and of one
  attached to 50 principals (users, roles, group members: over ``WatchSettings.sweep_over``, so the
  account is swept instead).

Import time is measured in fresh interpreters (``python -X importtime``-free: wall time of
``import app`` of functions/watcher), median of 7, tracing off as deployed by default.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
ACCOUNT = "111122223333"
TAG = [{"Key": "restorewatch:profile", "Value": "veeam-ec2-restore"}]


def _event(name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    sample = json.loads((REPO / "events" / f"iam-{name}.json").read_text())
    sample["detail"]["requestParameters"] = parameters
    sample["detail"]["eventTime"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return dict(sample)


class CallCounter:
    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()

    def hook(self, client: Any) -> Any:
        service = client.meta.service_model.service_name

        def count(model: Any, **_: Any) -> None:
            self.calls[f"{service}:{model.name}"] += 1

        client.meta.events.register("before-call.*.*", count)
        return client

    def by_service(self) -> dict[str, int]:
        totals: collections.Counter[str] = collections.Counter()
        for key, value in self.calls.items():
            totals[key.split(":")[0]] += value
        return dict(totals)


def _allow(actions: list[str]) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    )


def _seed(iam: Any, actions: list[str]) -> tuple[str, str, str]:
    """50 watched principals use VeeamRestorePolicy: 20 roles, 20 users, 10 users through a group.
    The 20 roles also attach RoleExtras."""
    document = _allow(actions)
    restore = iam.create_policy(PolicyName="VeeamRestorePolicy", PolicyDocument=document)["Policy"]["Arn"]
    extra = iam.create_policy(PolicyName="Extra", PolicyDocument=document)["Policy"]["Arn"]
    role_extras = iam.create_policy(PolicyName="RoleExtras", PolicyDocument=document)["Policy"]["Arn"]
    iam.create_group(GroupName="backup-operators")
    iam.attach_group_policy(GroupName="backup-operators", PolicyArn=restore)
    iam.put_group_policy(GroupName="backup-operators", PolicyName="inline", PolicyDocument=document)
    iam.create_user(UserName="veeam-restore", Tags=TAG)
    iam.add_user_to_group(GroupName="backup-operators", UserName="veeam-restore")
    iam.put_user_policy(UserName="veeam-restore", PolicyName="inline", PolicyDocument=document)
    iam.attach_user_policy(UserName="veeam-restore", PolicyArn=extra)
    iam.create_user(UserName="someone-else")
    iam.attach_user_policy(UserName="someone-else", PolicyArn=extra)
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    for index in range(20):
        iam.create_role(RoleName=f"restore-role-{index}", AssumeRolePolicyDocument=trust, Tags=TAG)
        iam.attach_role_policy(RoleName=f"restore-role-{index}", PolicyArn=restore)
        iam.attach_role_policy(RoleName=f"restore-role-{index}", PolicyArn=role_extras)
        iam.create_user(UserName=f"restore-user-{index}", Tags=TAG)
        iam.attach_user_policy(UserName=f"restore-user-{index}", PolicyArn=restore)
    for index in range(9):
        iam.create_user(UserName=f"operator-{index}", Tags=TAG)
        iam.add_user_to_group(GroupName="backup-operators", UserName=f"operator-{index}")
    return restore, extra, role_extras


def _row(label: str, summary: Any, counter: CallCounter, elapsed: float | None) -> dict[str, Any]:
    return {
        "scenario": label,
        "principals_checked": len(summary.checks),
        "alerts": len(summary.alert_ids),
        "iam_calls": counter.by_service().get("iam", 0),
        "calls": counter.by_service(),
        "by_operation": dict(sorted(counter.calls.items())),
        "seconds": None if elapsed is None else round(elapsed, 3),
    }


def scenarios() -> list[dict[str, Any]]:
    os.environ.update(
        MOTO_ACCOUNT_ID=ACCOUNT,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        POWERTOOLS_TRACE_DISABLED="true",
    )
    import boto3
    from moto import mock_aws

    sys.path.insert(0, str(REPO / "tests"))
    from restorewatch.inventory import clients
    from restorewatch.profiles import ProfileRegistry
    from restorewatch.watch.config import WatcherConfig, build_watcher
    from restorewatch.watch.events import parse_lambda_event
    from support.template import state_table_kwargs

    results: list[dict[str, Any]] = []
    with mock_aws():
        iam = boto3.client("iam")
        boto3.client("dynamodb").create_table(**state_table_kwargs("state"))
        topic = boto3.client("sns").create_topic(Name="alerts")["TopicArn"]
        actions = list(ProfileRegistry.default().get("veeam-ec2-restore").actions)
        restore, extra, role_extras = _seed(iam, actions)

        counter = CallCounter()
        real_make_client = clients.make_client

        def counted(service: str, **kwargs: Any) -> Any:
            return counter.hook(real_make_client(service, **kwargs))

        clients.make_client = counted  # type: ignore[assignment]
        from restorewatch.watch import config as runtime_config

        runtime_config.make_client = counted  # type: ignore[assignment]
        watcher = build_watcher(WatcherConfig(state_table="state", alert_topic_arn=topic))

        def run(label: str, event: dict[str, Any]) -> None:
            counter.calls.clear()
            started = time.perf_counter()
            (record,) = parse_lambda_event(event).records
            assert record.change is not None
            summary = watcher.handle_change(record.change)
            elapsed = time.perf_counter() - started
            results.append(_row(label, summary, counter, elapsed))

        counter.calls.clear()
        sweep = watcher.sweep()
        results.append(_row("first sweep (50 watched principals)", sweep, counter, None))
        iam.detach_user_policy(UserName="veeam-restore", PolicyArn=extra)
        run(
            "change to one watched user (DetachUserPolicy)",
            _event("DetachUserPolicy", {"userName": "veeam-restore", "policyArn": extra}),
        )
        iam.detach_user_policy(UserName="someone-else", PolicyArn=extra)
        run(
            "change to an unwatched user (DetachUserPolicy)",
            _event("DetachUserPolicy", {"userName": "someone-else", "policyArn": extra}),
        )

        def new_default_version(label: str, policy: str, document: str) -> None:
            iam.create_policy_version(PolicyArn=policy, PolicyDocument=document, SetAsDefault=True)
            parameters = {"policyArn": policy, "policyDocument": document, "setAsDefault": True}
            run(label, _event("CreatePolicyVersion", parameters))

        new_default_version(
            "new default version of a policy used by 20 roles (CreatePolicyVersion, read one by one)",
            role_extras,
            _allow(actions),
        )
        new_default_version(
            "new default version of a policy used by 50 principals (CreatePolicyVersion, swept)",
            restore,
            _allow(actions[:-1]),
        )
    return results


def import_times(runs: int = 7) -> dict[str, float]:
    env = {**os.environ, "STATE_TABLE": "t", "ALERT_TOPIC_ARN": "a", "POWERTOOLS_TRACE_DISABLED": "true"}
    code = (
        "import sys, time; sys.path.insert(0, 'functions/watcher'); t = time.perf_counter(); import app; "
        "print(time.perf_counter() - t)"
    )
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
        )
        samples.append(float(out.stdout.strip()) * 1000)
    return {"median_ms": round(statistics.median(samples), 1), "min_ms": round(min(samples), 1)}


def report(results: list[dict[str, Any]], imports: dict[str, float]) -> str:
    lines = [
        "# Watcher benchmark",
        "",
        f"`python bench/watcher.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"Python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.2f}. "
        "AWS calls counted on the watcher's own clients (moto in-process).",
        "",
        "| scenario | principals checked | alerts | IAM calls | DynamoDB calls | SNS calls | time |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in results:
        calls = row["calls"]
        seconds = "" if row["seconds"] is None else f"{row['seconds'] * 1000:.0f} ms"
        lines.append(
            f"| {row['scenario']} | {row['principals_checked']} | {row['alerts']} | {row['iam_calls']} | "
            f"{calls.get('dynamodb', 0)} | {calls.get('sns', 0)} | {seconds} |"
        )
    lines += ["", "IAM calls by operation:", ""]
    for row in results:
        iam_ops = {k.split(":", 1)[1]: v for k, v in row["by_operation"].items() if k.startswith("iam:")}
        lines.append(f"- {row['scenario']}: {json.dumps(iam_ops) if iam_ops else 'none'}")
    lines += [
        "",
        f"Handler import time (cold start proxy, tracing off): median {imports['median_ms']} ms, "
        f"min {imports['min_ms']} ms over 7 fresh interpreters (target < 400 ms).",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    imports = import_times()
    results = scenarios()
    text = report(results, imports)
    print(text)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "watcher.md").write_text(text)
        (RESULTS / "watcher.json").write_text(json.dumps({"scenarios": results, "import": imports}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
