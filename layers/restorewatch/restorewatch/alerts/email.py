"""The plain-text email a backup admin reads: what happened, why, who did it, how to fix, what next.

Written for someone who runs backups, not IAM: the first line says what happened and to whom, and
the fix is concrete (a statement to paste, or the statement of the policy that blocks).
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING

from restorewatch.compliance import ScpFailure, ScpStatus
from restorewatch.domain import AlertKind
from restorewatch.engine.model import LayerKind, RequirementStatus
from restorewatch.state.model import format_time

from .document import SEVERITY
from .resource_fix import RESOURCE_CODES, resource_fix_lines, unreadable_fix_lines
from .subject import principal_label
from .wording import actor_label, parameter_lines

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from restorewatch.domain import ActionChange, CloudTrailChange, Transition
    from restorewatch.engine.model import Reason, StatementRef

FIX_SID = "RestoreWatchRestore"
INDENT = "  "
_RESOURCE_LAYERS = (LayerKind.RESOURCE, LayerKind.RCP)


def build_email(
    transition: Transition,
    *,
    alert_id: str,
    trigger: CloudTrailChange | None,
    observed_at: datetime,
    tag_key: str,
) -> str:
    """``tag_key``: the watch tag the watcher is configured with (template parameter WatchTagKey);
    UNWATCHED and DELETED alerts tell people to tag with it."""
    out = [_headline(transition, tag_key), "", _facts(transition), ""]
    sections = [
        ("WHAT CHANGED", _what(transition)),
        ("WHY", _why(transition)),
        ("WHO CHANGED WHAT, WHEN", _who(trigger, observed_at)),
        ("HOW TO FIX IT", _fix(transition, tag_key)),
        ("WHAT HAPPENS NEXT", [_next(transition)]),
    ]
    for title, lines in sections:
        if lines:
            out += [title, *(INDENT + line if line else "" for line in lines), ""]
    out += ["--", f"Alert id: {alert_id} (a repeated delivery of this alert carries the same id)"]
    return "\n".join(out) + "\n"


# -- sections ----------------------------------------------------------------------------------


def _headline(t: Transition, tag_key: str) -> str:
    who = principal_label(t)
    total = len(t.statuses)
    kind = t.kind
    if kind is AlertKind.LOST:
        lost = len(t.changed(RequirementStatus.DENIED))
        seen = ", seen for the first time," if t.first_sight else ""
        return (
            f"LOST: {who}{seen} can no longer perform {lost} of its {total} restore actions "
            f"(profile {t.profile}). Restores that need them will fail."
        )
    if kind is AlertKind.DEGRADED:
        partial = len(t.changed(RequirementStatus.PARTIAL))
        return (
            f"DEGRADED: {who} can perform {partial} of its {total} restore actions only in part "
            f"(profile {t.profile}). Some restores may fail."
        )
    if kind is AlertKind.RESTORED:
        return f"RESTORED: {who} can perform all {total} restore actions of profile {t.profile} again."
    if kind is AlertKind.UNKNOWN:
        return (
            f"UNKNOWN: RestoreWatch could not check whether {who} can still restore "
            f"(profile {t.profile}). Do not assume it can."
        )
    if kind is AlertKind.UNWATCHED:
        return (
            f"UNWATCHED: {who} is no longer watched for profile {t.profile}: "
            f"its {tag_key} tag no longer names it."
        )
    return f"DELETED: {who}, watched for profile {t.profile}, was deleted. Restores that use it will fail."


def _facts(t: Transition) -> str:
    account = f"{t.account} ({t.account_name})" if t.account_name else t.account
    lines = [
        f"Principal: {principal_label(t)} ({t.arn})",
        f"Account:   {account}",
        f"Profile:   {t.profile}",
        f"Alert:     {t.kind.value}, severity {SEVERITY[t.kind].value}",
    ]
    if t.scps is not None:
        lines.append(f"SCPs:      {_scp_line(t)}")
    return "\n".join(lines)


def _scp_line(t: Transition) -> str:
    assert t.scps is not None
    if t.scps.status is ScpStatus.NOT_EVALUATED:
        # never let silence read as "SCPs allow": say that they were not looked at
        return f"NOT EVALUATED ({t.scps.detail}); an {t.scps.policies} may still deny these actions"
    if t.scps.status is ScpStatus.NOT_APPLICABLE:
        return f"not applicable ({t.scps.detail})"
    return f"evaluated ({t.scps.detail})"


def _what(t: Transition) -> list[str]:
    lines: list[str] = []
    groups = (
        ("Lost (now denied)", RequirementStatus.DENIED),
        ("Only in part (now partial)", RequirementStatus.PARTIAL),
        ("Not checked (now unknown)", RequirementStatus.UNKNOWN),
        ("Back (now allowed)", RequirementStatus.ALLOWED),
    )
    for title, status in groups:
        changes = t.changed(status)
        if not changes:
            continue
        lines.append(f"{title}, by service:")
        for service, items in _by_service(changes):
            lines.append(f"{INDENT}{service}:")
            lines += [f"{INDENT * 2}- {c.action}{_was(c)}" for c in items]
    if t.kind in (AlertKind.UNWATCHED, AlertKind.DELETED):
        lines.append(f"RestoreWatch no longer checks this {_kind_word(t)}.")
    counts = t.counts()
    if t.statuses:
        summary = ", ".join(f"{counts[status]} {status.value}" for status in RequirementStatus)
        label = "last known status" if t.kind in (AlertKind.UNWATCHED, AlertKind.DELETED) else "status"
        lines.append(f"All {len(t.statuses)} actions, {label}: {summary}.")
    return lines


def _why(t: Transition) -> list[str]:
    lines: list[str] = []
    if t.error:
        lines.append(f"The check failed: {t.error}")
    if t.scps is not None and t.scps.status is ScpStatus.NOT_EVALUATED:
        lines.append(
            f"{t.scps.policies}s were not evaluated ({t.scps.detail}): an {t.scps.policies} of AWS "
            "Organizations may deny more than this check shows."
        )
    for change in t.changes:
        if change.after is RequirementStatus.ALLOWED:
            continue
        for reason in change.reasons:
            # the engine's messages usually name the action already; do not say it twice
            prefix = "" if change.action in reason.message else f"{change.action}: "
            lines.append(f"- {prefix}{reason.message}")
    if t.kind is AlertKind.RESTORED:
        lines.append("Every restore action of the profile is allowed again.")
    return lines


def _who(trigger: CloudTrailChange | None, observed_at: datetime) -> list[str]:
    if trigger is None:
        return [
            f"Found by the scheduled sweep, which checked at {format_time(observed_at)}.",
            "No IAM change event reported it: the event was missed, or AWS changed a managed policy.",
        ]
    where = f" from {trigger.source_ip}" if trigger.source_ip else ""
    lines = [
        f"{actor_label(trigger.actor_arn)} called {trigger.event_name}",
        f"at {format_time(trigger.event_time)}{where}.",
    ]
    parameters = parameter_lines(trigger.request_parameters)
    if parameters:
        lines.append("The call named:")
        lines += [f"{INDENT}{line}" for line in parameters]
    return [
        *lines,
        f"CloudTrail event ID: {trigger.event_id}",
        f"RestoreWatch re-read the live IAM state at {format_time(observed_at)}.",
    ]


def _fix(t: Transition, tag_key: str) -> list[str]:
    who = principal_label(t)
    if t.kind is AlertKind.RESTORED:
        return ["Nothing to do."]
    if t.kind is AlertKind.UNKNOWN and (unreadable := unreadable_fix_lines(t)):
        return unreadable
    if t.kind is AlertKind.UNKNOWN and t.scps is not None and t.scps.failure is not None:
        return _fix_scps(t.scps.failure, t.scps.policies)
    if t.kind is AlertKind.UNKNOWN:
        return [
            "Nothing is known to be wrong, but nothing could be checked either: check the restore",
            "permissions by hand until RestoreWatch can check again.",
            "If the error is AccessDenied or throttling, give the watcher's role read access to IAM",
            "(iam:GetAccountAuthorizationDetails, iam:Get*, iam:List*) or wait for the retry;",
            "if a policy is malformed, fix the policy the error names.",
        ]
    if t.kind is AlertKind.UNWATCHED:
        return [
            f"If this was not intended, tag {who} again: {tag_key} = {t.profile}",
            "(profiles are space separated), and ask the person above why the tag changed.",
        ]
    if t.kind is AlertKind.DELETED:
        return [
            f"If this was not intended, recreate {who} with its policies and tag it",
            f"{tag_key} = {t.profile}. Restore jobs that use it fail until then.",
        ]
    return _fix_permissions(t)


def _fix_permissions(t: Transition) -> list[str]:
    who = principal_label(t)
    lines: list[str] = []
    denies: dict[str, list[str]] = defaultdict(list)
    limits: dict[tuple[str, str], list[str]] = defaultdict(list)
    missing: dict[tuple[LayerKind, int | None, str], list[str]] = defaultdict(list)
    resource_side: list[tuple[Reason, str]] = []
    for change in t.changed(RequirementStatus.DENIED, RequirementStatus.PARTIAL):
        blocked = [r for r in change.reasons if r.code == "explicit_deny" and r.statement is not None]
        for reason in blocked:
            if reason.statement is not None and reason.statement.source.layer in _RESOURCE_LAYERS:
                resource_side.append((reason, change.action))  # the bucket or key policy, an RCP
            else:
                denies[_deny_label(reason.statement)].append(change.action)
        for reason in change.reasons:
            if reason.statement is not None and reason.code in ("limited_allow", "limited_deny"):
                limits[(reason.code, reason.message)].append(change.action)
            elif reason.code in RESOURCE_CODES and not blocked:
                resource_side.append((reason, change.action))
            elif reason.code == "no_allow" and not blocked:
                where = reason.message.partition(" allows ")[0].removeprefix("no statement in ")
                level = reason.rcp_level if reason.layer is LayerKind.RCP else reason.scp_level
                missing[(reason.layer, level, where)].append(change.action)
    for label, actions in denies.items():
        lines += [
            f"An explicit Deny blocks {', '.join(sorted(set(actions)))}:",
            f"{INDENT}{label}.",
            "Change that statement so it no longer matches these actions (take them out of its Action,",
            "or add them to a NotAction), or detach that policy. No Allow can override a Deny.",
            "",
        ]
    for (layer, level, where), actions in missing.items():
        names = sorted(set(actions))
        if layer is LayerKind.IDENTITY:
            lines.append(f"No policy of {who} allows {', '.join(names)}.")
            lines.append(
                "Re-attach the policy that granted them, or add this statement to one of its policies:"
            )
        elif layer is LayerKind.BOUNDARY:
            lines.append(f"{where[:1].upper()}{where[1:]} does not allow {', '.join(names)}.")
            lines.append("A permissions boundary must allow them too. Add this statement to it:")
        elif layer is LayerKind.RCP:
            lines.append(
                f"The RCPs (resource control policies) at level {level} do not allow {', '.join(names)}."
            )
            lines.append("Ask your AWS Organizations administrator to allow them in one of those RCPs.")
            lines.append("")
            continue
        else:
            lines.append(f"The SCPs at level {level} do not allow {', '.join(names)}.")
            lines.append("Ask your AWS Organizations administrator to add this statement to one of them:")
        lines += [INDENT + line for line in _statement(names).splitlines()]
        lines.append("")
    lines += resource_fix_lines(t, who, resource_side)
    for (code, message), actions in limits.items():
        advice = (
            'Widen that Allow to Resource "*" without conditions if restores need more.'
            if code == "limited_allow"
            else "Narrow that Deny so that it no longer matches what restores need."
        )
        lines += [f"Only in part ({', '.join(sorted(set(actions)))}): {message}.", advice, ""]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _fix_scps(failure: ScpFailure, policies: str = "SCP") -> list[str]:
    if policies == "RCP":
        lines = [
            "The resource control policies (RCPs) of AWS Organizations could not be evaluated, and an",
            "RCP may deny what the bucket and key policies allow: check the restore permissions by hand",
            "until RestoreWatch can evaluate them again (it tells you then, LOST or RESTORED).",
        ]
    else:
        lines = [
            "The service control policies of AWS Organizations could not be evaluated, and an SCP may",
            "deny what the identity policies allow: check the restore permissions by hand until",
            "RestoreWatch can evaluate them again (it tells you then, LOST or RESTORED).",
        ]
    if failure is ScpFailure.TRANSIENT:
        return [*lines, "Organizations was throttled or failed: RestoreWatch retries by itself."]
    if failure is ScpFailure.PERMANENT:
        return [
            *lines,
            "Give the watcher's role back its Organizations read access (organizations:DescribeOrganization,",
            "ListRoots, ListParents, ListPoliciesForTarget, DescribePolicy, as template.yaml grants them).",
        ]
    return [*lines, f"Fix the {policies} the error names."]


def _next(t: Transition) -> str:
    who = principal_label(t)
    if t.kind in (AlertKind.LOST, AlertKind.DEGRADED):
        return "RestoreWatch will tell you when it is restored."
    if t.kind is AlertKind.UNKNOWN:
        return (
            "RestoreWatch keeps trying (on every change and at every sweep) and will tell you what it finds."
        )
    if t.kind is AlertKind.RESTORED:
        return "RestoreWatch keeps watching and will tell you if a restore action is lost again."
    if t.kind is AlertKind.UNWATCHED:
        return f"RestoreWatch stops watching {who} for this profile until the tag is back."
    return f"RestoreWatch stops watching {who}; a new principal of that name is watched once tagged."


# -- helpers -----------------------------------------------------------------------------------


def _kind_word(t: Transition) -> str:
    return t.principal_kind.value if t.principal_kind is not None else "principal"


def _was(change: ActionChange) -> str:
    return " (first check)" if change.before is None else f" (was {change.before.value})"


def _by_service(changes: Iterable[ActionChange]) -> list[tuple[str, list[ActionChange]]]:
    groups: dict[str, list[ActionChange]] = defaultdict(list)
    for change in changes:
        groups[change.action.partition(":")[0].lower()].append(change)
    return sorted(groups.items())


def _deny_label(ref: StatementRef | None) -> str:
    if ref is None:  # pragma: no cover - callers pass only reasons with a statement
        return "an unnamed Deny statement"
    label = ref.describe()
    if ref.source.layer is LayerKind.SCP:
        label += " (ask your AWS Organizations administrator)"
    return label


def _statement(actions: list[str]) -> str:
    """The statement that restores ``actions``: Allow them on every resource."""
    return json.dumps({"Sid": FIX_SID, "Effect": "Allow", "Action": actions, "Resource": "*"}, indent=2)


# -- parts the other renderings reuse (Slack, chat), so that every channel says the same ------------


def headline(transition: Transition, *, tag_key: str) -> str:
    """The email's first line: what happened, and to whom."""
    return _headline(transition, tag_key)


def why_lines(transition: Transition) -> list[str]:
    """The email's WHY lines: why each changed action changed (the engine's reasons)."""
    return _why(transition)


def fix_lines(transition: Transition, *, tag_key: str) -> list[str]:
    """The email's HOW TO FIX IT lines (a statement to add, the Deny to change, the tag to set)."""
    return _fix(transition, tag_key)


def next_step(transition: Transition) -> str:
    """What the watcher does next."""
    return _next(transition)
