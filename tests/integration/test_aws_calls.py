"""The run's record of AWS operations (``tests/support/aws_calls.py``): what it counts, what it
ignores, and when it fails the run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from restorewatch.inventory import IamReader, make_client
from restorewatch_cli.local.up import caller_account
from support.aws_calls import Call, problems, recorder

if TYPE_CHECKING:
    from integration.conftest import Stack

SEEN = Call("layers/restorewatch/restorewatch/watch/fanout.py:96", "tests/x.py::test_y")


def test_an_operation_without_a_matrix_row_is_named() -> None:
    found = problems({"sqs.SendMessageBatch": SEEN, "iam.GetRole": SEEN}, {"iam.GetRole"}, set())
    assert len(found) == 1
    assert "sqs.SendMessageBatch" in found[0]
    assert "fanout.py:96" in found[0]
    assert "tests/x.py::test_y" in found[0]
    assert "iam.GetRole" not in found[0]


def test_a_record_that_misses_what_the_matrix_made_fails() -> None:
    """Nothing recorded while matrix cells made calls: the recorder is blind, not the code clean."""
    found = problems({}, {"iam.GetRole", "sns.Publish"}, {"iam.GetRole"})
    assert len(found) == 1
    assert "iam.GetRole" in found[0]
    assert "lacks" in found[0]


def test_a_complete_record_passes() -> None:
    assert problems({"iam.GetRole": SEEN}, {"iam.GetRole", "sns.Publish"}, {"iam.GetRole"}) == []


def test_the_package_calls_are_recorded_and_the_tests_own_are_not(stack: Stack) -> None:
    """In this very process: a call the package issues on a client it built is recorded; the same
    client used by a test (seeding moto), and the local tooling's calls, are not."""
    iam = make_client("iam")
    iam.create_user(UserName="seeded-by-the-test")  # the test's own call on a package-built client
    assert caller_account(None)  # restorewatch_cli.local: tooling, not the watcher
    IamReader(iam).account_alias()  # the package's call
    calls = recorder().calls
    assert "iam.ListAccountAliases" in calls
    assert calls["iam.ListAccountAliases"].where.startswith("layers/restorewatch/restorewatch/inventory/")
    assert "iam.CreateUser" not in calls
    assert "sts.GetCallerIdentity" not in calls
