"""Model factories for tests: each call makes a valid object with unique values."""
from __future__ import annotations

import datetime as dt
import itertools

from adoption.accounts import create_user
from adoption.extensions import db
from adoption.models import Employee, OrgUnit, User
from adoption.org import end_membership, ensure_unit, start_membership

_seq = itertools.count(1)
DEFAULT_PASSWORD = "correct horse battery"


def make_unit(path: str = "Acme/EMEA/Sales North") -> OrgUnit:
    """The unit at ``path``, created with its ancestors when missing."""
    return ensure_unit(path)


def make_employee(
    unit: OrgUnit | str = "Acme/EMEA/Sales North",
    *,
    since: dt.date = dt.date(2024, 1, 1),
    **fields,
) -> Employee:
    """An active employee with a membership in ``unit`` from ``since``."""
    n = next(_seq)
    if isinstance(unit, str):
        unit = make_unit(unit)
    values = {
        "hr_id": f"E{n:05d}",
        "email": f"person{n}@acme.example",
        "full_name": f"Person {n}",
        "title": "Account Executive",
        "start_date": since,
        "active": True,
        "is_executive": False,
    }
    values.update(fields)
    employee = Employee(unit=unit, **values)
    db.session.add(employee)
    db.session.flush()
    start_membership(employee, unit, since)
    return employee


def leave(employee: Employee, last_day: dt.date) -> Employee:
    """Have ``employee`` leave after ``last_day``, as a roster import records it: inactive, their
    last membership closed the next day."""
    employee.active = False
    db.session.flush()
    end_membership(employee, last_day + dt.timedelta(days=1))
    return employee


def make_leaver(unit: OrgUnit | str = "Acme/EMEA/Sales North", *, last_day: dt.date = dt.date(2026, 6, 30),
                **fields) -> Employee:
    """An employee in ``unit`` from 2024 who left after ``last_day``."""
    return leave(make_employee(unit, **fields), last_day)


def make_user(role: str, employee: Employee | None = None, password: str = DEFAULT_PASSWORD, email: str | None = None) -> User:
    """An account with ``role``, linked to ``employee`` when given."""
    email = email or (employee.email if employee else f"user{next(_seq)}@acme.example")
    user = create_user(email, role, password)
    if employee is not None:
        user.employee = employee
    db.session.flush()
    return user
