"""``make demo``: the watcher at work on moto's server, started and stopped here, no AWS account needed.

It seeds an account with a Veeam restore user and role carrying the watch tag, creates the stack's
runtime resources with ``restorewatch local up``, runs the first sweep, then makes real IAM API
calls that break and repair restore permissions, and a bucket policy that takes a restore away from
a role bound to its repository bucket (``demo_repository``). After each change it feeds the CloudTrail event
AWS would deliver (built from the samples in ``events/``) to ``restorewatch local invoke`` and
prints every alert as the email a person would receive, read back from a queue subscribed to the
alert topic.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from restorewatch.profiles import DEFAULT_TAG_KEY
from restorewatch_cli.demo_repository import repository_scene
from restorewatch_cli.local.moto_server import moto_server
from restorewatch_cli.local.slack_stand_in import slack_stand_in

if TYPE_CHECKING:
    import contextlib
    from collections.abc import Callable, Sequence

    from types_boto3_iam.type_defs import TagTypeDef

    from restorewatch_cli.local.slack_stand_in import SlackStandIn

ACCOUNT = "111122223333"
ROLE = "VeeamRestoreRole"
USER = "veeam-restore"
GROUP = "backup-operators"
POLICY = "VeeamRestorePolicy"
BOUNDARY = "BackupBoundary"
POWER_USER = "arn:aws:iam::aws:policy/PowerUserAccess"
TAG_KEY = DEFAULT_TAG_KEY
PROFILE = "veeam-ec2-restore"


def print_alert(alert: dict[str, Any]) -> None:
    """An alert as the email a person receives."""
    print(f"  --- alert {alert.get('kind')} {alert.get('alert_id', '')} ---")
    text = alert.get("text") or json.dumps(alert, indent=2)
    print("\n".join(f"  | {line}" for line in text.splitlines()))


def print_slack_post(posted: dict[str, Any]) -> None:
    """What the Slack stand-in received: the JSON, and the message as text."""
    from restorewatch.alerts.slack import slack_as_text

    print(f"  --- Slack: the JSON posted to the Slack stand-in ({len(posted.get('blocks', []))} blocks) ---")
    posted_json = json.dumps(posted, indent=1, ensure_ascii=False)
    print("\n".join(f"  : {line}" for line in posted_json.splitlines()))
    print("  --- Slack, as text ---")
    print("\n".join(f"  # {line}" for line in slack_as_text(posted).splitlines()))


def demo_server() -> contextlib.AbstractContextManager[str]:
    """moto's server as the demo's AWS: the demo account, with AWS managed policies loaded."""
    return moto_server({"MOTO_ACCOUNT_ID": ACCOUNT, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"})


class Demo:
    def __init__(self, root: Path, endpoint: str, workdir: Path) -> None:
        self.root = root
        self.endpoint = endpoint
        self.workdir = workdir
        from restorewatch.inventory import make_client

        self.iam = make_client("iam", endpoint_url=endpoint)
        self.inbox: str | None = None
        self.resources: dict[str, str] = {}  # after up(): logical id -> name, ARN or queue URL
        self.slack: SlackStandIn | None = None  # the local Slack stand-in, when the demo runs one
        self.cli_env = dict(os.environ)

    # ---- the account --------------------------------------------------------------------------

    def seed(self) -> None:
        from restorewatch.profiles import ProfileRegistry

        actions = list(ProfileRegistry.default().get(PROFILE).actions)
        document = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
        }
        self.policy_arn = self.iam.create_policy(PolicyName=POLICY, PolicyDocument=json.dumps(document))[
            "Policy"
        ]["Arn"]
        boundary = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["ec2:*", "iam:*"], "Resource": "*"}],
        }
        self.boundary_arn = self.iam.create_policy(PolicyName=BOUNDARY, PolicyDocument=json.dumps(boundary))[
            "Policy"
        ]["Arn"]
        tags: list[TagTypeDef] = [{"Key": TAG_KEY, "Value": PROFILE}]
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
        self.iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust), Tags=tags)
        self.iam.attach_role_policy(RoleName=ROLE, PolicyArn=self.policy_arn)
        self.iam.create_user(UserName=USER, Tags=tags)
        self.iam.create_group(GroupName=GROUP)
        self.iam.add_user_to_group(GroupName=GROUP, UserName=USER)
        self.iam.attach_group_policy(GroupName=GROUP, PolicyArn=self.policy_arn)

    # ---- the stack ----------------------------------------------------------------------------

    def cli(self, *args: str) -> str:
        command = [sys.executable, "-m", "restorewatch_cli", *args]
        done = subprocess.run(
            command, cwd=self.root, env=self.cli_env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"`restorewatch {' '.join(args)}` failed:\n{done.stderr or done.stdout}")
        return done.stdout

    def up(self, *parameters: str, options: Sequence[str] = ()) -> None:
        """``local up``; ``parameters``: template parameter overrides, ``NAME=VALUE``; ``options``: more
        options of ``local up``."""
        overrides = [option for parameter in parameters for option in ("--parameter", parameter)]
        environment = json.loads(
            self.cli("local", "up", "--endpoint-url", self.endpoint, "--format", "json", *overrides, *options)
        )
        self.inbox = environment["alert_inbox_queue_url"]
        self.resources = environment["resources"]
        print(f"Stack resources on {self.endpoint}:")
        for logical_id, physical in sorted(environment["resources"].items()):
            print(f"  {logical_id:<24} {physical}")

    def invoke(self, event: dict[str, Any]) -> None:
        path = self.workdir / f"event-{uuid.uuid4().hex[:8]}.json"
        path.write_text(json.dumps(event, indent=2))
        # quiet logs and no metrics on stdout: the demo shows the alerts, not the handler's telemetry
        self.cli("local", "invoke", "-e", str(path), "--endpoint-url", self.endpoint,
                 "--env", "LOG_LEVEL=ERROR", "--env", "POWERTOOLS_METRICS_DISABLED=true")  # fmt: skip

    def event(self, name: str, parameters: dict[str, Any], sample: str | None = None) -> dict[str, Any]:
        """The CloudTrail event AWS would deliver for this call, from the sample in ``events/``."""
        event: dict[str, Any] = copy.deepcopy(
            json.loads((self.root / "events" / f"{sample or f'iam-{name}'}.json").read_text())
        )
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event.update(id=str(uuid.uuid4()), time=now)
        event["detail"].update(eventTime=now, eventID=str(uuid.uuid4()), requestParameters=parameters)
        return event

    def sqs_batch(self, *events: dict[str, Any]) -> dict[str, Any]:
        batch: dict[str, Any] = json.loads((self.root / "events" / "sqs-batch.json").read_text())
        template = batch["Records"][0]
        records = []
        for event in events:
            record = copy.deepcopy(template)
            record.update(messageId=str(uuid.uuid4()), body=json.dumps(event))
            records.append(record)
        return {"Records": records}

    def show_alerts(self) -> int:
        from restorewatch_cli.local.up import read_alerts

        assert self.inbox is not None
        alerts = read_alerts(self.inbox, self.endpoint, wait_seconds=0)
        if not alerts:
            print("  (no alert)")
        for alert in alerts:
            print_alert(alert)
            self.show_slack(alert)
        return len(alerts)

    def show_slack(self, alert: dict[str, Any]) -> None:
        """Post the alert's Slack message to the local stand-in; print the JSON it got and its text."""
        if self.slack is None:
            return
        from restorewatch.alerts.slack import render_slack
        from restorewatch.alerts.slack_send import SlackSender

        SlackSender(self.slack.url).send(render_slack(alert))
        print_slack_post(self.slack.payloads[-1])

    def write_report(self, path: Path) -> None:
        """The demo account's HTML status report (what ``restorewatch report`` writes), from a live read
        of the watched principals only: the whole account on moto's server carries every AWS managed
        policy and takes seconds to page through."""
        from restorewatch.engine import AccountSnapshot
        from restorewatch.inventory import IamReader
        from restorewatch.profiles import ProfileRegistry
        from restorewatch.report import render_report
        from restorewatch_cli.checks import collect_checks

        arns = [f"arn:aws:iam::{ACCOUNT}:role/{ROLE}", f"arn:aws:iam::{ACCOUNT}:user/{USER}"]
        snapshot = AccountSnapshot.from_pages(IamReader(self.iam).principal_pages(arns).pages)
        checks = collect_checks(snapshot, ProfileRegistry.default(), TAG_KEY)
        page = render_report(checks, generated_at=datetime.now(UTC), title="RestoreWatch demo account")
        path.write_text(page, encoding="utf-8")
        print(f"\n== The status report of the demo account: {path} (open it in a browser)")

    def step(self, title: str, change: Callable[[], object], event: dict[str, Any]) -> int:
        print(f"\n== {title}")
        change()
        self.invoke(event)
        return self.show_alerts()


def run(root: Path) -> int:
    started = time.monotonic()
    # moto accepts any credentials; fixed ones keep a developer's real keys and profiles out of it
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update(AWS_ACCESS_KEY_ID="demo", AWS_SECRET_ACCESS_KEY="demo", AWS_DEFAULT_REGION="us-east-1")
    with (
        demo_server() as endpoint,
        slack_stand_in() as slack,
        tempfile.TemporaryDirectory(prefix="restorewatch-demo-") as workdir,
    ):
        print(f"moto's server is standing in for AWS at {endpoint} (account {ACCOUNT})")
        print(f"A Slack incoming-webhook stand-in listens at {slack.url}")
        demo = Demo(root, endpoint, Path(workdir))
        demo.slack = slack
        demo.seed()
        print(f"Seeded role {ROLE} and user {USER} (via group {GROUP}), both tagged {TAG_KEY}={PROFILE}")
        demo.up()
        print("\n== First sweep: RestoreWatch learns the watched principals (all compliant: no alert)")
        demo.invoke(json.loads((root / "events" / "scheduled-sweep.json").read_text()))
        demo.show_alerts()

        iam, role, user = demo.iam, {"roleName": ROLE}, {"userName": USER}
        swap_events = demo.sqs_batch(
            demo.event("DetachRolePolicy", {**role, "policyArn": demo.policy_arn}),
            demo.event(
                "AttachRolePolicy", {**role, "policyArn": POWER_USER}, "iam-AttachRolePolicy-PowerUserAccess"
            ),
        )

        def swap() -> None:
            iam.detach_role_policy(RoleName=ROLE, PolicyArn=demo.policy_arn)
            iam.attach_role_policy(RoleName=ROLE, PolicyArn=POWER_USER)

        deny = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "NoInstanceLaunch",
                    "Effect": "Deny",
                    "Action": ["ec2:RunInstances", "ec2:ImportImage"],
                    "Resource": "*",
                }
            ],
        }
        total = 0
        total += demo.step(
            f"Terraform swaps {POLICY} for PowerUserAccess on role {ROLE} (two calls, one SQS batch)",
            swap,
            swap_events,
        )
        total += demo.step(
            f"Someone re-attaches {POLICY} to role {ROLE}",
            lambda: iam.attach_role_policy(RoleName=ROLE, PolicyArn=demo.policy_arn),
            demo.event("AttachRolePolicy", {**role, "policyArn": demo.policy_arn}),
        )
        total += demo.step(
            f"Someone adds a Deny to group {GROUP}, which user {USER} is in",
            lambda: iam.put_group_policy(
                GroupName=GROUP, PolicyName="FreezeLaunches", PolicyDocument=json.dumps(deny)
            ),
            demo.event(
                "PutGroupPolicy",
                {"groupName": GROUP, "policyName": "FreezeLaunches", "policyDocument": json.dumps(deny)},
            ),
        )
        total += demo.step(
            f"The Deny is removed from group {GROUP}",
            lambda: iam.delete_group_policy(GroupName=GROUP, PolicyName="FreezeLaunches"),
            demo.event("DeleteGroupPolicy", {"groupName": GROUP, "policyName": "FreezeLaunches"}),
        )
        total += demo.step(
            f"Someone sets permissions boundary {BOUNDARY} (ec2 and iam only) on role {ROLE}",
            lambda: iam.put_role_permissions_boundary(RoleName=ROLE, PermissionsBoundary=demo.boundary_arn),
            demo.event("PutRolePermissionsBoundary", {**role, "permissionsBoundary": demo.boundary_arn}),
        )
        total += demo.step(
            f"The boundary is removed from role {ROLE}",
            lambda: iam.delete_role_permissions_boundary(RoleName=ROLE),
            demo.event("DeleteRolePermissionsBoundary", role),
        )
        total += repository_scene(demo, account=ACCOUNT, role=ROLE, tag_key=TAG_KEY, profile=PROFILE)
        total += demo.step(
            f"Someone removes the watch tag from user {USER} (trying to silence the watcher)",
            lambda: iam.untag_user(UserName=USER, TagKeys=[TAG_KEY]),
            demo.event("UntagUser", {**user, "tagKeys": [TAG_KEY]}),
        )
        demo.write_report(Path(tempfile.gettempdir()) / "restorewatch-demo-report.html")
    print(f"\nDemo finished: {total} alerts in {time.monotonic() - started:.1f} s. moto's server is stopped.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="restorewatch-demo", description=__doc__)
    parser.add_argument("--root", default=".", help="the repository (template.yaml, events/)")
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    if not (root / "template.yaml").is_file() or not (root / "events").is_dir():
        print(
            f"restorewatch demo: {root} has no template.yaml and events/; run it from the repository",
            file=sys.stderr,
        )
        return 2
    return run(root)


if __name__ == "__main__":
    sys.exit(main())
