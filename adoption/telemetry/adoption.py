"""Adoption figures for one unit's subtree and one window: database → DataFrames → ``metrics``.

Read by ``GET /api/v1/adoption``. Usage rolls up by the unit each person belonged to on each
day (per-day attribution, unlike the weekly dashboard tables, which use the week's last day);
the licensed set is taken on the window's last day. The caller's ``Scope`` is always applied.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import Date, Integer, and_, case, cast, func, literal, or_, select

from adoption.extensions import db
from adoption.models import DailyUsage, Employee, OrgUnit, UnitMembership, UsageEvent
from adoption.org import UnitPathError, membership_in_force, normalize_unit_path, subtree_filter
from adoption.scope import Scope, ScopeError
from adoption.telemetry import metrics

#: Rows taken from the cursor at a time while loading usage.
FETCH_ROWS = 100_000

#: The longest window the API computes: a leap year, so any calendar year fits.
MAX_WINDOW_DAYS = 366


class AdoptionQueryError(ValueError):
    """A request for adoption figures that cannot be answered; carries an HTTP status and code."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def resolve_unit(scope: Scope, path: str | None) -> OrgUnit:
    """The unit named by ``path``, or the top unit of ``scope`` when no path is given.

    Raises ``AdoptionQueryError`` (400 bad path, 404 unknown unit) or ``ScopeError`` (out of scope).
    """
    if not scope.sees_aggregates:
        raise ScopeError("this user sees no unit aggregates")
    if path is None or not path.strip():
        unit = db.session.scalar(
            select(OrgUnit).where(scope.unit_filter(OrgUnit.id)).order_by(OrgUnit.depth, OrgUnit.path).limit(1))
        if unit is None:
            raise AdoptionQueryError(404, "unknown_unit", "There is no unit yet; import a roster first.")
        return unit
    try:
        canonical = normalize_unit_path(path)
    except UnitPathError as exc:
        raise AdoptionQueryError(400, "invalid_unit", f"'unit' is not a unit path: {exc}.") from exc
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.path == canonical))
    if unit is None:
        raise AdoptionQueryError(404, "unknown_unit", f"No unit has the path '{canonical}'.")
    scope.require_unit(unit.id)
    return unit


def check_window(start: dt.date, end: dt.date, today: dt.date) -> None:
    """Raise ``AdoptionQueryError`` (400) unless ``[start, end]`` is a window the API computes."""
    if start > end:
        raise AdoptionQueryError(400, "invalid_window", f"start ({start}) is after end ({end}).")
    if (end - start).days + 1 > MAX_WINDOW_DAYS:
        raise AdoptionQueryError(400, "window_too_long",
                                 f"The window spans {(end - start).days + 1} days; at most {MAX_WINDOW_DAYS} are allowed.")
    if end > today:
        raise AdoptionQueryError(400, "invalid_window",
                                 f"end ({end}) is after today ({today}) in the organization's time zone; "
                                 "usage of days to come is unknown.")


def _subtree_members(scope: Scope, unit: OrgUnit):
    """FROM-able join of memberships to their units, kept to ``unit``'s subtree and ``scope``."""
    return (
        select(UnitMembership.employee_id)
        .join(OrgUnit, OrgUnit.id == UnitMembership.unit_id)
        .where(subtree_filter(unit), scope.unit_filter(UnitMembership.unit_id))
    )


def attributed_usage(scope: Scope, unit: OrgUnit, first: dt.date, last: dt.date) -> pd.DataFrame:
    """Daily usage rows from ``first`` to ``last`` of the days their person was in ``unit``'s subtree."""
    in_force_on_day = and_(
        UnitMembership.employee_id == DailyUsage.employee_id,
        UnitMembership.valid_from <= DailyUsage.day,
        or_(UnitMembership.valid_to.is_(None), UnitMembership.valid_to > DailyUsage.day),
    )
    dialect = db.session.get_bind().dialect
    # Every column as an integer (plain integers come off the cursor far faster than dates and
    # strings, and a year of a large organization is millions of rows): the day as days after
    # ``first``, the event type as its index among the types used in the period.
    if dialect.name == "postgresql":
        day_number = DailyUsage.day - literal(first, Date)
    else:
        day_number = cast(func.julianday(DailyUsage.day) - func.julianday(literal(first, Date)), Integer)
    event_types = list(db.session.scalars(
        select(DailyUsage.event_type).where(DailyUsage.day >= first, DailyUsage.day <= last)
        .distinct().order_by(DailyUsage.event_type)))
    if not event_types:
        return metrics.empty_usage()
    type_number = case({name: i for i, name in enumerate(event_types)}, value=DailyUsage.event_type, else_=-1)
    stmt = (
        select(day_number, DailyUsage.employee_id, type_number, DailyUsage.events)
        .join(UnitMembership, in_force_on_day)
        .join(OrgUnit, OrgUnit.id == UnitMembership.unit_id)
        .where(
            DailyUsage.day >= first,
            DailyUsage.day <= last,
            subtree_filter(unit),
            scope.unit_filter(UnitMembership.unit_id),
        )
    )
    rows = _fetch_integers(stmt, dialect)
    if rows is None:
        return metrics.empty_usage()
    return pd.DataFrame({
        "day": pd.Timestamp(first) + pd.to_timedelta(rows[:, 0], unit="D"),
        "employee_id": rows[:, 1],
        "event_type": pd.Categorical.from_codes(rows[:, 2], categories=event_types),
        "events": rows[:, 3],
    })


def _fetch_integers(stmt, dialect) -> np.ndarray | None:
    """Run ``stmt`` (integer columns only) on the session's own DBAPI cursor into one 2-D array,
    chunk by chunk: no Row object per row, no list of millions of tuples. None when empty."""
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    if dialect.name == "sqlite":
        # SQLAlchemy's bind processing is bypassed here: store dates the way its Date type does.
        params = {name: v.isoformat() if isinstance(v, dt.date) else v for name, v in params.items()}
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup)
    cursor = db.session.connection().connection.dbapi_connection.cursor()
    try:
        cursor.execute(str(compiled), params)
        chunks = []
        while chunk := cursor.fetchmany(FETCH_ROWS):
            chunks.append(np.array(chunk, dtype=np.int64))
    finally:
        cursor.close()
    return np.concatenate(chunks) if chunks else None


def licensed_on(scope: Scope, unit: OrgUnit, day: dt.date) -> set[int]:
    """Ids of the licensed employees (``Employee.has_crm_licence``) in ``unit``'s subtree on ``day``."""
    stmt = (
        _subtree_members(scope, unit)
        .join(Employee, Employee.id == UnitMembership.employee_id)
        .where(membership_in_force(day), Employee.has_crm_licence)
    )
    return set(db.session.scalars(stmt))


def adoption_summary(
    scope: Scope, unit: OrgUnit, start: dt.date, end: dt.date, key_behaviours: Iterable[str], today: dt.date
) -> dict:
    """Every adoption metric of ``unit``'s subtree over ``[start, end]``, within ``scope``.

    Raises ``ScopeError`` for a unit outside the scope and ``AdoptionQueryError`` for a window
    that cannot be computed (reversed, too long, reaching past ``today``).
    """
    if not scope.sees_aggregates:
        raise ScopeError("this user sees no unit aggregates")
    scope.require_unit(unit.id)
    check_window(start, end, today)
    usage = attributed_usage(scope, unit, metrics.lookback_start(start), end)
    licensed = licensed_on(scope, unit, end)
    figures = metrics.summarize(usage, licensed, start, end, key_behaviours)
    return {"unit": unit.path, "start": start.isoformat(), "end": end.isoformat(), **figures}


def data_consistent_through() -> dt.datetime | None:
    """When the latest stored event was received (naive UTC), or None before the first one."""
    return db.session.scalar(select(func.max(UsageEvent.received_at)))
