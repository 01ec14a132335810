"""The Adoption page through its callbacks, as each role gets it over HTTP.

The weekly rollups are filled directly with known numbers, so these tests do not depend on how
``refresh_weekly_usage`` computes them; the backlog is emptied so nothing is recomputed.
"""

import csv
import datetime as dt
import io
import json

import pytest
from sqlalchemy import delete

from adoption.initiative import save_initiative
from adoption.models import DailyUsage, RollupBacklog, WeeklyUnitBehaviour, WeeklyUnitUsage
from tests.dashboards.conftest import DISPATCH, texts
from tests.factories import make_employee, make_unit

# Six complete weeks, Monday 2024-05-06 to Sunday 2024-06-16.
WEEKS = [dt.date(2024, 5, 6) + dt.timedelta(weeks=i) for i in range(6)]
START, END = "2024-05-06", "2024-06-16"
NORTH, SOUTH, WEST = "Acme/EMEA/Sales North", "Acme/EMEA/Sales South", "Acme/Americas/Sales West"
# Active people per week out of ten (North, South) and twenty (West) licensed.
ACTIVE = {NORTH: [9, 8, 7, 6, 5, 4], SOUTH: [9] * 6, WEST: [2, 4, 6, 8, 10, 12]}
LICENSED = {NORTH: 10, SOUTH: 10, WEST: 20}


@pytest.fixture
def org(db):
    """Three teams with known weekly adoption, a manager of North with reports, dormant people."""
    units = {path: make_unit(path) for path in (NORTH, SOUTH, WEST)}
    for path, active in ACTIVE.items():
        for week, n in zip(WEEKS, active, strict=True):
            db.session.add(
                WeeklyUnitUsage(
                    week_start=week,
                    unit_id=units[path].id,
                    licensed=LICENSED[path],
                    active=n,
                    active_days=2 * n,
                    events=5 * n,
                    event_types=n,
                )
            )
    db.session.add_all(
        [
            WeeklyUnitBehaviour(
                week_start=WEEKS[-1],
                unit_id=units[NORTH].id,
                event_type="activity_logged",
                people=3,
            ),
            WeeklyUnitBehaviour(
                week_start=WEEKS[-1], unit_id=units[WEST].id, event_type="activity_logged", people=7
            ),
        ]
    )
    boss = make_employee(NORTH, full_name="Mia Manager", crm_user_id="crm-mia")
    nora = make_employee(NORTH, full_name="Nora Busy", crm_user_id="crm-nora", manager=boss)
    make_employee(NORTH, full_name="Dan Dormant", crm_user_id="crm-dan", manager=boss)
    make_employee(NORTH, full_name="Una Unlicensed", manager=boss)
    make_employee(WEST, full_name="Wes Westdormant", crm_user_id="crm-wes")
    # Reports to Mia on the roster but sits in another subtree: not hers to see.
    make_employee(WEST, full_name="Ravi Remote", crm_user_id="crm-ravi", manager=boss)
    db.session.add_all(
        [
            DailyUsage(day=dt.date(2024, 6, 10), employee_id=nora.id, event_type="login", events=4),
            DailyUsage(
                day=dt.date(2024, 6, 10),
                employee_id=nora.id,
                event_type="activity_logged",
                events=2,
            ),
            DailyUsage(day=dt.date(2024, 6, 12), employee_id=nora.id, event_type="login", events=1),
            # Before the period: counts for "last active" but not for the period's events.
            DailyUsage(day=dt.date(2024, 4, 1), employee_id=nora.id, event_type="login", events=9),
        ]
    )
    save_initiative(
        "CRM rollout",
        start_date=dt.date(2024, 1, 1),
        licensed_seats=50,
        adoption_target_pct=80,
        key_behaviours=["activity_logged", "opportunity_updated"],
    )
    db.session.execute(delete(RollupBacklog))
    db.session.commit()
    ids = {path: unit.id for path, unit in units.items()}
    ids["Acme"] = make_unit("Acme").id
    ids["Acme/EMEA"] = make_unit("Acme/EMEA").id
    return {"units": ids, "boss": boss}


def call(run_callback, output, unit=None, start=START, end=END, **extra):
    """The response payload of the page callback producing ``output``."""
    values = {
        "adoption-unit.value": unit,
        "adoption-period.start_date": start,
        "adoption-period.end_date": end,
        **extra,
    }
    response = run_callback(output, values)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["response"]


def download(run_callback, key, unit=None, start=START, end=END):
    """The CSV rows the download button of chart ``key`` delivers."""
    payload = call(
        run_callback,
        f"adoption-{key}-download.data",
        unit,
        start,
        end,
        **{f"adoption-{key}-csv.n_clicks": 1},
    )
    data = payload[f"adoption-{key}-download"]["data"]
    assert data["filename"] == f"adoption-{key}-{START}-{END}.csv"
    return list(csv.DictReader(io.StringIO(data["content"])))


def body_rows(table):
    """The text of each body row of a serialized table."""
    rows = []
    for part in table["props"]["children"]:
        if part.get("type") == "Tbody":
            rows.extend(texts(row) for row in part["props"]["children"])
    return rows


def test_manager_sees_the_adoption_rate_of_their_own_team(org, login_as, run_callback):
    login_as("manager", employee=org["boss"])
    payload = call(run_callback, "adoption-rate-figure.figure")
    line = payload["adoption-rate-figure"]["figure"]["data"][0]
    assert line["y"] == [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    target = payload["adoption-rate-figure"]["figure"]["data"][1]
    assert target["y"] == [0.8, 0.8]
    assert payload["adoption-rate-n"]["children"] == (
        f"{NORTH}, week of 2024-06-10: n = 10 licensed, 4 active (40%); target 80%."
    )


def test_manager_posting_another_teams_unit_gets_only_their_own(org, login_as, run_callback):
    login_as("manager", employee=org["boss"])
    for forged in (org["units"][WEST], org["units"]["Acme"], 999_999, "x", -1):
        for output in (
            "adoption-rate-figure.figure",
            "adoption-behaviours-figure.figure",
            "adoption-heatmap-figure.figure",
            "adoption-at-risk-table.children",
            "adoption-dormant-table.children",
            "adoption-reports-table.children",
        ):
            payload = call(run_callback, output, unit=forged)
            body = json.dumps(payload)
            assert "Americas" not in body and "West" not in body and "South" not in body, output
            assert "Ravi" not in body and "Wes " not in body
        rate = call(run_callback, "adoption-rate-figure.figure", unit=forged)
        assert rate["adoption-rate-figure"]["figure"]["data"][0]["y"][0] == 0.9


def test_manager_csv_with_a_forged_unit_holds_only_their_team(org, login_as, run_callback):
    login_as("manager", employee=org["boss"])
    rows = download(run_callback, "heatmap", unit=org["units"][WEST])
    assert {r["path"] for r in rows} == {NORTH}
    dormant = download(run_callback, "dormant", unit=org["units"]["Acme"])
    assert [r["full_name"] for r in dormant] == ["Dan Dormant", "Mia Manager"]


def test_manager_unit_picker_offers_only_their_scope(org, login_as, run_callback):
    login_as("manager", employee=org["boss"])
    payload = call(run_callback, "adoption-unit.options")
    assert [o["label"] for o in payload["adoption-unit"]["options"]] == [NORTH]


def test_change_leader_heatmap_has_a_row_per_child_unit_with_small_cells_marked(
    org, login_as, run_callback
):
    login_as("change_leader", unit="Acme/HQ")
    payload = call(run_callback, "adoption-heatmap-figure.figure", unit=org["units"]["Acme/EMEA"])
    heatmap = payload["adoption-heatmap-figure"]["figure"]["data"][0]
    assert heatmap["y"] == [NORTH, SOUTH]
    assert heatmap["z"][0] == [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    assert heatmap["text"][1] == ["90%"] * 6
    top = call(run_callback, "adoption-heatmap-figure.figure", unit=org["units"]["Acme"])
    heatmap = top["adoption-heatmap-figure"]["figure"]["data"][0]
    assert heatmap["y"] == ["Acme/Americas", "Acme/EMEA"]
    assert heatmap["z"][1][0] == 18 / 20


def test_heatmap_marks_cells_with_fewer_than_five_licensed(org, db, login_as, run_callback):
    tiny = make_unit("Acme/EMEA/Tiny")
    db.session.add(
        WeeklyUnitUsage(
            week_start=WEEKS[0],
            unit_id=tiny.id,
            licensed=2,
            active=1,
            active_days=1,
            events=1,
            event_types=1,
        )
    )
    db.session.commit()
    login_as("change_leader", unit="Acme/HQ")
    payload = call(run_callback, "adoption-heatmap-figure.figure", unit=org["units"]["Acme/EMEA"])
    heatmap = payload["adoption-heatmap-figure"]["figure"]["data"][0]
    row = heatmap["y"].index("Acme/EMEA/Tiny")
    assert heatmap["text"][row][0] == "50%*"
    # Nobody licensed in the second week: an empty cell, nothing to mark.
    assert heatmap["text"][row][1] == ""
    assert "fewer than 5 licensed" in payload["adoption-heatmap-n"]["children"]


def test_change_leader_sees_units_below_target_and_falling_as_at_risk(org, login_as, run_callback):
    login_as("change_leader", unit="Acme/HQ")
    payload = call(run_callback, "adoption-at-risk-table.children")
    rows = body_rows(payload["adoption-at-risk-table"]["children"])
    # EMEA falls with North (North + steady South); the company rises with West.
    assert rows == [
        [NORTH, "10", "70%", "60%", "50%", "40%", "80%"],
        ["Acme/EMEA", "20", "80%", "75%", "70%", "65%", "80%"],
    ]
    assert payload["adoption-at-risk-n"]["children"].startswith("2 unit(s) below the 80% target")


def test_at_risk_judges_only_complete_weeks(org, login_as, run_callback):
    login_as("change_leader", unit="Acme/HQ")
    # The period ends mid-week: the running week is left out of the trend.
    payload = call(run_callback, "adoption-at-risk-table.children", end="2024-06-12")
    table = payload["adoption-at-risk-table"]["children"]
    header = texts(table["props"]["children"][1])
    assert header[-2] == "Week of 2024-06-03"


def test_at_risk_leaves_out_the_week_that_ends_today(org, login_as, run_callback, monkeypatch):
    # On the last day of a week, that week is still running: today's use is not all in.
    monkeypatch.setattr("dashboards.clock.org_today", lambda: dt.date(2024, 6, 16))
    login_as("change_leader", unit="Acme/HQ")
    payload = call(run_callback, "adoption-at-risk-table.children", end="2024-06-16")
    table = payload["adoption-at-risk-table"]["children"]
    header = texts(table["props"]["children"][1])
    assert header[-2] == "Week of 2024-06-03"


def test_key_behaviours_are_shares_of_licensed_people(org, login_as, run_callback):
    login_as("change_leader", unit="Acme/HQ")
    payload = call(run_callback, "adoption-behaviours-figure.figure")
    lines = {t["name"]: t for t in payload["adoption-behaviours-figure"]["figure"]["data"]}
    assert set(lines) == {"activity_logged", "opportunity_updated"}
    assert lines["activity_logged"]["y"][-1] == 10 / 40
    assert lines["opportunity_updated"]["y"][-1] == 0
    assert "n = 40 licensed" in payload["adoption-behaviours-n"]["children"]


def test_change_leader_sees_dormant_people_by_name(org, login_as, run_callback):
    login_as("change_leader", unit="Acme/HQ")
    payload = call(run_callback, "adoption-dormant-table.children")
    names = [row[0] for row in body_rows(payload["adoption-dormant-table"]["children"])]
    # Nora used the CRM in the 30 days; Una holds no licence; Chloe (the change leader's
    # own record, no licence) is not licensed either.
    assert names == ["Ravi Remote", "Wes Westdormant", "Dan Dormant", "Mia Manager"]
    assert payload["adoption-dormant-n"]["children"].startswith("4 of n = 5 licensed people")


def test_executive_gets_a_dormant_count_and_no_names(org, login_as, run_callback):
    login_as("executive", unit="Acme/HQ")
    payload = call(run_callback, "adoption-dormant-table.children")
    body = json.dumps(payload)
    for name in ("Dan", "Wes", "Ravi", "Mia", "Nora"):
        assert name not in body
    assert payload["adoption-dormant-n"]["children"].startswith("4 of n = 5 licensed people")
    rows = download(run_callback, "dormant")
    assert rows == [{"unit": "Acme", "licensed": "5", "dormant": "4"}]


def test_executive_sees_no_individual_usage(org, login_as, run_callback):
    login_as("executive", unit="Acme/HQ")
    payload = call(run_callback, "adoption-reports-table.children")
    assert "Nobody to list." in texts(payload["adoption-reports-table"]["children"])
    assert download(run_callback, "reports") == []


def test_manager_sees_direct_reports_usage_within_their_scope(org, login_as, run_callback):
    login_as("manager", employee=org["boss"])
    payload = call(run_callback, "adoption-reports-table.children")
    assert body_rows(payload["adoption-reports-table"]["children"]) == [
        ["Dan Dormant", "yes", "0", "0", "never"],
        ["Nora Busy", "yes", "7", "2", "2024-06-12"],
        ["Una Unlicensed", "no", "0", "0", "never"],
    ]
    assert payload["adoption-reports-n"]["children"].startswith("n = 3 people reporting")


def test_csv_download_holds_exactly_the_charts_rows(org, login_as, run_callback):
    login_as("change_leader", unit="Acme/HQ")
    unit = org["units"]["Acme/EMEA"]
    figure = call(run_callback, "adoption-rate-figure.figure", unit=unit)
    rows = download(run_callback, "rate", unit=unit)
    line = figure["adoption-rate-figure"]["figure"]["data"][0]
    assert [r["week_start"] for r in rows] == line["x"]
    assert [float(r["adoption_rate"]) for r in rows] == line["y"]
    assert [int(r["licensed"]) for r in rows] == [20] * 6

    heatmap = call(run_callback, "adoption-heatmap-figure.figure", unit=unit)
    cells = download(run_callback, "heatmap", unit=unit)
    z = heatmap["adoption-heatmap-figure"]["figure"]["data"][0]["z"]
    assert [float(c["adoption_rate"]) for c in cells] == [v for row in z for v in row]

    table = call(run_callback, "adoption-at-risk-table.children", unit=unit)
    at_risk = download(run_callback, "at-risk", unit=unit)
    shown = body_rows(table["adoption-at-risk-table"]["children"])
    assert [r["path"] for r in at_risk] == [row[0] for row in shown]

    dormant = call(run_callback, "adoption-dormant-table.children", unit=unit)
    names = [r[0] for r in body_rows(dormant["adoption-dormant-table"]["children"])]
    assert [r["full_name"] for r in download(run_callback, "dormant", unit=unit)] == names


def test_a_period_without_rollups_says_no_data_with_n_zero(org, login_as, run_callback):
    login_as("change_leader", unit="Acme/HQ")
    payload = call(
        run_callback, "adoption-rate-figure.figure", start="2023-01-02", end="2023-02-05"
    )
    figure = payload["adoption-rate-figure"]["figure"]
    assert figure["data"] == []
    assert "n = 0" in payload["adoption-rate-n"]["children"]


@pytest.mark.parametrize("role", ["manager", "change_leader", "executive", "admin"])
def test_page_renders_for_each_dashboard_role(org, login_as, run_callback, role):
    login_as(role, unit=NORTH)
    payload = call(
        run_callback,
        "dashboards-content.children",
        **{"dashboards-location.pathname": "/dashboards/adoption"},
    )
    content = json.dumps(payload["dashboards-content"]["children"])
    for component in ("adoption-unit", "adoption-period", "adoption-rate-figure"):
        assert f'"id": "{component}"' in content
    nav = texts(payload["dashboards-nav"]["children"])
    assert "Adoption" in nav


def test_employee_is_refused_the_page_and_its_callbacks(org, login_as, client):
    login_as("employee", unit=NORTH)
    assert client.get("/dashboards/adoption").status_code == 403
    response = client.post(
        DISPATCH,
        json={
            "output": "adoption-dormant-download.data",
            "outputs": {"id": "adoption-dormant-download", "property": "data"},
            "inputs": [{"id": "adoption-dormant-csv", "property": "n_clicks", "value": 1}],
            "state": [
                {"id": "adoption-unit", "property": "value", "value": None},
                {"id": "adoption-period", "property": "start_date", "value": START},
                {"id": "adoption-period", "property": "end_date", "value": END},
            ],
            "changedPropIds": ["adoption-dormant-csv.n_clicks"],
        },
    )
    assert response.status_code == 403
    assert "Dormant" not in response.get_data(as_text=True)


def test_a_name_from_the_roster_that_is_a_formula_arrives_in_the_csv_as_text(org, db, login_as, run_callback):
    login_as("change_leader", unit="Acme/HQ")
    make_employee(NORTH, full_name='=HYPERLINK("http://evil.example","Open me")', crm_user_id="crm-eve")
    db.session.commit()
    names = [r["full_name"] for r in download(run_callback, "dormant", unit=org["units"][NORTH])]
    assert '\'=HYPERLINK("http://evil.example","Open me")' in names and "Dan Dormant" in names


def test_the_period_picker_opens_on_the_organizations_week(app):
    from dashboards.pages import adoption as page

    app.config["WEEK_START"] = 6  # weeks run Sunday to Saturday
    wednesday = dt.date(2024, 6, 12)
    picker = next(c for c in page.layout(wednesday)._traverse() if getattr(c, "id", None) == page.PERIOD)
    first = dt.date.fromisoformat(str(picker.start_date))
    assert first.weekday() == 6 and (wednesday - first).days == 7 * (page.DEFAULT_WEEKS - 1) + 3
    assert picker.end_date in (wednesday, wednesday.isoformat())
