"""The Content-Security-Policy in the system Chromium, on the small demo: the printable board pack
prints without one violation, while a script injected into a page is refused. Every page of
every role, the dashboards drawing their charts included, is checked for violations by the
accessibility crawl (test_accessibility.py), which renders each of them once."""

from __future__ import annotations

import pytest

from tests.browser.conftest import RECORD_POLICY_VIOLATIONS

# Counts calls to window.print instead of opening the print dialog.
STUB_PRINT = "window.print = () => { window.__printed = (window.__printed || 0) + 1; };"


@pytest.mark.browser
def test_the_board_pack_prints_without_a_policy_violation(demo_page, demo_sign_in):
    demo_page.context.add_init_script(RECORD_POLICY_VIOLATIONS + STUB_PRINT)
    page = demo_sign_in("change_leader")
    page.goto("/commitment/print")
    page.get_by_role("button", name="Print / save as PDF").click()
    # The print button works from the app's own script file, not from an inline onclick.
    page.wait_for_function("window.__printed === 1")
    assert page.evaluate("window.__violations") == []


@pytest.mark.browser
def test_a_script_injected_into_a_page_is_refused(demo_page, demo_sign_in):
    demo_page.context.add_init_script(RECORD_POLICY_VIOLATIONS)
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
