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
from .report import record_cell
from .scenarios import ROWS, SCENARIOS, cells, sweep_event
from .stack import drain, invoke

if TYPE_CHECKING:
    from .conftest import World


# The default run (`make test`) skips first-attempt cells that cannot differ from another cell:
# AccessDenied is never retried by botocore (first attempt = every attempt), and the three network
# faults are one class to botocore's retry handler (HTTPClientError), so read timeout stands for
# them. MATRIX=full (`make guarantees`) runs all 12 cells of every row.
FULL = os.environ.get("MATRIX") == "full"
_FIRST_ATTEMPT = {fault.name for fault in FAULTS} if FULL else {"throttling", "5xx", "read timeout"}
FAULT_MODES = [
    (fault, mode) for fault in FAULTS for mode in Mode if mode is Mode.EVERY or fault.name in _FIRST_ATTEMPT
]


@pytest.mark.parametrize(
    ("fault", "mode"),
    FAULT_MODES,
    ids=[f"{f.name.replace(' ', '-')}-{m.name.lower()}" for f, m in FAULT_MODES],
)
@pytest.mark.parametrize(("call", "scenario"), cells(), ids=[f"{c}[{s}]" for c, s in cells()])
def test_fault_cell_keeps_the_promise(
    world: World, call: str, scenario: str, fault: Fault, mode: Mode
) -> None:
    result = run_cell(world, call, scenario, fault, mode)
    assert result.failed_attempts > 0, f"scenario {scenario} never made {call}"
    check_promises(result, call, fault, SCENARIOS[scenario].lost)
    label = outcome(result, scenario)
    record_cell(f"{call} [{scenario}]", fault.name, mode.value, label)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_call_the_watcher_makes_has_a_row(world: World, name: str) -> None:
    """The table is complete: every call a clean run of each scenario makes has a row (its own or
    another scenario's), and the scenario makes every call of its own rows: no call escapes the
    matrix, and no cell injects into a call that never happens."""
    invoke(sweep_event())
    world.stack.alerts()
    scenario = SCENARIOS[name]
    scenario.change()
    world.injector.calls.clear()
    body = scenario.event()
    if scenario.via_queue:
        world.stack.send(body)
        assert drain(world.stack).failed_items == 0
    else:
        invoke(json.loads(json.dumps(body)))
    made = set(world.injector.calls)
    own = {call for call, scenarios in ROWS.items() if name in scenarios}
    assert own <= made, f"rows for {name} that it never calls: {own - made}"
    assert made <= set(ROWS), f"calls of {name} without a row: {made - set(ROWS)}"
    alerts = world.stack.alerts()
    assert sorted(a["principal"]["arn"] for a in alerts) == sorted(scenario.lost)
    assert {a["kind"] for a in alerts} == {"LOST"}
