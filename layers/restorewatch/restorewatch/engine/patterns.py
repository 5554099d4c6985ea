"""Wildcard matching: the one matcher behind every ``*``/``?`` comparison of the engine.

Used for actions (case-insensitive), resource ARNs (case-sensitive) and the ``StringLike``,
``StringNotLike``, ``ArnLike`` and ``ArnNotLike`` condition operators (with their ``IfExists`` and
set-qualified forms, which ``conditions.py`` applies around it).
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html

Semantics: ``*`` matches any run of characters, the empty one and ``/`` and ``:`` included; ``?``
exactly one character; every other character itself. Text that came from a policy variable is
literal throughout (``RenderedPiece`` with ``literal=True``): a ``*`` in a user name is not a
wildcard. Case-insensitive matching compares characters by ``fold_case``.

Algorithm (no regular expressions, no backtracking): the pattern is cut at its wildcard ``*`` into
star-free segments, each a fixed-length run of literal characters and ``?``. A subject matches when
it starts with the first segment, ends with the last, and every segment in between occurs, in order
and without overlap, in the stretch left between those two. Placing each middle segment at its
leftmost occurrence is enough: a later placement only leaves less room for the segments after it,
so if any placement works the leftmost one does.

Cost, for a subject of n characters and a pattern of m characters whose longest star-free segment
has k characters: compiling is O(m) (once per pattern, cached); matching is O(n * k). Each middle
segment is searched from where the previous one ended, so the searches cover disjoint stretches of
the subject and each position is tried as a segment's start at most once; trying one costs O(k)
(``str.find`` of the segment's longest literal run, then one comparison of its literal positions).
So matching is never worse than O(n * m), and it is O(n) for the ``*a*a*a...*b`` family (k = 1)
that takes a backtracking regex exponential time. A subject shorter than the pattern's fixed
characters is rejected in O(1). ``bench/wildcards.py`` measures both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from typing import TYPE_CHECKING

from restorewatch.engine.variables import parse_template

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from restorewatch.engine.variables import Context, RenderedPiece, Template


def fold_case(text: str) -> str:
    """Lower-case ``text`` one character at a time, keeping its length.

    ``str.lower`` turns a few characters into two (``"İ".lower()`` is ``"i̇"``), which would change
    what ``?`` counts; such a character is kept as it is. Two characters are equal under this fold
    exactly when their ``str.lower`` forms are equal. AWS action names are ASCII, where this is
    ``str.lower``.
    """
    if text.isascii():
        return text.lower()
    return "".join(_fold_char(char) for char in text)


def _fold_char(char: str) -> str:
    lowered = char.lower()
    return lowered if len(lowered) == 1 else char


@dataclass(frozen=True, slots=True)
class _Segment:
    """A star-free run of the pattern: a fixed number of characters, each literal or ``?``."""

    length: int
    anchor: str  # the longest run of literal characters, found with str.find ("" when all ``?``)
    anchor_offset: int
    exact: bool  # no ``?``: the anchor is the whole segment
    # with ``?``: picks the literal positions out of a window of ``length`` characters (None when
    # there is none), and what it must pick there
    pick: Callable[[str], object] | None = field(compare=False)
    expected: object = field(compare=False)

    @classmethod
    def of(cls, units: list[str | None]) -> _Segment:
        """``units``: one entry per character, ``None`` for ``?``."""
        text = "".join(unit if unit is not None else "?" for unit in units)
        literal = [index for index, unit in enumerate(units) if unit is not None]
        if len(literal) == len(units):
            return cls(len(units), text, 0, True, None, None)
        anchor, anchor_offset, start = "", 0, 0
        while start < len(units):  # the longest run of literal characters
            end = start
            while end < len(units) and units[end] is not None:
                end += 1
            if end - start > len(anchor):
                anchor, anchor_offset = text[start:end], start
            start = end + 1
        pick = itemgetter(*literal) if literal else None
        return cls(len(units), anchor, anchor_offset, False, pick, pick(text) if pick else None)

    def at(self, subject: str, position: int) -> bool:
        """Does the segment match at ``position``? The caller makes sure it fits in ``subject``."""
        if self.exact:
            return subject.startswith(self.anchor, position)
        return self.pick is None or self.pick(subject[position : position + self.length]) == self.expected

    def find(self, subject: str, start: int, end: int) -> int:
        """The leftmost position in ``subject[start:end]`` where the whole segment fits and matches."""
        last = end - self.length  # the last position where the segment still fits before ``end``
        if last < start:
            return -1
        if self.exact:
            return subject.find(self.anchor, start, end)
        if self.pick is None:  # only ``?``: any position with room will do
            return start
        anchor, offset = self.anchor, self.anchor_offset
        while start <= last:  # each candidate is tried once, left to right
            found = subject.find(anchor, start + offset, last + offset + len(anchor))
            if found < 0:
                return -1
            position = found - offset
            if self.pick(subject[position : position + self.length]) == self.expected:
                return position
            start = position + 1
        return -1


@dataclass(frozen=True, slots=True)
class WildcardPattern:
    """A compiled pattern; build it with ``compile_wildcard`` (cached) or ``wildcard_match``."""

    head: _Segment  # before the first ``*`` (the whole pattern when it has none)
    middle: tuple[_Segment, ...]  # between stars; empty segments (``**``) dropped
    tail: _Segment | None  # after the last ``*``; None when the pattern has no ``*``
    fixed: int  # characters any matching subject has at least
    case_sensitive: bool
    # no ``?`` at all: every segment is its own text (the common case; matched with str methods only)
    plain: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        segments = (self.head, *self.middle, *(() if self.tail is None else (self.tail,)))
        object.__setattr__(self, "plain", all(segment.exact for segment in segments))

    def matches(self, subject: str) -> bool:
        if not self.case_sensitive:
            subject = fold_case(subject)
        size = len(subject)
        head, tail = self.head, self.tail
        if tail is None:
            return size == head.length and head.at(subject, 0)
        if size < self.fixed:
            return False
        end = size - tail.length
        position = head.length
        if self.plain:
            if not (subject.startswith(head.anchor) and subject.endswith(tail.anchor)):
                return False
            for segment in self.middle:
                found = subject.find(segment.anchor, position, end)
                if found < 0:
                    return False
                position = found + segment.length
            return True
        if not (head.at(subject, 0) and tail.at(subject, end)):
            return False
        for segment in self.middle:
            found = segment.find(subject, position, end)
            if found < 0:
                return False
            position = found + segment.length
        return True


@lru_cache(maxsize=65536)
def compile_wildcard(pieces: tuple[RenderedPiece, ...], case_sensitive: bool) -> WildcardPattern:
    """Compile rendered pieces (``Template.render``): ``*``/``?`` are wildcards outside literal ones."""
    segments: list[_Segment] = []
    current: list[str | None] = []  # the segment being read: a character, or None for ``?``
    for text, literal in pieces:
        folded = text if case_sensitive else fold_case(text)
        if literal:
            current.extend(folded)
            continue
        for char in folded:
            if char == "*":
                segments.append(_Segment.of(current))
                current = []
            else:
                current.append(None if char == "?" else char)
    segments.append(_Segment.of(current))
    if len(segments) == 1:
        return WildcardPattern(segments[0], (), None, segments[0].length, case_sensitive)
    middle = tuple(segment for segment in segments[1:-1] if segment.length)
    fixed = sum(segment.length for segment in segments)
    return WildcardPattern(segments[0], middle, segments[-1], fixed, case_sensitive)


def wildcard_match(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    """Match one plain wildcard pattern (no variables)."""
    return compile_wildcard(((pattern, False),), case_sensitive).matches(value)


def has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


@dataclass(frozen=True, slots=True)
class WildcardSet:
    """Patterns ORed together, with the fast paths a large account's checks need.

    Patterns without wildcards go in a set, ``prefix*`` patterns are matched with one
    ``str.startswith``; the rest are compiled only when first needed, since most statements of a
    large account are never asked about the few services a profile needs. A case-insensitive set
    holds folded patterns, and the subject must be folded by the caller (``fold_case``).
    """

    exact: frozenset[str] = field(repr=False, compare=False)
    prefixes: tuple[str, ...] = field(repr=False, compare=False)
    others: tuple[str, ...] = field(repr=False, compare=False)
    case_sensitive: bool = field(repr=False, compare=False)
    _compiled: list[tuple[WildcardPattern, ...]] = field(default_factory=list, repr=False, compare=False)

    @staticmethod
    def split(texts: tuple[str, ...]) -> tuple[frozenset[str], tuple[str, ...], tuple[str, ...]]:
        """(exact patterns, prefixes of ``prefix*`` patterns, the others)."""
        exact: list[str] = []
        prefixes: list[str] = []
        others: list[str] = []
        for text in texts:
            if "*" not in text and "?" not in text:
                exact.append(text)
            elif text[-1] == "*" and not has_wildcard(text[:-1]):
                prefixes.append(text[:-1])
            else:
                others.append(text)
        return frozenset(exact), tuple(prefixes), tuple(others)

    @classmethod
    def of(cls, patterns: Iterable[str], *, case_sensitive: bool) -> WildcardSet:
        texts = tuple(patterns if case_sensitive else map(fold_case, patterns))
        return cls(*cls.split(texts), case_sensitive)

    def matches(self, subject: str) -> bool:
        if subject in self.exact or (self.prefixes and subject.startswith(self.prefixes)):
            return True
        if not self.others:
            return False
        return any(pattern.matches(subject) for pattern in self._patterns())

    def matching(self, subjects: Iterable[str]) -> list[str]:
        """The subjects that ``matches``, in their order (one call for many)."""
        exact, prefixes = self.exact, self.prefixes or None  # startswith(()) is False anyway
        if not self.others:
            if prefixes is None:
                return [subject for subject in subjects if subject in exact]
            return [subject for subject in subjects if subject in exact or subject.startswith(prefixes)]
        return [subject for subject in subjects if self.matches(subject)]

    def _patterns(self) -> tuple[WildcardPattern, ...]:
        if not self._compiled:
            # compared as they are: both sides are already folded when the set is case-insensitive
            self._compiled.append(tuple(compile_wildcard(((text, False),), True) for text in self.others))
        return self._compiled[0]


def action_services(patterns: Iterable[str]) -> frozenset[str]:
    """The lower-cased service prefixes an Action list can match; "*" when it can match any."""
    services: set[str] = set()
    for pattern in patterns:
        service, sep, _ = pattern.partition(":")
        services.add("*" if not sep or has_wildcard(service) else fold_case(service))
    return frozenset(services)


@dataclass(frozen=True, slots=True)
class ActionMatcher:
    """The Action (or NotAction) list of a statement: a case-insensitive ``WildcardSet``.

    ``matches`` takes an action already folded (``fold_case``; ``str.lower`` for ASCII). The set is
    built on the first match: a large account's policies hold thousands of statements about
    services no profile asks about, and those only need ``services`` (the policy's index).
    """

    written: tuple[str, ...]  # as the policy writes them
    services: frozenset[str]  # service prefixes it can match; "*" when any
    _set: list[WildcardSet] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def compile(cls, patterns: Iterable[str], services: frozenset[str] | None = None) -> ActionMatcher:
        """``services``: ``action_services(patterns)`` when the caller already has it."""
        written = tuple(patterns)
        return cls(written, action_services(written) if services is None else services)

    @property
    def patterns(self) -> tuple[str, ...]:
        """The patterns folded (as they are matched)."""
        return tuple(fold_case(pattern) for pattern in self.written)

    def matches(self, action: str) -> bool:
        return self._wildcards().matches(action)

    def matching(self, actions: Iterable[str]) -> list[str]:
        """The (folded) actions that ``matches``, in their order."""
        return self._wildcards().matching(actions)

    def _wildcards(self) -> WildcardSet:
        compiled = self._set
        if not compiled:
            # a race only builds an equal set twice; the first one appended is the one used
            compiled.append(WildcardSet.of(self.written, case_sensitive=False))
        return compiled[0]


@dataclass(frozen=True, slots=True)
class ResourceMatcher:
    """The Resource (or NotResource) list of a statement, matched case-sensitively.

    Compiled on first use (requirement checks never match resources, so most statements of a large
    account never need it): entries without variables form one ``WildcardSet``; entries with
    variables (``substitute``: the document's Version substitutes them) are rendered against the
    request context (their substituted values literal) one by one.
    """

    entries: tuple[str, ...]
    substitute: bool = True
    # (the static entries' set, or None when one of them is "*"; the templates with variables)
    _compiled: list[tuple[WildcardSet | None, tuple[Template, ...]]] = field(
        default_factory=list, repr=False, compare=False
    )

    @classmethod
    def compile(cls, entries: Iterable[str], *, substitute: bool) -> ResourceMatcher:
        return cls(tuple(entries), substitute)

    def _parts(self) -> tuple[WildcardSet | None, tuple[Template, ...]]:
        if not self._compiled:
            templates = [parse_template(entry, substitute=self.substitute) for entry in self.entries]
            static = tuple(
                "".join(p for p in t.parts if isinstance(p, str)) for t in templates if not t.has_variables
            )
            matcher = None if "*" in static else WildcardSet.of(static, case_sensitive=True)
            self._compiled.append((matcher, tuple(t for t in templates if t.has_variables)))
        return self._compiled[0]

    def matches(self, resource: str, context: Context) -> bool:
        static, templates = self._parts()
        if static is None or static.matches(resource):
            return True
        for template in templates:
            pieces = template.render(context)
            if pieces is not None and compile_wildcard(pieces, True).matches(resource):
                return True
        return False
