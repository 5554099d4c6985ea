"""Run one cell of the fault matrix and say, from what was observed, what happened.

A cell: the seeded account is swept clean (every watched principal stored compliant), one real
change (IAM, or an SCP) takes restore permissions away, one AWS call fails (``Fault``) on the first
attempt of every call or on every attempt, and the watcher learns of the change (its event through
the queue, or the scheduled sweep). Then the fault clears and the system recovers as it would in
production: whatever reached the dead-letter queue is redriven (what an operator does when the DLQ
alarm fires) and the next scheduled sweep runs. What is checked is the promise, whatever the path:

* never a lost transition: every principal the change hurt is alerted ``LOST``, with one alert id;
* never a duplicate: no alert id is published twice, except the one documented window (a publish
  whose acknowledgement was lost) where the same id may go out once more;
* never a silent all-clear: no ``RESTORED`` alert for a hurt principal, and the stored status of a
  hurt principal is never ``compliant`` after the change; any other principal is ``RESTORED`` only
  after an ``UNKNOWN`` (or a loss) alerted for it in the same cell (a fault may make a check of it
  unknown; its all-clear then comes when it can be checked again, never out of nothing);
* an ``UNKNOWN`` alert names the call that failed and its error;
* what reached the DLQ is the event exactly as it was sent (or, in organization mode, an account
  sweep exactly as the central watcher enqueued it).

In organization mode every invocation that fans sweeps out is followed by the delivery of the
sweep queue (``stack.drain_sweeps``), in the fault phase and in the recovery alike.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from restorewatch.compliance import ComplianceStatus
from restorewatch.watch.fanout import is_account_sweep

from .conftest import queue_visibility_timeout
from .scenarios import SCENARIOS, sweep_event
from .stack import PROFILE, drain, drain_sweeps, fresh_watcher, invoke, sweep

if TYPE_CHECKING:
    from .conftest import World
    from .injection import Fault, Mode
    from .stack import DrainResult

# Lambda retries a failed asynchronous invocation (the schedule) this often (template RetryPolicy).
SWEEP_RETRIES = 2


@dataclass
class CellResult:
    fault_phase: list[dict[str, Any]] = field(default_factory=list)
    recovery: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: list[str] = field(default_factory=list)
    sent: str = ""
    sweeps_enqueued: set[str] = field(default_factory=set)  # account sweeps the watcher enqueued
    failed_attempts: int = 0
    invocation_failed: bool = False
    # (principal, status) of every state written after the change (revision above the baseline's)
    statuses_seen: list[tuple[str, str]] = field(default_factory=list)
    baseline_revisions: dict[str, int] = field(default_factory=dict)

    def kinds(self, alerts: list[dict[str, Any]], principal: str) -> list[str]:
        return [a["kind"] for a in alerts if a["principal"]["arn"] == principal]

    @property
    def all_alerts(self) -> list[dict[str, Any]]:
        return self.fault_phase + self.recovery


def _watch_statuses(
    world: World, principals: tuple[str, ...], result: CellResult, profile: str = PROFILE
) -> None:
    for principal in principals:
        state = world.stack.state(principal, profile)
        if state is not None and state.revision > result.baseline_revisions.get(principal, 0):
            result.statuses_seen.append((principal, state.status.value))


def _deliver(world: World, scenario_name: str, result: CellResult) -> None:
    scenario = SCENARIOS[scenario_name]
    body = json.dumps(scenario.event(world))
    result.sent = body
    visibility = queue_visibility_timeout()

    def after_invocation(drained: DrainResult) -> None:
        _watch_statuses(world, scenario.lost, result, scenario.profile)
        world.clock.advance(visibility)  # a failed message is visible again only after this

    def account_sweeps() -> None:
        result.sweeps_enqueued |= drain_sweeps(world.stack, on_invocation=after_invocation).bodies

    if scenario.via_queue:
        world.stack.send(body)
        drain(world.stack, on_invocation=after_invocation)
        account_sweeps()
        return
    for _ in range(1 + SWEEP_RETRIES):
        try:
            invoke(json.loads(body))
        except Exception:  # the invocation failed: Lambda retries it (asynchronous invocation)
            _watch_statuses(world, scenario.lost, result, scenario.profile)
            world.clock.advance(60)
            account_sweeps()  # what a failed fan-out enqueued before it failed still runs
            continue
        _watch_statuses(world, scenario.lost, result, scenario.profile)
        account_sweeps()
        return
    # Lambda's on-failure destination for the function (template DeadLetterQueue) gets the event
    result.invocation_failed = True
    world.stack.send_to_dlq(body)


def _recover(world: World, scenario_name: str, result: CellResult) -> None:
    world.injector.clear()
    world.clock.advance(queue_visibility_timeout())
    for body in result.dead_letters:  # the operator redrives the DLQ after its alarm
        world.stack.redrive(body)
    if result.dead_letters:
        drain(world.stack)
        drain_sweeps(world.stack)
    invoke(sweep_event())  # the next scheduled sweep
    drain_sweeps(world.stack)
    result.recovery = world.stack.alerts()
    scenario = SCENARIOS[scenario_name]
    _watch_statuses(world, scenario.lost, result, scenario.profile)


def run_cell(world: World, call: str, scenario_name: str, fault: Fault, mode: Mode) -> CellResult:
    scenario = SCENARIOS[scenario_name]
    if scenario.setup is not None:
        scenario.setup(world)
    sweep(world.stack)  # the baseline: everything stored compliant, nothing to alert
    baseline = world.stack.alerts()
    assert baseline == [], baseline
    for principal in scenario.lost:
        state = world.stack.state(principal, scenario.profile)
        assert state is not None
        assert state.status is ComplianceStatus.COMPLIANT

    result = CellResult()
    for principal in scenario.lost:
        stored = world.stack.state(principal, scenario.profile)
        result.baseline_revisions[principal] = stored.revision if stored is not None else 0
    scenario.change(world)
    if scenario.cold_start:
        fresh_watcher()
    injection = world.injector.inject(call, fault, mode)
    _deliver(world, scenario_name, result)
    result.failed_attempts = injection.failed_attempts
    result.fault_phase = world.stack.alerts()
    result.dead_letters = world.stack.dead_letters()
    _recover(world, scenario_name, result)
    return result


def check_promises(result: CellResult, call: str, fault: Fault, lost: tuple[str, ...]) -> None:
    """The invariants every cell must keep (see the module docstring)."""
    alerts = result.all_alerts
    ids = Counter(a["alert_id"] for a in alerts)
    for principal in lost:
        kinds = result.kinds(alerts, principal)
        lost_ids = {
            a["alert_id"] for a in alerts if a["principal"]["arn"] == principal and a["kind"] == "LOST"
        }
        assert len(lost_ids) == 1, f"{principal}: LOST alerts {lost_ids} ({kinds})"
        assert "RESTORED" not in kinds, f"{principal}: silent all-clear: {kinds}"
        assert kinds.count("UNKNOWN") <= 1, kinds
        assert set(kinds) <= {"LOST", "UNKNOWN"}, kinds
    in_doubt: set[str] = set()  # principals alerted UNKNOWN, LOST or DEGRADED and not restored since
    for alert in alerts:
        arn = alert["principal"]["arn"]
        if alert["kind"] == "RESTORED":
            assert arn in in_doubt, f"{arn}: RESTORED with no UNKNOWN or loss before it ({alerts})"
            in_doubt.discard(arn)
        elif alert["kind"] in ("UNKNOWN", "LOST", "DEGRADED"):
            in_doubt.add(arn)
    for alert_id, count in ids.items():
        # the one window: a publish that succeeded but whose clear failed goes out again, same id
        assert count == 1 or (count == 2 and call in ("dynamodb.UpdateItem",)), (alert_id, count)
    for principal, status in result.statuses_seen:
        assert status != ComplianceStatus.COMPLIANT.value, (
            f"{principal} newly stored compliant after the change"
        )
    operation = call.split(".", 1)[1]
    for alert in alerts:
        if alert["kind"] == "UNKNOWN":
            error = alert.get("error") or ""
            assert operation in error, (operation, error)
            # the code as the call's protocol spells it (query: IAM, STS, SNS; JSON: Organizations, ...)
            codes = [code for code in (fault.query_code, fault.json_code) if code]
            assert any(code in error for code in codes) or (
                fault.network is not None and fault.network.__name__ in error
            ), error
    for body in result.dead_letters:
        if is_account_sweep(json.loads(body)):
            assert body in result.sweeps_enqueued, "the DLQ holds the account sweep as it was enqueued"
        else:
            assert body == result.sent, "the DLQ holds the event as it was sent"


def outcome(result: CellResult, scenario_name: str) -> str:
    """A short label of what happened, from the observations (the matrix cell)."""
    lost = SCENARIOS[scenario_name].lost
    parts = []
    fault_kinds = {kind for principal in lost for kind in result.kinds(result.fault_phase, principal)}
    if "UNKNOWN" in fault_kinds:
        parts.append("UNKNOWN alert")
    if "LOST" in fault_kinds and fault_kinds == {"LOST"} and not result.dead_letters:
        parts.append("alerted once" + (" after retries" if result.failed_attempts else ""))
    elif "LOST" in fault_kinds:
        parts.append("LOST alerted")
    if result.dead_letters:
        parts.append("sweep failed -> DLQ" if result.invocation_failed else "item retried -> DLQ intact")
    recovered = {kind for principal in lost for kind in result.kinds(result.recovery, principal)}
    if "LOST" in recovered:
        parts.append("LOST on recovery")
    repeated = [c for c in Counter(a["alert_id"] for a in result.all_alerts).values() if c > 1]
    if repeated:
        parts.append("re-published once (same id)")
    return "; ".join(parts)
