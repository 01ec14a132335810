"""The dashboards' parts of the home page (dashboards/home.py): active use against the target for
leaders, each within their scope, and an executive's own commitment record.

Acme has two teams, North (a manager, Mia) and South; the initiative's target is 70 %. Weeks start
on Monday; "today" is Wednesday 16 April 2025, so the last whole week is the one of 7 April.
"""

from __future__ import annotations

import datetime as dt

import pytest

from adoption.initiative import save_initiative
from adoption.models import WeeklyUnitUsage
from adoption.scope import scope_for
from adoption.sponsors import set_areas
from adoption.timekeeping import org_today
from dashboards.home import adoption_now, my_commitment
from tests.factories import DEFAULT_PASSWORD, make_employee, make_unit, make_user

TODAY = dt.date(2025, 4, 16)
LAST_WEEK = dt.date(2025, 4, 7)
WEEK = dt.timedelta(days=7)
NORTH, SOUTH = "Acme/North", "Acme/South"


def weekly(db, unit: str, week: dt.date, licensed: int, active: int) -> None:
    """A ``weekly_unit_usage`` row, as the rollup writes it."""
    db.session.add(WeeklyUnitUsage(week_start=week, unit_id=make_unit(unit).id, licensed=licensed, active=active,
                                   active_days=active, events=active, event_types=active))


@pytest.fixture
def acme(db):
    """The initiative (target 70 %, sponsor Sam for North), a change leader, and Mia, North's manager."""
    sam = make_employee("Acme", full_name="Sam Sponsor", is_executive=True)
    save_initiative("CRM rollout", start_date=dt.date(2024, 6, 1), licensed_seats=100, adoption_target_pct=70,
                    key_behaviours=["activity_logged"], sponsors=[sam])
    leader = make_user("change_leader", make_employee("Acme/HQ"))
    set_areas(leader, scope_for(leader), sponsor_id=sam.id, unit_ids=[make_unit(NORTH).id])
    mia = make_user("manager", make_employee(NORTH, full_name="Mia Manager"))
    make_unit(SOUTH)
    db.session.flush()
    return {"sam": sam, "leader": leader, "mia": mia}


def test_adoption_now_is_the_last_whole_weeks_active_share_against_the_target_with_the_week_before(db, acme):
    weekly(db, NORTH, LAST_WEEK - WEEK, 10, 4)
    weekly(db, NORTH, LAST_WEEK, 10, 6)
    weekly(db, SOUTH, LAST_WEEK, 10, 8)
    weekly(db, NORTH, LAST_WEEK + WEEK, 10, 1)  # this week: not over yet, so not shown
    db.session.flush()
    now = adoption_now(scope_for(acme["leader"]), TODAY)
    assert (now.week_start, now.active, now.licensed, now.rate, now.target) == (LAST_WEEK, 14, 20, 70.0, 70.0)
    assert now.previous_rate == 40.0 and now.change == 30.0 and now.lagging_days == 0


def test_a_manager_gets_their_own_units_figure_and_not_the_organizations(db, acme):
    weekly(db, NORTH, LAST_WEEK, 10, 3)
    weekly(db, SOUTH, LAST_WEEK, 10, 9)
    db.session.flush()
    now = adoption_now(scope_for(acme["mia"]), TODAY)
    assert (now.active, now.licensed, now.rate) == (3, 10, 30.0)
    assert now.link == "/dashboards/adoption"


def test_adoption_now_falls_back_to_the_latest_week_with_data_and_says_how_late_it_is(db, acme):
    weekly(db, NORTH, LAST_WEEK - 2 * WEEK, 10, 5)
    db.session.flush()
    now = adoption_now(scope_for(acme["leader"]), TODAY)
    assert (now.week_start, now.rate, now.previous_rate, now.change) == (LAST_WEEK - 2 * WEEK, 50.0, None, None)
    assert now.lagging_days == 14


def test_adoption_now_is_absent_before_any_usage_and_for_employees_and_admins(db, acme):
    assert adoption_now(scope_for(acme["leader"]), TODAY) is None
    weekly(db, NORTH, LAST_WEEK, 10, 5)
    db.session.flush()
    assert adoption_now(scope_for(make_user("employee", make_employee(NORTH))), TODAY) is None
    assert adoption_now(scope_for(make_user("admin")), TODAY) is None
    assert adoption_now(scope_for(make_user("executive", make_employee("Acme", is_executive=True))), TODAY).rate == 50.0


def test_a_sponsor_executive_gets_their_own_record_and_another_executive_none(db, acme):
    sam = scope_for(make_user("executive", acme["sam"]))
    sponsor = my_commitment(sam, TODAY)
    assert sponsor.record.name == "Sam Sponsor" and sponsor.record.areas == (NORTH,)
    # Two weeks into Q2 the card, like the Commitment page, is about the quarter just ended.
    assert (sponsor.period.start, sponsor.period.end) == (dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    later = my_commitment(sam, dt.date(2025, 5, 20))
    assert (later.period.start, later.period.end) == (dt.date(2025, 4, 1), dt.date(2025, 5, 20))
    other = my_commitment(scope_for(make_user("executive", make_employee("Acme", is_executive=True))), TODAY)
    assert other.record is None
    # Commitment indicators are for executives on the home page; the others read the dashboard.
    assert my_commitment(scope_for(acme["leader"]), TODAY) is None
    assert my_commitment(scope_for(acme["mia"]), TODAY) is None


def test_executive_home_shows_adoption_and_own_commitment_instead_of_a_promise(app, client, db, login_as, acme):
    today = org_today(app.config["ORG_TIMEZONE"])
    monday = today - dt.timedelta(days=today.weekday())
    weekly(db, NORTH, monday - WEEK, 8, 6)
    db.session.commit()
    login_as("executive", employee=acme["sam"])
    html = client.get("/").get_data(as_text=True)
    assert 'data-testid="home-adoption"' in html and "75%" in html and "vs target 70%" in html
    assert "6 of 8 licensed people" in html
    assert 'data-testid="home-commitment"' in html and "as sponsor of Acme/North" in html
    assert "once CRM usage data" not in html and "are connected" not in html
    # Before the roster figures, which follow.
    assert html.index('data-testid="home-adoption"') < html.index('id="org-figures"')


def test_manager_home_shows_the_teams_adoption_and_no_commitment_record(app, client, db, acme):
    today = org_today(app.config["ORG_TIMEZONE"])
    monday = today - dt.timedelta(days=today.weekday())
    weekly(db, NORTH, monday - WEEK, 10, 2)
    weekly(db, SOUTH, monday - WEEK, 10, 10)
    db.session.commit()
    assert client.post("/login", data={"email": acme["mia"].email, "password": DEFAULT_PASSWORD}).status_code == 302
    html = client.get("/").get_data(as_text=True)
    assert "2 of 10 licensed people" in html and "20%" in html
    assert 'data-testid="home-commitment"' not in html


def test_before_any_initiative_or_usage_the_executive_home_still_answers_and_says_why(client, db, login_as):
    login_as("executive")
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-testid="home-adoption"' not in html  # nothing to measure yet
    assert "You are not a sponsor of the initiative" in html
