"""The DynamoDB state store: one item per (principal ARN, profile), written only conditionally.

Exactly-once transitions rest on three conditions, checked by DynamoDB in the write itself:

* **Optimistic concurrency.** ``save`` succeeds only if the stored ``revision`` is still the one
  the writer read (or, for a first sight, no item exists). Of two writers racing on the same
  revision exactly one wins; the loser re-reads and diffs again against the winner's state, so a
  duplicate delivery finds "nothing changed" instead of alerting twice.
* **No stale overwrite.** ``save`` also requires ``observed_at <= new observed_at``. ``observed_at``
  is the time the IAM read of the principal *began* (and ``read_from`` the time the earliest read
  behind the evaluation began: ``state.model.Observation``), not the CloudTrail ``eventTime`` of the
  event that triggered it: the watcher always re-reads live IAM state, so an old event processed late
  yields a fresh evaluation, and its eventTime would understate how new it is. Worse, with eventTime
  two overlapping runs can let an evaluation read earlier overwrite one read later (a spurious
  RESTORED followed by LOST). Read times order evaluations by what they actually saw; the outbox
  replaces a state only with an evaluation newer on both times, refuses an older one (every later
  change has its own event, or the sweep, so that loses nothing) and has the principal read again
  when two overlapping runs each saw something the other did not.
* **One alert in flight.** ``save`` refuses to write while a ``pending_alert`` exists: the pending
  alert must be delivered first, which keeps alerts for one key in transition order.

The pending alert (the outbox record) is written in the same item write as the state that caused
it; ``ledger.outbox`` then publishes it and clears it with ``clear_pending``. See that module for
the full protocol. Reads are strongly consistent: a revision read eventually-consistently could be
stale and would only cause needless conflicts.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from restorewatch.compliance import ComplianceStatus
from restorewatch.domain import AlertKind
from restorewatch.engine.model import PrincipalKind, RequirementStatus
from restorewatch.errors import RestoreWatchError
from restorewatch.state.model import (
    SWEEP_PRINCIPAL,
    SWEEP_PROFILE,
    LastAlert,
    PendingAlert,
    Presence,
    StoredState,
    SweepHeartbeat,
    format_time,
    parse_time,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from datetime import datetime

    from types_boto3_dynamodb import DynamoDBClient

logger = logging.getLogger(__name__)

Item = dict[str, Any]  # a DynamoDB item in the low-level attribute-value format
ACCOUNT_INDEX = "by-account"  # template.yaml's StateTable declares it


class StateStoreError(RestoreWatchError):
    """A state table call failed after retries. Retryable: the batch item goes back to the queue."""

    def __init__(self, operation: str, code: str, message: str) -> None:
        super().__init__(f"state table {operation} failed: {code}: {message}")
        self.operation = operation
        self.code = code


class StateConflictError(StateStoreError):
    """A conditional save lost: another writer saved first, an alert is pending, or it is stale."""

    def __init__(self, principal: str, profile: str) -> None:
        super().__init__(
            "save", "ConditionalCheckFailedException", f"{principal} / {profile} changed under us"
        )
        self.principal = principal
        self.profile = profile


class Store(Protocol):
    """The seam ``ledger.outbox`` and ``watch`` use; ``DynamoStateStore`` meets it against AWS/moto."""

    def get(self, principal: str, profile: str) -> StoredState | None: ...

    def states_for(self, principal: str) -> list[StoredState]: ...

    def scan_states(self) -> Iterator[StoredState]: ...

    def states_in_account(self, account: str) -> Iterator[StoredState]: ...

    def with_pending(self, account: str | None = None) -> Iterator[StoredState]: ...

    def save(self, state: StoredState, *, expected_revision: int | None) -> None: ...

    def claim_pending(
        self, principal: str, profile: str, alert_id: str, *, seen_lease: datetime, new_lease: datetime
    ) -> bool: ...

    def release_pending(self, principal: str, profile: str, alert_id: str, *, lease: datetime) -> bool: ...

    def clear_pending(
        self, principal: str, profile: str, alert_id: str, *, delivered_at: datetime, message_id: str
    ) -> bool: ...

    def record_sweep(self, heartbeat: SweepHeartbeat) -> bool: ...

    def last_sweep(self) -> SweepHeartbeat | None: ...


class DynamoStateStore:
    """``Store`` on a DynamoDB table whose key schema is ``principal`` (HASH) / ``profile`` (RANGE),
    with the global secondary index ``by-account`` (``account`` HASH, ``principal`` RANGE).

    The index is what keeps the central watcher of an organization linear: a member account's sweep
    or event reads that account's states, not the whole table (100 accounts of 500 principals would
    otherwise read 50,000 items per account, 5 million per sweep). Index reads are eventually
    consistent; that only decides *which* principals a run looks at. Every write still rests on a
    strongly consistent read of its own key and a conditional write, so a state written a moment
    before an index read can at worst be looked at by the next run, never alerted twice.
    """

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        # boto3 is imported on first use so that importing the package stays cheap (cold start)
        if self._client is None:
            import boto3
            from botocore.config import Config

            config = Config(
                retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=10
            )
            self._client = boto3.client("dynamodb", config=config)
        return self._client

    # -- reads -------------------------------------------------------------------------------

    def get(self, principal: str, profile: str) -> StoredState | None:
        response = self._call(
            "GetItem", TableName=self.table_name, Key=_key(principal, profile), ConsistentRead=True
        )
        item = response.get("Item")
        return None if item is None else state_from_item(item)

    def states_for(self, principal: str) -> list[StoredState]:
        """Every profile stored for a principal (to find the profiles it is no longer tagged with)."""
        return [
            state_from_item(item)
            for item in self._paginate(
                "Query",
                KeyConditionExpression="principal = :p",
                ExpressionAttributeValues={":p": {"S": principal}},
            )
        ]

    def scan_states(self) -> Iterator[StoredState]:
        """All stored states but the sweep heartbeat (a sweep uses it to find deleted principals)."""
        for item in self._paginate("Scan"):
            if item["principal"]["S"] != SWEEP_PRINCIPAL:
                yield state_from_item(item)

    def states_in_account(self, account: str) -> Iterator[StoredState]:
        """One account's stored states (a member account's sweep or event, organization mode)."""
        for item in self._account_items(account):
            yield state_from_item(item)

    def with_pending(self, account: str | None = None) -> Iterator[StoredState]:
        """States with an undelivered alert (of ``account`` only, if given), for a sweep to flush
        after a crash."""
        pending = "attribute_exists(pending_alert)"
        items = (
            self._paginate("Scan", FilterExpression=pending)
            if account is None
            else self._account_items(account, FilterExpression=pending)
        )
        for item in items:
            yield state_from_item(item)

    def last_sweep(self) -> SweepHeartbeat | None:
        response = self._call(
            "GetItem",
            TableName=self.table_name,
            Key=_key(SWEEP_PRINCIPAL, SWEEP_PROFILE),
            ConsistentRead=True,
        )
        item = response.get("Item")
        if item is None:
            return None
        return SweepHeartbeat(
            at=parse_time(item["last_sweep_at"]["S"]), principals=int(item["principals"]["N"])
        )

    # -- conditional writes ------------------------------------------------------------------

    def save(self, state: StoredState, *, expected_revision: int | None) -> None:
        """Write ``state`` if the item is still at ``expected_revision`` (``None``: no item yet).

        Raises ``StateConflictError`` when the condition fails; the caller re-reads and decides.
        """
        if expected_revision is None:
            condition = "attribute_not_exists(principal)"
            values: Item = {}
        else:
            if state.revision != expected_revision + 1:
                raise ValueError(f"revision {state.revision} does not follow {expected_revision}")
            condition = (
                "revision = :expected AND attribute_not_exists(pending_alert) AND observed_at <= :observed"
            )
            values = {
                ":expected": {"N": str(expected_revision)},
                ":observed": {"S": format_time(state.observed_at)},
            }
        kwargs: Item = {"ConditionExpression": condition}
        if values:
            kwargs["ExpressionAttributeValues"] = values
        self._conditional(
            "PutItem",
            state.principal,
            state.profile,
            TableName=self.table_name,
            Item=item_from_state(state),
            **kwargs,
        )

    def claim_pending(
        self, principal: str, profile: str, alert_id: str, *, seen_lease: datetime, new_lease: datetime
    ) -> bool:
        """Take over an expired pending alert; only one of several runs that saw the same lease wins."""
        return self._update_pending(
            principal,
            profile,
            alert_id,
            update=(
                "SET pending_alert.lease_until = :new, pending_alert.attempts = pending_alert.attempts + :one"
            ),
            condition="pending_alert.lease_until = :seen",
            values={
                ":seen": {"S": format_time(seen_lease)},
                ":new": {"S": format_time(new_lease)},
                ":one": {"N": "1"},
            },
        )

    def release_pending(self, principal: str, profile: str, alert_id: str, *, lease: datetime) -> bool:
        """After a failed publish, let the next run retry at once instead of waiting out the lease."""
        return self._update_pending(
            principal,
            profile,
            alert_id,
            update="SET pending_alert.lease_until = :lease",
            condition="attribute_exists(pending_alert)",
            values={":lease": {"S": format_time(lease)}},
        )

    def clear_pending(
        self, principal: str, profile: str, alert_id: str, *, delivered_at: datetime, message_id: str
    ) -> bool:
        """Remove a published pending alert. ``False`` when someone else already cleared it."""
        return self._update_pending(
            principal,
            profile,
            alert_id,
            update="REMOVE pending_alert SET last_delivered_at = :at, last_message_id = :mid",
            condition="attribute_exists(pending_alert)",
            values={":at": {"S": format_time(delivered_at)}, ":mid": {"S": message_id}},
        )

    def record_sweep(self, heartbeat: SweepHeartbeat) -> bool:
        """Move the heartbeat forward (never back: a slow, older sweep finishing late is ignored)."""
        try:
            self._conditional(
                "UpdateItem",
                SWEEP_PRINCIPAL,
                SWEEP_PROFILE,
                TableName=self.table_name,
                Key=_key(SWEEP_PRINCIPAL, SWEEP_PROFILE),
                UpdateExpression="SET last_sweep_at = :at, principals = :n",
                ConditionExpression="attribute_not_exists(last_sweep_at) OR last_sweep_at <= :at",
                ExpressionAttributeValues={
                    ":at": {"S": format_time(heartbeat.at)},
                    ":n": {"N": str(heartbeat.principals)},
                },
            )
        except StateConflictError:
            return False
        return True

    # -- plumbing ----------------------------------------------------------------------------

    def _update_pending(
        self, principal: str, profile: str, alert_id: str, *, update: str, condition: str, values: Item
    ) -> bool:
        # every pending-alert update is pinned to the alert id, so it can never touch a newer alert
        try:
            self._conditional(
                "UpdateItem",
                principal,
                profile,
                TableName=self.table_name,
                Key=_key(principal, profile),
                UpdateExpression=update,
                ConditionExpression=f"({condition}) AND pending_alert.alert_id = :id",
                ExpressionAttributeValues={**values, ":id": {"S": alert_id}},
            )
        except StateConflictError:
            return False
        return True

    def _conditional(self, operation: str, principal: str, profile: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, _method(operation))(**kwargs)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise StateConflictError(principal, profile) from None
            raise _store_error(operation, error) from error
        except BotoCoreError as error:  # network errors and timeouts: retryable like any store error
            raise StateStoreError(operation, type(error).__name__, str(error)) from error

    def _call(self, operation: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, _method(operation))(**kwargs)
        except ClientError as error:
            raise _store_error(operation, error) from error
        except BotoCoreError as error:
            raise StateStoreError(operation, type(error).__name__, str(error)) from error

    def _account_items(self, account: str, **kwargs: Any) -> Iterator[Item]:
        if not account:
            return iter(())  # no item carries an empty account (see item_from_state)
        return self._paginate(
            "Query",
            consistent=False,  # DynamoDB offers no strongly consistent read on a global index
            IndexName=ACCOUNT_INDEX,
            KeyConditionExpression="#account = :account",
            ExpressionAttributeNames={"#account": "account"},
            ExpressionAttributeValues={":account": {"S": account}},
            **kwargs,
        )

    def _paginate(self, operation: str, *, consistent: bool = True, **kwargs: Any) -> Iterator[Item]:
        request: Item = {"TableName": self.table_name, **kwargs}
        if consistent:
            request["ConsistentRead"] = True
        while True:
            page = self._call(operation, **request)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _method(operation: str) -> str:
    return "".join("_" + char.lower() if char.isupper() else char for char in operation).lstrip("_")


def _store_error(operation: str, error: Any) -> StateStoreError:
    details = error.response.get("Error", {})
    return StateStoreError(operation, str(details.get("Code", "Unknown")), str(details.get("Message", error)))


def _key(principal: str, profile: str) -> Item:
    return {"principal": {"S": principal}, "profile": {"S": profile}}


# -- item <-> value ----------------------------------------------------------------------------


def item_from_state(state: StoredState) -> Item:
    item: Item = {
        **_key(state.principal, state.profile),
        "revision": {"N": str(state.revision)},
        "observed_at": {"S": format_time(state.observed_at)},
        "presence": {"S": state.presence.value},
        "status": {"S": state.status.value},
        "actions": {"M": {action: {"S": status.value} for action, status in state.actions.items()}},
        "name": {"S": state.name},
        "kind": {"S": state.kind.value if state.kind is not None else ""},
        "updated_at": {"S": format_time(state.updated_at)},
    }
    if state.account:
        # the index key: DynamoDB refuses an empty string there, and an item without it is simply
        # left out of the index (only a principal ARN without an account could lack one)
        item["account"] = {"S": state.account}
    if state.error is not None:
        item["error"] = {"S": state.error}
    if state.scps_evaluated:
        item["scps_evaluated"] = {"BOOL": True}
    if state.read_from is not None:
        item["read_from"] = {"S": format_time(state.read_from)}
    if state.resources:  # a string set cannot be empty: absent means none
        item["resources"] = {"SS": list(state.resources)}
    if state.last_alert is not None:
        last = state.last_alert
        item["last_alert_id"] = {"S": last.alert_id}
        item["last_alert_kind"] = {"S": last.kind.value}
        item["last_alert_at"] = {"S": format_time(last.at)}
        if last.delivered_at is not None:
            item["last_delivered_at"] = {"S": format_time(last.delivered_at)}
        if last.message_id is not None:
            item["last_message_id"] = {"S": last.message_id}
    if state.pending_alert is not None:
        item["pending_alert"] = {"M": _pending_to_map(state.pending_alert)}
    return item


def state_from_item(item: Mapping[str, Any]) -> StoredState:
    def text(name: str) -> str | None:
        value = item.get(name)
        return None if value is None else str(value["S"])

    last_alert = None
    if (alert_id := text("last_alert_id")) is not None:
        delivered = text("last_delivered_at")
        last_alert = LastAlert(
            alert_id=alert_id,
            kind=AlertKind(text("last_alert_kind")),
            at=parse_time(item["last_alert_at"]["S"]),
            delivered_at=parse_time(delivered) if delivered else None,
            message_id=text("last_message_id"),
        )
    pending = item.get("pending_alert")
    return StoredState(
        principal=item["principal"]["S"],
        profile=item["profile"]["S"],
        revision=int(item["revision"]["N"]),
        observed_at=parse_time(item["observed_at"]["S"]),
        presence=Presence(item["presence"]["S"]),
        status=ComplianceStatus(item["status"]["S"]),
        actions={action: RequirementStatus(value["S"]) for action, value in item["actions"]["M"].items()},
        name=item["name"]["S"],
        kind=PrincipalKind(item["kind"]["S"]) if item["kind"]["S"] else None,
        account=text("account") or "",
        error=text("error"),
        last_alert=last_alert,
        pending_alert=None if pending is None else _pending_from_map(pending["M"]),
        updated_at=parse_time(item["updated_at"]["S"]),
        scps_evaluated=bool(item.get("scps_evaluated", {}).get("BOOL", False)),  # absent: items before it
        read_from=parse_time(read_from) if (read_from := text("read_from")) else None,
        resources=tuple(sorted(item.get("resources", {}).get("SS", ()))),  # absent: items before it
    )


def _pending_to_map(pending: PendingAlert) -> Item:
    return {
        "alert_id": {"S": pending.alert_id},
        "kind": {"S": pending.kind.value},
        "subject": {"S": pending.subject},
        "message": {"S": pending.message},
        "attributes": {"M": {name: {"S": value} for name, value in pending.attributes.items()}},
        "created_at": {"S": format_time(pending.created_at)},
        "lease_until": {"S": format_time(pending.lease_until)},
        "attempts": {"N": str(pending.attempts)},
    }


def _pending_from_map(data: Mapping[str, Any]) -> PendingAlert:
    return PendingAlert(
        alert_id=data["alert_id"]["S"],
        kind=AlertKind(data["kind"]["S"]),
        subject=data["subject"]["S"],
        message=data["message"]["S"],
        attributes={name: value["S"] for name, value in data["attributes"]["M"].items()},
        created_at=parse_time(data["created_at"]["S"]),
        lease_until=parse_time(data["lease_until"]["S"]),
        attempts=int(data["attempts"]["N"]),
    )
