"""Statements from an external learning system: POST and PUT /xapi/statements (scope xapi:write),
all or nothing per request with every problem reported, idempotent by id, conflicts refused,
voiding, attribution to the roster (now or after a roster import), limits and rate limits."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import uuid

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from adoption.models import Employee, Role
from adoption.roster import import_roster
from adoption.scope import Scope, ScopeError
from adoption.timekeeping import org_today
from adoption.tokens import issue_token
from tests.factories import DEFAULT_PASSWORD, make_employee, make_user
from training import xapi, xapi_intake, xapi_learners
from training.models import XapiStatement

HOME = "https://uptake.acme.example"
LMS = "https://lms.acme.example"
URL = "/xapi/statements"
COURSE = f"{LMS}/courses/crm-data-quality"
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"


@pytest.fixture
def app_config():
    return {"BASE_URL": HOME, "XAPI_ROSTER_HOMEPAGES": LMS}


@pytest.fixture
def lms_token(app, db):
    """A live token with scope xapi:write, as an admin gives it to the LMS."""
    _, plaintext = issue_token("Acme Learning", "xapi:write", created_by_id=None)
    db.session.commit()
    return plaintext


def headers(token: str | None, version: str | None = "1.0.3") -> dict:
    out = {}
    if token is not None:
        out["Authorization"] = f"Bearer {token}"
    if version is not None:
        out["X-Experience-API-Version"] = version
    return out


def post(client, token, body, **kwargs):
    return client.post(URL, data=json.dumps(body), content_type="application/json",
                       headers=headers(token, **kwargs))


def completed(email: str = "ana@acme.example", *, statement_id: str | None = None,
              when: str = "2026-10-05T09:30:00Z", **extra) -> dict:
    statement = {"actor": {"objectType": "Agent", "mbox": f"mailto:{email}"},
                 "verb": {"id": COMPLETED, "display": {"en-US": "completed"}},
                 "object": {"objectType": "Activity", "id": COURSE,
                            "definition": {"name": {"en-US": "CRM data quality"}}},
                 "timestamp": when, **extra}
    if statement_id is not None:
        statement["id"] = statement_id
    return statement


def rows(db) -> list[XapiStatement]:
    db.session.expire_all()
    return list(db.session.scalars(select(XapiStatement).order_by(XapiStatement.timestamp)))


def read_back(client, db, statement_id: str, **params) -> dict:
    _, reader = issue_token("LRS export", "read", created_by_id=None)
    db.session.commit()
    response = client.get(URL, query_string={"statementId": statement_id, **params}, headers=headers(reader))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# ------------------------------------------------------------------ storing and reading back


def test_a_posted_statement_is_stored_attributed_by_mbox_and_read_back(client, db, lms_token):
    ana = make_employee(hr_id="E-ANA", email="ana@acme.example")
    db.session.commit()

    response = post(client, lms_token, completed("Ana@Acme.example"))

    assert response.status_code == 200
    [statement_id] = response.get_json()
    [row] = rows(db)
    assert str(row.id) == statement_id and row.employee_id == ana.id and row.token_id is not None
    assert row.activity == COURSE and row.activity_name == "CRM data quality" and not row.voided
    assert row.timestamp == dt.datetime(2026, 10, 5, 9, 30)
    stored = read_back(client, db, statement_id)
    assert stored["actor"] == {"objectType": "Agent", "mbox": "mailto:Ana@Acme.example"}  # as sent
    assert stored["version"] == "1.0.0" and stored["stored"].endswith("Z")
    assert stored["authority"]["name"] == "Acme Learning"
    assert stored["authority"]["account"]["homePage"] == HOME


def test_an_array_keeps_its_order_and_statements_without_an_id_get_one(client, db, lms_token):
    given = str(uuid.uuid4())
    body = [completed("a@x.example"), completed("b@x.example", statement_id=given), completed("c@x.example")]

    response = post(client, lms_token, body)

    assert response.status_code == 200
    ids = response.get_json()
    assert len(ids) == 3 and ids[1] == given and len(set(ids)) == 3
    assert {str(r.id) for r in rows(db)} == set(ids)


def test_a_statement_without_a_timestamp_takes_its_stored_time(client, db, lms_token):
    statement = completed()
    del statement["timestamp"]
    [statement_id] = post(client, lms_token, statement).get_json()
    stored = read_back(client, db, statement_id)
    assert stored["timestamp"] == stored["stored"]


def test_sending_the_same_statements_again_stores_nothing_new(client, db, lms_token):
    body = [completed("a@x.example", statement_id=str(uuid.uuid4())),
            completed("b@x.example", statement_id=str(uuid.uuid4()))]
    first = post(client, lms_token, body)
    again = post(client, lms_token, body)

    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json()
    assert len(rows(db)) == 2


def test_the_same_id_with_other_content_is_a_409_and_nothing_of_the_request_is_stored(client, db, lms_token):
    taken = str(uuid.uuid4())
    assert post(client, lms_token, completed("a@x.example", statement_id=taken)).status_code == 200

    response = post(client, lms_token, [completed("new@x.example", statement_id=str(uuid.uuid4())),
                                        completed("other@x.example", statement_id=taken)])

    assert response.status_code == 409
    assert response.get_json()["statement_id"] == taken
    assert [r.actor_key for r in rows(db)] == ["mbox:mailto:a@x.example"]


def test_every_invalid_statement_is_reported_and_none_is_stored(client, db, lms_token):
    two_identifiers = completed()
    two_identifiers["actor"]["openid"] = "https://id.example/ana"
    not_an_iri = completed()
    not_an_iri["verb"]["id"] = "completed"
    bad_time = completed(when="last Tuesday")
    attachments = completed(attachments=[])
    body = [completed("fine@x.example"), two_identifiers, not_an_iri, bad_time, attachments, "not a statement"]

    response = post(client, lms_token, body)

    assert response.status_code == 400
    problems = {(p["index"], p["field"]) for p in response.get_json()["problems"]}
    assert problems == {(1, "actor"), (2, "verb.id"), (3, "timestamp"), (4, "attachments"), (5, "")}
    assert rows(db) == []


def test_two_statements_with_one_id_in_a_request_are_refused(client, db, lms_token):
    same = str(uuid.uuid4())
    response = post(client, lms_token, [completed("a@x.example", statement_id=same),
                                        completed("b@x.example", statement_id=same)])
    assert response.status_code == 400
    assert [(p["index"], p["field"]) for p in response.get_json()["problems"]] == [(1, "id")]
    assert rows(db) == []


def test_a_voiding_statement_must_refer_to_a_statement(client, db, lms_token):
    voiding = completed()
    voiding["verb"]["id"] = xapi_intake.VOIDED_VERB
    response = post(client, lms_token, voiding)
    assert response.status_code == 400
    assert response.get_json()["problems"][0]["field"] == "object"


def test_put_stores_under_the_statement_id_and_refuses_another_id(client, db, lms_token):
    wanted = str(uuid.uuid4())
    response = client.put(URL, query_string={"statementId": wanted}, data=json.dumps(completed()),
                          content_type="application/json", headers=headers(lms_token))
    assert response.status_code == 204
    assert [str(r.id) for r in rows(db)] == [wanted]

    other = completed(statement_id=str(uuid.uuid4()))
    response = client.put(URL, query_string={"statementId": str(uuid.uuid4())}, data=json.dumps(other),
                          content_type="application/json", headers=headers(lms_token))
    assert response.status_code == 400 and response.get_json()["problems"][0]["field"] == "id"
    response = client.put(URL, data=json.dumps(completed()), content_type="application/json",
                          headers=headers(lms_token))
    assert response.status_code == 400 and "statementId" in response.get_json()["message"]
    assert len(rows(db)) == 1


# ------------------------------------------------------------------ access, format and limits


def test_writing_needs_a_token_with_scope_xapi_write(client, db, lms_token):
    _, reader = issue_token("LRS export", "read", created_by_id=None)
    _, events = issue_token("CRM feed", "events:write", created_by_id=None)
    db.session.commit()

    assert post(client, None, completed()).status_code == 401
    assert post(client, "upt_00000000_forged", completed()).status_code == 401
    assert post(client, reader, completed()).status_code == 403
    assert post(client, events, completed()).status_code == 403
    assert rows(db) == []
    # ... and the writer's token does not read the record.
    assert client.get(URL, headers=headers(lms_token)).status_code == 403


def test_writes_need_the_version_header(client, db, lms_token):
    assert post(client, lms_token, completed(), version=None).status_code == 400
    assert post(client, lms_token, completed(), version="2.0.0").status_code == 400
    assert rows(db) == []


def test_attachments_bodies_and_other_media_types_are_refused(client, db, lms_token):
    multipart = client.post(URL, data=b"--b\r\n\r\n{}\r\n--b--\r\n", content_type="multipart/mixed; boundary=b",
                            headers=headers(lms_token))
    assert multipart.status_code == 400 and "Attachments" in multipart.get_json()["message"]
    text = client.post(URL, data=json.dumps(completed()), content_type="text/plain", headers=headers(lms_token))
    assert text.status_code == 400
    broken = client.post(URL, data="[{", content_type="application/json", headers=headers(lms_token))
    assert broken.status_code == 400 and "JSON" in broken.get_json()["message"]
    assert rows(db) == []


def test_a_body_over_the_limit_is_413_and_too_many_statements_are_refused(client, db, lms_token):
    huge = b"[" + b" " * xapi_intake.MAX_BODY_BYTES + b"]"
    response = client.post(URL, data=huge, content_type="application/json", headers=headers(lms_token))
    assert response.status_code == 413
    assert response.get_json()["max_bytes"] == xapi_intake.MAX_BODY_BYTES

    many = [completed(f"p{i}@x.example") for i in range(xapi_intake.MAX_STATEMENTS + 1)]
    response = post(client, lms_token, many)
    assert response.status_code == 400 and str(xapi_intake.MAX_STATEMENTS) in response.get_json()["message"]
    assert rows(db) == []


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "XAPI_RATE_LIMIT": "2 per minute"}])
def test_the_rate_limit_answers_429_with_retry_after(client, db, lms_token):
    answers = [post(client, lms_token, completed(f"p{i}@x.example")).status_code for i in range(3)]
    assert answers == [200, 200, 429]
    limited = post(client, lms_token, completed("late@x.example"))
    assert limited.get_json()["error"] == "rate_limited" and int(limited.headers["Retry-After"]) >= 1
    assert len(rows(db)) == 2


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True, "BASE_URL": HOME}])
def test_writes_need_no_csrf_token(client, db, lms_token):
    assert post(client, lms_token, completed()).status_code == 200


def test_a_failure_mid_request_stores_nothing(client, db, lms_token, monkeypatch):
    target = str(uuid.uuid4())
    voiding = {"actor": {"mbox": "mailto:admin@lms.example"}, "verb": {"id": xapi_intake.VOIDED_VERB},
               "object": {"objectType": "StatementRef", "id": target}}

    def broken_update(*_args, **_kwargs):
        raise RuntimeError("the database went away")

    # The voiding update runs after the request's statements are flushed.
    monkeypatch.setattr(xapi_intake, "update", broken_update)
    client.application.config["PROPAGATE_EXCEPTIONS"] = False
    response = post(client, lms_token, [completed(statement_id=target), voiding])

    assert response.status_code == 500
    assert rows(db) == []


# ------------------------------------------------------------------ voiding


def test_a_voided_statement_leaves_the_queries_and_answers_to_voided_statement_id(client, db, lms_token):
    target, kept = str(uuid.uuid4()), str(uuid.uuid4())
    post(client, lms_token, [completed("a@x.example", statement_id=target),
                             completed("b@x.example", statement_id=kept)])
    voiding_id = str(uuid.uuid4())
    voiding = {"id": voiding_id, "actor": {"mbox": "mailto:admin@lms.example"},
               "verb": {"id": xapi_intake.VOIDED_VERB}, "object": {"objectType": "StatementRef", "id": target}}
    assert post(client, lms_token, voiding).status_code == 200

    _, reader = issue_token("LRS export", "read", created_by_id=None)
    db.session.commit()
    listed = client.get(URL, headers=headers(reader)).get_json()["statements"]
    assert {s["id"] for s in listed} == {kept, voiding_id}
    assert client.get(URL, query_string={"statementId": target}, headers=headers(reader)).status_code == 404
    found = client.get(URL, query_string={"voidedStatementId": target}, headers=headers(reader))
    assert found.status_code == 200 and found.get_json()["id"] == target
    assert client.get(URL, query_string={"voidedStatementId": kept}, headers=headers(reader)).status_code == 404


def test_a_voiding_statement_sent_before_its_target_voids_it_on_arrival(client, db, lms_token):
    target = str(uuid.uuid4())
    voiding = {"actor": {"mbox": "mailto:admin@lms.example"}, "verb": {"id": xapi_intake.VOIDED_VERB},
               "object": {"objectType": "StatementRef", "id": target.upper()}}
    assert post(client, lms_token, voiding).status_code == 200
    assert post(client, lms_token, [completed(statement_id=target), completed("other@x.example")]).status_code == 200

    voided = {str(r.id): r.voided for r in rows(db) if r.verb == COMPLETED}
    assert voided.pop(target) is True and list(voided.values()) == [False]


def test_a_voiding_statement_cannot_be_voided(client, db, lms_token):
    target, voiding_id = str(uuid.uuid4()), str(uuid.uuid4())
    post(client, lms_token, completed(statement_id=target))

    def voids(statement_id: str, own_id: str) -> dict:
        return {"id": own_id, "actor": {"mbox": "mailto:admin@lms.example"},
                "verb": {"id": xapi_intake.VOIDED_VERB}, "object": {"objectType": "StatementRef", "id": statement_id}}

    post(client, lms_token, voids(target, voiding_id))
    post(client, lms_token, voids(voiding_id, str(uuid.uuid4())))

    voided = {str(r.id): r.voided for r in rows(db)}
    assert voided[target] is True and voided[voiding_id] is False


# ------------------------------------------------------------------ who the learner is


def test_hashed_mailboxes_and_accounts_of_a_roster_learning_system_are_attributed(client, db, lms_token):
    ana = make_employee(hr_id="E-ANA", email="ana@acme.example")
    ben = make_employee(hr_id="E-BEN", email="ben@acme.example")
    db.session.commit()
    sha1 = hashlib.sha1(b"mailto:ana@acme.example").hexdigest()
    body = [
        {**completed(), "actor": {"mbox_sha1sum": sha1}},
        {**completed(), "actor": {"account": {"homePage": LMS + "/", "name": "E-BEN"}}},
        {**completed(), "actor": {"account": {"homePage": LMS, "name": "ben@acme.example"}}},
        {**completed(), "actor": {"account": {"homePage": "https://other-lms.example", "name": "E-ANA"}}},
        {**completed(), "actor": {"openid": "https://id.example/ana"}},
    ]

    ids = post(client, lms_token, body).get_json()

    by_id = {str(r.id): r.employee_id for r in rows(db)}
    assert [by_id[i] for i in ids] == [ana.id, ben.id, ben.id, None, None]


def test_an_unknown_learner_is_kept_and_attributed_once_a_roster_import_brings_them_in(app, client, db, lms_token):
    post(client, lms_token, [completed("new.joiner@acme.example"), completed("stranger@elsewhere.example")])
    assert [r.employee_id for r in rows(db)] == [None, None]

    today = org_today(app.config["ORG_TIMEZONE"])
    roster = ("employee_id,email,full_name,unit\n"
              "H9,New.Joiner@acme.example,New Joiner,Acme/EMEA/Sales North\n")
    import_roster(io.StringIO(roster), effective=today, full=False)
    db.session.commit()

    joiner = db.session.scalar(select(Employee.id).where(Employee.hr_id == "H9"))
    attributed = {r.actor_key: r.employee_id for r in rows(db)}
    assert attributed == {"mbox:mailto:new.joiner@acme.example": joiner,
                          "mbox:mailto:stranger@elsewhere.example": None}


def test_the_agent_and_registration_filters_find_external_statements(client, db, lms_token):
    registration = str(uuid.uuid4())
    ids = post(client, lms_token, [completed("a@x.example", context={"registration": registration}),
                                   completed("b@x.example")]).get_json()
    _, reader = issue_token("LRS export", "read", created_by_id=None)
    db.session.commit()

    by_agent = client.get(URL, query_string={"agent": json.dumps({"mbox": "mailto:b@x.example"})},
                          headers=headers(reader)).get_json()["statements"]
    by_registration = client.get(URL, query_string={"registration": registration},
                                 headers=headers(reader)).get_json()["statements"]

    assert [s["id"] for s in by_agent] == [ids[1]]
    assert [s["id"] for s in by_registration] == [ids[0]]
    assert db.session.scalar(select(func.count()).select_from(XapiStatement)) == 2


# ------------------------------------------------------------------ where the learner sees them


def test_my_training_lists_the_learners_own_records_with_their_latest_outcome(client, db, lms_token):
    ana = make_employee(hr_id="E-ANA", email="ana@acme.example")
    make_employee(hr_id="E-BEN", email="ben@acme.example")
    user = make_user("employee", ana)
    db.session.commit()
    quiz = {"id": f"{LMS}/courses/privacy", "definition": {"name": {"en-US": "Privacy quiz"}}}
    mistaken = str(uuid.uuid4())
    post(client, lms_token, [
        {**completed(when="2026-10-01T09:00:00Z"), "object": quiz, "verb": {"id": "http://adlnet.gov/expapi/verbs/failed"},
         "result": {"score": {"scaled": 0.5}}},
        {**completed(when="2026-10-08T09:00:00Z"), "object": quiz, "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"},
         "result": {"score": {"scaled": 0.9}}},
        completed("ana@acme.example", statement_id=mistaken, when="2026-10-02T09:00:00Z"),
        {**completed("ben@acme.example"), "object": {"id": f"{LMS}/courses/bens-only",
                                                    "definition": {"name": {"en-US": "Ben's course"}}}},
    ])
    post(client, lms_token, {"actor": {"mbox": "mailto:lms@acme.example"}, "verb": {"id": xapi_intake.VOIDED_VERB},
                             "object": {"objectType": "StatementRef", "id": mistaken}})

    client.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD})
    page = client.get("/training/").get_data(as_text=True)

    assert "Recorded by other learning systems" in page
    assert "Privacy quiz" in page and "Passed" in page and "score 90%" in page
    assert "score 50%" not in page  # the latest outcome only
    assert "CRM data quality" not in page  # voided
    assert "Ben&#39;s course" not in page and "Ben's course" not in page


# ------------------------------------------------------------------ no input makes the checks fail


def _containers(children):
    return st.one_of(st.lists(children, max_size=3), st.dictionaries(st.text(max_size=6), children, max_size=3))


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
                     _containers, max_leaves=12)
_iris = st.sampled_from(["http://adlnet.gov/expapi/verbs/completed", "mailto:a@b.example", "x", "", "urn:x:" + "y" * 600])
_agents = st.fixed_dictionaries({}, optional={
    "objectType": st.sampled_from(["Agent", "Group", "Activity", 3]), "mbox": _iris | _json,
    "mbox_sha1sum": st.sampled_from(["a" * 40, "z"]) | _json, "openid": _iris, "name": _json,
    "account": st.fixed_dictionaries({}, optional={"homePage": _iris, "name": _json}) | _json,
    "member": st.lists(st.deferred(lambda: _agents), max_size=2) | _json,
})
_objects = st.fixed_dictionaries({}, optional={
    "objectType": st.sampled_from(["Activity", "Agent", "StatementRef", "SubStatement", "Other"]),
    "id": _iris | st.just(str(uuid.uuid4())) | _json,
    "definition": st.fixed_dictionaries({}, optional={"name": _json | st.just({"en-US": "A"})}) | _json,
    "actor": _agents, "verb": st.fixed_dictionaries({"id": _iris}), "object": _json,
})
_statements = st.fixed_dictionaries({}, optional={
    "id": st.just(str(uuid.uuid4())) | _json, "actor": _agents | _json,
    "verb": st.fixed_dictionaries({}, optional={"id": _iris | _json, "display": _json}),
    "object": _objects | _json, "timestamp": st.sampled_from(["2026-10-05T09:30:00Z", "2026-10-05", "x"]) | _json,
    "result": st.fixed_dictionaries({}, optional={"success": _json, "score": _json}) | _json,
    "context": st.fixed_dictionaries({}, optional={"registration": _json}) | _json,
    "version": st.sampled_from(["1.0.3", "2.0"]) | _json, "extra": _json,
})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.one_of(_json, _statements))
@example(value={"actor": {"objectType": "Group", "mbox": "mailto:team@acme.example", "member": 5}})  # found by hand
def test_no_json_value_makes_the_statement_checks_raise(value):
    problems = xapi_intake.statement_problems(value, 0)
    assert all(isinstance(p, xapi_intake.StatementProblem) and p.index == 0 for p in problems)
    if not problems:
        # What storing reads of a statement the checks let through.
        assert xapi.parse_instant(value.get("timestamp", "2026-01-01T00:00:00Z")) is not None
        key = xapi_intake.actor_key(value["actor"])
        assert key is None or len(key) <= xapi_intake.MAX_ACTOR_KEY_LENGTH
        if value["object"].get("objectType", "Activity") == "Activity":
            name = xapi_intake._activity_name(value["object"])
            assert name is None or isinstance(name, str)
        assert isinstance(xapi_intake.content_hash({**value, "id": str(uuid.uuid4())}), str)


# ------------------------------------------------------------------ the authors' page of sending systems


def test_authors_see_the_sending_systems_and_the_learners_who_match_no_one(client, db, lms_token, login_as):
    make_employee(hr_id="E-ANA", email="ana@acme.example")
    db.session.commit()
    target = str(uuid.uuid4())
    post(client, lms_token, [completed("ana@acme.example", statement_id=target), completed("ghost@partner.example"),
                             completed("ghost@partner.example", when="2026-10-06T09:30:00Z")])
    post(client, lms_token, {"actor": {"mbox": "mailto:lms@acme.example"}, "verb": {"id": xapi_intake.VOIDED_VERB},
                             "object": {"objectType": "StatementRef", "id": target}})

    login_as("change_leader", unit="Acme/HQ")
    response = client.get("/training/manage/external")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Acme Learning" in page and "mbox:mailto:ghost@partner.example" in page
    assert "lms@acme.example" not in page  # the voiding statement's actor is no learner
    [system] = xapi_intake.sending_systems(Scope(Role.CHANGE_LEADER, None, None, None, True))
    assert (system.statements, system.attributed, system.voided) == (4, 1, 1)
    learners, total = xapi_learners.unmatched_learners(Scope(Role.ADMIN, None, None, None, True))
    assert [(u.actor_key, u.statements) for u in learners] == [("mbox:mailto:ghost@partner.example", 2)] and total == 1


@pytest.mark.parametrize("role", ["employee", "manager", "executive"])
def test_other_roles_get_403_and_the_data_layer_refuses_their_scope(client, db, login_as, role):
    login_as(role)
    assert client.get("/training/manage/external").status_code == 403
    executive = Scope(Role.EXECUTIVE, None, None, None, False)  # organization-wide, but no individuals
    with pytest.raises(ScopeError):
        xapi_learners.unmatched_learners(executive)
    with pytest.raises(ScopeError):
        xapi_intake.sending_systems(executive)
