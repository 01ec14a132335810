"""Answering in the browser's place: My surveys, the form with CSRF on, drafts, confirmation."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from adoption.timekeeping import org_today
from surveys.models import Participation, Response, ResponseDraft
from tests.factories import DEFAULT_PASSWORD, make_employee, make_user


@pytest.fixture
def app_config():
    """CSRF stays on: the answer form must carry its token."""
    return {"WTF_CSRF_ENABLED": True}


def _token(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


@pytest.fixture
def employee_client(app, client, db):
    """The client signed in as an employee of Sales North (with CSRF tokens, as a browser would)."""
    employee = make_employee("Acme/EMEA/Sales North")
    make_user("employee", employee)
    db.session.commit()
    token = _token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": employee.email, "password": DEFAULT_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    client.employee = employee
    return client


@pytest.fixture
def open_round(app, db, build_survey):
    """A round of the default survey open today."""
    today = org_today(app.config["ORG_TIMEZONE"])
    survey_round = build_survey(first_opens_on=today, through=today).rounds[0]
    db.session.commit()
    return survey_round


def _form(survey_round, energy="4", enps="8", button="send"):
    q = [rq.id for rq in survey_round.questions]
    data = {f"q{q[0]}": energy, f"q{q[0]}-comment": "Too many fields", f"q{q[1]}": enps,
            f"q{q[2]}": ["Pipeline", "Reports"], f"q{q[3]}": ""}
    data[button] = "1"
    return data


def _post(client, survey_round, data):
    url = f"/surveys/rounds/{survey_round.id}"
    data = {**data, "csrf_token": _token(client.get(url).get_data(as_text=True))}
    return client.post(url, data=data)


def _count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_my_surveys_lists_the_open_round(employee_client, open_round):
    html = employee_client.get("/surveys/").get_data(as_text=True)
    assert "CRM pulse" in html and f"/surveys/rounds/{open_round.id}" in html


def test_my_surveys_without_employee_record_explains(client, login_as, app):
    app.config["WTF_CSRF_ENABLED"] = False
    login_as("admin")
    assert "no employee record" in client.get("/surveys/").get_data(as_text=True)


def test_answer_form_has_a_fieldset_and_legend_per_question(employee_client, open_round):
    html = employee_client.get(f"/surveys/rounds/{open_round.id}").get_data(as_text=True)
    assert html.count("<fieldset") == html.count("<legend") == 4
    assert 'name="csrf_token"' in html


def test_every_choice_has_a_label(employee_client, open_round):
    html = employee_client.get(f"/surveys/rounds/{open_round.id}").get_data(as_text=True)
    ids = re.findall(r'<input class="[^"]*" type="(?:radio|checkbox)"[^>]*id="([^"]+)"', html)
    assert len(ids) == 5 + 11 + 3
    assert all(f'for="{i}"' in html for i in ids)


def test_post_without_csrf_token_is_refused(employee_client, open_round, db):
    response = employee_client.post(f"/surveys/rounds/{open_round.id}", data=_form(open_round))
    assert response.status_code == 400
    assert _count(db, Response) == 0


def test_submit_records_the_response_and_confirms_who_sees_what(employee_client, open_round, db):
    response = _post(employee_client, open_round, _form(open_round))
    assert response.status_code == 302 and response.location.endswith(f"/surveys/rounds/{open_round.id}/submitted")
    html = employee_client.get(response.location).get_data(as_text=True)
    assert "at least 5 people answered" in html and "without your name" in html
    assert _count(db, Response) == 1 and _count(db, Participation) == 1


def test_second_submission_is_refused(employee_client, open_round, db):
    _post(employee_client, open_round, _form(open_round))
    url = f"/surveys/rounds/{open_round.id}"
    response = employee_client.post(url, data={**_form(open_round), "csrf_token": _token(
        employee_client.get("/surveys/").get_data(as_text=True))}, follow_redirects=True)
    assert "already answered this survey" in response.get_data(as_text=True)
    assert _count(db, Response) == 1


def test_save_draft_keeps_answers_for_the_next_visit(employee_client, open_round, db):
    response = _post(employee_client, open_round, _form(open_round, energy="2", enps="", button="save"))
    assert response.status_code == 302
    html = employee_client.get(f"/surveys/rounds/{open_round.id}").get_data(as_text=True)
    q0 = open_round.questions[0].id
    assert re.search(rf'id="q{q0}-2" value="2" checked', html)
    assert _count(db, ResponseDraft) == 1 and _count(db, Response) == 0


def test_submit_after_draft_deletes_it(employee_client, open_round, db):
    _post(employee_client, open_round, _form(open_round, button="save"))
    _post(employee_client, open_round, _form(open_round))
    assert _count(db, ResponseDraft) == 0 and _count(db, Response) == 1


def test_missing_answer_shows_the_error_and_keeps_the_others(employee_client, open_round, db):
    response = _post(employee_client, open_round, _form(open_round, enps=""))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Question 2: this question needs an answer." in html
    assert "Too many fields" in html
    assert _count(db, Response) == 0


def test_round_of_another_audience_is_not_shown(employee_client, db, build_survey, app):
    today = org_today(app.config["ORG_TIMEZONE"])
    other = build_survey(units=("Acme/Americas",), first_opens_on=today, through=today).rounds[0]
    db.session.commit()
    response = employee_client.get(f"/surveys/rounds/{other.id}", follow_redirects=True)
    assert "not open for you" in response.get_data(as_text=True)
