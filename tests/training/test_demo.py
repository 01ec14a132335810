"""The training demo: the starter curriculum assigned over six months, realistic learning records,
the planted behaviour effect and its null twin, determinism and idempotence.

Loading the small demo takes a while, so the tests that only read it share one load (``loaded``,
one database for the module; each test's changes are rolled back). The test that loads the demo
again comes last.
"""
from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict

import pytest
from sqlalchemy import func, select

from adoption.demo import load_demo
from adoption.demo_calendar import REFERENCE
from adoption.demo_telemetry import SMALL_WEEKS, window
from adoption.extensions import db as _db
from adoption.models import DailyUsage, Employee, OrgUnit, Role, UsageEvent, User
from tests.conftest import demo_loaded
from training.demo import (
    EFFECT_MODULE,
    EFFECT_PER_WEEK,
    INSIGHT,
    NULL_MODULE,
    PIPELINE,
    SKEPTIC,
    STRATEGY,
    AnswerFollowUp,
    GiveReaction,
    Learner,
    LearnerPlan,
    SubmitCheck,
    check_score,
    org_day,
    plan_all,
    plan_learner,
    take_through_services,
)
from training.demo_bulk import write_plans_in_bulk
from training.followups import ANSWER_DAYS, pending_follow_ups
from training.models import (
    AssignedTraining,
    Assignment,
    CaseAnswer,
    CheckAttempt,
    CheckAttemptAnswer,
    Commitment,
    CommitmentFollowUp,
    Enrollment,
    Module,
    ModuleStatus,
    StepCompletion,
    XapiStatement,
)
from training.services import commitment_behaviours
from training.xapi import COMPLETED, LAUNCHED

SEED = 7
# The demo's "today" as the suite loads it (tests/conftest.py: the reference day).
REFERENCE_DATE = REFERENCE.today
LAST_DAY = REFERENCE_DATE - dt.timedelta(days=1)


@pytest.fixture(scope="module")
def app_loaded(tmp_path_factory):
    """The small demo with every feature's demo data, loaded once for this module's tests."""
    with demo_loaded(tmp_path_factory.mktemp("training_demo"), SEED) as loaded:
        yield loaded


@pytest.fixture
def loaded(app_loaded):
    """The demo summary; the session is rolled back after each test."""
    yield app_loaded[1]
    _db.session.rollback()


def _module(slug: str) -> Module:
    return _db.session.scalar(select(Module).where(Module.slug == slug))


def _assignees(module: Module) -> dict[int, tuple[dt.date, dt.date | None]]:
    """employee id -> (earliest due date, completion day or None) for the module's assignees."""
    rows = _db.session.execute(
        select(AssignedTraining.employee_id, func.min(AssignedTraining.due_on), Enrollment.completed_on)
        .join(Assignment, Assignment.id == AssignedTraining.assignment_id)
        .outerjoin(Enrollment, (Enrollment.employee_id == AssignedTraining.employee_id)
                   & (Enrollment.module_id == Assignment.module_id))
        .where(Assignment.module_id == module.id)
        .group_by(AssignedTraining.employee_id, Enrollment.completed_on)
    )
    return {employee_id: (due_on, completed_on) for employee_id, due_on, completed_on in rows}


def _statuses(module: Module) -> Counter:
    """How the module's assignees stand on the demo's "today"."""
    started = set(_db.session.scalars(select(Enrollment.employee_id).where(Enrollment.module_id == module.id)))
    counts: Counter = Counter()
    for employee_id, (due_on, completed_on) in _assignees(module).items():
        if completed_on is not None:
            counts["on_time" if completed_on <= due_on else "late"] += 1
        elif due_on < REFERENCE_DATE:
            counts["overdue"] += 1
        else:
            counts["in_progress" if employee_id in started else "not_yet_due"] += 1
    return counts


# --- curriculum and assignments -----------------------------------------------------------------

def test_starter_curriculum_is_loaded_published_and_assigned_by_the_change_leader(loaded):
    leader = _db.session.scalar(select(User).where(User.role == Role.CHANGE_LEADER.value))
    for slug in (STRATEGY, INSIGHT, PIPELINE, SKEPTIC):
        module = _module(slug)
        assert module is not None and module.status == ModuleStatus.PUBLISHED.value
        assignments = _db.session.scalars(select(Assignment).where(Assignment.module_id == module.id)).all()
        assert assignments and all(a.created_by_id == leader.id for a in assignments)
        assert all(a.assigned_on < REFERENCE_DATE for a in assignments)
    assert any("Training" in line for line in loaded.extras)


def test_strategy_module_is_assigned_to_everyone_in_may(loaded):
    module = _module(STRATEGY)
    active = _db.session.scalar(select(func.count()).select_from(Employee).where(Employee.active.is_(True)))
    assignment = _db.session.scalar(select(Assignment).where(Assignment.module_id == module.id))
    assert assignment.assigned_on.month == 5
    assert len(_assignees(module)) == active


def test_insight_and_pipeline_are_staggered_by_whole_teams(loaded):
    for slug in (INSIGHT, PIPELINE):
        due_by_team: dict[str, set[dt.date]] = defaultdict(set)
        for path, due_on in _db.session.execute(
            select(OrgUnit.path, AssignedTraining.due_on)
            .join(Employee, Employee.id == AssignedTraining.employee_id)
            .join(OrgUnit, OrgUnit.id == Employee.unit_id)
            .join(Assignment, Assignment.id == AssignedTraining.assignment_id)
            .where(Assignment.module_id == _module(slug).id)
        ):
            due_by_team[path].add(due_on)
        # A team is in one wave; the waves run from summer to after the demo's "today".
        assert all(len(days) == 1 for days in due_by_team.values())
        waves = {day for days in due_by_team.values() for day in days}
        assert len(waves) == 5
        assert min(waves).month == 7 and max(waves) > REFERENCE_DATE


def test_skeptic_module_goes_to_leaders_and_marketing_recently(loaded):
    module = _module(SKEPTIC)
    assignments = _db.session.scalars(select(Assignment).where(Assignment.module_id == module.id)).all()
    assert all(a.assigned_on >= dt.date(2026, 10, 1) for a in assignments)
    assert any(a.roles and Role.MANAGER.value in a.roles for a in assignments)
    assert any(a.due_on > REFERENCE_DATE for a in assignments)  # partly due in the future


# --- learning records ---------------------------------------------------------------------------

def test_completions_spread_over_months_with_on_time_late_and_overdue(loaded):
    days = list(_db.session.scalars(
        select(Enrollment.completed_on).where(Enrollment.module_id == _module(INSIGHT).id,
                                              Enrollment.completed_on.is_not(None))))
    assert {d.month for d in days} >= {6, 7, 8, 9, 10}
    assert max(days) <= LAST_DAY
    everyone: Counter = Counter()
    for slug in (STRATEGY, INSIGHT, PIPELINE, SKEPTIC):
        everyone.update(_statuses(_module(slug)))
    total = sum(everyone.values())
    assert everyone["on_time"] / total > 0.6  # most on time
    assert everyone["late"] > 0.05 * total
    assert everyone["overdue"] > 0.03 * total
    assert everyone["in_progress"] > 0 and everyone["not_yet_due"] > 0


def test_nothing_happens_on_or_after_the_demo_today(loaded):
    latest = [
        _db.session.scalar(select(func.max(Enrollment.last_activity_at))),
        _db.session.scalar(select(func.max(CheckAttempt.submitted_at))),
        _db.session.scalar(select(func.max(CommitmentFollowUp.answered_at))),
        _db.session.scalar(select(func.max(XapiStatement.timestamp))),
    ]
    assert all(moment.date() < REFERENCE_DATE for moment in latest)


def test_first_attempt_scores_vary_and_a_few_questions_are_missed_most(loaded):
    first = CheckAttempt.number == 1
    scores = list(_db.session.scalars(select(CheckAttempt.score_pct).where(first)))
    assert len(set(scores)) >= 4 and 0.4 < sum(s >= 80 for s in scores) / len(scores) < 0.9
    assert _db.session.scalar(select(func.count()).where(CheckAttempt.number > 1)) > 0
    answers: dict[int, list[bool]] = defaultdict(list)
    for question_id, correct in _db.session.execute(
        select(CheckAttemptAnswer.question_id, CheckAttemptAnswer.correct)
        .join(CheckAttempt, CheckAttempt.id == CheckAttemptAnswer.attempt_id).where(first)
    ):
        answers[question_id].append(correct)
    shares = sorted(1 - sum(given) / len(given) for given in answers.values())
    assert shares[-1] > 2 * statistics.median(shares)


def test_reactions_case_answers_and_commitments_are_varied(loaded):
    scores = Counter(_db.session.scalars(select(Enrollment.reaction_score).where(Enrollment.completed_at.is_not(None))))
    assert set(scores) == {1, 2, 3, 4, 5}
    comments = _db.session.scalar(select(func.count()).where(Enrollment.reaction_comment != ""))
    assert 0 < comments < 0.3 * sum(scores.values())
    for step_id, texts in _db.session.execute(
        select(CaseAnswer.step_id, func.count(func.distinct(CaseAnswer.text))).group_by(CaseAnswer.step_id)
    ):
        assert texts >= 4
    named = Counter(_db.session.scalars(
        select(Commitment.key_behaviour).where(Commitment.module_id == _module(INSIGHT).id)))
    assert named["activity_logged"] > 0.7 * sum(named.values())


def test_follow_ups_are_answered_where_due_and_some_are_not(loaded):
    rows = _db.session.execute(select(CommitmentFollowUp.due_on, CommitmentFollowUp.status)).all()
    asked = [status for due_on, status in rows if due_on < REFERENCE_DATE]
    assert {"done", "partly", "not_yet"} <= set(asked)
    assert asked.count(None) > 0.1 * len(asked)
    assert all(status is None for due_on, status in rows if due_on >= REFERENCE_DATE)


def test_every_follow_up_was_answered_while_it_was_open(loaded):
    answered = _db.session.execute(select(CommitmentFollowUp).where(CommitmentFollowUp.status.is_not(None))).scalars()
    days = [(org_day(f.answered_at) - f.due_on).days for f in answered]
    assert days and min(days) >= 0 and max(days) < ANSWER_DAYS


def test_demo_employee_has_a_module_under_way_and_a_follow_up_open_all_week(loaded):
    employee = _db.session.scalar(select(Employee).join(User, User.employee_id == Employee.id)
                                  .where(User.role == Role.EMPLOYEE.value))
    enrollments = _db.session.scalars(select(Enrollment).where(Enrollment.employee_id == employee.id)).all()
    assert any(e.completed_at is None for e in enrollments)
    assert any(e.completed_at is not None for e in enrollments)
    # Open on the demo's today and on every day of the week the demo may be loaded in.
    for day in range(7):
        assert pending_follow_ups(employee, REFERENCE_DATE + dt.timedelta(days=day)), day


def test_every_enrollment_has_its_xapi_launch_and_every_completion_its_statement(loaded):
    enrollments = _db.session.scalar(select(func.count()).select_from(Enrollment))
    completed = _db.session.scalar(select(func.count()).where(Enrollment.completed_at.is_not(None)))
    # Uptake's own statements (the demo LMS's are tests/training/test_demo_external.py's).
    verbs = Counter(_db.session.scalars(select(XapiStatement.verb).where(XapiStatement.token_id.is_(None))))
    assert verbs[LAUNCHED.iri] == enrollments
    assert verbs[COMPLETED.iri] == completed


# --- the planted effect and its null twin -------------------------------------------------------

def _weekly(behaviour: str, people: list[int]) -> dict[tuple[int, dt.date], int]:
    """(employee, Monday) -> events of ``behaviour``."""
    weekly: dict[tuple[int, dt.date], int] = defaultdict(int)
    for employee_id, day, events in _db.session.execute(
        select(DailyUsage.employee_id, DailyUsage.day, DailyUsage.events)
        .where(DailyUsage.event_type == behaviour, DailyUsage.employee_id.in_(people))
    ):
        weekly[(employee_id, day - dt.timedelta(days=day.weekday()))] += events
    return weekly


def _before_after(slug: str, behaviour: str) -> dict[str, float]:
    """Completers' mean weekly rate in the 4 weeks before and the 4 weeks after their completion
    week, and the same calendar weeks' rates of colleagues not trained by then (licensed
    assignees only)."""
    module = _module(slug)
    licensed = set(_db.session.scalars(select(Employee.id).where(Employee.crm_user_id.is_not(None))))
    done = {e: completed for e, (_, completed) in _assignees(module).items() if e in licensed}
    weekly = _weekly(behaviour, sorted(done))

    def rate(employee_id: int, first: dt.date) -> float:
        return sum(weekly.get((employee_id, first + dt.timedelta(weeks=k)), 0) for k in range(4)) / 4

    first_day = window(SMALL_WEEKS, REFERENCE)[0]
    untrained_rates: dict[dt.date, tuple[float, float] | None] = {}
    sums: dict[str, list[float]] = defaultdict(list)
    for employee_id, completed in done.items():
        if completed is None:
            continue
        week = completed - dt.timedelta(days=completed.weekday())
        before, after = week - dt.timedelta(weeks=4), week + dt.timedelta(weeks=1)
        last = after + dt.timedelta(weeks=4, days=-1)
        if before < first_day or last > REFERENCE.usage_end:
            continue
        if week not in untrained_rates:
            untrained = [e for e, c in done.items() if c is None or c > last]
            untrained_rates[week] = ((statistics.fmean(rate(e, before) for e in untrained),
                                      statistics.fmean(rate(e, after) for e in untrained))
                                     if len(untrained) >= 10 else None)
        if untrained_rates[week] is None:
            continue
        sums["completers_before"].append(rate(employee_id, before))
        sums["completers_after"].append(rate(employee_id, after))
        sums["untrained_before"].append(untrained_rates[week][0])
        sums["untrained_after"].append(untrained_rates[week][1])
    result = {key: statistics.fmean(values) for key, values in sums.items()}
    result["n"] = len(sums["completers_before"])
    result["did"] = (result["completers_after"] - result["completers_before"]
                     - (result["untrained_after"] - result["untrained_before"]))
    return result


def test_completers_of_customer_insight_log_clearly_more_activities_than_untrained_colleagues(loaded):
    assert EFFECT_MODULE == INSIGHT
    effect = _before_after(INSIGHT, "activity_logged")
    assert effect["n"] >= 100
    # Planted: 1 to 1.5 more a week in each week the person uses the CRM, so the average effect
    # is that times the share of weeks completers are active (well below one in resistant teams).
    assert 0.4 < effect["did"] < EFFECT_PER_WEEK[1]


def test_completers_of_pipeline_hygiene_change_nothing_against_untrained_colleagues(loaded):
    assert NULL_MODULE == PIPELINE
    effect = _before_after(PIPELINE, "opportunity_updated")
    assert effect["n"] >= 80
    assert abs(effect["did"]) < 0.25


def test_completers_and_untrained_colleagues_start_from_the_same_level(loaded):
    # Completion timing comes from team waves, not from CRM usage.
    for slug, behaviour in ((INSIGHT, "activity_logged"), (PIPELINE, "opportunity_updated")):
        effect = _before_after(slug, behaviour)
        assert abs(effect["completers_before"] - effect["untrained_before"]) < 0.3


def test_planted_activities_come_through_the_ingest_path(loaded):
    events = _db.session.scalar(select(func.count()).where(UsageEvent.event_id.startswith(f"demo-training-s{SEED}-")))
    assert events > 1000
    assert f"{events} extra activity_logged events" in " ".join(loaded.extras)


# --- determinism, the services/bulk equivalence, idempotence ----------------------------------

def test_plans_are_the_same_for_the_same_seed_and_differ_for_another(loaded):
    modules = [_module(slug) for slug in (STRATEGY, INSIGHT, PIPELINE, SKEPTIC)]
    first, again, other = plan_all(modules, SEED, REFERENCE_DATE), plan_all(modules, SEED, REFERENCE_DATE), plan_all(modules, SEED + 1, REFERENCE_DATE)
    assert [p.actions for p in first] == [p.actions for p in again]
    assert [p.actions for p in first] != [p.actions for p in other]


def _complete_plan(module: Module, learner: Learner) -> list:
    """Actions of a plan that fails a check attempt once, completes, and answers follow-ups."""
    behaviours = commitment_behaviours(module)
    for seed in range(200):
        actions = plan_learner(learner, module, seed, behaviours, today=REFERENCE_DATE).actions
        checks = [a for a in actions if isinstance(a, SubmitCheck)]
        if (any(isinstance(a, GiveReaction) for a in actions) and any(isinstance(a, AnswerFollowUp) for a in actions)
                and any(not check_score(a.step, a.answers)[2] for a in checks)):
            return actions
    raise AssertionError("no complete plan found")


def _records(employee_id: int, module: Module) -> dict:
    """What the database holds of one person's learning in one module, without ids and actor."""
    enrollment = _db.session.scalar(select(Enrollment).where(Enrollment.employee_id == employee_id,
                                                             Enrollment.module_id == module.id))
    same = Enrollment.id == enrollment.id
    commitment = _db.session.scalar(select(Commitment).where(Commitment.enrollment_id == enrollment.id))
    return {
        "enrollment": (enrollment.module_version, enrollment.started_at, enrollment.current_position,
                       enrollment.last_activity_at, enrollment.completed_at, enrollment.completed_on,
                       enrollment.reaction_score, enrollment.reaction_comment),
        "steps": sorted(_db.session.execute(select(StepCompletion.step_id, StepCompletion.completed_at)
                                            .join(Enrollment).where(same)).all()),
        "cases": _db.session.execute(select(CaseAnswer.step_id, CaseAnswer.text, CaseAnswer.answered_at)
                                     .join(Enrollment).where(same)).all(),
        "attempts": sorted(_db.session.execute(
            select(CheckAttempt.step_id, CheckAttempt.number, CheckAttempt.score_pct, CheckAttempt.passed,
                   CheckAttempt.submitted_at, CheckAttemptAnswer.question_id, CheckAttemptAnswer.chosen,
                   CheckAttemptAnswer.correct)
            .join(CheckAttemptAnswer).join(Enrollment).where(same)).all(), key=repr),
        "commitment": (commitment.step_id, commitment.text, commitment.key_behaviour, commitment.committed_on,
                       commitment.created_at,
                       [(f.day_offset, f.due_on, f.status, f.note, f.answered_at) for f in commitment.follow_ups]),
        "xapi": sorted(
            (s.timestamp, s.verb, s.activity, repr(s.statement.get("result")))
            for s in _db.session.scalars(select(XapiStatement).where(XapiStatement.employee_id == employee_id,
                                                                     XapiStatement.module_id == module.id))),
    }


def test_a_plan_written_in_bulk_gives_the_rows_the_services_write(loaded):
    module = _module(PIPELINE)
    assigned = select(AssignedTraining.employee_id).join(Assignment).where(Assignment.module_id == module.id)
    # Two licensed colleagues the module was never assigned to (service agents), no login.
    a, b = _db.session.scalars(
        select(Employee).outerjoin(User, User.employee_id == Employee.id)
        .where(Employee.crm_user_id.is_not(None), Employee.active.is_(True), Employee.id.not_in(assigned),
               User.id.is_(None))
        .order_by(Employee.hr_id).limit(2)).all()
    learner_a = Learner(a.id, a.hr_id, a.unit.path, "EMEA", None, dt.date(2026, 6, 1), dt.date(2026, 7, 3))
    learner_b = Learner(b.id, b.hr_id, b.unit.path, "EMEA", None, dt.date(2026, 6, 1), dt.date(2026, 7, 3))
    actions = _complete_plan(module, learner_a)
    take_through_services([LearnerPlan(learner_a, module, actions)])
    write_plans_in_bulk([LearnerPlan(learner_b, module, actions)], with_xapi=True)
    _db.session.expire_all()
    assert _records(a.id, module) == _records(b.id, module)


def test_bulk_assignment_assigns_the_people_the_service_assigns(loaded):
    from training.assignments import assign_module
    from training.demo_bulk import assign_in_bulk

    module = _module(SKEPTIC)
    teams = _db.session.scalars(select(OrgUnit).where(OrgUnit.path.like("%Customer Service%"))
                                .order_by(OrgUnit.path).limit(3)).all()
    day = dt.date(2026, 11, 16)
    made = [make(module, units=teams, roles=None, due_on=dt.date(2026, 12, 18), joiner_days=30, created_by=None,
                 today=day) for make in (assign_module, assign_in_bulk)]
    assignees = [set(_db.session.execute(
        select(AssignedTraining.employee_id, AssignedTraining.assigned_on, AssignedTraining.due_on,
               AssignedTraining.as_joiner).where(AssignedTraining.assignment_id == a.id)).all()) for a in made]
    assert assignees[0] and assignees[0] == assignees[1]


def test_second_load_adds_nothing(loaded):
    tables = (Assignment, AssignedTraining, Enrollment, StepCompletion, CaseAnswer, CheckAttempt,
              CheckAttemptAnswer, Commitment, CommitmentFollowUp, XapiStatement, Module)
    before = {t.__name__: _db.session.scalar(select(func.count()).select_from(t)) for t in tables}
    usage_before = _db.session.scalar(select(func.sum(DailyUsage.events)))
    events_before = _db.session.scalar(select(func.count()).select_from(UsageEvent))
    summary = load_demo(size="small", seed=SEED)
    after = {t.__name__: _db.session.scalar(select(func.count()).select_from(t)) for t in tables}
    assert after == before
    assert _db.session.scalar(select(func.sum(DailyUsage.events))) == usage_before
    assert _db.session.scalar(select(func.count()).select_from(UsageEvent)) == events_before
    assert any("Training (already present)" in line for line in summary.extras)

