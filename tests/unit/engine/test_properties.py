"""Property-based tests: wildcard matching and evaluation invariants.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from restorewatch.engine import (
    LayerKind,
    PolicySource,
    Principal,
    PrincipalKind,
    RequestDecision,
    RequirementStatus,
    decide_request,
    parse_policy,
    parse_scps,
    requirement_status,
)
from restorewatch.engine.patterns import ActionMatcher, wildcard_match

from .conftest import ACCOUNT, V2008, allow, doc

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.slow  # hypothesis properties: tens of seconds

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---- pattern matching ----

TEXT = st.text(alphabet="abcXYZ019/:-_.*?", min_size=1, max_size=24)
LETTERS = st.text(alphabet="abcdefgHIJKLM", min_size=1, max_size=12)


@st.composite
def wildcarded(draw: st.DrawFn, text: str) -> str:
    """``text`` with random characters replaced by ``?`` and random runs by ``*``."""
    out: list[str] = []
    position = 0
    while position < len(text):
        choice = draw(st.sampled_from(["keep", "keep", "question", "star"]))
        if choice == "keep":
            out.append(text[position])
            position += 1
        elif choice == "question":
            out.append("?")
            position += 1
        else:
            run = draw(st.integers(min_value=0, max_value=len(text) - position))
            out.append("*")
            position += run
    return "".join(out)


@SETTINGS
@given(data=st.data(), text=TEXT)
def test_properties_wildcarded_pattern_matches_its_string(data: st.DataObject, text: str):
    """A pattern made from a string by replacing characters with ``?`` and runs with ``*`` matches it.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    ("You can use wildcard characters (* and ?) within any ARN segment")
    """
    pattern = data.draw(wildcarded(text))
    assert wildcard_match(pattern, text, case_sensitive=True)
    assert wildcard_match(pattern, text, case_sensitive=False)


@SETTINGS
@given(data=st.data(), text=TEXT)
def test_properties_wildcarded_resource_matches_in_policy(data: st.DataObject, text: str):
    """The same holds for a statement's ``Resource`` as the engine compiles it.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    """
    resource = "arn:aws:s3:::" + text
    pattern = data.draw(wildcarded(resource))
    policy = parse_policy(
        doc(allow("s3:GetObject", pattern), version=V2008), PolicySource(LayerKind.IDENTITY, "p")
    )
    assert policy.statements[0].resources.matches(resource, {})


@SETTINGS
@given(data=st.data(), service=LETTERS, name=LETTERS)
def test_properties_actions_match_case_insensitively(data: st.DataObject, service: str, name: str):
    """Action patterns match whatever the case of pattern and action.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    ("Prefixes and action names are case insensitive")
    """
    action = f"{service}:{name}"
    pattern = data.draw(wildcarded(action))
    if ":" not in pattern:  # the grammar requires service:action or "*"
        pattern = "*"
    cases: list[Callable[[str], str]] = [str.upper, str.lower, str.swapcase, str]
    pattern_case = data.draw(st.sampled_from(cases))
    action_case = data.draw(st.sampled_from(cases))
    policy = parse_policy(doc(allow(pattern_case(pattern))), PolicySource(LayerKind.IDENTITY, "p"))
    assert policy.statements[0].covers(action_case(action).lower())
    assert ActionMatcher.compile([pattern_case(pattern)]).matches(action_case(action).lower())


@SETTINGS
@given(data=st.data(), text=st.text(alphabet="abcXYZ019/:-", min_size=1, max_size=24))
def test_properties_resources_case_differs_no_match(data: st.DataObject, text: str):
    """A resource pattern does not match an ARN whose literal letters differ in case.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    (ARNs are case-sensitive)
    """
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    if not letters:
        text += "a"
        letters = [len(text) - 1]
    flip = data.draw(st.sampled_from(letters))
    flipped = text[:flip] + text[flip].swapcase() + text[flip + 1 :]
    questions = data.draw(st.sets(st.sampled_from(range(len(text)))))
    pattern = "".join("?" if i in questions and i != flip else c for i, c in enumerate(text))
    resource_pattern, resource = "arn:aws:s3:::" + pattern, "arn:aws:s3:::" + flipped
    assert not wildcard_match(resource_pattern, resource, case_sensitive=True)
    policy = parse_policy(doc(allow("s3:GetObject", resource_pattern)), PolicySource(LayerKind.IDENTITY, "p"))
    assert not policy.statements[0].resources.matches(resource, {})
    assert policy.statements[0].resources.matches("arn:aws:s3:::" + text, {})


# ---- evaluation invariants ----

ACTIONS = ["ec2:RunInstances", "ec2:DescribeInstances", "iam:CreateRole", "iam:GetRole", "s3:GetObject"]
ACTION_PATTERNS = [*ACTIONS, "*", "ec2:*", "iam:Get*", "s3:?etObject", "EC2:describe*", "iam:*"]
RESOURCES = [
    "*",
    "arn:aws:s3:::b/k",
    "arn:aws:ec2:us-east-1:111122223333:instance/i-1",
    "arn:aws:s3:::alice/x",
]
RESOURCE_PATTERNS = ["*", "*", "arn:aws:s3:::b/*", "arn:aws:ec2:*", "arn:aws:s3:::${aws:username}/*"]
CONDITIONS: list[dict[str, Any]] = [
    {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
    {"Bool": {"aws:SecureTransport": "true"}},
    {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
    {"StringEquals": {"aws:PrincipalTag/team": "ops"}},
    {"StringNotEquals": {"aws:PrincipalTag/team": "ops"}},
    {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    {"ForAnyValue:StringEquals": {"aws:TagKeys": ["Env"]}},
    {"Null": {"aws:TokenIssueTime": "true"}},
]
CONTEXTS: list[dict[str, Any]] = [
    {},
    {"aws:RequestedRegion": "eu-west-1", "aws:SecureTransport": "true"},
    {"aws:SourceIp": "10.1.2.3", "aws:TagKeys": ["Env"], "aws:MultiFactorAuthPresent": "false"},
    {"aws:RequestedRegion": "us-east-1", "aws:TokenIssueTime": "2024-01-01T00:00:00Z"},
]
ADDED_CONDITIONS = [
    ("StringEquals", "aws:ResourceTag/added", "x"),
    ("StringEquals", "aws:PrincipalTag/added", "y"),
    ("NumericLessThan", "s3:max-keys", "5"),
    ("BoolIfExists", "aws:ViaAWSService", "false"),
]


def _one_or_list(values: list[str]) -> st.SearchStrategy[str | list[str]]:
    return st.one_of(st.sampled_from(values), st.lists(st.sampled_from(values), min_size=1, max_size=3))


@st.composite
def statements(draw: st.DrawFn, effect: str | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": effect or draw(st.sampled_from(["Allow", "Deny"]))}
    if draw(st.booleans()) and draw(st.booleans()):
        statement["NotAction"] = draw(_one_or_list(ACTION_PATTERNS))
    else:
        statement["Action"] = draw(_one_or_list(ACTION_PATTERNS))
    if draw(st.integers(0, 5)) == 0:
        statement["NotResource"] = draw(_one_or_list(RESOURCE_PATTERNS[2:]))
    else:
        statement["Resource"] = draw(_one_or_list(RESOURCE_PATTERNS))
    if draw(st.booleans()):
        block: dict[str, Any] = {}
        for condition in draw(st.lists(st.sampled_from(CONDITIONS), min_size=1, max_size=2)):
            for operator, keys in condition.items():
                block.setdefault(operator, {}).update(keys)
        statement["Condition"] = block
    if draw(st.booleans()):
        statement["Sid"] = draw(st.sampled_from(["A", "B", "C"]))
    return statement


def documents(effect: str | None = None, min_size: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    return st.lists(statements(effect), min_size=min_size, max_size=4).map(
        lambda stmts: {"Version": "2012-10-17", "Statement": stmts}
    )


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "identity": draw(st.lists(documents(), min_size=1, max_size=3)),
        "boundary": draw(st.none() | documents()),
        "scps": draw(
            st.none() | st.lists(st.lists(documents(), min_size=1, max_size=2), min_size=1, max_size=2)
        ),
        "kind": draw(st.sampled_from([PrincipalKind.USER, PrincipalKind.ROLE])),
        "tags": draw(st.sampled_from([{}, {"team": "ops"}, {"team": "dev", "added": "y"}])),
    }


def _build(scenario: dict[str, Any]) -> tuple[Principal, Any]:
    kind = scenario["kind"]
    name = "alice" if kind is PrincipalKind.USER else "restore"
    arn = f"arn:aws:iam::{ACCOUNT}:{'user' if kind is PrincipalKind.USER else 'role'}/{name}"
    identity = tuple(
        parse_policy(document, PolicySource(LayerKind.IDENTITY, f"p{index}"))
        for index, document in enumerate(scenario["identity"])
    )
    boundary = None
    if scenario["boundary"] is not None:
        boundary = parse_policy(
            scenario["boundary"], PolicySource(LayerKind.BOUNDARY, "B", f"arn:aws:iam::{ACCOUNT}:policy/B")
        )
    principal = Principal(arn, name, kind, ACCOUNT, "AIDAEXAMPLE", scenario["tags"], identity, boundary)
    return principal, parse_scps(scenario["scps"])


_RANK = {RequirementStatus.DENIED: 0, RequirementStatus.PARTIAL: 1, RequirementStatus.ALLOWED: 2}


def _answers(scenario: dict[str, Any]) -> tuple[list[RequestDecision], list[RequirementStatus]]:
    principal, scps = _build(scenario)
    decisions = [
        decide_request(principal, action, resource, context, scps).decision
        for action in ACTIONS
        for resource in RESOURCES
        for context in CONTEXTS
    ]
    statuses = [requirement_status(principal, action, scps).status for action in ACTIONS]
    return decisions, statuses


def _documents_of(scenario: dict[str, Any]) -> list[dict[str, Any]]:
    docs = list(scenario["identity"])
    if scenario["boundary"] is not None:
        docs.append(scenario["boundary"])
    for level in scenario["scps"] or ():
        docs.extend(level)
    return docs


def _monotone(before, after, direction: int) -> None:
    """direction -1: answers may only get worse; +1: only better."""
    decisions_before, statuses_before = before
    decisions_after, statuses_after = after
    for old, new in zip(decisions_before, decisions_after, strict=True):
        if direction < 0 and old is not RequestDecision.ALLOWED:
            assert new is not RequestDecision.ALLOWED
        if direction > 0 and old is RequestDecision.ALLOWED:
            assert new is RequestDecision.ALLOWED
    for old, new in zip(statuses_before, statuses_after, strict=True):
        if direction < 0:
            assert _RANK[new] <= _RANK[old]
        else:
            assert _RANK[new] >= _RANK[old]


@SETTINGS
@given(scenario=scenarios(), data=st.data())
def test_properties_adding_deny_never_allows(scenario: dict[str, Any], data: st.DataObject):
    """Adding a Deny statement anywhere never turns a non-allowed decision or status into allowed.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    ("An explicit deny in any policy overrides any allows")
    """
    before = _answers(scenario)
    changed = copy.deepcopy(scenario)
    target = data.draw(st.sampled_from(_documents_of(changed)))
    target["Statement"].append(data.draw(statements("Deny")))
    _monotone(before, _answers(changed), -1)


@SETTINGS
@given(scenario=scenarios(), data=st.data())
def test_properties_statement_and_policy_order_irrelevant(scenario: dict[str, Any], data: st.DataObject):
    """Shuffling statements within policies and policies within layers never changes an answer.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    (evaluation considers all applicable policies; order is not part of the logic)
    """
    before = _answers(scenario)
    shuffled = copy.deepcopy(scenario)
    for document in _documents_of(shuffled):
        document["Statement"] = data.draw(st.permutations(document["Statement"]))
    shuffled["identity"] = data.draw(st.permutations(shuffled["identity"]))
    if shuffled["scps"] is not None:
        shuffled["scps"] = [data.draw(st.permutations(level)) for level in shuffled["scps"]]
    assert _answers(shuffled) == before


@SETTINGS
@given(scenario=scenarios(), data=st.data())
def test_properties_adding_condition_to_allow_never_allows(scenario: dict[str, Any], data: st.DataObject):
    """Adding a condition to an Allow never turns a partial/denied status (or a denied request) into allowed.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
    (a Condition only narrows when a statement applies)
    """
    changed = copy.deepcopy(scenario)
    allows = [s for d in _documents_of(changed) for s in d["Statement"] if s["Effect"] == "Allow"]
    if not allows:
        target_doc = data.draw(st.sampled_from(_documents_of(changed)))
        target_doc["Statement"].append(data.draw(statements("Allow")))
        scenario = copy.deepcopy(changed)
        allows = [s for d in _documents_of(changed) for s in d["Statement"] if s["Effect"] == "Allow"]
    before = _answers(scenario)
    target = data.draw(st.sampled_from(allows))
    operator, key, value = data.draw(st.sampled_from(ADDED_CONDITIONS))
    target.setdefault("Condition", {}).setdefault(operator, {})[key] = value
    _monotone(before, _answers(changed), -1)


@SETTINGS
@given(scenario=scenarios(), data=st.data())
def test_properties_adding_allow_never_denies(scenario: dict[str, Any], data: st.DataObject):
    """Adding an Allow statement never turns an allowed decision or status into a denial.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    """
    before = _answers(scenario)
    changed = copy.deepcopy(scenario)
    target = data.draw(st.sampled_from(_documents_of(changed)))
    target["Statement"].append(data.draw(statements("Allow")))
    _monotone(before, _answers(changed), +1)
