"""The demo's external learning system: what "Acme Learning" sends through the xAPI intake, on the
small demo loaded once for the module (tests/conftest.py ``demo_loaded``)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from adoption.demo_calendar import REFERENCE
from adoption.extensions import db as _db
from adoption.models import ApiToken, Employee, Role, User
from tests.conftest import demo_loaded
from training.demo_external import COURSES, TOKEN_NAME, demo_statements, personal_address
from training.models import LearnerAlias, XapiStatement
from training.xapi_intake import VOIDED_VERB, learning_elsewhere

SEED = 7


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    with demo_loaded(tmp_path_factory.mktemp("demo_external"), SEED) as (app, summary):
        yield app, summary
        _db.session.rollback()


def _external():
    token = _db.session.scalar(select(ApiToken).where(ApiToken.name == TOKEN_NAME))
    return token, list(_db.session.scalars(select(XapiStatement).where(XapiStatement.token_id == token.id)))


def test_the_lms_sent_both_courses_with_attributed_unmatched_and_voided_records(loaded):
    token, statements = _external()

    assert token.scope == "xapi:write" and token.revoked_at is None
    assert {s.activity for s in statements if s.activity} == {c.iri for c in COURSES}
    attributed = {s.employee_id for s in statements if s.employee_id is not None}
    unmatched = {s.actor_key for s in statements if s.employee_id is None and s.verb != VOIDED_VERB}
    assert len(attributed) > 300
    assert len(unmatched) == 3 and all("northwind-partners" in key for key in unmatched)
    assert [s.verb for s in statements if s.voided] == ["http://adlnet.gov/expapi/verbs/completed"]
    assert any(key.startswith("mbox_sha1sum:") for key in (s.actor_key for s in statements))
    assert all(s.employee_id is not None for s in statements if s.actor_key.startswith("mbox_sha1sum:"))
    [line] = [x for x in loaded[1].extras if x.startswith("External learning")]
    assert f"{len(statements)} xAPI statements" in line and "3 learners not on the roster, 1 voided" in line


def test_one_employee_known_to_the_lms_by_a_personal_address_was_mapped_by_the_admin(loaded):
    _token, statements = _external()
    [alias] = _db.session.scalars(select(LearnerAlias))
    employee = _db.session.get(Employee, alias.employee_id)
    admin = _db.session.get(User, alias.created_by_id)
    assert alias.actor_key == f"mbox:mailto:{personal_address(employee.email)}"
    assert admin.role == Role.ADMIN.value and employee.crm_user_id is not None
    theirs = [s for s in statements if s.actor_key == alias.actor_key]
    assert theirs and all(s.employee_id == employee.id for s in theirs)
    [line] = [x for x in loaded[1].extras if x.startswith("External learning")]
    assert "(1 by an address the admin mapped)" in line


def test_the_records_fall_between_each_course_opening_and_the_end_of_usage(loaded):
    _token, statements = _external()
    opens = {c.iri: REFERENCE.day(c.opens_on) for c in COURSES}
    for s in statements:
        if s.activity:
            assert opens[s.activity] <= s.timestamp.date() <= REFERENCE.usage_end
            assert s.timestamp.weekday() < 5


def test_some_fail_the_assessment_first_and_pass_it_on_a_retake(loaded):
    _token, statements = _external()
    quiz = COURSES[1].iri
    failed = {s.employee_id for s in statements if s.activity == quiz and s.verb.endswith("/failed")}
    passed = {s.employee_id for s in statements if s.activity == quiz and s.verb.endswith("/passed")}
    assert failed and len(failed & passed) >= len(failed) // 2


def test_the_demo_employee_finds_the_lms_records_on_my_training(loaded):
    abigail = _db.session.scalar(select(Employee).join(User, User.employee_id == Employee.id)
                                 .where(User.email == "abigail.robinson@acme.example"))
    records = learning_elsewhere(abigail)
    assert "CRM data quality (e-learning)" in {r.name for r in records}
    assert all(r.outcome in ("Completed", "Passed", "Not passed") for r in records)


def test_the_statements_are_the_same_for_one_seed_and_differ_for_another(loaded):
    people = [(e, c is not None, False) for e, c in _db.session.execute(
        select(Employee.email, Employee.crm_user_id).order_by(Employee.hr_id).limit(80))]
    first = demo_statements(SEED, REFERENCE, people)
    assert demo_statements(SEED, REFERENCE, people) == first
    assert demo_statements(SEED + 1, REFERENCE, people) != first
    assert len({s["id"] for s in first}) == len(first)
    assert _db.session.scalar(select(func.count()).select_from(XapiStatement).where(
        XapiStatement.voided.is_(True))) == 1
