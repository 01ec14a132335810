"""Erasure tried on the demo organization, whose people have CRM use, training, learning records
from the LMS, survey answers, comments, conversations and mail: three of them leave and ask to be
erased — the demo employee, the licence holder the LMS knows by a personal address and the CEO,
a sponsor who sent messages from the sponsor log — and then nothing in any table may name them,
while every figure of the past stays what it was."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from adoption.demo import DEMO_PASSWORD
from adoption.demo_calendar import REFERENCE_LOAD_DAY
from adoption.extensions import db as _db
from adoption.models import Employee, Erasure, User
from adoption.roster import import_roster
from surveys.models import (
    Comment,
    Participation,
    Response,
    ResponseDraft,
    SurveyRound,
    ThreadMessage,
)
from tests.adoption.database_search import mentions_in_database
from tests.conftest import OwnContextClient, demo_loaded
from training.models import CaseAnswer, Commitment, Enrollment, LearnerAlias, XapiStatement

EMPLOYEE = "abigail.robinson@acme.example"  # the demo employee: comments, conversations, training
CEO = "rahul.rao@acme.example"
LEFT_ON = REFERENCE_LOAD_DAY.replace(day=1)


def signed_in(app, email: str):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": DEMO_PASSWORD}).status_code == 302
    return client


def figures(app, units: list[str]) -> dict:
    """What the change leader reads of the past: adoption by unit and survey results by round."""
    client = signed_in(app, "thiago.santos@acme.example")
    found = {}
    for unit in units:
        response = client.get(f"/api/v1/adoption?unit={unit}&start=2026-05-01&end=2026-11-15")
        assert response.status_code == 200, response.get_data(as_text=True)
        found[("adoption", unit)] = response.get_json()
    for round_id in _db.session.scalars(select(SurveyRound.id).order_by(SurveyRound.id)):
        for unit in units:
            response = client.get(f"/api/v1/surveys/rounds/{round_id}/results?unit={unit}")
            if response.status_code == 200:
                found[("round", round_id, unit)] = response.get_json()
    found["counts"] = {model.__name__: _db.session.scalar(select(func.count()).select_from(model))
                       for model in (Participation, Response, Comment, Enrollment, XapiStatement)}
    return found


@pytest.fixture(scope="module")
def erased(tmp_path_factory):
    """The demo after three people left (a roster import), then were erased by the admin on request:
    ``(app, people, before, after, drafts, planted)`` where ``people`` holds what named them and
    ``planted`` the texts others wrote about them (id, text before the erasure)."""
    with demo_loaded(tmp_path_factory.mktemp("erasure_demo"), 7) as (app, _summary):
        app.test_client_class = OwnContextClient
        abigail = _db.session.scalar(select(User).where(User.email == EMPLOYEE)).employee
        alias = _db.session.scalar(select(LearnerAlias))
        tariq = _db.session.get(Employee, alias.employee_id)
        # The CEO: a sponsor whose messages, sent from the sponsor log to hundreds, are signed with his name.
        rahul = _db.session.scalar(select(User).where(User.email == CEO)).employee
        leavers = (abigail, tariq, rahul)
        people = []
        for person in leavers:
            account = _db.session.scalar(select(User).where(User.employee_id == person.id))
            people.append({"id": person.id, "hr_id": person.hr_id, "names": [person.full_name],
                           "addresses": [person.email] + ([account.email] if account else []),
                           "crm": [k for k in (person.crm_user_id, person.crm_username) if k],
                           "learner_keys": list(_db.session.scalars(
                               select(LearnerAlias.actor_key).where(LearnerAlias.employee_id == person.id)))})
        rows = "".join(f"{p.hr_id},{p.email},{p.full_name},{p.unit.path},{LEFT_ON.isoformat()}\n"
                       for p in leavers)
        plan = import_roster(io.StringIO("employee_id,email,full_name,unit,end_date\n" + rows),
                             effective=REFERENCE_LOAD_DAY, full=False)
        assert not plan.errors and len(plan.deactivations) == len(leavers)
        _db.session.commit()
        units = sorted({"Acme"} | {p.unit.path for p in leavers} | {p.unit.path.rsplit("/", 1)[0] for p in leavers})
        before = figures(app, units)
        # A draft of the open round, as if he had started answering before he left.
        latest = _db.session.scalar(select(SurveyRound.id).order_by(SurveyRound.opens_on.desc()).limit(1))
        _db.session.add(ResponseDraft(employee_id=tariq.id, round_id=latest, answers={"1": {"value": 4}}))
        _db.session.commit()
        drafts_before = _db.session.scalar(select(func.count(ResponseDraft.id)).where(
            ResponseDraft.employee_id.in_([abigail.id, tariq.id])))
        # What others wrote about them: an anonymous comment naming the CEO, a leader's reply and
        # another learner's commitment naming the demo employee.
        leaver_ids = [p.id for p in leavers]
        others = {
            "comment": _db.session.scalar(select(Comment).order_by(Comment.id).limit(1)),
            "reply": _db.session.scalar(select(ThreadMessage).where(ThreadMessage.sender_id.is_not(None))
                                        .order_by(ThreadMessage.id).limit(1)),
            "commitment": _db.session.scalar(select(Commitment).where(Commitment.employee_id.not_in(leaver_ids))
                                             .order_by(Commitment.id).limit(1)),
        }
        others["comment"].body += f" We never hear from {rahul.full_name.upper()} about the CRM."
        others["reply"].body += f" {abigail.full_name} will follow up."
        others["commitment"].text += f" Shadow {abigail.full_name}'s calls."
        planted = {kind: (row.id, getattr(row, "text", None) or row.body) for kind, row in others.items()}
        _db.session.commit()
        erasures_before = _db.session.scalar(select(func.count(Erasure.id)))  # the demo's own one
        admin = signed_in(app, "admin@acme.example")
        for person in people:
            response = admin.post("/admin/personal-data/erase", data={"person": person["hr_id"], "confirm": person["hr_id"]})
            assert response.status_code == 302
        _db.session.expire_all()
        assert _db.session.scalar(select(func.count(Erasure.id))) == erasures_before + len(leavers)
        yield app, people, before, figures(app, units), drafts_before, planted
        _db.session.rollback()


def test_no_table_holds_anything_that_names_them(erased):
    _app, people, *_ = erased
    needles = [n for p in people for n in (p["hr_id"], *p["names"], *p["addresses"], *p["crm"], *p["learner_keys"])]
    # The LMS's key for the personal address is "mbox:mailto:<address>": the address alone must go too.
    needles += [k.rsplit(":", 1)[-1] for p in people for k in p["learner_keys"]]
    found = mentions_in_database(needles)
    assert found == [], sorted(set(found))


def test_every_figure_of_the_past_stays_the_same(erased):
    _app, _people, before, after, _drafts, _planted = erased
    assert len([k for k in before if k[0] == "round"]) >= 6  # the pulse's rounds were compared
    assert after == before


def test_what_they_wrote_in_training_is_erased_and_their_progress_stays(erased):
    _app, people, *_ = erased
    ids = [p["id"] for p in people]
    texts = list(_db.session.scalars(select(Commitment.text).where(Commitment.employee_id.in_(ids))))
    answers = list(_db.session.scalars(select(CaseAnswer.text).join(Enrollment, Enrollment.id == CaseAnswer.enrollment_id)
                                       .where(Enrollment.employee_id.in_(ids))))
    assert texts and answers and set(texts) | set(answers) == {"(erased)"}
    completed = _db.session.scalar(select(func.count(Enrollment.id)).where(Enrollment.employee_id.in_(ids),
                                                                           Enrollment.completed_at.is_not(None)))
    assert completed >= 1


def test_their_learning_record_stays_under_a_pseudonymous_actor(erased):
    _app, people, *_ = erased
    for person in people:
        statements = list(_db.session.scalars(select(XapiStatement).where(XapiStatement.employee_id == person["id"])))
        assert statements
        assert {s.statement["actor"]["account"]["name"] for s in statements} == {f"erased-{person['id']}"}
        assert all("mbox" not in s.statement["actor"] for s in statements)


def test_their_drafts_go_and_their_anonymous_comments_stay(erased):
    _app, people, before, after, drafts_before, _planted = erased
    assert drafts_before >= 1
    assert _db.session.scalar(select(func.count(ResponseDraft.id)).where(
        ResponseDraft.employee_id.in_([p["id"] for p in people]))) == 0
    assert after["counts"]["Comment"] == before["counts"]["Comment"] > 0
    assert after["counts"]["Participation"] == before["counts"]["Participation"]


def test_the_erasures_are_listed_with_what_each_erased(erased):
    app, people, *_ = erased
    page = signed_in(app, "admin@acme.example").get("/admin/personal-data").get_data(as_text=True)
    for person in people:
        assert f"Former employee {person['id']}" in page
    counts = {e.employee_id: e.counts for e in _db.session.scalars(select(Erasure))}
    abigail, tariq, rahul = (counts[p["id"]] for p in people)
    assert abigail["crm_events"] > 0 and abigail["xapi_statements"] > 0 and abigail["training_texts"] > 0
    assert abigail["outbox_messages"] > 0 and abigail["account"] == 1
    assert tariq["learner_aliases"] == 1
    assert rahul["texts_naming_them"] >= 1  # his signed message to the company keeps its text, with the pseudonym


def test_what_others_wrote_about_them_keeps_its_text_with_their_pseudonym(erased):
    _app, people, _before, _after, _drafts, planted = erased
    abigail, _tariq, rahul = people
    comment = _db.session.get(Comment, planted["comment"][0])
    # Anonymous before, anonymous after: only the name in the text changes.
    assert comment.body == planted["comment"][1].replace(rahul["names"][0].upper(), f"Former employee {rahul['id']}")
    assert _db.session.get(ThreadMessage, planted["reply"][0]).body == planted["reply"][1].replace(
        abigail["names"][0], f"Former employee {abigail['id']}")
    assert _db.session.get(Commitment, planted["commitment"][0]).text == planted["commitment"][1].replace(
        abigail["names"][0], f"Former employee {abigail['id']}")
