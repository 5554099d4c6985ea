"""The principals the state table says are watched: what lets a change cost no IAM read.

A change to a principal nobody watches costs no IAM read at all, because the state table is the
index of watched principals. In organization mode the table holds every member account, and a run
reads its own account's states only (``Store.states_in_account``, the ``by-account`` index).

An event names a principal as its caller typed it, and IAM names are case-insensitive
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): ``matching`` finds
the stored principal in any letter case, and ``other_spellings`` gives its name as IAM stored it
(the state's ARNs come from IAM's own answers), to read it by when the event's spelling is unknown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restorewatch.domain import parse_arn
from restorewatch.state import Presence

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from restorewatch.domain import Target
    from restorewatch.state import Store, StoredState

# the state item that says whether a member account could be read at all (organization mode)
ACCOUNT_ACCESS_PROFILE = "#account-access"


def account_access_arn(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


class WatchedIndex:
    """The watched principals of one run, read once and only when needed."""

    def __init__(self, store: Store, account: str | None = None) -> None:
        self._store = store
        self._account = account  # only this account's principals (organization mode)
        self._by_arn: dict[str, list[StoredState]] | None = None

    def _load(self) -> Mapping[str, list[StoredState]]:
        if self._by_arn is None:
            by_arn: dict[str, list[StoredState]] = {}
            states = (
                self._store.scan_states()
                if self._account is None
                else self._store.states_in_account(self._account)
            )
            for state in states:
                if state.profile == ACCOUNT_ACCESS_PROFILE:
                    continue  # not a principal: recorded by every account sweep itself
                if state.presence is Presence.WATCHED:
                    by_arn.setdefault(state.principal, []).append(state)
            self._by_arn = by_arn
        return self._by_arn

    def all(self) -> Iterator[StoredState]:
        for states in self._load().values():
            yield from states

    def of(self, arn: str) -> list[StoredState]:
        return list(self._load().get(arn, ()))

    def matching(self, target: Target) -> list[StoredState]:
        """The watched principals ``target`` names (any path, any letter case)."""
        return [state for arn, states in self._load().items() if target.matches(arn) for state in states]

    def other_spellings(self, target: Target) -> list[str]:
        """The names, as the state knows them, of the principals ``target`` names in another case."""
        names = {arn.name for state in self.matching(target) if (arn := parse_arn(state.principal))}
        return sorted(names - {target.name})
