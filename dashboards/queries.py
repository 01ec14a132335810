"""Database → DataFrame for the dashboards. Every function takes the signed-in user's ``Scope``.

The scope filter is applied in SQL, so a frame never holds a row the user may not read: the
metrics and figures downstream can stay ignorant of access rules.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import and_, case, false, func, or_, select, true
from sqlalchemy.orm import aliased

from adoption.extensions import db
from adoption.initiative import current_initiative
from adoption.models import (
    DailyUsage,
    Employee,
    OrgUnit,
    UnitMembership,
    WeeklyUnitBehaviour,
    WeeklyUnitUsage,
)
from adoption.models.org import UNIT_PATH_SEPARATOR
from adoption.org import membership_in_force, subtree_filter
from adoption.scope import Scope
from adoption.telemetry import metrics as adoption_metrics

HEADCOUNT_COLUMNS = ["unit_id", "name", "path", "depth", "parent_path", "employees", "licensed"]
UNIT_COLUMNS = ["unit_id", "name", "path", "depth"]



def _empty(columns: list[str]) -> pd.DataFrame:
    """A frame with ``columns`` and no rows, typed like a filled one."""
    frame = pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    for column in ("unit_id", "depth", "employees", "licensed"):
        if column in frame:
            frame[column] = frame[column].astype("int64")
    return frame


def empty_headcount() -> pd.DataFrame:
    """A headcount frame with no rows, for callers that must show nothing."""
    return _empty(HEADCOUNT_COLUMNS)


def _within_filter(within: int | None):
    """A WHERE clause keeping ``within`` and its descendants (every unit when ``None``).

    An id that names no unit keeps nothing, so a forged id cannot widen the result.
    """
    if within is None:
        return true()
    focus = db.session.get(OrgUnit, within)
    if focus is None:
        return false()
    return or_(
        OrgUnit.id == focus.id,
        OrgUnit.path.startswith(focus.path + UNIT_PATH_SEPARATOR, autoescape=True),
    )


def units_in_scope(scope: Scope) -> pd.DataFrame:
    """Units whose aggregates ``scope`` may read, by path (for the unit and level pickers)."""
    if not scope.sees_aggregates:
        return _empty(UNIT_COLUMNS)
    stmt = (
        select(OrgUnit.id, OrgUnit.name, OrgUnit.path, OrgUnit.depth)
        .where(scope.unit_filter(OrgUnit.id))
        .order_by(OrgUnit.path)
    )
    rows = db.session.execute(stmt).all()
    if not rows:
        return _empty(UNIT_COLUMNS)
    return pd.DataFrame(rows, columns=UNIT_COLUMNS)


def headcount_by_unit(scope: Scope, on: dt.date, within: int | None = None) -> pd.DataFrame:
    """People and CRM licences per unit on ``on``, for every unit in scope (zeros included).

    Counts come from the memberships in force on ``on``, so a person who moved is counted in the
    unit they were in that day. The licence is the roster's current ``crm_user_id`` /
    ``crm_username``: the roster keeps no licence history yet. ``within`` narrows the result to
    one unit's subtree; it is intersected with the scope, never a way around it.
    """
    if not scope.sees_aggregates:
        return empty_headcount()
    has_licence = Employee.has_crm_licence
    in_force = membership_in_force(on)
    counts = (
        select(
            UnitMembership.unit_id.label("unit_id"),
            func.count(UnitMembership.employee_id).label("employees"),
            func.sum(case((has_licence, 1), else_=0)).label("licensed"),
        )
        .join(Employee, Employee.id == UnitMembership.employee_id)
        .where(in_force)
        .group_by(UnitMembership.unit_id)
        .subquery()
    )
    parent = aliased(OrgUnit)
    stmt = (
        select(
            OrgUnit.id,
            OrgUnit.name,
            OrgUnit.path,
            OrgUnit.depth,
            parent.path,
            func.coalesce(counts.c.employees, 0),
            func.coalesce(counts.c.licensed, 0),
        )
        .outerjoin(counts, counts.c.unit_id == OrgUnit.id)
        .outerjoin(parent, parent.id == OrgUnit.parent_id)
        .where(scope.unit_filter(OrgUnit.id), _within_filter(within))
        .order_by(OrgUnit.path)
    )
    rows = db.session.execute(stmt).all()
    if not rows:
        return empty_headcount()
    frame = pd.DataFrame(rows, columns=HEADCOUNT_COLUMNS)
    # SUM over integers comes back as Decimal on PostgreSQL; the metrics expect plain ints.
    frame[["employees", "licensed"]] = frame[["employees", "licensed"]].astype("int64")
    return frame


# --- Adoption page: weekly rollups for the charts, daily usage for individuals ---------------

WEEKLY_USAGE_COLUMNS = ["week_start", "licensed", "active", "active_days", "events"]
BEHAVIOUR_COLUMNS = ["week_start", "event_type", "people"]
UNIT_WEEK_COLUMNS = ["unit_id", "path", "week_start", "licensed", "active"]
DORMANT_COLUMNS = ["full_name", "email", "unit", "last_active_day"]
DIRECT_REPORT_COLUMNS = [
    "full_name",
    "email",
    "licensed",
    "events",
    "active_days",
    "last_active_day",
]
# A person with no qualifying event in this many days (ending on the day asked) is dormant:
# the definition of adoption.telemetry.metrics, so the page and the adoption API agree.
DORMANT_DAYS = adoption_metrics.ROLLING_DAYS


def _frame(rows, columns: list[str], ints: tuple[str, ...] = ()) -> pd.DataFrame:
    """``rows`` as a frame; sums come back as Decimal on PostgreSQL, so ``ints`` are cast."""
    if not rows:
        frame = pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    else:
        frame = pd.DataFrame(rows, columns=columns)
    for column in ints:
        frame[column] = frame[column].fillna(0).astype("int64")
    return frame


def _subtree_of(within: int | None):
    """A WHERE clause on ``OrgUnit`` keeping ``within`` and its descendants (all when ``None``);
    an id that names no unit keeps nothing."""
    if within is None:
        return true()
    focus = db.session.get(OrgUnit, within)
    return false() if focus is None else subtree_filter(focus)


def _licensed():
    """Holds a CRM licence: ``Employee.has_crm_licence``, the rule the weekly rollups use too."""
    return Employee.has_crm_licence


def focus_unit(scope: Scope, requested: int | None) -> OrgUnit | None:
    """The unit the Adoption page shows: ``requested`` when it is in scope, otherwise the top
    unit of the scope (a forged or stale id falls back to what the user may see)."""
    if not scope.sees_aggregates:
        return None
    if requested is not None and scope.allows_unit(requested):
        unit = db.session.get(OrgUnit, requested)
        if unit is not None:
            return unit
    return db.session.scalar(
        select(OrgUnit)
        .where(scope.unit_filter(OrgUnit.id))
        .order_by(OrgUnit.depth, OrgUnit.path)
        .limit(1)
    )


def adoption_settings(scope: Scope) -> tuple[float | None, list[str]]:
    """The initiative's adoption target as a share (``None`` when unset) and key behaviours."""
    initiative = current_initiative() if scope.sees_aggregates else None
    if initiative is None:
        return None, []
    target = initiative.adoption_target_pct
    return (None if target is None else float(target) / 100), list(initiative.key_behaviours or [])


def weekly_usage(
    scope: Scope, within: int | None, first_week: dt.date, last_week: dt.date
) -> pd.DataFrame:
    """Licensed and active people (and activity) per week in ``within``'s subtree, in scope.

    Each person-week sits in exactly one unit of ``weekly_unit_usage``, so the sums are exact.
    """
    if not scope.sees_aggregates:
        return _frame([], WEEKLY_USAGE_COLUMNS, tuple(WEEKLY_USAGE_COLUMNS[1:]))
    usage = WeeklyUnitUsage
    stmt = (
        select(
            usage.week_start,
            func.sum(usage.licensed),
            func.sum(usage.active),
            func.sum(usage.active_days),
            func.sum(usage.events),
        )
        .join(OrgUnit, OrgUnit.id == usage.unit_id)
        .where(
            usage.week_start >= first_week,
            usage.week_start <= last_week,
            scope.unit_filter(usage.unit_id),
            _subtree_of(within),
        )
        .group_by(usage.week_start)
        .order_by(usage.week_start)
    )
    rows = db.session.execute(stmt).all()
    return _frame(rows, WEEKLY_USAGE_COLUMNS, tuple(WEEKLY_USAGE_COLUMNS[1:]))


def latest_usage_week(scope: Scope, up_to: dt.date) -> dt.date | None:
    """The latest week starting on or before ``up_to`` with usage rollups in scope (telemetry may
    lag behind), or None."""
    latest = db.session.scalar(select(func.max(WeeklyUnitUsage.week_start)).where(
        WeeklyUnitUsage.week_start <= up_to, scope.unit_filter(WeeklyUnitUsage.unit_id)))
    return dt.date.fromisoformat(latest) if isinstance(latest, str) else latest


def weekly_behaviours(
    scope: Scope,
    within: int | None,
    first_week: dt.date,
    last_week: dt.date,
    event_types: list[str],
) -> pd.DataFrame:
    """Licensed people per week who performed each of ``event_types``, in ``within``'s subtree."""
    if not scope.sees_aggregates or not event_types:
        return _frame([], BEHAVIOUR_COLUMNS, ("people",))
    behaviour = WeeklyUnitBehaviour
    stmt = (
        select(behaviour.week_start, behaviour.event_type, func.sum(behaviour.people))
        .join(OrgUnit, OrgUnit.id == behaviour.unit_id)
        .where(
            behaviour.week_start >= first_week,
            behaviour.week_start <= last_week,
            behaviour.event_type.in_(sorted(set(event_types))),
            scope.unit_filter(behaviour.unit_id),
            _subtree_of(within),
        )
        .group_by(behaviour.week_start, behaviour.event_type)
        .order_by(behaviour.week_start, behaviour.event_type)
    )
    return _frame(db.session.execute(stmt).all(), BEHAVIOUR_COLUMNS, ("people",))


def child_unit_weekly_usage(
    scope: Scope, within: int | None, first_week: dt.date, last_week: dt.date
) -> pd.DataFrame:
    """Licensed and active people per week for each child unit of ``within`` (its whole
    subtree summed), plus ``within`` itself for the people attached to it directly."""
    focus = db.session.get(OrgUnit, within) if within is not None else None
    if not scope.sees_aggregates or focus is None:
        return _frame([], UNIT_WEEK_COLUMNS, ("licensed", "active"))
    member, group = aliased(OrgUnit), aliased(OrgUnit)
    # Each unit of the subtree → the row it counts in: the focus unit for its own people, else
    # the child whose path leads to it. substr, not LIKE: exact and case-sensitive everywhere.
    child_prefix = group.path + UNIT_PATH_SEPARATOR
    mapping = (
        select(member.id.label("unit_id"), group.id.label("group_id"), group.path.label("path"))
        .join(
            group,
            or_(
                and_(group.id == focus.id, member.id == focus.id),
                and_(
                    group.parent_id == focus.id,
                    or_(
                        member.id == group.id,
                        func.substr(member.path, 1, func.length(child_prefix)) == child_prefix,
                    ),
                ),
            ),
        )
        .subquery()
    )
    usage = WeeklyUnitUsage
    stmt = (
        select(
            mapping.c.group_id,
            mapping.c.path,
            usage.week_start,
            func.sum(usage.licensed),
            func.sum(usage.active),
        )
        .join(mapping, mapping.c.unit_id == usage.unit_id)
        .where(
            usage.week_start >= first_week,
            usage.week_start <= last_week,
            scope.unit_filter(usage.unit_id),
        )
        .group_by(mapping.c.group_id, mapping.c.path, usage.week_start)
    )
    frame = _frame(db.session.execute(stmt).all(), UNIT_WEEK_COLUMNS, ("licensed", "active"))
    if not frame.empty and (frame["unit_id"] != focus.id).any():
        # Beside its children, the focus row holds only the people attached to it directly.
        own = frame["unit_id"] == focus.id
        frame.loc[own, "path"] = focus.path + " (direct members)"
    return frame


def unit_weekly_usage(
    scope: Scope, within: int | None, first_week: dt.date, last_week: dt.date
) -> pd.DataFrame:
    """Licensed and active people per week of every unit in ``within``'s subtree, each unit
    counting only its own people (``metrics.adoption.subtree_totals`` adds up the tree)."""
    if not scope.sees_aggregates:
        return _frame([], UNIT_WEEK_COLUMNS, ("licensed", "active"))
    usage = WeeklyUnitUsage
    stmt = (
        select(usage.unit_id, OrgUnit.path, usage.week_start, usage.licensed, usage.active)
        .join(OrgUnit, OrgUnit.id == usage.unit_id)
        .where(
            usage.week_start >= first_week,
            usage.week_start <= last_week,
            scope.unit_filter(usage.unit_id),
            _subtree_of(within),
        )
    )
    return _frame(db.session.execute(stmt).all(), UNIT_WEEK_COLUMNS, ("licensed", "active"))


def _licensed_members(scope: Scope, within: int | None, on: dt.date):
    """SELECT over licensed people in ``within``'s subtree and the scope's units on ``on``."""
    return (
        select()
        .select_from(UnitMembership)
        .join(Employee, Employee.id == UnitMembership.employee_id)
        .join(OrgUnit, OrgUnit.id == UnitMembership.unit_id)
        .where(
            membership_in_force(on),
            _licensed(),
            scope.unit_filter(UnitMembership.unit_id),
            _subtree_of(within),
        )
    )


def _used_between(first: dt.date, last: dt.date):
    """EXISTS a qualifying event of the row's employee from ``first`` to ``last`` (one index
    probe per person on ``ix_daily_usage_employee_day``)."""
    return (
        select(DailyUsage.employee_id)
        .where(
            DailyUsage.employee_id == Employee.id,
            DailyUsage.day >= first,
            DailyUsage.day <= last,
        )
        .exists()
    )


def dormant_count(
    scope: Scope, within: int | None, on: dt.date, days: int = DORMANT_DAYS
) -> dict[str, int]:
    """Licensed people in ``within``'s subtree on ``on`` and how many of them had no qualifying
    event in the ``days`` days ending on ``on``: an aggregate, for every dashboard role."""
    if not scope.sees_aggregates:
        return {"licensed": 0, "dormant": 0}
    used = _used_between(on - dt.timedelta(days=days - 1), on)
    stmt = _licensed_members(scope, within, on).add_columns(
        func.count(Employee.id), func.coalesce(func.sum(case((used, 0), else_=1)), 0)
    )
    licensed, dormant = db.session.execute(stmt).one()
    return {"licensed": int(licensed or 0), "dormant": int(dormant or 0)}


def licensed_count(scope: Scope, within: int | None, on: dt.date) -> int:
    """Licensed people in ``within``'s subtree and the scope's units on ``on`` (an aggregate)."""
    if not scope.sees_aggregates:
        return 0
    stmt = _licensed_members(scope, within, on).add_columns(func.count(Employee.id))
    return int(db.session.execute(stmt).scalar_one() or 0)


def dormant_people(
    scope: Scope, within: int | None, on: dt.date, days: int = DORMANT_DAYS
) -> pd.DataFrame:
    """The dormant people themselves (name, e-mail, unit, last active day before ``on``), only
    for scopes that see individuals and only those individuals; executives get no rows."""
    if not scope.sees_individuals or not scope.sees_aggregates:
        return _frame([], DORMANT_COLUMNS)
    used = _used_between(on - dt.timedelta(days=days - 1), on)
    last_active = (
        select(func.max(DailyUsage.day))
        .where(DailyUsage.employee_id == Employee.id, DailyUsage.day <= on)
        .scalar_subquery()
    )
    stmt = (
        _licensed_members(scope, within, on)
        .add_columns(Employee.full_name, Employee.email, OrgUnit.path, last_active)
        .where(~used, scope.employee_filter(Employee.id, UnitMembership.unit_id))
        .order_by(OrgUnit.path, Employee.full_name, Employee.id)
    )
    frame = _frame(db.session.execute(stmt).all(), DORMANT_COLUMNS)
    frame["last_active_day"] = _as_dates(frame["last_active_day"])
    return frame


def _as_dates(values: pd.Series) -> pd.Series:
    """Dates from an aggregate (SQLite returns MAX(day) as text), missing stays missing."""
    return values.map(lambda v: dt.date.fromisoformat(v) if isinstance(v, str) else v)


def direct_reports_usage(scope: Scope, start: dt.date, end: dt.date) -> pd.DataFrame:
    """The signed-in user's direct reports (current roster) with their qualifying events and
    active days from ``start`` to ``end`` and their last active day up to ``end``.

    Only for scopes that see individuals, and only reports inside the scope: a report moved
    out of a manager's subtree is no longer theirs to see.
    """
    if scope.employee_id is None or not scope.sees_individuals:
        return _frame([], DIRECT_REPORT_COLUMNS, ("events", "active_days"))
    in_period = and_(DailyUsage.day >= start, DailyUsage.day <= end)
    stmt = (
        select(
            Employee.full_name,
            Employee.email,
            case((_licensed(), True), else_=False),
            func.coalesce(func.sum(case((in_period, DailyUsage.events), else_=0)), 0),
            func.count(func.distinct(case((in_period, DailyUsage.day), else_=None))),
            func.max(DailyUsage.day),
        )
        .outerjoin(DailyUsage, and_(DailyUsage.employee_id == Employee.id, DailyUsage.day <= end))
        .where(
            Employee.manager_id == scope.employee_id,
            Employee.active.is_(True),
            scope.employee_filter(Employee.id),
        )
        .group_by(
            Employee.id,
            Employee.full_name,
            Employee.email,
            Employee.crm_user_id,
            Employee.crm_username,
        )
        .order_by(Employee.full_name, Employee.id)
    )
    frame = _frame(db.session.execute(stmt).all(), DIRECT_REPORT_COLUMNS, ("events", "active_days"))
    frame["licensed"] = frame["licensed"].astype(bool)
    frame["last_active_day"] = _as_dates(frame["last_active_day"])
    return frame
