"""How long raw CRM events are kept, and the purge that enforces it.

Every adoption metric reads the daily rollups (``daily_usage`` and the weekly tables), never raw
events. Raw events, which name a person and say what they did when, are needed only for a while:
to recognise a re-sent event (idempotency on ``event_id``), to attribute an unmatched actor once
an alias or the roster names them, and to rebuild that person's rollups when it happens. With
``TELEMETRY_RETENTION_DAYS`` set to N:

- ``flask purge-telemetry`` (daily, from cron) deletes the events whose local day is more than N
  days before today, and the stored files of event imports that ended before then;
- ingest refuses events dated before the horizon (code ``too_old``): once purged, a re-sent event
  could no longer be recognised, and would be counted twice;
- the latest purge's first kept day is a watermark (``raw_event_purges``): ingest refuses events
  before it even if the setting is raised later, and rebuilding rollups never touches the days
  before it, whose raw events may be gone.

The rollups of purged days stay. Days are the organization's (``ORG_TIMEZONE``), like the rollups'.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import func, select

from adoption.extensions import db
from adoption.models import EventImport, RawEventPurge, UsageEvent
from adoption.telemetry.rollups import day_start_utc, frozen_before, local_day, org_zone
from adoption.timekeeping import utcnow

# Events deleted per transaction: short write transactions, so ingest keeps going on SQLite.
PURGE_CHUNK = 20_000


def retention_days() -> int:
    """The ``TELEMETRY_RETENTION_DAYS`` setting: 0 keeps raw events forever."""
    return int(current_app.config["TELEMETRY_RETENTION_DAYS"])


def horizon(today: dt.date) -> dt.date | None:
    """The first local day whose raw events are kept as of ``today`` (None: all are kept)."""
    days = retention_days()
    return today - dt.timedelta(days=days) if days else None


def oldest_accepted(received_at: dt.datetime) -> dt.datetime | None:
    """The earliest ``occurred_at`` (naive UTC) ingest takes from an event received at
    ``received_at``: the start of the later of the retention horizon and the watermark
    (None: no limit)."""
    zone = org_zone()
    first_days = [day for day in (horizon(local_day(received_at, zone)), frozen_before()) if day is not None]
    return day_start_utc(max(first_days), zone) if first_days else None


def begin_purge(today: dt.date) -> RawEventPurge | None:
    """Record a purge run as of ``today`` (its watermark protects the old days from then on);
    None when raw events are kept forever. Flushes: commit before deleting anything."""
    first_kept = horizon(today)
    if first_kept is None:
        return None
    # Never move the watermark back (the setting may have been raised since the last run).
    previous = frozen_before()
    run = RawEventPurge(purged_before=max(first_kept, previous) if previous else first_kept,
                        retention_days=retention_days(), started_at=utcnow(),
                        events_deleted=0, unmatched_deleted=0, files_deleted=0)
    db.session.add(run)
    db.session.flush()
    return run


def purge_chunk(run: RawEventPurge, after_id: int = 0, limit: int | None = None) -> int | None:
    """Delete up to ``limit`` (default ``PURGE_CHUNK``) events dated before the run's first kept
    day, with ids above ``after_id``; returns the last id deleted, or None when none is left.
    Flushes.

    One pass in id order (keyset), so a run reads the table once however many chunks it takes;
    there is no index on ``occurred_at`` alone, and ingest should not pay for one.
    """
    limit = limit or PURGE_CHUNK
    events = UsageEvent.__table__
    cutoff = day_start_utc(run.purged_before, org_zone())
    old = (events.c.id > after_id) & (events.c.occurred_at < cutoff)
    chunk = select(events.c.id).where(old).order_by(events.c.id).limit(limit).subquery()
    last = db.session.scalar(select(func.max(chunk.c.id)))
    if last is None:
        return None
    in_chunk = old & (events.c.id <= last)
    total, unmatched = db.session.execute(
        select(func.count(), func.count().filter(events.c.employee_id.is_(None))).where(in_chunk)).one()
    db.session.execute(events.delete().where(in_chunk))
    run.events_deleted += total
    run.unmatched_deleted += unmatched
    db.session.flush()
    return last


def remove_import_files(run: RawEventPurge) -> None:
    """Delete the uploaded files and rejects files of event imports that ended before the run's
    first kept day (they hold raw events too), counting them on the run. Flushes."""
    # Here, not at the top: the jobs module imports the ingest path, which imports this module.
    from adoption.telemetry.jobs import instance_file

    cutoff = day_start_utc(run.purged_before, org_zone())
    removed = 0
    ended = select(EventImport).where(
        EventImport.finished_at < cutoff,
        (EventImport.upload_path.is_not(None)) | (EventImport.rejects_path.is_not(None)))
    for record in db.session.scalars(ended):
        for relative in (record.upload_path, record.rejects_path):
            if relative and instance_file(relative).is_file():
                instance_file(relative).unlink()
                removed += 1
        record.upload_path = record.rejects_path = None
    run.files_deleted += removed
    db.session.flush()


def finish_purge(run: RawEventPurge) -> None:
    """Mark the run finished; flushes."""
    run.finished_at = utcnow()
    db.session.flush()


def latest_purge() -> RawEventPurge | None:
    """The most recent purge run, for the settings page."""
    return db.session.scalar(select(RawEventPurge).order_by(RawEventPurge.id.desc()).limit(1))
