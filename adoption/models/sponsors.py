"""Sponsor commitment (D2): what the initiative's sponsors visibly do, what they plan to do, and
the units each of them answers for.

The tables live here with the other models so every migration sees them; the behaviour (record,
plan, message, read) is ``adoption/sponsors.py`` and the indicators built on them are
``dashboards/commitment.py`` (docs/commitment.md).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from adoption.extensions import db, values_check
from adoption.models.org import Employee, OrgUnit

#: Visible sponsor actions, in the order the forms offer them. A message sent from the app is
#: recorded as a ``message`` (``SponsorActivity.outbox_subject`` keeps what was sent).
ACTIVITY_KINDS = ("town_hall", "team_visit", "message", "steering_meeting", "recognition", "escalation_decision")
ACTIVITY_LABELS = {
    "town_hall": "Town hall",
    "team_visit": "Team visit",
    "message": "Message to the organization",
    "steering_meeting": "Steering meeting",
    "recognition": "Recognition of an adopter",
    "escalation_decision": "Decision on an escalation",
}

sponsor_activity_units = Table(
    "sponsor_activity_units",
    db.metadata,
    Column("activity_id", ForeignKey("sponsor_activities.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("org_units.id"), primary_key=True),
)


class SponsorActivity(db.Model):
    """One visible action of a sponsor: what, when, for which units (their subtrees), and a note."""

    __tablename__ = "sponsor_activities"
    __table_args__ = (CheckConstraint(values_check("kind", ACTIVITY_KINDS), name="known_activity_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    occurred_on: Mapped[dt.date] = mapped_column(Date, index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    # For a message sent from the app: its subject (the body is in the outbox or was e-mailed).
    outbox_subject: Mapped[str | None] = mapped_column(String(300))
    # How many people a message sent from the app went to.
    recipients: Mapped[int | None] = mapped_column(Integer)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())

    sponsor: Mapped[Employee] = relationship()
    # The audience: each unit stands for its whole subtree.
    units: Mapped[list[OrgUnit]] = relationship(secondary=sponsor_activity_units, order_by=OrgUnit.path)


class SponsorPlan(db.Model):
    """How many actions of one kind a sponsor plans for one calendar quarter."""

    __tablename__ = "sponsor_plans"
    __table_args__ = (
        UniqueConstraint("sponsor_id", "quarter_start", "kind", name="one_plan_per_kind_and_quarter"),
        CheckConstraint(values_check("kind", ACTIVITY_KINDS), name="known_plan_kind"),
        CheckConstraint("planned >= 0", name="planned_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    # First day of the calendar quarter (1 January, 1 April, 1 July or 1 October).
    quarter_start: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(24))
    planned: Mapped[int] = mapped_column(Integer)

    sponsor: Mapped[Employee] = relationship()


class SponsorArea(db.Model):
    """A unit (with its subtree) a sponsor answers for: where their employees' perception,
    comments and actions are read. A sponsor without any answers for the whole organization."""

    __tablename__ = "sponsor_areas"

    sponsor_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)

    unit: Mapped[OrgUnit] = relationship()


class SponsorDigest(db.Model):
    """A weekly digest sent to a sponsor: one per sponsor and week, so a second run of the
    weekly command (or a retry after a crash) does not send it twice."""

    __tablename__ = "sponsor_digests"

    sponsor_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), primary_key=True)
    # Monday of the week the digest is for.
    week_start: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime)
