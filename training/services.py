"""The learner's way through a module (T1, T3): start or resume, each step in order (lesson, case
study, knowledge check, commitment), the reaction that completes it, "My training" and the
completion certificate.

Every function adds and flushes; the caller (a view, a CLI command, the demo) commits once. Every
learning action also writes its xAPI statement (training/xapi.py) in the same transaction.
Services take ``today`` (the organization's date) and ``now`` (naive UTC) and never read a clock.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from adoption.extensions import db
from adoption.initiative import current_initiative
from adoption.models import Employee
from adoption.scope import Scope
from training import xapi
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
    ModuleStatus,
    ModuleStep,
    QuestionKind,
    StepCompletion,
    StepKind,
    TrainingStatus,
)

MAX_CASE_ANSWER_LENGTH = 5000
MAX_COMMITMENT_LENGTH = 1000
MAX_COMMENT_LENGTH = 2000
#: A check whose author set no pass mark must be answered entirely right.
DEFAULT_PASS_MARK_PCT = 100


class TrainingError(ValueError):
    """A learning action refused, with a message fit to show to the learner."""


# ------------------------------------------------------------------ modules and enrollments


def visible_module(employee: Employee, slug: str) -> Module | None:
    """The module ``employee`` may open: any published one, or one they have already started."""
    module = db.session.scalar(select(Module).where(Module.slug == slug))
    if module is None:
        return None
    if module.status == ModuleStatus.PUBLISHED.value or enrollment_for(employee, module) is not None:
        return module
    return None


def enrollment_for(employee: Employee, module: Module) -> Enrollment | None:
    """``employee``'s enrollment in ``module``, if they started it."""
    return db.session.scalar(select(Enrollment).where(
        Enrollment.employee_id == employee.id, Enrollment.module_id == module.id))


def start_module(employee: Employee, module: Module, now: dt.datetime) -> Enrollment:
    """Enroll ``employee`` in a published module at its current version (idempotent: an existing
    enrollment is returned unchanged, so starting again resumes)."""
    existing = enrollment_for(employee, module)
    if existing is not None:
        return existing
    if module.status != ModuleStatus.PUBLISHED.value:
        raise TrainingError("This module is not open for learners.")
    if not employee.active:
        raise TrainingError("Only people on the active roster can take training.")
    enrollment = Enrollment(employee_id=employee.id, module_id=module.id, module=module,
                            module_version=module.version, started_at=now, current_position=_first_position(module),
                            last_activity_at=now)
    db.session.add(enrollment)
    db.session.flush()
    xapi.record_launched(enrollment, module, now)
    db.session.flush()
    return enrollment


def _first_position(module: Module) -> int:
    return module.steps[0].position if module.steps else 1


def step_by_key(module: Module, key: str) -> ModuleStep | None:
    """The step of ``module`` called ``key``."""
    return next((s for s in module.steps if s.key == key), None)


def current_step(enrollment: Enrollment) -> ModuleStep | None:
    """The step to resume at (``enrollment.current_position``), None once every step is done."""
    return next((s for s in enrollment.module.steps if s.position == enrollment.current_position), None)


def done_step_ids(enrollment: Enrollment) -> set[int]:
    """The ids of the steps the learner has done."""
    return set(db.session.scalars(select(StepCompletion.step_id).where(
        StepCompletion.enrollment_id == enrollment.id)))


def all_steps_done(enrollment: Enrollment) -> bool:
    """True when every step of the module is done (every check passed)."""
    done = done_step_ids(enrollment)
    return all(s.id in done for s in enrollment.module.steps)


def can_open(enrollment: Enrollment, step: ModuleStep) -> bool:
    """True when the learner may look at ``step``: a step done already, or the current one."""
    return step.module_id == enrollment.module_id and step.position <= enrollment.current_position


def _advance(enrollment: Enrollment, now: dt.datetime) -> None:
    """Move the resume point to the first step not done yet (past the last when all are)."""
    db.session.flush()
    done = done_step_ids(enrollment)
    steps = enrollment.module.steps
    pending = [s.position for s in steps if s.id not in done]
    enrollment.current_position = pending[0] if pending else (steps[-1].position + 1 if steps else 1)
    enrollment.last_activity_at = now


def _take_step(enrollment: Enrollment, step: ModuleStep, kind: StepKind) -> None:
    """Refuse unless ``step`` is the learner's current step and of ``kind``."""
    if step.module_id != enrollment.module_id:
        raise TrainingError("This step belongs to another module.")
    if step.kind != kind.value:
        raise TrainingError("This action does not fit this step.")
    if enrollment.completed_at is not None or step.id in done_step_ids(enrollment):
        raise TrainingError("You have already done this step.")
    if step.position != enrollment.current_position:
        raise TrainingError("Steps are taken in order: finish the earlier steps first.")


def _complete(enrollment: Enrollment, step: ModuleStep, now: dt.datetime) -> None:
    db.session.add(StepCompletion(enrollment_id=enrollment.id, step_id=step.id, completed_at=now))
    _advance(enrollment, now)


def _text(value: str | None, what: str, limit: int, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise TrainingError(f"Please write {what}.")
    if len(text) > limit:
        raise TrainingError(f"Please keep {what} under {limit} characters.")
    return text


# ------------------------------------------------------------------ the four kinds of step


def complete_lesson(enrollment: Enrollment, step: ModuleStep, now: dt.datetime) -> StepCompletion:
    """Mark a lesson as read and move on."""
    _take_step(enrollment, step, StepKind.LESSON)
    _complete(enrollment, step, now)
    xapi.record_experienced(enrollment, step, now)
    db.session.flush()
    return _completion(enrollment, step)


def _completion(enrollment: Enrollment, step: ModuleStep) -> StepCompletion:
    return db.session.scalar(select(StepCompletion).where(
        StepCompletion.enrollment_id == enrollment.id, StepCompletion.step_id == step.id))


def answer_case(enrollment: Enrollment, step: ModuleStep, text: str, now: dt.datetime) -> CaseAnswer:
    """Keep what the learner would do in the case; only now may they see the expert commentary."""
    _take_step(enrollment, step, StepKind.CASE_STUDY)
    text = _text(text, "what you would do", MAX_CASE_ANSWER_LENGTH)
    answer = CaseAnswer(enrollment_id=enrollment.id, step_id=step.id, text=text, answered_at=now)
    db.session.add(answer)
    _complete(enrollment, step, now)
    xapi.record_case_answer(enrollment, step, text, now)
    db.session.flush()
    return answer


def case_answer(enrollment: Enrollment, step: ModuleStep) -> CaseAnswer | None:
    """The learner's answer to a case study, once given (the commentary is shown only then)."""
    return db.session.scalar(select(CaseAnswer).where(
        CaseAnswer.enrollment_id == enrollment.id, CaseAnswer.step_id == step.id))


def attempts(enrollment: Enrollment, step: ModuleStep) -> list[CheckAttempt]:
    """The learner's attempts at a check, first to last."""
    return list(db.session.scalars(select(CheckAttempt).where(
        CheckAttempt.enrollment_id == enrollment.id, CheckAttempt.step_id == step.id).order_by(CheckAttempt.number)))


def attempts_left(enrollment: Enrollment, step: ModuleStep) -> int | None:
    """How many attempts the learner still has at a check (None: no limit)."""
    if step.attempts_allowed is None:
        return None
    return max(0, step.attempts_allowed - len(attempts(enrollment, step)))


def pass_mark(step: ModuleStep) -> int:
    """The share of questions (0-100) a check needs right."""
    return step.pass_mark_pct if step.pass_mark_pct is not None else DEFAULT_PASS_MARK_PCT


def submit_check(enrollment: Enrollment, step: ModuleStep, answers: Mapping[int, Sequence[int]],
                 now: dt.datetime) -> CheckAttempt:
    """Score one attempt at a check (``answers``: question id -> chosen option indexes).

    A question is right only with exactly its set of right options; an unanswered one is wrong.
    The step is done once an attempt reaches the pass mark; the attempts allowed are enforced.
    """
    _take_step(enrollment, step, StepKind.CHECK)
    previous = attempts(enrollment, step)
    if step.attempts_allowed is not None and len(previous) >= step.attempts_allowed:
        raise TrainingError(f"You have used all {step.attempts_allowed} attempts at this check. "
                            "The change team can allow more attempts in the module's settings: please ask them.")
    rows: list[CheckAttemptAnswer] = []
    for question in step.questions:
        chosen = sorted(set(answers.get(question.id) or ()))
        if any(not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(question.options) for i in chosen):
            raise TrainingError(f"Question {question.position}: that answer is not one of the options.")
        if question.kind == QuestionKind.SINGLE.value and len(chosen) > 1:
            raise TrainingError(f"Question {question.position}: choose one answer.")
        correct = bool(chosen) and set(chosen) == set(question.correct)
        rows.append(CheckAttemptAnswer(question_id=question.id, chosen=chosen, correct=correct))
    n, right = len(rows), sum(1 for r in rows if r.correct)
    score = 100.0 * right / n if n else 100.0
    # Integers, so that 4 of 5 against a pass mark of 80 never falls to floating point.
    passed = right * 100 >= pass_mark(step) * n
    attempt = CheckAttempt(enrollment_id=enrollment.id, step_id=step.id, number=len(previous) + 1,
                           score_pct=score, passed=passed, submitted_at=now, answers=rows)
    db.session.add(attempt)
    db.session.flush()
    if passed:
        _complete(enrollment, step, now)
    else:
        enrollment.last_activity_at = now
    xapi.record_check_attempt(enrollment, step, attempt, now)
    db.session.flush()
    return attempt


def commitment_behaviours(module: Module) -> list[str]:
    """The key behaviours a commitment may name: the module's, then the initiative's."""
    initiative = current_initiative()
    behaviours = list(module.key_behaviours or []) + list(initiative.key_behaviours if initiative else [])
    return list(dict.fromkeys(behaviours))


def make_commitment(enrollment: Enrollment, step: ModuleStep, text: str, key_behaviour: str | None,
                    today: dt.date, now: dt.datetime) -> Commitment:
    """Keep "In the next 30 days I will ..." and schedule its follow-ups at 30, 60 and 90 days."""
    _take_step(enrollment, step, StepKind.COMMITMENT)
    text = _text(text, "your commitment", MAX_COMMITMENT_LENGTH)
    key_behaviour = (key_behaviour or "").strip() or None
    if key_behaviour is not None and key_behaviour not in commitment_behaviours(enrollment.module):
        raise TrainingError("Choose one of the key behaviours listed, or none.")
    commitment = Commitment(
        enrollment_id=enrollment.id, step_id=step.id, employee_id=enrollment.employee_id,
        module_id=enrollment.module_id, text=text, key_behaviour=key_behaviour, committed_on=today,
        created_at=now,
        follow_ups=[CommitmentFollowUp(day_offset=days, due_on=today + dt.timedelta(days=days))
                    for days in FOLLOW_UP_DAYS],
    )
    db.session.add(commitment)
    _complete(enrollment, step, now)
    xapi.record_commitment(enrollment, step, commitment, now)
    db.session.flush()
    return commitment


def commitment_for(enrollment: Enrollment, step: ModuleStep) -> Commitment | None:
    """The commitment the learner made at ``step``, once made."""
    return db.session.scalar(select(Commitment).where(
        Commitment.enrollment_id == enrollment.id, Commitment.step_id == step.id))


def give_reaction(enrollment: Enrollment, score: int, comment: str | None, today: dt.date,
                  now: dt.datetime) -> Enrollment:
    """Record how useful the module was (1-5) and complete the enrollment; every step must be done."""
    if enrollment.completed_at is not None:
        raise TrainingError("You have already completed this module.")
    if not all_steps_done(enrollment):
        raise TrainingError("Finish every step (and pass every check) before you rate the module.")
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise TrainingError("Choose how useful the module was, from 1 to 5.")
    enrollment.reaction_score = score
    enrollment.reaction_comment = _text(comment, "your comment", MAX_COMMENT_LENGTH, required=False)
    enrollment.completed_at = now
    enrollment.completed_on = today
    enrollment.last_activity_at = now
    xapi.record_completed(enrollment, enrollment.module, now)
    db.session.flush()
    return enrollment


# ------------------------------------------------------------------ My training


@dataclass(frozen=True)
class TrainingItem:
    """One module in a person's "My training": assigned, started or simply available."""

    module: Module
    enrollment: Enrollment | None
    assigned: bool
    due_on: dt.date | None  # the earliest due date of the person's live assignments
    status: TrainingStatus
    steps_done: int
    steps_total: int

    @property
    def progress_pct(self) -> int:
        """Share of the module's steps done, 0-100."""
        if self.status is TrainingStatus.COMPLETED:
            return 100
        return round(100 * self.steps_done / self.steps_total) if self.steps_total else 0

    @property
    def on_list(self) -> bool:
        """True for modules the person must or chose to take (not merely available)."""
        return self.assigned or self.enrollment is not None


def my_training(employee: Employee, today: dt.date) -> list[TrainingItem]:
    """Assigned and started modules with progress, due date and status, most urgent first; then
    the other published modules the person may take of their own accord."""
    due: dict[int, dt.date] = {}
    for module_id, due_on in db.session.execute(
        select(Assignment.module_id, func.min(AssignedTraining.due_on))
        .join(AssignedTraining.assignment)
        .where(AssignedTraining.employee_id == employee.id, Assignment.active.is_(True))
        .group_by(Assignment.module_id)
    ):
        due[module_id] = due_on
    enrollments = {e.module_id: e for e in db.session.scalars(
        select(Enrollment).where(Enrollment.employee_id == employee.id))}
    done_counts = dict(db.session.execute(
        select(StepCompletion.enrollment_id, func.count())
        .join(Enrollment, Enrollment.id == StepCompletion.enrollment_id)
        .where(Enrollment.employee_id == employee.id)
        .group_by(StepCompletion.enrollment_id)
    ).all())
    modules = db.session.scalars(select(Module).where(
        (Module.status == ModuleStatus.PUBLISHED.value) | Module.id.in_(sorted(enrollments)))).all()
    step_counts = dict(db.session.execute(
        select(ModuleStep.module_id, func.count()).group_by(ModuleStep.module_id)).all())
    items = []
    for module in modules:
        enrollment = enrollments.get(module.id)
        due_on = due.get(module.id)
        if enrollment is not None and enrollment.completed_at is not None:
            status = TrainingStatus.COMPLETED
        elif due_on is not None and due_on < today:
            status = TrainingStatus.OVERDUE
        elif enrollment is not None:
            status = TrainingStatus.IN_PROGRESS
        else:
            status = TrainingStatus.NOT_STARTED
        items.append(TrainingItem(
            module=module, enrollment=enrollment, assigned=module.id in due, due_on=due_on, status=status,
            steps_done=done_counts.get(enrollment.id, 0) if enrollment else 0,
            steps_total=step_counts.get(module.id, 0),
        ))
    return sorted(items, key=_urgency)


def _urgency(item: TrainingItem) -> tuple:
    """Overdue first, then what is due soonest, what is under way, completed, then the rest."""
    if item.status is TrainingStatus.OVERDUE:
        group = 0
    elif item.status is TrainingStatus.COMPLETED:
        group = 3
    elif item.assigned:
        group = 1
    elif item.enrollment is not None:
        group = 2
    else:
        group = 4
    completed_on = item.enrollment.completed_on if item.enrollment and item.enrollment.completed_on else None
    # Completed modules: the most recent first.
    recency = -(completed_on.toordinal()) if completed_on else 0
    return (group, item.due_on or dt.date.max, recency, item.module.title.lower())


# ------------------------------------------------------------------ the certificate


@dataclass(frozen=True)
class Certificate:
    """What a completion certificate shows."""

    employee: Employee
    module: Module
    enrollment: Enrollment


def certificate(scope: Scope, slug: str, employee_id: int) -> Certificate | None:
    """The completion certificate of ``employee_id`` for the module ``slug``, if they completed it
    and ``scope`` may read their records (themselves, their manager's subtree, change leaders)."""
    row = db.session.execute(
        select(Enrollment, Employee, Module)
        .join(Employee, Employee.id == Enrollment.employee_id)
        .join(Module, Module.id == Enrollment.module_id)
        .where(Module.slug == slug, Enrollment.employee_id == employee_id, Enrollment.completed_at.is_not(None),
               scope.employee_filter(Enrollment.employee_id, Employee.unit_id))
    ).first()
    if row is None:
        return None
    enrollment, employee, module = row
    return Certificate(employee=employee, module=module, enrollment=enrollment)
