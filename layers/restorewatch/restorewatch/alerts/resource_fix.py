"""HOW TO FIX IT for the resource side of a bound profile: the bucket policy, the key policy, the key's
state, the RCPs, and the policy the watcher could not read.

Each fix names the resource (``Reason.resource``), the policy (``statement.source.describe()``: "the
bucket policy of arn:aws:s3:::b", "RCP DenyUploads (attached to OU Workloads (ou-...)) at level 1")
and the statement (its Sid, or its index), and says what to change and where: a bucket or key
policy is changed by whoever administers the bucket or key, an RCP by the organization's
administrator. The wording of the IAM side stays in ``alerts.email``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING

from restorewatch.engine.arn import parse_arn
from restorewatch.engine.model import LayerKind

if TYPE_CHECKING:
    from restorewatch.domain import Transition
    from restorewatch.engine.model import Reason

__all__ = ["RESOURCE_CODES", "resource_fix_lines", "unreadable_fix_lines"]

FIX_SID = "RestoreWatchRestore"
INDENT = "  "
# the reason codes whose fix this module writes (alerts.email leaves them out of its own)
RESOURCE_CODES = frozenset({"no_resource_allow", "key_state", "unreadable"})


def _bucket_name(arn: str) -> str:
    parsed = parse_arn(arn)
    return parsed.resource if parsed is not None else arn


def _is_resource_deny(reason: Reason) -> bool:
    return (
        reason.code == "explicit_deny"
        and reason.statement is not None
        and reason.statement.source.layer in (LayerKind.RESOURCE, LayerKind.RCP)
    )


def resource_fix_lines(t: Transition, who: str, actions_by_reason: list[tuple[Reason, str]]) -> list[str]:
    """The fix lines of the resource-side reasons among ``actions_by_reason`` ((reason, action) of the
    changed denied or partial actions)."""
    lines: list[str] = []
    denies: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    missing: dict[str, list[str]] = defaultdict(list)
    states: dict[str, str] = {}
    for reason, action in actions_by_reason:
        if _is_resource_deny(reason):
            assert reason.statement is not None
            source = reason.statement.source
            denies[(source.describe(), reason.statement.statement, source.layer.value)].append(action)
        elif reason.code == "no_resource_allow" and reason.resource is not None:
            missing[reason.resource].append(action)
        elif reason.code == "key_state" and reason.resource is not None:
            states[reason.resource] = reason.message
    for (policy, label, layer), actions in denies.items():
        blocked = ", ".join(sorted(set(actions)))
        lines.append(f"An explicit Deny in {policy} blocks {blocked}: {label}.")
        if layer == LayerKind.RCP.value:
            lines += [
                "It is a resource control policy of AWS Organizations: ask your Organizations",
                f"administrator to change that statement so that it no longer matches {who}",
                "(a Condition on aws:PrincipalArn), or to detach that RCP. No Allow can override a Deny.",
            ]
        else:
            resource = policy.rpartition(" of ")[2]
            command = (
                f"aws s3api get-bucket-policy --bucket {_bucket_name(resource)}"
                if resource.startswith("arn:aws:s3:::") or ":s3:::" in resource
                else f"aws kms get-key-policy --key-id {resource} --policy-name default"
            )
            lines += [
                f"Change that statement so that it no longer matches {who} (take the actions out of it, or",
                "exclude the role with a Condition on aws:PrincipalArn), or remove it. No Allow can override",
                f"a Deny. Read the policy with: {command}",
            ]
        lines.append("")
    for resource, actions in missing.items():
        names = sorted(set(actions))
        grant: dict[str, object] = {
            "Sid": FIX_SID,
            "Effect": "Allow",
            "Principal": {"AWS": t.arn},
            "Action": names,
            "Resource": "*",
        }
        lines += [
            f"The policy of {resource} allows {', '.join(names)} neither to {who} nor to its account.",
            'Add this statement to it (in a key policy, Resource "*" means the key itself), or restore the',
            'statement that enables IAM policies for the account ("Enable IAM User Permissions"):',
            *(INDENT + line for line in json.dumps(grant, indent=2).splitlines()),
            "",
        ]
    for resource, message in states.items():
        lines += [
            f"{message[:1].upper()}{message[1:]}.",
            f"Enable it: aws kms enable-key --key-id {resource} (a key pending deletion needs",
            f"aws kms cancel-key-deletion --key-id {resource} first). Restores cannot decrypt until then.",
            "",
        ]
    return lines


def unreadable_fix_lines(t: Transition) -> list[str]:
    """The fix of an UNKNOWN alert whose check could not read a bucket or key policy, or [] if none."""
    unreadable = {
        reason.resource: reason.message
        for change in t.changes
        for reason in change.reasons
        if reason.code == "unreadable" and reason.resource is not None
    }
    if not unreadable and not (t.error and (" GetBucketPolicy " in t.error or " GetKeyPolicy " in t.error)):
        return []
    lines = [
        "Nothing is known to be wrong, but the policy of the repository's bucket or key could not be",
        "read, and it decides whether the restore works: check it by hand until RestoreWatch can read it.",
    ]
    for resource in sorted(unreadable):
        lines.append(f"- {resource}: {unreadable[resource]}")
    lines += [
        "If the error is AccessDenied, let the watcher's role read it: s3:GetBucketPolicy on the bucket",
        "(template parameter RepositoryBucketArns), kms:DescribeKey and kms:GetKeyPolicy on the key",
        "(RepositoryKeyArns; the key policy must enable IAM policies or name the role). A bucket or key",
        "of another account cannot be read from this one (its policy is read in the account that owns it).",
    ]
    return lines
