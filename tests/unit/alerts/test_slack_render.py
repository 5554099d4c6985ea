"""The Slack Block Kit message and the Amazon Q Developer custom notification of every alert kind.

Slack escaping: https://api.slack.com/reference/surfaces/formatting#escaping (``&``, ``<``, ``>`` are
control characters: ``<!channel>`` mentions, ``<http://x|y>`` links). Block Kit limits:
https://api.slack.com/reference/block-kit/blocks (header 150, section text 3000, field 2000, 50 blocks).
Custom notifications: https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html
(``version`` "1.0", ``source`` "custom", ``content.textType`` "client-markdown").
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from restorewatch.alerts import render_alert, render_slack
from restorewatch.alerts.slack import HEADER_MAX, MAX_BLOCKS, SECTION_MAX, clip, code, escape, slack_as_text
from restorewatch.domain import AlertKind
from restorewatch.profiles import DEFAULT_TAG_KEY
from unit.alerts.builders import T0
from unit.alerts.test_alert_email import ALERT_ID, cases

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "alerts"
HOSTILE = ("<!channel>", "*bold*", "<http://evil.example|click me>", "_it_ ~st~ `code` &amp;")


def document(kind: AlertKind, **changes: Any) -> dict[str, Any]:
    transition, trigger = cases()[kind]
    if changes:
        transition = replace(transition, **changes)
    rendered = render_alert(
        transition, alert_id=ALERT_ID, trigger=trigger, observed_at=T0, tag_key=DEFAULT_TAG_KEY
    )
    result: dict[str, Any] = json.loads(json.loads(rendered.message)["default"])
    return result


def texts(payload: dict[str, Any]) -> list[str]:
    """Every text Slack would parse: the fallback and each text object, wherever it sits."""
    found = [payload["text"]]

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("type") in ("plain_text", "mrkdwn"):
                found.append(value["text"])
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(payload["blocks"])
    return found


def mrkdwn_texts(payload: dict[str, Any]) -> list[str]:
    found = [payload["text"]]
    for block in payload["blocks"]:
        objects = [block.get("text"), *block.get("fields", []), *block.get("elements", [])]
        found += [o["text"] for o in objects if isinstance(o, dict) and o.get("type") == "mrkdwn"]
    return found


@pytest.mark.parametrize("kind", list(AlertKind), ids=lambda kind: kind.value)
def test_slack_payload_has_header_kind_principal_trigger_and_footer(kind: AlertKind) -> None:
    payload = render_slack(document(kind))
    blocks = payload["blocks"]
    assert blocks[0]["type"] == "header"
    # the same title for every alert about this principal and profile: one story
    assert blocks[0]["text"]["text"] == "RestoreWatch: role VeeamRestore (veeam-ec2-restore)"
    assert f"*{kind.value}*" in blocks[1]["text"]["text"]
    assert "`VeeamRestore`" in blocks[1]["fields"][0]["text"]
    assert kind.value in payload["text"]
    assert "`VeeamRestore`" in payload["text"]
    button = next(b for b in blocks if b["type"] == "actions")["elements"][0]
    assert button["url"] == "https://console.aws.amazon.com/iam/home#/roles/details/VeeamRestore"
    assert ALERT_ID in blocks[-1]["elements"][0]["text"]
    assert len(blocks) <= MAX_BLOCKS
    json.dumps(payload)


def test_slack_lost_groups_actions_by_service_with_reasons_change_and_fix() -> None:
    payload = render_slack(document(AlertKind.LOST))
    text = slack_as_text(payload)
    sections = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    lost = next(text for text in sections if "Lost (now denied)" in text)
    assert "• `ec2`: `RunInstances`, `CreateVolume`, `AttachVolume`" in lost
    assert "• `s3`: `GetObject`" in lost
    assert "denied by Deny statement 'DenyEc2' of inline policy NoEc2Writes" in text
    assert "`alice (assumed role Admin, arn:aws:sts::123456789012:assumed-role/Admin/alice)`" in text
    assert "`DetachRolePolicy`" in text
    assert "`203.0.113.7`" in text
    assert "policyArn: VeeamRestorePolicy (arn:aws:iam::123456789012:policy/VeeamRestorePolicy)" in text
    fix = next(text for text in sections if "How to fix it" in text)
    assert fix.count("```") == 2
    assert '"Sid": "RestoreWatchRestore"' in fix
    assert "RestoreWatch will tell you when it is restored." in text


def test_slack_sweep_alert_says_found_by_sweep() -> None:
    text = slack_as_text(render_slack(document(AlertKind.UNKNOWN)))
    assert "*Found by the scheduled sweep*" in text
    assert "ThrottlingException" in text


@pytest.mark.parametrize("hostile", HOSTILE)
def test_slack_hostile_principal_name_cannot_mention_link_or_format(hostile: str) -> None:
    payload = render_slack(document(AlertKind.LOST, name=f"x{hostile}y"))
    for text in texts(payload):
        # no raw control character is left from the name: every < > & Slack sees is ours
        assert "<!channel>" not in text
        assert "<http://evil" not in text
        assert re.search(r"&(?!amp;|lt;|gt;)", text) is None, text
    for text in mrkdwn_texts(payload):
        # in mrkdwn, the name is only ever inside inline code or a code block (no formatting there)
        outside = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
        for match in re.finditer(re.escape(escape(f"x{hostile}y").replace("`", "ˋ")), outside):
            assert outside[match.start() - 1] == "`", outside
            assert outside[match.end()] == "`", outside
    assert "&lt;!channel&gt;" in json.dumps(payload) or "<!channel>" not in hostile


def test_slack_hostile_request_parameters_and_reasons_are_escaped() -> None:
    transition, trigger = cases()[AlertKind.LOST]
    trigger = replace(trigger, request_parameters={"roleName": "<!here> *x* <http://a|b>"})  # type: ignore[type-var]
    rendered = render_alert(
        transition, alert_id=ALERT_ID, trigger=trigger, observed_at=T0, tag_key=DEFAULT_TAG_KEY
    )
    payload = render_slack(json.loads(json.loads(rendered.message)["default"]))
    dumped = json.dumps(payload)
    assert "<!here>" not in dumped
    assert "<http://a|b>" not in dumped
    assert "&lt;!here&gt; *x* &lt;http://a|b&gt;" in dumped  # in a plain_text element: no formatting


def test_slack_very_long_name_is_clipped_within_block_kit_limits() -> None:
    name = "veeam-" + "ü" * 5000 + "-restore"
    payload = render_slack(document(AlertKind.LOST, name=name))
    header = payload["blocks"][0]["text"]["text"]
    assert len(header) <= HEADER_MAX
    assert header.endswith("…")
    for block in payload["blocks"]:
        if block.get("text"):
            assert len(block["text"]["text"]) <= SECTION_MAX
        assert all(len(field["text"]) <= 2000 for field in block.get("fields", []))
    assert "ü" in header  # Unicode is kept, not transliterated


def test_slack_unicode_names_are_kept() -> None:
    payload = render_slack(document(AlertKind.RESTORED, name="sauvegarde-été-日本"))
    assert "sauvegarde-été-日本" in payload["blocks"][0]["text"]["text"]
    assert "`sauvegarde-été-日本`" in payload["text"]


def test_clip_never_cuts_an_entity_in_two() -> None:
    assert clip("ab&amp;cd", 5) == "ab…"
    assert clip("abc&lt;", 7) == "abc&lt;"
    assert code("a`b<c") == "`aˋb&lt;c`"  # a backtick cannot close the code span early
    assert len(code("x" * 500, 10)) == 12


def test_slack_alarm_message_from_the_shared_topic_is_rendered() -> None:
    alarm = {"AlarmName": "rw-<!channel>", "NewStateValue": "ALARM", "NewStateReason": "1 > 0"}
    payload = render_slack(alarm)
    assert "&lt;!channel&gt;" in payload["blocks"][0]["text"]["text"]
    assert "1 &gt; 0" in payload["blocks"][-1]["elements"][0]["text"]


@pytest.mark.parametrize("kind", list(AlertKind), ids=lambda kind: kind.value)
def test_document_is_a_valid_chat_custom_notification(kind: AlertKind) -> None:
    doc = document(kind)
    assert (doc["version"], doc["source"]) == ("1.0", "custom")
    content = doc["content"]
    assert content["textType"] == "client-markdown"
    assert kind.value in content["title"]
    assert "VeeamRestore" in content["title"]
    assert "`VeeamRestore`" in content["description"]
    assert all(isinstance(step, str) for step in content["nextSteps"])
    assert doc["metadata"]["threadId"] == document(AlertKind.RESTORED)["metadata"]["threadId"]
    assert doc["metadata"]["eventType"] == kind.value
    # the schema's own fields and the email body are still there
    assert doc["schema"] == "restorewatch.alert"
    assert doc["kind"] == kind.value
    assert doc["text"].startswith(f"{kind.value}: ")


def test_chat_notification_escapes_hostile_names() -> None:
    content = document(AlertKind.LOST, name="<!channel>")["content"]
    assert "<!channel>" not in content["title"] + content["description"]


@pytest.mark.parametrize("kind", list(AlertKind), ids=lambda kind: kind.value)
def test_sample_alert_per_kind_matches(kind: AlertKind) -> None:
    """tests/fixtures/alerts/<kind>.json: the SNS ``default`` document, the email and the Slack
    payload of each kind, for readers and consumers. Regenerate with RESTOREWATCH_UPDATE_GOLDEN=1."""
    doc = document(kind)
    sample = {"default": doc, "email": doc["text"], "slack": render_slack(doc)}
    path = SAMPLES / f"{kind.value.lower()}.json"
    text = json.dumps(sample, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("RESTOREWATCH_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(text)


def test_render_slack_message_plain_sentence_posted_as_escaped_plain_text() -> None:
    """The stack's tamper rule publishes a plain sentence, not a JSON document: it must reach Slack
    as plain text (no mention, link or formatting can be injected), not fail into the DLQ."""
    from restorewatch.alerts.slack import render_slack_message

    payload = render_slack_message("DeleteTable on restorewatch-StateTable by <!channel> *x* <http://e|y>")
    (block,) = payload["blocks"]
    assert block["text"]["type"] == "plain_text"
    assert "&lt;!channel&gt;" in block["text"]["text"]
    assert "<!channel>" not in payload["text"]
    assert payload["text"].startswith("RestoreWatch notice: DeleteTable on restorewatch-StateTable")


def test_render_slack_message_json_document_uses_the_alert_renderer() -> None:
    from restorewatch.alerts.slack import render_slack, render_slack_message

    document = {"AlarmName": "restorewatch-WatcherErrors", "NewStateValue": "ALARM"}
    assert render_slack_message(json.dumps(document)) == render_slack(document)
