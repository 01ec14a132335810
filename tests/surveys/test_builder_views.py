"""The survey builder pages: list, create and edit, a survey's page, activate and close."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from adoption.timekeeping import org_today
from surveys.models import Survey, SurveyStatus
from surveys.services import current_item_version
from tests.factories import DEFAULT_PASSWORD, make_unit, make_user


@pytest.fixture
def builder(app, client, login_as, bank):
    """The client signed in as a change leader, with two units to address."""
    make_unit("Acme/EMEA/Sales North")
    make_unit("Acme/Americas")
    login_as("change_leader", unit="Acme/HQ")
    return client


def _unit_id(path: str) -> int:
    return make_unit(path).id


def _form(**overrides) -> dict:
    """A valid builder form: two bank items, one custom single-choice question, monthly."""
    data = {
        "title": "CRM pulse",
        "units": [str(_unit_id("Acme/EMEA"))],
        "recurrence": "monthly",
        "first_opens_on": "2025-03-03",
        "round_length_days": "7",
        "items": [str(current_item_version("engagement.energy").id), str(current_item_version("enps.recommend").id)],
        "item_comments": [str(current_item_version("engagement.energy").id)],
        "custom-0-wording": "Which screen slows you down most?",
        "custom-0-scale": "single",
        "custom-0-options": "Pipeline\nAccounts\nReports",
        "custom-0-required": "y",
        "custom-1-wording": "",
        "custom-1-scale": "likert5",
        "save": "Save survey",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _surveys(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Survey))


def test_change_leader_creates_a_survey_from_bank_items_and_a_custom_question(builder, db):
    response = builder.post("/surveys/manage/new", data=_form())
    survey = db.session.scalars(select(Survey)).one()
    assert response.status_code == 302 and response.location.endswith(f"/surveys/manage/{survey.id}")
    assert survey.status == SurveyStatus.DRAFT.value and survey.recurrence == "monthly"
    assert [u.path for u in survey.audience_units] == ["Acme/EMEA"]
    keys = [q.item_version.item.key if q.item_version else q.custom_wording for q in survey.questions]
    assert keys == ["engagement.energy", "enps.recommend", "Which screen slows you down most?"]
    assert [q.allow_comment for q in survey.questions] == [True, False, False]
    assert survey.questions[2].options == ["Pipeline", "Accounts", "Reports"]


def test_new_survey_form_labels_every_control(builder):
    html = builder.get("/surveys/manage/new").get_data(as_text=True)
    ids = set(re.findall(r'<(?:input(?! [^>]*type="submit")|select|textarea)[^>]*\bid="([^"]+)"', html))
    labelled = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', html))
    assert ids - labelled <= {"csrf_token"}
    assert "Custom question 3" in html and "Most days I start work with energy" in html


def test_choice_scale_without_options_is_refused_with_input_kept(builder, db):
    response = builder.post("/surveys/manage/new", data=_form(**{"custom-0-options": ""}))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and _surveys(db) == 0
    assert "a choice question needs at least two options" in html
    assert "Which screen slows you down most?" in html and 'value="CRM pulse"' in html


def test_impossible_sampling_is_refused_with_input_kept(builder, db):
    response = builder.post("/surveys/manage/new", data=_form(max_items_per_round="1", rotate_every="2"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and _surveys(db) == 0
    assert "cannot each be asked every 2 rounds" in html
    assert re.search(r'id="max_items_per_round"[^>]*value="1"', html)


def test_missing_title_and_units_are_shown_next_to_their_fields(builder, db):
    response = builder.post("/surveys/manage/new", data=_form(title="", units=None))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and _surveys(db) == 0
    assert 'id="units-error"' in html and 'id="title-error"' in html


def test_survey_list_shows_status_audience_and_next_round(builder, db):
    builder.post("/surveys/manage/new", data=_form())
    html = builder.get("/surveys/manage/").get_data(as_text=True)
    assert "CRM pulse" in html and "Draft" in html and "Acme/EMEA" in html and "Monthly" in html


def test_activate_schedules_rounds_through_today(builder, app, db):
    today = org_today(app.config["ORG_TIMEZONE"])
    start = today - dt.timedelta(days=14)
    builder.post("/surveys/manage/new", data=_form(recurrence="weekly", first_opens_on=start.isoformat()))
    survey = db.session.scalars(select(Survey)).one()
    response = builder.post(f"/surveys/manage/{survey.id}/activate")
    assert response.status_code == 302
    db.session.expire_all()
    assert survey.status == SurveyStatus.ACTIVE.value
    assert [r.opens_on for r in survey.rounds] == [start, start + dt.timedelta(days=7), today]
    html = builder.get(f"/surveys/manage/{survey.id}").get_data(as_text=True)
    assert "3 rounds scheduled" in html and "Close survey" in html


def test_close_stops_an_active_survey(builder, db):
    builder.post("/surveys/manage/new", data=_form())
    survey = db.session.scalars(select(Survey)).one()
    builder.post(f"/surveys/manage/{survey.id}/activate")
    builder.post(f"/surveys/manage/{survey.id}/close")
    db.session.expire_all()
    assert survey.status == SurveyStatus.CLOSED.value


def test_edit_keeps_the_schedule_fixed_once_rounds_exist(builder, db):
    builder.post("/surveys/manage/new", data=_form())
    survey = db.session.scalars(select(Survey)).one()
    builder.post(f"/surveys/manage/{survey.id}/activate")
    html = builder.get(f"/surveys/manage/{survey.id}/edit").get_data(as_text=True)
    assert "cannot change" in html and re.search(r'<input[^>]* disabled [^>]*id="first_opens_on"', html)
    data = _form(title="CRM pulse, renamed", recurrence=None, first_opens_on=None, round_length_days=None)
    assert builder.post(f"/surveys/manage/{survey.id}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert survey.title == "CRM pulse, renamed" and survey.first_opens_on == dt.date(2025, 3, 3)
    assert len(survey.active_questions) == 3


def test_edit_form_shows_the_survey_as_saved(builder, db):
    builder.post("/surveys/manage/new", data=_form())
    survey = db.session.scalars(select(Survey)).one()
    html = builder.get(f"/surveys/manage/{survey.id}/edit").get_data(as_text=True)
    energy = current_item_version("engagement.energy").id
    assert re.search(rf'id="item-{energy}" value="{energy}" checked', html)
    assert "Which screen slows you down most?" in html and "Custom question 4" in html


@pytest.mark.parametrize("role", ["manager", "employee", "executive"])
def test_builder_pages_are_forbidden_to_other_roles(client, login_as, db, role):
    login_as(role)
    assert client.get("/surveys/manage/").status_code == 403
    assert client.get("/surveys/manage/new").status_code == 403
    assert client.post("/surveys/manage/new", data={"title": "x"}).status_code == 403


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_builder_forms_need_the_csrf_token(client, db, bank):
    def token(url: str) -> str:
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get(url).get_data(as_text=True)).group(1)

    user = make_user("change_leader")
    make_unit("Acme/EMEA")
    db.session.commit()
    client.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD, "csrf_token": token("/login")})
    assert client.post("/surveys/manage/new", data=_form()).status_code == 400
    assert _surveys(db) == 0
    response = client.post("/surveys/manage/new", data={**_form(), "csrf_token": token("/surveys/manage/new")})
    assert response.status_code == 302
    survey = db.session.scalars(select(Survey)).one()
    assert client.post(f"/surveys/manage/{survey.id}/activate").status_code == 400
    db.session.expire_all()
    assert survey.status == SurveyStatus.DRAFT.value
    url = f"/surveys/manage/{survey.id}"
    assert client.post(url + "/activate", data={"csrf_token": token(url)}).status_code == 302


def test_surveys_entry_not_my_surveys_is_marked_current_on_builder_pages(builder):
    html = builder.get("/surveys/manage/new").get_data(as_text=True)
    assert re.search(r'href="/surveys/manage/" aria-current="page">Surveys<', html)
    assert 'href="/surveys/" aria-current' not in html
