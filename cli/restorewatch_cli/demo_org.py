"""`make demo-org`: the central watcher of an organization, end to end on moto's server.

An organization (management account 111122223333, the central watcher's) with an OU "Workloads" and
a member account in it; the member has a tagged restore role, read by the central watcher through
the member's read-only role (STS AssumeRole, as templates/member-stackset.yaml sets it up). Then an
SCP that denies iam:CreateRole is attached to the OU: the Organizations event goes through the real
handler (`restorewatch local invoke`), which enqueues one sweep for the account below the OU; that
sweep goes through the handler too, and the alert names the SCP, the OU and the account.

moto's server is started without MOTO_ACCOUNT_ID (which would override the account of assumed-role
credentials): the demo runs as a role of 111122223333, and moto maps each request to the account of
its credentials.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from restorewatch_cli.demo import PROFILE, ROLE, TAG_KEY, Demo
from restorewatch_cli.local.moto_server import moto_server

ACCOUNT = "111122223333"
SCP_NAME = "DenyIamWrites"
OU_NAME = "Workloads"
MEMBER_NAME = "prod-workloads"


def _become_central_watcher(endpoint: str) -> None:
    from restorewatch.inventory import make_client

    credentials = make_client("sts", endpoint_url=endpoint).assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/RestoreWatchWatcher", RoleSessionName="demo-org"
    )["Credentials"]
    os.environ.update(
        AWS_ACCESS_KEY_ID=credentials["AccessKeyId"],
        AWS_SECRET_ACCESS_KEY=credentials["SecretAccessKey"],
        AWS_SESSION_TOKEN=credentials["SessionToken"],
    )


def _drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def run(root: Path) -> int:
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "MOTO_ACCOUNT_ID",
    ):
        os.environ.pop(name, None)
    os.environ.update(AWS_ACCESS_KEY_ID="demo", AWS_SECRET_ACCESS_KEY="demo", AWS_DEFAULT_REGION="us-east-1")
    with (
        moto_server({"MOTO_ACCOUNT_ID": None}) as endpoint,
        tempfile.TemporaryDirectory(prefix="restorewatch-demo-org-") as workdir,
    ):
        _become_central_watcher(endpoint)
        from restorewatch.inventory import AccountReaders, make_client
        from restorewatch.profiles import ProfileRegistry

        org = make_client("organizations", endpoint_url=endpoint)
        org.create_organization(FeatureSet="ALL")
        root_id = org.list_roots()["Roots"][0]["Id"]
        org.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
        ou = org.create_organizational_unit(ParentId=root_id, Name=OU_NAME)["OrganizationalUnit"]["Id"]
        member = org.create_account(AccountName=MEMBER_NAME, Email="prod@example.com")["CreateAccountStatus"][
            "AccountId"
        ]
        org.move_account(AccountId=member, SourceParentId=root_id, DestinationParentId=ou)
        print(f"moto's server at {endpoint}: organization with management account {ACCOUNT},")
        print(f"OU {OU_NAME} ({ou}) and member account {member} ({MEMBER_NAME}) in it")

        readers = AccountReaders(sts_client=make_client("sts", endpoint_url=endpoint), endpoint_url=endpoint)
        member_iam = readers.iam_client(member)
        actions = list(ProfileRegistry.default().get(PROFILE).actions)
        document = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
        }
        policy = member_iam.create_policy(
            PolicyName="VeeamRestorePolicy", PolicyDocument=json.dumps(document)
        )
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
        member_iam.create_role(
            RoleName=ROLE,
            AssumeRolePolicyDocument=json.dumps(trust),
            Tags=[{"Key": TAG_KEY, "Value": PROFILE}],
        )
        member_iam.attach_role_policy(RoleName=ROLE, PolicyArn=policy["Policy"]["Arn"])
        print(f"Member {member}: role {ROLE} tagged {TAG_KEY}={PROFILE}, allowed every restore action")

        demo = Demo(root, endpoint, Path(workdir))
        demo.up("OrganizationMode=true")
        sqs = make_client("sqs", endpoint_url=endpoint)
        queue_url = demo.resources["SweepQueue"]  # organization mode's queue of account sweeps
        org_env = [
            "--env",
            "ORGANIZATION_MODE=true",
            "--env",
            f"SWEEP_QUEUE_URL={queue_url}",
            "--env",
            f"HOME_ACCOUNT_ID={ACCOUNT}",
        ]

        def invoke(event: dict[str, Any]) -> None:
            path = Path(workdir) / f"event-{time.monotonic_ns()}.json"
            path.write_text(json.dumps(event))
            demo.cli(
                "local",
                "invoke",
                "-e",
                str(path),
                "--endpoint-url",
                endpoint,
                "--env",
                "LOG_LEVEL=ERROR",
                "--env",
                "POWERTOOLS_METRICS_DISABLED=true",
                *org_env,
            )

        def fan_out() -> None:
            bodies = _drain(sqs, queue_url)
            print(
                f"  the watcher enqueued {len(bodies)} account sweep(s): "
                f"{sorted(b['account'] for b in bodies)}"
            )
            if bodies:
                invoke(demo.sqs_batch(*bodies))

        print("\n== Scheduled sweep: the central watcher fans out one sweep per account (baseline, no alert)")
        invoke({"restorewatch": "sweep"})
        fan_out()
        demo.show_alerts()

        deny = {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "DenyIamWrites", "Effect": "Deny", "Action": ["iam:CreateRole"], "Resource": "*"}
            ],
        }
        scp = org.create_policy(
            Content=json.dumps(deny), Description="no new roles", Name=SCP_NAME, Type="SERVICE_CONTROL_POLICY"
        )["Policy"]["PolicySummary"]["Id"]
        print(f"\n== The organization admin attaches SCP {SCP_NAME} (Deny iam:CreateRole) to OU {OU_NAME}")
        org.attach_policy(PolicyId=scp, TargetId=ou)
        invoke(demo.event("AttachPolicy", {"policyId": scp, "targetId": ou}, "organizations-AttachPolicy"))
        fan_out()
        count = demo.show_alerts()
        print(
            f"\n{count} alert(s): the SCP at the OU took iam:CreateRole away from {ROLE} in account {member}."
        )
        return 0 if count else 1


def main(argv: list[str] | None = None) -> int:
    del argv
    return run(Path.cwd())


if __name__ == "__main__":
    raise SystemExit(main())
