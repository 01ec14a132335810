"""Account administration: the services (adoption/accounts.py: roles, disabling, unlocking,
accounts for the roster) and the admin pages (adoption/views/admin_users.py), end to end, and
what they refuse to everyone but an admin."""
from __future__ import annotations

import contextlib
import datetime as dt
import re
import smtplib

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from adoption.accounts import (
    AccountError,
    accounts_awaiting_invitation,
    change_role,
    count_awaiting_invitation,
    create_roster_accounts,
    employees_without_account,
    issue_password_link,
    set_enabled,
    unlock,
    valid_link,
)
from adoption.models import PasswordLink, Role, User
from tests.adoption.test_password_links import LINK_IN_BODY, NEW_PASSWORD, T0
from tests.conftest import committed_outbox, csrf_token
from tests.factories import DEFAULT_PASSWORD, make_employee, make_user

ROW_EMAIL = re.compile(r'<a href="/admin/users/\d+">([^<]+)</a>')


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _fresh(db, user: User) -> User:
    """``user`` as the database holds it now (after a request wrote it)."""
    db.session.commit()
    db.session.expire_all()
    return db.session.get(User, user.id)


def _state(db) -> dict[str, list]:
    """Every row the account pages could write."""
    db.session.commit()
    return {table: db.session.execute(text(f"SELECT * FROM {table} ORDER BY id")).all()
            for table in ("users", "password_links", "outbox_messages", "employees")}


def _flashes(client) -> list[tuple[str, str]]:
    with client.session_transaction() as session:
        return session.get("_flashes", [])


# ================================================================== services: roles


@pytest.fixture
def admins(db):
    """Two enabled admins."""
    pair = make_user("admin"), make_user("admin")
    db.session.commit()
    return pair


def test_change_role_refuses_ones_own_role(db, admins):
    me, _ = admins
    with pytest.raises(AccountError, match="your own account"):
        change_role(me, Role.EMPLOYEE.value, by=me)
    assert me.role == "admin"


def test_change_role_refuses_ones_own_role_even_for_a_non_admin(db):
    me = make_user("manager", make_employee())
    with pytest.raises(AccountError, match="your own account"):
        change_role(me, Role.ADMIN.value, by=me)
    assert me.role == "manager"


def test_change_role_refuses_demoting_the_last_enabled_admin(db, admins):
    last, other = admins
    other.is_enabled = False  # a disabled admin does not count
    db.session.flush()
    with pytest.raises(AccountError, match="last enabled admin"):
        change_role(last, Role.EXECUTIVE.value, by=other)
    assert last.role == "admin"


def test_change_role_demotes_an_admin_when_another_enabled_admin_exists(db, admins):
    me, other = admins
    change_role(other, Role.CHANGE_LEADER.value, by=me)
    assert _fresh(db, other).role == "change_leader"


def test_change_role_demotes_a_disabled_admin_even_when_one_admin_is_left(db, admins):
    me, other = admins
    other.is_enabled = False
    change_role(other, Role.EMPLOYEE.value, by=me)
    assert other.role == "employee"


def test_change_role_refuses_an_unknown_role(db, admins):
    me, other = admins
    with pytest.raises(AccountError, match="unknown role"):
        change_role(other, "superuser", by=me)
    assert other.role == "admin"


def test_change_role_promotes_an_employee(db, admins):
    me, _ = admins
    someone = make_user("employee", make_employee())
    change_role(someone, Role.MANAGER.value, by=me)
    assert _fresh(db, someone).role == "manager"


# ================================================================== services: enable, disable, unlock


def test_set_enabled_refuses_disabling_oneself(db, admins):
    me, _ = admins
    with pytest.raises(AccountError, match="your own account"):
        set_enabled(me, False, by=me, now=T0)
    assert me.is_enabled


def test_set_enabled_refuses_disabling_the_last_enabled_admin(db, admins):
    last, other = admins
    other.is_enabled = False
    db.session.flush()
    with pytest.raises(AccountError, match="last enabled admin"):
        set_enabled(last, False, by=other, now=T0)
    assert _fresh(db, last).is_enabled


def test_set_enabled_disables_an_admin_when_another_enabled_admin_exists(db, admins):
    me, other = admins
    set_enabled(other, False, by=me, now=T0)
    assert not _fresh(db, other).is_enabled


def test_a_disabled_account_cannot_sign_in_and_an_enabled_one_can_again(client, db, admins):
    me, _ = admins
    someone = make_user("employee", make_employee())
    set_enabled(someone, False, by=me, now=T0)
    db.session.commit()
    assert client.post("/login", data={"email": someone.email, "password": DEFAULT_PASSWORD}).status_code == 401
    set_enabled(someone, True, by=me, now=T0)
    db.session.commit()
    assert client.post("/login", data={"email": someone.email, "password": DEFAULT_PASSWORD}).status_code == 302


def test_disabling_ends_the_accounts_unused_links_only(db, admins):
    me, _ = admins
    someone, bystander = make_user("employee", make_employee()), make_user("employee", make_employee())
    used = PasswordLink(user_id=someone.id, token_hash="u" * 64, purpose="invite", created_at=T0,
                        expires_at=T0 + dt.timedelta(days=7), used_at=T0 + dt.timedelta(hours=1))
    db.session.add(used)
    issue_password_link(someone, "reset", now=T0 + dt.timedelta(hours=2))
    theirs = issue_password_link(bystander, "invite", now=T0)
    later = T0 + dt.timedelta(hours=3)
    set_enabled(someone, False, by=me, now=later)
    db.session.commit()
    ends = dict(db.session.execute(select(PasswordLink.token_hash, PasswordLink.used_at)
                                   .where(PasswordLink.user_id == someone.id)).all())
    assert ends.pop("u" * 64) == T0 + dt.timedelta(hours=1)  # an earlier use stays as it was
    assert list(ends.values()) == [later]
    assert valid_link(theirs, later) is not None


def test_unlock_clears_the_lock_and_the_failure_count(db):
    someone = make_user("employee", make_employee())
    someone.locked_until, someone.failed_logins = T0 + dt.timedelta(minutes=15), 4
    db.session.flush()
    unlock(someone)
    fresh = _fresh(db, someone)
    assert fresh.locked_until is None and fresh.failed_logins == 0


# ================================================================== services: roster accounts


ROSTER_EMAILS = ("boss@acme.example", "chief@acme.example", "lonely@acme.example",
                 "plain@acme.example", "report@acme.example")


@pytest.fixture
def roster(db):
    """A roster: an executive, a manager with an active report, a manager whose only report has
    left, a plain employee; a leaver; one person whose address already has an account (in
    another case) and one whose account is linked under another address."""
    people = {
        "chief": make_employee("Acme", is_executive=True, email="chief@acme.example"),
        "boss": make_employee(email="boss@acme.example"),
        "lonely": make_employee(email="lonely@acme.example"),
        "plain": make_employee(email="plain@acme.example"),
        "gone": make_employee(email="gone@acme.example", active=False),
        "taken": make_employee(email="Taken.Case@acme.example"),
        "linked": make_employee(email="linked@acme.example"),
    }
    people["report"] = make_employee(email="report@acme.example", manager=people["boss"])
    make_employee(email="left.report@acme.example", manager=people["lonely"], active=False)
    make_user("employee", email="taken.case@acme.example").employee = None
    make_user("manager", email="someone.else@acme.example").employee = people["linked"]
    db.session.commit()
    return people


def test_employees_without_account_are_the_active_ones_with_none(db, roster):
    assert [e.email for e in employees_without_account()] == [
        "boss@acme.example", "chief@acme.example", "lonely@acme.example", "plain@acme.example",
        "report@acme.example"]


def test_roster_accounts_are_made_with_the_role_the_roster_implies(db, roster):
    made = create_roster_accounts()
    db.session.commit()
    assert {u.email: u.role for u in made} == {
        "chief@acme.example": "executive",
        "boss@acme.example": "manager",
        "lonely@acme.example": "employee",  # the only report has left
        "plain@acme.example": "employee",
        "report@acme.example": "employee",
    }
    for user in made:
        assert user.employee.email == user.email and user.password_hash is None and user.is_enabled


def test_roster_accounts_leave_out_leavers_and_taken_addresses(db, roster):
    create_roster_accounts()
    db.session.commit()
    emails = set(db.session.scalars(select(User.email)))
    assert "gone@acme.example" not in emails and "linked@acme.example" not in emails
    assert db.session.scalar(select(User.employee_id).where(User.email == "taken.case@acme.example")) is None


def test_roster_accounts_are_idempotent(db, roster):
    assert len(create_roster_accounts()) == 5
    db.session.commit()
    assert create_roster_accounts() == []
    assert employees_without_account() == []


# ================================================================== the race for the last admin


def _other_request(app, db):
    """A second request's app context and session, which waits at most a moment for a lock
    the first request holds (this test runs both in one thread)."""
    context = app.app_context()
    context.push()
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA busy_timeout = 200")
    else:
        connection.exec_driver_sql("SET LOCAL lock_timeout = '1s'")
    return context


@pytest.mark.parametrize("action", ["disable", "demote"])
def test_two_admins_acting_on_each_other_at_once_leave_an_enabled_admin(app, db, admins, action):
    """Admin A disables (demotes) B while B disables (demotes) A: the rule "the last enabled
    admin stays an enabled admin" must hold across concurrent requests too."""
    a_id, b_id = (u.id for u in admins)
    db.session.remove()

    def act(target_id: int, by_id: int) -> None:
        target, by = db.session.get(User, target_id), db.session.get(User, by_id)
        if action == "disable":
            set_enabled(target, False, by=by, now=T0)
        else:
            change_role(target, Role.EMPLOYEE.value, by=by)

    act(b_id, a_id)  # request 1: flushed, not yet committed
    second = _other_request(app, db)
    try:
        act(a_id, b_id)  # request 2, at the same time
        db.session.commit()
    except (AccountError, OperationalError):
        db.session.rollback()  # refused, or made to wait for request 1: either is fine
    finally:
        db.session.remove()
        second.pop()
    with contextlib.suppress(OperationalError):
        db.session.commit()
    db.session.remove()
    enabled_admins = db.session.scalars(
        select(User.id).where(User.role == "admin", User.is_enabled.is_(True))).all()
    assert len(enabled_admins) >= 1


# ================================================================== the pages: creating and inviting


def _create(client, email, role="employee", invite=True):
    data = {"email": email, "role": role}
    if invite:
        data["invite"] = "y"
    return client.post("/admin/users/new", data=data)


def test_an_invited_account_sets_its_password_and_signs_in(app, client, db, login_as):
    login_as("admin")
    employee = make_employee(email="new.hire@acme.example", full_name="Nadia New")
    db.session.commit()
    response = _create(client, "New.Hire@acme.example", "manager")
    assert response.status_code == 302
    account = db.session.scalar(select(User).where(User.email == "new.hire@acme.example"))
    assert response.headers["Location"] == f"/admin/users/{account.id}"
    assert account.role == "manager" and account.employee_id == employee.id and account.password_hash is None

    (message,) = committed_outbox()
    assert message.recipients == ["new.hire@acme.example"] and message.kind == "password_invite"
    assert "Hello Nadia New" in message.body
    token = LINK_IN_BODY.search(message.body).group(1)

    invitee = app.test_client()
    form = invitee.get(f"/password/{token}")
    assert form.status_code == 200 and "new.hire@acme.example" in form.get_data(as_text=True)
    assert invitee.post(f"/password/{token}", data={
        "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).headers["Location"].startswith("/login")
    signed_in = invitee.post("/login", data={
        "email": "new.hire@acme.example", "password": NEW_PASSWORD})
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/"
    assert "new.hire@acme.example" in invitee.get("/").get_data(as_text=True)
    assert invitee.get("/admin/users").status_code == 403  # a manager
    assert invitee.get(f"/password/{token}").status_code == 404


def test_an_account_created_without_invitation_sends_nothing(client, db, login_as):
    login_as("admin")
    assert _create(client, "quiet@acme.example", invite=False).status_code == 302
    assert committed_outbox() == []
    assert db.session.scalar(select(User.password_hash).where(User.email == "quiet@acme.example")) is None


def test_creating_an_account_twice_is_refused_on_the_form(client, db, login_as):
    login_as("admin")
    _create(client, "twice@acme.example")
    response = _create(client, "TWICE@acme.example")
    assert response.status_code == 422 and "already exists" in response.get_data(as_text=True)
    assert len(committed_outbox()) == 1
    assert db.session.scalar(select(func.count()).select_from(User).where(
        User.email == "twice@acme.example")) == 1


def test_inviting_a_leaver_on_creation_is_refused_and_creates_nothing(client, db, login_as):
    login_as("admin")
    make_employee(email="left.already@acme.example", active=False)
    db.session.commit()
    response = _create(client, "left.already@acme.example")
    assert response.status_code == 422 and "has left" in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "left.already@acme.example")) is None
    assert committed_outbox() == []


def test_sending_a_reset_link_from_the_account_page_ends_the_invitation(app, client, db, login_as):
    login_as("admin")
    _create(client, "forgetful@acme.example")
    account = db.session.scalar(select(User).where(User.email == "forgetful@acme.example"))
    response = client.post(f"/admin/users/{account.id}/link", data={"purpose": "reset"})
    assert response.status_code == 302
    invitation, reset = (LINK_IN_BODY.search(m.body).group(1) for m in committed_outbox())
    assert invitation != reset
    assert app.test_client().get(f"/password/{invitation}").status_code == 404
    assert app.test_client().get(f"/password/{reset}").status_code == 200
    assert "open" in client.get(f"/admin/users/{account.id}").get_data(as_text=True)


def test_a_link_for_a_disabled_account_is_refused_from_the_page(client, db, login_as):
    login_as("admin")
    someone = make_user("employee", make_employee())
    someone.is_enabled = False
    db.session.commit()
    response = client.post(f"/admin/users/{someone.id}/link", data={"purpose": "reset"})
    assert response.status_code == 302
    assert _flashes(client)[0][0] == "danger"
    assert committed_outbox() == []


def test_the_account_page_disables_enables_and_unlocks(client, db, login_as):
    me = login_as("admin")
    someone = make_user("employee", make_employee())
    someone.locked_until, someone.failed_logins = _now() + dt.timedelta(minutes=10), 5
    db.session.commit()
    page = client.get(f"/admin/users/{someone.id}").get_data(as_text=True)
    assert f"/admin/users/{someone.id}/disable" in page and f"/admin/users/{someone.id}/unlock" in page
    assert client.post(f"/admin/users/{someone.id}/unlock").status_code == 302
    fresh = _fresh(db, someone)
    assert fresh.locked_until is None and fresh.failed_logins == 0
    assert client.post(f"/admin/users/{someone.id}/disable").status_code == 302
    assert not _fresh(db, someone).is_enabled
    assert client.post(f"/admin/users/{someone.id}/enable").status_code == 302
    assert _fresh(db, someone).is_enabled
    assert client.post(f"/admin/users/{someone.id}/role", data={"role": "change_leader"}).status_code == 302
    assert _fresh(db, someone).role == "change_leader"
    assert _fresh(db, me).role == "admin"


def test_an_unknown_role_from_the_page_is_refused(client, db, login_as):
    login_as("admin")
    someone = make_user("employee", make_employee())
    db.session.commit()
    assert client.post(f"/admin/users/{someone.id}/role", data={"role": "superuser"}).status_code == 400
    assert _fresh(db, someone).role == "employee"


def test_an_unknown_account_is_404(client, db, login_as):
    login_as("admin")
    assert client.get("/admin/users/9999").status_code == 404
    assert client.post("/admin/users/9999/disable").status_code == 404


# ================================================================== an admin and their own account


def test_an_admin_cannot_change_their_own_role_through_the_page(client, db, login_as):
    me = login_as("admin")
    make_user("admin")  # so that "the last admin" is not what refuses
    db.session.commit()
    response = client.post(f"/admin/users/{me.id}/role", data={"role": "employee"})
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/users/{me.id}"
    assert _flashes(client)[0][0] == "danger" and "your own account" in _flashes(client)[0][1]
    assert _fresh(db, me).role == "admin"
    assert client.get("/admin/users").status_code == 200


def test_an_admin_cannot_disable_themselves_through_the_page(client, db, login_as):
    me = login_as("admin")
    make_user("admin")
    db.session.commit()
    response = client.post(f"/admin/users/{me.id}/disable")
    assert response.status_code == 302
    assert "your own account" in _flashes(client)[0][1]
    assert _fresh(db, me).is_enabled
    assert client.get("/admin/users").status_code == 200


def test_the_own_account_page_offers_no_role_or_disable_form(client, db, login_as):
    me = login_as("admin")
    page = client.get(f"/admin/users/{me.id}").get_data(as_text=True)
    assert "This is your own account" in page
    assert f"/admin/users/{me.id}/role" not in page and f"/admin/users/{me.id}/disable" not in page


# ================================================================== the list


def _listed(client, query="") -> list[str]:
    response = client.get(f"/admin/users{query}")
    assert response.status_code == 200
    return ROW_EMAIL.findall(response.get_data(as_text=True))


@pytest.fixture
def accounts(db, login_as):
    """One account in each state, with the admin who looks at them."""
    admin = login_as("admin")
    now = _now()
    made = {"admin": admin}
    made["active"] = make_user("manager", make_employee(full_name="Zelda Quartermain"), email="zq@acme.example")
    made["invited"] = make_user("employee", make_employee(email="invited@acme.example", full_name="Ivy Invite"))
    made["invited"].password_hash = None
    made["locked"] = make_user("employee", make_employee(email="locked@acme.example"))
    made["locked"].locked_until = now + dt.timedelta(minutes=10)
    made["disabled"] = make_user("change_leader", make_employee(email="disabled@acme.example"))
    made["disabled"].is_enabled = False
    made["left"] = make_user("executive", make_employee(email="left@acme.example", active=False))
    db.session.commit()
    return made


def test_search_finds_an_account_by_name(client, accounts):
    assert _listed(client, "?q=quarterMAIN") == ["zq@acme.example"]


def test_search_finds_an_account_by_email(client, accounts):
    assert _listed(client, "?q=INVITED@") == ["invited@acme.example"]


def test_search_finds_nothing_for_a_stranger(client, accounts):
    response = client.get("/admin/users?q=nobody-at-all")
    assert ROW_EMAIL.findall(response.get_data(as_text=True)) == []
    assert "No account matches." in response.get_data(as_text=True)


def test_search_treats_percent_and_underscore_as_plain_characters(client, db, accounts):
    make_user("employee", email="john_doe@acme.example")
    make_user("employee", email="johnxdoe@acme.example")
    db.session.commit()
    assert _listed(client, "?q=john_doe") == ["john_doe@acme.example"]
    assert _listed(client, "?q=%25") == []


def test_the_role_filter_keeps_that_role(client, accounts):
    assert _listed(client, "?role=manager") == ["zq@acme.example"]
    assert _listed(client, "?role=admin") == [accounts["admin"].email]


def test_an_unknown_role_filter_is_ignored(client, accounts):
    assert len(_listed(client, "?role=superuser")) == len(accounts)


@pytest.mark.parametrize(("status", "expected"), [
    ("active", {"admin", "active", "locked"}),
    ("invited", {"invited"}),
    ("locked", {"locked"}),
    ("disabled", {"disabled"}),
    ("left", {"left"}),
    ("all", {"admin", "active", "invited", "locked", "disabled", "left"}),
])
def test_the_status_filter_keeps_the_accounts_in_that_state(client, accounts, status, expected):
    assert set(_listed(client, f"?status={status}")) == {accounts[k].email for k in expected}


def test_the_invited_filter_leaves_out_leavers_who_cannot_accept(client, db, accounts):
    gone = make_user("employee", make_employee(email="never.came@acme.example", active=False))
    gone.password_hash = None
    db.session.commit()
    assert "never.came@acme.example" not in _listed(client, "?status=invited")
    assert "never.came@acme.example" in _listed(client, "?status=left")


def test_filters_and_search_combine(client, accounts):
    assert _listed(client, "?q=acme&role=employee&status=locked") == ["locked@acme.example"]


def test_the_list_is_paged_by_fifty(client, db, login_as):
    admin = login_as("admin")
    for n in range(60):
        make_user("employee", email=f"bulk{n:03d}@acme.example")
    db.session.commit()
    first = client.get("/admin/users").get_data(as_text=True)
    assert len(ROW_EMAIL.findall(first)) == 50
    assert "61 accounts" in first and "Page 1 of 2" in first
    assert re.search(r'href="/admin/users\?page=2"', first)
    second = _listed(client, "?page=2")
    assert len(second) == 11
    assert set(ROW_EMAIL.findall(first)) | set(second) == {admin.email} | {
        f"bulk{n:03d}@acme.example" for n in range(60)}
    assert _listed(client, "?page=3") == []


def test_paging_keeps_the_filters(client, db, login_as):
    login_as("admin")
    for n in range(55):
        make_user("employee", email=f"bulk{n:03d}@acme.example")
    db.session.commit()
    page = client.get("/admin/users?q=bulk&role=employee").get_data(as_text=True)
    assert "55 accounts match" in page
    link = re.search(r'href="(/admin/users\?[^"]*page=2[^"]*)"', page).group(1).replace("&amp;", "&")
    assert "q=bulk" in link and "role=employee" in link
    assert len(_listed(client, link.removeprefix("/admin/users"))) == 5


def test_a_nonsense_page_number_shows_the_first_page(client, db, accounts):
    assert len(_listed(client, "?page=-3")) == len(accounts)
    assert len(_listed(client, "?page=abc")) == len(accounts)


# ================================================================== accounts for the roster, from the page


def test_the_roster_button_creates_and_invites_everyone_without_an_account(client, db, login_as, roster):
    login_as("admin")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Create and invite 5" in page
    response = client.post("/admin/users/roster-accounts")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users"
    ((category, message),) = _flashes(client)
    assert category == "success" and message.startswith("5 account(s) created (")
    assert message.endswith("; 5 invited.")
    assert sorted(message[message.index("(", 12) + 1:message.index(")", 12)].split(", ")) == [
        "1 executive", "1 manager", "3 employee"]
    messages = committed_outbox()
    assert sorted(r for m in messages for r in m.recipients) == [
        "boss@acme.example", "chief@acme.example", "lonely@acme.example", "plain@acme.example",
        "report@acme.example"]
    assert all(m.kind == "password_invite" and LINK_IN_BODY.search(m.body) for m in messages)
    assert len(db.session.scalars(select(PasswordLink)).all()) == 5


def test_the_roster_button_a_second_time_makes_and_sends_nothing(client, db, login_as, roster):
    login_as("admin")
    client.post("/admin/users/roster-accounts")
    users_before = len(db.session.scalars(select(User)).all())
    response = client.post("/admin/users/roster-accounts")
    assert response.status_code == 302
    assert len(committed_outbox()) == 5
    assert len(db.session.scalars(select(User)).all()) == users_before
    assert "Create and invite" not in client.get("/admin/users").get_data(as_text=True)


def test_when_the_mail_server_fails_midway_the_accounts_stay_and_the_admin_is_told_who_is_left(
        app, client, db, login_as, roster, monkeypatch):
    login_as("admin")
    sent = []

    def flaky_send_mail(recipients, subject, body, **_kwargs):
        if len(sent) == 2:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        sent.extend(recipients)
        return 1

    monkeypatch.setattr("adoption.accounts.send_mail", flaky_send_mail)
    response = client.post("/admin/users/roster-accounts")
    assert response.status_code == 302
    (ok_category, ok), (bad_category, bad) = _flashes(client)
    assert ok_category == "success" and ok.endswith("; 2 invited.")
    assert bad_category == "danger" and bad.startswith("3 invitation(s) were not sent")
    assert "Connection unexpectedly closed" in bad
    db.session.expire_all()
    # All five accounts exist; the two invited have a live link each, the three others none.
    accounts = db.session.scalars(select(User).where(User.email.in_(ROSTER_EMAILS))).all()
    assert len(accounts) == 5
    linked = {link.user.email for link in db.session.scalars(select(PasswordLink))}
    assert linked == set(sent)
    # All five are listed under "No password yet", from where the admin sends the rest later.
    page = client.get("/admin/users?status=invited").get_data(as_text=True)
    assert sorted(ROW_EMAIL.findall(page)) == sorted(ROSTER_EMAILS)
    assert "Create and invite" not in page
    # The three never invited are offered new invitations in one press.
    assert "Send 3 new invitations" in page


def test_a_mail_failure_on_a_single_invitation_creates_nothing_and_says_why(client, db, login_as,
                                                                           monkeypatch):
    login_as("admin")

    def down(*_args, **_kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr("adoption.accounts.send_mail", down)
    response = _create(client, "someone@acme.example")
    assert response.status_code == 422
    assert "the mail server failed" in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "someone@acme.example")) is None


@pytest.fixture
def waiting(db):
    """Accounts in every state an invitation can be in; returns e-mail -> user."""
    now = _now()
    people = {
        "expired": make_user("employee", make_employee(email="expired@acme.example"), password=None),
        "open": make_user("employee", make_employee(email="open@acme.example"), password=None),
        "never": make_user("manager", make_employee(email="never@acme.example"), password=None),
        "ended": make_user("employee", make_employee(email="ended@acme.example"), password=None),
        "disabled": make_user("employee", make_employee(email="disabled@acme.example"), password=None),
        "gone": make_user("employee", make_employee(email="gone@acme.example", active=False),
                          password=None),
        "has_password": make_user("employee", make_employee(email="pw@acme.example")),
    }
    db.session.flush()
    issue_password_link(people["expired"], "invite", now=now - dt.timedelta(days=8))
    issue_password_link(people["open"], "invite", now=now - dt.timedelta(days=6))
    issue_password_link(people["ended"], "invite", now=now)
    issue_password_link(people["ended"], "invite", now=now)  # ends the first; the second is open…
    db.session.execute(text("UPDATE password_links SET used_at = :now WHERE user_id = :id"),
                       {"now": now, "id": people["ended"].id})  # …and this ends it too
    people["disabled"].is_enabled = False
    db.session.commit()
    return people


def test_accounts_awaiting_an_invitation_are_those_without_password_or_open_link(db, waiting):
    assert [u.email for u in accounts_awaiting_invitation(_now())] == [
        "ended@acme.example", "expired@acme.example", "never@acme.example"]
    assert count_awaiting_invitation(_now()) == 3


def test_new_invitations_go_to_the_accounts_awaiting_one_and_a_second_press_sends_none(
        client, db, login_as, waiting):
    login_as("admin")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Send 3 new invitations" in page
    # Each account without a password says whether a link is open, and until when.
    rows = {m.group(1): m.group(2) for m in re.finditer(
        r'<a href="/admin/users/\d+">([^<]+)</a>(.*?)</tr>', page, re.DOTALL)}
    assert "link open until" in rows["open@acme.example"]
    for email in ("expired@acme.example", "never@acme.example", "ended@acme.example"):
        assert "no open link" in rows[email], email
    assert "link" not in rows["pw@acme.example"]
    response = client.post("/admin/users/reinvite")
    assert response.status_code == 302
    assert _flashes(client) == [("success", "3 new invitation(s) sent.")]
    assert sorted(r for m in committed_outbox() for r in m.recipients) == [
        "ended@acme.example", "expired@acme.example", "never@acme.example"]
    client.post("/admin/users/reinvite")
    assert len(committed_outbox()) == 3
    assert 'data-testid="reinvite"' not in client.get("/admin/users").get_data(as_text=True)


@pytest.mark.parametrize("role", ["employee", "manager", "change_leader", "executive"])
def test_only_an_admin_sends_new_invitations(client, db, login_as, waiting, role):
    login_as(role)
    assert client.post("/admin/users/reinvite").status_code == 403
    assert committed_outbox() == []


# ================================================================== refused to everyone else


@pytest.fixture
def targets(db):
    """Accounts an attacker would act on, and an employee without an account."""
    victim = make_user("employee", make_employee(email="victim@acme.example"))
    victim.locked_until = _now() + dt.timedelta(minutes=10)
    off = make_user("employee", make_employee(email="off@acme.example"))
    off.is_enabled = False
    make_user("admin", email="the.admin@acme.example")
    make_employee(email="no.account@acme.example")
    db.session.commit()
    return {"victim": victim.id, "off": off.id}


def _attacks(me: int, t: dict) -> list[tuple[str, str, dict | None]]:
    """Every admin route: (method, path, form)."""
    v = t["victim"]
    return [
        ("GET", "/admin/users", None),
        ("GET", "/admin/users?q=victim&role=employee&status=locked&page=1", None),
        ("GET", "/admin/users/new", None),
        ("POST", "/admin/users/new", {"email": "intruder@acme.example", "role": "admin", "invite": "y"}),
        ("GET", f"/admin/users/{v}", None),
        ("POST", f"/admin/users/{v}/role", {"role": "admin"}),
        ("POST", f"/admin/users/{me}/role", {"role": "admin"}) if me else
        ("POST", f"/admin/users/{v}/role", {"role": "change_leader"}),
        ("POST", f"/admin/users/{v}/disable", {}),
        ("POST", f"/admin/users/{t['off']}/enable", {}),
        ("POST", f"/admin/users/{v}/unlock", {}),
        ("POST", f"/admin/users/{v}/link", {"purpose": "reset"}),
        ("POST", f"/admin/users/{v}/link", {"purpose": "invite"}),
        ("POST", "/admin/users/roster-accounts", {}),
        ("POST", "/admin/users/reinvite", {}),
    ]


@pytest.mark.parametrize("role", ["employee", "manager", "change_leader", "executive"])
def test_every_admin_route_is_forbidden_to_other_roles_and_changes_nothing(client, db, login_as, targets, role):
    me = login_as(role)
    before = _state(db)
    for method, path, data in _attacks(me.id, targets):
        response = client.open(path, method=method, data=data)
        assert response.status_code == 403, (method, path)
    assert _state(db) == before


def test_every_admin_route_sends_an_anonymous_client_to_sign_in_and_changes_nothing(client, db, targets):
    before = _state(db)
    for method, path, data in _attacks(0, targets):
        response = client.open(path, method=method, data=data)
        assert response.status_code == 302, (method, path)
        assert response.headers["Location"].startswith("/login?next="), (method, path)
    assert _state(db) == before


def test_a_disabled_admins_session_loses_the_admin_pages(app, client, db, login_as, targets):
    me = login_as("admin")
    other = app.test_client()
    assert other.post("/login", data={
        "email": "the.admin@acme.example", "password": DEFAULT_PASSWORD}).status_code == 302
    assert other.post(f"/admin/users/{me.id}/disable").status_code == 302
    assert not _fresh(db, me).is_enabled
    before = _state(db)
    response = client.post(f"/admin/users/{targets['victim']}/disable")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert _state(db) == before


# ================================================================== CSRF


@pytest.fixture
def csrf_admin(app, client, db, targets):
    """The client signed in as an admin through the real form, with CSRF on."""
    app.config["WTF_CSRF_ENABLED"] = True
    client.post("/login", data={"email": "the.admin@acme.example", "password": DEFAULT_PASSWORD,
                                "csrf_token": csrf_token(client, "/login")})
    assert client.get("/admin/users").status_code == 200
    return client


def test_every_admin_post_without_a_csrf_token_is_refused(csrf_admin, db, targets):
    before = _state(db)
    for method, path, data in _attacks(0, targets):
        if method == "POST":
            response = csrf_admin.post(path, data=data)
            assert response.status_code == 400, path
            assert "Form expired" in response.get_data(as_text=True), path
    assert _state(db) == before


def test_an_admin_post_with_the_pages_csrf_token_works(csrf_admin, db, targets):
    victim = targets["victim"]
    token = csrf_token(csrf_admin, f"/admin/users/{victim}")
    assert csrf_admin.post(f"/admin/users/{victim}/disable", data={"csrf_token": token}).status_code == 302
    assert not db.session.get(User, victim).is_enabled
