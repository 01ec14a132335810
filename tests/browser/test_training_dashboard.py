"""The Training dashboard in the system Chromium: a change leader reads completion, reaction and
the behaviour analysis; a manager is offered only their own team."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from adoption.extensions import db
from adoption.models import Employee, OrgUnit
from adoption.timekeeping import org_today
from training.models import AssignedTraining, Assignment, Enrollment, Module

NORTH = "Acme/EMEA/Sales North"


@pytest.fixture
def assigned_module(app, live_server):
    """A published module assigned to North's five people, due 20 days ago; two completed it on
    time with reactions 4 and 5."""
    today = org_today(app.config["ORG_TIMEZONE"])
    module = Module(slug="pipeline-hygiene", title="Pipeline hygiene", estimated_minutes=20,
                    status="published", key_behaviours=["opportunity_updated"])
    assignment = Assignment(module=module, due_on=today - dt.timedelta(days=20),
                            assigned_on=today - dt.timedelta(days=60))
    db.session.add(assignment)
    north = db.session.scalar(select(OrgUnit.id).where(OrgUnit.path == NORTH))
    people = db.session.scalars(
        select(Employee).where(Employee.unit_id == north).order_by(Employee.id)
    ).all()
    done = today - dt.timedelta(days=30)
    stamp = dt.datetime.combine(done, dt.time(10))
    for i, person in enumerate(people):
        db.session.add(AssignedTraining(assignment=assignment, employee_id=person.id,
                                        assigned_on=assignment.assigned_on,
                                        due_on=assignment.due_on))
        if i < 2:
            db.session.add(Enrollment(employee_id=person.id, module=module, module_version=1,
                                      started_at=stamp, last_activity_at=stamp,
                                      completed_at=stamp, completed_on=done,
                                      reaction_score=4 + i))
    db.session.commit()
    return len(people)


@pytest.mark.browser
def test_change_leader_reads_completion_reaction_and_behaviour(sign_in, assigned_module):
    page = sign_in("change_leader")
    page.goto("/dashboards/")
    page.get_by_role("navigation", name="Dashboards").get_by_role("link", name="Training").click()
    expect(page.get_by_role("heading", name="Training", level=1)).to_be_visible(timeout=20_000)

    completion = page.locator("#training-completion-figure")
    expect(completion.locator(".js-plotly-plot")).to_be_visible(timeout=20_000)
    expect(completion).to_contain_text(f"(n = {assigned_module})")
    expect(page.locator("#training-completion-n")).to_contain_text(
        f"n = {assigned_module} assignees")
    expect(page.locator("#training-reaction-figure")).to_contain_text("Pipeline hygiene (n = 2)")
    # Two completers are far from the ten the behaviour analysis needs: it says so.
    behaviour = page.locator("#training-behaviour-figure")
    expect(behaviour).to_contain_text("Not enough data")
    expect(behaviour).to_contain_text("completers n = ")
    expect(page.locator("#training-results-note")).to_contain_text("is on the Evidence page")


@pytest.mark.browser
def test_manager_is_offered_only_their_own_team(sign_in, assigned_module):
    page = sign_in("manager")
    page.goto("/dashboards/training")
    expect(page.get_by_role("heading", name="Training", level=1)).to_be_visible(timeout=20_000)
    page.locator("#training-unit").click()
    options = page.get_by_role("option")
    expect(options).to_have_count(1)
    expect(options.first).to_have_text(NORTH)
