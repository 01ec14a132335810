"""Browser fixtures: a live server on a fresh database seeded with one user per role, and Chromium.

The app comes from the suite's ``app`` fixture (a fresh SQLite file, or PostgreSQL under
``TEST_DATABASE_URL``), served by a real threaded werkzeug server so the browser goes through the
same stack as a user: CSRF protection stays on. Chromium is the system one; nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from werkzeug.serving import make_server

from adoption.demo import DEMO_PASSWORD
from adoption.extensions import db as _db
from adoption.models import Initiative, RosterImport, User
from adoption.org import ensure_unit
from adoption.timekeeping import org_today
from surveys.models import SurveyStatus
from surveys.services import QuestionSpec, create_survey, schedule_rounds, sync_item_bank
from tests.conftest import demo_loaded
from tests.factories import DEFAULT_PASSWORD, make_employee, make_user

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# ``expect`` does not follow ``page.set_default_timeout``: left at Playwright's 5 s, a Dash
# callback on the demo (the Engagement cards took 2.6 s on a loaded 2-core machine) came close.
EXPECT_TIMEOUT_MS = 15_000
# An action's own timeout (a click includes the navigation it starts). 10 s was once not enough on
# a fresh-clone CI run sharing two cores with two other test workers and PostgreSQL: an erasure
# form's submit was still waiting for its navigation when the click gave up (2026-12-08).
ACTION_TIMEOUT_MS = 20_000
PASSWORD = DEFAULT_PASSWORD


@dataclass(frozen=True)
class LiveServer:
    """A running app: its base URL and the e-mail of the seeded user of each role."""

    url: str
    users: dict[str, str]
    password: str = PASSWORD


@pytest.fixture
def app_config() -> dict:
    """Browser tests keep CSRF on: the forms must carry their tokens like in production."""
    return {"WTF_CSRF_ENABLED": True}


def _seed(today: dt.date) -> dict[str, str]:
    """A small organization and one user per role; returns role -> e-mail."""
    long_ago = today - dt.timedelta(days=400)
    sponsor = make_employee(
        "Acme",
        since=long_ago,
        full_name="Victoria Sponsor",
        title="Chief Revenue Officer",
        is_executive=True,
        crm_user_id="crm-vic",
        email="exec@acme.example",
    )
    lead = make_employee(
        "Acme/EMEA/Sales North",
        since=long_ago,
        full_name="Mia Manager",
        title="Sales Manager",
        crm_user_id="crm-mia",
        email="manager@acme.example",
    )
    make_employee(
        "Acme/EMEA/Sales North",
        since=long_ago,
        full_name="Nora Licensed",
        manager=lead,
        crm_user_id="crm-nora",
    )
    make_employee("Acme/EMEA/Sales North", since=long_ago, full_name="Ned Nolicence", manager=lead)
    make_employee(
        "Acme/EMEA/Sales North",
        since=today - dt.timedelta(days=9),
        full_name="Jill Joiner",
        manager=lead,
    )
    eve = make_employee(
        "Acme/EMEA/Sales North",
        since=long_ago,
        full_name="Eve Employee",
        manager=lead,
        email="employee@acme.example",
    )
    make_employee("Acme/EMEA/Sales South", since=long_ago, full_name="Sam South")
    make_employee(
        "Acme/Americas/Sales West", since=long_ago, full_name="Wendy West", crm_user_id="crm-wendy"
    )
    chloe = make_employee(
        "Acme/HQ",
        since=long_ago,
        full_name="Chloe Change",
        title="Change Lead",
        crm_user_id="crm-chloe",
        email="change@acme.example",
    )
    initiative = Initiative(
        name="CRM rollout",
        start_date=today - dt.timedelta(days=90),
        licensed_seats=12,
        adoption_target_pct=80,
        key_behaviours=["opportunity_updated", "activity_logged"],
    )
    initiative.sponsors.append(sponsor)
    _db.session.add(initiative)
    users = {
        "employee": make_user("employee", eve).email,
        "manager": make_user("manager", lead).email,
        "change_leader": make_user("change_leader", chloe).email,
        "executive": make_user("executive", sponsor).email,
        "admin": make_user("admin", email="admin@acme.example").email,
    }
    _db.session.add(
        RosterImport(
            filename="hr-export.csv",
            content=b"",
            effective_date=today - dt.timedelta(days=7),
            status="applied",
            summary={"counts": {"rows": 9, "rejected": 0}},
        )
    )
    _db.session.commit()
    return users


@contextlib.contextmanager
def serving(app, name: str = "uptake-live-server"):
    """``app`` served over HTTP by a threaded werkzeug server on a free local port; yields the
    base URL and stops the server on the way out."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def live_server(app):
    """The app served over HTTP on a free local port, seeded; stopped at teardown."""
    users = _seed(org_today(app.config["ORG_TIMEZONE"]))
    with serving(app) as url:
        yield LiveServer(url=url, users=users)


@pytest.fixture(scope="session")
def browser():
    """The system Chromium, headless; missing Chromium fails under CI and skips elsewhere."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(
                f"{CHROMIUM} is missing: CI must run the browser tests (apt-get install chromium)"
            )
        pytest.skip("Chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context (no cookies) and page, with a bounded default timeout."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def sign_in(page, live_server):
    """Sign ``role``'s seeded user in through the login form; returns the page on their home."""

    def _sign_in(role: str, password: str = PASSWORD):
        return log_in(page, live_server.users[role], password)

    return _sign_in


def log_in(page, email: str, password: str):
    """Sign in through the login form; returns the page once the answer to the form has loaded
    (the user's landing page, or the login form again with its error)."""
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    # Wait for the navigation the form starts, not for the load state of the page already shown:
    # that one has loaded, so waiting for it returned at once, while the sign-in was in flight.
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    return page


def open_from_menu(page, menu: str, entry: str) -> None:
    """Open ``entry`` of the main navigation's ``menu`` ("Program", "Admin") as a person
    does: open the menu, then follow the link."""
    nav = page.locator("#mainnav")
    nav.get_by_role("button", name=menu, exact=True).click()
    nav.get_by_role("link", name=entry, exact=True).click()


@pytest.fixture
def pulse(app, live_server):
    """A pulse open today for Acme/EMEA (the seeded employee's region)."""
    sync_item_bank()
    today = org_today(app.config["ORG_TIMEZONE"])
    leader = _db.session.scalar(select(User).where(User.email == live_server.users["change_leader"]))
    survey = create_survey(
        title="March pulse",
        created_by=leader,
        audience_units=[ensure_unit("Acme/EMEA")],
        questions=[QuestionSpec(item_key="engagement.energy", allow_comment=True),
                   QuestionSpec(item_key="enps.recommend")],
        first_opens_on=today,
        round_length_days=7,
    )
    survey.status = SurveyStatus.ACTIVE.value
    schedule_rounds(survey, today)
    _db.session.commit()
    return survey


def horizontal_overflow(page) -> int:
    """How many CSS pixels the page is wider than its viewport (0 or less: it fits).

    Call it once an ``expect`` has proved that the page to measure is shown: right after a click
    the old document, or a new one not parsed yet, would be measured. It then waits for the
    stylesheets, which a busy machine may apply after the content is already visible."""
    page.wait_for_load_state("load")
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


# Dash has rendered the page's layout, run its initial callbacks and every callback they set off.
# The renderer's store (``window.store``, which dash.testing reads too) says so: the app is
# HYDRATED once the initial callbacks are requested, and each list of callbacks in flight is empty.
DASH_SETTLED = """() => {
  const store = window.store;
  if (!store || !document.querySelector('#react-entry-point main')) return false;
  const state = store.getState();
  if (state.appLifecycle !== 'HYDRATED' || state.isLoading) return false;
  const {stored, completed, ...inFlight} = state.callbacks;
  return Object.values(inFlight).every(list => list.length === 0)
    && !document.querySelector('[data-dash-is-loading="true"]');
}"""


def wait_for_dash(page, timeout_ms: float = 30_000) -> None:
    """Wait until the Dash page shown has answered every callback (see ``DASH_SETTLED``): the
    page's own state, not a guess from the network going quiet for half a second."""
    page.wait_for_function(DASH_SETTLED, timeout=timeout_ms)


# Run before any script of a page: keeps every Content-Security-Policy violation the browser
# reports in ``window.__violations``.
RECORD_POLICY_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`);
});
"""


def assert_touch_target(locator, min_height: float = 44) -> None:
    """``locator`` is shown at least ``min_height`` CSS pixels tall (a comfortable touch target).

    Measured once it is visible and the page's stylesheets have loaded: a busy CI machine
    otherwise measured a 24 px label before the styles applied."""
    expect(locator).to_be_visible()
    locator.page.wait_for_load_state("load")
    box = locator.bounding_box()
    assert box is not None and box["height"] >= min_height, box


@pytest.fixture
def demo_server(tmp_path):
    """An app on the small demo (its pulse rounds answered and prepared), served over HTTP;
    returns (base URL, role -> e-mail of the demo logins)."""
    with demo_loaded(tmp_path) as (app, summary), serving(app, "uptake-demo-server") as url:
        yield url, dict(summary.logins)


@pytest.fixture
def demo_page(browser, demo_server):
    """A fresh browser context on the demo server."""
    url, _ = demo_server
    context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def demo_sign_in(demo_page, demo_server):
    """Sign the demo login of ``role`` in (demo password); returns the page on their home."""
    _, logins = demo_server

    def _sign_in(role: str):
        return log_in(demo_page, logins[role], DEMO_PASSWORD)

    return _sign_in
