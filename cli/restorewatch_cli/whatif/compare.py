"""Before and after, per watched principal and profile: what the watcher would say of the change.

Each touched principal is checked twice, on the account as it is and as the overlay leaves it,
with the same checks as ``restorewatch check`` (``cli.checks``); the pair goes through the
watcher's own diff (``ledger.diff.transition_between``, degraded alerts on), and the explanations and fix
hints are the alert's (``alerts.email``). A principal deleted or whose watch tag no longer names a
profile is ``Gone``, as the watcher says it: DELETED or UNWATCHED.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from restorewatch.alerts.email import fix_lines, headline, why_lines
from restorewatch.compliance import ActionCheck, ComplianceStatus, overall_status, unknown_check
from restorewatch.domain import AlertKind, Gone, GoneReason
from restorewatch.engine import (
    AccountSnapshot,
    LayerKind,
    Policy,
    PolicySource,
    RequirementStatus,
    decode_document,
    parse_policy,
)
from restorewatch.errors import InputError
from restorewatch.ledger.diff import transition_between
from restorewatch.profiles import profile_names_from_tag, tag_value
from restorewatch.state import LastAlert, Presence, StoredState
from restorewatch_cli.checks import tagged_checks
from restorewatch_cli.whatif.best_case import ALLOW_ALL

if TYPE_CHECKING:
    from collections.abc import Sequence

    from restorewatch.compliance import PrincipalCheck
    from restorewatch.domain import Transition
    from restorewatch.engine import Principal, ScpLevels
    from restorewatch.profiles import ProfileRegistry
    from restorewatch_cli.whatif.after_state import AfterState
    from restorewatch_cli.whatif.best_case import Uncertainty

__all__ = ["UNKNOWN_PROFILE", "WhatIfReport", "WhatIfRow", "compare"]

# the profile column of a principal whose tags, so profiles, are known only after apply
UNKNOWN_PROFILE = "(known after apply)"
_BLOCKING_AFTER = frozenset({ComplianceStatus.UNKNOWN.value, "deleted", "unwatched"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # a what-if saves nothing: its state needs no real time
_UNKNOWN_FIX = (
    "Nothing is known to be wrong, but these answers depend on values the plan cannot know yet.",
    "Run what-if again once they are known (apply the resources they come from first, or give",
    "them at plan time), and until then do not assume the principal can restore.",
)


@dataclass(frozen=True, slots=True)
class WhatIfRow:
    """One watched (principal, profile): its status before and after, and which actions change.

    ``before`` is None when the principal was not watched for the profile (new, or newly tagged);
    ``after`` is a status word of ``check``, or ``deleted`` / ``unwatched``. ``unknown`` lists the
    actions whose answer after the change cannot be known (never a pass). ``kind`` is the alert the
    watcher would send after the change (None: none).
    """

    arn: str
    profile: str
    before: str | None
    after: str
    lost: tuple[str, ...]
    degraded: tuple[str, ...]
    restored: tuple[str, ...]
    unknown: tuple[str, ...]
    reasons: tuple[str, ...]
    fix: tuple[str, ...]
    kind: AlertKind | None
    headline: str | None

    @property
    def blocks(self) -> bool:
        """Would this change break (or hide) a restore? Unknown is never a pass."""
        return bool(self.lost or self.degraded or self.unknown) or self.after in _BLOCKING_AFTER

    def as_dict(self) -> dict[str, Any]:
        return {
            "arn": self.arn,
            "profile": self.profile,
            "before": self.before,
            "after": self.after,
            "lost": list(self.lost),
            "degraded": list(self.degraded),
            "restored": list(self.restored),
            "unknown": list(self.unknown),
            "reasons": list(self.reasons),
            "fix": list(self.fix),
        }


class _BestCase(AccountSnapshot):
    """The account after the change, each principal in the best case of what is still unknown."""

    def __init__(self, after: AfterState) -> None:
        base = after.snapshot
        super().__init__(base.users, base.roles, base.groups, base.policies)
        self.after = after
        self._allow_all: Any = None

    def principal(self, arn: str) -> Principal:
        principal = super().principal(arn)
        layers = {u.layer for u in self.after.uncertainties(principal.arn)}
        if LayerKind.IDENTITY in layers:
            if self._allow_all is None:
                source = PolicySource(LayerKind.IDENTITY, "(a policy known only after apply)")
                self._allow_all = parse_policy(ALLOW_ALL, source)
            principal = dataclasses.replace(principal, identity=(*principal.identity, self._allow_all))
        if LayerKind.BOUNDARY in layers:
            principal = dataclasses.replace(principal, boundary=None)
        return principal


def _unsure(check: PrincipalCheck, uncertainties: Sequence[Uncertainty]) -> PrincipalCheck:
    """A best-case check with what it cannot know: only a denial in the best case is certain."""
    if not uncertainties or check.error is not None:
        return check
    total = any(u.total for u in uncertainties)
    actions = tuple(
        action
        if action.status is RequirementStatus.DENIED and not total
        else ActionCheck(action.action, RequirementStatus.UNKNOWN)
        for action in check.actions
    )
    return dataclasses.replace(check, actions=actions, status=overall_status(a.status for a in actions))


def _level_statements(level: Sequence[Any]) -> set[tuple[str, str]]:
    """A level's statements, each with the name of the SCP it is in (explanations name it)."""
    keys: set[tuple[str, str]] = set()
    for entry in level:
        document: Any = entry
        name = ""
        if isinstance(entry, Mapping) and "Statement" not in entry:
            name = str(entry.get("Name") or entry.get("PolicyName") or entry.get("Id") or "")
            document = entry.get("Content") or entry.get("Document") or entry.get("PolicyDocument")
        decoded = decode_document(document)
        statements = decoded.get("Statement")
        for statement in statements if isinstance(statements, list) else [statements]:
            text = json.dumps({"Version": decoded.get("Version"), "Statement": statement}, sort_keys=True)
            keys.add((name, text))
    return keys


def _scp_delta(
    before: Sequence[Sequence[Any]] | None, after: Sequence[Sequence[Any]] | None
) -> Policy | bool:
    """The SCP statements the change adds or removes, as one policy (only which actions they cover
    matters), False when none, True when any action may be affected (levels added or unreadable).

    An SCP level is evaluated from its statements alone
    (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html):
    an action no added or removed statement covers gets the same answer from the SCPs after the change.
    """
    if before is None and after is None:
        return False
    if before is None or after is None or len(before) != len(after):
        return True
    changed: list[Any] = []
    try:
        for old, new in zip(before, after, strict=True):
            changed += [
                json.loads(text)["Statement"] for _, text in _level_statements(old) ^ _level_statements(new)
            ]
        if not changed:
            return False
        document = {"Version": "2012-10-17", "Statement": changed}
        return parse_policy(
            document, PolicySource(LayerKind.SCP, "the SCP statements the change adds or removes")
        )
    except (ValueError, TypeError, AttributeError, InputError):
        return True


def _state(check: PrincipalCheck) -> StoredState:
    """The check before the change, as the watcher would have stored it: a principal that could not
    restore had been alerted on, so a change that mends it is RESTORED."""
    statuses = {action.status for action in check.actions}
    last_alert = None
    if RequirementStatus.DENIED in statuses:
        last_alert = LastAlert("what-if", AlertKind.LOST, _EPOCH)
    elif RequirementStatus.UNKNOWN in statuses or check.error is not None:
        last_alert = LastAlert("what-if", AlertKind.UNKNOWN, _EPOCH)
    elif RequirementStatus.PARTIAL in statuses:
        last_alert = LastAlert("what-if", AlertKind.DEGRADED, _EPOCH)
    return StoredState(
        principal=check.arn,
        profile=check.profile,
        revision=0,
        observed_at=_EPOCH,
        presence=Presence.WATCHED,
        status=check.status,
        actions={action.action: action.status for action in check.actions},
        name=check.name,
        kind=check.kind,
        account=check.account,
        error=check.error,
        last_alert=last_alert,
        updated_at=_EPOCH,
    )


class _Comparison:
    def __init__(
        self,
        before: AccountSnapshot,
        before_scps: ScpLevels | None,
        after: AfterState,
        *,
        registry: ProfileRegistry,
        tag_key: str,
    ) -> None:
        self.before = before
        self.before_scps = before_scps
        self.after = after
        self.after_snapshot = _BestCase(after)
        self.after_scps = after.scps
        self.registry = registry
        self.tag_key = tag_key
        self.scp_delta = _scp_delta(after.before_scp_levels, after.scp_levels)

    def _actions(self, arn: str) -> list[str] | None:
        """The actions the watch tag of ``arn`` requires, before the change (None: not watched)."""
        value = tag_value(self.before.tags_of(arn), self.tag_key)
        if value is None:
            return None
        actions: list[str] = []
        try:
            for name in profile_names_from_tag(value):
                actions += self.registry.get(name).actions
        except InputError:
            pass  # an unusable tag: an unknown row before and after alike
        return actions

    def _unchanged(self, arn: str, actions: Sequence[str]) -> bool:
        """Whether the change leaves every answer of ``arn`` as it was: the same principal, groups and
        policies (the overlay copies what it changes), and no SCP statement added or removed that
        covers one of its actions. Then the check before is the check after, without evaluating."""
        old, new = self.before, self.after_snapshot
        entry = old.users.get(arn) or old.roles.get(arn)
        if entry is None or entry is not (new.users.get(arn) or new.roles.get(arn)):
            return False
        if self.after.uncertainties(arn) or self.scp_delta is True:
            return False
        groups = [g for g in entry.get("GroupList") or () if isinstance(g, str)]
        if any(old.groups.get(g) is not new.groups.get(g) for g in groups):
            return False
        used = [item.get("PolicyArn") for item in entry.get("AttachedManagedPolicies") or ()]
        used += [
            item.get("PolicyArn")
            for g in groups
            for item in (old.groups.get(g) or {}).get("AttachedManagedPolicies") or ()
        ]
        boundary = entry.get("PermissionsBoundary")
        if isinstance(boundary, Mapping):
            used.append(boundary.get("PermissionsBoundaryArn"))
        if any(old.policies.get(p) is not new.policies.get(p) for p in used if isinstance(p, str)):
            return False
        delta = self.scp_delta
        if delta is False:
            return True
        assert isinstance(delta, Policy)
        return not any(delta.covering(action.lower()) for action in actions)

    def _checks(
        self, snapshot: AccountSnapshot, arn: str, scps: ScpLevels | None
    ) -> dict[str, PrincipalCheck]:
        if arn not in snapshot.users and arn not in snapshot.roles:
            return {}
        value = tag_value(snapshot.tags_of(arn), self.tag_key)
        if value is None:
            return {}
        checks = tagged_checks(snapshot, arn, value, tag_key=self.tag_key, registry=self.registry, scps=scps)
        return {check.profile: check for check in checks}

    def _after_checks(self, arn: str, before: Mapping[str, PrincipalCheck]) -> dict[str, PrincipalCheck]:
        unknown_tags = self.after.unknown_tags.get(arn)
        if unknown_tags is None:
            uncertainties = self.after.uncertainties(arn)
            known = self._checks(self.after_snapshot, arn, self.after_scps)
            return {profile: _unsure(check, uncertainties) for profile, check in known.items()}
        # whether it is watched, and for what, is known only after apply
        error = f"its tags, so the profiles it is watched for, are known only after apply: {unknown_tags}"
        checks: dict[str, PrincipalCheck] = {}
        for profile in list(before) or [UNKNOWN_PROFILE]:
            actions = [a.action for a in before[profile].actions] if profile in before else []
            checks[profile] = unknown_check(arn, profile, error, actions)
        return checks

    def rows(self) -> WhatIfReport:
        rows: list[WhatIfRow] = []
        unchanged = 0
        for arn in sorted(self.after.touched):
            known = arn not in self.after.unknown_tags
            if known and (arn in self.before.users or arn in self.before.roles):
                actions = self._actions(arn)
                if actions is None and self.before.tags_of(arn) == self._after_tags(arn):
                    continue  # not watched, before or after
                if actions is not None and self._unchanged(arn, actions):
                    unchanged += 1
                    continue
            before = self._checks(self.before, arn, self.before_scps)
            after = self._after_checks(arn, before)
            exists = arn in self.after_snapshot.users or arn in self.after_snapshot.roles
            for profile in sorted(set(before) | set(after)):
                rows.append(self._row(arn, profile, before.get(profile), after.get(profile), exists))
        return WhatIfReport(tuple(rows), unchanged)

    def _after_tags(self, arn: str) -> dict[str, str] | None:
        snapshot = self.after_snapshot
        return snapshot.tags_of(arn) if arn in snapshot.users or arn in snapshot.roles else None

    def _row(
        self,
        arn: str,
        profile: str,
        before: PrincipalCheck | None,
        after: PrincipalCheck | None,
        exists: bool,
    ) -> WhatIfRow:
        previous = _state(before) if before is not None else None
        if after is None:
            reason = GoneReason.UNWATCHED if exists else GoneReason.DELETED
            current: PrincipalCheck | Gone = Gone(arn, profile, reason)
        else:
            current = after
        transition = transition_between(previous, current, alert_on_degraded=True)
        old = {a.action: a.status for a in before.actions} if before is not None else {}
        if after is None:
            new: dict[str, RequirementStatus] = {}
            after_word = reason.value
        else:
            new = {a.action: a.status for a in after.actions}
            after_word = after.status.value
        denied, partial = RequirementStatus.DENIED, RequirementStatus.PARTIAL
        if after is None and not exists:
            lost = tuple(action for action, status in old.items() if status is not denied)
        else:
            lost = tuple(a for a, s in new.items() if s is denied and old.get(a) is not denied)
        degraded = tuple(a for a, s in new.items() if s is partial and old.get(a) not in (denied, partial))
        restored = tuple(
            a for a, s in new.items() if s is RequirementStatus.ALLOWED and old.get(a) in (denied, partial)
        )
        unknown = tuple(a for a, s in new.items() if s is RequirementStatus.UNKNOWN)
        return WhatIfRow(
            arn=arn,
            profile=profile,
            before=before.status.value if before is not None else None,
            after=after_word,
            lost=lost,
            degraded=degraded,
            restored=restored,
            unknown=unknown,
            reasons=tuple(self._reasons(arn, after, transition)),
            fix=tuple(self._fix(after, transition)),
            kind=transition.kind if transition is not None else None,
            headline=headline(transition, tag_key=self.tag_key) if transition is not None else None,
        )

    def _reasons(self, arn: str, after: PrincipalCheck | None, transition: Transition | None) -> list[str]:
        lines: list[str] = []
        if after is not None and any(a.status is RequirementStatus.UNKNOWN for a in after.actions):
            lines += [f"Known only after apply: {u.what}" for u in self.after.uncertainties(arn)]
        if transition is not None:
            lines += why_lines(transition)
        elif after is not None and after.error is not None:
            lines.append(f"The check failed: {after.error}")
        return lines

    def _fix(self, after: PrincipalCheck | None, transition: Transition | None) -> list[str]:
        unknown = after is not None and any(a.status is RequirementStatus.UNKNOWN for a in after.actions)
        if transition is None:
            return list(_UNKNOWN_FIX) if unknown else []
        if transition.kind is AlertKind.UNKNOWN:
            # the alert's advice is about the watcher's reads; here the plan is what cannot be known
            if after is not None and after.error is not None and not self.after.unknown_tags.get(after.arn):
                return fix_lines(transition, tag_key=self.tag_key)
            return list(_UNKNOWN_FIX)
        return [*fix_lines(transition, tag_key=self.tag_key), *(["", *_UNKNOWN_FIX] if unknown else [])]


@dataclass(frozen=True, slots=True)
class WhatIfReport:
    """``rows``: one per watched (principal, profile) whose answers the change may alter, by ARN;
    ``unchanged``: watched principals it touches but provably leaves as they were (an SCP statement
    that covers none of their actions, a policy change elsewhere)."""

    rows: tuple[WhatIfRow, ...]
    unchanged: int

    @property
    def blocks(self) -> bool:
        return any(row.blocks for row in self.rows)


def compare(
    before: AccountSnapshot,
    before_scps: ScpLevels | None,
    after: AfterState,
    *,
    registry: ProfileRegistry,
    tag_key: str,
) -> WhatIfReport:
    """What the change does to every watched principal it touches, before or after it."""
    return _Comparison(before, before_scps, after, registry=registry, tag_key=tag_key).rows()
