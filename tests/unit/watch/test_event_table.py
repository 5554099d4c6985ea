"""watch.event_table: the one mapping from IAM/Organizations call to what it changes (pure).

docs/events.md is this table as people read it, generated here: a test fails when the two differ,
and ``RESTOREWATCH_UPDATE_DOCS=1 .venv/bin/python -m pytest tests/unit/watch/test_event_table.py``
rewrites it. template.yaml's rules are checked against the table in tests/template/test_template.py.
"""

from __future__ import annotations

import os
import string
from pathlib import Path

import pytest

from restorewatch.domain import TargetKind
from restorewatch.watch.event_table import (
    EVENT_TABLE,
    IAM_EVENTS,
    IAM_SOURCE,
    KMS_SOURCE,
    ORG_EVENTS,
    ORG_SOURCE,
    RESOURCE_EVENTS,
    RESOURCE_SOURCES,
    S3_SOURCE,
    Condition,
    EventRule,
    OrgScope,
    ResourceScope,
)
from restorewatch.watch.targets import KNOWN_EVENT_NAMES, REQUIRED_PARAMETERS

DOC = Path(__file__).resolve().parents[3] / "docs" / "events.md"

_CHANGES: dict[TargetKind | OrgScope | ResourceScope | None, str] = {
    TargetKind.USER: "the user `{key}`",
    TargetKind.ROLE: "the role `{key}`",
    TargetKind.GROUP_MEMBERS: "the tagged members of group `{key}`",
    TargetKind.POLICY_ENTITIES: "the users, group members and roles using `{key}` (attached or as boundary)",
    TargetKind.USER_GONE: "the user `{key}` is gone (DELETED if it was watched)",
    TargetKind.ROLE_GONE: "the role `{key}` is gone (DELETED if it was watched)",
    OrgScope.TARGETS: "the accounts below `{key}`",
    OrgScope.POLICY_TARGETS: "the accounts below every target of `{key}`",
    OrgScope.ALL: "every account",
    ResourceScope.BUCKET: "the watched principals whose bound profile names bucket `{key}`",
    ResourceScope.KEY: "the watched principals whose bound profile names key `{key}` (id, ARN or alias)",
    None: "nothing",
}
_WHEN = {
    Condition.ALWAYS: "",
    Condition.SET_AS_DEFAULT: "only with `setAsDefault`",
    Condition.CREATED_WATCHED: "only with the watch tag",
    Condition.TAGS_WATCHED: "read only if watched, or when the tag added is the watch tag",
    Condition.RENAMED: "only with `newUserName` or `newPath`: the old ARN is gone, the new one is read",
    Condition.NEW_CONTENT: "only with new `content`",
    Condition.SCP_TYPE: "only for `SERVICE_CONTROL_POLICY` and `RESOURCE_CONTROL_POLICY`",
}


def _row(rule: EventRule) -> str:
    changes = _CHANGES[rule.changes].format(key=rule.key)
    notes = [note for note in (_WHEN[rule.when],) if note]
    if rule.changes is None:
        notes.append(_reason_text(rule))
    elif rule.changes in (TargetKind.USER_GONE, TargetKind.ROLE_GONE):
        notes.append("no IAM read: the state knows whether it was watched")
    elif rule.source == IAM_SOURCE and rule.watched_only and rule.when is Condition.ALWAYS:
        notes.append("costs no IAM read unless the principal is watched")
    if not rule.in_rule:
        notes.append("a service-originated record: no rule of the template sends it")
    if rule.note:
        notes.append(rule.note)
    carries = ", ".join(f"`{name}`" for name in rule.parameters) or "-"
    return f"| `{rule.name}` | {changes} | {carries} | {'; '.join(notes)} |"


def _reason_text(rule: EventRule) -> str:
    return rule.reason.format_map({"event": rule.name}).removeprefix(f"{rule.name}: ")


def render_events_doc() -> str:
    lines = [
        "# The events the watcher acts on",
        "",
        "Generated from the event table, `restorewatch.watch.event_table`, the one place this is kept:",
        "the planners read it, template.yaml's rules list its names (tests/template/test_template.py), and",
        "`RESTOREWATCH_UPDATE_DOCS=1 .venv/bin/python -m pytest tests/unit/watch/test_event_table.py`",
        "rewrites this page (a test fails when it is out of date).",
        "",
        "A call that failed (`errorCode`) or is read-only (`readOnly: true`) changes nothing. A call",
        "without a parameter it must carry is re-checked by a sweep of its account (IAM) or of every",
        "account (Organizations), or re-checks every principal bound to a bucket (S3) or key (KMS);",
        "so is a call the table does not know.",
        "",
        "S3 and KMS calls are regional: CloudTrail records them in the Region of the bucket or key,",
        "and EventBridge delivers them on that Region's default bus. The central rule",
        "(`ResourcePolicyChangeRule`) hears its own Region's; a repository in another Region needs",
        "the regional forwarder there ([regional-events.md](regional-events.md)).",
    ]
    sections: dict[tuple[str, str], list[EventRule]] = {}
    for rule in EVENT_TABLE:
        sections.setdefault((rule.source, rule.section), []).append(rule)
    for (source, section), rules in sections.items():
        service = {IAM_SOURCE: "IAM", ORG_SOURCE: "AWS Organizations", S3_SOURCE: "S3", KMS_SOURCE: "KMS"}[
            source
        ]
        lines += [
            "",
            f"## {service}: {section}",
            "",
            "| Event | Re-checks | Must carry | Notes |",
            "| --- | --- | --- | --- |",
            *(_row(rule) for rule in rules),
        ]
    return "\n".join(lines) + "\n"


def test_docs_event_list_is_generated_from_the_table() -> None:
    expected = render_events_doc()
    if os.environ.get("RESTOREWATCH_UPDATE_DOCS"):
        DOC.write_text(expected, encoding="utf-8")
    assert DOC.read_text(encoding="utf-8") == expected, "docs/events.md is out of date (see this module)"


def test_names_are_unique_per_source() -> None:
    for source in (IAM_SOURCE, ORG_SOURCE, *RESOURCE_SOURCES):
        names = [rule.name for rule in EVENT_TABLE if rule.source == source]
        assert len(names) == len(set(names)), source
    assert len(IAM_EVENTS) + len(ORG_EVENTS) + len(RESOURCE_EVENTS) == len(EVENT_TABLE)


@pytest.mark.parametrize("rule", EVENT_TABLE, ids=lambda rule: f"{rule.source.split('.')[0]}-{rule.name}")
def test_each_row_is_whole(rule: EventRule) -> None:
    """A row that changes something names its key; its reason reads only what the call must carry
    (so a call that reaches the reason can always be described); IAM rows name targets,
    Organizations rows scopes."""
    if rule.changes is not None and rule.changes is not OrgScope.ALL:
        assert rule.key is not None
    expected = {IAM_SOURCE: TargetKind, ORG_SOURCE: OrgScope}.get(rule.source, ResourceScope)
    assert rule.changes is None or isinstance(rule.changes, expected)
    fields = {name for _, name, _, _ in string.Formatter().parse(rule.reason) if name}
    assert fields <= {"event", "tag_key", *rule.parameters}
    assert rule.reason.format_map(dict.fromkeys([*rule.parameters, "event", "tag_key"], "x"))


def test_missing_names_the_first_absent_or_empty_parameter() -> None:
    rule = IAM_EVENTS["AddUserToGroup"]
    assert rule.missing({"userName": "u", "groupName": "g"}) is None
    assert rule.missing({"groupName": "g"}) == "userName"
    assert rule.missing({"userName": "u", "groupName": ""}) == "groupName"
    assert rule.missing({"userName": 7, "groupName": "g"}) == "userName"


def test_planner_constants_are_the_tables() -> None:
    assert set(IAM_EVENTS) == KNOWN_EVENT_NAMES
    assert {name: rule.parameters for name, rule in IAM_EVENTS.items()} == dict(REQUIRED_PARAMETERS)
