"""templates/regional-forwarder.yaml: bucket policy and KMS key changes reach the RestoreWatch region.

Those calls are regional CloudTrail management events: EventBridge receives each only in the region of
the bucket or key. The forwarder, deployed in every other region, sends them to the default bus of
``CentralRegion``. These tests check, on moto's EventBridge, which events each rule forwards (moto's
own pattern matcher decides), that a forwarded event arrives in the central region unchanged and is
never forwarded again, and, as data, the role, the dead-letter queue and the alarms.

moto gaps worked around: ``TestEventPattern`` is not implemented (so rules are created on moto's bus
with the template's resolved pattern and an SQS queue standing in for each target, as
tests/security/test_tamper.py does); moto's matcher does not look inside arrays of objects, so the
``RepositoryKeys`` filter (``detail.resources.ARN``) is checked as data only; moto ignores a target's
``RoleArn`` and rewrites a forwarded event's ``region``/``account`` to the receiving bus's, so only
``source``, ``detail-type`` and ``detail`` are compared after forwarding.

AWS docs:
- CloudTrail events on EventBridge: https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-cloudtrail.html
- cross-Region bus targets: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-region.html
- event patterns (exists, arrays): https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
- S3 bucket-level CloudTrail records (requestParameters.bucketName):
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-understanding-s3-entries.html
- KMS CloudTrail records (resources[].ARN names the key):
  https://docs.aws.amazon.com/kms/latest/developerguide/logging-using-cloudtrail.html
- EventBridge metrics (FailedInvocations, InvocationsFailedToBeSentToDlq):
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html
- dead-letter queues and retry policy: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from restorewatch.engine import AccountSnapshot, Principal, RequestDecision, decide_request
from restorewatch.watch.event_table import EVENT_TABLE, rule_event_names
from restorewatch_cli.local.template import LocalStack
from support.deployed import Deployed
from support.template import REPO_ROOT, load_template

if TYPE_CHECKING:
    from collections.abc import Iterator

FORWARDER_PATH = REPO_ROOT / "templates" / "regional-forwarder.yaml"
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "regional-events"
ACCOUNT, STACK = "111122223333", "restorewatch-forwarder"
REGION, CENTRAL = "eu-west-1", "us-east-1"
BUCKET = "my-veeam-backups"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"

# The rule of each service, and the calls that change who may use a bucket or a key (the S3 and KMS
# API references): what the forwarder must send until the watcher's event table lists them itself.
RULES = {"BucketPolicyChangeRule": "aws.s3", "KeyChangeRule": "aws.kms"}
REGIONAL_EVENTS = {
    "aws.s3": frozenset({"PutBucketPolicy", "DeleteBucketPolicy"}),
    "aws.kms": frozenset(
        {
            "PutKeyPolicy",
            "DisableKey",
            "EnableKey",
            "ScheduleKeyDeletion",
            "CancelKeyDeletion",
            "CreateGrant",
            "RevokeGrant",
        }
    ),
}
SAMPLES = sorted(path.stem for path in FIXTURES.glob("*.json"))
# Same source, not a change of who may use the bucket or key: never forwarded.
OTHER_CALLS = {
    "aws.s3": ["PutBucketAcl", "GetBucketPolicy", "PutObject"],
    "aws.kms": ["Decrypt", "TagResource"],
}


class Forwarder(LocalStack):
    """The forwarder template resolved for a stack deployed in ``region`` (list parameters as lists,
    the rules' fixed names, ARNs of rules, queues, topics and the role)."""

    def __init__(self, region: str = REGION, **parameters: Any) -> None:
        super().__init__(load_template(FORWARDER_PATH), account=ACCOUNT, stack=STACK, region=region)
        for name, spec in self.template["Parameters"].items():
            if spec["Type"] == "CommaDelimitedList":
                self.parameters[name] = str(spec.get("Default", "")).split(",")
        self.parameters.update(parameters)

    def physical_name(self, logical_id: str) -> str:
        explicit = (self.resources[logical_id].get("Properties") or {}).get("Name")
        return str(self.resolve(explicit)) if explicit else f"{self.stack}-{logical_id}-1A2B3C4D5E6F"

    def arn(self, logical_id: str) -> str:
        kind, name = self.resources[logical_id]["Type"], self.physical_name(logical_id)
        if kind == "AWS::Events::Rule":
            return f"arn:aws:events:{self.region}:{ACCOUNT}:rule/{name}"
        if kind == "AWS::IAM::Role":
            return f"arn:aws:iam::{ACCOUNT}:role/{name}"
        return super().arn(logical_id)

    def properties(self, logical_id: str) -> dict[str, Any]:
        resolved: dict[str, Any] = self.resolve(self.resources[logical_id]["Properties"])
        return resolved

    def assertion(self, rule: str) -> bool:
        (assertion,) = self.template["Rules"][rule]["Assertions"]
        return bool(self.resolve(assertion["Assert"]))


def sample(name: str, region: str = REGION) -> dict[str, Any]:
    """A CloudTrail record as EventBridge delivers it in ``region`` (where the call was made)."""
    event: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    event["region"] = event["detail"]["awsRegion"] = region
    return event


def entry(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
        "Resources": event["resources"],
    }


class Region:
    """moto's default bus of one region, with queues standing in for targets: what arrives where?"""

    def __init__(self, name: str) -> None:
        self.name = name
        self.events = boto3.client("events", region_name=name)
        self.sqs = boto3.client("sqs", region_name=name)

    def inbox(self, name: str) -> str:
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn: str = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return arn

    def rule(self, name: str, pattern: dict[str, Any], targets: list[dict[str, Any]]) -> None:
        self.events.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")
        self.events.put_targets(Rule=name, Targets=targets)

    def capture(self, name: str, pattern: dict[str, Any] | None = None) -> None:
        """Every S3 and KMS event arriving on this bus also goes to queue ``name``."""
        everything = {"source": ["aws.s3", "aws.kms"]}
        self.rule(name, pattern or everything, [{"Id": "inbox", "Arn": self.inbox(name)}])

    def put(self, event: dict[str, Any]) -> None:
        assert self.events.put_events(Entries=[entry(event)])["FailedEntryCount"] == 0

    def received(self, queue: str) -> list[dict[str, Any]]:
        url = self.sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(message["Body"]) for message in messages]


def deploy(forwarder: Forwarder, region: Region, *, stand_in: bool) -> None:
    """The forwarder's rules on ``region``'s bus: with their real targets (the central bus), or with
    a queue named after the rule standing in for it."""
    for logical_id in RULES:
        properties = forwarder.properties(logical_id)
        (target,) = properties["Targets"]
        if stand_in:
            target = {"Id": target["Id"], "Arn": region.inbox(logical_id)}
        region.rule(properties["Name"], properties["EventPattern"], [target])


def forwarded_by(region: Region) -> dict[str, list[str]]:
    return {
        logical_id: [e["detail"]["eventName"] for e in region.received(logical_id)] for logical_id in RULES
    }


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)  # the bus ARNs the template builds name this account
    with mock_aws():
        yield


# ---------------------------------------------------------------------------- the event patterns


def test_samples_cover_every_forwarded_call() -> None:
    every_call = REGIONAL_EVENTS["aws.s3"] | REGIONAL_EVENTS["aws.kms"]
    assert {name.split("-", 1)[1] for name in SAMPLES} == every_call


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("name", SAMPLES)
def test_each_call_is_forwarded_by_its_rule_only(name: str) -> None:
    region = Region(REGION)
    deploy(Forwarder(), region, stand_in=True)
    event = sample(name)
    region.put(event)
    expected = {
        rule: ([event["detail"]["eventName"]] if RULES[rule] == event["source"] else []) for rule in RULES
    }
    assert forwarded_by(region) == expected


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("name", SAMPLES)
def test_failed_calls_other_calls_and_calls_of_other_regions_are_not_forwarded(name: str) -> None:
    region = Region(REGION)
    deploy(Forwarder(), region, stand_in=True)
    event = sample(name)
    failed = copy.deepcopy(event)
    failed["detail"].update(errorCode="AccessDenied", errorMessage="User is not authorized")
    elsewhere = copy.deepcopy(event)  # a record of another region: one forwarded to this bus
    elsewhere["detail"]["awsRegion"] = "eu-central-1"
    others = []
    for call in OTHER_CALLS[event["source"]]:
        other = copy.deepcopy(event)
        other["detail"]["eventName"] = call
        others.append(other)
    iam = copy.deepcopy(event)
    iam.update(source="aws.iam")
    iam["detail"]["eventSource"] = "iam.amazonaws.com"
    for unwanted in (failed, elsewhere, iam, *others):
        region.put(unwanted)
    assert forwarded_by(region) == {rule: [] for rule in RULES}


@pytest.mark.usefixtures("aws")
def test_repository_buckets_limit_the_bucket_rule_to_those_buckets() -> None:
    region = Region(REGION)
    deploy(Forwarder(RepositoryBuckets=[BUCKET, "other-repository"]), region, stand_in=True)
    for bucket in (BUCKET, "someone-elses-bucket", "other-repository"):
        event = sample("s3-PutBucketPolicy")
        event["detail"]["requestParameters"]["bucketName"] = bucket
        region.put(event)
    received = region.received("BucketPolicyChangeRule")
    assert [e["detail"]["requestParameters"]["bucketName"] for e in received] == [BUCKET, "other-repository"]


def test_repository_keys_limit_the_key_rule_to_those_keys_by_arn() -> None:
    """As data (moto's matcher does not look inside arrays of objects): the key rule matches
    ``detail.resources[].ARN``, which KMS's CloudTrail records always give as the key's ARN, whether
    the caller named the key by id or ARN; without the parameter the pattern has no such field."""
    keys = [KEY_ARN, f"arn:aws:kms:{REGION}:{ACCOUNT}:key/mrk-0123456789abcdef0123456789abcdef"]
    filtered = Forwarder(RepositoryKeys=keys).properties("KeyChangeRule")["EventPattern"]["detail"]
    assert filtered["resources"] == {"ARN": keys}
    assert "resources" not in Forwarder().properties("KeyChangeRule")["EventPattern"]["detail"]
    assert sample("kms-EnableKey")["detail"]["resources"][0]["ARN"] == KEY_ARN  # the samples say so too
    every_bucket = Forwarder().properties("BucketPolicyChangeRule")["EventPattern"]["detail"]
    assert "requestParameters" not in every_bucket


# --------------------------------------------------------------- across regions, and never twice


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("name", SAMPLES)
def test_a_forwarded_event_arrives_once_on_the_central_bus_unchanged(name: str) -> None:
    """moto delivers to a cross-region bus target (``events_backends[account][region].put_events``)."""
    here, central = Region(REGION), Region(CENTRAL)
    central.capture("central")
    deploy(Forwarder(), here, stand_in=False)
    event = sample(name)
    here.put(event)
    (arrived,) = central.received("central")
    kept = ("source", "detail-type", "detail")
    assert {k: arrived[k] for k in kept} == {k: event[k] for k in kept}


@pytest.mark.usefixtures("aws")
def test_two_forwarders_naming_each_other_do_not_loop() -> None:
    """The misconfiguration that could loop (each region's forwarder names the other as central):
    the rules match only records of their own region (``detail.awsRegion``, passed on unchanged), so
    the event crosses once. Without that guard moto recurses without end here."""
    west, central = Region("eu-west-1"), Region("eu-central-1")
    deploy(Forwarder("eu-west-1", CentralRegion="eu-central-1"), west, stand_in=False)
    deploy(Forwarder("eu-central-1", CentralRegion="eu-west-1"), central, stand_in=False)
    west.capture("west")
    central.capture("central")
    west.put(sample("kms-PutKeyPolicy", "eu-west-1"))
    assert [e["detail"]["eventName"] for e in central.received("central")] == ["PutKeyPolicy"]
    assert [e["detail"]["eventName"] for e in west.received("west")] == ["PutKeyPolicy"]  # the original only


def test_refused_in_the_central_region_and_without_a_way_to_hear_its_alarms() -> None:
    assert not Forwarder(CENTRAL, AlertEmail="oncall@example.com").assertion("NotInCentralRegion")
    assert not Forwarder("eu-central-1", CentralRegion="eu-central-1").assertion("NotInCentralRegion")
    assert Forwarder(REGION).assertion("NotInCentralRegion")
    assert not Forwarder().assertion("AlarmsReachSomeone")
    assert Forwarder(AlertEmail="oncall@example.com").assertion("AlarmsReachSomeone")
    assert Forwarder(AlarmTopicArn=f"arn:aws:sns:{REGION}:{ACCOUNT}:ops").assertion("AlarmsReachSomeone")


# ----------------------------------------------------------------- role, dead letters, alarms


def test_the_role_may_only_put_events_on_the_central_bus_for_these_two_rules() -> None:
    forwarder = Forwarder()
    role = forwarder.properties("ForwarderRole")
    (policy,) = role["Policies"]
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Action": "events:PutEvents",
            "Resource": f"arn:aws:events:{CENTRAL}:{ACCOUNT}:event-bus/default",
        }
    ]
    assert "ManagedPolicyArns" not in role
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert sorted(trust["Condition"]["ArnEquals"]["aws:SourceArn"]) == sorted(forwarder.arn(r) for r in RULES)
    for rule in RULES:
        (target,) = forwarder.properties(rule)["Targets"]
        assert target["Arn"] == f"arn:aws:events:{CENTRAL}:{ACCOUNT}:event-bus/default"
        assert target["RoleArn"] == forwarder.arn("ForwarderRole")
    iam_resources = [r for r in forwarder.resources.values() if r["Type"].startswith("AWS::IAM::")]
    assert len(iam_resources) == 1


def _forwarder_role() -> Principal:
    forwarder = Forwarder()
    role = forwarder.properties("ForwarderRole")
    arn = forwarder.arn("ForwarderRole")
    page = {
        "UserDetailList": [],
        "GroupDetailList": [],
        "RoleDetailList": [
            {
                "Path": "/",
                "RoleName": forwarder.physical_name("ForwarderRole"),
                "RoleId": "AROAFORWARDERROLEEXAMPLE",
                "Arn": arn,
                "AssumeRolePolicyDocument": role["AssumeRolePolicyDocument"],
                "RolePolicyList": role["Policies"],
                "AttachedManagedPolicies": [],
                "Tags": [],
            }
        ],
        "Policies": [],
    }
    return AccountSnapshot.from_pages([page]).principal(arn)


@pytest.mark.parametrize(
    ("action", "resource", "expected"),
    [
        (
            "events:PutEvents",
            f"arn:aws:events:{CENTRAL}:{ACCOUNT}:event-bus/default",
            RequestDecision.ALLOWED,
        ),
        (
            "events:PutEvents",
            f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default",
            RequestDecision.IMPLICIT_DENY,
        ),
        (
            "events:PutEvents",
            f"arn:aws:events:{CENTRAL}:{ACCOUNT}:event-bus/other",
            RequestDecision.IMPLICIT_DENY,
        ),
        (
            "events:PutEvents",
            f"arn:aws:events:{CENTRAL}:444455556666:event-bus/default",
            RequestDecision.IMPLICIT_DENY,
        ),
        (
            "events:PutRule",
            f"arn:aws:events:{CENTRAL}:{ACCOUNT}:rule/anything",
            RequestDecision.IMPLICIT_DENY,
        ),
        ("sqs:SendMessage", "*", RequestDecision.IMPLICIT_DENY),
        ("iam:PassRole", "*", RequestDecision.IMPLICIT_DENY),
    ],
)
def test_the_role_grants_put_events_on_the_central_default_bus_and_nothing_else(
    action: str, resource: str, expected: RequestDecision
) -> None:
    """The role's policy evaluated by RestoreWatch's own engine, as AWS evaluates an identity policy
    with no other policy in play: an Allow must match the action and the resource, anything else is
    an implicit deny. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"""
    result = decide_request(_forwarder_role(), action, resource)
    assert result.decision is expected, result.explanation


def test_undeliverable_events_are_retried_a_day_then_kept_encrypted_in_the_dead_letter_queue() -> None:
    forwarder = Forwarder()
    queue = forwarder.properties("ForwarderDeadLetterQueue")
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    dlq_arn = forwarder.arn("ForwarderDeadLetterQueue")
    for rule in RULES:
        (target,) = forwarder.properties(rule)["Targets"]
        assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
        assert target["DeadLetterConfig"] == {"Arn": dlq_arn}
    (statement,) = forwarder.properties("ForwarderDeadLetterQueuePolicy")["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == dlq_arn
    assert sorted(statement["Condition"]["ArnEquals"]["aws:SourceArn"]) == sorted(
        forwarder.arn(r) for r in RULES
    )


@pytest.mark.parametrize(
    ("parameters", "topic"),
    [
        (
            {"AlertEmail": "oncall@example.com"},
            f"arn:aws:sns:{REGION}:{ACCOUNT}:{STACK}-AlarmTopic-1A2B3C4D5E6F",
        ),
        ({"AlarmTopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:ops"}, f"arn:aws:sns:{REGION}:{ACCOUNT}:ops"),
    ],
)
def test_both_alarms_publish_to_the_topic_in_this_region(parameters: dict[str, str], topic: str) -> None:
    forwarder = Forwarder(**parameters)
    created = "AlertEmail" in parameters
    assert forwarder.condition_holds("CreateAlarmTopic") is created
    assert forwarder.condition_holds("SubscribeAlertEmail") is created
    failed = forwarder.properties("ForwarderFailedAlarm")
    parked = forwarder.properties("ForwarderDeadLetterQueueAlarm")
    for alarm in (failed, parked):
        assert alarm["AlarmActions"] == alarm["OKActions"] == [topic]
        assert alarm["AlarmName"].startswith(f"{STACK}-")  # the created topic's policy admits these only
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    watched = {
        (m["MetricStat"]["Metric"]["MetricName"], m["MetricStat"]["Metric"]["Dimensions"][0]["Value"])
        for m in failed["Metrics"]
        if "MetricStat" in m
    }
    rule_names = {forwarder.physical_name(rule) for rule in RULES}
    assert watched == {
        (m, r) for m in ("FailedInvocations", "InvocationsFailedToBeSentToDlq") for r in rule_names
    }
    (returned,) = [m for m in failed["Metrics"] if m["ReturnData"]]  # every metric, missing data as 0
    summed = [m["Id"] for m in failed["Metrics"] if "MetricStat" in m]
    assert returned["Expression"] == " + ".join(f"FILL({m}, 0)" for m in summed)
    queue_name = forwarder.physical_name("ForwarderDeadLetterQueue")
    assert parked["Dimensions"] == [{"Name": "QueueName", "Value": queue_name}]


@pytest.mark.slow  # cfn-lint loads its whole rule set and spec (seconds)
def test_the_template_passes_cfn_lint() -> None:
    from cfnlint.api import ManualArgs, lint_file

    assert [str(match) for match in lint_file(FORWARDER_PATH, config=ManualArgs(regions=[REGION]))] == []


# ------------------------------------------------------------------------- the watcher's side


def test_forwarded_names_are_the_event_tables_rows_of_s3_and_kms() -> None:
    """One list: each rule's ``eventName`` equals the event table's rows for its service (matched by
    CloudTrail event source or EventBridge source) once the table has them, and the calls pinned
    above until then; a row of one of these names under any other source fails (drift by spelling)."""
    template = load_template(FORWARDER_PATH)["Resources"]
    for logical_id, source in RULES.items():
        detail = template[logical_id]["Properties"]["EventPattern"]["detail"]
        (event_source,) = detail["eventSource"]
        names = frozenset(detail["eventName"])
        assert len(names) == len(detail["eventName"])
        table = rule_event_names(event_source) | rule_event_names(source)
        assert names == (table or REGIONAL_EVENTS[source]), logical_id
        misplaced = {
            (r.source, r.name)
            for r in EVENT_TABLE
            if r.name in names and r.source not in (event_source, source)
        }
        assert not misplaced, f"{logical_id}: rows of the event table under another source: {misplaced}"


def _feeds_the_watcher(deployed: Deployed, logical_id: str) -> bool:
    resource = deployed.resources[logical_id]
    if resource["Type"] != "AWS::Events::Rule" or "EventPattern" not in resource["Properties"]:
        return False
    return any(t["Arn"] == {"Fn::GetAtt": ["EventQueue", "Arn"]} for t in resource["Properties"]["Targets"])


@pytest.mark.usefixtures("aws")
def test_the_watchers_rules_take_every_forwarded_event() -> None:
    """template.yaml's rules that feed the watcher's queue, on the central bus, match each forwarded
    sample (the forwarded event keeps ``source``, ``detail-type`` and ``detail``)."""
    deployed = Deployed(organization=False, slack=False)
    central_region = deployed.region
    rules = [lid for lid in deployed.resources if _feeds_the_watcher(deployed, lid) and deployed.exists(lid)]
    patterns = {lid: deployed.pattern(lid) for lid in rules}
    regional = {lid: p for lid, p in patterns.items() if set(p.get("source", [])) & set(REGIONAL_EVENTS)}
    if not regional:
        pytest.skip("template.yaml has no rule feeding the watcher with aws.s3/aws.kms events yet (issue 15)")
    here, central = Region("ap-southeast-2"), Region(central_region)
    for lid, pattern in patterns.items():
        central.capture(lid, pattern)
    deploy(Forwarder("ap-southeast-2", CentralRegion=central_region), here, stand_in=False)
    for name in SAMPLES:
        here.put(sample(name, "ap-southeast-2"))
        heard = {lid for lid in patterns if central.received(lid)}
        assert heard, f"{name}: no rule of template.yaml takes the forwarded event"
