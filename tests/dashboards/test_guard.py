"""The guard in front of every Dash route: who gets in, who is sent to sign in, who is refused."""

import re

import pytest

from tests.dashboards.conftest import DISPATCH

JSON_ROUTES = [
    ("get", "/dashboards/_dash-layout"),
    ("get", "/dashboards/_dash-dependencies"),
    ("post", DISPATCH),
    ("get", "/dashboards/_reload-hash"),
    ("get", "/dashboards/assets/dashboards.css"),
]


def test_unauthenticated_visit_to_the_dashboards_redirects_to_login(client):
    response = client.get("/dashboards/")
    assert response.status_code == 302
    assert response.location == "/login?next=/dashboards/"


def test_unauthenticated_visit_to_a_page_keeps_its_address_and_query_for_after_login(client):
    response = client.get("/dashboards/organization?level=1")
    assert response.status_code == 302
    assert response.location == "/login?next=/dashboards/organization?level%3D1"


def test_unauthenticated_visit_without_the_trailing_slash_redirects_to_login(client):
    response = client.get("/dashboards")
    assert response.status_code == 302
    assert response.location.startswith("/login?next=/dashboards")


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
def test_unauthenticated_requests_to_dash_endpoints_get_401(client, method, path):
    response = getattr(client, method)(path, json={} if method == "post" else None)
    assert response.status_code == 401
    assert response.is_json


def test_unauthenticated_component_suite_request_gets_401(app, client, login_as):
    # A real script address from a signed-in manager's index, then asked for without a session.
    login_as("manager")
    index = client.get("/dashboards/").get_data(as_text=True)
    script = re.search(r'src="(/dashboards/_dash-component-suites/[^"]+)"', index).group(1)
    assert client.get(script).status_code == 200
    assert app.test_client().get(script).status_code == 401


def test_employee_gets_403_on_dashboard_pages(client, login_as):
    login_as("employee")
    assert client.get("/dashboards/").status_code == 403
    assert client.get("/dashboards/organization").status_code == 403


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
def test_employee_gets_403_on_dash_endpoints(client, login_as, method, path):
    login_as("employee")
    response = getattr(client, method)(path, json={} if method == "post" else None)
    assert response.status_code == 403
    assert response.is_json


@pytest.mark.parametrize("role", ["manager", "change_leader", "executive", "admin"])
def test_dashboard_roles_get_the_dashboard_index(client, login_as, role):
    login_as(role)
    response = client.get("/dashboards/")
    assert response.status_code == 200
    assert 'id="react-entry-point"' in response.get_data(as_text=True)
    assert client.get("/dashboards/_dash-layout").status_code == 200


def test_guard_leaves_the_rest_of_the_app_alone(client):
    assert client.get("/static/vendor/bootstrap-5.3.9/bootstrap.min.css").status_code == 200
    assert client.get("/dashboardsx").status_code == 404


def test_index_loads_every_asset_from_the_app_itself(client, login_as):
    login_as("manager")
    html = client.get("/dashboards/").get_data(as_text=True)
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls, html
    assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    assert "/static/vendor/bootstrap-5.3.9/bootstrap.min.css" in urls
    assert any(url.startswith("/dashboards/assets/dashboards.css") for url in urls)
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_plotly_js_is_served_by_the_app(client, login_as):
    login_as("manager")
    client.get("/dashboards/")
    app = client.application.extensions["uptake_dashboards"]
    assert "package_data/plotly.min.js" in app.registered_paths["plotly"]
    assert (
        client.get(
            "/dashboards/_dash-component-suites/plotly/package_data/plotly.min.js"
        ).status_code
        == 200
    )
