"""What the dashboards add to the home page (``adoption.home.HomeSection``): for a leader, active
use of the CRM against the initiative's target in the last whole week with data; for an
executive, their own visible commitment in the quarter the Commitment page opens on, and what
needs them now."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from flask import Flask

from adoption.home import HomeSection, register_home_section
from adoption.initiative import current_initiative
from adoption.models import Role
from adoption.scope import Scope
from adoption.telemetry.rollups import week_start_day
from dashboards import commitment, queries
from dashboards.metrics import adoption as adoption_metrics

#: Who gets the adoption figure on their home page (aggregates of their scope).
ADOPTION_ROLES = frozenset({Role.MANAGER, Role.CHANGE_LEADER, Role.EXECUTIVE})


@dataclass(frozen=True)
class AdoptionNow:
    """Active use in the scope's latest whole week with usage data, and the week before."""

    week_start: dt.date
    active: int
    licensed: int
    rate: float | None  # 0-100; None with nobody licensed
    previous_rate: float | None  # the week before, 0-100
    target: float | None  # the initiative's adoption target, 0-100
    lagging_days: int  # days between the end of that week and today, beyond the one week expected
    link: str  # the dashboard page to read it on

    @property
    def change(self) -> float | None:
        """Points gained (or lost) since the week before."""
        if self.rate is None or self.previous_rate is None:
            return None
        return self.rate - self.previous_rate


@dataclass(frozen=True)
class MyCommitment:
    """An executive's home-page view of the commitment indicators."""

    record: commitment.SponsorRecord | None  # their own sponsor record; None when not a sponsor
    period: commitment.Period
    urgent: list[commitment.UrgentItem]  # in their areas (a sponsor), or the organization's


def adoption_now(scope: Scope, today: dt.date) -> AdoptionNow | None:
    """Active use against the target in the latest whole week before today with data in scope;
    None for roles without aggregates or before any usage rollup."""
    if scope.role not in ADOPTION_ROLES or not scope.sees_aggregates:
        return None
    last_whole_week = adoption_metrics.last_whole_week(today - dt.timedelta(days=1), week_start_day())
    latest = queries.latest_usage_week(scope, last_whole_week)
    if latest is None:
        return None
    previous = latest - dt.timedelta(days=7)
    weekly = adoption_metrics.weekly_adoption(queries.weekly_usage(scope, None, previous, latest), [previous, latest])
    # The Adoption page's formula (active / licensed); NaN with nobody licensed.
    rates = {row.week_start: None if pd.isna(row.adoption_rate) else 100.0 * float(row.adoption_rate)
             for row in weekly.itertuples()}
    last = weekly.iloc[-1]
    initiative = current_initiative()
    return AdoptionNow(
        week_start=latest, active=int(last["active"]), licensed=int(last["licensed"]), rate=rates[latest],
        previous_rate=rates[previous], target=None if initiative is None else float(initiative.adoption_target_pct),
        lagging_days=(last_whole_week - latest).days,
        link="/dashboards/adoption" if scope.role is not Role.EXECUTIVE else "/dashboards/executive",
    )


def my_commitment(scope: Scope, today: dt.date) -> MyCommitment | None:
    """An executive's own sponsor record in the quarter the Commitment page opens on (when they
    are a sponsor) and the most urgent items in their areas, or in the organization when they are
    not a sponsor."""
    if scope.role is not Role.EXECUTIVE:
        return None
    # The same quarter as the page the card links to: the one just ended in a quarter's first weeks.
    period = commitment.commitment_period(today, commitment.default_quarter(today))
    # An executive may read one sponsor record only: their own, when they are a sponsor.
    record = next(iter(commitment.sponsor_records(scope, period, today)), None)
    urgent = commitment.urgent_items(scope, today, sponsor_id=record.sponsor_id if record else None)
    return MyCommitment(record, period, urgent)


def register(app: Flask) -> None:
    """Add the dashboards' sections to the home page."""
    register_home_section(app, HomeSection("adoption-now", "dashboards/home_adoption.html", adoption_now,
                                           "leading", 10))
    register_home_section(app, HomeSection("my-commitment", "dashboards/home_commitment.html", my_commitment,
                                           "leading", 20))
