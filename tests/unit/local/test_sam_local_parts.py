"""The pieces of ``make sam-local`` that need no Docker: the base image's recipe and cache key, the
SNS event the Slack function is fed, and how SAM's output is read. The run itself is
tests/e2e/test_sam_local.py."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from restorewatch.alerts.slack import render_slack_message
from restorewatch.errors import InputError
from restorewatch_cli import sam_local
from restorewatch_cli.local import lambda_image
from restorewatch_cli.local.lambda_image import LambdaImage, emulation_problem, image_available, recipe_key
from restorewatch_cli.sam_local import (
    SNS_SAMPLE,
    SamLocalError,
    SamLocalOutcome,
    SamLocalSettings,
    _function_result,
    sns_event_for,
)
from support.template import REPO_ROOT

if TYPE_CHECKING:
    from typing import Any


def test_image_key_is_stable_and_depends_on_recipe_and_architecture() -> None:
    arm, x86 = LambdaImage("arm64"), LambdaImage("x86_64")
    assert arm.key == LambdaImage("arm64").key
    assert arm.key != x86.key
    assert arm.tag == f"restorewatch-lambda-python3.13:arm64-{arm.key}"
    assert (arm.docker_platform, x86.docker_platform) == ("linux/arm64", "linux/amd64")
    # the key is the recipe: the module's source (packages, versions, bootstrap, Dockerfile)
    source = Path(lambda_image.__file__).read_bytes()
    assert arm.key == recipe_key(source, "arm64")
    assert recipe_key(source.replace(b"awslambdaric==", b"awslambdaric>="), "arm64") != arm.key


def test_unknown_architecture_is_rejected() -> None:
    with pytest.raises(InputError, match="armv7"):
        LambdaImage("armv7")


def test_bootstrap_searches_function_then_layers_then_runtime() -> None:
    """Lambda's search path: function code, layers, then the runtime's own packages
    (https://docs.aws.amazon.com/lambda/latest/dg/python-package.html#python-package-searchpath)."""
    (line,) = [line for line in lambda_image.BOOTSTRAP.splitlines() if "PYTHONPATH=" in line]
    path = line.split('"')[1].split(":")
    assert path == ["/var/task", "/opt/python/lib/python3.13/site-packages", "/opt/python", "/var/runtime"]
    assert 'exec /usr/bin/python3.13 -m awslambdaric "$_HANDLER"' in lambda_image.BOOTSTRAP
    assert lambda_image.DOCKERFILE.startswith("FROM scratch\nADD rootfs.tar /\n")
    assert all("==" in requirement for requirement in lambda_image.RUNTIME_REQUIREMENTS)


def test_no_emulation_needed_for_this_machines_architecture() -> None:
    native = "arm64" if platform.machine().lower() in ("aarch64", "arm64") else "x86_64"
    assert emulation_problem(LambdaImage(native)) is None


def test_cached_root_filesystem_counts_as_available(tmp_path: Path) -> None:
    image = LambdaImage("arm64")
    tarball = image.cache_dir(tmp_path) / "rootfs.tar"
    tarball.parent.mkdir(parents=True)
    tarball.write_bytes(b"")
    assert image_available(image, tmp_path)


def test_missing_tools_are_named(tmp_path: Path) -> None:
    settings = SamLocalSettings(root=REPO_ROOT, sam=str(tmp_path / "sam"), python=str(tmp_path / "py"))
    problems = " ".join(settings.problems())
    assert "SAM CLI" in problems
    assert "Python 3.13" in problems


def test_sns_sample_is_a_lost_alert_the_slack_function_renders() -> None:
    """``sam local invoke SlackFunction -e events/slack/sns-alert.json`` by hand: a real alert."""
    event = json.loads((REPO_ROOT / SNS_SAMPLE).read_text())
    (record,) = event["Records"]
    assert record["EventSource"] == "aws:sns"
    document = json.loads(record["Sns"]["Message"])
    assert document["kind"] == "LOST"
    assert record["Sns"]["MessageAttributes"]["kind"]["Value"] == "LOST"
    assert render_slack_message(record["Sns"]["Message"])["blocks"]


def test_sns_event_for_carries_the_notification_that_arrived() -> None:
    notification: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": "m-1",
        "TopicArn": "arn:aws:sns:us-east-1:111122223333:restorewatch-local-AlertTopic",
        "Subject": "RestoreWatch LOST",
        "Message": '{"kind": "LOST", "alert_id": "rw-1"}',
        "Timestamp": "2026-01-01T00:00:00.000Z",
        "MessageAttributes": {"kind": {"Type": "String", "Value": "LOST"}},
    }
    (record,) = sns_event_for(notification, REPO_ROOT)["Records"]
    for key, value in notification.items():
        assert record["Sns"][key] == value
    assert record["EventSubscriptionArn"].startswith(notification["TopicArn"] + ":")


@pytest.mark.parametrize(
    ("stdout", "expected"),
    [
        ('{"alerts": ["rw-1"]}\n', {"alerts": ["rw-1"]}),
        ('noise\n{"errorType": "X"}\n\n', {"errorType": "X"}),
        ("no response\n", None),
        ("", None),
    ],
)
def test_function_result_is_the_last_json_line(stdout: str, expected: Any) -> None:
    assert _function_result(stdout) == expected


@pytest.mark.parametrize(
    ("outcome", "code"),
    [
        (SamLocalOutcome(), 1),  # no alert arrived
        (SamLocalOutcome(alerts=[{"kind": "LOST"}]), 1),  # nothing reached Slack
        (SamLocalOutcome(alerts=[{"kind": "LOST"}], slack_posts=[{"text": "x"}]), 0),
    ],
)
def test_make_sam_local_exits_non_zero_unless_the_alert_arrives(
    monkeypatch: pytest.MonkeyPatch, outcome: SamLocalOutcome, code: int
) -> None:
    monkeypatch.setattr(os, "environ", dict(os.environ))  # main() sets moto's fixed credentials
    monkeypatch.setattr(sam_local, "run", lambda settings: outcome)
    assert sam_local.main(["--root", str(REPO_ROOT)]) == code


def test_make_sam_local_reports_a_failed_step_and_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(settings: SamLocalSettings) -> SamLocalOutcome:
        raise SamLocalError("sam local invoke WatcherFunction failed (exit 0)")

    monkeypatch.setattr(os, "environ", dict(os.environ))
    monkeypatch.setattr(sam_local, "run", fail)
    assert sam_local.main(["--root", str(REPO_ROOT)]) == 1
    assert "WatcherFunction failed" in capsys.readouterr().err
