"""state.model and the item mapping of state.store, without AWS."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from restorewatch.domain import AlertKind
from restorewatch.state import LastAlert, Observation, Order, PendingAlert, Presence, alert_id_for
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
        replace(stored(check()), scps_evaluated=True, read_from=T0 - timedelta(minutes=3)),
    ]
    for state in shapes:
        assert state_from_item(item_from_state(state)) == state


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_observation_of_a_change_run_orders_by_its_read() -> None:
    """A change run reads everything about its principals after ``observed_at``: one time."""
    assert Observation(at(2)).order(Observation(at(1))) is Order.NEWER
    assert Observation(at(1)).order(Observation(at(2))) is Order.OLDER
    assert Observation(at(1)).order(Observation(at(1))) is Order.NEWER  # a retry of the same read


def test_observation_of_a_sweep_page_against_a_change_run() -> None:
    """A sweep that listed the policies at 0 and read the page at 5, against a change run that read
    at 3: each saw something the other did not (the change run: a policy changed between 0 and 3;
    the sweep: the principal changed between 3 and 5). Against a change run at -1 the sweep saw all
    it saw; against one at 6, nothing the sweep saw is missing."""
    page = Observation(at(5), read_from=at(0))
    assert page.since == at(0)
    assert page.order(Observation(at(3))) is Order.OVERLAPPING
    assert Observation(at(3)).order(page) is Order.OVERLAPPING
    assert page.order(Observation(at(-1))) is Order.NEWER
    assert Observation(at(-1)).order(page) is Order.OLDER
    assert Observation(at(6)).order(page) is Order.NEWER
    assert page.order(Observation(at(6))) is Order.OLDER


def test_observation_of_two_sweeps() -> None:
    """A later page of the same sweep is newer; a sweep begun later that read the page earlier
    overlaps."""
    assert Observation(at(5), at(0)).order(Observation(at(2), at(0))) is Order.NEWER
    assert Observation(at(5), at(0)).order(Observation(at(4), at(1))) is Order.OVERLAPPING


def test_stored_state_observation_defaults_read_from_to_observed_at() -> None:
    assert stored(check()).observation == Observation(T0)
    assert stored(check()).observation.since == T0
