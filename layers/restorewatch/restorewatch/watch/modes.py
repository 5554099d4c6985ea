"""Where a watcher reads IAM and how its sweeps spread: single-account or organization mode.

The mode is chosen once, when the watcher is built (``watch.config``, template parameter
OrganizationMode), the way Cloud Custodian gives each policy one execution mode (``c7n/policy.py``:
one class per mode, looked up once by the policy's ``mode.type``, and the policy delegates to it).
Nothing else asks which mode it runs in.

* ``SingleAccount``: the watcher's own account. IAM is read directly, a re-check sweeps the
  account in this invocation, and an Organizations view (when the watcher may read Organizations)
  supplies SCPs and the account's name.
* ``Organization``: the central watcher of an organization's member accounts. IAM is read through
  each member's role (``inventory.AccountReaders``), a change run reads only its account's states,
  and a sweep of the organization, or a change that needs accounts swept, is fanned out: one sweep
  message per account (``watch.fanout``), each swept by its own invocation.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Protocol

from restorewatch.errors import InputError, ReadError
from restorewatch.watch.account_sweep import sweep_account
from restorewatch.watch.context import RunContext

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from restorewatch.compliance import ScpCoverage
    from restorewatch.domain import CloudTrailChange
    from restorewatch.engine import ScpLevels
    from restorewatch.inventory import AccountRcps, IamReader
    from restorewatch.watch.context import WatcherParts
    from restorewatch.watch.fanout import SweepDispatcher
    from restorewatch.watch.summary import RunSummary

__all__ = ["ExecutionMode", "OrgView", "Organization", "SingleAccount"]

logger = logging.getLogger(__name__)


class OrgView(Protocol):
    """The organization as one run sees it (met by ``inventory.OrganizationsScpSource``)."""

    @property
    def total_calls(self) -> int: ...
    def levels(self, account: str) -> ScpLevels | None: ...
    def coverage(self, account: str) -> ScpCoverage: ...
    def account_name(self, account: str) -> str | None: ...
    def account_ids(self) -> list[str]: ...
    def accounts_below(self, target: str) -> list[str]: ...
    def targets_of(self, policy_id: str) -> list[str]: ...
    def rcps(self, account: str) -> AccountRcps: ...
    def organization_of(self, account: str) -> tuple[str | None, tuple[str, ...]]: ...


class ExecutionMode(Protocol):
    def org_view(self) -> OrgView | None:
        """A fresh view of the organization for one run (it caches what it read), if any."""
        ...

    def reader(self, account: str | None) -> IamReader:
        """A fresh IAM reader (its caches are per run) for ``account`` (``None``: the watcher's own)."""
        ...

    def resource_client(self, service: str, account: str, region: str | None) -> Any:
        """A ``service`` (s3, kms) client acting in ``account``, to read the policies of the buckets
        and keys bound profiles name (raises ``ReadError`` when the account cannot be reached)."""
        ...

    def scope(self, change: CloudTrailChange) -> str | None:
        """The account whose states a change run reads and whose reader it uses (``None``: the
        watcher's own account, its table read whole)."""
        ...

    def sweep(
        self, parts: WatcherParts, trigger: CloudTrailChange | None, account: str | None, started: float
    ) -> RunSummary:
        """The scheduled or requested sweep (``account``: a fan-out message's one account)."""
        ...

    def recheck(
        self, parts: WatcherParts, change: CloudTrailChange, run: RunContext | None, started: float
    ) -> RunSummary:
        """``change`` cannot be mapped to principals (``run``: the change run that found so, if
        any): re-check its account."""
        ...

    def recheck_accounts(
        self, parts: WatcherParts, run: RunContext, accounts: Sequence[str], started: float
    ) -> RunSummary:
        """An Organizations change reached ``accounts``: re-check those the watcher watches."""
        ...


class SingleAccount:
    """The watcher's own account, read directly (``reader_factory``); ``org_factory``: its view of
    the organization, when it may read Organizations (``None``: SCPs are said not evaluated)."""

    def __init__(
        self,
        reader_factory: Callable[[], IamReader],
        org_factory: Callable[[], OrgView] | None = None,
        client_factory: Callable[[str, str | None], Any] | None = None,
    ) -> None:
        self._reader_factory = reader_factory
        self._org_factory = org_factory
        self._client_factory = client_factory
        self._clients: dict[tuple[str, str | None], Any] = {}

    def org_view(self) -> OrgView | None:
        return self._org_factory() if self._org_factory is not None else None

    def reader(self, account: str | None) -> IamReader:
        return self._reader_factory()

    def resource_client(self, service: str, account: str, region: str | None) -> Any:
        """The watcher's own credentials, whatever ``account``: a bucket or key of another account
        then fails its read (AccessDenied, ``ExpectedBucketOwner``), which says unknown."""
        key = (service, region)
        if key not in self._clients:
            if self._client_factory is not None:
                self._clients[key] = self._client_factory(service, region)
            else:
                from restorewatch.inventory import make_client

                self._clients[key] = make_client(service, region_name=region)
        return self._clients[key]

    def scope(self, change: CloudTrailChange) -> str | None:
        return None

    def sweep(
        self, parts: WatcherParts, trigger: CloudTrailChange | None, account: str | None, started: float
    ) -> RunSummary:
        return sweep_account(parts, trigger, account, started)

    def recheck(
        self, parts: WatcherParts, change: CloudTrailChange, run: RunContext | None, started: float
    ) -> RunSummary:
        return sweep_account(parts, change, None, time.monotonic())

    def recheck_accounts(
        self, parts: WatcherParts, run: RunContext, accounts: Sequence[str], started: float
    ) -> RunSummary:
        home = parts.settings.home_account
        if home is not None and home not in accounts:
            return run.finish(started)  # the watched account is not below what changed
        return sweep_account(parts, run.trigger, None, time.monotonic())


class Organization:
    """The central watcher: ``accounts(account)`` reads a member account through its role,
    ``org_factory`` views the organization, ``dispatcher`` enqueues one sweep per account."""

    def __init__(
        self,
        *,
        accounts: Callable[[str], IamReader],
        org_factory: Callable[[], OrgView],
        dispatcher: SweepDispatcher,
        clients: Callable[[str, str, str | None], Any] | None = None,
    ) -> None:
        self._accounts = accounts
        self._clients = clients
        self._org_factory = org_factory
        self._dispatcher = dispatcher

    def org_view(self) -> OrgView:
        return self._org_factory()

    def reader(self, account: str | None) -> IamReader:
        if account is None:
            raise InputError("organization mode reads IAM per member account, and no account was given")
        return self._accounts(account)

    def resource_client(self, service: str, account: str, region: str | None) -> Any:
        """A client of the member account's role (``AccountReaders.client``)."""
        if self._clients is None:
            raise ReadError("AssumeRole", account, "NotConfigured", "no member-account clients were given")
        return self._clients(service, account, region)

    def scope(self, change: CloudTrailChange) -> str | None:
        # the central table holds every member account: a run reads its own account's states only
        return change.account

    def sweep(
        self, parts: WatcherParts, trigger: CloudTrailChange | None, account: str | None, started: float
    ) -> RunSummary:
        """The central watcher sweeps no account itself: it enqueues one sweep per account, and each
        of those (``account`` given) sweeps that account only."""
        if account is not None:
            return sweep_account(parts, trigger, account, started)
        run = RunContext.start(parts, trigger)
        assert run.org is not None  # organization mode always views the organization
        try:
            accounts = run.org.account_ids()
        except ReadError as failure:
            run.retry(f"sweep fan-out: {failure}")
            return run.finish(started)
        return self._dispatch(parts, run, accounts, started)

    def recheck(
        self, parts: WatcherParts, change: CloudTrailChange, run: RunContext | None, started: float
    ) -> RunSummary:
        return self._dispatch(parts, run or RunContext.start(parts, change), [change.account], started)

    def recheck_accounts(
        self, parts: WatcherParts, run: RunContext, accounts: Sequence[str], started: float
    ) -> RunSummary:
        return self._dispatch(parts, run, accounts, started)

    def _dispatch(
        self, parts: WatcherParts, run: RunContext, accounts: Sequence[str], started: float
    ) -> RunSummary:
        """One sweep message per account, each swept by its own invocation."""
        try:
            run.summary.dispatched = self._dispatcher.dispatch(accounts, run.trigger)
        except ReadError as failure:
            run.retry(f"sweep fan-out: {failure}")
        else:
            parts.sweeps_begun.update(dict.fromkeys(accounts, run.started_at))
        return run.finish(started)
