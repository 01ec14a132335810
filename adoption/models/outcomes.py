"""Customer outcomes: one measured value per unit, metric and calendar period (CSAT, NPS, ...)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from adoption.extensions import db, values_check
from adoption.models.org import OrgUnit

#: Where a stored outcome came from: ``POST /api/v1/outcomes`` or ``flask import-outcomes``.
OUTCOME_SOURCES = ("api", "file")


class OutcomeMeasure(db.Model):
    """A unit's value of one customer-outcome metric over one calendar month or quarter.

    A unit-level aggregate (e.g. the CSAT of a team's customers), never about a person. The key
    (unit, metric, period) is unique: sending it again with the same content is a duplicate, with
    other content a conflict unless the sender asks to replace it (docs/outcomes.md).
    """

    __tablename__ = "outcome_measures"
    __table_args__ = (
        UniqueConstraint("unit_id", "metric", "period_start", "period_end"),
        CheckConstraint("period_end > period_start", name="period_order"),
        CheckConstraint("responses IS NULL OR responses > 0", name="responses_positive"),
        CheckConstraint(values_check("source", OUTCOME_SOURCES), name="known_source"),
        # The evidence panel reads one metric over a range of periods, across units.
        Index("ix_outcome_measures_metric_period", "metric", "period_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # May be any unit, not only a team: a region's value is stored (and used) at its own level.
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    # Lower-case name such as csat, nps, retention (ranges of the known ones: adoption/outcomes.py).
    metric: Mapped[str] = mapped_column(String(64))
    # First and last day (inclusive) of a calendar month or calendar quarter.
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float)
    # How many answers or customers the value rests on, when the sender knows it.
    responses: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(8))
    # Hex SHA-256 of the canonical row (key, value as a float, responses): same key and same hash
    # is a duplicate, same key and another hash a conflict (adoption/outcomes.py).
    content_hash: Mapped[str] = mapped_column(String(64))
    # The token that sent the current value; NULL when it came from a file.
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    # Naive UTC. updated_at moves only when a sender replaces the value.
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)

    unit: Mapped[OrgUnit] = relationship()

    def __repr__(self) -> str:
        return f"<OutcomeMeasure {self.metric} unit={self.unit_id} {self.period_start}..{self.period_end}>"
