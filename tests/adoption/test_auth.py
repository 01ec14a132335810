"""Signing in and out, lockout, rate limit and the create-user command."""
from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote, urljoin, urlsplit

import pytest
from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash

from adoption.accounts import (
    LoginPolicy,
    authenticate,
    create_user,
    issue_password_link,
    redeem_password_link,
)
from adoption.models import OutboxMessage, User
from adoption.views.auth import GENERIC_FAILURE
from tests.factories import DEFAULT_PASSWORD, make_employee, make_user

T0 = dt.datetime(2025, 3, 3, 9, 0)
POLICY = LoginPolicy(max_failures=3, lockout=dt.timedelta(minutes=15))
WRONG = "not the password at all"


def _sign_in(client, email, password=DEFAULT_PASSWORD, next_=None):
    """POST the login form."""
    url = "/login" if next_ is None else f"/login?next={next_}"
    return client.post(url, data={"email": email, "password": password})


@pytest.fixture
def user(db):
    """An employee's account with the default password."""
    u = make_user("employee", make_employee("Acme/EMEA/Sales North"))
    db.session.commit()
    return u


# --- the login page -------------------------------------------------------------------------


def test_right_password_redirects_to_home_and_signs_in(client, user):
    response = _sign_in(client, user.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert user.email in client.get("/").get_data(as_text=True)


def test_an_executive_lands_on_the_executive_dashboard(client, db):
    executive = make_user("executive", make_employee("Acme", is_executive=True))
    db.session.commit()
    response = _sign_in(client, executive.email)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/dashboards/executive"
    # Signed in already: the login page sends them there too.
    assert urlsplit(client.get("/login").headers["Location"]).path == "/dashboards/executive"


def test_a_next_parameter_still_wins_over_the_executive_landing(client, db):
    executive = make_user("executive", make_employee("Acme", is_executive=True))
    db.session.commit()
    response = _sign_in(client, executive.email, next_="/hypotheses")
    assert urlsplit(response.headers["Location"]).path == "/hypotheses"


def test_email_is_matched_case_insensitively(client, user):
    assert _sign_in(client, user.email.upper()).status_code == 302


def test_wrong_password_answers_401_with_the_generic_message(client, user):
    response = _sign_in(client, user.email, WRONG)
    assert response.status_code == 401
    assert GENERIC_FAILURE in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still signed out


def test_unknown_email_page_is_identical_to_wrong_password_page(client, user):
    unknown = "nobody.here@acme.example"
    wrong = _sign_in(client, user.email, WRONG)
    missing = _sign_in(client, unknown, WRONG)
    assert missing.status_code == wrong.status_code == 401
    assert missing.get_data(as_text=True).replace(unknown, "EMAIL") == wrong.get_data(as_text=True).replace(
        user.email, "EMAIL"
    )


@pytest.mark.parametrize("app_config", [{"LOGIN_MAX_FAILURES": 2}])
def test_locked_account_page_is_identical_to_wrong_password_page(app_config, app, client, user):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        _sign_in(client, user.email, WRONG)
    locked = _sign_in(client, user.email, DEFAULT_PASSWORD)
    wrong = _sign_in(client, "nobody.here@acme.example", WRONG)
    assert locked.status_code == 401
    assert locked.get_data(as_text=True).replace(user.email, "EMAIL") == wrong.get_data(as_text=True).replace(
        "nobody.here@acme.example", "EMAIL"
    )


@pytest.mark.parametrize("app_config", [{"LOGIN_MAX_FAILURES": 2}])
def test_account_locks_after_configured_failures_through_the_page(app_config, app, client, db, user):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert _sign_in(client, user.email, WRONG).status_code == 401
    assert _sign_in(client, user.email).status_code == 401
    db.session.expire_all()
    assert db.session.get(User, user.id).locked_until is not None


def test_disabled_user_cannot_sign_in(client, db, user):
    user.is_enabled = False
    db.session.commit()
    response = _sign_in(client, user.email)
    assert response.status_code == 401
    assert GENERIC_FAILURE in response.get_data(as_text=True)


def test_deactivated_employee_cannot_sign_in(client, db, user):
    user.employee.active = False
    db.session.commit()
    assert _sign_in(client, user.email).status_code == 401


def test_user_disabled_while_signed_in_loses_access(client, db, user):
    _sign_in(client, user.email)
    assert client.get("/").status_code == 200
    user.is_enabled = False
    db.session.commit()
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_account_without_password_cannot_sign_in(db):
    create_user("nopass@acme.example", "admin")
    assert authenticate("nopass@acme.example", "", T0, POLICY) is None
    assert authenticate("nopass@acme.example", WRONG, T0, POLICY) is None


def test_next_parameter_with_local_path_is_followed(client, user):
    response = _sign_in(client, user.email, next_="/admin/users")
    assert response.headers["Location"] == "/admin/users"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example",
        "http://evil.example/login",
        "/\\evil.example",
        "\\\\evil.example",
        "/%09/evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_next_parameter_refuses_off_site_targets(client, user, target):
    response = _sign_in(client, user.email, next_=quote(target, safe="%"))
    assert response.status_code == 302
    location = response.headers["Location"]
    # Read the target as a browser would: backslashes count as slashes, tabs are dropped.
    as_browser = location.replace("\\", "/").replace("\t", "")
    resolved = urlsplit(urljoin("http://uptake.test/login", as_browser))
    assert (resolved.scheme, resolved.netloc) == ("http", "uptake.test"), location


def test_logout_refuses_get(client, user):
    _sign_in(client, user.email)
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200


def test_logout_with_post_signs_out(client, user):
    _sign_in(client, user.email)
    assert client.post("/logout").status_code == 302
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"}])
def test_login_rate_limit_answers_429(client, user, app_config):
    for _ in range(3):
        assert _sign_in(client, user.email, WRONG).status_code == 401
    assert _sign_in(client, user.email, DEFAULT_PASSWORD).status_code == 429
    assert client.get("/login").status_code == 200  # showing the form is not limited


# --- the authenticate service ---------------------------------------------------------------


def test_password_is_stored_as_a_salted_hash(production_password_hashing, db, user):
    stored = db.session.get(User, user.id).password_hash
    assert DEFAULT_PASSWORD not in stored
    assert stored.startswith("scrypt:")
    assert check_password_hash(stored, DEFAULT_PASSWORD)


def test_same_password_gives_different_hashes(db):
    a = make_user("employee", email="a@acme.example")
    b = make_user("employee", email="b@acme.example")
    assert a.password_hash != b.password_hash


def test_authenticate_locks_after_max_failures_even_with_right_password(db, user):
    for i in range(POLICY.max_failures):
        assert authenticate(user.email, WRONG, T0 + dt.timedelta(seconds=i), POLICY) is None
    assert authenticate(user.email, DEFAULT_PASSWORD, T0 + dt.timedelta(minutes=1), POLICY) is None
    assert authenticate(user.email, DEFAULT_PASSWORD, T0 + dt.timedelta(minutes=14), POLICY) is None


def test_authenticate_unlocks_after_the_lockout(db, user):
    for i in range(POLICY.max_failures):
        authenticate(user.email, WRONG, T0 + dt.timedelta(seconds=i), POLICY)
    later = T0 + dt.timedelta(seconds=POLICY.max_failures - 1) + POLICY.lockout + dt.timedelta(seconds=1)
    assert authenticate(user.email, DEFAULT_PASSWORD, later, POLICY) == user
    assert user.locked_until is None
    assert user.last_login_at == later


def test_attempts_during_lockout_do_not_extend_it(db, user):
    for i in range(POLICY.max_failures):
        authenticate(user.email, WRONG, T0, POLICY)
    for minute in range(1, 4):
        authenticate(user.email, WRONG, T0 + dt.timedelta(minutes=minute), POLICY)
    assert authenticate(user.email, DEFAULT_PASSWORD, T0 + POLICY.lockout, POLICY) == user


def test_failures_counted_by_a_concurrent_request_are_not_lost(db, user):
    assert user.failed_logins == 0  # this session now holds the row as it was
    with db.engine.begin() as other_request:
        other_request.execute(
            update(User).where(User.id == user.id).values(failed_logins=POLICY.max_failures - 1)
        )
    assert authenticate(user.email, WRONG, T0, POLICY) is None
    assert authenticate(user.email, DEFAULT_PASSWORD, T0, POLICY) is None  # locked


def test_failures_below_the_limit_do_not_lock(db, user):
    for _ in range(POLICY.max_failures - 1):
        authenticate(user.email, WRONG, T0, POLICY)
    assert authenticate(user.email, DEFAULT_PASSWORD, T0, POLICY) == user


def test_successful_sign_in_resets_the_failure_count(db, user):
    for _ in range(POLICY.max_failures - 1):
        authenticate(user.email, WRONG, T0, POLICY)
    assert authenticate(user.email, DEFAULT_PASSWORD, T0, POLICY) == user
    for _ in range(POLICY.max_failures - 1):
        authenticate(user.email, WRONG, T0, POLICY)
    assert authenticate(user.email, DEFAULT_PASSWORD, T0, POLICY) == user


def test_authenticate_returns_none_for_unknown_email(db, user):
    assert authenticate("nobody.here@acme.example", DEFAULT_PASSWORD, T0, POLICY) is None


def test_authenticate_refuses_disabled_account_with_right_password(db, user):
    user.is_enabled = False
    assert authenticate(user.email, DEFAULT_PASSWORD, T0, POLICY) is None


def test_authenticate_refuses_deactivated_employee_with_right_password(db, user):
    user.employee.active = False
    assert authenticate(user.email, DEFAULT_PASSWORD, T0, POLICY) is None


# --- flask create-user ----------------------------------------------------------------------


def _create_user_cli(app, *args, password="a long enough password"):
    """Run ``flask create-user ... --password-stdin`` with ``password`` on standard input."""
    return app.test_cli_runner().invoke(args=["create-user", *args, "--password-stdin"], input=password + "\n")


def _user_by_email(db, email):
    db.session.expire_all()
    return db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))


def test_create_user_command_creates_a_user_who_can_sign_in(app, client, db):
    result = _create_user_cli(app, "new.leader@acme.example", "--role", "change_leader")
    assert result.exit_code == 0, result.output
    assert "Created new.leader@acme.example with role change_leader" in result.output
    created = _user_by_email(db, "new.leader@acme.example")
    assert created.role == "change_leader"
    assert _sign_in(client, "new.leader@acme.example", "a long enough password").status_code == 302


def test_create_user_command_refuses_unknown_role(app, db):
    result = _create_user_cli(app, "x@acme.example", "--role", "superuser")
    assert result.exit_code == 2
    assert "superuser" in result.output
    assert _user_by_email(db, "x@acme.example") is None


def test_create_user_command_refuses_duplicate_email(app, db, user):
    result = _create_user_cli(app, user.email.upper(), "--role", "admin")
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 1


def test_create_user_command_refuses_short_password(app, db):
    result = _create_user_cli(app, "short@acme.example", "--role", "admin", password="short")
    assert result.exit_code == 1
    assert "at least 10 characters" in result.output
    assert _user_by_email(db, "short@acme.example") is None


def test_create_user_command_refuses_invalid_email(app, db):
    result = _create_user_cli(app, "not-an-email", "--role", "admin")
    assert result.exit_code == 1
    assert "not a valid e-mail address" in result.output


def test_create_user_command_links_the_employee_with_the_same_email(app, db):
    employee = make_employee("Acme/EMEA/Sales North", email="Dana.Smith@acme.example")
    db.session.commit()
    result = _create_user_cli(app, "dana.smith@ACME.example", "--role", "manager")
    assert result.exit_code == 0, result.output
    assert f"linked to employee {employee.hr_id}" in result.output
    assert _user_by_email(db, "dana.smith@acme.example").employee_id == employee.id


def test_create_user_command_refuses_employee_already_linked_to_another_account(app, db):
    employee = make_employee("Acme/EMEA/Sales North", email="taken@acme.example")
    make_user("employee", employee, email="other.address@acme.example")
    db.session.commit()
    result = _create_user_cli(app, "taken@acme.example", "--role", "manager")
    assert result.exit_code == 1
    assert "already has an account" in result.output
    assert _user_by_email(db, "taken@acme.example") is None


def test_create_user_command_with_invite_sets_no_password_and_sends_a_link_on_base_url(app, client, db):
    app.config["BASE_URL"] = "https://uptake.example/app/"
    result = app.test_cli_runner().invoke(args=["create-user", "invited@acme.example", "--role", "admin",
                                                "--invite"])
    assert result.exit_code == 0, result.output
    assert "invitation" in result.output
    created = _user_by_email(db, "invited@acme.example")
    assert created.password_hash is None
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "password_invite"))
    assert message.recipients == ["invited@acme.example"]
    link = re.search(r"(\S+/password/(\S+))", message.body)
    # On the configured address with its path prefix, not on whatever host the app thinks it has.
    assert link.group(1).startswith("https://uptake.example/app/password/")
    response = client.post(f"/password/{link.group(2)}", data={
        "password": "a long enough password", "confirm": "a long enough password"})
    assert response.status_code == 302
    assert _sign_in(client, "invited@acme.example", "a long enough password").status_code == 302


def test_create_user_command_refuses_invite_with_a_password(app, db):
    result = _create_user_cli(app, "both@acme.example", "--role", "admin", "--invite")
    assert result.exit_code == 2
    assert _user_by_email(db, "both@acme.example") is None


# --- response headers -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/login", "/static/css/app.css", "/dashboards/", "/no-such-page"])
def test_every_response_forbids_sniffing_framing_and_cross_site_referrers(client, path):
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["Referrer-Policy"] == "same-origin"



# --- sessions end with the password they were opened with --------------------------------------


def test_setting_a_new_password_ends_the_sessions_opened_with_the_old_one(app, client, db, user):
    assert _sign_in(client, user.email).status_code == 302
    assert client.get("/").status_code == 200
    token = issue_password_link(user, "reset", now=T0)
    redeem_password_link(token, "a brand new passphrase", now=T0)
    db.session.commit()
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    # Signing in with the new password opens a session that works.
    assert _sign_in(client, user.email, "a brand new passphrase").status_code == 302
    assert client.get("/").status_code == 200


def _forged(client, session_id: str) -> None:
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True


def test_a_session_naming_an_account_without_its_tag_is_refused(app, client, db, user):
    other = make_user("admin", email="someone.else@acme.example")
    db.session.commit()
    assert _sign_in(client, other.email).status_code == 302
    with client.session_transaction() as session:
        other_tag = session["_user_id"].partition(":")[2]
    for session_id in (str(user.id), f"{user.id}:", f"{user.id}:{other_tag}", f"x:{other_tag}"):
        _forged(client, session_id)
        response = client.get("/")
        assert response.status_code == 302 and "/login" in response.headers["Location"], session_id


# --- a session belongs to the client that opened it ----------------------------------------------
# Session protection is "strong": a session cookie replayed by another client is signed out. The
# client is the address the app believes (the socket's, or what UPTAKE_TRUSTED_PROXIES proxies
# said) and the browser; an X-Forwarded-For written by the client itself counts for nothing.

VICTIM, THIEF, BROWSER = "192.0.2.10", "198.51.100.66", "Mozilla/5.0 (the victim's browser)"


def _from(client, path: str, remote: str, forwarded: str | None = None, agent: str = BROWSER):
    """GET ``path`` with the client's session cookie, from the socket address ``remote``."""
    headers = {"User-Agent": agent, **({"X-Forwarded-For": forwarded} if forwarded else {})}
    return client.get(path, environ_base={"REMOTE_ADDR": remote}, headers=headers)


def _signed_out(response) -> bool:
    return response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_stolen_session_replayed_from_another_address_is_signed_out_even_with_a_forged_forwarded_for(
        client, user):
    client.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD},
                environ_base={"REMOTE_ADDR": VICTIM}, headers={"User-Agent": BROWSER})
    assert _from(client, "/", VICTIM).status_code == 200
    stolen = client.get_cookie("session").value
    assert _signed_out(_from(client, "/", THIEF, forwarded=VICTIM))
    client.set_cookie("session", stolen)  # the thief keeps the copy and tries again
    assert _signed_out(_from(client, "/", THIEF, forwarded=VICTIM))
    client.set_cookie("session", stolen)  # the victim's own browser still holds the cookie
    assert _from(client, "/", VICTIM).status_code == 200


@pytest.mark.parametrize("app_config", [{"TRUSTED_PROXIES": 1}])
def test_behind_a_trusted_proxy_a_forged_first_forwarded_for_entry_does_not_take_over_a_session(
        app_config, client, user):
    """The proxy appends the address it saw, so the thief's forged entry comes first."""
    client.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD},
                environ_base={"REMOTE_ADDR": "10.0.0.1"}, headers={"User-Agent": BROWSER, "X-Forwarded-For": VICTIM})
    assert _from(client, "/", "10.0.0.1", forwarded=VICTIM).status_code == 200
    assert _from(client, "/", "10.0.0.2", forwarded=VICTIM).status_code == 200  # another proxy node
    assert _signed_out(_from(client, "/", "10.0.0.1", forwarded=f"{VICTIM}, {THIEF}"))


def test_a_session_replayed_from_another_browser_is_signed_out(client, user):
    client.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD},
                environ_base={"REMOTE_ADDR": VICTIM}, headers={"User-Agent": BROWSER})
    assert _signed_out(_from(client, "/", VICTIM, agent="curl/8.5.0"))
