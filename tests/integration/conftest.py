"""Integration fixtures: the watcher's stack on moto (``mock_aws``), built from ``template.yaml``.

* ``stack``: the state table created from the template's own ``StateTable`` properties
  (``support.template.state_table_kwargs``), the alert topic, and an SQS inbox subscribed to it so a
  test reads back every alert exactly as a subscriber receives it. Physical names and the function's
  environment are resolved from the template by ``restorewatch_cli.local.template.LocalStack``, as
  ``restorewatch local up`` does, so the handler runs with the environment the template gives it.
* ``account``: a seeded IAM account like the demo's and the ``events/`` samples' (a tagged role
  ``VeeamRestoreRole`` and user ``veeam-restore`` whose restore permissions come from
  ``VeeamRestorePolicy``, the user's through group ``backup-operators``).
* ``handler``: ``functions/watcher/app.py`` imported by path and called as Lambda calls it
  (``lambda_handler(event, context)`` with ``LocalLambdaContext``), counting the IAM API calls the
  watcher's own client makes.

Account ids matter (ARNs in ``events/`` use 111122223333): ``MOTO_ACCOUNT_ID`` is set for every test.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from restorewatch.profiles import ProfileRegistry
from restorewatch.state import DynamoStateStore
from restorewatch.watch import config as runtime_config
from restorewatch_cli.local.invoke import LocalLambdaContext
from restorewatch_cli.local.template import LocalStack, load_template
from restorewatch_cli.local.up import function_environment, read_alerts
from support.template import REPO_ROOT, TEMPLATE_PATH, state_table_kwargs

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from types_boto3_iam.type_defs import TagTypeDef

ACCOUNT = "111122223333"
EVENTS_DIR = REPO_ROOT / "events"
HANDLER_PATH = REPO_ROOT / "functions" / "watcher" / "app.py"
TAG_KEY = "restorewatch:profile"
PROFILE = "veeam-ec2-restore"
ROLE = "VeeamRestoreRole"
USER = "veeam-restore"
GROUP = "backup-operators"
POLICY = "VeeamRestorePolicy"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/{USER}"
POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/{POLICY}"
WATCH_TAGS: list[TagTypeDef] = [{"Key": TAG_KEY, "Value": PROFILE}]
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def profile_actions() -> list[str]:
    return list(ProfileRegistry.default().get(PROFILE).actions)


def policy_document(actions: list[str], effect: str = "Allow", **extra: Any) -> str:
    statement: dict[str, Any] = {"Effect": effect, "Action": actions, "Resource": "*", **extra}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def load_event(name: str) -> dict[str, Any]:
    """One sample from ``events/`` (``name`` with or without ``.json``), as ``sam local invoke -e``
    reads it."""
    path = EVENTS_DIR / (name if name.endswith(".json") else f"{name}.json")
    event: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return event


def fresh_event(name: str, **parameters: Any) -> dict[str, Any]:
    """A sample with new ids (a distinct delivery), optionally other request parameters."""
    event = load_event(name)
    event["id"] = str(uuid.uuid4())
    event["detail"]["eventID"] = str(uuid.uuid4())
    if parameters:
        event["detail"]["requestParameters"] = parameters
    return event


def sqs_batch(*events: dict[str, Any] | str) -> dict[str, Any]:
    """An SQS batch as the event source mapping delivers it, in the envelope of
    ``events/sqs-batch.json``."""
    template = load_event("sqs-batch")["Records"][0]
    records = []
    for body in events:
        record = json.loads(json.dumps(template))
        record["messageId"] = str(uuid.uuid4())
        record["body"] = body if isinstance(body, str) else json.dumps(body)
        records.append(record)
    return {"Records": records}


# --- AWS --------------------------------------------------------------------------------------------


@pytest.fixture
def managed_policies() -> bool:
    """Override (``True``) in a test that needs AWS managed policies (slower: moto loads ~1000)."""
    return False


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, managed_policies: bool) -> Iterator[None]:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true" if managed_policies else "false")
    with mock_aws():
        yield


@dataclass
class Stack:
    """The runtime resources of ``template.yaml`` on moto, and the function's resolved environment."""

    local: LocalStack
    table: str
    topic_arn: str
    inbox_url: str
    environment: dict[str, str]

    def alerts(self) -> list[dict[str, Any]]:
        """Drain the inbox: every alert document published since the last call, in order."""
        return read_alerts(self.inbox_url, "", wait_seconds=0)

    def store(self) -> DynamoStateStore:
        return DynamoStateStore(self.table, client=boto3.client("dynamodb"))


@pytest.fixture
def stack(aws: None) -> Stack:
    local = LocalStack(load_template(TEMPLATE_PATH), account=ACCOUNT)
    table = local.physical_name("StateTable")
    boto3.client("dynamodb").create_table(**state_table_kwargs(table))
    topic_arn = boto3.client("sns").create_topic(Name=local.physical_name("AlertTopic"))["TopicArn"]
    sqs = boto3.client("sqs")
    inbox_url = sqs.create_queue(QueueName="alert-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    boto3.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn)
    environment = function_environment(local, "WatcherFunction", {})
    assert (environment["STATE_TABLE"], environment["ALERT_TOPIC_ARN"]) == (table, topic_arn)
    return Stack(local, table, topic_arn, inbox_url, environment)


class Account:
    """The seeded account: restore role and user, both tagged and compliant, and their policy."""

    def __init__(self) -> None:
        self.iam = boto3.client("iam")
        self.actions = profile_actions()
        self.policy_arn = self.iam.create_policy(
            PolicyName=POLICY, PolicyDocument=policy_document(self.actions)
        )["Policy"]["Arn"]
        assert self.policy_arn == POLICY_ARN
        self.iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=TRUST, Tags=WATCH_TAGS)
        self.iam.attach_role_policy(RoleName=ROLE, PolicyArn=self.policy_arn)
        self.iam.create_user(UserName=USER, Tags=WATCH_TAGS)
        self.iam.create_group(GroupName=GROUP)
        self.iam.add_user_to_group(GroupName=GROUP, UserName=USER)
        self.iam.attach_group_policy(GroupName=GROUP, PolicyArn=self.policy_arn)

    def create_policy(self, name: str, document: str) -> str:
        arn: str = self.iam.create_policy(PolicyName=name, PolicyDocument=document)["Policy"]["Arn"]
        return arn


@pytest.fixture
def account(aws: None) -> Account:
    return Account()


# --- the handler ------------------------------------------------------------------------------------


@dataclass
class Handler:
    """``functions/watcher/app.py`` as Lambda runs it, in this process, against moto."""

    module: Any
    iam_calls: Counter[str] = field(default_factory=Counter)
    clients: dict[str, Any] = field(default_factory=dict)

    def __call__(self, event: dict[str, Any]) -> Any:
        context = LocalLambdaContext(function_name="WatcherFunction", aws_request_id=str(uuid.uuid4()))
        return self.module.lambda_handler(event, context)

    def file(self, name: str) -> Any:
        return self(load_event(name))

    hooks: list[tuple[str, Callable[..., Any]]] = field(default_factory=list)
    iam_clients: list[Any] = field(default_factory=list)

    def on_iam(self, operation: str, hook: Callable[..., Any]) -> None:
        """Register a botocore ``before-call`` hook on the IAM client(s) the watcher uses: those
        built already and those it builds later (on its cold start)."""
        self.hooks.append((f"before-call.iam.{operation}", hook))
        for client in self.iam_clients:
            client.meta.events.register(f"before-call.iam.{operation}", hook)

    def _built(self, service: str, client: Any) -> None:
        self.clients[service] = client
        if service == "iam":
            self.iam_clients.append(client)
            client.meta.events.register(
                "before-call.iam", lambda model, **_: self.iam_calls.update([model.name])
            )
            for event, hook in self.hooks:
                client.meta.events.register(event, hook)

    @property
    def total_iam_calls(self) -> int:
        return sum(self.iam_calls.values())


@pytest.fixture
def handler_env(stack: Stack, request: pytest.FixtureRequest) -> dict[str, str]:
    """The environment the template gives the function; a test overrides keys by parametrizing
    this fixture indirectly (``{"ALERT_ON_DEGRADED": "false"}``), as ``--env`` does for local invoke."""
    return {**stack.environment, **getattr(request, "param", {})}


@pytest.fixture
def handler(stack: Stack, handler_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Handler]:
    for key, value in handler_env.items():
        monkeypatch.setenv(key, value)
    # what the Lambda runtime sets (and ``restorewatch local invoke``): tracing off outside Lambda
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "WatcherFunction")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    module_name = f"watcher_app_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(module_name, HANDLER_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    loaded = Handler(module)

    from restorewatch.inventory import make_client as real_make_client

    def recording_make_client(service: str, **kwargs: Any) -> Any:
        # the real client, only remembered (and IAM calls counted) so a test can inject failures on it
        client = real_make_client(service, **kwargs)
        loaded._built(service, client)
        return client

    monkeypatch.setattr("restorewatch.watch.config.make_client", recording_make_client)
    runtime_config._watcher_for.cache_clear()  # one cold start per test
    try:
        yield loaded
    finally:
        runtime_config._watcher_for.cache_clear()
        sys.modules.pop(module_name, None)
