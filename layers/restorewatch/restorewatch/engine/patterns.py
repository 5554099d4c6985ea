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
        escaped = re.escape(text)
        # re.escape turns * and ? into \* and \?; only non-literal pieces keep them as wildcards
        out.append(escaped if literal else escaped.replace(r"\*", ".*").replace(r"\?", "."))
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
    """The Action (or NotAction) list of a statement, lower-cased.

    Most wildcard actions are prefixes (``ec2:Describe*``, ``s3:*``) and are matched with
    ``startswith``; the rest share one regex, compiled only when first needed, because most
    statements of a large account are never asked about the few services a profile needs.
    """

    patterns: tuple[str, ...]
    services: frozenset[str]  # service prefixes it can match; "*" when any
    _exact: frozenset[str] = field(repr=False, compare=False)
    _prefixes: tuple[str, ...] = field(repr=False, compare=False)
    _others: tuple[str, ...] = field(repr=False, compare=False)
    _regex: list[re.Pattern[str]] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def compile(cls, patterns: Iterable[str]) -> ActionMatcher:
        lowered = tuple(pattern.lower() for pattern in patterns)
        exact = frozenset(p for p in lowered if not has_wildcard(p))
        prefixes = tuple(p[:-1] for p in lowered if p.endswith("*") and not has_wildcard(p[:-1]))
        others = tuple(
            p for p in lowered if has_wildcard(p) and not (p.endswith("*") and not has_wildcard(p[:-1]))
        )
        services: set[str] = set()
        for pattern in lowered:
            service, sep, _ = pattern.partition(":")
            services.add("*" if not sep or has_wildcard(service) else service)
        return cls(lowered, frozenset(services), exact, prefixes, others)

    def matches(self, action: str) -> bool:
        """``action`` must already be lower-cased."""
        if action in self._exact or (self._prefixes and action.startswith(self._prefixes)):
            return True
        if not self._others:
            return False
        if not self._regex:
            source = "|".join(f"(?:{_wildcard_regex_source([(p, False)])})" for p in self._others)
            self._regex.append(re.compile(source, re.DOTALL))
        return self._regex[0].fullmatch(action) is not None


@dataclass(frozen=True, slots=True)
class ResourceMatcher:
    """The Resource (or NotResource) list of a statement.

    Entries without variables share one case-sensitive regex, compiled on first use (requirement
    checks never match resources); entries with variables are rendered against the request context.
    """

    entries: tuple[str, ...]
    templates: tuple[Template, ...] = field(repr=False, compare=False)
    _static: tuple[str, ...] = field(repr=False, compare=False)
    _regex: list[re.Pattern[str] | None] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def compile(cls, entries: Iterable[str], templates: Iterable[Template]) -> ResourceMatcher:
        entries = tuple(entries)
        templates = tuple(templates)
        dynamic = tuple(t for t in templates if t.has_variables)
        static = tuple(
            "".join(p for p in t.parts if isinstance(p, str)) for t in templates if not t.has_variables
        )
        return cls(entries, dynamic, static)

    def _static_regex(self) -> re.Pattern[str] | None:
        if not self._regex:
            sources = [_wildcard_regex_source([(entry, False)]) for entry in self._static]
            self._regex.append(
                re.compile("|".join(f"(?:{s})" for s in sources), re.DOTALL) if sources else None
            )
        return self._regex[0]

    def matches(self, resource: str, context: Context) -> bool:
        if "*" in self._static:
            return True
        static = self._static_regex()
        if static is not None and static.fullmatch(resource):
            return True
        for template in self.templates:
            pieces = template.render(context)
            if pieces is not None and compile_wildcard(pieces, True).fullmatch(resource):
                return True
        return False
