"""A change leader builds a pulse in the browser and activates it: its first round opens today."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from adoption.extensions import db
from adoption.timekeeping import org_today
from surveys.models import Survey, SurveyStatus
from surveys.services import sync_item_bank
from tests.browser.conftest import open_from_menu


@pytest.fixture
def item_bank(live_server):
    """The item bank, loaded as the builder offers it."""
    sync_item_bank()
    db.session.commit()


@pytest.mark.browser
def test_change_leader_creates_and_activates_a_survey(sign_in, item_bank, app):
    page = sign_in("change_leader")
    open_from_menu(page, "Program", "Surveys")
    page.get_by_role("link", name="New survey").click()

    today = org_today(app.config["ORG_TIMEZONE"])
    page.get_by_label("Title").fill("Rollout pulse")
    page.get_by_label("Audience units").select_option(label="Acme/EMEA")
    page.get_by_label("Recurrence").select_option("monthly")
    page.get_by_label("First round opens on").fill(today.isoformat())
    page.get_by_label("Each round stays open (days)").fill("5")
    page.get_by_role("checkbox", name="Most days I start work with energy for what I have to do. (").check()
    custom = page.get_by_role("group", name="Custom question 1")
    custom.get_by_label("Question").fill("Which screen slows you down most?")
    custom.get_by_label("Answer scale").select_option("single")
    page.get_by_role("button", name="Save survey").click()

    # A choice question needs options: the error is shown and what was typed is kept.
    expect(page.get_by_test_id("survey-error")).to_contain_text("at least two options")
    expect(custom.get_by_label("Question")).to_have_value("Which screen slows you down most?")
    custom.get_by_label("Options, one per line").fill("Pipeline\nAccounts\nReports")
    page.get_by_role("button", name="Save survey").click()

    expect(page.get_by_role("heading", name="Rollout pulse")).to_be_visible()
    expect(page.get_by_text("Which screen slows you down most?")).to_be_visible()
    page.get_by_role("button", name="Activate survey").click()
    expect(page.get_by_role("status")).to_contain_text("1 round scheduled")
    expect(page.get_by_test_id("rounds")).to_contain_text(today.strftime("%d %b %Y"))

    survey = db.session.scalars(select(Survey).where(Survey.title == "Rollout pulse")).one()
    assert survey.status == SurveyStatus.ACTIVE.value and len(survey.rounds) == 1
    assert len(survey.rounds[0].questions) == 2
