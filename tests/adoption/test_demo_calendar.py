"""The demo's calendar: its dates follow the load day by whole weeks, and loaded on the reference
day the demo is the data it always gave. Loads on other days, through ``flask demo --as-of``, and
the determinism of one day's load are tested in tests/dashboards/demo_load_days.py and the
three modules that import its checks.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from adoption import demo_calendar, timekeeping
from adoption.demo_calendar import REFERENCE, DemoCalendar, calendar_for, last_sunday_before
from adoption.demo_telemetry import day_factor
from adoption.extensions import db as _db
from adoption.models import SponsorActivity
from tests.conftest import demo_loaded

SEED = 7
EARLY_IN_A_QUARTER = dt.date(2027, 1, 4)


# --- the calendar -------------------------------------------------------------------------------


def test_the_reference_day_and_every_day_of_its_week_move_nothing():
    for offset in range(7):  # Monday 23 to Sunday 29 November 2026
        calendar = DemoCalendar(dt.date(2026, 11, 23) + dt.timedelta(days=offset))
        assert calendar.shift == dt.timedelta(0)
        assert (calendar.usage_end, calendar.today) == (dt.date(2026, 11, 22), dt.date(2026, 11, 23))
    assert REFERENCE.day(dt.date(2026, 6, 1)) == dt.date(2026, 6, 1)


@pytest.mark.parametrize("loaded_on", [dt.date(2026, 11, 30), dt.date(2027, 1, 4), dt.date(2027, 4, 2),
                                       dt.date(2027, 6, 13), dt.date(2026, 2, 11)])
def test_other_days_move_every_date_by_whole_weeks_ending_usage_the_sunday_before(loaded_on):
    calendar = DemoCalendar(loaded_on)
    assert calendar.shift.days % 7 == 0
    assert calendar.usage_end.weekday() == 6 and 1 <= (loaded_on - calendar.usage_end).days <= 7
    reference = dt.date(2026, 6, 1)  # a Monday
    assert calendar.day(reference).weekday() == reference.weekday()
    assert calendar.moment(dt.datetime(2026, 11, 23, 6)) == dt.datetime.combine(calendar.today, dt.time(6))


def test_a_sunday_ends_usage_a_week_before():
    assert last_sunday_before(dt.date(2027, 6, 13)) == dt.date(2027, 6, 6)


def test_without_a_day_the_demo_is_built_for_the_organizations_today(monkeypatch):
    # The suite pins the demo's default day (tests/conftest.py); here the real clock is back.
    monkeypatch.setattr(demo_calendar, "org_today", timekeeping.org_today)
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):  # UTC+14 and UTC-11: a day apart
        assert calendar_for(None, zone).loaded_on == timekeeping.org_today(zone)
    assert calendar_for(dt.date(2027, 1, 4), "UTC").loaded_on == dt.date(2027, 1, 4)


def test_holidays_in_the_usage_are_those_of_the_shifted_dates():
    # Independence Day observed: Friday 3 July 2026 (the 4th a Saturday), Monday 5 July 2027.
    assert day_factor(dt.date(2026, 7, 3), "North America") < 0.2
    assert day_factor(dt.date(2027, 7, 5), "North America") < 0.2
    assert day_factor(dt.date(2027, 7, 2), "North America") == 1.0
    assert day_factor(dt.date(2026, 12, 28), "EMEA") < 0.2 and day_factor(dt.date(2027, 8, 10), "EMEA") < 1.0


# --- the reference day --------------------------------------------------------------------------

#: The summary of the demo as it was before its dates followed the load day (all but the new
#: "Built for" line): loaded on the reference day it must be the same data. Two changes since, on
#: purpose: the demo employee completes the October module and leaves the summer one stalled, so
#: that a follow-up of hers is open (2 check attempts and 31 planted events fewer); the pulse's
#: rounds open on the 8th, not the 1st, so one is open on any load day (6 responses fewer in the
#: round still open). One addition: the records the company's learning system sent (xAPI), one
#: learner's under a personal address the admin mapped.
REFERENCE_SUMMARY = """\
  602 active employees (12 leavers kept for history) in 40 teams across 4 regions; 427 hold a CRM licence.
  Roster history: 2025-07-01 and 2026-03-02 (24 people moved team in between).
  Initiative "CRM: One view of the customer": 470 licensed seats, target 80% adoption.
  CRM usage: 45882 events over 6 months (2026-05-25 to 2026-11-22); 3523 from integrations, 3040 from 5 actors \
not on the roster; 34279 daily rollup rows.
  Pulse survey "Monthly pulse": 6 monthly rounds (2026-06-08 to 2026-12-05), 2407 responses; the demo employee \
can answer the open round. Leaders replied to 122 comments (66 answered back by their anonymous authors, 30 closed \
by them); 4 action plans.
  Training: 4 starter modules in 13 assignments; 1205 enrollments, 1105 completed, 1447 check attempts, 1117 \
commitments, 1867 follow-ups answered; 2783 extra activity_logged events planted.
  External learning: 583 xAPI statements from Acme Learning (LMS) on 2 courses, 440 employees attributed (1 by \
an address the admin mapped), 3 learners not on the roster, 1 voided.
  Customer outcomes: CSAT, NPS and retention for 40 teams × 7 months (2026-05 to 2026-11; 840 values), CSAT \
planted to follow adoption a month later. Hypotheses register: 3 starter hypotheses (supported, inconclusive, \
contradicted).
  Sponsors: 3 with their areas, quarterly plans and 98 activities (27 messages, 2 sent from the app); this \
quarter: Rahul Rao (CEO, visible) 14 of 13 planned; Maximilian Müller (CRO, absent) 2 of 11 planned; Sabine \
Müller (CCO, uncommitted) 16 of 14 planned.
"""


def test_loaded_on_the_reference_day_the_demo_is_the_data_it_always_was(tmp_path):
    with demo_loaded(tmp_path, SEED) as (_app, summary):  # the suite's load: the reference day
        lines = summary.describe().splitlines()
        assert lines[1] == "  Built for 2026-11-23: its dates follow that day; CRM usage runs to Sunday 2026-11-22."
        assert "\n".join(lines[2:11]) + "\n" == REFERENCE_SUMMARY
        assert _db.session.scalar(select(func.max(SponsorActivity.occurred_on))) == dt.date(2026, 11, 19)
