"""Hostile wildcard patterns cannot stall the engine (issue 10, item 3).

A pattern like ``*a*a*a...*b`` turned into a regex backtracks through every way of placing its
``a``s: exponential in the number of stars. Anyone who can write a policy or a tag could make a check
(and every check after it in a sweep) run past its timeout. The matcher in ``engine/patterns.py``
never backtracks; these tests time the pathological family (100 stars, 10,000-character subjects)
through the matcher itself and through the public engine paths (``decide_request`` for actions,
resources and every wildcard condition operator, ``requirement_status`` with a principal tag).

Each case runs under a 5 s deadline (``support.deadline``), so on a backtracking matcher it fails
with ``DeadlineExceeded`` instead of hanging, and asserts a generous 50 ms: the matcher takes well
under 1 ms for most of them (``bench/wildcards.py``), so a loaded 2-core CI machine still passes.

The semantics being timed:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from faults.report import record_row
from restorewatch.engine import (
    LayerKind,
    PolicySource,
    RequestDecision,
    RequirementStatus,
    decide_request,
    parse_policy,
    requirement_status,
)
from restorewatch.engine.patterns import compile_wildcard, wildcard_match
from support.deadline import deadline

from .conftest import allow, deny, doc, user_with

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")

BOUND_S = 0.050  # per call; measured well under 1 ms (bench/wildcards.py)
DEADLINE_S = 5.0  # a backtracking matcher needs years for these; fail instead of waiting
SIZE = 10_000

STARS_100 = "*a" * 99 + "*b"  # 100 stars, 99 single-letter segments, ends with b
A_ONLY = "a" * SIZE  # every a can be placed in astronomically many ways, and there is no b
A_THEN_B = "a" * (SIZE - 1) + "b"


def timed(what: str, call: Callable[[], T]) -> T:
    """Run ``call`` under the deadline and assert the bound."""
    with deadline(DEADLINE_S, what):
        started = time.perf_counter()
        result = call()
        elapsed = time.perf_counter() - started
    assert elapsed < BOUND_S, f"{what} took {elapsed * 1000:.1f} ms"
    return result


# (pattern, subject, matches): 100 stars each, 10,000-character subjects
FAMILY = {
    "*a x99 *b vs a..a": (STARS_100, A_ONLY, False),
    "*a x99 *b vs a..ab": (STARS_100, A_THEN_B, True),
    "*a x99 *b* vs a..a": ("*a" * 99 + "*b*", A_ONLY, False),
    "*a? x99 *b vs a..a": ("*a?" * 99 + "*b", A_ONLY, False),
    "*?a x99 *b? vs a..a": ("*?a" * 99 + "*b?", A_ONLY, False),
    "*a?b x99 * vs a..a": ("*a?b" * 99 + "*", A_ONLY, False),
    "*ab x99 *c vs abab..": ("*ab" * 99 + "*c", "ab" * (SIZE // 2), False),
    "*A x99 *B vs a..ab": ("*A" * 99 + "*B", A_THEN_B, None),  # None: only case-insensitively
    "a x50 then *a x99 vs a..a": ("a" * 50 + "*a" * 99 + "*", A_ONLY, True),
}


@pytest.mark.parametrize("case_sensitive", [True, False], ids=["case-sensitive", "case-insensitive"])
@pytest.mark.parametrize(("pattern", "subject", "expected"), FAMILY.values(), ids=FAMILY.keys())
def test_worst_case_family_matches_in_milliseconds(
    pattern: str, subject: str, expected: bool | None, case_sensitive: bool
) -> None:
    """The pathological family (compile included) answers correctly in milliseconds, both case modes.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    ("You can use wildcard characters (* and ?) within any ARN segment")
    """
    assert pattern.count("*") in (99, 100, 101)
    compile_wildcard.cache_clear()
    started = time.perf_counter()
    matched = timed(pattern[:12], lambda: wildcard_match(pattern, subject, case_sensitive=case_sensitive))
    elapsed = time.perf_counter() - started
    assert matched is (expected if expected is not None else not case_sensitive)
    record_row(
        "wildcards",
        {
            "pattern (100 stars) vs 10,000-character subject": f"`{pattern[:14]}...` vs `{subject[:6]}...`",
            "case": "sensitive" if case_sensitive else "insensitive",
            "compile + match": f"{elapsed * 1000:.2f} ms (bound {BOUND_S * 1000:.0f} ms)",
        },
    )


def _decision(
    document: dict[str, Any], action: str, resource: str, context: dict[str, Any]
) -> RequestDecision:
    alice = user_with(document)
    result = timed(f"decide_request {action[:20]}", lambda: decide_request(alice, action, resource, context))
    return result.decision


def test_worst_case_action_pattern_through_decide_request() -> None:
    """An action pattern with 100 stars, matched case-insensitively against a 10,000-character action.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    ("Prefixes and action names are case insensitive")
    """
    document = doc(allow("S3:" + STARS_100.upper()))
    assert _decision(document, "s3:" + A_ONLY, "*", {}) is RequestDecision.IMPLICIT_DENY
    assert _decision(document, "s3:" + A_THEN_B, "*", {}) is RequestDecision.ALLOWED


def test_worst_case_resource_pattern_through_decide_request() -> None:
    """A Resource with 100 stars against a 10,000-character ARN (case-sensitive).

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    """
    document = doc(allow("s3:GetObject", "arn:aws:s3:::" + STARS_100))
    assert _decision(document, "s3:GetObject", "arn:aws:s3:::" + A_ONLY, {}) is RequestDecision.IMPLICIT_DENY
    assert _decision(document, "s3:GetObject", "arn:aws:s3:::" + A_THEN_B, {}) is RequestDecision.ALLOWED


ARN = "arn:aws:s3:::"
# operator, key, policy value, request value, is the condition true?
CONDITIONS = {
    "StringLike": ("aws:ResourceTag/team", STARS_100, A_ONLY, False),
    "StringLike (matching)": ("aws:ResourceTag/team", STARS_100, A_THEN_B, True),
    "StringNotLike": ("aws:ResourceTag/team", STARS_100, A_ONLY, True),
    "StringLikeIfExists": ("aws:ResourceTag/team", STARS_100, A_ONLY, False),
    "StringNotLikeIfExists": ("aws:ResourceTag/team", STARS_100, A_ONLY, True),
    "ForAnyValue:StringLike": ("aws:TagKeys", STARS_100, [A_ONLY, "a" * 5000], False),
    "ForAllValues:StringLike": ("aws:TagKeys", STARS_100, [A_THEN_B, A_ONLY], False),
    "ForAllValues:StringNotLike": ("aws:TagKeys", STARS_100, [A_ONLY, "a" * 5000], True),
    "ArnLike": ("aws:SourceArn", ARN + STARS_100, ARN + A_ONLY, False),
    "ArnLike (matching)": ("aws:SourceArn", ARN + STARS_100, ARN + A_THEN_B, True),
    "ArnNotLike": ("aws:SourceArn", ARN + STARS_100, ARN + A_ONLY, True),
    "ArnLikeIfExists": ("aws:SourceArn", ARN + STARS_100, ARN + A_ONLY, False),
    "ArnNotLikeIfExists": ("aws:SourceArn", ARN + STARS_100, ARN + A_ONLY, True),
    "ForAnyValue:ArnLike": ("aws:SourceArn", "*:" * 5 + STARS_100, [ARN + A_ONLY], False),
}


@pytest.mark.parametrize(("label", "case"), CONDITIONS.items(), ids=CONDITIONS.keys())
def test_worst_case_condition_operators_through_decide_request(
    label: str, case: tuple[str, str, Any, bool]
) -> None:
    """Every wildcard condition operator and its IfExists / set-qualified forms, 10,000-character values.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
    """
    key, value, request, holds = case
    operator = label.split(" ", maxsplit=1)[0]
    document = doc(allow("ec2:RunInstances", condition={operator: {key: value}}))
    expected = RequestDecision.ALLOWED if holds else RequestDecision.IMPLICIT_DENY
    assert _decision(document, "ec2:RunInstances", "*", {key: request}) is expected


@pytest.mark.parametrize("tag", ["a" * 256, A_ONLY], ids=["256-character tag (IAM's maximum)", "10,000"])
def test_worst_case_principal_tag_through_requirement_status(tag: str) -> None:
    """``requirement_status`` evaluates a principal-derived ``StringLike`` against the principal's tag.

    The Deny's pattern does not match the tag, so the Deny never applies and the action is allowed.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    """
    document = doc(
        allow("ec2:RunInstances"),
        deny("*", condition={"StringLike": {"aws:PrincipalTag/team": STARS_100}}),
    )
    alice = user_with(document, tags={"team": tag})
    result = timed("requirement_status", lambda: requirement_status(alice, "ec2:RunInstances"))
    assert result.status is RequirementStatus.ALLOWED
    decided = timed("decide_request", lambda: decide_request(alice, "ec2:RunInstances"))
    assert decided.decision is RequestDecision.ALLOWED


# The issue's report: a 60-character tag and a 178-character StringLike pattern hang a sweep.
# Read literally ("*a" x 88 + "*b"), the pattern needs 89 letters: Python's re rejects the
# 60-character tag on length before it backtracks, and hangs on an 89-character tag it does match.
# With the letters fitting in the 60 characters (59 letters, stars doubled) the 60-character tag
# itself hangs it. Both patterns run here, against both tags.
ISSUE_TAG = "a" * 60
ISSUE_PATTERNS = {
    "as written (*a x88 *b)": "*a" * 88 + "*b",
    "letters fit the tag (**a x58 ***b)": "**a" * 58 + "***b",
}


@pytest.mark.parametrize("pattern", ISSUE_PATTERNS.values(), ids=ISSUE_PATTERNS.keys())
def test_worst_case_issue_60_character_tag_178_character_pattern(pattern: str) -> None:
    """The reported case: ``requirement_status`` and ``decide_request`` answer in milliseconds.

    Before the fix, both ran past the 5 s deadline (the whole sweep hung): the first on the 89-character
    tag it matches, the second on the 60-character tag.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
    """
    assert len(pattern) == 178
    assert len(ISSUE_TAG) == 60
    document = doc(
        allow("ec2:RunInstances"),
        deny("*", condition={"StringLike": {"aws:PrincipalTag/team": pattern}}),
    )
    steady = user_with(document, tags={"team": ISSUE_TAG})
    result = timed("requirement_status", lambda: requirement_status(steady, "ec2:RunInstances"))
    assert result.status is RequirementStatus.ALLOWED
    decided = timed("decide_request", lambda: decide_request(steady, "ec2:RunInstances"))
    assert decided.decision is RequestDecision.ALLOWED
    # a tag the pattern does match (89 characters): the Deny applies; the matcher is fast, not blind
    blocked = user_with(document, tags={"team": "a" * 88 + "b"})
    result = timed("requirement_status", lambda: requirement_status(blocked, "ec2:RunInstances"))
    assert result.status is RequirementStatus.DENIED


def test_worst_case_policy_variable_parsing_is_linear() -> None:
    """A value full of ``${`` (10,000 characters) parses in milliseconds.

    Before the fix, the variable regex rescanned the rest of the value from every ``${``: 2 s for
    10,000 characters, longer than every other step of a check put together.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
    """
    resource = "arn:aws:s3:::" + "${" * 5000
    document = doc(allow("s3:GetObject", resource))
    policy = timed("parse_policy", lambda: parse_policy(document, PolicySource(LayerKind.IDENTITY, "p")))
    assert policy.statements[0].resources.matches(resource, {})
