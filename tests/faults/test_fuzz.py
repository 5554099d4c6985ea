"""Bad input never crashes RestoreWatch: fuzzed policies, events, SQS bodies, profiles, tag values.

The promise: a clear ``InputError`` (the CLI: exit 2 and one line naming what is wrong) or an
``UNKNOWN`` with the reason, and the rest of a batch still processed. Every property counts the
examples it ran (``record_fuzz``); the run's summary prints the total (at least 10,000).

Example counts are weighted by cost so that the 10,000 fit CI's budget: the pure properties (parsers,
engine, tag values) get most of them; the CLI (a file and a full ``main`` per example) fewer; the real
handler on moto (~0.3 s per example) 40, enough to cover the batch contract the parser properties
already pin in depth. ``FUZZ_SCALE`` multiplies every count.

Docs (policy grammar, condition operators, tag characters, SQS partial batch responses):
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html#id_tags_rules_creating https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from restorewatch.compliance import ComplianceStatus, check_principal
from restorewatch.engine import AccountSnapshot
from restorewatch.errors import EventError, InputError
from restorewatch.profiles import ProfileRegistry, load_profile_file, profile_names_from_tag
from restorewatch.watch.events import parse_lambda_event
from restorewatch_cli.app import EXIT_BAD_INPUT, main

from .report import record_fuzz
from .stack import PROFILE, PROFILE_DIR, ROLE, TAG_KEY, event, sqs_records
from .strategies import (
    DEEP,
    EVENTS,
    POISON_EVENTS,
    POISON_SQS_BODIES,
    POLICY_DOCUMENTS,
    SQS_BODIES,
    TAG_VALUES,
    TEXT,
    fuzz_settings,
)

if TYPE_CHECKING:
    from .conftest import World

pytestmark = pytest.mark.slow  # 10,000 fuzzed examples, the handler on moto among them

ARN = "arn:aws:iam::111122223333:role/fuzzed"
REGISTRY = ProfileRegistry.default((str(PROFILE_DIR),))


def _page(document: Any, tag: str = PROFILE) -> dict[str, Any]:
    return {
        "UserDetailList": [],
        "GroupDetailList": [],
        "Policies": [],
        "RoleDetailList": [
            {
                "RoleName": "fuzzed",
                "RoleId": "AROAFUZZ",
                "Arn": ARN,
                "Path": "/",
                "Tags": [{"Key": TAG_KEY, "Value": tag}],
                "RolePolicyList": [{"PolicyName": "fuzzed", "PolicyDocument": document}],
                "AttachedManagedPolicies": [],
            }
        ],
    }


@given(document=POLICY_DOCUMENTS)
@fuzz_settings(4500)
def test_fuzz_policy_documents_parse_or_fail_with_input_error(document: Any) -> None:
    """Any document: evaluated, or ``InputError`` naming the policy; the check never crashes."""
    record_fuzz("policy documents (engine)", 1)
    snapshot = AccountSnapshot.from_pages([_page(document)])
    try:
        principal = snapshot.principal(ARN)
    except InputError as error:
        assert "fuzzed" in str(error)  # noqa: PT017 (either outcome is allowed)
        return
    check = check_principal(principal, REGISTRY.get(PROFILE))
    assert check.status in set(ComplianceStatus)


def _run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse's own usage errors
            code = int(exit_.code or 0)
    return code, out.getvalue(), err.getvalue()


@given(document=POLICY_DOCUMENTS, tag=TAG_VALUES, raw=st.one_of(st.none(), TEXT))
@fuzz_settings(600)
def test_fuzz_cli_check_exits_0_1_or_2_with_one_clear_line(document: Any, tag: str, raw: str | None) -> None:
    """``restorewatch check`` on a fuzzed account file (or a file that is not JSON at all)."""
    record_fuzz("CLI check (policies, tags, files)", 1)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "auth.json")
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(raw if raw is not None else json.dumps(_page(document, tag)))
        code, out, err = _run_cli(
            ["check", "--auth-details", path, "--format", "json", "--profile-path", str(PROFILE_DIR)]
        )
    assert code in (0, 1, EXIT_BAD_INPUT), (code, err)
    if code == EXIT_BAD_INPUT:
        assert err.startswith("restorewatch: error: "), err
        assert err.count("\n") == 1, err
        assert out == ""
    else:
        assert err == ""
        json.loads(out)


@given(event=st.one_of(EVENTS, st.lists(EVENTS, max_size=3).map(lambda es: {"Records": es})))
@fuzz_settings(2500)
def test_fuzz_events_parse_or_raise_event_error(event: Any) -> None:
    record_fuzz("Lambda events (parser)", 1)
    try:
        invocation = parse_lambda_event(event)
    except EventError as error:
        assert str(error)  # noqa: PT017 (either outcome is allowed)
        return
    for record in invocation.records:
        assert (record.change, record.sweep, record.error).count(None) == 2


@given(bodies=st.lists(SQS_BODIES, min_size=1, max_size=6), broken=st.lists(DEEP, max_size=2))
@fuzz_settings(1000)
def test_fuzz_sqs_batches_fail_only_the_bad_records(bodies: list[str], broken: list[Any]) -> None:
    """Each malformed body or record is an error of its own; the batch still parses."""
    record_fuzz("SQS batches (parser)", 1)
    messages = [
        {"MessageId": str(uuid.uuid4()), "ReceiptHandle": "r", "Body": body, "MD5OfBody": "0"}
        for body in bodies
    ]
    batch = sqs_records(messages, "arn:aws:sqs:us-east-1:111122223333:q")
    # records whose envelope itself is wrong (but that keep a messageId to be reported by)
    batch["Records"] += [
        {"messageId": str(uuid.uuid4()), "eventSource": "aws:sqs", "body": junk} for junk in broken
    ]
    invocation = parse_lambda_event(batch)
    assert len(invocation.records) == len(batch["Records"])
    assert [r.message_id for r in invocation.records] == [r["messageId"] for r in batch["Records"]]


@given(value=TAG_VALUES)
@fuzz_settings(1400)
def test_fuzz_tag_values_name_profiles_or_fail_clearly(value: str) -> None:
    record_fuzz("watch tag values", 1)
    try:
        names = profile_names_from_tag(value)
    except InputError as error:
        assert str(error)  # noqa: PT017 (either outcome is allowed)
        return
    for name in names:
        assert name
        assert not any(c.isspace() for c in name)


PROFILE_FILES = st.one_of(
    st.fixed_dictionaries(
        {
            "name": st.one_of(TEXT, st.integers()),
            "actions": st.one_of(st.lists(st.one_of(TEXT, st.integers()), max_size=5), TEXT),
        },
        optional={"description": st.one_of(TEXT, st.none())},
    ).map(json.dumps),
    DEEP.map(json.dumps),
    TEXT,
)


@given(content=PROFILE_FILES, suffix=st.sampled_from([".json", ".yaml"]))
@fuzz_settings(400)
def test_fuzz_profile_files_load_or_fail_with_input_error(content: str, suffix: str) -> None:
    record_fuzz("profile files", 1)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, f"profile{suffix}")
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(content)
        try:
            profiles = load_profile_file(path)
        except InputError as error:
            assert "profile" in str(error).lower() or path in str(error)  # noqa: PT017 (either outcome is allowed)
            return
    for profile in profiles:
        assert profile.actions


@pytest.fixture
def swept_world(world: World) -> World:
    world.stack.invoke_sweep()  # the state now knows the watched principals
    assert world.stack.alerts() == []
    return world


@given(bodies=st.lists(SQS_BODIES, min_size=1, max_size=4), where=st.integers(0, 4))
@settings(
    fuzz_settings(40),
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
def test_fuzz_handler_batch_fails_only_the_bad_records_and_processes_the_rest(
    swept_world: World, bodies: list[str], where: int
) -> None:
    """The real handler on moto: a batch of fuzzed bodies around one well-formed event (a no-op
    change to the watched role). Only malformed records are reported failed; the good one is read
    and checked (IAM calls made), and nothing is alerted."""
    from .stack import invoke

    world = swept_world
    record_fuzz("handler SQS batches (moto)", 1)
    where = min(where, len(bodies))
    good = json.dumps(event("iam-PutRolePolicy", roleName=ROLE, policyName="notes"))
    bodies = [*bodies[:where], good, *bodies[where:]]
    messages = [
        {"MessageId": f"m{i}", "ReceiptHandle": "r", "Body": b, "MD5OfBody": "0"}
        for i, b in enumerate(bodies)
    ]
    batch = sqs_records(messages, "arn:aws:sqs:us-east-1:111122223333:q")
    parsed = parse_lambda_event(batch)
    bad = {r.message_id for r in parsed.records if r.error is not None}
    world.injector.calls.clear()
    response = invoke(batch)
    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    assert bad <= failed
    assert f"m{where}" not in failed
    assert world.injector.calls["iam.GetRole"] >= 1
    assert [a for a in world.stack.alerts() if a["principal"]["arn"].endswith(f"role/{ROLE}")] == []


# --- poison records: huge integers and deep nesting (issue 10, item 4) ----------------------------------


@given(
    poison=st.lists(POISON_SQS_BODIES, min_size=1, max_size=3),
    others=st.lists(SQS_BODIES, max_size=2),
    where=st.integers(0, 5),
)
@fuzz_settings(300)
def test_fuzz_poison_bodies_fail_their_record_only(poison: list[str], others: list[str], where: int) -> None:
    """5,000-digit integers (``ValueError``) and nesting up to 100,000 deep (``RecursionError``)
    anywhere in a body: the batch still parses, each poison body is an error of its own (never an
    exception out of the parser), and the well-formed event among them is a change."""
    record_fuzz("SQS batches with poison bodies (parser)", 1)
    bodies = [*poison, *others]
    where = min(where, len(bodies))
    good = json.dumps(event("iam-PutRolePolicy", roleName=ROLE, policyName="notes"))
    bodies = [*bodies[:where], good, *bodies[where:]]
    messages = [
        {"MessageId": f"m{i}", "ReceiptHandle": "r", "Body": body, "MD5OfBody": "0"}
        for i, body in enumerate(bodies)
    ]
    invocation = parse_lambda_event(sqs_records(messages, "arn:aws:sqs:us-east-1:111122223333:q"))
    assert [r.message_id for r in invocation.records] == [f"m{i}" for i in range(len(bodies))]
    assert invocation.records[where].change is not None
    for record in invocation.records:
        assert (record.change, record.sweep, record.error).count(None) == 2
    # a huge integer anywhere, or nesting past the recursion limit, can never parse
    unparseable = [
        i for i, body in enumerate(bodies) if body in poison and ("9" * 4301 in body or "[" * 5000 in body)
    ]
    assert all(invocation.records[i].error is not None for i in unparseable)


@given(event=POISON_EVENTS)
@fuzz_settings(200)
def test_fuzz_poison_direct_events_parse_or_raise_event_error(event: Any) -> None:
    """A direct invocation holding a huge integer or a deep structure: parsed, or one ``EventError``
    naming the event, never another exception."""
    record_fuzz("Lambda events with huge integers and deep nesting (parser)", 1)
    try:
        invocation = parse_lambda_event(event)
    except EventError as error:
        assert str(error).startswith("event")  # noqa: PT017 (either outcome is allowed)
        return
    assert len(invocation.records) == 1


@given(poison=st.lists(POISON_SQS_BODIES, min_size=1, max_size=3), where=st.integers(0, 3))
@settings(
    fuzz_settings(10),
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
def test_fuzz_handler_reports_exactly_the_poison_records(
    swept_world: World, poison: list[str], where: int
) -> None:
    """The real handler on moto: poison bodies around one well-formed event. Every record that cannot
    be parsed is reported failed (to reach the DLQ after maxReceiveCount), the good one is read and
    not reported. (A body nested only 900 deep may parse as a change: it is then processed.)"""
    from .stack import invoke

    world = swept_world
    record_fuzz("handler SQS batches with poison bodies (moto)", 1)
    where = min(where, len(poison))
    good = json.dumps(event("iam-PutRolePolicy", roleName=ROLE, policyName="notes"))
    bodies = [*poison[:where], good, *poison[where:]]
    messages = [
        {"MessageId": f"m{i}", "ReceiptHandle": "r", "Body": b, "MD5OfBody": "0"}
        for i, b in enumerate(bodies)
    ]
    batch = sqs_records(messages, "arn:aws:sqs:us-east-1:111122223333:q")
    unparseable = {r.message_id for r in parse_lambda_event(batch).records if r.error is not None}
    world.injector.calls.clear()
    response = invoke(batch)
    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    assert unparseable <= failed
    assert f"m{where}" not in failed
    assert world.injector.calls["iam.GetRole"] >= 1
