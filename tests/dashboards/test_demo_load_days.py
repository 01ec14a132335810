"""The demo loaded on other days than the reference one: its data ends near the load day and its
stories hold there, the executive Commitment page's included, early in a quarter too.

One demo load per day (module-scoped and parametrized, so the tests of one day run together on
one database): 4 January 2027 (the first Monday of a quarter and of a year), 2 April 2027 (a
Friday just into a quarter, whose week's Monday is still in the one before) and 15 June 2027 (late
in a quarter). ``tests/adoption/test_demo_calendar.py`` loads 4 January 2027 through the CLI and
runs the same checks.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from adoption.demo import ABSENT, DEMO_PASSWORD, UNCOMMITTED, VISIBLE, load_demo, sponsor_stories
from adoption.demo_calendar import REFERENCE
from adoption.extensions import db as _db
from adoption.models import DailyUsage, OutboxMessage, Role, SponsorActivity, SponsorPlan, User
from adoption.models.outcomes import OutcomeMeasure
from adoption.scope import scope_for
from adoption.sponsors import quarter_bounds, quarter_starts
from dashboards import commitment
from dashboards import commitment_report as cr
from dashboards.demo_sponsors import DONE, PLANS, current_counts
from dashboards.metrics.commitment import SEEN_LESS
from dashboards.pages import executive as page
from surveys.models import CommentThread, SurveyRound
from tests.conftest import app_of_its_own
from tests.dashboards.conftest import texts
from training.models import AssignedTraining, CommitmentFollowUp, Enrollment

SEED = 7
DAYS = (dt.date(2027, 1, 4), dt.date(2027, 4, 2), dt.date(2027, 6, 15))


@pytest.fixture(scope="module", params=DAYS, ids=[day.isoformat() for day in DAYS])
def loaded(request, tmp_path_factory):
    """(app, load day, summary): the small demo with every feature's demo data, built for the day."""
    day = request.param
    with app_of_its_own(tmp_path_factory.mktemp(f"demo_{day.isoformat()}")) as app:
        summary = load_demo(size="small", seed=SEED, today=day)
        _db.session.commit()
        yield app, day, summary


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


def test_the_current_quarters_sponsor_actions_keep_the_reference_pace_and_never_pass_its_counts():
    reference_quarter = quarter_bounds(REFERENCE.today)[0]
    for profile, done in DONE.items():
        reference = done[-1]
        assert current_counts(profile, reference_quarter, REFERENCE.today) == reference
        assert current_counts(profile, dt.date(2027, 4, 1), dt.date(2027, 6, 14)) == reference  # later: no more
        assert not any(current_counts(profile, dt.date(2027, 1, 1), dt.date(2027, 1, 4)).values())  # one day
        month = current_counts(profile, dt.date(2027, 1, 1), dt.date(2027, 2, 1))  # 21 weekdays of 38
        assert all(month[kind] <= reference[kind] for kind in reference)
        assert 0 < sum(month.values()) < sum(reference.values()) or profile == ABSENT



def test_the_summary_names_the_day_the_demo_was_built_for(loaded):
    _app, day, summary = loaded
    assert f"Built for {day.isoformat()}: its dates follow that day" in summary.describe()
    assert summary.calendar.usage_end < day <= summary.calendar.usage_end + dt.timedelta(days=7)


def test_the_data_ends_near_the_load_day(day):
    assert_data_ends_near(day)


def test_the_sponsors_stories_hold_on_the_commitment_pages_default_quarter(day):
    assert_commitment_stories_hold(day)


def test_early_in_a_quarter_the_page_opens_on_the_quarter_just_ended_and_late_in_it_on_the_current(day):
    current = quarter_bounds(day)[0]
    expected = current if (day - current).days >= commitment.NEW_QUARTER_DAYS else quarter_bounds(
        current - dt.timedelta(days=1))[0]
    assert cr.parse_quarter(None, day) == commitment.quarter_value(expected)


def test_the_executive_sees_their_record_on_the_page_they_land_on(loaded, day, client, run_callback):
    _app, _day, summary = loaded
    response = client.post("/login", data={"email": dict(summary.logins)["executive"], "password": DEMO_PASSWORD})
    assert response.status_code == 302
    quarter = next(c for c in page.layout(day)._traverse() if getattr(c, "id", None) == page.QUARTER).value
    response = run_callback(f"{page.SPONSORS_TABLE}.children", {f"{page.QUARTER}.value": quarter})
    shown = " ".join(texts(response.get_json()["response"][page.SPONSORS_TABLE]["children"]))
    label = commitment.commitment_period(day, quarter).label
    assert f"Sponsor indicators, {label}" in shown
    planned = sum(PLANS[VISIBLE].values())
    assert f"of {planned} planned" in shown and f" 0 of {planned} planned" not in shown  # the CEO's record


def test_plans_cover_the_demos_three_quarters_and_the_load_days_own(loaded, day):
    demo_today = loaded[2].calendar.today  # 29 March 2027 for a load on 2 April
    starts = set(_db.session.scalars(select(SponsorPlan.quarter_start)))
    assert starts == {*quarter_starts(demo_today, back=2), quarter_bounds(day)[0]}


def test_two_messages_went_out_from_the_app_naming_a_pulse_round_closed_before_them(day):
    sent = _db.session.scalars(select(SponsorActivity).where(SponsorActivity.outbox_subject.is_not(None))).all()
    assert len(sent) == 2 and _db.session.scalar(select(func.count()).select_from(OutboxMessage)) >= 2
    closed = {f"{r.opens_on:%B}" for r in _db.session.scalars(select(SurveyRound)) if r.closes_on < day}
    pulse = next(a for a in sent if a.outbox_subject.startswith("What you told us in "))
    assert pulse.outbox_subject.removeprefix("What you told us in ").split(",")[0] in closed
