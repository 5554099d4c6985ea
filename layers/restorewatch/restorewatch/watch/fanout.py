"""Sweep fan-out over accounts: one SQS message per account, each swept by its own invocation.

The central watcher's scheduled sweep (and an Organizations change that reaches many accounts)
does no IAM read itself: it enqueues ``{"restorewatch": "sweep-account", "account": ..., "trigger":
...}`` messages into the sweep queue (template.yaml's ``SweepQueue``, apart from the IAM events).
Its Lambda event source (``AccountSweeps``: one message per invocation, ``MaximumConcurrency`` =
``AccountSweepConcurrency``) bounds how many accounts are swept at once, a failing account
fails only its own message (partial batch response, then the DLQ), and the trigger (the
Organizations call, if any) travels with the message so the alert still names who changed what.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from restorewatch.domain import CloudTrailChange

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient
    from types_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef
from restorewatch.errors import EventError, ReadError

logger = logging.getLogger(__name__)

SWEEP_ACCOUNT = "sweep-account"
_BATCH = 10  # SendMessageBatch takes at most 10 entries


class SweepDispatcher(Protocol):
    """Where per-account sweeps go (the SQS queue in AWS; the same queue on moto in tests)."""

    def dispatch(self, accounts: Sequence[str], trigger: CloudTrailChange | None) -> int: ...


def change_to_json(change: CloudTrailChange) -> dict[str, Any]:
    data = asdict(change)
    data["event_time"] = change.event_time.isoformat()
    data["request_parameters"] = dict(change.request_parameters)
    return data


def change_from_json(data: Mapping[str, Any]) -> CloudTrailChange:
    try:
        values = dict(data)
        values["event_time"] = datetime.fromisoformat(str(values["event_time"]))
        # JSON has no tuples: the (type, ARN) pairs come back as lists and must compare (and hash) as
        # the change that was sent
        values["resources"] = tuple((str(kind), str(arn)) for kind, arn in values.get("resources", ()))
        return CloudTrailChange(**values)
    except (KeyError, TypeError, ValueError) as exc:
        raise EventError(f"sweep-account trigger: not a recorded change: {exc}") from None


def account_sweep_message(account: str, trigger: CloudTrailChange | None) -> dict[str, Any]:
    message: dict[str, Any] = {"restorewatch": SWEEP_ACCOUNT, "account": account}
    if trigger is not None:
        message["trigger"] = change_to_json(trigger)
    return message


def is_account_sweep(event: Mapping[str, Any]) -> bool:
    return event.get("restorewatch") == SWEEP_ACCOUNT


def parse_account_sweep(event: Mapping[str, Any], where: str) -> tuple[str, CloudTrailChange | None]:
    account = event.get("account")
    if not isinstance(account, str) or len(account) != 12 or not account.isdigit():
        raise EventError(f"{where}.account: a 12-digit account id is required for {SWEEP_ACCOUNT}")
    trigger = event.get("trigger")
    if trigger is not None and not isinstance(trigger, Mapping):
        raise EventError(f"{where}.trigger: expected an object")
    return account, change_from_json(trigger) if trigger is not None else None


class SqsSweepDispatcher:
    """``SweepDispatcher`` over SQS ``SendMessageBatch`` (``client``: a boto3 SQS client)."""

    def __init__(self, queue_url: str, client: SQSClient) -> None:
        self.queue_url = queue_url
        self.client = client
        self.calls: Counter[str] = Counter()

    def dispatch(self, accounts: Sequence[str], trigger: CloudTrailChange | None) -> int:
        accounts = list(dict.fromkeys(accounts))
        for start in range(0, len(accounts), _BATCH):
            chunk = accounts[start : start + _BATCH]
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                # no queue delay for sweeps: the delay is there to let IAM settle after an IAM event
                {
                    "Id": str(i),
                    "MessageBody": json.dumps(account_sweep_message(a, trigger)),
                    "DelaySeconds": 0,
                }
                for i, a in enumerate(chunk)
            ]
            self.calls["SendMessageBatch"] += 1
            try:
                response = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except Exception as exc:  # botocore errors: the whole fan-out is retried
                raise ReadError("SendMessageBatch", self.queue_url, type(exc).__name__, str(exc)) from exc
            failed = response.get("Failed") or []
            if failed:
                codes = ", ".join(sorted({str(f.get("Code")) for f in failed}))
                raise ReadError(
                    "SendMessageBatch", self.queue_url, "PartialFailure", f"{len(failed)} failed: {codes}"
                )
        logger.info("dispatched %d account sweeps", len(accounts))
        return len(accounts)


__all__ = [
    "SWEEP_ACCOUNT",
    "SqsSweepDispatcher",
    "SweepDispatcher",
    "account_sweep_message",
    "change_from_json",
    "change_to_json",
    "is_account_sweep",
    "parse_account_sweep",
]
