"""A learner's way through a module (T1, T3-T4): enrollment, step by step, to commitment and follow-up.

Training records are personal but not confidential the way survey responses are: the learner,
their manager (for their subtree) and change leaders may read them (``Scope.employee_filter``);
executives see aggregates only.
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from adoption.extensions import db, values_check
from training.models.content import CheckQuestion, Module, ModuleStep


class FollowUpStatus(enum.StrEnum):
    """What a learner says about a commitment when asked at 30, 60 and 90 days."""

    DONE = "done"
    PARTLY = "partly"
    NOT_YET = "not_yet"


FOLLOW_UP_STATUSES = tuple(s.value for s in FollowUpStatus)
#: Days after the commitment at which the learner is asked whether they did it.
FOLLOW_UP_DAYS = (30, 60, 90)


class Enrollment(db.Model):
    """One employee taking one module: where they are, when they finished, what they thought of it."""

    __tablename__ = "module_enrollments"
    __table_args__ = (
        UniqueConstraint("employee_id", "module_id", name="one_enrollment_per_module"),
        CheckConstraint("reaction_score IS NULL OR reaction_score BETWEEN 1 AND 5", name="reaction_1_to_5"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("training_modules.id"), index=True)
    # The module's version when the learner started (results are read per version).
    module_version: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # The step to resume at (1-based position); past the last step once every step is done.
    current_position: Mapped[int] = mapped_column(SmallInteger, default=1)
    last_activity_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # Set when every step is done (every check passed) and the reaction was given.
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)
    # The organization's date of completion (what due dates and the behaviour analysis use).
    completed_on: Mapped[dt.date | None] = mapped_column(Date)
    reaction_score: Mapped[int | None] = mapped_column(SmallInteger)  # usefulness, 1-5
    reaction_comment: Mapped[str] = mapped_column(Text, default="")

    module: Mapped[Module] = relationship()


class StepCompletion(db.Model):
    """A step the learner has done (read a lesson, answered a case, passed a check, committed)."""

    __tablename__ = "step_completions"
    __table_args__ = (UniqueConstraint("enrollment_id", "step_id", name="one_completion_per_step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("module_enrollments.id", ondelete="CASCADE"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("module_steps.id", ondelete="CASCADE"))
    completed_at: Mapped[dt.datetime] = mapped_column(DateTime)


class CaseAnswer(db.Model):
    """What the learner would do in a case study, written before they see the expert commentary."""

    __tablename__ = "case_answers"
    __table_args__ = (UniqueConstraint("enrollment_id", "step_id", name="one_answer_per_case"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("module_enrollments.id", ondelete="CASCADE"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("module_steps.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    answered_at: Mapped[dt.datetime] = mapped_column(DateTime)

    step: Mapped[ModuleStep] = relationship()


class CheckAttempt(db.Model):
    """One attempt at a knowledge check, scored."""

    __tablename__ = "check_attempts"
    __table_args__ = (UniqueConstraint("enrollment_id", "step_id", "number", name="one_attempt_per_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("module_enrollments.id", ondelete="CASCADE"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("module_steps.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(SmallInteger)  # 1 for the first attempt
    score_pct: Mapped[float] = mapped_column(Float)  # share of questions right, 0-100
    passed: Mapped[bool] = mapped_column(Boolean)
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime)

    answers: Mapped[list[CheckAttemptAnswer]] = relationship(back_populates="attempt", cascade="all, delete-orphan")


class CheckAttemptAnswer(db.Model):
    """The options chosen for one question in one attempt, and whether that was right."""

    __tablename__ = "check_attempt_answers"

    attempt_id: Mapped[int] = mapped_column(ForeignKey("check_attempts.id", ondelete="CASCADE"), primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("check_questions.id", ondelete="CASCADE"), primary_key=True)
    chosen: Mapped[list[int]] = mapped_column(JSON)  # 0-based option indexes
    correct: Mapped[bool] = mapped_column(Boolean)

    attempt: Mapped[CheckAttempt] = relationship(back_populates="answers")
    question: Mapped[CheckQuestion] = relationship()


class Commitment(db.Model):
    """"In the next 30 days I will ...": the action a learner commits to at the end of a module."""

    __tablename__ = "commitments"
    __table_args__ = (UniqueConstraint("enrollment_id", "step_id", name="one_commitment_per_step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("module_enrollments.id", ondelete="CASCADE"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("module_steps.id", ondelete="CASCADE"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("training_modules.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    # Optionally the initiative key behaviour (an event type) it concerns; the follow-up then
    # shows the learner's telemetry rate of it before and after.
    key_behaviour: Mapped[str | None] = mapped_column(String(64))
    committed_on: Mapped[dt.date] = mapped_column(Date)  # the organization's date
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)

    follow_ups: Mapped[list[CommitmentFollowUp]] = relationship(
        back_populates="commitment", order_by="CommitmentFollowUp.day_offset", cascade="all, delete-orphan"
    )
    module: Mapped[Module] = relationship()


class CommitmentFollowUp(db.Model):
    """The question "did you do it?" at 30, 60 or 90 days, and the learner's answer once given."""

    __tablename__ = "commitment_follow_ups"
    __table_args__ = (
        UniqueConstraint("commitment_id", "day_offset", name="one_follow_up_per_offset"),
        CheckConstraint("status IS NULL OR " + values_check("status", FOLLOW_UP_STATUSES), name="known_follow_up_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitments.id", ondelete="CASCADE"), index=True)
    day_offset: Mapped[int] = mapped_column(SmallInteger)  # 30, 60 or 90
    due_on: Mapped[dt.date] = mapped_column(Date, index=True)  # committed_on + day_offset
    status: Mapped[str | None] = mapped_column(String(8))  # NULL until answered
    note: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # When the learner was told the question is waiting (outbox/e-mail), at most once.
    notified_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    commitment: Mapped[Commitment] = relationship(back_populates="follow_ups")
