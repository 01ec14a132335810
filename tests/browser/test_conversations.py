"""A manager replies to an anonymous comment; its author is notified on their phone, reads and
answers; the manager sees the answer as "Anonymous", and nowhere the author's name."""
from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from adoption.extensions import db
from adoption.models import Employee, User
from adoption.org import ensure_unit
from adoption.timekeeping import org_today
from surveys.models import SurveyStatus
from surveys.results import prepare_round_results
from surveys.services import (
    QuestionSpec,
    create_survey,
    schedule_rounds,
    submit_response,
    sync_item_bank,
)
from tests.browser.conftest import (
    ACTION_TIMEOUT_MS,
    assert_touch_target,
    horizontal_overflow,
    log_in,
)
from tests.factories import make_employee

PHONE = {"width": 390, "height": 844}
COMMENT = "The CRM asks for eleven mandatory fields per call."


@pytest.fixture
def prepared_round(app, live_server):
    """Last week's pulse for Acme/EMEA, answered by the five people of Sales North (Eve writes a
    comment) and six of Sales South, its results prepared."""
    sync_item_bank()
    today = org_today(app.config["ORG_TIMEZONE"])
    leader = db.session.scalar(select(User).where(User.email == live_server.users["change_leader"]))
    survey = create_survey(
        title="Weekly pulse", created_by=leader, audience_units=[ensure_unit("Acme/EMEA")],
        questions=[QuestionSpec(item_key="engagement.energy", allow_comment=True),
                   QuestionSpec(item_key="enps.recommend")],
        first_opens_on=today - dt.timedelta(days=7), round_length_days=7,
    )
    survey.status = SurveyStatus.ACTIVE.value
    schedule_rounds(survey, today)
    survey_round = survey.rounds[0]
    for _ in range(5):
        make_employee("Acme/EMEA/Sales South", since=today - dt.timedelta(days=400))
    people = db.session.scalars(
        select(Employee).where(Employee.unit_id.in_([ensure_unit("Acme/EMEA/Sales North").id,
                                                     ensure_unit("Acme/EMEA/Sales South").id]))
    ).all()
    q = [rq.id for rq in survey_round.questions]
    for person in people:
        first = {"value": 4}
        if person.email == live_server.users["employee"]:
            first["comment"] = COMMENT
        submit_response(person, survey_round, {q[0]: first, q[1]: {"value": 7}}, survey_round.opens_on)
    assert prepare_round_results(survey_round, app.config, today)
    db.session.commit()
    return survey_round


def _signed_in(browser, live_server, role, viewport=None):
    """A page of a fresh browser context, signed in as the seeded ``role``."""
    context = browser.new_context(base_url=live_server.url, viewport=viewport or {"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    return log_in(page, live_server.users[role], live_server.password)


@pytest.mark.browser
def test_a_leader_and_an_anonymous_author_hold_a_conversation(browser, live_server, prepared_round):
    manager = _signed_in(browser, live_server, "manager")
    manager.get_by_role("link", name="Conversations", exact=True).click()
    comment = manager.get_by_test_id("comment").filter(has_text=COMMENT)
    expect(comment).to_be_visible()
    comment.get_by_label("Reply to this comment").fill("Thank you. We are cutting them to four next sprint.")
    comment.get_by_role("button", name="Send reply").click()
    expect(manager.get_by_role("status")).to_contain_text("Reply sent")
    manager.context.close()

    author = _signed_in(browser, live_server, "employee", PHONE)
    author.get_by_role("button", name="Show navigation").click()
    link = author.locator("#mainnav").get_by_role("link", name="My conversations")
    expect(link.get_by_test_id("unread-conversations")).to_have_text("1 unread")
    link.click()
    thread = author.get_by_test_id("thread")
    expect(thread).to_contain_text("We are cutting them to four next sprint.")
    expect(thread).to_contain_text("Mia Manager")
    expect(thread.get_by_text("New reply")).to_be_visible()
    expect(author.get_by_test_id("unread-conversations")).to_have_count(0)
    assert horizontal_overflow(author) <= 0
    assert_touch_target(thread.get_by_role("button", name="Send answer"))
    thread.get_by_label("Your answer").fill("Four would be fine, thank you!")
    thread.get_by_role("button", name="Send answer").click()
    expect(author.get_by_role("status")).to_contain_text("Answer sent")
    author.context.close()

    manager = _signed_in(browser, live_server, "manager")
    manager.get_by_role("link", name="Conversations", exact=True).click()
    expect(manager.get_by_role("heading", name="Awaiting a reply (1)")).to_be_visible()
    answer = manager.get_by_test_id("comment").filter(has_text=COMMENT).locator("[data-from=author]")
    expect(answer).to_contain_text("Anonymous")
    expect(answer).to_contain_text("Four would be fine, thank you!")
    content = manager.content()
    assert "Eve" not in content and live_server.users["employee"] not in content
    manager.context.close()
