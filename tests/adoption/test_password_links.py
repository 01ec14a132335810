"""One-time password links (adoption/accounts.py) and the public pages that use them:
``/password/<token>`` (choose a password) and ``/password/forgot`` (ask for a reset link)."""
from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from sqlalchemy import select, text
from werkzeug.security import check_password_hash

from adoption.accounts import (
    INVALID_LINK,
    LINK_VALIDITY,
    AccountError,
    LoginPolicy,
    authenticate,
    issue_password_link,
    redeem_password_link,
    set_enabled,
    valid_link,
)
from adoption.models import PasswordLink, User
from adoption.views.auth import RESET_SENT
from tests.conftest import committed_outbox, csrf_token
from tests.factories import DEFAULT_PASSWORD, make_employee, make_user

T0 = dt.datetime(2025, 3, 3, 9, 0)
NEW_PASSWORD = "a brand new passphrase"
POLICY = LoginPolicy(max_failures=3, lockout=dt.timedelta(minutes=15))
LINK_IN_BODY = re.compile(r"https?://\S*/password/([A-Za-z0-9_-]+)")


@pytest.fixture
def person(db):
    """An employee's account that can sign in with the default password."""
    user = make_user("employee", make_employee())
    db.session.commit()
    return user


def _redeem_refused(token: str, now: dt.datetime = T0) -> str:
    """Redeem ``token`` expecting a refusal; returns the message."""
    with pytest.raises(AccountError) as refusal:
        redeem_password_link(token, NEW_PASSWORD, now=now)
    return str(refusal.value)


# ------------------------------------------------------------------ the services


def test_a_link_sets_the_password_once_and_then_is_refused(db, person):
    token = issue_password_link(person, "reset", now=T0)
    assert redeem_password_link(token, NEW_PASSWORD, now=T0) == person
    assert check_password_hash(person.password_hash, NEW_PASSWORD)
    assert valid_link(token, T0) is None
    assert _redeem_refused(token, T0 + dt.timedelta(minutes=1)) == INVALID_LINK
    assert check_password_hash(person.password_hash, NEW_PASSWORD)


@pytest.mark.parametrize("purpose", ["invite", "reset"])
def test_an_expired_link_is_refused(db, person, purpose):
    token = issue_password_link(person, purpose, now=T0)
    later = T0 + LINK_VALIDITY[purpose] + dt.timedelta(seconds=1)
    assert valid_link(token, later) is None
    assert _redeem_refused(token, later) == INVALID_LINK
    assert check_password_hash(person.password_hash, DEFAULT_PASSWORD)


@pytest.mark.parametrize("purpose", ["invite", "reset"])
def test_a_link_still_works_just_before_it_expires(db, person, purpose):
    token = issue_password_link(person, purpose, now=T0)
    redeem_password_link(token, NEW_PASSWORD, now=T0 + LINK_VALIDITY[purpose] - dt.timedelta(seconds=1))
    assert check_password_hash(person.password_hash, NEW_PASSWORD)


def test_an_invitation_lasts_a_week_and_a_reset_two_hours(db, person):
    assert LINK_VALIDITY == {"invite": dt.timedelta(days=7), "reset": dt.timedelta(hours=2)}
    issue_password_link(person, "reset", now=T0)
    assert db.session.scalar(select(PasswordLink.expires_at)) == T0 + dt.timedelta(hours=2)


def test_a_newer_link_ends_the_older_one(db, person):
    older = issue_password_link(person, "invite", now=T0)
    newer = issue_password_link(person, "reset", now=T0 + dt.timedelta(minutes=5))
    assert older != newer
    assert _redeem_refused(older, T0 + dt.timedelta(minutes=6)) == INVALID_LINK
    redeem_password_link(newer, NEW_PASSWORD, now=T0 + dt.timedelta(minutes=6))
    assert check_password_hash(person.password_hash, NEW_PASSWORD)


def test_a_link_of_another_user_is_not_ended_by_a_new_link(db, person):
    other = make_user("employee", make_employee())
    theirs = issue_password_link(other, "reset", now=T0)
    issue_password_link(person, "reset", now=T0)
    redeem_password_link(theirs, NEW_PASSWORD, now=T0)
    assert check_password_hash(other.password_hash, NEW_PASSWORD)


def test_a_link_of_a_disabled_account_is_refused_even_once_enabled_again(db, person):
    admin = make_user("admin")
    token = issue_password_link(person, "reset", now=T0)
    set_enabled(person, False, by=admin, now=T0)
    assert _redeem_refused(token) == INVALID_LINK
    set_enabled(person, True, by=admin, now=T0)
    assert _redeem_refused(token) == INVALID_LINK  # disabling ended it for good
    assert check_password_hash(person.password_hash, DEFAULT_PASSWORD)


def test_a_link_of_an_employee_who_has_left_is_refused(db, person):
    token = issue_password_link(person, "invite", now=T0)
    person.employee.active = False
    db.session.flush()
    assert valid_link(token, T0) is None
    assert _redeem_refused(token) == INVALID_LINK
    assert check_password_hash(person.password_hash, DEFAULT_PASSWORD)


def test_no_link_is_issued_for_a_disabled_account_or_a_leaver(db, person):
    left = make_user("employee", make_employee(active=False))
    person.is_enabled = False
    for user in (person, left):
        with pytest.raises(AccountError, match="disabled or its employee has left"):
            issue_password_link(user, "reset", now=T0)
    assert db.session.scalars(select(PasswordLink)).all() == []


def test_an_unknown_purpose_is_refused(db, person):
    with pytest.raises(AccountError, match="unknown purpose"):
        issue_password_link(person, "admin", now=T0)


def test_a_too_short_password_is_refused_and_leaves_the_link_usable(db, person):
    token = issue_password_link(person, "reset", now=T0)
    with pytest.raises(AccountError, match="at least 10 characters"):
        redeem_password_link(token, "short", now=T0)
    assert check_password_hash(person.password_hash, DEFAULT_PASSWORD)
    assert valid_link(token, T0) is not None
    redeem_password_link(token, NEW_PASSWORD, now=T0)
    assert check_password_hash(person.password_hash, NEW_PASSWORD)


def test_only_the_sha256_of_the_token_is_stored(db, person):
    token = issue_password_link(person, "invite", now=T0)
    db.session.commit()
    rows = db.session.execute(text("SELECT * FROM password_links")).all()
    assert len(rows) == 1
    assert all(token not in str(value) for value in rows[0])
    assert db.session.scalar(select(PasswordLink.token_hash)) == hashlib.sha256(token.encode()).hexdigest()


def test_redeeming_a_link_lifts_a_lockout(db, person):
    for _ in range(POLICY.max_failures):
        authenticate(person.email, "not the password", T0, POLICY)
    assert person.locked_until is not None
    token = issue_password_link(person, "reset", now=T0)
    redeem_password_link(token, NEW_PASSWORD, now=T0 + dt.timedelta(minutes=1))
    assert person.locked_until is None and person.failed_logins == 0
    assert authenticate(person.email, NEW_PASSWORD, T0 + dt.timedelta(minutes=2), POLICY) == person


def test_tokens_are_long_random_and_all_different(db, person):
    tokens = {issue_password_link(person, "reset", now=T0) for _ in range(20)}
    assert len(tokens) == 20
    assert all(len(t) >= 43 for t in tokens)  # 32 random bytes, url-safe base64


# ------------------------------------------------------------------ /password/<token>


def _set_password(client, token, password=NEW_PASSWORD, confirm=None):
    return client.post(f"/password/{token}", data={"password": password,
                                                     "confirm": password if confirm is None else confirm})


def _stored_hash(db, user) -> str:
    db.session.commit()  # end this session's transaction: see what the request wrote
    return db.session.scalar(select(User.password_hash).where(User.id == user.id))


def test_the_link_page_shows_the_form_for_its_account(client, db, person):
    token = issue_password_link(person, "invite", now=dt.datetime.now(dt.UTC).replace(tzinfo=None))
    db.session.commit()
    response = client.get(f"/password/{token}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert person.email in page and 'name="password"' in page and 'name="confirm"' in page


def test_a_password_set_through_the_page_signs_in_and_the_link_is_used_up(client, db, person):
    token = issue_password_link(person, "reset", now=dt.datetime.now(dt.UTC).replace(tzinfo=None))
    db.session.commit()
    response = _set_password(client, token)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert check_password_hash(_stored_hash(db, person), NEW_PASSWORD)
    assert client.post("/login", data={"email": person.email, "password": NEW_PASSWORD}).status_code == 302
    again = client.get(f"/password/{token}")
    assert again.status_code == 404 and INVALID_LINK in again.get_data(as_text=True)
    assert _set_password(client, token, "yet another passphrase").status_code == 404
    assert check_password_hash(_stored_hash(db, person), NEW_PASSWORD)


def test_different_passwords_in_the_two_fields_are_refused_and_the_link_stays(client, db, person):
    token = issue_password_link(person, "reset", now=dt.datetime.now(dt.UTC).replace(tzinfo=None))
    db.session.commit()
    response = _set_password(client, token, confirm="something different")
    assert response.status_code == 422 and "The two passwords differ." in response.get_data(as_text=True)
    assert check_password_hash(_stored_hash(db, person), DEFAULT_PASSWORD)
    assert client.get(f"/password/{token}").status_code == 200


def test_a_too_short_password_on_the_page_is_refused_and_the_link_stays(client, db, person):
    token = issue_password_link(person, "reset", now=dt.datetime.now(dt.UTC).replace(tzinfo=None))
    db.session.commit()
    assert _set_password(client, token, "short").status_code == 422
    assert check_password_hash(_stored_hash(db, person), DEFAULT_PASSWORD)
    assert _set_password(client, token).status_code == 302


def test_a_made_up_or_altered_token_gives_the_invalid_page(client, db, person):
    token = issue_password_link(person, "reset", now=dt.datetime.now(dt.UTC).replace(tzinfo=None))
    db.session.commit()
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for guess in (altered, "x" * 43, hashlib.sha256(token.encode()).hexdigest()):
        response = client.get(f"/password/{guess}")
        assert response.status_code == 404 and INVALID_LINK in response.get_data(as_text=True)
        assert _set_password(client, guess).status_code == 404
    assert check_password_hash(_stored_hash(db, person), DEFAULT_PASSWORD)


def test_a_link_page_signs_out_whoever_was_signed_in(client, db, person):
    other = make_user("employee", make_employee())
    token = issue_password_link(person, "reset", now=dt.datetime.now(dt.UTC).replace(tzinfo=None))
    db.session.commit()
    assert client.post("/login", data={"email": other.email, "password": DEFAULT_PASSWORD}).status_code == 302
    assert _set_password(client, token).status_code == 302
    assert client.get("/").headers["Location"].startswith("/login")


# ------------------------------------------------------------------ /password/forgot


def _forgot(app, email, **kwargs):
    """Ask for a reset link from a browser of its own; returns (status, location, flashes)."""
    client = app.test_client()
    with app.app_context():  # a request of its own: nothing of the test's or another client's
        response = client.post("/password/forgot", data={"email": email}, **kwargs)
    with client.session_transaction() as session:
        flashes = session.get("_flashes", [])
    return response.status_code, response.headers.get("Location"), flashes


def test_forgot_password_answers_the_same_for_known_unknown_and_disabled_addresses(app, db, person):
    disabled = make_user("employee", make_employee())
    disabled.is_enabled = False
    db.session.commit()
    known = _forgot(app, person.email)
    unknown = _forgot(app, "nobody-here@acme.example")
    off = _forgot(app, disabled.email)
    assert known == unknown == off
    assert known == (302, "/login", [("info", RESET_SENT)])
    messages = committed_outbox()
    assert [m.recipients for m in messages] == [[person.email]]


def test_forgot_password_sends_nothing_for_a_leaver(app, db, person):
    leaver = make_user("employee", make_employee(active=False))
    db.session.commit()
    assert _forgot(app, leaver.email) == (302, "/login", [("info", RESET_SENT)])
    assert committed_outbox() == []


def test_the_reset_message_carries_a_working_link(app, client, db, person):
    _forgot(app, person.email.upper())  # the address matches whatever its case
    (message,) = committed_outbox()
    assert message.kind == "password_reset" and message.recipients == [person.email]
    token = LINK_IN_BODY.search(message.body).group(1)
    assert _set_password(client, token).status_code == 302
    assert check_password_hash(_stored_hash(db, person), NEW_PASSWORD)


def test_asking_twice_leaves_only_the_newest_link_working(app, client, db, person):
    _forgot(app, person.email)
    _forgot(app, person.email)
    first, second = (LINK_IN_BODY.search(m.body).group(1) for m in committed_outbox())
    assert first != second
    assert client.get(f"/password/{first}").status_code == 404
    assert client.get(f"/password/{second}").status_code == 200


@pytest.mark.parametrize("app_config", [{"BASE_URL": "https://uptake.acme.example/app/"}])
def test_the_reset_link_is_on_the_base_url_whatever_host_the_request_names(app, db, person):
    _forgot(app, person.email, headers={"Host": "attacker.example"})
    (message,) = committed_outbox()
    assert "attacker.example" not in message.body
    token = LINK_IN_BODY.search(message.body).group(1)
    assert f"https://uptake.acme.example/app/password/{token}" in message.body


def test_link_pages_are_not_cached_and_send_no_referrer(client, db, person):
    token = issue_password_link(person, "reset", now=dt.datetime.now(dt.UTC).replace(tzinfo=None))
    db.session.commit()
    for path in (f"/password/{token}", "/password/not-a-token"):
        response = client.get(path)
        assert response.headers["Cache-Control"] == "no-store", path
        assert response.headers["Referrer-Policy"] == "no-referrer", path


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"}])
def test_forgot_password_is_rate_limited(app, client, db, person):
    for _ in range(3):
        assert client.post("/password/forgot", data={"email": "nobody@acme.example"}).status_code == 302
    assert client.post("/password/forgot", data={"email": person.email}).status_code == 429
    assert committed_outbox() == []


# ------------------------------------------------------------------ CSRF on the public pages


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_setting_a_password_without_the_csrf_token_is_refused(client, db, person):
    token = issue_password_link(person, "reset", now=dt.datetime.now(dt.UTC).replace(tzinfo=None))
    db.session.commit()
    assert _set_password(client, token).status_code == 400
    assert check_password_hash(_stored_hash(db, person), DEFAULT_PASSWORD)
    response = client.post(f"/password/{token}", data={
        "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": csrf_token(client, f"/password/{token}")})
    assert response.status_code == 302
    assert check_password_hash(_stored_hash(db, person), NEW_PASSWORD)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_asking_for_a_reset_without_the_csrf_token_is_refused(client, db, person):
    assert client.post("/password/forgot", data={"email": person.email}).status_code == 400
    assert committed_outbox() == []
    response = client.post("/password/forgot", data={
        "email": person.email, "csrf_token": csrf_token(client, "/password/forgot")})
    assert response.status_code == 302
    assert len(committed_outbox()) == 1


def test_forgot_password_answers_the_same_when_the_mail_server_fails(client, db, person, monkeypatch,
                                                                   caplog):
    def down(*_args, **_kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr("adoption.accounts.send_mail", down)
    response = client.post("/password/forgot", data={"email": person.email})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    with client.session_transaction() as session:
        assert session["_flashes"] == [("info", RESET_SENT)]
    assert "not sent" in caplog.text
    db.session.expire_all()
    # Nothing half-done: no link was kept for a message that never left.
    assert db.session.scalars(select(PasswordLink)).all() == []
