"""Organization services: the unit tree and effective-dated membership."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Select, and_, func, or_, select

from adoption.extensions import db
from adoption.models import Employee, OrgUnit, UnitMembership
from adoption.models.org import UNIT_PATH_SEPARATOR


class UnitPathError(ValueError):
    """A unit path that cannot name a unit (empty segment, bad characters)."""


def split_unit_path(path: str) -> list[str]:
    """Split ``"Acme/EMEA/Sales North"`` into its segments, refusing empty ones."""
    parts = [p.strip() for p in path.split(UNIT_PATH_SEPARATOR)]
    if not path.strip() or any(not p for p in parts):
        raise UnitPathError(f"unit path {path!r} has an empty segment")
    if any(len(p) > 200 for p in parts):
        raise UnitPathError("a unit name is longer than 200 characters")
    return parts


def normalize_unit_path(path: str) -> str:
    """Canonical spelling of a unit path (segments trimmed)."""
    return UNIT_PATH_SEPARATOR.join(split_unit_path(path))


def ensure_unit(path: str, cache: dict[str, OrgUnit] | None = None) -> OrgUnit:
    """Return the unit at ``path``, creating it and any missing ancestors."""
    parts = split_unit_path(path)
    cache = {} if cache is None else cache
    parent: OrgUnit | None = None
    for depth in range(len(parts)):
        sub = UNIT_PATH_SEPARATOR.join(parts[: depth + 1])
        unit = cache.get(sub)
        if unit is None:
            unit = db.session.scalar(select(OrgUnit).where(OrgUnit.path == sub))
        if unit is None:
            unit = OrgUnit(name=parts[depth], path=sub, depth=depth, parent=parent)
            db.session.add(unit)
            db.session.flush()
        cache[sub] = unit
        parent = unit
    assert parent is not None
    return parent


def subtree_filter(unit: OrgUnit):
    """A WHERE clause selecting ``unit`` and every unit below it."""
    prefix = unit.path + UNIT_PATH_SEPARATOR
    # LIKE is case-insensitive on SQLite, so "Acme/EMEA/" would also match "Acme/emea/...";
    # the exact comparison of the leading characters keeps the subtree case-sensitive everywhere.
    return or_(
        OrgUnit.id == unit.id,
        and_(
            OrgUnit.path.startswith(prefix, autoescape=True),
            func.substr(OrgUnit.path, 1, len(prefix)) == prefix,
        ),
    )


def units_in_scope(scope) -> list[OrgUnit]:
    """The units a ``Scope`` covers, in path order (every unit for an organization-wide scope)."""
    return list(db.session.scalars(select(OrgUnit).where(scope.unit_filter(OrgUnit.id)).order_by(OrgUnit.path)))


def subtree_unit_ids(unit: OrgUnit | None) -> list[int]:
    """Ids of ``unit`` and all its descendants (empty for ``None``)."""
    if unit is None:
        return []
    return list(db.session.scalars(select(OrgUnit.id).where(subtree_filter(unit))))


def membership_in_force(day: dt.date):
    """Memberships in force on ``day``."""
    return and_(
        UnitMembership.valid_from <= day,
        or_(UnitMembership.valid_to.is_(None), UnitMembership.valid_to > day),
    )


def unit_on(employee: Employee | int, day: dt.date) -> OrgUnit | None:
    """The unit the employee belonged to on ``day`` (``None`` before they joined or after they left)."""
    employee_id = employee if isinstance(employee, int) else employee.id
    return db.session.scalar(
        select(OrgUnit)
        .join(UnitMembership, UnitMembership.unit_id == OrgUnit.id)
        .where(UnitMembership.employee_id == employee_id, membership_in_force(day))
    )


def members_on_stmt(unit: OrgUnit, day: dt.date) -> Select[tuple[int, int]]:
    """SELECT (employee_id, unit_id) for everyone in ``unit``'s subtree on ``day``."""
    return (
        select(UnitMembership.employee_id, UnitMembership.unit_id)
        .join(OrgUnit, OrgUnit.id == UnitMembership.unit_id)
        .where(subtree_filter(unit), membership_in_force(day))
    )


def members_on(unit: OrgUnit, day: dt.date) -> list[Employee]:
    """Employees who were in ``unit``'s subtree on ``day``, by name."""
    ids = select(members_on_stmt(unit, day).subquery().c.employee_id)
    return list(db.session.scalars(select(Employee).where(Employee.id.in_(ids)).order_by(Employee.full_name)))


def move_employee(employee: Employee, unit: OrgUnit, effective: dt.date) -> None:
    """Put ``employee`` in ``unit`` from ``effective`` on, closing the current membership.

    A correction on the very day a membership started replaces it rather than leaving a
    zero-length period behind. Queues the weekly rollups from ``effective`` on for recomputation.
    """
    current = db.session.scalar(
        select(UnitMembership).where(
            UnitMembership.employee_id == employee.id, UnitMembership.valid_to.is_(None)
        )
    )
    if current is not None:
        if current.unit_id == unit.id:
            employee.unit = unit
            return
        if current.valid_from >= effective:
            current.unit_id = unit.id
            employee.unit = unit
            db.session.flush()
            _queue_weeks_since(effective)
            return
        current.valid_to = effective
    db.session.add(UnitMembership(employee=employee, unit=unit, valid_from=effective))
    employee.unit = unit
    db.session.flush()
    _queue_weeks_since(effective)


def _queue_weeks_since(effective: dt.date) -> None:
    """Mark the weekly rollups stale from ``effective`` through today (who counts where changed)."""
    # Imported here: the rollups read membership history, so they may come to import this module.
    from flask import current_app

    from adoption.telemetry.rollups import queue_weeks_from
    from adoption.timekeeping import org_today

    queue_weeks_from(effective, max(effective, org_today(current_app.config["ORG_TIMEZONE"])))


def start_membership(employee: Employee, unit: OrgUnit, valid_from: dt.date) -> UnitMembership:
    """Open the first (or a renewed) membership of ``employee`` in ``unit``."""
    membership = UnitMembership(employee=employee, unit=unit, valid_from=valid_from)
    employee.unit = unit
    db.session.add(membership)
    db.session.flush()
    return membership


def end_membership(employee: Employee, last_day_exclusive: dt.date) -> None:
    """Close the current membership of a leaver on ``last_day_exclusive``."""
    current = db.session.scalar(
        select(UnitMembership).where(
            UnitMembership.employee_id == employee.id, UnitMembership.valid_to.is_(None)
        )
    )
    if current is None:
        return
    if current.valid_from >= last_day_exclusive:
        # Left before (or on the day) the membership began: keep a one-day period, never an empty one.
        current.valid_to = current.valid_from + dt.timedelta(days=1)
    else:
        current.valid_to = last_day_exclusive
    db.session.flush()


def units_by_path(paths: Iterable[str]) -> dict[str, OrgUnit]:
    """Existing units for the given paths."""
    paths = list(set(paths))
    if not paths:
        return {}
    return {u.path: u for u in db.session.scalars(select(OrgUnit).where(OrgUnit.path.in_(paths)))}
