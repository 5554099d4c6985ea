"""The watcher refuses a profile folder naming an action AWS does not have (issue 14, point 4).

Evaluation spec, "The action catalog", rule 3: an unknown required action is an input error where the
profile is loaded, naming the action, the closest known names and the catalog's date
(https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
A silently accepted typo would read as "denied" forever.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from integration.conftest import fresh_event, sqs_batch
from restorewatch.catalog import default_catalog

if TYPE_CHECKING:
    from integration.conftest import Handler

pytestmark = pytest.mark.slow  # the handler on moto with every profile folder

TYPO_FOLDER = Path(__file__).resolve().parents[1] / "fixtures" / "profiles-unknown-action"


@pytest.mark.parametrize("handler_env", [{"PROFILE_PATHS": str(TYPO_FOLDER)}], indirect=True)
def test_watcher_profile_folder_with_an_unknown_action_fails_every_record_loudly(
    handler: Handler, caplog: pytest.LogCaptureFixture
) -> None:
    event = fresh_event("iam-PutUserPolicy")
    result = handler(sqs_batch(event))

    # nothing is checked against a profile the watcher cannot trust: the record goes back to the
    # queue (and to the dead-letter queue after its retries), never to a silent all-clear
    assert len(result["batchItemFailures"]) == 1
    assert result["alerts"] == []
    (record,) = [record for record in caplog.records if "s3:HeadBucket" in record.getMessage()]
    message = record.getMessage()
    assert record.levelname == "WARNING"
    assert "s3-repository-typo.json" in message
    assert "unknown action 's3:HeadBucket'" in message
    assert "closest: s3:" in message
    assert default_catalog().catalog_version().date in message
