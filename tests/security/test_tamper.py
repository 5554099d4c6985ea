# ruff: noqa: E501  (the sample and tamper tables read best one row per line)
"""Tampering with the watcher itself is heard, and the notice reaches people: the tamper rules of
template.yaml on moto's EventBridge, and the tamper table.

Four rules hear the CloudTrail management events that silence RestoreWatch, each alternative matched
to the stack's own resources only (``requestParameters``): ``TamperRule`` (the watcher's rules, the
alert key, the alert topic), ``FunctionTamperRule`` (the functions and their SQS mappings),
``StoreTamperRule`` (the queues, the state table, the alarms) publish to ``TamperTopic``, which is not
encrypted with the alert key, so that disabling the key (which silences every alert and alarm at
once) is still told; ``TamperPathRule`` hears tampering with that path itself and publishes to the
alert topic. Each path is watched by the other.

moto gaps worked around: moto's EventBridge ``TestEventPattern`` is not implemented (the response is
empty) and its rules cannot deliver to an SNS topic. So the rules are exercised the way EventBridge
uses them: each is created on moto's default bus with the template's pattern (intrinsics resolved as
CloudFormation would for a deployed stack) and the template's input transformer, with an SQS queue
standing in for its topic; real-shaped CloudTrail events (tests/fixtures/tamper/, one per call) are
put on the bus, and what arrives in each queue is the notice the topic would carry (moto's own
matcher decides: ``$or``, ``prefix``, ``suffix``, ``equals-ignore-case``, ``exists``).

AWS docs:
- CloudTrail events on EventBridge (management events arrive in the region of the call):
  https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-cloudtrail.html
- content filtering ($or, prefix, suffix, equals-ignore-case, exists):
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
- event pattern size quota (2,048 characters): https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
- input transformer: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
- Lambda's CloudTrail event names carry the API version (e.g. ``UpdateFunctionConfiguration20150331v2``):
  https://docs.aws.amazon.com/lambda/latest/dg/logging-using-cloudtrail.html
- KMS records the key id or ARN the caller gave (``ScheduleKeyDeletion``):
  https://docs.aws.amazon.com/kms/latest/developerguide/ct-schedule-key-deletion.html
- EventBridge publishes to an encrypted SNS topic only under a customer managed key whose policy
  grants it: https://repost.aws/knowledge-center/sns-not-getting-eventbridge-notification
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from faults.report import record_figure, record_row
from support.deployed import ACCOUNT, REGION, STACK, Deployed
from support.template import REPO_ROOT, load_template

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.slow  # every tamper sample through the stack's rules on moto's EventBridge

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "tamper"
LONG_STACK = "restorewatch-production-eu-central-1-a1"  # 40 characters
TAMPER_TOPIC, ALERT_TOPIC = "TamperTopic", "AlertTopic"
RULES = {  # rule -> the topic it publishes to
    "TamperRule": TAMPER_TOPIC,
    "FunctionTamperRule": TAMPER_TOPIC,
    "StoreTamperRule": TAMPER_TOPIC,
    "TamperPathRule": ALERT_TOPIC,
}
PATTERN_QUOTA = 2048  # EventBridge: maximum characters of an event pattern (default quota)


# ---- the rules as deployed ------------------------------------------------------------------------


def template_rules() -> dict[str, Any]:
    resources: dict[str, Any] = load_template()["Resources"]
    return {logical_id: resources[logical_id] for logical_id in RULES}


def alternatives(rule: str) -> list[Any]:
    found: list[Any] = template_rules()[rule]["Properties"]["EventPattern"]["detail"]["$or"]
    return found


def _unwrap(alternative: Any) -> dict[str, Any]:
    """An alternative, or the present branch of one that exists only under a condition."""
    if "Fn::If" in alternative:
        present: dict[str, Any] = alternative["Fn::If"][1]
        return present
    unconditional: dict[str, Any] = alternative
    return unconditional


# ---- the rules as data --------------------------------------------------------------------------


@pytest.mark.parametrize("rule", RULES)
def test_tamper_rules_hear_cloudtrail_calls_of_aws_services_on_the_default_bus(rule: str) -> None:
    props = template_rules()[rule]["Properties"]
    assert "EventBusName" not in props  # the default bus, where AWS services' CloudTrail events arrive
    assert props["State"] == "ENABLED"
    raw = props["EventPattern"]
    # only AWS's own events (PutEvents refuses an "aws." source): nobody can forge a notice
    assert raw["source"] == [{"prefix": "aws."}]
    assert raw["detail-type"] == ["AWS API Call via CloudTrail"]
    assert raw["detail"]["errorCode"] == [{"exists": False}]  # a failed call changed nothing
    (target,) = props["Targets"]
    assert target["Arn"] == {"Ref": RULES[rule]}


@pytest.mark.parametrize("stack", [STACK, LONG_STACK])
@pytest.mark.parametrize("rule", RULES)
def test_each_rule_pattern_fits_eventbridges_2048_character_quota(rule: str, stack: str) -> None:
    """EventBridge refuses an event pattern longer than 2,048 characters (a quota raised only on
    request): the deploy would fail. Resolved with every optional part present (organization mode,
    Slack) and CloudFormation's generated names for a 40-character stack name."""
    deployed = Deployed(organization=True, slack=True, stack=stack)
    size = len(json.dumps(deployed.pattern(rule), separators=(",", ":")))
    assert size <= PATTERN_QUOTA, f"{rule}: {size} characters for stack {stack!r}"


def test_the_explicitly_named_rule_fits_a_52_character_stack_name() -> None:
    """``TamperPathRule`` has a fixed name (``<stack>-tamper-path``); rule names are at most 64."""
    name = Deployed(organization=False, slack=False, stack="s" * 52).physical_name("TamperPathRule")
    assert len(name) <= 64


# the stack's own resources: the template's, and those SAM generates from a function's events
OWN = set(load_template()["Resources"]) | set(Deployed.SAM_GENERATED)


def _references(value: Any) -> set[str]:
    text = json.dumps(value)
    found = set(re.findall(r'"(?:Ref|Fn::GetAtt)": \[?"(\w+)"', text))
    found |= {name.split(".")[0] for name in re.findall(r"\$\{(\w+(?:\.\w+)?)\}", text)}
    return found - {"AWS"}


ALTERNATIVES = [(rule, index) for rule in RULES for index in range(len(alternatives(rule)))]


@pytest.mark.parametrize(("rule", "index"), ALTERNATIVES, ids=[f"{r}-{i}" for r, i in ALTERNATIVES])
def test_each_alternative_is_restricted_to_the_stacks_own_resources(rule: str, index: int) -> None:
    alternative = _unwrap(alternatives(rule)[index])
    parameters = alternative.get("requestParameters")
    assert parameters, f"{rule} alternative {index} ({alternative['eventName']}) is not restricted"
    for name, values in parameters.items():
        if all(isinstance(v, bool | int) for v in values):
            continue
        refs = _references(values)
        if not refs:  # a literal: the organization bus policy's statement id, or "the whole policy"
            assert (rule, name) in {("FunctionTamperRule", "statementId"), ("FunctionTamperRule", "policy")}
            continue
        assert refs <= OWN, (name, refs - OWN)
        for value in values:  # a name built from the stack's name: only TamperPathRule's fixed one
            if "AWS::StackName" in json.dumps(value):
                assert value == {"Fn::Sub": "${AWS::StackName}-tamper-path"}


def test_the_tamper_topic_does_not_depend_on_the_alert_key() -> None:
    """Disabling AlertKey, scheduling its deletion or rewriting its policy silences AlertTopic (every
    alert, every alarm). The notice of that travels TamperTopic, which is not encrypted with the key
    (nor with alias/aws/sns, whose key policy cannot grant EventBridge)."""
    resources = load_template()["Resources"]
    assert "KmsMasterKeyId" not in resources["TamperTopic"]["Properties"]
    assert resources["AlertTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "AlertKey"}
    skips = resources["TamperTopic"]["Metadata"]["checkov"]["skip"]
    assert [skip["id"] for skip in skips] == ["CKV_AWS_26"]
    assert all(skip["comment"] for skip in skips)
    # people hear it: the alert email subscribes to both topics, and so does the Slack function
    email = {
        props["TopicArn"]["Ref"]
        for r in resources.values()
        if r["Type"] == "AWS::SNS::Subscription" and (props := r["Properties"])["Protocol"] == "email"
    }
    assert email == {"AlertTopic", "TamperTopic"}
    assert all(
        r["Condition"] == "HasAlertEmail" and r["Properties"]["Endpoint"] == {"Ref": "AlertEmail"}
        for r in resources.values()
        if r["Type"] == "AWS::SNS::Subscription"
    )
    slack_topics = {
        e["Properties"]["Topic"]["Ref"] for e in resources["SlackFunction"]["Properties"]["Events"].values()
    }
    assert slack_topics == {"AlertTopic", "TamperTopic"}
    outputs = load_template()["Outputs"]
    assert outputs["TamperTopicArn"]["Value"] == {"Ref": "TamperTopic"}


def test_each_topic_lets_only_its_own_tamper_rules_publish() -> None:
    resources = load_template()["Resources"]
    for topic, policy in ((TAMPER_TOPIC, "TamperTopicPolicy"), (ALERT_TOPIC, "AlertTopicPolicy")):
        statements = resources[policy]["Properties"]["PolicyDocument"]["Statement"]
        (statement,) = [s for s in statements if s["Principal"] == {"Service": "events.amazonaws.com"}]
        assert statement["Action"] == "sns:Publish"
        assert statement["Resource"] == {"Ref": topic}
        (operator,) = statement["Condition"]
        assert operator == "ArnEquals"
        source = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
        sources = source if isinstance(source, list) else [source]
        assert sources == [{"Fn::GetAtt": [rule, "Arn"]} for rule, to in RULES.items() if to == topic]


def test_the_alert_key_lets_exactly_the_rule_that_publishes_to_the_alert_topic_use_it() -> None:
    """The key policy names the publishing rule by its exact ARN, not a ``<stack>-*`` prefix that any
    rule named after the stack would match; the other tamper rules need no grant on the key."""
    deployed = Deployed(organization=False, slack=False)
    statements = deployed.resources["AlertKey"]["Properties"]["KeyPolicy"]["Statement"]
    (key,) = [s for s in statements if s["Principal"] == {"Service": "events.amazonaws.com"}]
    assert sorted(key["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    condition = deployed.resolve(key["Condition"])
    assert set(condition) == {"StringEquals", "ArnEquals"}  # no ArnLike: no wildcard
    assert condition["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert condition["ArnEquals"] == {"aws:SourceArn": deployed.arn("TamperPathRule")}
    assert deployed.arn("TamperPathRule") == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{STACK}-tamper-path"


@pytest.mark.parametrize("rule", RULES)
def test_every_rule_publishes_a_readable_message(rule: str) -> None:
    target = template_rules()[rule]["Properties"]["Targets"][0]
    transformer = target["InputTransformer"]
    text = Deployed(organization=False, slack=False).resolve(transformer["InputTemplate"])
    assert set(re.findall(r"<(\w+)>", text)) == set(transformer["InputPathsMap"])
    sample = json.loads((FIXTURES / "kms-DisableKey.json").read_text())
    for path in transformer["InputPathsMap"].values():  # the paths exist in a CloudTrail event
        node: Any = sample
        for part in path.removeprefix("$.").split("."):
            node = node[part]
        assert isinstance(node, str)
        assert node


# ---- the samples: real-shaped CloudTrail events, what they name, where the notice must go ---------


@dataclass(frozen=True, slots=True)
class Sample:
    label: str
    fixture: str  # tests/fixtures/tamper/<fixture>.json
    parameters: dict[str, Any]  # requestParameters set on the fixture's (identifying ones)
    heard_by: str | None  # the topic the notice must reach; None: no notice
    needs: str = ""  # "organization" / "slack": only deployed with that option
    detail: dict[str, Any] | None = None  # other detail fields (errorCode)


def build_samples(d: Deployed) -> list[Sample]:
    """Every tampering call on the stack's resources (in each form a caller may name them), and the
    calls that must not alert: another resource, a harmless change, a failed call."""
    rule = d.physical_name

    def queue(logical_id: str, host: str = f"sqs.{REGION}.amazonaws.com") -> str:
        return f"https://{host}/{ACCOUNT}/{d.physical_name(logical_id)}"

    def legacy_queue(logical_id: str) -> str:  # the old endpoint form still in use
        return queue(logical_id, f"{REGION}.queue.amazonaws.com")

    alert_topic, tamper_topic = d.value("AlertTopic"), d.value("TamperTopic")
    watcher, slack = "WatcherFunction", "SlackFunction"
    other_key = "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a"
    T, A = TAMPER_TOPIC, ALERT_TOPIC
    samples = [
        # EventBridge: the watcher's rules -> TamperTopic
        Sample("DisableRule IamChangeRule", "events-DisableRule", {"name": rule("IamChangeRule")}, T),
        Sample(
            "DeleteRule the sweep schedule", "events-DeleteRule", {"name": rule("WatcherFunctionSweep")}, T
        ),
        Sample(
            "PutRule OrganizationsChangeRule", "events-PutRule", {"name": rule("OrganizationsChangeRule")}, T
        ),
        Sample(
            "PutTargets IamChangeRule (re-pointed)", "events-PutTargets", {"rule": rule("IamChangeRule")}, T
        ),
        Sample(
            "RemoveTargets the sweep schedule",
            "events-RemoveTargets",
            {"rule": rule("WatcherFunctionSweep")},
            T,
        ),
        Sample("DeleteRule TamperPathRule", "events-DeleteRule", {"name": rule("TamperPathRule")}, T),
        Sample("PutTargets TamperPathRule", "events-PutTargets", {"rule": rule("TamperPathRule")}, T),
        Sample("DeleteRule another rule", "events-DeleteRule", {"name": "someone-elses-rule"}, None),
        Sample(
            "PutTargets another rule", "events-PutTargets", {"rule": f"{rule('IamChangeRule')}-copy"}, None
        ),
        Sample(
            "DisableRule IamChangeRule that failed",
            "events-DisableRule",
            {"name": rule("IamChangeRule")},
            None,
            detail={"errorCode": "AccessDeniedException"},
        ),
        # EventBridge: the rules that publish to TamperTopic -> AlertTopic
        Sample("DisableRule TamperRule", "events-DisableRule", {"name": rule("TamperRule")}, A),
        Sample("DeleteRule FunctionTamperRule", "events-DeleteRule", {"name": rule("FunctionTamperRule")}, A),
        Sample("PutRule StoreTamperRule", "events-PutRule", {"name": rule("StoreTamperRule")}, A),
        Sample("RemoveTargets TamperRule", "events-RemoveTargets", {"rule": rule("TamperRule")}, A),
        Sample("PutTargets StoreTamperRule", "events-PutTargets", {"rule": rule("StoreTamperRule")}, A),
        # organization mode: the bus policy for member accounts' events
        Sample(
            "RemovePermission the member events statement",
            "events-RemovePermission",
            {"statementId": "restorewatch-member-iam-events"},
            T,
            "organization",
        ),
        Sample(
            "RemovePermission all of the bus policy",
            "events-RemovePermission",
            {"statementId": None, "removeAllPermissions": True},
            T,
            "organization",
        ),
        Sample("PutPermission replacing the bus policy", "events-PutPermission", {}, T, "organization"),
        Sample(
            "RemovePermission another statement",
            "events-RemovePermission",
            {"statementId": "someone-elses"},
            None,
        ),
        # KMS: the alert key (silences AlertTopic) -> TamperTopic, which does not need it
        Sample("DisableKey the alert key by id", "kms-DisableKey", {"keyId": d.value("AlertKey")}, T),
        Sample("DisableKey the alert key by ARN", "kms-DisableKey", {"keyId": d.value("AlertKey", "arn")}, T),
        Sample(
            "DisableKey the alert key, id in capitals",
            "kms-DisableKey",
            {"keyId": d.value("AlertKey").upper()},
            T,
        ),
        Sample(
            "ScheduleKeyDeletion the alert key", "kms-ScheduleKeyDeletion", {"keyId": d.value("AlertKey")}, T
        ),
        Sample(
            "PutKeyPolicy the alert key by ARN", "kms-PutKeyPolicy", {"keyId": d.value("AlertKey", "arn")}, T
        ),
        Sample("DisableKey another key", "kms-DisableKey", {"keyId": other_key}, None),
        Sample(
            "ScheduleKeyDeletion another key by ARN",
            "kms-ScheduleKeyDeletion",
            {"keyId": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{other_key}"},
            None,
        ),
        # SNS: the alert topic -> TamperTopic; the tamper topic -> AlertTopic
        Sample("DeleteTopic the alert topic", "sns-DeleteTopic", {"topicArn": alert_topic}, T),
        Sample("SetTopicAttributes the alert topic", "sns-SetTopicAttributes", {"topicArn": alert_topic}, T),
        Sample("RemovePermission the alert topic", "sns-RemovePermission", {"topicArn": alert_topic}, T),
        Sample(
            "Unsubscribe from the alert topic",
            "sns-Unsubscribe",
            {"subscriptionArn": f"{alert_topic}:0b6a4c1e-1f2d-4e5f-9a8b-7c6d5e4f3a2b"},
            T,
        ),
        Sample(
            "SetSubscriptionAttributes on the alert topic",
            "sns-SetSubscriptionAttributes",
            {"subscriptionArn": f"{alert_topic}:0b6a4c1e"},
            T,
        ),
        Sample("DeleteTopic the tamper topic", "sns-DeleteTopic", {"topicArn": tamper_topic}, A),
        Sample(
            "SetTopicAttributes the tamper topic", "sns-SetTopicAttributes", {"topicArn": tamper_topic}, A
        ),
        Sample(
            "Unsubscribe from the tamper topic",
            "sns-Unsubscribe",
            {"subscriptionArn": f"{tamper_topic}:5d2c1b0a"},
            A,
        ),
        Sample(
            "SetSubscriptionAttributes on the tamper topic",
            "sns-SetSubscriptionAttributes",
            {"subscriptionArn": f"{tamper_topic}:5d2c1b0a"},
            A,
        ),
        Sample("DeleteTopic another topic", "sns-DeleteTopic", {"topicArn": f"{alert_topic}-other"}, None),
        Sample(
            "Unsubscribe from a topic whose name extends the alert topic's",
            "sns-Unsubscribe",
            {"subscriptionArn": f"{alert_topic}-other:0b6a4c1e"},
            None,
        ),
        # SQS: the queues -> TamperTopic
        Sample("DeleteQueue the event queue", "sqs-DeleteQueue", {"queueUrl": queue("EventQueue")}, T),
        Sample(
            "PurgeQueue the DLQ (legacy endpoint)",
            "sqs-PurgeQueue",
            {"queueUrl": legacy_queue("EventDeadLetterQueue")},
            T,
        ),
        Sample(
            "SetQueueAttributes the event queue",
            "sqs-SetQueueAttributes",
            {"queueUrl": queue("EventQueue")},
            T,
        ),
        Sample(
            "RemovePermission the event queue", "sqs-RemovePermission", {"queueUrl": queue("EventQueue")}, T
        ),
        Sample(
            "SetQueueAttributes the sweep queue",
            "sqs-SetQueueAttributes",
            {"queueUrl": queue("SweepQueue")},
            T,
            "organization",
        ),
        Sample(
            "PurgeQueue the sweep queue",
            "sqs-PurgeQueue",
            {"queueUrl": queue("SweepQueue")},
            T,
            "organization",
        ),
        Sample(
            "PurgeQueue the Slack DLQ",
            "sqs-PurgeQueue",
            {"queueUrl": queue("SlackDeadLetterQueue")},
            T,
            "slack",
        ),
        Sample(
            "DeleteQueue another queue",
            "sqs-DeleteQueue",
            {"queueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/other"},
            None,
        ),
        Sample(
            "SetQueueAttributes a queue whose name extends the event queue's",
            "sqs-SetQueueAttributes",
            {"queueUrl": queue("EventQueue") + "-copy"},
            None,
        ),
        # DynamoDB: the state table -> TamperTopic
        Sample(
            "DeleteTable the state table", "dynamodb-DeleteTable", {"tableName": d.value("StateTable")}, T
        ),
        Sample(
            "UpdateTable the state table by ARN",
            "dynamodb-UpdateTable",
            {"tableName": d.value("StateTable", "arn")},
            T,
        ),
        Sample(
            "DeleteTable another table", "dynamodb-DeleteTable", {"tableName": "someone-elses-table"}, None
        ),
        # Lambda: the functions -> TamperTopic
        Sample(
            "DeleteFunction the watcher",
            "lambda-DeleteFunction20150331",
            {"functionName": d.value(watcher)},
            T,
        ),
        Sample(
            "DeleteFunction the watcher by ARN",
            "lambda-DeleteFunction20150331",
            {"functionName": d.value(watcher, "arn")},
            T,
        ),
        Sample(
            "UpdateFunctionCode the watcher",
            "lambda-UpdateFunctionCode20150331v2",
            {"functionName": d.value(watcher)},
            T,
        ),
        Sample(
            "UpdateFunctionCode the watcher by partial ARN",
            "lambda-UpdateFunctionCode20150331v2",
            {"functionName": d.value(watcher, "partial")},
            T,
        ),
        Sample(
            "UpdateFunctionConfiguration the watcher (WATCH_TAG_KEY)",
            "lambda-UpdateFunctionConfiguration20150331v2",
            {"functionName": d.value(watcher, "arn")},
            T,
        ),
        Sample(
            "RemovePermission the watcher (the sweep's)",
            "lambda-RemovePermission20150331v2",
            {"functionName": d.value(watcher)},
            T,
        ),
        Sample(
            "PutFunctionConcurrency 0, the watcher",
            "lambda-PutFunctionConcurrency20171031",
            {"functionName": d.value(watcher)},
            T,
        ),
        Sample(
            "PutFunctionConcurrency 5, the watcher",
            "lambda-PutFunctionConcurrency20171031",
            {"functionName": d.value(watcher), "reservedConcurrentExecutions": 5},
            None,
        ),
        Sample(
            "UpdateEventSourceMapping disabled, the watcher's",
            "lambda-UpdateEventSourceMapping20150331",
            {"uUID": d.value("WatcherFunctionIamChanges")},
            T,
        ),
        Sample(
            "UpdateEventSourceMapping batch size, the watcher's",
            "lambda-UpdateEventSourceMapping20150331",
            {"uUID": d.value("WatcherFunctionIamChanges"), "enabled": None, "batchSize": 1},
            T,
        ),
        Sample(
            "DeleteEventSourceMapping the watcher's",
            "lambda-DeleteEventSourceMapping20150331",
            {"uUID": d.value("WatcherFunctionIamChanges")},
            T,
        ),
        Sample(
            "DeleteEventSourceMapping the account sweeps'",
            "lambda-DeleteEventSourceMapping20150331",
            {"uUID": d.value("AccountSweeps")},
            T,
            "organization",
        ),
        Sample(
            "UpdateEventSourceMapping the account sweeps'",
            "lambda-UpdateEventSourceMapping20150331",
            {"uUID": d.value("AccountSweeps")},
            T,
            "organization",
        ),
        Sample(
            "UpdateFunctionCode the Slack function",
            "lambda-UpdateFunctionCode20150331v2",
            {"functionName": d.value(slack)},
            T,
            "slack",
        ),
        Sample(
            "RemovePermission the Slack function by ARN",
            "lambda-RemovePermission20150331v2",
            {"functionName": d.value(slack, "arn")},
            T,
            "slack",
        ),
        Sample(
            "UpdateFunctionConfiguration another function",
            "lambda-UpdateFunctionConfiguration20150331v2",
            {"functionName": "someone-elses-function"},
            None,
        ),
        Sample(
            "UpdateFunctionCode a function whose name extends the watcher's",
            "lambda-UpdateFunctionCode20150331v2",
            {"functionName": d.value(watcher) + "-copy"},
            None,
        ),
        Sample(
            "DeleteFunction another account's function of the same name",
            "lambda-DeleteFunction20150331",
            {"functionName": f"arn:aws:lambda:{REGION}:444455556666:function:{d.physical_name(watcher)}"},
            None,
        ),
        Sample(
            "DeleteEventSourceMapping another mapping",
            "lambda-DeleteEventSourceMapping20150331",
            {"uUID": "ffffffff-0000-4000-8000-000000000000"},
            None,
        ),
        # CloudWatch: the alarms -> TamperTopic
        Sample(
            "DeleteAlarms another alarm",
            "monitoring-DeleteAlarms",
            {"alarmNames": ["someone-elses-alarm"]},
            None,
        ),
        Sample(
            "PutMetricAlarm another alarm",
            "monitoring-PutMetricAlarm",
            {"alarmName": "someone-elses-alarm"},
            None,
        ),
    ]
    for alarm, resource in d.resources.items():  # every alarm of the stack, so none can be left out
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        needs = {"HasSlack": "slack", "IsOrganizationMode": "organization"}.get(
            resource.get("Condition", ""), ""
        )
        name = d.physical_name(alarm)
        samples += [
            Sample(
                f"DeleteAlarms {alarm}",
                "monitoring-DeleteAlarms",
                {"alarmNames": ["someone-elses-alarm", name]},
                T,
                needs,
            ),
            Sample(
                f"DisableAlarmActions {alarm}",
                "monitoring-DisableAlarmActions",
                {"alarmNames": [name]},
                T,
                needs,
            ),
            Sample(f"PutMetricAlarm {alarm}", "monitoring-PutMetricAlarm", {"alarmName": name}, T, needs),
        ]
    return samples


def cloudtrail(sample: Sample) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((FIXTURES / f"{sample.fixture}.json").read_text())
    parameters = event["detail"]["requestParameters"]
    for key, value in sample.parameters.items():
        if value is None:
            parameters.pop(key, None)
        else:
            parameters[key] = value
    event["detail"].update(sample.detail or {})
    event["detail"]["eventID"] = str(uuid.uuid4())
    return event


# ---- the rules on moto's EventBridge --------------------------------------------------------------


class Bus:
    """The four rules on moto's default bus, as deployed, each with its input transformer and an SQS
    queue standing in for its topic: which topic's notices does an event produce?"""

    def __init__(self, deployed: Deployed) -> None:
        self.deployed = deployed
        self.events = boto3.client("events", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.inboxes: dict[str, str] = {}
        for topic in (TAMPER_TOPIC, ALERT_TOPIC):
            url = self.sqs.create_queue(QueueName=f"inbox-{topic}")["QueueUrl"]
            self.inboxes[topic] = url
        for rule, topic in RULES.items():
            (target,) = deployed.resources[rule]["Properties"]["Targets"]
            arn = self.sqs.get_queue_attributes(QueueUrl=self.inboxes[topic], AttributeNames=["QueueArn"])
            self.events.put_rule(
                Name=deployed.physical_name(rule),
                EventPattern=json.dumps(deployed.pattern(rule)),
                State="ENABLED",
            )
            transformer = deployed.resolve(target["InputTransformer"])
            self.events.put_targets(
                Rule=deployed.physical_name(rule),
                Targets=[
                    {
                        "Id": target["Id"],
                        "Arn": arn["Attributes"]["QueueArn"],
                        "InputTransformer": transformer,
                    }
                ],
            )

    def __call__(self, event: dict[str, Any]) -> dict[str, list[str]]:
        """Put ``event`` on the bus; the notices each topic received."""
        entry = {
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": json.dumps(event["detail"]),
            "Resources": event["resources"],
        }
        assert self.events.put_events(Entries=[entry])["FailedEntryCount"] == 0
        received: dict[str, list[str]] = {}
        for topic, url in self.inboxes.items():
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            for message in messages:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            received[topic] = [json.loads(m["Body"]) for m in messages]
        return received


CONFIGURATIONS = {"single-account": (False, False), "organization-and-slack": (True, True)}


@pytest.fixture(scope="module", params=list(CONFIGURATIONS))
def bus(request: pytest.FixtureRequest) -> Iterator[Bus]:
    organization, slack = CONFIGURATIONS[request.param]
    with mock_aws():
        yield Bus(Deployed(organization=organization, slack=slack))


SAMPLES = build_samples(Deployed(organization=True, slack=True))


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.label for s in SAMPLES])
def test_a_notice_of_each_tampering_reaches_its_topic_and_nothing_else_alerts(
    bus: Bus, sample: Sample
) -> None:
    deployed = bus.deployed
    present = {"organization": deployed.organization, "slack": deployed.slack}.get(sample.needs, True)
    expected = sample.heard_by if present else None
    event = cloudtrail(sample)
    received = bus(event)
    assert {topic for topic, notices in received.items() if notices} == ({expected} if expected else set()), (
        sample.label
    )
    if expected is None:
        return
    (notice,) = received[expected]  # one notice: no two rules hear the same call
    detail = event["detail"]
    assert isinstance(notice, str)
    assert notice.startswith("RestoreWatch TAMPERING: ")
    for part in (
        detail["userIdentity"]["arn"],
        detail["eventName"],
        detail["eventSource"],
        detail["eventID"],
        STACK,
    ):
        assert part in notice, part


def test_every_fixture_is_used_and_every_call_of_the_rules_has_a_sample_that_alerts() -> None:
    used = {sample.fixture for sample in SAMPLES}
    assert used == {path.stem for path in FIXTURES.glob("*.json")}
    heard = {(f.split("-", 1)[0], f.split("-", 1)[1]) for f in {s.fixture for s in SAMPLES if s.heard_by}}
    deployed = Deployed(organization=True, slack=True)
    for rule in RULES:
        for alternative in deployed.pattern(rule)["detail"]["$or"]:
            service = alternative["eventSource"][0].split(".")[0]
            for matcher in alternative["eventName"]:
                name = matcher["prefix"] if isinstance(matcher, dict) else matcher
                assert any(s == service and n.startswith(name) for s, n in heard), (rule, service, name)


def test_each_path_is_watched_by_the_other(bus: Bus) -> None:
    """A rule cannot hear its own removal and a topic cannot carry the notice of its own deletion:
    tampering with each tamper rule and each topic reaches the other topic, and the alert key's
    tampering never travels the topic the key encrypts."""
    deployed = bus.deployed
    for rule, topic in RULES.items():
        other = ALERT_TOPIC if topic == TAMPER_TOPIC else TAMPER_TOPIC
        name = deployed.physical_name(rule)
        for fixture, parameters in (
            ("events-DisableRule", {"name": name}),
            ("events-DeleteRule", {"name": name}),
            ("events-PutRule", {"name": name}),
            ("events-PutTargets", {"rule": name}),
            ("events-RemoveTargets", {"rule": name}),
        ):
            received = bus(cloudtrail(Sample(fixture, fixture, parameters, other)))
            assert [len(received[other]), len(received[topic])] == [1, 0], (rule, fixture)
    for topic in (TAMPER_TOPIC, ALERT_TOPIC):
        other = ALERT_TOPIC if topic == TAMPER_TOPIC else TAMPER_TOPIC
        received = bus(
            cloudtrail(Sample("deleted", "sns-DeleteTopic", {"topicArn": deployed.value(topic)}, other))
        )
        assert [len(received[other]), len(received[topic])] == [1, 0], topic
    for fixture in ("kms-DisableKey", "kms-ScheduleKeyDeletion", "kms-PutKeyPolicy"):
        received = bus(
            cloudtrail(Sample(fixture, fixture, {"keyId": deployed.value("AlertKey")}, TAMPER_TOPIC))
        )
        assert [len(received[TAMPER_TOPIC]), len(received[ALERT_TOPIC])] == [1, 0], fixture


# ---- the tamper table (docs/guarantees.md): each path, who hears, through what, how it is tested ---

RULE_TEST = "tests/security/test_tamper.py (rules on moto EventBridge, notice received)"
HEARD = {
    TAMPER_TOPIC: "`{rule}` -> `TamperTopic` (not encrypted with the alert key; email + Slack)",
    ALERT_TOPIC: "`TamperPathRule` -> alert topic (email + Slack)",
}
TABLE_ROWS = [
    ("the watcher's rules disabled, deleted, re-pointed, targets replaced or removed (`DisableRule`, `DeleteRule`, `PutRule`, `PutTargets`, `RemoveTargets`)", HEARD[TAMPER_TOPIC].format(rule="TamperRule"), RULE_TEST),
    ("organization mode: the bus policy for member accounts' events removed or replaced (`RemovePermission`, `PutPermission`)", HEARD[TAMPER_TOPIC].format(rule="FunctionTamperRule"), RULE_TEST),
    ("the alert key disabled, scheduled for deletion or its policy rewritten (`DisableKey`, `ScheduleKeyDeletion`, `PutKeyPolicy`): silences every alert and alarm", HEARD[TAMPER_TOPIC].format(rule="TamperRule"), RULE_TEST),
    ("the alert topic deleted, re-configured, its policy or subscriptions changed (`DeleteTopic`, `SetTopicAttributes`, `RemovePermission`, `Unsubscribe`, `SetSubscriptionAttributes`)", HEARD[TAMPER_TOPIC].format(rule="TamperRule"), RULE_TEST),
    ("a function deleted, its code or configuration changed (e.g. `WATCH_TAG_KEY`), its invoke permission removed, throttled to 0 (`DeleteFunction*`, `UpdateFunctionCode`, `UpdateFunctionConfiguration`, `RemovePermission`, `PutFunctionConcurrency`)", HEARD[TAMPER_TOPIC].format(rule="FunctionTamperRule"), RULE_TEST),
    ("a queue mapping disabled, changed or deleted (`UpdateEventSourceMapping`, `DeleteEventSourceMapping`)", HEARD[TAMPER_TOPIC].format(rule="FunctionTamperRule"), RULE_TEST),
    ("a queue deleted, purged, re-configured or its policy changed (`DeleteQueue`, `PurgeQueue`, `SetQueueAttributes`, `RemovePermission`)", HEARD[TAMPER_TOPIC].format(rule="StoreTamperRule"), RULE_TEST),
    ("the state table deleted or changed (`DeleteTable`, `UpdateTable`)", HEARD[TAMPER_TOPIC].format(rule="StoreTamperRule"), RULE_TEST),
    ("an alarm deleted, its actions disabled or changed (`DeleteAlarms`, `DisableAlarmActions`, `PutMetricAlarm`)", HEARD[TAMPER_TOPIC].format(rule="StoreTamperRule"), RULE_TEST),
    ("the tamper topic deleted, re-configured or unsubscribed from; a rule that publishes to it disabled, deleted or re-pointed", HEARD[ALERT_TOPIC], RULE_TEST),
    ("watch tag removed", "`UNWATCHED` alert (watcher)", "tests/integration (pipeline), tests/security/test_secrets_in_logs.py"),
    ("watched principal deleted", "`DELETED` alert (watcher)", "tests/integration (pipeline), tests/security/test_secrets_in_logs.py"),
    ("state table deleted (also)", "every run fails: `WatcherErrorsAlarm`, `DeadLetterQueueAlarm`", "fault matrix (DynamoDB rows: item -> DLQ)"),
    ("sweep stops running (schedule disabled or deleted, function broken)", "`SweepMissingAlarm` (no `SweepSucceeded` for 26 h, missing data breaching)", "tests/template/test_template.py"),
    ("Slack webhook secret changed to another host", "refused: the alert goes to the Slack DLQ -> `SlackDeadLetterQueueAlarm` (email unaffected)", "tests/integration/test_slack_function.py"),
    ("both paths broken at once (e.g. the alert key disabled and the tamper topic deleted), or the stack deleted", "nobody through the stack; CloudTrail keeps the records (an SCP outside the stack can forbid these calls)", "documented"),
]  # fmt: skip


def test_tamper_table_rows_are_recorded() -> None:
    record_figure("tamper", "heard", sum(1 for sample in SAMPLES if sample.heard_by))
    for path, who, tested in TABLE_ROWS:
        record_row("tamper", {"tampering": path, "who hears, through what": who, "tested": tested})
    table = " ".join(path for path, _, _ in TABLE_ROWS)
    for fixture in FIXTURES.glob("*.json"):  # every call the rules hear has its row
        call = re.sub(r"\d{8}(v\d)?$", "", fixture.stem.split("-", 1)[1])  # Lambda's API version
        assert f"`{call}" in table, call


def test_deployed_resolution_is_real() -> None:
    """The resolver the tests above rely on: names, ARNs and conditions as CloudFormation's."""
    d = Deployed(organization=False, slack=False)
    assert d.physical_name("EventQueue") == f"{STACK}-EventQueue-{Deployed.SUFFIX}"
    assert d.physical_name("WatcherErrorsAlarm") == f"{STACK}-watcher-errors"
    assert d.physical_name("TamperPathRule") == f"{STACK}-tamper-path"
    assert d.value("AlertTopic") == f"arn:aws:sns:{REGION}:{ACCOUNT}:{STACK}-AlertTopic-{Deployed.SUFFIX}"
    assert not d.exists("SweepQueue")
    assert Deployed(organization=True, slack=True).exists("SlackFunction")
    names = d.pattern("TamperRule")["detail"]["$or"][0]["requestParameters"]["name"]
    assert names[2] == f"{STACK}-WatcherFunctionSweep-{Deployed.SUFFIX}"
    assert names[3] == f"{STACK}-tamper-path"
