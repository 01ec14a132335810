"""Building surveys, scheduling rounds by recurrence and sampling questions per round."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from surveys.models import SurveyQuestion, SurveyRound
from surveys.services import (
    QuestionSpec,
    SurveyError,
    current_item_version,
    schedule_rounds,
    update_survey,
)
from tests.surveys.conftest import OPENS

ENGAGEMENT = ["engagement.energy", "engagement.meaning", "engagement.absorption",
              "engagement.pride", "engagement.extra_effort", "engagement.stay"]


def _bank_questions(keys=ENGAGEMENT):
    return [QuestionSpec(item_key=k) for k in keys]


def test_survey_mixes_bank_items_and_custom_questions(build_survey):
    survey = build_survey(activate=False)
    assert [q.scale for q in survey.questions] == ["likert5", "nps11", "multi", "text"]
    assert survey.questions[0].item_version == current_item_version("engagement.energy")
    assert survey.questions[2].options == ["Pipeline", "Accounts", "Reports"]


def test_survey_without_title_is_refused(build_survey):
    with pytest.raises(SurveyError, match="title"):
        build_survey(title="  ")


def test_survey_without_audience_is_refused(build_survey):
    with pytest.raises(SurveyError, match="unit"):
        build_survey(units=())


def test_unknown_bank_item_is_refused(build_survey):
    with pytest.raises(SurveyError, match="no item 'engagement.nope'"):
        build_survey(questions=[QuestionSpec(item_key="engagement.nope")])


def test_choice_question_needs_two_options(build_survey):
    with pytest.raises(SurveyError, match="two options"):
        build_survey(questions=[QuestionSpec(wording="Pick", scale="single", options=("Only",))])


def test_custom_question_with_unknown_scale_is_refused(build_survey):
    with pytest.raises(SurveyError, match="scale"):
        build_survey(questions=[QuestionSpec(wording="How?", scale="stars")])


def test_same_question_twice_is_refused(build_survey):
    with pytest.raises(SurveyError, match="twice"):
        build_survey(questions=_bank_questions(["engagement.energy", "engagement.energy"]))


def test_unknown_role_is_refused(build_survey):
    with pytest.raises(SurveyError, match="unknown role"):
        build_survey(audience_roles=["intern"])


def test_round_longer_than_the_recurrence_is_refused(build_survey):
    with pytest.raises(SurveyError, match="overlap"):
        build_survey(recurrence="weekly", round_length_days=8)


# ---------------------------------------------------------------- recurrence


def _openings(survey):
    return [(r.number, r.opens_on, r.closes_on) for r in survey.rounds]


def test_one_off_survey_gets_a_single_round(build_survey):
    survey = build_survey(through=OPENS + dt.timedelta(days=365))
    assert _openings(survey) == [(1, OPENS, OPENS + dt.timedelta(days=6))]


def test_weekly_survey_opens_a_round_every_seven_days(build_survey):
    survey = build_survey(recurrence="weekly", round_length_days=5, through=OPENS + dt.timedelta(days=21))
    assert [r.opens_on for r in survey.rounds] == [OPENS + dt.timedelta(weeks=k) for k in range(4)]
    assert all(r.closes_on - r.opens_on == dt.timedelta(days=4) for r in survey.rounds)


def test_fortnightly_survey_opens_every_fourteen_days(build_survey):
    survey = build_survey(recurrence="fortnightly", through=OPENS + dt.timedelta(days=30))
    assert [r.opens_on for r in survey.rounds] == [OPENS, OPENS + dt.timedelta(days=14), OPENS + dt.timedelta(days=28)]


def test_monthly_survey_from_the_31st_keeps_month_ends(build_survey):
    survey = build_survey(recurrence="monthly", first_opens_on=dt.date(2025, 1, 31), through=dt.date(2025, 4, 30))
    assert [r.opens_on for r in survey.rounds] == [
        dt.date(2025, 1, 31), dt.date(2025, 2, 28), dt.date(2025, 3, 31), dt.date(2025, 4, 30)]


def test_quarterly_survey_opens_every_three_months(build_survey):
    survey = build_survey(recurrence="quarterly", through=dt.date(2025, 12, 31))
    assert [r.opens_on for r in survey.rounds] == [
        dt.date(2025, 3, 3), dt.date(2025, 6, 3), dt.date(2025, 9, 3), dt.date(2025, 12, 3)]


def test_no_round_opens_after_the_survey_ends(build_survey):
    survey = build_survey(recurrence="weekly", ends_on=OPENS + dt.timedelta(days=10),
                          through=OPENS + dt.timedelta(days=60))
    assert len(survey.rounds) == 2


def test_scheduling_twice_creates_no_duplicate_rounds(db, build_survey):
    through = OPENS + dt.timedelta(days=28)
    survey = build_survey(recurrence="weekly", through=through)
    assert schedule_rounds(survey, through) == []
    assert db.session.scalar(select(func.count()).select_from(SurveyRound)) == 5


def test_scheduling_further_adds_only_the_later_rounds(build_survey):
    survey = build_survey(recurrence="weekly", through=OPENS)
    created = schedule_rounds(survey, OPENS + dt.timedelta(days=14))
    assert [r.number for r in created] == [2, 3]


def test_schedule_cannot_change_once_rounds_exist(build_survey):
    survey = build_survey(recurrence="weekly")
    with pytest.raises(SurveyError, match="already scheduled"):
        update_survey(survey, round_length_days=3)


# ---------------------------------------------------------------- sampling


def _asked(survey):
    return [[rq.question.item_version.item.key for rq in r.questions] for r in survey.rounds]


@pytest.mark.parametrize(("n_items", "max_items", "rotate"), [(6, 2, 3), (6, 4, 2), (5, 2, 3), (6, 1, 6), (6, 3, 5)])
def test_each_item_is_asked_at_least_every_m_rounds_and_at_most_n_per_round(build_survey, n_items, max_items, rotate):
    keys = ENGAGEMENT[:n_items]
    survey = build_survey(questions=_bank_questions(keys), recurrence="weekly", max_items_per_round=max_items,
                          rotate_every=rotate, through=OPENS + dt.timedelta(weeks=20))
    asked = _asked(survey)
    assert all(len(r) <= max_items for r in asked)
    for key in keys:
        rounds_with = [i for i, r in enumerate(asked) if key in r]
        gaps = [b - a for a, b in zip([-1, *rounds_with], rounds_with)]
        assert max(gaps) <= rotate, (key, rounds_with)


def test_sampling_is_deterministic(build_survey):
    kwargs = {"questions": _bank_questions(), "recurrence": "weekly", "max_items_per_round": 2,
              "rotate_every": 3, "through": OPENS + dt.timedelta(weeks=6)}
    assert _asked(build_survey(**kwargs)) == _asked(build_survey(**kwargs))


def test_sampled_round_keeps_survey_order(build_survey):
    survey = build_survey(questions=_bank_questions(), recurrence="weekly", max_items_per_round=4, rotate_every=2,
                          through=OPENS + dt.timedelta(weeks=1))
    second = [rq.question.position for rq in survey.rounds[1].questions]
    assert second == sorted(second)


def test_survey_without_sampling_asks_everything_every_round(build_survey):
    survey = build_survey(questions=_bank_questions(), recurrence="weekly", through=OPENS + dt.timedelta(weeks=2))
    assert _asked(survey) == [ENGAGEMENT] * 3


def test_impossible_sampling_is_refused_with_the_minimum(build_survey):
    with pytest.raises(SurveyError, match="ask at least 3 per round"):
        build_survey(questions=_bank_questions(), max_items_per_round=2, rotate_every=2)


def test_sampling_without_rotation_period_is_refused(build_survey):
    with pytest.raises(SurveyError, match="within how many rounds"):
        build_survey(questions=_bank_questions(), max_items_per_round=2)


def test_removed_question_that_was_asked_is_retired_not_deleted(db, build_survey):
    survey = build_survey(questions=_bank_questions(ENGAGEMENT[:3]))
    update_survey(survey, questions=_bank_questions(ENGAGEMENT[1:3] + ["enps.recommend"]))
    stored = db.session.scalars(select(SurveyQuestion).where(SurveyQuestion.survey_id == survey.id)).all()
    retired = [q.item_version.item.key for q in stored if q.retired]
    assert retired == ["engagement.energy"]
    assert [q.item_version.item.key for q in survey.active_questions] == ENGAGEMENT[1:3] + ["enps.recommend"]


def test_removed_question_never_asked_is_deleted(db, build_survey):
    survey = build_survey(questions=_bank_questions(ENGAGEMENT[:3]), activate=False)
    update_survey(survey, questions=_bank_questions(ENGAGEMENT[1:3]))
    assert db.session.scalar(select(func.count()).select_from(SurveyQuestion)) == 2


def test_update_refuses_sampling_the_new_question_count_breaks(build_survey):
    survey = build_survey(questions=_bank_questions(ENGAGEMENT[:4]), max_items_per_round=2, rotate_every=2,
                          activate=False)
    with pytest.raises(SurveyError, match="cannot each be asked"):
        update_survey(survey, questions=_bank_questions(ENGAGEMENT))
