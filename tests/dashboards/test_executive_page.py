"""Issue 7 on the small demo: the executive commitment page, its printable view and its CSV, for
a sponsoring executive (their own record and aggregates only), a change leader (every sponsor)
and a manager (refused)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select

from adoption.demo import DEMO_PASSWORD
from adoption.demo_calendar import REFERENCE
from adoption.extensions import db as _db
from adoption.models import Employee, User
from adoption.sponsors import all_sponsors
from dashboards.pages import executive as page
from tests.conftest import demo_loaded
from tests.dashboards.conftest import texts


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The small demo with every feature's demo data (sponsors included)."""
    with demo_loaded(tmp_path_factory.mktemp("executive_demo")) as (application, summary):
        application.config["DEMO_LOGINS"] = dict(summary.logins)  # role -> e-mail
        yield application


@pytest.fixture(autouse=True)
def demo_today(monkeypatch):
    """The pages are read on the demo's "today" (the suite loads it for the reference day): its
    current quarter, last whole week and CSAT months are those of the data, whatever the real date."""
    monkeypatch.setattr("dashboards.clock.org_today", lambda: REFERENCE.today)


@pytest.fixture
def sign_in_demo(client, app):
    """Sign the client in with the demo account of ``role``; returns the user."""

    def _sign_in(role: str) -> User:
        email = app.config["DEMO_LOGINS"][role]
        response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        return _db.session.scalar(select(User).where(User.email == email))

    return _sign_in


def call(run_callback, output: str, quarter=None) -> dict:
    """The response payload of the callback producing ``output`` for ``quarter`` (default: the
    page's default, the current quarter)."""
    values = {f"{page.QUARTER}.value": quarter}
    response = run_callback(output, values)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["response"]


def sponsor_names() -> list[str]:
    """The demo sponsors' names."""
    return [s.full_name for s in all_sponsors()]


def everything_shown(run_callback) -> str:
    """Every text of every section of the page, joined."""
    shown = []
    for output in (f"{page.SUMMARY}.children", f"{page.GAP_FIGURE}.figure", f"{page.SPONSORS_TABLE}.children",
                   f"{page.ADOPTION_FIGURE}.figure"):
        payload = call(run_callback, output)
        for component in payload.values():
            for value in component.values():
                shown.append(" ".join(texts(value)) if not isinstance(value, dict) or "data" not in value
                             else str(value))
    return " ".join(shown)


def test_the_executive_lands_on_the_commitment_page(client, app):
    email = app.config["DEMO_LOGINS"]["executive"]
    response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
    assert response.headers["Location"].endswith("/dashboards/executive")


def test_the_summary_shows_adoption_score_perception_and_csat_each_with_n(sign_in_demo, run_callback):
    sign_in_demo("executive")
    payload = call(run_callback, f"{page.SUMMARY}.children")
    shown = texts(payload[page.SUMMARY]["children"])
    for title in ("Adoption", "Commitment score", "Perceived commitment", "CSAT"):
        assert title in shown
    joined = " ".join(shown)
    assert "licensed" in joined and "respondents" in joined and "responses" in joined
    assert "your objective score" in joined  # the CEO is a sponsor: the score is their own


def test_a_sponsor_is_shown_what_needs_them_in_their_areas_a_change_leader_the_organizations(
        sign_in_demo, client, run_callback, monkeypatch):
    # On the demo's today nothing in the CEO's units has a "where"; a "you said, we did" action in
    # them falls due on 15 December 2026, and is overdue the day after.
    monkeypatch.setattr("dashboards.clock.org_today", lambda: dt.date(2026, 12, 16))
    sign_in_demo("change_leader")
    leader_items = " ".join(texts(call(run_callback, f"{page.URGENT}.children")[page.URGENT]["children"]))
    assert "in the organization" in leader_items
    client.post("/logout")
    sign_in_demo("executive")
    own_items = " ".join(texts(call(run_callback, f"{page.URGENT}.children")[page.URGENT]["children"]))
    assert "in the organization" not in own_items
    assert "in your units" in own_items


def test_a_sponsoring_executive_sees_their_own_record_and_no_other_sponsors(sign_in_demo, run_callback):
    user = sign_in_demo("executive")
    own = _db.session.get(Employee, user.employee_id).full_name
    others = [name for name in sponsor_names() if name != own]
    assert own in sponsor_names() and len(others) == 2
    payload = call(run_callback, f"{page.SPONSORS_TABLE}.children")
    table = " ".join(texts(payload[page.SPONSORS_TABLE]["children"]))
    assert own in table
    shown = everything_shown(run_callback)
    for name in others:
        assert name not in shown


def test_the_page_opens_on_the_current_quarter_and_in_its_first_weeks_on_the_one_just_ended():
    def picker(today: dt.date):
        return next(c for c in page.layout(today)._traverse() if getattr(c, "id", None) == page.QUARTER)

    assert picker(REFERENCE.today).value == "2026-Q4"
    early = picker(dt.date(2027, 1, 4))
    assert early.value == "2026-Q4"
    assert [o["value"] for o in early.options][:2] == ["2027-Q1", "2026-Q4"]  # the current one is offered


def test_a_forged_quarter_falls_back_to_the_default_one_and_still_shows_only_the_own_record(sign_in_demo,
                                                                                          run_callback):
    user = sign_in_demo("executive")
    own = _db.session.get(Employee, user.employee_id).full_name
    payload = call(run_callback, f"{page.SPONSORS_TABLE}.children", quarter="1999-Q1' OR 1=1")
    table = " ".join(texts(payload[page.SPONSORS_TABLE]["children"]))
    assert own in table and all(name not in table for name in sponsor_names() if name != own)


def test_the_executive_csv_holds_their_own_row_and_the_team_only(sign_in_demo, run_callback):
    user = sign_in_demo("executive")
    own = _db.session.get(Employee, user.employee_id).full_name
    values = {f"{page.QUARTER}.value": None, "executive-sponsors-csv.n_clicks": 1}
    data = run_callback("executive-sponsors-download.data", values).get_json()["response"]
    rows = list(csv.DictReader(io.StringIO(data["executive-sponsors-download"]["data"]["content"])))
    assert [row["who"] for row in rows] == [own]


def test_the_outcomes_csv_holds_weekly_adoption_and_monthly_csat_and_nps_with_their_n(sign_in_demo, run_callback):
    sign_in_demo("executive")
    values = {f"{page.QUARTER}.value": None, "executive-outcomes-csv.n_clicks": 1}
    data = run_callback("executive-outcomes-download.data", values).get_json()["response"]
    rows = list(csv.DictReader(io.StringIO(data["executive-outcomes-download"]["data"]["content"])))
    assert {row["series"] for row in rows} == {"adoption_rate", "csat", "nps"}
    csat = [row for row in rows if row["series"] == "csat"]
    assert csat and all(row["units"] == "40" and int(row["n"]) > 0 for row in csat)
    assert all(row["units"] == "" for row in rows if row["series"] == "adoption_rate")


def test_a_change_leader_sees_all_three_sponsors_and_the_gap_of_the_one_seen_as_uncommitted(sign_in_demo,
                                                                                          run_callback):
    sign_in_demo("change_leader")
    payload = call(run_callback, f"{page.SPONSORS_TABLE}.children")
    table = " ".join(texts(payload[page.SPONSORS_TABLE]["children"]))
    assert all(name in table for name in sponsor_names())
    gap = call(run_callback, f"{page.GAP_FIGURE}.figure")
    assert "seen less than done" in " ".join(texts(gap[page.GAP_TABLE]["children"]))
    assert "is highlighted:" in gap[page.GAP_N]["children"]
    title = gap[page.GAP_FIGURE]["figure"]["layout"]["title"]["text"]
    assert "3 sponsors (perceived from" in title and "the team (" in title


def test_perceived_commitment_by_region_is_highest_in_the_visible_sponsors_region(sign_in_demo, run_callback):
    sign_in_demo("executive")
    payload = call(run_callback, f"{page.TEAM_TABLE}.children")
    tables = payload[page.TEAM_TABLE]["children"]["props"]["children"]
    rows = tables[1]["props"]["children"][2]["props"]["children"]  # the regions table's body rows
    scores = {texts(row)[0]: float(texts(row)[1].split(" ")[0]) for row in rows}
    assert set(scores) == {"Acme/APAC", "Acme/EMEA", "Acme/LATAM", "Acme/North America"}
    # The CEO's region perceives their commitment; the absent CRO's LATAM the least.
    assert max(scores, key=scores.get) == "Acme/North America"
    assert min(scores, key=scores.get) == "Acme/LATAM"


def test_the_outcomes_show_adoption_against_target_and_csat_by_month(sign_in_demo, run_callback):
    sign_in_demo("executive")
    payload = call(run_callback, f"{page.ADOPTION_FIGURE}.figure")
    adoption = payload[page.ADOPTION_FIGURE]["figure"]
    assert [t["name"] for t in adoption["data"]] == ["adoption rate", "target"]
    assert "active of" in adoption["layout"]["title"]["text"]
    customer = payload[page.CUSTOMER_FIGURE]["figure"]
    assert {t["name"] for t in customer["data"]} == {"CSAT", "NPS"}
    assert "responses" in customer["layout"]["title"]["text"]
    shown = " ".join(texts(payload[page.OUTCOMES_TABLE]["children"]))
    assert "Hypotheses supported" in shown and "Key behaviour" in shown


def test_a_manager_cannot_run_the_pages_callbacks(login_as, run_callback):
    login_as("manager", unit="Acme/North America/Field Sales Northeast")
    payload = call(run_callback, f"{page.SPONSORS_TABLE}.children")
    assert payload[page.SPONSORS_N]["children"] == page.NOT_ALLOWED


def test_the_printable_view_shows_the_executives_own_record_only(client, sign_in_demo):
    user = sign_in_demo("executive")
    own = _db.session.get(Employee, user.employee_id).full_name
    html = client.get(page.PRINT_PATH).get_data(as_text=True)
    assert "Executive commitment" in html and own in html
    assert all(name not in html for name in sponsor_names() if name != own)
    assert "@media print" in html


def test_the_printable_view_is_refused_to_a_manager(client, login_as):
    login_as("manager", unit="Acme/North America/Field Sales Northeast")
    assert client.get(page.PRINT_PATH).status_code == 403
