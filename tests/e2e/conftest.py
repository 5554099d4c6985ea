"""End-to-end fixtures: moto's server in a subprocess on a free 127.0.0.1 port, and the CLI run as a
user runs it (``python -m restorewatch_cli``, in the repository, a fresh interpreter per command).

One server per test session (per xdist worker); each test starts from an empty account through moto's
reset endpoint (``POST /moto-api/reset``), so tests stay independent without paying a start each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from restorewatch.inventory import make_client
from restorewatch.profiles import ProfileRegistry
from restorewatch_cli.local.moto_server import moto_server as serve_moto
from support.template import REPO_ROOT

if TYPE_CHECKING:
    from collections.abc import Iterator

ACCOUNT = "111122223333"
TAG_KEY = "restorewatch:profile"
PROFILE = "veeam-ec2-restore"
ROLE = "VeeamRestoreRole"
POLICY = "VeeamRestorePolicy"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/{POLICY}"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    with serve_moto({"MOTO_ACCOUNT_ID": ACCOUNT, "MOTO_IAM_LOAD_MANAGED_POLICIES": "false"}) as endpoint:
        yield endpoint


@pytest.fixture
def endpoint(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The server, emptied: every test starts from a fresh account."""
    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    return moto_server


@dataclass(frozen=True, slots=True)
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def cli(*args: str, timeout: float = 60, env: dict[str, str] | None = None) -> Run:
    """``restorewatch ARGS`` in a fresh interpreter, in the repository (where template.yaml is)."""
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("AWS_ENDPOINT_URL")},
        **(env or {}),
    }
    done = subprocess.run(
        [sys.executable, "-m", "restorewatch_cli", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


class Account:
    """A tagged restore role whose permissions come from one managed policy, on the server's IAM."""

    def __init__(self, endpoint: str) -> None:
        self.iam = make_client("iam", endpoint_url=endpoint)
        self.actions = list(ProfileRegistry.default().get(PROFILE).actions)
        document = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": self.actions, "Resource": "*"}],
        }
        self.iam.create_policy(PolicyName=POLICY, PolicyDocument=json.dumps(document))
        self.iam.create_role(
            RoleName=ROLE, AssumeRolePolicyDocument=TRUST, Tags=[{"Key": TAG_KEY, "Value": PROFILE}]
        )
        self.iam.attach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)

    def detach(self) -> None:
        self.iam.detach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)


@pytest.fixture
def account(endpoint: str) -> Account:
    return Account(endpoint)
