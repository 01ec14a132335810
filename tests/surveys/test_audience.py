"""Who a round is for: audience subtrees and roles on the opening day, and the survey budget."""
from __future__ import annotations

import datetime as dt

from adoption.org import end_membership, move_employee
from surveys.services import (
    RoundAccess,
    eligible_employees,
    is_offered,
    my_open_rounds,
    offered_rounds,
    round_access,
    submit_response,
)
from tests.factories import make_employee, make_unit, make_user
from tests.surveys.conftest import BUDGET, OPENS

DAY = dt.timedelta(days=1)


def test_everyone_in_the_audience_subtree_is_eligible(build_survey):
    north = make_employee("Acme/EMEA/Sales North")
    south = make_employee("Acme/EMEA/Sales South")
    make_employee("Acme/Americas/Service")
    survey = build_survey(units=("Acme/EMEA",))
    assert eligible_employees(survey.rounds[0]) == [north, south]


def test_several_audience_units_are_combined(build_survey):
    north = make_employee("Acme/EMEA/Sales North")
    service = make_employee("Acme/Americas/Service")
    make_employee("Acme/Americas/Sales")
    survey = build_survey(units=("Acme/EMEA/Sales North", "Acme/Americas/Service"))
    assert eligible_employees(survey.rounds[0]) == [north, service]


def test_joiner_after_the_opening_day_is_not_eligible(build_survey):
    make_employee("Acme/EMEA/Sales North", since=OPENS + DAY)
    survey = build_survey()
    assert eligible_employees(survey.rounds[0]) == []


def test_leaver_before_the_opening_day_is_not_eligible(build_survey):
    leaver = make_employee("Acme/EMEA/Sales North")
    end_membership(leaver, OPENS)
    survey = build_survey()
    assert eligible_employees(survey.rounds[0]) == []


def test_unit_on_the_opening_day_decides_not_the_current_one(app, build_survey):
    mover = make_employee("Acme/Americas/Service")
    move_employee(mover, make_unit("Acme/EMEA/Sales North"), OPENS + DAY)
    survey = build_survey(units=("Acme/EMEA",))
    assert eligible_employees(survey.rounds[0]) == []


def test_roles_filter_the_audience(build_survey):
    manager = make_employee("Acme/EMEA/Sales North")
    make_user("manager", manager)
    make_employee("Acme/EMEA/Sales North")  # no account: counts as an employee
    survey = build_survey(audience_roles=["manager"])
    assert eligible_employees(survey.rounds[0]) == [manager]


def test_people_without_an_account_count_as_employees(build_survey):
    plain = make_employee("Acme/EMEA/Sales North")
    manager = make_employee("Acme/EMEA/Sales North")
    make_user("manager", manager)
    survey = build_survey(audience_roles=["employee"])
    assert eligible_employees(survey.rounds[0]) == [plain]


def test_open_round_is_listed_for_an_eligible_employee(build_survey):
    person = make_employee()
    survey = build_survey()
    assert my_open_rounds(person, OPENS, BUDGET) == survey.rounds


def test_round_is_not_listed_before_it_opens_or_after_it_closes(build_survey):
    person = make_employee()
    survey = build_survey()
    assert my_open_rounds(person, OPENS - DAY, BUDGET) == []
    assert my_open_rounds(person, survey.rounds[0].closes_on + DAY, BUDGET) == []


def test_draft_survey_is_not_listed(build_survey):
    person = make_employee()
    build_survey(activate=False)
    assert my_open_rounds(person, OPENS, BUDGET) == []


def test_rounds_over_the_budget_are_not_offered(build_survey):
    person = make_employee()
    surveys = [build_survey(title=f"Pulse {i}") for i in range(3)]
    budget = {"SURVEY_BUDGET_ROUNDS": 2, "SURVEY_BUDGET_DAYS": 28}
    listed = my_open_rounds(person, OPENS, budget)
    assert [r.survey for r in listed] == surveys[:2]


def test_budget_frees_up_once_the_window_has_passed(build_survey):
    person = make_employee()
    budget = {"SURVEY_BUDGET_ROUNDS": 2, "SURVEY_BUDGET_DAYS": 15}
    survey = build_survey(recurrence="weekly", round_length_days=3, through=OPENS + dt.timedelta(weeks=3))
    offered = offered_rounds(person, OPENS + dt.timedelta(weeks=3), budget_rounds=2, budget_days=15)
    # Weeks 0 and 1 fill the budget; week 2 would be the third round in 15 days (its own day
    # included); week 3's window holds only week 1: offered again.
    assert [r.number for r in offered] == [1, 2, 4]
    assert my_open_rounds(person, OPENS + dt.timedelta(weeks=2), budget) == []
    assert my_open_rounds(person, OPENS + dt.timedelta(weeks=3), budget) == [survey.rounds[3]]


def test_budget_counts_rounds_across_surveys(build_survey):
    person = make_employee()
    weekly = build_survey(recurrence="weekly", round_length_days=3, through=OPENS + dt.timedelta(weeks=1))
    one_off = build_survey(title="One-off", first_opens_on=OPENS + dt.timedelta(weeks=1), through=OPENS + dt.timedelta(weeks=1))
    budget = {"SURVEY_BUDGET_ROUNDS": 2, "SURVEY_BUDGET_DAYS": 28}
    listed = my_open_rounds(person, OPENS + dt.timedelta(weeks=1), budget)
    # Weekly #1 was offered; weekly #2 and the one-off open the same day and the lower survey
    # id goes first, which fills the budget of two: the one-off is not offered.
    assert listed == [weekly.rounds[1]]
    assert one_off.rounds[0] not in listed


def test_round_access_tells_open_submitted_and_unavailable_apart(build_survey):
    person = make_employee()
    outsider = make_employee("Acme/Americas/Service")
    survey_round = build_survey(units=("Acme/EMEA",)).rounds[0]
    assert round_access(person, survey_round, OPENS, BUDGET) is RoundAccess.OPEN
    assert round_access(outsider, survey_round, OPENS, BUDGET) is RoundAccess.UNAVAILABLE
    assert round_access(person, survey_round, survey_round.closes_on + DAY, BUDGET) is RoundAccess.UNAVAILABLE
    answers = {rq.id: {"value": 3} for rq in survey_round.questions if rq.question.scale == "likert5"}
    answers.update({rq.id: {"value": 7} for rq in survey_round.questions if rq.question.scale == "nps11"})
    submit_response(person, survey_round, answers, OPENS, BUDGET)
    assert round_access(person, survey_round, OPENS, BUDGET) is RoundAccess.SUBMITTED


def test_round_beyond_the_budget_is_neither_offered_nor_open(build_survey):
    person = make_employee()
    rounds = [build_survey(title=f"Pulse {i}").rounds[0] for i in range(3)]
    budget = {"SURVEY_BUDGET_ROUNDS": 2, "SURVEY_BUDGET_DAYS": 28}
    assert [is_offered(person, r, OPENS, budget_rounds=2, budget_days=28) for r in rounds] == [True, True, False]
    assert round_access(person, rounds[2], OPENS, budget) is RoundAccess.UNAVAILABLE


def test_budget_defaults_are_settings(app):
    assert app.config["SURVEY_BUDGET_ROUNDS"] == 4
    assert app.config["SURVEY_BUDGET_DAYS"] == 28
