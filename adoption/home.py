"""What the home page shows each role: a short list of things that need attention."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from adoption.extensions import db
from adoption.models import Employee, OrgUnit
from adoption.scope import Scope


@dataclass
class HomeSummary:
    """Figures and to-dos for one user's home page."""

    me: Employee | None
    unit: OrgUnit | None
    headcount: int | None = None
    licensed: int | None = None
    attention: list[str] = field(default_factory=list)


def home_summary(scope: Scope) -> HomeSummary:
    """Build the home page summary within ``scope``."""
    me = db.session.get(Employee, scope.employee_id) if scope.employee_id else None
    summary = HomeSummary(me=me, unit=me.unit if me else None)
    if scope.sees_aggregates:
        row = db.session.execute(
            select(func.count(Employee.id), func.count(Employee.crm_user_id)).where(
                Employee.active.is_(True), scope.unit_filter(Employee.unit_id)
            )
        ).one()
        summary.headcount, summary.licensed = row
    return summary
