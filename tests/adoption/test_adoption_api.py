"""GET /api/v1/adoption: access (token or session, within scope), figures, per-day attribution,
validation, and the consistency header."""
from __future__ import annotations

import datetime as dt

import pytest

from adoption.initiative import save_initiative
from adoption.models import DailyUsage, UsageEvent
from adoption.org import move_employee
from adoption.scope import ScopeError, scope_for
from adoption.telemetry.adoption import MAX_WINDOW_DAYS, adoption_summary
from adoption.telemetry.metrics import DEFINITIONS_VERSION
from adoption.tokens import issue_token
from tests.factories import make_employee, make_unit, make_user

URL = "/api/v1/adoption"
NORTH, SOUTH, EAST = "Acme/EMEA/Sales North", "Acme/EMEA/Sales South", "Acme/Americas/East"
START, END = dt.date(2024, 5, 1), dt.date(2024, 5, 10)
TODAY = dt.date(2024, 6, 1)
WINDOW = {"start": START.isoformat(), "end": END.isoformat()}
SOON = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=3)  # after today in any time zone


def issue(db, scope: str) -> str:
    """The plaintext of a live token with ``scope``."""
    _, plaintext = issue_token(f"{scope} client", scope, created_by_id=None)
    db.session.commit()
    return plaintext


@pytest.fixture
def read_token(db):
    """A token with scope read."""
    return issue(db, "read")


def bearer(token: str) -> dict:
    """The Authorization header of ``token``."""
    return {"Authorization": f"Bearer {token}"}


def usage(employee, day: dt.date, event_type: str = "login", events: int = 1) -> DailyUsage:
    """A ``daily_usage`` row."""
    return DailyUsage(day=day, employee_id=employee.id, event_type=event_type, events=events)


@pytest.fixture
def org(db):
    """North: ana (licensed; 2 days, activity_logged), ben (licensed, idle); South: dee (licensed;
    opportunity_updated); East: eve (licensed, active). Key behaviours: activity_logged, opportunity_updated."""
    ana = make_employee(NORTH, crm_user_id="005A")
    ben = make_employee(NORTH, crm_user_id="005B")
    dee = make_employee(SOUTH, crm_user_id="005D")
    eve = make_employee(EAST, crm_user_id="005E")
    db.session.add_all([
        usage(ana, dt.date(2024, 5, 2), "login", 2), usage(ana, dt.date(2024, 5, 2), "activity_logged", 1),
        usage(ana, dt.date(2024, 5, 3), "login", 1),
        usage(dee, dt.date(2024, 5, 9), "opportunity_updated", 4),
        usage(eve, dt.date(2024, 5, 4), "login", 1),
    ])
    save_initiative("CRM rollout", start_date=dt.date(2024, 1, 1), licensed_seats=10, adoption_target_pct=80,
                    key_behaviours=["activity_logged", "opportunity_updated"])
    db.session.commit()
    return {"ana": ana, "ben": ben, "dee": dee, "eve": eve}


# --- access ----------------------------------------------------------------------------------------

def test_no_token_and_no_session_is_401(client, org):
    response = client.get(URL, query_string={"unit": "Acme", **WINDOW})
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_token_is_401(client, org):
    response = client.get(URL, query_string={"unit": "Acme", **WINDOW}, headers=bearer("upt_00000000_nope"))
    assert response.status_code == 401


def test_an_events_write_token_is_403(client, db, org):
    response = client.get(URL, query_string={"unit": "Acme", **WINDOW}, headers=bearer(issue(db, "events:write")))
    assert response.status_code == 403
    assert response.get_json()["error"] == "insufficient_scope"


def test_a_read_token_gets_the_figures_of_the_unit_subtree(client, org, read_token):
    response = client.get(URL, query_string={"unit": "Acme/EMEA", **WINDOW}, headers=bearer(read_token))
    assert response.status_code == 200
    assert response.get_json() == {
        "unit": "Acme/EMEA", "start": "2024-05-01", "end": "2024-05-10",
        "licensed": 3, "active_users": 2, "adoption_rate": pytest.approx(2 / 3),
        "key_behaviours": {"activity_logged": pytest.approx(1 / 3), "opportunity_updated": pytest.approx(1 / 3)},
        # DAU/MAU, 1-10 May: 0, 1/1, 1/1, 0, 0, 0, 0, 0, 1/2, 0 (day 1 has MAU 0 and is skipped)
        "stickiness": pytest.approx(2.5 / 9),
        "breadth": pytest.approx(1.5), "depth": pytest.approx(8 / 2), "dormant": 1,
        "definitions_version": DEFINITIONS_VERSION,
    }


def test_a_read_token_sees_the_whole_organization_by_default(client, org, read_token):
    response = client.get(URL, query_string=WINDOW, headers=bearer(read_token))
    assert response.status_code == 200
    body = response.get_json()
    assert (body["unit"], body["licensed"], body["active_users"]) == ("Acme", 4, 3)


def test_a_manager_reads_their_own_subtree(client, org, login_as):
    login_as("manager", unit="Acme/EMEA")
    response = client.get(URL, query_string={"unit": NORTH, **WINDOW})
    assert response.status_code == 200
    assert response.get_json()["licensed"] == 2


def test_a_manager_without_a_unit_gets_their_own_unit(client, org, login_as):
    login_as("manager", unit="Acme/EMEA")
    response = client.get(URL, query_string=WINDOW)
    assert response.status_code == 200
    assert response.get_json()["unit"] == "Acme/EMEA"


def test_a_manager_asking_for_another_subtree_is_refused(client, org, login_as):
    login_as("manager", unit="Acme/EMEA")
    for unit in (EAST, "Acme"):
        response = client.get(URL, query_string={"unit": unit, **WINDOW})
        assert response.status_code == 403
        assert response.get_json()["error"] == "out_of_scope"


def test_an_employee_sees_no_aggregates(client, org, login_as):
    login_as("employee", unit=NORTH)
    response = client.get(URL, query_string={"unit": NORTH, **WINDOW})
    assert response.status_code == 403


def test_a_change_leader_session_sees_every_unit(client, org, login_as):
    login_as("change_leader")
    response = client.get(URL, query_string={"unit": EAST, **WINDOW})
    assert response.status_code == 200
    assert response.get_json()["active_users"] == 1


def test_a_bad_token_is_refused_even_with_a_session(client, org, login_as):
    login_as("change_leader")
    response = client.get(URL, query_string=WINDOW, headers=bearer("upt_00000000_nope"))
    assert response.status_code == 401


def test_the_service_refuses_a_unit_outside_the_scope(db, org):
    manager = make_user("manager", make_employee(NORTH))
    with pytest.raises(ScopeError):
        adoption_summary(scope_for(manager), make_unit(SOUTH), START, END, [], TODAY)


# --- the consistency header ---------------------------------------------------------------------

def test_consistency_header_is_the_latest_receipt_time(client, db, org, read_token):
    for n, received in enumerate([dt.datetime(2024, 5, 11, 6, 0), dt.datetime(2024, 5, 11, 7, 30, 15, 500)]):
        db.session.add(UsageEvent(event_id=f"e{n}", content_hash="0" * 64, occurred_at_raw="x",
                                  occurred_at=dt.datetime(2024, 5, 10), received_at=received,
                                  event_type="login", qualifying=True))
    db.session.commit()
    response = client.get(URL, query_string=WINDOW, headers=bearer(read_token))
    assert response.headers["X-Data-Consistent-Through"] == "2024-05-11T07:30:15Z"


def test_no_consistency_header_before_the_first_event(client, org, read_token):
    response = client.get(URL, query_string=WINDOW, headers=bearer(read_token))
    assert response.status_code == 200
    assert "X-Data-Consistent-Through" not in response.headers


# --- per-day attribution ---------------------------------------------------------------------------

def test_a_person_who_moves_counts_for_each_unit_on_the_days_they_were_in_it(db, org):
    ana = org["ana"]
    move_employee(ana, make_unit(SOUTH), dt.date(2024, 5, 6))
    db.session.add(usage(ana, dt.date(2024, 5, 8), "report_viewed", 5))
    leader = scope_for(make_user("change_leader"))
    north = adoption_summary(leader, make_unit(NORTH), START, END, [], TODAY)
    south = adoption_summary(leader, make_unit(SOUTH), START, END, [], TODAY)
    # North keeps ana's 2-3 May use but not her licence (she is in South on 10 May).
    assert (north["active_users"], north["licensed"], north["depth"]) == (1, 1, 4.0)
    assert north["adoption_rate"] == 0.0
    # South gets her 8 May use only, and her licence.
    assert (south["active_users"], south["licensed"], south["depth"]) == (2, 2, 4.5)
    assert south["breadth"] == 1.0 and south["adoption_rate"] == 1.0


def test_the_window_before_a_move_counts_in_the_old_unit_only(db, org):
    move_employee(org["ana"], make_unit(SOUTH), dt.date(2024, 5, 20))
    leader = scope_for(make_user("change_leader"))
    north = adoption_summary(leader, make_unit(NORTH), START, END, [], TODAY)
    south = adoption_summary(leader, make_unit(SOUTH), START, END, [], TODAY)
    assert (north["active_users"], north["licensed"]) == (1, 2)
    assert (south["active_users"], south["licensed"]) == (1, 1)


# --- validation ----------------------------------------------------------------------------------

@pytest.mark.parametrize("query, status, code", [
    ({"unit": "Acme/Nowhere"}, 404, "unknown_unit"),
    ({"unit": "Acme//EMEA"}, 400, "invalid_unit"),
    ({"start": "2024-05-11"}, 400, "invalid_window"),
    ({"start": "2024-13-01"}, 400, "invalid_date"),
    ({"end": "10/05/2024"}, 400, "invalid_date"),
    ({"start": ""}, 400, "missing_parameter"),
    ({"end": None}, 400, "missing_parameter"),
    ({"start": (END - dt.timedelta(days=MAX_WINDOW_DAYS)).isoformat()}, 400, "window_too_long"),
    ({"start": str(SOON - dt.timedelta(days=5)), "end": str(SOON)}, 400, "invalid_window"),
])
def test_invalid_requests_get_a_json_error(client, org, read_token, query, status, code):
    params = {"unit": "Acme", **WINDOW, **query}
    params = {k: v for k, v in params.items() if v is not None}
    response = client.get(URL, query_string=params, headers=bearer(read_token))
    assert response.status_code == status
    body = response.get_json()
    assert body["error"] == code and body["message"]


def test_a_window_of_366_days_is_allowed(client, org, read_token):
    start = END - dt.timedelta(days=MAX_WINDOW_DAYS - 1)
    response = client.get(URL, query_string={"start": start.isoformat(), "end": END.isoformat()},
                          headers=bearer(read_token))
    assert response.status_code == 200
