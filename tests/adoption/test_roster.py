"""Roster import: validation, idempotency, deactivation, safety stops, membership history."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from adoption.models import Employee, OrgUnit, RosterImport, UnitMembership
from adoption.org import unit_on
from adoption.roster import RosterFileError, SafetyStop, import_roster, plan_roster

HEADER = "employee_id,email,full_name,title,unit,manager_employee_id,start_date,end_date,crm_user_id,crm_username,is_executive"
DAY1 = dt.date(2026, 1, 5)
DAY2 = dt.date(2026, 3, 2)


def csv_of(*rows: str, header: str = HEADER) -> io.StringIO:
    """A roster file with ``rows`` under ``header``."""
    return io.StringIO("\n".join([header, *rows]) + "\n")


def person(hr: str, unit: str = "Acme/EMEA/Sales North", manager: str = "", email: str | None = None,
           end: str = "", crm: str = "", executive: str = "false", name: str | None = None) -> str:
    """One roster line with sensible defaults."""
    email = email or f"{hr.lower()}@acme.example"
    name = name or f"Person {hr}"
    return f"{hr},{email},{name},Rep,{unit},{manager},2024-01-01,{end},{crm},,{executive}"


BASE = [
    person("A1", unit="Acme", executive="true"),
    person("A2", unit="Acme/EMEA", manager="A1"),
    person("A3", manager="A2"),
    person("A4", manager="A3", crm="005000000000001AAA"),
    person("A5", unit="Acme/EMEA/Sales South", manager="A2"),
]


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_first_import_creates_people_units_and_managers(db):
    plan = import_roster(csv_of(*BASE), effective=DAY1)
    assert plan.counts()["created"] == 5 and not plan.errors
    assert {u.path for u in db.session.scalars(select(OrgUnit))} == {
        "Acme", "Acme/EMEA", "Acme/EMEA/Sales North", "Acme/EMEA/Sales South"}
    a4 = db.session.scalar(select(Employee).where(Employee.hr_id == "A4"))
    assert a4.manager.hr_id == "A3" and a4.crm_user_id == "005000000000001AAA"
    assert unit_on(a4, DAY1).path == "Acme/EMEA/Sales North"


def test_reimporting_the_same_file_changes_nothing(db):
    import_roster(csv_of(*BASE), effective=DAY1)
    db.session.commit()
    before = (count(db, Employee), count(db, UnitMembership), count(db, OrgUnit))
    plan = import_roster(csv_of(*BASE), effective=DAY2)
    assert not plan.has_changes and plan.unchanged == 5
    assert (count(db, Employee), count(db, UnitMembership), count(db, OrgUnit)) == before


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (",x@acme.example,No Id,Rep,Acme,,,,,,false", "employee_id is missing"),
        ("B1,not-an-email,Bad Mail,Rep,Acme,,,,,,false", "email 'not-an-email' is not valid"),
        ("B1,b1@acme.example,,Rep,Acme,,,,,,false", "full_name is missing"),
        ("B1,b1@acme.example,B One,Rep,,,,,,,false", "unit is missing"),
        ("B1,b1@acme.example,B One,Rep,Acme//North,,,,,,false", "empty segment"),
        ("B1,b1@acme.example,B One,Rep,Acme,,2024-13-01,,,,false", "start_date '2024-13-01' is not a date"),
        ("B1,b1@acme.example,B One,Rep,Acme,,2024-05-01,2024-04-01,,,false", "before start_date"),
        ("B1,b1@acme.example,B One,Rep,Acme,ZZZ,,,,,false", "unknown manager ZZZ"),
        ("B1,b1@acme.example,B One,Rep,Acme,B1,,,,,false", "manager cycle"),
        ("B1,b1@acme.example,B One,Rep,Acme,,,,,,maybe", "is_executive 'maybe' is not true/false"),
        ("B1,b1@acme.example,B One,Rep,Acme", "the row has 5 fields"),
    ],
)
def test_bad_row_is_reported_with_line_and_reason_and_not_written(db, line, reason):
    plan = import_roster(csv_of(*BASE, line), effective=DAY1)
    assert len(plan.errors) == 1
    error = plan.errors[0]
    assert error.line == len(BASE) + 2  # header is line 1
    assert reason in error.reason
    assert plan.counts()["created"] == len(BASE)
    assert db.session.scalar(select(Employee).where(Employee.email == "b1@acme.example")) is None


def test_duplicate_employee_id_rejects_every_copy(db):
    plan = import_roster(csv_of(*BASE, person("D1"), person("D1", email="other@acme.example")), effective=DAY1)
    assert [(e.line, e.employee_id) for e in plan.errors] == [(7, "D1"), (8, "D1")]
    assert "duplicate employee_id D1 (also on line 8)" in plan.errors[0].reason
    assert db.session.scalar(select(Employee).where(Employee.hr_id == "D1")) is None


def test_duplicate_email_is_rejected_case_insensitively(db):
    plan = import_roster(csv_of(*BASE, person("D1", email="Same@acme.example"), person("D2", email="same@ACME.example")), effective=DAY1)
    assert {e.employee_id for e in plan.errors} == {"D1", "D2"}
    assert all("duplicate email" in e.reason for e in plan.errors)


def test_email_held_by_someone_else_in_the_database_is_rejected(db):
    import_roster(csv_of(*BASE), effective=DAY1)
    plan = import_roster(csv_of(person("N1", email="a4@acme.example")), effective=DAY2, full=False)
    assert [e.employee_id for e in plan.errors] == ["N1"]
    assert "belongs to employee A4" in plan.errors[0].reason


def test_manager_cycle_is_rejected_for_every_row_on_it(db):
    plan = import_roster(csv_of(*BASE, person("C1", manager="C2"), person("C2", manager="C3"), person("C3", manager="C1")), effective=DAY1)
    assert {e.employee_id for e in plan.errors} == {"C1", "C2", "C3"}
    assert all("manager cycle" in e.reason for e in plan.errors)


def test_reports_of_a_rejected_manager_are_rejected_with_the_reason(db):
    plan = import_roster(csv_of(*BASE, person("M1", email="bad"), person("R1", manager="M1")), effective=DAY1)
    reasons = {e.employee_id: e.reason for e in plan.errors}
    assert set(reasons) == {"M1", "R1"}
    assert "unknown manager M1" in reasons["R1"]


def test_unreadable_header_is_a_file_error(db):
    with pytest.raises(RosterFileError, match="lacks the column"):
        plan_roster(io.StringIO("id,mail\n1,a@b.c\n"), effective=DAY1)
    with pytest.raises(RosterFileError, match="empty"):
        plan_roster(io.StringIO(""), effective=DAY1)


def test_people_missing_from_a_full_import_are_deactivated_not_deleted(db):
    import_roster(csv_of(*BASE), effective=DAY1)
    plan = import_roster(csv_of(*BASE[:4]), effective=DAY2)
    assert [c.hr_id for c in plan.deactivations] == ["A5"]
    a5 = db.session.scalar(select(Employee).where(Employee.hr_id == "A5"))
    assert a5 is not None and a5.active is False
    assert unit_on(a5, DAY1).path == "Acme/EMEA/Sales South"  # history kept
    assert unit_on(a5, DAY2) is None


def test_partial_import_does_not_deactivate(db):
    import_roster(csv_of(*BASE), effective=DAY1)
    plan = import_roster(csv_of(BASE[0]), effective=DAY2, full=False)
    assert plan.deactivations == []
    assert db.session.scalar(select(func.count()).where(Employee.active.is_(True))) == 5


def test_person_on_a_rejected_row_is_not_deactivated_as_missing(db):
    import_roster(csv_of(*BASE), effective=DAY1)
    broken = person("A5", unit="Acme/EMEA/Sales South", manager="A2").replace("2024-01-01", "yesterday")
    plan = import_roster(csv_of(*BASE[:4], broken), effective=DAY2)
    assert [e.employee_id for e in plan.errors] == ["A5"]
    assert plan.deactivations == []
    assert db.session.scalar(select(Employee.active).where(Employee.hr_id == "A5")) is True


def test_import_deactivating_over_40_percent_stops_without_force(db):
    import_roster(csv_of(*BASE), effective=DAY1)
    db.session.commit()
    with pytest.raises(SafetyStop, match="would be deactivated"):
        import_roster(csv_of(*BASE[:2]), effective=DAY2)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).where(Employee.active.is_(True))) == 5
    plan = import_roster(csv_of(*BASE[:2]), effective=DAY2, force=True)
    assert len(plan.deactivations) == 3


def test_import_changing_over_5_percent_of_emails_stops_without_force(db):
    import_roster(csv_of(*BASE), effective=DAY1)
    db.session.commit()
    changed = [BASE[0], person("A2", unit="Acme/EMEA", manager="A1", email="new.a2@acme.example"), *BASE[2:]]
    with pytest.raises(SafetyStop, match="change e-mail"):
        import_roster(csv_of(*changed), effective=DAY2)
    db.session.rollback()
    plan = import_roster(csv_of(*changed), effective=DAY2, force=True)
    assert plan.updates[0].fields["email"] == ("a2@acme.example", "new.a2@acme.example")


def test_two_people_can_swap_emails_in_one_import(db):
    import_roster(csv_of(*BASE), effective=DAY1)
    swapped = [*BASE[:3], person("A4", manager="A3", crm="005000000000001AAA", email="a5@acme.example"),
               person("A5", unit="Acme/EMEA/Sales South", manager="A2", email="a4@acme.example")]
    import_roster(csv_of(*swapped), effective=DAY2, force=True)
    db.session.commit()
    emails = dict(db.session.execute(select(Employee.hr_id, Employee.email)).all())
    assert emails["A4"] == "a5@acme.example" and emails["A5"] == "a4@acme.example"


def test_unit_change_writes_a_new_membership_dated_by_the_import(db):
    import_roster(csv_of(*BASE), effective=DAY1)
    moved = [*BASE[:3], person("A4", unit="Acme/EMEA/Sales South", manager="A5", crm="005000000000001AAA"), BASE[4]]
    plan = import_roster(csv_of(*moved), effective=DAY2)
    assert [c.hr_id for c in plan.moves] == ["A4"]
    a4 = db.session.scalar(select(Employee).where(Employee.hr_id == "A4"))
    assert unit_on(a4, DAY2 - dt.timedelta(days=1)).path == "Acme/EMEA/Sales North"
    assert unit_on(a4, DAY2).path == "Acme/EMEA/Sales South"
    assert a4.manager.hr_id == "A5"
    assert len(a4.memberships) == 2


def test_leaver_with_past_end_date_is_deactivated_on_that_date(db):
    import_roster(csv_of(*BASE), effective=DAY1)
    leaver = [*BASE[:4], person("A5", unit="Acme/EMEA/Sales South", manager="A2", end="2026-02-15")]
    plan = import_roster(csv_of(*leaver), effective=DAY2)
    assert [c.hr_id for c in plan.deactivations] == ["A5"]
    a5 = db.session.scalar(select(Employee).where(Employee.hr_id == "A5"))
    assert unit_on(a5, dt.date(2026, 2, 14)) is not None
    assert unit_on(a5, dt.date(2026, 2, 15)) is None
    again = import_roster(csv_of(*leaver), effective=DAY2 + dt.timedelta(days=30))
    assert not again.has_changes


def test_returning_employee_is_reactivated_with_a_new_membership(db):
    import_roster(csv_of(*BASE), effective=DAY1)
    import_roster(csv_of(*BASE[:4]), effective=DAY2)
    plan = import_roster(csv_of(*BASE), effective=dt.date(2026, 6, 1))
    assert plan.reactivations == ["A5"]
    a5 = db.session.scalar(select(Employee).where(Employee.hr_id == "A5"))
    assert a5.active and unit_on(a5, dt.date(2026, 6, 1)).path == "Acme/EMEA/Sales South"
    assert unit_on(a5, dt.date(2026, 4, 1)) is None


def test_dry_run_writes_nothing(db):
    plan = import_roster(csv_of(*BASE), effective=DAY1, dry_run=True)
    assert plan.counts()["created"] == 5
    assert count(db, Employee) == 0 and count(db, OrgUnit) == 0


def test_absent_optional_columns_leave_stored_values_alone(db):
    import_roster(csv_of(*BASE), effective=DAY1)
    header = "employee_id,email,full_name,unit,manager_employee_id"
    rows = ["A1,a1@acme.example,Person A1,Acme,", "A2,a2@acme.example,Person A2,Acme/EMEA,A1",
            "A3,a3@acme.example,Person A3,Acme/EMEA/Sales North,A2",
            "A4,a4@acme.example,Renamed A4,Acme/EMEA/Sales North,A3",
            "A5,a5@acme.example,Person A5,Acme/EMEA/Sales South,A2"]
    plan = import_roster(csv_of(*rows, header=header), effective=DAY2)
    assert [(c.hr_id, set(c.fields)) for c in plan.updates] == [("A4", {"full_name"})]
    a4 = db.session.scalar(select(Employee).where(Employee.hr_id == "A4"))
    assert a4.crm_user_id == "005000000000001AAA" and a4.start_date == dt.date(2024, 1, 1)


def test_cli_import_reports_rejects_and_stops_without_force(app, db, tmp_path):
    runner = app.test_cli_runner()
    good = tmp_path / "roster.csv"
    good.write_text("\n".join([HEADER, *BASE, "X1,bad-mail,X,Rep,Acme,,,,,,false"]) + "\n")
    result = runner.invoke(args=["import-roster", str(good), "--effective", "2026-01-05"])
    assert result.exit_code == 0, result.output
    assert "roster.csv:7 (X1): email 'bad-mail' is not valid" in result.output
    assert "created=5" in result.output and "rejected=1" in result.output
    small = tmp_path / "small.csv"
    small.write_text("\n".join([HEADER, BASE[0]]) + "\n")
    result = runner.invoke(args=["import-roster", str(small)])
    assert result.exit_code != 0
    assert "Safety stop" in result.output and "--force" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).where(Employee.active.is_(True))) == 5
    result = runner.invoke(args=["import-roster", str(small), "--dry-run"])
    assert "Dry run, nothing written" in result.output and "deactivated=4" in result.output
    result = runner.invoke(args=["import-roster", str(small), "--force"])
    assert result.exit_code == 0
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).where(Employee.active.is_(True))) == 1


def test_cli_import_joins_the_import_history_and_a_dry_run_or_a_safety_stop_does_not(app, db, tmp_path, login_as,
                                                                                     client):
    runner = app.test_cli_runner()
    good = tmp_path / "hr-export.csv"
    good.write_text("\n".join([HEADER, *BASE, "X1,bad-mail,X,Rep,Acme,,,,,,false"]) + "\n")
    assert runner.invoke(args=["import-roster", str(good), "--dry-run"]).exit_code == 0
    assert db.session.scalar(select(func.count(RosterImport.id))) == 0
    assert runner.invoke(args=["import-roster", str(good), "--effective", "2026-01-05"]).exit_code == 0
    small = tmp_path / "small.csv"
    small.write_text("\n".join([HEADER, BASE[0]]) + "\n")
    assert runner.invoke(args=["import-roster", str(small)]).exit_code != 0  # safety stop
    db.session.expire_all()
    (record,) = db.session.scalars(select(RosterImport)).all()
    assert (record.filename, record.status, record.effective_date) == ("hr-export.csv", "applied", dt.date(2026, 1, 5))
    assert record.applied_at is not None and record.content == good.read_bytes()
    assert record.summary["counts"]["created"] == 5 and record.summary["counts"]["rejected"] == 1
    assert record.summary["errors"][0]["employee_id"] == "X1"
    # The admin's home page lists it with the uploads.
    login_as("admin")
    assert "hr-export.csv" in client.get("/").get_data(as_text=True)
    page = client.get("/admin/roster").get_data(as_text=True)
    assert "hr-export.csv" in page and "command line" in page
    assert record.created_at.strftime("%Y-%m-%d %H:%M") + " UTC" in page and str(record.created_at) not in page


def upload(client, text: str, **fields):
    """POST a roster file to the admin upload form."""
    data = {"file": (io.BytesIO(text.encode()), "roster.csv"), **fields}
    return client.post("/admin/roster", data=data, content_type="multipart/form-data")


def test_ui_preview_shows_changes_and_rejects_and_writes_nothing_until_confirmed(login_as, client, db):
    login_as("admin")
    response = upload(client, "\n".join([HEADER, *BASE, "X1,bad-mail,X,Rep,Acme,,,,,,false"]), effective_date="2026-01-05")
    assert response.status_code == 302
    preview = client.get(response.headers["Location"])
    page = preview.get_data(as_text=True)
    assert "5 to create" in page and "1 rejected rows" in page and "bad-mail" in page
    assert db.session.scalar(select(func.count()).select_from(Employee).where(Employee.hr_id.like("A%"))) == 0
    applied = client.post(response.headers["Location"] + "/apply", data={})
    assert applied.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Employee).where(Employee.hr_id.like("A%"))) == 5
    rejects = client.get(response.headers["Location"] + "/rejected.csv").get_data(as_text=True)
    assert rejects.splitlines()[1].startswith("7,X1,email 'bad-mail' is not valid")


def test_ui_safety_stop_needs_explicit_confirmation(login_as, client, db):
    import_roster(csv_of(*BASE), effective=DAY1)
    db.session.commit()
    login_as("admin")
    location = upload(client, "\n".join([HEADER, BASE[0]])).headers["Location"]
    assert "Safety stop" in client.get(location).get_data(as_text=True)
    refused = client.post(location + "/apply", data={}, follow_redirects=True)
    assert "Nothing was imported" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).where(Employee.active.is_(True), Employee.hr_id.like("A%"))) == 5
    client.post(location + "/apply", data={"force": "y"})
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).where(Employee.active.is_(True), Employee.hr_id.like("A%"))) == 1


def test_ui_applying_twice_does_not_apply_again(login_as, client, db):
    login_as("admin")
    location = upload(client, "\n".join([HEADER, *BASE]), effective_date="2026-01-05").headers["Location"]
    client.post(location + "/apply", data={})
    again = client.post(location + "/apply", data={}, follow_redirects=True)
    assert "already applied" in again.get_data(as_text=True)


def test_ui_rejects_a_file_that_is_not_utf8(login_as, client, db):
    login_as("admin")
    data = {"file": (io.BytesIO(HEADER.encode() + b"\nA1,\xff\xfe@x.example,N,T,Acme,,,,,,false\n"), "roster.csv")}
    response = client.post("/admin/roster", data=data, content_type="multipart/form-data", follow_redirects=True)
    assert "not UTF-8" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["employee", "manager", "change_leader", "executive"])
def test_only_admins_reach_roster_import(login_as, client, role):
    login_as(role)
    assert client.get("/admin/roster").status_code == 403
    assert upload(client, "\n".join([HEADER, *BASE])).status_code == 403
