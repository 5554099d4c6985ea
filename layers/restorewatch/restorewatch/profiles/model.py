"""A profile: the actions a backup product needs, as data, and the tag that assigns profiles.

An action entry is a string (the action on any resource, ``*``) or an object that binds it to a
resource pattern, ``{"action": "s3:PutObject", "resource": "arn:aws:s3:::${RepositoryBucket}/*"}``;
``${Name}`` is one of the profile's ``parameters``, whose value each watched principal gives
(``profiles.parameters``).

Validation lives here (not in the loader) so that every way of making a profile -- a built-in file,
a user's JSON or YAML file, ``--action`` on the command line -- applies the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from restorewatch.errors import ProfileError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from restorewatch.profiles.published import Correction, PublishedScope

__all__ = [
    "DEFAULT_TAG_KEY",
    "Profile",
    "RequiredAction",
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
# A parameter name travels in a tag key, restorewatch:param:<Name>: letters and digits, as in
# CloudFormation parameter names.
_PARAMETER = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,99}$")
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_ENTRY_KEYS = frozenset({"action", "resource"})


@dataclass(frozen=True, slots=True)
class RequiredAction:
    """One required action; ``resource`` is the pattern it is bound to (with ``${Name}`` for the
    profile's parameters), or None for any resource (``*``)."""

    action: str
    resource: str | None = None

    def as_dict(self) -> dict[str, str] | str:
        return self.action if self.resource is None else {"action": self.action, "resource": self.resource}


@dataclass(frozen=True, slots=True)
class Profile:
    """The actions a principal must be able to perform, on any resource or on a bound one.

    ``actions`` keep the spelling of their source (``s3:PutLifeCycleConfiguration`` as Veeam
    publishes it); the engine matches actions case-insensitively. ``source`` says where the profile
    was defined (a file path, or ``command line``) so every message can point at it; ``url`` is the
    vendor page a built-in profile was copied from, ``source_version`` the version or date of that
    list; ``scopes`` and ``corrections`` what the vendor published beside the actions (see
    ``profiles.published``). ``requirements`` pairs each action with the resource pattern it is
    bound to (the order of ``actions``; all on ``*`` when not given); ``parameters`` names what the
    patterns leave to each principal (``profiles.parameters``).
    """

    name: str
    description: str
    actions: tuple[str, ...]
    source: str
    url: str | None = None
    source_version: str | None = None
    scopes: tuple[PublishedScope, ...] = ()
    corrections: tuple[Correction, ...] = ()
    requirements: tuple[RequiredAction, ...] = ()
    parameters: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.requirements:
            object.__setattr__(self, "requirements", tuple(RequiredAction(action) for action in self.actions))

    @property
    def bound(self) -> bool:
        """Does some action name a resource? (Then the check needs the resources' policies.)"""
        return any(requirement.resource is not None for requirement in self.requirements)


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


def _parameters(raw: object, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list | tuple):
        raise ProfileError(f"{where}: parameters must be a list of names")
    seen: dict[str, str] = {}
    for name in raw:
        if not isinstance(name, str) or not _PARAMETER.match(name):
            raise ProfileError(
                f"{where}: parameter name {name!r} is invalid: use letters and digits, a letter first "
                "(it becomes the tag key restorewatch:param:<Name>)"
            )
        previous = seen.get(name.lower())
        if previous is not None:  # tag keys are case-insensitive: one tag would serve both
            raise ProfileError(f"{where}: parameter {name!r} is declared twice (also as {previous!r})")
        seen[name.lower()] = name
    return tuple(raw)


def _resource(raw: object, action: str, parameters: tuple[str, ...], where: str) -> str:
    """A bound resource pattern: an ARN (``arn:...``) or one parameter standing for a whole ARN."""
    if not isinstance(raw, str) or not raw:
        raise ProfileError(f"{where}: action {action}: resource must be a non-empty string (an ARN pattern)")
    used = _PLACEHOLDER.findall(raw)
    unknown = [name for name in used if name not in parameters]
    if unknown:
        declared = ", ".join(parameters) or "none"
        raise ProfileError(
            f"{where}: action {action}: resource {raw!r} uses ${{{unknown[0]}}}, which is not a declared "
            f"parameter (declared: {declared}); policy variables are not allowed here"
        )
    if "${" in _PLACEHOLDER.sub("", raw):
        raise ProfileError(f"{where}: action {action}: resource {raw!r} has an unclosed ${{")
    if not raw.startswith("arn:") and _PLACEHOLDER.fullmatch(raw) is None:
        raise ProfileError(
            f"{where}: action {action}: resource {raw!r} is not an ARN pattern (arn:...) or one parameter"
        )
    return raw


def _entries(actions: object, parameters: tuple[str, ...], where: str) -> list[RequiredAction]:
    """The ``actions`` list: strings, or ``{"action", "resource"}`` objects."""
    if not isinstance(actions, list | tuple):
        raise ProfileError(f"{where}: actions must be a list of service:ActionName strings")
    entries: list[RequiredAction] = []
    for item in actions:
        if isinstance(item, RequiredAction):
            entries.append(item)
        elif isinstance(item, Mapping):
            unknown = sorted(str(key) for key in item if key not in _ENTRY_KEYS)
            if unknown or "action" not in item:
                raise ProfileError(
                    f"{where}: an action object has key(s) {', '.join(sorted(map(str, item)))}: "
                    "it needs 'action' and may have 'resource'"
                )
            action = validate_action(item["action"], where=where)
            resource = item.get("resource")
            entries.append(
                RequiredAction(
                    action, None if resource is None else _resource(resource, action, parameters, where)
                )
            )
        else:
            entries.append(RequiredAction(validate_action(item, where=where)))
    return entries


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
    parameters: object = None,
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
    declared = _parameters(parameters, where)
    entries = _entries(actions, declared, where)
    checked: list[str] = []
    seen: dict[str, str] = {}
    for entry in entries:
        valid = entry.action
        # IAM matches actions case-insensitively, so two spellings are one action listed twice.
        previous = seen.get(valid.lower())
        if previous is not None:
            raise ProfileError(f"{where}: action {valid!r} is listed twice (also as {previous!r})")
        seen[valid.lower()] = valid
        checked.append(valid)
    if not checked:
        raise ProfileError(f"{where}: actions is empty; a profile must require at least one action")
    used = {name for entry in entries if entry.resource for name in _PLACEHOLDER.findall(entry.resource)}
    unused = [name for name in declared if name not in used]
    if unused:
        raise ProfileError(f"{where}: parameter {unused[0]} is declared but no action's resource uses it")
    if check_catalog:
        require_known_actions(checked, where=where)
        require_bindable(entries, where=where)
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
        requirements=tuple(entries),
        parameters=declared,
    )


def placeholders(pattern: str) -> list[str]:
    """The parameter names ``${Name}`` in a bound resource pattern, in order."""
    return _PLACEHOLDER.findall(pattern)


def require_bindable(requirements: Iterable[RequiredAction], *, where: str) -> None:
    """A bound action must be able to act on what its pattern names: an action with no resource
    types (``s3:ListAllMyBuckets``) is always requested on ``*`` and cannot be bound, and
    ``arn:aws:s3:::${Bucket}`` can never name an object for ``s3:GetObject`` (a parameter inside an
    ARN is one name, without ``:`` or ``/``)."""
    from restorewatch.catalog import default_catalog
    from restorewatch.engine.arnformat import can_name

    catalog = default_catalog()
    for requirement in requirements:
        if requirement.resource is None:
            continue
        facts = catalog.facts(requirement.action)
        if facts is None:  # unknown actions are refused by require_known_actions
            continue
        if facts.wildcard_only:
            raise ProfileError(
                f"{where}: action {requirement.action} cannot be bound to a resource: it has no resource "
                'types and is always requested on "*" (Service Authorization Reference)'
            )
        # a parameter standing for the whole ARN may be any ARN; one inside an ARN is one name, which
        # never holds ":" or "/" (bind_requirements checks the values), so a sample name stands for it
        whole = _PLACEHOLDER.fullmatch(requirement.resource) is not None
        pattern = "*" if whole else _PLACEHOLDER.sub("name", requirement.resource)
        if not any(can_name(pattern, False, arn_format) for arn_format in facts.arn_formats):
            formats = ", ".join(facts.arn_formats)
            raise ProfileError(
                f"{where}: action {requirement.action}: resource {requirement.resource!r} can never name a "
                f"resource it acts on ({formats})"
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
