"""Fixtures of the guarantees suite: the stack on moto, the fault injector, and a clock for leases.

``world``: ``template.yaml``'s runtime resources on in-process moto (``stack.Stack``), the seeded
account, the function's environment from the template, every client the watcher builds hooked by
a ``FaultInjector``, botocore's retry waits taken out (mode and attempts unchanged), and the
outbox's clock made controllable: a message that failed comes back after the queue's visibility
timeout (3600 s in the template), by which time an alert lease (90 s) has expired; the test moves
the clock instead of waiting. The watched account is a member of an AWS organization (SCPs at the
root, an OU and the account: ``organization.watched_member``) and the stack has a report bucket
(``ReportBucket``): every check reads SCPs, every sweep writes the report.

``org_world``: the same for the central watcher of that organization (``OrganizationMode=true``),
in the management account; the watched account is the member it reads through STS AssumeRole.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from moto import mock_aws

from restorewatch.ledger import Outbox
from restorewatch.watch import config as runtime_config
from support.template import load_template

from .injection import FaultInjector, attach_to_package_clients, client, no_backoff_sleep, shared_session
from .organization import (
    CENTRAL,
    WATCHED,
    Organization,
    central_management,
    forget_membership,
    watched_member,
)
from .stack import ACCOUNT, REPORT_BUCKET, Stack, fresh_watcher, seed_account

if TYPE_CHECKING:
    from collections.abc import Iterator


def queue_visibility_timeout() -> int:
    return int(load_template()["Resources"]["EventQueue"]["Properties"]["VisibilityTimeout"])


@dataclass
class Clock:
    """Real time plus an offset the test moves (sleeping moves it too: no test waits)."""

    offset: timedelta = field(default_factory=timedelta)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def sleep(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


class WorldKind(enum.Enum):
    """Where the watcher runs; the value is the fixture that builds that world."""

    ACCOUNT = "world"  # the watcher of its own account, a member of an organization
    STANDALONE = "standalone_world"  # the watcher of an account in no organization
    ORGANIZATION = "org_world"  # the central watcher of an organization (OrganizationMode=true)


@dataclass
class World:
    stack: Stack
    injector: FaultInjector
    clock: Clock
    clients: list[Any]
    kind: WorldKind = WorldKind.ACCOUNT
    organization: Organization | None = None
    iam: Any = None  # the watched account's IAM, test side (no faults)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
    forget_membership()
    try:
        with mock_aws():
            yield
    finally:
        forget_membership()


def member_iam(account: str) -> Any:
    """The member account's IAM as its own principals see it (moto maps assumed-role credentials
    to the role's account when ``MOTO_ACCOUNT_ID`` is not set)."""
    credentials = client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="faults"
    )["Credentials"]
    return shared_session().client(
        "iam",
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def build_world(
    monkeypatch: pytest.MonkeyPatch,
    *,
    seed: bool = True,
    fake_clock: bool = True,
    kind: WorldKind = WorldKind.ACCOUNT,
) -> World:
    org: Organization | None = None
    if kind is WorldKind.ORGANIZATION:
        org = central_management(monkeypatch)
        stack = Stack.create(account=CENTRAL, organization_mode=True)
        iam = member_iam(WATCHED)
    else:
        org = watched_member(monkeypatch) if kind is WorldKind.ACCOUNT else None
        stack = Stack.create(report_bucket=REPORT_BUCKET)
        iam = client("iam")
    if seed:
        seed_account(iam)
    stack.apply_environment(monkeypatch)
    injector = FaultInjector()
    clients = attach_to_package_clients(monkeypatch, injector)
    no_backoff_sleep(monkeypatch)
    clock = Clock()

    def outbox(store: Any, publisher: Any, settings: Any) -> Outbox:
        return Outbox(store, publisher, settings, clock=clock.now, sleep=clock.sleep)

    if fake_clock:
        monkeypatch.setattr(runtime_config, "Outbox", outbox)
    fresh_watcher()
    return World(stack, injector, clock, clients, kind, org, iam)


@pytest.fixture
def world(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    try:
        yield build_world(monkeypatch)
    finally:
        fresh_watcher()


@pytest.fixture
def standalone_world(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    try:
        yield build_world(monkeypatch, kind=WorldKind.STANDALONE)
    finally:
        fresh_watcher()


@pytest.fixture
def org_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
    forget_membership()
    with mock_aws():
        try:
            yield build_world(monkeypatch, kind=WorldKind.ORGANIZATION)
        finally:
            fresh_watcher()
            forget_membership()


# The longest tests first (longest-processing-time scheduling): pytest-xdist hands tests out in
# collection order, so a long test collected last would run alone at the end of the run.
LONGEST_FIRST = (
    "test_load.py::",
    "test_storm.py::test_storm_of_1000",
    "test_fuzz.py::test_fuzz_policy_documents",
    "test_fuzz.py::test_fuzz_events",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        for index, marker in enumerate(LONGEST_FIRST):
            if marker in item.nodeid:
                return index
        return len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the rest keep their order
