"""The watcher pipeline against moto: transitions, sweeps, duplicates, reordering, concurrency.

Most tests go through the real handler (``functions/watcher/app.py``) with the template's
environment; the ordering and concurrency tests build ``Watcher`` instances from the real boto3-backed
parts (``IamReader``, ``DynamoStateStore``, ``Outbox`` + ``SnsPublisher``), one per simulated
execution environment. Policy evaluation rules cited where pinned:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from integration.conftest import (
    GROUP,
    POLICY_ARN,
    ROLE,
    ROLE_ARN,
    TAG_KEY,
    TRUST,
    USER,
    USER_ARN,
    fresh_event,
    load_event,
    policy_document,
    sqs_batch,
)
from restorewatch.alerts import SnsPublisher
from restorewatch.compliance import ComplianceStatus
from restorewatch.inventory import IamReader
from restorewatch.ledger import Outbox, OutboxSettings, Outcome
from restorewatch.profiles import ProfileRegistry
from restorewatch.state import DynamoStateStore, StoredState
from restorewatch.watch import SingleAccount, Watcher, WatchSettings
from restorewatch.watch.events import parse_lambda_event
from support.moto_gaps import make_moto_dynamodb_atomic

if TYPE_CHECKING:
    from collections.abc import Callable

    from integration.conftest import Account, Handler, Stack
    from restorewatch.domain import CloudTrailChange

pytestmark = (
    pytest.mark.slow
)  # the handler and concurrent watchers on moto; the fast equivalents: tests/unit/watch/

SWEEP = "scheduled-sweep"


def kinds(alerts: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(alert["kind"], alert["principal"]["arn"]) for alert in alerts]


def change_of(event: dict[str, Any]) -> CloudTrailChange:
    (change,) = parse_lambda_event(event).changes
    return change


def make_watcher(
    stack: Stack, *, store: DynamoStateStore | None = None, clock: Callable[[], datetime] | None = None
) -> Watcher:
    """A watcher as one execution environment builds it, from the real boto3-backed parts."""
    store = store or stack.store()
    iam = boto3.client("iam")
    return Watcher(
        SingleAccount(lambda: IamReader(iam)),
        Outbox(
            store,
            SnsPublisher(stack.topic_arn, client=boto3.client("sns")),
            OutboxSettings(tag_key=TAG_KEY),
        ),
        ProfileRegistry.default(),
        WatchSettings(tag_key=TAG_KEY),
        **({"clock": clock} if clock is not None else {}),  # type: ignore[arg-type]  # mypy: ** of a dict
    )


# --- the sweep -------------------------------------------------------------------------------------


def test_sweep_first_sight_non_compliant_is_lost_and_heartbeat_written(
    stack: Stack, account: Account, handler: Handler
) -> None:
    """A principal found non-compliant the first time it is seen alerts as LOST; a complete sweep
    moves the heartbeat item (principal "#sweep", profile "#last") the no-sweep alarm relies on."""
    account.iam.detach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)
    before = datetime.now(UTC)
    assert stack.store().last_sweep() is None
    handler.file(SWEEP)
    (alert,) = stack.alerts()
    assert (alert["kind"], alert["principal"]["arn"], alert["first_sight"]) == ("LOST", ROLE_ARN, True)
    heartbeat = stack.store().last_sweep()
    assert heartbeat is not None
    assert heartbeat.principals == 2
    assert heartbeat.at >= before - timedelta(seconds=1)
    item = boto3.client("dynamodb").get_item(
        TableName=stack.table, Key={"principal": {"S": "#sweep"}, "profile": {"S": "#last"}}
    )
    assert "Item" in item


def test_sweep_compliant_principals_are_stored_without_alert(
    stack: Stack, account: Account, handler: Handler
) -> None:
    handler.file(SWEEP)
    assert stack.alerts() == []
    states = {s.principal: s for s in stack.store().scan_states()}
    assert set(states) == {ROLE_ARN, USER_ARN}
    assert {s.status for s in states.values()} == {ComplianceStatus.COMPLIANT}
    assert {s.profile for s in states.values()} == {"veeam-ec2-restore"}


def test_sweep_principal_deleted_between_sweeps_is_deleted(
    stack: Stack, account: Account, handler: Handler
) -> None:
    """A missed DeleteRole event: the next sweep finds the watched role gone and says so."""
    handler.file(SWEEP)
    account.iam.detach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)
    account.iam.delete_role(RoleName=ROLE)
    handler.file(SWEEP)
    assert kinds(stack.alerts()) == [("DELETED", ROLE_ARN)]
    handler.file(SWEEP)  # a tombstone is not deleted twice
    assert stack.alerts() == []


def test_sweep_untagged_principal_is_unwatched(stack: Stack, account: Account, handler: Handler) -> None:
    handler.file(SWEEP)
    account.iam.untag_user(UserName=USER, TagKeys=[TAG_KEY])
    handler.file(SWEEP)
    assert kinds(stack.alerts()) == [("UNWATCHED", USER_ARN)]
    handler.file(SWEEP)
    assert stack.alerts() == []


def test_sweep_catches_change_without_event(stack: Stack, account: Account, handler: Handler) -> None:
    """A change no event reports (or a lost event) is found by the next sweep, once."""
    handler.file(SWEEP)
    account.iam.remove_user_from_group(GroupName=GROUP, UserName=USER)
    handler.file(SWEEP)
    assert kinds(stack.alerts()) == [("LOST", USER_ARN)]
    handler.file(SWEEP)
    assert stack.alerts() == []


# --- transitions -----------------------------------------------------------------------------------


def test_lost_then_restored(stack: Stack, account: Account, handler: Handler) -> None:
    handler.file(SWEEP)
    account.iam.detach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)
    handler(fresh_event("iam-DetachRolePolicy"))
    account.iam.attach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)
    handler(fresh_event("iam-AttachRolePolicy"))
    alerts = stack.alerts()
    assert kinds(alerts) == [("LOST", ROLE_ARN), ("RESTORED", ROLE_ARN)]
    assert alerts[0]["alert_id"] != alerts[1]["alert_id"]
    state = stack.store().get(ROLE_ARN, "veeam-ec2-restore")
    assert state is not None
    assert state.status is ComplianceStatus.COMPLIANT


def conditional_version(account: Account) -> None:
    """A new default version of the restore policy whose Allow needs MFA: a Condition on the Allow
    makes each action possible only in some requests (partial)."""
    account.iam.create_policy_version(
        PolicyArn=POLICY_ARN,
        PolicyDocument=policy_document(
            account.actions, Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}
        ),
        SetAsDefault=True,
    )


def set_default_event(version: str) -> dict[str, Any]:
    return fresh_event("iam-SetDefaultPolicyVersion", policyArn=POLICY_ARN, versionId=version)


def test_condition_added_to_allow_is_degraded_then_restored(
    stack: Stack, account: Account, handler: Handler
) -> None:
    handler.file(SWEEP)
    conditional_version(account)
    handler(set_default_event("v2"))
    alerts = stack.alerts()
    assert sorted(kinds(alerts)) == [("DEGRADED", ROLE_ARN), ("DEGRADED", USER_ARN)]
    assert {c["status"] for alert in alerts for c in alert["changed_actions"]} == {"partial"}
    account.iam.set_default_policy_version(PolicyArn=POLICY_ARN, VersionId="v1")
    handler(set_default_event("v1"))
    assert sorted(kinds(stack.alerts())) == [("RESTORED", ROLE_ARN), ("RESTORED", USER_ARN)]


@pytest.mark.parametrize("handler_env", [{"ALERT_ON_DEGRADED": "false"}], indirect=True)
def test_condition_added_with_degraded_alerts_off_is_silent(
    stack: Stack, account: Account, handler: Handler, handler_env: dict[str, str]
) -> None:
    """Template parameter AlertOnDegraded=false: a partial action is not alerted, a lost one still is."""
    handler.file(SWEEP)
    conditional_version(account)
    handler(set_default_event("v2"))
    assert stack.alerts() == []
    state = stack.store().get(ROLE_ARN, "veeam-ec2-restore")
    assert state is not None
    assert state.status is ComplianceStatus.DEGRADED
    account.iam.detach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)
    handler(fresh_event("iam-DetachRolePolicy"))
    assert kinds(stack.alerts()) == [("LOST", ROLE_ARN)]


def test_malformed_policy_is_unknown_naming_the_policy(
    stack: Stack, account: Account, handler: Handler
) -> None:
    """An identity policy with a Principal element is invalid (IAM rejects it; moto's validator lets it
    through, which is how this test gets one into the account): the watcher cannot evaluate the role
    and says UNKNOWN, naming the policy, never "fine" or "denied".
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html"""
    handler.file(SWEEP)
    document = json.loads(policy_document(["s3:GetObject"]))
    document["Statement"][0]["Principal"] = "*"
    account.iam.put_role_policy(RoleName=ROLE, PolicyName="BrokenInline", PolicyDocument=json.dumps(document))
    handler(fresh_event("iam-PutRolePolicy", roleName=ROLE, policyName="BrokenInline"))
    (alert,) = stack.alerts()
    assert (alert["kind"], alert["principal"]["arn"]) == ("UNKNOWN", ROLE_ARN)
    assert "BrokenInline" in alert["error"]
    assert "Principal" in alert["error"]


# --- a change naming many principals: a sweep reads them cheaper -----------------------------------


def _narrow_policy_used_by(account: Account, handler: Handler, roles: int) -> None:
    """``roles`` more (untagged) roles attach the restore policy; after a sweep, its new default
    version drops iam:CreateRole, and the SetDefaultPolicyVersion event reaches the handler."""
    for number in range(roles):
        name = f"AppRole{number:02d}"
        account.iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
        account.iam.attach_role_policy(RoleName=name, PolicyArn=POLICY_ARN)
    handler.file(SWEEP)
    narrower = [a for a in account.actions if a != "iam:CreateRole"]
    account.iam.create_policy_version(
        PolicyArn=POLICY_ARN, PolicyDocument=policy_document(narrower), SetAsDefault=True
    )
    handler.iam_calls.clear()
    handler(set_default_event("v2"))


def test_policy_used_by_many_principals_is_swept_not_read_one_by_one(
    stack: Stack, account: Account, handler: Handler
) -> None:
    """A new default version of a policy that 30 roles attach (plus the restore role and the group):
    over WatchSettings.sweep_over principals, so the change is re-checked by a sweep of the account
    (GetAccountAuthorizationDetails pages), not by GetRole/ListAttachedRolePolicies/... for each of
    them. The alerts are the same, and still name the change that caused them."""
    _narrow_policy_used_by(account, handler, 30)
    alerts = stack.alerts()
    assert sorted(kinds(alerts)) == [("LOST", ROLE_ARN), ("LOST", USER_ARN)]
    assert {alert["trigger"]["eventName"] for alert in alerts} == {"SetDefaultPolicyVersion"}
    per_principal = {"GetRole", "GetUser", "ListAttachedRolePolicies", "ListRolePolicies"}
    assert not per_principal & set(handler.iam_calls)
    assert handler.iam_calls["ListEntitiesForPolicy"] == 2  # policies and boundaries
    assert handler.iam_calls["GetAccountAuthorizationDetails"] >= 1
    assert handler.total_iam_calls < 12


def test_policy_used_by_few_principals_is_read_one_by_one(
    stack: Stack, account: Account, handler: Handler
) -> None:
    """The other side of the threshold: 3 principals are read on their own, no sweep."""
    _narrow_policy_used_by(account, handler, 1)
    assert sorted(kinds(stack.alerts())) == [("LOST", ROLE_ARN), ("LOST", USER_ARN)]
    assert "GetAccountAuthorizationDetails" not in handler.iam_calls
    assert handler.iam_calls["GetRole"] == 2  # the restore role and AppRole00 (untagged)


def test_a_batch_of_changes_that_each_need_a_sweep_sweeps_once(
    stack: Stack, account: Account, handler: Handler
) -> None:
    """Three changes in one SQS batch each name over sweep_over principals: the first sweeps the
    account, and that sweep (begun after the batch arrived, its queue delay over) covers the other
    two. Ten sweeps of a large account in one invocation could outlast the function's timeout."""
    _narrow_policy_used_by(account, handler, 30)
    assert sorted(kinds(stack.alerts())) == [("LOST", ROLE_ARN), ("LOST", USER_ARN)]
    sweep_calls = handler.iam_calls["GetAccountAuthorizationDetails"]
    account.iam.set_default_policy_version(PolicyArn=POLICY_ARN, VersionId="v1")
    handler.iam_calls.clear()
    result = handler(sqs_batch(set_default_event("v1"), set_default_event("v1"), set_default_event("v1")))
    assert result["batchItemFailures"] == []
    assert sorted(kinds(stack.alerts())) == [("RESTORED", ROLE_ARN), ("RESTORED", USER_ARN)]
    assert handler.iam_calls["GetAccountAuthorizationDetails"] == sweep_calls  # one sweep, not three
    assert handler.iam_calls["ListEntitiesForPolicy"] == 3 * 2  # each change still lists its entities


def test_changes_in_separate_invocations_each_sweep(stack: Stack, account: Account, handler: Handler) -> None:
    """The other side: a sweep covers only the changes delivered before it began. A change in a later
    invocation gets a sweep of its own (the state may have moved since)."""
    _narrow_policy_used_by(account, handler, 30)
    assert len(stack.alerts()) == 2
    sweep_calls = handler.iam_calls["GetAccountAuthorizationDetails"]
    handler.iam_calls.clear()
    handler(sqs_batch(set_default_event("v2")))
    handler(sqs_batch(set_default_event("v2")))
    assert handler.iam_calls["GetAccountAuthorizationDetails"] == 2 * sweep_calls
    assert stack.alerts() == []


# --- duplicates, reordering, concurrency ---------------------------------------------------------------


def test_duplicate_delivery_alerts_once(stack: Stack, account: Account, handler: Handler) -> None:
    """EventBridge and SQS deliver at least once: the same event twice gives one alert.
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/standard-queues-at-least-once-delivery.html"""
    handler.file(SWEEP)
    account.iam.detach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)
    event = fresh_event("iam-DetachRolePolicy")
    first = handler(event)
    second = handler(event)
    third = handler(sqs_batch(event, event))
    assert len(first["alerts"]) == 1
    assert second == {"alerts": []}
    assert third == {"batchItemFailures": [], "alerts": []}
    assert kinds(stack.alerts()) == [("LOST", ROLE_ARN)]


def test_older_event_after_newer_gives_no_wrong_alert(
    stack: Stack, account: Account, handler: Handler
) -> None:
    """Detach then re-attach, delivered in reverse order: the watcher re-reads live IAM state for
    each, so the late DetachRolePolicy finds the role compliant and alerts nothing."""
    handler.file(SWEEP)
    detach = fresh_event("iam-DetachRolePolicy")
    account.iam.detach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)
    account.iam.attach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)
    attach = fresh_event("iam-AttachRolePolicy")
    assert handler(attach) == {"alerts": []}
    assert handler(detach) == {"alerts": []}
    assert stack.alerts() == []


def test_stale_evaluation_saved_late_is_ignored(stack: Stack, account: Account) -> None:
    """An evaluation whose IAM read began before the stored one is not saved (no stale overwrite)."""
    now = datetime.now(UTC)
    fresh = make_watcher(stack, clock=lambda: now)
    late = make_watcher(stack, clock=lambda: now - timedelta(minutes=5))
    change = change_of(fresh_event("iam-DetachRolePolicy"))
    fresh.sweep()
    account.iam.detach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)
    summary = late.handle_change(change)
    assert [r.outcome for r in summary.results] == [Outcome.STALE]
    assert stack.alerts() == []


class InterleavingStore(DynamoStateStore):
    """The real DynamoDB store; before its first ``save`` it lets another invocation run to the end,
    so that the two invocations interleave exactly at the conditional write."""

    def __init__(self, table: str, other: Callable[[], object]) -> None:
        super().__init__(table, client=boto3.client("dynamodb"))
        self._other: Callable[[], object] | None = other

    def save(self, state: StoredState, *, expected_revision: int | None) -> None:
        if self._other is not None:
            other, self._other = self._other, None
            other()
        super().save(state, expected_revision=expected_revision)


def test_interleaved_invocations_alert_once(stack: Stack, account: Account, handler: Handler) -> None:
    """Two execution environments handle the same change; B saves and publishes while A is between
    its read and its write. A's conditional write fails, A re-reads and finds B's evaluation, which
    began later, already saved: A's is stale and dropped. One alert."""
    handler.file(SWEEP)
    account.iam.detach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)
    change = change_of(fresh_event("iam-DetachRolePolicy"))
    other = make_watcher(stack)
    results: list[Any] = []
    first = make_watcher(
        stack, store=InterleavingStore(stack.table, lambda: results.append(other.handle_change(change)))
    )
    summary = first.handle_change(change)
    (b,) = results
    assert [r.outcome for r in b.results] == [Outcome.ALERTED]
    assert [r.outcome for r in summary.results] == [Outcome.STALE]
    assert summary.alert_ids == []
    assert kinds(stack.alerts()) == [("LOST", ROLE_ARN)]


@pytest.fixture
def atomic_moto_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    make_moto_dynamodb_atomic(monkeypatch)


@pytest.mark.usefixtures("atomic_moto_dynamodb")
def test_concurrent_handler_threads_alert_once(stack: Stack, account: Account, handler: Handler) -> None:
    """Four invocations at once (threads, one watcher each) on the same change: exactly one alert."""
    handler.file(SWEEP)
    account.iam.detach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)
    change = change_of(fresh_event("iam-DetachRolePolicy"))
    watchers = [make_watcher(stack) for _ in range(4)]
    barrier = threading.Barrier(len(watchers))
    errors: list[BaseException] = []
    alerted: list[str] = []

    def run(watcher: Watcher) -> None:
        try:
            barrier.wait()
            alerted.extend(watcher.handle_change(change).alert_ids)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(w,)) for w in watchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # a run that lost every race may give up with a retryable error; none may alert twice
    assert all("StateConflict" in type(e).__name__ or "InFlight" in type(e).__name__ for e in errors), errors
    alerts = stack.alerts()
    assert kinds(alerts) == [("LOST", ROLE_ARN)]
    assert alerted == [alerts[0]["alert_id"]]


def test_watched_change_run_summary_counts_iam_calls(stack: Stack, account: Account) -> None:
    """RunSummary.iam_calls is what the reader really called; an unwatched principal costs none."""
    watcher = make_watcher(stack)
    watcher.sweep()
    watched = watcher.handle_change(change_of(fresh_event("iam-DetachRolePolicy")))
    assert watched.iam_calls > 0
    unwatched = watcher.handle_change(
        change_of(fresh_event("iam-DetachRolePolicy", roleName="nobody", policyArn=POLICY_ARN))
    )
    assert unwatched.iam_calls == 0
    assert unwatched.results == []


def test_sweep_event_sample_parses_as_sweep() -> None:
    assert parse_lambda_event(load_event(SWEEP)).sweep_requested


# --- overlapping runs: evaluations ordered by when they read IAM (issue 10, item 14) ---------------


class Ticks:
    """One clock shared by every run of a test, a second further at each reading: the order of the
    reads is the order in which the runs took the time (thread-safe: one run may be in a thread)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self.now += timedelta(seconds=1)
            return self.now


class PausingReader(IamReader):
    """The real reader; before the sweep's listing named in ``before`` (``("User",)``, ...) is
    requested, it runs that callback: another run, an IAM change, in the middle of the sweep."""

    def __init__(self, before: dict[tuple[str, ...], Callable[[], object]]) -> None:
        super().__init__(boto3.client("iam"))
        self._before = before

    def filtered_pages(self, entity_filter: Any) -> Any:
        hook = self._before.pop(tuple(entity_filter), None)
        if hook is not None:
            hook()
        yield from super().filtered_pages(entity_filter)


class PausingStore(DynamoStateStore):
    """The real store; before the first save of ``principal`` it runs ``before``."""

    def __init__(self, table: str, principal: str, before: Callable[[], object]) -> None:
        super().__init__(table, client=boto3.client("dynamodb"))
        self._principal = principal
        self._before: Callable[[], object] | None = before

    def save(self, state: StoredState, *, expected_revision: int | None) -> None:
        if self._before is not None and state.principal == self._principal:
            before, self._before = self._before, None
            before()
        super().save(state, expected_revision=expected_revision)


def overlapping_sweep(
    stack: Stack, ticks: Ticks, before: dict[tuple[str, ...], Callable[[], object]], store: Any = None
) -> Watcher:
    """A watcher whose first reader pauses as ``PausingReader`` says (a principal read again gets a
    plain reader: nothing cached)."""
    readers: list[IamReader] = [PausingReader(before)]
    store = store or stack.store()
    return Watcher(
        SingleAccount(lambda: readers.pop() if readers else IamReader(boto3.client("iam"))),
        Outbox(
            store,
            SnsPublisher(stack.topic_arn, client=boto3.client("sns")),
            OutboxSettings(tag_key=TAG_KEY),
        ),
        ProfileRegistry.default(),
        WatchSettings(tag_key=TAG_KEY),
        clock=ticks,
    )


def role_results(summary: Any) -> list[Outcome]:
    return [r.outcome for r, c in zip(summary.results, summary.checks, strict=False) if c.arn == ROLE_ARN]


def test_sweep_that_read_the_role_after_a_change_run_did_wins_when_it_saves_last(
    stack: Stack, account: Account
) -> None:
    """A sweep begins (lists the managed policies), a change run reads the role and saves it
    compliant, the role's policy is detached, and the sweep reads the role's page after that. The
    sweep began first but read the role last: its LOST must not be dropped as older than the change
    run's read (it was, when a run was dated by its start)."""
    ticks = Ticks()
    make_watcher(stack, clock=ticks).sweep()  # the baseline: both compliant
    change_run = make_watcher(stack, clock=ticks)
    earlier = change_of(fresh_event("iam-AttachRolePolicy"))

    def change_run_then_detach() -> None:
        assert change_run.handle_change(earlier).results[0].outcome is Outcome.SAVED
        account.iam.detach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)

    sweep = overlapping_sweep(stack, ticks, {("User",): change_run_then_detach})
    summary = sweep.sweep()
    assert kinds(stack.alerts()) == [("LOST", ROLE_ARN)]
    assert summary.retry_reasons == []
    state = stack.store().get(ROLE_ARN, "veeam-ec2-restore")
    assert state is not None
    assert state.status is ComplianceStatus.NON_COMPLIANT


def test_change_run_that_read_the_role_before_a_sweep_did_cannot_overwrite_it(
    stack: Stack, account: Account
) -> None:
    """The issue's case: a sweep begins, a change run reads the role (compliant) and stalls before
    its write, the policy is detached, the sweep reads the role's page and saves LOST; then the
    change run writes its earlier read. It began after the sweep but read the role before the sweep
    did: it must not overwrite the sweep's LOST with a false RESTORED (it did, when a run was dated
    by its start). It reads the role again instead, and finds nothing new."""
    ticks = Ticks()
    make_watcher(stack, clock=ticks).sweep()
    read, go = threading.Event(), threading.Event()

    def stall() -> None:
        read.set()
        assert go.wait(timeout=60)

    change_run = make_watcher(stack, clock=ticks, store=PausingStore(stack.table, ROLE_ARN, stall))
    results: list[Any] = []
    thread = threading.Thread(
        target=lambda: results.append(
            change_run.handle_change(change_of(fresh_event("iam-AttachRolePolicy")))
        )
    )

    def change_run_reads_then_detach() -> None:
        thread.start()
        assert read.wait(timeout=60)  # the change run has read the role, compliant
        account.iam.detach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)

    overlapping_sweep(stack, ticks, {("User",): change_run_reads_then_detach}).sweep()
    assert kinds(stack.alerts()) == [("LOST", ROLE_ARN)]
    go.set()
    thread.join(timeout=60)
    (summary,) = results
    assert summary.retry_reasons == []
    assert [(r.outcome, c.status) for r, c in zip(summary.results, summary.checks, strict=True)] == [
        (Outcome.SAVED, ComplianceStatus.NON_COMPLIANT)  # read again: LOST, as the sweep saved it
    ]
    assert stack.alerts() == []  # no RESTORED
    state = stack.store().get(ROLE_ARN, "veeam-ec2-restore")
    assert state is not None
    assert state.status is ComplianceStatus.NON_COMPLIANT


def test_change_run_that_read_the_role_after_the_sweep_did_wins_when_the_sweep_saves_last(
    stack: Stack, account: Account
) -> None:
    """The reverse: the sweep reads the role's page (compliant) and stalls before its write; the
    policy is detached and a change run reads the role and saves LOST; the sweep's write comes
    last, and is stale (the change run read later, and read everything after the sweep began)."""
    ticks = Ticks()
    make_watcher(stack, clock=ticks).sweep()
    change_run = make_watcher(stack, clock=ticks)

    def detach_then_change_run() -> None:
        account.iam.detach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)
        change_run.handle_change(change_of(fresh_event("iam-DetachRolePolicy")))

    sweep = overlapping_sweep(
        stack, ticks, {}, store=PausingStore(stack.table, ROLE_ARN, detach_then_change_run)
    )
    summary = sweep.sweep()
    assert role_results(summary) == [Outcome.STALE]
    assert kinds(stack.alerts()) == [("LOST", ROLE_ARN)]


def test_sweep_page_read_after_a_policy_change_cannot_undo_it_with_the_policies_it_listed_before(
    stack: Stack, account: Account
) -> None:
    """Why a sweep's page is not dated by its own read alone: the sweep lists the managed policies
    first; then the restore policy gets a new default version without ec2:RunInstances and its
    change run saves LOST for the role and the user; then the sweep reads their pages, evaluates
    them with the policy version it listed before the change, and finds them compliant. Dated by the
    page read alone, that evaluation would look newer and alert a false RESTORED that only the next
    sweep repairs. The principals are read again instead: nothing new, no alert.

    A policy's default version is the one that applies:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html
    """
    ticks = Ticks()
    make_watcher(stack, clock=ticks).sweep()
    change_run = make_watcher(stack, clock=ticks)
    without_run_instances = [a for a in account.actions if a != "ec2:RunInstances"]

    def new_policy_version_and_its_change_run() -> None:
        account.iam.create_policy_version(
            PolicyArn=POLICY_ARN, PolicyDocument=policy_document(without_run_instances), SetAsDefault=True
        )
        change_run.handle_change(change_of(fresh_event("iam-CreatePolicyVersion")))

    assert sorted(kinds(stack.alerts())) == []
    sweep = overlapping_sweep(stack, ticks, {("Group",): new_policy_version_and_its_change_run})
    summary = sweep.sweep()
    assert sorted(kinds(stack.alerts())) == [("LOST", ROLE_ARN), ("LOST", USER_ARN)]
    assert summary.retry_reasons == []
    assert summary.count(ComplianceStatus.NON_COMPLIANT) == 2
    assert summary.count(ComplianceStatus.COMPLIANT) == 0


# --- a custom watch tag key (template parameter WatchTagKey) -----------------------------------------


@pytest.mark.parametrize("handler_env", [{"WATCH_TAG_KEY": "backup:profile"}], indirect=True)
def test_unwatched_alert_names_the_configured_tag_key(
    stack: Stack, account: Account, handler: Handler, handler_env: dict[str, str]
) -> None:
    """With WatchTagKey=backup:profile, the UNWATCHED alert (email text, headline, fix) tells people
    to re-tag with backup:profile: the default key would send them to a tag the watcher ignores."""
    role = "CustomTagRestoreRole"
    account.iam.create_role(
        RoleName=role,
        AssumeRolePolicyDocument=TRUST,
        Tags=[{"Key": "backup:profile", "Value": "veeam-ec2-restore"}],
    )
    account.iam.attach_role_policy(RoleName=role, PolicyArn=POLICY_ARN)
    handler.file(SWEEP)
    assert stack.alerts() == []
    account.iam.untag_role(RoleName=role, TagKeys=["backup:profile"])
    handler(fresh_event("iam-UntagRole", roleName=role, tagKeys=["backup:profile"]))
    (alert,) = stack.alerts()
    assert alert["kind"] == "UNWATCHED"
    words = "\n".join([alert["text"], alert["headline"], *alert["fix"]])
    assert "backup:profile" in alert["headline"]
    assert "backup:profile = veeam-ec2-restore" in "\n".join(alert["fix"])
    assert "restorewatch:profile" not in words
    assert "restorewatch:profile" not in json.dumps(alert)
