"""The Evidence dashboard in the system Chromium, on the small demo: an executive's view."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect


@pytest.mark.browser
def test_executive_reads_the_planted_relation_then_a_null_one(demo_sign_in):
    page = demo_sign_in("executive")

    page.goto("/dashboards/")
    page.get_by_role("navigation", name="Dashboards").get_by_role("link", name="Evidence").click()
    expect(page.get_by_role("heading", name="Evidence", level=1)).to_be_visible()

    # Adoption rate → CSAT a month later, the demo's planted relation, is the page's default.
    reading = page.locator("#evidence-reading-text")
    expect(reading.locator(".badge")).to_have_text("supported", timeout=30_000)
    expect(page.locator("#evidence-linkage-n")).to_contain_text("n = 40 units, 240 unit-months")
    expect(page.locator("#evidence-linkage-figure .js-plotly-plot")).to_be_visible()
    expect(page.locator("#evidence-profile-n")).to_contain_text("7 lags tested at once")
    expect(page.locator("#evidence-within-n")).to_contain_text("month-to-month changes")
    expect(reading).to_contain_text("ecological fallacy")

    # Retention was planted with no relation: inconclusive, with what would decide it.
    page.locator("#evidence-y").click()
    page.get_by_text("customer retention (retention)", exact=True).click()
    expect(reading.locator(".badge")).to_have_text("inconclusive")
    expect(reading).to_contain_text("would decide it")
