#!/usr/bin/env python3
"""Sweep benchmark (issue 5, item 4): the watcher's real sweep against moto's server.

  python bench/sweep.py                       # 5000-principal account + 10 x 500 fan-out, writes results
  python bench/sweep.py --no-single --accounts 100 --results sweep-100   # issue 5: 100 accounts (~1 h)
  python bench/sweep.py --no-fanout --principals 2000 --no-write

1. A ``../shared/bench/gen_account.py --principals N --seed 1`` account is loaded into moto's server
   (``python -m moto.server``, a subprocess) through IAM API calls: customer managed policies with
   every version and the generator's default, groups (inline + attached), users (tags, inline,
   attached, groups, boundary), roles (trust, tags, inline, attached, boundary). Load time is
   measured apart. AWS managed policies cannot be created in moto (and moto's own copies differ
   from the shared data set), so they are loaded as customer managed policies under the path
   ``/aws-managed/`` with the data set's document. Nothing is cached: every run loads afresh.
2. ``Watcher.sweep()`` built by ``restorewatch.watch.config`` from the function's environment
   (``AWS_ENDPOINT_URL`` = the server) runs in a fresh subprocess: wall time, peak RSS of that
   process (``ru_maxrss``), and every AWS call by operation (botocore hooks, ``bench/watcher.py``'s
   ``CallCounter``). Twice: the first sweep (empty state: every watched principal is new) and a
   steady-state sweep.
3. Fan-out: the organization's management account (moto's default account) runs the central watcher
   (``ORGANIZATION_MODE``); M member accounts (``CreateAccount``) get M x 500 principals, loaded with
   the ``x-moto-account-id`` header. The scheduled sweep goes through ``functions/watcher/app.py``,
   enqueues one ``sweep-account`` message per account into an SQS queue on the server, and the
   messages are delivered to the same handler by a pool of ``--concurrency`` threads (standing in for
   the event source's ``MaximumConcurrency``). The watcher reads each member through ``AssumeRole``.

It is a measurement: it exits 0 whatever the figures are (and when the generator is absent).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
GENERATOR = REPO.parent / "shared" / "bench" / "gen_account.py"
HOME = "123456789012"  # moto's default account: the single account, and the management account
TABLE, TOPIC, QUEUE = "restorewatch-state", "restorewatch-alerts", "restorewatch-events"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
}
TARGETS = {"sweep_seconds": 60.0, "peak_rss_mb": 512.0}
SECONDS: collections.Counter[str] = collections.Counter()  # per service: time inside its calls


# ---- moto's server ---------------------------------------------------------------------------------


class MotoServer:
    def __init__(self) -> None:
        from restorewatch_cli.local.moto_server import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, **CREDENTIALS, "MOTO_IAM_LOAD_MANAGED_POLICIES": "false"}
        env.pop("MOTO_ACCOUNT_ID", None)  # the account comes from the credentials or the header
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("moto's server did not start") from None
                time.sleep(0.2)

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


def _client(service: str, url: str, account: str | None = None) -> Any:
    import boto3
    from botocore.config import Config

    client = boto3.session.Session(
        aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1"
    ).client(service, endpoint_url=url, config=Config(retries={"mode": "standard", "max_attempts": 5}))
    if account is not None:

        def header(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account

        client.meta.events.register("before-sign.*.*", header)
    return client


# ---- the loader ------------------------------------------------------------------------------------


def generate(principals: int, generator: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(generator), "--principals", str(principals), "--seed", "1"],
        capture_output=True,
        text=True,
        check=True,
    )
    data: dict[str, Any] = json.loads(out.stdout)
    return data


class Loader:
    """Creates a generated account through IAM API calls (``workers`` threads, one client)."""

    def __init__(self, iam: Any, workers: int = 8) -> None:
        self.iam = iam
        self.workers = workers
        self.calls: collections.Counter[str] = collections.Counter()
        self.errors: collections.Counter[str] = collections.Counter()
        self.skipped: collections.Counter[str] = collections.Counter()
        self.retried: collections.Counter[str] = collections.Counter()
        self.arns: dict[str, str] = {}  # generator ARN -> ARN in moto
        self._lock = threading.Lock()

    def _call(self, operation: str, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError
        from botocore.parsers import ResponseParserError

        for attempt in range(5):
            with self._lock:
                self.calls[operation] += 1
            try:
                return getattr(self.iam, operation)(**kwargs)
            except ResponseParserError:
                # moto's server answers an HTML 500 now and then under concurrent writes: again
                with self._lock:
                    self.retried[operation] += 1
                time.sleep(0.05 * (attempt + 1))
            except ClientError as exc:
                code = exc.response["Error"]["Code"]
                if attempt and code == "EntityAlreadyExists" and not operation.startswith("create_policy"):
                    return {}  # the failed attempt had done it after all
                with self._lock:
                    self.errors[f"{operation}: {code}: {str(exc)[:120]}"] += 1
                return None
        with self._lock:
            self.errors[f"{operation}: moto's server kept failing"] += 1
        return None

    def _map(self, attached: list[dict[str, Any]]) -> list[str]:
        return [self.arns[a["PolicyArn"]] for a in attached if a["PolicyArn"] in self.arns]

    def _policy(self, policy: dict[str, Any]) -> None:
        aws = ":aws:policy" in policy["Arn"]
        path = ("/aws-managed" + policy["Path"]) if aws else policy["Path"]
        versions = policy["PolicyVersionList"]
        created = self._call(
            "create_policy",
            PolicyName=policy["PolicyName"],
            Path=path,
            PolicyDocument=json.dumps(versions[0]["Document"]),
        )
        if created is None:
            return
        arn = created["Policy"]["Arn"]
        with self._lock:
            self.arns[policy["Arn"]] = arn
        for version in versions[1:]:
            self._call(
                "create_policy_version",
                PolicyArn=arn,
                PolicyDocument=json.dumps(version["Document"]),
                SetAsDefault=bool(version["IsDefaultVersion"]),
            )
        if len(versions) > 1 and versions[0]["IsDefaultVersion"]:
            self._call("set_default_policy_version", PolicyArn=arn, VersionId="v1")

    def _group(self, group: dict[str, Any]) -> None:
        name = group["GroupName"]
        self._call("create_group", GroupName=name, Path=group["Path"])
        for inline in group["GroupPolicyList"]:
            document = json.dumps(inline["PolicyDocument"])
            self._call(
                "put_group_policy", GroupName=name, PolicyName=inline["PolicyName"], PolicyDocument=document
            )
        for arn in self._map(group["AttachedManagedPolicies"]):
            self._call("attach_group_policy", GroupName=name, PolicyArn=arn)

    def _user(self, user: dict[str, Any]) -> None:
        name = user["UserName"]
        self._call("create_user", UserName=name, Path=user["Path"], Tags=user["Tags"])
        for inline in user["UserPolicyList"]:
            document = json.dumps(inline["PolicyDocument"])
            self._call(
                "put_user_policy", UserName=name, PolicyName=inline["PolicyName"], PolicyDocument=document
            )
        for group in user["GroupList"]:
            self._call("add_user_to_group", GroupName=group, UserName=name)
        for arn in self._map(user["AttachedManagedPolicies"]):
            self._call("attach_user_policy", UserName=name, PolicyArn=arn)
        if user.get("PermissionsBoundary"):
            # moto has no PutUserPermissionsBoundary (nor a boundary on CreateUser), and its
            # GetAccountAuthorizationDetails drops users' boundaries: counted, not loaded
            with self._lock:
                self.skipped["user permissions boundary"] += 1

    def _role(self, role: dict[str, Any]) -> None:
        name = role["RoleName"]
        extra: dict[str, Any] = {}
        boundary = role.get("PermissionsBoundary")
        if boundary and boundary["PermissionsBoundaryArn"] in self.arns:
            extra["PermissionsBoundary"] = self.arns[boundary["PermissionsBoundaryArn"]]
        self._call(
            "create_role",
            RoleName=name,
            Path=role["Path"],
            AssumeRolePolicyDocument=json.dumps(role["AssumeRolePolicyDocument"]),
            Tags=role["Tags"],
            **extra,
        )
        for inline in role["RolePolicyList"]:
            document = json.dumps(inline["PolicyDocument"])
            self._call(
                "put_role_policy", RoleName=name, PolicyName=inline["PolicyName"], PolicyDocument=document
            )
        for arn in self._map(role["AttachedManagedPolicies"]):
            self._call("attach_role_policy", RoleName=name, PolicyArn=arn)

    def load(self, account: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        with ThreadPoolExecutor(self.workers) as pool:
            for step, items in (
                (self._policy, account["Policies"]),
                (self._group, account["GroupDetailList"]),
                (self._user, account["UserDetailList"]),
                (self._role, account["RoleDetailList"]),
            ):
                list(pool.map(step, items))  # each phase needs the previous one's resources
        return {
            "seconds": round(time.perf_counter() - started, 1),
            "calls": sum(self.calls.values()),
            "by_operation": dict(sorted(self.calls.items())),
            "errors": dict(self.errors.most_common(10)),
            "error_count": sum(self.errors.values()),
            "skipped": dict(self.skipped),
            "retried": sum(self.retried.values()),
            "users": len(account["UserDetailList"]),
            "roles": len(account["RoleDetailList"]),
            "groups": len(account["GroupDetailList"]),
            "policies": len(account["Policies"]),
            "tagged": sum(
                1
                for p in account["UserDetailList"] + account["RoleDetailList"]
                if any(t["Key"] == "restorewatch:profile" for t in p["Tags"])
            ),
        }


def _stack(url: str, *, queue: bool = False) -> dict[str, str]:
    """The state table (from template.yaml's own properties), the alert topic, the event queue."""
    sys.path.insert(0, str(REPO / "tests"))
    from support.template import state_table_kwargs

    _client("dynamodb", url).create_table(**state_table_kwargs(TABLE))
    env = {
        "STATE_TABLE": TABLE,
        "ALERT_TOPIC_ARN": _client("sns", url).create_topic(Name=TOPIC)["TopicArn"],
        "AWS_ENDPOINT_URL": url,
    }
    if queue:
        env["SWEEP_QUEUE_URL"] = _client("sqs", url).create_queue(QueueName=QUEUE)["QueueUrl"]
    return env


# ---- the measured process (a fresh interpreter per sweep) ------------------------------------------


def _counted_runtime() -> Any:
    """Count every AWS call the watcher's clients make (bench/watcher.py's CallCounter)."""
    sys.path.insert(0, str(BENCH))
    from restorewatch.inventory import accounts, clients
    from restorewatch.watch import config as runtime_config
    from watcher import CallCounter

    counter = CallCounter()
    real = clients.make_client
    local = threading.local()

    def timed(client: Any) -> Any:
        service = client.meta.service_model.service_name

        def begin(**_: Any) -> None:
            local.started = time.perf_counter()

        def end(**_: Any) -> None:
            SECONDS[service] += time.perf_counter() - local.started

        client.meta.events.register("before-call.*.*", begin)
        client.meta.events.register("after-call.*.*", end)
        return client

    def counted(service: str, **kwargs: Any) -> Any:
        return timed(counter.hook(real(service, **kwargs)))

    for module in (clients, runtime_config, accounts):  # accounts: the member accounts' IAM clients
        module.make_client = counted  # type: ignore[attr-defined]
    return counter


def _calls(counter: Any) -> dict[str, Any]:
    return {
        "by_service": counter.by_service(),
        "by_operation": dict(sorted(counter.calls.items())),
        "seconds_by_service": {k: round(v, 2) for k, v in sorted(SECONDS.items())},
    }


def worker_sweep() -> dict[str, Any]:
    counter = _counted_runtime()
    from restorewatch.watch.config import watcher_from_environment

    watcher = watcher_from_environment()
    counter.calls.clear()
    SECONDS.clear()
    started = time.perf_counter()
    summary = watcher.sweep()
    elapsed = time.perf_counter() - started
    return {
        "seconds": round(elapsed, 2),
        "principals_checked": len(summary.checks),
        "alerts": len(summary.alert_ids),
        "retryable": summary.retryable,
        "statuses": dict(collections.Counter(c.status.value for c in summary.checks)),
        "calls": _calls(counter),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _sqs_record(body: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((REPO / "events" / "sqs-batch.json").read_text())["Records"][0]
    record.update(messageId=str(uuid.uuid4()), body=body)
    return {"Records": [record]}


def worker_fanout(concurrency: int) -> dict[str, Any]:
    import importlib.util

    counter = _counted_runtime()
    spec = importlib.util.spec_from_file_location("watcher_app", REPO / "functions" / "watcher" / "app.py")
    assert spec is not None
    assert spec.loader is not None
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)

    class Context:
        function_name = "WatcherFunction"
        memory_limit_in_mb = 512
        invoked_function_arn = f"arn:aws:lambda:us-east-1:{HOME}:function:WatcherFunction"
        aws_request_id = "bench"

    started = time.perf_counter()
    app.lambda_handler({"restorewatch": "sweep"}, Context())
    dispatch_seconds = time.perf_counter() - started
    dispatch_calls = _calls(counter)
    sqs = _client("sqs", os.environ["AWS_ENDPOINT_URL"])
    bodies: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=os.environ["SWEEP_QUEUE_URL"], MaxNumberOfMessages=10)
        if not got.get("Messages"):
            break
        for message in got["Messages"]:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=os.environ["SWEEP_QUEUE_URL"], ReceiptHandle=message["ReceiptHandle"])

    def one(body: str) -> dict[str, Any]:
        begun = time.perf_counter()
        result = app.lambda_handler(_sqs_record(body), Context())
        return {
            "account": json.loads(body)["account"],
            "seconds": round(time.perf_counter() - begun, 2),
            "alerts": len(result["alerts"]),
            "failed": len(result["batchItemFailures"]),
        }

    counter.calls.clear()
    SECONDS.clear()
    begun = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        per_account = list(pool.map(one, bodies))
    return {
        "dispatch_seconds": round(dispatch_seconds, 2),
        "dispatch_calls": dispatch_calls,
        "dispatched": len(bodies),
        "accounts_seconds": round(time.perf_counter() - begun, 2),
        "total_seconds": round(time.perf_counter() - started, 2),
        "per_account": per_account,
        "calls": _calls(counter),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _run_worker(kind: str, env: dict[str, str], concurrency: int = 5) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        full = {
            **os.environ,
            **CREDENTIALS,
            **env,
            "PYTHONPATH": os.pathsep.join(
                [str(REPO / "layers" / "restorewatch"), str(REPO / "cli"), os.environ.get("PYTHONPATH", "")]
            ),
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_METRICS_NAMESPACE": "RestoreWatch",
            "AWS_LAMBDA_FUNCTION_NAME": "WatcherFunction",
        }
        full.pop("MOTO_ACCOUNT_ID", None)
        command = [
            sys.executable,
            __file__,
            "--worker",
            kind,
            "--out",
            out.name,
            "--concurrency",
            str(concurrency),
        ]
        subprocess.run(command, env=full, check=True, stdout=subprocess.DEVNULL)
        data: dict[str, Any] = json.loads(Path(out.name).read_text())
        return data


# ---- scenarios -------------------------------------------------------------------------------------


def single_account(principals: int, generator: Path, workers: int) -> dict[str, Any]:
    account = generate(principals, generator)
    server = MotoServer()
    try:
        load = Loader(_client("iam", server.url), workers).load(account)
        del account
        env = _stack(server.url)
        first = _run_worker("sweep", env)
        second = _run_worker("sweep", env)
        return {
            "principals": principals,
            "load": load,
            "first_sweep": first,
            "steady_sweep": second,
            "server_rss_mb": round(server.rss_mb(), 1),
        }
    finally:
        server.stop()


def fan_out(
    accounts: int, principals: int, generator: Path, workers: int, concurrency: int
) -> dict[str, Any]:
    account = generate(principals, generator)
    server = MotoServer()
    try:
        org = _client("organizations", server.url)
        org.create_organization(FeatureSet="ALL")
        root = org.list_roots()["Roots"][0]["Id"]
        org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
        ou = org.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
        members = []
        for index in range(accounts):
            status = org.create_account(AccountName=f"member-{index}", Email=f"member-{index}@example.com")
            member = status["CreateAccountStatus"]["AccountId"]
            org.move_account(AccountId=member, SourceParentId=root, DestinationParentId=ou)
            members.append(member)
        started = time.perf_counter()
        loads = []
        for number, member in enumerate(members, 1):
            loads.append(Loader(_client("iam", server.url, member), workers).load(account))
            if number % 10 == 0 or number == len(members):
                _progress(f"loaded {number}/{len(members)} accounts in {time.perf_counter() - started:.0f} s")
        load_seconds = time.perf_counter() - started
        env = {**_stack(server.url, queue=True), "ORGANIZATION_MODE": "true", "HOME_ACCOUNT_ID": HOME}
        first = _run_worker("fanout", env, concurrency)
        _progress(f"first fan-out: {first['accounts_seconds']} s for {first['dispatched']} accounts")
        second = _run_worker("fanout", env, concurrency)
        _progress(f"steady fan-out: {second['accounts_seconds']} s for {second['dispatched']} accounts")
        return {
            "accounts": accounts,
            "principals_per_account": principals,
            "concurrency": concurrency,
            "load_seconds": round(load_seconds, 1),
            "load_calls": sum(x["calls"] for x in loads),
            "load_errors": sum(x["error_count"] for x in loads),
            "load_retried": sum(x["retried"] for x in loads),
            "tagged_per_account": loads[0]["tagged"],
            "first": first,
            "steady": second,
            "server_rss_mb": round(server.rss_mb(), 1),
        }
    finally:
        server.stop()


def _progress(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# ---- report ----------------------------------------------------------------------------------------


def _ops(calls: dict[str, Any], service: str) -> str:
    found = {k.split(":", 1)[1]: v for k, v in calls["by_operation"].items() if k.startswith(f"{service}:")}
    return ", ".join(f"{k} {v}" for k, v in found.items()) or "none"


def report(results: dict[str, Any]) -> str:
    lines = [
        "# Sweep benchmark (moto's server)",
        "",
        f"`python bench/sweep.py` on {results['when']} UTC, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, load average {results['load_average']:.2f}. Accounts from "
        "`../shared/bench/gen_account.py --seed 1`, loaded into `python -m moto.server` through IAM API "
        "calls; every sweep in a fresh interpreter, AWS calls counted on the watcher's own clients.",
        "",
    ]
    single = results.get("single")
    if single:
        load = single["load"]
        lines += [
            f"## One account of {single['principals']} principals",
            "",
            f"Load: {load['users']} users, {load['roles']} roles, {load['groups']} groups, "
            f"{load['policies']} managed policies ({load['tagged']} watched principals): "
            f"{load['calls']} IAM calls in "
            f"{load['seconds']} s ({load['retried']} retried after a moto 500), "
            f"{load['error_count']} refused; "
            "not loadable in moto: "
            f"{json.dumps(load['skipped'])}. moto's server RSS afterwards: "
            f"{single['server_rss_mb']} MB.",
            "",
            "| sweep | wall | peak RSS | principal checks | alerts | IAM | Organizations | DynamoDB | SNS |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for label, key in (("first (empty state)", "first_sweep"), ("steady state", "steady_sweep")):
            row = single[key]
            svc = row["calls"]["by_service"]
            lines.append(
                f"| {label} | {row['seconds']:.1f} s | {row['peak_rss_mb']:.0f} MB | "
                f"{row['principals_checked']} | {row['alerts']} | {svc.get('iam', 0)} | "
                f"{svc.get('organizations', 0)} | "
                f"{svc.get('dynamodb', 0)} | {svc.get('sns', 0)} |"
            )
        steady = single["steady_sweep"]
        lines += [
            "",
            f"Targets: wall < {TARGETS['sweep_seconds']:.0f} s, peak RSS < {TARGETS['peak_rss_mb']:.0f} MB "
            f"(the 512 MB Lambda). Steady sweep statuses: {json.dumps(steady['statuses'])}.",
            "",
            "Calls by operation (steady sweep):",
            "",
        ]
        waits = steady["calls"].get("seconds_by_service", {})
        wait_text = ", ".join(f"{k} {v:.1f} s" for k, v in waits.items())
        for service in ("iam", "organizations", "dynamodb", "sns"):
            lines.append(f"- {service}: {_ops(steady['calls'], service)}")
        lines += [
            "",
            f"Time inside those calls (moto's server answering, plus botocore's parsing): {wait_text}; "
            f"the rest of the {steady['seconds']:.1f} s is the watcher's own work (evaluation, state).",
            "",
        ]
    fan = results.get("fanout")
    if fan:
        lines += [
            f"## Fan-out: {fan['accounts']} member accounts x {fan['principals_per_account']} principals",
            "",
            f"Load: {fan['load_calls']} IAM calls in {fan['load_seconds']} s ({fan['load_retried']} retried, "
            f"{fan['load_errors']} refused), "
            f"{fan['tagged_per_account']} watched principals per account. The scheduled sweep through "
            f"`functions/watcher/app.py` enqueues one message per account; a pool of {fan['concurrency']} "
            "threads delivers them to the same handler (the event source's MaximumConcurrency).",
            "",
            "| run | dispatch | accounts swept | all accounts | per account (median / max) | alerts | "
            "IAM | STS | Organizations | DynamoDB | SNS | peak RSS |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for label, key in (("first (empty state)", "first"), ("steady state", "steady")):
            row = fan[key]
            times = sorted(a["seconds"] for a in row["per_account"])
            median = times[len(times) // 2] if times else 0.0
            svc = row["calls"]["by_service"]
            lines.append(
                f"| {label} | {row['dispatch_seconds']:.2f} s | {row['dispatched']} | "
                f"{row['accounts_seconds']:.1f} s | {median:.1f} / {max(times, default=0.0):.1f} s | "
                f"{sum(a['alerts'] for a in row['per_account'])} "
                f"| {svc.get('iam', 0)} | {svc.get('sts', 0)} | {svc.get('organizations', 0)} | "
                f"{svc.get('dynamodb', 0)} | {svc.get('sns', 0)} | {row['peak_rss_mb']:.0f} MB |"
            )
        steady = fan["steady"]
        n = max(1, steady["dispatched"])
        lines += ["", f"Calls by operation (steady run, all {n} accounts; per account divide by {n}):", ""]
        for service in ("iam", "sts", "organizations", "dynamodb", "sns"):
            lines.append(f"- {service}: {_ops(steady['calls'], service)}")
        lines.append(f"- the dispatch itself: {json.dumps(steady['dispatch_calls']['by_service'])}")
        waits = steady["calls"].get("seconds_by_service", {})
        lines.append(
            "- time inside calls, summed over the threads: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in waits.items())
        )
        lines.append("")
    lines += results.get("notes", [])
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--principals", type=int, default=5000, help="the single account (default 5000)")
    parser.add_argument(
        "--accounts", type=int, default=10, help="member accounts for the fan-out (default 10)"
    )
    parser.add_argument("--account-principals", type=int, default=500)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=5,
        help="account sweeps at once (default 5, as AccountSweepConcurrency)",
    )
    parser.add_argument("--load-workers", type=int, default=8, help="threads loading moto (default 8)")
    parser.add_argument("--generator", type=Path, default=GENERATOR)
    parser.add_argument("--no-single", action="store_true")
    parser.add_argument("--no-fanout", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--results",
        default="sweep",
        help="write bench/results/RESULTS.md and .json (default sweep; the 100-account run: sweep-100)",
    )
    parser.add_argument("--worker", choices=("sweep", "fanout"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        data = worker_sweep() if args.worker == "sweep" else worker_fanout(args.concurrency)
        args.out.write_text(json.dumps(data))
        return 0
    if not args.generator.is_file():
        print(f"bench/sweep.py: the account generator {args.generator} is absent; nothing measured.")
        return 0
    results: dict[str, Any] = {
        "when": f"{datetime.now(UTC):%Y-%m-%d %H:%M}",
        "load_average": os.getloadavg()[0],
    }
    if not args.no_single:
        results["single"] = single_account(args.principals, args.generator, args.load_workers)
        print(
            f"single account done: {json.dumps(results['single']['steady_sweep']['seconds'])} s",
            file=sys.stderr,
        )
    if not args.no_fanout:
        results["fanout"] = fan_out(
            args.accounts, args.account_principals, args.generator, args.load_workers, args.concurrency
        )
    text = report(results)
    print(text)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{args.results}.md").write_text(text)
        (RESULTS / f"{args.results}.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
