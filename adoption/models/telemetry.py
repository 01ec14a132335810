"""CRM usage telemetry: one row per event received, kept for idempotency (forever, or for
TELEMETRY_RETENTION_DAYS: telemetry/retention.py), and the rollups made from them."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from adoption.extensions import db


class UsageEvent(db.Model):
    """One CRM usage event (a login, a record update, ...) as received from the CRM."""

    __tablename__ = "usage_events"
    __table_args__ = (
        # Rollups and per-person views read one person's events in time order.
        Index("ix_usage_events_employee_occurred", "employee_id", "occurred_at"),
        # X-Data-Consistent-Through is max(received_at): an index makes it one probe, not a scan.
        Index("ix_usage_events_received_at", "received_at"),
    )

    # 64-bit on PostgreSQL (a busy CRM outgrows 2^31 events); SQLite's INTEGER is 64-bit already
    # and only that exact type name auto-increments there.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # The sender's id; unique for as long as raw events are kept, so a re-sent event is recognised
    # as a duplicate (older ones are refused as too_old: telemetry/retention.py).
    event_id: Mapped[str] = mapped_column(String(128), unique=True)
    # Hex SHA-256 of the event's canonical JSON (see docs/api.md): same id and same hash is a
    # duplicate, same id and another hash a conflict.
    content_hash: Mapped[str] = mapped_column(String(64))
    # `occurred_at` exactly as sent, kept because the stored time may be skew-corrected.
    occurred_at_raw: Mapped[str] = mapped_column(String(64))
    # UTC (naive), corrected for the sender's clock skew when the batch had a `sent_at`.
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime)
    event_type: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(64))
    # "ui", "mobile", "api", "integration", or NULL when the sender did not say.
    client: Mapped[str | None] = mapped_column(String(16))
    properties: Mapped[dict | None] = mapped_column(JSON)
    # The actor keys as sent; resolution to an employee happens at ingest and again later
    # when an alias or a roster update maps an unmatched actor.
    user_email: Mapped[str | None] = mapped_column(String(320))
    crm_user_id: Mapped[str | None] = mapped_column(String(64))
    crm_username: Mapped[str | None] = mapped_column(String(320))
    # NULL while the actor matches nobody on the roster.
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    # False for machine traffic (client "api" or "integration"): stored, but never counted as adoption.
    qualifying: Mapped[bool] = mapped_column(Boolean)
    # The token that sent it; NULL for events that came from a file import.
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    # The file import that brought it; NULL for events sent to the API.
    import_id: Mapped[int | None] = mapped_column(ForeignKey("event_imports.id"))

    def __repr__(self) -> str:
        return f"<UsageEvent {self.event_id} {self.event_type}>"


class CrmAlias(db.Model):
    """An actor key the roster does not carry, mapped to an employee by an admin.

    Identity resolution tries the roster first (CRM user id, CRM username, e-mail), then
    these aliases; creating one re-attributes the unmatched events it names.
    """

    __tablename__ = "crm_aliases"
    __table_args__ = (UniqueConstraint("key_kind", "key_value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # "crm_user_id", "crm_username" or "user_email" (the event field the key appears in).
    key_kind: Mapped[str] = mapped_column(String(16))
    # As the event carries it; usernames and e-mails are stored in lower case.
    key_value: Mapped[str] = mapped_column(String(320))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())


class DailyUsage(db.Model):
    """Qualifying CRM use per day × employee × event type: the rollup every adoption metric reads.

    Only matched, qualifying events count (integration/API traffic and failed logins never do).
    The day is the event's local date in the organization's time zone. Maintained incrementally
    on ingest; rebuilt for an employee when events are re-attributed to them.
    """

    __tablename__ = "daily_usage"
    __table_args__ = (Index("ix_daily_usage_employee_day", "employee_id", "day"),)

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    events: Mapped[int] = mapped_column(Integer)


class WeeklyUnitUsage(db.Model):
    """Adoption per week × unit, for the dashboards: each person-week counts in the unit the
    person belonged to on the week's last day (the same date licensed seats are counted on).

    Derived from ``daily_usage`` and the membership history; weeks listed in
    ``rollup_backlog`` are stale and recomputed by ``refresh_weekly_usage``.
    """

    __tablename__ = "weekly_unit_usage"

    # First day of the week (WEEK_START setting).
    week_start: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    # Employees of the unit with a CRM user id on the week's last day.
    licensed: Mapped[int] = mapped_column(Integer)
    # Of those, how many had at least one qualifying event in the week.
    active: Mapped[int] = mapped_column(Integer)
    # Sum over active people of the days they were active (for DAU-based stickiness).
    active_days: Mapped[int] = mapped_column(Integer)
    # Qualifying events of the active people in the week.
    events: Mapped[int] = mapped_column(Integer)
    # Sum over active people of the distinct event types they used (breadth = / active).
    event_types: Mapped[int] = mapped_column(Integer)


class WeeklyUnitBehaviour(db.Model):
    """Licensed people per week × unit who performed an event type (key-behaviour adoption)."""

    __tablename__ = "weekly_unit_behaviours"

    week_start: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    people: Mapped[int] = mapped_column(Integer)


class RollupBacklog(db.Model):
    """A week whose weekly rollups are stale (new events, re-attribution or a roster change)."""

    __tablename__ = "rollup_backlog"

    week_start: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    queued_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())


class EventImport(db.Model):
    """One file of events imported from the UI or the CLI: its progress and its result."""

    __tablename__ = "event_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    # "ndjson", "csv", "salesforce-login" or "salesforce-records".
    format: Mapped[str] = mapped_column(String(32))
    # What a row means for "salesforce-records" (e.g. "activity_logged"); NULL otherwise.
    event_type: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())
    # "queued", "running", "done" or "failed".
    status: Mapped[str] = mapped_column(String(16), default="queued")
    # Where the uploaded file and the rejects CSV live, relative to the instance folder.
    upload_path: Mapped[str | None] = mapped_column(String(500))
    rejects_path: Mapped[str | None] = mapped_column(String(500))
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    # Progress: bytes of the file read so far, and rows seen.
    bytes_read: Mapped[int] = mapped_column(BigInteger, default=0)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    # Why the job failed as a whole (unreadable file, crash), shown on the page.
    error: Mapped[str | None] = mapped_column(String(2000))
    # Celery's task id when a worker runs it; ``local:<host>:<pid>`` when a thread of that process
    # runs it (so a job whose process died can be reported as interrupted); NULL for the CLI.
    task_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class RawEventPurge(db.Model):
    """One run of the raw-event retention purge (``flask purge-telemetry``).

    The latest ``purged_before`` is a watermark: raw events of the days before it may be gone, so
    ingest refuses events dated before it and rollups are never rebuilt for those days (they
    are kept; only the raw events behind them are not).
    """

    __tablename__ = "raw_event_purges"

    id: Mapped[int] = mapped_column(primary_key=True)
    # First local day kept: events whose day in the organization's time zone is before it are deleted.
    purged_before: Mapped[dt.date] = mapped_column(Date, index=True)
    # The TELEMETRY_RETENTION_DAYS setting the run applied.
    retention_days: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # NULL while the run is going (or after it was interrupted: the next run finishes the job).
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    events_deleted: Mapped[int] = mapped_column(BigInteger, default=0)
    # Of those, events that never matched anyone on the roster.
    unmatched_deleted: Mapped[int] = mapped_column(BigInteger, default=0)
    # Uploaded event files and rejects files of imports that ended before the cutoff.
    files_deleted: Mapped[int] = mapped_column(Integer, default=0)
