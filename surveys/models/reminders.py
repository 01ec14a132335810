"""Reminders sent for a round (surveys/reminders.py): one row per round and kind, so never twice."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from adoption.extensions import db
from surveys.models.core import _in


class ReminderKind(enum.StrEnum):
    """When in a round a reminder goes out."""

    HALFWAY = "halfway"
    BEFORE_CLOSE = "before_close"  # two days before the round closes


REMINDER_KINDS = tuple(k.value for k in ReminderKind)


class SurveyReminder(db.Model):
    """That the reminder of a kind went out for a round: when, and to how many people."""

    __tablename__ = "survey_reminders"
    __table_args__ = (CheckConstraint(_in("kind", REMINDER_KINDS), name="known_reminder_kind"),)

    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12), primary_key=True)
    sent_on: Mapped[dt.date] = mapped_column(Date)
    recipients: Mapped[int] = mapped_column(Integer)
