"""The fault matrix: every AWS call the watcher makes x every fault x first attempt / every attempt.

Each cell injects the fault into the real botocore client the watcher built (``injection``), with
the retry mode and attempts the template configures (``AWS_RETRY_MODE=adaptive``,
``AWS_MAX_ATTEMPTS=8``), and checks the promise of ``matrix``: the change is alerted exactly once
after retries, or the batch item fails and comes back (finally landing intact in the DLQ), or an
``UNKNOWN`` alert names what could not be read; never a lost transition, never a duplicate, never
a silent all-clear. The outcome observed is printed in the run's summary and kept in
docs/guarantees.md.

AWS documentation pinned here:
- botocore retry behaviour (which errors are retried): https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
- SQS partial batch responses: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
- SQS dead-letter queues and maxReceiveCount: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
- Lambda asynchronous invocation retries and DLQ: https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import pytest

from .injection import FAULTS, Fault, Mode
from .matrix import check_promises, outcome, run_cell
from .report import record_cell, record_figure
from .scenarios import ROWS, SCENARIOS, cells
from .stack import drain, drain_sweeps, fresh_watcher, invoke, sweep

if TYPE_CHECKING:
    from collections.abc import Callable

    from .conftest import World

pytestmark = pytest.mark.slow  # every cell runs the handler on moto (one to four seconds each)


def world_for(request: pytest.FixtureRequest, scenario: str) -> World:
    """The world the scenario runs in (``conftest.WorldKind``)."""
    found: World = request.getfixturevalue(SCENARIOS[scenario].world.value)
    return found


# The default run (`make test`, within CI's time budget; about 1.8 s of moto per cell):
# * every row on every attempt, with the two faults whose outcomes differ in the full matrix:
#   5xx (retried by botocore, as throttling and the network faults are: the full run shows the same
#   outcome for all four in every row) and AccessDenied (never retried);
# * except the rows where the full matrix shows one outcome for all six faults (organization mode's
#   fan-out, listings and role assumption: the run is retried, its message ends intact in the DLQ;
#   the report write and the alias read, which never change an alert): on every attempt with 5xx;
# * one row per retry path (IAM reads of a change, the sweep's whole-account read, the SCP reads,
#   the state store's conditional write and its clear, the SNS publish) on every attempt with
#   throttling (adaptive mode's rate limiter) and read timeout (the network class), and on the first
#   attempt with throttling, 5xx and read timeout (the retry succeeds).
# MATRIX=full (`make guarantees`) runs all 12 cells of every row (the figures in docs/guarantees.md).
FULL = os.environ.get("MATRIX") == "full"
_EVERY_DEFAULT = {"5xx", "AccessDenied"}
_EVERY_UNIFORM = {"5xx"}
_EVERY_REPRESENTATIVE = {"throttling", "read timeout"}
_FIRST_REPRESENTATIVE = {"throttling", "5xx", "read timeout"}
REPRESENTATIVE_ROWS = {
    ("iam.GetRolePolicy", "role"),
    ("iam.GetAccountAuthorizationDetails", "sweep"),
    ("organizations.ListPoliciesForTarget", "scp"),
    ("dynamodb.PutItem", "role"),
    ("dynamodb.UpdateItem", "role"),
    ("sns.Publish", "role"),
}
UNIFORM_ROWS = {
    ("s3.PutObject", "sweep"),
    ("iam.ListAccountAliases", "standalone"),
    ("iam.GetRole", "org-role"),
    ("iam.GetAccountAuthorizationDetails", "org-sweep"),
    ("sts.AssumeRole", "org-role"),
    ("sts.AssumeRole", "org-sweep"),
    ("dynamodb.Query", "org-role"),
    ("organizations.ListAccounts", "org-sweep"),
    ("sqs.SendMessageBatch", "org-sweep"),
    ("sqs.SendMessageBatch", "org-scp"),
    ("organizations.ListTargetsForPolicy", "org-scp"),
    ("organizations.ListAccountsForParent", "org-scp"),
    ("organizations.ListChildren", "org-scp"),
}


def _runs(call: str, scenario: str, fault: Fault, mode: Mode, *, full: bool) -> bool:
    if full:
        return True
    representative = (call, scenario) in REPRESENTATIVE_ROWS
    if mode is Mode.EVERY:
        every = _EVERY_UNIFORM if (call, scenario) in UNIFORM_ROWS else _EVERY_DEFAULT
        return fault.name in every or (representative and fault.name in _EVERY_REPRESENTATIVE)
    return representative and fault.name in _FIRST_REPRESENTATIVE


def cells_of(*, full: bool) -> list[tuple[str, str, Fault, Mode]]:
    """The cells a run makes: every cell of every row (``full``), or the default profile's."""
    return [
        (call, scenario, fault, mode)
        for call, scenario in cells()
        for fault in FAULTS
        for mode in Mode
        if _runs(call, scenario, fault, mode, full=full)
    ]


CELLS = cells_of(full=FULL)


@pytest.mark.parametrize(
    ("call", "scenario", "fault", "mode"),
    CELLS,
    ids=[f"{c}[{s}]-{f.name.replace(' ', '-')}-{m.name.lower()}" for c, s, f, m in CELLS],
)
def test_fault_cell_keeps_the_promise(
    request: pytest.FixtureRequest,
    record_property: Callable[[str, object], None],
    *,
    call: str,
    scenario: str,
    fault: Fault,
    mode: Mode,
) -> None:
    result = run_cell(world_for(request, scenario), call, scenario, fault, mode)
    assert result.failed_attempts > 0, f"scenario {scenario} never made {call}"
    # the run's record of AWS calls must hold this one (tests/support/aws_calls.py checks)
    record_property("aws_call", call)
    check_promises(result, call, fault, SCENARIOS[scenario].lost)
    label = outcome(result, scenario)
    record_cell(f"{call} [{scenario}]", fault.name, mode.value, label)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_call_the_watcher_makes_has_a_row(request: pytest.FixtureRequest, name: str) -> None:
    """The table is complete: every call a clean run of each scenario makes has a row (its own or
    another scenario's), and the scenario makes every call of its own rows: no call escapes the
    matrix, and no cell injects into a call that never happens."""
    world = world_for(request, name)
    scenario = SCENARIOS[name]
    if scenario.setup is not None:
        scenario.setup(world)
    sweep(world.stack)
    world.stack.alerts()
    scenario.change(world)
    if scenario.cold_start:
        fresh_watcher()
    world.injector.calls.clear()
    body = scenario.event(world)
    if scenario.via_queue:
        world.stack.send(body)
        assert drain(world.stack).failed_items == 0
    else:
        invoke(json.loads(json.dumps(body)))
    assert drain_sweeps(world.stack).failed_items == 0
    made = set(world.injector.calls)
    own = {call for call, scenarios in ROWS.items() if name in scenarios}
    assert own <= made, f"rows for {name} that it never calls: {own - made}"
    assert made <= set(ROWS), f"calls of {name} without a row: {made - set(ROWS)}"
    alerts = world.stack.alerts()
    assert sorted(a["principal"]["arn"] for a in alerts) == sorted(scenario.lost)
    assert {a["kind"] for a in alerts} == {"LOST"}


def test_default_profile_keeps_every_row_and_one_row_per_retry_path() -> None:
    """The fast profile drops cells, never rows: each row runs on every attempt, and each retry path
    named in REPRESENTATIVE_ROWS (or row cut to one fault in UNIFORM_ROWS) is a real row of the
    table."""
    assert set(cells()) >= REPRESENTATIVE_ROWS | UNIFORM_ROWS
    default = cells_of(full=False)
    rows_run = {(call, scenario) for call, scenario, _, mode in default if mode is Mode.EVERY}
    assert rows_run == set(cells())
    record_figure(
        "summary",
        "matrix",
        {
            "rows": len(cells()),
            "faults": len(FAULTS),
            "full": len(cells_of(full=True)),
            "default": len(default),
        },
    )
