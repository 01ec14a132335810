"""Erasing an account with no employee record (an admin, an outside consultant: adoption/erasure.py).
Its holder "leaves" when the account is disabled; erasing it removes the e-mail, password, one-time
links, sign-ins and mail, and keeps the account under a pseudonym on the record of what it did."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from adoption.accounts import issue_password_link, set_enabled
from adoption.erasure import (
    ERASED_DOMAIN,
    ErasureError,
    accounts_due,
    erase_account_on_request,
    erase_on_request,
    recent_erasures,
)
from adoption.models import AccessChange, Erasure, OutboxMessage, PasswordLink, SignIn, User
from adoption.scope import ScopeError, scope_for
from adoption.sign_ins import record_attempt
from tests.adoption.database_search import mentions_in_database
from tests.factories import make_employee, make_leaver, make_user

NOW = dt.datetime(2026, 11, 23, 12)
ADDRESS = "consultant@partner.example"


@pytest.fixture
def app_config():
    return {"LEAVER_RETENTION_DAYS": 30}


def _admin():
    """An admin account (a new one each call) and its scope."""
    admin = make_user("admin")
    return admin, scope_for(admin)


def make_departed(disabled_at: dt.datetime = dt.datetime(2026, 9, 30, 17), email: str = ADDRESS) -> User:
    """A consultant's change-leader account with no employee record, disabled by an admin at ``disabled_at``."""
    user = make_user("change_leader", email=email)
    set_enabled(user, False, by=_admin()[0], now=disabled_at)
    return user


# --- who and when -------------------------------------------------------------------------------


def test_an_account_that_can_still_sign_in_is_not_erased(app, db):
    user = make_user("change_leader", email=ADDRESS)
    with pytest.raises(ErasureError, match="can still sign in"):
        erase_account_on_request(_admin()[1], user, NOW)
    assert user.email == ADDRESS and db.session.scalar(select(func.count(Erasure.id))) == 0


def test_a_change_leader_cannot_erase_an_account(app, db):
    user = make_departed()
    with pytest.raises(ScopeError):
        erase_account_on_request(scope_for(make_user("change_leader")), user, NOW)
    assert user.email == ADDRESS


def test_an_employees_account_is_erased_only_with_the_person(app, db):
    employee = make_employee(email="lena@acme.example")
    account = make_user("employee", employee)
    account.is_enabled = False
    with pytest.raises(ErasureError, match="erase the person"):
        erase_account_on_request(_admin()[1], account, NOW)
    assert account.email == "lena@acme.example"


def test_an_account_is_erased_once(app, db):
    user = make_departed()
    erase_account_on_request(_admin()[1], user, NOW)
    with pytest.raises(ErasureError, match="erased on 2026-11-23"):
        erase_account_on_request(_admin()[1], user, NOW)


def test_an_erasure_names_exactly_one_subject(app, db):
    """The database itself refuses a record naming neither an employee nor an account, or both."""
    employee, user = make_employee(), make_user("admin")
    for subject in ({}, {"employee_id": employee.id, "user_id": user.id}):
        with pytest.raises(IntegrityError), db.session.begin_nested():
            db.session.add(Erasure(reason="request", erased_at=NOW, counts={}, **subject))
            db.session.flush()


# --- what goes and what stays -------------------------------------------------------------------


def test_erasing_an_account_removes_what_names_it_and_keeps_the_record_of_what_it_did(app, db):
    user = make_user("change_leader", email=ADDRESS)
    issue_password_link(user, "reset", now=NOW - dt.timedelta(days=60))
    record_attempt("signed_in", user=user, address="192.0.2.1", at=NOW - dt.timedelta(days=55))
    record_attempt("wrong_password", user=user, address="192.0.2.1", at=NOW - dt.timedelta(days=56))
    db.session.add_all([
        OutboxMessage(kind="invitation", recipients=[ADDRESS.upper()], subject="Your account", body="Welcome"),
        OutboxMessage(kind="digest", recipients=[ADDRESS, "bo@acme.example"], subject="Weekly digest",
                      body=f"Questions to {ADDRESS} or to Bo"),
    ])
    set_enabled(user, False, by=_admin()[0], now=NOW - dt.timedelta(days=54))
    changes_before = db.session.scalar(select(func.count(AccessChange.id)).where(AccessChange.user_id == user.id))
    erasure = erase_account_on_request(_admin()[1], user, NOW)

    assert user.email == f"erased-account-{user.id}@{ERASED_DOMAIN}"
    assert user.password_hash is None and not user.is_enabled and user.last_login_at is None
    assert db.session.scalar(select(func.count(PasswordLink.id)).where(PasswordLink.user_id == user.id)) == 0
    assert db.session.scalar(select(func.count(SignIn.id)).where(SignIn.user_id == user.id)) == 0
    assert [(m.subject, m.recipients, m.body) for m in db.session.scalars(select(OutboxMessage))] == [
        ("Weekly digest", ["bo@acme.example"], f"Questions to Former account {user.id} or to Bo")]
    assert mentions_in_database([ADDRESS]) == []
    # The access log still says what happened to the account (its rows name it by id).
    assert db.session.scalar(select(func.count(AccessChange.id))
                             .where(AccessChange.user_id == user.id)) == changes_before
    assert (erasure.user_id, erasure.employee_id, erasure.hr_id_digest) == (user.id, None, None)
    assert erasure.left_on == dt.date(2026, 9, 30) and erasure.reason == "request"
    assert erasure.counts == {"outbox_messages": 2, "texts_naming_them": 1, "password_links": 1, "sign_ins": 2,
                              "account": 1}


def test_the_record_of_erasures_lists_an_account_under_its_pseudonym(app, db):
    user = make_departed()
    erase_account_on_request(_admin()[1], user, NOW)
    erase_on_request(_admin()[1], make_leaver(), NOW)
    assert [r.pseudonym.rsplit(" ", 1)[0] for r in recent_erasures(_admin()[1])] == ["Former employee",
                                                                                      "Former account"]
    assert recent_erasures(_admin()[1])[1].pseudonym == f"Former account {user.id}"


# --- the retention job --------------------------------------------------------------------------


def test_accounts_are_due_once_they_were_disabled_longer_ago_than_the_retention(app, db):
    long_off = make_departed(dt.datetime(2026, 10, 23, 23, 59), email="long@partner.example")
    just_off = make_departed(dt.datetime(2026, 10, 24, 0, 1), email="just@partner.example")
    back_on = make_departed(dt.datetime(2026, 9, 1), email="back@partner.example")
    set_enabled(back_on, True, by=_admin()[0], now=dt.datetime(2026, 9, 2))
    make_user("admin", email="still.here@partner.example")
    assert accounts_due(dt.date(2026, 11, 23), 30) == [long_off]
    assert accounts_due(dt.date(2026, 11, 25), 30) == [long_off, just_off]


def test_an_account_disabled_again_counts_from_its_last_disabling(app, db):
    user = make_departed(dt.datetime(2026, 1, 5))
    admin = _admin()[0]
    set_enabled(user, True, by=admin, now=dt.datetime(2026, 11, 1))
    set_enabled(user, False, by=admin, now=dt.datetime(2026, 11, 20))
    assert accounts_due(dt.date(2026, 11, 23), 30) == []


def test_erase_leavers_erases_the_accounts_due_once_and_says_how_many(app, db):
    gone = make_departed(dt.datetime(2026, 10, 1))
    recent = make_departed(dt.datetime(2026, 11, 20), email="recent@partner.example")
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["erase-leavers", "--today", "2026-11-23"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "erased: people=0 accounts=1 left_before=2026-10-24"
    db.session.expire_all()
    assert gone.email.endswith(ERASED_DOMAIN) and recent.email == "recent@partner.example"
    assert db.session.scalar(select(Erasure.reason).where(Erasure.user_id == gone.id)) == "retention"
    again = runner.invoke(args=["erase-leavers", "--today", "2026-11-23"])
    assert again.output.strip() == "erased: people=0 accounts=0 left_before=2026-10-24"


# --- the admin page -----------------------------------------------------------------------------


def test_the_admin_page_refuses_to_erase_an_account_that_can_still_sign_in(app, db, login_as, client):
    make_user("change_leader", email=ADDRESS)
    login_as("admin")
    page = client.get(f"/admin/personal-data?person={ADDRESS}").get_data(as_text=True)
    assert "can still sign in" in page and "to confirm" not in page


def test_the_admin_erases_a_disabled_account_once_its_address_is_typed(app, db, login_as, client):
    user = make_departed()
    db.session.commit()
    login_as("admin")
    page = client.get(f"/admin/personal-data?person={ADDRESS}").get_data(as_text=True)
    assert "Type the account&#39;s e-mail to confirm" in page
    wrong = client.post("/admin/personal-data/erase", data={"person": ADDRESS, "confirm": "someone@else.example"},
                        follow_redirects=True)
    assert f"Type {ADDRESS} exactly to confirm" in wrong.get_data(as_text=True)
    db.session.expire_all()
    assert user.email == ADDRESS
    done = client.post("/admin/personal-data/erase", data={"person": ADDRESS, "confirm": ADDRESS.upper()},
                       follow_redirects=True)
    assert f"as Former account {user.id}" in done.get_data(as_text=True)
    db.session.expire_all()
    assert user.email == f"erased-account-{user.id}@{ERASED_DOMAIN}"
    assert client.get(f"/admin/personal-data?person={ADDRESS}").status_code == 404
