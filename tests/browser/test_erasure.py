"""Erasing a leaver at their request, in Chromium: the admin finds them on Personal data, types
their HR id to confirm, and from then on Uptake knows them only by a pseudonym."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from adoption.extensions import db
from adoption.models import OutboxMessage
from tests.browser.conftest import open_from_menu
from tests.factories import make_leaver


@pytest.mark.browser
def test_an_admin_erases_a_leaver_who_asked_and_finds_only_the_pseudonym_after(live_server, sign_in):
    leaver = make_leaver(last_day=dt.date(2026, 5, 31), hr_id="E-LEFT", full_name="Lara Left",
                         email="lara@acme.example", crm_user_id="crm-lara")
    db.session.add(OutboxMessage(kind="invitation", recipients=["lara@acme.example"], subject="Your account", body=""))
    db.session.commit()

    page = sign_in("admin")
    open_from_menu(page, "Admin", "Personal data")
    page.get_by_label("HR id or e-mail").fill("lara@acme.example")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_test_id("personal-data-subject")).to_contain_text("Lara Left")
    erase = page.get_by_role("region", name="Erase their personal data")
    erase.get_by_label("Type their HR id to confirm").fill("E-LEF")
    erase.get_by_role("button", name="Erase their personal data").click()
    expect(page.get_by_role("alert")).to_contain_text("Type E-LEFT exactly to confirm.")

    erase.get_by_label("Type their HR id to confirm").fill("E-LEFT")
    erase.get_by_role("button", name="Erase their personal data").click()
    expect(page.get_by_role("status")).to_contain_text(f"as Former employee {leaver.id}")
    expect(page.get_by_test_id("erasures")).to_contain_text(f"Former employee {leaver.id}")
    expect(page.get_by_test_id("erasures")).to_contain_text("their request")

    page.get_by_label("HR id or e-mail").fill("lara@acme.example")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("alert")).to_contain_text("No employee or account has the HR id or e-mail")
