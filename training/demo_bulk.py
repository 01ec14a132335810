"""The training demo's learning records written in bulk, and the planted effect added to the rollups.

The learner services take about 35 ms per enrollment (a dozen service calls, each flushing): fine
for a few dozen people, most of a minute for the small demo's ~1,200 enrollments and well over twenty
minutes for the large demo's ~38,000. Here the same plans (``training.demo.LearnerPlan``) become the same rows the
services would write — the enrollment with its resume point, step completions, case answers,
scored check attempts and their answers, the commitment with its three follow-ups and the answers
given — with one multi-row INSERT per table and chunk. The plans are valid by construction
(``training.demo`` only plans what the services allow: steps in order, the attempts allowed,
follow-ups answered once due), which is what the services would check; scoring follows
``training.demo.check_score``, the services' rule. ``tests/training/test_demo.py`` checks that a
plan written here gives the same rows as the same plan taken through the services.

xAPI statements are written only when asked (the small demo), through ``training.xapi``'s own
``record_*`` functions; the large demo leaves them out (some 500,000 JSON documents nobody reads).
The large demo's assignments to whole subtrees get their ~40,000 assignees by one INSERT ... SELECT
(``assign_in_bulk``) instead of one ORM object each.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import Boolean, Date, insert, literal, or_, select

from adoption.extensions import db
from adoption.models import Employee, OrgUnit, UnitMembership, User
from adoption.org import membership_in_force, subtree_filter
from training import xapi
from training.demo import (
    EFFECT_BEHAVIOUR,
    AnswerCase,
    AnswerFollowUp,
    GiveReaction,
    LearnerPlan,
    MakeCommitment,
    ReadLesson,
    StartModule,
    SubmitCheck,
    answer_correct,
    check_score,
    extra_activity,
    org_day,
)
from training.models import (
    FOLLOW_UP_DAYS,
    AssignedTraining,
    Assignment,
    CaseAnswer,
    CheckAttempt,
    CheckAttemptAnswer,
    Commitment,
    CommitmentFollowUp,
    Enrollment,
    Module,
    StepCompletion,
    XapiStatement,
)

CHUNK = 2000


def _chunks(rows: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    """``rows`` in slices of ``size``."""
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _insert_returning_ids(table, rows: list[dict]) -> list[int]:
    """Insert ``rows`` into ``table``; their new ids, in the order of ``rows``."""
    ids: list[int] = []
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    for part in _chunks(rows):
        ids.extend(db.session.execute(statement, list(part)).scalars())
    return ids


def _insert(table, rows: list[dict]) -> None:
    """Insert ``rows`` into ``table``, a chunk per statement."""
    for part in _chunks(rows):
        db.session.execute(insert(table), list(part))


def assign_in_bulk(module: Module, *, units: Sequence[OrgUnit], roles: None, due_on: dt.date, joiner_days: int,
                   created_by: User | None, today: dt.date) -> Assignment:
    """``training.assignments.assign_module`` for an assignment to everyone in ``units``' subtrees
    (no role filter), its assignees written by one INSERT ... SELECT: the same people, active and
    with a membership in force on ``today`` in one of the subtrees."""
    if roles is not None:
        raise ValueError("assign_in_bulk makes assignments without a role filter only")
    assignment = Assignment(module=module, units=list(units), roles=None, due_on=due_on, joiner_days=joiner_days,
                            assigned_on=today, active=True, created_by_id=created_by.id if created_by else None)
    db.session.add(assignment)
    db.session.flush()
    in_units = (select(UnitMembership.employee_id).join(OrgUnit, OrgUnit.id == UnitMembership.unit_id)
                .where(membership_in_force(today), or_(*(subtree_filter(u) for u in units))))
    people = select(literal(assignment.id), Employee.id, literal(today, Date), literal(due_on, Date),
                    literal(False, Boolean)).where(Employee.id.in_(in_units), Employee.active.is_(True))
    db.session.execute(insert(AssignedTraining.__table__).from_select(
        ["assignment_id", "employee_id", "assigned_on", "due_on", "as_joiner"], people))
    return assignment


def _enrollment_row(plan: LearnerPlan) -> dict:
    """The enrollment as the services leave it after the plan's last learning action."""
    module, actions = plan.module, plan.actions
    done = {a.step.id for a in actions if isinstance(a, (ReadLesson, AnswerCase, MakeCommitment))}
    done |= {a.step.id for a in actions if isinstance(a, SubmitCheck) and check_score(a.step, a.answers)[2]}
    pending = [s.position for s in module.steps if s.id not in done]
    learning = [a for a in actions if not isinstance(a, AnswerFollowUp)]
    reaction = next((a for a in learning if isinstance(a, GiveReaction)), None)
    return {
        "employee_id": plan.learner.employee_id, "module_id": module.id, "module_version": module.version,
        "started_at": learning[0].at, "last_activity_at": learning[-1].at,
        "current_position": pending[0] if pending else module.steps[-1].position + 1,
        "completed_at": reaction.at if reaction else None,
        "completed_on": org_day(reaction.at) if reaction else None,
        "reaction_score": reaction.score if reaction else None,
        "reaction_comment": reaction.comment if reaction else "",
    }


def write_plans_in_bulk(plans: list[LearnerPlan], *, with_xapi: bool = False) -> int:
    """Write the learning records of every started plan; returns the number of enrollments."""
    started = [p for p in plans if p.actions]
    enrollment_ids = _insert_returning_ids(Enrollment.__table__, [_enrollment_row(p) for p in started])
    completions, cases, attempts, answers_of, commitments, follow_ups_of = [], [], [], [], [], []
    for plan, enrollment_id in zip(started, enrollment_ids, strict=True):
        numbers: dict[int, int] = {}
        for action in plan.actions:
            if isinstance(action, (ReadLesson, AnswerCase, MakeCommitment)):
                completions.append({"enrollment_id": enrollment_id, "step_id": action.step.id,
                                    "completed_at": action.at})
            if isinstance(action, AnswerCase):
                cases.append({"enrollment_id": enrollment_id, "step_id": action.step.id, "text": action.text,
                              "answered_at": action.at})
            elif isinstance(action, SubmitCheck):
                right, n, passed = check_score(action.step, action.answers)
                numbers[action.step.id] = numbers.get(action.step.id, 0) + 1
                attempts.append({"enrollment_id": enrollment_id, "step_id": action.step.id,
                                 "number": numbers[action.step.id], "score_pct": 100.0 * right / n if n else 100.0,
                                 "passed": passed, "submitted_at": action.at})
                answers_of.append([
                    {"question_id": q.id, "chosen": sorted(set(action.answers.get(q.id) or ())),
                     "correct": answer_correct(q, action.answers.get(q.id))}
                    for q in action.step.questions])
                if passed:
                    completions.append({"enrollment_id": enrollment_id, "step_id": action.step.id,
                                        "completed_at": action.at})
            elif isinstance(action, MakeCommitment):
                committed_on = org_day(action.at)
                commitments.append({
                    "enrollment_id": enrollment_id, "step_id": action.step.id,
                    "employee_id": plan.learner.employee_id, "module_id": plan.module.id, "text": action.text,
                    "key_behaviour": action.key_behaviour, "committed_on": committed_on, "created_at": action.at,
                })
                given = {a.day_offset: a for a in plan.actions if isinstance(a, AnswerFollowUp)}
                follow_ups_of.append([
                    {"day_offset": days, "due_on": committed_on + dt.timedelta(days=days),
                     "status": given[days].status if days in given else None,
                     "note": given[days].note if days in given else "",
                     "answered_at": given[days].at if days in given else None}
                    for days in FOLLOW_UP_DAYS])
    _insert(StepCompletion.__table__, completions)
    _insert(CaseAnswer.__table__, cases)
    attempt_ids = _insert_returning_ids(CheckAttempt.__table__, attempts)
    _insert(CheckAttemptAnswer.__table__, [dict(row, attempt_id=attempt_id)
                                           for attempt_id, rows in zip(attempt_ids, answers_of, strict=True)
                                           for row in rows])
    commitment_ids = _insert_returning_ids(Commitment.__table__, commitments)
    _insert(CommitmentFollowUp.__table__, [dict(row, commitment_id=commitment_id)
                                           for commitment_id, rows in zip(commitment_ids, follow_ups_of, strict=True)
                                           for row in rows])
    if with_xapi:
        _record_statements(started)
    db.session.flush()
    return len(started)


def _record_statements(plans: list[LearnerPlan]) -> None:
    """The xAPI statements of every plan's learning actions, built by ``training.xapi`` itself
    from stand-in (never saved) records holding what each statement reads, then inserted in bulk."""
    ids = sorted({p.learner.employee_id for p in plans})
    # Held here so that xapi.record finds every learner in the identity map, not by a query each.
    _learners = list(db.session.scalars(select(Employee).where(Employee.id.in_(ids))))
    table = XapiStatement.__table__
    rows: list[dict] = []

    def keep(made: XapiStatement | list[XapiStatement]) -> None:
        # xapi.record adds each statement to the session; here they go in by one INSERT instead.
        for statement in made if isinstance(made, list) else [made]:
            db.session.expunge(statement)
            rows.append({column.key: getattr(statement, column.key) for column in table.columns})

    for plan in plans:
        module = plan.module
        enrollment = Enrollment(employee_id=plan.learner.employee_id, module_id=module.id,
                                module_version=module.version, started_at=plan.actions[0].at)
        numbers: dict[int, int] = {}
        for action in plan.actions:
            if isinstance(action, StartModule):
                keep(xapi.record_launched(enrollment, module, action.at))
            elif isinstance(action, ReadLesson):
                keep(xapi.record_experienced(enrollment, action.step, action.at))
            elif isinstance(action, AnswerCase):
                keep(xapi.record_case_answer(enrollment, action.step, action.text, action.at))
            elif isinstance(action, SubmitCheck):
                numbers[action.step.id] = numbers.get(action.step.id, 0) + 1
                attempt = CheckAttempt(
                    number=numbers[action.step.id], passed=check_score(action.step, action.answers)[2],
                    answers=[CheckAttemptAnswer(question_id=q.id, chosen=sorted(set(action.answers.get(q.id) or ())),
                                                correct=answer_correct(q, action.answers.get(q.id)))
                             for q in action.step.questions])
                keep(xapi.record_check_attempt(enrollment, action.step, attempt, action.at))
            elif isinstance(action, MakeCommitment):
                commitment = Commitment(text=action.text, key_behaviour=action.key_behaviour)
                keep(xapi.record_commitment(enrollment, action.step, commitment, action.at))
            elif isinstance(action, GiveReaction):
                enrollment.reaction_score = action.score
                keep(xapi.record_completed(enrollment, module, action.at))
    _insert(table, rows)


# --- the planted effect -------------------------------------------------------------------------

def add_extra_activity_in_bulk(seed: int, usage_end: dt.date) -> int:
    """The large demo's planted effect up to ``usage_end``, counted straight into ``daily_usage``
    (its weeks queued for the weekly rollups), as the large demo's usage itself is; returns the
    events added."""
    from adoption.telemetry.rollups import add_to_daily_usage

    events = []
    for employee_id, _crm_user_id, _region, day, k in extra_activity(seed, usage_end):
        # Midday UTC: the same calendar day in any organization time zone within 11 hours of UTC.
        moment = dt.datetime(day.year, day.month, day.day, 12)
        events.extend([(moment, employee_id, EFFECT_BEHAVIOUR)] * k)
    add_to_daily_usage(events)
    return len(events)
