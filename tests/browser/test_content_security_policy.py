"""The Content-Security-Policy in the system Chromium, on the small demo: every dashboard draws its
charts and the printable board pack prints without one violation, while a script injected into a
page is refused."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import wait_for_dash

# Records every violation the browser reports, before any script of the page runs.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`);
});
window.print = () => { window.__printed = (window.__printed || 0) + 1; };
"""

CHART_PAGES = ("adoption", "engagement", "training", "evidence", "executive")


@pytest.mark.browser
def test_dashboards_and_the_board_pack_run_without_a_policy_violation(demo_page, demo_sign_in):
    demo_page.context.add_init_script(RECORD_VIOLATIONS)
    page = demo_sign_in("change_leader")
    for slug in CHART_PAGES:
        page.goto(f"/dashboards/{slug}")
        # Dash's renderer (an inline script allowed by its hash), its bundles and plotly all ran.
        expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
        wait_for_dash(page)
        assert page.evaluate("window.__violations") == [], slug

    page.goto("/commitment/print")
    page.get_by_role("button", name="Print / save as PDF").click()
    # The print button works from the app's own script file, not from an inline onclick.
    page.wait_for_function("window.__printed === 1")
    assert page.evaluate("window.__violations") == []


@pytest.mark.browser
def test_a_script_injected_into_a_page_is_refused(demo_page, demo_sign_in):
    demo_page.context.add_init_script(RECORD_VIOLATIONS)
    page = demo_sign_in("employee")
    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.__injected = true";
          document.body.appendChild(script);
          const button = document.createElement("button");
          button.setAttribute("onclick", "window.__clicked = true");
          button.id = "injected";
          document.body.appendChild(button);
        }"""
    )
    page.locator("#injected").click()
    page.wait_for_function("window.__violations.length >= 2")
    assert page.evaluate("window.__injected === undefined && window.__clicked === undefined")
    assert all(v.startswith("script-src") for v in page.evaluate("window.__violations"))
