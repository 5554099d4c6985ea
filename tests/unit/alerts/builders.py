"""Builders for checks, transitions and triggers shared by the state, diff and alert tests.

Reasons are built from the engine's own value types (PolicySource, StatementRef), so what the
alerts print about a policy is what the engine would say about it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from restorewatch.compliance import ActionCheck, PrincipalCheck, overall_status, unknown_check
from restorewatch.domain import AlertKind, CloudTrailChange
from restorewatch.engine.model import (
    Effect,
    LayerKind,
    PolicySource,
    PrincipalKind,
    Reason,
    RequirementStatus,
    StatementRef,
)
from restorewatch.state.model import LastAlert, Presence, StoredState

if TYPE_CHECKING:
    from collections.abc import Mapping

ACCOUNT = "123456789012"
ROLE_NAME = "VeeamRestore"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
PROFILE = "veeam-ec2-restore"
RESTORE_POLICY = PolicySource(
    LayerKind.IDENTITY, "VeeamRestorePolicy", arn=f"arn:aws:iam::{ACCOUNT}:policy/VeeamRestorePolicy"
)
DENY_POLICY = PolicySource(LayerKind.IDENTITY, "NoEc2Writes", via_group="Contractors", owner="Contractors")
ACTIONS = (
    "ec2:RunInstances",
    "ec2:CreateVolume",
    "ec2:AttachVolume",
    "ec2:ImportSnapshot",
    "s3:GetObject",
    "s3:ListBucket",
)

T0 = datetime(2026, 5, 4, 9, 0, 0, tzinfo=UTC)

A = RequirementStatus.ALLOWED
P = RequirementStatus.PARTIAL
D = RequirementStatus.DENIED
U = RequirementStatus.UNKNOWN


def allow_reason(action: str) -> Reason:
    ref = StatementRef(RESTORE_POLICY, "statement 'Restore'", Effect.ALLOW)
    return Reason("allow", LayerKind.IDENTITY, f"{action} is allowed by {ref.describe()}", ref)


def no_allow_reason(action: str) -> Reason:
    return Reason("no_allow", LayerKind.IDENTITY, f"no statement in the identity policies allows {action}")


def deny_reason(action: str) -> Reason:
    ref = StatementRef(DENY_POLICY, "statement 'DenyEc2'", Effect.DENY)
    return Reason("explicit_deny", LayerKind.IDENTITY, f"{action} is denied by {ref.describe()}", ref)


def limited_reason(action: str) -> Reason:
    ref = StatementRef(RESTORE_POLICY, "statement 'Restore'", Effect.ALLOW)
    return Reason(
        "limited_allow",
        LayerKind.IDENTITY,
        f"{action} is allowed only on arn:aws:s3:::veeam-backups/* by {ref.describe()}",
        ref,
    )


_REASON = {A: allow_reason, D: no_allow_reason, P: limited_reason}


def check(
    statuses: Mapping[str, RequirementStatus] | None = None,
    *,
    denied_by_deny: tuple[str, ...] = (),
    arn: str = ROLE_ARN,
    profile: str = PROFILE,
) -> PrincipalCheck:
    """A role's check: every action allowed unless ``statuses`` says otherwise."""
    wanted = dict.fromkeys(ACTIONS, A)
    wanted.update(statuses or {})
    actions = []
    for action, status in wanted.items():
        if action in denied_by_deny:
            reasons: tuple[Reason, ...] = (deny_reason(action),)
        elif status is U:
            reasons = ()
        else:
            reasons = (_REASON[status](action),)
        actions.append(ActionCheck(action, status, reasons))
    name = arn.rsplit("/", 1)[-1]
    kind = PrincipalKind.ROLE if ":role/" in arn else PrincipalKind.USER
    return PrincipalCheck(
        arn=arn,
        name=name,
        kind=kind,
        account=ACCOUNT,
        profile=profile,
        status=overall_status(wanted.values()),
        actions=tuple(actions),
    )


def lost(*actions: str, **kwargs: object) -> PrincipalCheck:
    return check(dict.fromkeys(actions, D), **kwargs)  # type: ignore[arg-type]


def unreadable(
    error: str = "GetRole on VeeamRestore failed: ThrottlingException: Rate exceeded",
) -> PrincipalCheck:
    return unknown_check(ROLE_ARN, PROFILE, error, ACTIONS)


def detach_event(event_time: datetime = T0) -> CloudTrailChange:
    return CloudTrailChange(
        event_id="3f1c2a6e-5b1d-4c1e-9a55-0d6f1f0b7c11",
        event_name="DetachRolePolicy",
        event_time=event_time,
        account=ACCOUNT,
        region="us-east-1",
        actor_arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/alice",
        actor_type="AssumedRole",
        source_ip="203.0.113.7",
        request_parameters={"roleName": ROLE_NAME, "policyArn": RESTORE_POLICY.arn},
    )


def stored(
    current: PrincipalCheck,
    *,
    revision: int = 1,
    last_alert: AlertKind | None = None,
    presence: Presence = Presence.WATCHED,
    observed_at: datetime = T0,
) -> StoredState:
    """The state the outbox would have saved for ``current`` (with ``last_alert`` as the last alert)."""
    return StoredState(
        principal=current.arn,
        profile=current.profile,
        revision=revision,
        observed_at=observed_at,
        presence=presence,
        status=current.status,
        actions={a.action: a.status for a in current.actions},
        name=current.name,
        kind=current.kind,
        account=current.account,
        error=current.error,
        last_alert=None if last_alert is None else LastAlert(f"rw-{revision}", last_alert, observed_at),
        updated_at=observed_at,
    )
