"""Assignments (training/assignments.py): who gets a module, new joiners, withdrawal, and the
scoped overview of completion."""
from __future__ import annotations

import datetime as dt
import io
import itertools

import pytest
from sqlalchemy import select

from adoption.models import Employee, Role
from adoption.org import end_membership, ensure_unit, move_employee
from adoption.roster import import_roster
from adoption.scope import scope_for
from adoption.timekeeping import org_today
from tests.factories import make_employee, make_user
from training.assignments import (
    AssignmentError,
    TrainingStatus,
    assign_module,
    assignment_overview,
    sync_assignees,
    team_training,
    withdraw_assignment,
)
from training.models import AssignedTraining, Enrollment, Module, ModuleStatus

DAY = dt.timedelta(days=1)
#: A Monday: the day the test assignments are made.
TODAY = dt.date(2025, 3, 3)
DUE = TODAY + 28 * DAY
NORTH = "Acme/EMEA/Sales North"
SOUTH = "Acme/EMEA/Sales South"
EMEA = "Acme/EMEA"
AMERICAS = "Acme/Americas/Service"

_slugs = itertools.count(1)


def make_module(db, status: str = ModuleStatus.PUBLISHED.value, title: str = "Customer insight first") -> Module:
    """A module with only the columns assignments read."""
    module = Module(slug=f"module-{next(_slugs)}", title=title, estimated_minutes=20, status=status)
    db.session.add(module)
    db.session.flush()
    return module


def assign(module, units=(EMEA,), *, roles=None, due_on=DUE, joiner_days=30, today=TODAY, created_by=None):
    """Assign ``module`` to the unit subtrees at ``units`` (paths)."""
    return assign_module(module, units=[ensure_unit(u) for u in units], roles=roles, due_on=due_on,
                         joiner_days=joiner_days, created_by=created_by, today=today)


def enroll(db, employee, module, *, completed_on: dt.date | None = None) -> Enrollment:
    """An enrollment as the learner engine writes it, completed on ``completed_on`` when given."""
    started = dt.datetime(2025, 3, 4, 9, 0)
    enrollment = Enrollment(
        employee_id=employee.id, module_id=module.id, module_version=module.version, started_at=started,
        last_activity_at=started, current_position=1, completed_on=completed_on,
        completed_at=dt.datetime.combine(completed_on, dt.time(12)) if completed_on else None,
    )
    db.session.add(enrollment)
    db.session.flush()
    return enrollment


def assignees(db, assignment) -> dict[int, AssignedTraining]:
    """The assignment's records by employee id."""
    rows = db.session.scalars(select(AssignedTraining).where(AssignedTraining.assignment_id == assignment.id))
    return {r.employee_id: r for r in rows}


# ------------------------------------------------------------------ assigning


def test_assigning_covers_everyone_in_the_subtrees_today_with_the_due_date(db):
    north, south = make_employee(NORTH), make_employee(SOUTH)
    make_employee(AMERICAS)
    assignment = assign(make_module(db))
    records = assignees(db, assignment)
    assert set(records) == {north.id, south.id}
    assert {(r.due_on, r.assigned_on, r.as_joiner) for r in records.values()} == {(DUE, TODAY, False)}


def test_people_who_joined_after_or_left_before_the_day_are_not_assigned(db):
    later = make_employee(NORTH, since=TODAY + DAY)
    gone = make_employee(NORTH)
    end_membership(gone, TODAY)
    stays = make_employee(NORTH)
    assert set(assignees(db, assign(make_module(db)))) == {stays.id}
    assert later.id  # exists, but not yet a member


def test_roles_limit_the_assignment_and_people_without_an_account_count_as_employees(db):
    no_account = make_employee(NORTH)
    manager = make_employee(NORTH)
    make_user(Role.MANAGER.value, manager)
    leader = make_employee(NORTH)
    make_user(Role.CHANGE_LEADER.value, leader)
    assignment = assign(make_module(db), roles=[Role.EMPLOYEE.value, Role.MANAGER.value])
    assert set(assignees(db, assignment)) == {no_account.id, manager.id}


def test_only_published_modules_can_be_assigned(db):
    make_employee(NORTH)
    for status in (ModuleStatus.DRAFT.value, ModuleStatus.RETIRED.value):
        with pytest.raises(AssignmentError, match="published"):
            assign(make_module(db, status=status))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"units": ()}, "unit"),
    ({"due_on": TODAY - DAY}, "passed"),
    ({"joiner_days": 0}, "days"),
    ({"roles": ["pope"]}, "unknown role"),
])
def test_an_assignment_without_units_with_a_past_due_date_or_bad_values_is_refused(db, kwargs, message):
    with pytest.raises(AssignmentError, match=message):
        assign(make_module(db), **kwargs)


def test_a_unit_inside_another_chosen_subtree_is_not_kept_twice(db):
    make_employee(NORTH)
    assignment = assign(make_module(db), units=(EMEA, NORTH))
    assert [u.path for u in assignment.units] == [EMEA]


# ------------------------------------------------------------------ new joiners


def test_sync_assigns_a_new_joiner_with_joiner_days_never_before_the_due_date(db):
    make_employee(NORTH)
    assignment = assign(make_module(db), joiner_days=14)
    early = make_employee(NORTH, since=TODAY + DAY)
    assert sync_assignees(TODAY + DAY) == 1
    record = assignees(db, assignment)[early.id]
    assert (record.as_joiner, record.assigned_on, record.due_on) == (True, TODAY + DAY, DUE)
    late = make_employee(SOUTH, since=DUE)
    sync_assignees(DUE)
    assert assignees(db, assignment)[late.id].due_on == DUE + 14 * DAY


def test_sync_is_idempotent(db):
    assign(make_module(db))
    make_employee(NORTH, since=TODAY + DAY)
    assert sync_assignees(TODAY + DAY) == 1
    assert sync_assignees(TODAY + DAY) == 0
    assert sync_assignees(TODAY + 5 * DAY) == 0


def test_a_mover_into_an_assigned_unit_is_assigned_and_a_leaver_keeps_the_record(db):
    mover = make_employee(AMERICAS)
    leaver = make_employee(NORTH)
    assignment = assign(make_module(db), units=(NORTH,))
    move_employee(mover, ensure_unit(NORTH), TODAY + 2 * DAY)
    move_employee(leaver, ensure_unit(AMERICAS), TODAY + 2 * DAY)
    sync_assignees(TODAY + 2 * DAY)
    records = assignees(db, assignment)
    assert set(records) == {mover.id, leaver.id}
    assert records[mover.id].as_joiner and not records[leaver.id].as_joiner


def test_a_withdrawn_assignment_picks_up_no_joiners_and_keeps_its_records(db):
    first = make_employee(NORTH)
    assignment = assign(make_module(db))
    withdraw_assignment(assignment)
    make_employee(NORTH, since=TODAY + DAY)
    assert sync_assignees(TODAY + DAY) == 0
    assert set(assignees(db, assignment)) == {first.id}
    with pytest.raises(AssignmentError, match="already"):
        withdraw_assignment(assignment)


def test_a_new_joiner_of_an_assigned_unit_is_assigned_automatically_after_a_roster_import(app, db):
    today = org_today(app.config["ORG_TIMEZONE"])
    make_employee(NORTH, hr_id="H1", email="h1@acme.example")
    assignment = assign(make_module(db), units=(NORTH,), today=today, due_on=today + 30 * DAY)
    roster = ("employee_id,email,full_name,unit\n"
              "H1,h1@acme.example,Person One,Acme/EMEA/Sales North\n"
              "H2,h2@acme.example,New Joiner,Acme/EMEA/Sales North\n"
              "H3,h3@acme.example,Elsewhere,Acme/Americas/Service\n")
    import_roster(io.StringIO(roster), effective=today, full=False)
    joiner = db.session.scalar(select(Employee).where(Employee.hr_id == "H2"))
    records = assignees(db, assignment)
    assert joiner.id in records and records[joiner.id].as_joiner
    assert len(records) == 2  # H1 from the start, H2 as a joiner; H3 is not in the unit


# ------------------------------------------------------------------ overview and scope


@pytest.fixture
def statuses(db):
    """One assignment due DUE with five people in North and one in South, in every state."""
    module = make_module(db)
    people = {name: make_employee(NORTH, full_name=name)
              for name in ("on time", "late", "enrolled", "idle", "nothing")}
    people["south"] = make_employee(SOUTH, full_name="south")
    assignment = assign(module)
    enroll(db, people["on time"], module, completed_on=DUE)
    enroll(db, people["late"], module, completed_on=DUE + DAY)
    enroll(db, people["enrolled"], module)
    return assignment, people


def _scope(role: str, employee=None):
    return scope_for(make_user(role, employee))


def test_overview_counts_completed_on_time_overdue_in_progress_for_a_change_leader(db, statuses):
    assignment, _ = statuses
    [summary] = assignment_overview(_scope(Role.CHANGE_LEADER.value), DUE + 2 * DAY)
    assert summary.assignment.id == assignment.id
    assert (summary.assigned, summary.completed, summary.completed_on_time, summary.overdue,
            summary.in_progress, summary.not_started) == (6, 2, 1, 4, 0, 0)
    [before_due] = assignment_overview(_scope(Role.ADMIN.value), DUE)
    assert (before_due.overdue, before_due.in_progress, before_due.not_started) == (0, 1, 3)


def test_a_manager_sees_only_their_subtrees_people(db, statuses):
    _, people = statuses
    manager = make_employee(SOUTH)
    scope = _scope(Role.MANAGER.value, manager)
    [summary] = assignment_overview(scope, DUE)
    assert summary.assigned == 1
    team = team_training(scope, DUE)
    assert [p.employee_id for p in team] == [people["south"].id]
    assert team[0].modules[0].status == TrainingStatus.NOT_STARTED


def test_a_manager_sees_no_assignment_without_people_in_their_subtree(db, statuses):
    manager = make_employee(AMERICAS)
    scope = _scope(Role.MANAGER.value, manager)
    assert assignment_overview(scope, DUE) == []
    assert team_training(scope, DUE) == []


def test_an_employee_scope_reads_only_their_own_training(db, statuses):
    _, people = statuses
    scope = _scope(Role.EMPLOYEE.value, people["enrolled"])
    team = team_training(scope, DUE)
    assert [p.employee_id for p in team] == [people["enrolled"].id]
    assert team[0].modules[0].status == TrainingStatus.IN_PROGRESS


def test_team_training_lists_each_persons_modules_and_status(db, statuses):
    team = {p.full_name: p for p in team_training(_scope(Role.CHANGE_LEADER.value), DUE + DAY)}
    assert {name: p.modules[0].status for name, p in team.items()} == {
        "on time": "completed", "late": "completed", "enrolled": "overdue", "idle": "overdue",
        "nothing": "overdue", "south": "overdue",
    }
    assert team["late"].modules[0].completed_on == DUE + DAY
