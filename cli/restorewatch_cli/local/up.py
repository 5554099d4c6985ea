"""``restorewatch local up``: create the template's runtime resources on an endpoint (moto's server).

What the watcher needs at run time (its table, topic and queues) is created from the template's own
properties, so a key or attribute change in ``template.yaml`` is exercised by every local run. An
extra queue, subscribed to every topic, lets a person (or the demo) read the alerts back. With a
Slack webhook URL, a secret holding it is created too and the template's Slack function is enabled.

``sam_env_vars`` is the ``--env-vars`` file of ``sam local invoke`` for those resources: every
function's resolved environment, pointed at the endpoint through ``RESTOREWATCH_LOCAL_ENDPOINT_URL``
(SAM passes only the variables a function declares, so ``AWS_ENDPOINT_URL`` cannot be used).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from restorewatch.inventory.clients import LOCAL_ENDPOINT_ENV, make_client
from restorewatch_cli.local.template import LocalStack, load_template

if TYPE_CHECKING:
    from pathlib import Path

    from types_boto3_sqs.literals import QueueAttributeNameType

INBOX_SUFFIX = "AlertInbox"
SLACK_SECRET_SUFFIX = "SlackWebhook"
SLACK_SECRET_PARAMETER = "SlackWebhookSecretArn"
SLACK_ALLOWED_HOSTS_PARAMETER = "SlackWebhookAllowedHosts"
# The properties whose CloudFormation spelling is also the API's (SSESpecification, for one, is not;
# encryption at rest means nothing on a local endpoint anyway).
_TABLE_KEYS = (
    "KeySchema",
    "AttributeDefinitions",
    "BillingMode",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
)
_QUEUE_ATTRIBUTES: dict[str, QueueAttributeNameType] = {
    "DelaySeconds": "DelaySeconds",
    "MessageRetentionPeriod": "MessageRetentionPeriod",
    "VisibilityTimeout": "VisibilityTimeout",
    "ReceiveMessageWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
}


@dataclass(frozen=True, slots=True)
class LocalEnvironment:
    endpoint_url: str
    account: str
    resources: dict[str, str]  # logical id -> physical id (table name, topic ARN, queue URL)
    inbox_queue_url: str
    functions: dict[str, dict[str, str]] = field(default_factory=dict)  # logical id -> environment

    def as_dict(self) -> dict[str, Any]:
        return {
            "endpoint_url": self.endpoint_url,
            "account": self.account,
            "resources": self.resources,
            "alert_inbox_queue_url": self.inbox_queue_url,
            "functions": self.functions,
        }


def caller_account(endpoint_url: str | None) -> str:
    account: str = make_client("sts", endpoint_url=endpoint_url).get_caller_identity()["Account"]
    return account


def open_stack(template_path: Path, endpoint_url: str | None) -> LocalStack:
    """The template bound to the endpoint's account, with the queue URLs the endpoint gives."""
    stack = LocalStack(load_template(template_path), account=caller_account(endpoint_url))
    sqs = make_client("sqs", endpoint_url=endpoint_url)
    for resource in stack.runtime_resources():
        if resource.type == "AWS::SQS::Queue":
            try:
                url = sqs.get_queue_url(QueueName=resource.physical_name)["QueueUrl"]
            except sqs.exceptions.QueueDoesNotExist:
                continue
            stack.queue_urls[resource.logical_id] = url
    return stack


def function_environment(stack: LocalStack, logical_id: str, overrides: dict[str, str]) -> dict[str, str]:
    function = stack.functions()[logical_id]
    resolved = stack.resolve(dict(function.environment))
    environment = {key: "" if value is None else str(value) for key, value in resolved.items()}
    environment.update(overrides)
    return environment


def sam_env_vars(environment: LocalEnvironment, endpoint_url: str | None = None) -> dict[str, dict[str, str]]:
    """``sam local invoke --env-vars`` content: each function's environment, on the endpoint.

    ``endpoint_url``: the endpoint as the function's container reaches it, when that differs from
    the one ``local up`` used (a container on a Docker bridge reaches this machine through the
    bridge's address, not 127.0.0.1).
    """
    endpoint = endpoint_url or environment.endpoint_url
    return {
        logical_id: {**variables, LOCAL_ENDPOINT_ENV: endpoint}
        for logical_id, variables in sorted(environment.functions.items())
    }


def local_up(
    template_path: Path,
    endpoint_url: str,
    parameter_overrides: dict[str, str] | None = None,
    *,
    slack_webhook_url: str | None = None,
) -> LocalEnvironment:
    stack = LocalStack(load_template(template_path), account=caller_account(endpoint_url))
    stack.parameters.update(parameter_overrides or {})
    if slack_webhook_url:
        secret = _put_secret(endpoint_url, stack.physical_name(SLACK_SECRET_SUFFIX), slack_webhook_url)
        stack.parameters[SLACK_SECRET_PARAMETER] = secret
        # the Slack function refuses any webhook host but Slack's unless the stack allows it: a local
        # stand-in is allowed exactly as an operator allows a Slack-compatible receiver
        receiver = urlsplit(slack_webhook_url)
        if receiver.hostname != "hooks.slack.com" and not (parameter_overrides or {}).get(
            SLACK_ALLOWED_HOSTS_PARAMETER
        ):
            stack.parameters[SLACK_ALLOWED_HOSTS_PARAMETER] = f"{receiver.scheme}://{receiver.netloc}"
    dynamodb = make_client("dynamodb", endpoint_url=endpoint_url)
    sns = make_client("sns", endpoint_url=endpoint_url)
    sqs = make_client("sqs", endpoint_url=endpoint_url)

    physical: dict[str, str] = {}
    topics: list[str] = []
    for resource in stack.runtime_resources():
        properties = stack.resolve(dict(resource.properties))
        if resource.type == "AWS::DynamoDB::Table":
            _create_table(dynamodb, resource.physical_name, properties)
            physical[resource.logical_id] = resource.physical_name
        elif resource.type == "AWS::SNS::Topic":
            arn = sns.create_topic(Name=resource.physical_name)["TopicArn"]
            physical[resource.logical_id] = arn
            topics.append(arn)
        else:
            attributes = {
                name: str(properties[key]) for key, name in _QUEUE_ATTRIBUTES.items() if key in properties
            }
            url = sqs.create_queue(QueueName=resource.physical_name, Attributes=attributes)["QueueUrl"]
            stack.queue_urls[resource.logical_id] = url
            physical[resource.logical_id] = url

    inbox_url = sqs.create_queue(QueueName=stack.physical_name(INBOX_SUFFIX))["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    for topic in topics:
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)

    functions = {
        logical_id: function_environment(stack, logical_id, {})
        for logical_id, function in stack.functions().items()
        if stack.condition_holds(function.condition)
    }
    return LocalEnvironment(endpoint_url, stack.account, physical, inbox_url, functions)


def _put_secret(endpoint_url: str, name: str, value: str) -> str:
    """The secret's ARN, created or given this value (local up is idempotent)."""
    secrets = make_client("secretsmanager", endpoint_url=endpoint_url)
    try:
        arn: str = secrets.create_secret(Name=name, SecretString=value)["ARN"]
    except secrets.exceptions.ResourceExistsException:
        arn = secrets.put_secret_value(SecretId=name, SecretString=value)["ARN"]
    return arn


def _create_table(client: Any, name: str, properties: dict[str, Any]) -> None:
    kwargs = {key: properties[key] for key in _TABLE_KEYS if key in properties}
    kwargs.setdefault("BillingMode", "PAY_PER_REQUEST")
    try:
        client.create_table(TableName=name, **kwargs)
    except client.exceptions.ResourceInUseException:
        return  # already up: local up is idempotent


def read_alerts(inbox_queue_url: str, endpoint_url: str, *, wait_seconds: int = 1) -> list[dict[str, Any]]:
    """Drain the inbox: each alert's JSON document as published (SNS's envelope removed)."""
    alerts: list[dict[str, Any]] = []
    for envelope in read_notifications(inbox_queue_url, endpoint_url, wait_seconds=wait_seconds):
        body = envelope.get("Message", envelope)
        alerts.append(json.loads(body) if isinstance(body, str) else body)
    return alerts


def read_notifications(
    inbox_queue_url: str, endpoint_url: str, *, wait_seconds: int = 1
) -> list[dict[str, Any]]:
    """Drain the inbox: each SNS notification as SNS delivered it (``Message``, ``Subject``, ...)."""
    sqs = make_client("sqs", endpoint_url=endpoint_url)
    notifications: list[dict[str, Any]] = []
    while True:
        response = sqs.receive_message(
            QueueUrl=inbox_queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return notifications
        for message in messages:
            envelope = json.loads(message["Body"])
            notifications.append(envelope if isinstance(envelope, dict) else {"Message": envelope})
            sqs.delete_message(QueueUrl=inbox_queue_url, ReceiptHandle=message["ReceiptHandle"])
