"""Forms as a person meets them after a mistake pass axe-core's WCAG 2.2 A/AA checks: the pulse
sent back with its errors, a failed sign-in (the crawl of every page, test_accessibility.py,
sees each form only as it first loads)."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.axe_checks import axe_violations
from tests.browser.conftest import log_in


@pytest.mark.browser
def test_a_pulse_sent_back_with_its_errors_passes_wcag_aa_checks(sign_in, pulse):
    page = sign_in("employee")
    page.goto(f"/surveys/rounds/{pulse.rounds[0].id}")
    axe = Axe()
    assert axe_violations(axe, page) == []
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("this question needs an answer").first).to_be_visible()
    assert axe_violations(axe, page) == []


@pytest.mark.browser
def test_a_failed_sign_in_passes_wcag_aa_checks(page, live_server):
    log_in(page, live_server.users["employee"], "not the password")
    expect(page.get_by_role("alert")).to_be_visible()
    assert axe_violations(Axe(), page) == []
