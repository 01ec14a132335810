"""The training part of a person's data (adoption/personal_data.py): modules taken and how,
case-study answers, check attempts, commitments and their follow-ups, assigned training, and the
xAPI statements about them (Uptake's own and those other learning systems sent).

Training records are personal, not confidential (managers see their people's), so an admin
answering a request for the person gets the same sections as the person.

``erase_training`` is the training part of erasing a leaver (adoption/erasure.py): what they wrote
goes, and the records the Training dashboard counts (progress, scores, follow-up status) stay,
linked only to the pseudonymized employee record.
"""
from __future__ import annotations

from sqlalchemy import select, true, update

from adoption.erasure import ERASED_TEXT, erased_hr_id, names_in_text, scrub_texts
from adoption.extensions import db
from adoption.models import Employee, User
from adoption.personal_data import Contribution, Section, records
from training.models import (
    AssignedTraining,
    Assignment,
    CaseAnswer,
    CheckAttempt,
    Commitment,
    CommitmentFollowUp,
    Enrollment,
    LearnerAlias,
    Module,
    ModuleStep,
    XapiStatement,
)
from training.xapi import home_page


def training_contribution(employee: Employee | None, _user: User | None, _own: bool) -> Contribution:
    """The person's training records."""
    if employee is None:
        return Contribution([])
    mine = Enrollment.employee_id == employee.id
    by_step = (Module.title.label("module"), ModuleStep.position.label("step"))

    def step_records(model, *columns, order):
        return records(select(*by_step, *columns)
                       .join(Enrollment, Enrollment.id == model.enrollment_id)
                       .join(Module, Module.id == Enrollment.module_id)
                       .join(ModuleStep, ModuleStep.id == model.step_id)
                       .where(mine).order_by(Module.title, ModuleStep.position, order))

    return Contribution([
        Section("training_enrollments", "Training modules you started",
                "Your progress, completion and how useful you found each module.",
                records(select(Module.title.label("module"), Enrollment.started_at, Enrollment.last_activity_at,
                               Enrollment.completed_at, Enrollment.reaction_score, Enrollment.reaction_comment)
                        .join(Module, Module.id == Enrollment.module_id).where(mine)
                        .order_by(Enrollment.started_at))),
        Section("case_answers", "Your answers to case studies", "What you wrote before reading the expert's view.",
                step_records(CaseAnswer, CaseAnswer.text, CaseAnswer.answered_at, order=CaseAnswer.answered_at)),
        Section("check_attempts", "Your knowledge-check attempts", "Scores against each module's pass mark.",
                step_records(CheckAttempt, CheckAttempt.number.label("attempt"), CheckAttempt.score_pct,
                             CheckAttempt.passed, CheckAttempt.submitted_at, order=CheckAttempt.number)),
        Section("commitments", "Your action commitments", "What you committed to at the end of a module.",
                step_records(Commitment, Commitment.text, Commitment.key_behaviour, Commitment.committed_on,
                             order=Commitment.committed_on)),
        Section("commitment_follow_ups", "Follow-ups of your commitments",
                "Your answers at 30, 60 and 90 days (checked against your CRM use when a key behaviour is named).",
                records(select(Commitment.text.label("commitment"), CommitmentFollowUp.day_offset,
                               CommitmentFollowUp.due_on, CommitmentFollowUp.status, CommitmentFollowUp.note,
                               CommitmentFollowUp.answered_at)
                        .join(Commitment, Commitment.id == CommitmentFollowUp.commitment_id)
                        .where(Commitment.employee_id == employee.id)
                        .order_by(CommitmentFollowUp.due_on))),
        Section("assigned_training", "Training assigned to you", "By unit or role, with its due date.",
                records(select(Module.title.label("module"), AssignedTraining.assigned_on, AssignedTraining.due_on,
                               AssignedTraining.as_joiner)
                        .join(Assignment, Assignment.id == AssignedTraining.assignment_id)
                        .join(Module, Module.id == Assignment.module_id)
                        .where(AssignedTraining.employee_id == employee.id)
                        .order_by(AssignedTraining.assigned_on))),
        Section("learner_aliases", "Learning-system identifiers mapped to you by an admin",
                "Addresses or accounts another learning system knows you by.",
                records(select(LearnerAlias.actor_key, LearnerAlias.created_at)
                        .where(LearnerAlias.employee_id == employee.id).order_by(LearnerAlias.id))),
        Section("xapi_statements", "Your learning record (xAPI statements)",
                "Every learning action, Uptake's own and those other learning systems sent about you.",
                [row.pop("statement") | {"voided": row["voided"]} for row in records(
                    select(XapiStatement.statement, XapiStatement.voided)
                    .where(XapiStatement.employee_id == employee.id)
                    .order_by(XapiStatement.timestamp, XapiStatement.stored, XapiStatement.id))]),
    ])


def erase_training(employee: Employee, _user: User | None) -> dict[str, int]:
    """Erase a leaver's training texts and learning-record identity; returns counts by kind."""
    enrollments = select(Enrollment.id).where(Enrollment.employee_id == employee.id).scalar_subquery()
    commitments = select(Commitment.id).where(Commitment.employee_id == employee.id).scalar_subquery()
    texts = [
        update(Enrollment).where(Enrollment.employee_id == employee.id, Enrollment.reaction_comment != "")
        .values(reaction_comment=ERASED_TEXT),
        update(CaseAnswer).where(CaseAnswer.enrollment_id.in_(enrollments)).values(text=ERASED_TEXT),
        update(Commitment).where(Commitment.employee_id == employee.id).values(text=ERASED_TEXT),
        update(CommitmentFollowUp).where(CommitmentFollowUp.commitment_id.in_(commitments),
                                         CommitmentFollowUp.note != "").values(note=ERASED_TEXT),
    ]
    counts = {"training_texts": sum(db.session.execute(statement).rowcount for statement in texts)}
    # What other learners wrote about them (a commitment to "shadow A. Person's calls") keeps its
    # content, with their pseudonym for their name.
    names = names_in_text(employee)
    counts["texts_naming_them"] = (
        scrub_texts([CaseAnswer.text], true(), names)
        + scrub_texts([Commitment.text], true(), names)
        + scrub_texts([CommitmentFollowUp.note], true(), names)
        + scrub_texts([Enrollment.reaction_comment], true(), names))
    aliases = db.session.scalars(select(LearnerAlias).where(LearnerAlias.employee_id == employee.id)).all()
    for alias in aliases:
        db.session.delete(alias)
    counts["learner_aliases"] = len(aliases)
    # The statements stay (the Training dashboard counts them; a re-sent one is still recognised by
    # its id and content hash), with an actor that names no one and without the learner's responses.
    agent = {"objectType": "Agent", "account": {"homePage": home_page(), "name": erased_hr_id(employee.id)}}
    statements = db.session.scalars(select(XapiStatement).where(XapiStatement.employee_id == employee.id)).all()
    for record in statements:
        statement = dict(record.statement, actor=agent)
        result = statement.get("result")
        if isinstance(result, dict) and isinstance(result.get("response"), str):
            statement["result"] = dict(result, response=ERASED_TEXT)
        record.statement = statement
        record.actor_key = None
    counts["xapi_statements"] = len(statements)
    db.session.flush()
    return counts
