"""CRM usage telemetry: one row per event received, kept forever for idempotency."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from adoption.extensions import db


class UsageEvent(db.Model):
    """One CRM usage event (a login, a record update, ...) as received from the CRM."""

    __tablename__ = "usage_events"
    __table_args__ = (
        # Rollups and per-person views read one person's events in time order.
        Index("ix_usage_events_employee_occurred", "employee_id", "occurred_at"),
    )

    # 64-bit on PostgreSQL (a busy CRM outgrows 2^31 events); SQLite's INTEGER is 64-bit already
    # and only that exact type name auto-increments there.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # The sender's id; permanently unique, so a re-sent event is recognised as a duplicate.
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

    def __repr__(self) -> str:
        return f"<UsageEvent {self.event_id} {self.event_type}>"
