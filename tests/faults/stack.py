"""The watcher's stack on moto (in-process ``mock_aws``), built from ``template.yaml``, and the
delivery path around the real handler (``functions/watcher/app.py``):

* the state table from the template's ``StateTable`` properties, the alert topic with an SQS inbox
  subscribed (every alert read back as a subscriber gets it);
* the event queue with the template's ``RedrivePolicy`` (``maxReceiveCount``) to a real dead-letter
  queue: ``Delivery.drain`` plays the Lambda SQS event source mapping: receive up to
  ``BatchSize`` messages, call the handler, delete what did not fail (partial batch response),
  leave the rest to come back; moto moves a message received ``maxReceiveCount`` times to the DLQ.
  The queue's visibility timeout is 0 here (3600 s in the template) so redelivery needs no wait.
* a seeded account: a tagged role and a tagged user whose restore permissions come from one
  managed policy (the user's through a group), each also with an inline and a second managed policy
  so that every IAM read the watcher makes is exercised.
* with ``report_bucket``, the template's ``ReportBucket`` (an existing bucket): every sweep writes
  the status report there (S3 PutObject).
* with ``organization_mode``, the template's ``OrganizationMode=true``: the sweep queue (its
  ``RedrivePolicy`` to the same DLQ) that the central watcher fans account sweeps out to, drained
  as the ``AccountSweeps`` event source delivers it (``BatchSize`` 1).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from restorewatch.profiles import ProfileRegistry
from restorewatch.state import DynamoStateStore
from restorewatch.watch import config as runtime_config
from restorewatch.watch.fanout import is_account_sweep
from restorewatch_cli.local.invoke import LocalLambdaContext
from restorewatch_cli.local.template import LocalStack
from restorewatch_cli.local.template import load_template as _load_local_template
from restorewatch_cli.local.up import function_environment
from support.template import REPO_ROOT, TEMPLATE_PATH, state_table_kwargs

from .injection import client

if TYPE_CHECKING:
    import pytest

    from restorewatch.state import StoredState

ACCOUNT = "111122223333"
TAG_KEY = "restorewatch:profile"
PROFILE = "restore-small"  # tests/faults/profiles/: delivery is under test here, not evaluation
PROFILE_DIR = Path(__file__).resolve().parent / "profiles"
ROLE, USER, GROUP, POLICY, EXTRA = (
    "VeeamRestoreRole",
    "veeam-restore",
    "backup-operators",
    "VeeamRestorePolicy",
    "Extras",
)
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/{USER}"
POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/{POLICY}"
EXTRA_ARN = f"arn:aws:iam::{ACCOUNT}:policy/{EXTRA}"
WATCH_TAGS = [{"Key": TAG_KEY, "Value": PROFILE}]
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
EVENTS_DIR = REPO_ROOT / "events"
HANDLER_PATH = REPO_ROOT / "functions" / "watcher" / "app.py"


def document(actions: list[str], effect: str = "Allow") -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": effect, "Action": actions, "Resource": "*"}]}
    )


def profile_actions() -> list[str]:
    return list(ProfileRegistry.default((str(PROFILE_DIR),)).get(PROFILE).actions)


def event(name: str, *, in_account: str = ACCOUNT, **parameters: Any) -> dict[str, Any]:
    """A sample from ``events/`` with fresh ids (a distinct CloudTrail event) and these parameters;
    ``in_account``: the account that recorded it (the samples' is the watched account)."""
    text = (EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text.replace(ACCOUNT, in_account))
    loaded["id"] = str(uuid.uuid4())
    if "detail" in loaded and isinstance(loaded["detail"], dict) and "eventID" in loaded["detail"]:
        loaded["detail"]["eventID"] = str(uuid.uuid4())
        if parameters:
            loaded["detail"]["requestParameters"] = parameters
    return loaded


def template_redrive() -> tuple[int, int]:
    """``(maxReceiveCount, BatchSize)`` as the template sets them."""
    resources = load_template(TEMPLATE_PATH)["Resources"]
    max_receive = int(resources["EventQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"])
    batch = int(resources["WatcherFunction"]["Properties"]["Events"]["IamChanges"]["Properties"]["BatchSize"])
    return max_receive, batch


def template_sweep_batch() -> int:
    """The ``BatchSize`` of the template's ``AccountSweeps`` event source (organization mode)."""
    resources = load_template(TEMPLATE_PATH)["Resources"]
    return int(resources["AccountSweeps"]["Properties"]["BatchSize"])


def seed_account(iam: Any | None = None) -> None:
    """The watched principals, through ``iam`` (the watched account's IAM; this account's if
    ``None``)."""
    iam = iam or client("iam")
    iam.create_policy(PolicyName=POLICY, PolicyDocument=document(profile_actions()))
    iam.create_policy(PolicyName=EXTRA, PolicyDocument=document(["ec2:DescribeRegions"]))
    iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=TRUST, Tags=WATCH_TAGS)
    iam.attach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)
    iam.attach_role_policy(RoleName=ROLE, PolicyArn=EXTRA_ARN)
    iam.put_role_policy(RoleName=ROLE, PolicyName="notes", PolicyDocument=document(["s3:ListAllMyBuckets"]))
    iam.create_user(UserName=USER, Tags=WATCH_TAGS)
    iam.put_user_policy(UserName=USER, PolicyName="notes", PolicyDocument=document(["s3:ListAllMyBuckets"]))
    iam.attach_user_policy(UserName=USER, PolicyArn=EXTRA_ARN)
    iam.create_group(GroupName=GROUP)
    iam.add_user_to_group(GroupName=GROUP, UserName=USER)
    iam.attach_group_policy(GroupName=GROUP, PolicyArn=POLICY_ARN)
    iam.put_group_policy(
        GroupName=GROUP, PolicyName="notes", PolicyDocument=document(["s3:ListAllMyBuckets"])
    )


@functools.cache
def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template, parsed once per process (every cell builds its stack from it; read-only)."""
    loaded: dict[str, Any] = _load_local_template(path)
    return loaded


_HANDLER_MODULES: dict[str, Any] = {}


def load_handler() -> Any:
    """``functions/watcher/app.py`` imported by path, once per process (as one Lambda container)."""
    if "app" not in _HANDLER_MODULES:
        spec = importlib.util.spec_from_file_location("restorewatch_faults_watcher_app", HANDLER_PATH)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        _HANDLER_MODULES["app"] = module
    return _HANDLER_MODULES["app"]


REPORT_BUCKET = "restorewatch-reports"


@dataclass
class Stack:
    """The template's runtime resources on moto and the function's resolved environment."""

    table: str
    topic_arn: str
    inbox_url: str
    queue_url: str
    dlq_url: str
    environment: dict[str, str]
    max_receive: int
    batch_size: int
    alerts_seen: list[dict[str, Any]] = field(default_factory=list)
    sweep_queue_url: str | None = None  # organization mode: the queue of account sweeps

    @classmethod
    def create(
        cls,
        *,
        visibility_timeout: int = 0,
        account: str = ACCOUNT,
        report_bucket: str | None = None,
        organization_mode: bool = False,
    ) -> Stack:
        template = load_template(TEMPLATE_PATH)
        local = LocalStack(template, account=account)
        if report_bucket is not None:
            client("s3").create_bucket(Bucket=report_bucket)
            local.parameters["ReportBucket"] = report_bucket
        table = local.physical_name("StateTable")
        client("dynamodb").create_table(**state_table_kwargs(table))
        sns = client("sns")
        topic_arn = sns.create_topic(Name=local.physical_name("AlertTopic"))["TopicArn"]
        sqs = client("sqs")
        inbox_url = sqs.create_queue(QueueName="alert-inbox")["QueueUrl"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=_queue_arn(inbox_url))
        max_receive, batch_size = template_redrive()
        dlq_url = sqs.create_queue(QueueName=local.physical_name("EventDeadLetterQueue"))["QueueUrl"]
        queue_url = sqs.create_queue(
            QueueName=local.physical_name("EventQueue"),
            Attributes={
                "VisibilityTimeout": str(visibility_timeout),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": _queue_arn(dlq_url), "maxReceiveCount": max_receive}
                ),
            },
        )["QueueUrl"]
        sweep_queue_url = None
        if organization_mode:
            local.parameters["OrganizationMode"] = "true"
            redrive = template["Resources"]["SweepQueue"]["Properties"]["RedrivePolicy"]
            sweep_queue_url = sqs.create_queue(
                QueueName=local.physical_name("SweepQueue"),
                Attributes={
                    "VisibilityTimeout": str(visibility_timeout),
                    "RedrivePolicy": json.dumps(
                        {
                            "deadLetterTargetArn": _queue_arn(dlq_url),
                            "maxReceiveCount": int(redrive["maxReceiveCount"]),
                        }
                    ),
                },
            )["QueueUrl"]
            local.queue_urls["SweepQueue"] = sweep_queue_url
        environment = function_environment(local, "WatcherFunction", {})
        return cls(
            table,
            topic_arn,
            inbox_url,
            queue_url,
            dlq_url,
            environment,
            max_receive,
            batch_size,
            sweep_queue_url=sweep_queue_url,
        )

    def apply_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """What the template and the Lambda runtime set for the function (tracing off outside Lambda)."""
        for key, value in self.environment.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("PROFILE_PATHS", str(PROFILE_DIR))
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "WatcherFunction")
        monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert document published since the last call (also kept in ``alerts_seen``)."""
        sqs = client("sqs")
        new: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(QueueUrl=self.inbox_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                self.alerts_seen.extend(new)
                return new
            for message in messages:
                envelope = json.loads(message["Body"])  # SNS's envelope; the alert document inside
                new.append(json.loads(envelope["Message"]))
                sqs.delete_message(QueueUrl=self.inbox_url, ReceiptHandle=message["ReceiptHandle"])

    def store(self) -> DynamoStateStore:
        return DynamoStateStore(self.table, client=client("dynamodb"))

    def state(self, principal: str, profile: str = PROFILE) -> StoredState | None:
        return self.store().get(principal, profile)

    def send(self, *bodies: dict[str, Any] | str) -> None:
        sqs = client("sqs")
        for body in bodies:
            sqs.send_message(
                QueueUrl=self.queue_url, MessageBody=body if isinstance(body, str) else json.dumps(body)
            )

    def redrive(self, body: str) -> None:
        """A DLQ message back to the queue it came from (what an SQS redrive does): an account
        sweep to the sweep queue, anything else to the event queue."""
        if self.sweep_queue_url is not None and is_account_sweep(json.loads(body)):
            client("sqs").send_message(QueueUrl=self.sweep_queue_url, MessageBody=body)
        else:
            self.send(body)

    def invoke_sweep(self) -> Any:
        """The scheduled sweep, as the schedule invokes the function."""
        return invoke(event("scheduled-sweep"))

    def send_to_dlq(self, body: str) -> None:
        """What Lambda does with an asynchronous invocation that failed every retry (the
        function's ``DeadLetterQueue`` in the template)."""
        client("sqs").send_message(QueueUrl=self.dlq_url, MessageBody=body)

    def dead_letters(self) -> list[str]:
        """Bodies in the DLQ (received and deleted)."""
        sqs = client("sqs")
        bodies: list[str] = []
        while True:
            messages = sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return bodies
            for message in messages:
                bodies.append(message["Body"])
                sqs.delete_message(QueueUrl=self.dlq_url, ReceiptHandle=message["ReceiptHandle"])


def _queue_arn(url: str) -> str:
    arn: str = client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return arn


def sqs_records(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event the SQS event source mapping gives the function for these received messages."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {
                    key: message.get("Attributes", {}).get(key, "0")
                    for key in (
                        "ApproximateReceiveCount",
                        "SentTimestamp",
                        "SenderId",
                        "ApproximateFirstReceiveTimestamp",
                    )
                },
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for message in messages
        ]
    }


@dataclass
class DrainResult:
    invocations: int = 0
    crashes: int = 0
    failed_items: int = 0
    processed: int = 0  # messages deleted after success
    bodies: set[str] = field(default_factory=set)  # every body received


def invoke(event: dict[str, Any]) -> Any:
    context = LocalLambdaContext(function_name="WatcherFunction", aws_request_id=str(uuid.uuid4()))
    return load_handler().lambda_handler(event, context)


def drain(
    stack: Stack,
    *,
    max_invocations: int = 50,
    on_invocation: Any = None,
    queue_url: str | None = None,
    batch_size: int | None = None,
) -> DrainResult:
    """Play the event source mapping until the queue (the event queue unless ``queue_url``) is
    empty (failed messages come back, and after ``maxReceiveCount`` receives moto moves them to
    the DLQ)."""
    from .injection import Crash

    sqs = client("sqs")
    url = queue_url or stack.queue_url
    queue_arn = _queue_arn(url)
    result = DrainResult()
    while result.invocations < max_invocations:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=batch_size or stack.batch_size, AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return result
        result.invocations += 1
        result.bodies.update(message["Body"] for message in messages)
        try:
            response = invoke(sqs_records(messages, queue_arn))
        except Crash:
            result.crashes += 1  # the invocation died: every message comes back
            if on_invocation is not None:
                on_invocation(result)
            continue
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        result.failed_items += len(failed)
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                result.processed += 1
        if on_invocation is not None:
            on_invocation(result)
    raise AssertionError(f"the queue did not drain in {max_invocations} invocations")


def drain_sweeps(stack: Stack, *, on_invocation: Any = None) -> DrainResult:
    """Organization mode: the account sweeps the central watcher enqueued, delivered one per
    invocation as the template's ``AccountSweeps`` event source does (nothing without one)."""
    if stack.sweep_queue_url is None:
        return DrainResult()
    return drain(
        stack,
        queue_url=stack.sweep_queue_url,
        batch_size=template_sweep_batch(),
        on_invocation=on_invocation,
    )


def sweep(stack: Stack) -> None:
    """The scheduled sweep, and (organization mode) the account sweeps it fans out."""
    invoke(event("scheduled-sweep"))
    drained = drain_sweeps(stack)
    assert drained.failed_items == 0, drained


def fresh_watcher() -> None:
    """A cold start: the next invocation builds new clients (through the patched ``make_client``)."""
    runtime_config._watcher_for.cache_clear()
