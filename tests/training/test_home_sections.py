"""Training on the home page (training/home.py): the person's modules still to take, most urgent
first, and their commitment follow-ups waiting for an answer."""
from __future__ import annotations

import datetime as dt

import pytest

from adoption.scope import scope_for
from adoption.timekeeping import org_today
from tests.adoption.test_home_sections import home_section
from tests.factories import make_employee, make_user
from tests.training.test_assignments import enroll
from tests.training.test_progress import NOW, TODAY, assign, build_module, finish_steps
from tests.training.test_training_reminders import build_commitment
from training.home import SHOWN_MODULES, my_training_card
from training.models import TrainingStatus
from training.services import complete_lesson, give_reaction, start_module

DAY = dt.timedelta(days=1)
NORTH = "Acme/EMEA/Sales North"


def _card(employee, today: dt.date = TODAY):
    return my_training_card(scope_for(make_user("employee", employee)), today)


def _slugs(card) -> list[str]:
    return [item.module.slug for item in card.to_take]


def _today(app) -> dt.date:
    """The day the home view uses."""
    return org_today(app.config["ORG_TIMEZONE"])


@pytest.fixture
def learner(db):
    """An active employee in Sales North."""
    return make_employee(NORTH)


# ---------------------------------------------------------------- my_training_card


def test_an_assigned_module_not_started_is_listed_with_its_due_date(db, learner):
    module = build_module(db, "assigned")
    assign(db, module, learner, TODAY + 5 * DAY)
    card = _card(learner)
    [item] = card.to_take
    assert (item.module, item.due_on, item.status, item.enrollment) == (
        module, TODAY + 5 * DAY, TrainingStatus.NOT_STARTED, None)
    assert (card.more, card.overdue, card.follow_ups_due) == (0, 0, 0)


def test_an_overdue_module_is_counted_overdue(db, learner):
    assign(db, build_module(db, "late"), learner, TODAY - DAY)
    assign(db, build_module(db, "on-time"), learner, TODAY + DAY)
    card = _card(learner)
    assert _slugs(card) == ["late", "on-time"]
    assert [item.status for item in card.to_take] == [TrainingStatus.OVERDUE, TrainingStatus.NOT_STARTED]
    assert card.overdue == 1


def test_a_module_due_today_is_not_overdue(db, learner):
    assign(db, build_module(db, "due-today"), learner, TODAY)
    assert _card(learner).overdue == 0


def test_a_completed_module_is_not_listed(db, learner):
    module = build_module(db, "done")
    assign(db, module, learner, TODAY - 10 * DAY)
    enrollment = start_module(learner, module, NOW)
    finish_steps(module, enrollment)
    give_reaction(enrollment, 5, "", TODAY, NOW)
    card = _card(learner)
    assert (card.to_take, card.more, card.overdue) == ([], 0, 0)


def test_a_module_started_of_the_persons_own_accord_is_listed(db, learner):
    module = build_module(db, "chosen")
    complete_lesson(start_module(learner, module, NOW), module.steps[0], NOW)
    [item] = _card(learner).to_take
    assert (item.module, item.assigned, item.status) == (module, False, TrainingStatus.IN_PROGRESS)


def test_a_published_module_nobody_assigned_or_started_is_not_listed(db, learner):
    build_module(db, "just-available")
    assert _card(learner).to_take == []


def test_a_withdrawn_assignment_is_not_listed(db, learner):
    assign(db, build_module(db, "withdrawn"), learner, TODAY - DAY, active=False)
    card = _card(learner)
    assert (card.to_take, card.overdue) == ([], 0)


def test_a_colleagues_assignment_is_not_listed(db, learner):
    assign(db, build_module(db, "theirs"), make_employee(NORTH), TODAY - DAY)
    assert _card(learner).to_take == []


def test_only_the_first_three_modules_are_listed_and_the_rest_counted(db, learner):
    for n in range(5):
        assign(db, build_module(db, f"module-{n}"), learner, TODAY + (n + 1) * DAY)
    card = _card(learner)
    assert SHOWN_MODULES == 3
    assert _slugs(card) == ["module-0", "module-1", "module-2"]
    assert card.more == 2


def test_overdue_counts_the_modules_not_listed_too(db, learner):
    for n in range(5):
        assign(db, build_module(db, f"late-{n}"), learner, TODAY - (n + 1) * DAY)
    card = _card(learner)
    assert (len(card.to_take), card.more, card.overdue) == (3, 2, 5)


def test_follow_ups_due_and_unanswered_are_counted(db, learner):
    due = build_commitment(db, learner, TODAY - 30 * DAY)
    build_commitment(db, learner, TODAY - 29 * DAY)  # its first follow-up is due tomorrow
    build_commitment(db, make_employee(NORTH), TODAY - 30 * DAY)  # a colleague's
    scope = scope_for(make_user("employee", learner))
    assert my_training_card(scope, TODAY).follow_ups_due == 1
    due.follow_ups[0].status = "done"
    assert my_training_card(scope, TODAY).follow_ups_due == 0


@pytest.mark.parametrize("role", ["admin", "employee", "manager"])
def test_my_training_card_is_none_without_an_employee_record(db, role):
    assign(db, build_module(db), make_employee(NORTH), TODAY)
    assert my_training_card(scope_for(make_user(role)), TODAY) is None


# ---------------------------------------------------------------- the home page


def test_the_home_page_lists_an_assigned_module_with_its_due_date_and_start(app, client, db, login_as):
    learner = login_as("employee").employee
    due = _today(app) + 7 * DAY
    assign(db, build_module(db, "customer-insight"), learner, due)
    db.session.commit()
    section = home_section(client.get("/").get_data(as_text=True), "home-my-training")
    assert "Customer insight first" in section
    assert f"due {due:%d %b %Y}" in section and "overdue" not in section
    assert 'href="/training/modules/customer-insight">Start<' in section
    assert "No training module waits for you." not in section


def test_the_home_page_flags_an_overdue_module(app, client, db, login_as):
    learner = login_as("employee").employee
    due = _today(app) - 2 * DAY
    assign(db, build_module(db, "late"), learner, due)
    db.session.commit()
    section = home_section(client.get("/").get_data(as_text=True), "home-my-training")
    assert f"overdue since {due:%d %b %Y}" in section
    assert "text-danger" in section


def test_the_home_page_counts_overdue_modules_only_when_some_are_not_listed(app, client, db, login_as):
    learner = login_as("employee").employee
    assign(db, build_module(db, "late-0"), learner, _today(app) - DAY)
    db.session.commit()
    assert 'data-testid="home-training-overdue"' not in client.get("/").get_data(as_text=True)
    for n in range(1, 5):
        assign(db, build_module(db, f"late-{n}"), learner, _today(app) - (n + 1) * DAY)
    db.session.commit()
    overdue = home_section(client.get("/").get_data(as_text=True), "home-training-overdue")
    assert overdue is not None and "5 overdue in all" in overdue


def test_the_home_page_offers_to_resume_a_started_module(app, client, db, login_as):
    learner = login_as("employee").employee
    module = build_module(db, "half-way")
    assign(db, module, learner, _today(app) + 7 * DAY)
    complete_lesson(start_module(learner, module, NOW), module.steps[0], NOW)
    db.session.commit()
    section = home_section(client.get("/").get_data(as_text=True), "home-my-training")
    assert 'href="/training/modules/half-way">Resume<' in section and "25% done" in section


def test_the_home_page_does_not_list_a_completed_module(app, client, db, login_as):
    learner = login_as("employee").employee
    module = build_module(db, "done")
    assign(db, module, learner, _today(app) + 7 * DAY)
    enroll(db, learner, module, completed_on=_today(app) - DAY)
    db.session.commit()
    section = home_section(client.get("/").get_data(as_text=True), "home-my-training")
    assert "Customer insight first" not in section and "/training/modules/done" not in section
    assert "No training module waits for you." in section


@pytest.mark.parametrize(("modules", "more_link"), [
    (5, '<a href="/training/">2 more on My training</a>'),
    (3, None),  # three or fewer: no link
])
def test_the_home_page_lists_three_modules_and_links_to_the_rest(app, client, db, login_as, modules, more_link):
    learner = login_as("employee").employee
    for n in range(modules):
        assign(db, build_module(db, f"module-{n}"), learner, _today(app) + (n + 1) * DAY)
    db.session.commit()
    section = home_section(client.get("/").get_data(as_text=True), "home-my-training")
    assert section.count("/training/modules/") == 3
    if more_link is None:
        assert "more on My training" not in section
    else:
        assert more_link in section


def test_the_home_page_shows_pending_follow_ups_with_a_link(app, client, db, login_as):
    learner = login_as("employee").employee
    build_commitment(db, learner, _today(app) - 30 * DAY)
    build_commitment(db, learner, _today(app) - 61 * DAY)  # its 60-day follow-up is open (30-day closed)
    build_commitment(db, learner, _today(app) - 200 * DAY)  # all three closed
    db.session.commit()
    link = home_section(client.get("/").get_data(as_text=True), "home-follow-ups-due")
    assert link is not None and 'href="/training/follow-ups/"' in link
    assert "<strong>2</strong> follow-ups of your action commitments wait for your answer" in link


def test_the_home_page_shows_no_follow_up_link_when_none_is_due(app, client, db, login_as):
    learner = login_as("employee").employee
    build_commitment(db, learner, _today(app) - 29 * DAY)
    db.session.commit()
    assert 'data-testid="home-follow-ups-due"' not in client.get("/").get_data(as_text=True)


def test_a_managers_training_is_under_for_you(app, client, db, login_as):
    manager = login_as("manager").employee
    assign(db, build_module(db, "for-managers"), manager, _today(app) + 7 * DAY)
    db.session.commit()
    html = client.get("/").get_data(as_text=True)
    assert html.index(">For you</h2>") < html.index('href="/training/modules/for-managers"')
