"""Accounts in the browser: an admin invites someone on the roster, who sets a password through
the link and signs in; the admin disables the account and its open session ends."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from adoption.extensions import db
from adoption.models import OutboxMessage
from tests.browser.conftest import log_in
from tests.factories import make_employee

NEW_PASSWORD = "a-long-new-password"


@pytest.mark.browser
def test_an_admin_invites_someone_who_sets_a_password_and_is_then_disabled(browser, sign_in, live_server):
    make_employee("Acme/EMEA", email="nadia.new@acme.example", full_name="Nadia New")
    db.session.commit()
    page = sign_in("admin")
    page.goto("/admin/users")
    page.get_by_role("link", name="New account").click()
    page.get_by_label("E-mail").fill("nadia.new@acme.example")
    page.get_by_label("Role").select_option(label="Employee")
    expect(page.get_by_label("Send an invitation to set a password")).to_be_checked()
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("nadia.new@acme.example")
    expect(page.get_by_role("status")).to_contain_text("an invitation to set a password was sent")
    expect(page.get_by_text("No password yet")).to_be_visible()
    # The account page sends a new invitation (the form as the browser submits it).
    page.get_by_role("button", name="Send an invitation").click()
    expect(page.get_by_role("status")).to_contain_text("An invitation was sent to nadia.new@acme.example")

    # The newest invitation waits in the outbox (no mail server); its link is on BASE_URL, which
    # in this test is not the live server's address: open its path here.
    db.session.expire_all()
    body = db.session.scalar(select(OutboxMessage.body).where(OutboxMessage.kind == "password_invite")
                             .order_by(OutboxMessage.id.desc()).limit(1))
    path = urlsplit(re.search(r"\S+/password/\S+", body).group(0)).path

    newcomer = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    try:
        phone = newcomer.new_page()
        phone.goto(path)
        expect(phone.get_by_role("heading", level=1)).to_have_text("Welcome to Uptake")
        phone.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        phone.get_by_label("New password again").fill(NEW_PASSWORD)
        phone.get_by_role("button", name="Set my password").click()
        expect(phone.get_by_text("Your password is set")).to_be_visible()
        # The sign-in form comes back with the address filled in.
        expect(phone.get_by_label("E-mail")).to_have_value("nadia.new@acme.example")
        log_in(phone, "nadia.new@acme.example", NEW_PASSWORD)
        expect(phone.get_by_role("heading", level=1)).to_contain_text("Nadia New")

        # The same link a second time: used up.
        phone.goto(path)
        expect(phone.get_by_role("heading", level=1)).to_have_text("Link not valid")

        # The admin disables the account; the newcomer's open session ends at the next page.
        page.reload()
        page.get_by_role("button", name="Disable account").click()
        expect(page.get_by_text("Disabled", exact=True)).to_be_visible()
        phone.goto("/")
        expect(phone.get_by_role("heading", level=1)).to_have_text("Sign in")
    finally:
        newcomer.close()
