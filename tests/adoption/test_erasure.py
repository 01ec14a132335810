"""Erasing a leaver's personal data (adoption/erasure.py) on databases of their own: who may erase
whom, what goes and what stays, the retention job, and the roster and the CRM not bringing an
erased person back. The whole demo organization is tried in test_erasure_demo.py."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from adoption.erasure import (
    ERASED_DOMAIN,
    ErasureError,
    erase_on_request,
    leavers_due,
    recent_erasures,
)
from adoption.models import (
    CrmAlias,
    Employee,
    Erasure,
    OutboxMessage,
    UnitMembership,
    UsageEvent,
    User,
)
from adoption.org import end_membership
from adoption.roster import import_roster
from adoption.scope import ScopeError, scope_for
from tests.factories import make_employee, make_leaver, make_user

NOW = dt.datetime(2026, 11, 23, 12)


def admin_scope():
    return scope_for(make_user("admin"))


def test_a_change_leader_cannot_erase_anyone(app, db):
    leaver = make_leaver(full_name="Lena Leaver")
    with pytest.raises(ScopeError):
        erase_on_request(scope_for(make_user("change_leader")), leaver, NOW)
    assert leaver.full_name == "Lena Leaver" and db.session.scalar(select(func.count(Erasure.id))) == 0


def test_someone_still_on_the_roster_is_not_erased(app, db):
    active = make_employee(full_name="Ann Active")
    with pytest.raises(ErasureError, match="still on the roster"):
        erase_on_request(admin_scope(), active, NOW)
    assert active.full_name == "Ann Active"


def test_an_inactive_person_still_in_a_unit_is_not_erased(app, db):
    """Inactive without a leaving date in the unit history: the roster has not recorded the leaving."""
    halfway = make_employee(full_name="Hal Halfway")
    halfway.active = False
    with pytest.raises(ErasureError, match="still in a unit"):
        erase_on_request(admin_scope(), halfway, NOW)


def test_a_person_is_erased_once(app, db):
    leaver = make_leaver()
    scope = admin_scope()
    erase_on_request(scope, leaver, NOW)
    with pytest.raises(ErasureError, match="erased on 2026-11-23"):
        erase_on_request(scope, leaver, NOW)


def test_erasure_replaces_what_names_them_and_keeps_their_units_dates_and_licence(app, db):
    leaver = make_leaver(hr_id="E-77", email="lena@acme.example", full_name="Lena Leaver", title="Account executive",
                         crm_user_id="005A00000012345AAA", crm_username="lena@acme.crm", start_date=dt.date(2024, 1, 1))
    account = make_user("employee", leaver)
    units_before = [(m.unit_id, m.valid_from, m.valid_to) for m in leaver.memberships]
    erasure = erase_on_request(admin_scope(), leaver, NOW)

    assert (leaver.hr_id, leaver.email, leaver.full_name, leaver.title, leaver.crm_username) == (
        f"erased-{leaver.id}", f"erased-{leaver.id}@{ERASED_DOMAIN}", f"Former employee {leaver.id}", None, None)
    assert leaver.has_crm_licence  # the adoption rates of the months they were here count them as licensed
    assert leaver.crm_user_id == f"erased-{leaver.id}"
    assert [(m.unit_id, m.valid_from, m.valid_to) for m in leaver.memberships] == units_before
    assert leaver.start_date == dt.date(2024, 1, 1)
    assert account.email == f"erased-account-{account.id}@{ERASED_DOMAIN}"
    assert account.password_hash is None and not account.is_enabled
    assert erasure.left_on == dt.date(2026, 6, 30) and erasure.reason == "request"
    assert "E-77" not in erasure.hr_id_digest and len(erasure.hr_id_digest) == 64
    assert erasure.counts["employee_record"] == 1 and erasure.counts["account"] == 1


def test_mail_to_them_leaves_the_outbox_and_a_message_to_several_only_loses_their_address(app, db):
    leaver = make_leaver(email="lena@acme.example")
    db.session.add_all([
        OutboxMessage(kind="invitation", recipients=["Lena@acme.example"], subject="Your account", body="Hi Lena"),
        OutboxMessage(kind="sponsor_message", recipients=["lena@acme.example", "bo@acme.example"],
                      subject="Town hall", body="See you there"),
        OutboxMessage(kind="invitation", recipients=["xlena@acme.example"], subject="Not hers", body=""),
    ])
    db.session.flush()
    erase_on_request(admin_scope(), leaver, NOW)
    assert [(m.subject, m.recipients) for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))] == [
        ("Town hall", ["bo@acme.example"]), ("Not hers", ["xlena@acme.example"])]


def test_their_crm_events_lose_the_actor_and_a_resent_one_is_a_duplicate_not_an_unmatched_actor(app, db, send):
    leaver = make_employee(email="lena@acme.example", crm_user_id="005A00000012345AAA")
    db.session.commit()
    event = {"event_id": "evt-1", "occurred_at": "2026-06-01T09:00:00Z", "crm_user_id": "005A00000012345AAA",
             "event_type": "activity_logged", "properties": {"account": "Lena's biggest client"}}
    assert send(event)["accepted"] == 1
    leaver.active = False
    end_membership(leaver, dt.date(2026, 7, 1))
    db.session.add(CrmAlias(key_kind="user_email", key_value="lena.private@example.com", employee_id=leaver.id))
    erase_on_request(admin_scope(), leaver, NOW)
    db.session.commit()

    stored = db.session.scalar(select(UsageEvent))
    assert (stored.employee_id, stored.crm_user_id, stored.user_email, stored.properties) == (leaver.id, None, None, None)
    assert db.session.scalar(select(func.count(CrmAlias.id))) == 0
    answer = send(event)
    assert (answer["accepted"], answer["duplicates"], answer["rejected"]) == (0, 1, [])
    assert db.session.scalar(select(func.count(UsageEvent.id)).where(UsageEvent.employee_id.is_(None))) == 0


def test_the_record_of_erasures_is_for_admins(app, db):
    erase_on_request(admin_scope(), make_leaver(), NOW)
    with pytest.raises(ScopeError):
        recent_erasures(scope_for(make_user("change_leader")))
    [record] = recent_erasures(admin_scope())
    assert record.pseudonym.startswith("Former employee ") and record.reason == "request"


# --- the retention job --------------------------------------------------------------------------

@pytest.fixture
def app_config():
    return {"LEAVER_RETENTION_DAYS": 30}


def test_leavers_are_due_only_once_their_last_day_is_past_the_retention(app, db):
    long_gone = make_leaver(last_day=dt.date(2026, 10, 23))  # 31 days before 2026-11-23
    just_gone = make_leaver(last_day=dt.date(2026, 10, 24))  # 30 days before
    make_employee()
    assert leavers_due(dt.date(2026, 11, 23), 30) == [long_gone]
    assert leavers_due(dt.date(2026, 11, 24), 30) == [long_gone, just_gone]


def test_erase_leavers_erases_those_due_once_and_says_how_many(app, db):
    long_gone = make_leaver(last_day=dt.date(2026, 10, 1), full_name="Lena Leaver")
    recent = make_leaver(last_day=dt.date(2026, 11, 20), full_name="Rita Recent")
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["erase-leavers", "--today", "2026-11-23"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "erased: people=1 accounts=0 left_before=2026-10-24"
    db.session.expire_all()
    assert long_gone.full_name.startswith("Former employee") and recent.full_name == "Rita Recent"
    assert db.session.scalar(select(Erasure.reason)) == "retention"
    again = runner.invoke(args=["erase-leavers", "--today", "2026-11-23"])
    assert again.output.strip() == "erased: people=0 accounts=0 left_before=2026-10-24"


# --- the roster ---------------------------------------------------------------------------------

ROSTER = "employee_id,email,full_name,unit,end_date\n{hr_id},{email},Lena Leaver,Acme/EMEA/Sales North,{end}\n"


def test_a_roster_still_listing_them_as_a_leaver_does_not_bring_them_back_nor_keeps_their_row(app, db):
    from adoption.roster import import_roster_text

    leaver = make_leaver(hr_id="E-77", email="lena@acme.example")
    erase_on_request(admin_scope(), leaver, NOW)
    text = ROSTER.format(hr_id="E-77", email="lena@acme.example", end="2026-06-30") + \
        "E-78,bo@acme.example,Bo Stayer,Acme/EMEA/Sales North,\n"
    record, plan = import_roster_text(text, "hr.csv", effective=dt.date(2026, 11, 23), now=NOW, full=False)
    assert not plan.errors and [(e.line, e.employee_id) for e in plan.erased] == [(2, "E-77")]
    assert "erased on 2026-11-23" in plan.erased[0].reason
    assert [r.hr_id for r in plan.creates] == ["E-78"]
    assert db.session.scalar(select(func.count(Employee.id)).where(Employee.full_name == "Lena Leaver")) == 0
    kept = record.content.decode()
    assert "E-77" not in kept and "Lena" not in kept and kept.splitlines()[2].startswith("E-78,")
    assert record.summary["counts"]["erased"] == 1 and "E-77" not in str(record.summary)


def test_a_numeric_hr_id_is_replaced_where_it_is_a_field_and_never_inside_text(app, db):
    """HR ids are often numbers: the report's counts, another person's title and a message's
    figures must survive the rewrite; only the fields holding the id change."""
    from adoption.models import RosterImport
    from adoption.roster import import_roster_text

    text = ("employee_id,email,full_name,title,unit,manager_employee_id\n"
            "3,lena@acme.example,Lena Leaver,Lead,Acme/EMEA/Sales North,\n"
            + "".join(f"{n},p{n}@acme.example,Person {n},Level 3,Acme/EMEA/Sales North,3\n" for n in (10, 11)))
    record, plan = import_roster_text(text, "hr.csv", effective=dt.date(2026, 1, 5), now=NOW, full=False)
    assert plan.counts()["created"] == 3
    db.session.add(OutboxMessage(kind="digest", recipients=["bo@acme.example"], subject="3 of 13 planned",
                                 body="Lena Leaver did 3 visits"))
    lena = db.session.scalar(select(Employee).where(Employee.hr_id == "3"))
    lena.active = False
    end_membership(lena, dt.date(2026, 7, 1))
    erase_on_request(admin_scope(), lena, NOW)
    stored = db.session.get(RosterImport, record.id)
    assert stored.summary["counts"]["created"] == 3 and stored.summary["counts"]["rows"] == 3
    assert stored.content.decode().splitlines() == [
        "employee_id,email,full_name,title,unit,manager_employee_id", "",
        f"10,p10@acme.example,Person 10,Level 3,Acme/EMEA/Sales North,erased-{lena.id}",
        f"11,p11@acme.example,Person 11,Level 3,Acme/EMEA/Sales North,erased-{lena.id}"]
    message = db.session.scalar(select(OutboxMessage))
    assert (message.subject, message.body) == ("3 of 13 planned", f"Former employee {lena.id} did 3 visits")


def test_an_uploaded_roster_reports_the_erased_leavers_row_at_preview_and_once_applied(app, db):
    from adoption.roster import apply_upload, preview_upload, stage_upload

    erase_on_request(admin_scope(), make_leaver(hr_id="E-77", email="lena@acme.example"), NOW)
    text = ROSTER.format(hr_id="E-77", email="lena@acme.example", end="2026-06-30") + \
        "E-78,bo@acme.example,Bo Stayer,Acme/EMEA/Sales North,\n"
    upload, _plan = stage_upload("hr.csv", text.encode(), uploaded_by_id=None, effective=dt.date(2026, 11, 23), full=False)
    assert b"E-77" not in upload.content and b"Lena" not in upload.content
    assert [(e.line, e.reason[:39]) for e in preview_upload(upload).erased] == [
        (2, "a leaver whose personal data was erased")]
    applied = apply_upload(upload, force=False, now=NOW)
    assert [e.line for e in applied.erased] == [2] and upload.summary["counts"]["erased"] == 1
    assert [r.hr_id for r in applied.creates] == ["E-78"]


def test_someone_rehired_under_an_erased_hr_id_gets_a_new_record(app, db):
    leaver = make_leaver(hr_id="E-77", email="lena@acme.example")
    erase_on_request(admin_scope(), leaver, NOW)
    plan = import_roster(io.StringIO(ROSTER.format(hr_id="E-77", email="lena@acme.example", end="")),
                         effective=dt.date(2026, 11, 23), full=False)
    assert not plan.errors and not plan.erased
    back = db.session.scalar(select(Employee).where(Employee.hr_id == "E-77"))
    assert back.id != leaver.id and back.active and back.full_name == "Lena Leaver"
    assert db.session.scalar(select(func.count(UnitMembership.id)).where(UnitMembership.employee_id == back.id)) == 1


# --- the admin page -----------------------------------------------------------------------------

def test_the_admin_erases_a_leaver_after_typing_their_hr_id(app, db, login_as, client):
    leaver = make_leaver(hr_id="E-77", email="lena@acme.example", full_name="Lena Leaver")
    login_as("admin")
    page = client.get("/admin/personal-data?person=E-77").get_data(as_text=True)
    assert 'data-testid="erase-person"' in page and "Type their HR id to confirm" in page

    wrong = client.post("/admin/personal-data/erase", data={"person": "E-77", "confirm": "E-7"}, follow_redirects=True)
    assert "Type E-77 exactly to confirm." in wrong.get_data(as_text=True)
    db.session.expire_all()
    assert leaver.full_name == "Lena Leaver"

    done = client.post("/admin/personal-data/erase", data={"person": "E-77", "confirm": "E-77"}, follow_redirects=True)
    assert f"as Former employee {leaver.id}" in done.get_data(as_text=True)
    db.session.expire_all()
    assert leaver.full_name == f"Former employee {leaver.id}"
    assert client.get("/admin/personal-data?person=E-77").status_code == 404  # no one has that HR id now
    listed = client.get("/admin/personal-data").get_data(as_text=True)
    assert f"Former employee {leaver.id}" in listed and "their request" in listed


def test_the_admin_page_says_why_an_active_employee_cannot_be_erased(app, db, login_as, client):
    make_employee(hr_id="E-12", full_name="Ann Active")
    login_as("admin")
    page = client.get("/admin/personal-data?person=E-12").get_data(as_text=True)
    assert "Ann Active is still on the roster" in page and "Type their HR id to confirm" not in page


def test_nobody_but_an_admin_may_post_an_erasure(app, db, login_as, client):
    leaver = make_leaver(hr_id="E-77", full_name="Lena Leaver")
    login_as("change_leader")
    response = client.post("/admin/personal-data/erase", data={"person": "E-77", "confirm": "E-77"})
    assert response.status_code == 403
    db.session.expire_all()
    assert leaver.full_name == "Lena Leaver"


def test_the_setting_is_zero_or_at_least_30_days():
    from adoption.config import load_settings

    with pytest.raises(ValueError, match="LEAVER_RETENTION_DAYS must be 0"):
        load_settings(environ={"UPTAKE_LEAVER_RETENTION_DAYS": "7"})
    assert load_settings(environ={"UPTAKE_LEAVER_RETENTION_DAYS": "0"})["LEAVER_RETENTION_DAYS"] == 0
    assert load_settings(environ={"UPTAKE_LEAVER_RETENTION_DAYS": "400"})["LEAVER_RETENTION_DAYS"] == 400


def test_an_account_of_the_erased_is_no_longer_found_by_its_old_address(app, db):
    leaver = make_leaver(email="lena@acme.example")
    make_user("employee", leaver)
    erase_on_request(admin_scope(), leaver, NOW)
    assert db.session.scalar(select(User).where(User.email == "lena@acme.example")) is None
