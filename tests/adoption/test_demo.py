"""The demo organization: shape, determinism, idempotency, history and working logins.

Loading the organization takes a while, so the tests that read it share one load (``demo``, one
database for the module, loaded without the feature demos; each test's changes are rolled back).
The test that needs two fresh databases comes last: on PostgreSQL its ``app`` empties the tables
the shared load is in.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from adoption.demo import (
    ADMIN_EMAIL,
    CURRENT_EFFECTIVE,
    DEMO_LOADERS,
    DEMO_PASSWORD,
    EARLIER_EFFECTIVE,
    INITIATIVE_NAME,
    ROSTER_COLUMNS,
    build_roster,
    load_demo,
    salesforce_id18,
)
from adoption.demo_calendar import REFERENCE
from adoption.demo_sign_ins import GUESSING_ADDRESS
from adoption.extensions import db as _db
from adoption.models import (
    AccessChange,
    Employee,
    Initiative,
    OrgUnit,
    RosterImport,
    SignIn,
    UnitMembership,
    User,
)
from adoption.models.sign_ins import SIGNED_IN
from adoption.org import unit_on
from tests.conftest import app_of_its_own

SALES_AND_SERVICE = ("Field Sales", "Inside Sales", "Key Accounts", "Customer Service", "Customer Success")


def _without_feature_demos(app) -> None:
    """Only the core demo here: each feature's demo (surveys, ...) is tested with its package
    (tests/surveys/test_demo.py), so these tests do not pay for loading it again."""
    app.extensions[DEMO_LOADERS] = []


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    """An app whose database holds the core demo, loaded once for the module, and that load's
    summary."""
    with app_of_its_own(tmp_path_factory.mktemp("core_demo")) as app:
        _without_feature_demos(app)
        summary = load_demo(size="small", seed=7)
        _db.session.commit()
        yield app, summary


@pytest.fixture
def demo(demo_app):
    """The summary of the module's demo load (``newly_loaded``); the session is rolled back after
    each test."""
    yield demo_app[1]
    _db.session.rollback()


@pytest.fixture
def core_only(app):
    """The test's own ``app`` loads the core demo only."""
    _without_feature_demos(app)


def _counts(db) -> dict[str, int]:
    """Row counts of everything the demo writes."""
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Employee, UnitMembership, User, OrgUnit, Initiative, RosterImport, SignIn, AccessChange)
    }


def _roster_in_database(db) -> list[tuple]:
    """The organization as stored, keyed by HR ids (database ids differ between loads)."""
    manager = aliased(Employee)
    rows = db.session.execute(
        select(Employee.hr_id, Employee.email, Employee.full_name, Employee.title, OrgUnit.path,
               manager.hr_id, Employee.start_date, Employee.end_date, Employee.active,
               Employee.crm_user_id, Employee.crm_username, Employee.is_executive)
        .join(OrgUnit, OrgUnit.id == Employee.unit_id)
        .outerjoin(manager, manager.id == Employee.manager_id)
        .order_by(Employee.hr_id)
    ).all()
    # The leaver the demo erases carries their database id in their pseudonyms.
    return [tuple(re.sub(r"(erased-|Former employee )\d+", r"\1#", v) if isinstance(v, str) else v for v in row)
            for row in rows]


def _demo_sign_ins(db) -> list[tuple]:
    """The sign-in log the demo wrote (attempts made by the tests, through the test client,
    come from 127.0.0.1 and are left out), oldest first."""
    rows = db.session.execute(
        select(SignIn.at, SignIn.outcome, SignIn.address, User.email).outerjoin(User, User.id == SignIn.user_id)
        .where(SignIn.address != "127.0.0.1").order_by(SignIn.at, SignIn.id)
    ).all()
    return [tuple(row) for row in rows]


def _empty_database(db) -> None:
    """Delete every row, children first, so the next load starts from an empty database."""
    db.session.rollback()
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


def test_same_seed_builds_the_same_roster_bytes():
    first, second = build_roster("small", seed=7), build_roster("small", seed=7)
    assert first.current_csv == second.current_csv
    assert first.earlier_csv == second.earlier_csv
    assert first.cast == second.cast


def test_different_seed_builds_a_different_roster():
    assert build_roster("small", seed=7).current_csv != build_roster("small", seed=8).current_csv


def test_unknown_size_is_refused():
    with pytest.raises(ValueError):
        build_roster("medium", seed=7)


def test_small_demo_has_the_expected_shape(demo):
    summary = demo

    assert summary.newly_loaded
    assert 550 <= summary.active <= 650
    assert summary.regions == 4
    assert 38 <= summary.teams <= 42
    regions = _db.session.scalars(select(OrgUnit.name).where(OrgUnit.depth == 1)).all()
    assert len(regions) == 4
    teams = _db.session.scalars(select(OrgUnit).where(OrgUnit.depth == 2)).all()
    assert len(teams) == summary.teams
    for team in teams:
        managers = _db.session.scalars(
            select(Employee).where(Employee.unit_id == team.id, Employee.active.is_(True),
                                   Employee.title.contains("Manager") | Employee.title.contains("Lead")
                                   | Employee.title.startswith("Head of"))
        ).all()
        # The team's manager is the one person in it who reports outside the team.
        bosses = {m.manager.unit_id for m in managers if m.manager is not None}
        assert any(b != team.id for b in bosses), team.path
        reports = _db.session.scalars(
            select(Employee).where(Employee.unit_id == team.id, Employee.active.is_(True))
        ).all()
        assert len({e.manager_id for e in reports if e.manager.unit_id == team.id}) == 1, team.path


def test_small_demo_has_executives_a_ceo_and_one_change_leader_login(demo):
    summary = demo

    executives = _db.session.scalars(select(Employee).where(Employee.is_executive.is_(True))).all()
    assert 5 <= len(executives) <= 12
    ceos = _db.session.scalars(select(Employee).where(Employee.manager_id.is_(None))).all()
    assert [c.title for c in ceos] == ["Chief Executive Officer"]
    region_heads = [e for e in executives if e.unit.depth == 1]
    assert len(region_heads) == 4 and all(h.manager_id == ceos[0].id for h in region_heads)
    roles = [role for role, _ in summary.logins]
    assert sorted(roles) == ["admin", "change_leader", "employee", "executive", "manager"]
    assert _db.session.scalar(select(func.count()).select_from(User).where(User.role == "change_leader")) == 1
    initiative = _db.session.scalar(select(Initiative).where(Initiative.name == INITIATIVE_NAME))
    assert len(initiative.sponsors) == 3 and all(s.is_executive for s in initiative.sponsors)
    assert initiative.licensed_seats > summary.licences


def test_small_demo_licence_share_is_plausible(demo):
    staff = _db.session.execute(
        select(OrgUnit.name, Employee.crm_user_id, Employee.crm_username, Employee.email)
        .join(OrgUnit, OrgUnit.id == Employee.unit_id)
        .where(Employee.active.is_(True), OrgUnit.depth == 2)
    ).all()
    front = [s for s in staff if s.name.startswith(SALES_AND_SERVICE)]
    back = [s for s in staff if not s.name.startswith(SALES_AND_SERVICE)]
    front_share = sum(1 for s in front if s.crm_user_id) / len(front)
    back_share = sum(1 for s in back if s.crm_user_id) / len(back)
    assert 0.70 <= front_share <= 0.88
    assert back_share < 0.5
    for s in staff:
        if s.crm_user_id:
            assert re.fullmatch(r"005[0-9A-Za-z]{15}", s.crm_user_id)
            assert salesforce_id18(s.crm_user_id[:15]) == s.crm_user_id
            assert s.crm_username == s.email.replace("@acme.example", "@acme.crm")


def test_demo_roster_has_no_orphan_manager_references(demo):
    roster = build_roster("small", seed=7)
    rows = list(csv.DictReader(io.StringIO(roster.current_csv)))
    assert tuple(rows[0].keys()) == ROSTER_COLUMNS
    ids = {r["employee_id"] for r in rows}
    assert all(r["manager_employee_id"] in ids for r in rows if r["manager_employee_id"])
    active_ids = {r["employee_id"] for r in rows if not r["end_date"]}
    assert all(r["manager_employee_id"] in active_ids for r in rows if r["manager_employee_id"])

    no_manager = _db.session.scalar(
        select(func.count()).select_from(Employee).where(Employee.manager_id.is_(None))
    )
    assert no_manager == 1  # the CEO
    inactive_boss = aliased(Employee)
    assert _db.session.scalar(
        select(func.count()).select_from(Employee)
        .join(inactive_boss, inactive_boss.id == Employee.manager_id)
        .where(Employee.active.is_(True), inactive_boss.active.is_(False))
    ) == 0


def test_demo_has_unique_emails_and_a_few_leavers(demo):
    roster = build_roster("small", seed=7)
    rows = list(csv.DictReader(io.StringIO(roster.current_csv)))
    emails = [r["email"] for r in rows]
    assert len(set(emails)) == len(emails)
    assert all(re.fullmatch(r"[a-z]+\.[a-z]+\d*@acme\.example", e) for e in emails)
    leavers = [r for r in rows if r["end_date"]]
    assert 3 <= len(leavers) <= 30
    assert all(EARLIER_EFFECTIVE < dt.date.fromisoformat(r["end_date"]) < CURRENT_EFFECTIVE for r in leavers)

    assert _db.session.scalar(
        select(func.count()).select_from(Employee).where(Employee.active.is_(False))
    ) == len(leavers)


def test_membership_history_shows_the_reorg(demo):
    movers = _db.session.scalars(
        select(Employee).join(UnitMembership).group_by(Employee.id)
        .having(func.count(UnitMembership.id) > 1)
    ).all()
    assert movers
    moved = [e for e in movers if unit_on(e, dt.date(2025, 9, 1)) != unit_on(e, dt.date(2026, 6, 1))]
    assert moved
    person = moved[0]
    assert unit_on(person, dt.date(2026, 6, 1)).id == person.unit_id
    assert unit_on(person, dt.date(2025, 9, 1)).depth == 2


def test_describe_lists_counts_and_every_login(demo):
    summary = demo

    text = summary.describe()
    assert "loaded now" in text
    assert f"{summary.active} active employees" in text
    assert DEMO_PASSWORD in text
    for role, email in summary.logins:
        assert role in text and email in text
    assert (("admin", ADMIN_EMAIL)) in summary.logins


def test_demo_logins_belong_to_the_right_people(demo):
    summary = demo
    users = {u.role: u for u in _db.session.scalars(select(User))}

    assert users["admin"].employee is None
    assert users["executive"].employee.is_executive
    manager = users["manager"].employee
    employee = users["employee"].employee
    assert employee.manager_id == manager.id and employee.unit_id == manager.unit_id
    assert employee.active and manager.active
    team_size = _db.session.scalar(
        select(func.count()).select_from(Employee)
        .where(Employee.unit_id == manager.unit_id, Employee.active.is_(True))
    )
    assert team_size >= 10
    assert users["change_leader"].employee.title.startswith("Director, CRM")
    assert len(summary.logins) == 5


def test_every_demo_login_signs_in_and_lands_on_home(demo_app, demo):
    app, summary = demo_app

    for role, email in summary.logins:
        client = app.test_client()
        response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, (role, response.get_data(as_text=True))
        assert response.headers["Location"] in ("/", "http://localhost/")
        assert client.get("/").status_code == 200, role


def test_demo_sign_ins_end_before_its_today_and_follow_each_account_being_opened(demo):
    attempts = _demo_sign_ins(_db)
    assert len(attempts) > 100
    assert max(at for at, *_ in attempts) < dt.datetime.combine(REFERENCE.today, dt.time())
    for user in _db.session.scalars(select(User)):
        own = [(at, outcome) for at, outcome, _address, email in attempts if email == user.email]
        created = _db.session.scalar(select(AccessChange.at).where(AccessChange.user_id == user.id,
                                                                   AccessChange.action == "account_created"))
        assert own and created == user.created_at < own[0][0], user.email


def test_demo_manager_is_locked_out_then_unlocked_by_the_admin_before_signing_in_again(demo_app, demo):
    manager = _db.session.scalar(select(User).where(User.role == "manager"))
    own = [(at, outcome) for at, outcome, _address, email in _demo_sign_ins(_db) if email == manager.email]
    outcomes = [outcome for _at, outcome in own]
    failures = demo_app[0].config["LOGIN_MAX_FAILURES"]
    start = outcomes.index("locked") - failures
    assert outcomes[start:start + failures + 2] == ["wrong_password"] * failures + ["locked", SIGNED_IN]
    changes = {c.action: c for c in _db.session.scalars(select(AccessChange).where(AccessChange.user_id == manager.id))}
    assert changes["locked"].at == own[start + failures - 1][0]  # the wrong password that locked it
    assert changes["unlocked"].actor.email == ADMIN_EMAIL
    assert own[start + failures][0] < changes["unlocked"].at < own[start + failures + 1][0]


def test_demo_night_of_guesses_gets_into_no_account_and_locks_none(demo_app, demo):
    guesses = [(outcome, email) for _at, outcome, address, email in _demo_sign_ins(_db) if address == GUESSING_ADDRESS]
    assert {outcome for outcome, _email in guesses} == {"unknown_account", "wrong_password"}
    tried = [email for outcome, email in guesses if outcome == "wrong_password"]
    assert tried and all(tried.count(email) < demo_app[0].config["LOGIN_MAX_FAILURES"] for email in tried)
    assert all(email is None for outcome, email in guesses if outcome == "unknown_account")


def test_second_load_changes_nothing_and_reports_already_loaded(demo):
    first = demo
    before = _counts(_db)
    roster_before = _roster_in_database(_db)

    second = load_demo(size="small", seed=7)
    _db.session.commit()

    assert _counts(_db) == before
    assert _roster_in_database(_db) == roster_before
    assert not second.newly_loaded
    assert "already present" in second.describe()
    assert second.logins == first.logins
    assert (second.active, second.teams, second.licences) == (first.active, first.teams, first.licences)


def test_demo_rosters_are_in_the_import_history_like_any_imported_file(demo):
    imports = _db.session.scalars(select(RosterImport).order_by(RosterImport.effective_date)).all()
    assert [(i.filename, i.status, i.effective_date) for i in imports] == [
        ("acme-hr-export-2025-07-01.csv", "applied", dt.date(2025, 7, 1)),
        ("acme-hr-export-2026-03-02.csv", "applied", dt.date(2026, 3, 2)),
    ]
    assert imports[0].summary["counts"]["rejected"] == 0
    assert imports[1].summary["counts"]["created"] > 0 and imports[1].summary["counts"]["deactivated"] > 0


def test_loading_another_seed_over_the_demo_is_refused(demo):
    from adoption.demo import DemoError

    with pytest.raises(DemoError):
        load_demo(size="small", seed=8)


def test_same_seed_loads_the_same_organization_in_two_fresh_databases(app, db, core_only):
    load_demo(size="small", seed=7)
    db.session.commit()
    first, first_sign_ins = _roster_in_database(db), _demo_sign_ins(db)
    _empty_database(db)

    load_demo(size="small", seed=7)
    db.session.commit()

    assert _roster_in_database(db) == first
    assert _demo_sign_ins(db) == first_sign_ins
    for user in db.session.scalars(select(User)):  # no test has signed in here
        assert user.last_login_at == max(at for at, outcome, _address, email in first_sign_ins
                                         if email == user.email and outcome == SIGNED_IN), user.email
