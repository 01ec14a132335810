"""GET /api/v1/units, /api/v1/surveys/rounds and /api/v1/surveys/rounds/<id>/results: access
(read token or session, within scope), the answer's shape, suppression, validation, and results
prepared at the request once a round has closed."""
from __future__ import annotations

import datetime as dt

import pytest

from adoption.timekeeping import org_today
from adoption.tokens import issue_token
from surveys.disclosure import SUPPRESSED_MESSAGE
from surveys.results import prepare_round_results
from tests.factories import make_employee
from tests.surveys.conftest import OPENS
from tests.surveys.test_results import (
    AFTER,
    NORTH,
    NORTH_ANSWERS,
    QUESTIONS,
    SOUTH,
    SOUTH_ANSWERS,
    answer,
    team,
)

UNITS, ROUNDS = "/api/v1/units", "/api/v1/surveys/rounds"


def results_url(round_id: int) -> str:
    return f"/api/v1/surveys/rounds/{round_id}/results"


def bearer(db, scope: str = "read") -> dict:
    """The Authorization header of a live token with ``scope``."""
    _, plaintext = issue_token(f"{scope} client", scope, created_by_id=None)
    db.session.commit()
    return {"Authorization": f"Bearer {plaintext}"}


@pytest.fixture
def closed_round(db, build_survey):
    """A round of Acme/EMEA, closed long before today and not prepared: five of six in North and
    four in South answered."""
    north, south = team(NORTH, NORTH_ANSWERS, idle=1), team(SOUTH, SOUTH_ANSWERS[:4])
    survey_round = build_survey(questions=QUESTIONS).rounds[0]
    for person, row in [*zip(north, NORTH_ANSWERS, strict=False), *zip(south, SOUTH_ANSWERS, strict=False)]:
        answer(person, survey_round, row)
    db.session.commit()
    return survey_round


@pytest.fixture
def open_round(app, db, build_survey):
    """A round that opened today and is still open."""
    today = org_today(app.config["ORG_TIMEZONE"])
    survey_round = build_survey(questions=QUESTIONS, first_opens_on=today, through=today).rounds[0]
    db.session.commit()
    return survey_round


# ---------------------------------------------------------------- /units


def test_units_lists_every_unit_with_its_parent_for_a_read_token(client, db):
    make_employee(NORTH)
    make_employee("Acme/Americas/East")
    response = client.get(UNITS, headers=bearer(db))
    assert response.status_code == 200
    assert response.get_json()["units"] == [
        {"path": "Acme", "name": "Acme", "depth": 0, "parent": None},
        {"path": "Acme/Americas", "name": "Americas", "depth": 1, "parent": "Acme"},
        {"path": "Acme/Americas/East", "name": "East", "depth": 2, "parent": "Acme/Americas"},
        {"path": "Acme/EMEA", "name": "EMEA", "depth": 1, "parent": "Acme"},
        {"path": NORTH, "name": "Sales North", "depth": 2, "parent": "Acme/EMEA"},
    ]


def test_units_of_a_manager_are_their_subtree(client, db, login_as):
    make_employee(NORTH)
    make_employee(SOUTH)
    login_as("manager", unit="Acme/EMEA")
    paths = [u["path"] for u in client.get(UNITS).get_json()["units"]]
    assert paths == ["Acme/EMEA", NORTH, SOUTH]


def test_units_need_a_token_or_a_session(client, db):
    make_employee(NORTH)
    response = client.get(UNITS)
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_units_refuse_an_employee(client, login_as):
    login_as("employee")
    response = client.get(UNITS)
    assert response.status_code == 403
    assert response.get_json()["error"] == "out_of_scope"


def test_units_refuse_a_token_of_another_scope(client, db):
    response = client.get(UNITS, headers=bearer(db, "events:write"))
    assert response.status_code == 403
    assert response.get_json()["error"] == "insufficient_scope"


# ---------------------------------------------------------------- /surveys/rounds


def test_rounds_prepares_closed_rounds_and_lists_every_round(client, db, closed_round, open_round):
    assert closed_round.results_ready_at is None
    response = client.get(ROUNDS, headers=bearer(db))
    assert response.status_code == 200
    rounds = response.get_json()["rounds"]
    assert [(r["id"], r["results_available"]) for r in rounds] == [(open_round.id, False), (closed_round.id, True)]
    assert rounds[1] == {
        "id": closed_round.id, "survey": {"id": closed_round.survey_id, "title": "CRM pulse"}, "number": 1,
        "opens_on": "2025-03-03", "closes_on": "2025-03-09", "results_available": True,
    }
    db.session.expire_all()
    assert closed_round.results_ready_at is not None  # committed, not just flushed


def test_rounds_need_a_token_or_a_session(client, closed_round):
    response = client.get(ROUNDS)
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_rounds_refuse_an_employee(client, closed_round, login_as):
    login_as("employee")
    assert client.get(ROUNDS).status_code == 403


# ---------------------------------------------------------------- /surveys/rounds/<id>/results


def test_results_for_a_read_token_have_every_figure(client, db, closed_round):
    response = client.get(results_url(closed_round.id), query_string={"unit": "Acme"}, headers=bearer(db))
    assert response.status_code == 200
    body = response.get_json()
    assert body["round"]["id"] == closed_round.id
    assert (body["unit"], body["tenure"], body["invited"], body["n"]) == ("Acme", None, 10, 9)
    assert (body["suppressed"], body["message"]) == (False, None)
    assert body["response_rate"] == pytest.approx(0.9)
    # North: 100, 75, 62.5, 12.5, 62.5; South: 75 × 4.
    assert body["engagement_index"] == pytest.approx((312.5 + 300) / 9)
    assert body["enps"] == pytest.approx(100 * (2 - 1) / 9)
    conflict = body["items"]["priorities.conflict"]
    assert conflict == {
        "wording": conflict["wording"], "construct": "conflicting_priorities", "scale": "likert5", "n": 9,
        "mean": pytest.approx((15 + 8) / 9), "favourable_pct": pytest.approx(100 * 6 / 9), "enps": None,
        "choice_counts": None,
    }
    custom = [key for key in body["items"] if key.startswith("q")]
    assert len(custom) == 2  # the single and the multiple choice; the text question has no figures
    assert body["barriers"] == {"awareness": 2, "desire": 1, "knowledge": 0, "ability": 0, "reinforcement": 0,
                                "none": 6}


def test_a_suppressed_group_has_n_null_and_no_figures(client, db, closed_round):
    response = client.get(results_url(closed_round.id), query_string={"unit": SOUTH}, headers=bearer(db))
    assert response.status_code == 200
    body = response.get_json()
    assert body["n"] is None and body["suppressed"] is True
    assert body["message"] == SUPPRESSED_MESSAGE
    assert (body["response_rate"], body["engagement_index"], body["enps"], body["barriers"]) == (None,) * 4
    assert body["items"] == {}
    assert body["invited"] == 4


def test_the_tenure_filter_reads_one_band(client, db, closed_round):
    # Everyone started on 2024-01-01: 1-3 years on the round's dates, so the band repeats the
    # whole group and is suppressed; nobody is under a year.
    for band in ("1-3y", "<1y"):
        response = client.get(results_url(closed_round.id), query_string={"unit": "Acme", "tenure": band},
                              headers=bearer(db))
        assert response.status_code == 200
        body = response.get_json()
        assert (body["tenure"], body["suppressed"], body["n"]) == (band, True, None)


def test_a_manager_reads_their_unit_but_not_a_sibling(client, db, closed_round, login_as):
    prepare_round_results(closed_round, {}, AFTER)
    db.session.commit()
    manager = make_employee("Acme/EMEA", since=AFTER)
    login_as("manager", employee=manager)
    assert client.get(results_url(closed_round.id), query_string={"unit": "Acme/EMEA"}).status_code == 200
    response = client.get(results_url(closed_round.id), query_string={"unit": "Acme"})
    assert response.status_code == 403
    assert response.get_json()["error"] == "out_of_scope"


def test_a_team_manager_cannot_read_the_sibling_team(client, db, closed_round, login_as):
    login_as("manager", employee=make_employee(NORTH, since=AFTER))
    response = client.get(results_url(closed_round.id), query_string={"unit": SOUTH})
    assert response.status_code == 403


def test_results_refuse_an_employee(client, closed_round, login_as):
    login_as("employee")
    response = client.get(results_url(closed_round.id), query_string={"unit": NORTH})
    assert response.status_code == 403


def test_results_need_a_token_or_a_session(client, closed_round):
    response = client.get(results_url(closed_round.id), query_string={"unit": NORTH})
    assert response.status_code == 401


def test_results_refuse_a_token_of_another_scope(client, db, closed_round):
    response = client.get(results_url(closed_round.id), query_string={"unit": NORTH},
                          headers=bearer(db, "events:write"))
    assert response.status_code == 403
    assert response.get_json()["error"] == "insufficient_scope"


def test_an_unknown_unit_is_404(client, db, closed_round):
    response = client.get(results_url(closed_round.id), query_string={"unit": "Acme/Nowhere"}, headers=bearer(db))
    assert response.status_code == 404
    assert response.get_json() == {"error": "unknown_unit", "message": "No unit has the path 'Acme/Nowhere'."}


def test_an_unknown_round_is_404(client, db, closed_round):
    response = client.get(results_url(closed_round.id + 999), query_string={"unit": "Acme"}, headers=bearer(db))
    assert response.status_code == 404
    assert response.get_json()["error"] == "unknown_round"


def test_an_unknown_tenure_band_is_400(client, db, closed_round):
    # "3y+" sent without encoding its "+" arrives as "3y ".
    for band in ("2y", "3y ", "all"):
        response = client.get(results_url(closed_round.id), query_string={"unit": "Acme", "tenure": band},
                              headers=bearer(db))
        assert response.status_code == 400
        assert response.get_json()["error"] == "invalid_tenure"


def test_an_open_round_is_409_until_it_closes(client, db, open_round):
    response = client.get(results_url(open_round.id), query_string={"unit": "Acme"}, headers=bearer(db))
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "round_not_closed"
    assert "results appear after the round closes" in body["message"]


def test_a_closed_round_is_prepared_by_the_first_request_for_its_results(client, db, closed_round):
    assert closed_round.results_ready_at is None
    response = client.get(results_url(closed_round.id), query_string={"unit": NORTH}, headers=bearer(db))
    assert response.status_code == 200
    db.session.expire_all()
    assert closed_round.results_ready_at is not None
    assert response.get_json()["suppressed"] is True  # North minus Acme would isolate South's four


def test_the_api_and_the_service_suppress_alike(client, db, closed_round):
    body = client.get(results_url(closed_round.id), query_string={"unit": SOUTH}, headers=bearer(db)).get_json()
    assert body["message"] == SUPPRESSED_MESSAGE == "not enough responses to show"


def test_the_first_opening_day_of_the_test_surveys_is_long_past():
    # The fixtures' rounds are closed in real time, which the lazy preparation relies on.
    assert OPENS < dt.date.today() - dt.timedelta(days=30)
