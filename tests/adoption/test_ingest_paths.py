"""The fast paths of event storage: raw-driver inserts, the PostgreSQL staging table, the
one-statement ``daily_usage`` upsert and the SQLite connection settings."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text

from adoption import create_app
from adoption.extensions import db as _db
from adoption.models import DailyUsage, UsageEvent
from adoption.telemetry import services
from adoption.telemetry.ingest import Batch, judge_event
from adoption.telemetry.services import store_batch
from tests.factories import make_employee

RECEIVED = dt.datetime(2024, 5, 1, 12, 0, 0)


def batch_of(values) -> Batch:
    """A judged batch of valid event values."""
    return Batch(events=[judge_event(i, value, RECEIVED, None) for i, value in enumerate(values)])


def event(n: int, **fields) -> dict:
    """A valid event of ana's; ``fields`` override or (with None) remove keys."""
    value = {"event_id": f"evt-{n}", "occurred_at": "2024-05-01T09:30:00Z", "event_type": "record_updated",
             "client": "ui", "user_email": "ana@acme.example"}
    value.update(fields)
    return {k: v for k, v in value.items() if v is not None}


@pytest.fixture
def ana(db):
    employee = make_employee(email="ana@acme.example", crm_user_id="005000000000001AAA")
    db.session.commit()
    return employee


def daily_counts(db) -> dict:
    return {(row.day, row.employee_id, row.event_type): row.events
            for row in db.session.execute(select(DailyUsage.__table__))}


def test_several_batches_in_one_transaction_are_judged_each_against_the_last(db, ana):
    # More rows than one insert chunk, twice in the same transaction: on PostgreSQL the staging
    # table must be empty again for each chunk and each batch.
    first = [event(i) for i in range(services.INSERT_CHUNK_ROWS + 7)]
    assert store_batch(batch_of(first), None, RECEIVED).accepted == len(first)
    second = batch_of([event(i) for i in range(services.INSERT_CHUNK_ROWS, services.INSERT_CHUNK_ROWS + 20)])
    result = store_batch(second, None, RECEIVED)
    db.session.commit()

    assert (result.accepted, result.duplicates) == (13, 7)
    assert db.session.scalar(select(text("count(*)")).select_from(UsageEvent)) == len(first) + 13
    assert daily_counts(db) == {(dt.date(2024, 5, 1), ana.id, "record_updated"): len(first) + 13}


def test_a_rolled_back_batch_leaves_nothing_and_the_next_one_stores(db, ana):
    store_batch(batch_of([event(1), event(2)]), None, RECEIVED)
    db.session.rollback()  # on PostgreSQL this also drops a staging table created in the transaction

    result = store_batch(batch_of([event(1), event(3)]), None, RECEIVED)
    db.session.commit()

    assert (result.accepted, result.duplicates) == (2, 0)
    assert sorted(db.session.scalars(select(UsageEvent.event_id))) == ["evt-1", "evt-3"]


@pytest.mark.parametrize("app_config", [{"ORG_TIMEZONE": "Europe/Berlin"}])
def test_daily_usage_upsert_adds_to_existing_rows_and_skips_machine_and_unmatched_events(db, ana):
    store_batch(batch_of([event(1), event(2, event_type="login")]), None, RECEIVED)
    db.session.commit()
    store_batch(batch_of([
        event(3), event(4, client="integration"), event(5, user_email="nobody@elsewhere.example"),
        event(6, occurred_at="2024-04-30T22:30:00Z"),  # 1 May, 00:30 in Berlin
        event(7, occurred_at="2024-05-01T22:30:00Z"),  # 2 May in Berlin
    ]), None, RECEIVED)
    db.session.commit()

    assert daily_counts(db) == {(dt.date(2024, 5, 1), ana.id, "record_updated"): 3,
                                (dt.date(2024, 5, 1), ana.id, "login"): 1,
                                (dt.date(2024, 5, 2), ana.id, "record_updated"): 1}


def test_stored_values_read_back_as_sent(db, ana):
    store_batch(batch_of([event(1, properties={"b": [1, 2.5], "a": "é"}, object_type="Opportunity"),
                          event(2, client=None)]), None, RECEIVED)
    db.session.commit()

    first, second = db.session.scalars(select(UsageEvent).order_by(UsageEvent.event_id)).all()
    assert first.properties == {"b": [1, 2.5], "a": "é"}
    assert first.occurred_at == dt.datetime(2024, 5, 1, 9, 30) and first.received_at == RECEIVED
    assert (first.object_type, first.client, first.qualifying, first.employee_id) == ("Opportunity", "ui", True, ana.id)
    assert second.properties is None and second.client is None and second.qualifying is True
    # What the raw-driver insert wrote compares like what SQLAlchemy writes (dates as text on SQLite).
    assert db.session.scalar(select(UsageEvent.event_id).where(
        UsageEvent.occurred_at >= dt.datetime(2024, 5, 1, 9, 30), UsageEvent.event_id == "evt-1")) == "evt-1"


def test_sqlite_connections_use_wal_without_a_sync_per_commit(tmp_path):
    # An app of its own on a SQLite file, whatever database the suite runs on.
    app = create_app({"ENV": "testing", "SECRET_KEY": "test", "INSTANCE_PATH": str(tmp_path),
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'wal.db'}"})
    with app.app_context(), _db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
