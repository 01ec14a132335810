"""External learners who match no one on the roster: an admin maps their identifier to an
employee, the records are attributed at once and the next ones on arrival; the roster keeps
precedence, and only admins may map (checked in the data layer)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from adoption.models import Role
from adoption.scope import Scope, ScopeError
from adoption.telemetry.identity import IdentityError
from adoption.tokens import issue_token
from tests.factories import make_employee
from training.models import LearnerAlias, XapiStatement
from training.xapi_learners import learner_aliases, map_learner

URL = "/xapi/statements"
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
PERSONAL = "mbox:mailto:ana.private@mail.example"
ADMIN = Scope(Role.ADMIN, None, None, None, True)
CHANGE_LEADER = Scope(Role.CHANGE_LEADER, None, None, None, True)


@pytest.fixture
def send(app, client, db):
    """POST statements with an xapi:write token, as the LMS does."""
    _, plaintext = issue_token("Acme Learning", "xapi:write", created_by_id=None)
    db.session.commit()

    def _send(*emails: str) -> None:
        body = [{"actor": {"mbox": f"mailto:{email}"}, "verb": {"id": COMPLETED},
                 "object": {"id": f"https://lms.example/course/{n}"}, "timestamp": "2026-10-05T09:30:00Z"}
                for n, email in enumerate(emails)]
        response = client.post(URL, data=json.dumps(body), content_type="application/json",
                               headers={"Authorization": f"Bearer {plaintext}", "X-Experience-API-Version": "1.0.3"})
        assert response.status_code == 200, response.get_json()

    return _send


def attributed_to(db, employee) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(XapiStatement)
                             .where(XapiStatement.employee_id == employee.id))


def test_an_admin_maps_an_identifier_and_its_records_are_attributed_at_once(client, db, login_as, send):
    ana = make_employee(hr_id="E-ANA", email="ana@acme.example")
    db.session.commit()
    send("ana.private@mail.example", "ana.private@mail.example", "ghost@partner.example")
    admin = login_as("admin")

    response = client.post("/training/manage/external/map", data={"actor_key": PERSONAL, "employee": "E-ANA"})

    assert response.status_code == 302
    assert attributed_to(db, ana) == 2
    [alias] = db.session.scalars(select(LearnerAlias))
    assert (alias.actor_key, alias.employee_id, alias.created_by_id) == (PERSONAL, ana.id, admin.id)
    page = client.get("/training/manage/external").get_data(as_text=True)
    assert "2 records attributed to" in page
    assert PERSONAL not in page.split('data-testid="learner-aliases"')[0]  # no longer unmatched...
    assert "ghost@partner.example" in page  # ...unlike the other one
    assert [(a.actor_key, a.hr_id, a.mapped_by) for a in learner_aliases(CHANGE_LEADER)] == [
        (PERSONAL, "E-ANA", admin.email)]


def test_a_record_arriving_after_the_mapping_is_attributed_on_arrival(db, send):
    ana = make_employee(email="ana@acme.example")
    db.session.commit()
    send("ana.private@mail.example")
    map_learner(ADMIN, PERSONAL, ana.id, created_by_id=None)
    db.session.commit()
    send("ANA.private@mail.example")
    assert attributed_to(db, ana) == 2


def test_mapping_the_same_identifier_again_changes_nothing(db, send):
    ana = make_employee(email="ana@acme.example")
    db.session.commit()
    send("ana.private@mail.example")
    assert map_learner(ADMIN, PERSONAL, ana.id, created_by_id=None).attributed == 1
    assert map_learner(ADMIN, PERSONAL, ana.id, created_by_id=None).attributed == 0
    assert db.session.scalar(select(func.count()).select_from(LearnerAlias)) == 1


def test_an_identifier_the_roster_gives_to_someone_else_is_refused(client, db, login_as, send):
    make_employee(hr_id="E-BOB", email="bob@acme.example")
    ana = make_employee(hr_id="E-ANA", email="ana@acme.example")
    db.session.commit()
    send("bob@acme.example")
    with pytest.raises(IdentityError, match="already names"):
        map_learner(ADMIN, "mbox:mailto:bob@acme.example", ana.id, created_by_id=None)
    db.session.rollback()
    login_as("admin")
    response = client.post("/training/manage/external/map",
                           data={"actor_key": "mbox:mailto:bob@acme.example", "employee": "E-ANA"})
    assert response.status_code == 400
    assert "already names" in response.get_data(as_text=True)
    assert attributed_to(db, ana) == 0
    assert db.session.scalar(select(func.count()).select_from(LearnerAlias)) == 0


def test_an_identifier_mapped_to_someone_cannot_be_mapped_to_another(db, send):
    ana, bea = make_employee(email="ana@acme.example"), make_employee(email="bea@acme.example")
    db.session.commit()
    send("ana.private@mail.example")
    map_learner(ADMIN, PERSONAL, ana.id, created_by_id=None)
    with pytest.raises(IdentityError, match="already names"):
        map_learner(ADMIN, PERSONAL, bea.id, created_by_id=None)


def test_an_inactive_employee_or_an_identifier_no_record_names_is_refused(db, send):
    gone = make_employee(email="gone@acme.example", active=False)
    ana = make_employee(email="ana@acme.example")
    db.session.commit()
    send("ana.private@mail.example")
    with pytest.raises(IdentityError, match="no longer active"):
        map_learner(ADMIN, PERSONAL, gone.id, created_by_id=None)
    with pytest.raises(IdentityError, match="No record names"):
        map_learner(ADMIN, "mbox:mailto:never-sent@mail.example", ana.id, created_by_id=None)


def test_an_employee_reference_that_names_no_one_is_a_form_error(client, db, login_as, send):
    send("ana.private@mail.example")
    login_as("admin")
    response = client.post("/training/manage/external/map", data={"actor_key": PERSONAL, "employee": "E-NOBODY"})
    assert response.status_code == 400
    assert "No employee has the HR id or e-mail" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(LearnerAlias)) == 0


def test_change_leaders_see_the_mapped_identifiers_but_only_admins_map(client, db, login_as, send):
    ana = make_employee(hr_id="E-ANA", email="ana@acme.example")
    db.session.commit()
    send("ana.private@mail.example")
    login_as("change_leader", unit="Acme/HQ")
    page = client.get("/training/manage/external").get_data(as_text=True)
    assert PERSONAL in page and "/training/manage/external/map" not in page
    response = client.post("/training/manage/external/map", data={"actor_key": PERSONAL, "employee": "E-ANA"})
    assert response.status_code == 403
    with pytest.raises(ScopeError):
        map_learner(CHANGE_LEADER, PERSONAL, ana.id, created_by_id=None)
    assert attributed_to(db, ana) == 0


@pytest.mark.parametrize("role", [Role.EMPLOYEE, Role.MANAGER, Role.EXECUTIVE])
def test_other_roles_can_neither_map_nor_list_the_mapped_identifiers(db, role):
    scope = Scope(role, None, None, None, role == Role.EXECUTIVE)
    with pytest.raises(ScopeError):
        map_learner(scope, PERSONAL, 1, created_by_id=None)
    with pytest.raises(ScopeError):
        learner_aliases(scope)
