"""Training content (T1): modules, their ordered steps and knowledge-check questions."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from adoption.extensions import db, values_check


class StepKind(enum.StrEnum):
    """The four kinds of step a module is made of."""

    LESSON = "lesson"  # Markdown, rendered and sanitized
    CASE_STUDY = "case_study"  # scenario -> learner's answer -> expert commentary -> discussion
    CHECK = "check"  # knowledge check: choice questions with a pass mark
    COMMITMENT = "commitment"  # "In the next 30 days I will ..."


STEP_KINDS = tuple(k.value for k in StepKind)


class QuestionKind(enum.StrEnum):
    """How a knowledge-check question is answered."""

    SINGLE = "single"  # exactly one option is right
    MULTIPLE = "multiple"  # the right set of options, all and only them


QUESTION_KINDS = tuple(k.value for k in QuestionKind)


class ModuleStatus(enum.StrEnum):
    """A module's life cycle: only published modules are assigned and taken."""

    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


MODULE_STATUSES = tuple(s.value for s in ModuleStatus)

#: The reaction question a module ends with unless its author words it otherwise.
DEFAULT_REACTION_QUESTION = "How useful was this module for your daily work?"


class Module(db.Model):
    """A training module: ordered steps, an estimated duration, a version and a reaction question."""

    __tablename__ = "training_modules"
    __table_args__ = (CheckConstraint(values_check("status", MODULE_STATUSES), name="known_module_status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable identifier: the folder name on import/export and the last part of the module's
    # xAPI activity IRI, so it never changes once learners have taken the module.
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    # Who the module is written for, in words (assignment decides who must take it).
    audience: Mapped[str] = mapped_column(Text, default="")
    estimated_minutes: Mapped[int] = mapped_column(Integer)
    # Raised by every edit of a published module; an enrollment keeps the version it started on.
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(12), default=ModuleStatus.DRAFT.value, index=True)
    # Event types (the initiative's key behaviours) the module sets out to change; the
    # behaviour analysis compares completers' weekly rates of these against untrained peers.
    key_behaviours: Mapped[list[str]] = mapped_column(JSON, default=list)
    reaction_question: Mapped[str] = mapped_column(String(300), default=DEFAULT_REACTION_QUESTION)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now(), onupdate=func.now())

    steps: Mapped[list[ModuleStep]] = relationship(
        back_populates="module", order_by="ModuleStep.position", cascade="all, delete-orphan"
    )


class ModuleStep(db.Model):
    """One step of a module; which columns matter depends on ``kind``."""

    __tablename__ = "module_steps"
    __table_args__ = (
        UniqueConstraint("module_id", "position", name="one_step_per_position"),
        UniqueConstraint("module_id", "key", name="unique_step_key"),
        CheckConstraint(values_check("kind", STEP_KINDS), name="known_step_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("training_modules.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(SmallInteger)  # 1-based order within the module
    # Stable within the module (file name stem on export, last part of the step's xAPI IRI).
    key: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(200))
    # Lesson: its Markdown. Case study: the scenario (Markdown). Commitment: the prompt shown
    # above "In the next 30 days I will ...". Check: an optional introduction.
    body: Mapped[str] = mapped_column(Text, default="")
    # Case study only: the expert commentary (Markdown), shown after the learner has answered.
    commentary: Mapped[str] = mapped_column(Text, default="")
    # Case study only: discussion questions shown with the commentary.
    discussion: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Check only: the share of questions (0-100) a learner must get right to pass.
    pass_mark_pct: Mapped[int | None] = mapped_column(SmallInteger)
    # Check only: how many attempts a learner has; NULL means unlimited.
    attempts_allowed: Mapped[int | None] = mapped_column(SmallInteger)

    module: Mapped[Module] = relationship(back_populates="steps")
    questions: Mapped[list[CheckQuestion]] = relationship(
        back_populates="step", order_by="CheckQuestion.position", cascade="all, delete-orphan"
    )


class CheckQuestion(db.Model):
    """A knowledge-check question: options, the right ones, and why."""

    __tablename__ = "check_questions"
    __table_args__ = (
        UniqueConstraint("step_id", "position", name="one_question_per_position"),
        CheckConstraint(values_check("kind", QUESTION_KINDS), name="known_question_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("module_steps.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    prompt: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(10))
    options: Mapped[list[str]] = mapped_column(JSON)
    # 0-based indexes into ``options`` of the right answers (exactly one for ``single``).
    correct: Mapped[list[int]] = mapped_column(JSON)
    # Shown after each attempt, whether the learner got it right or not.
    explanation: Mapped[str] = mapped_column(Text, default="")

    step: Mapped[ModuleStep] = relationship(back_populates="questions")
