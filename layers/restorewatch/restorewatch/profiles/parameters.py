"""A bound profile's parameters: their values for one principal, and the patterns they make.

A profile that binds actions to resources leaves the names to each principal: the repository
bucket, the key. The values come from the principal's tags ``restorewatch:param:<Name>`` (tag keys
are compared as IAM compares them, without letter case) and from the command line's ``--param
Name=Value``, which wins. A parameter without a value is an error for that principal (its check is
``unknown`` with the reason), never a guess. This module is pure: the watcher, ``check`` and
``report`` all bind through ``bind_requirements``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from restorewatch.errors import InputError, ProfileError
from restorewatch.profiles.model import placeholders

if TYPE_CHECKING:
    from collections.abc import Mapping

    from restorewatch.profiles.model import Profile

__all__ = [
    "PARAMETER_TAG_PREFIX",
    "BoundAction",
    "ParameterError",
    "bind_requirements",
    "parameter_tag",
    "parameters_from_tags",
    "parse_param_options",
]

PARAMETER_TAG_PREFIX = "restorewatch:param:"
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
# a value names one resource: no wildcard, no policy variable, no blank
_BAD_VALUE = re.compile(r"[*?\s]|\$\{")


class ParameterError(ProfileError):
    """A bound profile's parameter has no value for a principal, or a value that names no resource."""


@dataclass(frozen=True, slots=True)
class BoundAction:
    """A required action with the pattern its profile binds it to, parameters put in (None: ``*``)."""

    action: str
    resource: str | None


def parameter_tag(name: str) -> str:
    """The tag key that gives a principal's value of parameter ``name``."""
    return f"{PARAMETER_TAG_PREFIX}{name}"


def parameters_from_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The parameter values a principal's tags give, by lower-cased name (IAM tag keys are unique
    without letter case, and so are parameter names)."""
    prefix = PARAMETER_TAG_PREFIX.casefold()
    return {
        key[len(prefix) :].casefold(): value
        for key, value in tags.items()
        if key.casefold().startswith(prefix) and len(key) > len(prefix)
    }


def parse_param_options(options: list[str] | None) -> dict[str, str]:
    """``--param Name=Value`` options (repeatable) as a mapping; ``InputError`` names a bad one."""
    values: dict[str, str] = {}
    for option in options or ():
        name, sep, value = option.partition("=")
        if not sep or not name:
            raise InputError(f"--param {option!r} is not of the form Name=Value")
        previous = next((known for known in values if known.casefold() == name.casefold()), None)
        if previous is not None:
            raise InputError(f"--param {name} is given twice")
        _check_value(name, value, f"--param {name}")
        values[name] = value
    return values


def _check_value(name: str, value: str, where: str) -> None:
    if not value:
        raise ParameterError(f"{where}: parameter {name} has an empty value")
    if _BAD_VALUE.search(value):
        raise ParameterError(
            f"{where}: parameter {name} = {value!r} must name one resource: no wildcard (* ?), blank or ${{"
        )


def bind_requirements(
    profile: Profile, tags: Mapping[str, str], overrides: Mapping[str, str] | None = None
) -> tuple[BoundAction, ...]:
    """The profile's actions with their patterns bound for a principal with ``tags``.

    ``overrides`` (``--param``) win over the tags. Raises ``ParameterError`` naming every parameter
    without a value and the tag that gives it, or a value that is no resource name.
    """
    given = parameters_from_tags(tags)
    given.update({name.casefold(): value for name, value in (overrides or {}).items()})
    values: dict[str, str] = {}
    missing: list[str] = []
    for name in profile.parameters:
        value = given.get(name.casefold())
        if value is None:
            missing.append(name)
            continue
        source = "--param" if name.casefold() in {n.casefold() for n in overrides or {}} else "tag"
        _check_value(name, value, f"profile {profile.name!r}: {source} {parameter_tag(name)}")
        values[name] = value
    if missing:
        tags_to_set = ", ".join(f"{parameter_tag(name)}=<value>" for name in missing)
        raise ParameterError(
            f"profile {profile.name!r} binds actions to resources and needs parameter(s) "
            f"{', '.join(missing)}: tag the principal with {tags_to_set} (or pass --param Name=Value)"
        )
    bound: list[BoundAction] = []
    for requirement in profile.requirements:
        if requirement.resource is None:
            bound.append(BoundAction(requirement.action, None))
            continue
        if _PLACEHOLDER.fullmatch(requirement.resource) is None:
            for name in placeholders(requirement.resource):
                if ":" in values[name] or "/" in values[name]:
                    raise ParameterError(
                        f"profile {profile.name!r}: parameter {name} = {values[name]!r} is one name inside "
                        f"{requirement.resource}: no ':' or '/' (give the name, not an ARN or path)"
                    )
        pattern = _PLACEHOLDER.sub(lambda match: values[match.group(1)], requirement.resource)
        _check_pattern(profile, requirement.action, requirement.resource, pattern)
        bound.append(BoundAction(requirement.action, pattern))
    return tuple(bound)


def _check_pattern(profile: Profile, action: str, template: str, pattern: str) -> None:
    """The bound pattern must name what the action acts on, and a resource a policy can be attached to."""
    from restorewatch.catalog import default_catalog
    from restorewatch.engine.arnformat import can_name
    from restorewatch.engine.resources import check_holder, holder_pattern

    names = ", ".join(f"{name}" for name in placeholders(template))
    where = f"profile {profile.name!r}: {action} on {pattern} (parameters {names})"
    holder = holder_pattern(pattern)
    if "*" not in holder and "?" not in holder:
        try:
            check_holder(holder, where)
        except InputError as error:
            raise ParameterError(str(error)) from None
    facts = default_catalog().facts(action)
    if facts is not None and not any(can_name(pattern, False, f) for f in facts.arn_formats):
        raise ParameterError(f"{where}: names no resource {action} acts on ({', '.join(facts.arn_formats)})")
