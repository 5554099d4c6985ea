#!/usr/bin/env python3
"""What-if benchmark: `restorewatch what-if` of a 50-change Terraform plan on the 5,000-principal account.

The account comes from ``../shared/bench/gen_account.py --principals 5000 --seed 1`` (cached in
``bench/.cache/`` by ``bench/run.py``'s ``account_file``); the plan is built from it, in Terraform's
JSON plan format, with 50 resource changes of every kind what-if reads: inline policies put on and
attachments removed from watched roles and users, customer managed policies given new documents
(each used by many principals), memberships, tags, a policy created and attached by address in the
same plan, and an SCP change, which touches every principal of the account. Target (issue 12): the
whole command under 2 s.

  python bench/whatif.py --generator ../shared/bench/gen_account.py
  python bench/whatif.py --runs 5 --no-write

It measures and reports; it exits 0 whatever the figures are (1 with ``--enforce`` when the target
is missed), and 0 saying so when the generator is missing (a fresh clone has no ../shared).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from run import CACHE, DEFAULT_GENERATOR, REPO, RESULTS, _loadavg, account_file, machine, run_child

SIZE = 5000
SEED = 1
TARGET_WALL_S = 2.0
PROVIDER = "registry.terraform.io/hashicorp/aws"
NEW_ID = {"id": True}  # after_unknown of a resource Terraform creates: its id is known after apply


def _change(address: str, actions: list[str], before: Any, after: Any, unknown: Any = None) -> dict[str, Any]:
    type_, name = address.split(".", 1)
    return {
        "address": address,
        "mode": "managed",
        "type": type_,
        "name": name,
        "provider_name": PROVIDER,
        "change": {"actions": actions, "before": before, "after": after, "after_unknown": unknown or {}},
    }


def _document(effect: str, actions: list[str], resource: str = "*") -> str:
    statement = {"Effect": effect, "Action": actions, "Resource": resource}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def build_plan(account: dict[str, Any], rng: random.Random) -> tuple[dict[str, Any], list[list[Any]]]:
    """A 50-change plan over ``account``, and SCP levels for it (FullAWSAccess at root, OU, account)."""
    roles = [r for r in account["RoleDetailList"] if r.get("Tags")]
    users = [u for u in account["UserDetailList"] if u.get("Tags")]
    watched_roles = [r for r in roles if any(t["Key"] == "restorewatch:profile" for t in r["Tags"])]
    watched_users = [u for u in users if any(t["Key"] == "restorewatch:profile" for t in u["Tags"])]
    customer = [p for p in account["Policies"] if ":aws:policy/" not in p["Arn"]]
    groups = account["GroupDetailList"]
    changes: list[dict[str, Any]] = []
    config: list[dict[str, Any]] = []
    for n, role in enumerate(rng.sample(watched_roles, 10)):
        doc = _document("Deny", ["ec2:DeleteVolume"]) if n % 2 else _document("Allow", ["s3:GetObject"])
        after = {"name": f"whatif-{n}", "role": role["RoleName"], "policy": doc}
        changes.append(_change(f"aws_iam_role_policy.inline_{n}", ["create"], None, after, NEW_ID))
    attached = [(r, a) for r in watched_roles + watched_users for a in r.get("AttachedManagedPolicies", [])]
    for n, (principal, attachment) in enumerate(rng.sample(attached, 10)):
        kind = "role" if "RoleName" in principal else "user"
        owner = principal.get("RoleName") or principal.get("UserName")
        before = {kind: owner, "policy_arn": attachment["PolicyArn"]}
        changes.append(_change(f"aws_iam_{kind}_policy_attachment.detach_{n}", ["delete"], before, None))
    for n, policy in enumerate(rng.sample(customer, 5)):
        before = {"arn": policy["Arn"], "name": policy["PolicyName"], "path": policy.get("Path", "/")}
        after = {**before, "policy": _document("Allow", ["ec2:Describe*", "s3:List*"])}
        changes.append(_change(f"aws_iam_policy.rewrite_{n}", ["update"], {**before, "policy": "{}"}, after))
    for n, user in enumerate(rng.sample(watched_users or users, 5)):
        guard = _document("Deny", ["iam:CreateRole"])
        after = {"name": f"whatif-{n}", "user": user["UserName"], "policy": guard}
        changes.append(_change(f"aws_iam_user_policy.guard_{n}", ["create"], None, after, NEW_ID))
    for n, group in enumerate(rng.sample(groups, 5)):
        after = {"group": group["GroupName"], "policy_arn": rng.choice(customer)["Arn"]}
        changes.append(_change(f"aws_iam_group_policy_attachment.extra_{n}", ["create"], None, after, NEW_ID))
    for n, role in enumerate(rng.sample(watched_roles, 5)):
        tags = {t["Key"]: t["Value"] for t in role["Tags"]}
        before = {"name": role["RoleName"], "path": role["Path"], "tags": tags, "tags_all": tags}
        after = {**before, "tags": {**tags, "owner": "backup"}, "tags_all": {**tags, "owner": "backup"}}
        changes.append(_change(f"aws_iam_role.retag_{n}", ["update"], before, after))
    for n, user in enumerate(rng.sample(users, 5)):
        after = {"user": user["UserName"], "groups": [rng.choice(groups)["GroupName"]]}
        changes.append(_change(f"aws_iam_user_group_membership.join_{n}", ["create"], None, after, NEW_ID))
    for n, role in enumerate(rng.sample(watched_roles, 2)):
        policy = {"name": f"WhatIfNew{n}", "path": "/", "policy": _document("Deny", ["s3:DeleteObject"])}
        unknown = {"arn": True, "id": True}
        changes.append(_change(f"aws_iam_policy.new_{n}", ["create"], None, policy, unknown))
        attach = {"role": role["RoleName"]}
        address = f"aws_iam_policy.new_{n}"
        changes.append(
            _change(f"aws_iam_role_policy_attachment.new_{n}", ["create"], None, attach, {"policy_arn": True})
        )
        config.append(
            {
                "address": f"aws_iam_role_policy_attachment.new_{n}",
                "mode": "managed",
                "type": "aws_iam_role_policy_attachment",
                "name": f"new_{n}",
                "expressions": {"policy_arn": {"references": [f"{address}.arn", address]}},
            }
        )
    full = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    leave = {"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}
    vaults = {"Effect": "Deny", "Action": "backup:DeleteBackupVault", "Resource": "*"}
    guard_before = {"Version": "2012-10-17", "Statement": [leave]}
    guard_after = {"Version": "2012-10-17", "Statement": [leave, vaults]}
    scp = {"id": "p-guard0001", "name": "Guard", "type": "SERVICE_CONTROL_POLICY"}
    changes.append(
        _change(
            "aws_organizations_policy.guard",
            ["update"],
            {**scp, "content": json.dumps(guard_before)},
            {**scp, "content": json.dumps(guard_after)},
        )
    )
    assert len(changes) == 50, len(changes)
    full_access = {"Name": "FullAWSAccess", "Id": "p-FullAWSAccess", "Content": full}
    ou = "OU (ou-ab12-11111111)"
    levels = [
        [{**full_access, "Target": "root r-ab12"}],
        [
            {**full_access, "Target": ou},
            {"Name": "Guard", "Id": "p-guard0001", "Content": guard_before, "Target": ou},
        ],
        [{**full_access, "Target": "account 111122223333"}],
    ]
    plan = {
        "format_version": "1.2",
        "terraform_version": "1.9.8",
        "planned_values": {"root_module": {}},
        "resource_changes": changes,
        "configuration": {"root_module": {"resources": config}},
    }
    return plan, levels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generator", type=Path, default=DEFAULT_GENERATOR, help="gen_account.py to use")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--python", default=sys.executable, help="the interpreter that runs the CLI")
    parser.add_argument("--no-write", action="store_true", help="print only; do not write bench/results/")
    parser.add_argument(
        "--enforce", action="store_true", help=f"exit 1 when the median is {TARGET_WALL_S} s or more"
    )
    args = parser.parse_args(argv)
    if not args.generator.is_file():
        print(f"bench/whatif.py: no account generator at {args.generator} (a fresh clone has no ../shared)")
        return 0
    account_path = account_file(args.generator, SIZE, SEED, regenerate=False)
    account = json.loads(account_path.read_text())
    plan, levels = build_plan(account, random.Random(SEED))
    plan_path, scps_path = CACHE / "whatif-plan-50.json", CACHE / "whatif-scps.json"
    plan_path.write_text(json.dumps(plan))
    scps_path.write_text(json.dumps(levels))
    command = [
        args.python, "-m", "restorewatch_cli", "what-if", "--auth-details", str(account_path),
        "--scps", str(scps_path), "--terraform-plan", str(plan_path), "--format", "json",
    ]  # fmt: skip
    walls, cpus, peaks = [], [], []
    for _ in range(args.runs):
        result = run_child(command)
        if result["returncode"] not in (0, 1):
            print(f"bench/whatif.py: what-if failed (exit {result['returncode']}): {result['stderr'][-500:]}")
            return 1
        walls.append(result["wall_s"])
        cpus.append(result["cpu_s"] or 0.0)
        peaks.append(result["peak_rss_bytes"] or 0)
    output = CACHE / "whatif-out.json"
    with output.open("wb") as out:
        kept = run_child(command, stdout=out)
    rows = json.loads(output.read_text())["principals"]
    gone = ("deleted", "unwatched", "unknown")
    blocking = sum(bool(r["lost"] or r["degraded"] or r["unknown"]) or r["after"] in gone for r in rows)
    wall = statistics.median(walls)
    info = machine()
    lines = [
        "# What-if benchmark",
        "",
        f"`{' '.join(['python', '-m', 'restorewatch_cli', *command[3:]]).replace(str(REPO) + '/', '')}`, "
        f"{args.runs} runs, {time.strftime('%Y-%m-%d')}, {info.get('cpu', '?')}, load average {_loadavg()}.",
        "",
        "| account | plan | rows (answers may change) | blocking | exit | wall (median) | wall (min) | CPU "
        "| peak RSS |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| {SIZE} principals, seed {SEED} | {len(plan['resource_changes'])} changes | {len(rows)} "
        f"| {blocking} "
        f"| {kept['returncode']} | {wall:.2f} s | {min(walls):.2f} s | {statistics.median(cpus):.2f} s "
        f"| {max(peaks) / 1024 / 1024:.0f} MB |",
        "",
        f"Target: under {TARGET_WALL_S:.0f} s ({'met' if wall < TARGET_WALL_S else 'MISSED'}).",
    ]
    report = "\n".join(lines)
    print(report)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "whatif-latest.md").write_text(report + "\n")
        figures = {"walls_s": walls, "cpu_s": cpus, "peak_rss_bytes": peaks, "rows": len(rows)}
        figures["machine"] = info
        (RESULTS / "whatif-latest.json").write_text(json.dumps(figures, indent=2) + "\n")
    return 1 if args.enforce and wall >= TARGET_WALL_S else 0


if __name__ == "__main__":
    # the checkout's code is measured, installed or not (as bench/run.py does)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO / "layers" / "restorewatch"), str(REPO / "cli"), os.environ.get("PYTHONPATH")])
    )
    raise SystemExit(main())
