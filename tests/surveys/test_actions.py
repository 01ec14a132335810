"""Action plans, "you said, we did" (surveys/actions.py): who writes them, how they move, who reads
them, and the follow-up item asked of the plan's unit in the next round.

The helpers at the top (``plan``, ``answer``) are shared with test_actions_views.py.
"""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from adoption.org import ensure_unit, move_employee
from adoption.scope import ScopeError, scope_for
from surveys.actions import (
    ActionPlanError,
    add_update,
    attach_follow_ups,
    create_plan,
    follow_up_result,
    ledger_for_employee,
    owner_choices,
    plans_by_status,
    plans_for_unit,
    plans_in_scope,
    rounds_for_plans,
)
from surveys.disclosure import SUPPRESSED_MESSAGE
from surveys.models import (
    ActionPlan,
    Comment,
    CommentThread,
    RoundQuestion,
    SurveyItemVersion,
    SurveyQuestion,
    SurveyRound,
)
from surveys.results import prepare_round_results
from surveys.services import (
    SurveyError,
    questions_for,
    sample_questions,
    save_draft,
    schedule_rounds,
    submit_response,
)
from tests.factories import make_employee, make_user
from tests.surveys.conftest import BUDGET, OPENS

NORTH, SOUTH = "Acme/EMEA/Sales North", "Acme/EMEA/Sales South"
INSIDE = "Acme/EMEA/Sales North/Inside"
#: Round 1 of the monthly pulse ran 3–9 March; plans are written on the 12th.
WRITTEN = dt.date(2025, 3, 12)
#: Round 2 opens on 3 April (and closes on the 9th); its results are prepared on the 10th.
NEXT_OPENS, PREPARED_ON = dt.date(2025, 4, 3), dt.date(2025, 4, 10)
CONFIG = {**BUDGET, "SURVEY_MIN_RESPONDENTS": 5, "SURVEY_MIN_COMMENT_RESPONDENTS": 5}


# ------------------------------------------------------------------ shared helpers


def plan(user, survey, unit: str = NORTH, **fields) -> ActionPlan:
    """A plan written by ``user`` on WRITTEN about the survey's first round, owned by them."""
    values = {
        "unit_id": ensure_unit(unit).id, "round_id": survey.rounds[0].id, "title": "Weekly pipeline clinic",
        "description": "Thirty minutes every Tuesday.", "owner_id": user.id, "due_on": WRITTEN + dt.timedelta(days=30),
        "today": WRITTEN,
    }
    values.update(fields)
    return create_plan(scope_for(user), user, **values)


def answer(survey_round: SurveyRound, employee, follow_up: int | None = None, day: dt.date | None = None):
    """Submit the employee's response (energy 4, eNPS 8), with ``follow_up`` for every follow-up item."""
    questions = list(survey_round.questions)
    answers = {questions[0].id: {"value": 4}, questions[1].id: {"value": 8}}
    if follow_up is not None:
        for rq in questions:
            if rq.unit_id is not None:
                answers[rq.id] = {"value": follow_up}
    return submit_response(employee, survey_round, answers, day or survey_round.opens_on, BUDGET)


@pytest.fixture
def pulse(build_survey):
    """A monthly pulse of Acme/EMEA whose first round (3–9 March) is scheduled."""
    return build_survey(recurrence="monthly")


@pytest.fixture
def manager(db):
    """The manager of Sales North."""
    return make_user("manager", make_employee(NORTH))


# ------------------------------------------------------------------ writing plans


def test_manager_writes_a_plan_for_their_own_team(pulse, manager):
    p = plan(manager, pulse)
    assert (p.unit_id, p.round_id, p.status, p.owner_id, p.created_by_id) == (
        ensure_unit(NORTH).id, pulse.rounds[0].id, "planned", manager.id, manager.id)
    assert plans_for_unit(ensure_unit(NORTH).id) == [p]


def test_manager_writes_a_plan_for_a_unit_below_their_team(pulse, manager):
    assert plan(manager, pulse, unit=INSIDE).unit_id == ensure_unit(INSIDE).id


def test_manager_cannot_write_a_plan_for_a_sibling_unit(pulse, manager):
    with pytest.raises(ScopeError):
        plan(manager, pulse, unit=SOUTH)


def test_employee_cannot_write_a_plan(pulse):
    employee = make_user("employee", make_employee(NORTH))
    with pytest.raises(ScopeError):
        plan(employee, pulse)


def test_change_leader_writes_a_plan_for_any_unit(pulse, leader):
    assert plan(leader, pulse, unit=SOUTH).unit_id == ensure_unit(SOUTH).id


def test_owner_must_be_an_active_user(pulse, manager):
    gone = make_user("employee", make_employee(NORTH, active=False))
    disabled = make_user("employee", make_employee(NORTH))
    disabled.is_enabled = False
    for owner in (gone, disabled):
        with pytest.raises(ActionPlanError) as caught:
            plan(manager, pulse, owner_id=owner.id)
        assert caught.value.errors == {"owner": "Choose an owner whose account is active."}


def test_any_active_user_may_own_a_plan(pulse, manager):
    colleague = make_user("employee", make_employee(NORTH))
    assert plan(manager, pulse, owner_id=colleague.id).owner_id == colleague.id


def test_round_whose_audience_leaves_out_the_unit_is_refused(pulse, leader):
    with pytest.raises(ActionPlanError) as caught:
        plan(leader, pulse, unit="Acme/Americas/Service")
    assert caught.value.errors == {"round": "Acme/Americas/Service is not in the audience of \u201cCRM pulse\u201d."}


def test_round_not_yet_opened_is_refused(pulse, manager):
    with pytest.raises(ActionPlanError, match="has not opened yet"):
        plan(manager, pulse, today=OPENS - dt.timedelta(days=1), due_on=OPENS + dt.timedelta(days=30))


def test_due_date_in_the_past_and_empty_title_are_refused_together(pulse, manager):
    with pytest.raises(ActionPlanError) as caught:
        plan(manager, pulse, title="  ", due_on=WRITTEN - dt.timedelta(days=1))
    assert caught.value.errors == {"title": "Give the plan a title.", "due_on": "The due date cannot be in the past."}


def test_item_must_have_been_asked_in_the_round(db, pulse, manager):
    asked = pulse.rounds[0].questions[0].question.item_version_id
    assert plan(manager, pulse, item_version_id=asked).item_version_id == asked
    in_survey = {q.item_version_id for q in pulse.questions}
    not_asked = next(v for v in db.session.scalars(select(SurveyItemVersion.id)) if v not in in_survey)
    with pytest.raises(ActionPlanError) as caught:
        plan(manager, pulse, item_version_id=not_asked)
    assert caught.value.errors == {"item": "That item was not asked in this round."}


def _thread(db, survey_round: SurveyRound, unit: str) -> CommentThread:
    """A conversation about a comment of ``survey_round`` listed under ``unit``."""
    unit_id = ensure_unit(unit).id
    comment = Comment(id=uuid.uuid4(), round_id=survey_round.id, round_question_id=survey_round.questions[0].id,
                      unit_id=unit_id, kind="comment", body="More coaching please", author_key="0" * 64,
                      group_unit_id=unit_id)
    db.session.add(comment)
    db.session.flush()
    thread = CommentThread(comment_id=comment.id, round_id=survey_round.id, unit_id=unit_id, status="open")
    db.session.add(thread)
    db.session.flush()
    return thread


def test_conversation_must_be_about_a_comment_of_the_round_in_the_unit(db, pulse, manager):
    own = _thread(db, pulse.rounds[0], NORTH)
    assert plan(manager, pulse, thread_id=own.id).thread_id == own.id
    elsewhere = _thread(db, pulse.rounds[0], SOUTH)
    with pytest.raises(ActionPlanError, match="outside Acme/EMEA/Sales North"):
        plan(manager, pulse, thread_id=elsewhere.id)
    schedule_rounds(pulse, NEXT_OPENS)
    other_round = _thread(db, pulse.rounds[1], NORTH)
    with pytest.raises(ActionPlanError, match="no conversation with this number in this round"):
        plan(manager, pulse, thread_id=other_round.id)


def test_rounds_offered_to_a_manager_are_those_reaching_their_team(build_survey, pulse, manager):
    americas = build_survey(title="Americas pulse", units=("Acme/Americas",))
    offered = rounds_for_plans(scope_for(manager), WRITTEN)
    assert pulse.rounds[0] in offered and americas.rounds[0] not in offered


def test_owner_choices_of_a_manager_are_their_people_and_themselves(pulse, manager, leader):
    colleague = make_user("employee", make_employee(INSIDE))
    make_user("employee", make_employee(SOUTH))
    assert {uid for uid, _ in owner_choices(scope_for(manager))} == {manager.id, colleague.id}


# ------------------------------------------------------------------ updates and statuses


def test_update_moving_the_status_records_it_on_the_update(pulse, manager):
    p = plan(manager, pulse)
    update = add_update(manager, scope_for(manager), p, "First clinic held.", "in_progress")
    assert (p.status, update.status, update.body, update.author_id) == (
        "in_progress", "in_progress", "First clinic held.", manager.id)


def test_note_that_keeps_the_status_records_no_status(pulse, manager):
    p = plan(manager, pulse)
    assert add_update(manager, scope_for(manager), p, "Room booked.").status is None
    assert add_update(manager, scope_for(manager), p, "Still planned.", "planned").status is None
    assert p.status == "planned" and len(p.updates) == 2


def test_status_moves_from_planned_through_in_progress_to_done(pulse, manager):
    p, scope = plan(manager, pulse), scope_for(manager)
    add_update(manager, scope, p, "Started.", "in_progress")
    add_update(manager, scope, p, "Finished.", "done")
    assert p.status == "done"
    assert [u.status for u in p.updates] == ["in_progress", "done"]


def test_planned_plan_cannot_jump_to_done(pulse, manager):
    p = plan(manager, pulse)
    with pytest.raises(ActionPlanError) as caught:
        add_update(manager, scope_for(manager), p, "All done.", "done")
    assert caught.value.errors == {"status": "A plan that is planned can move to in progress or dropped, not to done."}
    assert p.status == "planned"


@pytest.mark.parametrize("path", [(), ("in_progress",), ("in_progress", "done")])
def test_any_plan_can_be_dropped(pulse, manager, path):
    p, scope = plan(manager, pulse), scope_for(manager)
    for status in path:
        add_update(manager, scope, p, "Moving on.", status)
    add_update(manager, scope, p, "No longer needed.", "dropped")
    assert p.status == "dropped"


def test_dropped_plan_stays_dropped(pulse, manager):
    p, scope = plan(manager, pulse), scope_for(manager)
    add_update(manager, scope, p, "Dropped.", "dropped")
    with pytest.raises(ActionPlanError, match="A dropped plan keeps its status"):
        add_update(manager, scope, p, "Back on.", "planned")


def test_empty_update_is_refused(pulse, manager):
    with pytest.raises(ActionPlanError, match="Write what happened"):
        add_update(manager, scope_for(manager), plan(manager, pulse), "   ")


def test_owner_posts_updates_on_their_plan(pulse, manager):
    owner = make_user("employee", make_employee(NORTH))
    p = plan(manager, pulse, owner_id=owner.id)
    assert add_update(owner, scope_for(owner), p, "Agenda shared.", "in_progress").author_id == owner.id


def test_manager_of_another_team_cannot_post_updates(pulse, manager):
    p = plan(manager, pulse)
    south_manager = make_user("manager", make_employee(SOUTH))
    with pytest.raises(ScopeError):
        add_update(south_manager, scope_for(south_manager), p, "Not mine.")


# ------------------------------------------------------------------ reading: leaders and the ledger


def test_plans_by_status_counts_only_the_units_in_scope(pulse, manager, leader):
    mine = plan(manager, pulse)
    add_update(manager, scope_for(manager), mine, "Started.", "in_progress")
    plan(manager, pulse, unit=INSIDE)
    plan(leader, pulse, unit=SOUTH)
    assert plans_by_status(scope_for(manager)) == {"planned": 1, "in_progress": 1, "done": 0, "dropped": 0}
    assert plans_by_status(scope_for(leader)) == {"planned": 2, "in_progress": 1, "done": 0, "dropped": 0}
    employee = make_user("employee", make_employee(NORTH))
    assert sum(plans_by_status(scope_for(employee)).values()) == 0


def test_plans_in_scope_filter_by_status_and_unit_subtree(pulse, manager, leader):
    north, inside, south = plan(manager, pulse), plan(manager, pulse, unit=INSIDE), plan(leader, pulse, unit=SOUTH)
    add_update(manager, scope_for(manager), inside, "Started.", "in_progress")
    assert plans_in_scope(scope_for(manager)) == [north, inside]
    assert plans_in_scope(scope_for(leader), unit_id=ensure_unit(NORTH).id) == [north, inside]
    assert plans_in_scope(scope_for(leader), status="in_progress") == [inside]
    assert plans_in_scope(scope_for(leader), unit_id=ensure_unit(SOUTH).id) == [south]
    with pytest.raises(ScopeError):
        plans_in_scope(scope_for(manager), unit_id=ensure_unit(SOUTH).id)


def test_employee_of_the_unit_sees_its_plans_in_the_ledger(pulse, manager):
    p = plan(manager, pulse, description="Every Tuesday.")
    add_update(manager, scope_for(manager), p, "First clinic held.", "in_progress")
    (entry,) = ledger_for_employee(make_employee(NORTH), WRITTEN)
    assert (entry.title, entry.description, entry.owner_name, entry.due_on, entry.status) == (
        "Weekly pipeline clinic", "Every Tuesday.", manager.employee.full_name, p.due_on, "in_progress")
    assert [(u.body, u.status, u.author_name) for u in entry.updates] == [
        ("First clinic held.", "in_progress", manager.employee.full_name)]


def test_employee_of_another_team_does_not_see_the_plan(pulse, manager):
    plan(manager, pulse)
    assert ledger_for_employee(make_employee(SOUTH), WRITTEN) == []


def test_employee_of_a_child_unit_sees_the_parent_plan_but_not_the_other_way(pulse, manager):
    parent_plan = plan(manager, pulse, title="North-wide clinic")
    plan(manager, pulse, unit=INSIDE, title="Inside sales call reviews")
    assert [e.id for e in ledger_for_employee(make_employee(INSIDE), WRITTEN)][-1] == parent_plan.id
    assert [e.title for e in ledger_for_employee(make_employee(INSIDE), WRITTEN)] == [
        "Inside sales call reviews", "North-wide clinic"]
    assert [e.title for e in ledger_for_employee(make_employee(NORTH), WRITTEN)] == ["North-wide clinic"]


def test_ledger_follows_the_unit_the_employee_is_in_that_day(app, pulse, manager):
    plan(manager, pulse)
    mover = make_employee(NORTH)
    move_employee(mover, ensure_unit(SOUTH), WRITTEN)
    assert ledger_for_employee(mover, WRITTEN - dt.timedelta(days=1)) != []
    assert ledger_for_employee(mover, WRITTEN) == []


# ------------------------------------------------------------------ the follow-up item


def test_follow_up_creates_one_retired_optional_likert_question(db, pulse, manager):
    p = plan(manager, pulse, follow_up=True)
    question = db.session.get(SurveyQuestion, p.follow_up_question_id)
    assert question.survey_id == pulse.id
    assert (question.wording, question.scale, question.retired, question.required, question.allow_comment) == (
        'Has this action made a difference? "Weekly pipeline clinic"', "likert5", True, False, False)
    assert p.follow_up_round_question_id is None  # the next round is not scheduled yet


def test_follow_up_question_is_never_sampled(pulse, manager):
    p = plan(manager, pulse, follow_up=True)
    assert p.follow_up_question_id not in {q.id for q in sample_questions(pulse, {})}


def test_follow_up_is_added_at_the_end_of_the_next_round_for_the_unit_only(db, pulse, manager):
    p = plan(manager, pulse, follow_up=True)
    (second,) = schedule_rounds(pulse, NEXT_OPENS)
    follow_up = db.session.get(RoundQuestion, p.follow_up_round_question_id)
    assert follow_up.round_id == second.id
    assert follow_up.question_id == p.follow_up_question_id
    assert follow_up.unit_id == ensure_unit(NORTH).id
    assert second.questions[-1] == follow_up
    assert [rq.question.retired for rq in second.questions].count(True) == 1


def test_follow_up_is_asked_once_only(db, pulse, manager):
    p = plan(manager, pulse, follow_up=True)
    second, third = schedule_rounds(pulse, dt.date(2025, 5, 3))
    assert p.follow_up_round_question_id in {rq.id for rq in second.questions}
    assert all(rq.unit_id is None for rq in third.questions)
    assert attach_follow_ups(third) == []


def test_follow_up_goes_into_a_next_round_already_scheduled(db, build_survey, manager):
    survey = build_survey(recurrence="monthly", through=NEXT_OPENS)
    p = plan(manager, survey, follow_up=True)
    assert db.session.get(RoundQuestion, p.follow_up_round_question_id).round_id == survey.rounds[1].id


def test_plan_dropped_before_the_next_round_is_not_followed_up(pulse, manager):
    p = plan(manager, pulse, follow_up=True)
    add_update(manager, scope_for(manager), p, "Dropped.", "dropped")
    (second,) = schedule_rounds(pulse, NEXT_OPENS)
    assert p.follow_up_round_question_id is None
    assert all(rq.unit_id is None for rq in second.questions)
    assert follow_up_result(p, config=CONFIG)["state"] == "dropped"


def test_follow_up_is_refused_when_the_survey_has_no_next_round(build_survey, manager):
    once = build_survey(title="One-off pulse")
    with pytest.raises(ActionPlanError, match="no round opening after today"):
        plan(manager, once, follow_up=True)


def test_employee_outside_the_unit_is_not_asked_the_follow_up(pulse, manager):
    p = plan(manager, pulse, follow_up=True)
    (second,) = schedule_rounds(pulse, NEXT_OPENS)
    inside, south = make_employee(INSIDE), make_employee(SOUTH)
    assert p.follow_up_round_question_id in {rq.id for rq in questions_for(inside, second, NEXT_OPENS)}
    assert p.follow_up_round_question_id not in {rq.id for rq in questions_for(south, second, NEXT_OPENS)}


def test_employee_outside_the_unit_cannot_answer_the_follow_up(pulse, manager):
    p = plan(manager, pulse, follow_up=True)
    (second,) = schedule_rounds(pulse, NEXT_OPENS)
    south = make_employee(SOUTH)
    with pytest.raises(SurveyError, match="not part of this survey round"):
        answer(second, south, follow_up=5)
    with pytest.raises(SurveyError, match="not part of this survey round"):
        save_draft(south, second, {p.follow_up_round_question_id: {"value": 5}}, NEXT_OPENS, BUDGET)
    assert answer(second, south).answers  # without it, their response goes through


def test_employee_of_the_unit_answers_the_follow_up(pulse, manager):
    p = plan(manager, pulse, follow_up=True)
    (second,) = schedule_rounds(pulse, NEXT_OPENS)
    response = answer(second, make_employee(NORTH), follow_up=5)
    assert {a.round_question_id: a.value for a in response.answers}[p.follow_up_round_question_id] == 5


def test_follow_up_is_asked_by_the_unit_on_the_day_of_answering(app, pulse, manager):
    p = plan(manager, pulse, follow_up=True)
    (second,) = schedule_rounds(pulse, NEXT_OPENS)
    mover = make_employee(SOUTH)
    move_employee(mover, ensure_unit(NORTH), NEXT_OPENS + dt.timedelta(days=1))
    assert p.follow_up_round_question_id not in {rq.id for rq in questions_for(mover, second, NEXT_OPENS)}
    assert p.follow_up_round_question_id in {
        rq.id for rq in questions_for(mover, second, NEXT_OPENS + dt.timedelta(days=1))}


# ------------------------------------------------------------------ the follow-up result


def _followed_up_round(pulse, manager, north_answers: list[int | None], south: int = 5):
    """A plan with a follow-up; round 2 answered in North (a follow-up value or None each) and
    by ``south`` people of Sales South; then prepared. Returns the plan."""
    p = plan(manager, pulse, follow_up=True)
    (second,) = schedule_rounds(pulse, NEXT_OPENS)
    for value in north_answers:
        answer(second, make_employee(NORTH), follow_up=value)
    for _ in range(south):
        answer(second, make_employee(SOUTH))
    return p, second


def test_follow_up_result_waits_for_the_round_results(pulse, manager):
    p = plan(manager, pulse, follow_up=True)
    assert follow_up_result(p, config=CONFIG)["state"] == "pending"
    (second,) = schedule_rounds(pulse, NEXT_OPENS)
    result = follow_up_result(p, config=CONFIG)
    assert (result["state"], result["round"]) == ("waiting", second)
    assert "n" not in result


def test_follow_up_result_shows_favourability_and_mean_of_the_unit(pulse, manager):
    p, second = _followed_up_round(pulse, manager, [5, 4, 4, 2, 1])
    prepare_round_results(second, CONFIG, PREPARED_ON)
    result = follow_up_result(p, config=CONFIG)
    assert result["state"] == "shown"
    assert (result["n"], result["favourable_pct"], result["mean"]) == (5, 60.0, pytest.approx(3.2))


def test_follow_up_result_is_suppressed_below_the_threshold(pulse, manager):
    p, second = _followed_up_round(pulse, manager, [5, 5, 5, 5])
    prepare_round_results(second, CONFIG, PREPARED_ON)
    result = follow_up_result(p, config=CONFIG)
    assert result == {"state": "suppressed", "round": second, "message": SUPPRESSED_MESSAGE}


def test_follow_up_result_is_suppressed_when_fewer_than_k_answered_the_item(pulse, manager):
    p, second = _followed_up_round(pulse, manager, [5, 5, 5, 5, None])
    prepare_round_results(second, CONFIG, PREPARED_ON)
    assert follow_up_result(p, config=CONFIG) == {"state": "suppressed", "round": second, "message": SUPPRESSED_MESSAGE}


def test_plan_without_follow_up_has_no_result(pulse, manager):
    assert follow_up_result(plan(manager, pulse), config=CONFIG)["state"] == "none"
