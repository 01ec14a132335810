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
from adoption.models import Employee, OrgUnit, UnitMembership
from adoption.models.org import UNIT_PATH_SEPARATOR
from adoption.org import membership_in_force
from adoption.scope import Scope

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
    # Same rule as Employee.has_crm_licence, written for SQL; empty strings are no licence.
    has_licence = or_(
        and_(Employee.crm_user_id.is_not(None), Employee.crm_user_id != ""),
        and_(Employee.crm_username.is_not(None), Employee.crm_username != ""),
    )
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
