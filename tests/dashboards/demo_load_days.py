"""The checks every load of the demo on another day than the reference one must pass, through
``flask demo --as-of``: its data ends near the load day and its stories hold there, the executive
Commitment page's included, early in a quarter too; the CLI says which day it built for, and a
second load changes nothing.

Each load day has a test module of its own, which imports these tests and sets ``load_day``:
one module-scoped load per module, so that pytest-xdist runs the days on different workers
(a day's load and checks take one to two minutes on PostgreSQL):
test_demo_first_monday_of_a_year.py (4 January 2027, the first Monday of a quarter and of a year;
with the determinism test), test_demo_just_into_a_quarter.py (2 April 2027, a Friday whose week's
Monday is still in the quarter before) and test_demo_late_in_a_quarter.py (15 June 2027).
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from adoption.demo import ABSENT, DEMO_PASSWORD, UNCOMMITTED, VISIBLE, load_demo, sponsor_stories
from adoption.extensions import db as _db
from adoption.models import (
    DailyUsage,
    Employee,
    OrgUnit,
    OutboxMessage,
    Role,
    SponsorActivity,
    SponsorPlan,
    User,
)
from adoption.models.outcomes import OutcomeMeasure
from adoption.scope import scope_for
from adoption.sponsors import quarter_bounds, quarter_starts
from dashboards import commitment
from dashboards import commitment_report as cr
from dashboards.demo_sponsors import PLANS
from dashboards.metrics.commitment import SEEN_LESS
from dashboards.pages import executive as page
from surveys.models import Answer, CommentThread, Response, RoundQuestion, SurveyRound
from tests.conftest import app_of_its_own
from tests.dashboards.conftest import texts
from training.models import AssignedTraining, CommitmentFollowUp, Enrollment, Module, XapiStatement

#: What each load day's module imports (``from tests.dashboards.demo_load_days import *``): the
#: fixtures and the checks of every load day.
__all__ = [
    "app",
    "day",
    "loaded",
    "test_early_in_a_quarter_the_page_opens_on_the_quarter_just_ended_and_late_in_it_on_the_current",
    "test_loading_again_on_another_day_keeps_the_first_loads_dates",
    "test_plans_cover_the_demos_three_quarters_and_the_load_days_own",
    "test_the_cli_says_which_day_the_demo_was_built_for",
    "test_the_data_ends_near_the_load_day",
    "test_the_executive_sees_their_record_on_the_page_they_land_on",
    "test_the_sponsors_stories_hold_on_the_commitment_pages_default_quarter",
    "test_two_messages_went_out_from_the_app_naming_a_pulse_round_closed_before_them",
]

SEED = 7
DAYS = (dt.date(2027, 1, 4), dt.date(2027, 4, 2), dt.date(2027, 6, 15))
#: The Sunday the demo's CRM usage ends on, per load day (the Sunday before it).
USAGE_END = {DAYS[0]: dt.date(2027, 1, 3), DAYS[1]: dt.date(2027, 3, 28), DAYS[2]: dt.date(2027, 6, 13)}


@pytest.fixture(scope="module")
def loaded(load_day, tmp_path_factory):
    """(app, load day, CLI output): ``flask demo --as-of DAY`` into a fresh database, the small
    demo with every feature's demo data (``load_day`` is the importing module's)."""
    with app_of_its_own(tmp_path_factory.mktemp(f"demo_{load_day.isoformat()}")) as app:
        result = app.test_cli_runner().invoke(args=["demo", "--as-of", load_day.isoformat()])
        assert result.exit_code == 0, result.output
        yield app, load_day, result.output


@pytest.fixture
def app(loaded):
    """The day's demo app (for the ``client`` and ``run_callback`` fixtures)."""
    return loaded[0]


@pytest.fixture
def day(loaded, monkeypatch) -> dt.date:
    """The load day, which is also the pages' "today"."""
    monkeypatch.setattr("dashboards.clock.org_today", lambda: loaded[1])
    return loaded[1]


def _since(day: dt.date, moment) -> int:
    """Days from ``moment`` (a date or naive datetime) to ``day``."""
    return (day - (moment.date() if isinstance(moment, dt.datetime) else moment)).days


# --- checks shared with tests/adoption/test_demo_calendar.py -----------------------------------


def assert_data_ends_near(day: dt.date) -> None:
    """Usage, the pulse, conversations, training and sponsor records end close before ``day``."""
    last_usage = _db.session.scalar(select(func.max(DailyUsage.day)))
    assert 1 <= _since(day, last_usage) <= 7
    latest = _db.session.scalar(select(SurveyRound).order_by(SurveyRound.opens_on.desc()).limit(1))
    assert latest.opens_on <= day and _since(day, latest.closes_on) <= 31  # open, or closed within a month
    assert 0 < _since(day, _db.session.scalar(select(func.max(CommentThread.last_message_at)))) <= 31
    assert 0 < _since(day, _db.session.scalar(select(func.max(AssignedTraining.assigned_on)))) <= 31
    assert _db.session.scalar(select(func.max(AssignedTraining.due_on))) > day  # the last wave not due yet
    assert 0 < _since(day, _db.session.scalar(select(func.max(Enrollment.completed_on)))) <= 14
    assert 0 < _since(day, _db.session.scalar(select(func.max(CommitmentFollowUp.answered_at)))) <= 14
    assert 0 < _since(day, _db.session.scalar(select(func.max(SponsorActivity.occurred_on)))) <= 14
    # Customer outcomes run to the month the usage ends in.
    assert _db.session.scalar(select(func.max(OutcomeMeasure.period_end))).replace(day=1) == last_usage.replace(day=1)


def fingerprint() -> dict[str, list]:
    """What one load wrote, by natural keys (database ids and load-time stamps aside): usage,
    answers, conversations, learning, customer outcomes, sponsor records and the external LMS's statements."""
    queries = {
        "usage": select(Employee.hr_id, DailyUsage.day, DailyUsage.event_type, DailyUsage.events)
        .join(Employee, Employee.id == DailyUsage.employee_id),
        "answers": select(SurveyRound.opens_on, RoundQuestion.position, func.count(), func.sum(Answer.value))
        .select_from(Answer).join(Response, Response.id == Answer.response_id)
        .join(RoundQuestion, RoundQuestion.id == Answer.round_question_id)
        .join(SurveyRound, SurveyRound.id == Response.round_id)
        .group_by(SurveyRound.opens_on, RoundQuestion.position),
        "threads": select(CommentThread.first_reply_at, CommentThread.last_message_at, CommentThread.status),
        "learning": select(Employee.hr_id, Module.slug, Enrollment.started_at, Enrollment.completed_on,
                           Enrollment.reaction_score)
        .join(Employee, Employee.id == Enrollment.employee_id).join(Module, Module.id == Enrollment.module_id),
        "outcomes": select(OrgUnit.path, OutcomeMeasure.metric, OutcomeMeasure.period_start, OutcomeMeasure.value)
        .join(OrgUnit, OrgUnit.id == OutcomeMeasure.unit_id),
        "sponsors": select(Employee.hr_id, SponsorActivity.occurred_on, SponsorActivity.kind, SponsorActivity.note,
                           SponsorActivity.outbox_subject)
        .join(Employee, Employee.id == SponsorActivity.sponsor_id),
        "external learning": select(XapiStatement.id, XapiStatement.actor_key, XapiStatement.verb,
                                    XapiStatement.timestamp, XapiStatement.voided)
        .where(XapiStatement.token_id.is_not(None)),
    }
    return {name: sorted(tuple(row) for row in _db.session.execute(query)) for name, query in queries.items()}


def _leader_report(day: dt.date, quarter: str) -> cr.Report:
    """The change leader's Commitment report of ``quarter`` as the page builds it on ``day``."""
    leader = _db.session.scalar(select(User).where(User.role == Role.CHANGE_LEADER.value))
    return cr.report(scope_for(leader), quarter, day)


def assert_commitment_stories_hold(day: dt.date) -> None:
    """On the page's default quarter, each sponsor's story reads as written; the current quarter
    (when it is not the default) has its plans and the organization's figures."""
    report = _leader_report(day, cr.parse_quarter(None, day))
    stories = sponsor_stories()
    by_story = {stories[r.sponsor_id].profile: r for r in report.sponsors}
    visible, absent, busy = by_story[VISIBLE], by_story[ABSENT], by_story[UNCOMMITTED]

    assert visible.visibility.done >= visible.visibility.expected > 0
    assert busy.visibility.done >= busy.visibility.expected > 0
    assert absent.visibility.done <= absent.visibility.expected / 3
    assert visible.objective.value > busy.objective.value > absent.objective.value
    assert visible.flag is None and absent.flag is None and busy.flag == SEEN_LESS
    assert all(r.perceived.leadership_n >= 50 for r in report.sponsors)
    assert visible.communication.comments > 0
    assert visible.communication.reply_share > 2 * absent.communication.reply_share
    assert report.outcomes.adoption_rate is not None and report.outcomes.csat

    current = _leader_report(day, commitment.quarter_value(quarter_bounds(day)[0]))
    assert all(r.visibility.planned for r in current.sponsors)  # the quarter's plans are set
    assert current.outcomes.adoption_rate is not None and current.outcomes.csat
    assert current.team.perceived.leadership is not None


# --- the tests ----------------------------------------------------------------------------------


def test_the_cli_says_which_day_the_demo_was_built_for(loaded):
    _app, day, output = loaded
    end = USAGE_END[day]
    assert (f"Built for {day.isoformat()}: its dates follow that day; "
            f"CRM usage runs to Sunday {end.isoformat()}.") in output
    start = end - dt.timedelta(weeks=26) + dt.timedelta(days=1)  # six months of whole weeks
    assert "CRM usage: " in output and f"({start.isoformat()} to {end.isoformat()})" in output


def test_loading_again_on_another_day_keeps_the_first_loads_dates(loaded):
    _app, day, _output = loaded
    before = fingerprint()
    summary = load_demo(size="small", seed=SEED)  # the suite's default day: 23 November 2026
    _db.session.commit()
    assert not summary.newly_loaded
    assert summary.calendar.usage_end == USAGE_END[day]
    assert f"Built for the week of {(USAGE_END[day] + dt.timedelta(days=1)).isoformat()}" in summary.describe()
    assert fingerprint() == before


def test_the_data_ends_near_the_load_day(day):
    assert_data_ends_near(day)


def test_the_sponsors_stories_hold_on_the_commitment_pages_default_quarter(day):
    assert_commitment_stories_hold(day)


def test_early_in_a_quarter_the_page_opens_on_the_quarter_just_ended_and_late_in_it_on_the_current(day):
    current = quarter_bounds(day)[0]
    expected = current if (day - current).days >= commitment.NEW_QUARTER_DAYS else quarter_bounds(
        current - dt.timedelta(days=1))[0]
    assert cr.parse_quarter(None, day) == commitment.quarter_value(expected)


def test_the_executive_sees_their_record_on_the_page_they_land_on(day, client, run_callback):
    executive = _db.session.scalars(select(User.email).where(User.role == Role.EXECUTIVE.value)).one()  # the CEO
    response = client.post("/login", data={"email": executive, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    quarter = next(c for c in page.layout(day)._traverse() if getattr(c, "id", None) == page.QUARTER).value
    response = run_callback(f"{page.SPONSORS_TABLE}.children", {f"{page.QUARTER}.value": quarter})
    shown = " ".join(texts(response.get_json()["response"][page.SPONSORS_TABLE]["children"]))
    label = commitment.commitment_period(day, quarter).label
    assert f"Sponsor indicators, {label}" in shown
    planned = sum(PLANS[VISIBLE].values())
    assert f"of {planned} planned" in shown and f" 0 of {planned} planned" not in shown  # the CEO's record


def test_plans_cover_the_demos_three_quarters_and_the_load_days_own(day):
    demo_today = USAGE_END[day] + dt.timedelta(days=1)  # the demo's today: 29 March 2027 for a load on 2 April
    starts = set(_db.session.scalars(select(SponsorPlan.quarter_start)))
    assert starts == {*quarter_starts(demo_today, back=2), quarter_bounds(day)[0]}


def test_two_messages_went_out_from_the_app_naming_a_pulse_round_closed_before_them(day):
    sent = _db.session.scalars(select(SponsorActivity).where(SponsorActivity.outbox_subject.is_not(None))).all()
    assert len(sent) == 2 and _db.session.scalar(select(func.count()).select_from(OutboxMessage)) >= 2
    closed = {f"{r.opens_on:%B}" for r in _db.session.scalars(select(SurveyRound)) if r.closes_on < day}
    pulse = next(a for a in sent if a.outbox_subject.startswith("What you told us in "))
    assert pulse.outbox_subject.removeprefix("What you told us in ").split(",")[0] in closed
