"""Which principals can an IAM change affect, and what must be read to know? (pure, no AWS calls)

``plan_targets`` maps one parsed CloudTrail change to a ``TargetPlan``: a few ``Target`` values
(a user, a role, the members of a group, the entities that use a managed policy, a principal that
is gone), or a sweep when the change cannot be mapped. The inventory resolves targets to principal
ARNs; the state decides what a ``gone`` target means (``DELETED`` only if it was watched).

What each event names, the parameters it must carry and when it has its effect are rows of
``watch.event_table``; this module reads them. A change without a parameter its row requires
re-checks the whole account; a read-only call (``readOnly: true``) or a failed one never causes
work. Names of users, groups, roles and policies "are not distinguished by case"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): a target matches the
principal in any letter case (``Target.matches``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from restorewatch.domain import Target, TargetKind
from restorewatch.watch.event_table import IAM_EVENTS, IAM_SOURCE, Condition

if TYPE_CHECKING:
    from restorewatch.domain import CloudTrailChange
    from restorewatch.watch.event_table import EventRule


@dataclass(frozen=True, slots=True)
class TargetPlan:
    """The targets of one change. ``sweep``: cannot tell, re-check every tagged principal.

    An empty plan without ``sweep`` means the change cannot alter any effective permission.
    """

    targets: tuple[Target, ...]
    sweep: bool = False
    reason: str = ""

    @property
    def no_effect(self) -> bool:
        return not self.targets and not self.sweep


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


def _tag_keys(tags: object) -> set[str]:
    """Keys of a CloudTrail ``tags`` list (``[{"key": .., "value": ..}]``; ``Key`` tolerated)."""
    keys: set[str] = set()
    if isinstance(tags, list):
        for tag in tags:
            if isinstance(tag, Mapping):
                key = tag.get("key", tag.get("Key"))
                if isinstance(key, str):
                    keys.add(key)
    return keys


def _sweep(reason: str) -> TargetPlan:
    return TargetPlan((), sweep=True, reason=reason)


def _nothing(reason: str) -> TargetPlan:
    return TargetPlan((), reason=reason)


def plan_targets(change: CloudTrailChange, tag_key: str) -> TargetPlan:
    """Map one CloudTrail IAM change to the principals it can affect (``tag_key``: the watch tag)."""
    name = change.event_name
    if change.error_code:
        return _nothing(f"{name} failed ({change.error_code}): nothing changed")
    if change.read_only:
        return _nothing(f"{name} is a read-only call: nothing changed")
    rule = IAM_EVENTS.get(name) if change.event_source == IAM_SOURCE else None
    if rule is None:
        return _sweep(f"{change.event_source} {name} is not mapped: sweep")
    missing = rule.missing(change.request_parameters)
    if missing is not None:
        return _sweep(f"{name} without requestParameters.{missing}: sweep")
    event = _Event(rule, change, tag_key)
    if not isinstance(rule.changes, TargetKind):
        return _nothing(event.reason)
    return _CONDITIONS[rule.when](event, rule.changes)


@dataclass(frozen=True, slots=True)
class _Event:
    """One change and its row of the event table, as the conditions read them."""

    rule: EventRule
    change: CloudTrailChange
    tag_key: str

    @property
    def reason(self) -> str:
        words = {**self.change.request_parameters, "event": self.change.event_name, "tag_key": self.tag_key}
        return self.rule.reason.format_map(words)

    def param(self, name: str) -> object:
        return self.change.request_parameters.get(name)

    def one(self, kind: TargetKind, *, watched_only: bool | None = None) -> TargetPlan:
        """The one target the row's key names."""
        assert self.rule.key is not None  # a row that names a target names its key
        if watched_only is None:
            watched_only = self.rule.watched_only
        name = str(self.param(self.rule.key))
        target = Target(kind, name, self.change.account, watched_only=watched_only, reason=self.reason)
        return TargetPlan((target,), reason=self.reason)


def _always(event: _Event, kind: TargetKind) -> TargetPlan:
    return event.one(kind)


def _set_as_default(event: _Event, kind: TargetKind) -> TargetPlan:
    """A policy version that is not the default one grants nothing."""
    if not _truthy(event.param("setAsDefault")):
        name, policy = event.change.event_name, event.param("policyArn")
        return _nothing(f"{name} on {policy} without setAsDefault: not in effect")
    return event.one(kind)


def _created_watched(event: _Event, kind: TargetKind) -> TargetPlan:
    """A user or role created without the watch tag is not watched (a later TagUser/TagRole is)."""
    if event.tag_key not in _tag_keys(event.param("tags")):
        name, created = event.change.event_name, event.param(event.rule.key or "")
        return _nothing(f"{name} {created} without the {event.tag_key} tag: not watched")
    return event.one(kind)


def _tags_watched(event: _Event, kind: TargetKind) -> TargetPlan:
    """Adding the watch tag makes the principal watched: it is read even if nobody watched it yet."""
    return event.one(kind, watched_only=event.tag_key not in _tag_keys(event.param("tags")))


def _renamed(event: _Event, kind: TargetKind) -> TargetPlan:
    """``UpdateUser`` with ``newUserName`` or ``newPath`` changes the user's ARN: the old one is gone."""
    name, account = event.change.event_name, event.change.account
    old, new_name, new_path = str(event.param("userName")), event.param("newUserName"), event.param("newPath")
    if not new_name and not new_path:
        return _nothing(f"{name} {old} without a new name or path: nothing changed")
    new = str(new_name or old)
    reason = f"{name} {old} -> {new}" + (f" (path {new_path})" if new_path else "")
    gone = Target(TargetKind.USER_GONE, old, account, watched_only=True, reason=reason)
    return TargetPlan((gone, Target(kind, new, account, watched_only=False, reason=reason)), reason=reason)


_CONDITIONS: Mapping[Condition, Callable[[_Event, TargetKind], TargetPlan]] = {
    Condition.ALWAYS: _always,
    Condition.SET_AS_DEFAULT: _set_as_default,
    Condition.CREATED_WATCHED: _created_watched,
    Condition.TAGS_WATCHED: _tags_watched,
    Condition.RENAMED: _renamed,
}

# derived from the event table: every eventName the EventBridge rule sends, and what each must name
KNOWN_EVENT_NAMES: frozenset[str] = frozenset(IAM_EVENTS)
REQUIRED_PARAMETERS: Mapping[str, tuple[str, ...]] = {
    name: rule.parameters for name, rule in IAM_EVENTS.items()
}


__all__ = [
    "KNOWN_EVENT_NAMES",
    "REQUIRED_PARAMETERS",
    "TargetPlan",
    "plan_targets",
]
