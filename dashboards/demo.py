"""The demo's customer outcomes and starter hypotheses (issue 6, point 7).

Customer figures are not something the other demos produce, so this loader plants them on top
of what they did: for every team and month of the demo's CRM usage, a CSAT, an NPS and a
retention figure, stored through the outcomes judge and store a real import uses. The planted
truth, on month-centred values (z = a team's distance from the month's mean in standard
deviations):

- CSAT(t) = 78 + 4.0·z(adoption rate, t−1) + 0.5·z(engagement index, t−1) + the team's own level
  (sd 2) + a month shock (sd 1) + noise (sd 4.5): a moderate lagged relation with adoption and a
  weaker one with engagement (an engagement figure only where the survey showed it);
- NPS(t) = 24 + 1.5·z(adoption rate, t−1) + the team's level ×1.5 + month shock + noise (sd 11);
- retention(t) = 91 + noise (sd 2.5): related to nothing, the null the dashboard should show as
  inconclusive.

Responses per team-month: 15 + Poisson(30) for CSAT, about half for NPS (the weights of the
multilevel model). Deterministic for a seed; the values depend on the usage and survey demos the
same seed produced.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from flask import current_app
from sqlalchemy import select, text

from adoption.demo import ROOT_UNIT
from adoption.demo_calendar import DemoCalendar
from adoption.demo_telemetry import LARGE_WEEKS, SMALL_WEEKS, window
from adoption.extensions import db
from adoption.models import Hypothesis, OrgUnit, Role, User
from adoption.models.outcomes import OutcomeMeasure
from adoption.outcomes import judge_outcomes, store_outcomes
from adoption.timekeeping import utcnow
from dashboards import evidence, evidence_panel
from dashboards.hypotheses import create_hypothesis

CSAT, NPS, RETENTION = "csat", "nps", "retention"
SEED_SALT = 6  # issue 6: keeps this generator's stream apart from the other demos'


def _within_month_z(panel: pd.DataFrame, metric: str) -> pd.Series:
    """A metric's month-centred, month-scaled value per (unit, period); missing months absent."""
    rows = panel.loc[panel["metric"] == metric, ["unit", "period", "value"]]
    grouped = rows.groupby("period")["value"]
    sd = grouped.transform("std").replace(0, np.nan)
    z = ((rows["value"] - grouped.transform("mean")) / sd).fillna(0.0)
    return pd.Series(z.to_numpy(), index=pd.MultiIndex.from_frame(rows[["unit", "period"]]))


def plant_outcomes(panel: pd.DataFrame, units: list[str], months: pd.PeriodIndex, seed: int) -> list[dict]:
    """The demo's outcome items (API shape) for ``units`` × ``months`` from the usage and survey
    figures of ``panel`` (long form), by the rules in the module doc."""
    rng = np.random.default_rng([seed, SEED_SALT])
    adoption = _within_month_z(panel, evidence_panel.ADOPTION_RATE)
    engagement = _within_month_z(panel, evidence_panel.ENGAGEMENT_INDEX)
    team_level = dict(zip(units, rng.normal(0, 2.0, len(units)), strict=True))
    month_shock = dict(zip(months, rng.normal(0, 1.0, len(months)), strict=True))
    items = []
    for unit in units:
        for month in months:
            before = (unit, month - 1)
            za = float(adoption.get(before, 0.0))
            ze = float(engagement.get(before, 0.0))
            shock, level = month_shock[month], team_level[unit]
            csat_n = 15 + int(rng.poisson(30))
            nps_n = max(5, csat_n // 2 + int(rng.integers(-3, 4)))
            csat = 78 + 4.0 * za + 0.5 * ze + level + shock + rng.normal(0, 4.5)
            nps = 24 + 1.5 * za + 1.5 * level + shock + rng.normal(0, 11)
            retention = 91 + rng.normal(0, 2.5)
            start, end = month.start_time.date(), month.end_time.date()
            for metric, value, n in ((CSAT, csat, csat_n), (NPS, nps, nps_n), (RETENTION, retention, None)):
                low, high = (-100, 100) if metric == NPS else (0, 100)
                item = {"unit": unit, "metric": metric, "period_start": start.isoformat(),
                        "period_end": end.isoformat(), "value": round(min(max(value, low), high), 1)}
                if n is not None:
                    item["responses"] = n
                items.append(item)
    return items


def load_evidence_demo(size: str, seed: int, calendar: DemoCalendar) -> str | None:
    """Add the demo's CSAT, NPS and retention per team and month of its usage window (which
    ``calendar`` places), and its three starter hypotheses, once each; flushes only."""
    if db.session.scalar(select(OrgUnit.id).where(OrgUnit.path == ROOT_UNIT)) is None:
        return None  # not the demo organization
    lines = [_load_outcomes(size, seed, calendar), _load_hypotheses(calendar.usage_end)]
    return " ".join(line for line in lines if line) or None


#: The initiative's leaps of faith as a change leader would write them: (statement, x, y,
#: expected direction, lag, smallest effect that matters). On the demo they read supported,
#: not yet decidable and contradicted (docs/evidence.md, "Demo data").
STARTER_HYPOTHESES = (
    ("Teams that adopt the CRM delight their customers a month later.",
     evidence_panel.ADOPTION_RATE, CSAT, 1, 1, 0.2),
    ("Engaged teams give better service: a team's engagement shows in its CSAT the next month.",
     evidence_panel.ENGAGEMENT_INDEX, CSAT, 1, 1, 0.2),
    ("Logging every customer activity in the CRM takes time away from customers, so CSAT drops.",
     evidence_panel.KEY_BEHAVIOUR + "activity_logged", CSAT, -1, 1, 0.1),
)


def _load_hypotheses(last_day: dt.date) -> str | None:
    """Record the starter hypotheses, owned by the demo's change leader, each evaluated on the
    demo's data (its ``last_day`` as "today"); nothing when the register has any hypothesis."""
    if db.session.scalar(select(Hypothesis.id).limit(1)) is not None:
        return None
    leader = db.session.scalar(select(User).where(User.role == Role.CHANGE_LEADER.value).order_by(User.id).limit(1))
    if leader is None or db.session.scalar(select(OutcomeMeasure.id).limit(1)) is None:
        return None
    if db.engine.dialect.name == "postgresql":
        # The evaluations read the evidence panel, whose joins PostgreSQL plans from table
        # statistics; inside this loading transaction autovacuum has not seen a row, so they say
        # the tables are empty and the plan is a nested loop: on the large demo one evaluation ran
        # for more than half an hour. ANALYZE in the transaction counts its own new rows.
        db.session.execute(text("ANALYZE"))
    verdicts = [
        create_hypothesis(statement, x, y, direction, lag, effect, owner=leader, created_by=leader,
                          today=last_day, config=current_app.config).verdict
        for statement, x, y, direction, lag, effect in STARTER_HYPOTHESES
    ]
    return f"Hypotheses register: {len(verdicts)} starter hypotheses ({', '.join(verdicts)})."


def _load_outcomes(size: str, seed: int, calendar: DemoCalendar) -> str | None:
    """The outcomes part of ``load_evidence_demo``; nothing when any outcome is stored."""
    if db.session.scalar(select(OutcomeMeasure.id).limit(1)) is not None:
        return None  # outcomes are there already (this demo's, or real ones): never mix them
    first, last = window(SMALL_WEEKS if size == "small" else LARGE_WEEKS, calendar)
    panel = evidence_panel.unit_period_panel(
        evidence.ORGANIZATION, start=first, end=last, config=current_app.config,
        metrics=[evidence_panel.ADOPTION_RATE, evidence_panel.ENGAGEMENT_INDEX],
    )
    units = sorted(panel.loc[panel["metric"] == evidence_panel.ADOPTION_RATE, "unit"].unique())
    if not units:
        return None
    months = pd.period_range(first, last, freq="M")
    valid, rejected = judge_outcomes(plant_outcomes(panel, units, months, seed))
    if rejected:
        raise RuntimeError(f"the demo's outcomes were rejected: {rejected[:3]}")
    result = store_outcomes(valid, source="file", token_id=None, now=utcnow())
    return (f"Customer outcomes: CSAT, NPS and retention for {len(units)} teams × {len(months)} months "
            f"({first:%Y-%m} to {last:%Y-%m}; {result.accepted} values), CSAT planted to follow adoption "
            f"a month later.")
