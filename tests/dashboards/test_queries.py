"""Queries read the database through the user's scope, on the date asked."""

import datetime as dt

from adoption.models import Role
from adoption.org import end_membership, move_employee
from adoption.scope import Scope
from dashboards import queries
from tests.factories import make_employee, make_unit

JUNE = dt.date(2024, 6, 1)


def scope_of(role, *units):
    """A scope covering ``units`` (every unit when none is given and the role sees all)."""
    ids = None if not units else frozenset(u.id for u in units)
    return Scope(Role(role), None, None, ids, role != Role.EXECUTIVE)


def counts(frame):
    """Rows of a headcount frame as path → (employees, licensed)."""
    return {r.path: (r.employees, r.licensed) for r in frame.itertuples(index=False)}


def test_headcount_counts_people_and_licences_per_unit_including_empty_units(db):
    make_employee("Acme/EMEA/Sales North", crm_user_id="005A")
    make_employee("Acme/EMEA/Sales North", crm_username="b@crm.example")
    make_employee("Acme/EMEA/Sales North")
    make_employee("Acme/EMEA/Sales South", crm_user_id="005B")
    db.session.commit()
    assert counts(queries.headcount_by_unit(scope_of("change_leader"), JUNE)) == {
        "Acme": (0, 0),
        "Acme/EMEA": (0, 0),
        "Acme/EMEA/Sales North": (3, 2),
        "Acme/EMEA/Sales South": (1, 1),
    }


def test_headcount_has_tree_columns(db):
    make_employee("Acme/EMEA/Sales North")
    db.session.commit()
    row = (
        queries.headcount_by_unit(scope_of("change_leader"), JUNE)
        .set_index("path")
        .loc["Acme/EMEA/Sales North"]
    )
    assert (row["name"], row["depth"], row["parent_path"]) == ("Sales North", 2, "Acme/EMEA")


def test_headcount_counts_a_person_in_the_unit_they_were_in_on_that_day(db):
    person = make_employee("Acme/EMEA/Sales North", since=dt.date(2024, 1, 1))
    move_employee(person, make_unit("Acme/EMEA/Sales South"), dt.date(2024, 3, 1))
    db.session.commit()
    scope = scope_of("change_leader")
    assert counts(queries.headcount_by_unit(scope, dt.date(2024, 2, 29)))[
        "Acme/EMEA/Sales North"
    ] == (1, 0)
    assert counts(queries.headcount_by_unit(scope, dt.date(2024, 3, 1)))[
        "Acme/EMEA/Sales North"
    ] == (0, 0)
    assert counts(queries.headcount_by_unit(scope, dt.date(2024, 3, 1)))[
        "Acme/EMEA/Sales South"
    ] == (1, 0)


def test_headcount_leaves_out_people_before_they_join_and_after_they_leave(db):
    person = make_employee("Acme/EMEA/Sales North", since=dt.date(2024, 2, 1))
    end_membership(person, dt.date(2024, 5, 1))
    db.session.commit()
    scope = scope_of("change_leader")
    assert counts(queries.headcount_by_unit(scope, dt.date(2024, 1, 31)))[
        "Acme/EMEA/Sales North"
    ] == (0, 0)
    assert counts(queries.headcount_by_unit(scope, dt.date(2024, 4, 30)))[
        "Acme/EMEA/Sales North"
    ] == (1, 0)
    assert counts(queries.headcount_by_unit(scope, dt.date(2024, 5, 1)))[
        "Acme/EMEA/Sales North"
    ] == (0, 0)


def test_headcount_of_a_manager_scope_holds_only_its_units(db):
    north = make_unit("Acme/EMEA/Sales North")
    make_employee(north)
    make_employee("Acme/Americas/Sales West")
    db.session.commit()
    assert set(counts(queries.headcount_by_unit(scope_of("manager", north), JUNE))) == {
        "Acme/EMEA/Sales North"
    }


def test_headcount_of_an_employee_scope_is_empty(db):
    make_employee("Acme/EMEA/Sales North")
    db.session.commit()
    employee_scope = Scope(Role.EMPLOYEE, None, None, frozenset(), False)
    frame = queries.headcount_by_unit(employee_scope, JUNE)
    assert frame.empty
    assert list(frame.columns) == queries.HEADCOUNT_COLUMNS


def test_headcount_within_a_unit_is_intersected_with_the_scope(db):
    north = make_unit("Acme/EMEA/Sales North")
    west = make_unit("Acme/Americas/Sales West")
    make_employee(north)
    make_employee(west)
    db.session.commit()
    manager = scope_of("manager", north)
    assert queries.headcount_by_unit(manager, JUNE, within=west.id).empty
    assert queries.headcount_by_unit(manager, JUNE, within=999_999).empty
    # Focusing on an ancestor outside the scope still yields only the scope.
    acme = make_unit("Acme")
    assert set(counts(queries.headcount_by_unit(manager, JUNE, within=acme.id))) == {
        "Acme/EMEA/Sales North"
    }


def test_headcount_within_a_unit_keeps_its_subtree(db):
    make_employee("Acme/EMEA/Sales North")
    make_employee("Acme/Americas/Sales West")
    db.session.commit()
    emea = make_unit("Acme/EMEA")
    assert set(
        counts(queries.headcount_by_unit(scope_of("change_leader"), JUNE, within=emea.id))
    ) == {
        "Acme/EMEA",
        "Acme/EMEA/Sales North",
    }


def test_units_in_scope_lists_the_scope_by_path(db):
    north = make_unit("Acme/EMEA/Sales North")
    make_unit("Acme/Americas/Sales West")
    db.session.commit()
    assert queries.units_in_scope(scope_of("manager", north))["path"].tolist() == [
        "Acme/EMEA/Sales North"
    ]
    assert queries.units_in_scope(scope_of("change_leader"))["path"].tolist() == [
        "Acme",
        "Acme/Americas",
        "Acme/Americas/Sales West",
        "Acme/EMEA",
        "Acme/EMEA/Sales North",
    ]
    assert queries.units_in_scope(Scope(Role.EMPLOYEE, None, None, frozenset(), False)).empty
