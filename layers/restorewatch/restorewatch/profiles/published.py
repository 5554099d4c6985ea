"""What a vendor published beside its list of actions: where they scoped them, and our corrections.

A vendor's list often comes as a policy whose statements scope some actions to resources
(``arn:aws:s3:::<yourbucketname>/*``) or to a condition. The scopes are a record of what was
published (``profiles show`` prints them); what a check asks is said by the action entries, which
bind an action to a resource pattern (``profiles.model``; the ``-bound`` built-ins bind what the
vendor scopes to the bucket). A correction records where the profile departs from the vendor's list
and why (an action AWS does not have, such as ``s3:HeadBucket``).

Profile file keys (all optional)::

    "source_version": "KB3151, last modified 2024-04-15",
    "scopes": [{"sid": "...", "actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::b/*"],
                "condition": {...}}],
    "corrections": [{"published": "s3:HeadBucket", "replacement": ["s3:ListBucket"],
                     "reason": "...", "doc": "https://docs.aws.amazon.com/..."}]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from restorewatch.errors import ProfileError

__all__ = ["Correction", "PublishedScope", "parse_corrections", "parse_scopes"]

_SCOPE_KEYS = frozenset({"sid", "actions", "resources", "condition"})
_CORRECTION_KEYS = frozenset({"published", "replacement", "reason", "doc"})


@dataclass(frozen=True, slots=True)
class PublishedScope:
    """Actions the vendor's policy grants on these resources (and under this condition, if any)."""

    actions: tuple[str, ...]
    resources: tuple[str, ...]
    sid: str | None = None
    condition: Mapping[str, Any] | None = None

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {}
        if self.sid is not None:
            data["sid"] = self.sid
        data["actions"] = list(self.actions)
        data["resources"] = list(self.resources)
        if self.condition is not None:
            data["condition"] = dict(self.condition)
        return data


@dataclass(frozen=True, slots=True)
class Correction:
    """The vendor lists ``published``; the profile requires ``replacement`` instead (maybe nothing)."""

    published: str
    replacement: tuple[str, ...]
    reason: str
    doc: str | None = None

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "published": self.published,
            "replacement": list(self.replacement),
            "reason": self.reason,
        }
        if self.doc is not None:
            data["doc"] = self.doc
        return data


def _strings(value: object, what: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ProfileError(f"{where}: {what} must be a list of non-empty strings")
    return tuple(value)


def _object(raw: object, keys: frozenset[str], what: str, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise ProfileError(f"{where}: {what} is not an object")
    unknown = sorted(str(key) for key in raw if key not in keys)
    if unknown:
        raise ProfileError(
            f"{where}: {what}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(keys))})"
        )
    return raw


def parse_scopes(raw: object, actions: tuple[str, ...], *, where: str) -> tuple[PublishedScope, ...]:
    """``scopes`` of a profile file; every action a scope names must be one of the profile's."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ProfileError(f"{where}: scopes must be a list of objects")
    required = {action.lower() for action in actions}
    scopes: list[PublishedScope] = []
    for position, item in enumerate(raw):
        what = f"scope #{position}"
        entry = _object(item, _SCOPE_KEYS, what, where)
        sid = entry.get("sid")
        if sid is not None and not isinstance(sid, str):
            raise ProfileError(f"{where}: {what}: sid must be a string")
        scoped = _strings(entry.get("actions"), f"{what} actions", where)
        strangers = [action for action in scoped if action.lower() not in required]
        if strangers:
            raise ProfileError(
                f"{where}: {what} names {', '.join(strangers)}, which the profile does not require"
            )
        resources = _strings(entry.get("resources"), f"{what} resources", where)
        condition = entry.get("condition")
        if condition is not None and not isinstance(condition, Mapping):
            raise ProfileError(f"{where}: {what}: condition must be an object (a policy Condition block)")
        scopes.append(PublishedScope(scoped, resources, sid, condition))
    return tuple(scopes)


def parse_corrections(raw: object, actions: tuple[str, ...], *, where: str) -> tuple[Correction, ...]:
    """``corrections`` of a profile file: a replacement must be required, the published name not."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ProfileError(f"{where}: corrections must be a list of objects")
    required = {action.lower() for action in actions}
    corrections: list[Correction] = []
    for position, item in enumerate(raw):
        what = f"correction #{position}"
        entry = _object(item, _CORRECTION_KEYS, what, where)
        published = entry.get("published")
        reason = entry.get("reason")
        doc = entry.get("doc")
        if not isinstance(published, str) or not published:
            raise ProfileError(f"{where}: {what}: published must be the action name the vendor lists")
        if not isinstance(reason, str) or not reason:
            raise ProfileError(f"{where}: {what}: reason must say why the profile departs from the list")
        if doc is not None and not isinstance(doc, str):
            raise ProfileError(f"{where}: {what}: doc must be a URL")
        replacement = _strings(entry.get("replacement", []), f"{what} replacement", where)
        missing = [action for action in replacement if action.lower() not in required]
        if missing:
            raise ProfileError(
                f"{where}: {what}: replacement {', '.join(missing)} is not required by the profile"
            )
        if published.lower() in required:
            raise ProfileError(f"{where}: {what}: {published} is corrected but still required")
        corrections.append(Correction(published, replacement, reason, doc))
    return tuple(corrections)
