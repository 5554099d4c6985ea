"""The watcher's resource side through the real handler on moto: bucket policies and key policies
read live, their CloudTrail events re-checking the principals bound to them.

The seeded account's role ``VeeamRestoreRole`` is bound (``integration.repository.bind_role``) to
the bucket and the KMS key of the ``events/`` samples by its tags ``restorewatch:param:...``; the
samples are delivered as EventBridge delivers them. AWS's rules these tests pin:

* a Deny in the bucket policy beats every Allow (the policy evaluation logic,
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html);
* a key policy that neither names the principal nor enables IAM policies for the account leaves
  the identity policies granting nothing
  (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html);
* a key that is not Enabled cannot be used in cryptographic operations
  (https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html);
* a policy that could not be read is ``unknown``, never "no policy" (RestoreWatch's fail-closed rule).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from faults.injection import ACCESS_DENIED, FaultInjector, Mode
from integration.conftest import ROLE, ROLE_ARN, TAG_KEY, fresh_event, load_event
from integration.repository import (
    BOUND_PROFILE,
    BUCKET,
    BUCKET_ARN,
    DENY_SID,
    KEY_ARN,
    KEY_ID,
    PROFILE_DIR,
    bind_role,
    deny_put,
    key_policy_without_the_role,
)
from restorewatch.inventory.clients import observe_clients

if TYPE_CHECKING:
    from integration.conftest import Account, Handler, Stack


@pytest.fixture
def handler_env(stack: Stack) -> dict[str, str]:
    return {**stack.environment, "PROFILE_PATHS": str(PROFILE_DIR)}


@pytest.fixture
def bound(stack: Stack, account: Account, handler: Handler) -> Handler:
    """The role bound to the repository and swept once: stored compliant, nothing alerted."""
    bind_role(account)
    handler.file("scheduled-sweep")
    assert stack.alerts() == []
    state = stack.store().get(ROLE_ARN, BOUND_PROFILE)
    assert state is not None
    assert state.status.value == "compliant"
    assert state.resources == (KEY_ARN, BUCKET_ARN)  # what a bucket or key event re-checks it for
    return handler


def bound_alerts(stack: Stack) -> list[dict[str, Any]]:
    return [a for a in stack.alerts() if a["profile"] == BOUND_PROFILE]


def changed(alert: dict[str, Any], action: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in alert["changed_actions"] if c["action"] == action)
    return found


def test_bucket_policy_deny_is_lost_naming_the_statement_then_restored(stack: Stack, bound: Handler) -> None:
    """PutBucketPolicy with a Deny of s3:PutObject to the role: LOST, the alert naming the bucket,
    the bucket policy and the statement's Sid, with the fix; DeleteBucketPolicy: RESTORED."""
    deny_put()
    bound.file("s3-PutBucketPolicy")
    (alert,) = bound_alerts(stack)
    assert alert["kind"] == "LOST"
    put = changed(alert, "s3:PutObject")
    assert put["status"] == "denied"
    (reason,) = [r for r in put["reasons"] if r["code"] == "explicit_deny"]
    assert reason["resource"] == BUCKET_ARN
    assert reason["policy"] == f"bucket policy of {BUCKET_ARN}"
    assert reason["statement"] == f"statement {DENY_SID!r}"
    assert [c["action"] for c in alert["changed_actions"]] == ["s3:PutObject"]  # GetObject still allowed
    email = alert["text"]
    assert f"An explicit Deny in the bucket policy of {BUCKET_ARN} blocks s3:PutObject" in email
    assert f"aws s3api get-bucket-policy --bucket {BUCKET}" in email
    assert alert["trigger"]["eventName"] == "PutBucketPolicy"

    boto3.client("s3").delete_bucket_policy(Bucket=BUCKET)
    bound.file("s3-DeleteBucketPolicy")
    (restored,) = bound_alerts(stack)
    assert restored["kind"] == "RESTORED"


def test_key_policy_without_the_principal_is_lost(stack: Stack, bound: Handler) -> None:
    """PutKeyPolicy with a policy that names key administrators only: kms:Decrypt and
    kms:GenerateDataKey LOST, naming the key policy; the S3 actions untouched."""
    boto3.client("kms").put_key_policy(
        KeyId=KEY_ID, PolicyName="default", Policy=key_policy_without_the_role()
    )
    bound.file("kms-PutKeyPolicy")
    (alert,) = bound_alerts(stack)
    assert alert["kind"] == "LOST"
    assert sorted(c["action"] for c in alert["changed_actions"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    reasons = changed(alert, "kms:Decrypt")["reasons"]
    assert {r["code"] for r in reasons} == {"no_resource_allow"}
    assert all(r["resource"] == KEY_ARN for r in reasons)
    assert f"The policy of {KEY_ARN} allows kms:Decrypt, kms:GenerateDataKey neither to" in alert["text"]
    assert '"AWS": "arn:aws:iam::111122223333:role/VeeamRestoreRole"' in alert["text"]


def test_key_policy_unreadable_is_unknown_naming_the_call(stack: Stack, bound: Handler) -> None:
    """GetKeyPolicy answers AccessDenied (a key policy that does not let the watcher read it): the
    key's actions are UNKNOWN, never allowed, and the alert names the call and the permission."""
    injector = FaultInjector()
    injector.inject("kms.GetKeyPolicy", ACCESS_DENIED, Mode.EVERY)
    stop = observe_clients(injector.attach)
    try:
        from restorewatch.watch import config as runtime_config

        runtime_config._watcher_for.cache_clear()  # a cold start: new clients, with the fault attached
        bound(fresh_event("kms-CreateGrant"))  # any key event re-reads the key
    finally:
        stop()
    assert injector.injections[0].failed_attempts > 0
    (alert,) = bound_alerts(stack)
    assert alert["kind"] == "UNKNOWN"
    assert {c["action"]: c["status"] for c in alert["changed_actions"]} == {
        "kms:Decrypt": "unknown",
        "kms:GenerateDataKey": "unknown",
    }
    assert "GetKeyPolicy" in alert["error"]
    assert "AccessDeniedException" in alert["error"]
    (reason,) = changed(alert, "kms:Decrypt")["reasons"]
    assert reason["code"] == "unreadable"
    assert reason["resource"] == KEY_ARN
    assert "kms:DescribeKey and kms:GetKeyPolicy on the key" in alert["text"]


def test_disabled_key_is_lost_and_enabled_again_restored(stack: Stack, bound: Handler) -> None:
    """DisableKey: the restore cannot decrypt (LOST, the key's state as the reason and the fix);
    EnableKey: RESTORED. The key policy and IAM are unchanged all along."""
    kms = boto3.client("kms")
    kms.disable_key(KeyId=KEY_ID)
    bound.file("kms-DisableKey")
    (alert,) = bound_alerts(stack)
    assert alert["kind"] == "LOST"
    (reason,) = changed(alert, "kms:Decrypt")["reasons"]
    assert reason["code"] == "key_state"
    assert "is Disabled" in reason["message"]
    assert f"aws kms enable-key --key-id {KEY_ARN}" in alert["text"]
    kms.enable_key(KeyId=KEY_ID)
    bound.file("kms-EnableKey")
    assert [a["kind"] for a in bound_alerts(stack)] == ["RESTORED"]


def test_duplicate_and_late_events_alert_once(stack: Stack, bound: Handler) -> None:
    """The same PutBucketPolicy delivered twice alerts LOST once (the ledger: the second re-check
    finds the state already stored); after DeleteBucketPolicy's RESTORED, a late PutBucketPolicy
    (delivered out of order) re-reads the live bucket, finds no policy and says nothing."""
    deny_put()
    put = load_event("s3-PutBucketPolicy")
    bound(put)
    bound(put)  # EventBridge's at-least-once: the same event again
    assert [a["kind"] for a in bound_alerts(stack)] == ["LOST"]
    boto3.client("s3").delete_bucket_policy(Bucket=BUCKET)
    bound.file("s3-DeleteBucketPolicy")
    assert [a["kind"] for a in bound_alerts(stack)] == ["RESTORED"]
    bound(fresh_event("s3-PutBucketPolicy"))  # the earlier change, arriving late
    assert bound_alerts(stack) == []


def test_event_for_a_bucket_nobody_is_bound_to_costs_no_read(stack: Stack, bound: Handler) -> None:
    """A bucket policy change on another bucket re-checks nobody: no IAM read, no alert."""
    event = fresh_event("s3-PutBucketPolicy")
    event["detail"]["requestParameters"]["bucketName"] = "someone-elses-bucket"
    event["detail"]["resources"] = [{"type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::someone-elses-bucket"}]
    bound.iam_calls.clear()
    assert bound(event) == {"alerts": []}
    assert bound.total_iam_calls == 0, bound.iam_calls


def test_missing_parameter_tag_is_unknown_with_the_tag_to_set(
    stack: Stack, account: Account, handler: Handler
) -> None:
    """A principal whose bound profile lacks a parameter tag is UNKNOWN, naming the tag to set;
    nothing is guessed and no bucket or key is read for it."""
    bind_role(account)
    account.iam.untag_role(RoleName=ROLE, TagKeys=["restorewatch:param:RepositoryKey"])
    handler.file("scheduled-sweep")
    (alert,) = bound_alerts(stack)
    assert alert["kind"] == "UNKNOWN"
    assert "restorewatch:param:RepositoryKey=<value>" in alert["error"]
    assert alert["principal"]["arn"] == ROLE_ARN
    tags = account.iam.list_role_tags(RoleName=ROLE)["Tags"]
    assert any(t["Key"] == TAG_KEY for t in tags)
    # no bucket or key change can repair a missing tag: such changes cost it no read
    handler.iam_calls.clear()
    assert handler(fresh_event("kms-CreateGrant")) == {"alerts": []}
    assert handler.total_iam_calls == 0, handler.iam_calls


# --- `restorewatch check` on the live account uses the same reader --------------------------------


def test_cli_check_live_reads_the_bucket_policy(account: Account, capsys: pytest.CaptureFixture[str]) -> None:
    """``restorewatch check`` without ``--auth-details`` or ``--resource-policies`` reads the bound
    bucket's and key's policies from the account, as the watcher does: the Deny of the bucket
    policy makes s3:PutObject denied (exit 1), naming the statement; without it, compliant (exit 0)."""
    from restorewatch_cli import main

    bind_role(account)
    args = ["check", "--principal", ROLE_ARN, "--profile-path", str(PROFILE_DIR), "--format", "json"]
    args += ["--profile", BOUND_PROFILE]
    assert main(args) == 0, capsys.readouterr()
    capsys.readouterr()
    deny_put()
    assert main(args) == 1
    (principal,) = json.loads(capsys.readouterr().out)["principals"]
    put = next(a for a in principal["actions"] if a["action"] == "s3:PutObject")
    assert put["status"] == "denied"
    assert put["resource"] == f"{BUCKET_ARN}/*"
    assert any(r.get("statement") == f"statement {DENY_SID!r}" for r in put["reasons"])
