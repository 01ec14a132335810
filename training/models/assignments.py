"""Assignments (T3): who must take which module by when, and the reminders sent about it."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from adoption.extensions import db, values_check
from adoption.models import Employee, OrgUnit
from training.models.content import Module

#: The unit subtrees an assignment covers (each unit and everything below it).
assignment_units = Table(
    "training_assignment_units",
    db.Model.metadata,
    Column("assignment_id", ForeignKey("training_assignments.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("org_units.id"), primary_key=True),
)


class Assignment(db.Model):
    """A module assigned to unit subtrees (optionally only some sign-in roles), due by a date."""

    __tablename__ = "training_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("training_modules.id"), index=True)
    due_on: Mapped[dt.date] = mapped_column(Date)
    # A person who joins an assigned unit after ``assigned_on`` gets this many days from
    # the day they are picked up (never a due date before ``due_on``).
    joiner_days: Mapped[int] = mapped_column(SmallInteger, default=30)
    # Sign-in roles the assignment is limited to (people without an account count as
    # "employee"); NULL means every role.
    roles: Mapped[list[str] | None] = mapped_column(JSON)
    assigned_on: Mapped[dt.date] = mapped_column(Date)
    # Withdrawn assignments pick up no new joiners and send no reminders; records stay.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())

    module: Mapped[Module] = relationship()
    units: Mapped[list[OrgUnit]] = relationship(secondary=assignment_units)


class AssignedTraining(db.Model):
    """One person's copy of an assignment: since when and by when they must complete the module."""

    __tablename__ = "assigned_trainings"
    __table_args__ = (UniqueConstraint("assignment_id", "employee_id", name="one_assignee_per_assignment"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("training_assignments.id", ondelete="CASCADE"), index=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    assigned_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date)
    # True when picked up as a new joiner after the assignment was made.
    as_joiner: Mapped[bool] = mapped_column(Boolean, default=False)

    assignment: Mapped[Assignment] = relationship()
    employee: Mapped[Employee] = relationship()


class TrainingStatus(enum.StrEnum):
    """Where one person stands with one module: completed, else overdue once past the due date,
    else in progress once started, else not started."""

    COMPLETED = "completed"
    OVERDUE = "overdue"
    IN_PROGRESS = "in_progress"
    NOT_STARTED = "not_started"


class TrainingReminderKind(enum.StrEnum):
    """Why a training reminder was sent."""

    BEFORE_DUE = "before_due"  # a week before the due date, when not yet completed
    OVERDUE = "overdue"  # the first weekday after the due date, when not yet completed


REMINDER_KINDS = tuple(k.value for k in TrainingReminderKind)


class TrainingReminder(db.Model):
    """A reminder sent about one assigned training (at most one of each kind)."""

    __tablename__ = "training_reminders"
    __table_args__ = (
        UniqueConstraint("assigned_id", "kind", name="one_training_reminder_per_kind"),
        CheckConstraint(values_check("kind", REMINDER_KINDS), name="known_training_reminder_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assigned_id: Mapped[int] = mapped_column(ForeignKey("assigned_trainings.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    sent_on: Mapped[dt.date] = mapped_column(Date)
