"""The xAPI record (T6): every learning action is also kept as an xAPI 1.0.3 statement."""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from adoption.extensions import db


class XapiStatement(db.Model):
    """One stored xAPI statement; ``statement`` is the full JSON, the other columns are its filters."""

    __tablename__ = "xapi_statements"
    __table_args__ = (Index("ix_xapi_statements_stored_id", "stored", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # the statement's own id
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)  # the actor
    verb: Mapped[str] = mapped_column(String(200), index=True)  # the verb's IRI
    activity: Mapped[str] = mapped_column(String(500), index=True)  # the object's IRI
    # The module the activity belongs to (filters by module, and "related activities").
    module_id: Mapped[int | None] = mapped_column(ForeignKey("training_modules.id"), index=True)
    timestamp: Mapped[dt.datetime] = mapped_column(DateTime)  # when it happened (UTC)
    stored: Mapped[dt.datetime] = mapped_column(DateTime)  # when it was recorded (UTC)
    statement: Mapped[dict] = mapped_column(JSON)
