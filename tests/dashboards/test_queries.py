"""Queries read the database through the user's scope, on the date asked."""

import datetime as dt

import pandas as pd
from sqlalchemy import func, select

from adoption.models import (
    DailyUsage,
    Role,
    RollupBacklog,
    WeeklyUnitBehaviour,
    WeeklyUnitUsage,
)
from adoption.org import end_membership, move_employee
from adoption.scope import Scope
from adoption.telemetry.rollups import queue_weeks
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


# --- Adoption queries -----------------------------------------------------------------------

WEEK = dt.date(2024, 6, 3)


def put_week(unit, licensed, active, week=WEEK):
    """A ``weekly_unit_usage`` row with known numbers (the refresh is not under test here)."""
    queries.db.session.add(
        WeeklyUnitUsage(
            week_start=week,
            unit_id=unit.id,
            licensed=licensed,
            active=active,
            active_days=active,
            events=active,
            event_types=active,
        )
    )


def test_weekly_usage_sums_every_unit_of_the_subtree(db):
    emea, north = make_unit("Acme/EMEA"), make_unit("Acme/EMEA/Sales North")
    put_week(emea, 1, 1)
    put_week(north, 4, 2)
    put_week(make_unit("Acme/EMEA/Sales South"), 5, 5)
    put_week(make_unit("Acme/Americas/Sales West"), 10, 1)
    db.session.commit()
    frame = queries.weekly_usage(scope_of("change_leader"), emea.id, WEEK, WEEK)
    assert frame[["licensed", "active"]].values.tolist() == [[10, 8]]
    assert queries.weekly_usage(scope_of("change_leader"), north.id, WEEK, WEEK)[
        "licensed"
    ].tolist() == [4]


def test_weekly_usage_of_a_manager_never_leaves_the_scope(db):
    north, west = make_unit("Acme/EMEA/Sales North"), make_unit("Acme/Americas/Sales West")
    put_week(north, 4, 2)
    put_week(west, 10, 1)
    db.session.commit()
    manager = scope_of("manager", north)
    assert queries.weekly_usage(manager, west.id, WEEK, WEEK).empty
    assert queries.weekly_usage(manager, make_unit("Acme").id, WEEK, WEEK)["licensed"].tolist() == [
        4
    ]
    assert queries.weekly_usage(manager, 999_999, WEEK, WEEK).empty


def test_weekly_behaviours_count_only_the_event_types_asked(db):
    north = make_unit("Acme/EMEA/Sales North")
    for kind, people in (("activity_logged", 3), ("login", 9)):
        db.session.add(
            WeeklyUnitBehaviour(week_start=WEEK, unit_id=north.id, event_type=kind, people=people)
        )
    db.session.commit()
    frame = queries.weekly_behaviours(
        scope_of("change_leader"), north.id, WEEK, WEEK, ["activity_logged"]
    )
    assert frame[["event_type", "people"]].values.tolist() == [["activity_logged", 3]]
    assert queries.weekly_behaviours(scope_of("change_leader"), north.id, WEEK, WEEK, []).empty


def test_child_unit_usage_groups_the_subtree_by_child_and_keeps_direct_members_apart(db):
    emea = make_unit("Acme/EMEA")
    put_week(emea, 2, 1)
    put_week(make_unit("Acme/EMEA/Sales North"), 4, 2)
    put_week(make_unit("Acme/EMEA/Sales North/Inside"), 3, 3)
    put_week(make_unit("Acme/EMEA/Sales Northern"), 6, 0)
    put_week(make_unit("Acme/Americas/Sales West"), 10, 1)
    db.session.commit()
    frame = queries.child_unit_weekly_usage(scope_of("change_leader"), emea.id, WEEK, WEEK)
    assert {r.path: (r.licensed, r.active) for r in frame.itertuples()} == {
        "Acme/EMEA (direct members)": (2, 1),
        "Acme/EMEA/Sales North": (7, 5),
        "Acme/EMEA/Sales Northern": (6, 0),
    }


def test_child_unit_usage_of_a_team_is_the_team_itself(db):
    north = make_unit("Acme/EMEA/Sales North")
    put_week(north, 4, 2)
    db.session.commit()
    frame = queries.child_unit_weekly_usage(scope_of("manager", north), north.id, WEEK, WEEK)
    assert frame["path"].tolist() == ["Acme/EMEA/Sales North"]


def test_focus_unit_falls_back_to_the_top_of_the_scope_for_ids_outside_it(db):
    north, west = make_unit("Acme/EMEA/Sales North"), make_unit("Acme/Americas/Sales West")
    db.session.commit()
    manager = scope_of("manager", north)
    assert queries.focus_unit(manager, west.id).path == "Acme/EMEA/Sales North"
    assert queries.focus_unit(manager, None).path == "Acme/EMEA/Sales North"
    assert queries.focus_unit(scope_of("change_leader"), None).path == "Acme"
    assert queries.focus_unit(scope_of("change_leader"), west.id).path == west.path
    assert queries.focus_unit(Scope(Role.EMPLOYEE, None, None, frozenset(), False), None) is None


def dormant_org(db):
    """North: one busy and one dormant licensed person, one unlicensed; West: one dormant."""
    busy = make_employee("Acme/EMEA/Sales North", crm_user_id="A", full_name="Busy Bee")
    make_employee("Acme/EMEA/Sales North", crm_user_id="B", full_name="Dora Dormant")
    make_employee("Acme/EMEA/Sales North", full_name="No Licence")
    make_employee("Acme/Americas/Sales West", crm_user_id="C", full_name="Wes West")
    db.session.add(
        DailyUsage(day=dt.date(2024, 5, 20), employee_id=busy.id, event_type="login", events=1)
    )
    db.session.commit()


def test_dormant_means_licensed_and_no_use_in_the_30_days_to_the_date(db):
    dormant_org(db)
    everyone = scope_of("change_leader")
    on = dt.date(2024, 6, 18)
    assert queries.dormant_count(everyone, None, on) == {"licensed": 3, "dormant": 2}
    assert queries.dormant_people(everyone, None, on)["full_name"].tolist() == [
        "Wes West",
        "Dora Dormant",
    ]
    # 2024-05-20 is the first day of the 30 days ending 2024-06-18; a day later it is not.
    assert queries.dormant_count(everyone, None, dt.date(2024, 6, 19))["dormant"] == 3


def test_dormant_people_of_a_manager_stay_in_their_subtree(db):
    dormant_org(db)
    manager = scope_of("manager", make_unit("Acme/EMEA/Sales North"))
    frame = queries.dormant_people(manager, make_unit("Acme").id, dt.date(2024, 6, 18))
    assert frame["full_name"].tolist() == ["Dora Dormant"]
    assert frame.iloc[0]["last_active_day"] is None or pd.isna(frame.iloc[0]["last_active_day"])


def test_executive_gets_dormant_counts_but_no_people(db):
    dormant_org(db)
    executive = scope_of("executive")
    assert queries.dormant_count(executive, None, dt.date(2024, 6, 18))["dormant"] == 2
    assert queries.dormant_people(executive, None, dt.date(2024, 6, 18)).empty


def test_direct_reports_usage_counts_events_and_days_in_the_period_within_scope(db):
    north = make_unit("Acme/EMEA/Sales North")
    boss = make_employee(north, full_name="Boss")
    report = make_employee(north, full_name="Rita Report", crm_user_id="R", manager=boss)
    make_employee("Acme/Americas/Sales West", full_name="Far Away", manager=boss)
    make_employee(north, full_name="Not Mine")
    for day, kind, n in (
        (dt.date(2024, 6, 3), "login", 2),
        (dt.date(2024, 6, 3), "activity_logged", 1),
        (dt.date(2024, 6, 5), "login", 1),
        (dt.date(2024, 7, 1), "login", 5),
    ):
        db.session.add(DailyUsage(day=day, employee_id=report.id, event_type=kind, events=n))
    db.session.commit()
    manager = Scope(Role.MANAGER, None, boss.id, frozenset({north.id}), True)
    frame = queries.direct_reports_usage(manager, dt.date(2024, 6, 1), dt.date(2024, 6, 30))
    assert frame[["full_name", "licensed", "events", "active_days"]].values.tolist() == [
        ["Rita Report", True, 4, 2]
    ]
    assert frame.iloc[0]["last_active_day"] == dt.date(2024, 6, 5)
    executive = Scope(Role.EXECUTIVE, None, boss.id, None, False)
    assert queries.direct_reports_usage(executive, dt.date(2024, 6, 1), dt.date(2024, 6, 30)).empty


def test_a_dashboard_callback_recomputes_stale_weeks_before_it_reads(db, login_as, run_callback):
    login_as("change_leader")
    person = make_employee("Acme/EMEA/Sales North", crm_user_id="A")
    db.session.add(DailyUsage(day=WEEK, employee_id=person.id, event_type="login", events=2))
    queue_weeks([WEEK])
    db.session.commit()
    response = run_callback("adoption-rate-n.children", {
        "adoption-period.start_date": WEEK.isoformat(), "adoption-period.end_date": WEEK.isoformat()})
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(RollupBacklog)) == 0
    frame = queries.weekly_usage(scope_of("change_leader"), None, WEEK, WEEK)
    assert frame[["licensed", "active", "events"]].values.tolist() == [[1, 1, 2]]


def test_licensed_count_counts_licensed_people_of_the_subtree_in_scope(db):
    dormant_org(db)
    on = dt.date(2024, 6, 18)
    assert queries.licensed_count(scope_of("change_leader"), None, on) == 3
    north = make_unit("Acme/EMEA/Sales North")
    assert queries.licensed_count(scope_of("manager", north), make_unit("Acme").id, on) == 2
