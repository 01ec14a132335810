"""What the signed-in user may see. Every query takes a ``Scope``; hiding a page is not protection.

- employee: only their own records, no unit aggregates;
- manager: individuals and aggregates of their own unit's subtree (and their own records);
- change leader, admin: every unit and every individual;
- executive: organization-wide aggregates for every unit, and only their own individual records.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, select, true

from adoption.models import Employee, Role, User
from adoption.org import subtree_unit_ids


class ScopeError(PermissionError):
    """Raised when a user asks for data outside their scope."""


@dataclass(frozen=True)
class Scope:
    """The data a user may read, resolved once per request from their account."""

    role: Role
    user_id: int | None
    employee_id: int | None
    # Units whose aggregates may be read; None means every unit.
    unit_ids: frozenset[int] | None
    # Whether records of individual people in ``unit_ids`` may be read (beyond one's own).
    sees_individuals: bool

    @property
    def all_units(self) -> bool:
        """True when the scope covers the whole organization."""
        return self.unit_ids is None

    @property
    def sees_aggregates(self) -> bool:
        """True when the user may read unit-level figures at all."""
        return self.unit_ids is None or bool(self.unit_ids)

    def allows_unit(self, unit_id: int) -> bool:
        """True when aggregates of ``unit_id`` are in scope."""
        return self.unit_ids is None or unit_id in self.unit_ids

    @property
    def is_admin(self) -> bool:
        """True for an admin's scope."""
        return self.role == Role.ADMIN

    def require_admin(self, doing: str) -> None:
        """Raise ``ScopeError`` unless this is an admin's scope (``doing``: what was asked)."""
        if not self.is_admin:
            raise ScopeError(f"only admins may {doing}")

    def require_unit(self, unit_id: int) -> None:
        """Raise ``ScopeError`` unless aggregates of ``unit_id`` are in scope."""
        if not self.allows_unit(unit_id):
            raise ScopeError(f"unit {unit_id} is outside this user's scope")

    def unit_filter(self, unit_column: ColumnElement) -> ColumnElement[bool]:
        """A WHERE clause keeping rows whose unit is in scope for aggregates."""
        if self.unit_ids is None:
            return true()
        if not self.unit_ids:
            return false()
        return unit_column.in_(sorted(self.unit_ids))

    def employee_filter(self, employee_id_column: ColumnElement, unit_column: ColumnElement | None = None) -> ColumnElement[bool]:
        """A WHERE clause keeping rows about individuals this user may read.

        ``unit_column`` is the unit the row belongs to (for a manager's subtree); without it a
        manager is limited to employees currently in their subtree.
        """
        own = employee_id_column == self.employee_id if self.employee_id is not None else false()
        if not self.sees_individuals:
            return own
        if self.unit_ids is None:
            return true()
        if unit_column is None:
            in_units = employee_id_column.in_(
                select(Employee.id).where(Employee.unit_id.in_(sorted(self.unit_ids)))
            )
        else:
            in_units = unit_column.in_(sorted(self.unit_ids))
        return own | in_units


def executive_scope(user_id: int | None, employee_id: int | None) -> Scope:
    """An executive's scope: every unit's aggregates, and only their own individual records
    (also what a sponsor's weekly digest is built with, for a sponsor without an account)."""
    return Scope(Role.EXECUTIVE, user_id, employee_id, None, False)


def scope_for(user: User) -> Scope:
    """Build the scope of ``user`` from their role and, for a manager, their unit."""
    role = Role(user.role)
    employee = user.employee
    employee_id = employee.id if employee is not None else None
    if role in (Role.CHANGE_LEADER, Role.ADMIN):
        return Scope(role, user.id, employee_id, None, True)
    if role is Role.EXECUTIVE:
        return executive_scope(user.id, employee_id)
    if role is Role.MANAGER and employee is not None and employee.active:
        # The relationship, not ``unit_id``: a move not yet flushed must already count.
        units = frozenset(subtree_unit_ids(employee.unit))
        return Scope(role, user.id, employee_id, units, True)
    # Employees, and managers without an employee record, see only their own records.
    return Scope(role, user.id, employee_id, frozenset(), False)
