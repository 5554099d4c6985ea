"""The Slack function against a real HTTP server on 127.0.0.1 that plays Slack's incoming webhook.

The stand-in records every payload and answers as scripted: 200, 500, 429 with ``Retry-After``, or
hangs past the client's timeout. The webhook URL lives in Secrets Manager (moto's ``mock_aws``) and
is read with Powertools Parameters. Slack's webhook errors and rate limits:
https://api.slack.com/messaging/webhooks#handling_errors and https://api.slack.com/apis/rate-limits
(HTTP 429 carries ``Retry-After`` in seconds).

moto gap worked around here: moto cannot run a Lambda function (no Docker), so Lambda's own
asynchronous retries and its on-failure destination are not executed. The tests pin the two halves
instead: the handler raises after the sender's retries (which is what makes Lambda retry and then
send the event to the DLQ), and the template's DLQ wiring, created in moto from the template's own
properties, is in place on the SNS subscription and the function's event-invoke config.
"""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import sys
import threading
import time
import uuid
import zipfile
from contextlib import redirect_stdout
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from restorewatch.alerts import render_alert
from restorewatch.alerts.slack_send import SlackDeliveryError, SlackSender
from restorewatch.errors import InputError
from restorewatch.profiles import DEFAULT_TAG_KEY
from restorewatch_cli.local.invoke import LocalLambdaContext
from support.template import REPO_ROOT, load_template
from unit.alerts.builders import T0
from unit.alerts.test_alert_email import ALERT_ID, cases

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

    from restorewatch.domain import AlertKind

pytestmark = pytest.mark.slow  # the Slack function's retries and timeouts against a local stand-in

HANDLER_PATH = REPO_ROOT / "functions" / "slack" / "app.py"
TOKEN = "T000/B000/secret-token-XYZ"


class SlackStandIn:
    """Scripted answers, one per request (the last one repeats); every request is recorded."""

    def __init__(self) -> None:
        self.script: list[tuple[str, float]] = [("ok", 0)]
        self.payloads: list[dict[str, Any]] = []
        self.times: list[float] = []
        self.paths: list[str] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                stand_in.payloads.append(json.loads(body))
                stand_in.times.append(time.monotonic())
                stand_in.paths.append(self.path)
                answer, value = stand_in.script.pop(0) if len(stand_in.script) > 1 else stand_in.script[0]
                if answer == "hang":
                    time.sleep(value)
                    answer = "ok"
                status = {"ok": 200, "500": 500, "503": 503, "429": 429, "404": 404}[answer]
                text = {200: b"ok", 404: b"no_service"}.get(status, b"error")
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", str(int(value)))
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/{TOKEN}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, *script: tuple[str, float]) -> None:
        self.script = list(script)


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    stand_in = SlackStandIn()
    stand_in.thread.start()
    try:
        yield stand_in
    finally:
        stand_in.server.shutdown()
        stand_in.server.server_close()


def alert_document(kind: AlertKind | None = None) -> dict[str, Any]:
    from restorewatch.domain import AlertKind as Kind

    transition, trigger = cases()[kind or Kind.LOST]
    rendered = render_alert(
        transition, alert_id=ALERT_ID, trigger=trigger, observed_at=T0, tag_key=DEFAULT_TAG_KEY
    )
    result: dict[str, Any] = json.loads(json.loads(rendered.message)["default"])
    return result


# -- the sender -----------------------------------------------------------------------------------


def test_sender_200_posts_the_payload_once(slack: SlackStandIn) -> None:
    assert SlackSender(slack.url).send({"text": "hi", "blocks": []}) == 200
    assert slack.payloads == [{"text": "hi", "blocks": []}]
    assert slack.paths == [f"/services/{TOKEN}"]


def test_sender_retries_server_error_then_succeeds(slack: SlackStandIn) -> None:
    slack.answer(("500", 0), ("ok", 0))
    assert SlackSender(slack.url, retries=2).send({"text": "x"}) == 200
    assert len(slack.payloads) == 2


def test_sender_gives_up_after_retries_and_raises(slack: SlackStandIn) -> None:
    slack.answer(("503", 0))
    with pytest.raises(SlackDeliveryError) as raised:
        SlackSender(slack.url, retries=2).send({"text": "x"})
    assert raised.value.status == 503
    assert len(slack.payloads) == 3  # the first attempt and two retries
    assert TOKEN not in str(raised.value)


def test_sender_429_waits_retry_after_then_succeeds(slack: SlackStandIn) -> None:
    slack.answer(("429", 1), ("ok", 0))
    assert SlackSender(slack.url).send({"text": "x"}) == 200
    assert len(slack.payloads) == 2
    assert slack.times[1] - slack.times[0] >= 1.0  # Retry-After: 1 honoured


def test_sender_client_error_is_not_retried(slack: SlackStandIn) -> None:
    slack.answer(("404", 0))
    with pytest.raises(SlackDeliveryError, match="404: no_service"):
        SlackSender(slack.url).send({"text": "x"})
    assert len(slack.payloads) == 1


def test_sender_retries_a_hang_past_the_timeout(slack: SlackStandIn) -> None:
    slack.answer(("hang", 1.5), ("ok", 0))
    started = time.monotonic()
    assert SlackSender(slack.url, timeout=0.5, retries=2).send({"text": "x"}) == 200
    assert len(slack.payloads) == 2
    assert time.monotonic() - started < 5


def test_sender_hanging_every_time_raises(slack: SlackStandIn) -> None:
    slack.answer(("hang", 1.0))
    with pytest.raises(SlackDeliveryError, match="no response"):
        SlackSender(slack.url, timeout=0.3, retries=1).send({"text": "x"})
    assert len(slack.payloads) == 2


def test_sender_repr_hides_the_url(slack: SlackStandIn) -> None:
    assert TOKEN not in repr(SlackSender(slack.url))


# -- the handler ----------------------------------------------------------------------------------


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters import base

    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "restorewatch-slack")
    monkeypatch.setenv("SLACK_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setenv("SLACK_RETRIES", "1")
    # the stand-in is plain HTTP on 127.0.0.1, as an operator's allow-list entry would name it
    monkeypatch.setenv("SLACK_WEBHOOK_ALLOWED_HOSTS", "http://127.0.0.1")
    name = f"slack_app_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, HANDLER_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    with mock_aws():
        parameters.clear_caches()
        base.DEFAULT_PROVIDERS.clear()  # type: ignore[attr-defined]  # Powertools keeps it module-private
        spec.loader.exec_module(module)
        yield module
        parameters.clear_caches()
        base.DEFAULT_PROVIDERS.clear()  # type: ignore[attr-defined]  # Powertools keeps it module-private
    sys.modules.pop(name, None)


def put_secret(value: str, monkeypatch: pytest.MonkeyPatch) -> str:
    arn = boto3.client("secretsmanager").create_secret(
        Name=f"slack-{uuid.uuid4().hex[:6]}", SecretString=value
    )["ARN"]
    monkeypatch.setenv("SLACK_WEBHOOK_SECRET_ARN", arn)
    return str(arn)


def sns_event(*documents: dict[str, Any]) -> dict[str, Any]:
    path = REPO_ROOT / "tests" / "fixtures" / "sns-alert-event.json"
    event: dict[str, Any] = json.loads(path.read_text())
    template = event["Records"][0]
    records = []
    for document in documents:
        record = json.loads(json.dumps(template))
        record["Sns"]["Message"] = json.dumps(document)
        record["Sns"]["MessageId"] = str(uuid.uuid4())
        records.append(record)
    return {"Records": records}


def invoke(app: ModuleType, event: dict[str, Any]) -> tuple[Any, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        context = LocalLambdaContext(function_name="SlackFunction", aws_request_id=str(uuid.uuid4()))
        result = app.lambda_handler(event, context)
    return result, out.getvalue()


def test_handler_posts_the_block_kit_message_of_the_alert(
    app: ModuleType, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_secret(slack.url, monkeypatch)
    document = alert_document()
    result, _ = invoke(app, sns_event(document))
    assert result == {"posted": [ALERT_ID]}
    (payload,) = slack.payloads
    assert payload["blocks"][0] == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": "RestoreWatch: role VeeamRestore (veeam-ec2-restore)",
            "emoji": False,
        },
    }
    assert "*LOST*" in payload["blocks"][1]["text"]["text"]
    assert payload["unfurl_links"] is False


def test_handler_reads_json_secret_and_caches_it(
    app: ModuleType, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = put_secret(json.dumps({"url": slack.url}), monkeypatch)
    invoke(app, sns_event(alert_document()))
    # the secret changes; the cached value (max_age) is still used by the warm function
    boto3.client("secretsmanager").put_secret_value(SecretId=arn, SecretString="https://example.invalid/x")
    invoke(app, sns_event(alert_document()))
    assert len(slack.payloads) == 2


def test_handler_raises_after_retries_so_lambda_redrives_to_the_dlq_and_never_logs_the_url(
    app: ModuleType, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    put_secret(slack.url, monkeypatch)
    caplog.set_level(logging.DEBUG)  # everything, botocore's and slack_sdk's debug logs included
    app.logger.setLevel("DEBUG")
    slack.answer(("500", 0))
    stdout = io.StringIO()
    with pytest.raises(SlackDeliveryError), redirect_stdout(stdout):
        app.lambda_handler(sns_event(alert_document()), LocalLambdaContext("SlackFunction", "req-1"))
    assert len(slack.payloads) == 2  # SLACK_RETRIES=1: tried twice, then the invocation fails
    logs = caplog.text + stdout.getvalue()
    assert logs  # something was logged at DEBUG, and none of it holds the secret
    assert TOKEN not in logs
    assert slack.url not in logs


def test_handler_rejects_a_secret_without_url_without_echoing_it(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_secret("not-a-url-" + TOKEN, monkeypatch)
    with pytest.raises(Exception, match="no http") as raised:
        invoke(app, sns_event(alert_document()))
    assert TOKEN not in str(raised.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://collector.example.net/services/" + TOKEN,  # a host nobody allowed
        "https://hooks.slack.com.example.net/services/" + TOKEN,  # a look-alike of Slack's host
        "https://hooks.slack.com@collector.example.net/services/" + TOKEN,  # Slack's host as a user name
        "http://hooks.slack.com/services/" + TOKEN,  # Slack's host without TLS
    ],
)
def test_handler_refuses_a_webhook_url_outside_slack_and_the_allow_list(
    app: ModuleType,
    slack: SlackStandIn,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    url: str,
) -> None:
    """A secret re-pointed at another host would send every alert there while Slack stays silent: the
    handler refuses it with an error naming the host (never the URL), and raises, so the alert is not
    lost: Lambda retries the invocation, then the Slack DLQ keeps it and its alarm fires (the wiring:
    ``test_template_slack_dlq_wiring_on_subscription_and_invoke_config``)."""
    put_secret(json.dumps({"url": url}), monkeypatch)
    caplog.set_level(logging.INFO)
    stdout = io.StringIO()
    with (
        pytest.raises(InputError, match=r"neither https://hooks\.slack\.com|user name") as raised,
        redirect_stdout(stdout),
    ):
        app.lambda_handler(sns_event(alert_document()), LocalLambdaContext("SlackFunction", "req-1"))
    assert slack.payloads == []
    logs = caplog.text + stdout.getvalue()
    assert "Slack dead-letter queue" in logs
    assert TOKEN not in logs
    assert TOKEN not in str(raised.value)


def test_handler_posts_to_a_host_the_operator_allowed(
    app: ModuleType, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Slack-compatible receiver is reachable once its host is in ``SLACK_WEBHOOK_ALLOWED_HOSTS``,
    and only on the port the entry names (when it names one)."""
    port = int(slack.url.split(":")[2].split("/")[0])
    put_secret(slack.url, monkeypatch)
    monkeypatch.setenv("SLACK_WEBHOOK_ALLOWED_HOSTS", f"chat.example.com, http://127.0.0.1:{port}")
    assert invoke(app, sns_event(alert_document()))[0] == {"posted": [ALERT_ID]}
    assert len(slack.payloads) == 1


# -- the template's DLQ wiring, created in moto -----------------------------------------------------


def test_template_slack_dlq_wiring_on_subscription_and_invoke_config() -> None:
    template = load_template()
    resources = template["Resources"]
    function = resources["SlackFunction"]
    assert function["Condition"] == "HasSlack"
    invoke_config = function["Properties"]["EventInvokeConfig"]
    dlq_ref = {"Fn::GetAtt": ["SlackDeadLetterQueue", "Arn"]}
    # alerts and alarms, and the tamper notices (TamperTopic), each redriven to the Slack DLQ
    events = function["Properties"]["Events"]
    assert {name: e["Properties"]["Topic"] for name, e in events.items()} == {
        "Alerts": {"Ref": "AlertTopic"},
        "TamperNotices": {"Ref": "TamperTopic"},
    }
    for event in events.values():
        assert event["Type"] == "SNS"
        assert event["Properties"]["RedrivePolicy"] == {"deadLetterTargetArn": dlq_ref}
    (redrives,) = resources["SlackDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert redrives["Principal"] == {"Service": "sns.amazonaws.com"}
    assert redrives["Condition"]["ArnEquals"]["aws:SourceArn"] == [
        {"Ref": "AlertTopic"},
        {"Ref": "TamperTopic"},
    ]
    assert function["Properties"]["Environment"]["Variables"]["SLACK_WEBHOOK_ALLOWED_HOSTS"] == {
        "Ref": "SlackWebhookAllowedHosts"
    }
    assert invoke_config["DestinationConfig"]["OnFailure"] == {"Type": "SQS", "Destination": dlq_ref}
    role = resources["SlackRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    by_sid = {statement["Sid"]: statement for statement in role}
    assert by_sid["ReadWebhookSecret"]["Action"] == "secretsmanager:GetSecretValue"
    assert by_sid["ReadWebhookSecret"]["Resource"] == {"Ref": "SlackWebhookSecretArn"}
    assert by_sid["FailedDeliveriesToDeadLetterQueue"]["Resource"] == dlq_ref
    assert "SLACK_WEBHOOK_SECRET_ARN" in function["Properties"]["Environment"]["Variables"]
    assert not any("hooks.slack.com" in json.dumps(v) for v in function["Properties"]["Environment"].values())
    alarm = resources["SlackDeadLetterQueueAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["SlackDeadLetterQueue", "QueueName"]}

    with mock_aws():
        sqs, sns = boto3.client("sqs"), boto3.client("sns")
        queue_props = resources["SlackDeadLetterQueue"]["Properties"]
        queue_url = sqs.create_queue(
            QueueName="slack-dlq",
            Attributes={"MessageRetentionPeriod": str(queue_props["MessageRetentionPeriod"])},
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        topic_arn = sns.create_topic(Name="alerts")["TopicArn"]
        iam = boto3.client("iam")
        role_arn = iam.create_role(
            RoleName="slack",
            AssumeRolePolicyDocument=json.dumps(
                resources["SlackRole"]["Properties"]["AssumeRolePolicyDocument"]
            ),
        )["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.write(HANDLER_PATH, "app.py")
        lam = boto3.client("lambda")
        function_arn = lam.create_function(
            FunctionName="slack",
            Runtime="python3.13",
            Role=role_arn,
            Handler=function["Properties"]["Handler"],
            Code={"ZipFile": code.getvalue()},
        )["FunctionArn"]
        lam.put_function_event_invoke_config(
            FunctionName="slack",
            MaximumRetryAttempts=invoke_config["MaximumRetryAttempts"],
            DestinationConfig={"OnFailure": {"Destination": dlq_arn}},
        )
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn})
        subscription = sns.subscribe(
            TopicArn=topic_arn,
            Protocol="lambda",
            Endpoint=function_arn,
            Attributes={"RedrivePolicy": redrive},
        )["SubscriptionArn"]
        attributes = sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]
        assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn}
        config = lam.get_function_event_invoke_config(FunctionName="slack")
        assert config["DestinationConfig"]["OnFailure"]["Destination"] == dlq_arn
        assert config["MaximumRetryAttempts"] == 2
