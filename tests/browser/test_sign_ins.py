"""The sign-in log in Chromium: someone fails to sign in to a manager's account, and the admin
finds it among the refused attempts and follows it to the account's own recent sign-ins."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, open_from_menu


@pytest.mark.browser
def test_an_admin_finds_a_refused_sign_in_and_follows_it_to_the_account(browser, live_server, sign_in):
    manager = live_server.users["manager"]
    stranger = browser.new_context(base_url=live_server.url)
    try:
        attempt = log_in(stranger.new_page(), manager, "a guess that is wrong")
        expect(attempt.get_by_role("alert")).to_contain_text("do not match an account")
    finally:
        stranger.close()

    page = sign_in("admin")
    open_from_menu(page, "Admin", "Sign-ins")
    expect(page.get_by_test_id("sign-in-failures")).to_contain_text("1 refused attempt on 1 account from 1 client address")
    page.get_by_label("Result").select_option(label="Every refused attempt")
    page.get_by_role("button", name="Filter").click()
    rows = page.get_by_test_id("sign-in-log").locator("tbody tr")
    expect(rows).to_have_count(1)  # the admin's own sign-in was no refusal
    expect(rows.first).to_contain_text("Wrong password")
    expect(rows.first).to_contain_text("127.0.0.1")

    rows.first.get_by_role("link", name=manager).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(manager)
    recent = page.get_by_test_id("account-sign-ins").locator("tbody tr")
    expect(recent).to_have_count(1)
    expect(recent.first).to_contain_text("Wrong password")
