"""The change that triggers a check: one IAM, Organizations, S3 or KMS API call as CloudTrail recorded it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

__all__ = ["CloudTrailChange"]


@dataclass(frozen=True, slots=True)
class CloudTrailChange:
    """One IAM API call as CloudTrail recorded it (what the alert shows as the triggering change)."""

    event_id: str
    event_name: str
    event_time: datetime
    account: str  # recipientAccountId: the account whose IAM changed
    region: str
    event_source: str = "iam.amazonaws.com"
    actor_arn: str | None = None
    actor_type: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None
    request_parameters: Mapping[str, Any] = field(default_factory=dict)
    response_elements: Mapping[str, Any] | None = None
    error_code: str | None = None
    error_message: str | None = None
    request_id: str | None = None
    eventbridge_id: str | None = None  # the EventBridge envelope's id
    read_only: bool = False  # CloudTrail's ``readOnly``: the call changed nothing
    # CloudTrail's ``resources[]`` as (type, ARN) pairs: S3 and KMS records name the bucket or key
    resources: tuple[tuple[str, str], ...] = ()
