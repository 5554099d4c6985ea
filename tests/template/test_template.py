"""The SAM template (template.yaml) and the us-east-1 forwarder (templates/forwarder.yaml), as data.

These pin what a reviewer would check by hand before a deploy: the events that reach the watcher, the
delivery path (delay, redrive), durability and encryption of the state and the alerts, the alarms, and
that the watcher's role is least privilege. ``sam validate --lint`` checks that the template is valid;
these check that it is *right*.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from restorewatch.engine import AccountSnapshot, Principal, RequestDecision, decide_request
from support.deployed import ACCOUNT as DEPLOYED_ACCOUNT
from support.deployed import ORGANIZATION_ID, Deployed
from support.template import (
    FORWARDER_TEMPLATE_PATH,
    function_environment,
    load_template,
    resources_of_type,
    state_table_kwargs,
)

# AWS docs: "Logging IAM and AWS STS API calls with AWS CloudTrail" and the IAM API reference. Every
# call that can change what a user or role may do, or whether it is watched, or whether it exists.
REQUIRED_EVENT_NAMES = frozenset(
    {
        # users
        "CreateUser", "DeleteUser", "UpdateUser",
        "AttachUserPolicy", "DetachUserPolicy", "PutUserPolicy", "DeleteUserPolicy",
        "PutUserPermissionsBoundary", "DeleteUserPermissionsBoundary",
        "TagUser", "UntagUser",
        # groups and membership
        "AddUserToGroup", "RemoveUserFromGroup",
        "AttachGroupPolicy", "DetachGroupPolicy", "PutGroupPolicy", "DeleteGroupPolicy", "DeleteGroup",
        # roles
        "CreateRole", "DeleteRole", "UpdateRole",
        "AttachRolePolicy", "DetachRolePolicy", "PutRolePolicy", "DeleteRolePolicy",
        "PutRolePermissionsBoundary", "DeleteRolePermissionsBoundary",
        "TagRole", "UntagRole",
        # managed policies
        "CreatePolicyVersion", "DeletePolicyVersion", "SetDefaultPolicyVersion", "DeletePolicy",
    }
)  # fmt: skip

# Resource types the watcher may write to (when they are this stack's own resources).
OWN_WRITABLE_TYPES = frozenset(
    {"AWS::SNS::Topic", "AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::Logs::LogGroup", "AWS::KMS::Key"}
)
# X-Ray supports no resource-level permissions: these two writes must use "*".
UNSCOPABLE_WRITES = frozenset({"xray:puttracesegments", "xray:puttelemetryrecords"})
READ_VERBS = ("Get", "List", "Describe", "BatchGet", "Query", "Scan")
IAM_READ_VERBS = ("Get", "List")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = template["Resources"]
    return loaded


def _props(resources: dict[str, Any], logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = resources[logical_id]["Properties"]
    return props


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _refs(value: Any) -> set[str]:
    """Logical ids (and parameters) that a template value references through Ref, GetAtt or Sub."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0] if isinstance(inner, list) else str(inner).split(".")[0])
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                found.update(name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text))
            else:
                found |= _refs(inner)
    elif isinstance(value, list):
        for item in value:
            found |= _refs(item)
    return {name for name in found if not name.startswith("AWS::")}


def _references(value: Any, logical_id: str, attribute: str | None = None) -> bool:
    expected = {"Ref": logical_id} if attribute is None else {"Fn::GetAtt": [logical_id, attribute]}
    return bool(value == expected)


def _event_pattern(resources: dict[str, Any], logical_id: str = "IamChangeRule") -> dict[str, Any]:
    pattern: dict[str, Any] = _props(resources, logical_id)["EventPattern"]
    return pattern


# ------------------------------------------------------------------ the loader itself


def test_load_template_short_form_tags_become_long_form(resources: dict[str, Any]) -> None:
    env = _props(resources, "WatcherFunction")["Environment"]["Variables"]
    assert env["STATE_TABLE"] == {"Ref": "StateTable"}
    assert _props(resources, "WatcherFunction")["Role"] == {"Fn::GetAtt": ["WatcherRole", "Arn"]}
    assert "Fn::Sub" in _props(resources, "AlertKeyAlias")["AliasName"]


# ------------------------------------------------------------------ code and runtime


def test_template_function_runtime_python313_arm64(template: dict[str, Any]) -> None:
    function_globals = template["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == ["arm64"]


def test_template_layer_built_from_layers_dir_with_python313(resources: dict[str, Any]) -> None:
    layer = resources["RestoreWatchLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "layers/restorewatch/"
    assert layer["Metadata"]["BuildMethod"] == "python3.13"


def test_template_watcher_function_uses_layer_and_thin_handler(resources: dict[str, Any]) -> None:
    props = _props(resources, "WatcherFunction")
    assert props["CodeUri"] == "functions/watcher/"
    assert props["Handler"] == "app.lambda_handler"
    assert {"Ref": "RestoreWatchLayer"} in props["Layers"]


def test_template_watcher_environment_names_its_resources_and_settings(resources: dict[str, Any]) -> None:
    env = function_environment()
    assert env["STATE_TABLE"] == {"Ref": "StateTable"}
    assert env["ALERT_TOPIC_ARN"] == {"Ref": "AlertTopic"}
    assert env["WATCH_TAG_KEY"] == {"Ref": "WatchTagKey"}
    assert env["ALERT_ON_DEGRADED"] == {"Ref": "AlertOnDegraded"}
    assert env["LOG_LEVEL"] == {"Ref": "LogLevel"}
    assert env["POWERTOOLS_SERVICE_NAME"] == "restorewatch"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "RestoreWatch"


def test_template_parameters_defaults(template: dict[str, Any]) -> None:
    params = template["Parameters"]
    assert params["WatchTagKey"]["Default"] == "restorewatch:profile"
    assert params["AlertOnDegraded"]["AllowedValues"] == ["true", "false"]
    assert params["QueueDelaySeconds"]["Default"] == 60
    assert params["SweepSchedule"]["Default"] == "rate(1 day)"
    assert params["AlertEmail"]["Default"] == ""


def test_template_description_says_iam_events_only_in_us_east_1(template: dict[str, Any]) -> None:
    assert "us-east-1" in template["Description"]
    assert "forwarder" in template["Description"]


# ------------------------------------------------------------------ events


def test_rule_pattern_matches_successful_iam_cloudtrail_calls_on_default_bus(
    resources: dict[str, Any],
) -> None:
    """EventBridge: "Events from AWS services", CloudTrail API call events of IAM."""
    props = _props(resources, "IamChangeRule")
    assert "EventBusName" not in props  # the default bus
    pattern = _event_pattern(resources)
    assert pattern["source"] == ["aws.iam"]
    assert pattern["detail-type"] == ["AWS API Call via CloudTrail"]
    assert pattern["detail"]["eventSource"] == ["iam.amazonaws.com"]


def test_rule_pattern_contains_every_required_event_name(resources: dict[str, Any]) -> None:
    names = _event_pattern(resources)["detail"]["eventName"]
    assert len(names) == len(set(names)), "duplicate eventName"
    missing = REQUIRED_EVENT_NAMES - set(names)
    assert not missing, f"IamChangeRule misses {sorted(missing)}"


def test_rule_pattern_event_names_are_those_the_watcher_maps(resources: dict[str, Any]) -> None:
    """The handler maps every eventName the rule sends (the event table's IAM rows); an unknown one
    would fall back to a sweep."""
    table = pytest.importorskip("restorewatch.watch.event_table")
    names = set(_event_pattern(resources)["detail"]["eventName"])
    assert names == set(table.rule_event_names(table.IAM_SOURCE))


def test_organizations_rule_event_names_are_the_event_tables(resources: dict[str, Any]) -> None:
    """OrganizationsChangeRule sends exactly the Organizations calls the event table maps (the
    service-originated records of accounts created or closed are matched by no rule)."""
    table = pytest.importorskip("restorewatch.watch.event_table")
    pattern = _event_pattern(resources, "OrganizationsChangeRule")
    assert pattern["source"] == ["aws.organizations"]
    assert pattern["detail"]["eventSource"] == [table.ORG_SOURCE]
    names = pattern["detail"]["eventName"]
    assert len(names) == len(set(names)), "duplicate eventName"
    assert set(names) == set(table.rule_event_names(table.ORG_SOURCE))


def test_resource_rule_event_names_are_the_event_tables(resources: dict[str, Any]) -> None:
    """ResourcePolicyChangeRule sends exactly the S3 and KMS calls the event table maps, from any
    Region (the per-Region forwarders put them on this bus unchanged: no ``region`` filter), and
    only successful ones, to the event queue."""
    table = pytest.importorskip("restorewatch.watch.event_table")
    pattern = _event_pattern(resources, "ResourcePolicyChangeRule")
    assert pattern["source"] == ["aws.s3", "aws.kms"]
    assert pattern["detail-type"] == ["AWS API Call via CloudTrail"]
    assert pattern["detail"]["eventSource"] == list(table.RESOURCE_SOURCES)
    assert pattern["detail"]["errorCode"] == [{"exists": False}]
    assert "region" not in pattern
    names = pattern["detail"]["eventName"]
    assert len(names) == len(set(names)), "duplicate eventName"
    expected = {name for source in table.RESOURCE_SOURCES for name in table.rule_event_names(source)}
    assert set(names) == expected
    (target,) = _props(resources, "ResourcePolicyChangeRule")["Targets"]
    assert _references(target["Arn"], "EventQueue", "Arn")
    assert _references(target["DeadLetterConfig"]["Arn"], "EventDeadLetterQueue", "Arn")


def test_watcher_reads_only_the_repository_policies_it_is_given(resources: dict[str, Any]) -> None:
    """The watcher's role reads bucket and key policies (s3:GetBucketPolicy, kms:GetKeyPolicy,
    kms:DescribeKey) on exactly the template parameters' resources, and nothing else of S3 or KMS
    beyond its own report bucket and alert key."""
    statements = {
        statement["Sid"]: statement
        for policy in _props(resources, "WatcherRole")["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    }
    assert statements["ReadRepositoryBucketPolicies"]["Action"] == "s3:GetBucketPolicy"
    assert statements["ReadRepositoryBucketPolicies"]["Resource"] == {"Ref": "RepositoryBucketArns"}
    assert statements["ReadRepositoryKeys"]["Action"] == ["kms:DescribeKey", "kms:GetKeyPolicy"]
    assert statements["ReadRepositoryKeys"]["Resource"] == {"Ref": "RepositoryKeyArns"}
    reads = {
        action
        for statement in statements.values()
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        if action.startswith(("s3:Get", "kms:Get", "kms:Describe"))
    }
    assert reads == {"s3:GetBucketPolicy", "kms:DescribeKey", "kms:GetKeyPolicy"}


def test_rule_pattern_requires_error_code_absent(resources: dict[str, Any]) -> None:
    """EventBridge content filtering "exists": failed calls carry errorCode and change nothing."""
    assert _event_pattern(resources)["detail"]["errorCode"] == [{"exists": False}]


def test_rule_targets_event_queue_with_dead_letter(resources: dict[str, Any]) -> None:
    (target,) = _props(resources, "IamChangeRule")["Targets"]
    assert _references(target["Arn"], "EventQueue", "Arn")
    assert _references(target["DeadLetterConfig"]["Arn"], "EventDeadLetterQueue", "Arn")


def test_queue_policy_lets_only_the_rule_send(resources: dict[str, Any]) -> None:
    props = _props(resources, "EventQueuePolicy")
    assert {"Ref": "EventQueue"} in props["Queues"]
    (statement,) = props["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == [
        {"Fn::GetAtt": ["IamChangeRule", "Arn"]},
        {"Fn::GetAtt": ["OrganizationsChangeRule", "Arn"]},
        {"Fn::GetAtt": ["ResourcePolicyChangeRule", "Arn"]},
    ]


def test_queue_delay_is_the_parameter(resources: dict[str, Any]) -> None:
    assert _props(resources, "EventQueue")["DelaySeconds"] == {"Ref": "QueueDelaySeconds"}


def test_queue_redrives_to_dead_letter_queue(resources: dict[str, Any]) -> None:
    redrive = _props(resources, "EventQueue")["RedrivePolicy"]
    assert _references(redrive["deadLetterTargetArn"], "EventDeadLetterQueue", "Arn")
    assert 1 <= redrive["maxReceiveCount"] <= 10


def test_queue_visibility_timeout_covers_function_timeout(template: dict[str, Any]) -> None:
    """Lambda docs: set the queue's visibility timeout to at least six times the function timeout."""
    timeout = template["Resources"]["WatcherFunction"]["Properties"].get(
        "Timeout", template["Globals"]["Function"]["Timeout"]
    )
    assert template["Resources"]["EventQueue"]["Properties"]["VisibilityTimeout"] >= 6 * timeout


def test_sqs_event_source_batches_and_reports_item_failures(resources: dict[str, Any]) -> None:
    events = _props(resources, "WatcherFunction")["Events"]
    (sqs,) = [event for event in events.values() if event["Type"] == "SQS"]
    assert _references(sqs["Properties"]["Queue"], "EventQueue", "Arn")
    assert sqs["Properties"]["BatchSize"] > 1
    assert sqs["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_schedule_event_runs_sweep_on_parameter(resources: dict[str, Any]) -> None:
    events = _props(resources, "WatcherFunction")["Events"]
    (schedule,) = [event for event in events.values() if event["Type"] in {"Schedule", "ScheduleV2"}]
    assert schedule["Properties"]["Schedule" if schedule["Type"] == "Schedule" else "ScheduleExpression"] == {
        "Ref": "SweepSchedule"
    }


# ------------------------------------------------------------------ state and alerts


def test_state_table_key_schema_is_principal_and_profile(resources: dict[str, Any]) -> None:
    """docs/interfaces.md: partition key principal (S), sort key profile (S)."""
    props = _props(resources, "StateTable")
    assert props["KeySchema"] == [
        {"AttributeName": "principal", "KeyType": "HASH"},
        {"AttributeName": "profile", "KeyType": "RANGE"},
    ]
    types = {d["AttributeName"]: d["AttributeType"] for d in props["AttributeDefinitions"]}
    assert types == {"principal": "S", "profile": "S", "account": "S"}


def test_state_table_indexes_states_by_account(resources: dict[str, Any]) -> None:
    """The central watcher reads one member account's states through this index (state/store.py)."""
    from restorewatch.state.store import ACCOUNT_INDEX

    (index,) = _props(resources, "StateTable")["GlobalSecondaryIndexes"]
    assert index["IndexName"] == ACCOUNT_INDEX
    assert index["KeySchema"] == [
        {"AttributeName": "account", "KeyType": "HASH"},
        {"AttributeName": "principal", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "ALL"}  # whole states, no second read


def test_state_table_on_demand_with_point_in_time_recovery(resources: dict[str, Any]) -> None:
    props = _props(resources, "StateTable")
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_state_table_kwargs_build_a_working_table_in_moto() -> None:
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    with moto.mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**state_table_kwargs("restorewatch-test"))
        table = client.describe_table(TableName="restorewatch-test")["Table"]
        client.put_item(
            TableName="restorewatch-test",
            Item={"principal": {"S": "#sweep"}, "profile": {"S": "#last"}},
        )
    assert table["KeySchema"] == [
        {"AttributeName": "principal", "KeyType": "HASH"},
        {"AttributeName": "profile", "KeyType": "RANGE"},
    ]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_alert_topic_is_kms_encrypted_with_the_stack_key(resources: dict[str, Any]) -> None:
    """SNS docs: CloudWatch alarms can publish to an encrypted topic only with a customer managed key."""
    assert _props(resources, "AlertTopic")["KmsMasterKeyId"] == {"Ref": "AlertKey"}
    key = _props(resources, "AlertKey")
    assert key["EnableKeyRotation"] is True
    cloudwatch = [
        s
        for s in key["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert cloudwatch, "CloudWatch alarms cannot publish to the topic without a key grant"
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(_as_list(cloudwatch[0]["Action"]))


def test_alert_email_subscription_is_optional(resources: dict[str, Any], template: dict[str, Any]) -> None:
    subscription = resources["AlertEmailSubscription"]
    assert subscription["Condition"] == "HasAlertEmail"
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlertEmail"}
    assert template["Conditions"]["HasAlertEmail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlertEmail"}, ""]}]
    }


def test_alarms_publish_to_the_alert_topic(resources: dict[str, Any]) -> None:
    alarms = resources_of_type({"Resources": resources}, "AWS::CloudWatch::Alarm")
    assert set(alarms) >= {"WatcherErrorsAlarm", "DeadLetterQueueAlarm", "SweepMissingAlarm"}
    for logical_id, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlertTopic"}], logical_id
        # the key and topic policies grant CloudWatch for alarms named "<stack>-*" only
        assert alarm["Properties"]["AlarmName"]["Fn::Sub"].startswith("${AWS::StackName}-"), logical_id


def test_function_errors_alarm_watches_the_watcher(resources: dict[str, Any]) -> None:
    props = _props(resources, "WatcherErrorsAlarm")
    assert (props["Namespace"], props["MetricName"]) == ("AWS/Lambda", "Errors")
    assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "WatcherFunction"}}]


def test_dead_letter_alarm_fires_on_any_message(resources: dict[str, Any]) -> None:
    props = _props(resources, "DeadLetterQueueAlarm")
    assert (props["Namespace"], props["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert props["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["EventDeadLetterQueue", "QueueName"]}}
    ]
    assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanThreshold", 0)


def test_sweep_alarm_fires_after_26_hours_without_success(resources: dict[str, Any]) -> None:
    props = _props(resources, "SweepMissingAlarm")
    assert (props["Namespace"], props["MetricName"]) == ("RestoreWatch", "SweepSucceeded")
    # Powertools Metrics adds the default dimension service=<POWERTOOLS_SERVICE_NAME>
    assert props["Dimensions"] == [{"Name": "service", "Value": "restorewatch"}]
    assert props["TreatMissingData"] == "breaching"
    assert props["Period"] * props["EvaluationPeriods"] == 26 * 3600
    assert props.get("DatapointsToAlarm", props["EvaluationPeriods"]) == props["EvaluationPeriods"]
    assert (props["ComparisonOperator"], props["Threshold"]) == ("LessThanThreshold", 1)


def test_outputs_name_topic_table_and_queues(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert outputs["AlertTopicArn"]["Value"] == {"Ref": "AlertTopic"}
    assert outputs["StateTableName"]["Value"] == {"Ref": "StateTable"}
    assert outputs["EventQueueUrl"]["Value"] == {"Ref": "EventQueue"}
    assert outputs["DeadLetterQueueUrl"]["Value"] == {"Ref": "EventDeadLetterQueue"}


# ------------------------------------------------------------------ least privilege


def policy_violations(statements: list[dict[str, Any]], own_resources: set[str]) -> list[str]:
    """Why these Allow statements are not least privilege for the watcher (empty list: they are).

    Rules: no NotAction/NotResource; no wildcard in any action ("*", "service:*", "iam:Get*"); IAM
    actions only reads (Get.../List...);
    every non-read action only on resources that reference the stack's own ``own_resources``
    (Ref/GetAtt/Sub), except X-Ray's unscopable trace writes.
    """
    problems: list[str] = []
    for index, statement in enumerate(statements):
        where = statement.get("Sid", f"statement {index}")
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement or "NotResource" in statement:
            problems.append(f"{where}: NotAction/NotResource")
            continue
        resources = _as_list(statement.get("Resource", []))
        for action in _as_list(statement["Action"]):
            if not isinstance(action, str) or ":" not in action:
                problems.append(f"{where}: action {action!r}")
                continue
            service, _, name = action.partition(":")
            if name.startswith("*") or action == "*":
                problems.append(f"{where}: {action} grants a whole service")
                continue
            if "*" in name or "?" in name:
                problems.append(f"{where}: {action} is a wildcard")
                continue
            if service.lower() == "iam" and not name.startswith(IAM_READ_VERBS):
                problems.append(f"{where}: {action} is not IAM read-only")
                continue
            if name.startswith(READ_VERBS):
                continue
            if action.lower() in UNSCOPABLE_WRITES:
                continue
            for resource in resources:
                referenced = _refs(resource)
                if not referenced or not referenced <= own_resources:
                    problems.append(f"{where}: {action} on {resource!r}, not only this stack's resources")
    return problems


def _watcher_statements(resources: dict[str, Any]) -> list[dict[str, Any]]:
    role = _props(resources, "WatcherRole")
    statements = [s for policy in role.get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]
    for resource in resources.values():
        if resource["Type"] in {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"} and {
            "Ref": "WatcherRole"
        } in resource["Properties"].get("Roles", []):
            statements.extend(resource["Properties"]["PolicyDocument"]["Statement"])
    return statements


def _own_writable(resources: dict[str, Any]) -> set[str]:
    own = {logical_id for logical_id, r in resources.items() if r["Type"] in OWN_WRITABLE_TYPES}
    # the status report's bucket: the stack's own (ReportStore) or the one the operator named for it
    return own | {"ReportStore", "ReportBucket"}


def test_watcher_function_uses_the_explicit_role_only(resources: dict[str, Any]) -> None:
    """SAM: with an explicit Role, SAM attaches no policies of its own (no Resource "*" SQS poller)."""
    props = _props(resources, "WatcherFunction")
    assert props["Role"] == {"Fn::GetAtt": ["WatcherRole", "Arn"]}
    assert "Policies" not in props
    assert not _props(resources, "WatcherRole").get("ManagedPolicyArns")
    assert _props(resources, "WatcherRole")["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "lambda.amazonaws.com"
    }


def test_watcher_role_is_least_privilege(resources: dict[str, Any]) -> None:
    statements = _watcher_statements(resources)
    assert statements
    assert policy_violations(statements, _own_writable(resources)) == []


def test_watcher_role_reads_iam_and_writes_its_own_table_topic_and_queues(resources: dict[str, Any]) -> None:
    by_action: dict[str, list[Any]] = {}
    for statement in _watcher_statements(resources):
        for action in _as_list(statement["Action"]):
            by_action.setdefault(action, []).extend(_as_list(statement["Resource"]))
    assert "iam:GetAccountAuthorizationDetails" in by_action  # the IAM reads, one by one
    assert not [action for action in by_action if "*" in action or "?" in action]
    assert by_action["sns:Publish"] == [{"Ref": "AlertTopic"}]
    table = {"Fn::GetAtt": ["StateTable", "Arn"]}
    index = {"Fn::Sub": "${StateTable.Arn}/index/by-account"}
    dynamodb = {action: where for action, where in by_action.items() if action.startswith("dynamodb:")}
    assert dynamodb == {
        "dynamodb:GetItem": [table],
        "dynamodb:PutItem": [table],
        "dynamodb:UpdateItem": [table],
        "dynamodb:Scan": [table],
        "dynamodb:Query": [table, index],
    }
    event_queue = {"Fn::GetAtt": ["EventQueue", "Arn"]}
    sweep_queue = {"Fn::GetAtt": ["SweepQueue", "Arn"]}  # organization mode's policy
    for action in ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes"):
        assert by_action[f"sqs:{action}"] == [event_queue, sweep_queue], action
    # sends: account sweeps into their own queue, failed scheduled invocations into the DLQ
    assert by_action["sqs:SendMessage"] == [{"Fn::GetAtt": ["EventDeadLetterQueue", "Arn"]}, sweep_queue]


def test_sweep_queue_and_its_policy_exist_in_organization_mode_only(resources: dict[str, Any]) -> None:
    for logical_id in ("SweepQueue", "SweepQueueAccess", "AccountSweeps"):
        assert resources[logical_id]["Condition"] == "IsOrganizationMode", logical_id
    assert _props(resources, "SweepQueueAccess")["Roles"] == [{"Ref": "WatcherRole"}]
    env = _props(resources, "WatcherFunction")["Environment"]["Variables"]
    assert env["SWEEP_QUEUE_URL"] == {"Fn::If": ["IsOrganizationMode", {"Ref": "SweepQueue"}, ""]}


def test_account_sweeps_one_per_invocation_at_bounded_concurrency(
    resources: dict[str, Any], template: dict[str, Any]
) -> None:
    """One account per invocation (a batch of ten large accounts could outlast the timeout), as many
    at once as AccountSweepConcurrency says (SQS event sources: MaximumConcurrency 2..1000)."""
    mapping = resources["AccountSweeps"]
    assert mapping["DependsOn"] == "SweepQueueAccess"  # Lambda checks the role when the mapping is made
    props = mapping["Properties"]
    assert props["FunctionName"] == {"Ref": "WatcherFunction"}
    assert _references(props["EventSourceArn"], "SweepQueue", "Arn")
    assert props["BatchSize"] == 1
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "AccountSweepConcurrency"}
    parameter = template["Parameters"]["AccountSweepConcurrency"]
    assert (parameter["MinValue"], parameter["MaxValue"]) == (2, 1000)
    queue = _props(resources, "SweepQueue")
    assert _references(queue["RedrivePolicy"]["deadLetterTargetArn"], "EventDeadLetterQueue", "Arn")
    assert queue["VisibilityTimeout"] >= 6 * template["Globals"]["Function"]["Timeout"]
    assert "DelaySeconds" not in queue  # the event queue's delay is for IAM events only


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ({"Effect": "Allow", "Action": "*", "Resource": "*"}, "*"),
        ({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, "whole service"),
        ({"Effect": "Allow", "Action": "iam:PutUserPolicy", "Resource": "*"}, "not IAM read-only"),
        ({"Effect": "Allow", "Action": "iam:GenerateCredentialReport", "Resource": "*"}, "not IAM read-only"),
        ({"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}, "wildcard"),
        ({"Effect": "Allow", "Action": "kms:GenerateDataKey*", "Resource": {"Ref": "AlertKey"}}, "wildcard"),
        ({"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}, "not only this stack"),
        ({"Effect": "Allow", "Action": "sns:Publish", "Resource": {"Ref": "SomeoneElsesTopic"}}, "not only"),
        ({"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": "arn:aws:dynamodb:*"}, "not only"),
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, "NotAction"),
    ],
)
def test_policy_violations_detects_overbroad_statement(statement: dict[str, Any], expected: str) -> None:
    """The least-privilege check above can fail: each of these statements is caught."""
    problems = policy_violations([statement], {"AlertTopic", "StateTable"})
    assert problems
    assert expected in problems[0]


def test_policy_violations_accepts_own_resource_writes() -> None:
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": ["iam:GetRole", "iam:ListRolePolicies"], "Resource": "*"},
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": {"Ref": "AlertTopic"}},
        {
            "Effect": "Allow",
            "Action": "dynamodb:PutItem",
            "Resource": {"Fn::Sub": "${StateTable.Arn}/index/*"},
        },
        {"Effect": "Deny", "Action": "*", "Resource": "*"},
    ]
    assert policy_violations(statements, {"AlertTopic", "StateTable"}) == []


# ------------------------------------------------------------------ forwarder (us-east-1)


def test_forwarder_pattern_equals_watcher_pattern(resources: dict[str, Any]) -> None:
    forwarder = load_template(FORWARDER_TEMPLATE_PATH)["Resources"]
    forwarded = _event_pattern(forwarder, "ForwardIamChangesRule")
    watched = _event_pattern(resources)
    assert set(forwarded["detail"].pop("eventName")) == set(watched["detail"]["eventName"])
    watched_rest = {**watched, "detail": {k: v for k, v in watched["detail"].items() if k != "eventName"}}
    assert forwarded == watched_rest


def test_forwarder_targets_default_bus_of_target_region_and_deploys_only_in_us_east_1() -> None:
    forwarder = load_template(FORWARDER_TEMPLATE_PATH)
    (target,) = forwarder["Resources"]["ForwardIamChangesRule"]["Properties"]["Targets"]
    assert target["Arn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:events:${TargetRegion}:${AWS::AccountId}:event-bus/default"
    }
    assert target["RoleArn"] == {"Fn::GetAtt": ["ForwardIamChangesRole", "Arn"]}
    assertion = forwarder["Rules"]["DeployInUsEast1"]["Assertions"][0]["Assert"]
    assert assertion == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}
    role = forwarder["Resources"]["ForwardIamChangesRole"]["Properties"]
    (statement,) = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert statement["Resource"] == target["Arn"]


def test_watcher_role_grants_exactly_the_dynamodb_operations_the_store_calls(
    resources: dict[str, Any],
) -> None:
    """Least privilege both ways: every operation state/store.py sends is granted, nothing more."""
    import ast
    import inspect

    from restorewatch.state import store

    called = {
        f"dynamodb:{node.args[0].value}"
        for node in ast.walk(ast.parse(inspect.getsource(store)))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"_call", "_paginate", "_conditional"}
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }
    granted = {
        action
        for statement in _watcher_statements(resources)
        for action in _as_list(statement["Action"])
        if action.startswith("dynamodb:")
    }
    assert called == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:Query",
        "dynamodb:Scan",
    }
    assert granted == called


# ------------------------------------------------------------------ member accounts (organization mode)

MEMBER_ROLE = "arn:aws:iam::444455556666:role/RestoreWatchMemberReader"


def _watcher_principal(*, organization: bool) -> Principal:
    """The watcher's role as deployed, read by the engine like any IAM role."""
    deployed = Deployed(organization=organization, slack=False)
    document = deployed.resolve(_props(deployed.resources, "WatcherRole")["Policies"][0]["PolicyDocument"])
    arn = f"arn:aws:iam::{DEPLOYED_ACCOUNT}:role/{deployed.physical_name('WatcherRole')}"
    page = {
        "UserDetailList": [],
        "GroupDetailList": [],
        "RoleDetailList": [
            {
                "Path": "/",
                "RoleName": deployed.physical_name("WatcherRole"),
                "RoleId": "AROAWATCHERROLEEXAMPLE",
                "Arn": arn,
                "RolePolicyList": [{"PolicyName": "restorewatch-watcher", "PolicyDocument": document}],
                "AttachedManagedPolicies": [],
                "Tags": [],
            }
        ],
        "Policies": [],
    }
    return AccountSnapshot.from_pages([page]).principal(arn)


@pytest.mark.parametrize(
    ("resource_organization", "expected"),
    [
        (ORGANIZATION_ID, RequestDecision.ALLOWED),  # a member account of the watcher's organization
        ("o-zz9y8x7w6v", RequestDecision.IMPLICIT_DENY),  # an account of another organization
        (None, RequestDecision.IMPLICIT_DENY),  # an account in no organization: the key is absent
    ],
)
def test_the_watcher_assumes_member_roles_only_inside_its_own_organization(
    resource_organization: str | None, expected: RequestDecision
) -> None:
    """``sts:AssumeRole`` on ``arn:aws:iam::*:role/<MemberRoleName>`` is allowed only when the role's
    account belongs to the watcher's own organization: ``aws:ResourceOrgID`` (the organization of the
    account that owns the resource) equals ``${aws:PrincipalOrgID}`` (the watcher's). A role of that
    name in any other account (another organization's, or a stand-alone account an attacker owns and
    whose role trusts the watcher) is not assumed, so it cannot feed the watcher a false all-clear.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceorgid
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    """
    context = {"aws:PrincipalOrgID": ORGANIZATION_ID, "aws:ResourceOrgID": resource_organization}
    result = decide_request(_watcher_principal(organization=True), "sts:AssumeRole", MEMBER_ROLE, context)
    assert result.decision is expected, result.explanation


def test_outside_organization_mode_the_watcher_assumes_no_role() -> None:
    """Single-account mode: the statement is an unconditional Deny (no condition can weaken it)."""
    context = {"aws:PrincipalOrgID": ORGANIZATION_ID, "aws:ResourceOrgID": ORGANIZATION_ID}
    result = decide_request(_watcher_principal(organization=False), "sts:AssumeRole", MEMBER_ROLE, context)
    assert result.decision is RequestDecision.EXPLICIT_DENY
    (statement,) = [
        s
        for s in _props(load_template()["Resources"], "WatcherRole")["Policies"][0]["PolicyDocument"][
            "Statement"
        ]
        if s["Sid"] == "ReadMemberAccounts"
    ]
    assert statement["Condition"] == {
        "Fn::If": [
            "IsOrganizationMode",
            {"StringEquals": {"aws:ResourceOrgID": "${aws:PrincipalOrgID}"}},
            {"Ref": "AWS::NoValue"},
        ]
    }
