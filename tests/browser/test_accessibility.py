"""Every page each role can reach on the demo passes axe-core's WCAG 2.2 A/AA checks and its
best practices, fits a 320 px-wide screen, and runs without a Content-Security-Policy violation.

The pages are found the way a person finds them: from the home page, through the navigation
and the links on each page, up to three clicks deep, one page per Flask endpoint (and every
dashboard page): 57 pages on the demo on 2026-12-07. One crawl per module (``crawl``) renders
each page once and keeps what every check found; each test asserts one check. axe-core (Deque's
engine, bundled by the ``axe-playwright-python`` package, injected by Playwright: nothing is
served to users) judges each page as rendered: contrast, names and labels, landmarks, ARIA, the
document's language. docs/accessibility.md lists what is checked, and what a person still has to
check. Forms sent back with their errors are judged in test_accessibility_forms.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import current_app
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from werkzeug.exceptions import HTTPException

from adoption.demo import DEMO_PASSWORD
from tests.browser.axe_checks import axe_violations
from tests.browser.conftest import RECORD_POLICY_VIOLATIONS, log_in, serving, wait_for_dash
from tests.conftest import demo_loaded

# The crawl takes a minute or two: started first (tests/conftest.py).
pytestmark = pytest.mark.long_module

CLICKS = 3
DESKTOP = {"width": 1280, "height": 1000}
# WCAG 1.4.10 (reflow): 320 CSS px, a 1280 px screen zoomed to 400 %, or a small phone.
NARROW = {"width": 320, "height": 800}
FITS = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
REFLOW_WAIT_MS = 3_000
# Boxes that scroll sideways but cannot take keyboard focus, so a keyboard cannot scroll them
# (WCAG 2.1.1; axe's scrollable-region-focusable, checked here where the boxes do scroll).
UNREACHABLE_SCROLLERS = """() => [...document.querySelectorAll('body *')].filter(e => {
  const overflow = getComputedStyle(e).overflowX;
  return (overflow === 'auto' || overflow === 'scroll') && e.scrollWidth > e.clientWidth + 1 && e.tabIndex < 0;
}).map(e => e.outerHTML.slice(0, 120))"""
# Opens every folded section, then lets the page react as it would for a person: each "toggle"
# event is queued as a task, and what it sets off may wait for the next frame.
OPEN_FOLDED = """() => new Promise(done => {
  document.querySelectorAll('details:not([open])').forEach(e => { e.open = true; });
  setTimeout(() => requestAnimationFrame(() => requestAnimationFrame(done)), 0);
})"""
NOT_PAGES = re.compile(r"\.(csv|json|zip|pdf|txt|md)$|/logout$")
DASH_PREFIX = "/dashboards/"
# Pages the crawl must reach, so that a broken link or an empty navigation cannot make this test
# pass by scanning little: a Flask endpoint or a dashboard's path.
MUST_VISIT = {
    "home.index", "surveys.mine", "surveys.my_conversations", "surveys.ledger", "home.my_data",
    "training.module_page", "training.step", "training.assignments", "surveys.conversations",
    "surveys.plan_detail", "hypotheses.detail", "sponsors.log", "commitment.print_view",
    "surveys.survey_detail", "surveys.new_survey", "surveys.edit_survey", "sponsors.record",
    "training.manage_module", "training.manage_edit_step", "telemetry.imports",
    "admin.roster_upload", "admin.user", "admin.settings", "admin.tokens", "admin.personal_data_request",
    "admin.access_log", "admin.sign_ins",
    *(f"/dashboards/{slug}" for slug in
      ("organization", "adoption", "engagement", "training", "evidence", "executive")),
}


def _page_key(path: str) -> str | None:
    """What makes two paths the same page: its Flask endpoint, or the dashboard's own path."""
    if path.startswith(DASH_PREFIX):
        return path.rstrip("/") or DASH_PREFIX
    try:
        endpoint, _ = current_app.url_map.bind("localhost").match(path, method="GET")
    except HTTPException:
        return None
    return endpoint


def _wait_until_rendered(page) -> None:
    """The page has loaded (``goto`` waits for that); on a dashboard, Dash has also answered
    every callback of the page. No Flask page fetches anything after it has loaded."""
    if page.locator("#react-entry-point").count():
        wait_for_dash(page)


def _links(page) -> list[str]:
    """The app's own page links on the page, in document order."""
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    return [h.split("#")[0] for h in hrefs if h.startswith("/") and not NOT_PAGES.search(h.split("?")[0])]


def _overflow(page) -> list[str]:
    """How far the page is wider than the screen, and the first elements sticking out (WCAG
    1.4.10: content reflows at 320 CSS px; a wide table may scroll inside its own box)."""
    over = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")
    if over <= 0:
        return []
    outside = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
             .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
             .slice(0, 3).map(e => e.outerHTML.slice(0, 120))""")
    return [f"{over} px wider than the screen: {outside}"]


ROLES = ("employee", "manager", "executive", "change_leader", "admin")
CHECKS = ("axe", "reflow", "policy")


@dataclass
class Crawl:
    """What one crawl of every role's pages found: the page keys judged per role, and per check
    the problems by "role path"."""

    scanned: dict[str, set[str]] = field(default_factory=dict)
    problems: dict[str, dict[str, list[str]]] = field(default_factory=lambda: {c: {} for c in CHECKS})

    def report(self, check: str) -> str:
        """The check's problems, one line each, for an assertion message."""
        return "\n".join(f"{where}: {line}" for where, lines in self.problems[check].items() for line in lines)


def _reflow(page) -> list[str]:
    """Whether the page, narrowed where it stands to 320 px as zooming in does, fits the screen
    once it has laid itself out again (plotly and the tables do so on the resize: up to a few
    seconds), and whether every box that then scrolls sideways takes keyboard focus."""
    found = []
    page.set_viewport_size(NARROW)
    try:
        page.wait_for_function(FITS, timeout=REFLOW_WAIT_MS)
    except PlaywrightTimeoutError:
        found += _overflow(page)
    try:
        page.wait_for_function(f"() => ({UNREACHABLE_SCROLLERS})().length === 0", timeout=REFLOW_WAIT_MS)
    except PlaywrightTimeoutError:
        found += [f"scrolls sideways but takes no keyboard focus: {html}"
                  for html in page.evaluate(UNREACHABLE_SCROLLERS)[:3]]
    page.set_viewport_size(DESKTOP)
    return found


def _judge(axe: Axe, page) -> dict[str, list[str]]:
    """Every check's findings on the page as rendered: axe on a desktop screen (folded sections,
    such as a chart's data table, opened first so they are judged too), then the reflow, then
    the policy violations the browser reported while the page loaded and was resized."""
    page.evaluate(OPEN_FOLDED)
    return {"axe": axe_violations(axe, page), "reflow": _reflow(page), "policy": page.evaluate("window.__violations")}


def _audit(browser, base_url: str, role: str, email: str, seen: set[str], crawl: Crawl, axe: Axe) -> set[str]:
    """Sign in as ``email`` and judge each page not yet in ``seen`` up to three clicks from home,
    adding what was found to ``crawl``; returns the keys of the pages judged."""
    context = browser.new_context(base_url=base_url, viewport=DESKTOP)
    context.add_init_script(RECORD_POLICY_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(30_000)
    scanned: set[str] = set()
    try:
        log_in(page, email, DEMO_PASSWORD)
        frontier = [urlsplit(page.url).path]
        for depth in range(CLICKS + 1):
            following = []
            for path in frontier:
                key = _page_key(path.split("?")[0])
                # Each role's home page differs; any other page is judged for the first role only.
                if key is None or key in scanned or (key in seen and depth > 0):
                    continue
                scanned.add(key)
                response = page.goto(path)
                assert response is not None and response.ok, (path, response and response.status)
                # A link may redirect (a module opens on its next step): judge where it landed.
                landed = _page_key(urlsplit(page.url).path)
                if landed != key and (landed in scanned or landed in seen):
                    continue
                scanned.add(landed)
                _wait_until_rendered(page)
                for check, found in _judge(axe, page).items():
                    if found:
                        crawl.problems[check][f"{role} {path}"] = found
                if depth < CLICKS:
                    following.extend(_links(page))
            frontier = list(dict.fromkeys(following))
    finally:
        context.close()
    return scanned


@pytest.fixture(scope="module")
def crawl(browser, tmp_path_factory) -> Crawl:
    """Every page each demo role reaches, judged once by every check."""
    with demo_loaded(tmp_path_factory.mktemp("crawl")) as (app, summary), serving(app) as url:
        logins = dict(summary.logins)
        found, seen, axe = Crawl(), set(), Axe()
        for role in ROLES:
            found.scanned[role] = _audit(browser, url, role, logins[role], seen, found, axe)
            seen |= found.scanned[role]
        yield found


@pytest.mark.browser
def test_the_crawl_signs_every_role_in_and_reaches_every_key_page(crawl):
    for role, scanned in crawl.scanned.items():
        assert scanned and "auth.login" not in scanned, f"{role} could not sign in"
    seen = set().union(*crawl.scanned.values())
    assert MUST_VISIT <= seen, f"never reached: {sorted(MUST_VISIT - seen)}"


@pytest.mark.browser
def test_every_page_of_every_role_passes_wcag_aa_checks(crawl):
    assert not crawl.problems["axe"], crawl.report("axe")


@pytest.mark.browser
def test_every_page_of_every_role_fits_a_320_px_wide_screen_where_a_keyboard_scrolls_every_box(crawl):
    assert not crawl.problems["reflow"], crawl.report("reflow")


@pytest.mark.browser
def test_every_page_of_every_role_runs_without_a_content_security_policy_violation(crawl):
    assert not crawl.problems["policy"], crawl.report("policy")
