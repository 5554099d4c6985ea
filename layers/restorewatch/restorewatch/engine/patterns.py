"""Wildcard matching for actions and resources, compiled once per policy.

Actions are compared case-insensitively, resources case-sensitively; ``*`` matches any run of
characters (including ``/`` and ``:``) and ``?`` exactly one.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from restorewatch.engine.variables import Context, RenderedPiece, Template


def _wildcard_regex_source(pieces: Iterable[RenderedPiece]) -> str:
    out: list[str] = []
    for text, literal in pieces:
        if literal:
            out.append(re.escape(text))
            continue
        for char in text:
            if char == "*":
                out.append(".*")
            elif char == "?":
                out.append(".")
            else:
                out.append(re.escape(char))
    return "".join(out)


@lru_cache(maxsize=65536)
def compile_wildcard(pieces: tuple[RenderedPiece, ...], case_sensitive: bool) -> re.Pattern[str]:
    flags = re.DOTALL | (0 if case_sensitive else re.IGNORECASE)
    return re.compile(_wildcard_regex_source(pieces), flags)


def wildcard_match(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    """Match one plain wildcard pattern (no variables)."""
    return compile_wildcard(((pattern, False),), case_sensitive).fullmatch(value) is not None


def has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


@dataclass(frozen=True, slots=True)
class ActionMatcher:
    """The Action (or NotAction) list of a statement, lower-cased and merged into one regex."""

    patterns: tuple[str, ...]
    services: frozenset[str]  # service prefixes it can match; "*" when any
    _exact: frozenset[str] = field(repr=False, compare=False)
    _regex: re.Pattern[str] | None = field(repr=False, compare=False)

    @classmethod
    def compile(cls, patterns: Iterable[str]) -> ActionMatcher:
        lowered = tuple(pattern.lower() for pattern in patterns)
        exact = frozenset(p for p in lowered if not has_wildcard(p))
        wild = [p for p in lowered if has_wildcard(p)]
        regex = None
        if wild:
            regex = re.compile(
                "|".join(f"(?:{_wildcard_regex_source([(p, False)])})" for p in wild), re.DOTALL
            )
        services: set[str] = set()
        for pattern in lowered:
            service, sep, _ = pattern.partition(":")
            services.add("*" if not sep or has_wildcard(service) else service)
        return cls(lowered, frozenset(services), exact, regex)

    def matches(self, action: str) -> bool:
        """``action`` must already be lower-cased."""
        if action in self._exact:
            return True
        return self._regex is not None and self._regex.fullmatch(action) is not None


@dataclass(frozen=True, slots=True)
class ResourceMatcher:
    """The Resource (or NotResource) list of a statement.

    Entries without variables are merged into one case-sensitive regex at parse time; entries with
    variables are rendered against the request context when matched.
    """

    entries: tuple[str, ...]
    templates: tuple[Template, ...] = field(repr=False, compare=False)
    _static: re.Pattern[str] | None = field(repr=False, compare=False)

    @classmethod
    def compile(cls, entries: Iterable[str], templates: Iterable[Template]) -> ResourceMatcher:
        entries = tuple(entries)
        templates = tuple(templates)
        dynamic = tuple(t for t in templates if t.has_variables)
        static_sources = [
            _wildcard_regex_source([("".join(p for p in t.parts if isinstance(p, str)), False)])
            for t in templates
            if not t.has_variables
        ]
        static = (
            re.compile("|".join(f"(?:{s})" for s in static_sources), re.DOTALL) if static_sources else None
        )
        return cls(entries, dynamic, static)

    def matches(self, resource: str, context: Context) -> bool:
        if self._static is not None and self._static.fullmatch(resource):
            return True
        for template in self.templates:
            pieces = template.render(context)
            if pieces is not None and compile_wildcard(pieces, True).fullmatch(resource):
                return True
        return False
