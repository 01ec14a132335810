"""The Engagement dashboard in the system Chromium, on the small demo: the change leader's view."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect


@pytest.mark.browser
def test_change_leader_sees_the_kpi_cards_and_the_unit_heatmap_on_the_demo(demo_sign_in):
    page = demo_sign_in("change_leader")

    page.goto("/dashboards/")
    page.get_by_role("navigation", name="Dashboards").get_by_role("link", name="Engagement").click()
    expect(page.get_by_role("heading", name="Engagement", level=1)).to_be_visible()

    cards = page.locator("#engagement-kpis-cards .card")
    expect(cards).to_have_count(3)
    expect(cards.nth(1)).to_contain_text("Engagement index")
    expect(cards.nth(1)).to_contain_text("/ 100")
    expect(cards.nth(0)).to_contain_text("respondents of")
    expect(page.locator("#engagement-kpis-n")).to_contain_text("n = ")

    heatmap = page.locator("#engagement-heatmap-figure")
    expect(heatmap.locator(".js-plotly-plot")).to_be_visible(timeout=30_000)
    expect(heatmap.locator(".heatmaplayer")).to_have_count(1)
    expect(heatmap).to_contain_text("Acme/")
    expect(page.locator("#engagement-heatmap-n")).to_contain_text("directly below")

    # The tenure filter re-draws the cards for the narrower group.
    page.locator("#engagement-tenure").click()
    page.get_by_text("Under 1 year", exact=True).click()
    expect(page.locator("#engagement-kpis-n")).to_contain_text("under 1 year")
