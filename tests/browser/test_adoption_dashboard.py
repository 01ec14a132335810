"""The Adoption dashboard in the system Chromium: a change leader finds the units at risk."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect
from sqlalchemy import delete, select

from adoption.extensions import db
from adoption.models import OrgUnit, RollupBacklog, WeeklyUnitUsage
from adoption.timekeeping import org_today
from dashboards.metrics.adoption import week_of

# Rates over the last four complete weeks: North falls below the 80% target, West holds.
RATES = {
    "Acme/EMEA/Sales North": [0.9, 0.7, 0.5, 0.3],
    "Acme/Americas/Sales West": [0.9, 0.9, 0.9, 0.9],
}


@pytest.fixture
def adoption_rollups(app, live_server):
    """Weekly rollups for the seeded teams, ten licensed people each, ending last week."""
    current = week_of(org_today(app.config["ORG_TIMEZONE"]), app.config["WEEK_START"])
    weeks = [current - dt.timedelta(weeks=k) for k in (4, 3, 2, 1)]
    for path, rates in RATES.items():
        unit_id = db.session.scalar(select(OrgUnit.id).where(OrgUnit.path == path))
        for week, rate in zip(weeks, rates, strict=True):
            active = round(rate * 10)
            db.session.add(
                WeeklyUnitUsage(
                    week_start=week,
                    unit_id=unit_id,
                    licensed=10,
                    active=active,
                    active_days=active,
                    events=active,
                    event_types=active,
                )
            )
    # Nothing stale: the page shows these numbers as they are.
    db.session.execute(delete(RollupBacklog))
    db.session.commit()
    return weeks


@pytest.mark.browser
def test_change_leader_sees_the_adoption_chart_and_the_units_at_risk(
    sign_in, adoption_rollups, tmp_path
):
    page = sign_in("change_leader")
    page.goto("/dashboards/adoption")
    expect(page.get_by_role("heading", name="Adoption", level=1)).to_be_visible(timeout=20_000)
    chart = page.locator("#adoption-rate-figure")
    expect(chart.locator(".js-plotly-plot")).to_be_visible(timeout=20_000)
    expect(chart.locator(".scatterlayer .trace")).to_have_count(2)
    expect(page.locator("#adoption-rate-n")).to_contain_text("n = 20 licensed, 12 active (60%)")
    at_risk = page.locator("#adoption-at-risk-table")
    # North, and the region and company it drags down with it; a header row above them.
    expect(at_risk.get_by_role("row")).to_have_count(4)
    expect(at_risk).to_contain_text("Acme/EMEA/Sales North")
    expect(at_risk).not_to_contain_text("Sales West")
    with page.expect_download() as download:
        page.locator("#adoption-at-risk-csv").click()
    saved = tmp_path / "at-risk.csv"
    download.value.save_as(saved)
    lines = saved.read_text().splitlines()
    assert lines[0].startswith("path,licensed,")
    assert sorted(line.split(",")[0] for line in lines[1:]) == [
        "Acme",
        "Acme/EMEA",
        "Acme/EMEA/Sales North",
    ]


@pytest.mark.browser
def test_a_keyboard_user_reads_the_adoption_chart_as_a_table_with_each_weeks_n(
    sign_in, adoption_rollups
):
    page = sign_in("change_leader")
    page.goto("/dashboards/adoption")
    expect(page.locator("#adoption-rate-figure .js-plotly-plot")).to_be_visible(timeout=20_000)
    data = page.locator("#adoption-rate-figure-data")
    expect(data).to_be_hidden()
    summary = page.get_by_text("The chart's data as a table").first
    summary.focus()
    page.keyboard.press("Enter")
    last_week = adoption_rollups[-1].isoformat()
    row = data.get_by_role("row").filter(has=page.get_by_role("rowheader", name=last_week))
    expect(row).to_contain_text("60% active: 12 of 20 licensed (n)")
    expect(data.get_by_role("columnheader", name="Adoption rate")).to_be_visible()
