"""The executive commitment dashboard in the system Chromium, on the small demo: the CEO signs in,
lands on it, reads their own record and the gap, opens the board pack; a change leader sees the
sponsor who is busy but not seen as committed highlighted."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

SCREENSHOT = "/tmp/uptake-executive.png"


@pytest.mark.browser
def test_the_ceo_lands_on_the_commitment_page_and_reads_their_record(demo_sign_in):
    page = demo_sign_in("executive")

    # Signing in lands an executive on the dashboard, not on the home page.
    expect(page).to_have_url(re.compile(r".*/dashboards/executive$"))
    expect(page.get_by_role("heading", name="Executive commitment", level=1)).to_be_visible()

    summary = page.locator("#executive-summary")
    for title in ("Adoption", "Commitment score", "Perceived commitment", "CSAT"):
        expect(summary.get_by_role("heading", name=title)).to_be_visible(timeout=30_000)
    expect(summary).to_contain_text("your objective score")
    expect(summary).to_contain_text("respondents")

    sponsors = page.locator("#executive-sponsors-table")
    expect(sponsors).to_contain_text("Rahul Rao")  # the CEO: their own record
    expect(sponsors).not_to_contain_text("Sabine Müller")  # another sponsor's record is not theirs
    expect(page.locator("#executive-gap-figure .js-plotly-plot")).to_be_visible()
    expect(page.locator("#executive-team-table")).to_contain_text("Leadership team")
    expect(page.locator("#executive-adoption-figure .js-plotly-plot")).to_be_visible()
    page.screenshot(path=SCREENSHOT, full_page=True)

    # The board pack: the same report, printable.
    with page.expect_popup() as popup:
        page.get_by_role("link", name="Printable view (board pack)").click()
    pack = popup.value
    pack.wait_for_load_state()
    expect(pack.get_by_role("heading", name="Executive commitment", level=1)).to_contain_text("Q4")
    expect(pack.locator("body")).to_contain_text("Rahul Rao")
    expect(pack.locator("body")).not_to_contain_text("Sabine Müller")


@pytest.mark.browser
def test_a_change_leader_sees_the_busy_sponsor_seen_as_uncommitted_highlighted(demo_sign_in):
    page = demo_sign_in("change_leader")
    page.goto("/dashboards/executive")
    gap_table = page.locator("#executive-gap-table")
    flagged = gap_table.locator("tr.table-danger")
    expect(flagged).to_have_count(1, timeout=30_000)
    expect(flagged).to_contain_text("Sabine Müller")
    expect(flagged).to_contain_text("seen less than done")
    expect(page.locator("#executive-sponsors-table")).to_contain_text("Maximilian Müller")


@pytest.mark.browser
def test_the_ceo_records_a_team_visit_and_sends_a_message_from_the_sponsor_log(demo_sign_in):
    page = demo_sign_in("executive")
    page.goto("/sponsors/")
    expect(page.get_by_role("heading", name="Sponsor log", level=1)).to_be_visible()

    page.get_by_role("link", name="Record an activity").click()
    page.get_by_label("What the sponsor did").select_option(label="Team visit")
    # The date starts on today and the audience on the sponsor's areas: only the note is typed.
    page.get_by_label("Note (optional)").fill("Pipeline review with Field Sales Northeast, in the CRM.")
    page.get_by_role("button", name="Record the activity").click()
    expect(page.get_by_role("status")).to_contain_text("Activity recorded.")
    expect(page.locator("main")).to_contain_text("Pipeline review with Field Sales Northeast, in the CRM.")

    page.get_by_role("link", name="Send a message").click()
    page.get_by_label("Subject").fill("What changes after the November pulse")
    page.get_by_label("Message").fill("Thank you for your answers. Three things change this month.")
    page.get_by_role("button", name="Continue").click()
    # Nothing is sent before the confirmation, which says to how many people it goes. (The form
    # itself mentions "people" and the confirmation shows the subject: wait for each page itself.)
    expect(page.get_by_role("heading", name="Send this message?", level=1)).to_be_visible()
    expect(page.get_by_test_id("recipients")).to_contain_text(re.compile(r"It goes to \d+ people"))
    page.get_by_role("button", name=re.compile(r"^Send")).click()
    expect(page.get_by_role("status")).to_contain_text("Message sent to")
    expect(page.locator("main")).to_contain_text("What changes after the November pulse")
    expect(page.locator("main")).to_contain_text("Sent from Uptake to")
