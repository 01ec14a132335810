"""Main journeys of each role, driven through the system Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_touch_target, horizontal_overflow, open_from_menu

SCREENSHOT = "/tmp/uptake-home.png"

HOME_BY_ROLE = {
    # role: (a heading or text only that role's home shows, navigation entries)
    "employee": ("Pulse surveys", ["Home", "My surveys", "My training", "My conversations", "You said, we did"]),
    "manager": ("Without a CRM licence", ["Home", "My surveys", "My training", "My conversations",
                                         "You said, we did", "Dashboards", "Conversations", "Action plans",
                                         "Training assignments"]),
    "change_leader": ("Units with the lowest licence share", [
        "Home", "My surveys", "My training", "My conversations", "You said, we did", "Dashboards",
        "Conversations", "Action plans", "Program"]),
    "executive": ("Your visible commitment", ["Home", "My surveys", "My training", "My conversations",
                                              "You said, we did", "Dashboards", "Hypotheses", "Sponsor log"]),
    # The demo admin has no employee record: no pages about one's own answers or training.
    "admin": ("Accounts by role", ["Home", "Dashboards", "Program", "Admin"]),
}
PROGRAM = ["Hypotheses", "Sponsor log", "Surveys", "Training modules", "Training assignments", "Event imports"]
MENUS_BY_ROLE = {
    "change_leader": {"Program": PROGRAM},
    "admin": {"Program": PROGRAM,
              "Admin": ["Roster import", "Users", "API tokens", "Access log", "Sign-ins",
                                 "Unmatched CRM users", "Outbox", "Personal data", "Settings"]},
}


@pytest.mark.browser
@pytest.mark.parametrize("role", list(HOME_BY_ROLE))
def test_each_role_signs_in_and_sees_its_home_and_navigation(sign_in, role):
    page = sign_in(role)
    marker, navigation = HOME_BY_ROLE[role]
    if role == "executive":
        # Executives land on their commitment dashboard; the home page is one click away.
        expect(page).to_have_url(re.compile(r"/dashboards/executive$"))
        page.goto("/")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
    expect(page.get_by_text(marker, exact=False).first).to_be_visible()
    # The main navigation's entries as the user sees them, all of them and in this order.
    expect(page.locator("#mainnav .nav-link")).to_have_text(navigation, use_inner_text=True)
    expect(page.locator('#mainnav [aria-current="page"]')).to_have_text("Home")
    for menu, entries in MENUS_BY_ROLE.get(role, {}).items():
        page.locator("#mainnav").get_by_role("button", name=menu, exact=True).click()
        expect(page.locator("#mainnav .dropdown-menu.show .dropdown-item")).to_have_text(entries, use_inner_text=True)
        page.keyboard.press("Escape")
        expect(page.locator("#mainnav .dropdown-menu.show")).to_have_count(0)


@pytest.mark.browser
def test_manager_home_shows_own_team_only(sign_in):
    page = sign_in("manager")
    main = page.locator("main")
    expect(main).to_contain_text("Ned Nolicence")
    expect(main).to_contain_text("Jill Joiner")
    expect(main).not_to_contain_text("Sam South")
    expect(main).not_to_contain_text("Wendy West")
    page.screenshot(path=SCREENSHOT, full_page=True)


@pytest.mark.browser
def test_executive_home_names_no_one_but_the_sponsor(sign_in):
    page = sign_in("executive")
    page.goto("/")
    main = page.locator("main")
    expect(main).to_contain_text("80% of licensed seats")
    for name in (
        "Ned Nolicence",
        "Jill Joiner",
        "Sam South",
        "Wendy West",
        "Eve Employee",
        "Mia Manager",
    ):
        expect(main).not_to_contain_text(name)


@pytest.mark.browser
def test_wrong_password_shows_the_generic_error(sign_in):
    page = sign_in("manager", password="not the password at all")
    expect(page.get_by_role("alert")).to_have_text(
        "That e-mail and password do not match an account that can sign in."
    )
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator("#mainnav")).to_have_count(0)


@pytest.mark.browser
def test_sign_out_ends_the_session(sign_in, live_server):
    page = sign_in("employee")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))


@pytest.mark.browser
def test_employee_opening_admin_users_gets_the_403_page(sign_in):
    page = sign_in("employee")
    response = page.goto("/admin/users")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.get_by_role("navigation", name="Main navigation")).to_be_visible()


@pytest.mark.browser
def test_login_page_fits_a_phone(page):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert horizontal_overflow(page) <= 0
    button = page.get_by_role("button", name="Sign in")
    assert_touch_target(button)
    box = button.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390


@pytest.mark.browser
def test_home_fits_a_phone_and_the_menu_opens(sign_in):
    page = sign_in("admin")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
    assert horizontal_overflow(page) <= 0
    menu = page.locator("#mainnav").get_by_role("button", name="Admin", exact=True)
    expect(menu).to_be_hidden()
    page.get_by_role("button", name="Show navigation").click()
    expect(menu).to_be_visible()
    assert_touch_target(menu)
    assert horizontal_overflow(page) <= 0
    open_from_menu(page, "Admin", "Users")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Users")


@pytest.mark.browser
def test_a_navigation_menu_works_from_the_keyboard(sign_in):
    page = sign_in("admin")
    menu = page.locator("#mainnav").get_by_role("button", name="Admin", exact=True)
    menu.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#mainnav .dropdown-menu.show .dropdown-item").first).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.locator("#mainnav").get_by_role("link", name="Users", exact=True)).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()  # back where the keyboard was
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/admin/users$"))
    expect(page.locator("#mainnav").get_by_role("button", name="Admin", exact=True)).to_have_class(re.compile(r"\bactive\b"))


@pytest.mark.browser
def test_manager_opens_the_organization_dashboard_with_a_plotly_graph(sign_in):
    page = sign_in("manager")
    page.locator("#mainnav").get_by_role("link", name="Dashboards").click()
    # The Dash app fills its page in after loading: read it once its landing page is drawn.
    expect(
        page.get_by_role("heading", name="Dashboards", level=1),
        "the /dashboards/ app is not mounted yet",
    ).to_be_visible(timeout=20_000)
    expect(page.locator("body")).not_to_contain_text("Page not found")
    page.get_by_role("link", name=re.compile(r"^\s*Organi[sz]ation\s*$")).first.click()
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=20_000)


@pytest.mark.browser
def test_a_table_too_wide_for_a_phone_takes_keyboard_focus_and_scrolls_with_the_arrow_keys(sign_in):
    page = sign_in("admin")
    page.goto("/admin/users")
    box = page.locator(".table-responsive").first
    expect(box.locator("table")).to_be_visible()
    assert box.get_attribute("tabindex") is None  # it fits a desktop screen: no extra Tab stop
    page.set_viewport_size({"width": 320, "height": 800})
    expect(box).to_have_attribute("tabindex", "0")
    expect(box).to_have_attribute("role", "region")
    expect(box).to_have_accessible_name("Accounts, their roles and status")  # the table's caption
    for _ in range(40):  # Tab from the top of the page to the box, as a keyboard user does
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('table-responsive')"):
            break
    else:
        pytest.fail("Tab never reached the table's box")
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    # The browser scrolls smoothly: the box moves over the next frames, not by the time the keys return.
    box.evaluate("e => new Promise(moved => { const t0 = performance.now(); (function check() {"
                 " if (e.scrollLeft > 0 || performance.now() - t0 > 5000) moved(); else requestAnimationFrame(check);"
                 " })(); })")
    assert box.evaluate("e => e.scrollLeft") > 0
    page.set_viewport_size({"width": 1280, "height": 1000})
    expect(box).not_to_have_attribute("tabindex", "0")
