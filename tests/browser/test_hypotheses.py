"""The hypotheses register in the system Chromium, on the small demo: a change leader's journey."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import open_from_menu


@pytest.mark.browser
def test_change_leader_reads_the_verdicts_and_records_a_hypothesis(demo_sign_in):
    page = demo_sign_in("change_leader")
    open_from_menu(page, "Program", "Hypotheses")
    expect(page.get_by_role("heading", name="Hypotheses", level=1)).to_be_visible()

    # The demo's three starter hypotheses, with the verdicts docs/evidence.md reports and their n.
    rows = page.get_by_test_id("hypothesis")
    expect(rows).to_have_count(3)
    adoption = rows.filter(has_text="delight their customers")
    expect(adoption.get_by_test_id("verdict")).to_have_text("Supported")
    expect(adoption.get_by_test_id("estimate")).to_contain_text("n = 40 units, 240 unit-months")
    expect(rows.filter(has_text="Engaged teams").get_by_test_id("verdict")).to_have_text("Not yet decidable")
    expect(rows.filter(has_text="takes time away").get_by_test_id("verdict")).to_have_text("Contradicted")

    # A new leap of faith is evaluated as it is saved, and its page shows the verdict and history.
    page.get_by_role("link", name="New hypothesis").click()
    statement = "Teams that adopt the CRM win more promoters a month later."
    page.get_by_label("What you believe").fill(statement)
    page.get_by_label("x: the metric that comes first").select_option("adoption_rate")
    page.get_by_label("y: the metric it should move").select_option("nps")
    page.get_by_role("button", name="Save and evaluate").click()

    expect(page.get_by_role("heading", name=statement, level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(re.compile(
        r"Hypothesis recorded and evaluated: (supported|contradicted|not yet decidable) for now"))
    expect(page.get_by_test_id("verdict").first).to_have_text(
        re.compile(r"^(Supported|Contradicted|Not yet decidable)$"))

    open_from_menu(page, "Program", "Hypotheses")
    expect(rows).to_have_count(4)
    expect(rows.filter(has_text=statement).get_by_test_id("estimate")).to_contain_text("n = ")
