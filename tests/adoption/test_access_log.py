"""The access log (adoption/access_changes.py): every change to an account's access or to an API
token is recorded with the change, in the same transaction, by whom; only admins read it; a
person finds the changes to their own account in their personal data."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from adoption.access_changes import access_log, account_history, own_history
from adoption.accounts import (
    AccountError,
    LoginPolicy,
    authenticate,
    change_role,
    create_roster_accounts,
    issue_password_link,
    redeem_password_link,
    set_enabled,
    unlock,
)
from adoption.erasure import erase_on_request
from adoption.models import AccessChange, User
from adoption.models.access_changes import NO_ACTOR
from adoption.org import end_membership, ensure_unit, move_employee
from adoption.scope import ScopeError, scope_for
from adoption.tokens import issue_token, revoke_token
from tests.factories import DEFAULT_PASSWORD, make_employee, make_user

NOW = dt.datetime(2026, 5, 4, 9, 30)


def _log(db) -> list[tuple]:
    """(action, account e-mail, before, after, admin e-mail) of every change, oldest first."""
    db.session.flush()
    rows = db.session.scalars(select(AccessChange).order_by(AccessChange.id))
    return [(c.action, c.user.email if c.user else None, c.before, c.after,
             c.actor.email if c.actor else None) for c in rows]


def _table(response) -> str:
    """The access log's table on the page (the filter's options name every change too)."""
    page = response.get_data(as_text=True)
    return page[page.index('data-testid="access-log"'):]


def _count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(AccessChange))


# ---------------------------------------------------------------- what is recorded


def test_an_admin_changing_a_role_is_recorded_with_both_roles_and_the_admin(db):
    admin, someone = make_user("admin"), make_user("employee")
    change_role(someone, "manager", by=admin)
    assert _log(db)[-1] == ("role_changed", someone.email, "employee", "manager", admin.email)


def test_giving_an_account_the_role_it_has_records_nothing(db):
    admin, someone = make_user("admin"), make_user("employee")
    before = _count(db)
    change_role(someone, "employee", by=admin)
    assert _count(db) == before


def test_a_refused_change_records_nothing(db):
    admin, someone = make_user("admin"), make_user("employee")
    before = _count(db)
    with pytest.raises(AccountError):
        change_role(admin, "employee", by=admin)  # one's own role
    with pytest.raises(AccountError):
        change_role(admin, "employee", by=someone)  # the last enabled admin
    with pytest.raises(AccountError):
        set_enabled(admin, False, by=someone, now=NOW)
    assert _count(db) == before


def test_disabling_and_enabling_are_recorded_once_each(db):
    admin, someone = make_user("admin"), make_user("employee")
    set_enabled(someone, False, by=admin, now=NOW)
    set_enabled(someone, False, by=admin, now=NOW)  # already disabled: no change
    set_enabled(someone, True, by=admin, now=NOW)
    assert [row[0] for row in _log(db) if row[1] == someone.email] == [
        "account_created", "disabled", "enabled"]


def test_a_lockout_after_failed_sign_ins_is_recorded_as_the_apps_doing(db):
    someone = make_user("employee")
    policy = LoginPolicy(max_failures=3, lockout=dt.timedelta(minutes=15))
    for _ in range(3):
        assert authenticate(someone.email, "wrong password", NOW, policy) is None
    change = db.session.scalars(select(AccessChange).order_by(AccessChange.id.desc())).first()
    assert (change.action, change.user_id, change.actor_id, change.at) == ("locked", someone.id, None, NOW)


def test_unlocking_is_recorded_only_when_the_account_was_locked(db):
    admin, someone = make_user("admin"), make_user("employee")
    unlock(someone, by=admin)
    assert _log(db)[-1][0] == "account_created"
    someone.locked_until = NOW + dt.timedelta(minutes=5)
    unlock(someone, by=admin)
    assert _log(db)[-1] == ("unlocked", someone.email, None, None, admin.email)


def test_a_password_set_through_a_link_is_recorded_after_the_invitation(db):
    admin, someone = make_user("admin"), make_user("employee")
    token = issue_password_link(someone, "invite", now=NOW, by=admin)
    redeem_password_link(token, "a brand new passphrase", now=NOW + dt.timedelta(hours=1))
    assert [row[0] for row in _log(db) if row[1] == someone.email][-2:] == ["invited", "password_set"]
    assert _log(db)[-1][4] is None  # the person set it themselves


def test_accounts_for_the_roster_are_recorded_with_their_roles_and_the_admin(db):
    admin = make_user("admin")
    boss = make_employee("Acme/EMEA")
    make_employee("Acme/EMEA", manager_id=boss.id)
    made = create_roster_accounts(by=admin)
    created = {row[1]: (row[3], row[4]) for row in _log(db) if row[0] == "account_created" and row[4]}
    assert created == {u.email: (u.role, admin.email) for u in made}
    assert created[boss.email.lower()] == ("manager", admin.email)


def test_issuing_and_revoking_a_token_are_recorded_with_the_token_and_its_scope(db):
    admin = make_user("admin")
    token, _ = issue_token("Salesforce connector", "events:write", created_by_id=admin.id, now=NOW)
    revoke_token(token.id, now=NOW, by_id=admin.id)
    revoke_token(token.id, now=NOW + dt.timedelta(days=1), by_id=admin.id)  # revoked already
    changes = db.session.scalars(select(AccessChange).where(AccessChange.token_id == token.id)
                                 .order_by(AccessChange.id)).all()
    assert [(c.action, c.after, c.actor_id, c.at) for c in changes] == [
        ("token_issued", "events:write", admin.id, NOW), ("token_revoked", None, admin.id, NOW)]


def test_a_change_rolled_back_leaves_no_log_row(db):
    admin, someone = make_user("admin"), make_user("employee")
    db.session.commit()
    before = _count(db)
    change_role(someone, "change_leader", by=admin)
    db.session.rollback()
    assert _count(db) == before
    assert db.session.get(User, someone.id).role == "employee"


def test_erasing_a_leaver_records_their_account_disabled_and_shows_it_under_the_pseudonym(app, db):
    admin = make_user("admin")
    leaver = make_employee("Acme/EMEA")
    account = make_user("employee", leaver)
    leaver.active = False
    db.session.flush()
    end_membership(leaver, dt.date(2026, 4, 1))
    erase_on_request(scope_for(admin), leaver, NOW)
    history = account_history(scope_for(admin), account)
    assert [(c.actor_id, c.at) for c in history if c.action == "disabled"] == [(admin.id, NOW)]
    assert {c.user.email for c in history} == {account.email} and account.email.endswith("erased.invalid")


# ---------------------------------------------------------------- who may read it


@pytest.mark.parametrize("role", ["employee", "manager", "change_leader", "executive"])
def test_only_admins_read_the_log_in_the_data_layer(db, role):
    reader = make_user(role, make_employee("Acme/EMEA", is_executive=role == "executive"))
    with pytest.raises(ScopeError):
        access_log(scope_for(reader))
    with pytest.raises(ScopeError):
        account_history(scope_for(reader), reader)


@pytest.mark.parametrize("role", ["employee", "manager", "change_leader", "executive"])
def test_the_access_log_page_is_refused_to_everyone_but_admins(client, login_as, role):
    login_as(role)
    assert client.get("/admin/access-log").status_code == 403


def test_a_person_reads_the_changes_to_their_own_account_in_their_data(client, db, login_as):
    me = login_as("employee")
    admin = make_user("admin")
    change_role(me, "manager", by=admin)
    db.session.commit()
    sections = {s["key"]: s for s in client.get("/me/data.json").get_json()["sections"]}
    records = sections["account_changes"]["records"]
    assert [(r["change"], r["before"], r["after"], r["by"]) for r in records] == [
        ("Account created", None, "employee", NO_ACTOR), ("Role changed", "employee", "manager", admin.email)]
    assert own_history(me)[-1]["by"] == admin.email


# ---------------------------------------------------------------- the pages


@pytest.fixture
def logged(client, db, login_as):
    """A signed-in admin who made dana.lee@acme.example a manager, then issued ``TOKEN``."""
    me = login_as("admin")
    change_role(make_user("employee", email="dana.lee@acme.example"), "manager", by=me)
    issue_token(TOKEN, "read", created_by_id=me.id)
    db.session.commit()
    return me


TOKEN = '=HYPERLINK("http://evil.example","x")'


def test_the_access_log_page_lists_changes_newest_first_and_filters_them(client, logged):
    page = _table(client.get("/admin/access-log"))
    assert page.index("HYPERLINK") < page.index("Role changed") < page.index("Account created")
    only_roles = _table(client.get("/admin/access-log?action=role_changed"))
    assert "Role changed" in only_roles and "HYPERLINK" not in only_roles
    dana = _table(client.get("/admin/access-log?q=DANA.LEE"))
    assert "dana.lee@acme.example" in dana and "HYPERLINK" not in dana
    assert client.get("/admin/access-log?action=drop_table").status_code == 400


def test_the_access_log_pages_fifty_changes_at_a_time(client, db, login_as):
    me = login_as("admin")
    for n in range(60):
        make_user("employee", email=f"person{n}@acme.example")
    db.session.commit()
    first = client.get("/admin/access-log").get_data(as_text=True)
    assert first.count("<tr>") - 1 == 50 and "Page 1 of 2" in first
    second = client.get("/admin/access-log?page=2").get_data(as_text=True)
    assert "person0@acme.example" in second and me.email in second


def test_the_account_page_shows_its_access_history(client, db, login_as):
    me = login_as("admin")
    someone = make_user("employee")
    set_enabled(someone, False, by=me, now=NOW)
    db.session.commit()
    page = client.get(f"/admin/users/{someone.id}").get_data(as_text=True)
    history = page[page.index('data-testid="access-history"'):]
    assert "Account disabled" in history and me.email in history and "Account created" in history


def test_changes_made_through_the_admin_pages_name_the_admin(client, db, login_as):
    me = login_as("admin")
    someone = make_user("employee", make_employee("Acme/EMEA"))
    db.session.commit()
    client.post(f"/admin/users/{someone.id}/role", data={"role": "manager"})
    client.post(f"/admin/users/{someone.id}/disable")
    client.post("/admin/users/new", data={"email": "new.person@acme.example", "role": "employee",
                                          "invite": "y"})
    client.post("/admin/tokens", data={"name": "BI export", "scope": "read"})
    token_id = db.session.scalar(select(AccessChange.token_id).where(AccessChange.action == "token_issued"))
    client.post(f"/admin/tokens/{token_id}/revoke")
    db.session.expire_all()
    by_page = db.session.execute(select(AccessChange.action, AccessChange.actor_id)
                                 .where(AccessChange.actor_id.is_not(None))).all()
    assert {action for action, _ in by_page} >= {"role_changed", "disabled", "account_created",
                                                 "token_issued", "token_revoked"}
    assert {actor for _, actor in by_page} == {me.id}


def test_create_user_from_the_command_line_is_recorded_without_an_admin(app, db):
    result = app.test_cli_runner().invoke(args=["create-user", "ops@acme.example", "--role", "admin",
                                                "--password-stdin"], input=DEFAULT_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert _log(db)[-1] == ("account_created", "ops@acme.example", None, "admin", None)


def test_unit_moves_are_not_access_changes(db):
    """Moving someone between units changes what a manager sees, not the account: not logged."""
    someone = make_employee("Acme/EMEA")
    make_user("manager", someone)
    before = _count(db)
    move_employee(someone, ensure_unit("Acme/APAC"), NOW.date())
    assert _count(db) == before


def test_the_access_log_downloads_as_csv_with_its_filters_and_formulas_as_text(client, db, logged):
    response = client.get("/admin/access-log.csv?action=role_changed")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["action"], r["account"], r["before"], r["after"], r["by"]) for r in rows] == [
        ("role_changed", "dana.lee@acme.example", "employee", "manager", logged.email)]
    everything = list(csv.DictReader(io.StringIO(client.get("/admin/access-log.csv").get_data(as_text=True))))
    assert len(everything) == _count(db)
    token_row = next(r for r in everything if r["action"] == "token_issued")
    assert token_row["token"].startswith(f"'{TOKEN} (upt_")


def test_the_access_log_download_is_refused_to_everyone_but_admins(client, login_as):
    login_as("change_leader")
    assert client.get("/admin/access-log.csv").status_code == 403
