"""The hypotheses register (D6): the initiative's leaps of faith and the story of their verdicts.

The tables live here with the other models so that every migration sees them; the behaviour
(create, edit, evaluate, read) is ``dashboards/hypotheses.py`` (docs/hypotheses.md).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from adoption.extensions import db, values_check
from adoption.models.users import User

#: A verdict as ``dashboards.metrics.evidence.verdict`` reads it (docs/evidence.md#the-verdict-hypotheses-register-d6).
HYPOTHESIS_VERDICTS = ("supported", "contradicted", "inconclusive")
#: Why an evaluation was recorded: the hypothesis was created or its question edited, new data
#: was imported, the daily command ran, or someone pressed "Re-evaluate now".
EVALUATION_TRIGGERS = ("created", "edited", "import", "schedule", "manual")
#: Longest lag a hypothesis may state, in months (either direction).
MAX_HYPOTHESIS_LAG = 12
#: "key_behaviour:" and an event type of up to 64 characters.
METRIC_NAME_LENGTH = 80


class Hypothesis(db.Model):
    """A leap of faith: "x goes with y ``lag`` months later, in ``expected_direction``, by at
    least ``smallest_effect``", with its current verdict (organization-wide) and evidence."""

    __tablename__ = "hypotheses"
    __table_args__ = (
        CheckConstraint("expected_direction IN (1, -1)", name="direction_sign"),
        CheckConstraint(f"lag BETWEEN -{MAX_HYPOTHESIS_LAG} AND {MAX_HYPOTHESIS_LAG}", name="lag_range"),
        CheckConstraint("smallest_effect >= 0 AND smallest_effect < 1", name="effect_range"),
        CheckConstraint("verdict IS NULL OR " + values_check("verdict", HYPOTHESIS_VERDICTS), name="known_verdict"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    statement: Mapped[str] = mapped_column(Text)
    # Metric names of the evidence panel (adoption_rate, key_behaviour:activity_logged, csat, ...).
    x: Mapped[str] = mapped_column(String(METRIC_NAME_LENGTH))
    y: Mapped[str] = mapped_column(String(METRIC_NAME_LENGTH))
    # +1: more x goes with more y; -1: more x goes with less y.
    expected_direction: Mapped[int] = mapped_column(Integer)
    # Months from x to y; negative means y comes first (the reverse direction).
    lag: Mapped[int] = mapped_column(Integer)
    # The smallest correlation that would matter, on the r scale (0 <= δ < 1).
    smallest_effect: Mapped[float] = mapped_column(Float)
    # Units compared: "team" (leaf units), "region", "company" or a depth ("2").
    level: Mapped[str] = mapped_column(String(20), default="team")
    # The accountable person.
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Who recorded it; NULL when the system did (the demo).
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Naive UTC, like every timestamp.
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # Set when archived: the register and the schedule leave it out; its history stays.
    archived_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # The current verdict and its evidence: a copy of the latest evaluation (NULL before the first).
    verdict: Mapped[str | None] = mapped_column(String(16))
    # What would decide it, when inconclusive.
    decider: Mapped[str | None] = mapped_column(Text)
    # The evidence JSON of ``flask evidence --json`` for the hypothesis' question.
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # When the current verdict and figures were recorded (the latest evaluation's time).
    evaluated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # When the evidence was last looked at, changed or not.
    checked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    evaluations: Mapped[list[HypothesisEvaluation]] = relationship(
        back_populates="hypothesis", order_by="HypothesisEvaluation.id"
    )

    def __repr__(self) -> str:
        return f"<Hypothesis {self.id} {self.x}->{self.y} lag={self.lag} {self.verdict}>"


class HypothesisEvaluation(db.Model):
    """One chapter of a hypothesis' story: a verdict and the figures behind it, recorded when
    they changed, or when the hypothesis was created or its question edited. A re-check that
    finds the same verdict and figures adds no row (it moves ``Hypothesis.checked_at``)."""

    __tablename__ = "hypothesis_evaluations"
    __table_args__ = (
        CheckConstraint(values_check("verdict", HYPOTHESIS_VERDICTS), name="known_verdict"),
        CheckConstraint(values_check("trigger", EVALUATION_TRIGGERS), name="known_trigger"),
        # The latest evaluation of a hypothesis is read on every check.
        Index("ix_hypothesis_evaluations_hypothesis_latest", "hypothesis_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hypothesis_id: Mapped[int] = mapped_column(ForeignKey("hypotheses.id"))
    evaluated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    trigger: Mapped[str] = mapped_column(String(10))
    # The question as it stood (an edit may change it between two rows).
    x: Mapped[str] = mapped_column(String(METRIC_NAME_LENGTH))
    y: Mapped[str] = mapped_column(String(METRIC_NAME_LENGTH))
    lag: Mapped[int] = mapped_column(Integer)
    expected_direction: Mapped[int] = mapped_column(Integer)
    smallest_effect: Mapped[float] = mapped_column(Float)
    level: Mapped[str] = mapped_column(String(20))
    verdict: Mapped[str] = mapped_column(String(16))
    decider: Mapped[str | None] = mapped_column(Text)
    # Units with at least one pair, and the pairs (unit-months).
    n_units: Mapped[int] = mapped_column(Integer)
    n_observations: Mapped[int] = mapped_column(Integer)
    # The correlation across units, its 95% interval and p (NULL when the data were refused).
    r: Mapped[float | None] = mapped_column(Float)
    r_low: Mapped[float | None] = mapped_column(Float)
    r_high: Mapped[float | None] = mapped_column(Float)
    p: Mapped[float | None] = mapped_column(Float)
    # The months read (default_window of the day of the evaluation).
    window_start: Mapped[dt.date] = mapped_column(Date)
    window_end: Mapped[dt.date] = mapped_column(Date)
    # The evidence JSON (docs/evidence.md); NULL when the question could not be asked (e.g. a
    # metric that no longer exists: ``decider`` says why).
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    hypothesis: Mapped[Hypothesis] = relationship(back_populates="evaluations")

    def __repr__(self) -> str:
        return f"<HypothesisEvaluation {self.id} of {self.hypothesis_id} {self.verdict} ({self.trigger})>"
