"""POST /api/v1/events: per-item results, idempotency, limits, clock skew, atomicity, identity."""
from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from adoption.models import UsageEvent
from adoption.telemetry import api as events_api
from adoption.telemetry import ingest, services
from adoption.telemetry.ingest import ParsedEvent, Rejection, judge_event, parse_batch
from adoption.tokens import issue_token
from tests.factories import make_employee

URL = "/api/v1/events"
RECEIVED = dt.datetime(2024, 5, 1, 12, 0, 0)  # naive UTC, as the columns hold it


@pytest.fixture
def token(db):
    """The plaintext of a live token with scope events:write."""
    _, plaintext = issue_token("connector", "events:write", created_by_id=None)
    db.session.commit()
    return plaintext


@pytest.fixture
def clock(monkeypatch):
    """Pin the time of receipt to RECEIVED."""
    monkeypatch.setattr(events_api, "received_now", lambda: RECEIVED)
    return RECEIVED


def event(n: int | str = 1, **fields) -> dict:
    """A valid event; ``fields`` override or (with None) remove keys."""
    value = {"event_id": f"evt-{n}", "occurred_at": "2024-05-01T09:30:00Z", "event_type": "record_updated",
             "object_type": "Opportunity", "client": "ui", "user_email": "ana@acme.example",
             "properties": {"record_id": "006xx"}}
    value.update(fields)
    return {k: v for k, v in value.items() if v is not None}


def post(client, token, events=None, *, body=None, sent_at=None, headers=None, content_type="application/json"):
    """POST a batch (JSON envelope unless ``body`` is given); returns the response."""
    if body is None:
        envelope = {"events": events}
        if sent_at is not None:
            envelope["sent_at"] = sent_at
        body = json.dumps(envelope).encode()
    all_headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type, **(headers or {})}
    return client.post(URL, data=body, headers=all_headers)


def ndjson(events) -> bytes:
    """The events as NDJSON, one per line."""
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


def stored(db) -> list[UsageEvent]:
    """Every stored event, fresh from the database, by event_id."""
    db.session.expire_all()
    return list(db.session.scalars(select(UsageEvent).order_by(UsageEvent.event_id)))


# --- accepted events ---------------------------------------------------------------------------

def test_valid_batch_is_accepted_and_stored_as_sent(client, db, token, clock):
    response = post(client, token, [event(1), event(2, occurred_at="2024-05-01T11:30:00.123456789+02:00")])
    assert response.status_code == 200
    assert response.get_json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    first, second = stored(db)
    assert first.occurred_at == dt.datetime(2024, 5, 1, 9, 30)
    assert second.occurred_at_raw == "2024-05-01T11:30:00.123456789+02:00"
    assert second.occurred_at == dt.datetime(2024, 5, 1, 9, 30, 0, 123456)
    assert (first.event_type, first.object_type, first.client) == ("record_updated", "Opportunity", "ui")
    assert first.properties == {"record_id": "006xx"}
    assert first.received_at == RECEIVED and first.qualifying is True and first.token_id is not None


@pytest.mark.parametrize("client_name, qualifying", [("ui", True), ("mobile", True), (None, True),
                                                     ("api", False), ("integration", False)])
def test_api_and_integration_traffic_is_stored_but_not_qualifying(client, db, token, client_name, qualifying):
    post(client, token, [event(client=client_name)])
    assert stored(db)[0].qualifying is qualifying


# --- rejections, one code per case ---------------------------------------------------------------

REJECTIONS = [
    ("not_an_object", ["evt"], "invalid_type", None),
    ("too_large", event(properties={"blob": "x" * 33_000}), "too_large", None),
    ("unknown_field", event(occured_at="2024-05-01T09:30:00Z"), "unknown_field", "occured_at"),
    ("missing_event_id", event(event_id=None), "missing_field", "event_id"),
    ("numeric_event_id", event(event_id=42), "invalid_type", "event_id"),
    ("empty_event_id", event(event_id=""), "invalid_event_id", "event_id"),
    ("long_event_id", event(event_id="x" * 129), "invalid_event_id", "event_id"),
    ("spaced_event_id", event(event_id=" evt-1"), "invalid_event_id", "event_id"),
    ("control_in_event_id", event(event_id="evt\x00"), "invalid_event_id", "event_id"),
    ("missing_occurred_at", event(occurred_at=None), "missing_field", "occurred_at"),
    ("numeric_occurred_at", event(occurred_at=1714555800), "invalid_type", "occurred_at"),
    ("garbage_time", event(occurred_at="yesterday"), "invalid_timestamp", "occurred_at"),
    ("time_without_offset", event(occurred_at="2024-05-01T09:30:00"), "invalid_timestamp", "occurred_at"),
    ("impossible_date", event(occurred_at="2024-02-30T09:30:00Z"), "invalid_timestamp", "occurred_at"),
    ("future", event(occurred_at="2024-05-02T11:00:01Z"), "future_timestamp", "occurred_at"),
    ("missing_event_type", event(event_type=None), "missing_field", "event_type"),
    ("list_event_type", event(event_type=["login"]), "invalid_type", "event_type"),
    ("long_event_type", event(event_type="x" * 65), "invalid_value", "event_type"),
    ("no_actor", event(user_email=None), "missing_field", "actor"),
    ("empty_actors", event(user_email="", crm_user_id=""), "missing_field", "actor"),
    ("numeric_actor", event(crm_user_id=5), "invalid_type", "crm_user_id"),
    ("nul_in_actor", event(crm_username="ana\x00"), "invalid_value", "crm_username"),
    ("unknown_client", event(client="desktop"), "unknown_client", "client"),
    ("numeric_client", event(client=1), "invalid_type", "client"),
    ("list_properties", event(properties=[1, 2]), "invalid_type", "properties"),
    ("deep_properties", event(properties=json.loads('{"a":' * 20 + "1" + "}" * 20)), "invalid_value", "properties"),
]


@pytest.mark.parametrize("value, code, field", [r[1:] for r in REJECTIONS], ids=[r[0] for r in REJECTIONS])
def test_each_rejection_code_is_reported_for_its_event(client, db, token, clock, value, code, field):
    response = post(client, token, [value])
    assert response.status_code == 200
    body = response.get_json()
    assert (body["accepted"], body["duplicates"]) == (0, 0)
    [rejection] = body["rejected"]
    assert (rejection["index"], rejection["code"], rejection["field"]) == (0, code, field)
    assert rejection["message"]
    expected_id = value.get("event_id") if isinstance(value, dict) and isinstance(value.get("event_id"), str) else None
    assert rejection["event_id"] == (None if expected_id is None else expected_id[:128])
    assert stored(db) == []


def test_every_documented_code_is_exercised():
    # invalid_json and conflict are exercised below; too_old in test_telemetry_retention.py.
    assert {r[2] for r in REJECTIONS} | {"invalid_json", "conflict", "too_old"} == set(ingest.REJECTION_CODES)


def test_mixed_batch_is_judged_per_item(client, db, token, clock):
    batch = [event(1), event(2, client="fax"), event(3), "junk", event(4, occurred_at="soon")]
    body = post(client, token, batch).get_json()
    assert body["accepted"] == 2
    assert [(r["index"], r["code"]) for r in body["rejected"]] == [
        (1, "unknown_client"), (3, "invalid_type"), (4, "invalid_timestamp")]
    assert [e.event_id for e in stored(db)] == ["evt-1", "evt-3"]


# --- idempotency -------------------------------------------------------------------------------

def test_resent_event_is_a_duplicate(client, db, token):
    post(client, token, [event(1), event(2)])
    body = post(client, token, [event(2), event(3)]).get_json()
    assert body == {"accepted": 1, "duplicates": 1, "rejected": []}
    assert len(stored(db)) == 3


def test_same_id_with_other_content_is_a_conflict_and_the_first_stays(client, db, token):
    post(client, token, [event(1, event_type="login")])
    body = post(client, token, [event(1, event_type="report_viewed")]).get_json()
    assert body["accepted"] == 0
    assert [(r["index"], r["event_id"], r["code"]) for r in body["rejected"]] == [(0, "evt-1", "conflict")]
    assert stored(db)[0].event_type == "login"


def test_repeats_inside_one_batch_are_duplicates_or_conflicts(client, db, token):
    body = post(client, token, [event(1), event(1), event(1, event_type="login"), event(2)]).get_json()
    assert (body["accepted"], body["duplicates"]) == (2, 1)
    assert [(r["index"], r["code"]) for r in body["rejected"]] == [(2, "conflict")]


def test_key_order_and_sent_at_do_not_change_identity(client, db, token):
    post(client, token, [event(1)], sent_at="2024-05-01T09:31:00Z")
    reordered = dict(reversed(list(event(1).items())))
    body = post(client, token, [reordered], sent_at="2024-05-01T09:45:00Z").get_json()
    assert body == {"accepted": 0, "duplicates": 1, "rejected": []}


def test_content_hash_is_sha256_of_the_canonical_json(client, db, token):
    value = event(1, properties={"b": "é", "a": [1, 2.5]})
    post(client, token, [value])
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert stored(db)[0].content_hash == hashlib.sha256(canonical).hexdigest()


def test_lost_race_is_judged_against_the_winner(client, db, token, monkeypatch):
    post(client, token, [event(1), event(2, event_type="login")])
    real = services._stored_hashes
    calls = []

    def blind_first_lookup(table, ids):
        calls.append(ids)
        return {} if len(calls) == 1 else real(table, ids)

    # The first lookup misses, as if another request committed these ids just after it.
    monkeypatch.setattr(services, "_stored_hashes", blind_first_lookup)
    body = post(client, token, [event(1), event(2), event(3)]).get_json()
    assert (body["accepted"], body["duplicates"]) == (1, 1)
    assert [(r["event_id"], r["code"]) for r in body["rejected"]] == [("evt-2", "conflict")]
    assert len(stored(db)) == 3


# --- atomicity ---------------------------------------------------------------------------------

@pytest.mark.parametrize("app_config", [{"PROPAGATE_EXCEPTIONS": False}])
def test_crash_mid_insert_stores_nothing_and_the_retry_converges(client, db, token, monkeypatch):
    batch = [event(i) for i in range(services.INSERT_CHUNK_ROWS + 10)]
    real = services._insert_chunk
    chunks = []

    def crash_on_second_chunk(table, rows):
        chunks.append(len(rows))
        if len(chunks) == 2:
            raise RuntimeError("simulated crash after the first chunk was inserted")
        return real(table, rows)

    monkeypatch.setattr(services, "_insert_chunk", crash_on_second_chunk)
    crashed = post(client, token, batch)
    assert crashed.status_code == 500 and crashed.get_json()["error"] == "internal_error"
    assert chunks == [services.INSERT_CHUNK_ROWS, 10]
    with db.engine.connect() as conn:  # another connection: what is really committed
        assert conn.scalar(select(func.count()).select_from(UsageEvent)) == 0

    monkeypatch.setattr(services, "_insert_chunk", real)
    assert post(client, token, batch).get_json() == {"accepted": len(batch), "duplicates": 0, "rejected": []}
    assert post(client, token, batch).get_json() == {"accepted": 0, "duplicates": len(batch), "rejected": []}


def test_batch_is_stored_with_a_constant_number_of_statements(app, client, db, token):
    make_employee(email="ana@acme.example", crm_user_id="005000000000001AAA")
    db.session.commit()
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement.split()[0].upper())

    sa_event.listen(db.engine, "before_cursor_execute", count)
    try:
        post(client, token, [event(i, crm_user_id=f"005000000000{i:03d}AAA") for i in range(300)])
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)
    # token lookup, last-used update, existing ids, roster keys, alias keys (identity resolution
    # tries the admins' CrmAlias rows after the roster, one query for the whole batch), the
    # retention watermark (telemetry/retention.py); one INSERT for the 300 rows, one upsert into
    # daily_usage and one into the rollup backlog
    assert statements.count("INSERT") == 3
    assert statements.count("SELECT") == 5


# --- formats and encodings ---------------------------------------------------------------------

def test_ndjson_body_is_accepted(client, db, token):
    response = post(client, token, body=ndjson([event(1), event(2)]) + b"\n\n", content_type="application/x-ndjson")
    assert response.get_json() == {"accepted": 2, "duplicates": 0, "rejected": []}


def test_ndjson_line_that_is_not_json_is_rejected_alone(client, db, token):
    body = json.dumps(event(1)).encode() + b"\n{not json\n" + b"\xff\xfe\n" + json.dumps(event(2)).encode()
    result = post(client, token, body=body, content_type="application/x-ndjson").get_json()
    assert result["accepted"] == 2
    assert [(r["index"], r["code"]) for r in result["rejected"]] == [(1, "invalid_json"), (2, "invalid_json")]


def test_ndjson_takes_sent_at_from_the_header(client, db, token, clock):
    post(client, token, body=ndjson([event(1)]), content_type="application/x-ndjson",
         headers={"X-Sent-At": "2024-05-01T13:00:00Z"})
    assert stored(db)[0].occurred_at == dt.datetime(2024, 5, 1, 8, 30)


def test_gzip_json_body_is_accepted(client, db, token):
    body = gzip.compress(json.dumps({"events": [event(1), event(2)]}).encode())
    response = post(client, token, body=body, headers={"Content-Encoding": "gzip"})
    assert response.get_json()["accepted"] == 2


def test_gzip_ndjson_body_is_accepted(client, db, token):
    body = gzip.compress(ndjson([event(1)]))
    response = post(client, token, body=body, content_type="application/x-ndjson", headers={"Content-Encoding": "gzip"})
    assert response.get_json()["accepted"] == 1


def test_broken_gzip_is_400(client, db, token):
    response = post(client, token, body=b"\x1f\x8b not really gzip", headers={"Content-Encoding": "gzip"})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_gzip"


@pytest.mark.parametrize("content_type, encoding, error", [
    ("text/plain", None, "unsupported_media_type"),
    ("application/json", "br", "unsupported_encoding"),
])
def test_unsupported_type_or_encoding_is_415(client, db, token, content_type, encoding, error):
    headers = {"Content-Encoding": encoding} if encoding else {}
    response = post(client, token, [event(1)], content_type=content_type, headers=headers)
    assert response.status_code == 415 and response.get_json()["error"] == error


@pytest.mark.parametrize("body, error", [
    (b"{", "invalid_json"), (b'{"events": [NaN]}', "invalid_json"), (b"[]", "invalid_body"),
    (b'{"events": {}}', "invalid_body"), (b'{"events": [], "extra": 1}', "invalid_body"),
    (b'{"events": [], "sent_at": "now"}', "invalid_sent_at"), (b'{"events": [], "sent_at": 5}', "invalid_sent_at"),
])
def test_malformed_envelope_is_400_and_stores_nothing(client, db, token, body, error):
    response = post(client, token, body=body)
    assert response.status_code == 400 and response.get_json()["error"] == error


# --- limits ------------------------------------------------------------------------------------

def _assert_413_with_limits(response, error):
    assert response.status_code == 413
    body = response.get_json()
    assert body["error"] == error
    assert body["limits"] == {"max_events": 1000, "max_body_bytes": 5 * 1024 * 1024, "max_event_bytes": 32 * 1024}


def test_more_than_1000_events_is_413(client, db, token):
    _assert_413_with_limits(post(client, token, [event(i) for i in range(1001)]), "too_many_events")
    assert stored(db) == []


def test_1000_events_are_taken(client, db, token):
    assert post(client, token, [event(i) for i in range(1000)]).get_json()["accepted"] == 1000


def test_more_than_1000_ndjson_lines_is_413(client, db, token):
    response = post(client, token, body=ndjson([event(i) for i in range(1001)]), content_type="application/x-ndjson")
    _assert_413_with_limits(response, "too_many_events")


def test_body_over_5_mb_is_413(client, db, token):
    body = json.dumps({"events": [event(1, properties={"pad": "x" * (5 * 1024 * 1024)})]}).encode()
    _assert_413_with_limits(post(client, token, body=body), "body_too_large")


def test_gzip_bomb_is_stopped_at_5_mb_and_is_413(client, db, token, monkeypatch):
    bomb = gzip.compress(b"[" + b" " * (200 * 1024 * 1024) + b"]", compresslevel=9)
    assert len(bomb) < 1024 * 1024
    produced = []
    real = ingest.gunzip_capped
    monkeypatch.setattr(ingest, "gunzip_capped", lambda data, limit: produced.append(limit) or real(data, limit))
    _assert_413_with_limits(post(client, token, body=bomb, headers={"Content-Encoding": "gzip"}), "body_too_large")
    assert produced == [5 * 1024 * 1024]


def test_gunzip_never_holds_more_than_the_limit_plus_one():
    bomb = gzip.compress(b"0" * (50 * 1024 * 1024))
    with pytest.raises(ingest.RequestError) as raised:
        ingest.gunzip_capped(bomb, 1024)
    assert raised.value.status == 413


def test_gunzip_reads_concatenated_members():
    assert ingest.gunzip_capped(gzip.compress(b"ab") + gzip.compress(b"cd"), 10) == b"abcd"


# --- clock skew --------------------------------------------------------------------------------

def test_clock_skew_is_corrected_from_sent_at(client, db, token, clock):
    # The sender's clock is 2 h 30 min fast: it says 14:30 when we receive at 12:00.
    post(client, token, [event(1, occurred_at="2024-05-01T14:00:00Z")], sent_at="2024-05-01T14:30:00Z")
    row = stored(db)[0]
    assert row.occurred_at_raw == "2024-05-01T14:00:00Z"
    assert row.occurred_at == dt.datetime(2024, 5, 1, 11, 30)


def test_slow_sender_clock_is_corrected_forward(client, db, token, clock):
    post(client, token, [event(1, occurred_at="2024-05-01T07:59:30-02:00")], sent_at="2024-05-01T09:59:50-02:00")
    # sent_at is 11:59:50 UTC against 12:00:00 received: 10 s slow, so 09:59:30 UTC + 10 s.
    assert stored(db)[0].occurred_at == dt.datetime(2024, 5, 1, 9, 59, 40)


def test_without_sent_at_the_time_is_stored_as_sent(client, db, token, clock):
    post(client, token, [event(1, occurred_at="2024-05-01T14:00:00+01:00")])
    assert stored(db)[0].occurred_at == dt.datetime(2024, 5, 1, 13, 0)


def test_future_limit_is_23_hours_after_correction(client, db, token, clock):
    body = post(client, token, [event(1, occurred_at="2024-05-02T11:00:00Z"),
                                event(2, occurred_at="2024-05-02T11:00:01Z")]).get_json()
    assert body["accepted"] == 1
    assert [(r["index"], r["code"]) for r in body["rejected"]] == [(1, "future_timestamp")]


def test_fast_sender_clock_is_corrected_before_the_future_check(client, db, token, clock):
    # 30 h ahead of our clock, but the sender's clock runs 10 h fast: really 20 h ahead.
    body = post(client, token, [event(1, occurred_at="2024-05-02T18:00:00Z")], sent_at="2024-05-01T22:00:00Z").get_json()
    assert body["accepted"] == 1
    assert stored(db)[0].occurred_at == dt.datetime(2024, 5, 2, 8, 0)


# --- identity resolution -----------------------------------------------------------------------

def test_actor_is_resolved_to_the_employee_by_each_key(client, db, token):
    by_email = make_employee(email="ana@acme.example")
    by_username = make_employee(crm_username="bo@acme.my.salesforce.com")
    by_long_id = make_employee(crm_user_id="005Aa000001xYzQIAU")
    by_short_id = make_employee(crm_user_id="005Bb000002aBcD")
    db.session.commit()
    post(client, token, [
        event("email", user_email="Ana@ACME.example"),
        event("username", user_email=None, crm_username="BO@acme.my.salesforce.com"),
        event("long-long", user_email=None, crm_user_id="005Aa000001xYzQIAU"),
        event("short-to-long", user_email=None, crm_user_id="005Aa000001xYzQ"),
        event("long-to-short", user_email=None, crm_user_id="005Bb000002aBcDAAA"),
        event("other-case", user_email=None, crm_user_id="005aa000001xYzQ"),
        event("nobody", user_email="who@elsewhere.example"),
    ])
    resolved = {e.event_id: e.employee_id for e in stored(db)}
    assert resolved == {
        "evt-email": by_email.id, "evt-username": by_username.id, "evt-long-long": by_long_id.id,
        "evt-short-to-long": by_long_id.id, "evt-long-to-short": by_short_id.id,
        "evt-other-case": None, "evt-nobody": None,
    }


def test_unmatched_event_keeps_its_actor_keys(client, db, token):
    post(client, token, [event(1, user_email="Who@Elsewhere.example", crm_user_id="005Zz000009zzzz")])
    row = stored(db)[0]
    assert (row.employee_id, row.user_email, row.crm_user_id) == (None, "Who@Elsewhere.example", "005Zz000009zzzz")


def test_crm_user_id_wins_over_email(client, db, token):
    by_id = make_employee(crm_user_id="005Cc000003dEfG")
    make_employee(email="cy@acme.example")
    db.session.commit()
    post(client, token, [event(1, user_email="cy@acme.example", crm_user_id="005Cc000003dEfG")])
    assert stored(db)[0].employee_id == by_id.id


# --- awkward content survives both databases ---------------------------------------------------

def test_nul_and_lone_surrogate_in_properties_are_stored(client, db, token):
    body = b'{"events": [' + json.dumps(event(1, properties={"note": "a"})).encode().replace(
        b'"a"', b'"a\\u0000b\\ud800c"') + b"]}"
    assert post(client, token, body=body).get_json()["accepted"] == 1
    assert stored(db)[0].properties == {"note": "a\x00b\ud800c"}


def test_lone_surrogate_in_a_column_field_is_rejected(client, db, token):
    body = json.dumps({"events": [event(1, event_type="x")]}).encode().replace(b'"x"', b'"\\udc00"')
    [rejection] = post(client, token, body=body).get_json()["rejected"]
    assert (rejection["code"], rejection["field"]) == ("invalid_value", "event_type")


# --- rate limit --------------------------------------------------------------------------------

RATE_LIMITED = pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "EVENTS_RATE_LIMIT": "2 per minute"}])


@RATE_LIMITED
def test_rate_limit_answers_429_with_retry_after(client, db, token):
    assert post(client, token, [event(1)]).status_code == 200
    assert post(client, token, [event(2)]).status_code == 200
    response = post(client, token, [event(3)])
    assert response.status_code == 429
    assert response.get_json()["error"] == "rate_limited"
    # Rounded up, so a client that waits that long is never early: at most the window plus 1 s.
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    assert [e.event_id for e in stored(db)] == ["evt-1", "evt-2"]


@RATE_LIMITED
def test_rate_limit_is_counted_per_token(client, db, token):
    for n in range(3):
        post(client, token, [event(n)])
    _, other = issue_token("second connector", "events:write", created_by_id=None)
    db.session.commit()
    assert post(client, other, [event(9)]).status_code == 200


# --- the parser never raises on any event --------------------------------------------------------

def _containers(children):
    """JSON arrays and objects of ``children``."""
    return st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    _containers, max_leaves=20,
)
field_values = st.one_of(json_values, st.sampled_from(["", " x", "2024-05-01T09:30:00Z", "9999-12-31T23:59:59-23:59",
                                                       "0001-01-01T00:00:00+23:59", "ui", "api", "x" * 200]))
event_like = st.dictionaries(st.sampled_from(sorted(ingest.FIELDS) + ["extra"]), field_values, max_size=10)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.one_of(json_values, event_like),
       skew_seconds=st.one_of(st.none(), st.integers(min_value=-10**9, max_value=10**9)))
def test_no_json_value_makes_the_event_parser_raise(value, skew_seconds):
    skew = None if skew_seconds is None else dt.timedelta(seconds=skew_seconds)
    verdict = judge_event(0, value, RECEIVED, skew)
    assert isinstance(verdict, ParsedEvent | Rejection)
    if isinstance(verdict, Rejection):
        assert verdict.code in ingest.REJECTION_CODES


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(st.one_of(st.binary(max_size=40), json_values.map(lambda v: json.dumps(v).encode())), max_size=20))
def test_no_ndjson_body_makes_the_batch_parser_raise(lines):
    batch = parse_batch(b"\n".join(lines), "application/x-ndjson", None, RECEIVED)
    assert all(r.code in ingest.REJECTION_CODES for r in batch.rejected)
