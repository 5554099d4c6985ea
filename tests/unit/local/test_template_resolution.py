"""``restorewatch_cli.local.template``: reading template.yaml the way ``sam local`` does (pure, no AWS).

Intrinsic functions: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference.html
(Ref of a topic is its ARN, of a queue its URL, of a table its name; Fn::GetAtt Arn / QueueName).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from restorewatch.errors import InputError
from restorewatch_cli.local.template import LocalStack, load_template
from support.template import TEMPLATE_PATH
from support.template import function_environment as raw_environment

if TYPE_CHECKING:
    from pathlib import Path

ACCOUNT = "111122223333"


@pytest.fixture
def stack() -> LocalStack:
    return LocalStack(load_template(TEMPLATE_PATH), account=ACCOUNT)


def test_load_template_short_form_tags_become_long_form() -> None:
    template = load_template(TEMPLATE_PATH)
    env = template["Resources"]["WatcherFunction"]["Properties"]["Environment"]["Variables"]
    assert env["STATE_TABLE"] == {"Ref": "StateTable"}
    assert template["Resources"]["WatcherFunction"]["Properties"]["Role"] == {
        "Fn::GetAtt": ["WatcherRole", "Arn"]
    }


def test_runtime_resources_are_table_topic_queues_with_stack_names(stack: LocalStack) -> None:
    resources = {r.logical_id: (r.type, r.physical_name) for r in stack.runtime_resources()}
    assert resources["StateTable"] == ("AWS::DynamoDB::Table", "restorewatch-local-StateTable")
    assert resources["AlertTopic"] == ("AWS::SNS::Topic", "restorewatch-local-AlertTopic")
    assert resources["EventQueue"] == ("AWS::SQS::Queue", "restorewatch-local-EventQueue")
    assert {kind for kind, _ in resources.values()} == {
        "AWS::DynamoDB::Table",
        "AWS::SNS::Topic",
        "AWS::SQS::Queue",
    }


def test_table_properties_are_the_templates(stack: LocalStack) -> None:
    (table,) = [r for r in stack.runtime_resources() if r.type == "AWS::DynamoDB::Table"]
    raw = load_template(TEMPLATE_PATH)["Resources"]["StateTable"]["Properties"]
    assert table.properties["KeySchema"] == raw["KeySchema"]
    assert table.properties["AttributeDefinitions"] == raw["AttributeDefinitions"]


def test_watcher_environment_resolves_every_variable(stack: LocalStack) -> None:
    """Every variable of the function's environment resolves to a plain string: no intrinsic left."""
    function = stack.functions()["WatcherFunction"]
    assert function.handler == "app.lambda_handler"
    assert function.code_uri.rstrip("/") == "functions/watcher"
    resolved = stack.resolve(dict(function.environment))
    assert set(resolved) == set(raw_environment())
    assert resolved["STATE_TABLE"] == "restorewatch-local-StateTable"
    assert resolved["ALERT_TOPIC_ARN"] == f"arn:aws:sns:us-east-1:{ACCOUNT}:restorewatch-local-AlertTopic"
    assert resolved["WATCH_TAG_KEY"] == "restorewatch:profile"
    assert resolved["ALERT_ON_DEGRADED"] == "true"
    for key, value in resolved.items():
        assert not isinstance(value, dict | list), (key, value)


def test_parameter_override_flows_into_environment(stack: LocalStack) -> None:
    stack.parameters["AlertOnDegraded"] = "false"
    stack.parameters["WatchTagKey"] = "backup:profile"
    resolved = stack.resolve(dict(stack.functions()["WatcherFunction"].environment))
    assert (resolved["ALERT_ON_DEGRADED"], resolved["WATCH_TAG_KEY"]) == ("false", "backup:profile")


def test_queue_ref_uses_the_endpoint_url_once_known(stack: LocalStack) -> None:
    assert stack.ref("EventQueue") == f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/EventQueue"
    stack.queue_urls["EventQueue"] = "http://127.0.0.1:5000/111122223333/restorewatch-local-EventQueue"
    assert stack.resolve({"Ref": "EventQueue"}) == stack.queue_urls["EventQueue"]
    assert stack.resolve({"Fn::GetAtt": ["EventQueue", "QueueUrl"]}) == stack.queue_urls["EventQueue"]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ({"Fn::Sub": "${AWS::StackName}-alerts"}, "restorewatch-local-alerts"),
        ({"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}, f"arn:aws:iam::{ACCOUNT}:root"),
        ({"Fn::Sub": ["${Name}-x", {"Name": {"Ref": "WatchTagKey"}}]}, "restorewatch:profile-x"),
        ({"Fn::Sub": "${EventQueue.Arn}"}, f"arn:aws:sqs:us-east-1:{ACCOUNT}:restorewatch-local-EventQueue"),
        ({"Fn::GetAtt": ["EventDeadLetterQueue", "QueueName"]}, "restorewatch-local-EventDeadLetterQueue"),
        ({"Fn::Join": ["/", ["a", {"Ref": "AWS::Region"}]]}, "a/us-east-1"),
        ({"Fn::If": ["HasAlertEmail", "yes", "no"]}, "no"),
        ({"Fn::Equals": [{"Ref": "AlertEmail"}, ""]}, True),
        ({"Fn::Not": [{"Fn::Equals": [{"Ref": "AlertEmail"}, ""]}]}, False),
        ({"Ref": "StateTable"}, "restorewatch-local-StateTable"),
        ({"Ref": "QueueDelaySeconds"}, 60),
    ],
)
def test_resolve_intrinsics(stack: LocalStack, expression: dict[str, Any], expected: Any) -> None:
    assert stack.resolve(expression) == expected


def test_condition_holds_follows_parameters(stack: LocalStack) -> None:
    assert stack.condition_holds("HasAlertEmail") is False
    stack.parameters["AlertEmail"] = "backup-team@example.com"
    assert stack.condition_holds("HasAlertEmail") is True


def test_unknown_reference_is_an_input_error(stack: LocalStack) -> None:
    with pytest.raises(InputError, match="NoSuchThing"):
        stack.resolve({"Ref": "NoSuchThing"})
    with pytest.raises(InputError, match="not defined"):
        stack.condition_holds("NoSuchCondition")


def test_load_template_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(InputError, match="cannot read template"):
        load_template(missing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("Resources: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_template(broken)
    empty = tmp_path / "empty.yaml"
    empty.write_text("Parameters: {}\n")
    with pytest.raises(InputError, match="no Resources"):
        load_template(empty)
