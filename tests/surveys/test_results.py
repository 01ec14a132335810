"""Survey results: preparing closed rounds, every formula on hand-built responses, suppression,
scope, heatmap, trends across item versions and drivers."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import delete, func, select

from adoption.scope import ScopeError, scope_for
from surveys.disclosure import SUPPRESSED_MESSAGE
from surveys.models import (
    ALL_BANDS,
    NO_BAND,
    Answer,
    RoundGroup,
    RoundItemStats,
    RoundUnitStats,
    SurveyItem,
    SurveyItemVersion,
)
from surveys.results import (
    ResultsNotFound,
    ResultsNotReady,
    drivers,
    group_results,
    heatmap,
    item_series,
    prepare_closed_rounds,
    prepare_round_results,
    results_rounds,
    trend,
)
from surveys.services import QuestionSpec, schedule_rounds, submit_response, update_survey
from tests.factories import make_employee, make_unit, make_user
from tests.surveys.conftest import BUDGET, OPENS

DAY = dt.timedelta(days=1)
NORTH, SOUTH = "Acme/EMEA/Sales North", "Acme/EMEA/Sales South"
#: The day after the default 7-day round closes.
AFTER = OPENS + 7 * DAY

QUESTIONS = [
    QuestionSpec(item_key="engagement.energy"),
    QuestionSpec(item_key="engagement.meaning"),
    QuestionSpec(item_key="priorities.conflict"),  # reverse-scored
    QuestionSpec(item_key="enps.recommend"),
    QuestionSpec(item_key="readiness.awareness.why"),
    QuestionSpec(item_key="readiness.desire.personal"),
    QuestionSpec(wording="How often do you update the CRM?", scale="single",
                 options=("Daily", "Weekly", "Rarely"), required=False),
    QuestionSpec(wording="Which CRM screens do you use?", scale="multi",
                 options=("Pipeline", "Accounts", "Reports"), required=False),
    QuestionSpec(wording="Anything else?", scale="text", required=False),
]
KEYS = ["engagement.energy", "engagement.meaning", "priorities.conflict", "enps.recommend",
        "readiness.awareness.why", "readiness.desire.personal"]

# (energy, meaning, conflict, eNPS, awareness, desire, how often, screens)
NORTH_ANSWERS = [
    (5, 5, 1, 10, 5, 4, "Daily", ["Pipeline", "Accounts"]),  # index 100, no barrier
    (4, 4, 2, 9, 4, 2, "Daily", ["Pipeline"]),  # 75, desire
    (3, 4, 4, 7, 2, 5, "Weekly", []),  # 62.5, awareness
    (2, 1, 5, 3, 3, 3, "Rarely", ["Reports"]),  # 12.5, awareness (a mean of 3 is a barrier)
    (4, 3, 3, 8, 5, 5, "Weekly", ["Pipeline", "Reports"]),  # 62.5, no barrier
]
SOUTH_ANSWERS = [(4, 4, 2, 8, 4, 4, "Daily", ["Accounts"])] * 5  # index 75 each, no barrier


def answer(person, survey_round, row, day=OPENS):
    """Submit ``row`` (in QUESTIONS order) as ``person``'s response, through the real service."""
    q = [rq.id for rq in survey_round.questions]
    energy, meaning, conflict, enps, awareness, desire, often, screens = row
    answers = {q[0]: {"value": energy}, q[1]: {"value": meaning}, q[2]: {"value": conflict},
               q[3]: {"value": enps}, q[4]: {"value": awareness}, q[5]: {"value": desire},
               q[6]: {"choices": [often] if often else []}, q[7]: {"choices": list(screens)},
               q[8]: {"text": ""}}
    return submit_response(person, survey_round, answers, day, BUDGET)


def team(path, rows, *, idle=0, since=dt.date(2024, 1, 1)):
    """People of ``path`` for ``rows`` of answers, plus ``idle`` who will not answer."""
    return [make_employee(path, since=since) for _ in range(len(rows) + idle)]


@pytest.fixture
def org_scope(db, leader):
    """A change leader's scope: every unit."""
    return scope_for(leader)


@pytest.fixture
def pulse(app, db, build_survey):
    """The round of a pulse of Acme/EMEA: five of six in North and five of five in South answered;
    prepared after it closed. An Americas team exists outside the audience."""
    north, south = team(NORTH, NORTH_ANSWERS, idle=1), team(SOUTH, SOUTH_ANSWERS)
    make_employee("Acme/Americas/East")
    survey = build_survey(questions=QUESTIONS)
    survey_round = survey.rounds[0]
    for person, row in zip(north, NORTH_ANSWERS, strict=False):
        answer(person, survey_round, row)
    for person, row in zip(south, SOUTH_ANSWERS, strict=True):
        answer(person, survey_round, row)
    assert prepare_round_results(survey_round, app.config, AFTER)
    db.session.flush()
    return survey_round


def unit_id(path):
    return make_unit(path).id


def items_by_key(result):
    return {i.item_key or i.wording: i for i in result.items}


# ---------------------------------------------------------------- preparing


def test_results_are_not_prepared_while_the_round_is_open(app, db, build_survey, org_scope):
    survey_round = build_survey(questions=QUESTIONS).rounds[0]
    assert prepare_round_results(survey_round, app.config, survey_round.closes_on) is False
    assert survey_round.results_ready_at is None
    assert db.session.scalar(select(func.count()).select_from(RoundGroup)) == 0
    with pytest.raises(ResultsNotReady):
        group_results(org_scope, survey_round.id, unit_id("Acme"))


def test_preparing_sets_results_ready_and_writes_groups_and_statistics(db, pulse):
    assert pulse.results_ready_at is not None
    assert db.session.scalar(select(func.count()).select_from(RoundGroup).where(RoundGroup.round_id == pulse.id)) > 0
    units = db.session.scalars(select(RoundUnitStats).where(RoundUnitStats.round_id == pulse.id)).all()
    assert sorted(u.respondents for u in units) == [5, 5]


def test_preparing_again_replaces_the_rows(app, db, pulse, org_scope):
    before = group_results(org_scope, pulse.id, unit_id("Acme"))
    count = db.session.scalar(select(func.count()).select_from(RoundItemStats))
    assert prepare_round_results(pulse, app.config, AFTER)
    assert db.session.scalar(select(func.count()).select_from(RoundItemStats)) == count
    assert group_results(org_scope, pulse.id, unit_id("Acme")) == before


def test_results_are_read_from_the_statistics_not_from_the_answers(db, pulse, org_scope):
    before = group_results(org_scope, pulse.id, unit_id(NORTH))
    db.session.execute(delete(Answer))
    assert group_results(org_scope, pulse.id, unit_id(NORTH)) == before


def test_a_shown_group_keeps_what_it_contained_when_its_round_was_prepared(db, pulse, org_scope):
    acme = make_unit("Acme")
    before = group_results(org_scope, pulse.id, acme.id)
    assert before.n == 10
    north = make_unit(NORTH)  # moved out of Acme after the round was prepared
    north.parent, north.path, north.depth = make_unit("Spin-off"), "Spin-off/Sales North", 1
    db.session.flush()
    assert group_results(org_scope, pulse.id, acme.id) == before


def test_only_shown_groups_keep_sums(db, pulse):
    groups = db.session.scalars(select(RoundGroup).where(RoundGroup.round_id == pulse.id)).all()
    assert any(not g.shown for g in groups)
    assert all((g.sums is not None) == g.shown for g in groups)


def test_prepare_closed_rounds_prepares_each_closed_round_once(app, db, build_survey):
    survey_round = build_survey(questions=QUESTIONS).rounds[0]
    assert prepare_closed_rounds(survey_round.closes_on, app.config) == 0
    assert prepare_closed_rounds(AFTER, app.config) == 1
    assert survey_round.results_ready_at is not None
    assert prepare_closed_rounds(AFTER, app.config) == 0


def test_respondents_without_a_start_date_are_counted_in_the_no_band_rows(app, db, build_survey):
    person = make_employee(NORTH, start_date=None)
    survey_round = build_survey(questions=QUESTIONS).rounds[0]
    answer(person, survey_round, NORTH_ANSWERS[0])
    prepare_round_results(survey_round, app.config, AFTER)
    row = db.session.scalar(select(RoundUnitStats))
    assert (row.tenure_band, row.respondents) == (NO_BAND, 1)


# ---------------------------------------------------------------- formulas


def test_response_rate_is_respondents_over_invited(pulse, org_scope):
    north = group_results(org_scope, pulse.id, unit_id(NORTH))
    assert (north.invited, north.n) == (6, 5)
    assert north.response_rate == pytest.approx(5 / 6)
    assert not north.suppressed and north.message is None


def test_engagement_index_is_the_mean_of_the_respondents_indices(pulse, org_scope):
    # North: 100, 75, 62.5, 12.5, 62.5; South: 75 × 5.
    assert group_results(org_scope, pulse.id, unit_id(NORTH)).engagement_index == pytest.approx(62.5)
    assert group_results(org_scope, pulse.id, unit_id(SOUTH)).engagement_index == pytest.approx(75.0)
    assert group_results(org_scope, pulse.id, unit_id("Acme")).engagement_index == pytest.approx(68.75)


def test_enps_is_promoters_minus_detractors_over_the_enps_answers(pulse, org_scope):
    # North: 10, 9 promoters; 3 a detractor; 7, 8 passives -> (2 - 1) / 5.
    assert group_results(org_scope, pulse.id, unit_id(NORTH)).enps == pytest.approx(20.0)
    # South: five passives.
    assert group_results(org_scope, pulse.id, unit_id(SOUTH)).enps == pytest.approx(0.0)
    assert group_results(org_scope, pulse.id, unit_id("Acme")).enps == pytest.approx(10.0)


def test_item_mean_and_favourability(pulse, org_scope):
    items = items_by_key(group_results(org_scope, pulse.id, unit_id(NORTH)))
    energy = items["engagement.energy"]
    assert (energy.n, energy.mean, energy.favourable_pct) == (5, pytest.approx(3.6), pytest.approx(60.0))
    assert items["engagement.meaning"].mean == pytest.approx(3.4)
    enps = items["enps.recommend"]
    assert (enps.mean, enps.enps, enps.favourable_pct) == (pytest.approx(7.4), pytest.approx(20.0), None)


def test_favourability_reverses_a_reverse_scored_item_but_its_mean_stays_as_answered(pulse, org_scope):
    conflict = items_by_key(group_results(org_scope, pulse.id, unit_id(NORTH)))["priorities.conflict"]
    # Answers 1, 2, 4, 5, 3 -> scores 5, 4, 2, 1, 3: two favourable.
    assert conflict.reverse_scored
    assert conflict.favourable_pct == pytest.approx(40.0)
    assert conflict.mean == pytest.approx(3.0)


def test_choice_counts_per_option_in_the_options_order(pulse, org_scope):
    items = items_by_key(group_results(org_scope, pulse.id, unit_id(NORTH)))
    often = items["How often do you update the CRM?"]
    assert often.n == 5
    assert list(often.choice_counts.items()) == [("Daily", 2), ("Weekly", 2), ("Rarely", 1)]
    screens = items_by_key(group_results(org_scope, pulse.id, unit_id("Acme")))["Which CRM screens do you use?"]
    assert screens.n == 9  # one North respondent chose no screen
    assert screens.choice_counts == {"Pipeline": 3, "Accounts": 6, "Reports": 2}


def test_an_item_answered_by_fewer_than_k_in_a_shown_group_has_no_figures(pulse, org_scope):
    screens = items_by_key(group_results(org_scope, pulse.id, unit_id(NORTH)))["Which CRM screens do you use?"]
    assert screens.suppressed
    assert (screens.n, screens.mean, screens.choice_counts) == (None, None, None)


def test_text_questions_have_no_item_results(pulse, org_scope):
    assert "Anything else?" not in items_by_key(group_results(org_scope, pulse.id, unit_id(NORTH)))


def test_barrier_distribution_counts_each_respondents_first_barrier(pulse, org_scope):
    north = group_results(org_scope, pulse.id, unit_id(NORTH))
    assert north.barriers == {"awareness": 2, "desire": 1, "knowledge": 0, "ability": 0, "reinforcement": 0,
                              "none": 2}
    acme = group_results(org_scope, pulse.id, unit_id("Acme"))
    assert acme.barriers["none"] == 7 and sum(acme.barriers.values()) == 10


def test_a_unit_reads_the_sum_of_its_subtree(pulse, org_scope):
    acme = group_results(org_scope, pulse.id, unit_id("Acme"))
    assert (acme.n, acme.invited) == (10, 11)
    energy = items_by_key(acme)["engagement.energy"]
    assert (energy.n, energy.mean) == (10, pytest.approx((18 + 20) / 10))


def test_drivers_correlate_each_non_engagement_item_with_the_engagement_index(pulse, org_scope):
    result = {d.item_key: d for d in drivers(org_scope, pulse.id, unit_id(NORTH))}
    assert set(result) == {"priorities.conflict", "enps.recommend", "readiness.awareness.why",
                           "readiness.desire.personal"}
    index = [100, 75, 62.5, 12.5, 62.5]
    conflict = result["priorities.conflict"]
    # x is the favourable-direction score: 6 - answer.
    expected = np.corrcoef([5, 4, 2, 1, 3], index)[0, 1]
    assert (conflict.n, conflict.r) == (5, pytest.approx(expected))
    assert conflict.ci_low < conflict.r < conflict.ci_high
    assert conflict.significant == (conflict.ci_low > 0 or conflict.ci_high < 0)
    assert result["enps.recommend"].r == pytest.approx(np.corrcoef([10, 9, 7, 3, 8], index)[0, 1])


def test_a_driver_without_variation_has_no_correlation(pulse, org_scope):
    south = drivers(org_scope, pulse.id, unit_id(SOUTH))
    assert south and all(d.n == 5 and d.r is None and not d.significant for d in south)


# ---------------------------------------------------------------- suppression and scope


@pytest.fixture
def small_team_round(app, db, build_survey):
    """Five in North and four in South answered: South is below the threshold, and North, whose
    difference from Acme would be South's four, is suppressed too."""
    north, south = team(NORTH, NORTH_ANSWERS), team(SOUTH, SOUTH_ANSWERS[:4])
    survey_round = build_survey(questions=QUESTIONS).rounds[0]
    for person, row in [*zip(north, NORTH_ANSWERS, strict=True), *zip(south, SOUTH_ANSWERS, strict=False)]:
        answer(person, survey_round, row)
    prepare_round_results(survey_round, app.config, AFTER)
    return survey_round


def test_a_group_of_four_shows_no_figures_only_the_message(small_team_round, org_scope):
    south = group_results(org_scope, small_team_round.id, unit_id(SOUTH))
    assert south.suppressed and south.message == SUPPRESSED_MESSAGE
    assert south.n is None
    assert (south.response_rate, south.engagement_index, south.enps, south.barriers) == (None, None, None, None)
    assert south.items == []
    assert south.invited == 4  # roster information, not an answer


def test_a_group_whose_difference_from_its_parent_is_below_k_is_suppressed(small_team_round, org_scope):
    assert group_results(org_scope, small_team_round.id, unit_id(NORTH)).suppressed
    assert group_results(org_scope, small_team_round.id, unit_id("Acme")).n == 9


def test_a_suppressed_group_has_no_drivers(small_team_round, org_scope):
    assert drivers(org_scope, small_team_round.id, unit_id(SOUTH)) == []


def test_a_unit_with_exactly_its_parents_respondents_is_not_shown_twice(pulse, org_scope):
    assert group_results(org_scope, pulse.id, unit_id("Acme/EMEA")).suppressed
    assert not group_results(org_scope, pulse.id, unit_id("Acme")).suppressed


def test_a_manager_reads_their_subtree_but_not_a_sibling_unit(pulse):
    manager = scope_for(make_user("manager", make_employee(NORTH, since=AFTER)))
    assert group_results(manager, pulse.id, unit_id(NORTH)).n == 5
    with pytest.raises(ScopeError):
        group_results(manager, pulse.id, unit_id(SOUTH))
    with pytest.raises(ScopeError):
        drivers(manager, pulse.id, unit_id("Acme"))
    with pytest.raises(ScopeError):
        heatmap(manager, pulse.id, unit_id("Acme/EMEA"))


def test_an_employee_reads_no_results(pulse):
    employee = scope_for(make_user("employee", make_employee(NORTH, since=AFTER)))
    with pytest.raises(ScopeError):
        results_rounds(employee)
    with pytest.raises(ScopeError):
        group_results(employee, pulse.id, unit_id(NORTH))


def test_an_unknown_round_or_band_is_refused(pulse, org_scope):
    with pytest.raises(ResultsNotFound):
        group_results(org_scope, pulse.id + 999, unit_id("Acme"))
    with pytest.raises(ValueError):
        group_results(org_scope, pulse.id, unit_id("Acme"), "2y")


def test_results_rounds_lists_prepared_rounds_newest_first(app, db, build_survey, org_scope):
    survey = build_survey(questions=QUESTIONS, recurrence="weekly", through=OPENS + 14 * DAY)
    first, second, third = survey.rounds
    prepare_closed_rounds(OPENS + 14 * DAY, app.config)  # the third round is still open
    assert [r.id for r in results_rounds(org_scope)] == [second.id, first.id]
    pending = results_rounds(org_scope, include_pending=True)
    assert [(r.id, r.results_ready) for r in pending] == [(third.id, False), (second.id, True), (first.id, True)]
    assert pending[0].survey_title == "CRM pulse"


# ---------------------------------------------------------------- tenure bands


def test_a_tenure_band_reads_only_its_respondents(app, db, build_survey, org_scope):
    newcomers = team(NORTH, NORTH_ANSWERS, since=dt.date(2024, 9, 1))  # under a year on OPENS
    veterans = team(NORTH, SOUTH_ANSWERS, since=dt.date(2020, 1, 1))
    survey_round = build_survey(questions=QUESTIONS).rounds[0]
    for person, row in [*zip(newcomers, NORTH_ANSWERS, strict=True), *zip(veterans, SOUTH_ANSWERS, strict=True)]:
        answer(person, survey_round, row)
    prepare_round_results(survey_round, app.config, AFTER)
    acme = unit_id("Acme")
    newer = group_results(org_scope, survey_round.id, acme, "<1y")
    older = group_results(org_scope, survey_round.id, acme, "3y+")
    assert (newer.band, newer.n, newer.invited) == ("<1y", 5, 5)
    assert newer.engagement_index == pytest.approx(62.5)
    assert older.engagement_index == pytest.approx(75.0)
    assert group_results(org_scope, survey_round.id, acme, ALL_BANDS).engagement_index == pytest.approx(68.75)
    assert group_results(org_scope, survey_round.id, acme, "1-3y").suppressed  # nobody in it


# ---------------------------------------------------------------- heatmap


def test_the_heatmap_has_one_row_per_child_unit_in_the_audience(pulse, org_scope):
    rows = heatmap(org_scope, pulse.id, unit_id("Acme/EMEA"))
    assert [(r.unit_path, r.n) for r in rows] == [(NORTH, 5), (SOUTH, 5)]
    # Americas was not in the audience; EMEA repeats Acme and is shown suppressed.
    assert [(r.unit_path, r.suppressed, r.n) for r in heatmap(org_scope, pulse.id, unit_id("Acme"))] == [
        ("Acme/EMEA", True, None)]


def test_a_suppressed_child_appears_suppressed_in_the_heatmap(small_team_round, org_scope):
    rows = heatmap(org_scope, small_team_round.id, unit_id("Acme/EMEA"))
    assert [(r.unit_path, r.suppressed, r.message, r.items) for r in rows] == [
        (NORTH, True, SUPPRESSED_MESSAGE, []), (SOUTH, True, SUPPRESSED_MESSAGE, [])]


# ---------------------------------------------------------------- trends


@pytest.fixture
def reworded(app, db, build_survey):
    """A weekly pulse whose energy item was reworded (version 2) before its second round; the same
    ten people answered both rounds."""
    people = team(NORTH, NORTH_ANSWERS) + team(SOUTH, SOUTH_ANSWERS)
    rows = NORTH_ANSWERS + SOUTH_ANSWERS
    survey = build_survey(questions=QUESTIONS, recurrence="weekly")
    first = survey.rounds[0]
    for person, row in zip(people, rows, strict=True):
        answer(person, first, row)
    item = db.session.scalar(select(SurveyItem).where(SurveyItem.key == "engagement.energy"))
    v2 = SurveyItemVersion(item=item, version=2, wording="I start most working days full of energy.", scale="likert5")
    db.session.add(v2)
    db.session.flush()
    update_survey(survey, questions=[QuestionSpec(item_version_id=v2.id), *QUESTIONS[1:]])
    schedule_rounds(survey, OPENS + 7 * DAY)
    second = survey.rounds[1]
    for person, row in zip(people, rows, strict=True):
        energy = 5 if row[0] >= 4 else row[0]
        answer(person, second, (energy, *row[1:]), day=OPENS + 7 * DAY)
    return survey, first, second, v2


def test_preparing_a_round_prepares_the_earlier_closed_rounds_first(app, reworded):
    _, first, second, _ = reworded
    assert prepare_round_results(second, app.config, OPENS + 14 * DAY)
    assert first.results_ready_at is not None and second.results_ready_at is not None


def test_a_trend_has_one_point_per_prepared_round_and_keeps_item_versions_apart(app, reworded, org_scope):
    survey, first, second, v2 = reworded
    prepare_closed_rounds(OPENS + 14 * DAY, app.config)
    points = trend(org_scope, survey.id, unit_id("Acme"))
    assert [p.round.id for p in points] == [first.id, second.id]
    series = item_series(points)
    v1 = first.questions[0].question.item_version_id
    assert [(r.id, i.mean) for r, i in series[f"v{v1}"]] == [(first.id, pytest.approx(3.8))]
    assert [(r.id, i.wording) for r, i in series[f"v{v2.id}"]] == [(second.id, v2.wording)]
    enps_version = first.questions[3].question.item_version_id
    assert [r.id for r, _ in series[f"v{enps_version}"]] == [first.id, second.id]


def test_an_unknown_survey_has_no_trend(pulse, org_scope):
    with pytest.raises(ResultsNotFound):
        trend(org_scope, 999_999, unit_id("Acme"))
