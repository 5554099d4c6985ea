"""The domain's values, shared by every package above the engine: the change that triggers a check,
the target it names, the transition an alert is about, and the ARN (``engine.arn``, re-exported: the
engine reads ARNs too). Imports nothing above ``engine`` and
``compliance`` (type-only), so ``state``, ``inventory``, ``alerts``, ``ledger`` and ``watch`` can all
name them without importing each other."""

from restorewatch.domain.change import CloudTrailChange
from restorewatch.domain.target import Target, TargetKind, same_name
from restorewatch.domain.transition import ActionChange, AlertKind, Gone, GoneReason, Transition
from restorewatch.engine.arn import Arn, parse_arn

__all__ = [
    "ActionChange",
    "AlertKind",
    "Arn",
    "CloudTrailChange",
    "Gone",
    "GoneReason",
    "Target",
    "TargetKind",
    "Transition",
    "parse_arn",
    "same_name",
]
