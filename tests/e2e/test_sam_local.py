"""The real ``sam local invoke`` of what ``sam build`` built, in Docker, against moto's server.

What ``restorewatch local invoke`` cannot show, this does: the layer's contents and its arm64
wheels as ``sam build`` packs them, the handler paths, the environment the template gives each
function (through ``--env-vars``, the file ``restorewatch local up`` writes) and the network path
from the container to an endpoint. The watcher runs the DetachRolePolicy sample in an arm64
container (under QEMU on x86_64), its LOST alert arrives on the topic, and the Slack function, fed
the SNS notification that arrived, posts it to the Slack stand-in. It is ``make sam-local``'s path
(``restorewatch_cli.sam_local``); https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-cli-command-reference-sam-local-invoke.html

It needs Docker's engine, QEMU's binfmt registration for arm64, the SAM CLI (``SAM_CLI``) and a
Python 3.13 (``SAM_PYTHON``); ``make pytest`` passes both. CI (``.ci/run``) starts what it needs and
sets ``REQUIRE_DOCKER=1``: there a missing piece fails the test. Elsewhere it is skipped, with the
reason. Budget (2 cores): about 3 minutes with the base image cached, 4 without (README).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from restorewatch.profiles import ProfileRegistry
from restorewatch_cli.sam_local import SamLocalSettings, run
from support.layer import cli_only_paths
from support.template import REPO_ROOT

if TYPE_CHECKING:
    from restorewatch_cli.sam_local import SamLocalOutcome

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROLE_ARN = "arn:aws:iam::111122223333:role/VeeamRestoreRole"


@pytest.fixture(scope="module")
def outcome() -> SamLocalOutcome:
    settings = SamLocalSettings.from_environment(REPO_ROOT)
    problems = settings.problems()
    if problems:
        reason = "real `sam local invoke` cannot run here: " + "; ".join(problems)
        if os.environ.get("REQUIRE_DOCKER") == "1":
            pytest.fail(f"REQUIRE_DOCKER=1 but {reason}")
        pytest.skip(f"{reason} (CI sets REQUIRE_DOCKER=1 and fails instead; see README)")
    return run(settings)


def test_watcher_in_container_publishes_lost_alert(outcome: SamLocalOutcome) -> None:
    (alert,) = outcome.alerts
    assert (alert["kind"], alert["principal"]["arn"]) == ("LOST", ROLE_ARN)
    assert alert["trigger"]["eventName"] == "DetachRolePolicy"
    lost = {change["action"] for change in alert["changed_actions"] if change["status"] == "denied"}
    assert lost == set(ProfileRegistry.default().get("veeam-ec2-restore").actions)
    # the built handler's own response names the alert it published
    assert outcome.watcher_result == {"alerts": [alert["alert_id"]]}


def test_slack_function_in_container_posts_the_alert(outcome: SamLocalOutcome) -> None:
    (alert,) = outcome.alerts
    assert outcome.slack_result == {"posted": [alert["alert_id"]]}
    (posted,) = outcome.slack_posts
    assert posted["blocks"]
    assert "VeeamRestoreRole" in posted["text"]
    assert alert["alert_id"] in str(posted["blocks"])
    assert outcome.delivered


def test_built_layer_holds_no_cli_only_module(outcome: SamLocalOutcome) -> None:
    """The layer ``sam build`` packed, the one the functions above ran with, ships the package and
    no command line, demo or local runner (tests/unit/test_layer_contents.py checks its source)."""
    build_dir = SamLocalSettings.from_environment(REPO_ROOT).build_dir
    package = build_dir / "RestoreWatchLayer" / "python" / "restorewatch"
    assert (package / "watch" / "events.py").is_file()
    assert cli_only_paths(package) == []
    assert not (package.parent / "restorewatch_cli").exists()
