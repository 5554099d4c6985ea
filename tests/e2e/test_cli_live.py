"""``restorewatch check`` without ``--auth-details``: the live account through boto3
(GetAccountAuthorizationDetails, paginated: https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html),
here moto's server via ``--endpoint-url`` or ``AWS_ENDPOINT_URL``."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from e2e.conftest import ACCOUNT, ROLE, ROLE_ARN, TAG_KEY, TRUST, cli
from support.template import REPO_ROOT

if TYPE_CHECKING:
    from e2e.conftest import Account

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_check_live_compliant_exits_0(endpoint: str, account: Account) -> None:
    run = cli("check", "--endpoint-url", endpoint, "--format", "json")
    assert run.code == 0, run.stderr
    (principal,) = run.json()["principals"]
    assert (principal["arn"], principal["status"]) == (ROLE_ARN, "compliant")
    assert {a["status"] for a in principal["actions"]} == {"allowed"}
    assert len(principal["actions"]) == len(account.actions)


def test_check_live_after_detach_exits_1_with_lost_actions(endpoint: str, account: Account) -> None:
    account.detach()
    run = cli("check", "--endpoint-url", endpoint, "--format", "json")
    assert run.code == 1, run.stderr
    (principal,) = run.json()["principals"]
    assert principal["status"] == "non_compliant"
    denied = sorted(a["action"] for a in principal["actions"] if a["status"] == "denied")
    assert denied == sorted(account.actions)


def test_check_live_reads_aws_endpoint_url(endpoint: str, account: Account) -> None:
    """Without --endpoint-url, the AWS_ENDPOINT_URL environment variable points the reads."""
    account.iam.put_role_policy(
        RoleName="VeeamRestoreRole",
        PolicyName="NoTerminate",
        PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ec2:TerminateInstances","Resource":"*"}]}',
    )
    done = subprocess.run(
        [sys.executable, "-m", "restorewatch_cli", "check", "--format", "table"],
        cwd=REPO_ROOT,
        env={**os.environ, "AWS_ENDPOINT_URL": endpoint},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "ec2:TerminateInstances" in done.stdout
    assert "NoTerminate" in done.stdout


def test_check_live_after_the_watch_tag_is_removed_exits_2_unless_allow_empty(
    endpoint: str, account: Account
) -> None:
    """A CI gate on the live account fails once nobody carries the watch tag (issue 10, item 10)."""
    account.iam.untag_role(RoleName=ROLE, TagKeys=[TAG_KEY])
    run = cli("check", "--endpoint-url", endpoint)
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr.startswith(f"restorewatch: error: no watched principal (tag key {TAG_KEY!r})")
    assert len(run.stderr.splitlines()) == 1
    run = cli("check", "--endpoint-url", endpoint, "--format", "json", "--allow-empty")
    assert (run.code, run.json()["principals"]) == (0, [])


def test_check_live_one_bad_principal_is_unknown_and_the_others_are_checked(
    endpoint: str, account: Account
) -> None:
    """A tag naming a profile nobody defined makes that principal ``unknown`` (issue 10, item 11);
    the restore role is still checked, and the exit code is 1."""
    account.iam.create_role(
        RoleName="TypoRole", AssumeRolePolicyDocument=TRUST, Tags=[{"Key": TAG_KEY, "Value": "veeam-typo"}]
    )
    run = cli("check", "--endpoint-url", endpoint, "--format", "json")
    assert run.code == 1, run.stderr
    assert run.stderr == ""
    statuses = {entry["arn"]: entry["status"] for entry in run.json()["principals"]}
    assert statuses == {ROLE_ARN: "compliant", f"arn:aws:iam::{ACCOUNT}:role/TypoRole": "unknown"}


def test_check_live_unreachable_endpoint_exits_2(endpoint: str) -> None:
    """A read failure is reported (exit 2), never read as "no principal" or "compliant"."""
    # botocore's own AWS_MAX_ATTEMPTS wins over the client default: fail fast instead of 10 attempts
    run = cli("check", "--endpoint-url", "http://127.0.0.1:9", env={"AWS_MAX_ATTEMPTS": "1"})
    assert run.code == 2
    assert run.stderr
