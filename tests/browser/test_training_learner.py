"""An employee takes a module end to end on a phone-sized screen: lesson, case study (the
commentary appears only after answering), knowledge check (failed once, then passed),
commitment, reaction, certificate; with the keyboard where it matters, CSRF on throughout."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from adoption.extensions import db
from tests.browser.conftest import assert_touch_target, horizontal_overflow
from tests.training.test_progress import COMMENTARY, build_module
from training.models import Commitment, Enrollment

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def module(app, live_server):
    """The published four-step module, built through the models."""
    module = build_module(db)
    db.session.commit()
    return module


@pytest.mark.browser
def test_employee_takes_a_module_end_to_end_on_a_phone(sign_in, module):
    page = sign_in("employee")
    page.set_viewport_size(PHONE)
    page.get_by_role("button", name="Show navigation").click()
    page.locator("#mainnav").get_by_role("link", name="My training").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My training")
    page.get_by_role("link", name="Open Customer insight first").click()
    start = page.get_by_role("button", name="Start the module")
    assert_touch_target(start)
    start.click()

    # Lesson
    expect(page.get_by_role("heading", level=1)).to_have_text("Why insight beats data entry")
    progress = page.get_by_role("progressbar", name="Steps done in Customer insight first")
    expect(progress).to_have_attribute("aria-valuetext", "0 of 5 steps done")
    assert horizontal_overflow(page) <= 0
    page.get_by_role("button", name="I have read this, continue").click()

    # Case study: no commentary in the page until the answer is saved
    expect(page.get_by_role("heading", level=1)).to_have_text("The renewal call")
    assert COMMENTARY not in page.content()
    page.get_by_label("What would you do, and why?").fill("Log the competitor's name and tell the renewal owner today.")
    page.get_by_role("button", name="Save my answer and show the commentary").click()
    expect(page.get_by_role("heading", name="Expert commentary")).to_be_visible()
    expect(page.get_by_text(COMMENTARY)).to_be_visible()
    expect(page.get_by_text("What is the risk of waiting?")).to_be_visible()
    page.get_by_role("link", name="Continue").click()

    # Knowledge check: fail once (one answer only), read the explanations, then pass
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your understanding")
    first = page.get_by_role("group", name="1. When do you record a customer's objection?")
    assert_touch_target(first.locator("label", has_text="Only if asked"))
    first.get_by_role("radio", name="At the end of the quarter").check()
    page.get_by_role("button", name="Submit my answers").click()
    expect(page.get_by_role("status")).to_contain_text("Not passed yet")
    expect(page.get_by_text("Memory fades within a day.")).to_be_visible()
    assert horizontal_overflow(page) <= 0

    first = page.get_by_role("group", name="1. When do you record a customer's objection?")
    same_day = first.get_by_role("radio", name="The same day")
    same_day.focus()
    page.keyboard.press("Space")  # the keyboard alone can answer
    expect(same_day).to_be_checked()
    second = page.get_by_role("group", name="2. Which belong in a call note? (choose every answer that applies)")
    second.get_by_role("checkbox", name="The customer's words").check()
    second.get_by_role("checkbox", name="The agreed next step").check()
    third = page.get_by_role("group", name="3. Who is the note for?")
    third.get_by_role("radio", name="The next person who talks to the customer").check()
    page.get_by_role("button", name="Submit my answers").click()
    expect(page.get_by_role("status")).to_contain_text("You passed this check.")
    expect(page.get_by_role("heading", name="Attempt 2: 100% right")).to_be_visible()
    page.get_by_role("link", name="Continue").click()

    # Commitment
    expect(page.get_by_role("heading", level=1)).to_have_text("Your commitment")
    page.get_by_label("In the next 30 days I will …").fill("log every customer call the same day")
    page.get_by_label("Which key behaviour does it concern? (optional)").select_option(label="Activity logged")
    page.get_by_role("button", name="Make my commitment").click()

    # Reaction, by keyboard
    expect(page.get_by_role("heading", level=1)).to_have_text("One last question")
    scale = page.get_by_role("radiogroup", name="How useful was this module for your daily work?")
    four = scale.get_by_role("radio", name="4", exact=True)
    assert_touch_target(scale.locator("label", has_text="4"))
    four.focus()
    page.keyboard.press("Space")
    expect(four).to_be_checked()
    page.get_by_label("Comment (optional)").fill("The renewal case was close to home.")
    page.get_by_role("button", name="Finish the module").press("Enter")

    # Certificate
    expect(page.get_by_text("Certificate of completion")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Eve Employee")
    expect(page.get_by_text("Customer insight first", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    assert horizontal_overflow(page) <= 0

    db.session.expire_all()
    enrollment = db.session.scalar(select(Enrollment))
    assert enrollment.completed_at is not None and enrollment.reaction_score == 4
    assert db.session.scalar(select(Commitment)).key_behaviour == "activity_logged"
