"""The executive commitment report: every indicator of one period for one user, built once and
shared by the dashboard's callbacks, its printable board-pack view and its CSV download.

``report`` reads ``dashboards.commitment`` (which checks the user's scope) and keeps the result
(``dashboards.cache.stamped``) under a fingerprint of every table the indicators read, so the
page's five callbacks cost one build and a change of data is seen on the next call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from flask import current_app
from sqlalchemy import func, select

from adoption.extensions import db
from adoption.models import (
    ACTIVITY_KINDS,
    ACTIVITY_LABELS,
    Hypothesis,
    SponsorActivity,
    SponsorArea,
    SponsorPlan,
)
from adoption.scope import Scope
from adoption.sponsors import quarter_label, quarter_starts
from dashboards import cache, commitment, evidence_panel
from dashboards.commitment import (
    LeadershipRecord,
    Outcomes,
    Perceived,
    Period,
    SponsorRecord,
    UrgentItem,
)
from surveys.disclosure import SUPPRESSED_MESSAGE
from surveys.models import ActionPlan, ActionPlanUpdate, CommentThread

CACHE_KEY = "uptake_commitment_reports"
CACHE_SECONDS = 600
CACHE_BYTES = 16 * 1024 * 1024
#: The quarters the period picker offers, the current one first.
QUARTERS_OFFERED = 4


@dataclass(frozen=True)
class Report:
    """Everything the executive dashboard shows for one period and one user's scope."""

    period: Period
    sponsors: list[SponsorRecord]  # the records this user may read (all, or their own)
    team: LeadershipRecord
    outcomes: Outcomes
    urgent: list[UrgentItem]  # the signed-in sponsor's areas, or the organization
    perceived_units: list[tuple[str, Perceived]]  # each region's perceived commitment
    own_sponsor_id: int | None  # the signed-in executive's sponsor id, if they are one


def quarter_choices(today: dt.date) -> list[tuple[str, str]]:
    """(value, label) of the current quarter and the ``QUARTERS_OFFERED - 1`` before it: values
    as ``commitment.commitment_period`` reads them ("2026-Q4"), labels as people say them."""
    return [(commitment.quarter_value(q), quarter_label(q) + (" (to date)" if index == 0 else ""))
            for index, q in enumerate(quarter_starts(today, back=QUARTERS_OFFERED - 1))]


def parse_quarter(value: object, today: dt.date) -> str:
    """``value`` if it is one of the offered quarters; anything else (none, or a forged one) falls
    back to the page's default (``commitment.default_quarter``)."""
    offered = [v for v, _label in quarter_choices(today)]
    return value if isinstance(value, str) and value in offered else commitment.default_quarter(today)


def data_stamp() -> tuple:
    """A cheap fingerprint of every table the indicators read: it changes whenever a figure of
    the report could (a change the fingerprint cannot see — the initiative's target edited —
    shows within ``CACHE_SECONDS``)."""
    def scalar(column) -> object:
        return select(column).scalar_subquery()

    own = db.session.execute(select(
        scalar(func.count(SponsorActivity.id)), scalar(func.max(SponsorActivity.id)),
        scalar(func.count(SponsorPlan.id)), scalar(func.sum(SponsorPlan.planned)),
        select(func.count()).select_from(SponsorArea).scalar_subquery(),
        scalar(func.count(CommentThread.id)), scalar(func.max(CommentThread.last_message_at)),
        scalar(func.count(ActionPlan.id)), scalar(func.max(ActionPlan.updated_at)),
        scalar(func.count(ActionPlanUpdate.id)),
        scalar(func.count(Hypothesis.archived_at)), scalar(func.max(Hypothesis.evaluated_at)),
        scalar(func.count(Hypothesis.id)),
    )).one()
    shared = evidence_panel.data_stamp({"usage", "behaviours", "surveys", "training", "outcomes"})
    return (*(str(v) for v in own), *shared)


def _build(scope: Scope, period: Period, today: dt.date) -> Report:
    config = current_app.config
    records = commitment.sponsor_records(scope, period, today, config)
    own = scope.employee_id if any(r.sponsor_id == scope.employee_id for r in records) else None
    return Report(
        period=period,
        sponsors=records,
        team=commitment.leadership_record(scope, period, today, config),
        outcomes=commitment.outcomes(scope, period, today),
        # A sponsor is shown what needs them in their own areas; anyone else the organization's.
        urgent=commitment.urgent_items(scope, today, sponsor_id=own),
        own_sponsor_id=own,
        perceived_units=commitment.perceived_by_unit(scope, period, config),
    )


def report(scope: Scope, quarter: str | None, today: dt.date) -> Report:
    """The report of ``quarter`` (or the current one) for ``scope``; ``ScopeError`` when the
    user may not read it. Kept per user scope and period while the data is unchanged."""
    period = commitment.commitment_period(today, quarter)
    key = (scope.role.value, scope.employee_id, scope.unit_ids, period.start, period.end, today)
    return cache.stamped(CACHE_KEY, key, data_stamp(), lambda: _build(scope, period, today),
                         seconds=CACHE_SECONDS, max_bytes=CACHE_BYTES, size_of=lambda _entry: 1)


# --- shared wording ------------------------------------------------------------------------------

#: What a group figure says when it is withheld from this user (it would reveal someone's own).
#: What a region's perception says when the survey's anonymity rules hide it: the same words
#: as everywhere else (docs/privacy.md).
NOT_SHOWN = SUPPRESSED_MESSAGE
WITHHELD = "withheld: too few others in the group to show it without revealing someone's own figure"



def percent(share: float | None) -> str:
    """A 0–1 share for people to read ("n/a" when there is none)."""
    return "n/a" if share is None else f"{share:.0%}"


def points(value: float | None) -> str:
    """A 0–100 score for people to read."""
    return "n/a" if value is None else f"{value:.0f}"


def days(value: float | None) -> str:
    """A number of days for people to read."""
    return "n/a" if value is None else f"{value:.1f} d"


def plan_text(done: int, planned: int | None) -> str:
    """"5 of 6 planned", or "5 (no plan)"."""
    return f"{done} (no plan)" if planned is None else f"{done} of {planned} planned"


def gap_text(gap: float | None, flag: str | None) -> str:
    """The gap in points, signed, with its flag."""
    if gap is None:
        return "n/a"
    return f"{gap:+.0f}" + (f" — {flag}" if flag else "")


INDICATOR_COLUMNS = [
    "who", "areas", "activities", "planned", "reach", "messages", "comments", "replied",
    "median_days_to_first_reply", "actions_due", "actions_on_time", "crm_active_weeks_share",
    "key_behaviour_weeks_share", "training_completed", "training_assigned", "objective_score",
    "perceived_leadership", "perceived_leadership_n", "perceived_trust", "perceived_trust_n", "gap", "flag",
]


def indicator_frame(sponsors: Sequence[SponsorRecord], team: LeadershipRecord | None) -> pd.DataFrame:
    """One row per sponsor (and the team) with every indicator, for tables and the CSV."""
    rows = []
    entries: list[tuple[str, str, SponsorRecord | LeadershipRecord]] = [
        (r.name, "; ".join(r.areas), r) for r in sponsors]
    if team is not None:
        entries.append((team.name, "organization", team))
    for who, areas, r in entries:
        v, c, m, p = r.visibility, r.communication, r.role_modelling, r.perceived
        rows.append({
            "who": who, "areas": areas, "activities": v.done, "planned": v.planned,
            "reach": v.reach_share, "messages": c.messages, "comments": c.comments, "replied": c.replied,
            "median_days_to_first_reply": c.median_days_to_first_reply, "actions_due": c.actions_due,
            "actions_on_time": c.actions_closed_on_time, "crm_active_weeks_share": m.active_share,
            "key_behaviour_weeks_share": m.key_behaviour_share, "training_completed": m.trainings_completed,
            "training_assigned": m.trainings_assigned, "objective_score": r.objective.value,
            "perceived_leadership": p.leadership, "perceived_leadership_n": p.leadership_n,
            "perceived_trust": p.trust, "perceived_trust_n": p.trust_n, "gap": r.gap, "flag": r.flag,
        })
    return pd.DataFrame(rows, columns=INDICATOR_COLUMNS)


OUTCOME_COLUMNS = ["series", "period", "value", "units", "n"]


def outcomes_frame(outcomes: Outcomes) -> pd.DataFrame:
    """The period's adoption rate by week and CSAT/NPS by month, one row per point (units and n
    where the series has them)."""
    rows = [{"series": "adoption_rate", "period": week, "value": rate, "units": None, "n": None}
            for week, rate in outcomes.adoption_trend]
    rows += [{"series": name, "period": p.month, "value": p.value, "units": p.units, "n": p.n}
             for name, series in (("csat", outcomes.csat), ("nps", outcomes.nps)) for p in series]
    return pd.DataFrame(rows, columns=OUTCOME_COLUMNS).astype({"units": "Int64", "n": "Int64"})


def kinds_rows(record: SponsorRecord | LeadershipRecord) -> list[tuple[str, int, int | None]]:
    """(label, done, planned) per kind of activity, in the forms' order."""
    return [(ACTIVITY_LABELS[kind], *record.visibility.by_kind.get(kind, (0, None))) for kind in ACTIVITY_KINDS]
