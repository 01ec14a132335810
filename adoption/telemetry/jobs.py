"""Background job of the telemetry package: importing an uploaded event file.

The job is its own transaction boundary: ``import_events`` commits after each batch of events,
and the job commits the import's progress and outcome. A crash therefore keeps every batch
committed so far; running the job again is safe (``event_id`` is idempotent) and its counts are
corrected for the events the interrupted run already stored.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TextIO

from flask import current_app
from sqlalchemy import func, select, update

from adoption.extensions import db
from adoption.jobs import job, runner_is_gone
from adoption.models import EventImport, UsageEvent
from adoption.signals import announce_import
from adoption.telemetry import fileimport
from adoption.telemetry.fileimport import FileFormatError, FileImportResult
from adoption.timekeeping import utcnow

log = logging.getLogger(__name__)

# Longest error message kept on the import (the column holds 2,000 characters).
_MAX_ERROR = 1900
INTERRUPTED = ("Interrupted: the process running this import stopped (a restart or a crash). "
               "The events imported before that are kept; upload the file again to finish it "
               "(events already stored count as duplicates).")


def instance_file(relative: str) -> Path:
    """The absolute path of a file stored relative to the instance folder."""
    return Path(current_app.instance_path) / relative


def rejects_relative_path(import_id: int) -> str:
    """Where the rejects CSV of an import lives, relative to the instance folder."""
    return f"imports/{import_id}-rejects.csv"


def _accepted_so_far(import_id: int) -> int:
    """Events already stored by this import (by a run that was interrupted)."""
    return db.session.scalar(select(func.count()).select_from(UsageEvent).where(UsageEvent.import_id == import_id)) or 0


def run_recorded_import(import_id: int, stream: BinaryIO, rejects: TextIO | None, *, carried: int = 0,
                        on_progress: Callable[[int, int], None] | None = None) -> FileImportResult:
    """Import ``stream`` for ``EventImport`` ``import_id``, recording progress and outcome on it.

    Shared by the background job and ``flask ingest-events``. Progress and the outcome are
    short transactions of their own (the import commits per batch anyway). A failure is recorded
    on the import, with the events it did store, and raised again for the caller to report.
    ``carried`` is what an interrupted earlier run stored: those events come back as duplicates
    now, so they are counted as accepted instead.
    """
    record = db.session.get(EventImport, import_id)
    fmt, event_type = record.format, record.event_type

    def progress(bytes_read: int, rows: int) -> None:
        db.session.execute(update(EventImport).where(EventImport.id == import_id)
                           .values(bytes_read=bytes_read, rows=rows))
        db.session.commit()
        if on_progress is not None:
            on_progress(bytes_read, rows)

    try:
        # Through the module, so a test can replace import_events there.
        result = fileimport.import_events(stream, fmt, event_type=event_type, import_id=import_id,
                                          rejects=rejects, progress=progress)
    except FileFormatError as exc:
        _fail(import_id, f"The file cannot be imported: {exc}")
        raise
    except Exception as exc:
        _fail(import_id, f"The import stopped on an unexpected error ({type(exc).__name__}: {exc}).")
        raise
    db.session.execute(update(EventImport).where(EventImport.id == import_id).values(
        status="done", rows=result.rows, accepted=result.accepted + carried,
        duplicates=max(result.duplicates - carried, 0), rejected=result.rejected,
        bytes_read=EventImport.size_bytes, finished_at=utcnow()))
    db.session.commit()
    announce_import("events", result.accepted + carried)
    return result


@job("telemetry.run_event_import")
def run_event_import(import_id: int) -> None:
    """Import the stored upload of ``EventImport`` ``import_id``, recording progress and outcome."""
    record = db.session.get(EventImport, import_id)
    if record is None:
        log.warning("event import %s does not exist; nothing to run", import_id)
        return
    if record.status in ("done", "failed"):
        return  # delivered twice: the first run finished it
    # A redelivered job (its worker died) finds itself "running": what that run stored now
    # comes back as duplicates, so count it as accepted instead.
    carried = _accepted_so_far(import_id) if record.status == "running" else 0
    rejects_rel = rejects_relative_path(import_id)
    record.status = "running"
    record.started_at = utcnow()
    record.bytes_read = record.rows = record.accepted = record.duplicates = record.rejected = 0
    record.error = None
    record.rejects_path = rejects_rel
    upload_path = record.upload_path
    db.session.commit()
    if not upload_path:
        _fail(import_id, "The file cannot be imported: the uploaded file was not stored")
        return
    rejects_file = instance_file(rejects_rel)
    rejects_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        with instance_file(upload_path).open("rb") as stream, \
                rejects_file.open("w", newline="", encoding="utf-8") as rejects:
            run_recorded_import(import_id, stream, rejects, carried=carried)
    except FileFormatError:
        pass  # recorded on the import, which is where the person who uploaded it looks
    except Exception:
        log.exception("event import %s failed", import_id)


def _fail(import_id: int, message: str) -> None:
    """Mark the import failed with ``message``, keeping the count of events it did store."""
    db.session.rollback()  # the batch in flight, if any; the committed ones stay
    db.session.execute(update(EventImport).where(EventImport.id == import_id).values(
        status="failed", error=message[:_MAX_ERROR], accepted=_accepted_so_far(import_id),
        finished_at=utcnow()))
    db.session.commit()


def mark_if_interrupted(record: EventImport) -> bool:
    """Mark a queued/running import failed when its in-process runner's process is gone; flushes."""
    if record.status not in ("queued", "running") or not runner_is_gone(record.task_id):
        return False
    record.status = "failed"
    record.error = INTERRUPTED
    record.accepted = _accepted_so_far(record.id)
    record.finished_at = utcnow()
    db.session.flush()
    return True
