"""Rollups of CRM usage: ``daily_usage`` (per day × employee × event type) and the weekly
per-unit tables the dashboards read.

``daily_usage`` is maintained incrementally inside the ingest transaction (one upsert per
batch), so it is never behind the events. The weekly tables are derived from it and from the
membership history; whatever makes a week stale (new events, re-attribution, a roster change)
queues the week in ``rollup_backlog``, and ``refresh_weekly_usage`` recomputes the queued weeks.
Nothing here commits: the caller's request, command or job does.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection, Iterable
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from adoption.extensions import db
from adoption.models import DailyUsage, RollupBacklog, UsageEvent

# Rows per upsert statement (4 parameters a row, well under SQLite's bound-parameter limit).
UPSERT_CHUNK_ROWS = 2000


def org_zone() -> ZoneInfo:
    """The organization's time zone (``ORG_TIMEZONE``)."""
    return ZoneInfo(current_app.config["ORG_TIMEZONE"])


def week_start_day() -> int:
    """The first day of the week, 0 = Monday ... 6 = Sunday (``WEEK_START``)."""
    return int(current_app.config["WEEK_START"])


def local_day(occurred_at_utc: dt.datetime, zone: ZoneInfo) -> dt.date:
    """The organization's calendar date of a naive-UTC instant."""
    return occurred_at_utc.replace(tzinfo=dt.UTC).astimezone(zone).date()


def week_of(day: dt.date, first_weekday: int) -> dt.date:
    """The first day of the week that contains ``day``."""
    return day - dt.timedelta(days=(day.weekday() - first_weekday) % 7)


def add_to_daily_usage(rows: Iterable[dict]) -> set[dt.date]:
    """Count newly stored events into ``daily_usage``; returns the local days touched.

    ``rows`` are event column dicts (as inserted): only matched, qualifying ones count.
    """
    zone = org_zone()
    counts: Counter[tuple[dt.date, int, str]] = Counter()
    for row in rows:
        if row["employee_id"] is not None and row["qualifying"]:
            counts[(local_day(row["occurred_at"], zone), row["employee_id"], row["event_type"])] += 1
    if not counts:
        return set()
    _upsert_daily_usage([{"day": day, "employee_id": employee, "event_type": kind, "events": n}
                         for (day, employee, kind), n in counts.items()])
    days = {day for day, _, _ in counts}
    queue_weeks(days)
    return days


def rebuild_daily_usage(employee_ids: Collection[int]) -> set[dt.date]:
    """Recompute ``daily_usage`` of these employees from their events (after re-attribution).

    Returns the local days whose rollups changed (their weeks are queued for refresh).
    """
    if not employee_ids:
        return set()
    ids = sorted(set(employee_ids))
    table = DailyUsage.__table__
    before = {row.day for row in db.session.execute(
        select(table.c.day).where(table.c.employee_id.in_(ids)).distinct())}
    db.session.execute(delete(table).where(table.c.employee_id.in_(ids)))
    zone = org_zone()
    events = UsageEvent.__table__
    counts: Counter[tuple[dt.date, int, str]] = Counter()
    query = (select(events.c.occurred_at, events.c.employee_id, events.c.event_type)
             .where(events.c.employee_id.in_(ids), events.c.qualifying.is_(True)))
    for occurred_at, employee_id, event_type in db.session.execute(query).yield_per(10_000):
        counts[(local_day(occurred_at, zone), employee_id, event_type)] += 1
    if counts:
        _upsert_daily_usage([{"day": day, "employee_id": employee, "event_type": kind, "events": n}
                             for (day, employee, kind), n in counts.items()])
    days = before | {day for day, _, _ in counts}
    queue_weeks(days)
    return days


def queue_weeks(days: Iterable[dt.date]) -> None:
    """Mark the weeks containing ``days`` stale, for ``refresh_weekly_usage``."""
    first = week_start_day()
    weeks = sorted({week_of(day, first) for day in days})
    if not weeks:
        return
    table = RollupBacklog.__table__
    rows = [{"week_start": week} for week in weeks]
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        statement = postgresql.insert(table).on_conflict_do_nothing(index_elements=["week_start"])
    elif dialect == "sqlite":
        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=["week_start"])
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise RuntimeError(f"unsupported database {dialect}")
    db.session.execute(statement, rows)


def queue_weeks_from(day: dt.date, through: dt.date) -> None:
    """Mark every week from the one containing ``day`` to the one containing ``through`` stale
    (a membership change from ``day`` on alters who counts where in each of them)."""
    if day > through:
        return
    first = week_start_day()
    week = week_of(day, first)
    weeks = []
    while week <= through:
        weeks.append(week)
        week += dt.timedelta(days=7)
    queue_weeks(weeks)


def _upsert_daily_usage(rows: list[dict]) -> None:
    """Add ``events`` to existing ``daily_usage`` rows, inserting the missing ones."""
    table = DailyUsage.__table__
    dialect = db.session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    for start in range(0, len(rows), UPSERT_CHUNK_ROWS):
        statement = module.insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=["day", "employee_id", "event_type"],
            set_={"events": table.c.events + statement.excluded.events},
        )
        db.session.execute(statement, rows[start:start + UPSERT_CHUNK_ROWS])
