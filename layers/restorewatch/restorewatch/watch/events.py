"""The watcher's input: parse what Lambda receives into plain values.

Three shapes arrive (see ``events/``):
- one EventBridge event as the rule delivers it (``source: aws.iam``, ``detail-type: AWS API Call
  via CloudTrail``, the CloudTrail record in ``detail``), or a service-originated record
  (``detail-type: AWS Service Event via CloudTrail``, ``eventType: AwsServiceEvent``; Organizations'
  ``CreateAccountResult``), whose ``userIdentity`` has no ``type``, only ``accountId`` and
  ``invokedBy`` (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/non-api-aws-service-events.html);
- an SQS batch (``Records`` with ``eventSource: aws:sqs``) whose bodies are such events (or the
  scheduled event); each record keeps its ``messageId`` for partial batch failure, and a bad record
  is reported on its own, never spoiling the batch;
- the schedule rule's ``Scheduled Event`` (``source: aws.events``), or ``{"restorewatch": "sweep"}``.

This module checks the envelope and the record's shape only. Whether a change names what it must
(``requestParameters.roleName`` for ``DetachRolePolicy``...) is the planners' question, answered
from the event table (``watch.event_table``): a record without it is still a change, and the
planner re-checks the whole account instead of the principal it cannot name.

Poison records. Whatever one SQS body makes the parser do (a 5,000-digit integer is a
``ValueError`` past Python's integer string limit, 100,000-deep nesting a ``RecursionError``,
anything else) fails that record alone: it becomes a ``ParsedRecord`` with ``error`` set, and the
handler reports it in ``batchItemFailures``. Such a record can never parse, so it is poison; it is
deliberately *not* dropped: SQS delivers it ``maxReceiveCount`` times (5, template.yaml) and then
moves it to the dead-letter queue, where the ``DeadLetterQueueAlarm`` makes it visible and the body
is kept 14 days for someone to read (and redrive, once the parser knows that shape). Dropping it
would leave only a log line; retrying a parse costs nothing. The handler logs each delivery at
ERROR and counts it in the ``PoisonRecords`` metric.

The Powertools Parser models (pydantic) are built on first use, so importing this module costs
nothing and the engine never loads pydantic. The result holds only standard-library values.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime  # noqa: TC003 (the lazily built pydantic models resolve it)
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from restorewatch.domain import CloudTrailChange
from restorewatch.errors import EventError
from restorewatch.watch.fanout import is_account_sweep, parse_account_sweep

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
SERVICE_EVENT_DETAIL_TYPE = "AWS Service Event via CloudTrail"
SCHEDULED_DETAIL_TYPE = "Scheduled Event"
MANUAL_SWEEP: Mapping[str, str] = {"restorewatch": "sweep"}
_T = TypeVar("_T")


class InvocationKind(enum.Enum):
    EVENTBRIDGE = "eventbridge"  # one event straight from the rule
    SQS = "sqs"  # a batch from the queue
    SWEEP = "sweep"  # the schedule (or a manual sweep request)


@dataclass(frozen=True, slots=True)
class SweepRequest:
    """Re-check every tagged principal. ``event_id``/``time`` come from the scheduled event."""

    event_id: str | None
    time: datetime | None
    trigger: str  # "schedule", "manual" or "fan-out"
    account: str | None = None  # a fan-out message: sweep this one account
    change: CloudTrailChange | None = None  # what caused the fan-out (an Organizations change)


@dataclass(frozen=True, slots=True)
class ParsedRecord:
    """One unit of work: a change, a sweep, or an error (exactly one of the three is set).

    ``message_id`` is the SQS ``messageId`` (``None`` outside a batch): report it in
    ``batchItemFailures`` when this record fails.
    """

    message_id: str | None
    change: CloudTrailChange | None = None
    sweep: SweepRequest | None = None
    error: EventError | None = None

    @property
    def correlation_id(self) -> str | None:
        if self.change is not None:
            return self.change.event_id
        if self.sweep is not None:
            return self.sweep.event_id
        return self.message_id


@dataclass(frozen=True, slots=True)
class ParsedInvocation:
    kind: InvocationKind
    records: tuple[ParsedRecord, ...]

    @property
    def changes(self) -> tuple[CloudTrailChange, ...]:
        return tuple(r.change for r in self.records if r.change is not None)

    @property
    def sweep_requested(self) -> bool:
        return any(r.sweep is not None for r in self.records)

    @property
    def errors(self) -> tuple[ParsedRecord, ...]:
        return tuple(r for r in self.records if r.error is not None)


# --- the Parser models, built lazily --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Models:
    iam_event: type[BaseModel]
    scheduled_event: type[BaseModel]
    sqs_record: type[BaseModel]


@cache
def _models() -> _Models:
    """Powertools' EventBridge/SQS models extended with the CloudTrail IAM detail."""
    from typing import Literal

    from aws_lambda_powertools.utilities.parser.models.event_bridge import EventBridgeModel
    from aws_lambda_powertools.utilities.parser.models.sqs import SqsRecordModel
    from pydantic import BaseModel, ConfigDict, Field

    class SessionIssuer(BaseModel):
        model_config = ConfigDict(extra="allow")
        type: str | None = None
        principalId: str | None = None
        arn: str | None = None
        accountId: str | None = None
        userName: str | None = None

    class SessionContext(BaseModel):
        model_config = ConfigDict(extra="allow")
        sessionIssuer: SessionIssuer | None = None
        attributes: dict[str, Any] | None = None

    class UserIdentity(BaseModel):
        """Service-originated records (``AwsServiceEvent``) carry no ``type``: ``accountId`` and
        ``invokedBy`` only (CloudTrail userIdentity element, AWS service events)."""

        model_config = ConfigDict(extra="allow")
        type: str | None = None
        principalId: str | None = None
        arn: str | None = None
        accountId: str | None = None
        accessKeyId: str | None = None
        userName: str | None = None
        invokedBy: str | None = None
        sessionContext: SessionContext | None = None

    class CloudTrailResource(BaseModel):
        """One entry of ``resources[]`` (S3 and KMS records name the bucket or key there)."""

        model_config = ConfigDict(extra="allow")
        ARN: str | None = None
        type: str | None = None
        accountId: str | None = None

    class CloudTrailIamDetail(BaseModel):
        """The CloudTrail record of an IAM API call (CloudTrail record contents reference)."""

        model_config = ConfigDict(extra="allow")
        eventVersion: str
        userIdentity: UserIdentity
        eventTime: datetime
        # Organizations, S3 and KMS calls arrive in the same shape (source aws.organizations, ...)
        eventSource: Literal[
            "iam.amazonaws.com", "organizations.amazonaws.com", "s3.amazonaws.com", "kms.amazonaws.com"
        ]
        eventName: str = Field(min_length=1)
        awsRegion: str
        sourceIPAddress: str | None = None
        userAgent: str | None = None
        requestParameters: dict[str, Any] | None = None
        responseElements: dict[str, Any] | None = None
        errorCode: str | None = None
        errorMessage: str | None = None
        requestID: str | None = None
        eventID: str = Field(min_length=1)
        readOnly: bool | None = None
        eventType: str
        managementEvent: bool | None = None
        recipientAccountId: str = Field(min_length=12, max_length=12)
        resources: list[CloudTrailResource] | None = None

    class IamCloudTrailEvent(EventBridgeModel):
        source: Literal["aws.iam", "aws.organizations", "aws.s3", "aws.kms"]
        detail_type: Literal["AWS API Call via CloudTrail", "AWS Service Event via CloudTrail"] = Field(
            alias="detail-type"
        )
        detail: CloudTrailIamDetail

    class ScheduledEvent(EventBridgeModel):
        source: Literal["aws.events", "aws.scheduler"]
        detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")

    class SqsRecord(SqsRecordModel):
        eventSource: Literal["aws:sqs"]
        body: str

    return _Models(IamCloudTrailEvent, ScheduledEvent, SqsRecord)


# --- parsing ----------------------------------------------------------------------------------------


def _describe(error: ValidationError, prefix: str = "") -> str:
    problems = []
    for item in error.errors()[:5]:
        where = ".".join(str(part) for part in item["loc"]) or "(event)"
        problems.append(f"{prefix}{where}: {item['msg']}")
    more = error.error_count() - len(problems)
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")


def _change(event: Mapping[str, Any], where: str) -> CloudTrailChange:
    from pydantic import ValidationError

    try:
        parsed: Any = _models().iam_event.model_validate(event)
    except ValidationError as exc:
        raise EventError(f"{where}: not a CloudTrail IAM event: {_describe(exc)}") from None
    detail = parsed.detail
    if f"{parsed.source.removeprefix('aws.')}.amazonaws.com" != detail.eventSource:
        raise EventError(
            f"{where}: detail.eventSource {detail.eventSource} does not match source {parsed.source}"
        )
    # null or without the parameter a planner keys on: still a change (the planner sweeps instead)
    params: dict[str, Any] = detail.requestParameters or {}
    identity = detail.userIdentity
    actor = identity.arn
    if identity.sessionContext is not None and identity.sessionContext.sessionIssuer is not None:
        actor = actor or identity.sessionContext.sessionIssuer.arn
    return CloudTrailChange(
        event_id=detail.eventID,
        event_name=detail.eventName,
        event_time=detail.eventTime,
        account=detail.recipientAccountId,
        region=detail.awsRegion,
        event_source=detail.eventSource,
        actor_arn=actor,
        actor_type=identity.type,
        source_ip=detail.sourceIPAddress,
        user_agent=detail.userAgent,
        request_parameters=params,
        response_elements=detail.responseElements,
        error_code=detail.errorCode,
        error_message=detail.errorMessage,
        request_id=detail.requestID,
        eventbridge_id=parsed.id,
        read_only=detail.readOnly is True,
        resources=tuple(
            (entry.type or "", entry.ARN) for entry in detail.resources or () if entry.ARN is not None
        ),
    )


def _sweep(event: Mapping[str, Any], where: str) -> SweepRequest:
    from pydantic import ValidationError

    if dict(event) == dict(MANUAL_SWEEP):
        return SweepRequest(event_id=None, time=None, trigger="manual")
    if is_account_sweep(event):
        account, change = parse_account_sweep(event, where)
        return SweepRequest(event_id=None, time=None, trigger="fan-out", account=account, change=change)
    try:
        parsed: Any = _models().scheduled_event.model_validate(event)
    except ValidationError as exc:
        raise EventError(f"{where}: not a scheduled event: {_describe(exc)}") from None
    return SweepRequest(event_id=parsed.id, time=parsed.time, trigger="schedule")


def _is_sweep(event: Mapping[str, Any]) -> bool:
    return (
        dict(event) == dict(MANUAL_SWEEP)
        or is_account_sweep(event)
        or event.get("detail-type") == SCHEDULED_DETAIL_TYPE
    )


def _one(event: object, where: str, message_id: str | None) -> ParsedRecord:
    if not isinstance(event, Mapping):
        raise EventError(f"{where}: expected a JSON object, got {type(event).__name__}")
    if _is_sweep(event):
        return ParsedRecord(message_id, sweep=_sweep(event, where))
    return ParsedRecord(message_id, change=_change(event, where))


def _guarded(where: str, parse: Callable[[], _T]) -> _T:
    """``parse()``, with any failure turned into an ``EventError`` naming ``where``.

    Bad input can make a parser fail in ways nobody listed (a huge integer, deep nesting, a
    validator's own bug): whatever it is, it is this input's fault and must fail this input alone.
    """
    try:
        return parse()
    except EventError:
        raise
    except RecursionError:
        raise EventError(f"{where}: nested too deeply to parse") from None
    except Exception as exc:  # any failure of one input fails that input only
        raise EventError(f"{where}: cannot be parsed: {type(exc).__name__}: {exc}") from None


def _json_body(text: str, where: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise EventError(f"{where}: body is not JSON: {exc}") from None
    except ValueError as exc:  # an integer over sys.get_int_max_str_digits() digits
        raise EventError(f"{where}: body is not usable JSON: {exc}") from None


def _sqs_body(record: object, where: str, message_id: str) -> ParsedRecord:
    from pydantic import ValidationError

    try:
        parsed: Any = _models().sqs_record.model_validate(record)
    except ValidationError as exc:
        raise EventError(f"{where}: {_describe(exc)}") from None
    return _one(_json_body(parsed.body, where), f"{where} body", message_id)


def _sqs_record(index: int, record: object) -> ParsedRecord:
    """One SQS record; a record that cannot be parsed, for whatever reason, becomes an error record
    (poison: see the module docstring). Only a record without a ``messageId`` fails the batch."""
    where = f"Records[{index}]"
    message_id = record.get("messageId") if isinstance(record, Mapping) else None
    if not isinstance(message_id, str) or not message_id:
        # without a messageId the failure cannot be reported per record: fail the batch
        raise EventError(f"{where}.messageId: missing; the batch cannot report this record")
    where = f"{where} (messageId {message_id})"
    try:
        return _guarded(where, lambda: _sqs_body(record, where, message_id))
    except EventError as exc:
        return ParsedRecord(message_id, error=exc)


def parse_lambda_event(event: dict[str, Any]) -> ParsedInvocation:
    """Parse what the watcher's Lambda receives.

    Raises ``EventError`` when the event (or the SQS envelope) is malformed; inside an SQS batch a
    malformed record becomes a ``ParsedRecord`` with ``error`` set, the others parse normally.
    """
    if not isinstance(event, Mapping):
        raise EventError(f"event: expected a JSON object, got {type(event).__name__}")
    if "Records" in event:
        records = event["Records"]
        if not isinstance(records, list) or not records:
            raise EventError("Records: expected a non-empty list of SQS records")
        sources = {r.get("eventSource") for r in records if isinstance(r, Mapping)}
        if sources - {"aws:sqs"}:
            raise EventError(f"Records[].eventSource: expected aws:sqs, got {sorted(map(str, sources))}")
        return ParsedInvocation(
            InvocationKind.SQS, tuple(_sqs_record(i, record) for i, record in enumerate(records))
        )
    record = _guarded("event", lambda: _one(event, "event", None))
    kind = InvocationKind.SWEEP if record.sweep is not None else InvocationKind.EVENTBRIDGE
    return ParsedInvocation(kind, (record,))


def sweep_event() -> dict[str, str]:
    """The constant event that asks for a sweep (``restorewatch local invoke``, tests)."""
    return dict(MANUAL_SWEEP)


__all__ = [
    "CLOUDTRAIL_DETAIL_TYPE",
    "MANUAL_SWEEP",
    "SCHEDULED_DETAIL_TYPE",
    "SERVICE_EVENT_DETAIL_TYPE",
    "InvocationKind",
    "ParsedInvocation",
    "ParsedRecord",
    "SweepRequest",
    "parse_lambda_event",
    "sweep_event",
]
