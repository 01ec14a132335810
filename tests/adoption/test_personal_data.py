"""A person's data (adoption/personal_data.py): everyone downloads their own; an admin downloads
anyone's for a request, without what was given in confidence (survey participation, drafts,
comments, confidential reminders); no one else gets anyone's. Tried on the demo organization,
whose people have CRM use, training, survey answers, comments and conversations."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from adoption.demo import DEMO_PASSWORD
from adoption.extensions import db as _db
from adoption.models import Employee, PersonalDataExport, Role, User
from adoption.personal_data import personal_data, recent_exports, record_export
from adoption.scope import ScopeError, scope_for
from tests.conftest import OwnContextClient, demo_loaded

NOW = dt.datetime(2026, 11, 23, 12)
EMPLOYEE = "abigail.robinson@acme.example"  # the demo's employee login: she speaks up in the pulse


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    with demo_loaded(tmp_path_factory.mktemp("personal_data"), 7) as (app, _summary):
        app.test_client_class = OwnContextClient
        yield app
        _db.session.rollback()


def signed_in(app, email: str):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    return client


def user(email: str) -> User:
    return _db.session.scalar(select(User).where(User.email == email))


def own_document(app) -> dict:
    response = signed_in(app, EMPLOYEE).get("/me/data.json")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()


def sections(document: dict) -> dict[str, list]:
    return {s["key"]: s["records"] for s in document["sections"]}


def test_an_employee_downloads_everything_uptake_holds_about_them(loaded):
    document = own_document(loaded)
    found = sections(document)
    assert document["subject"]["email"] == EMPLOYEE
    assert found["employee"][0]["email"] == EMPLOYEE and found["unit_history"]
    assert found["account"] == [{**found["account"][0], "email": EMPLOYEE, "role": "employee"}]
    for key in ("crm_usage_daily", "training_enrollments", "commitments", "xapi_statements",
                "survey_participation", "survey_comments", "conversations", "outbox"):
        assert found[key], key
    assert all(isinstance(day["day"], str) for day in found["crm_usage_daily"])  # ISO dates
    assert any("answers" in item["what"] for item in document["not_included"])
    assert "password_hash" not in json.dumps(document)


def test_the_comments_in_ones_own_download_are_exactly_ones_own(loaded):
    from surveys.authorship import is_author
    from surveys.models import Comment

    abigail = user(EMPLOYEE).employee
    mine = [c.body for c in _db.session.scalars(select(Comment))
            if is_author(abigail.id, c.round_id, c.id, c.author_key)]
    assert mine and sorted(c["text"] for c in sections(own_document(loaded))["survey_comments"]) == sorted(mine)


def test_an_admins_download_for_someone_leaves_out_what_they_gave_in_confidence(loaded):
    own = own_document(loaded)
    admin = signed_in(loaded, "admin@acme.example")
    response = admin.get("/admin/personal-data/download", query_string={"person": EMPLOYEE})
    assert response.status_code == 200
    document = response.get_json()
    found = sections(document)
    assert not {"survey_participation", "survey_drafts", "survey_comments", "conversations"} & found.keys()
    assert found["training_enrollments"] == sections(own)["training_enrollments"]
    assert found["crm_usage_daily"] == sections(own)["crm_usage_daily"]
    text = json.dumps(document)
    assert not [c["text"] for c in sections(own)["survey_comments"] if c["text"] in text]  # not one of hers
    assert any("only the person can download them" in item["why"] for item in document["not_included"])


def test_the_admins_page_finds_a_person_by_hr_id_and_says_when_no_one_matches(loaded):
    admin = signed_in(loaded, "admin@acme.example")
    abigail = user(EMPLOYEE).employee
    page = admin.get("/admin/personal-data", query_string={"person": abigail.hr_id})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert abigail.full_name in html and "Training modules you started" in html
    assert admin.get("/admin/personal-data/download", query_string={"person": abigail.hr_id}).status_code == 200
    exports = admin.get("/admin/personal-data").get_data(as_text=True).split('data-testid="personal-data-exports"')[1]
    assert f"{abigail.full_name} ({abigail.hr_id})" in exports and "admin@acme.example" in exports
    missing = admin.get("/admin/personal-data", query_string={"person": "NOBODY-1"})
    assert missing.status_code == 404 and "No employee or account has" in missing.get_data(as_text=True)
    assert admin.get("/admin/personal-data/download", query_string={"person": "NOBODY-1"}).status_code == 404


@pytest.mark.parametrize("login", ["sophie.stewart@acme.example", "thiago.santos@acme.example",
                                   "rahul.rao@acme.example", EMPLOYEE])
def test_no_one_but_admins_reaches_the_admins_page_or_anyone_elses_data(loaded, login):
    client = signed_in(loaded, login)
    assert client.get("/admin/personal-data", query_string={"person": EMPLOYEE}).status_code == 403
    assert client.get("/admin/personal-data/download", query_string={"person": EMPLOYEE}).status_code == 403
    reader = user(login)
    someone_else = _db.session.scalar(select(Employee).where(Employee.id != reader.employee_id,
                                                             Employee.manager_id == reader.employee_id)) \
        or _db.session.scalar(select(Employee).where(Employee.id != reader.employee_id))
    with pytest.raises(ScopeError):  # the data layer refuses it, whatever the page
        personal_data(scope_for(reader), someone_else, None, NOW)
    with pytest.raises(ScopeError):
        recent_exports(scope_for(reader))
    with pytest.raises(ScopeError):
        record_export(scope_for(reader), someone_else, None, NOW)


def test_ones_own_download_is_not_recorded_as_an_admins(loaded):
    before = _db.session.scalar(select(func.count()).select_from(PersonalDataExport))
    own_document(loaded)
    signed_in(loaded, "admin@acme.example").get("/me/data.json")
    _db.session.expire_all()
    assert _db.session.scalar(select(func.count()).select_from(PersonalDataExport)) == before


def test_an_account_without_an_employee_record_gets_its_account(loaded):
    response = signed_in(loaded, "admin@acme.example").get("/me/data.json")
    found = sections(response.get_json())
    assert found["account"][0]["role"] == Role.ADMIN.value and "employee" not in found
