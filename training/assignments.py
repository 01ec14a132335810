"""Training assignments (T3): modules assigned to unit subtrees and roles, by a due date.

- ``assign_module`` creates an ``Assignment`` and one ``AssignedTraining`` per person whose
  membership is in force that day in an assigned subtree (and whose sign-in role is among the
  assignment's roles, when it has any; people without an account count as "employee", as in
  survey audiences);
- ``sync_assignees`` picks up everyone who has come into an assigned subtree since (new joiners,
  movers) with ``as_joiner`` and ``joiner_days`` to do it; it runs after every roster import
  (``sync_after_roster_import``, connected to ``adoption.roster.roster_imported``) and daily with the
  reminders. People who leave keep their records;
- ``assignment_overview`` and ``team_training`` read completion (``Enrollment.completed_on``,
  written by the learner engine) through the reader's ``Scope``.

A person's status on an assignment, on ``today``: *completed* (on time when ``completed_on`` is on
or before their due date), else *overdue* once their due date has passed, else *in progress* when
they have started the module, else *not started*.

Every function adds and flushes; the caller commits once.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from flask import Flask
from sqlalchemy import and_, case, func, or_, select

from adoption.extensions import db
from adoption.models import Employee, OrgUnit, Role, UnitMembership, User
from adoption.models.org import UNIT_PATH_SEPARATOR
from adoption.org import membership_in_force, subtree_filter
from adoption.scope import Scope
from adoption.timekeeping import org_today
from training.models import (
    AssignedTraining,
    Assignment,
    Enrollment,
    Module,
    ModuleStatus,
    TrainingStatus,
)

#: The most days a new joiner may be given (and the least: one).
MAX_JOINER_DAYS = 365


class AssignmentError(ValueError):
    """An assignment operation refused, with a message fit to show to the person who asked."""



STATUS_LABELS = {
    TrainingStatus.COMPLETED.value: "Completed",
    TrainingStatus.OVERDUE.value: "Overdue",
    TrainingStatus.IN_PROGRESS.value: "In progress",
    TrainingStatus.NOT_STARTED.value: "Not started",
}


def _role_of(user_role: str | None) -> str:
    """A person's role for the assignment's role filter: their account's, or "employee" without one."""
    return user_role or Role.EMPLOYEE.value


def _subtree_roots(units: Iterable[OrgUnit]) -> list[OrgUnit]:
    """The chosen units without those lying inside another chosen unit's subtree, by path."""
    chosen = sorted(set(units), key=lambda u: u.path)
    roots: list[OrgUnit] = []
    for unit in chosen:
        if not any(unit.path.startswith(r.path + UNIT_PATH_SEPARATOR) for r in roots):
            roots.append(unit)
    return roots


def _check_roles(roles: Iterable[str] | None) -> list[str] | None:
    """Refuse unknown roles; the roles to store (None: everyone)."""
    if roles is None:
        return None
    chosen = sorted(set(roles))
    unknown = [r for r in chosen if r not in {x.value for x in Role}]
    if unknown:
        raise AssignmentError(f"unknown role(s): {', '.join(unknown)}")
    return chosen or None


def _people_in(assignment: Assignment, day: dt.date) -> list[int]:
    """Ids of the active people in the assignment's subtrees on ``day`` whose role it covers."""
    if not assignment.units:
        return []
    in_units = (
        select(UnitMembership.employee_id)
        .join(OrgUnit, OrgUnit.id == UnitMembership.unit_id)
        .where(membership_in_force(day), or_(*(subtree_filter(u) for u in assignment.units)))
    )
    rows = db.session.execute(
        select(Employee.id, User.role)
        .outerjoin(User, User.employee_id == Employee.id)
        .where(Employee.id.in_(in_units), Employee.active.is_(True))
        .order_by(Employee.id)
    )
    roles = set(assignment.roles or [])
    return [employee_id for employee_id, role in rows if not roles or _role_of(role) in roles]


def assign_module(module: Module, *, units: Sequence[OrgUnit], roles: Iterable[str] | None, due_on: dt.date,
                  joiner_days: int, created_by: User | None, today: dt.date) -> Assignment:
    """Assign a published module to unit subtrees (optionally only some roles), due by ``due_on``.

    Everyone in an assigned subtree today gets it with the assignment's due date; later joiners
    are picked up by ``sync_assignees``.
    """
    if module.status != ModuleStatus.PUBLISHED.value:
        raise AssignmentError("only a published module can be assigned")
    roots = _subtree_roots(units)
    if not roots:
        raise AssignmentError("choose at least one unit")
    if due_on < today:
        raise AssignmentError("the due date has already passed")
    if not isinstance(joiner_days, int) or not 1 <= joiner_days <= MAX_JOINER_DAYS:
        raise AssignmentError(f"new joiners need between 1 and {MAX_JOINER_DAYS} days")
    assignment = Assignment(
        module=module, units=roots, roles=_check_roles(roles), due_on=due_on, joiner_days=joiner_days,
        assigned_on=today, active=True, created_by_id=created_by.id if created_by is not None else None,
    )
    db.session.add(assignment)
    db.session.flush()
    db.session.add_all(
        AssignedTraining(assignment_id=assignment.id, employee_id=employee_id, assigned_on=today,
                         due_on=due_on, as_joiner=False)
        for employee_id in _people_in(assignment, today)
    )
    db.session.flush()
    return assignment


def sync_assignees(today: dt.date) -> int:
    """Assign every active assignment to the people who came into its subtrees since; returns how many.

    A joiner's due date is ``today + joiner_days``, never before the assignment's. Idempotent:
    a person already assigned (even one who left and came back) is not assigned again.
    """
    added = 0
    assignments = db.session.scalars(
        select(Assignment).join(Module, Module.id == Assignment.module_id)
        .where(Assignment.active.is_(True), Module.status == ModuleStatus.PUBLISHED.value)
        .order_by(Assignment.id)
    ).all()
    for assignment in assignments:
        assigned = set(db.session.scalars(
            select(AssignedTraining.employee_id).where(AssignedTraining.assignment_id == assignment.id)
        ))
        due_on = max(assignment.due_on, today + dt.timedelta(days=assignment.joiner_days))
        new = [e for e in _people_in(assignment, today) if e not in assigned]
        db.session.add_all(
            AssignedTraining(assignment_id=assignment.id, employee_id=employee_id, assigned_on=today,
                             due_on=due_on, as_joiner=True)
            for employee_id in new
        )
        added += len(new)
    db.session.flush()
    return added


def sync_after_roster_import(app: Flask, **_: object) -> None:
    """Receiver of ``adoption.roster.roster_imported``: assign the joiners the import brought in.

    Runs inside the import's transaction (flush only), so the import and its assignments are
    committed, or rolled back, together.
    """
    sync_assignees(org_today(app.config["ORG_TIMEZONE"]))


def withdraw_assignment(assignment: Assignment) -> Assignment:
    """Stop an assignment: no new joiners, no reminders; the records and completions stay."""
    if not assignment.active:
        raise AssignmentError("this assignment is already withdrawn")
    assignment.active = False
    db.session.flush()
    return assignment


# ------------------------------------------------------------------ reading (scoped)


def _scoped_assignees(scope: Scope, *columns):
    """SELECT ``columns`` from assigned trainings in scope, joined to their assignment, employee and
    the employee's enrollment in the module (when they have started it)."""
    return (
        select(*columns)
        .select_from(AssignedTraining)
        .join(Assignment, Assignment.id == AssignedTraining.assignment_id)
        .join(Employee, Employee.id == AssignedTraining.employee_id)
        .outerjoin(Enrollment, and_(Enrollment.employee_id == AssignedTraining.employee_id,
                                    Enrollment.module_id == Assignment.module_id))
        .where(scope.employee_filter(AssignedTraining.employee_id))
    )


def _status_case(today: dt.date):
    """SQL: the status of an assignee row (see the module's docstring)."""
    return case(
        (Enrollment.completed_on.is_not(None), TrainingStatus.COMPLETED.value),
        (AssignedTraining.due_on < today, TrainingStatus.OVERDUE.value),
        (Enrollment.id.is_not(None), TrainingStatus.IN_PROGRESS.value),
        else_=TrainingStatus.NOT_STARTED.value,
    )


@dataclass(frozen=True)
class AssignmentSummary:
    """One assignment with its completion counts among the people the reader may see."""

    assignment: Assignment
    assigned: int
    completed: int
    completed_on_time: int
    overdue: int
    in_progress: int
    not_started: int

    @property
    def completion_share(self) -> float | None:
        """Completed / assigned, or None when nobody (in scope) is assigned."""
        return self.completed / self.assigned if self.assigned else None


def assignment_overview(scope: Scope, today: dt.date, *, assignment_id: int | None = None) -> list[AssignmentSummary]:
    """Every assignment with people in scope (every assignment for an organization-wide scope),
    newest first, counted on ``today``; only ``assignment_id`` when given."""
    # Grouped outside a subquery: PostgreSQL would not match the CASE in GROUP BY with the one in
    # SELECT (each carries its own bound ``today``).
    per_person = _scoped_assignees(
        scope, AssignedTraining.assignment_id, _status_case(today).label("status"),
        case((Enrollment.completed_on <= AssignedTraining.due_on, 1), else_=0).label("on_time"),
    )
    if assignment_id is not None:
        per_person = per_person.where(AssignedTraining.assignment_id == assignment_id)
    per_person = per_person.subquery()
    rows = db.session.execute(
        select(per_person.c.assignment_id, per_person.c.status, func.count(), func.sum(per_person.c.on_time))
        .group_by(per_person.c.assignment_id, per_person.c.status)
    ).all()
    counts: dict[int, dict[str, int]] = {}
    for row_assignment, row_status, n, n_on_time in rows:
        c = counts.setdefault(row_assignment, {})
        c[row_status] = n
        c["on_time"] = c.get("on_time", 0) + int(n_on_time or 0)
    stmt = select(Assignment).order_by(Assignment.assigned_on.desc(), Assignment.id.desc())
    if not (scope.all_units and scope.sees_individuals):
        stmt = stmt.where(Assignment.id.in_(list(counts)))
    if assignment_id is not None:
        stmt = stmt.where(Assignment.id == assignment_id)
    summaries = []
    for assignment in db.session.scalars(stmt):
        c = counts.get(assignment.id, {})
        by_status = {s.value: c.get(s.value, 0) for s in TrainingStatus}
        summaries.append(AssignmentSummary(
            assignment=assignment, assigned=sum(by_status.values()),
            completed=by_status[TrainingStatus.COMPLETED], completed_on_time=c.get("on_time", 0),
            overdue=by_status[TrainingStatus.OVERDUE], in_progress=by_status[TrainingStatus.IN_PROGRESS],
            not_started=by_status[TrainingStatus.NOT_STARTED],
        ))
    return summaries


@dataclass(frozen=True)
class AssignedModule:
    """One module assigned to one person, and where they stand on it."""

    assigned_id: int
    assignment_id: int
    module_title: str
    assigned_on: dt.date
    due_on: dt.date
    status: str
    completed_on: dt.date | None
    as_joiner: bool
    assignment_active: bool


@dataclass
class PersonTraining:
    """A person in scope and the modules assigned to them."""

    employee_id: int
    full_name: str
    unit_path: str
    active: bool
    modules: list[AssignedModule] = field(default_factory=list)

    def count(self, status: str) -> int:
        """How many of their modules have ``status``."""
        return sum(1 for m in self.modules if m.status == status)


def team_training(scope: Scope, today: dt.date, *, assignment_id: int | None = None) -> list[PersonTraining]:
    """Per person in scope with an assigned module, their modules and status on ``today``, by name.

    ``assignment_id`` keeps only that assignment's people (an assignment's own page).
    """
    stmt = (
        _scoped_assignees(
            scope,
            Employee.id, Employee.full_name, OrgUnit.path, Employee.active, AssignedTraining.id,
            Assignment.id, Module.title, AssignedTraining.assigned_on, AssignedTraining.due_on,
            _status_case(today), Enrollment.completed_on, AssignedTraining.as_joiner, Assignment.active,
        )
        .join(Module, Module.id == Assignment.module_id)
        .join(OrgUnit, OrgUnit.id == Employee.unit_id)
        .order_by(Employee.full_name, Employee.id, AssignedTraining.due_on, Module.title)
    )
    if assignment_id is not None:
        stmt = stmt.where(AssignedTraining.assignment_id == assignment_id)
    people: dict[int, PersonTraining] = {}
    for (employee_id, name, path, active, assigned_id, a_id, title, assigned_on, due_on, status, completed_on,
         as_joiner, a_active) in db.session.execute(stmt):
        person = people.get(employee_id)
        if person is None:
            person = people[employee_id] = PersonTraining(employee_id, name, path, active)
        person.modules.append(AssignedModule(assigned_id, a_id, title, assigned_on, due_on, status, completed_on,
                                             as_joiner, a_active))
    return list(people.values())


def assignable_modules() -> list[Module]:
    """The modules that may be assigned (published), by title."""
    return list(db.session.scalars(
        select(Module).where(Module.status == ModuleStatus.PUBLISHED.value).order_by(Module.title)
    ))


def units_for_choice() -> list[OrgUnit]:
    """Every unit, in path order (assignments are made by change leaders and admins only)."""
    return list(db.session.scalars(select(OrgUnit).order_by(OrgUnit.path)))
