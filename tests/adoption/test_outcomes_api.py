"""POST /api/v1/outcomes: authentication, per-item results, idempotency, limits, atomicity."""
from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest
from sqlalchemy import func, select

from adoption import outcomes, outcomes_api
from adoption.models import OutcomeMeasure
from adoption.tokens import issue_token, revoke_token
from tests.adoption import outcomes_app
from tests.adoption.test_outcomes import JUDGE_REJECTIONS
from tests.factories import make_unit

# One app per module, emptied before each test (see tests/adoption/outcomes_app.py).
app, module_app = outcomes_app.app, outcomes_app.module_app

URL = "/api/v1/outcomes"
RECEIVED = dt.datetime(2024, 5, 1, 12, 0, 0)
TEAM = "Acme/EMEA/Sales North"


@pytest.fixture
def token(db):
    """The plaintext of a live token with scope outcomes:write; the team TEAM exists."""
    make_unit(TEAM)
    _, plaintext = issue_token("bi export", "outcomes:write", created_by_id=None)
    db.session.commit()
    return plaintext


@pytest.fixture
def clock(monkeypatch):
    """Pin the time of receipt to RECEIVED."""
    monkeypatch.setattr(outcomes_api, "received_now", lambda: RECEIVED)
    return RECEIVED


def outcome(month: int = 1, **fields) -> dict:
    """A valid outcome: CSAT of TEAM for ``month`` of 2024; ``fields`` override or (with None) remove keys."""
    start = dt.date(2024, month, 1)
    value = {"unit": TEAM, "metric": "csat", "period_start": start.isoformat(),
             "period_end": outcomes._month_end(start).isoformat(), "value": 82.5, "responses": 140}
    value.update(fields)
    return {k: v for k, v in value.items() if v is not None}


def post(client, token, items=None, *, body=None, headers=None, content_type="application/json"):
    """POST ``{"outcomes": items}`` (or ``body`` as is) with the token; returns the response."""
    if body is None:
        body = json.dumps({"outcomes": items}).encode()
    all_headers = {"Content-Type": content_type, **(headers or {})}
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    return client.post(URL, data=body, headers=all_headers)


def stored(db) -> list[OutcomeMeasure]:
    """Every stored outcome, fresh from the database, by period."""
    db.session.expire_all()
    return list(db.session.scalars(select(OutcomeMeasure).order_by(OutcomeMeasure.period_start, OutcomeMeasure.id)))


def committed_count(db) -> int:
    """Outcomes really committed, seen from another connection."""
    with db.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(OutcomeMeasure))


# --- authentication ----------------------------------------------------------------------------

def test_no_token_is_401_with_a_bearer_challenge(client, db, token):
    response = post(client, None, [outcome()])
    assert response.status_code == 401 and response.get_json()["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="uptake"'
    assert stored(db) == []


def test_unknown_or_revoked_token_is_401_invalid_token(client, db, token):
    assert post(client, token + "x", [outcome()]).status_code == 401
    revoked, plaintext = issue_token("old export", "outcomes:write", created_by_id=None)
    revoke_token(revoked.id)
    db.session.commit()
    response = post(client, plaintext, [outcome()])
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert stored(db) == []


def test_token_of_another_scope_is_403(client, db, token):
    for scope in ("events:write", "read"):
        _, plaintext = issue_token(f"{scope} token", scope, created_by_id=None)
        db.session.commit()
        response = post(client, plaintext, [outcome()])
        assert response.status_code == 403 and response.get_json()["error"] == "insufficient_scope"
        assert "outcomes:write" in response.headers["WWW-Authenticate"]
    assert stored(db) == []


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_the_endpoint_needs_a_token_but_no_csrf_token(client, db, token):
    assert post(client, token, [outcome()]).status_code == 200


# --- per-item results --------------------------------------------------------------------------

def test_valid_outcomes_are_accepted_and_stored_as_sent(client, db, token, clock):
    quarter = outcome(metric="nps", value=-12, responses=None, period_end="2024-03-31")
    response = post(client, token, [outcome(), quarter, outcome(unit="Acme/EMEA", metric="retention", value=91)])
    assert response.status_code == 200
    assert response.get_json() == {"accepted": 3, "duplicates": 0, "rejected": []}
    csat, nps, retention = stored(db)
    assert (csat.unit.path, csat.value, csat.responses, csat.source) == (TEAM, 82.5, 140, "api")
    assert csat.token_id is not None and csat.created_at == RECEIVED == csat.updated_at
    assert (nps.value, nps.responses, nps.period_end) == (-12.0, None, dt.date(2024, 3, 31))
    assert retention.unit.path == "Acme/EMEA"  # a region's value, kept at the region's level


def test_mixed_request_is_judged_per_item(client, db, token):
    items = [outcome(1), outcome(2, period_start="2024-02-10"), "junk", outcome(3, unit="Acme/APAC"),
             outcome(4, metric="nps", value=140), outcome(5)]
    body = post(client, token, items).get_json()
    assert (body["accepted"], body["duplicates"]) == (2, 0)
    assert [(r["index"], r["code"], r["field"]) for r in body["rejected"]] == [
        (1, "invalid_period", "period_start"), (2, "invalid_type", None), (3, "unknown_unit", "unit"),
        (4, "invalid_value", "value")]
    assert all(set(r) == {"index", "code", "field", "message"} and r["message"] for r in body["rejected"])
    assert [r.period_start.month for r in stored(db)] == [1, 5]


BAD_PERIODS = [r for r in JUDGE_REJECTIONS if r[2] in ("invalid_period", "invalid_date")]


def test_bad_periods_are_each_rejected_and_store_nothing(client, db, token):
    body = post(client, token, [r[1] for r in BAD_PERIODS]).get_json()
    assert (body["accepted"], body["duplicates"]) == (0, 0)
    assert [(r["index"], r["code"], r["field"]) for r in body["rejected"]] == [
        (index, code, field) for index, (_, _, code, field) in enumerate(BAD_PERIODS)]
    assert stored(db) == []


def test_unknown_unit_is_rejected(client, db, token):
    body = post(client, token, [outcome(unit="Acme/APAC/Sales East")]).get_json()
    assert body["accepted"] == 0
    [rejection] = body["rejected"]
    assert (rejection["code"], rejection["field"]) == ("unknown_unit", "unit")
    assert "Acme/APAC/Sales East" in rejection["message"]


def test_every_documented_code_is_exercised():
    exercised = {r[2] for r in JUDGE_REJECTIONS} | {"unknown_unit", "conflict"}
    assert exercised == set(outcomes.REJECTION_CODES)


# --- idempotency -------------------------------------------------------------------------------

def test_resent_outcome_is_a_duplicate(client, db, token):
    post(client, token, [outcome(1), outcome(2)])
    body = post(client, token, [outcome(2), outcome(3)]).get_json()
    assert body == {"accepted": 1, "duplicates": 1, "rejected": []}
    assert len(stored(db)) == 3


def test_other_content_for_the_same_key_is_a_conflict_and_the_first_stays(client, db, token):
    post(client, token, [outcome(1, value=82.5)])
    body = post(client, token, [outcome(1, value=79)]).get_json()
    assert body["accepted"] == 0
    assert [(r["index"], r["code"], r["field"]) for r in body["rejected"]] == [(0, "conflict", "value")]
    assert [r.value for r in stored(db)] == [82.5]


def test_replace_true_corrects_the_stored_value(client, db, token, clock):
    post(client, token, [outcome(1, value=82.5)])
    body = post(client, token, [outcome(1, value=79, replace=True)]).get_json()
    assert body == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert [r.value for r in stored(db)] == [79.0]


# --- request-level errors and limits -----------------------------------------------------------

def _assert_413_with_limits(response, error):
    assert response.status_code == 413
    body = response.get_json()
    assert body["error"] == error
    assert body["limits"] == {"max_outcomes": 1000, "max_body_bytes": 5 * 1024 * 1024}


def test_more_than_1000_outcomes_is_413_and_stores_nothing(client, db, token):
    response = post(client, token, [outcome(1, metric=f"m{i}", value=i) for i in range(1001)])
    _assert_413_with_limits(response, "too_many_outcomes")
    assert stored(db) == []


def test_1000_outcomes_are_taken(client, db, token):
    body = post(client, token, [outcome(1, metric=f"m{i}", value=i) for i in range(1000)]).get_json()
    assert body == {"accepted": 1000, "duplicates": 0, "rejected": []}


def test_body_over_5_mb_is_413_with_the_outcome_limits(client, db, token):
    body = json.dumps({"outcomes": [outcome(unit="x" * (5 * 1024 * 1024))]}).encode()
    _assert_413_with_limits(post(client, token, body=body), "body_too_large")


def test_gzip_body_is_accepted(client, db, token):
    body = gzip.compress(json.dumps({"outcomes": [outcome()]}).encode())
    response = post(client, token, body=body, headers={"Content-Encoding": "gzip"})
    assert response.get_json() == {"accepted": 1, "duplicates": 0, "rejected": []}


MALFORMED = [
    (b"{", "invalid_json"), (b'{"outcomes": [NaN]}', "invalid_json"), (b"[]", "invalid_body"),
    (b'{"outcomes": {}}', "invalid_body"), (b'{"outcomes": [], "sent_at": "2024-05-01T12:00:00Z"}', "invalid_body"),
]


def test_malformed_envelope_is_400_and_stores_nothing(client, db, token):
    for body, error in MALFORMED:
        response = post(client, token, body=body)
        assert (response.status_code, response.get_json()["error"]) == (400, error), body
    assert stored(db) == []


def test_a_body_that_is_not_json_is_415(client, db, token):
    response = post(client, token, body=b"unit,metric\n", content_type="text/csv")
    assert response.status_code == 415 and response.get_json()["error"] == "unsupported_media_type"


# --- atomicity ---------------------------------------------------------------------------------

@pytest.mark.parametrize("app_config", [{"PROPAGATE_EXCEPTIONS": False}])
def test_crash_mid_insert_stores_nothing_and_the_retry_converges(client, db, token, monkeypatch):
    items = [outcome(1, metric=f"m{i}", value=i) for i in range(outcomes.INSERT_CHUNK_ROWS + 10)]
    real = outcomes._insert_chunk
    chunks = []

    def crash_on_second_chunk(table, values):
        chunks.append(len(values))
        if len(chunks) == 2:
            raise RuntimeError("simulated crash after the first chunk was inserted")
        return real(table, values)

    monkeypatch.setattr(outcomes, "_insert_chunk", crash_on_second_chunk)
    crashed = post(client, token, items)
    assert crashed.status_code == 500 and crashed.get_json()["error"] == "internal_error"
    assert chunks == [outcomes.INSERT_CHUNK_ROWS, 10]
    assert committed_count(db) == 0

    monkeypatch.setattr(outcomes, "_insert_chunk", real)
    assert post(client, token, items).get_json() == {"accepted": len(items), "duplicates": 0, "rejected": []}
    assert post(client, token, items).get_json() == {"accepted": 0, "duplicates": len(items), "rejected": []}


@pytest.mark.parametrize("app_config", [{"PROPAGATE_EXCEPTIONS": False}])
def test_crash_while_replacing_undoes_the_new_outcomes_of_the_request(client, db, token, monkeypatch):
    post(client, token, [outcome(1, value=82.5)])

    def crash(*args):
        raise RuntimeError("simulated crash after the inserts, during the replacement")

    monkeypatch.setattr(outcomes, "_update", crash)
    crashed = post(client, token, [outcome(2), outcome(3), outcome(1, value=79, replace=True)])
    assert crashed.status_code == 500
    assert committed_count(db) == 1
    assert [r.value for r in stored(db)] == [82.5]


# --- rate limit --------------------------------------------------------------------------------

@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "OUTCOMES_RATE_LIMIT": "2 per minute"}])
def test_rate_limit_is_per_token_and_answers_429_with_retry_after(client, db, token):
    assert post(client, token, [outcome(1)]).status_code == 200
    assert post(client, token, [outcome(2)]).status_code == 200
    response = post(client, token, [outcome(3)])
    assert response.status_code == 429 and response.get_json()["error"] == "rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    _, other = issue_token("second export", "outcomes:write", created_by_id=None)
    db.session.commit()
    assert post(client, other, [outcome(3)]).status_code == 200
    assert [r.period_start.month for r in stored(db)] == [1, 2, 3]


# --- the description ---------------------------------------------------------------------------

def test_openapi_describes_the_endpoint_with_the_limits_and_codes_it_enforces(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["paths"]["/outcomes"]["post"]["security"] == [{"bearer": []}]
    schemas = document["components"]["schemas"]
    assert schemas["OutcomeLimits"]["properties"]["max_outcomes"]["const"] == 1000
    assert schemas["OutcomeBatch"]["properties"]["outcomes"]["maxItems"] == 1000
    assert schemas["OutcomeRejection"]["properties"]["code"]["enum"] == list(outcomes.REJECTION_CODES)
