"""\"You said, we did\": action plans a unit commits to after a round (S5)."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from adoption.extensions import db
from surveys.models.core import _in


class PlanStatus(enum.StrEnum):
    """Where an action plan stands."""

    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DROPPED = "dropped"


PLAN_STATUSES = tuple(s.value for s in PlanStatus)


class ActionPlan(db.Model):
    """What a unit will do about a round's results, who owns it and by when."""

    __tablename__ = "action_plans"
    __table_args__ = (CheckConstraint(_in("status", PLAN_STATUSES), name="known_plan_status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The unit whose employees see the plan (and are asked the follow-up item).
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    # The round whose results prompted it.
    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id"), index=True)
    # Optionally the bank item or the conversation it answers.
    item_version_id: Mapped[int | None] = mapped_column(ForeignKey("survey_item_versions.id"))
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("comment_threads.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    due_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default=PlanStatus.PLANNED.value, index=True)
    # Ask "Has this action made a difference?" of the unit in the survey's next round.
    follow_up: Mapped[bool] = mapped_column(Boolean, default=False)
    # The follow-up question (a custom likert5 question of the survey, never sampled) and where
    # it was asked; NULL until the next round is scheduled.
    follow_up_question_id: Mapped[int | None] = mapped_column(ForeignKey("survey_questions.id"))
    follow_up_round_question_id: Mapped[int | None] = mapped_column(ForeignKey("round_questions.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime, server_default=func.now(), onupdate=func.now()
    )

    updates: Mapped[list[ActionPlanUpdate]] = relationship(
        back_populates="plan", order_by="ActionPlanUpdate.id"
    )


class ActionPlanUpdate(db.Model):
    """A public progress note on a plan, optionally changing its status."""

    __tablename__ = "action_plan_updates"
    __table_args__ = (
        CheckConstraint("status IS NULL OR " + _in("status", PLAN_STATUSES), name="known_update_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("action_plans.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    # The status the plan moved to with this update, if it changed.
    status: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())

    plan: Mapped[ActionPlan] = relationship(back_populates="updates")
