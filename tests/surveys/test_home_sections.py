"""The surveys on the home page (surveys/home.py): an employee's pulses waiting for their answer
and their conversations, and the conversations awaiting a leader's reply in their units."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from adoption.extensions import db as sqla
from adoption.scope import scope_for
from adoption.timekeeping import org_today
from surveys.conversations import (
    close_thread,
    mark_read,
    my_threads,
    reply_as_author,
    reply_as_leader,
)
from surveys.home import my_surveys, replies_owed
from surveys.models import Comment
from surveys.services import save_draft, submit_response
from tests.adoption.test_home_sections import home_section
from tests.factories import make_employee, make_user
from tests.surveys.conftest import OPENS
from tests.surveys.test_conversations import (
    LATER,
    NORTH,
    READY,
    SOUTH,
    answer,
    leader_of,
    make_pulse,
    prepare,
)

AMERICAS = "Acme/Americas/Service"
#: A unit whose path starts with Sales North's but which is not below it.
NORTHEAST = "Acme/EMEA/Sales Northeast"


def _today(app) -> dt.date:
    """The day the home view uses."""
    return org_today(app.config["ORG_TIMEZONE"])


def _scope(employee):
    """The scope of a new employee account of ``employee``."""
    return scope_for(make_user("employee", employee))


def _answers(survey_round) -> dict:
    """The required answers of the default test survey (energy and eNPS)."""
    q = [rq.id for rq in survey_round.questions]
    return {q[0]: {"value": 4}, q[1]: {"value": 8}}


def _awaiting(leader, comment, author) -> None:
    """A conversation on ``author``'s comment whose last message is the author's: a reply is owed."""
    thread = reply_as_leader(leader, scope_for(leader), comment.id, "What would help?", READY + dt.timedelta(hours=2))
    reply_as_author(author, thread.id, "Fewer mandatory fields.", LATER)
    sqla.session.commit()


def _owed(pulse, leader, *authors) -> None:
    """Conversations awaiting a reply on the comments of ``authors`` in the pulse."""
    for author in authors:
        _awaiting(leader, pulse.comment_of(author), author)


def _comment(survey_round, body: str) -> Comment:
    return sqla.session.scalars(select(Comment).where(Comment.round_id == survey_round.id,
                                                      Comment.body == body)).one()


@pytest.fixture
def open_round(app, db, build_survey):
    """A round of the default survey (audience Acme/EMEA) open today, committed."""
    today = _today(app)
    survey_round = build_survey(first_opens_on=today, through=today).rounds[0]
    db.session.commit()
    return survey_round


@pytest.fixture
def pulse(app, db, build_survey):
    """A prepared round with five comments in Sales North and five in Sales South."""
    return make_pulse(app, build_survey)


@pytest.fixture
def change_leader(db):
    return leader_of(None, "change_leader")


# ---------------------------------------------------------------- my_surveys: the pulses


def test_my_surveys_lists_an_open_round_of_the_employees_audience(db, build_survey):
    survey_round = build_survey().rounds[0]
    employee = make_employee(NORTH)
    mine = my_surveys(_scope(employee), OPENS)
    assert [(w.survey_round, w.has_draft) for w in mine.rounds] == [(survey_round, False)]


def test_my_surveys_says_when_a_draft_is_saved(db, build_survey):
    survey_round = build_survey().rounds[0]
    employee = make_employee(NORTH)
    save_draft(employee, survey_round, {survey_round.questions[0].id: {"value": 2}}, OPENS)
    [waiting] = my_surveys(_scope(employee), OPENS).rounds
    assert waiting.has_draft


def test_another_persons_draft_does_not_count_as_the_employees(db, build_survey):
    survey_round = build_survey().rounds[0]
    employee, colleague = make_employee(NORTH), make_employee(NORTH)
    save_draft(colleague, survey_round, {survey_round.questions[0].id: {"value": 2}}, OPENS)
    [waiting] = my_surveys(_scope(employee), OPENS).rounds
    assert not waiting.has_draft


def test_a_submitted_round_is_no_longer_listed(db, build_survey):
    survey_round = build_survey().rounds[0]
    employee = make_employee(NORTH)
    submit_response(employee, survey_round, _answers(survey_round), OPENS)
    assert my_surveys(_scope(employee), OPENS).rounds == []


def test_a_round_outside_the_employees_audience_is_not_listed(db, build_survey):
    build_survey()
    outsider = make_employee(AMERICAS)
    assert my_surveys(_scope(outsider), OPENS).rounds == []


def test_a_round_for_other_roles_is_not_listed(db, build_survey):
    build_survey(audience_roles=["manager"])
    assert my_surveys(_scope(make_employee(NORTH)), OPENS).rounds == []


def test_a_closed_round_is_not_listed(db, build_survey):
    survey_round = build_survey().rounds[0]
    employee = make_employee(NORTH)
    assert my_surveys(_scope(employee), survey_round.closes_on + dt.timedelta(days=1)).rounds == []


@pytest.mark.parametrize("role", ["admin", "employee", "manager"])
def test_my_surveys_is_none_without_an_employee_record(db, build_survey, role):
    build_survey()
    assert my_surveys(scope_for(make_user(role)), OPENS) is None


# ---------------------------------------------------------------- my_surveys: conversations


def test_my_surveys_counts_a_leaders_reply_on_the_employees_comment_as_unread(pulse, change_leader):
    reply_as_leader(change_leader, scope_for(change_leader), pulse.comment_of(pulse.author).id,
                    "Thank you, we are on it.", READY)
    mine = my_surveys(_scope(pulse.author), LATER)
    assert (mine.conversations, mine.unread) == (1, 1)


def test_a_reply_to_someone_elses_comment_is_not_the_employees(pulse, change_leader):
    reply_as_leader(change_leader, scope_for(change_leader), pulse.comment_of(pulse.north[1]).id,
                    "Thank you, we are on it.", READY)
    mine = my_surveys(_scope(pulse.author), LATER)
    assert (mine.conversations, mine.unread) == (0, 0)


def test_the_unread_count_goes_once_the_employee_read_the_reply(pulse, change_leader):
    reply_as_leader(change_leader, scope_for(change_leader), pulse.comment_of(pulse.author).id,
                    "Thank you, we are on it.", READY)
    mark_read(pulse.author, my_threads(pulse.author))
    mine = my_surveys(_scope(pulse.author), LATER)
    assert (mine.conversations, mine.unread) == (1, 0)


# ---------------------------------------------------------------- replies_owed


def test_a_manager_is_owed_replies_in_their_own_unit_only(pulse, change_leader):
    _owed(pulse, change_leader, pulse.north[0], pulse.south[0], pulse.south[1])
    owed = replies_owed(scope_for(leader_of(NORTH)), LATER)
    assert (owed.count, owed.oldest_round) == (1, pulse.round)
    assert replies_owed(scope_for(leader_of(SOUTH)), LATER).count == 2


def test_a_manager_of_the_parent_unit_is_owed_the_replies_of_every_team_below(pulse, change_leader):
    _owed(pulse, change_leader, pulse.north[0], pulse.south[0])
    assert replies_owed(scope_for(leader_of("Acme/EMEA")), LATER).count == 2


def test_a_change_leader_is_owed_the_replies_of_every_unit(pulse, change_leader):
    _owed(pulse, change_leader, pulse.north[0], pulse.south[0])
    assert replies_owed(scope_for(change_leader), LATER).count == 2


def test_a_unit_whose_path_only_starts_like_the_managers_is_not_theirs(app, db, build_survey, change_leader):
    survey_round = build_survey().rounds[0]
    for index in range(5):
        answer(survey_round, make_employee(NORTH), f"north {index}")
    northeast = [make_employee(NORTHEAST) for _ in range(5)]
    for index, person in enumerate(northeast):
        answer(survey_round, person, f"northeast {index}")
    prepare(survey_round, app.config)
    _awaiting(change_leader, _comment(survey_round, "northeast 0"), northeast[0])
    assert replies_owed(scope_for(leader_of(NORTH)), LATER).count == 0
    assert replies_owed(scope_for(leader_of(NORTHEAST)), LATER).count == 1


def test_a_comment_shown_only_with_the_parent_group_is_not_owed_by_the_teams_manager(app, db, build_survey,
                                                                                        change_leader):
    # Five answered per team: enough for scores, not for comments at a threshold of 6, so the
    # comments are shown with the whole company's and their conversation belongs to it.
    pulse = make_pulse(app, build_survey, {**app.config, "SURVEY_MIN_COMMENT_RESPONDENTS": 6})
    _owed(pulse, change_leader, pulse.north[0])
    assert replies_owed(scope_for(change_leader), LATER).count == 1
    assert replies_owed(scope_for(leader_of(NORTH)), LATER).count == 0


def test_threads_already_answered_or_closed_are_not_owed(pulse, change_leader):
    reply_as_leader(change_leader, scope_for(change_leader), pulse.comment_of(pulse.north[0]).id, "Hello", READY)
    _owed(pulse, change_leader, pulse.north[1])
    close_thread(pulse.north[1], my_threads(pulse.north[1])[0].id, LATER)
    owed = replies_owed(scope_for(leader_of(NORTH)), LATER)
    assert (owed.count, owed.oldest_round) == (0, None)


def test_the_oldest_round_owed_is_named(app, db, build_survey, change_leader):
    first, second = build_survey(recurrence="weekly", through=OPENS + dt.timedelta(days=7)).rounds
    north, south = [make_employee(NORTH) for _ in range(5)], [make_employee(SOUTH) for _ in range(5)]
    for survey_round in (first, second):
        for index, person in enumerate(north + south):
            answer(survey_round, person, f"round {survey_round.number} comment {index}")
        prepare(survey_round, app.config)
    _awaiting(change_leader, _comment(second, "round 2 comment 3"), north[3])
    _awaiting(change_leader, _comment(first, "round 1 comment 1"), north[1])
    owed = replies_owed(scope_for(leader_of(NORTH)), LATER)
    assert (owed.count, owed.oldest_round) == (2, first)


@pytest.mark.parametrize("role", ["employee", "executive", "admin"])
def test_only_managers_and_change_leaders_are_owed_replies(pulse, change_leader, role):
    _owed(pulse, change_leader, pulse.north[0])
    user = make_user(role, make_employee(NORTH, is_executive=role == "executive") if role != "admin" else None)
    assert replies_owed(scope_for(user), LATER) is None


# ---------------------------------------------------------------- the home page


def test_the_employee_sees_the_open_round_with_an_answer_link(client, login_as, open_round):
    login_as("employee")
    section = home_section(client.get("/").get_data(as_text=True), "home-my-surveys")
    assert "CRM pulse" in section
    assert f'href="/surveys/rounds/{open_round.id}">Answer<' in section
    assert "draft saved" not in section and "No pulse survey waits" not in section


def test_after_saving_a_draft_the_button_reads_continue(app, client, login_as, open_round):
    employee = login_as("employee").employee
    save_draft(employee, open_round, {open_round.questions[0].id: {"value": 2}}, _today(app))
    sqla.session.commit()
    section = home_section(client.get("/").get_data(as_text=True), "home-my-surveys")
    assert f'href="/surveys/rounds/{open_round.id}">Continue<' in section
    assert "draft saved" in section and ">Answer<" not in section


def test_a_draft_saved_through_the_answer_form_shows_on_the_home_page(client, login_as, open_round):
    login_as("employee")
    q0 = open_round.questions[0].id
    response = client.post(f"/surveys/rounds/{open_round.id}", data={f"q{q0}": "2", "save": "1"})
    assert response.status_code == 302
    section = home_section(client.get("/").get_data(as_text=True), "home-my-surveys")
    assert ">Continue<" in section and "draft saved" in section


def test_after_submitting_the_round_is_gone_and_the_empty_state_shows(app, client, login_as, open_round):
    employee = login_as("employee").employee
    submit_response(employee, open_round, _answers(open_round), _today(app))
    sqla.session.commit()
    section = home_section(client.get("/").get_data(as_text=True), "home-my-surveys")
    assert f"/surveys/rounds/{open_round.id}" not in section and "CRM pulse" not in section
    assert "No pulse survey waits for your answer today." in section


def test_an_employee_outside_the_audience_does_not_see_the_round(client, login_as, open_round):
    login_as("employee", unit=AMERICAS)
    html = client.get("/").get_data(as_text=True)
    assert f"/surveys/rounds/{open_round.id}" not in html
    assert "No pulse survey waits for your answer today." in home_section(html, "home-my-surveys")


def test_the_home_page_shows_an_unread_reply_until_the_conversation_is_read(client, login_as, pulse, change_leader):
    login_as("employee", employee=pulse.author)
    reply_as_leader(change_leader, scope_for(change_leader), pulse.comment_of(pulse.author).id,
                    "Thank you, we are on it.", READY)
    sqla.session.commit()
    unread = home_section(client.get("/").get_data(as_text=True), "home-unread-conversations")
    assert unread is not None and "<strong>1</strong>" in unread and 'href="/surveys/my-conversations"' in unread
    assert client.get("/surveys/my-conversations").status_code == 200  # opening it reads the reply
    section = home_section(client.get("/").get_data(as_text=True), "home-my-surveys")
    assert 'data-testid="home-unread-conversations"' not in section
    assert "Your conversations (1)" in section and "no unread reply" in section


def test_mark_read_clears_the_unread_link_on_the_home_page(client, login_as, pulse, change_leader):
    login_as("employee", employee=pulse.author)
    reply_as_leader(change_leader, scope_for(change_leader), pulse.comment_of(pulse.author).id, "Noted.", READY)
    mark_read(pulse.author, my_threads(pulse.author))
    sqla.session.commit()
    html = client.get("/").get_data(as_text=True)
    assert 'data-testid="home-unread-conversations"' not in html
    assert "Your conversations (1)" in home_section(html, "home-my-surveys")


def test_a_manager_sees_the_replies_owed_in_their_unit_on_the_home_page(client, login_as, pulse, change_leader):
    _owed(pulse, change_leader, pulse.north[0], pulse.south[0], pulse.south[1])
    login_as("manager", unit=NORTH)
    section = home_section(client.get("/").get_data(as_text=True), "home-replies-owed")
    assert '<p class="stat-value mb-1">1</p>' in section
    assert "open conversation in your units" in section and "CRM pulse, round 1" in section
    assert 'href="/surveys/conversations/"' in section


def test_a_manager_owed_nothing_is_told_so(client, login_as, pulse, change_leader):
    _owed(pulse, change_leader, pulse.south[0])
    login_as("manager", unit=NORTH)
    section = home_section(client.get("/").get_data(as_text=True), "home-replies-owed")
    assert "Every conversation in your units has had its reply." in section
    assert "stat-value" not in section


@pytest.mark.parametrize("role", ["employee", "executive", "admin"])
def test_no_replies_owed_section_for_employees_executives_and_admins(client, login_as, pulse, change_leader, role):
    _owed(pulse, change_leader, pulse.north[0])
    login_as(role, unit=NORTH)
    html = client.get("/").get_data(as_text=True)
    assert 'data-testid="home-replies-owed"' not in html and "Comments awaiting your reply" not in html


def test_a_manager_whose_roster_record_has_ended_is_owed_no_replies(db):
    manager = make_employee("Acme/EMEA/Sales North")
    user = make_user("manager", manager)
    manager.active = False
    db.session.flush()
    assert replies_owed(scope_for(user), dt.date(2026, 1, 1)) is None
