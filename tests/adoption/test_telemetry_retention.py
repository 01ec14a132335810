"""Raw telemetry retention: the purge deletes old raw events and keeps their rollups, ingest
refuses events it could no longer deduplicate, and a rebuild never recounts purged days."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adoption.config import load_settings
from adoption.models import DailyUsage, Employee, EventImport, RawEventPurge, UsageEvent
from adoption.telemetry import api as events_api
from adoption.telemetry import retention
from adoption.telemetry.identity import map_actor
from adoption.telemetry.retention import begin_purge
from tests.factories import make_employee

TODAY = dt.date(2024, 6, 30)
RECEIVED = dt.datetime(2024, 6, 30, 12, 0)  # naive UTC, as the columns hold it
KEEP = 30  # days: the horizon as of TODAY is 31 May
HORIZON = TODAY - dt.timedelta(days=KEEP)


@pytest.fixture(autouse=True)
def received_at_noon(monkeypatch):
    """Every event sent to the API (the ``send`` fixture) is received at RECEIVED."""
    monkeypatch.setattr(events_api, "received_now", lambda: RECEIVED)


def event(n: int, day: dt.date, hour: int = 9, **actor) -> dict:
    """A valid event on ``day`` (UTC) by ``actor`` (default: an unknown e-mail)."""
    return {"event_id": f"evt-{n}", "occurred_at": f"{day.isoformat()}T{hour:02d}:30:00Z",
            "event_type": "record_updated", **(actor or {"user_email": "nobody@acme.example"})}


def purge(app, today: dt.date = TODAY):
    """Run ``flask purge-telemetry --today``; returns the CLI result."""
    result = app.test_cli_runner().invoke(args=["purge-telemetry", "--today", today.isoformat()])
    assert result.exit_code == 0, result.output
    return result


def stored_ids(db) -> list[str]:
    db.session.expire_all()
    return sorted(db.session.scalars(select(UsageEvent.event_id)))


def daily(db, employee) -> dict[dt.date, int]:
    db.session.expire_all()
    return dict(db.session.execute(select(DailyUsage.day, DailyUsage.events)
                                   .where(DailyUsage.employee_id == employee.id)).all())


# --- the setting -------------------------------------------------------------------------------

def test_raw_events_are_kept_forever_by_default():
    assert load_settings(environ={})["TELEMETRY_RETENTION_DAYS"] == 0


@pytest.mark.parametrize("raw", ["29", "-1", "ninety"])
def test_a_retention_shorter_than_30_days_or_not_a_number_is_refused_at_start(raw):
    with pytest.raises(ValueError, match="TELEMETRY_RETENTION_DAYS"):
        load_settings(environ={"UPTAKE_TELEMETRY_RETENTION_DAYS": raw})


def test_a_retention_of_30_days_or_more_is_taken_from_the_environment():
    assert load_settings(environ={"UPTAKE_TELEMETRY_RETENTION_DAYS": "400"})["TELEMETRY_RETENTION_DAYS"] == 400


# --- ingest ------------------------------------------------------------------------------------

def test_without_retention_an_old_event_is_accepted(app, db, send):
    body = send(event(1, TODAY - dt.timedelta(days=900)))
    assert body["accepted"] == 1


def test_an_event_before_the_horizon_is_rejected_too_old_and_one_on_it_is_taken(app, db, send):
    app.config["TELEMETRY_RETENTION_DAYS"] = KEEP
    body = send(event(1, HORIZON - dt.timedelta(days=1), hour=23), event(2, HORIZON, hour=0))
    assert body["accepted"] == 1
    [rejection] = body["rejected"]
    assert (rejection["index"], rejection["event_id"], rejection["code"], rejection["field"]) == (
        0, "evt-1", "too_old", "occurred_at")
    assert "2024-05-31T00:00:00Z" in rejection["message"]
    assert stored_ids(db) == ["evt-2"]


def test_the_horizon_is_a_day_of_the_organizations_time_zone(app, db, send):
    app.config.update(TELEMETRY_RETENTION_DAYS=KEEP, ORG_TIMEZONE="America/New_York")
    # 31 May begins at 04:00 UTC in New York (EDT): 03:30 UTC is still 30 May there.
    body = send(event(1, HORIZON, hour=3), event(2, HORIZON, hour=4))
    assert [r["event_id"] for r in body["rejected"]] == ["evt-1"]
    assert stored_ids(db) == ["evt-2"]


def test_an_old_event_still_stored_comes_back_as_a_duplicate_not_too_old(app, db, send):
    send(event(1, HORIZON - dt.timedelta(days=5)))  # taken while raw events were kept forever
    app.config["TELEMETRY_RETENTION_DAYS"] = KEEP
    assert send(event(1, HORIZON - dt.timedelta(days=5))) == {"accepted": 0, "duplicates": 1, "rejected": []}


def test_after_a_purge_raising_the_retention_does_not_reopen_the_purged_days(app, db, send):
    app.config["TELEMETRY_RETENTION_DAYS"] = KEEP
    send(event(1, HORIZON - dt.timedelta(days=3)))  # refused, and...
    app.config["TELEMETRY_RETENTION_DAYS"] = 0
    send(event(2, HORIZON - dt.timedelta(days=3)))  # ...taken once the setting is off
    app.config["TELEMETRY_RETENTION_DAYS"] = KEEP
    purge(app)
    assert stored_ids(db) == []
    # Raised afterwards: evt-2 was purged, so taking it again would count it twice in daily_usage.
    app.config["TELEMETRY_RETENTION_DAYS"] = 365
    body = send(event(2, HORIZON - dt.timedelta(days=3)), event(3, HORIZON))
    assert [(r["event_id"], r["code"]) for r in body["rejected"]] == [("evt-2", "too_old")]
    assert stored_ids(db) == ["evt-3"]


def test_a_file_import_reports_each_too_old_row_with_its_line(app, db, tmp_path, monkeypatch):
    app.config["TELEMETRY_RETENTION_DAYS"] = KEEP
    monkeypatch.setattr("adoption.telemetry.fileimport.utcnow", lambda: RECEIVED)
    lines = [event(1, HORIZON - dt.timedelta(days=40)), event(2, TODAY), event(3, HORIZON - dt.timedelta(days=1))]
    path = tmp_path / "events.ndjson"
    path.write_text("".join(json.dumps(e) + "\n" for e in lines))
    rejects = tmp_path / "rejects.csv"
    result = app.test_cli_runner().invoke(args=["ingest-events", str(path), "--format", "ndjson",
                                                "--rejects", str(rejects)])
    assert result.exit_code == 0, result.output
    assert "accepted=1 duplicates=0 rejected=2" in result.output
    rows = rejects.read_text().splitlines()
    assert len(rows) == 3 and all("too_old" in row for row in rows[1:])
    assert [row.split(",")[0] for row in rows[1:]] == ["1", "3"]


# --- the purge ---------------------------------------------------------------------------------

def test_the_purge_does_nothing_when_raw_events_are_kept_forever(app, db, send):
    send(event(1, TODAY - dt.timedelta(days=900)))
    result = purge(app)
    assert "raw events are kept, nothing to purge" in result.output
    assert stored_ids(db) == ["evt-1"]
    assert db.session.scalar(select(func.count()).select_from(RawEventPurge)) == 0


def test_the_purge_deletes_raw_events_before_the_horizon_and_keeps_their_rollups(app, db, send):
    ana = make_employee(email="ana@acme.example")
    db.session.commit()
    send(event(1, HORIZON - dt.timedelta(days=10), user_email="ana@acme.example"),
         event(2, HORIZON - dt.timedelta(days=1), hour=23, user_email="ana@acme.example"),
         event(3, HORIZON - dt.timedelta(days=2)),  # unmatched
         event(4, HORIZON, hour=0, user_email="ana@acme.example"),
         event(5, TODAY, user_email="ana@acme.example"))
    rollups_before = daily(db, ana)
    app.config["TELEMETRY_RETENTION_DAYS"] = KEEP
    result = purge(app)
    assert f"purged: events=3 unmatched=1 files=0 before={HORIZON.isoformat()}" in result.output
    assert stored_ids(db) == ["evt-4", "evt-5"]
    assert daily(db, ana) == rollups_before and len(rollups_before) == 4
    run = db.session.scalar(select(RawEventPurge))
    assert (run.purged_before, run.retention_days, run.events_deleted, run.unmatched_deleted) == (HORIZON, KEEP, 3, 1)
    assert run.finished_at is not None


def test_a_second_purge_the_same_day_deletes_nothing_more(app, db, send):
    send(event(1, HORIZON - dt.timedelta(days=1)), event(2, TODAY))
    app.config["TELEMETRY_RETENTION_DAYS"] = KEEP
    purge(app)
    assert "purged: events=0 unmatched=0" in purge(app).output
    assert stored_ids(db) == ["evt-2"]


def test_the_purge_deletes_in_chunks_and_misses_none(app, db, send, monkeypatch):
    old, new = HORIZON - dt.timedelta(days=2), HORIZON + dt.timedelta(days=2)
    # Interleaved in id order, so every chunk has kept rows between the deleted ones.
    send(*[event(n, old if n % 3 else new, hour=n % 24) for n in range(1, 31)])
    monkeypatch.setattr(retention, "PURGE_CHUNK", 4)
    app.config["TELEMETRY_RETENTION_DAYS"] = KEEP
    assert "purged: events=20 " in purge(app).output
    assert stored_ids(db) == sorted(f"evt-{n}" for n in range(3, 31, 3))


def test_the_watermark_never_moves_back_when_the_retention_is_raised(app, db):
    app.config["TELEMETRY_RETENTION_DAYS"] = KEEP
    purge(app)
    app.config["TELEMETRY_RETENTION_DAYS"] = 90
    purge(app, TODAY + dt.timedelta(days=1))
    db.session.expire_all()
    assert [run.purged_before for run in db.session.scalars(select(RawEventPurge).order_by(RawEventPurge.id))] == [
        HORIZON, HORIZON]


def test_an_interrupted_purge_already_protects_the_old_days_and_the_next_run_finishes(app, db, send):
    send(event(1, HORIZON - dt.timedelta(days=1)))
    app.config["TELEMETRY_RETENTION_DAYS"] = KEEP
    begin_purge(TODAY)
    db.session.commit()  # the run stopped right after recording itself: nothing deleted yet
    app.config["TELEMETRY_RETENTION_DAYS"] = 365
    body = send(event(2, HORIZON - dt.timedelta(days=1)))
    assert body["rejected"][0]["code"] == "too_old"
    app.config["TELEMETRY_RETENTION_DAYS"] = KEEP
    purge(app)
    assert stored_ids(db) == []


def test_rollups_of_purged_days_survive_a_rebuild_after_an_alias_is_mapped(app, db, send):
    ana = make_employee(email="ana@acme.example")
    db.session.commit()
    old_day, new_day = HORIZON - dt.timedelta(days=5), HORIZON + dt.timedelta(days=5)
    send(event(1, old_day, user_email="ana@acme.example"), event(2, new_day, user_email="ana@acme.example"),
         event(3, new_day, hour=10, crm_username="ana.s"), event(4, old_day, hour=10, crm_username="ana.s"))
    app.config["TELEMETRY_RETENTION_DAYS"] = KEEP
    purge(app)
    assert daily(db, ana) == {old_day: 1, new_day: 1}
    # Mapping the unmatched username rebuilds Ana's rollups from her raw events: the purged day
    # keeps its count (its raw event is gone), the kept day gains the re-attributed event.
    mapping = map_actor("crm_username", "ana.s", ana.id, created_by_id=None)
    db.session.commit()
    assert mapping.attributed == 1
    assert daily(db, ana) == {old_day: 1, new_day: 2}


def test_the_purge_removes_the_files_of_imports_that_ended_before_the_horizon(app, db):
    folder = Path(app.instance_path) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for n, finished in enumerate((dt.datetime(2024, 5, 1), dt.datetime(2024, 6, 20))):
        for name in (f"{n}.ndjson", f"{n}-rejects.csv"):
            (folder / name).write_text("raw rows\n")
        records.append(EventImport(filename=f"{n}.ndjson", format="ndjson", status="done", finished_at=finished,
                                   upload_path=f"imports/{n}.ndjson", rejects_path=f"imports/{n}-rejects.csv"))
    db.session.add_all(records)
    db.session.commit()
    app.config["TELEMETRY_RETENTION_DAYS"] = KEEP
    assert "files=2 " in purge(app).output
    assert sorted(p.name for p in folder.iterdir()) == ["1-rejects.csv", "1.ndjson"]
    db.session.expire_all()
    assert [(r.upload_path, r.rejects_path) for r in db.session.scalars(select(EventImport).order_by(EventImport.id))] == [
        (None, None), ("imports/1.ndjson", "imports/1-rejects.csv")]


def test_the_demo_refuses_to_load_half_its_history_into_a_short_retention_window(app, db):
    app.config["TELEMETRY_RETENTION_DAYS"] = 90
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 1
    assert "The demo was not loaded: demo event demo-s7-" in result.output
    assert "(too_old)" in result.output and "UPTAKE_TELEMETRY_RETENTION_DAYS unset" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(UsageEvent)) == 0
    assert db.session.scalar(select(func.count()).select_from(Employee)) == 0  # nothing of it kept


# --- what admins see ---------------------------------------------------------------------------

def test_the_settings_page_shows_the_retention_and_the_last_purge(app, client, db, login_as, send):
    send(event(1, HORIZON - dt.timedelta(days=1)))
    app.config["TELEMETRY_RETENTION_DAYS"] = KEEP
    login_as("admin")
    page = client.get("/admin/settings").get_data(as_text=True)
    assert "30 days" in page and "No purge has run" in page
    purge(app)
    page = client.get("/admin/settings").get_data(as_text=True)
    assert "raw events kept from 2024-05-31; 1 event deleted (1 of them unmatched), 0 import files" in page
