"""state.model and the item mapping of state.store, without AWS."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from restorewatch.state import AlertKind, LastAlert, PendingAlert, Presence, alert_id_for
from restorewatch.state.model import format_time, parse_time
from restorewatch.state.store import item_from_state, state_from_item
from unit.alerts.builders import PROFILE, ROLE_ARN, T0, check, lost, stored, unreadable


def test_alert_id_deterministic_for_same_revision() -> None:
    assert alert_id_for(ROLE_ARN, PROFILE, 3, T0) == alert_id_for(ROLE_ARN, PROFILE, 3, T0)


@pytest.mark.parametrize(
    ("principal", "profile", "revision", "observed_at"),
    [
        ("arn:aws:iam::123456789012:role/Other", PROFILE, 3, T0),
        (ROLE_ARN, "other", 3, T0),
        (ROLE_ARN, PROFILE, 4, T0),
        (ROLE_ARN, PROFILE, 3, T0 + timedelta(microseconds=1)),  # a recreated table restarts revisions
    ],
)
def test_alert_id_differs_when_any_input_differs(
    principal: str, profile: str, revision: int, observed_at: datetime
) -> None:
    assert alert_id_for(principal, profile, revision, observed_at) != alert_id_for(ROLE_ARN, PROFILE, 3, T0)


def test_format_time_fixed_width_utc_sorts_as_text() -> None:
    early = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    late_other_zone = datetime(2026, 1, 2, 5, 4, 5, 1, tzinfo=timezone(timedelta(hours=2)))
    assert format_time(early) == "2026-01-02T03:04:05.000000Z"
    assert format_time(early) < format_time(late_other_zone)
    assert parse_time(format_time(late_other_zone)) == late_other_zone


def test_format_time_naive_rejected() -> None:
    with pytest.raises(ValueError, match="naive"):
        format_time(datetime(2026, 1, 1))


def test_item_round_trip_every_shape() -> None:
    pending = PendingAlert(
        alert_id="rw-x",
        kind=AlertKind.UNKNOWN,
        subject="subject",
        message="{}",
        attributes={"kind": "UNKNOWN"},
        created_at=T0,
        lease_until=T0,
        attempts=2,
    )
    shapes = [
        stored(check()),
        stored(lost("s3:GetObject"), last_alert=AlertKind.LOST),
        replace(stored(unreadable()), pending_alert=pending),
        replace(
            stored(check(), presence=Presence.DELETED),
            last_alert=LastAlert("rw-y", AlertKind.DELETED, T0, delivered_at=T0, message_id="m"),
            kind=None,
        ),
    ]
    for state in shapes:
        assert state_from_item(item_from_state(state)) == state
