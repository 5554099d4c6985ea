"""SCPs from AWS Organizations and the central watcher of an organization, on moto.

moto's Organizations serves ListParents, ListPoliciesForTarget, DescribePolicy, MoveAccount and the
OU listings; moto's STS lets the central watcher assume a role in a member account (moto does not
check the role's trust policy: the trust is pinned in tests/template/test_member_stackset.py instead).

https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from integration.conftest import (
    ACCOUNT,
    PROFILE,
    TAG_KEY,
    TRUST,
    Handler,
    Stack,
    fresh_event,
    policy_document,
    profile_actions,
    sqs_batch,
)
from restorewatch.compliance import ComplianceStatus, ScpStatus, check_principal
from restorewatch.engine import AccountSnapshot
from restorewatch.engine.model import RequirementStatus
from restorewatch.inventory import AccountReaders, OrganizationsReader, OrganizationsScpSource
from restorewatch.profiles import ProfileRegistry
from restorewatch.watch.events import parse_lambda_event
from support.template import REPO_ROOT

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.slow  # an organization on moto, member accounts through STS (seconds each)

ROLE = "VeeamRestoreRole"
DENY_IAM_WRITES = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "DenyIamWrites", "Effect": "Deny", "Action": "iam:CreateRole", "Resource": "*"}
        ],
    }
)
ORG_SAMPLES = sorted(p.stem for p in (REPO_ROOT / "events").glob("organizations-*.json"))


@dataclass
class Org:
    org: Any
    root: str
    ou: str
    member: str
    scp: str  # DenyIamWrites, not attached yet
    queue_url: str

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.member}:role/{ROLE}"

    def member_iam(self) -> Any:
        readers = AccountReaders(sts_client=boto3.client("sts"))
        return readers.iam_client(self.member)

    def source(self) -> OrganizationsScpSource:
        return OrganizationsScpSource(OrganizationsReader(self.org))


def _run_as_central_watcher(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials of a role in the central account, instead of MOTO_ACCOUNT_ID: moto gives that
    variable priority over the access key, so with it set an assumed member role would still act in
    the central account. With role credentials, moto finds each request's account from its key."""
    credentials = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/RestoreWatchWatcher", RoleSessionName="watcher"
    )["Credentials"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", credentials["SessionToken"])
    monkeypatch.delenv("AWS_SECURITY_TOKEN", raising=False)
    monkeypatch.delenv("MOTO_ACCOUNT_ID")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # its credentials were resolved already
    assert boto3.client("sts").get_caller_identity()["Account"] == ACCOUNT


@pytest.fixture
def org(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Org:
    _run_as_central_watcher(monkeypatch)
    client = boto3.client("organizations")
    client.create_organization(FeatureSet="ALL")
    root = client.list_roots()["Roots"][0]["Id"]
    client.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    ou = client.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
    member = client.create_account(AccountName="prod-workloads", Email="prod@example.com")[
        "CreateAccountStatus"
    ]["AccountId"]
    client.move_account(AccountId=member, SourceParentId=root, DestinationParentId=ou)
    scp = client.create_policy(
        Content=DENY_IAM_WRITES,
        Description="no IAM writes",
        Name="DenyIamWrites",
        Type="SERVICE_CONTROL_POLICY",
    )["Policy"]["PolicySummary"]["Id"]
    queue_url = boto3.client("sqs").create_queue(QueueName=stack.local.physical_name("SweepQueue"))[
        "QueueUrl"
    ]
    made = Org(client, root, ou, member, scp, queue_url)
    iam = made.member_iam()
    policy = iam.create_policy(
        PolicyName="VeeamRestorePolicy", PolicyDocument=policy_document(profile_actions())
    )
    iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=TRUST, Tags=[{"Key": TAG_KEY, "Value": PROFILE}])
    iam.attach_role_policy(RoleName=ROLE, PolicyArn=policy["Policy"]["Arn"])
    assert iam.get_role(RoleName=ROLE)["Role"]["Arn"] == made.role_arn  # created in the member account
    return made


def _principal(org: Org, arn: str) -> Any:
    iam = org.member_iam()
    page = iam.get_account_authorization_details()
    return AccountSnapshot.from_pages([page]).principal(arn)


def _create_role_status(org: Org, source: OrganizationsScpSource, arn: str | None = None) -> Any:
    principal = _principal(org, arn or org.role_arn)
    profile = ProfileRegistry.default().get(PROFILE)
    scps = source.for_account(org.member)
    check = check_principal(principal, profile, scps.levels, coverage=scps.coverage)
    return check, next(a for a in check.actions if a.action == "iam:CreateRole")


def test_scp_levels_run_root_ou_account_and_are_named(org: Org) -> None:
    """Levels root -> OU -> account, each with FullAWSAccess (moto attaches it, as AWS does)."""
    source = org.source()
    scps = source.for_account(org.member)
    assert scps.coverage.status is ScpStatus.EVALUATED
    assert scps.levels is not None
    assert len(scps.levels) == 3
    assert [[e["Name"] for e in level] for level in scps.named_levels] == [["FullAWSAccess"]] * 3
    assert "OU Workloads" in scps.coverage.detail
    assert "prod-workloads" in scps.coverage.detail
    assert source.calls["ListParents"] == 2
    assert source.calls["DescribePolicy"] == 1


def test_scp_at_ou_denies_create_role_and_names_scp_ou(org: Org) -> None:
    """An explicit Deny in an SCP at an OU denies every account below it."""
    org.org.attach_policy(PolicyId=org.scp, TargetId=org.ou)
    check, create_role = _create_role_status(org, org.source())
    assert create_role.status is RequirementStatus.DENIED
    assert check.status is ComplianceStatus.NON_COMPLIANT
    message = " ".join(r.message for r in create_role.reasons)
    assert "DenyIamWrites (attached to OU Workloads" in message
    others = [a for a in check.actions if a.action != "iam:CreateRole"]
    assert all(a.status is RequirementStatus.ALLOWED for a in others)


def test_scp_at_root_and_account_levels(org: Org) -> None:
    """Attached at the root or at the account itself, the same Deny applies (each level counts)."""
    for target in (org.root, org.member):
        org.org.attach_policy(PolicyId=org.scp, TargetId=target)
        _, create_role = _create_role_status(org, org.source())
        assert create_role.status is RequirementStatus.DENIED
        org.org.detach_policy(PolicyId=org.scp, TargetId=target)
    _, create_role = _create_role_status(org, org.source())
    assert create_role.status is RequirementStatus.ALLOWED


def test_move_account_out_of_ou_drops_its_scps(org: Org) -> None:
    """MoveAccount changes the levels: out of the OU, the OU's SCP no longer applies."""
    org.org.attach_policy(PolicyId=org.scp, TargetId=org.ou)
    org.org.move_account(AccountId=org.member, SourceParentId=org.ou, DestinationParentId=org.root)
    source = org.source()
    assert len(source.for_account(org.member).named_levels) == 2
    _, create_role = _create_role_status(org, source)
    assert create_role.status is RequirementStatus.ALLOWED


def test_management_account_is_not_affected_by_scps(org: Org) -> None:
    """SCPs do not affect the management account (orgs_manage_policies_scps.html)."""
    org.org.attach_policy(PolicyId=org.scp, TargetId=org.root)
    coverage = org.source().for_account(ACCOUNT).coverage
    assert coverage.status is ScpStatus.NOT_APPLICABLE
    assert "management account" in coverage.detail


def test_service_linked_role_is_exempt_from_scps(org: Org) -> None:
    """ "SCPs don't affect service-linked roles" (orgs_manage_policies_scps.html): a role under
    /aws-service-role/ is checked without SCP levels, even with a Deny at its OU."""
    org.org.attach_policy(PolicyId=org.scp, TargetId=org.ou)
    iam = org.member_iam()
    iam.create_role(
        RoleName="AWSServiceRoleForBackup",
        Path="/aws-service-role/backup.amazonaws.com/",
        AssumeRolePolicyDocument=TRUST,
    )
    iam.put_role_policy(
        RoleName="AWSServiceRoleForBackup",
        PolicyName="all",
        PolicyDocument=policy_document(profile_actions()),
    )
    arn = f"arn:aws:iam::{org.member}:role/aws-service-role/backup.amazonaws.com/AWSServiceRoleForBackup"
    check, create_role = _create_role_status(org, org.source(), arn)
    assert create_role.status is RequirementStatus.ALLOWED
    assert check.scps is not None
    assert check.scps.status is ScpStatus.NOT_APPLICABLE


def test_not_in_an_organization_is_not_applicable(stack: Stack) -> None:
    """Without an organization there is no SCP: moto answers AWSOrganizationsNotInUseException."""
    source = OrganizationsScpSource(OrganizationsReader(boto3.client("organizations")))
    assert source.for_account(ACCOUNT).coverage.status is ScpStatus.NOT_APPLICABLE
    assert source.for_account(ACCOUNT).levels is None


# --- the central watcher, through the real handler ---------------------------------------------------


def _org_env(org: Org, stack: Stack) -> dict[str, str]:
    return {
        **stack.environment,
        "ORGANIZATION_MODE": "true",
        "SWEEP_QUEUE_URL": org.queue_url,
        "HOME_ACCOUNT_ID": ACCOUNT,
    }


def _drain(org: Org) -> list[str]:
    sqs = boto3.client("sqs")
    bodies: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=org.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=org.queue_url, ReceiptHandle=message["ReceiptHandle"])


def _run_fan_out(org: Org, handler: Handler) -> list[str]:
    """Deliver every enqueued account sweep to the handler, as the SQS event source would."""
    bodies = _drain(org)
    if bodies:
        result = handler(sqs_batch(*bodies))
        assert result["batchItemFailures"] == []
    return sorted(json.loads(b)["account"] for b in bodies)


def _sample(name: str, org: Org) -> dict[str, Any]:
    event = fresh_event(name)
    params = event["detail"]["requestParameters"] or {}  # service events have none
    ids = {
        "p-denyiamw1": org.scp,
        "ou-a1b2-workload1": org.ou,
        "r-a1b2": org.root,
        "444455556666": org.member,
    }
    if params:
        event["detail"]["requestParameters"] = {
            k: ids.get(v, v) if isinstance(v, str) else v for k, v in params.items()
        }
    if params.get("sourceParentId"):  # MoveAccount: out of the OU, back to the root
        event["detail"]["requestParameters"].update(sourceParentId=org.ou, destinationParentId=org.root)
    return event


@dataclass(frozen=True)
class OrgScenario:
    prepare: Callable[[Org], None]
    act: Callable[[Org], None]
    expected: tuple[str, ...]  # alert kinds for the member's restore role
    dispatched: bool = True


def _attach(o: Org) -> None:
    o.org.attach_policy(PolicyId=o.scp, TargetId=o.ou)


def _attach_s3_deny(o: Org) -> None:
    """The SCP first denies s3:* only; the UpdatePolicy sample then makes it deny iam:CreateRole."""
    o.org.update_policy(PolicyId=o.scp, Content=policy_document(["s3:*"], "Deny"))
    _attach(o)


def _nothing(_: Org) -> None:
    return None


def _close_another_account(o: Org) -> None:
    other = o.org.create_account(AccountName="retired", Email="retired@example.com")["CreateAccountStatus"]
    o.org.close_account(AccountId=other["AccountId"])


ORG_SCENARIOS = {
    "organizations-AttachPolicy": OrgScenario(_nothing, _attach, ("LOST",)),
    "organizations-DetachPolicy": OrgScenario(
        _attach, lambda o: o.org.detach_policy(PolicyId=o.scp, TargetId=o.ou), ("RESTORED",)
    ),
    "organizations-UpdatePolicy": OrgScenario(
        _attach_s3_deny,
        lambda o: o.org.update_policy(PolicyId=o.scp, Content=DENY_IAM_WRITES),
        ("LOST",),
    ),
    "organizations-DeletePolicy": OrgScenario(_nothing, _nothing, (), dispatched=False),
    "organizations-EnablePolicyType": OrgScenario(_attach, _nothing, ()),
    "organizations-DisablePolicyType": OrgScenario(
        _attach,
        lambda o: o.org.disable_policy_type(RootId=o.root, PolicyType="SERVICE_CONTROL_POLICY"),
        ("RESTORED",),
    ),
    # service-originated records (no userIdentity.type): accepted, and no SCP of the member changes
    "organizations-CreateAccountResult": OrgScenario(
        _attach,
        lambda o: o.org.create_account(AccountName="sandbox", Email="sandbox@example.com"),
        (),
        dispatched=False,
    ),
    "organizations-CloseAccountResult": OrgScenario(_attach, _close_another_account, (), dispatched=False),
    "organizations-MoveAccount": OrgScenario(
        _attach,
        lambda o: o.org.move_account(AccountId=o.member, SourceParentId=o.ou, DestinationParentId=o.root),
        ("RESTORED",),
    ),
}


def test_every_organizations_sample_has_a_scenario() -> None:
    assert sorted(ORG_SCENARIOS) == ORG_SAMPLES
    assert len(ORG_SAMPLES) >= 7


@pytest.mark.parametrize("name", ORG_SAMPLES)
def test_organizations_sample_through_handler(
    name: str,
    org: Org,
    stack: Stack,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """Each Organizations sample goes through the real handler of the central watcher: the change is
    mapped to the accounts below its target, one sweep per account is enqueued, and the member's
    sweep alerts (or does not) with the SCP, the OU and the account named."""
    handler: Handler = request.getfixturevalue("handler")
    # after the handler fixture, which sets the template's environment (OrganizationMode=false);
    # the watcher is built on the first invocation, so it sees these
    for key, value in _org_env(org, stack).items():
        monkeypatch.setenv(key, value)
    scenario = ORG_SCENARIOS[name]
    scenario.prepare(org)
    handler({"restorewatch": "sweep"})  # the scheduled sweep fans out over every account
    assert org.member in _run_fan_out(org, handler)
    stack.alerts()  # the baseline

    scenario.act(org)
    event = _sample(name, org)
    assert parse_lambda_event(event).changes[0].event_source == "organizations.amazonaws.com"
    handler(event)
    swept = _run_fan_out(org, handler)
    assert (org.member in swept) is scenario.dispatched
    alerts = [a for a in stack.alerts() if a["principal"]["arn"] == org.role_arn]
    assert [a["kind"] for a in alerts] == list(scenario.expected)
    for alert in alerts:
        assert alert["account"] == org.member
        assert alert["account_name"] == "prod-workloads"
        assert alert["trigger"]["eventName"] == event["detail"]["eventName"]
        if alert["kind"] == "LOST":
            assert alert["scps"]["status"] == "evaluated"
            text = alert["text"]
            assert "DenyIamWrites (attached to OU Workloads" in text
            assert f"{org.member} (prod-workloads)" in text
            denied = [c["action"] for c in alert["changed_actions"] if c["status"] == "denied"]
            assert denied == ["iam:CreateRole"]


# --- an account that cannot be read ------------------------------------------------------------------


def _deny_assume_role(account: str) -> Callable[..., Any]:
    """A botocore ``before-call`` hook on the watcher's STS client answering AccessDenied to
    ``AssumeRole`` into ``account`` (as AWS does when the member role's trust does not admit the
    watcher). moto's STS always lets a role be assumed, so the refusal is injected here, on the real
    client, and botocore raises it as the ``ClientError`` AWS would give."""
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    def hook(params: dict[str, Any], **_: Any) -> Any:
        if f":{account}:" not in params["body"].get("RoleArn", ""):
            return None
        error = {"Code": "AccessDenied", "Message": "not authorized to perform: sts:AssumeRole"}
        return AWSResponse("https://sts.amazonaws.com/", 403, HTTPHeaders(), None), {
            "Error": error,
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }

    return hook


def test_unreadable_account_is_unknown_for_that_account_only(
    org: Org, stack: Stack, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """One member account's role cannot be assumed (AccessDenied, injected by a botocore
    ``before-call`` hook on the watcher's own STS client, see ``_deny_assume_role``). The fan-out
    still sweeps every other account: the readable member's role is evaluated and alerted (LOST by
    an SCP at their OU); the unreadable account gets one UNKNOWN alert naming the account, its
    message alone fails (partial batch response, so SQS retries only it), and a second sweep does
    not repeat the alert."""
    handler: Handler = request.getfixturevalue("handler")
    for key, value in _org_env(org, stack).items():
        monkeypatch.setenv(key, value)
    broken = org.org.create_account(AccountName="locked-out", Email="locked@example.com")[
        "CreateAccountStatus"
    ]["AccountId"]
    org.org.move_account(AccountId=broken, SourceParentId=org.root, DestinationParentId=org.ou)
    readers = AccountReaders(sts_client=boto3.client("sts"))
    readers.iam_client(broken).create_role(
        RoleName=ROLE, AssumeRolePolicyDocument=TRUST, Tags=[{"Key": TAG_KEY, "Value": PROFILE}]
    )
    _attach(org)  # the readable member's restore role loses iam:CreateRole
    deny = _deny_assume_role(broken)

    def sweep() -> tuple[list[str], list[dict[str, Any]]]:
        handler({"restorewatch": "sweep"})  # the watcher (and its STS client) exists from here on
        handler.clients["sts"].meta.events.register(
            "before-call.sts.AssumeRole",
            deny,
            unique_id="deny-locked-out",  # once, however often
        )
        bodies = _drain(org)
        batch = sqs_batch(*bodies)
        accounts = {r["messageId"]: json.loads(r["body"])["account"] for r in batch["Records"]}
        assert sorted(accounts.values()) == sorted([ACCOUNT, org.member, broken])
        failures = handler(batch)["batchItemFailures"]
        return [accounts[f["itemIdentifier"]] for f in failures], stack.alerts()

    failed, alerts = sweep()
    assert failed == [broken]
    by_account = {a["account"]: a for a in alerts}
    assert sorted(by_account) == sorted([org.member, broken])
    lost = by_account[org.member]
    assert (lost["kind"], lost["principal"]["arn"]) == ("LOST", org.role_arn)
    unknown = [a for a in alerts if a["account"] == broken]
    assert [(a["kind"], a["principal"]["arn"]) for a in unknown] == [
        ("UNKNOWN", f"arn:aws:iam::{broken}:root")
    ]
    assert "AccessDenied" in unknown[0]["text"]
    assert f"arn:aws:iam::{broken}:role/RestoreWatchMemberReader" in unknown[0]["text"]
    assert unknown[0]["account_name"] == "locked-out"

    failed, alerts = sweep()  # still unreadable: retried, but no second alert
    assert failed == [broken]
    assert alerts == []


# --- the central table: one account's states, not the whole table ------------------------------------


def test_member_runs_read_their_own_accounts_states_through_the_index(
    org: Org, stack: Stack, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """The central table holds every member account's states. A member account's sweep and a member
    account's IAM event read that account's states through the ``by-account`` index: never a Scan of
    the whole table, which would make a 100-account sweep read 100 tables' worth of items."""
    handler: Handler = request.getfixturevalue("handler")
    for key, value in _org_env(org, stack).items():
        monkeypatch.setenv(key, value)
    handler({"restorewatch": "sweep"})
    assert org.member in _run_fan_out(org, handler)
    stack.alerts()  # the baseline
    reads: list[tuple[str, str | None, str | None]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.name in ("Scan", "Query"):
            values = params.get("ExpressionAttributeValues", {})
            reads.append((model.name, params.get("IndexName"), values.get(":account", {}).get("S")))

    handler.clients["dynamodb"].meta.events.register("before-parameter-build.dynamodb.*", record)
    org.member_iam().detach_role_policy(
        RoleName=ROLE, PolicyArn=f"arn:aws:iam::{org.member}:policy/VeeamRestorePolicy"
    )
    event = json.loads(json.dumps(fresh_event("iam-DetachRolePolicy")).replace(ACCOUNT, org.member))
    handler(sqs_batch(event))
    assert reads == [("Query", "by-account", org.member)]
    alerts = stack.alerts()
    assert [(a["kind"], a["principal"]["arn"]) for a in alerts] == [("LOST", org.role_arn)]

    reads.clear()
    handler({"restorewatch": "sweep"})
    swept = _run_fan_out(org, handler)
    scans = [read for read in reads if read[0] == "Scan"]
    assert scans == []
    assert sorted({account or "" for _, _, account in reads}) == sorted(swept)
    assert stack.alerts() == []  # nothing changed since: no repeat


def test_member_event_that_needs_a_sweep_sweeps_only_that_account(
    org: Org, stack: Stack, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """An IAM event the watcher does not map to principals (here UpdateAssumeRolePolicy, forwarded
    by a wider rule than the template's) means a sweep, but of the account it happened in: the
    central watcher enqueues that account's sweep alone, not a sweep of every account."""
    handler: Handler = request.getfixturevalue("handler")
    for key, value in _org_env(org, stack).items():
        monkeypatch.setenv(key, value)
    org.member_iam().detach_role_policy(
        RoleName=ROLE, PolicyArn=f"arn:aws:iam::{org.member}:policy/VeeamRestorePolicy"
    )
    event = json.loads(json.dumps(fresh_event("iam-DetachRolePolicy")).replace(ACCOUNT, org.member))
    event["detail"]["eventName"] = "UpdateAssumeRolePolicy"
    event["detail"]["requestParameters"] = {"roleName": ROLE, "policyDocument": TRUST}
    assert handler(sqs_batch(event))["batchItemFailures"] == []
    assert _run_fan_out(org, handler) == [org.member]
    alerts = stack.alerts()
    assert [(a["kind"], a["principal"]["arn"]) for a in alerts] == [("LOST", org.role_arn)]


def test_a_batch_of_member_events_needing_a_sweep_enqueues_one(
    org: Org, stack: Stack, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """Two unmapped events from the same member in one batch: one account sweep is enqueued."""
    handler: Handler = request.getfixturevalue("handler")
    for key, value in _org_env(org, stack).items():
        monkeypatch.setenv(key, value)
    events = []
    for _ in range(2):
        event = json.loads(json.dumps(fresh_event("iam-DetachRolePolicy")).replace(ACCOUNT, org.member))
        event["detail"]["eventName"] = "UpdateAssumeRolePolicy"
        event["detail"]["requestParameters"] = {"roleName": ROLE, "policyDocument": TRUST}
        events.append(event)
    assert handler(sqs_batch(*events))["batchItemFailures"] == []
    assert [json.loads(body)["account"] for body in _drain(org)] == [org.member]


# --- Organizations unreadable: fail closed, never a false RESTORED (issue 10, item 1) ---------------

DENY_RUN_INSTANCES = policy_document(["ec2:RunInstances"], "Deny")


def _member_sweep(org: Org, handler: Handler) -> list[str]:
    """The scheduled sweep, then every account sweep it enqueued; returns the accounts whose sweep
    message failed (SQS would deliver it again)."""
    handler({"restorewatch": "sweep"})
    bodies = _drain(org)
    batch = sqs_batch(*bodies)
    accounts = {r["messageId"]: json.loads(r["body"])["account"] for r in batch["Records"]}
    assert org.member in accounts.values()
    return [accounts[f["itemIdentifier"]] for f in handler(batch)["batchItemFailures"]]


def _role_alerts(org: Org, stack: Stack) -> list[dict[str, Any]]:
    return [a for a in stack.alerts() if a["principal"]["arn"] == org.role_arn]


def _role_state(org: Org, stack: Stack) -> Any:
    state = stack.store().get(org.role_arn, PROFILE)
    assert state is not None
    return state


def _central_watcher(
    org: Org, stack: Stack, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Handler:
    handler: Handler = request.getfixturevalue("handler")
    for key, value in _org_env(org, stack).items():
        monkeypatch.setenv(key, value)
    return handler


def _faults_on_organizations(handler: Handler, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A ``FaultInjector`` on the watcher's own Organizations client (built on its cold start), its
    production retry policy kept and only the backoff waits taken out (tests/faults/injection.py)."""
    from faults.injection import FaultInjector, no_backoff_sleep

    no_backoff_sleep(monkeypatch)
    injector = FaultInjector()
    injector.attach(handler.clients["organizations"])
    return injector


TOO_MANY_REQUESTS_NAME = "TooManyRequestsException"


@pytest.mark.parametrize(
    "case",
    [
        (code, removed)
        for code in (TOO_MANY_REQUESTS_NAME, "AccessDeniedException")
        for removed in (False, True)
    ],
    ids=lambda case: f"{case[0]}-{'scp-removed' if case[1] else 'still-denied'}",
)
def test_organizations_unreadable_after_an_scp_loss_is_unknown_never_restored(
    case: tuple[str, bool],
    org: Org,
    stack: Stack,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """Issue 10, item 1, through the real handler of the central watcher on moto. A role is LOST
    because an SCP at the root denies ec2:RunInstances. Then Organizations answers
    ``ListPoliciesForTarget`` with TooManyRequestsException (every attempt of botocore's retries) or
    AccessDeniedException: the check knows less than the stored state (SCPs were evaluated), so it
    is fail-closed: UNKNOWN naming the failed call, never RESTORED, the stored state not compliant
    and its ``scps_evaluated`` mark kept. A second sweep still failing alerts nothing. Readable
    again: LOST if the SCP still denies (unknown -> denied is news), RESTORED if it was removed.

    An SCP denies what it names at every level below where it is attached:
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
    """
    from faults.injection import Fault, Mode

    code, scp_removed_meanwhile = case
    handler = _central_watcher(org, stack, monkeypatch, request)
    deny = org.org.create_policy(
        Content=DENY_RUN_INSTANCES, Description="", Name="DenyRunInstances", Type="SERVICE_CONTROL_POLICY"
    )["Policy"]["PolicySummary"]["Id"]
    org.org.attach_policy(PolicyId=deny, TargetId=org.root)
    assert _member_sweep(org, handler) == []
    (lost,) = _role_alerts(org, stack)
    assert lost["kind"] == "LOST"
    assert [c["action"] for c in lost["changed_actions"] if c["status"] == "denied"] == ["ec2:RunInstances"]

    injector = _faults_on_organizations(handler, monkeypatch)
    status = 400 if code == TOO_MANY_REQUESTS_NAME else 403
    injector.inject("organizations.ListPoliciesForTarget", Fault(code, status, code, code), Mode.EVERY)
    transient = code == TOO_MANY_REQUESTS_NAME
    failed = _member_sweep(org, handler)
    assert failed == ([org.member] if transient else [])  # throttling: the account's sweep is retried
    (unknown,) = _role_alerts(org, stack)
    assert unknown["kind"] == "UNKNOWN"
    assert unknown["error"].startswith("organizations ListPoliciesForTarget on ")
    assert code in unknown["error"]
    assert f"organizations ListPoliciesForTarget on {org.root} failed: {code}" in unknown["text"]
    assert unknown["scps"]["status"] == "not_evaluated"
    assert {c["status"] for c in unknown["changed_actions"]} == {"unknown"}
    state = _role_state(org, stack)
    assert state.status is ComplianceStatus.UNKNOWN
    assert set(state.actions.values()) == {RequirementStatus.UNKNOWN}
    assert state.scps_evaluated

    if scp_removed_meanwhile:
        org.org.detach_policy(PolicyId=deny, TargetId=org.root)
    assert _member_sweep(org, handler) == failed  # still unreadable: no new alert
    assert _role_alerts(org, stack) == []
    assert _role_state(org, stack).status is ComplianceStatus.UNKNOWN

    injector.clear()
    assert _member_sweep(org, handler) == []
    (after,) = _role_alerts(org, stack)
    if scp_removed_meanwhile:
        assert after["kind"] == "RESTORED"
        assert _role_state(org, stack).status is ComplianceStatus.COMPLIANT
    else:
        assert after["kind"] == "LOST"
        assert [c["action"] for c in after["changed_actions"] if c["status"] == "denied"] == [
            "ec2:RunInstances"
        ]
        assert "DenyRunInstances (attached to root" in after["text"]
    assert _role_state(org, stack).scps_evaluated


@pytest.mark.parametrize("code", [TOO_MANY_REQUESTS_NAME, "AccessDeniedException"])
def test_organizations_unreadable_at_first_sight(
    code: str, org: Org, stack: Stack, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """First sight of a role whose identity policies allow every restore action. Throttled
    Organizations: whether an SCP denies is not known, so the role is UNKNOWN (not compliant) and
    the account's sweep is retried. AccessDenied from the start is the documented "SCPs not
    evaluated" mode of a watcher that cannot read Organizations: the identity answer stands,
    said as not evaluated, and nothing is marked as evaluated."""
    from faults.injection import Fault, Mode

    handler = _central_watcher(org, stack, monkeypatch, request)
    handler({"restorewatch": "sweep"})  # cold start: builds the clients, enqueues the account sweeps
    injector = _faults_on_organizations(handler, monkeypatch)
    status = 400 if code == TOO_MANY_REQUESTS_NAME else 403
    injector.inject("organizations.ListPoliciesForTarget", Fault(code, status, code, code), Mode.EVERY)
    bodies = _drain(org)
    batch = sqs_batch(*bodies)
    accounts = {r["messageId"]: json.loads(r["body"])["account"] for r in batch["Records"]}
    failed = [accounts[f["itemIdentifier"]] for f in handler(batch)["batchItemFailures"]]
    alerts = _role_alerts(org, stack)
    state = _role_state(org, stack)
    if code == TOO_MANY_REQUESTS_NAME:
        assert failed == [org.member]
        assert [(a["kind"], a["first_sight"]) for a in alerts] == [("UNKNOWN", True)]
        assert TOO_MANY_REQUESTS_NAME in alerts[0]["error"]
        assert state.status is ComplianceStatus.UNKNOWN
    else:
        assert failed == []
        assert alerts == []
        assert state.status is ComplianceStatus.COMPLIANT
    assert not state.scps_evaluated


def test_organizations_reads_get_the_same_retry_policy_as_iam_reads(
    org: Org, stack: Stack, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """The watcher's Organizations client is built like its IAM client (``inventory.make_client``):
    botocore's adaptive retries, and ``AWS_MAX_ATTEMPTS`` (8 in the template) counting every
    attempt. Pinned on the clients the handler really builds, and by counting the attempts a
    throttled ``ListPoliciesForTarget`` gets before it becomes a ``ReadError``."""
    from faults.injection import Fault, Mode

    handler = _central_watcher(org, stack, monkeypatch, request)
    handler({"restorewatch": "sweep"})
    organizations, iam = handler.clients["organizations"], handler.clients["iam"]
    assert organizations.meta.config.retries == iam.meta.config.retries
    attempts = int(stack.environment["AWS_MAX_ATTEMPTS"])
    assert organizations.meta.config.retries == {"mode": "adaptive", "total_max_attempts": attempts}
    injector = _faults_on_organizations(handler, monkeypatch)
    throttled = Fault(TOO_MANY_REQUESTS_NAME, 400, TOO_MANY_REQUESTS_NAME, TOO_MANY_REQUESTS_NAME)
    injector.inject("organizations.ListPoliciesForTarget", throttled, Mode.EVERY)
    handler(sqs_batch(*_drain(org)))
    assert injector.calls["organizations.ListPoliciesForTarget"] == 1  # one read, cached for the run
    assert injector.attempts["organizations.ListPoliciesForTarget"] == attempts
