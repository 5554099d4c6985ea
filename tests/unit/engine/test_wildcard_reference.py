"""The wildcard matcher against an obviously correct reference, on random patterns and subjects.

The reference (``reference_match``) is the textbook dynamic programme over (pattern position, subject
position): slow, but each rule is one line. Random patterns and subjects use a small alphabet with
``*``, ``?``, ``:``, ``/``, letters in both cases and two characters whose lower case is unusual
(``İ`` lower-cases to two characters, the Kelvin sign ``K`` to ``k``), so that the search meets
repeated letters, overlapping segments and every case rule often.

The rules being pinned:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
  (actions: ``*`` and ``?`` wildcards, "Prefixes and action names are case insensitive")
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
  (resources: ``*`` and ``?`` within any ARN segment, ARNs are case-sensitive)
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
  (``StringLike``/``StringNotLike``: case-sensitive, ``*`` and ``?``; ``ArnLike``/``ArnNotLike``: each
  of the six colon-delimited parts checked separately, with ``*`` and ``?``)
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
  (a substituted value is text; ``${*}``, ``${?}``, ``${$}`` are the literal characters)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from restorewatch.engine import RequestDecision, decide_request, normalize_context
from restorewatch.engine.conditions import parse_condition_block
from restorewatch.engine.patterns import (
    ActionMatcher,
    ResourceMatcher,
    compile_wildcard,
    fold_case,
    wildcard_match,
)

from .conftest import allow, doc, user_with

if TYPE_CHECKING:
    from restorewatch.engine.variables import RenderedPiece

pytestmark = pytest.mark.slow  # the matcher against a reference over every short string: seconds per test

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SUBJECT_ALPHABET = "aAbB:/İKk*?"
PATTERN_ALPHABET = "aAbB:/İKk*?**??"  # wildcards drawn more often
SUBJECTS = st.text(alphabet=SUBJECT_ALPHABET, max_size=14)
PATTERNS = st.text(alphabet=PATTERN_ALPHABET, max_size=10)
PIECES = st.lists(st.tuples(PATTERNS, st.booleans()), max_size=4).map(tuple)


def reference_match(pieces: tuple[RenderedPiece, ...], subject: str, *, case_sensitive: bool) -> bool:
    """``matched[i][j]``: pattern tokens ``i:`` match ``subject[j:]``. Literal pieces have no wildcards."""
    tokens = [
        char if not literal and char in "*?" else ("=", char) for text, literal in pieces for char in text
    ]

    def same(a: str, b: str) -> bool:
        return a == b if case_sensitive else a.lower() == b.lower()

    size = len(subject)
    matched = [[False] * (size + 1) for _ in range(len(tokens) + 1)]
    matched[len(tokens)][size] = True
    for i in reversed(range(len(tokens))):
        token = tokens[i]
        for j in reversed(range(size + 1)):
            if token == "*":
                matched[i][j] = matched[i + 1][j] or (j < size and matched[i][j + 1])
            elif token == "?":
                matched[i][j] = j < size and matched[i + 1][j + 1]
            else:
                matched[i][j] = j < size and same(token[1], subject[j]) and matched[i + 1][j + 1]
    return matched[0][0]


@st.composite
def pattern_of(draw: st.DrawFn, subject: str) -> str:
    """A pattern made from ``subject`` (``?`` for a character, ``*`` for a run, case flips): it
    matches more often than a random one, so both answers are exercised."""
    out: list[str] = []
    position = 0
    while position < len(subject):
        choice = draw(st.sampled_from(["keep", "keep", "flip", "question", "star", "extra"]))
        char = subject[position]
        if choice in ("keep", "flip"):
            out.append(char.swapcase() if choice == "flip" and len(char.swapcase()) == 1 else char)
            position += 1
        elif choice == "question":
            out.append("?")
            position += 1
        elif choice == "star":
            out.append("*")
            position += draw(st.integers(0, len(subject) - position))
        else:
            out.append(draw(st.sampled_from(PATTERN_ALPHABET)))
    return "".join(out)


ANY_PATTERN = st.one_of(PATTERNS, SUBJECTS.flatmap(pattern_of))


@SETTINGS
@given(pattern=ANY_PATTERN, subject=SUBJECTS, case_sensitive=st.booleans())
def test_wildcard_reference_plain_patterns(pattern: str, subject: str, case_sensitive: bool) -> None:
    """One plain pattern, both case modes: the matcher answers as the reference does.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    """
    expected = reference_match(((pattern, False),), subject, case_sensitive=case_sensitive)
    assert wildcard_match(pattern, subject, case_sensitive=case_sensitive) is expected


@SETTINGS
@given(data=st.data(), subject=SUBJECTS, case_sensitive=st.booleans())
def test_wildcard_reference_patterns_made_from_the_subject(
    data: st.DataObject, subject: str, case_sensitive: bool
) -> None:
    """Patterns derived from the subject (mostly matching ones), both case modes.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    """
    pattern = data.draw(pattern_of(subject))
    expected = reference_match(((pattern, False),), subject, case_sensitive=case_sensitive)
    assert wildcard_match(pattern, subject, case_sensitive=case_sensitive) is expected


@SETTINGS
@given(pieces=PIECES, subject=SUBJECTS, case_sensitive=st.booleans())
def test_wildcard_reference_literal_pieces(
    pieces: tuple[RenderedPiece, ...], subject: str, case_sensitive: bool
) -> None:
    """Pieces rendered from policy variables are literal: their ``*`` and ``?`` match only themselves.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
    """
    expected = reference_match(pieces, subject, case_sensitive=case_sensitive)
    assert compile_wildcard(pieces, case_sensitive).matches(subject) is expected


@SETTINGS
@given(patterns=st.lists(ANY_PATTERN, min_size=1, max_size=4), action=SUBJECTS)
def test_wildcard_reference_action_lists(patterns: list[str], action: str) -> None:
    """A statement's Action list (exact, prefix and general patterns) matches case-insensitively.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    ("Prefixes and action names are case insensitive")
    """
    expected = any(reference_match(((p, False),), action, case_sensitive=False) for p in patterns)
    assert ActionMatcher.compile(patterns).matches(fold_case(action)) is expected


@SETTINGS
@given(patterns=st.lists(ANY_PATTERN, min_size=1, max_size=4), resource=SUBJECTS)
def test_wildcard_reference_resource_lists(patterns: list[str], resource: str) -> None:
    """A statement's Resource list matches case-sensitively (documents without variables).

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    """
    expected = any(reference_match(((p, False),), resource, case_sensitive=True) for p in patterns)
    assert ResourceMatcher.compile(patterns, substitute=False).matches(resource, {}) is expected


VALUES = st.text(alphabet="aAb*?:", max_size=5)


@SETTINGS
@given(before=PATTERNS, after=PATTERNS, name=VALUES, resource=SUBJECTS)
def test_wildcard_reference_resource_with_variable(before: str, after: str, name: str, resource: str) -> None:
    """``${aws:username}`` in a Resource: the pattern around it has wildcards, the user name none.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
    """
    entry = f"{before}${{aws:username}}{after}"
    pieces = ((before, False), (name, True), (after, False))
    expected = reference_match(pieces, resource, case_sensitive=True)
    matcher = ResourceMatcher.compile([entry], substitute=True)
    assert matcher.matches(resource, {"aws:username": name}) is expected


ARN_PARTS = st.lists(st.text(alphabet="aAb*?/", max_size=4), min_size=6, max_size=6)


@SETTINGS
@given(policy_parts=ARN_PARTS, request_parts=ARN_PARTS, tag=VALUES, negated=st.booleans())
def test_wildcard_reference_arn_like_part_by_part(
    policy_parts: list[str], request_parts: list[str], tag: str, negated: bool
) -> None:
    """``ArnLike``/``ArnNotLike``: each of the six parts is its own pattern; a variable's value is literal.

    The last policy part ends with ``${aws:PrincipalTag/t}``; the principal's tag ``t`` holds ``*`` and
    ``?`` often, which must match only themselves.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
    """
    policy = ":".join(policy_parts) + "${aws:PrincipalTag/t}"
    request = ":".join(request_parts)
    operator = "ArnNotLike" if negated else "ArnLike"
    pieces = [((part, False),) for part in policy_parts[:5]] + [((policy_parts[5], False), (tag, True))]
    like = all(
        reference_match(part, value, case_sensitive=True)
        for part, value in zip(pieces, request_parts, strict=True)
    )
    (entry,) = parse_condition_block({operator: {"aws:SourceArn": policy}}, substitute_variables=True)
    context = normalize_context({"aws:SourceArn": request, "aws:PrincipalTag/t": tag})
    assert entry.evaluate(context) is (like != negated)


@SETTINGS
@given(
    pattern=ANY_PATTERN,
    value=SUBJECTS,
    negated=st.booleans(),
    qualifier=st.sampled_from(["", "ForAnyValue:"]),
)
def test_wildcard_reference_string_like_operators(
    pattern: str, value: str, negated: bool, qualifier: str
) -> None:
    """``StringLike``/``StringNotLike`` (and ``ForAnyValue:``) are case-sensitive wildcard matches.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
    """
    operator = f"{qualifier}{'StringNotLike' if negated else 'StringLike'}"
    (entry,) = parse_condition_block({operator: {"s3:prefix": pattern}}, substitute_variables=True)
    like = reference_match(((pattern, False),), value, case_sensitive=True)
    assert entry.evaluate(normalize_context({"s3:prefix": value})) is (like != negated)


def test_wildcard_reference_arn_like_variable_star_is_literal() -> None:
    """A ``*`` that a variable puts into an ``ArnLike`` value is a literal character, not a wildcard.

    The tag ``bucket`` = ``*`` makes the policy value ``arn:aws:s3:::*`` as text; AWS matches the
    substituted value as text, so only the ARN ``arn:aws:s3:::*`` matches, not every bucket.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
    """
    condition = {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::${aws:PrincipalTag/bucket}"}}
    alice = user_with(doc(allow("s3:GetObject", condition=condition)), tags={"bucket": "*"})

    def decision(source: str) -> Any:
        return decide_request(alice, "s3:GetObject", "*", {"aws:SourceArn": source}).decision

    assert decision("arn:aws:s3:::*") is RequestDecision.ALLOWED
    assert decision("arn:aws:s3:::any-bucket") is RequestDecision.IMPLICIT_DENY


def test_wildcard_reference_case_fold_keeps_length() -> None:
    """Case-insensitive ``?`` still counts one character when lower-casing would make two.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    """
    assert fold_case("EC2:RunInstances") == "ec2:runinstances"
    assert len(fold_case("İK")) == 2
    assert wildcard_match("a?b", "aİb", case_sensitive=False)
    assert wildcard_match("K", "k", case_sensitive=False)  # Kelvin sign lower-cases to k
    assert not wildcard_match("i", "İ", case_sensitive=False)
