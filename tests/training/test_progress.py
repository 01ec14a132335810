"""The progress engine (training/services.py): each step kind, order, attempts and pass marks,
commitments and their follow-ups, completion, "My training" and who may read a certificate."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from adoption.initiative import save_initiative
from adoption.scope import scope_for
from tests.factories import make_employee, make_user
from training import xapi
from training.models import (
    AssignedTraining,
    Assignment,
    CheckQuestion,
    Module,
    ModuleStep,
    StepCompletion,
    XapiStatement,
)
from training.services import (
    TrainingError,
    TrainingStatus,
    answer_case,
    certificate,
    complete_lesson,
    current_step,
    give_reaction,
    make_commitment,
    my_training,
    start_module,
    submit_check,
)

TODAY = dt.date(2025, 3, 10)
NOW = dt.datetime(2025, 3, 10, 9, 0, 0)
COMMENTARY = "EXPERT-COMMENTARY: the rep should log the objection before the next call."


def build_module(db, slug: str = "customer-insight", *, status: str = "published", pass_mark: int | None = 60,
                 attempts_allowed: int | None = 3, key_behaviours=("activity_logged",)) -> Module:
    """A four-step module (lesson, case study, three-question check, commitment), built through the
    models; its check's right answers: q1 option 1, q2 options 0 and 2, q3 option 0."""
    module = Module(
        slug=slug, title="Customer insight first", summary="What to record after a conversation.",
        audience="Sales and service", estimated_minutes=25, status=status, version=2,
        key_behaviours=list(key_behaviours),
        reaction_question="How useful was this module for your daily work?",
    )
    module.steps = [
        ModuleStep(position=1, key="why-it-matters", kind="lesson", title="Why insight beats data entry",
                   body="A **customer** note is a promise to the next colleague.\n\n- who\n- what\n- next step"),
        ModuleStep(position=2, key="renewal-call", kind="case_study", title="The renewal call",
                   body="Priya, an account manager, hears that a client is **evaluating a competitor**.",
                   commentary=COMMENTARY,
                   discussion=["What would the next colleague need to know?", "What is the risk of waiting?"]),
        ModuleStep(position=3, key="check", kind="check", title="Check your understanding",
                   body="Three questions.", pass_mark_pct=pass_mark, attempts_allowed=attempts_allowed,
                   questions=[
                       CheckQuestion(position=1, kind="single", prompt="When do you record a customer's objection?",
                                     options=["At the end of the quarter", "The same day", "Only if asked"],
                                     correct=[1], explanation="Memory fades within a day."),
                       CheckQuestion(position=2, kind="multiple", prompt="Which belong in a call note?",
                                     options=["The customer's words", "Your mood", "The agreed next step",
                                              "The weather"],
                                     correct=[0, 2], explanation="Their words and the next step."),
                       CheckQuestion(position=3, kind="single", prompt="Who is the note for?",
                                     options=["The next person who talks to the customer", "Your manager"],
                                     correct=[0], explanation="It serves the customer relationship."),
                   ]),
        ModuleStep(position=4, key="commitment", kind="commitment", title="Your commitment",
                   body="Pick one habit you will keep for the next 30 days."),
    ]
    db.session.add(module)
    db.session.flush()
    return module


def steps(module: Module) -> dict[str, ModuleStep]:
    """The module's steps by kind."""
    return {s.kind: s for s in module.steps}


def right_answers(module: Module) -> dict[int, list[int]]:
    """Every question of the check answered right."""
    return {q.id: list(q.correct) for q in steps(module)["check"].questions}


def finish_steps(module: Module, enrollment, now: dt.datetime = NOW) -> None:
    """Take every step of ``module`` right first time."""
    s = steps(module)
    complete_lesson(enrollment, s["lesson"], now)
    answer_case(enrollment, s["case_study"], "Log it today and tell the renewal owner.", now)
    submit_check(enrollment, s["check"], right_answers(module), now)
    make_commitment(enrollment, s["commitment"], "log every customer call the same day", None, TODAY, now)


def statements(db, verb=None) -> list[XapiStatement]:
    """Stored statements, oldest first, optionally of one verb."""
    stmt = select(XapiStatement).order_by(XapiStatement.stored, XapiStatement.id)
    if verb is not None:
        stmt = stmt.where(XapiStatement.verb == verb.iri)
    return list(db.session.scalars(stmt))


@pytest.fixture
def module(db):
    """The published four-step module."""
    return build_module(db)


@pytest.fixture
def learner(db):
    """An active employee in Sales North."""
    return make_employee("Acme/EMEA/Sales North")


# ------------------------------------------------------------------ starting and resuming


def test_start_module_is_idempotent_and_records_the_version_and_one_launch(db, module, learner):
    first = start_module(learner, module, NOW)
    again = start_module(learner, module, NOW + dt.timedelta(hours=1))
    assert again.id == first.id
    assert first.module_version == 2
    assert first.current_position == 1
    assert [s.verb for s in statements(db)] == [xapi.LAUNCHED.iri]


def test_only_published_modules_can_be_started(db, learner):
    draft = build_module(db, "draft-module", status="draft")
    with pytest.raises(TrainingError, match="not open"):
        start_module(learner, draft, NOW)


def test_learner_resumes_at_the_first_step_not_done(db, module, learner):
    enrollment = start_module(learner, module, NOW)
    assert current_step(enrollment).kind == "lesson"
    complete_lesson(enrollment, steps(module)["lesson"], NOW)
    resumed = start_module(learner, module, NOW + dt.timedelta(days=2))
    assert current_step(resumed).kind == "case_study"
    assert resumed.current_position == 2


def test_a_later_step_is_refused_until_the_earlier_ones_are_done(db, module, learner):
    enrollment = start_module(learner, module, NOW)
    s = steps(module)
    with pytest.raises(TrainingError, match="in order"):
        answer_case(enrollment, s["case_study"], "skip ahead", NOW)
    with pytest.raises(TrainingError, match="in order"):
        submit_check(enrollment, s["check"], right_answers(module), NOW)
    with pytest.raises(TrainingError, match="in order"):
        make_commitment(enrollment, s["commitment"], "skip", None, TODAY, NOW)
    assert db.session.scalar(select(func.count()).select_from(StepCompletion)) == 0


def test_a_step_of_another_module_is_refused(db, module, learner):
    other = build_module(db, "other-module")
    enrollment = start_module(learner, module, NOW)
    with pytest.raises(TrainingError, match="another module"):
        complete_lesson(enrollment, steps(other)["lesson"], NOW)


# ------------------------------------------------------------------ lesson and case study


def test_completing_a_lesson_records_the_step_and_an_experienced_statement(db, module, learner):
    enrollment = start_module(learner, module, NOW)
    lesson = steps(module)["lesson"]
    completion = complete_lesson(enrollment, lesson, NOW)
    assert completion.step_id == lesson.id
    assert [s.verb for s in statements(db, xapi.EXPERIENCED)] == [xapi.EXPERIENCED.iri]
    with pytest.raises(TrainingError, match="already done"):
        complete_lesson(enrollment, lesson, NOW)


def test_case_answer_is_kept_and_an_empty_one_refused(db, module, learner):
    enrollment = start_module(learner, module, NOW)
    s = steps(module)
    complete_lesson(enrollment, s["lesson"], NOW)
    with pytest.raises(TrainingError, match="what you would do"):
        answer_case(enrollment, s["case_study"], "   ", NOW)
    answer = answer_case(enrollment, s["case_study"], "  Call the renewal owner today. ", NOW)
    assert answer.text == "Call the renewal owner today."
    assert current_step(enrollment).kind == "check"
    with pytest.raises(TrainingError, match="already done"):
        answer_case(enrollment, s["case_study"], "again", NOW)


# ------------------------------------------------------------------ knowledge check


@pytest.fixture
def at_check(db, module, learner):
    """An enrollment whose current step is the check."""
    enrollment = start_module(learner, module, NOW)
    s = steps(module)
    complete_lesson(enrollment, s["lesson"], NOW)
    answer_case(enrollment, s["case_study"], "Log it.", NOW)
    return enrollment


def test_multiple_choice_is_right_only_with_exactly_the_right_set(db, module, at_check):
    check = steps(module)["check"]
    q1, q2, q3 = check.questions
    attempt = submit_check(at_check, check, {q1.id: [1], q2.id: [0, 2, 3], q3.id: [0]}, NOW)
    by_question = {a.question_id: a.correct for a in attempt.answers}
    assert by_question == {q1.id: True, q2.id: False, q3.id: True}
    assert attempt.score_pct == pytest.approx(200 / 3)
    assert attempt.passed  # 2 of 3 reaches the pass mark of 60


def test_unanswered_questions_count_as_wrong_and_a_failed_attempt_does_not_complete_the_step(db, module, at_check):
    check = steps(module)["check"]
    q1 = check.questions[0]
    attempt = submit_check(at_check, check, {q1.id: [1]}, NOW)
    assert attempt.number == 1
    assert attempt.score_pct == pytest.approx(100 / 3)
    assert not attempt.passed
    assert [a.correct for a in sorted(attempt.answers, key=lambda a: a.question_id)] == [True, False, False]
    assert current_step(at_check).id == check.id
    assert [s.verb for s in statements(db, xapi.FAILED)] == [xapi.FAILED.iri]


def test_each_attempt_is_scored_and_passing_completes_the_step(db, module, at_check):
    check = steps(module)["check"]
    first = submit_check(at_check, check, {}, NOW)
    second = submit_check(at_check, check, right_answers(module), NOW + dt.timedelta(minutes=5))
    assert (first.number, first.score_pct, first.passed) == (1, 0.0, False)
    assert (second.number, second.score_pct, second.passed) == (2, 100.0, True)
    assert current_step(at_check).kind == "commitment"
    with pytest.raises(TrainingError, match="already done"):
        submit_check(at_check, check, right_answers(module), NOW)


def test_the_pass_mark_is_a_share_of_questions_right(db, learner):
    module = build_module(db, "strict", pass_mark=100)
    enrollment = start_module(learner, module, NOW)
    s = steps(module)
    complete_lesson(enrollment, s["lesson"], NOW)
    answer_case(enrollment, s["case_study"], "Log it.", NOW)
    answers = right_answers(module)
    answers[s["check"].questions[2].id] = [1]
    assert not submit_check(enrollment, s["check"], answers, NOW).passed


def test_attempts_allowed_are_enforced(db, learner):
    module = build_module(db, "two-tries", attempts_allowed=2)
    enrollment = start_module(learner, module, NOW)
    s = steps(module)
    complete_lesson(enrollment, s["lesson"], NOW)
    answer_case(enrollment, s["case_study"], "Log it.", NOW)
    submit_check(enrollment, s["check"], {}, NOW)
    submit_check(enrollment, s["check"], {}, NOW)
    with pytest.raises(TrainingError, match="used all 2 attempts"):
        submit_check(enrollment, s["check"], right_answers(module), NOW)


def test_answers_outside_the_options_or_two_for_a_single_choice_are_refused(db, module, at_check):
    check = steps(module)["check"]
    q1 = check.questions[0]
    with pytest.raises(TrainingError, match="not one of the options"):
        submit_check(at_check, check, {q1.id: [7]}, NOW)
    with pytest.raises(TrainingError, match="choose one answer"):
        submit_check(at_check, check, {q1.id: [0, 1]}, NOW)


# ------------------------------------------------------------------ commitment and reaction


@pytest.fixture
def at_commitment(db, module, at_check):
    """An enrollment whose current step is the commitment."""
    submit_check(at_check, steps(module)["check"], right_answers(module), NOW)
    return at_check


def test_commitment_schedules_follow_ups_at_30_60_and_90_days(db, module, at_commitment):
    commitment = make_commitment(at_commitment, steps(module)["commitment"], "log every call the same day",
                                 "activity_logged", TODAY, NOW)
    assert commitment.committed_on == TODAY
    assert commitment.key_behaviour == "activity_logged"
    assert [(f.day_offset, f.due_on, f.status) for f in commitment.follow_ups] == [
        (30, TODAY + dt.timedelta(days=30), None),
        (60, TODAY + dt.timedelta(days=60), None),
        (90, TODAY + dt.timedelta(days=90), None),
    ]
    assert current_step(at_commitment) is None


def test_commitment_may_name_an_initiative_key_behaviour_but_no_other(db, module, at_commitment):
    save_initiative("CRM rollout", start_date=dt.date(2025, 1, 1), licensed_seats=10, adoption_target_pct=80,
                    key_behaviours=["opportunity_updated"])
    step = steps(module)["commitment"]
    with pytest.raises(TrainingError, match="key behaviours"):
        make_commitment(at_commitment, step, "update deals", "report_viewed", TODAY, NOW)
    commitment = make_commitment(at_commitment, step, "update deals weekly", "opportunity_updated", TODAY, NOW)
    assert commitment.key_behaviour == "opportunity_updated"


def test_commitment_without_a_key_behaviour_or_text(db, module, at_commitment):
    step = steps(module)["commitment"]
    with pytest.raises(TrainingError, match="your commitment"):
        make_commitment(at_commitment, step, "", None, TODAY, NOW)
    assert make_commitment(at_commitment, step, "ask one open question per call", "", TODAY, NOW).key_behaviour is None


def test_reaction_completes_the_enrollment_only_when_every_step_is_done(db, module, learner):
    enrollment = start_module(learner, module, NOW)
    with pytest.raises(TrainingError, match="Finish every step"):
        give_reaction(enrollment, 4, "", TODAY, NOW)
    finish_steps(module, enrollment)
    with pytest.raises(TrainingError, match="from 1 to 5"):
        give_reaction(enrollment, 6, "", TODAY, NOW)
    later = NOW + dt.timedelta(minutes=30)
    give_reaction(enrollment, 4, " Useful scenarios ", TODAY, later)
    assert (enrollment.reaction_score, enrollment.reaction_comment) == (4, "Useful scenarios")
    assert (enrollment.completed_at, enrollment.completed_on) == (later, TODAY)
    completed = statements(db, xapi.COMPLETED)
    assert len(completed) == 1 and completed[0].statement["result"]["duration"] == "PT1800S"
    with pytest.raises(TrainingError, match="already completed"):
        give_reaction(enrollment, 5, "", TODAY, NOW)


# ------------------------------------------------------------------ My training


def assign(db, module: Module, employee, due_on: dt.date, *, active: bool = True) -> AssignedTraining:
    """An assignment of ``module`` due on ``due_on`` and the employee's copy of it."""
    assignment = Assignment(module=module, due_on=due_on, assigned_on=due_on - dt.timedelta(days=30),
                            active=active, units=[employee.unit])
    assigned = AssignedTraining(assignment=assignment, employee=employee, assigned_on=assignment.assigned_on,
                                due_on=due_on)
    db.session.add(assigned)
    db.session.flush()
    return assigned


def test_my_training_lists_assigned_and_started_modules_by_urgency_then_the_rest(db, learner):
    overdue = build_module(db, "overdue-one")
    due_soon = build_module(db, "due-soon")
    started = build_module(db, "started-voluntarily")
    done = build_module(db, "done-already")
    available = build_module(db, "just-available")
    build_module(db, "still-a-draft", status="draft")
    withdrawn = build_module(db, "withdrawn")
    assign(db, overdue, learner, TODAY - dt.timedelta(days=1))
    assign(db, due_soon, learner, TODAY + dt.timedelta(days=5))
    assign(db, withdrawn, learner, TODAY - dt.timedelta(days=3), active=False)
    assign(db, done, learner, TODAY - dt.timedelta(days=10))
    enrollment = start_module(learner, started, NOW)
    complete_lesson(enrollment, steps(started)["lesson"], NOW)
    finished = start_module(learner, done, NOW)
    finish_steps(done, finished)
    give_reaction(finished, 5, "", TODAY, NOW)

    items = my_training(learner, TODAY)
    assert [(i.module.slug, i.status) for i in items] == [
        ("overdue-one", TrainingStatus.OVERDUE),
        ("due-soon", TrainingStatus.NOT_STARTED),
        ("started-voluntarily", TrainingStatus.IN_PROGRESS),
        ("done-already", TrainingStatus.COMPLETED),
        ("just-available", TrainingStatus.NOT_STARTED),
        ("withdrawn", TrainingStatus.NOT_STARTED),
    ]
    by_slug = {i.module.slug: i for i in items}
    assert by_slug["started-voluntarily"].progress_pct == 25
    assert by_slug["done-already"].progress_pct == 100
    assert by_slug["due-soon"].due_on == TODAY + dt.timedelta(days=5)
    # A withdrawn assignment no longer makes the module required.
    assert not by_slug["withdrawn"].assigned and not by_slug["withdrawn"].on_list
    assert not by_slug["just-available"].on_list and by_slug["started-voluntarily"].on_list
    assert available.slug in by_slug


def test_my_training_shows_only_the_persons_own_assignments(db, learner):
    module = build_module(db, "someone-elses")
    colleague = make_employee("Acme/EMEA/Sales North")
    assign(db, module, colleague, TODAY + dt.timedelta(days=3))
    (item,) = my_training(learner, TODAY)
    assert not item.assigned and item.due_on is None


# ------------------------------------------------------------------ certificate access


@pytest.fixture
def completed(db, module, learner):
    """The learner's completed enrollment."""
    enrollment = start_module(learner, module, NOW)
    finish_steps(module, enrollment)
    give_reaction(enrollment, 4, "", TODAY, NOW)
    return enrollment


@pytest.mark.parametrize(("role", "unit", "allowed"), [
    ("manager", "Acme/EMEA", True),
    ("manager", "Acme/EMEA/Sales South", False),
    ("employee", "Acme/EMEA/Sales North", False),
    ("executive", "Acme", False),
    ("change_leader", "Acme/HQ", True),
])
def test_certificate_is_readable_only_within_scope(db, module, learner, completed, role, unit, allowed):
    reader = make_user(role, make_employee(unit, is_executive=role == "executive"))
    found = certificate(scope_for(reader), module.slug, learner.id)
    assert (found is not None) is allowed


def test_learner_reads_their_own_certificate_once_completed(db, module, learner):
    user = make_user("employee", learner)
    enrollment = start_module(learner, module, NOW)
    assert certificate(scope_for(user), module.slug, learner.id) is None
    finish_steps(module, enrollment)
    give_reaction(enrollment, 3, "", TODAY, NOW)
    found = certificate(scope_for(user), module.slug, learner.id)
    assert found.employee.id == learner.id and found.enrollment.completed_on == TODAY
