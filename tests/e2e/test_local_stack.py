"""``restorewatch local up`` and ``local invoke`` against moto's server in a subprocess, as a user runs them.

``local up`` creates what template.yaml declares for the watcher at run time; ``local invoke -e`` runs
the handler like ``sam local invoke -e`` (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-cli-command-reference-sam-local-invoke.html);
the alert is read back from the SQS inbox subscribed to the topic.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from e2e.conftest import ROLE_ARN, cli
from restorewatch.inventory import make_client
from restorewatch.inventory.clients import LOCAL_ENDPOINT_ENV
from restorewatch_cli.local.up import read_alerts
from support.template import function_environment, load_template

if TYPE_CHECKING:
    from pathlib import Path

    from e2e.conftest import Account

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_local_up_creates_the_templates_resources(endpoint: str) -> None:
    run = cli("local", "up", "--endpoint-url", endpoint, "--format", "json")
    assert run.code == 0, run.stderr
    up = run.json()
    assert up["account"] == "111122223333"
    resources = up["resources"]
    assert {"StateTable", "AlertTopic", "EventQueue", "EventDeadLetterQueue"} <= set(resources)

    table = make_client("dynamodb", endpoint_url=endpoint).describe_table(TableName=resources["StateTable"])
    declared = load_template()["Resources"]["StateTable"]["Properties"]
    assert table["Table"]["KeySchema"] == declared["KeySchema"]
    assert sorted(table["Table"]["AttributeDefinitions"], key=str) == sorted(
        declared["AttributeDefinitions"], key=str
    )

    sqs = make_client("sqs", endpoint_url=endpoint)
    delay = sqs.get_queue_attributes(QueueUrl=resources["EventQueue"], AttributeNames=["DelaySeconds"])
    assert delay["Attributes"]["DelaySeconds"] == "60"  # the template's QueueDelaySeconds default
    sns = make_client("sns", endpoint_url=endpoint)
    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=resources["AlertTopic"])["Subscriptions"]
    assert subscription["Protocol"] == "sqs"

    environment = up["functions"]["WatcherFunction"]
    assert environment["STATE_TABLE"] == resources["StateTable"]
    assert environment["ALERT_TOPIC_ARN"] == resources["AlertTopic"]

    again = cli("local", "up", "--endpoint-url", endpoint, "--format", "json")
    assert again.code == 0, again.stderr  # idempotent
    assert again.json()["resources"] == resources


def test_local_invoke_detach_event_alert_read_back(endpoint: str, account: Account) -> None:
    up = cli("local", "up", "--endpoint-url", endpoint, "--format", "json")
    assert up.code == 0, up.stderr
    inbox = up.json()["alert_inbox_queue_url"]
    sweep = cli("local", "invoke", "-e", "events/scheduled-sweep.json", "--endpoint-url", endpoint)
    assert sweep.code == 0, sweep.stderr
    assert read_alerts(inbox, endpoint, wait_seconds=0) == []

    account.detach()
    invoked = cli("local", "invoke", "-e", "events/iam-DetachRolePolicy.json", "--endpoint-url", endpoint)
    assert invoked.code == 0, invoked.stderr
    (alert,) = read_alerts(inbox, endpoint, wait_seconds=0)
    assert (alert["kind"], alert["principal"]["arn"]) == ("LOST", ROLE_ARN)
    assert alert["trigger"]["eventName"] == "DetachRolePolicy"
    assert alert["alert_id"] in invoked.stdout  # the handler's result lists the alert it published


def test_local_invoke_sqs_batch_with_env_override(endpoint: str, account: Account) -> None:
    """``--env`` overrides the template's environment (here the watch tag key: nothing is watched)."""
    up = cli("local", "up", "--endpoint-url", endpoint, "--format", "json")
    inbox = up.json()["alert_inbox_queue_url"]
    account.detach()
    run = cli(
        "local", "invoke", "WatcherFunction", "-e", "events/scheduled-sweep.json",
        "--endpoint-url", endpoint, "--env", "WATCH_TAG_KEY=other:key",
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert read_alerts(inbox, endpoint, wait_seconds=0) == []
    run = cli("local", "invoke", "-e", "events/scheduled-sweep.json", "--endpoint-url", endpoint)
    assert run.code == 0, run.stderr
    assert [a["kind"] for a in read_alerts(inbox, endpoint, wait_seconds=0)] == ["LOST"]


def test_local_invoke_unknown_function_exits_2(endpoint: str) -> None:
    assert cli("local", "up", "--endpoint-url", endpoint).code == 0
    run = cli(
        "local", "invoke", "NoSuchFunction", "-e", "events/scheduled-sweep.json", "--endpoint-url", endpoint
    )
    assert run.code == 2
    assert "NoSuchFunction" in run.stderr


def test_local_up_writes_sam_env_vars_with_slack_secret(endpoint: str, tmp_path: Path) -> None:
    """``--env-vars FILE`` is the file ``sam local invoke --env-vars`` takes: per function, the resolved
    environment and RESTOREWATCH_LOCAL_ENDPOINT_URL (the only way SAM lets an endpoint into the
    container: it overrides declared variables only). ``--slack-webhook-url`` stores the URL in a
    secret on the endpoint and enables the template's Slack function."""
    env_file = tmp_path / "env.json"
    webhook = "http://127.0.0.1:9/services/T0/B0/x"
    run = cli(
        "local", "up", "--endpoint-url", endpoint, "--format", "json", "--env-vars", str(env_file),
        "--slack-webhook-url", webhook, "--function-endpoint-url", "http://172.17.0.1:5000",
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert str(env_file) in run.stderr
    up = run.json()
    env_vars = json.loads(env_file.read_text())
    assert sorted(env_vars) == ["SlackFunction", "WatcherFunction"]
    for logical_id, variables in env_vars.items():
        assert variables[LOCAL_ENDPOINT_ENV] == "http://172.17.0.1:5000"
        declared = set(function_environment(logical_id))
        assert set(variables) <= declared, f"{logical_id}: SAM would drop {set(variables) - declared}"
    watcher = env_vars["WatcherFunction"]
    assert watcher["STATE_TABLE"] == up["resources"]["StateTable"]
    assert watcher["ALERT_TOPIC_ARN"] == up["resources"]["AlertTopic"]
    assert watcher["HOME_ACCOUNT_ID"] == "111122223333"
    secret_arn = env_vars["SlackFunction"]["SLACK_WEBHOOK_SECRET_ARN"]
    secrets = make_client("secretsmanager", endpoint_url=endpoint)
    assert secrets.get_secret_value(SecretId=secret_arn)["SecretString"] == webhook
    # the Slack function refuses every host but Slack's unless allowed: the stand-in's host is
    assert env_vars["SlackFunction"]["SLACK_WEBHOOK_ALLOWED_HOSTS"] == "http://127.0.0.1:9"
    assert "SlackDeadLetterQueue" in up["resources"]  # HasSlack holds: the Slack resources exist

    again = cli("local", "up", "--endpoint-url", endpoint, "--env-vars", str(env_file),
                "--slack-webhook-url", webhook + "2")  # fmt: skip
    assert again.code == 0, again.stderr  # idempotent, the secret updated in place
    assert json.loads(env_file.read_text())["SlackFunction"]["SLACK_WEBHOOK_SECRET_ARN"] == secret_arn
    assert secrets.get_secret_value(SecretId=secret_arn)["SecretString"] == webhook + "2"
    # without --function-endpoint-url the functions get the endpoint local up used
    assert json.loads(env_file.read_text())["WatcherFunction"][LOCAL_ENDPOINT_ENV] == endpoint


def test_local_up_env_vars_unwritable_path_exits_2(endpoint: str, tmp_path: Path) -> None:
    run = cli("local", "up", "--endpoint-url", endpoint, "--env-vars", str(tmp_path / "no" / "env.json"))
    assert run.code == 2
    assert "--env-vars file" in run.stderr
