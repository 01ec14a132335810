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
from collections.abc import Collection, Iterable, Mapping
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Date, delete, func, insert, literal, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite

from adoption.extensions import db
from adoption.models import (
    DailyUsage,
    Employee,
    RawEventPurge,
    RollupBacklog,
    UnitMembership,
    UsageEvent,
    WeeklyUnitBehaviour,
    WeeklyUnitUsage,
)


def org_zone() -> ZoneInfo:
    """The organization's time zone (``ORG_TIMEZONE``)."""
    return ZoneInfo(current_app.config["ORG_TIMEZONE"])


def week_start_day() -> int:
    """The first day of the week, 0 = Monday ... 6 = Sunday (``WEEK_START``)."""
    return int(current_app.config["WEEK_START"])


def local_day(occurred_at_utc: dt.datetime, zone: ZoneInfo) -> dt.date:
    """The organization's calendar date of a naive-UTC instant."""
    return occurred_at_utc.replace(tzinfo=dt.UTC).astimezone(zone).date()


def day_start_utc(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The naive-UTC instant at which ``day`` begins in ``zone``."""
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC).replace(tzinfo=None)


def week_of(day: dt.date, first_weekday: int) -> dt.date:
    """The first day of the week that contains ``day``."""
    return day - dt.timedelta(days=(day.weekday() - first_weekday) % 7)


def frozen_before() -> dt.date | None:
    """The first day whose ``daily_usage`` can be rebuilt from raw events: the latest retention
    purge's first kept day (``telemetry/retention.py``); None when no purge has run."""
    return db.session.scalar(select(func.max(RawEventPurge.purged_before)))


def add_to_daily_usage(events: Iterable[tuple[dt.datetime, int, str]]) -> set[dt.date]:
    """Count newly stored events into ``daily_usage``; returns the local days touched.

    ``events`` are ``(occurred_at, employee_id, event_type)`` of the matched, qualifying events
    just inserted (the caller filters: only those count).
    """
    zone = org_zone()
    counts: Counter[tuple[dt.date, int, str]] = Counter()
    for occurred_at, employee_id, event_type in events:
        counts[(local_day(occurred_at, zone), employee_id, event_type)] += 1
    if not counts:
        return set()
    _upsert_daily_usage(counts)
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
    zone = org_zone()
    events = UsageEvent.__table__
    # Days before a retention purge keep their rollups: their raw events may be gone.
    first_day = frozen_before()
    mine, theirs = table.c.employee_id.in_(ids), events.c.employee_id.in_(ids)
    if first_day is not None:
        mine = mine & (table.c.day >= first_day)
        theirs = theirs & (events.c.occurred_at >= day_start_utc(first_day, zone))
    before = {row.day for row in db.session.execute(select(table.c.day).where(mine).distinct())}
    db.session.execute(delete(table).where(mine))
    counts: Counter[tuple[dt.date, int, str]] = Counter()
    query = (select(events.c.occurred_at, events.c.employee_id, events.c.event_type)
             .where(theirs, events.c.qualifying.is_(True)))
    for occurred_at, employee_id, event_type in db.session.execute(query).yield_per(10_000):
        counts[(local_day(occurred_at, zone), employee_id, event_type)] += 1
    if counts:
        _upsert_daily_usage(counts)
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


def _upsert_daily_usage(counts: Mapping[tuple[dt.date, int, str], int]) -> None:
    """Add the ``(day, employee_id, event_type) → events`` counts to ``daily_usage`` (one statement)."""
    table = DailyUsage.__table__
    connection = db.session.connection()
    # In key order, so concurrent upserts lock the rows they share in the same order and never
    # deadlock each other.
    rows = sorted((day, employee_id, kind, n) for (day, employee_id, kind), n in counts.items())
    upsert = (f"INSERT INTO {table.name} (day, employee_id, event_type, events) {{source}} "
              "ON CONFLICT (day, employee_id, event_type) DO UPDATE SET events = "
              f"{table.name}.events + excluded.events")
    if connection.dialect.name == "postgresql":
        # One statement with four array parameters; SQLAlchemy's executemany would send one
        # statement per row.
        connection.exec_driver_sql(
            upsert.format(source="SELECT * FROM unnest(%(days)s::date[], %(employees)s::integer[], "
                                 "%(kinds)s::text[], %(counts)s::integer[])"),
            dict(zip(("days", "employees", "kinds", "counts"), (list(column) for column in zip(*rows)))))
    else:
        # The driver's executemany, with the day as SQLAlchemy itself would store it.
        to_day = table.c.day.type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
        connection.exec_driver_sql(upsert.format(source="VALUES (?, ?, ?, ?)"),
                                   [(to_day(day), employee_id, kind, n) for day, employee_id, kind, n in rows])


def refresh_weekly_usage(weeks: Collection[dt.date] | None = None) -> int:
    """Recompute ``weekly_unit_usage`` and ``weekly_unit_behaviours`` for the queued weeks (or
    ``weeks``), take them off the backlog; returns how many weeks were recomputed. Flushes only.

    Each person-week counts in the unit the person belonged to on the week's last day; licensed
    people are those ``Employee.has_crm_licence`` holds for; active ones had a ``daily_usage``
    row in the week. A week with no usage at all in the organization gets no rows (no telemetry
    is not 0% adoption). One aggregate INSERT ... SELECT per table and week, no per-person loop.
    """
    backlog = RollupBacklog.__table__
    queued = list(db.session.scalars(select(backlog.c.week_start))) if weeks is None else list(weeks)
    if not queued:
        return 0
    if db.session.get_bind().dialect.name == "postgresql":
        # An ingest still in flight may have found its week already queued (its queue insert did
        # nothing) and commit after we read: its events would then miss the weekly tables for
        # good. SHARE mode waits for in-flight writers of daily_usage and holds new ones until
        # this transaction ends (SQLite has a single writer, so the race cannot happen there).
        db.session.execute(text("LOCK TABLE daily_usage IN SHARE MODE"))
        if weeks is None:  # writers that committed while we waited may have queued more
            queued = list(db.session.scalars(select(backlog.c.week_start)))
    for part in _chunks(sorted(set(queued)), 500):
        db.session.execute(delete(backlog).where(backlog.c.week_start.in_(part)))
    # Any day names its week, so callers may pass dates; and a backlog written under another
    # WEEK_START setting still refreshes whole weeks of the current one.
    first = week_start_day()
    targets = sorted({week_of(day, first) for day in queued})
    usage, behaviours = WeeklyUnitUsage.__table__, WeeklyUnitBehaviour.__table__
    for part in _chunks(targets, 500):
        db.session.execute(delete(usage).where(usage.c.week_start.in_(part)))
        db.session.execute(delete(behaviours).where(behaviours.c.week_start.in_(part)))
    daily = DailyUsage.__table__
    for week in targets:
        # A week without any use in the whole organization is a week without telemetry (before
        # the CRM went live, or an outage): it gets no rows, so charts show a gap rather than 0%.
        has_usage = select(daily.c.day).where(
            daily.c.day >= week, daily.c.day <= week + dt.timedelta(days=6)).limit(1)
        if db.session.execute(has_usage).first() is None:
            continue
        db.session.execute(_weekly_usage_insert(week))
        db.session.execute(_weekly_behaviours_insert(week))
    return len(targets)


def rebuild_weekly_usage() -> int:
    """Recompute the weekly tables from scratch for every week with usage; returns the weeks.

    Drops every weekly row first, so weeks of an older ``WEEK_START`` setting do not linger.
    """
    for table in (WeeklyUnitUsage.__table__, WeeklyUnitBehaviour.__table__, RollupBacklog.__table__):
        db.session.execute(delete(table))
    first_day, last_day = (_as_date(v) for v in db.session.execute(
        select(func.min(DailyUsage.day), func.max(DailyUsage.day))).one())
    if first_day is None:
        return 0
    first = week_start_day()
    weeks, week = [], week_of(first_day, first)
    while week <= last_day:
        weeks.append(week)
        week += dt.timedelta(days=7)
    return refresh_weekly_usage(weeks)


def _as_date(value) -> dt.date | None:
    """A date from an aggregate (SQLite returns MIN/MAX of a date column as text)."""
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _chunks(values: list, size: int) -> Iterable[list]:
    """``values`` in lists of at most ``size`` (bound-parameter limits)."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _licensed_members_on(day: dt.date):
    """FROM-able SELECT (employee_id, unit_id) of licensed people by their unit on ``day``."""
    members = UnitMembership.__table__
    return (
        select(members.c.employee_id, members.c.unit_id)
        .join(Employee, Employee.id == members.c.employee_id)
        .where(
            members.c.valid_from <= day,
            or_(members.c.valid_to.is_(None), members.c.valid_to > day),
            Employee.has_crm_licence,
        )
        .subquery("licensed_members")
    )


def _weekly_usage_insert(week: dt.date):
    """INSERT ... SELECT of one week's ``weekly_unit_usage`` rows (units with licensed people)."""
    last = week + dt.timedelta(days=6)
    daily = DailyUsage.__table__
    people = _licensed_members_on(last)
    per_person = (
        select(
            daily.c.employee_id,
            func.count(daily.c.day.distinct()).label("days"),
            func.sum(daily.c.events).label("events"),
            func.count(daily.c.event_type.distinct()).label("types"),
        )
        .where(daily.c.day >= week, daily.c.day <= last)
        .group_by(daily.c.employee_id)
        .subquery("per_person")
    )
    source = (
        select(
            literal(week, Date).label("week_start"),
            people.c.unit_id,
            func.count(people.c.employee_id),
            func.count(per_person.c.employee_id),
            func.coalesce(func.sum(per_person.c.days), 0),
            func.coalesce(func.sum(per_person.c.events), 0),
            func.coalesce(func.sum(per_person.c.types), 0),
        )
        .select_from(people)
        .outerjoin(per_person, per_person.c.employee_id == people.c.employee_id)
        .group_by(people.c.unit_id)
    )
    columns = ["week_start", "unit_id", "licensed", "active", "active_days", "events", "event_types"]
    return insert(WeeklyUnitUsage.__table__).from_select(columns, source)


def _weekly_behaviours_insert(week: dt.date):
    """INSERT ... SELECT of one week's ``weekly_unit_behaviours`` rows."""
    last = week + dt.timedelta(days=6)
    daily = DailyUsage.__table__
    people = _licensed_members_on(last)
    source = (
        select(
            literal(week, Date).label("week_start"),
            people.c.unit_id,
            daily.c.event_type,
            func.count(daily.c.employee_id.distinct()),
        )
        .select_from(people)
        .join(daily, daily.c.employee_id == people.c.employee_id)
        .where(daily.c.day >= week, daily.c.day <= last)
        .group_by(people.c.unit_id, daily.c.event_type)
    )
    columns = ["week_start", "unit_id", "event_type", "people"]
    return insert(WeeklyUnitBehaviour.__table__).from_select(columns, source)
