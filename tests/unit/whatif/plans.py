"""Build Terraform plans in the JSON format `terraform show -json PLANFILE` prints, and run what-if.

https://developer.hashicorp.com/terraform/internals/json-format: each resource change carries
``change.actions``, ``before``, ``after``, ``after_unknown`` (true for a value known only after
apply, which is left out of ``after``), and the configuration gives each attribute's expression
with the ``references`` it uses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from restorewatch.engine import AccountSnapshot
from restorewatch.profiles import ProfileRegistry
from restorewatch_cli.whatif import WhatIfRow, apply_changes, compare, plan_changes

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "whatif"
ACCOUNT = "111122223333"
PROFILE = "backup-restore"
PROVIDER = "registry.terraform.io/hashicorp/aws"
RESTORE_ACTIONS = (
    "backup:StartRestoreJob",
    "backup:DescribeRestoreJob",
    "iam:PassRole",
    "ec2:CreateVolume",
    "s3:GetObject",
)


def arn(kind: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{ACCOUNT}:{kind}{path}{name}"


def document(*statements: dict[str, Any]) -> str:
    """A policy document as Terraform holds it: JSON text (what ``jsonencode`` makes)."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, separators=(",", ":"))


def allow(actions: str | list[str], resource: str = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


def deny(actions: str | list[str], resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": actions, "Resource": resource, **extra}


class Plan:
    """A plan under construction: ``change`` adds one resource instance's change."""

    def __init__(self) -> None:
        self.changes: list[dict[str, Any]] = []
        self.config: list[dict[str, Any]] = []

    def change(
        self,
        address: str,
        actions: list[str],
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        *,
        unknown: dict[str, Any] | None = None,
        expressions: dict[str, Any] | None = None,
    ) -> Plan:
        type_, name = address.split(".", 1)
        after_values = dict(after) if after is not None else None
        for key, mark in (unknown or {}).items():
            if mark is True and after_values is not None:
                after_values.pop(key, None)  # unknown values are left out of "after"
        self.changes.append(
            {
                "address": address,
                "mode": "managed",
                "type": type_,
                "name": name,
                "provider_name": PROVIDER,
                "change": {
                    "actions": actions,
                    "before": before,
                    "after": after_values,
                    "after_unknown": unknown or {},
                    "before_sensitive": {} if before is not None else False,
                    "after_sensitive": {} if after is not None else False,
                },
            }
        )
        if expressions is not None:
            self.config.append(
                {
                    "address": address,
                    "mode": "managed",
                    "type": type_,
                    "name": name,
                    "provider_config_key": "aws",
                    "expressions": expressions,
                    "schema_version": 0,
                }
            )
        return self

    def json(self) -> dict[str, Any]:
        return {
            "format_version": "1.2",
            "terraform_version": "1.9.8",
            "planned_values": {"root_module": {}},
            "resource_changes": self.changes,
            "configuration": {"root_module": {"resources": self.config}},
            "applyable": True,
            "complete": True,
            "errored": False,
        }


def account() -> AccountSnapshot:
    return AccountSnapshot.from_pages([json.loads((FIXTURES / "account.json").read_text())])


def scp_levels() -> list[list[Any]]:
    levels: list[list[Any]] = json.loads((FIXTURES / "scps.json").read_text())
    return levels


def registry() -> ProfileRegistry:
    return ProfileRegistry.default([str(FIXTURES / "profiles")])


def run(
    plan: dict[str, Any] | Plan, *, scps: list[list[Any]] | None = None
) -> dict[tuple[str, str], WhatIfRow]:
    """What-if of ``plan`` on the fixture account: rows by (principal name, profile)."""
    from restorewatch.engine import parse_scps

    snapshot = account()
    data = plan.json() if isinstance(plan, Plan) else plan
    changes = plan_changes(data, origin="plan.json", account=ACCOUNT)
    after = apply_changes(snapshot, changes, scp_levels=scps, tag_key="restorewatch:profile")
    report = compare(snapshot, parse_scps(scps), after, registry=registry(), tag_key="restorewatch:profile")
    return {(row.arn.rsplit("/", 1)[-1], row.profile): row for row in report.rows}


def row(rows: dict[tuple[str, str], WhatIfRow], name: str) -> WhatIfRow:
    return rows[(name, PROFILE)]
