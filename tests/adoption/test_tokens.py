"""API tokens: issued once and stored hashed, authenticated in constant time, revocable, scoped."""
from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from sqlalchemy import select

from adoption.models import ApiToken
from adoption.tokens import TokenError, authenticate_bearer, issue_token, revoke_token
from tests.conftest import csrf_token
from tests.factories import DEFAULT_PASSWORD, make_user

NOW = dt.datetime(2024, 5, 1, 12, 0, 0)
EVENT = {"event_id": "e-1", "occurred_at": "2024-05-01T09:00:00Z", "event_type": "login",
         "user_email": "someone@acme.example"}


def _issue(db, scope="events:write", name="connector"):
    token, plaintext = issue_token(name, scope, created_by_id=None, now=NOW)
    db.session.commit()
    return token, plaintext


def test_issued_token_is_stored_only_as_its_sha256(db):
    token, plaintext = _issue(db)
    assert token.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext.startswith(token.prefix + "_") and len(plaintext) >= 4 + 8 + 1 + 43
    stored = db.session.execute(select(ApiToken.__table__)).one()._mapping
    assert plaintext not in {str(v) for v in stored.values()}


@pytest.mark.parametrize("name, scope", [("", "read"), ("x" * 101, "read"), ("ok", "admin")])
def test_issue_token_refuses_a_blank_name_or_unknown_scope(db, name, scope):
    with pytest.raises(TokenError):
        issue_token(name, scope, created_by_id=None)


def test_live_token_authenticates_and_records_last_use(db):
    token, plaintext = _issue(db)
    assert authenticate_bearer(f"Bearer {plaintext}", NOW) is token
    assert token.last_used_at == NOW


def test_scheme_is_case_insensitive(db):
    token, plaintext = _issue(db)
    assert authenticate_bearer(f"bearer   {plaintext} ", NOW) is token


def test_last_use_is_written_at_most_once_a_minute(db):
    token, plaintext = _issue(db)
    authenticate_bearer(f"Bearer {plaintext}", NOW)
    authenticate_bearer(f"Bearer {plaintext}", NOW + dt.timedelta(seconds=59))
    assert token.last_used_at == NOW
    authenticate_bearer(f"Bearer {plaintext}", NOW + dt.timedelta(seconds=60))
    assert token.last_used_at == NOW + dt.timedelta(seconds=60)


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "upt_deadbeef_x"])
def test_missing_or_malformed_header_authenticates_nobody(db, header):
    _issue(db)
    assert authenticate_bearer(header, NOW) is None


def test_right_prefix_with_wrong_secret_authenticates_nobody(db):
    token, plaintext = _issue(db)
    forged = plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")
    assert authenticate_bearer(f"Bearer {forged}", NOW) is None
    assert token.last_used_at is None


def test_revoked_token_authenticates_nobody(db):
    token, plaintext = _issue(db)
    revoke_token(token.id, now=NOW)
    assert authenticate_bearer(f"Bearer {plaintext}", NOW) is None


def test_revoking_twice_keeps_the_first_time(db):
    token, _ = _issue(db)
    revoke_token(token.id, now=NOW)
    revoke_token(token.id, now=NOW + dt.timedelta(days=1))
    assert token.revoked_at == NOW


def test_create_token_command_prints_the_token_once_and_stores_its_hash(app, db):
    result = app.test_cli_runner().invoke(args=["create-token", "Salesforce", "--scope", "events:write"])
    assert result.exit_code == 0, result.output
    printed = re.findall(r"upt_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", result.output)
    assert len(printed) == 1
    token = db.session.scalars(select(ApiToken)).one()
    assert (token.name, token.scope, token.created_by_id) == ("Salesforce", "events:write", None)
    assert token.token_hash == hashlib.sha256(printed[0].encode()).hexdigest()


def test_create_token_command_refuses_an_unknown_scope(app, db):
    result = app.test_cli_runner().invoke(args=["create-token", "x", "--scope", "admin"])
    assert result.exit_code != 0
    assert db.session.scalars(select(ApiToken)).all() == []


# --- the API's answers -------------------------------------------------------------------------

def _post(client, header=None):
    headers = {"Authorization": header} if header else {}
    return client.post("/api/v1/events", json={"events": [EVENT]}, headers=headers)


def test_api_without_token_is_401_with_a_bearer_challenge(client, db):
    response = _post(client)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["error"] == "unauthorized"


def test_api_with_unknown_token_is_401_invalid_token(client, db):
    response = _post(client, "Bearer upt_00000000_nothing-like-a-real-secret-at-all-000000000")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_api_with_revoked_token_is_401(client, db):
    token, plaintext = _issue(db)
    assert _post(client, f"Bearer {plaintext}").status_code == 200
    revoke_token(token.id)
    db.session.commit()
    response = _post(client, f"Bearer {plaintext}")
    assert response.status_code == 401
    assert response.is_json


@pytest.mark.parametrize("scope", ["read", "outcomes:write"])
def test_api_with_token_of_another_scope_is_403(client, db, scope):
    _, plaintext = _issue(db, scope=scope)
    response = _post(client, f"Bearer {plaintext}")
    assert response.status_code == 403
    assert response.get_json()["error"] == "insufficient_scope"
    assert 'scope="events:write"' in response.headers["WWW-Authenticate"]


def test_api_use_is_recorded_on_the_token(client, db):
    token, plaintext = _issue(db)
    _post(client, f"Bearer {plaintext}")
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at is not None


# --- the admin page ----------------------------------------------------------------------------

def test_admin_token_page_lists_tokens_without_their_secrets(client, db, login_as):
    login_as("admin")
    token, plaintext = _issue(db, name="Nightly export")
    page = client.get("/admin/tokens").get_data(as_text=True)
    assert "Nightly export" in page and token.prefix in page and "events:write" in page
    assert plaintext not in page and token.token_hash not in page


def test_admin_creates_a_token_and_sees_its_secret_once(client, db, login_as):
    admin = login_as("admin")
    response = client.post("/admin/tokens", data={"name": "Connector", "scope": "read"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    plaintext = re.search(r'value="(upt_[^"]+)"', response.get_data(as_text=True)).group(1)
    token = db.session.scalars(select(ApiToken)).one()
    assert (token.name, token.scope, token.created_by_id) == ("Connector", "read", admin.id)
    assert token.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in client.get("/admin/tokens").get_data(as_text=True)


def test_the_token_form_offers_every_scope_with_what_it_allows(client, db, login_as):
    login_as("admin")
    page = client.get("/admin/tokens").get_data(as_text=True)
    options = dict(re.findall(r'<option[^>]*value="([^"]+)"[^>]*>([^<]+)</option>', page))
    assert set(options) == {"events:write", "outcomes:write", "xapi:write", "read"}
    assert "/xapi/statements" in options["xapi:write"] and "/api/v1/events" in options["events:write"]
    response = client.post("/admin/tokens", data={"name": "Moodle", "scope": "xapi:write"})
    assert response.status_code == 200
    assert db.session.scalars(select(ApiToken.scope)).one() == "xapi:write"


def test_admin_create_with_an_empty_name_shows_the_form_again(client, db, login_as):
    login_as("admin")
    response = client.post("/admin/tokens", data={"name": "", "scope": "read"})
    assert response.status_code == 400
    assert db.session.scalars(select(ApiToken)).all() == []


def test_admin_revokes_a_token(client, db, login_as):
    login_as("admin")
    token, plaintext = _issue(db)
    response = client.post(f"/admin/tokens/{token.id}/revoke")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is not None
    assert _post(client, f"Bearer {plaintext}").status_code == 401


def test_revoking_an_unknown_token_is_404(client, db, login_as):
    login_as("admin")
    assert client.post("/admin/tokens/999/revoke").status_code == 404


@pytest.mark.parametrize("role", ["employee", "manager", "change_leader", "executive"])
def test_token_pages_are_for_admins_only(client, db, login_as, role):
    login_as(role)
    token, _ = _issue(db)
    assert client.get("/admin/tokens").status_code == 403
    assert client.post("/admin/tokens", data={"name": "x", "scope": "read"}).status_code == 403
    assert client.post(f"/admin/tokens/{token.id}/revoke").status_code == 403
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is None
    assert len(db.session.scalars(select(ApiToken)).all()) == 1


# --- CSRF: the API is exempt, the rest of the app is not -----------------------------------------

CSRF_ON = pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])


@CSRF_ON
def test_api_needs_no_csrf_token_while_login_does(client, db):
    _, plaintext = _issue(db)
    assert _post(client, f"Bearer {plaintext}").status_code == 200
    user = make_user("admin")
    db.session.commit()
    assert client.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD}).status_code == 400
    login = client.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD,
                                        "csrf_token": csrf_token(client, "/login")})
    assert login.status_code == 302


@CSRF_ON
def test_revoking_a_token_needs_the_csrf_token(client, db):
    user = make_user("admin")
    token, _ = _issue(db)
    client.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD,
                                "csrf_token": csrf_token(client, "/login")})
    assert client.post(f"/admin/tokens/{token.id}/revoke").status_code == 400
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is None
    response = client.post(f"/admin/tokens/{token.id}/revoke", data={"csrf_token": csrf_token(client, "/admin/tokens")})
    assert response.status_code == 302
