# ruff: noqa: E501  (the sample and tamper tables read best one row per line)
"""Tampering with the watcher itself is heard: ``TamperRule`` (template.yaml) and the tamper table.

``TamperRule`` matches the CloudTrail management events that silence RestoreWatch (its rules
disabled, deleted, re-pointed or stripped of targets; its table deleted or changed; its topic
deleted, re-configured or unsubscribed from; its queues deleted or purged; its function deleted,
throttled to zero or cut off from its queue) and publishes a readable message to the alert topic.
Each alternative of the pattern is restricted to the stack's own resources by ``requestParameters``.

moto gap worked around: moto's EventBridge ``TestEventPattern`` is not implemented (the response is
empty), so the pattern is exercised the way EventBridge itself uses it: the rule is created in moto
with the template's pattern (intrinsics resolved to a deployed stack's names), an SQS queue is its
target, and sample CloudTrail events are put on the default bus (moto's own pattern matcher decides;
``$or``, ``prefix``, ``suffix`` and ``exists`` included).

AWS docs:
- CloudTrail events on EventBridge (management events arrive in the region of the call):
  https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-cloudtrail.html
- content filtering ($or, prefix, suffix, exists):
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
- input transformer: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
- Lambda's CloudTrail event names carry the API version (e.g. ``DeleteFunction20150331``):
  https://docs.aws.amazon.com/lambda/latest/dg/logging-using-cloudtrail.html
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from support.template import REPO_ROOT, load_template

from .report import record_row

if TYPE_CHECKING:
    from collections.abc import Iterator

STACK, REGION, ACCOUNT = "restorewatch", "eu-west-1", "111122223333"
SAMPLE = REPO_ROOT / "tests" / "fixtures" / "tamper" / "dynamodb-DeleteTable.json"


# ---- the template's pattern, resolved as CloudFormation would for a stack named STACK -----------


def physical(logical_id: str) -> str:
    return f"{STACK}-{logical_id}-ABC123XYZ"


ESM_UUID = "a1b2c3d4-0000-4000-8000-00000000e5a1"
SWEEP_ESM_UUID = "a1b2c3d4-0000-4000-8000-00000000e5a2"  # AccountSweeps (organization mode)
NO_VALUE = object()  # AWS::NoValue: CloudFormation drops the list element or property


def get_att(logical_id: str, attribute: str) -> str:
    kind = load_template()["Resources"].get(logical_id, {}).get("Type", "AWS::Events::Rule")
    name = physical(logical_id)
    arns = {
        "AWS::Events::Rule": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}",
        "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
        "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
        "AWS::Serverless::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
    }
    if attribute == "Arn":
        return arns[kind]
    if attribute == "QueueName":
        return name
    raise AssertionError(f"unexpected GetAtt {logical_id}.{attribute}")


def ref(name: str) -> Any:
    pseudo = {
        "AWS::AccountId": ACCOUNT,
        "AWS::Region": REGION,
        "AWS::StackName": STACK,
        "AWS::Partition": "aws",
        "AWS::NoValue": NO_VALUE,
    }
    if name in pseudo:
        return pseudo[name]
    if name == "AccountSweeps":
        return SWEEP_ESM_UUID
    kind = load_template()["Resources"].get(name, {}).get("Type", "AWS::Lambda::EventSourceMapping")
    if kind == "AWS::SNS::Topic":
        return f"arn:aws:sns:{REGION}:{ACCOUNT}:{physical(name)}"
    if kind == "AWS::SQS::Queue":
        return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{physical(name)}"
    if kind == "AWS::Lambda::EventSourceMapping":  # SAM's, from the function's SQS event
        return ESM_UUID
    return physical(name)


def resolve(value: Any, organization_mode: bool = False) -> Any:
    """The template's value as CloudFormation would deploy it (``OrganizationMode`` as given)."""
    if isinstance(value, list):
        items = (resolve(item, organization_mode) for item in value)
        return [item for item in items if item is not NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Fn::If":
            condition, when_true, when_false = argument
            assert condition == "IsOrganizationMode", f"unexpected condition {condition}"
            return resolve(when_true if organization_mode else when_false, organization_mode)
        if key == "Ref":
            return ref(argument)
        if key == "Fn::GetAtt":
            return get_att(*argument)
        if key == "Fn::Sub":
            return re.sub(
                r"\$\{([^}]+)\}",
                lambda m: get_att(*m.group(1).split(".", 1)) if "." in m.group(1) else ref(m.group(1)),
                argument,
            )
        if key == "Fn::Split":
            separator, text = argument
            return resolve(text, organization_mode).split(separator)
        if key == "Fn::Select":
            index, items = argument
            return resolve(items, organization_mode)[int(index)]
    return {key: resolve(item, organization_mode) for key, item in value.items()}


def rule() -> dict[str, Any]:
    resource: dict[str, Any] = load_template()["Resources"]["TamperRule"]
    return resource


def pattern(organization_mode: bool = False) -> dict[str, Any]:
    resolved: dict[str, Any] = resolve(rule()["Properties"]["EventPattern"], organization_mode)
    return resolved


def alternatives() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = rule()["Properties"]["EventPattern"]["detail"]["$or"]
    return found


# ---- what the rule must hear ---------------------------------------------------------------------

# (eventSource, CloudTrail eventName) -> what it does to the watcher
TAMPERING = {
    ("events.amazonaws.com", "DisableRule"): "a watcher rule disabled",
    ("events.amazonaws.com", "DeleteRule"): "a watcher rule deleted",
    ("events.amazonaws.com", "PutRule"): "a watcher rule re-pointed or disabled",
    ("events.amazonaws.com", "RemoveTargets"): "a watcher rule's targets removed",
    ("dynamodb.amazonaws.com", "DeleteTable"): "the state table deleted",
    ("dynamodb.amazonaws.com", "UpdateTable"): "the state table changed",
    ("sns.amazonaws.com", "DeleteTopic"): "the alert topic deleted",
    ("sns.amazonaws.com", "SetTopicAttributes"): "the alert topic re-configured",
    ("sns.amazonaws.com", "Unsubscribe"): "a subscription of the alert topic removed",
    ("sqs.amazonaws.com", "DeleteQueue"): "the event queue or its DLQ deleted",
    ("sqs.amazonaws.com", "PurgeQueue"): "the event queue or its DLQ purged",
    ("lambda.amazonaws.com", "DeleteFunction20150331"): "the watcher function deleted",
    ("lambda.amazonaws.com", "PutFunctionConcurrency20171031"): "the watcher throttled to 0",
    ("lambda.amazonaws.com", "DeleteEventSourceMapping20150331"): "the function cut off from its queue",
    ("lambda.amazonaws.com", "UpdateEventSourceMapping20150331"): "the queue's mapping disabled",
}


def test_tamper_rule_hears_cloudtrail_calls_of_the_watchers_services_on_the_default_bus() -> None:
    props = rule()["Properties"]
    assert "EventBusName" not in props  # the default bus, where AWS services' CloudTrail events arrive
    assert props["State"] == "ENABLED"
    raw = props["EventPattern"]
    assert set(raw["source"]) == {"aws.events", "aws.dynamodb", "aws.sns", "aws.sqs", "aws.lambda"}
    assert raw["detail-type"] == ["AWS API Call via CloudTrail"]
    assert raw["detail"]["errorCode"] == [{"exists": False}]  # a failed call changed nothing


def test_tamper_rule_covers_every_tampering_call() -> None:
    covered = {
        (source, name)
        for alternative in alternatives()
        for source in alternative["eventSource"]
        for name in alternative["eventName"]
    }
    missing = set(TAMPERING) - covered
    assert not missing, f"TamperRule does not hear {sorted(missing)}"
    sources = {source for source, _ in covered}
    assert {f"aws.{s.split('.')[0]}" for s in sources} == set(rule()["Properties"]["EventPattern"]["source"])


OWN = {
    "IamChangeRule", "OrganizationsChangeRule", "WatcherFunctionSweep", "StateTable", "AlertTopic",
    "EventQueue", "EventDeadLetterQueue", "WatcherFunction", "WatcherFunctionIamChanges",
    "SweepQueue", "AccountSweeps",  # organization mode
}  # fmt: skip


def _references(value: Any) -> set[str]:
    text = json.dumps(value)
    found = set(re.findall(r'"(?:Ref|Fn::GetAtt)": \[?"(\w+)"', text))
    found |= {name.split(".")[0] for name in re.findall(r"\$\{(\w+(?:\.\w+)?)\}", text)}
    return found - {"AWS"}


@pytest.mark.parametrize("index", range(len(alternatives())))
def test_each_alternative_is_restricted_to_the_stacks_own_resources(index: int) -> None:
    alternative = alternatives()[index]
    parameters = alternative.get("requestParameters")
    assert parameters, f"alternative {index} ({alternative['eventName']}) is not restricted"
    # every identifying parameter names only this stack's resources (booleans/numbers narrow the call)
    for name, values in parameters.items():
        if all(isinstance(v, bool | int) for v in values):
            continue
        refs = _references(values)
        assert refs, (name, values)
        assert refs <= OWN, (name, refs - OWN)


def test_tamper_rule_publishes_a_readable_message_to_the_alert_topic() -> None:
    (target,) = rule()["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": "AlertTopic"}
    transformer = target["InputTransformer"]
    text = resolve(transformer["InputTemplate"])
    placeholders = set(re.findall(r"<(\w+)>", text))
    assert placeholders == set(transformer["InputPathsMap"])
    sample = json.loads(SAMPLE.read_text())
    values = {
        "call": sample["detail"]["eventName"],
        "service": sample["detail"]["eventSource"],
        "who": sample["detail"]["userIdentity"]["arn"],
        "time": sample["detail"]["eventTime"],
        "account": sample["account"],
        "region": sample["region"],
        "eventid": sample["detail"]["eventID"],
    }
    for key, path in transformer["InputPathsMap"].items():  # the paths exist in a CloudTrail event
        node: Any = sample
        for part in path.removeprefix("$.").split("."):
            node = node[part]
        assert node == values[key], key
    message = json.loads(re.sub(r"<(\w+)>", lambda m: values[m.group(1)], text))  # a JSON string
    assert isinstance(message, str)
    assert "TAMPERING" in message
    assert "mallory" in message
    assert "DeleteTable" in message
    assert STACK in message


def test_topic_and_key_let_only_the_tamper_rule_publish() -> None:
    resources = load_template()["Resources"]
    statements = resources["AlertTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    (topic,) = [s for s in statements if s["Principal"] == {"Service": "events.amazonaws.com"}]
    assert topic["Action"] == "sns:Publish"
    assert topic["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["TamperRule", "Arn"]}}}
    key_statements = resources["AlertKey"]["Properties"]["KeyPolicy"]["Statement"]
    (key,) = [s for s in key_statements if s["Principal"] == {"Service": "events.amazonaws.com"}]
    assert sorted(key["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    source_arn = resolve(key["Condition"]["ArnLike"]["aws:SourceArn"])
    assert source_arn == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{STACK}-*"
    assert re.fullmatch(source_arn.replace("*", ".*"), get_att("TamperRule", "Arn"))


# ---- the pattern on moto's EventBridge ------------------------------------------------------------


def cloudtrail(source: str, name: str, parameters: dict[str, Any], **detail: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(SAMPLE.read_text())
    event["id"] = str(uuid.uuid4())
    event["source"] = "aws." + source.split(".", maxsplit=1)[0]
    event["detail"].update(eventSource=source, eventName=name, requestParameters=parameters, **detail)
    event["detail"].pop("responseElements", None)
    return event


TABLE, OTHER = physical("StateTable"), "someone-elses-table"
TOPIC = ref("AlertTopic")
QUEUE_PATH = f"/{ACCOUNT}/{physical('EventQueue')}"
FUNCTION = physical("WatcherFunction")

# (label, event, matches)
SAMPLES: list[tuple[str, dict[str, Any], bool]] = [
    ("DeleteTable, the state table", cloudtrail("dynamodb.amazonaws.com", "DeleteTable", {"tableName": TABLE}), True),
    ("DeleteTable, another table", cloudtrail("dynamodb.amazonaws.com", "DeleteTable", {"tableName": OTHER}), False),
    ("DeleteTable that failed", cloudtrail("dynamodb.amazonaws.com", "DeleteTable", {"tableName": TABLE}, errorCode="AccessDenied"), False),
    ("UpdateTable, the state table", cloudtrail("dynamodb.amazonaws.com", "UpdateTable", {"tableName": TABLE}), True),
    ("DisableRule, IamChangeRule", cloudtrail("events.amazonaws.com", "DisableRule", {"name": physical("IamChangeRule")}), True),
    ("DeleteRule, the sweep schedule", cloudtrail("events.amazonaws.com", "DeleteRule", {"name": physical("WatcherFunctionSweep")}), True),
    ("DeleteRule, another rule", cloudtrail("events.amazonaws.com", "DeleteRule", {"name": "other-rule"}), False),
    ("RemoveTargets, OrganizationsChangeRule", cloudtrail("events.amazonaws.com", "RemoveTargets", {"rule": physical("OrganizationsChangeRule"), "ids": ["restorewatch-event-queue"]}), True),
    ("PutRule, IamChangeRule", cloudtrail("events.amazonaws.com", "PutRule", {"name": physical("IamChangeRule"), "state": "DISABLED"}), True),
    ("DeleteTopic, the alert topic", cloudtrail("sns.amazonaws.com", "DeleteTopic", {"topicArn": TOPIC}), True),
    ("SetTopicAttributes, the alert topic", cloudtrail("sns.amazonaws.com", "SetTopicAttributes", {"topicArn": TOPIC, "attributeName": "Policy"}), True),
    ("Unsubscribe, from the alert topic", cloudtrail("sns.amazonaws.com", "Unsubscribe", {"subscriptionArn": f"{TOPIC}:0b6a4c1e-1f2d-4e5f-9a8b-7c6d5e4f3a2b"}), True),
    ("Unsubscribe, from a topic whose name extends it", cloudtrail("sns.amazonaws.com", "Unsubscribe", {"subscriptionArn": f"{TOPIC}-other:0b6a4c1e"}), False),
    ("DeleteQueue, the event queue", cloudtrail("sqs.amazonaws.com", "DeleteQueue", {"queueUrl": f"https://sqs.{REGION}.amazonaws.com{QUEUE_PATH}"}), True),
    ("PurgeQueue, the DLQ (legacy endpoint)", cloudtrail("sqs.amazonaws.com", "PurgeQueue", {"queueUrl": f"https://{REGION}.queue.amazonaws.com/{ACCOUNT}/{physical('EventDeadLetterQueue')}"}), True),
    ("DeleteQueue, another queue", cloudtrail("sqs.amazonaws.com", "DeleteQueue", {"queueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/other"}), False),
    ("DeleteFunction, the watcher", cloudtrail("lambda.amazonaws.com", "DeleteFunction20150331", {"functionName": FUNCTION}), True),
    ("DeleteFunction, the watcher by ARN", cloudtrail("lambda.amazonaws.com", "DeleteFunction20150331", {"functionName": get_att("WatcherFunction", "Arn")}), True),
    ("DeleteFunction, another function", cloudtrail("lambda.amazonaws.com", "DeleteFunction20150331", {"functionName": "other"}), False),
    ("PutFunctionConcurrency 0, the watcher", cloudtrail("lambda.amazonaws.com", "PutFunctionConcurrency20171031", {"functionName": FUNCTION, "reservedConcurrentExecutions": 0}), True),
    ("PutFunctionConcurrency 5, the watcher", cloudtrail("lambda.amazonaws.com", "PutFunctionConcurrency20171031", {"functionName": FUNCTION, "reservedConcurrentExecutions": 5}), False),
    ("DeleteEventSourceMapping, the watcher's", cloudtrail("lambda.amazonaws.com", "DeleteEventSourceMapping20150331", {"uUID": ESM_UUID}), True),
    ("UpdateEventSourceMapping disabled, the watcher's", cloudtrail("lambda.amazonaws.com", "UpdateEventSourceMapping20150331", {"uUID": ESM_UUID, "enabled": False}), True),
    ("UpdateEventSourceMapping batch size, the watcher's", cloudtrail("lambda.amazonaws.com", "UpdateEventSourceMapping20150331", {"uUID": ESM_UUID, "batchSize": 5}), False),
]  # fmt: skip


class Bus:
    """The rule on moto's default bus with an SQS queue as its target: does an event match?"""

    def __init__(self, organization_mode: bool) -> None:
        self.organization_mode = organization_mode
        self.events = boto3.client("events", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.url = self.sqs.create_queue(QueueName="tamper-inbox")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        rule_pattern = json.dumps(pattern(organization_mode))
        self.events.put_rule(Name="restorewatch-TamperRule", EventPattern=rule_pattern, State="ENABLED")
        self.events.put_targets(Rule="restorewatch-TamperRule", Targets=[{"Id": "inbox", "Arn": arn}])

    def __call__(self, event: dict[str, Any]) -> bool:
        event = copy.deepcopy(event)
        event["detail"]["eventID"] = str(uuid.uuid4())
        entry = {
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": json.dumps(event["detail"]),
            "Resources": event["resources"],
        }
        assert self.events.put_events(Entries=[entry])["FailedEntryCount"] == 0
        received = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", [])
        for message in received:
            self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        assert all(json.loads(m["Body"])["detail"]["eventID"] == event["detail"]["eventID"] for m in received)
        return bool(received)


@pytest.fixture(scope="module", params=[False, True], ids=["single-account", "organization-mode"])
def bus(request: pytest.FixtureRequest) -> Iterator[Bus]:
    """The TamperRule as deployed with OrganizationMode false and true."""
    with mock_aws():
        yield Bus(request.param)


@pytest.mark.parametrize(("label", "event", "expected"), SAMPLES, ids=[label for label, _, _ in SAMPLES])
def test_tamper_rule_matches_the_stacks_resources_and_nothing_else(
    bus: Bus, label: str, event: dict[str, Any], expected: bool
) -> None:
    assert bus(event) is expected, label


SWEEP_QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{physical('SweepQueue')}"
ORGANIZATION_SAMPLES: list[tuple[str, dict[str, Any]]] = [
    ("DeleteQueue, the sweep queue", cloudtrail("sqs.amazonaws.com", "DeleteQueue", {"queueUrl": SWEEP_QUEUE_URL})),
    ("PurgeQueue, the sweep queue", cloudtrail("sqs.amazonaws.com", "PurgeQueue", {"queueUrl": SWEEP_QUEUE_URL})),
    ("DeleteEventSourceMapping, the account sweeps'", cloudtrail("lambda.amazonaws.com", "DeleteEventSourceMapping20150331", {"uUID": SWEEP_ESM_UUID})),
    ("UpdateEventSourceMapping disabled, the account sweeps'", cloudtrail("lambda.amazonaws.com", "UpdateEventSourceMapping20150331", {"uUID": SWEEP_ESM_UUID, "enabled": False})),
]  # fmt: skip


@pytest.mark.parametrize(("label", "event"), ORGANIZATION_SAMPLES, ids=[x for x, _ in ORGANIZATION_SAMPLES])
def test_tamper_rule_hears_the_sweep_queue_and_its_mapping_in_organization_mode(
    bus: Bus, label: str, event: dict[str, Any]
) -> None:
    """Organization mode has a queue of account sweeps and its mapping: tampering with them is heard.
    Without organization mode neither exists, and the rule names neither."""
    assert bus(event) is bus.organization_mode, label


def test_every_tampering_call_has_a_matching_sample() -> None:
    heard = {(e["detail"]["eventSource"], e["detail"]["eventName"]) for _, e, match in SAMPLES if match}
    assert set(TAMPERING) <= heard, set(TAMPERING) - heard


# ---- the tamper table (docs/guarantees.md): each path, who hears, through what, how it is tested ---

RULE_TEST = "tests/faults/test_tamper.py (pattern on moto EventBridge)"
TABLE_ROWS = [
    ("watch tag removed", "`UNWATCHED` alert (watcher)", "tests/integration (pipeline), tests/faults/test_secrets_in_logs.py"),
    ("watched principal deleted", "`DELETED` alert (watcher)", "tests/integration (pipeline), tests/faults/test_secrets_in_logs.py"),
    *[
        (what, "`TamperRule` -> alert topic (message names who, what, when)", RULE_TEST)
        for what in dict.fromkeys(TAMPERING.values())
        if what != TAMPERING["sns.amazonaws.com", "DeleteTopic"]  # heard, but the topic is gone
    ],
    ("state table deleted (also)", "every run fails: `WatcherErrorsAlarm`, `DeadLetterQueueAlarm`", "fault matrix (DynamoDB rows: item -> DLQ)"),
    ("sweep stops running (schedule disabled or deleted, function broken)", "`SweepMissingAlarm` (no `SweepSucceeded` for 26 h, missing data breaching)", "tests/unit/test_template.py"),
    ("alert topic deleted", "nobody through the topic itself (it is gone): `TamperRule`'s own delivery fails too; the alarms go to ALARM state (visible in CloudWatch and the dashboard) with no one notified; see docs/guarantees.md", "documented"),
    ("`TamperRule` itself disabled or deleted", "nobody (the rule cannot hear its own removal); CloudTrail keeps the record", "documented"),
    ("Slack function deleted", "SNS cannot deliver: Slack DLQ -> `SlackDeadLetterQueueAlarm` (email unaffected)", "documented (template wiring: tests/integration/test_slack_function.py)"),
]  # fmt: skip


def test_tamper_table_rows_are_recorded() -> None:
    for path, who, tested in TABLE_ROWS:
        record_row("tamper", {"tampering": path, "who hears, through what": who, "tested": tested})
    assert len(TABLE_ROWS) >= len(set(TAMPERING.values()))
    assert sum("alert topic deleted" in path for path, _, _ in TABLE_ROWS) == 1
