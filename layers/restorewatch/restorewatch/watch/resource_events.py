"""Which watched principals can a bucket or key change affect? (pure, no AWS calls)

A bound profile's answer depends on the policy of the bucket and key it names
(``engine.resources``), so a change to them re-checks the principals bound to them: the state
remembers, for each watched principal, the buckets and keys its last check depended on
(``StoredState.resources``), and the state table is the index, as it is for IAM changes.

What each call names comes from the event table (``watch.event_table``, ``ResourceScope``). How
CloudTrail records them:

* S3 (``PutBucketPolicy``, ``DeleteBucketPolicy``): ``requestParameters.bucketName``, and
  ``resources[]`` with the bucket's ARN (``AWS::S3::Bucket``);
* KMS (``PutKeyPolicy``, ``DisableKey``, ...): ``requestParameters.keyId`` as the caller gave it (a
  key id, a key ARN, an alias name or alias ARN), and ``resources[]`` with the key's ARN
  (``AWS::KMS::Key``), which is what a key id or alias resolves to. A key the record does not name
  by ARN (an alias, and no ``resources[]``) re-checks every principal bound to a KMS key of that
  account and Region: never missed, at the cost of a few reads.

A call without the parameter its row requires re-checks every principal bound to a resource of that
service; a failed or read-only call changes nothing. A principal whose state predates
``StoredState.resources`` (no resources stored, a bound profile) is re-checked by every such
change until its next check stores them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from restorewatch.engine.arn import parse_arn
from restorewatch.engine.arnformat import intersects, pattern_tokens
from restorewatch.watch.event_table import KMS_SOURCE, RESOURCE_EVENTS, RESOURCE_SOURCES, ResourceScope

if TYPE_CHECKING:
    from restorewatch.domain import CloudTrailChange

__all__ = ["Reach", "ResourcePlan", "is_resource_change", "plan_resource_change"]

_RESOURCE_TYPES = {ResourceScope.BUCKET: "AWS::S3::Bucket", ResourceScope.KEY: "AWS::KMS::Key"}


class Reach(enum.Enum):
    NAMED = "named"  # the principals bound to one of ``holders``
    SERVICE = "service"  # the principals bound to any resource of ``service`` (the event named none)
    NONE = "none"  # nothing a bound profile depends on changed


@dataclass(frozen=True, slots=True)
class ResourcePlan:
    reach: Reach
    service: str  # "s3" or "kms"
    holders: tuple[str, ...] = ()
    reason: str = ""

    @property
    def no_effect(self) -> bool:
        return self.reach is Reach.NONE

    def reaches(self, resources: tuple[str, ...]) -> bool:
        """Does the change touch one of ``resources`` (a state's holders: ARNs or ARN patterns)?"""
        if self.reach is Reach.NONE:
            return False
        if self.reach is Reach.SERVICE:
            return any(_service(resource) == self.service for resource in resources)
        return any(
            intersects(pattern_tokens(held), pattern_tokens(named))
            for held in resources
            for named in self.holders
        )


def _service(arn: str) -> str:
    parts = arn.split(":", 3)
    return parts[2] if len(parts) > 2 else ""


def is_resource_change(change: CloudTrailChange) -> bool:
    return change.event_source in RESOURCE_SOURCES


def plan_resource_change(change: CloudTrailChange) -> ResourcePlan:
    """Map one S3 or KMS call to the bound principals it can affect."""
    service = "kms" if change.event_source == KMS_SOURCE else "s3"
    name = change.event_name
    if change.error_code:
        return ResourcePlan(
            Reach.NONE, service, reason=f"{name} failed ({change.error_code}): nothing changed"
        )
    if change.read_only:
        return ResourcePlan(Reach.NONE, service, reason=f"{name} is a read-only call: nothing changed")
    rule = RESOURCE_EVENTS.get((change.event_source, name))
    if rule is None or not isinstance(rule.changes, ResourceScope):
        return ResourcePlan(Reach.SERVICE, service, reason=f"{change.event_source} {name} is not mapped")
    params = change.request_parameters
    missing = rule.missing(params)
    if missing is not None:
        return ResourcePlan(Reach.SERVICE, service, reason=f"{name} without requestParameters.{missing}")
    reason = rule.reason.format_map({**params, "event": name})
    named = [arn for kind, arn in change.resources if kind == _RESOURCE_TYPES[rule.changes]]
    if rule.changes is ResourceScope.BUCKET:
        named.append(f"arn:{_partition(change)}:s3:::{params['bucketName']}")
    else:
        key = _key_arn(str(params["keyId"]), change)
        if key is not None:
            named.append(key)
    if not named:  # an alias without resources[]: whichever key it names, re-check them all
        return ResourcePlan(Reach.SERVICE, service, reason=f"{reason} (an alias: every bound key)")
    return ResourcePlan(Reach.NAMED, service, tuple(dict.fromkeys(named)), reason)


def _partition(change: CloudTrailChange) -> str:
    for _, arn in change.resources:
        parsed = parse_arn(arn)
        if parsed is not None:
            return parsed.partition
    return "aws"


def _key_arn(key_id: str, change: CloudTrailChange) -> str | None:
    """The key's ARN from ``keyId`` as CloudTrail records it; None for an alias."""
    if key_id.startswith("arn:"):
        parsed = parse_arn(key_id)
        return key_id if parsed is not None and parsed.resource_type == "key" else None
    if key_id.startswith("alias/"):
        return None
    return f"arn:{_partition(change)}:kms:{change.region}:{change.account}:key/{key_id}"
