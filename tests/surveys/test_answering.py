"""Answering a round: validation, one response per person, drafts, and the snapshot kept."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from adoption.org import move_employee
from surveys import services
from surveys.models import Answer, Comment, Participation, Response, ResponseDraft
from surveys.services import (
    AnswerError,
    SurveyError,
    get_draft,
    has_submitted,
    my_open_rounds,
    save_draft,
    submit_response,
    tenure_band,
)
from tests.factories import make_employee, make_unit
from tests.surveys.conftest import BUDGET, OPENS

DAY = dt.timedelta(days=1)


@pytest.fixture
def survey_round(build_survey):
    """The first round of the default survey: energy (comment allowed), eNPS, multi, text."""
    return build_survey().rounds[0]


@pytest.fixture
def person(db):
    """An employee of Sales North since 2024-01-01."""
    return make_employee("Acme/EMEA/Sales North", since=dt.date(2024, 1, 1))


def _answers(survey_round, energy=4, enps=9, screens=("Pipeline",), text="", comment=""):
    q = [rq.id for rq in survey_round.questions]
    return {
        q[0]: {"value": energy, "comment": comment},
        q[1]: {"value": enps},
        q[2]: {"choices": list(screens)},
        q[3]: {"text": text},
    }


def _count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_submission_stores_answers_and_participation(db, survey_round, person):
    response = submit_response(person, survey_round, _answers(survey_round, text="More training", comment="Busy"),
                               OPENS, BUDGET)
    stored = {a.round_question_id: a for a in response.answers}
    q = survey_round.questions
    assert stored[q[0].id].value == 4
    assert stored[q[1].id].value == 9
    assert stored[q[2].id].choices == ["Pipeline"]
    # Free text is kept as comments, apart from the response.
    assert q[3].id not in stored
    comments = {(c.round_question_id, c.kind): c.body for c in db.session.scalars(select(Comment))}
    assert comments == {(q[0].id, "comment"): "Busy", (q[3].id, "answer"): "More training"}
    assert has_submitted(person, survey_round)
    assert db.session.get(Participation, (person.id, survey_round.id)).submitted_on == OPENS


def test_skipped_optional_questions_store_no_answer(survey_round, person):
    response = submit_response(person, survey_round, _answers(survey_round, screens=()), OPENS, BUDGET)
    assert len(response.answers) == 2


def test_a_submission_that_loses_a_race_is_refused_and_writes_nothing(db, survey_round, person, monkeypatch):
    # Another request of the same person committed its participation after this one's checks
    # read the participations: the insert meets the primary key and the submission is refused.
    db.session.add(Participation(employee_id=person.id, round_id=survey_round.id, submitted_on=OPENS))
    db.session.flush()
    offer = services._offer
    monkeypatch.setattr(services, "_offer", lambda *args: (offer(*args)[0], set()))  # the stale read
    savepoint = db.session.begin_nested()
    with pytest.raises(SurveyError, match="already answered"):
        submit_response(person, survey_round, _answers(survey_round, comment="Busy"), OPENS, BUDGET)
    savepoint.rollback()
    assert _count(db, Participation) == 1
    assert _count(db, Response) == _count(db, Answer) == _count(db, Comment) == 0


def test_second_submission_is_refused_with_a_clear_message(db, survey_round, person):
    submit_response(person, survey_round, _answers(survey_round), OPENS, BUDGET)
    with pytest.raises(SurveyError, match="already answered"):
        submit_response(person, survey_round, _answers(survey_round), OPENS + DAY, BUDGET)
    assert _count(db, Response) == 1


def test_answered_round_leaves_my_surveys(survey_round, person):
    submit_response(person, survey_round, _answers(survey_round), OPENS, BUDGET)
    assert my_open_rounds(person, OPENS, BUDGET) == []


def test_round_not_yet_open_is_refused(survey_round, person):
    with pytest.raises(SurveyError, match="opens on 03 Mar 2025"):
        submit_response(person, survey_round, _answers(survey_round), OPENS - DAY, BUDGET)


def test_closed_round_is_refused(survey_round, person):
    with pytest.raises(SurveyError, match="closed on 09 Mar 2025"):
        submit_response(person, survey_round, _answers(survey_round), survey_round.closes_on + DAY, BUDGET)


def test_last_day_of_the_round_is_still_open(survey_round, person):
    submit_response(person, survey_round, _answers(survey_round), survey_round.closes_on, BUDGET)
    assert has_submitted(person, survey_round)


def test_employee_outside_the_audience_is_refused(survey_round):
    outsider = make_employee("Acme/Americas/Service")
    with pytest.raises(SurveyError, match="not addressed to you"):
        submit_response(outsider, survey_round, _answers(survey_round), OPENS, BUDGET)


def test_round_over_the_budget_is_refused(build_survey, person):
    build_survey(title="First")
    second = build_survey(title="Second").rounds[0]
    with pytest.raises(SurveyError, match="not addressed to you"):
        submit_response(person, second, _answers(second), OPENS, {"SURVEY_BUDGET_ROUNDS": 1, "SURVEY_BUDGET_DAYS": 28})


def test_likert_value_out_of_range_is_refused(survey_round, person):
    with pytest.raises(AnswerError) as caught:
        submit_response(person, survey_round, _answers(survey_round, energy=6), OPENS, BUDGET)
    assert caught.value.errors == {survey_round.questions[0].id: "Question 1: choose a value from 1 to 5."}


def test_nps_value_out_of_range_is_refused(survey_round, person):
    with pytest.raises(AnswerError, match="from 0 to 10"):
        submit_response(person, survey_round, _answers(survey_round, enps=11), OPENS, BUDGET)


def test_non_integer_value_is_refused(survey_round, person):
    with pytest.raises(AnswerError, match="from 1 to 5"):
        submit_response(person, survey_round, _answers(survey_round, energy="3.5"), OPENS, BUDGET)


def test_missing_required_answer_is_refused(survey_round, person):
    with pytest.raises(AnswerError, match="Question 2: this question needs an answer"):
        submit_response(person, survey_round, _answers(survey_round, enps=None), OPENS, BUDGET)


def test_unknown_option_is_refused(survey_round, person):
    with pytest.raises(AnswerError, match="options shown"):
        submit_response(person, survey_round, _answers(survey_round, screens=("Dashboards",)), OPENS, BUDGET)


def test_comment_on_a_question_without_comment_box_is_refused(survey_round, person):
    answers = _answers(survey_round)
    answers[survey_round.questions[1].id]["comment"] = "sneaky"
    with pytest.raises(AnswerError, match="takes no comment"):
        submit_response(person, survey_round, answers, OPENS, BUDGET)


def test_answer_to_a_question_of_another_round_is_refused(survey_round, person):
    with pytest.raises(SurveyError, match="not part of this survey round"):
        submit_response(person, survey_round, {**_answers(survey_round), 999999: {"value": 3}}, OPENS, BUDGET)


def test_overlong_text_is_refused(survey_round, person):
    with pytest.raises(AnswerError, match="under 2000"):
        submit_response(person, survey_round, _answers(survey_round, text="x" * 2001), OPENS, BUDGET)


def test_refused_submission_stores_nothing(db, survey_round, person):
    with pytest.raises(AnswerError):
        submit_response(person, survey_round, _answers(survey_round, energy=0), OPENS, BUDGET)
    assert (_count(db, Response), _count(db, Answer), _count(db, Participation)) == (0, 0, 0)


# ---------------------------------------------------------------- drafts


def test_draft_keeps_partial_answers(survey_round, person):
    q = survey_round.questions
    save_draft(person, survey_round, {q[0].id: {"value": 2}}, OPENS, BUDGET)
    assert get_draft(person, survey_round).answers == {str(q[0].id): {"value": 2}}


def test_saving_again_replaces_the_draft(db, survey_round, person):
    q = survey_round.questions
    save_draft(person, survey_round, {q[0].id: {"value": 2}}, OPENS, BUDGET)
    save_draft(person, survey_round, {q[0].id: {"value": 5}}, OPENS, BUDGET)
    assert _count(db, ResponseDraft) == 1
    assert get_draft(person, survey_round).answers[str(q[0].id)] == {"value": 5}


def test_draft_refuses_invalid_values(survey_round, person):
    with pytest.raises(AnswerError):
        save_draft(person, survey_round, {survey_round.questions[0].id: {"value": 9}}, OPENS, BUDGET)


def test_submission_deletes_the_draft(db, survey_round, person):
    save_draft(person, survey_round, {survey_round.questions[0].id: {"value": 2}}, OPENS, BUDGET)
    submit_response(person, survey_round, _answers(survey_round), OPENS, BUDGET)
    assert _count(db, ResponseDraft) == 0


def test_no_draft_after_submitting(survey_round, person):
    submit_response(person, survey_round, _answers(survey_round), OPENS, BUDGET)
    with pytest.raises(SurveyError, match="already answered"):
        save_draft(person, survey_round, {}, OPENS, BUDGET)


# ---------------------------------------------------------------- snapshot


def test_response_keeps_the_unit_of_the_submission_day(build_survey):
    mover = make_employee("Acme/EMEA/Sales North", since=dt.date(2024, 1, 1))
    survey_round = build_survey().rounds[0]
    south = make_unit("Acme/EMEA/Sales South")
    move_employee(mover, south, OPENS + DAY)
    response = submit_response(mover, survey_round, _answers(survey_round), OPENS + 2 * DAY, BUDGET)
    assert response.unit_id == south.id


def test_response_keeps_the_tenure_band(survey_round):
    veteran = make_employee(since=dt.date(2020, 1, 1))
    response = submit_response(veteran, survey_round, _answers(survey_round), OPENS, BUDGET)
    assert response.tenure_band == "3y+"


def test_response_without_start_date_has_no_tenure_band(survey_round):
    unknown = make_employee(start_date=None)
    response = submit_response(unknown, survey_round, _answers(survey_round), OPENS, BUDGET)
    assert response.tenure_band is None


@pytest.mark.parametrize(
    ("start", "band"),
    [
        (dt.date(2025, 3, 4), "<1y"),
        (dt.date(2024, 3, 4), "<1y"),
        (dt.date(2024, 3, 3), "1-3y"),
        (dt.date(2022, 3, 4), "1-3y"),
        (dt.date(2022, 3, 3), "3y+"),
        (dt.date(2010, 1, 1), "3y+"),
    ],
)
def test_tenure_band_boundaries(start, band):
    assert tenure_band(start, dt.date(2025, 3, 3)) == band
