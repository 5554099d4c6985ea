"""What the state table remembers about one watched (principal, profile), as frozen values.

The store (``store.py``) maps these to DynamoDB items; ``ledger.outbox`` is the only writer that
changes them, with conditional writes, so that each transition is alerted exactly once.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from restorewatch.compliance import ComplianceStatus
    from restorewatch.domain import AlertKind
    from restorewatch.engine.model import PrincipalKind, RequirementStatus

SWEEP_PRINCIPAL = "#sweep"
SWEEP_PROFILE = "#last"


class Presence(enum.Enum):
    """Whether the principal is still watched for this profile.

    Items of principals that were unwatched or deleted are kept as tombstones rather than deleted:
    the revision must keep increasing (alert ids are derived from it) and a duplicate or late
    DeleteRole event must find "already deleted" instead of "never seen".
    """

    WATCHED = "watched"
    UNWATCHED = "unwatched"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class PendingAlert:
    """A rendered alert written in the same conditional write as the state that caused it.

    It is the outbox record: until it is cleared, any run that finds it publishes it (again) with
    the same ``alert_id``, so a crash between saving and publishing loses nothing and consumers can
    drop the rare re-publish by id. ``lease_until`` keeps a second run from publishing while the
    writer is still publishing it.
    """

    alert_id: str
    kind: AlertKind
    subject: str
    message: str  # the SNS ``Message`` for ``MessageStructure='json'``: {"default": ..., "email": ...}
    attributes: Mapping[str, str]
    created_at: datetime
    lease_until: datetime
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class LastAlert:
    alert_id: str
    kind: AlertKind
    at: datetime
    delivered_at: datetime | None = None  # set when the pending alert was published and cleared
    message_id: str | None = None  # SNS MessageId of that publish


class Order(enum.Enum):
    NEWER = "newer"  # it saw everything the other saw: it may replace it
    OLDER = "older"  # the other saw everything it saw, and more: it is stale
    OVERLAPPING = "overlapping"  # each saw something the other did not: read again


@dataclass(frozen=True, slots=True)
class Observation:
    """When the IAM data behind one evaluation was read.

    ``observed_at``: the read of the principal itself began (its policies, groups, tags, boundary).
    ``read_from`` (``None``: the same): the earliest read behind the evaluation began. A sweep lists
    every managed policy and group first and then the principals page by page, so a principal on a
    late page has ``observed_at`` minutes after ``read_from``; a change run reads everything about
    its principals after ``observed_at``.

    Ordering evaluations by ``observed_at`` alone would let a sweep's late page, evaluated with the
    managed policies it listed at its start, overwrite a change run that read a policy changed in
    between (a false RESTORED that only the next sweep repairs). Ordering by ``read_from`` alone
    lets a change run that read the principal before a sweep's page did overwrite that later read.
    So one evaluation replaces another only when it is newer on both counts; when each is newer on
    one (overlapping runs), neither may be trusted over the other and the principal is read again.
    """

    observed_at: datetime
    read_from: datetime | None = None

    @property
    def since(self) -> datetime:
        return self.read_from or self.observed_at

    def order(self, stored: Observation) -> Order:
        """How this evaluation compares with the ``stored`` one."""
        if self.since >= stored.since and self.observed_at >= stored.observed_at:
            return Order.NEWER
        if stored.since >= self.since and stored.observed_at >= self.observed_at:
            return Order.OLDER
        return Order.OVERLAPPING


@dataclass(frozen=True, slots=True)
class StoredState:
    """The last evaluation saved for one (principal, profile).

    ``revision`` increases by one with every saved evaluation and is the optimistic-concurrency
    token. ``observed_at`` is when the read of the principal itself began (a sweep's page, a change
    run's read of the principal); ``read_from`` (``None``: the same) when the earliest read behind
    the evaluation began, such as a sweep's listing of the managed policies, so the evaluation
    reflects every IAM change made before ``read_from`` and every change to the principal itself
    made before ``observed_at`` (see ``Observation``, and ``store.py`` for why read times and not the
    CloudTrail eventTime). ``last_alert`` is the most recent transition, set in the same write as
    its pending alert: the diff uses it to know whether a problem is still open.
    """

    principal: str
    profile: str
    revision: int
    observed_at: datetime
    presence: Presence
    status: ComplianceStatus
    actions: Mapping[str, RequirementStatus]
    name: str
    kind: PrincipalKind | None  # None only when an unreadable principal's ARN did not tell
    account: str
    error: str | None = None
    last_alert: LastAlert | None = None
    pending_alert: PendingAlert | None = None
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # the high-water mark of what was known: SCPs were evaluated for this principal, and no definite
    # answer (SCPs do not apply) has come since. A check that cannot read them then is fail-closed.
    scps_evaluated: bool = False
    read_from: datetime | None = None
    # the buckets and keys (ARNs or patterns) the check's bound actions depend on: a change to their
    # policies re-checks this principal (``watch.resource_events``); empty for unbound profiles
    resources: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.principal, self.profile)

    @property
    def observation(self) -> Observation:
        return Observation(self.observed_at, self.read_from)

    @property
    def watched(self) -> bool:
        return self.presence is Presence.WATCHED


@dataclass(frozen=True, slots=True)
class SweepHeartbeat:
    at: datetime
    principals: int


def alert_id_for(principal: str, profile: str, revision: int, observed_at: datetime) -> str:
    """A deterministic alert id for the transition saved at ``revision``.

    ``observed_at`` is mixed in so that ids stay unique even if the table is recreated and the
    revisions start again from 1 (a consumer deduplicating by id must never drop a real alert).
    """
    material = "\n".join((principal, profile, str(revision), format_time(observed_at)))
    return "rw-" + hashlib.sha256(material.encode()).hexdigest()[:32]


def format_time(value: datetime) -> str:
    """Fixed-width UTC ISO 8601, so that DynamoDB's string comparison orders times correctly."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: RestoreWatch times must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
