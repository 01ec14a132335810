"""The demo pulse: survey, rounds through the demo's "today", backfilled answers, scheduling command.

Loading the small demo takes several seconds, so the tests that only read it share one load
(``loaded``, one database for the module). The tests that change the database (a second load,
the scheduling command) come last and leave it in a state the readers above do not depend on.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import func, select

from adoption.demo import ROOT_UNIT, load_demo
from adoption.extensions import db as _db
from adoption.models import Employee, OrgUnit, User
from surveys.conversations import comments_visible
from surveys.demo import FIRST_OPENS_ON, REFERENCE_DATE, SURVEY_TITLE
from surveys.models import (
    Answer,
    Comment,
    CommentThread,
    Participation,
    Response,
    Survey,
    SurveyRound,
    SurveyStatus,
    ThreadMessage,
)
from surveys.models.actions import ActionPlan, ActionPlanUpdate
from surveys.services import eligible_employees, my_open_rounds
from tests.conftest import demo_loaded

SEED = 7


@pytest.fixture(scope="module")
def app_loaded(tmp_path_factory):
    """The small demo, its usage and its pulse, loaded once for this module's read-only tests."""
    with demo_loaded(tmp_path_factory.mktemp("survey_demo"), SEED) as loaded:
        yield loaded


@pytest.fixture
def loaded(app_loaded):
    """The demo summary; the session is rolled back after each test."""
    yield app_loaded[1]
    _db.session.rollback()


def _survey() -> Survey:
    """The demo pulse."""
    return _db.session.scalar(select(Survey).where(Survey.title == SURVEY_TITLE))


def _responses_by_round() -> Counter:
    """round id -> number of responses."""
    return Counter(dict(_db.session.execute(
        select(Response.round_id, func.count()).group_by(Response.round_id)).all()))


def _participations_by_round() -> Counter:
    """round id -> number of participations."""
    return Counter(dict(_db.session.execute(
        select(Participation.round_id, func.count()).group_by(Participation.round_id)).all()))


def _closed_rounds(survey: Survey) -> list[SurveyRound]:
    """The rounds closed before the demo's "today"."""
    return [r for r in survey.rounds if r.closes_on < REFERENCE_DATE]


def test_demo_pulse_is_an_active_monthly_survey_of_the_whole_company(loaded):
    survey = _survey()
    assert survey is not None
    assert survey.status == SurveyStatus.ACTIVE.value
    assert survey.recurrence == "monthly"
    assert survey.first_opens_on == FIRST_OPENS_ON
    assert [u.path for u in survey.audience_units] == [ROOT_UNIT]
    assert 8 <= survey.max_items_per_round <= 12


def test_demo_pulse_is_created_by_the_demo_change_leader(loaded):
    leader_email = dict(loaded.logins)["change_leader"]
    creator = _db.session.get(User, _survey().created_by_id)
    assert creator.email == leader_email


def test_demo_rounds_are_scheduled_monthly_through_the_reference_date(loaded):
    rounds = _survey().rounds
    assert [r.opens_on for r in rounds] == [dt.date(2026, month, 1) for month in range(6, 12)]
    assert rounds[-1].is_open(REFERENCE_DATE)
    assert all(8 <= len(r.questions) <= 12 for r in rounds)


def test_closed_rounds_have_plausible_response_rates(loaded):
    responses = _responses_by_round()
    closed = _closed_rounds(_survey())
    assert len(closed) == 5
    for survey_round in closed:
        rate = responses[survey_round.id] / len(eligible_employees(survey_round))
        assert 0.4 <= rate <= 0.95, (survey_round.number, rate)


def test_response_rates_differ_by_team(loaded):
    survey_round = _closed_rounds(_survey())[0]
    by_unit = Counter(_db.session.scalars(select(Response.unit_id).where(Response.round_id == survey_round.id)))
    audience = Counter(e.unit_id for e in eligible_employees(survey_round))
    rates = [by_unit[unit] / n for unit, n in audience.items() if n >= 10]
    assert max(rates) - min(rates) >= 0.25


def test_every_response_has_exactly_one_participation(loaded):
    assert _responses_by_round() == _participations_by_round()


def test_responses_keep_unit_and_tenure_band_snapshots(loaded):
    bands = set(_db.session.scalars(select(Response.tenure_band).distinct()))
    assert {"<1y", "1-3y", "3y+"} <= bands
    units = _db.session.scalar(select(func.count(func.distinct(Response.unit_id))))
    assert units >= 30


def test_participations_fall_inside_their_round(loaded):
    outside = _db.session.scalar(
        select(func.count()).select_from(Participation)
        .join(SurveyRound, SurveyRound.id == Participation.round_id)
        .where((Participation.submitted_on < SurveyRound.opens_on)
               | (Participation.submitted_on > SurveyRound.closes_on)
               | (Participation.submitted_on >= REFERENCE_DATE))
    )
    assert outside == 0


def test_engagement_is_lower_in_resistant_teams(loaded):
    from adoption.demo_telemetry import demo_team_profiles

    resistant = {p for p, profile in demo_team_profiles(SEED).items() if profile.resistant}
    rows = _db.session.execute(
        select(OrgUnit.path, Answer.value)
        .join(Response, Response.id == Answer.response_id)
        .join(OrgUnit, OrgUnit.id == Response.unit_id)
        .where(Answer.value.isnot(None), Answer.value <= 5)
    ).all()
    low = [v for path, v in rows if path in resistant]
    high = [v for path, v in rows if path not in resistant]
    assert low and high
    assert sum(low) / len(low) < sum(high) / len(high) - 0.3


def test_some_answers_carry_comments_in_several_themes(loaded):
    comments = list(_db.session.scalars(select(Comment.body)))
    assert 20 <= len(comments)
    assert any("training" in c.lower() for c in comments)
    assert any("time" in c.lower() or "hour" in c.lower() for c in comments)
    assert any("leadership" in c.lower() or "director" in c.lower() for c in comments)


def test_demo_employee_sees_the_open_round_in_my_surveys(loaded, app_loaded):
    app = app_loaded[0]
    email = dict(loaded.logins)["employee"]
    employee = _db.session.scalar(select(Employee).where(Employee.email == email))
    last = _survey().rounds[-1]
    day = min(last.closes_on, REFERENCE_DATE)
    assert [r.id for r in my_open_rounds(employee, day, app.config)] == [last.id]


def test_leaders_reply_to_comments_and_some_authors_answer_back(loaded):
    threads = list(_db.session.scalars(select(CommentThread)))
    assert len(threads) >= 30
    messages = list(_db.session.scalars(select(ThreadMessage)))
    from_authors = [m for m in messages if m.from_author]
    assert from_authors and all(m.sender_id is None and m.created_at is None for m in from_authors)
    statuses = Counter(t.status for t in threads)
    assert statuses["closed"] > 0 and statuses["open"] > statuses["closed"]
    # Some conversations wait for the leader: the author answered last.
    assert any(t.awaiting_leader for t in threads)
    # Leaders reply after the round's results were ready, days later, never before.
    waits = [t.first_reply_at - t.comment.round.results_ready_at for t in threads]
    assert min(waits) >= dt.timedelta(hours=12)
    assert max(waits) <= dt.timedelta(days=10)
    # The demo manager answers in their own team, the change leader elsewhere.
    logins = dict(loaded.logins)
    senders = {m.sender_id for m in messages if not m.from_author}
    manager = _db.session.scalar(select(User).where(User.email == logins["manager"]))
    leader = _db.session.scalar(select(User).where(User.email == logins["change_leader"]))
    assert {manager.id, leader.id} <= senders


def test_every_thread_is_about_a_comment_its_leader_may_read(loaded):
    for thread in _db.session.scalars(select(CommentThread)):
        comment = thread.comment
        assert comment.group_unit_id is not None  # a comment shown to leaders
        assert comments_visible(comment.round_id, comment.group_unit_id)


def test_action_plans_in_every_status_with_public_updates_and_a_follow_up(loaded):
    plans = list(_db.session.scalars(select(ActionPlan)))
    assert {p.status for p in plans} == {"planned", "in_progress", "done", "dropped"}
    updates = list(_db.session.scalars(select(ActionPlanUpdate)))
    assert len(updates) >= 4
    follow_ups = [p for p in plans if p.follow_up_question_id is not None]
    assert len(follow_ups) == 1


def test_second_load_adds_nothing(loaded):
    before = (_db.session.scalar(select(func.count()).select_from(Survey)),
              _db.session.scalar(select(func.count()).select_from(SurveyRound)),
              _db.session.scalar(select(func.count()).select_from(Response)),
              _db.session.scalar(select(func.count()).select_from(Participation)),
              _db.session.scalar(select(func.count()).select_from(CommentThread)),
              _db.session.scalar(select(func.count()).select_from(ThreadMessage)),
              _db.session.scalar(select(func.count()).select_from(ActionPlan)))
    summary = load_demo(size="small", seed=SEED)
    _db.session.commit()
    after = (_db.session.scalar(select(func.count()).select_from(Survey)),
             _db.session.scalar(select(func.count()).select_from(SurveyRound)),
             _db.session.scalar(select(func.count()).select_from(Response)),
             _db.session.scalar(select(func.count()).select_from(Participation)),
             _db.session.scalar(select(func.count()).select_from(CommentThread)),
             _db.session.scalar(select(func.count()).select_from(ThreadMessage)),
             _db.session.scalar(select(func.count()).select_from(ActionPlan)))
    assert after == before
    assert any("Monthly pulse" in line for line in summary.extras)
    assert "Monthly pulse" in summary.describe()


def test_schedule_surveys_creates_the_next_rounds_then_none(loaded, app_loaded):
    runner = app_loaded[0].test_cli_runner()
    first = runner.invoke(args=["schedule-surveys", "--through", "2027-01-05"])
    assert first.exit_code == 0, first.output
    assert "round 7 opens 2026-12-01" in first.output
    assert "round 8 opens 2027-01-01" in first.output
    assert "Scheduled 2 new rounds" in first.output
    second = runner.invoke(args=["schedule-surveys", "--through", "2027-01-05"])
    assert second.exit_code == 0, second.output
    assert "Scheduled 0 new rounds" in second.output
    _db.session.expire_all()
    assert [r.number for r in _survey().rounds] == list(range(1, 9))


def test_schedule_surveys_defaults_to_today(loaded, app_loaded):
    result = app_loaded[0].test_cli_runner().invoke(args=["schedule-surveys"])
    assert result.exit_code == 0, result.output
    assert "new round" in result.output
