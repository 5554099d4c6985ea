"""A sweep's account snapshot in chunks, so memory stays bounded however large the account is.

A user on the first page of ``GetAccountAuthorizationDetails`` may attach a managed policy that
only a later page lists, so pages cannot be evaluated as they come in an unfiltered listing.
Instead the managed policies are listed first (``Filter=LocalManagedPolicy, AWSManagedPolicy``,
keeping only each policy's default version: the others grant nothing), then the groups, then users
and roles page by page. Each principal page becomes a small ``AccountSnapshot`` that shares the
policies, the groups and the compiled-policy cache, so a managed policy is still parsed once per
sweep and only one page of principals is held at a time.

Each page says when its read began (``SweepPage.read_at``, taken just before the page is requested):
the evaluations of its principals are ordered by that, and by when the policy listing began
(``state.model.Observation``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from restorewatch.engine import AccountSnapshot

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping
    from datetime import datetime

POLICY_FILTER = ("LocalManagedPolicy", "AWSManagedPolicy")
GROUP_FILTER = ("Group",)
PRINCIPAL_FILTERS = (("User",), ("Role",))


class PageSource(Protocol):
    def filtered_pages(self, entity_filter: Iterable[str]) -> Iterator[dict[str, Any]]: ...


def _default_only(policy: Mapping[str, Any]) -> dict[str, Any]:
    versions = [v for v in policy.get("PolicyVersionList") or () if v.get("IsDefaultVersion")]
    return {**policy, "PolicyVersionList": versions}


@dataclass(frozen=True, slots=True)
class SweepPage:
    snapshot: AccountSnapshot
    read_at: datetime  # just before the page of users or roles was requested


def stream_snapshots(source: PageSource, clock: Callable[[], datetime]) -> Iterator[SweepPage]:
    """One snapshot per page of users or roles; raises ``ReadError`` where a page cannot be read."""
    policies: dict[str, Mapping[str, Any]] = {}
    for page in source.filtered_pages(POLICY_FILTER):
        for policy in page.get("Policies") or ():
            policies[policy["Arn"]] = _default_only(policy)
    groups: dict[str, Mapping[str, Any]] = {}
    for page in source.filtered_pages(GROUP_FILTER):
        for group in page.get("GroupDetailList") or ():
            groups[group["GroupName"]] = group
    shared = AccountSnapshot({}, {}, groups, policies)
    for entity_filter in PRINCIPAL_FILTERS:
        pages = iter(source.filtered_pages(entity_filter))
        while True:
            read_at = clock()  # the paginator requests the page in next(), not before
            try:
                page = next(pages)
            except StopIteration:
                break
            chunk = AccountSnapshot.from_pages([page])
            snapshot = AccountSnapshot(chunk.users, chunk.roles, groups, policies, shared._managed)
            yield SweepPage(snapshot, read_at)


__all__ = [
    "GROUP_FILTER",
    "POLICY_FILTER",
    "PRINCIPAL_FILTERS",
    "PageSource",
    "SweepPage",
    "stream_snapshots",
]
