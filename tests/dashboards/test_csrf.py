"""CSRF stays on for the whole app; only Dash's JSON dispatch view is exempt."""

import re

import pytest

from tests.dashboards.conftest import DISPATCH, callback_body
from tests.factories import DEFAULT_PASSWORD, make_employee, make_user


@pytest.fixture
def app_config():
    """Run these tests with CSRF protection switched on, as in production."""
    return {"WTF_CSRF_ENABLED": True}


@pytest.fixture
def manager(db):
    """A manager of Sales North, not signed in yet."""
    user = make_user("manager", make_employee("Acme/EMEA/Sales North", crm_user_id="N1"))
    db.session.commit()
    return user


def csrf_token(client):
    """The token of the sign-in form, as a browser would read it."""
    html = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def sign_in(client, user):
    """Sign in through the real form, token included."""
    response = client.post(
        "/login",
        data={"email": user.email, "password": DEFAULT_PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def test_login_without_a_token_is_refused(client, manager):
    response = client.post("/login", data={"email": manager.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 400


def test_logout_without_a_token_is_refused(client, manager):
    sign_in(client, manager)
    assert client.post("/logout").status_code == 400
    # Still signed in: the forged sign-out did nothing.
    assert client.get("/dashboards/").status_code == 200


def test_dash_dispatch_works_without_a_token(client, manager):
    sign_in(client, manager)
    spec = next(
        s
        for s in client.get("/dashboards/_dash-dependencies").get_json()
        if "org-figure.figure" in s["output"]
    )
    body = callback_body(
        spec, {"org-as-of.date": "2024-06-01", "org-level.value": 2, "org-unit.value": None}
    )
    response = client.post(DISPATCH, json=body)
    assert response.status_code == 200
    assert (
        "Acme/EMEA/Sales North"
        in response.get_json()["response"]["org-figure"]["figure"]["data"][0]["y"]
    )


def test_dash_dispatch_without_a_session_is_still_refused(client, manager):
    assert client.post(DISPATCH, json={}).status_code == 401


def test_only_the_dispatch_view_is_exempt(app):
    from adoption.extensions import csrf

    assert csrf._exempt_views == {"dash.dash.dispatch"}
    dispatch = app.view_functions[DISPATCH]
    assert f"{dispatch.__module__}.{dispatch.__name__}" == "dash.dash.dispatch"
