"""Rollups: ``daily_usage`` kept by ingestion, and the weekly per-unit tables of the dashboards."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from adoption.cli import refresh_rollups_command
from adoption.models import (
    DailyUsage,
    Employee,
    RollupBacklog,
    WeeklyUnitBehaviour,
    WeeklyUnitUsage,
)
from adoption.org import end_membership, move_employee
from adoption.telemetry import api as events_api
from adoption.telemetry.rollups import queue_weeks, refresh_weekly_usage
from adoption.tokens import issue_token
from tests.factories import make_employee, make_unit

MONDAY = dt.date(2024, 5, 6)  # a week of May 2024 that starts on a Monday
SUNDAY = MONDAY + dt.timedelta(days=6)
NORTH, SOUTH = "Acme/EMEA/Sales North", "Acme/EMEA/Sales South"


@pytest.fixture
def token(db):
    """The plaintext of a live events:write token."""
    _, plaintext = issue_token("connector", "events:write", created_by_id=None)
    db.session.commit()
    return plaintext


@pytest.fixture
def clock(monkeypatch):
    """Pin the time of receipt (naive UTC) after every event the tests send."""
    received = dt.datetime(2024, 5, 20, 12, 0)
    monkeypatch.setattr(events_api, "received_now", lambda: received)
    return received


def post_events(client, token, events: list[dict]):
    """POST ``events`` to the events API; returns the JSON answer."""
    response = client.post("/api/v1/events", data=json.dumps({"events": events}),
                           headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def event(n: int, crm_user_id: str, occurred_at: str = "2024-05-07T09:00:00Z", **fields) -> dict:
    """A valid event of ``crm_user_id``."""
    return {"event_id": f"evt-{n}", "occurred_at": occurred_at, "event_type": "record_updated",
            "client": "ui", "crm_user_id": crm_user_id, **fields}


def daily_rows(db) -> list[tuple]:
    """``daily_usage`` as (day, employee_id, event_type, events), sorted."""
    db.session.expire_all()
    return sorted(tuple(row) for row in db.session.execute(
        select(DailyUsage.day, DailyUsage.employee_id, DailyUsage.event_type, DailyUsage.events)))


def usage(employee: Employee, day: dt.date, event_type: str = "login", events: int = 1) -> DailyUsage:
    """A ``daily_usage`` row, as ingestion would have written it."""
    return DailyUsage(day=day, employee_id=employee.id, event_type=event_type, events=events)


def weekly(db) -> dict[tuple[dt.date, int], tuple[int, int, int, int, int]]:
    """``weekly_unit_usage`` keyed by (week_start, unit_id): licensed, active, active_days, events, types."""
    table = WeeklyUnitUsage
    return {(r.week_start, r.unit_id): (r.licensed, r.active, r.active_days, r.events, r.event_types)
            for r in db.session.scalars(select(table))}


def behaviours(db) -> dict[tuple[dt.date, int, str], int]:
    """``weekly_unit_behaviours`` keyed by (week_start, unit_id, event_type)."""
    return {(r.week_start, r.unit_id, r.event_type): r.people
            for r in db.session.scalars(select(WeeklyUnitBehaviour))}


def backlog(db) -> list[dt.date]:
    """The weeks queued as stale."""
    return list(db.session.scalars(select(RollupBacklog.week_start).order_by(RollupBacklog.week_start)))


# --- daily_usage, maintained on ingest ---------------------------------------------------------------

def test_posted_events_are_counted_per_day_employee_and_type(client, db, token, clock):
    ana = make_employee(crm_user_id="005A")
    db.session.commit()
    post_events(client, token, [event(1, "005A"), event(2, "005A"), event(3, "005A", event_type="login"),
                                event(4, "005A", occurred_at="2024-05-08T09:00:00Z")])
    assert daily_rows(db) == [(dt.date(2024, 5, 7), ana.id, "login", 1), (dt.date(2024, 5, 7), ana.id, "record_updated", 2),
                              (dt.date(2024, 5, 8), ana.id, "record_updated", 1)]


def test_later_batches_add_to_the_same_daily_row(client, db, token, clock):
    ana = make_employee(crm_user_id="005A")
    db.session.commit()
    post_events(client, token, [event(1, "005A")])
    post_events(client, token, [event(2, "005A"), event(1, "005A")])  # evt-1 again: a duplicate
    assert daily_rows(db) == [(dt.date(2024, 5, 7), ana.id, "record_updated", 2)]


def test_integration_and_api_traffic_never_reaches_daily_usage(client, db, token, clock):
    make_employee(crm_user_id="005A")
    db.session.commit()
    result = post_events(client, token, [event(1, "005A", client="integration"), event(2, "005A", client="api")])
    assert result["accepted"] == 2
    assert daily_rows(db) == []


def test_unmatched_events_are_stored_but_not_counted(client, db, token, clock):
    make_employee(crm_user_id="005A")
    db.session.commit()
    result = post_events(client, token, [event(1, "005UNKNOWN")])
    assert result["accepted"] == 1
    assert daily_rows(db) == []


def test_the_day_is_the_local_date_in_the_organization_time_zone(app, client, db, token, clock):
    app.config["ORG_TIMEZONE"] = "Europe/Berlin"
    ana = make_employee(crm_user_id="005A")
    db.session.commit()
    post_events(client, token, [event(1, "005A", occurred_at="2024-05-07T23:30:00Z")])
    assert daily_rows(db) == [(dt.date(2024, 5, 8), ana.id, "record_updated", 1)]


def test_ingest_queues_the_week_of_the_local_day(client, db, token, clock):
    make_employee(crm_user_id="005A")
    db.session.commit()
    post_events(client, token, [event(1, "005A", occurred_at="2024-05-12T10:00:00Z")])  # a Sunday
    assert backlog(db) == [MONDAY]


def test_week_start_setting_decides_which_week_is_queued(app, client, db, token, clock):
    app.config["WEEK_START"] = 6  # weeks start on Sunday
    make_employee(crm_user_id="005A")
    db.session.commit()
    post_events(client, token, [event(1, "005A", occurred_at="2024-05-12T10:00:00Z")])  # a Sunday
    assert backlog(db) == [dt.date(2024, 5, 12)]


# --- the weekly tables ----------------------------------------------------------------------------

def small_org(db) -> dict:
    """North: ana (licensed, active 2 days, 2 types), ben (licensed, idle), cy (unlicensed, uses the
    CRM anyway); South: dee (licensed, username only, active 1 day). All in the week of MONDAY."""
    ana = make_employee(NORTH, crm_user_id="005A")
    ben = make_employee(NORTH, crm_user_id="005B")
    cy = make_employee(NORTH)
    dee = make_employee(SOUTH, crm_username="dee@acme.example")
    db.session.add_all([
        usage(ana, MONDAY, "login", 2), usage(ana, MONDAY, "activity_logged", 3),
        usage(ana, MONDAY + dt.timedelta(days=1), "login", 1),
        usage(cy, MONDAY, "login", 5),
        usage(dee, SUNDAY, "activity_logged", 4),
        usage(ana, MONDAY + dt.timedelta(days=7), "login", 1),  # the week after: not this week's
    ])
    queue_weeks([MONDAY])
    db.session.flush()
    return {"ana": ana, "ben": ben, "cy": cy, "dee": dee,
            "north": make_unit(NORTH).id, "south": make_unit(SOUTH).id}


def test_refresh_computes_licensed_active_days_events_and_types_per_unit(db):
    org = small_org(db)
    assert refresh_weekly_usage() == 1
    assert weekly(db) == {
        # licensed ana and ben; active ana: 2 days, 6 events, 2 types (cy is not licensed)
        (MONDAY, org["north"]): (2, 1, 2, 6, 2),
        (MONDAY, org["south"]): (1, 1, 1, 4, 1),
    }


def test_refresh_counts_licensed_people_per_behaviour(db):
    org = small_org(db)
    refresh_weekly_usage()
    assert behaviours(db) == {
        (MONDAY, org["north"], "login"): 1,
        (MONDAY, org["north"], "activity_logged"): 1,
        (MONDAY, org["south"], "activity_logged"): 1,
    }


def test_refresh_empties_the_backlog_and_is_a_no_op_afterwards(db):
    small_org(db)
    refresh_weekly_usage()
    assert backlog(db) == []
    assert refresh_weekly_usage() == 0


def test_refresh_of_given_weeks_replaces_their_rows(db):
    org = small_org(db)
    refresh_weekly_usage()
    db.session.add(usage(org["ben"], MONDAY + dt.timedelta(days=2), "login", 1))
    db.session.flush()
    # Any day of the week names it.
    assert refresh_weekly_usage([MONDAY + dt.timedelta(days=3)]) == 1
    assert weekly(db)[(MONDAY, org["north"])] == (2, 2, 3, 7, 3)
    assert len(weekly(db)) == 2


def test_a_person_who_moves_mid_week_counts_in_the_unit_held_on_the_last_day(app, db):
    ana = make_employee(NORTH, crm_user_id="005A")
    previous = MONDAY - dt.timedelta(days=7)
    db.session.add_all([usage(ana, previous, "login"),
                        usage(ana, MONDAY, "login"), usage(ana, MONDAY + dt.timedelta(days=1), "login")])
    move_employee(ana, make_unit(SOUTH), MONDAY + dt.timedelta(days=3))  # moves on Thursday
    refresh_weekly_usage([MONDAY, previous])
    north, south = make_unit(NORTH).id, make_unit(SOUTH).id
    rows = weekly(db)
    assert rows[(MONDAY, south)] == (1, 1, 2, 2, 1)
    assert (MONDAY, north) not in rows
    assert rows[(previous, north)] == (1, 1, 1, 1, 1)
    assert (previous, south) not in rows


def test_a_person_who_left_before_the_week_ended_is_not_counted(db):
    ana = make_employee(NORTH, crm_user_id="005A")
    make_employee(NORTH, crm_user_id="005B")
    db.session.add(usage(ana, MONDAY, "login"))
    end_membership(ana, MONDAY + dt.timedelta(days=2))
    refresh_weekly_usage([MONDAY])
    assert weekly(db)[(MONDAY, make_unit(NORTH).id)] == (1, 0, 0, 0, 0)


def test_weeks_follow_the_week_start_setting(app, db):
    app.config["WEEK_START"] = 6  # Sunday
    org = small_org(db)
    refresh_weekly_usage([SUNDAY])
    rows = weekly(db)
    # The Sunday week holds only dee's Sunday and ana's next Monday.
    assert rows[(SUNDAY, org["south"])] == (1, 1, 1, 4, 1)
    assert rows[(SUNDAY, org["north"])] == (2, 1, 1, 1, 1)


def test_refresh_rollups_command_refreshes_the_queued_weeks(app, db):
    small_org(db)
    db.session.commit()
    result = app.test_cli_runner().invoke(refresh_rollups_command)
    assert result.exit_code == 0, result.output
    assert "Refreshed 1 week." in result.output
    assert backlog(db) == [] and len(weekly(db)) == 2


def test_refresh_rollups_all_rebuilds_every_week_with_usage(app, db):
    org = small_org(db)
    db.session.add(WeeklyUnitUsage(week_start=dt.date(2020, 1, 1), unit_id=org["north"], licensed=9,
                                   active=9, active_days=9, events=9, event_types=9))
    db.session.commit()
    result = app.test_cli_runner().invoke(refresh_rollups_command, ["--all"])
    assert result.exit_code == 0, result.output
    assert "Refreshed 2 weeks." in result.output
    assert {week for week, _ in weekly(db)} == {MONDAY, MONDAY + dt.timedelta(days=7)}


def test_a_week_without_any_usage_gets_no_rows_rather_than_zero_adoption(db):
    make_employee(NORTH, crm_user_id="005A")
    assert refresh_weekly_usage([MONDAY]) == 1
    assert weekly(db) == {}
