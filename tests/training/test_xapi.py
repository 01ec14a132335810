"""The xAPI record: statement structure for every learning action, and GET /xapi/statements
(auth by bearer or Basic, the version header, every filter, paging through ``more``).

Every test here only reads, so the module shares one app and one learner journey."""
from __future__ import annotations

import base64
import datetime as dt
import json
import uuid

import pytest
from sqlalchemy import select

from adoption import create_app
from adoption.extensions import db as _db
from adoption.tokens import issue_token
from tests.conftest import TEST_DATABASE_URL, _reset_postgres
from tests.factories import make_employee
from tests.training.test_progress import NOW, TODAY, build_module, right_answers, steps
from training import xapi
from training.models import XapiStatement
from training.services import (
    answer_case,
    complete_lesson,
    give_reaction,
    make_commitment,
    start_module,
    submit_check,
)

HOME = "https://uptake.acme.example"
URL = "/xapi/statements"
VERSION = {"X-Experience-API-Version": "1.0.3"}
MODULE_IRI = f"{HOME}/xapi/activities/module/customer-insight"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """One app for the module, on a fresh schema, with a public address (so IRIs and account home
    pages are checked against a known value) and the journey below."""
    path = tmp_path_factory.mktemp("xapi")
    app = create_app({
        "ENV": "testing",
        "INSTANCE_PATH": str(path / "instance"),
        "DATABASE_URL": TEST_DATABASE_URL or f"sqlite:///{path / 'test.db'}",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "BASE_URL": HOME + "/",
    })
    with app.app_context():
        if TEST_DATABASE_URL:
            _reset_postgres()
        else:
            _db.create_all()
        yield app
        _db.session.remove()
        if TEST_DATABASE_URL:
            _db.engine.dispose()


def minute(n: int) -> dt.datetime:
    """``NOW`` plus ``n`` minutes: each action at its own stored time."""
    return NOW + dt.timedelta(minutes=n)


@pytest.fixture(scope="module")
def journey(app):
    """Ana takes the module end to end (failing the check once); Ben only starts it.

    Statements, oldest first: Ana launched (0), experienced lesson (1), answered case (2),
    answered q1-q3 + failed (3), answered q1-q3 + passed (4), accepted commitment (5),
    completed (6); Ben launched (7). Fourteen in all.
    """
    db = _db
    module = build_module(db)
    ana = make_employee("Acme/EMEA/Sales North", hr_id="E-ANA")
    ben = make_employee("Acme/EMEA/Sales North", hr_id="E-BEN")
    s = steps(module)
    enrollment = start_module(ana, module, minute(0))
    complete_lesson(enrollment, s["lesson"], minute(1))
    answer_case(enrollment, s["case_study"], "Tell the renewal owner.", minute(2))
    submit_check(enrollment, s["check"], {}, minute(3))
    submit_check(enrollment, s["check"], right_answers(module), minute(4))
    make_commitment(enrollment, s["commitment"], "log every call the same day", "activity_logged", TODAY, minute(5))
    give_reaction(enrollment, 4, "", TODAY, minute(6))
    start_module(ben, module, minute(7))
    db.session.commit()
    return module


def by_verb(db, verb: xapi.Verb) -> list[dict]:
    rows = db.session.scalars(select(XapiStatement).where(XapiStatement.verb == verb.iri)
                              .order_by(XapiStatement.stored, XapiStatement.id))
    return [r.statement for r in rows]


# ------------------------------------------------------------------ statement structure


def test_launch_statement_structure(db, journey):
    (launch, _) = by_verb(db, xapi.LAUNCHED)
    uuid.UUID(launch["id"])
    assert launch["actor"] == {"objectType": "Agent", "account": {"homePage": HOME, "name": "E-ANA"}}
    assert launch["verb"] == {"id": "http://adlnet.gov/expapi/verbs/launched", "display": {"en": "launched"}}
    assert launch["object"] == {
        "objectType": "Activity", "id": MODULE_IRI,
        "definition": {"name": {"en": "Customer insight first"}, "type": "http://adlnet.gov/expapi/activities/module",
                       "description": {"en": "What to record after a conversation."}},
    }
    assert launch["timestamp"] == launch["stored"] == "2025-03-10T09:00:00.000Z"
    assert launch["version"] == "1.0.0"
    assert launch["authority"]["account"] == {"homePage": HOME, "name": "uptake"}
    assert launch["context"]["extensions"] == {f"{HOME}/xapi/extensions/module-version": 2}


def test_step_statements_name_the_step_and_its_module_as_parent(db, journey):
    (lesson,) = by_verb(db, xapi.EXPERIENCED)
    assert lesson["object"]["id"] == f"{MODULE_IRI}/step/why-it-matters"
    assert lesson["object"]["definition"]["type"] == "http://adlnet.gov/expapi/activities/lesson"
    assert [a["id"] for a in lesson["context"]["contextActivities"]["parent"]] == [MODULE_IRI]
    case = next(s for s in by_verb(db, xapi.ANSWERED) if s["object"]["id"].endswith("/step/renewal-call"))
    assert case["result"] == {"response": "Tell the renewal owner.", "completion": True}
    assert case["object"]["definition"]["interactionType"] == "long-fill-in"


def test_check_attempts_record_each_answer_and_the_score(db, journey):
    # Answers of one attempt share their stored time: order them by question.
    answered = sorted((s for s in by_verb(db, xapi.ANSWERED) if "/question/" in s["object"]["id"]),
                      key=lambda s: (s["stored"], s["object"]["id"]))
    assert len(answered) == 6  # three questions, two attempts
    q2 = answered[4]  # second attempt, question 2 (multiple choice)
    assert q2["object"]["id"] == f"{MODULE_IRI}/step/check/question/2"
    definition = q2["object"]["definition"]
    assert definition["interactionType"] == "choice"
    assert definition["type"] == "http://adlnet.gov/expapi/activities/cmi.interaction"
    assert definition["correctResponsesPattern"] == ["0[,]2"]
    assert [c["id"] for c in definition["choices"]] == ["0", "1", "2", "3"]
    assert q2["result"] == {"response": "0[,]2", "success": True}
    assert answered[0]["result"] == {"response": "", "success": False}
    assert [a["id"] for a in q2["context"]["contextActivities"]["parent"]] == [f"{MODULE_IRI}/step/check"]
    assert [a["id"] for a in q2["context"]["contextActivities"]["grouping"]] == [MODULE_IRI]
    (failed,) = by_verb(db, xapi.FAILED)
    (passed,) = by_verb(db, xapi.PASSED)
    assert failed["result"]["score"] == {"scaled": 0.0, "raw": 0, "min": 0, "max": 3}
    assert (failed["result"]["success"], failed["result"]["completion"]) == (False, False)
    assert passed["result"]["score"] == {"scaled": 1.0, "raw": 3, "min": 0, "max": 3}
    assert passed["result"]["extensions"] == {f"{HOME}/xapi/extensions/attempt": 2}
    assert passed["object"]["definition"]["type"] == "http://adlnet.gov/expapi/activities/assessment"


def test_commitment_and_completion_statements(db, journey):
    (commitment,) = by_verb(db, xapi.COMMITTED)
    assert commitment["verb"]["id"] == "http://activitystrea.ms/schema/1.0/accept"
    assert commitment["result"]["response"] == "log every call the same day"
    assert commitment["result"]["extensions"] == {f"{HOME}/xapi/extensions/key-behaviour": "activity_logged"}
    (completed,) = by_verb(db, xapi.COMPLETED)
    assert completed["object"]["id"] == MODULE_IRI
    assert completed["result"]["completion"] is True and completed["result"]["duration"] == "PT360S"


# ------------------------------------------------------------------ the API: access and version


@pytest.fixture(scope="module")
def token(app):
    """A live token with scope read."""
    _, plaintext = issue_token("LRS export", "read", created_by_id=None)
    _db.session.commit()
    return plaintext


def get(client, token: str | None, params: dict | None = None, version: dict | None = VERSION, basic: bool = False):
    headers = dict(version or {})
    if token is not None:
        if basic:
            headers["Authorization"] = "Basic " + base64.b64encode(f"lrs:{token}".encode()).decode()
        else:
            headers["Authorization"] = f"Bearer {token}"
    return client.get(URL, query_string=params or {}, headers=headers)


def test_without_a_token_the_answer_is_401_with_both_challenges(client, journey):
    response = get(client, None)
    assert response.status_code == 401
    assert response.headers.getlist("WWW-Authenticate") == ['Basic realm="uptake-xapi"', 'Bearer realm="uptake"']
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    assert get(client, "upt_00000000_not-a-real-token").status_code == 401


def test_a_token_without_read_scope_is_forbidden(client, db, journey):
    _, events_token = issue_token("CRM feed", "events:write", created_by_id=None)
    db.session.commit()
    assert get(client, events_token).status_code == 403


def test_the_token_works_as_the_password_of_basic_auth(client, journey, token):
    response = get(client, token, basic=True)
    assert response.status_code == 200
    assert len(response.get_json()["statements"]) == 14


def test_the_version_header_is_required_and_must_be_1_0_x(client, journey, token):
    missing = get(client, token, version={})
    assert missing.status_code == 400 and "X-Experience-API-Version" in missing.get_json()["message"]
    assert get(client, token, version={"X-Experience-API-Version": "1.1.0"}).status_code == 400
    assert get(client, token, version={"X-Experience-API-Version": "0.95"}).status_code == 400
    ok = get(client, token, version={"X-Experience-API-Version": "1.0"})
    assert ok.status_code == 200
    assert ok.headers["X-Experience-API-Version"] == "1.0.3"
    assert ok.headers["X-Experience-API-Consistent-Through"].endswith("Z")


# ------------------------------------------------------------------ the API: filters and paging


def ids(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [s["id"] for s in response.get_json()["statements"]]


def stored_ids(db, where=None, newest_first: bool = True) -> list[str]:
    stmt = select(XapiStatement)
    if where is not None:
        stmt = stmt.where(where)
    order = (XapiStatement.stored.desc(), XapiStatement.id.desc()) if newest_first else (
        XapiStatement.stored, XapiStatement.id)
    return [str(r.id) for r in db.session.scalars(stmt.order_by(*order))]


def test_statements_come_newest_stored_first_with_an_empty_more(client, db, journey, token):
    response = get(client, token)
    assert ids(response) == stored_ids(db)
    assert response.get_json()["more"] == ""


def test_ascending_reverses_the_order(client, db, journey, token):
    assert ids(get(client, token, {"ascending": "true"})) == stored_ids(db, newest_first=False)


def test_agent_filter_matches_the_account(client, db, journey, token):
    ben = {"objectType": "Agent", "account": {"homePage": HOME, "name": "E-BEN"}}
    response = get(client, token, {"agent": json.dumps(ben)})
    assert [s["verb"]["id"] for s in response.get_json()["statements"]] == [xapi.LAUNCHED.iri]
    ana = {"account": {"homePage": HOME, "name": "E-ANA"}}
    assert len(ids(get(client, token, {"agent": json.dumps(ana)}))) == 13
    elsewhere = {"account": {"homePage": "https://other.example", "name": "E-ANA"}}
    assert ids(get(client, token, {"agent": json.dumps(elsewhere)})) == []
    assert ids(get(client, token, {"agent": json.dumps({"mbox": "mailto:ana@acme.example"})})) == []
    assert get(client, token, {"agent": "not json"}).status_code == 400
    assert get(client, token, {"agent": json.dumps({"name": "Ana"})}).status_code == 400


def test_verb_filter(client, db, journey, token):
    assert ids(get(client, token, {"verb": xapi.LAUNCHED.iri})) == stored_ids(
        db, XapiStatement.verb == xapi.LAUNCHED.iri)
    assert len(ids(get(client, token, {"verb": xapi.PASSED.iri}))) == 1


def test_activity_filter_is_exact_unless_related_activities(client, db, journey, token):
    exact = get(client, token, {"activity": MODULE_IRI})
    assert {s["verb"]["id"] for s in exact.get_json()["statements"]} == {xapi.LAUNCHED.iri, xapi.COMPLETED.iri}
    assert len(ids(exact)) == 3
    related = ids(get(client, token, {"activity": MODULE_IRI, "related_activities": "true"}))
    assert len(related) == 14
    check = ids(get(client, token, {"activity": f"{MODULE_IRI}/step/check", "related_activities": "true"}))
    assert len(check) == 8  # two attempts: three answers and a verdict each


def test_since_is_exclusive_and_until_inclusive_on_stored(client, db, journey, token):
    at_three = "2025-03-10T09:03:00.000Z"
    since = get(client, token, {"since": at_three, "ascending": "true"})
    assert since.get_json()["statements"][0]["stored"] == "2025-03-10T09:04:00.000Z"
    until = get(client, token, {"until": at_three})
    assert {s["stored"] for s in until.get_json()["statements"]} == {
        "2025-03-10T09:00:00.000Z", "2025-03-10T09:01:00.000Z", "2025-03-10T09:02:00.000Z",
        "2025-03-10T09:03:00.000Z"}
    assert len(ids(until)) == 7
    # An offset is honoured: 10:03 at +01:00 is 09:03 UTC.
    assert len(ids(get(client, token, {"until": "2025-03-10T10:03:00+01:00"}))) == 7
    assert get(client, token, {"since": "yesterday"}).status_code == 400


def test_limit_pages_through_more_without_gaps_or_repeats(client, db, journey, token):
    seen, pages = [], 0
    response = get(client, token, {"limit": "4", "verb": xapi.ANSWERED.iri})
    while True:
        pages += 1
        body = response.get_json()
        assert len(body["statements"]) <= 4
        seen += [s["id"] for s in body["statements"]]
        if not body["more"]:
            break
        assert body["more"].startswith("/xapi/statements?")
        response = client.get(body["more"], headers={**VERSION, "Authorization": f"Bearer {token}"})
    assert pages == 2
    assert seen == stored_ids(db, XapiStatement.verb == xapi.ANSWERED.iri)  # 7 answered, in order


def test_paging_ascending_with_equal_stored_times(client, db, journey, token):
    # The three answers and the verdict of one attempt share their stored time: the id breaks the tie.
    first = get(client, token, {"limit": "2", "ascending": "true", "since": "2025-03-10T09:02:30Z"})
    seen = ids(first)
    more = first.get_json()["more"]
    while more:
        page = client.get(more, headers={**VERSION, "Authorization": f"Bearer {token}"})
        seen += ids(page)
        more = page.get_json()["more"]
    assert seen == stored_ids(db, newest_first=False)[3:]


def test_limit_zero_means_the_server_maximum_and_bad_limits_are_refused(client, journey, token):
    assert len(ids(get(client, token, {"limit": "0"}))) == 14
    assert get(client, token, {"limit": "-1"}).status_code == 400
    assert get(client, token, {"limit": "ten"}).status_code == 400


def test_statement_id_returns_one_statement(client, db, journey, token):
    wanted = stored_ids(db)[3]
    response = get(client, token, {"statementId": wanted})
    assert response.status_code == 200 and response.get_json()["id"] == wanted
    assert get(client, token, {"statementId": str(uuid.uuid4())}).status_code == 404
    assert get(client, token, {"statementId": wanted, "verb": xapi.LAUNCHED.iri}).status_code == 400
    assert get(client, token, {"voidedStatementId": wanted}).status_code == 404


def test_unknown_or_miscased_parameters_are_refused(client, journey, token):
    assert get(client, token, {"Verb": xapi.LAUNCHED.iri}).status_code == 400
    assert get(client, token, {"page": "2"}).status_code == 400
    assert get(client, token, {"ascending": "yes"}).status_code == 400
    assert get(client, token, {"cursor": "garbage!"}).status_code == 400


def test_ids_format_drops_definitions_and_displays(client, journey, token):
    statement = get(client, token, {"format": "ids", "limit": "1"}).get_json()["statements"][0]
    assert "display" not in statement["verb"] and "definition" not in statement["object"]
    assert get(client, token, {"format": "full"}).status_code == 400
