"""The hypotheses register's pages (dashboards/views.py): who sees and changes what, the forms
and their CSRF tokens, on the organization of tests/dashboards/test_hypotheses.py (twelve teams
whose CSAT follows their NPS a month later)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from adoption.models import Hypothesis, HypothesisEvaluation
from dashboards.hypotheses import create_hypothesis
from tests.dashboards.test_hypotheses import (
    STATEMENT,
    TODAY,
    add_outcome,
    add_teams,
    month,
    nps,
    team,
)
from tests.factories import DEFAULT_PASSWORD, make_employee, make_user


@pytest.fixture(autouse=True)
def today(monkeypatch):
    """The organization's today, pinned for the pages (they evaluate as of it): the figures of
    the test data (r = 0.95 [0.84, 0.99]) are those of TODAY's months, and change with the month."""
    monkeypatch.setattr("dashboards.clock.org_today", lambda: TODAY)
    return TODAY


@pytest.fixture
def teams(db, today):
    """Twelve teams with NPS and the CSAT that follows it, in the months before today."""
    add_teams(db, range(1, 13), today)
    db.session.commit()


@pytest.fixture
def hypothesis(db, today, teams):
    """"NPS goes with CSAT a month later", recorded by a change leader (supported)."""
    author = make_user("change_leader", make_employee("Acme/North/Team 01", full_name="Casey Author"))
    recorded = create_hypothesis(STATEMENT, "nps", "csat", 1, 1, 0.3, owner=author, created_by=author, today=today)
    db.session.commit()
    return recorded


def form_data(owner_id: int, **overrides) -> dict:
    """A valid new-hypothesis form."""
    data = {"statement": "NPS leads CSAT", "x": "nps", "y": "csat", "expected_direction": "1", "lag": "1",
            "smallest_effect": "0.3", "level": "team", "owner": str(owner_id)}
    data.update(overrides)
    return data


def history(db, hypothesis_id: int) -> list[tuple[str, str]]:
    """(verdict, trigger) of its history rows, oldest first, as committed."""
    db.session.rollback()
    return [(r.verdict, r.trigger) for r in db.session.scalars(
        select(HypothesisEvaluation).where(HypothesisEvaluation.hypothesis_id == hypothesis_id)
        .order_by(HypothesisEvaluation.id))]


# --- reading -----------------------------------------------------------------------------------


def test_the_register_shows_each_hypothesis_with_its_verdict_interval_n_and_owner(client, login_as, hypothesis):
    login_as("change_leader")
    html = client.get("/hypotheses").get_data(as_text=True)
    assert STATEMENT in html
    assert "NPS → CSAT" in html and "y 1 month later" in html
    assert ">Supported<" in html
    assert "r = 0.95" in html and "[0.84, 0.99]" in html and "n = 12 units, 60 unit-months" in html
    assert "Casey Author" in html
    assert 'href="/hypotheses/new"' in html


def test_a_hypothesis_page_shows_its_reading_and_history(client, login_as, hypothesis):
    login_as("change_leader")
    html = client.get(f"/hypotheses/{hypothesis.id}").get_data(as_text=True)
    assert 'data-testid="reading">Across 12 units (60 unit-months)' in html
    assert html.count('data-testid="history-row"') == 1
    assert 'data-testid="trigger">recorded<' in html
    assert "Re-evaluate now" in html


def test_an_executive_reads_the_register_without_the_buttons_to_change_it(client, login_as, hypothesis):
    login_as("executive")
    html = client.get("/hypotheses").get_data(as_text=True)
    assert STATEMENT in html and 'href="/hypotheses/new"' not in html
    page = client.get(f"/hypotheses/{hypothesis.id}").get_data(as_text=True)
    assert "Re-evaluate now" not in page and "Archive" not in page


@pytest.mark.parametrize("role", ["manager", "employee"])
def test_managers_and_employees_get_403(client, login_as, hypothesis, role):
    login_as(role, "Acme/North/Team 01")
    assert client.get("/hypotheses").status_code == 403
    assert client.get(f"/hypotheses/{hypothesis.id}").status_code == 403


def test_the_navigation_links_the_register_for_those_who_may_read_it(client, login_as):
    login_as("executive")
    assert 'href="/hypotheses"' in client.get("/").get_data(as_text=True)
    client.post("/logout")
    login_as("manager")
    assert 'href="/hypotheses"' not in client.get("/").get_data(as_text=True)


# --- changing ----------------------------------------------------------------------------------


def test_a_change_leader_records_a_hypothesis_that_is_evaluated_at_once(client, db, login_as, teams):
    leader = login_as("change_leader")
    page = client.get("/hypotheses/new").get_data(as_text=True)
    assert '<option value="csat">CSAT (csat)</option>' in page
    response = client.post("/hypotheses/new", data=form_data(leader.id))
    assert response.status_code == 302
    created = db.session.scalar(select(Hypothesis))
    assert response.headers["Location"] == f"/hypotheses/{created.id}"
    assert history(db, created.id) == [("supported", "created")]


def test_an_unknown_metric_is_shown_under_its_field(client, db, login_as, teams):
    leader = login_as("change_leader")
    response = client.post("/hypotheses/new", data=form_data(leader.id, x="happiness"))
    assert response.status_code == 422
    assert "Unknown metric &#39;happiness&#39;. Known metrics:" in response.get_data(as_text=True)
    assert db.session.scalar(select(Hypothesis)) is None


def test_editing_the_lag_records_an_edited_evaluation(client, db, login_as, hypothesis):
    leader = login_as("change_leader")
    assert 'value="1"' in client.get(f"/hypotheses/{hypothesis.id}/edit").get_data(as_text=True)
    response = client.post(f"/hypotheses/{hypothesis.id}/edit", data=form_data(leader.id, lag="0"))
    assert response.status_code == 302
    assert history(db, hypothesis.id) == [("supported", "created"), ("inconclusive", "edited")]


def test_an_owner_who_does_not_exist_is_refused_instead_of_keeping_the_old_one(client, db, login_as, hypothesis):
    leader = login_as("change_leader")
    response = client.post(f"/hypotheses/{hypothesis.id}/edit", data=form_data(leader.id, owner="9999"))
    assert response.status_code == 422
    assert "Choose the owner among the people offered." in response.get_data(as_text=True)


def test_re_evaluate_now_records_a_manual_evaluation_when_the_figures_changed(client, db, login_as, hypothesis,
                                                                           today):
    login_as("change_leader")
    response = client.post(f"/hypotheses/{hypothesis.id}/evaluate")
    assert response.status_code == 302
    assert history(db, hypothesis.id) == [("supported", "created")]  # nothing new: only checked
    latest = month(today, -1)
    for i in range(1, 13):  # one more month of NPS
        add_outcome(db, team(i), latest, "nps", nps(i, latest))
    add_outcome(db, team(1), month(today, 0), "csat", 70)
    db.session.commit()
    client.post(f"/hypotheses/{hypothesis.id}/evaluate")
    assert history(db, hypothesis.id) == [("supported", "created"), ("supported", "manual")]


def test_archiving_takes_a_hypothesis_off_the_register(client, db, login_as, hypothesis):
    login_as("change_leader")
    response = client.post(f"/hypotheses/{hypothesis.id}/archive")
    assert response.status_code == 302 and response.headers["Location"] == "/hypotheses"
    assert STATEMENT not in client.get("/hypotheses").get_data(as_text=True)
    assert client.get(f"/hypotheses/{hypothesis.id}").status_code == 404


def test_an_executive_cannot_create_edit_archive_or_re_evaluate(client, db, login_as, hypothesis):
    executive = login_as("executive")
    assert client.get("/hypotheses/new").status_code == 403
    assert client.post("/hypotheses/new", data=form_data(executive.id)).status_code == 403
    assert client.post(f"/hypotheses/{hypothesis.id}/edit", data=form_data(executive.id, lag="2")).status_code == 403
    assert client.post(f"/hypotheses/{hypothesis.id}/archive").status_code == 403
    assert client.post(f"/hypotheses/{hypothesis.id}/evaluate").status_code == 403
    db.session.rollback()
    assert db.session.scalar(select(Hypothesis).where(Hypothesis.archived_at.is_(None))) is not None
    assert history(db, hypothesis.id) == [("supported", "created")]


# --- CSRF --------------------------------------------------------------------------------------


def _token(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_every_form_of_the_register_needs_its_csrf_token(client, db, hypothesis):
    leader = make_user("change_leader", make_employee("Acme/North/Team 02"))
    db.session.commit()
    client.post("/login", data={"email": leader.email, "password": DEFAULT_PASSWORD,
                                "csrf_token": _token(client.get("/login").get_data(as_text=True))})
    assert client.post("/hypotheses/new", data=form_data(leader.id)).status_code == 400
    assert client.post(f"/hypotheses/{hypothesis.id}/edit", data=form_data(leader.id)).status_code == 400
    assert client.post(f"/hypotheses/{hypothesis.id}/evaluate").status_code == 400
    assert client.post(f"/hypotheses/{hypothesis.id}/archive").status_code == 400
    token = _token(client.get(f"/hypotheses/{hypothesis.id}").get_data(as_text=True))
    assert client.post(f"/hypotheses/{hypothesis.id}/evaluate", data={"csrf_token": token}).status_code == 302
    token = _token(client.get("/hypotheses/new").get_data(as_text=True))
    assert client.post("/hypotheses/new", data={**form_data(leader.id), "csrf_token": token}).status_code == 302
