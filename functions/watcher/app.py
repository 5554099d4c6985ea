"""The watcher's Lambda handler: parse the invocation, run the package's pipeline, report.

It accepts the three shapes the stack delivers: an SQS batch of IAM CloudTrail events (the
EventBridge rule's queue), one EventBridge event (a direct rule target, or ``sam local invoke``),
and the scheduled sweep. SQS records fail individually (partial batch response) so that one bad or
unlucky record goes back to the queue, and finally to the DLQ, without holding up the others.

A record that cannot be parsed at all is poison (``restorewatch.watch.events``): it is logged at
ERROR, counted in the ``PoisonRecords`` metric (once per delivery) and reported failed, so SQS moves
it to the dead-letter queue after ``maxReceiveCount`` deliveries, where the DLQ alarm sees it and its
body is kept for someone to read.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from restorewatch.compliance import ComplianceStatus
from restorewatch.errors import EventError, RestoreWatchError
from restorewatch.watch.config import watcher_from_environment
from restorewatch.watch.events import InvocationKind, ParsedRecord, parse_lambda_event

if TYPE_CHECKING:
    from restorewatch.watch import RunSummary

logger = Logger()
metrics = Metrics()
# botocore's DEBUG logs carry request signatures and session tokens: never below INFO, whatever LOG_LEVEL
for _noisy in ("botocore", "boto3", "urllib3"):
    logging.getLogger(_noisy).setLevel(max(logging.getLogger(_noisy).level, logging.INFO))
# Your own profiles (JSON or YAML) go here: they ship with the function (see docs/profiles.md).
PROFILE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "profiles")


def _tracing_enabled() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() not in ("true", "1")


@cache
def _traced(handler: Any) -> Any:
    # Powertools' Tracer imports the X-Ray SDK when it is built (~300 ms): only when tracing is on
    from aws_lambda_powertools import Tracer

    return Tracer().capture_lambda_handler(handler, capture_response=False)


class RetryableRecordError(RestoreWatchError):
    """This record's work is incomplete; SQS must deliver it again."""


def _emit(summary: RunSummary) -> None:
    metrics.add_metric(name="AlertsPublished", unit=MetricUnit.Count, value=len(summary.alert_ids))
    metrics.add_metric(name="IamCalls", unit=MetricUnit.Count, value=summary.iam_calls)
    unknown = summary.count(ComplianceStatus.UNKNOWN)
    metrics.add_metric(name="PrincipalsUnknown", unit=MetricUnit.Count, value=unknown)
    if summary.swept:
        metrics.add_metric(name="PrincipalsWatched", unit=MetricUnit.Count, value=len(summary.checks))
        for status, name in (
            (ComplianceStatus.COMPLIANT, "PrincipalsCompliant"),
            (ComplianceStatus.DEGRADED, "PrincipalsDegraded"),
            (ComplianceStatus.NON_COMPLIANT, "PrincipalsNonCompliant"),
        ):
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=summary.count(status))
        metrics.add_metric(name="SweepDuration", unit=MetricUnit.Seconds, value=summary.duration_seconds)
        if not summary.retryable:
            metrics.add_metric(name="SweepSucceeded", unit=MetricUnit.Count, value=1)


def _process(record: ParsedRecord, received_at: datetime | None = None) -> RunSummary:
    logger.set_correlation_id(record.correlation_id)
    if record.error is not None:
        raise record.error
    watcher = watcher_from_environment(PROFILE_DIR)
    if record.sweep is not None:
        # a fan-out message (organization mode) sweeps one account, with the change that caused it
        summary = watcher.sweep(trigger=record.sweep.change, account=record.sweep.account)
    else:
        assert record.change is not None
        logger.append_keys(event_name=record.change.event_name, actor=record.change.actor_arn)
        summary = watcher.handle_change(record.change, received_at=received_at)
    _emit(summary)
    logger.info(
        "processed",
        extra={
            "alerts": summary.alert_ids,
            "checks": len(summary.checks),
            "iam_calls": summary.iam_calls,
            "org_calls": summary.org_calls,
            "account": summary.account,
            "dispatched": summary.dispatched,
        },
    )
    if summary.retryable:
        raise RetryableRecordError("; ".join(summary.retry_reasons))
    return summary


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if _tracing_enabled():
        result: dict[str, Any] = _traced(_handle)(event, context)
        return result
    return _handle(event, context)


def _handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        invocation = parse_lambda_event(event)
    except EventError as error:
        logger.error("rejected invocation: %s", error)
        metrics.add_metric(name="PoisonRecords", unit=MetricUnit.Count, value=1)
        raise
    if invocation.kind is not InvocationKind.SQS:
        # a direct invocation fails as a whole: Lambda's own retries (and the errors alarm) apply
        results = [_process(record) for record in invocation.records]
        return {"alerts": [alert for summary in results for alert in summary.alert_ids]}

    failures: list[dict[str, str]] = []
    alerts: list[str] = []
    received_at = datetime.now(UTC)  # every record of the batch has waited out the queue delay
    poison = 0
    for record in invocation.records:
        if record.error is not None:
            poison += 1
            logger.error(
                "poison record %s (reported failed: after maxReceiveCount deliveries SQS moves it to "
                "the dead-letter queue): %s",
                record.message_id,
                record.error,
            )
            failures.append({"itemIdentifier": record.message_id or ""})
            continue
        try:
            alerts += _process(record, received_at).alert_ids
        except RestoreWatchError as error:
            logger.warning("record %s will be retried: %s", record.message_id, error)
            failures.append({"itemIdentifier": record.message_id or ""})
        except Exception:
            logger.exception("record %s failed unexpectedly", record.message_id)
            failures.append({"itemIdentifier": record.message_id or ""})
    if poison:
        metrics.add_metric(name="PoisonRecords", unit=MetricUnit.Count, value=poison)
    return {"batchItemFailures": failures, "alerts": alerts}
