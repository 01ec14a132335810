"""The demo pulse: survey, rounds through the demo's "today", backfilled answers, conversations
(the demo employee's own among them), scheduling command.

Loading the small demo takes several seconds, so the tests share one load (``loaded``, one
database for the module). The tests that change the database (opening "My conversations", which
marks replies read; a second load; the scheduling command) come last and leave it in a state the
readers above do not depend on.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from adoption.demo import DEMO_PASSWORD, ROOT_UNIT, load_demo
from adoption.demo_calendar import REFERENCE
from adoption.extensions import db as _db
from adoption.models import Employee, OrgUnit, User
from surveys.authorship import is_author
from surveys.conversations import (
    NotTheAuthor,
    close_thread,
    comments_visible,
    my_threads,
    unread_count,
)
from surveys.demo import FIRST_OPENS_ON, SURVEY_TITLE
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
    ThreadStatus,
)
from surveys.models.actions import ActionPlan, ActionPlanUpdate
from surveys.services import eligible_employees, my_open_rounds
from tests.conftest import demo_loaded
from tests.surveys.test_conversations_views import TIME_OF_DAY, Browser

SEED = 7
# The demo's "today" as the suite loads it (tests/conftest.py: the reference day).
REFERENCE_DATE = REFERENCE.today


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
    assert [r.opens_on for r in rounds] == [dt.date(2026, month, 8) for month in range(6, 12)]
    # Open on the demo's today and on every later day of the week it may be loaded in.
    assert all(rounds[-1].is_open(REFERENCE_DATE + dt.timedelta(days=d)) for d in range(7))
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


# ------------------------------------------------------------------ the demo employee's own conversations
# Signing in with the employee login shows a leader's reply to their comment, their anonymous
# answer and the leader's answer to it, still unread, while the leader learns nothing of who wrote
# it. Opening "My conversations" marks the replies read, so the test that does it comes last here.


def _user(email: str) -> User:
    return _db.session.scalar(select(User).where(User.email == email))


@pytest.fixture
def logins(loaded) -> dict[str, str]:
    """role -> e-mail of the demo logins."""
    return dict(loaded.logins)


@pytest.fixture
def employee(logins) -> Employee:
    """The person behind the demo's employee login."""
    return _user(logins["employee"]).employee


@pytest.fixture
def manager(logins) -> User:
    """The demo manager's account."""
    return _user(logins["manager"])


def _sign_in(app, email: str) -> Browser:
    """A new client signed in with a demo login."""
    browser = Browser(app)
    response = browser.post("/login", data={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return browser


def _open_thread(employee: Employee):
    """The employee's one open conversation."""
    (thread,) = [t for t in my_threads(employee) if t.status == ThreadStatus.OPEN.value]
    return thread


def test_the_demo_employee_commented_in_closed_rounds_and_leaders_may_read_it(employee):
    survey = _db.session.scalar(select(Survey).where(Survey.title == SURVEY_TITLE))
    closed = {r.id for r in survey.rounds if r.closes_on < REFERENCE_DATE}
    theirs = [c for c in _db.session.scalars(select(Comment).where(Comment.unit_id == employee.unit_id))
              if is_author(employee.id, c.round_id, c.id, c.author_key)]
    assert theirs
    assert {c.round_id for c in theirs} <= closed
    assert all(c.group_unit_id is not None for c in theirs)  # shown to leaders


def test_the_demo_employee_has_one_open_conversation_and_older_ones_they_closed(employee):
    threads = my_threads(employee)
    statuses = [t.status for t in threads]
    assert statuses.count(ThreadStatus.OPEN.value) == 1
    assert statuses.count(ThreadStatus.CLOSED.value) >= 1
    open_round = _open_thread(employee).comment.round
    assert all(t.comment.round.number < open_round.number for t in threads if t.status == ThreadStatus.CLOSED.value)


def test_their_manager_replied_they_answered_back_and_the_manager_answered_again(employee, manager):
    messages = _open_thread(employee).messages
    assert [m.from_author for m in messages] == [False, True, False]
    assert {m.sender_id for m in messages if not m.from_author} == {manager.id}
    assert manager.employee_id == employee.manager_id  # the employee's own manager
    # Their answer is anonymous and dated by the day only, like any author's.
    assert messages[1].sender_id is None and messages[1].created_at is None
    assert messages[0].created_on < messages[1].created_on < messages[2].created_on < REFERENCE_DATE


def test_the_managers_latest_reply_is_unread_by_the_demo_employee(employee):
    thread = _open_thread(employee)
    assert thread.author_unread and not thread.awaiting_leader
    assert unread_count(employee) == 1


def test_the_navigation_shows_one_unread_conversation_to_the_demo_employee(app_loaded, logins):
    home = _sign_in(app_loaded[0], logins["employee"]).get("/").get_data(as_text=True)
    assert re.search(r'data-testid="unread-conversations">1<', home)


def test_the_manager_reads_the_answer_back_without_learning_who_wrote_it(app_loaded, logins, employee):
    thread = _open_thread(employee)
    answer_back = thread.messages[1].body
    key = thread.comment.author_key
    html = _sign_in(app_loaded[0], logins["manager"]).get(
        "/surveys/conversations/", query_string={"round": thread.round_id, "unit": thread.unit_id}
    ).get_data(as_text=True)
    assert escape(answer_back) in html and "Anonymous author" in html
    for trace in (employee.full_name, employee.email, employee.hr_id, key):
        assert trace not in html
    # Days only, for every message: no time of day anywhere on the page.
    assert not TIME_OF_DAY.search(html)


def test_neither_the_manager_nor_a_teammate_can_close_the_demo_employees_conversation(employee, manager):
    thread = _open_thread(employee)
    teammate = _db.session.scalar(select(Employee).where(
        Employee.unit_id == employee.unit_id, Employee.id.not_in([employee.id, manager.employee_id]))
        .order_by(Employee.id).limit(1))
    for other in (manager.employee, teammate):
        with pytest.raises(NotTheAuthor):
            close_thread(other, thread.id, REFERENCE_DATE)
        assert thread.id not in {t.id for t in my_threads(other)}
    assert thread.status == ThreadStatus.OPEN.value


def test_my_conversations_shows_the_demo_employee_the_replies_and_their_own_answer(app_loaded, logins, employee, manager):
    # Opening the page marks the replies read: this test comes last.
    thread = _open_thread(employee)
    reply, answer_back, follow_up = (m.body for m in thread.messages)
    client = _sign_in(app_loaded[0], logins["employee"])
    html = client.get("/surveys/my-conversations").get_data(as_text=True)
    assert html.count('data-testid="thread"') == len(my_threads(employee))
    assert escape(thread.comment.body) in html
    for body in (reply, answer_back, follow_up):
        assert escape(body) in html
    assert manager.employee.full_name in html and "New reply" in html
    assert 'data-testid="unread-conversations"' not in client.get("/").get_data(as_text=True)


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
    first = runner.invoke(args=["schedule-surveys", "--through", "2027-01-08"])
    assert first.exit_code == 0, first.output
    assert "round 7 opens 2026-12-08" in first.output
    assert "round 8 opens 2027-01-08" in first.output
    assert "Scheduled 2 new rounds" in first.output
    second = runner.invoke(args=["schedule-surveys", "--through", "2027-01-08"])
    assert second.exit_code == 0, second.output
    assert "Scheduled 0 new rounds" in second.output
    _db.session.expire_all()
    assert [r.number for r in _survey().rounds] == list(range(1, 9))


def test_schedule_surveys_defaults_to_today(loaded, app_loaded):
    result = app_loaded[0].test_cli_runner().invoke(args=["schedule-surveys"])
    assert result.exit_code == 0, result.output
    assert "new round" in result.output
