"""Several ``create_app()`` in one process each get a working dashboard of their own."""

import pytest

from adoption import create_app
from adoption.extensions import db as _db
from tests.conftest import OwnContextClient
from tests.dashboards.conftest import callback_body, table_rows
from tests.factories import DEFAULT_PASSWORD, make_employee, make_user


@pytest.fixture
def second_app(app):
    """Another app on the same database, built after the first one in the same process."""
    other = create_app(
        {
            "ENV": "testing",
            "INSTANCE_PATH": app.instance_path,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": app.config["SECRET_KEY"],
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    other.test_client_class = OwnContextClient
    yield other
    with other.app_context():
        _db.engine.dispose()


def organization_rows(client):
    """Call the Organization callback through ``client``; returns its table rows."""
    specs = client.get("/dashboards/_dash-dependencies").get_json()
    spec = next(s for s in specs if "org-figure.figure" in s["output"])
    body = callback_body(
        spec, {"org-as-of.date": "2024-06-01", "org-level.value": 2, "org-unit.value": None}
    )
    response = client.post("/dashboards/_dash-update-component", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return table_rows(response.get_json()["response"]["org-table"]["children"])


def test_two_apps_in_one_process_both_serve_the_dashboard(app, second_app, db):
    user = make_user("manager", make_employee("Acme/EMEA/Sales North", crm_user_id="N1"))
    make_employee("Acme/Americas/Sales West")
    db.session.commit()
    first_dash = app.extensions["uptake_dashboards"]
    second_dash = second_app.extensions["uptake_dashboards"]
    assert first_dash is not second_dash
    assert first_dash.server is app and second_dash.server is second_app
    for flask_app in (app, second_app):
        client = flask_app.test_client()
        assert client.get("/dashboards/").status_code == 302
        client.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD})
        assert client.get("/dashboards/organization").status_code == 200
        assert organization_rows(client) == {"Acme/EMEA/Sales North": (1, 1, "100%")}


def test_each_app_has_the_same_callbacks_registered_once(app, second_app):
    first = app.extensions["uptake_dashboards"]
    second = second_app.extensions["uptake_dashboards"]
    assert set(first.callback_map) == set(second.callback_map)
    # shell router + Organization (2) + Adoption (7 displays, 6 CSV downloads)
    # + Engagement (pickers, 7 displays, 7 CSV downloads)
    # + Training (pickers, 7 displays, 7 CSV downloads)
    # + Evidence (pickers, 4 displays, 4 CSV downloads)
    # + Executive commitment (4 displays, 4 CSV downloads)
    assert len(first.callback_map) == 63
