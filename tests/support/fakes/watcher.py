"""A ``Watcher`` built from the in-memory fakes, in either mode, with a clock the test owns.

``single_account(iam, org=...)`` and ``organization(org, {account: iam}, ...)`` build the watcher
exactly as ``watch.config.build_watcher`` does (the real ``Watcher``, ``Outbox``, modes and profile
registry), on ``MemoryStore``, ``RecordingPublisher``, ``MemoryReportSink``, ``RecordingDispatcher``
and fresh ``FakeIamReader``/``FakeOrgView`` per run. ``change(...)`` builds the CloudTrail change
an event delivers (``domain.CloudTrailChange``, as ``watch.events`` parses it).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from restorewatch.domain import CloudTrailChange
from restorewatch.ledger import Outbox, OutboxSettings
from restorewatch.profiles import DEFAULT_TAG_KEY, ProfileRegistry
from restorewatch.watch import Organization, SingleAccount, Watcher, WatchSettings

from .dispatcher import RecordingDispatcher
from .publisher import RecordingPublisher
from .report import MemoryReportSink
from .store import MemoryStore

if TYPE_CHECKING:
    from restorewatch.errors import ReadError
    from restorewatch.inventory import IamReader

    from .iam import FakeIam
    from .organization import FakeOrganization

T0 = datetime(2026, 5, 4, 9, 0, 0, tzinfo=UTC)
TAG = DEFAULT_TAG_KEY
PROFILE = "veeam-ec2-restore"  # a built-in profile
_events = itertools.count(1)


@cache
def profile_actions(name: str = PROFILE) -> tuple[str, ...]:
    return ProfileRegistry.default().get(name).actions


@dataclass
class TickingClock:
    """Moves 1 ms each time it is read, so every read in a run is later than the one before
    (as real time does), and ``advance`` jumps (a lease expiring, the next day's sweep)."""

    now: datetime = T0

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class FakeWorld:
    """A watcher and the fakes around it; ``watcher()`` builds one as a new execution environment."""

    mode_kind: str
    iam: dict[str, FakeIam]
    org: FakeOrganization | None = None
    settings: WatchSettings = field(default_factory=lambda: WatchSettings(tag_key=TAG))
    store: MemoryStore = field(default_factory=MemoryStore)
    publisher: RecordingPublisher = field(default_factory=RecordingPublisher)
    report: MemoryReportSink = field(default_factory=MemoryReportSink)
    dispatcher: RecordingDispatcher = field(default_factory=RecordingDispatcher)
    clock: TickingClock = field(default_factory=TickingClock)
    unreachable: dict[str, ReadError] = field(default_factory=dict)  # accounts whose role cannot be assumed
    readers: list[Any] = field(default_factory=list)

    def _reader(self, account: str) -> IamReader:
        if (failure := self.unreachable.get(account)) is not None:
            raise failure
        reader = self.iam[account].reader()
        self.readers.append(reader)
        return reader  # type: ignore[return-value]  # FakeIamReader: the methods a run calls

    def watcher(self) -> Watcher:
        outbox = Outbox(
            self.store,
            self.publisher,
            OutboxSettings(tag_key=self.settings.tag_key),
            clock=self.clock,
            sleep=self.clock.advance,
        )
        if self.mode_kind == "organization":
            assert self.org is not None
            mode: SingleAccount | Organization = Organization(
                accounts=self._reader, org_factory=self.org.view, dispatcher=self.dispatcher
            )
        else:
            (account,) = self.iam
            mode = SingleAccount(
                lambda: self._reader(account), self.org.view if self.org is not None else None
            )
        return Watcher(
            mode, outbox, ProfileRegistry.default(), self.settings, report=self.report, clock=self.clock
        )

    def alerts(self) -> list[tuple[str, str]]:
        """(kind, principal ARN) of every alert published so far, in order."""
        found = []
        for sent in self.publisher.published:
            attributes = sent.alert.attributes
            found.append((sent.alert.kind.value, attributes.get("principal", "")))
        return found

    def kinds(self) -> list[str]:
        return [sent.alert.kind.value for sent in self.publisher.published]

    @property
    def iam_calls(self) -> int:
        return sum(reader.total_calls for reader in self.readers)


def single_account(iam: FakeIam, *, org: FakeOrganization | None = None, **settings: Any) -> FakeWorld:
    return FakeWorld(
        "single", {iam.account: iam}, org, WatchSettings(tag_key=TAG, home_account=iam.account, **settings)
    )


def organization(org: FakeOrganization, accounts: dict[str, FakeIam], **settings: Any) -> FakeWorld:
    return FakeWorld("organization", accounts, org, WatchSettings(tag_key=TAG, **settings))


def change(
    event_name: str,
    account: str,
    *,
    source: str = "iam.amazonaws.com",
    event_time: datetime = T0,
    **request_parameters: Any,
) -> CloudTrailChange:
    """One recorded call (``requestParameters`` as CloudTrail writes them: camelCase)."""
    number = next(_events)
    return CloudTrailChange(
        event_id=f"00000000-0000-4000-8000-{number:012d}",
        event_name=event_name,
        event_time=event_time,
        account=account,
        region="us-east-1",
        event_source=source,
        actor_arn=f"arn:aws:sts::{account}:assumed-role/Admin/alice",
        actor_type="AssumedRole",
        request_parameters=request_parameters,
    )
