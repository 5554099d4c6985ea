"""A profile: the actions a backup product needs, as data, and the tag that assigns profiles.

Validation lives here (not in the loader) so that every way of making a profile -- a built-in file,
a user's JSON or YAML file, ``--action`` on the command line -- applies the same rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from restorewatch.errors import ProfileError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from restorewatch.profiles.published import Correction, PublishedScope

__all__ = [
    "DEFAULT_TAG_KEY",
    "Profile",
    "make_profile",
    "profile_names_from_tag",
    "require_known_actions",
    "tag_value",
    "validate_action",
]

DEFAULT_TAG_KEY = "restorewatch:profile"

# Profile names travel inside a tag value whose names are separated by spaces, so a name must not
# contain whitespace; this set is also safe in file names, log lines and DynamoDB sort keys.
_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
# A required action must be concrete: a wildcard would ask "can it do some of these?", which is
# not a question a restore can rely on. Any letter case, as in a policy: "The prefix and the action
# name are case insensitive" (the engine matches that way too).
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
_ACTION = re.compile(r"^[A-Za-z0-9-]+:[A-Za-z0-9]+$")


@dataclass(frozen=True, slots=True)
class Profile:
    """The actions a principal must be able to perform on any resource.

    ``actions`` keep the spelling of their source (``s3:PutLifeCycleConfiguration`` as Veeam
    publishes it); the engine matches actions case-insensitively. ``source`` says where the profile
    was defined (a file path, or ``command line``) so every message can point at it; ``url`` is the
    vendor page a built-in profile was copied from, ``source_version`` the version or date of that
    list; ``scopes`` and ``corrections`` what the vendor published beside the actions (see
    ``profiles.published``).
    """

    name: str
    description: str
    actions: tuple[str, ...]
    source: str
    url: str | None = None
    source_version: str | None = None
    scopes: tuple[PublishedScope, ...] = ()
    corrections: tuple[Correction, ...] = ()


def validate_action(action: object, *, where: str = "") -> str:
    """Return ``action`` if it is a concrete ``service:ActionName``; raise ProfileError otherwise."""
    prefix = f"{where}: " if where else ""
    if not isinstance(action, str):
        raise ProfileError(f"{prefix}action {action!r} is not a string")
    if "*" in action or "?" in action:
        raise ProfileError(
            f"{prefix}action {action!r} has a wildcard; a required action must be one concrete action"
        )
    if not _ACTION.match(action):
        raise ProfileError(
            f"{prefix}action {action!r} is not of the form service:ActionName "
            "(service in letters, digits and '-', action in letters and digits)"
        )
    return action


def make_profile(
    name: object,
    actions: object,
    *,
    description: object = "",
    source: str,
    url: object = None,
    source_version: object = None,
    scopes: object = None,
    corrections: object = None,
    check_catalog: bool = True,
) -> Profile:
    """Validate raw values (as read from a file or the command line) and build a Profile.

    ``check_catalog=False`` leaves the actions' existence to the caller (``ProfileRegistry`` checks
    a built-in profile when it is first used, so that a run reads only the catalog files it needs).
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ProfileError(
            f"{source}: profile name {name!r} is invalid: use letters, digits, '.', '_' and '-' "
            "(names are separated by spaces in the watch tag)"
        )
    where = f"{source}: profile {name!r}"
    if not isinstance(description, str):
        raise ProfileError(f"{where}: description must be a string")
    if url is not None and not isinstance(url, str):
        raise ProfileError(f"{where}: source_url must be a string")
    if source_version is not None and not isinstance(source_version, str):
        raise ProfileError(f"{where}: source_version must be a string")
    # a list (JSON/YAML array, argparse values) or a tuple (another Profile's actions); a string
    # or a mapping is iterable too, but is surely a mistake
    if not isinstance(actions, list | tuple):
        raise ProfileError(f"{where}: actions must be a list of service:ActionName strings")
    checked: list[str] = []
    seen: dict[str, str] = {}
    for action in actions:
        valid = validate_action(action, where=where)
        # IAM matches actions case-insensitively, so two spellings are one action listed twice.
        previous = seen.get(valid.lower())
        if previous is not None:
            raise ProfileError(f"{where}: action {valid!r} is listed twice (also as {previous!r})")
        seen[valid.lower()] = valid
        checked.append(valid)
    if not checked:
        raise ProfileError(f"{where}: actions is empty; a profile must require at least one action")
    if check_catalog:
        require_known_actions(checked, where=where)
    # imported here, not at module level: the watcher's cold start does not need it
    from restorewatch.profiles.published import parse_corrections, parse_scopes

    required = tuple(checked)
    return Profile(
        name=name,
        description=description,
        actions=required,
        source=source,
        url=url,
        source_version=source_version,
        scopes=parse_scopes(scopes, required, where=where),
        corrections=parse_corrections(corrections, required, where=where),
    )


def require_known_actions(actions: Iterable[str], *, where: str) -> None:
    """Every action must be one AWS has (evaluation spec, "The action catalog", rule 3): an unknown
    one, a typo or a vendor's mistake, would otherwise read as "denied" forever."""
    from restorewatch.catalog import default_catalog, unknown_action_message

    catalog = default_catalog()
    for action in actions:
        if catalog.spelling(action) is None:
            raise ProfileError(f"{where}: {unknown_action_message(action, catalog)}")


def profile_names_from_tag(value: str) -> tuple[str, ...]:
    """Split a watch tag value into profile names.

    IAM tag values allow no commas, so names are separated by whitespace. A repeated name is kept
    once: checking the same profile twice would only duplicate results.
    """
    names = tuple(dict.fromkeys(value.split()))
    if not names:
        raise ProfileError(f"watch tag value {value!r} names no profile")
    return names


def tag_value(tags: Mapping[str, str], key: str) -> str | None:
    """The value of tag ``key``; IAM tag keys are unique case-insensitively, so match that way."""
    if key in tags:
        return tags[key]
    folded = key.casefold()
    for candidate, value in tags.items():
        if candidate.casefold() == folded:
            return value
    return None
