"""Action plans in the browser's place: the leaders' pages, the plan page, the employees' ledger,
the follow-up item on the answer form, CSRF and the navigation (surveys/views/actions.py)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from adoption.org import ensure_unit
from adoption.timekeeping import org_today
from surveys.disclosure import SUPPRESSED_MESSAGE
from surveys.models import ActionPlan, Answer, Response
from surveys.results import prepare_round_results
from surveys.services import schedule_rounds
from tests.factories import DEFAULT_PASSWORD, make_employee, make_user
from tests.surveys.test_actions import INSIDE, NORTH, SOUTH, answer, plan

DAY = dt.timedelta(days=1)


@pytest.fixture
def today(app):
    """Today in the organization's time zone, as the views see it."""
    return org_today(app.config["ORG_TIMEZONE"])


@pytest.fixture
def pulse(db, build_survey, today):
    """A weekly pulse of Acme/EMEA: round 1 ran the last seven days, round 2 opens today (not scheduled)."""
    survey = build_survey(recurrence="weekly", first_opens_on=today - 7 * DAY, through=today - 7 * DAY)
    db.session.commit()
    return survey


@pytest.fixture
def north_manager(login_as):
    """The client signed in as the manager of Sales North."""
    return login_as("manager", NORTH)


def _plan(db, user, survey, today, **fields) -> ActionPlan:
    """A plan written today through the service, committed."""
    p = plan(user, survey, today=today, due_on=today + 30 * DAY, **fields)
    db.session.commit()
    return p


def _form(survey, unit: str, owner_id: int, today: dt.date, **fields) -> dict:
    data = {"unit": str(ensure_unit(unit).id), "round": str(survey.rounds[0].id), "title": "Pipeline clinic",
            "description": "Every Tuesday", "owner": str(owner_id), "due_on": (today + 30 * DAY).isoformat()}
    data.update(fields)
    return data


# ------------------------------------------------------------------ leaders' pages


def test_leaders_page_lists_the_plans_in_scope_with_counts(db, client, pulse, today, north_manager, leader):
    _plan(db, north_manager, pulse, today, title="North clinic")
    _plan(db, leader, pulse, today, unit=SOUTH, title="South clinic")
    html = client.get("/surveys/actions/").get_data(as_text=True)
    assert "North clinic" in html and "South clinic" not in html
    assert re.search(r'data-testid="count-planned".*?stat-value">1<', html, re.DOTALL)


def test_leaders_page_filters_by_status(db, client, pulse, today, north_manager):
    _plan(db, north_manager, pulse, today, title="Still planned")
    started = _plan(db, north_manager, pulse, today, title="Already started")
    client.post(f"/surveys/actions/{started.id}/updates", data={"body": "Begun.", "status": "in_progress"})
    html = client.get("/surveys/actions/?status=in_progress").get_data(as_text=True)
    assert "Already started" in html and "Still planned" not in html


def test_employee_cannot_open_the_leaders_pages(client, login_as, pulse):
    login_as("employee", NORTH)
    assert client.get("/surveys/actions/").status_code == 403
    assert client.get("/surveys/actions/new").status_code == 403


def test_manager_writes_a_plan_through_the_form(db, client, pulse, today, north_manager):
    assert client.get("/surveys/actions/new").status_code == 200
    response = client.post("/surveys/actions/new", data=_form(pulse, NORTH, north_manager.id, today, follow_up="y"))
    assert response.status_code == 302
    created = db.session.scalars(select(ActionPlan)).one()
    assert response.headers["Location"].endswith(f"/surveys/actions/{created.id}")
    assert (created.title, created.unit_id, created.follow_up) == ("Pipeline clinic", ensure_unit(NORTH).id, True)


def test_manager_posting_a_plan_for_a_sibling_unit_gets_403(db, client, pulse, today, north_manager):
    response = client.post("/surveys/actions/new", data=_form(pulse, SOUTH, north_manager.id, today))
    assert response.status_code == 403
    assert db.session.scalars(select(ActionPlan)).all() == []


def test_refused_plan_shows_the_reason_under_the_field(db, client, pulse, today, north_manager):
    gone = make_user("employee", make_employee(NORTH, active=False))
    db.session.commit()
    response = client.post("/surveys/actions/new", data=_form(pulse, NORTH, gone.id, today))
    assert response.status_code == 422
    assert "Choose an owner whose account is active." in response.get_data(as_text=True)
    assert db.session.scalars(select(ActionPlan)).all() == []


# ------------------------------------------------------------------ the plan page


def test_update_moves_the_status_and_shows_on_the_plan_page(db, client, pulse, today, north_manager):
    p = _plan(db, north_manager, pulse, today)
    response = client.post(f"/surveys/actions/{p.id}/updates", data={"body": "First clinic held.", "status": "in_progress"})
    assert response.status_code == 302
    html = client.get(f"/surveys/actions/{p.id}").get_data(as_text=True)
    assert "First clinic held." in html
    assert re.search(r'data-testid="plan-status"><span[^>]*>In progress<', html)


def test_status_move_not_allowed_is_explained(db, client, pulse, today, north_manager):
    p = _plan(db, north_manager, pulse, today)
    response = client.post(f"/surveys/actions/{p.id}/updates", data={"body": "Done already.", "status": "done"})
    assert response.status_code == 422
    assert "can move to in progress or dropped, not to done" in response.get_data(as_text=True)


def test_manager_of_another_team_cannot_open_the_plan(db, client, login_as, pulse, today, leader):
    p = _plan(db, leader, pulse, today)
    login_as("manager", SOUTH)
    assert client.get(f"/surveys/actions/{p.id}").status_code == 403
    assert client.post(f"/surveys/actions/{p.id}/updates", data={"body": "Hi"}).status_code == 403


def test_owner_posts_updates_without_seeing_the_unit_figures(db, client, login_as, pulse, today, leader):
    owner = login_as("employee", NORTH)
    p = _plan(db, leader, pulse, today, owner_id=owner.id, follow_up=True)
    html = client.get(f"/surveys/actions/{p.id}").get_data(as_text=True)
    assert "Post an update" in html and 'data-testid="follow-up"' not in html
    assert client.post(f"/surveys/actions/{p.id}/updates", data={"body": "Agenda out."}).status_code == 302


# ------------------------------------------------------------------ the ledger


def test_ledger_shows_the_plans_of_the_unit_and_above(db, client, login_as, pulse, today, leader):
    _plan(db, leader, pulse, today, title="North clinic")
    _plan(db, leader, pulse, today, unit="Acme/EMEA", title="EMEA town hall")
    _plan(db, leader, pulse, today, unit=SOUTH, title="South clinic")
    login_as("employee", INSIDE)
    html = client.get("/surveys/you-said-we-did").get_data(as_text=True)
    assert "North clinic" in html and "EMEA town hall" in html and "South clinic" not in html
    assert leader.email in html  # the owner, named (a change leader without a roster record: their e-mail)


def test_ledger_of_another_team_does_not_show_the_plan(db, client, login_as, pulse, today, leader):
    _plan(db, leader, pulse, today, title="North clinic")
    login_as("employee", SOUTH)
    html = client.get("/surveys/you-said-we-did").get_data(as_text=True)
    assert "North clinic" not in html and "No action plans for your team yet" in html


def test_ledger_without_an_employee_record_explains(client, login_as):
    login_as("admin")
    assert "no employee record" in client.get("/surveys/you-said-we-did").get_data(as_text=True)


# ------------------------------------------------------------------ the follow-up item


@pytest.fixture
def followed_up(db, pulse, today, leader):
    """A North plan with a follow-up, written during round 1; round 2 (open today) scheduled."""
    p = plan(leader, pulse, today=today - 5 * DAY, due_on=today + 30 * DAY, follow_up=True)
    (second,) = schedule_rounds(pulse, today)
    db.session.commit()
    return p, second


def test_answer_form_shows_the_follow_up_only_inside_the_unit(client, login_as, followed_up):
    p, second = followed_up
    login_as("employee", NORTH)
    assert 'Has this action made a difference? &#34;Weekly pipeline clinic&#34;' in client.get(
        f"/surveys/rounds/{second.id}").get_data(as_text=True)
    client.post("/logout")
    login_as("employee", SOUTH)
    html = client.get(f"/surveys/rounds/{second.id}").get_data(as_text=True)
    assert "Has this action made a difference?" not in html
    assert f'name="q{p.follow_up_round_question_id}"' not in html


def test_follow_up_posted_from_outside_the_unit_is_not_recorded(db, client, login_as, followed_up):
    p, second = followed_up
    login_as("employee", SOUTH)
    first, enps = second.questions[0].id, second.questions[1].id
    response = client.post(f"/surveys/rounds/{second.id}", data={
        f"q{first}": "4", f"q{enps}": "8", f"q{p.follow_up_round_question_id}": "5", "send": "1"})
    assert response.status_code == 302
    assert db.session.scalars(select(Response)).one()
    assert db.session.scalars(select(Answer).where(Answer.round_question_id == p.follow_up_round_question_id)).all() == []


def _prepare(db, second, north: int):
    """``north`` people of North (follow-up 4) and five of South answer round 2; it is prepared."""
    for _ in range(north):
        answer(second, make_employee(NORTH), follow_up=4)
    for _ in range(5):
        answer(second, make_employee(SOUTH))
    prepare_round_results(second, {"SURVEY_MIN_RESPONDENTS": 5, "SURVEY_MIN_COMMENT_RESPONDENTS": 5},
                          second.closes_on + DAY)
    db.session.commit()


def test_plan_page_shows_the_follow_up_result_above_the_threshold(db, client, login_as, followed_up):
    p, second = followed_up
    _prepare(db, second, north=5)
    login_as("manager", NORTH)
    html = client.get(f"/surveys/actions/{p.id}").get_data(as_text=True)
    assert re.search(r'data-testid="follow-up-favourable".*?stat-value">100%<', html, re.DOTALL)
    assert re.search(r'data-testid="follow-up-mean".*?stat-value">4.0<', html, re.DOTALL)


def test_plan_page_shows_the_suppressed_message_below_the_threshold(db, client, login_as, followed_up):
    p, second = followed_up
    _prepare(db, second, north=4)
    login_as("manager", NORTH)
    html = client.get(f"/surveys/actions/{p.id}").get_data(as_text=True)
    assert SUPPRESSED_MESSAGE in html
    assert 'data-testid="follow-up-favourable"' not in html


# ------------------------------------------------------------------ CSRF and navigation


def _token(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_plan_forms_need_their_csrf_token(db, client, pulse, today):
    manager = make_user("manager", make_employee(NORTH))
    db.session.commit()
    token = _token(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": manager.email, "password": DEFAULT_PASSWORD, "csrf_token": token})
    data = _form(pulse, NORTH, manager.id, today)
    assert client.post("/surveys/actions/new", data=data).status_code == 400
    token = _token(client.get("/surveys/actions/new").get_data(as_text=True))
    response = client.post("/surveys/actions/new", data={**data, "csrf_token": token})
    assert response.status_code == 302
    plan_url = response.headers["Location"]
    assert client.post(plan_url + "/updates", data={"body": "No token."}).status_code == 400
    token = _token(client.get(plan_url).get_data(as_text=True))
    assert client.post(plan_url + "/updates", data={"body": "With token.", "csrf_token": token}).status_code == 302


def _nav(html: str) -> list[str]:
    nav = html.split('id="mainnav"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'class="nav-link[^"]*"[^>]*>([^<]+)<', nav)


def test_navigation_links_leaders_to_action_plans_and_everyone_to_the_ledger(client, login_as):
    login_as("manager", NORTH)
    labels = _nav(client.get("/").get_data(as_text=True))
    assert "Action plans" in labels and "You said, we did" in labels
    client.post("/logout")
    login_as("employee", NORTH)
    labels = _nav(client.get("/").get_data(as_text=True))
    assert "Action plans" not in labels and "You said, we did" in labels
