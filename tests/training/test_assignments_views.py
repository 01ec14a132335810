"""Assignment and follow-up pages (training/views/assignments.py): what each role sees and may do."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from adoption.models import DailyUsage
from adoption.org import ensure_unit
from adoption.timekeeping import org_today
from tests.factories import make_employee
from tests.training.test_assignments import (
    AMERICAS,
    EMEA,
    NORTH,
    SOUTH,
    assign,
    enroll,
    make_module,
)
from tests.training.test_training_reminders import build_commitment
from training.followups import ANSWER_DAYS
from training.models import AssignedTraining, Assignment, ModuleStatus

DAY = dt.timedelta(days=1)


@pytest.fixture
def today(app):
    """Today in the organization's time zone, as the views see it."""
    return org_today(app.config["ORG_TIMEZONE"])


@pytest.fixture
def assigned(db, today):
    """A module assigned to Acme/EMEA today: Nora in North (completed), Sam in South (not started)."""
    module = make_module(db, title="Pipeline hygiene that helps you")
    nora = make_employee(NORTH, full_name="Nora North")
    make_employee(SOUTH, full_name="Sam South")
    assignment = assign(module, units=(EMEA,), today=today, due_on=today + 14 * DAY)
    enroll(db, nora, module, completed_on=today)
    db.session.commit()
    return assignment


# ---------------------------------------------------------------- change leaders and admins


def test_the_list_shows_each_assignment_with_its_counts(client, login_as, assigned):
    login_as("change_leader")
    page = client.get("/training/assignments/").get_data(as_text=True)
    assert "Pipeline hygiene that helps you" in page
    assert 'data-testid="completed">1 ' in page and "(50%)" in page
    assert "Training assignments" in page  # the navigation entry


def test_a_change_leader_assigns_a_module_to_unit_subtrees(db, client, login_as, today):
    person = make_employee(NORTH)
    make_employee(AMERICAS)
    module = make_module(db)
    db.session.commit()
    login_as("change_leader", unit=AMERICAS)
    response = client.post("/training/assignments/new", data={
        "module": module.id, "units": [ensure_unit(EMEA).id], "roles": ["employee"],
        "due_on": (today + 30 * DAY).isoformat(), "joiner_days": "21"})
    assert response.status_code == 302
    assignment = db.session.scalar(select(Assignment))
    assert (assignment.roles, assignment.joiner_days, assignment.due_on) == (["employee"], 21, today + 30 * DAY)
    assert db.session.scalars(select(AssignedTraining.employee_id)).all() == [person.id]
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert person.full_name in detail


def test_a_draft_module_or_a_past_due_date_is_refused_and_nothing_is_assigned(db, client, login_as, today):
    make_employee(NORTH)
    draft = make_module(db, status=ModuleStatus.DRAFT.value)
    published = make_module(db)
    db.session.commit()
    login_as("admin")
    unit = ensure_unit(EMEA).id
    refused = client.post("/training/assignments/new", data={
        "module": draft.id, "units": [unit], "due_on": (today + 30 * DAY).isoformat(), "joiner_days": "30"})
    assert refused.status_code == 422
    past = client.post("/training/assignments/new", data={
        "module": published.id, "units": [unit], "due_on": (today - DAY).isoformat(), "joiner_days": "30"})
    assert past.status_code == 422 and "already passed" in past.get_data(as_text=True)
    assert db.session.scalar(select(Assignment)) is None


def test_a_change_leader_withdraws_an_assignment(db, client, login_as, assigned):
    login_as("change_leader")
    response = client.post(f"/training/assignments/{assigned.id}/withdraw")
    assert response.status_code == 302
    db.session.refresh(assigned)
    assert assigned.active is False


# ---------------------------------------------------------------- managers


def test_a_manager_sees_their_teams_status_but_not_another_subtrees_people(client, login_as, assigned):
    login_as("manager", unit=SOUTH)
    page = client.get("/training/assignments/").get_data(as_text=True)
    assert "Sam South" in page and "Nora North" not in page
    assert 'data-testid="completed">0 ' in page  # Nora's completion is not counted for South
    detail = client.get(f"/training/assignments/{assigned.id}").get_data(as_text=True)
    assert "Sam South" in detail and "Nora North" not in detail
    assert "Assign a module" not in page and "Withdraw" not in page


def test_a_manager_gets_404_for_an_assignment_without_people_in_their_subtree(client, login_as, assigned):
    login_as("manager", unit=AMERICAS)
    assert client.get(f"/training/assignments/{assigned.id}").status_code == 404
    assert "Sam South" not in client.get("/training/assignments/").get_data(as_text=True)


def test_a_manager_may_not_assign_or_withdraw(db, client, login_as, assigned, today):
    login_as("manager", unit=SOUTH)
    assert client.get("/training/assignments/new").status_code == 403
    assert client.post("/training/assignments/new", data={
        "module": assigned.module_id, "units": [ensure_unit(SOUTH).id],
        "due_on": (today + 9 * DAY).isoformat(), "joiner_days": "30"}).status_code == 403
    assert client.post(f"/training/assignments/{assigned.id}/withdraw").status_code == 403
    db.session.refresh(assigned)
    assert assigned.active and len(db.session.scalars(select(Assignment)).all()) == 1


@pytest.mark.parametrize("role", ["employee", "executive"])
def test_employees_and_executives_get_403_on_the_assignment_pages(client, login_as, assigned, role):
    login_as(role)
    assert client.get("/training/assignments/").status_code == 403
    assert client.get(f"/training/assignments/{assigned.id}").status_code == 403
    assert client.get("/training/assignments/new").status_code == 403


# ---------------------------------------------------------------- follow-ups


@pytest.fixture
def due_follow_up(db, login_as, today):
    """The signed-in employee's commitment from 30 days ago, about ``activity_logged``."""
    user = login_as("employee")
    commitment = build_commitment(db, user.employee, today - 30 * DAY)
    commitment.key_behaviour = "activity_logged"
    db.session.add(DailyUsage(employee_id=user.employee_id, day=today - 35 * DAY, event_type="activity_logged",
                              events=12))
    db.session.commit()
    return commitment.follow_ups[0]


def test_the_learner_sees_a_due_follow_up_with_the_evidence(client, due_follow_up):
    page = client.get("/training/follow-ups/").get_data(as_text=True)
    assert "log every customer call the same day" in page
    assert 'data-testid="evidence"' in page and "3.0" in page  # 12 events in 4 weeks
    assert "not yet" in page  # the windows after the commitment are not complete
    # The page explains the schedule from the same constants that run it.
    assert "30, 60 and 90 days after a module" in page
    assert f"Each question stays open for {ANSWER_DAYS} days" in page


def test_my_training_and_its_navigation_badge_point_to_the_waiting_follow_up(client, due_follow_up):
    page = client.get("/training/").get_data(as_text=True)
    assert "1 commitment follow-up waits for your answer" in page
    assert 'href="/training/follow-ups/"' in page
    badge = re.search(r'href="/training/"[^>]*>My training\s*<span[^>]*>(\d+)<', page)
    assert badge is not None and badge.group(1) == "1"


def test_the_learner_answers_a_follow_up(db, client, due_follow_up):
    prefix = f"f{due_follow_up.id}-"
    response = client.post(f"/training/follow-ups/{due_follow_up.id}",
                           data={prefix + "status": "partly", prefix + "note": "Most days."})
    assert response.status_code == 302
    db.session.refresh(due_follow_up)
    assert (due_follow_up.status, due_follow_up.note) == ("partly", "Most days.")
    page = client.get("/training/follow-ups/").get_data(as_text=True)
    assert 'data-testid="follow-up"' not in page and "Partly" in page


def test_a_learner_away_two_months_is_asked_only_the_open_follow_up(db, client, login_as, today):
    user = login_as("employee")
    commitment = build_commitment(db, user.employee, today - 65 * DAY)  # the 30-day one closed on day 60
    commitment.key_behaviour = "activity_logged"
    db.session.commit()
    page = client.get("/training/follow-ups/").get_data(as_text=True)
    assert page.count('data-testid="commitment-follow-ups"') == 1 and page.count('data-testid="evidence"') == 1
    assert page.count('data-testid="follow-up"') == 1 and "60 days after the module" in page
    assert page.count('data-testid="closed"') == 1  # the 30-day one, in the history: no answer
    first = commitment.follow_ups[0]
    response = client.post(f"/training/follow-ups/{first.id}", data={f"f{first.id}-status": "done"})
    assert response.status_code == 302
    db.session.refresh(first)
    assert first.status is None
    assert "was open until" in client.get("/training/follow-ups/").get_data(as_text=True)
    assert "30 days after the module" not in page and "follow-ups waiting" not in page


def test_an_answer_without_a_status_is_shown_again_with_the_error(client, due_follow_up):
    response = client.post(f"/training/follow-ups/{due_follow_up.id}", data={})
    assert response.status_code == 422
    assert "Choose done, partly or not yet." in response.get_data(as_text=True)


def test_another_persons_follow_up_cannot_be_seen_or_answered(db, client, login_as, today):
    other = make_employee(SOUTH)
    follow_up = build_commitment(db, other, today - 30 * DAY, text="call back every lost deal").follow_ups[0]
    db.session.commit()
    login_as("manager", unit=SOUTH)  # even their manager answers nothing for them
    assert "call back every lost deal" not in client.get("/training/follow-ups/").get_data(as_text=True)
    prefix = f"f{follow_up.id}-"
    response = client.post(f"/training/follow-ups/{follow_up.id}", data={prefix + "status": "done"})
    assert response.status_code == 404
    db.session.refresh(follow_up)
    assert follow_up.status is None
