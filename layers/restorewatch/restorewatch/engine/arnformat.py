"""Can a policy's Resource pattern name a resource of an ARN format? Two-sided wildcard matching.

Both sides are patterns. A policy entry has ``*`` (any run of characters) and ``?`` (one character);
policy variables stay wildcards here (evaluation spec, "The action catalog"). A catalog ARN format
has placeholders: ``${Partition}``, ``${Region}`` and ``${Account}`` stand for any text without
``:``, every other placeholder (and a ``*`` the format itself contains) for any text. The entry
can name a resource of the format when some string matches both
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html,
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).

One-sided questions (does an entry match the string ``*``, is a key one of the catalog's templated
keys) go to the engine's linear-time matcher, ``patterns.compile_wildcard``. The two-sided question
is answered by a search over pairs of positions, one in each pattern (the product of their
automata), never from backtracking: the work is at most proportional to
len(entry) x len(format), times the states of the reserved patterns when a service rule removes
some resources (``reserved``: a string must also match none of them). Answers are cached per
(entry, format). A pair too large to search (far beyond any real policy) counts as "can name":
coarse, never unsound.
"""

from __future__ import annotations

import re
from collections import deque
from functools import lru_cache
from typing import TYPE_CHECKING

from restorewatch.engine.conditions import is_principal_key
from restorewatch.engine.patterns import compile_wildcard
from restorewatch.engine.variables import Variable, parse_template, resolve

if TYPE_CHECKING:
    from collections.abc import Mapping

    from restorewatch.engine.patterns import WildcardPattern
    from restorewatch.engine.variables import RenderedPiece

__all__ = [
    "MAX_PRODUCT",
    "MAX_SUBSETS",
    "bound_entry_tokens",
    "can_name",
    "covers",
    "entry_service",
    "format_service",
    "intersects",
    "key_matches",
    "matches_star",
    "pattern_tokens",
]

# token kinds
_LIT, _ONE, _STAR, _SEGMENT = 0, 1, 2, 3
Token = tuple[int, str]
Tokens = tuple[Token, ...]

_SEGMENT_PLACEHOLDERS = frozenset({"partition", "region", "account"})
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_KEY_TEMPLATE = re.compile(r"\$\{[^}]*\}|<[^>]*>")
# a character that no pattern names: stands for "any other character" in the search
_OTHER = "\x00"
# pairs beyond this many position pairs are not searched (a real ARN pattern is far shorter)
MAX_PRODUCT = 1_000_000
# ``covers`` gives up (answers "does not cover") after this many states
MAX_SUBSETS = 50_000


def _add(tokens: list[Token], token: Token) -> None:
    # runs of "*" are one "*"; a "*" next to a segment placeholder swallows it
    if token[0] == _STAR and tokens and tokens[-1][0] in (_STAR, _SEGMENT):
        tokens[-1] = token
        return
    if token[0] == _SEGMENT and tokens and tokens[-1][0] == _STAR:
        return
    tokens.append(token)


def _literal_tokens(tokens: list[Token], text: str) -> None:
    """Pattern text: ``*`` and ``?`` are wildcards, everything else itself."""
    for char in text:
        if char == "*":
            _add(tokens, (_STAR, ""))
        elif char == "?":
            _add(tokens, (_ONE, ""))
        else:
            _add(tokens, (_LIT, char))


@lru_cache(maxsize=65536)
def entry_tokens(entry: str, substitute: bool) -> Tokens:
    """A policy Resource entry: ``*``/``?`` wildcards, policy variables as ``*`` (their value is
    the request's), ``${*}``/``${?}``/``${$}`` the literal characters."""
    tokens: list[Token] = []
    for part in parse_template(entry, substitute=substitute).parts:
        if isinstance(part, Variable):
            if part.key in ("*", "?", "$"):
                _add(tokens, (_LIT, part.key))
            else:
                _add(tokens, (_STAR, ""))
        else:
            _literal_tokens(tokens, part)
    return tuple(tokens)


@lru_cache(maxsize=8192)
def format_tokens(arn_format: str) -> Tokens:
    """A catalog ARN format (or a service rule's reserved pattern, written the same way)."""
    tokens: list[Token] = []
    position = 0
    for match in _PLACEHOLDER.finditer(arn_format):
        _literal_tokens(tokens, arn_format[position : match.start()])
        name = match.group(1).strip().lower()
        _add(tokens, (_SEGMENT, "") if name in _SEGMENT_PLACEHOLDERS else (_STAR, ""))
        position = match.end()
    _literal_tokens(tokens, arn_format[position:])
    return tuple(tokens)


def _consumes(token: Token, char: str) -> bool:
    kind = token[0]
    if kind == _LIT:
        return token[1] == char
    if kind == _SEGMENT:
        return char != ":"
    return True


def _after(tokens: Tokens, position: int, char: str) -> int | None:
    """The position after ``tokens[position]`` consumed ``char`` (a star stays), or None."""
    if position >= len(tokens) or not _consumes(tokens[position], char):
        return None
    return position if tokens[position][0] in (_STAR, _SEGMENT) else position + 1


def _closure(patterns: tuple[Tokens, ...], states: set[tuple[int, int]]) -> frozenset[tuple[int, int]]:
    """``states`` plus every position reachable by letting stars match nothing."""
    todo = list(states)
    seen = set(states)
    while todo:
        index, position = todo.pop()
        tokens = patterns[index]
        if position < len(tokens) and tokens[position][0] in (_STAR, _SEGMENT):
            following = (index, position + 1)
            if following not in seen:
                seen.add(following)
                todo.append(following)
    return frozenset(seen)


def _candidates(a: Token, b: Token, reserved_chars: frozenset[str]) -> tuple[str, ...]:
    """Characters worth trying where ``a`` and ``b`` both consume one: a literal decides it;
    between two wildcards, any character the reserved patterns treat alike is as good as another."""
    if a[0] == _LIT:
        return (a[1],)
    if b[0] == _LIT:
        return (b[1],)
    return (_OTHER, *reserved_chars) if reserved_chars else (_OTHER,)


def _plain_intersects(a: Tokens, b: Tokens) -> bool:
    """``intersects`` without reserved patterns: every move goes forward, so a depth-first walk over
    the (i, j) grid visits each pair at most once. A character both sides' stars absorb can be
    left out of the common string, so only these moves are needed: a star matches nothing (one
    side advances), a star absorbs the other side's single character (the other side advances),
    or two single-character tokens take the same character (both advance)."""
    n, m = len(a), len(b)
    width = m + 1
    seen = bytearray((n + 1) * width)
    stack = [0]
    seen[0] = 1
    while stack:
        state = stack.pop()
        i, j = divmod(state, width)
        if i == n and j == m:
            return True
        moves: list[int] = []
        a_star = i < n and a[i][0] in (_STAR, _SEGMENT)
        b_star = j < m and b[j][0] in (_STAR, _SEGMENT)
        if a_star:
            moves.append(state + width)  # (i + 1, j)
        if b_star:
            moves.append(state + 1)  # (i, j + 1)
        if i < n and j < m:
            if not a_star and not b_star:
                if _share_char(a[i], b[j]):
                    moves.append(state + width + 1)
            elif a_star and not b_star:
                if _absorbs(a[i], b[j]):
                    moves.append(state + 1)
            elif b_star and not a_star and _absorbs(b[j], a[i]):
                moves.append(state + width)
        for move in moves:
            if not seen[move]:
                seen[move] = 1
                stack.append(move)
    return False


def _share_char(x: Token, y: Token) -> bool:
    """Two single-character tokens (literal or ``?``) can take the same character."""
    return x[0] == _ONE or y[0] == _ONE or x[1] == y[1]


def _absorbs(star: Token, single: Token) -> bool:
    """A star (or segment placeholder) can take the character of a single-character token."""
    if star[0] == _STAR:
        return True
    return single[0] == _ONE or single[1] != ":"


def intersects(a: Tokens, b: Tokens, reserved: tuple[Tokens, ...] = ()) -> bool:
    """Is there a string that matches ``a`` and ``b`` and none of ``reserved``?"""
    n, m = len(a), len(b)
    if (n + 1) * (m + 1) > MAX_PRODUCT:
        return True
    if not reserved:
        return _plain_intersects(a, b)
    # with reserved patterns, the set of their positions reached so far is part of the state
    reserved_chars = frozenset(
        {":"} | {token[1] for tokens in reserved for token in tokens if token[0] == _LIT}
    )
    start = (0, 0, _closure(reserved, {(index, 0) for index in range(len(reserved))}))
    seen = {start}
    queue = deque([start])
    while queue:
        i, j, held = queue.popleft()
        if i == n and j == m and not any(position == len(reserved[index]) for index, position in held):
            return True
        following: list[tuple[int, int, frozenset[tuple[int, int]]]] = []
        # a star (or segment placeholder) may match nothing
        if i < n and a[i][0] in (_STAR, _SEGMENT):
            following.append((i + 1, j, held))
        if j < m and b[j][0] in (_STAR, _SEGMENT):
            following.append((i, j + 1, held))
        if i < n and j < m:
            for char in _candidates(a[i], b[j], reserved_chars):
                next_i, next_j = _after(a, i, char), _after(b, j, char)
                if next_i is None or next_j is None:
                    continue
                moved: set[tuple[int, int]] = set()
                for index, position in held:
                    after = _after(reserved[index], position, char)
                    if after is not None:
                        moved.add((index, after))
                following.append((next_i, next_j, _closure(reserved, moved)))
        for state in following:
            if state not in seen:
                seen.add(state)
                queue.append(state)
    return False


def _service_of(tokens: Tokens) -> str | None:
    """The service field (the third ``:``-separated field) when every string of the pattern has
    that same one: the fields before it hold only literals or a segment placeholder (never ``*`` or
    ``?``, which could take a ``:``), and the field itself only literals."""
    field: list[str] = []
    colons = 0
    for kind, char in tokens:
        if kind == _LIT and char == ":":
            colons += 1
            if colons == 3:
                return "".join(field)
            field = []
        elif kind == _LIT or (kind == _SEGMENT and colons < 2):
            field.append(char)
        else:
            return None
    return None


@lru_cache(maxsize=65536)
def entry_service(entry: str, substitute: bool) -> str | None:
    """The service every ARN the entry matches names, when the entry spells it literally."""
    return _service_of(entry_tokens(entry, substitute))


@lru_cache(maxsize=8192)
def format_service(arn_format: str) -> str | None:
    """The service of an ARN format (``ec2`` for ``arn:${Partition}:ec2:...``), if it is literal."""
    return _service_of(format_tokens(arn_format))


@lru_cache(maxsize=262144)
def can_name(entry: str, substitute: bool, arn_format: str, reserved: tuple[str, ...] = ()) -> bool:
    """Can the policy entry name a resource of ``arn_format`` that no ``reserved`` pattern names?"""
    if entry == "*" and not reserved:
        return True
    # the common answer, decided without a search: the ARN of another service
    service, other = entry_service(entry, substitute), format_service(arn_format)
    if service is not None and other is not None and service != other:
        return False
    return intersects(
        entry_tokens(entry, substitute),
        format_tokens(arn_format),
        tuple(format_tokens(pattern) for pattern in reserved),
    )


@lru_cache(maxsize=65536)
def matches_star(entry: str, substitute: bool) -> bool:
    """Does the entry match the string ``*``, the resource of every wildcard-only request?

    One-sided: the engine's linear-time matcher (``patterns.compile_wildcard``) decides it, with a
    policy variable as a ``*`` and ``${*}``/``${?}``/``${$}`` as their literal characters."""
    pieces: list[RenderedPiece] = []
    for part in parse_template(entry, substitute=substitute).parts:
        if isinstance(part, Variable):
            pieces.append((part.key, True) if part.key in ("*", "?", "$") else ("*", False))
        else:
            pieces.append((part, False))
    return compile_wildcard(tuple(pieces), True).matches("*")


@lru_cache(maxsize=8192)
def _key_pattern(catalog_key: str) -> WildcardPattern:
    pieces: list[RenderedPiece] = []
    position = 0
    for match in _KEY_TEMPLATE.finditer(catalog_key):
        pieces += [(catalog_key[position : match.start()], True), ("*", False)]
        position = match.end()
    pieces.append((catalog_key[position:], True))
    return compile_wildcard(tuple(pieces), False)


def key_matches(key_lower: str, catalog_key: str) -> bool:
    """Is the policy's condition key the catalog key, a templated part of which (``${TagKey}``,
    ``<key>``) stands for any text? Key names compare case-insensitively; the engine's linear-time
    matcher (``patterns.compile_wildcard``) decides, the key's own characters all literal."""
    return _key_pattern(catalog_key).matches(key_lower)


# ---- bound patterns: one pattern covering another --------------------------------------------------
# A profile can bind an action to a resource pattern (``arn:aws:s3:::backups/*``). A statement then
# counts as unconditional only if its Resource covers every ARN the pattern can name, and a Deny
# matters if it can match some of them (evaluation spec, "Bound requirements").


@lru_cache(maxsize=8192)
def pattern_tokens(pattern: str) -> Tokens:
    """A bound pattern: ``*`` and ``?`` are wildcards, every other character itself."""
    tokens: list[Token] = []
    _literal_tokens(tokens, pattern)
    return tuple(tokens)


def bound_entry_tokens(
    entry: str,
    substitute: bool,
    derived: Mapping[str, str | list[str]],
    undecided: frozenset[str] = frozenset(),
) -> tuple[Tokens, bool] | None:
    """A policy Resource entry with the principal's own variables put in, as literal text.

    A principal-derived key (``aws:username``, ``aws:PrincipalTag/team``; not one in ``undecided``)
    is the principal's value, or its default when the principal has none; without either the entry
    matches nothing (None), as AWS documents for a variable without a value. Any other variable is
    the request's, so it stays a wildcard and the entry is marked unresolved (``False``): it may
    match, but it cannot be said to cover.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
    """
    if "${" not in entry or not substitute:
        return entry_tokens(entry, substitute), True
    tokens: list[Token] = []
    resolved = True
    for part in parse_template(entry, substitute=substitute).parts:
        if not isinstance(part, Variable):
            _literal_tokens(tokens, part)
            continue
        if part.key in ("*", "?", "$"):
            _add(tokens, (_LIT, part.key))
            continue
        if is_principal_key(part.key) and part.key not in undecided:
            value = resolve(part, derived)
            if value is None:
                return None
            for char in value:  # the value is literal: a "*" in a tag matches only itself
                _add(tokens, (_LIT, char))
            continue
        _add(tokens, (_STAR, ""))
        resolved = False
    return tuple(tokens), resolved


def _single_closure(tokens: Tokens, positions: set[int]) -> frozenset[int]:
    todo = list(positions)
    seen = set(positions)
    while todo:
        position = todo.pop()
        if position < len(tokens) and tokens[position][0] in (_STAR, _SEGMENT):
            following = position + 1
            if following not in seen:
                seen.add(following)
                todo.append(following)
    return frozenset(seen)


def _step(tokens: Tokens, held: frozenset[int], char: str) -> frozenset[int]:
    moved = {after for position in held if (after := _after(tokens, position, char)) is not None}
    return _single_closure(tokens, moved)


def covers(outer: Tokens, inner: Tokens) -> bool:
    """Does every string that matches ``inner`` match ``outer``?

    A search over the pairs (position in ``inner``, set of positions ``outer`` can be in after the
    same text), reading ``inner`` symbol by symbol: a literal is read as itself, a ``?`` or ``*``
    as each character that ``outer`` tells apart (its literals, ``:``, and one character standing
    for all others), a ``*`` also as nothing. ``inner`` is not covered as soon as ``outer`` can be
    in no position (the text read so far continues into a string of ``inner`` that ``outer``
    refuses) or when ``inner`` is read whole and ``outer`` is not at its end. No backtracking: each
    state is visited once; past ``MAX_SUBSETS`` states the answer is "does not cover", which makes
    a statement count as partial: coarse, never unsound.
    """
    if len(outer) == 1 and outer[0][0] == _STAR:
        return True
    alphabet = frozenset({":", _OTHER} | {char for kind, char in outer if kind == _LIT})
    start = (0, _single_closure(outer, {0}))
    seen = {start}
    todo = [start]
    end = len(outer)
    while todo:
        position, held = todo.pop()
        if not held:
            return False
        if position == len(inner):
            if end not in held:
                return False
            continue
        kind, char = inner[position]
        following: list[tuple[int, frozenset[int]]] = []
        if kind == _LIT:
            following.append((position + 1, _step(outer, held, char)))
        else:
            chars = alphabet - {":"} if kind == _SEGMENT else alphabet
            stay = kind in (_STAR, _SEGMENT)
            if stay:
                following.append((position + 1, held))
            following.extend((position if stay else position + 1, _step(outer, held, c)) for c in chars)
        for state in following:
            if state not in seen:
                if len(seen) >= MAX_SUBSETS:
                    return False
                seen.add(state)
                todo.append(state)
    return True
