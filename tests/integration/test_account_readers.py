"""Member-account IAM clients of the central watcher (``inventory.accounts``), on moto's STS.

moto's STS lets any role be assumed (it does not check trust policies), which is all these tests
need: how often the watcher assumes a member role, and what it keeps afterwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from restorewatch.inventory import AccountReaders
from restorewatch.inventory.clients import make_client

if TYPE_CHECKING:
    from collections.abc import Iterator

MEMBERS = [f"{number:012d}" for number in range(100000000001, 100000000041)]  # 40 member accounts


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def readers() -> Iterator[tuple[AccountReaders, Clock]]:
    with mock_aws():
        clock = Clock()
        yield (
            AccountReaders(sts_client=boto3.client("sts", region_name="us-east-1"), clock=clock),
            clock,
        )


def test_member_role_assumed_once_then_reused_until_near_expiry(
    readers: tuple[AccountReaders, Clock],
) -> None:
    accounts, clock = readers
    first = accounts.iam_client(MEMBERS[0])
    assert accounts.iam_client(MEMBERS[0]) is first
    assert accounts.calls["AssumeRole"] == 1
    clock.now += 3600 - 600 + 1  # less than the refresh margin left on the 1 h credentials
    assert accounts.iam_client(MEMBERS[0]) is not first
    assert accounts.calls["AssumeRole"] == 2


def test_member_clients_use_the_assumed_credentials_and_the_shared_session(
    readers: tuple[AccountReaders, Clock],
) -> None:
    """Each member client signs with its own assumed-role credentials but comes from the one shared
    boto3 session (same botocore loader): a session per account loaded botocore's data files again,
    10.5 MB per account against 0.4 MB (measured with 30 clients each way); a warm container that
    swept 100 accounts held about 1 GB."""
    accounts, _ = readers
    one, two = accounts.iam_client(MEMBERS[0]), accounts.iam_client(MEMBERS[1])
    # botocore internals (not in the stubs): the credentials and the shared loader
    keys = {one._get_credentials().access_key, two._get_credentials().access_key}  # type: ignore[attr-defined]
    own = make_client("iam")
    assert len(keys) == 2
    assert own._get_credentials().access_key not in keys  # type: ignore[attr-defined]
    assert one._loader is two._loader is own._loader  # type: ignore[attr-defined]


@pytest.mark.slow  # 33 member accounts assumed on moto
def test_only_the_most_recent_member_clients_are_kept(readers: tuple[AccountReaders, Clock]) -> None:
    """A warm container sweeps one account after another: the clients of the 32 accounts used last
    are kept, older ones are dropped (and the role assumed again if the account comes back)."""
    accounts, _ = readers
    for account in MEMBERS[:32]:
        accounts.iam_client(account)
    accounts.iam_client(MEMBERS[0])  # used again: now the most recent
    accounts.iam_client(MEMBERS[32])  # the 33rd: the least recently used (MEMBERS[1]) goes
    assert accounts.calls["AssumeRole"] == 33
    accounts.iam_client(MEMBERS[0])
    assert accounts.calls["AssumeRole"] == 33
    accounts.iam_client(MEMBERS[1])
    assert accounts.calls["AssumeRole"] == 34
