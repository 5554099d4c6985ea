"""IAM readers per account: the watcher's own account directly, member accounts through their role.

The central watcher of an organization reads a member account's IAM through the read-only role
that ``templates/member-stackset.yaml`` creates in every account (trust: the central watcher's
role, only from inside the organization). ``sts:AssumeRole`` is called once per account per
factory and the clients (of the 32 accounts used last) are kept until shortly before the
credentials expire, so a run that reads one account many times assumes its role once. A failed
assumption is a ``ReadError`` (``AssumeRole``, the role ARN): that account's principals become
``unknown``, no other account's.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from restorewatch.inventory.clients import make_client
from restorewatch.inventory.iam_reader import IamReader
from restorewatch.inventory.organizations import read_error

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from types_boto3_iam import IAMClient
    from types_boto3_sts import STSClient

logger = logging.getLogger(__name__)

DEFAULT_MEMBER_ROLE = "RestoreWatchMemberReader"
_SESSION_SECONDS = 3600
_REFRESH_BEFORE = 600  # assume again when less than this is left (the Lambda timeout is 900 s at most)
_CACHED_ACCOUNTS = 32  # member-account clients kept (each holds its credentials and connections)


class AccountReaders:
    """``reader(account) -> IamReader``; clients cached per account while their credentials last."""

    def __init__(
        self,
        *,
        sts_client: STSClient,
        role_name: str = DEFAULT_MEMBER_ROLE,
        home_account: str | None = None,
        home_client: IAMClient | None = None,
        endpoint_url: str | None = None,
        session_name: str = "restorewatch",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sts = sts_client
        self.role_name = role_name
        self.home_account = home_account
        self._home_client = home_client
        self._endpoint = endpoint_url
        self._session_name = session_name
        self._clock = clock
        self._clients: dict[tuple[str, str, str | None], tuple[Any, float]] = {}
        self._credentials: dict[str, tuple[Mapping[str, Any], float]] = {}
        self.calls: Counter[str] = Counter()

    def role_arn(self, account: str) -> str:
        return f"arn:aws:iam::{account}:role/{self.role_name}"

    def iam_client(self, account: str) -> IAMClient:
        if account == self.home_account and self._home_client is not None:
            return self._home_client
        client: IAMClient = self.client("iam", account)
        return client

    def client(self, service: str, account: str, region: str | None = None) -> Any:
        """A ``service`` client acting in ``account`` through its role (the bucket and key policy
        reads of organization mode use the member's credentials: neither can be read from another
        account). The watcher's own account is read with its own credentials."""
        key = (service, account, region)
        cached = self._clients.pop(key, None)
        if cached is not None and cached[1] > self._clock():
            self._clients[key] = cached  # now the most recently used
            return cached[0]
        credentials, until = (None, float("inf")) if account == self.home_account else self._assume(account)
        client = make_client(
            service, endpoint_url=self._endpoint, region_name=region, credentials=credentials
        )
        if len(self._clients) >= _CACHED_ACCOUNTS:
            # a warm container sweeps one account after another: keep the most recent ones only
            _, dropped, _ = oldest = next(iter(self._clients))
            self._clients.pop(oldest)
            if not any(cached_account == dropped for _, cached_account, _ in self._clients):
                self._credentials.pop(dropped, None)  # their credentials go with the account's clients
        self._clients[key] = (client, until)
        return client

    def _assume(self, account: str) -> tuple[Mapping[str, Any], float]:
        cached = self._credentials.get(account)
        if cached is not None and cached[1] > self._clock():
            return cached
        role_arn = self.role_arn(account)
        self.calls["AssumeRole"] += 1
        try:
            credentials = self._sts.assume_role(
                RoleArn=role_arn, RoleSessionName=self._session_name, DurationSeconds=_SESSION_SECONDS
            )["Credentials"]
        except Exception as exc:  # botocore ClientError / BotoCoreError
            raise read_error("AssumeRole", role_arn, exc) from exc
        entry = (credentials, self._clock() + _SESSION_SECONDS - _REFRESH_BEFORE)
        self._credentials[account] = entry
        return entry

    def reader(self, account: str) -> IamReader:
        """A fresh reader (its caches are per run) over the account's cached client."""
        return IamReader(self.iam_client(account))


__all__ = ["DEFAULT_MEMBER_ROLE", "AccountReaders"]
