"""What each role may read, checked by running the scope's filters against real rows."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from adoption.extensions import db as _db
from adoption.models import Employee, OrgUnit, Role, UnitMembership
from adoption.org import ensure_unit, move_employee
from adoption.scope import Scope, ScopeError, scope_for
from tests.factories import make_employee, make_user

NORTH = "Acme/EMEA/Sales North"
SOUTH = "Acme/EMEA/Sales South"
SERVICE = "Acme/Americas/Service"


@pytest.fixture
def org(db):
    """Acme with two EMEA sales teams and an Americas service team, two people in each team."""
    units = {path: ensure_unit(path) for path in ("Acme", "Acme/EMEA", "Acme/Americas", NORTH, SOUTH, SERVICE)}
    people = {
        "north_1": make_employee(NORTH),
        "north_2": make_employee(NORTH),
        "south_1": make_employee(SOUTH),
        "south_2": make_employee(SOUTH),
        "service_1": make_employee(SERVICE),
        "service_2": make_employee(SERVICE),
        "emea_head": make_employee("Acme/EMEA"),
        "north_lead": make_employee(NORTH),
        "ceo": make_employee("Acme", is_executive=True),
    }
    db.session.commit()
    return SimpleNamespace(unit={p: u.id for p, u in units.items()}, person={k: e.id for k, e in people.items()})


def _unit_ids(org, *paths) -> frozenset[int]:
    return frozenset(org.unit[p] for p in paths)


def _person_ids(org, *names) -> set[int]:
    return {org.person[n] for n in names}


def _visible_employees(scope: Scope) -> set[int]:
    """Ids of the employees ``scope`` lets the user read individually."""
    return set(_db.session.scalars(select(Employee.id).where(scope.employee_filter(Employee.id))))


def _visible_employees_by_unit_column(scope: Scope) -> set[int]:
    """Same, filtering on the row's own unit column."""
    return set(_db.session.scalars(select(Employee.id).where(scope.employee_filter(Employee.id, Employee.unit_id))))


def _aggregate_units(scope: Scope) -> set[int]:
    """Ids of the units whose aggregates ``scope`` allows."""
    return set(_db.session.scalars(select(OrgUnit.id).where(scope.unit_filter(OrgUnit.id))))


def _user(role, org, person=None):
    employee = _db.session.get(Employee, org.person[person]) if person else None
    return make_user(role, employee)


ALL_UNITS = ("Acme", "Acme/EMEA", "Acme/Americas", NORTH, SOUTH, SERVICE)


# --- manager --------------------------------------------------------------------------------


def test_regional_manager_scope_is_the_region_subtree(org):
    scope = scope_for(_user("manager", org, "emea_head"))
    assert scope.unit_ids == _unit_ids(org, "Acme/EMEA", NORTH, SOUTH)
    assert _aggregate_units(scope) == set(_unit_ids(org, "Acme/EMEA", NORTH, SOUTH))


def test_regional_manager_reads_individuals_of_every_team_in_the_region(org):
    scope = scope_for(_user("manager", org, "emea_head"))
    expected = _person_ids(org, "north_1", "north_2", "north_lead", "south_1", "south_2", "emea_head")
    assert _visible_employees(scope) == expected
    assert _visible_employees_by_unit_column(scope) == expected


def test_team_manager_does_not_get_the_sibling_team(org):
    scope = scope_for(_user("manager", org, "north_lead"))
    assert scope.unit_ids == _unit_ids(org, NORTH)
    assert not scope.allows_unit(org.unit[SOUTH])
    assert not scope.allows_unit(org.unit["Acme/EMEA"])


def test_team_manager_reads_only_their_team(org):
    scope = scope_for(_user("manager", org, "north_lead"))
    assert _visible_employees(scope) == _person_ids(org, "north_1", "north_2", "north_lead")
    assert _aggregate_units(scope) == {org.unit[NORTH]}


def test_require_unit_raises_outside_the_manager_scope(org):
    scope = scope_for(_user("manager", org, "north_lead"))
    scope.require_unit(org.unit[NORTH])
    with pytest.raises(ScopeError):
        scope.require_unit(org.unit[SOUTH])


def test_manager_scope_follows_a_change_of_unit(org):
    user = _user("manager", org, "north_lead")
    move_employee(user.employee, _db.session.get(OrgUnit, org.unit[SOUTH]), dt.date(2025, 6, 1))
    scope = scope_for(user)
    assert scope.unit_ids == _unit_ids(org, SOUTH)
    assert _visible_employees(scope) == _person_ids(org, "south_1", "south_2", "north_lead")


def test_manager_scope_follows_an_unflushed_change_of_unit(org):
    user = _user("manager", org, "north_lead")
    user.employee.unit = _db.session.get(OrgUnit, org.unit[SOUTH])
    assert scope_for(user).unit_ids == _unit_ids(org, SOUTH)


def test_manager_does_not_see_a_unit_whose_name_extends_their_own(org):
    outsider = make_employee("Acme/EMEA Partners/Resellers")
    scope = scope_for(_user("manager", org, "emea_head"))
    assert outsider.id not in _visible_employees(scope)
    assert outsider.unit_id not in _aggregate_units(scope)


def test_manager_does_not_see_a_unit_spelled_with_other_case(org):
    outsider = make_employee("Acme/emea/Hidden Team")
    scope = scope_for(_user("manager", org, "emea_head"))
    assert outsider.id not in _visible_employees(scope)
    assert outsider.unit_id not in _aggregate_units(scope)


def test_manager_without_employee_record_sees_nothing(org):
    scope = scope_for(_user("manager", org))
    assert _aggregate_units(scope) == set()
    assert _visible_employees(scope) == set()
    assert not scope.sees_aggregates


def test_deactivated_manager_sees_nothing(org, db):
    user = _user("manager", org, "north_lead")
    user.employee.active = False
    db.session.flush()
    scope = scope_for(user)
    assert _aggregate_units(scope) == set()
    assert _visible_employees(scope) == _person_ids(org, "north_lead")


def test_manager_reads_history_rows_only_for_units_in_scope(org):
    """With a unit column, rows count for the unit they were recorded in, not the person's unit today."""
    mover = _db.session.get(Employee, org.person["south_1"])
    move_employee(mover, _db.session.get(OrgUnit, org.unit[NORTH]), dt.date(2025, 6, 1))
    scope = scope_for(_user("manager", org, "north_lead"))
    rows = _db.session.execute(
        select(UnitMembership.employee_id, UnitMembership.unit_id).where(
            scope.employee_filter(UnitMembership.employee_id, UnitMembership.unit_id)
        )
    ).all()
    assert (mover.id, org.unit[SOUTH]) not in rows
    assert (mover.id, org.unit[NORTH]) in rows


# --- change leader and admin ----------------------------------------------------------------


@pytest.mark.parametrize("role", ["change_leader", "admin"])
def test_program_roles_see_every_unit_and_every_individual(org, role):
    scope = scope_for(_user(role, org, "emea_head" if role == "change_leader" else None))
    assert scope.all_units
    assert _aggregate_units(scope) == set(_unit_ids(org, *ALL_UNITS))
    assert _visible_employees(scope) == set(org.person.values())


# --- executive ------------------------------------------------------------------------------


def test_executive_reads_aggregates_of_every_unit(org):
    scope = scope_for(_user("executive", org, "ceo"))
    assert scope.all_units
    assert _aggregate_units(scope) == set(_unit_ids(org, *ALL_UNITS))


def test_executive_reads_only_their_own_individual_row(org):
    scope = scope_for(_user("executive", org, "ceo"))
    assert _visible_employees(scope) == _person_ids(org, "ceo")
    assert _visible_employees_by_unit_column(scope) == _person_ids(org, "ceo")


def test_executive_without_employee_record_reads_no_individual(org):
    scope = scope_for(_user("executive", org))
    assert _visible_employees(scope) == set()


# --- employee -------------------------------------------------------------------------------


def test_employee_reads_no_aggregates(org):
    scope = scope_for(_user("employee", org, "north_1"))
    assert not scope.sees_aggregates
    assert _aggregate_units(scope) == set()
    assert not scope.allows_unit(org.unit[NORTH])


def test_employee_reads_only_their_own_row(org):
    scope = scope_for(_user("employee", org, "north_1"))
    assert _visible_employees(scope) == _person_ids(org, "north_1")
    assert _visible_employees_by_unit_column(scope) == _person_ids(org, "north_1")


def test_scope_role_is_the_user_role(org):
    assert scope_for(_user("employee", org, "north_2")).role is Role.EMPLOYEE


def test_unknown_role_gets_no_scope(org, db):
    user = _user("employee", org, "north_2")
    user.role = "superuser"
    with pytest.raises(ValueError):
        scope_for(user)
