"""The Organization page through its callbacks, as each role gets it over HTTP."""

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import pytest

from dashboards.pages import PAGES
from tests.dashboards.conftest import table_rows, texts
from tests.factories import make_employee, make_unit

AS_OF = "2024-06-01"
FIGURE = "org-figure.figure"


@pytest.fixture
def org(db):
    """Two EMEA teams and one Americas team with known headcount and licences."""
    for i in range(2):
        make_employee("Acme/EMEA/Sales North", crm_user_id=f"N{i}" if i == 0 else None)
    for i in range(4):
        make_employee("Acme/EMEA/Sales South", crm_user_id=f"S{i}" if i < 3 else None)
    for i in range(7):
        make_employee("Acme/Americas/Sales West", crm_user_id=f"W{i}" if i < 5 else None)
    db.session.commit()
    return {
        path: make_unit(path).id
        for path in ("Acme", "Acme/EMEA", "Acme/EMEA/Sales North", "Acme/Americas/Sales West")
    }


def headcount(run_callback, level=2, unit=None, as_of=AS_OF):
    """The Organization callback's response for these picker values."""
    response = run_callback(
        FIGURE, {"org-as-of.date": as_of, "org-level.value": level, "org-unit.value": unit}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def rows(response):
    """The table rows of a callback response: unit path → (employees, licensed, share)."""
    table = response.get_json()["response"]["org-table"]["children"]
    return table_rows(table) if table.get("type") == "Table" else {}


def test_manager_sees_only_their_team(org, login_as, run_callback):
    login_as("manager", unit="Acme/EMEA/Sales North")
    response = headcount(run_callback)
    assert rows(response) == {"Acme/EMEA/Sales North": (3, 1, "33%")}
    figure = response.get_json()["response"]["org-figure"]["figure"]
    assert {y for trace in figure["data"] for y in trace["y"]} == {"Acme/EMEA/Sales North"}


def test_manager_of_a_region_sees_its_teams_and_nothing_else(org, login_as, run_callback):
    login_as("manager", unit="Acme/EMEA")
    assert rows(headcount(run_callback)) == {
        "Acme/EMEA": (1, 0, "0%"),
        "Acme/EMEA/Sales North": (2, 1, "50%"),
        "Acme/EMEA/Sales South": (4, 3, "75%"),
    }


def test_manager_asking_for_company_level_gets_their_own_unit_not_the_company(
    org, login_as, run_callback
):
    login_as("manager", unit="Acme/EMEA/Sales North")
    response = headcount(run_callback, level=0, unit=org["Acme"])
    assert rows(response) == {"Acme/EMEA/Sales North": (3, 1, "33%")}
    body = response.get_data(as_text=True)
    assert "Sales West" not in body and "Americas" not in body and "Sales South" not in body


def test_manager_posting_another_teams_unit_directly_gets_nothing_of_it(
    org, login_as, run_callback
):
    login_as("manager", unit="Acme/EMEA/Sales North")
    for level in (0, 1, 2, 5, -3, "2", None):
        response = headcount(run_callback, level=level, unit=org["Acme/Americas/Sales West"])
        body = response.get_data(as_text=True)
        assert "Sales West" not in body and "Americas" not in body
        assert rows(response) == {}
        # Sales West has 7 people, 5 licensed: neither number may appear as a count.
        shown = texts(response.get_json()["response"]["org-table"]["children"])
        assert shown == ["No data in your scope"]
        figure = response.get_json()["response"]["org-figure"]["figure"]
        assert figure["data"] == []
        assert [a["text"] for a in figure["layout"]["annotations"]] == ["No data in your scope"]


def test_manager_pickers_offer_only_units_in_their_scope(org, login_as, run_callback):
    login_as("manager", unit="Acme/EMEA/Sales North")
    response = run_callback("org-unit.options", {"org-as-of.date": AS_OF})
    assert response.status_code == 200
    payload = response.get_json()["response"]
    assert [o["label"] for o in payload["org-unit"]["options"]] == ["Acme/EMEA/Sales North"]
    assert [o["label"] for o in payload["org-level"]["options"]] == ["Team"]


def test_change_leader_sees_every_unit(org, login_as, run_callback):
    login_as("change_leader", unit="Acme/EMEA/Sales North")
    assert rows(headcount(run_callback, level=2)) == {
        "Acme": (0, 0, "n/a"),
        "Acme/Americas": (0, 0, "n/a"),
        "Acme/Americas/Sales West": (7, 5, "71%"),
        "Acme/EMEA": (0, 0, "n/a"),
        "Acme/EMEA/Sales North": (3, 1, "33%"),
        "Acme/EMEA/Sales South": (4, 3, "75%"),
    }
    assert rows(headcount(run_callback, level=1)) == {
        "Acme": (0, 0, "n/a"),
        "Acme/Americas": (7, 5, "71%"),
        "Acme/EMEA": (7, 4, "57%"),
    }


def test_executive_sees_organization_wide_aggregates(org, login_as, run_callback):
    login_as("executive", unit="Acme/EMEA/Sales North")
    response = headcount(run_callback, level=0)
    assert rows(response) == {"Acme": (14, 9, "64%")}
    assert response.get_json()["response"]["org-summary"]["children"].startswith(
        "On 2024-06-01: 14 people, 9 with"
    )


def test_as_of_date_is_passed_to_the_query(org, login_as, run_callback):
    login_as("change_leader", unit="Acme/EMEA/Sales North")
    # Everyone in the fixture joined on 2024-01-01.
    assert rows(headcount(run_callback, level=0, as_of="2023-12-31")) == {"Acme": (0, 0, "n/a")}
    assert rows(headcount(run_callback, level=0, as_of="2024-01-01T00:00:00")) == {
        "Acme": (14, 9, "64%")
    }


def test_employee_cannot_reach_the_callback(org, login_as, run_callback, client):
    login_as("employee", unit="Acme/EMEA/Sales North")
    response = client.post(
        "/dashboards/_dash-update-component",
        json={
            "output": "..org-figure.figure...org-table.children...org-summary.children..",
            "outputs": [
                {"id": "org-figure", "property": "figure"},
                {"id": "org-table", "property": "children"},
                {"id": "org-summary", "property": "children"},
            ],
            "inputs": [
                {"id": "org-as-of", "property": "date", "value": AS_OF},
                {"id": "org-level", "property": "value", "value": 0},
                {"id": "org-unit", "property": "value", "value": None},
            ],
            "state": [],
            "changedPropIds": ["org-level.value"],
        },
    )
    assert response.status_code == 403
    assert "Acme" not in response.get_data(as_text=True)


def test_router_lists_the_pages_of_the_role_and_a_link_back_to_the_app(org, login_as, run_callback):
    login_as("manager", unit="Acme/EMEA/Sales North")
    response = run_callback(
        "dashboards-nav.children", {"dashboards-location.pathname": "/dashboards/organization"}
    )
    payload = response.get_json()["response"]
    nav = json.dumps(payload["dashboards-nav"]["children"])
    assert '"href": "/dashboards/organization"' in nav
    assert '"href": "/"' in nav
    assert "Organization" in texts(payload["dashboards-nav"]["children"])
    content = json.dumps(payload["dashboards-content"]["children"])
    for component_id in ("org-as-of", "org-level", "org-unit", "org-figure", "org-table"):
        assert f'"id": "{component_id}"' in content


def test_router_gives_the_as_of_picker_the_organizations_today(app, org, login_as, run_callback):
    login_as("manager", unit="Acme/EMEA/Sales North")
    response = run_callback(
        "dashboards-content.children", {"dashboards-location.pathname": "/dashboards/organization"}
    )
    content = json.dumps(response.get_json()["response"]["dashboards-content"]["children"])
    shown = dt.date.fromisoformat(re.search(r'"date": "([0-9-]+)"', content).group(1))
    today = dt.datetime.now(ZoneInfo(app.config["ORG_TIMEZONE"])).date()
    # Allow for midnight passing between the request and this line.
    assert shown in (today, today - dt.timedelta(days=1))


def test_router_answers_unknown_pages_with_not_found(org, login_as, run_callback):
    login_as("manager", unit="Acme/EMEA/Sales North")
    response = run_callback(
        "dashboards-content.children", {"dashboards-location.pathname": "/dashboards/nowhere"}
    )
    assert "Page not found" in texts(
        response.get_json()["response"]["dashboards-content"]["children"]
    )


def test_router_landing_page_lists_the_dashboards(org, login_as, run_callback):
    login_as("executive", unit="Acme/EMEA/Sales North")
    response = run_callback(
        "dashboards-content.children", {"dashboards-location.pathname": "/dashboards/"}
    )
    content = response.get_json()["response"]["dashboards-content"]["children"]
    shown = texts(content)
    assert shown[0] == "Dashboards"
    titles = ["Commitment", "Organization", "Adoption", "Engagement", "Training", "Evidence"]
    assert [t for t in shown if t in titles] == titles
    # Each card says what its page answers, and links to it.
    for page in PAGES:
        assert page.question in shown
        assert f'"href": "/dashboards/{page.slug}"' in json.dumps(content)


def test_router_landing_page_offers_a_manager_only_the_pages_of_the_role(org, login_as,
                                                                         run_callback):
    login_as("manager", unit="Acme/EMEA/Sales North")
    response = run_callback(
        "dashboards-content.children", {"dashboards-location.pathname": "/dashboards/"}
    )
    content = response.get_json()["response"]["dashboards-content"]["children"]
    assert "/dashboards/executive" not in json.dumps(content)
    assert "/dashboards/evidence" not in json.dumps(content)
    assert "Adoption" in texts(content)
