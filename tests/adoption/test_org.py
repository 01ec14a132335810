"""The unit tree and effective-dated membership."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from adoption.models import OrgUnit, UnitMembership
from adoption.org import (
    UnitPathError,
    end_membership,
    ensure_unit,
    members_on,
    move_employee,
    subtree_unit_ids,
    unit_on,
)
from tests.factories import make_employee

JOINED = dt.date(2024, 1, 1)
MOVED = dt.date(2024, 7, 1)
LEFT = dt.date(2025, 1, 1)
DAY = dt.timedelta(days=1)


def _memberships(db, employee):
    """The employee's membership periods as (unit path, from, to), oldest first."""
    rows = db.session.execute(
        select(OrgUnit.path, UnitMembership.valid_from, UnitMembership.valid_to)
        .join(OrgUnit, OrgUnit.id == UnitMembership.unit_id)
        .where(UnitMembership.employee_id == employee.id)
        .order_by(UnitMembership.valid_from, UnitMembership.id)
    )
    return [tuple(r) for r in rows]


@pytest.fixture
def mover(db):
    """Joined Sales North on JOINED, moved to Americas/Service on MOVED, left on LEFT."""
    employee = make_employee("Acme/EMEA/Sales North", since=JOINED)
    move_employee(employee, ensure_unit("Acme/Americas/Service"), MOVED)
    end_membership(employee, LEFT)
    return employee


# --- unit_on --------------------------------------------------------------------------------


def test_unit_on_before_joining_is_none(mover):
    assert unit_on(mover, JOINED - DAY) is None


def test_unit_on_the_joining_day_is_the_first_unit(mover):
    assert unit_on(mover, JOINED).path == "Acme/EMEA/Sales North"


def test_unit_on_the_day_before_a_move_is_the_old_unit(mover):
    assert unit_on(mover, MOVED - DAY).path == "Acme/EMEA/Sales North"


def test_unit_on_the_day_of_a_move_is_the_new_unit(mover):
    assert unit_on(mover, MOVED).path == "Acme/Americas/Service"


def test_unit_on_the_last_day_is_the_last_unit(mover):
    assert unit_on(mover.id, LEFT - DAY).path == "Acme/Americas/Service"


def test_unit_on_after_leaving_is_none(mover):
    assert unit_on(mover, LEFT) is None
    assert unit_on(mover, LEFT + 100 * DAY) is None


# --- members_on -----------------------------------------------------------------------------


def test_members_on_a_region_before_a_move_include_the_mover(db, mover):
    stayer = make_employee("Acme/EMEA/Sales South", since=JOINED)
    emea = ensure_unit("Acme/EMEA")
    assert {e.id for e in members_on(emea, MOVED - DAY)} == {mover.id, stayer.id}


def test_members_on_a_region_after_a_move_exclude_the_mover(db, mover):
    stayer = make_employee("Acme/EMEA/Sales South", since=JOINED)
    assert [e.id for e in members_on(ensure_unit("Acme/EMEA"), MOVED)] == [stayer.id]


def test_members_on_the_new_unit_start_on_the_move_day(db, mover):
    americas = ensure_unit("Acme/Americas")
    assert members_on(americas, MOVED - DAY) == []
    assert [e.id for e in members_on(americas, MOVED)] == [mover.id]


def test_members_on_the_company_include_everyone_present_that_day(db, mover):
    later = make_employee("Acme/EMEA/Sales South", since=MOVED)
    company = ensure_unit("Acme")
    assert {e.id for e in members_on(company, MOVED - DAY)} == {mover.id}
    assert {e.id for e in members_on(company, MOVED)} == {mover.id, later.id}
    assert {e.id for e in members_on(company, LEFT)} == {later.id}


def test_members_on_a_team_exclude_the_sibling_team(db):
    north = make_employee("Acme/EMEA/Sales North")
    make_employee("Acme/EMEA/Sales South")
    assert [e.id for e in members_on(ensure_unit("Acme/EMEA/Sales North"), MOVED)] == [north.id]


# --- move_employee --------------------------------------------------------------------------


def test_move_closes_the_old_period_on_the_move_day(db, mover):
    assert _memberships(db, mover) == [
        ("Acme/EMEA/Sales North", JOINED, MOVED),
        ("Acme/Americas/Service", MOVED, LEFT),
    ]


def test_move_updates_the_current_unit(db):
    employee = make_employee("Acme/EMEA/Sales North", since=JOINED)
    service = ensure_unit("Acme/Americas/Service")
    move_employee(employee, service, MOVED)
    assert employee.unit_id == service.id


def test_same_day_correction_replaces_the_unit_without_an_empty_period(db):
    employee = make_employee("Acme/EMEA/Sales North", since=JOINED)
    move_employee(employee, ensure_unit("Acme/EMEA/Sales South"), MOVED)
    move_employee(employee, ensure_unit("Acme/Americas/Service"), MOVED)
    assert _memberships(db, employee) == [
        ("Acme/EMEA/Sales North", JOINED, MOVED),
        ("Acme/Americas/Service", MOVED, None),
    ]


def test_correction_on_the_joining_day_keeps_a_single_period(db):
    employee = make_employee("Acme/EMEA/Sales North", since=JOINED)
    move_employee(employee, ensure_unit("Acme/EMEA/Sales South"), JOINED)
    assert _memberships(db, employee) == [("Acme/EMEA/Sales South", JOINED, None)]
    assert unit_on(employee, JOINED).path == "Acme/EMEA/Sales South"


def test_move_into_the_current_unit_changes_nothing(db):
    employee = make_employee("Acme/EMEA/Sales North", since=JOINED)
    move_employee(employee, ensure_unit("Acme/EMEA/Sales North"), MOVED)
    assert _memberships(db, employee) == [("Acme/EMEA/Sales North", JOINED, None)]


def test_no_membership_period_is_ever_empty(db):
    employee = make_employee("Acme/EMEA/Sales North", since=JOINED)
    for day, path in [(MOVED, "Acme/EMEA/Sales South"), (MOVED, "Acme/Americas/Service"), (MOVED + DAY, "Acme/EMEA/Sales North")]:
        move_employee(employee, ensure_unit(path), day)
    end_membership(employee, MOVED + DAY)
    assert all(to is None or to > start for _, start, to in _memberships(db, employee))


# --- ensure_unit ----------------------------------------------------------------------------


def test_ensure_unit_creates_missing_ancestors(db):
    team = ensure_unit("Acme/EMEA/Sales North")
    assert [team.depth, team.parent.depth, team.parent.parent.depth] == [2, 1, 0]
    assert (team.parent.path, team.parent.parent.path) == ("Acme/EMEA", "Acme")
    assert team.parent.parent.parent is None


def test_ensure_unit_creates_each_ancestor_only_once(db):
    north = ensure_unit("Acme/EMEA/Sales North")
    south = ensure_unit("Acme/EMEA/Sales South")
    service = ensure_unit("Acme/Americas/Service")
    assert north.parent is south.parent
    assert service.parent.parent is north.parent.parent
    assert db.session.scalar(select(func.count(OrgUnit.id))) == 6


def test_ensure_unit_returns_the_existing_unit(db):
    first_id = ensure_unit("Acme/EMEA/Sales North").id
    db.session.commit()
    db.session.expunge_all()
    assert ensure_unit("Acme / EMEA / Sales North").id == first_id
    assert db.session.scalar(select(func.count(OrgUnit.id))) == 3


@pytest.mark.parametrize("path", ["", "   ", "/", "Acme//EMEA", "Acme/EMEA/", "/Acme", "Acme/ /Team"])
def test_ensure_unit_rejects_empty_segments(db, path):
    with pytest.raises(UnitPathError):
        ensure_unit(path)
    assert db.session.scalar(select(func.count(OrgUnit.id))) == 0


def test_ensure_unit_rejects_an_overlong_name(db):
    with pytest.raises(UnitPathError):
        ensure_unit("Acme/" + "x" * 201)


# --- subtrees and LIKE wildcards ------------------------------------------------------------


@pytest.mark.parametrize(("name", "sibling"), [("A_B", "AxB"), ("100%", "100 percent"), ("A%", "AB")])
def test_wildcards_in_a_unit_name_do_not_match_siblings(db, name, sibling):
    unit = ensure_unit(f"Acme/{name}")
    own_team = ensure_unit(f"Acme/{name}/Team")
    other_team = ensure_unit(f"Acme/{sibling}/Team")
    assert set(subtree_unit_ids(unit)) == {unit.id, own_team.id}
    assert other_team.id not in subtree_unit_ids(unit)


def test_wildcards_in_a_unit_name_do_not_leak_members(db):
    unit = ensure_unit("Acme/A_B")
    inside = make_employee("Acme/A_B/Team")
    make_employee("Acme/AxB/Team")
    assert [e.id for e in members_on(unit, MOVED)] == [inside.id]


def test_subtree_does_not_include_a_unit_whose_name_extends_it(db):
    emea = ensure_unit("Acme/EMEA")
    ensure_unit("Acme/EMEA Partners/Resellers")
    assert set(subtree_unit_ids(emea)) == {emea.id}


def test_subtree_is_case_sensitive(db):
    emea = ensure_unit("Acme/EMEA")
    ensure_unit("Acme/emea/Team")
    assert set(subtree_unit_ids(emea)) == {emea.id}


def test_subtree_of_no_unit_is_empty(db):
    assert subtree_unit_ids(None) == []
