"""An employee answers a pulse on a phone-sized screen: draft, submit, confirmation, once only."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from adoption.extensions import db
from surveys.models import Participation, Response
from tests.browser.conftest import assert_touch_target, horizontal_overflow

PHONE = {"width": 390, "height": 844}


@pytest.mark.browser
def test_employee_answers_a_pulse_on_a_phone(sign_in, pulse):
    page = sign_in("employee")
    page.set_viewport_size(PHONE)
    page.get_by_role("button", name="Show navigation").click()
    page.locator("#mainnav").get_by_role("link", name="My surveys").click()
    page.get_by_role("link", name="Answer March pulse").click()
    question = page.get_by_role("group", name="1. Most days I start work with energy for what I have to do.")
    # Measure the width only once the form has arrived, not while the link is navigating.
    expect(question).to_be_visible()
    assert horizontal_overflow(page) <= 0

    agree = question.get_by_role("radio", name="Agree", exact=True)
    assert_touch_target(question.locator("label", has_text="Strongly agree"))
    agree.check()
    page.get_by_label("Comment (optional, shown without your name)").fill("Too many mandatory fields")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status")).to_contain_text("Draft saved")
    expect(agree).to_be_checked()

    nps = page.get_by_role("radiogroup", name="2. How likely are you to recommend this organization to a friend as a place to work?")
    nps.get_by_role("radio", name="8", exact=True).focus()
    page.keyboard.press("Space")
    expect(nps.get_by_role("radio", name="8", exact=True)).to_be_checked()
    page.get_by_role("button", name="Submit").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you, your answers are in")
    expect(page.get_by_text("at least 5 people answered")).to_be_visible()
    assert horizontal_overflow(page) <= 0
    assert db.session.scalar(select(func.count()).select_from(Response)) == 1
    assert db.session.scalar(select(func.count()).select_from(Participation)) == 1

    page.goto(f"/surveys/rounds/{pulse.rounds[0].id}")
    expect(page.get_by_role("status")).to_contain_text("already answered this survey")


@pytest.mark.browser
def test_employee_finds_the_pulse_on_the_home_page_and_comes_back_to_the_draft(sign_in, pulse):
    page = sign_in("employee")
    page.set_viewport_size(PHONE)
    page.goto("/")
    card = page.get_by_test_id("home-my-surveys")
    expect(card).to_contain_text("March pulse")
    assert horizontal_overflow(page) <= 0
    # On a phone what waits for the person comes before their roster record.
    record = page.get_by_role("heading", name="Your record")
    assert card.bounding_box()["y"] < record.bounding_box()["y"]
    card.get_by_role("link", name="Answer March pulse").click()
    question = page.get_by_role("group", name="1. Most days I start work with energy for what I have to do.")
    question.get_by_role("radio", name="Agree", exact=True).check()
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status")).to_contain_text("Draft saved")

    page.goto("/")
    expect(card).to_contain_text("draft saved")
    card.get_by_role("link", name="Continue March pulse").click()
    expect(question.get_by_role("radio", name="Agree", exact=True)).to_be_checked()
    nps = page.get_by_role("radiogroup", name="2. How likely are you to recommend this organization to a friend as a place to work?")
    nps.get_by_role("radio", name="7", exact=True).focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you, your answers are in")

    page.goto("/")
    expect(card).to_contain_text("No pulse survey waits for your answer today.")
