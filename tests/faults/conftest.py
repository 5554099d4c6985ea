"""Fixtures of the guarantees suite: the stack on moto, the fault injector, and a clock for leases.

``world``: ``template.yaml``'s runtime resources on in-process moto (``stack.Stack``), the seeded
account, the function's environment from the template, every client the watcher builds hooked by
a ``FaultInjector``, botocore's retry waits taken out (mode and attempts unchanged), and the
outbox's clock made controllable: a message that failed comes back after the queue's visibility
timeout (3600 s in the template), by which time an alert lease (90 s) has expired; the test moves
the clock instead of waiting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from moto import mock_aws

from restorewatch.alerts import Outbox
from restorewatch.watch import runtime
from support.template import load_template

from .injection import FaultInjector, no_backoff_sleep, patch_make_client
from .stack import ACCOUNT, Stack, fresh_watcher, seed_account

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


@dataclass
class World:
    stack: Stack
    injector: FaultInjector
    clock: Clock
    clients: list[Any]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
    with mock_aws():
        yield


def build_world(monkeypatch: pytest.MonkeyPatch, *, seed: bool = True, fake_clock: bool = True) -> World:
    stack = Stack.create()
    if seed:
        seed_account()
    stack.apply_environment(monkeypatch)
    injector = FaultInjector()
    clients = patch_make_client(monkeypatch, injector)
    no_backoff_sleep(monkeypatch)
    clock = Clock()

    def outbox(store: Any, publisher: Any, settings: Any) -> Outbox:
        return Outbox(store, publisher, settings, clock=clock.now, sleep=clock.sleep)

    if fake_clock:
        monkeypatch.setattr(runtime, "Outbox", outbox)
    fresh_watcher()
    return World(stack, injector, clock, clients)


@pytest.fixture
def world(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    try:
        yield build_world(monkeypatch)
    finally:
        fresh_watcher()


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
