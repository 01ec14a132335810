"""What a closed round may show, and the statistics its results are read from.

Both are computed once, when a round's results are prepared after it closes
(surveys/results.py): a closed round gets no more answers, so the rows never change.
"""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from adoption.extensions import db

#: ``tenure_band`` value of a group that is not filtered by tenure.
ALL_BANDS = "all"
#: ``tenure_band`` value of statistics rows for respondents whose start date is unknown.
NO_BAND = "none"


class RoundGroup(db.Model):
    """A group (unit subtree × tenure filter) of a round: its size and whether it may be shown."""

    __tablename__ = "round_groups"

    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id"), primary_key=True)
    # The unit and its whole subtree.
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    # ALL_BANDS or one of TENURE_BANDS.
    tenure_band: Mapped[str] = mapped_column(String(5), primary_key=True)
    # People in the round's audience in the group on the opening day (response rate denominator).
    invited: Mapped[int] = mapped_column(Integer)
    respondents: Mapped[int] = mapped_column(Integer)
    # Scores may be shown (threshold and differencing rules, surveys/disclosure.py).
    shown: Mapped[bool] = mapped_column(Boolean)
    # Why not: below_threshold, differencing_parent, differencing_sibling, differencing_round.
    reason: Mapped[str | None] = mapped_column(String(24))
    # Comments may be listed for this group (ALL_BANDS rows only; their own threshold).
    comments_shown: Mapped[bool] = mapped_column(Boolean, default=False)
    # Shown groups only: the group's statistics summed over its subtree when the round was
    # prepared ({"unit": {...}, "items": {round question id: {...}}, "choices": {...}}), so a
    # read is one primary-key lookup however large the subtree, and a later reorganisation
    # cannot change what a shown group contains. NULL for suppressed groups.
    sums: Mapped[dict | None] = mapped_column(JSON)


class RoundUnitStats(db.Model):
    """Additive per-respondent statistics of the responses given in one unit (not subtree)."""

    __tablename__ = "round_unit_stats"

    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id"), primary_key=True)
    # The respondents' unit snapshot.
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    # One of TENURE_BANDS, or NO_BAND.
    tenure_band: Mapped[str] = mapped_column(String(5), primary_key=True)
    respondents: Mapped[int] = mapped_column(Integer)
    # Engagement index per respondent (mean of their engagement items, 0–100): count, sum, sum
    # of squares.
    engagement_n: Mapped[int] = mapped_column(Integer, default=0)
    engagement_sum: Mapped[float] = mapped_column(Float, default=0.0)
    engagement_sum_sq: Mapped[float] = mapped_column(Float, default=0.0)
    # Change-readiness barrier: respondents who answered the readiness items, and how many have
    # each element as their first barrier (mean ≤ 3), or none.
    readiness_n: Mapped[int] = mapped_column(Integer, default=0)
    barrier_awareness: Mapped[int] = mapped_column(Integer, default=0)
    barrier_desire: Mapped[int] = mapped_column(Integer, default=0)
    barrier_knowledge: Mapped[int] = mapped_column(Integer, default=0)
    barrier_ability: Mapped[int] = mapped_column(Integer, default=0)
    barrier_reinforcement: Mapped[int] = mapped_column(Integer, default=0)
    barrier_none: Mapped[int] = mapped_column(Integer, default=0)


class RoundItemStats(db.Model):
    """Additive statistics of one question's answers given in one unit (not subtree)."""

    __tablename__ = "round_item_stats"

    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    tenure_band: Mapped[str] = mapped_column(String(5), primary_key=True)
    round_question_id: Mapped[int] = mapped_column(ForeignKey("round_questions.id"), primary_key=True)
    # Scored answers (likert5, nps11): count, sum, sum of squares.
    n: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[float] = mapped_column(Float, default=0.0)
    total_sq: Mapped[float] = mapped_column(Float, default=0.0)
    # likert5 answers of 4 or 5.
    favourable: Mapped[int] = mapped_column(Integer, default=0)
    # nps11 answers of 9–10 and of 0–6.
    promoters: Mapped[int] = mapped_column(Integer, default=0)
    detractors: Mapped[int] = mapped_column(Integer, default=0)
    # Pairs (answer x, respondent's engagement index y) for the driver correlation.
    pair_n: Mapped[int] = mapped_column(Integer, default=0)
    pair_x: Mapped[float] = mapped_column(Float, default=0.0)
    pair_y: Mapped[float] = mapped_column(Float, default=0.0)
    pair_xx: Mapped[float] = mapped_column(Float, default=0.0)
    pair_yy: Mapped[float] = mapped_column(Float, default=0.0)
    pair_xy: Mapped[float] = mapped_column(Float, default=0.0)
    # single/multi: {option: count}.
    choice_counts: Mapped[dict | None] = mapped_column(JSON)
