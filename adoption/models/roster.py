"""Roster uploads kept for preview, confirmation and audit."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column

from adoption.extensions import db


class RosterImport(db.Model):
    """One uploaded HR export: previewed first, applied on confirmation."""

    __tablename__ = "roster_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The date unit changes take effect.
    effective_date: Mapped[dt.date] = mapped_column(Date)
    # A full import deactivates people missing from the file; a partial one does not.
    full: Mapped[bool] = mapped_column(Boolean, default=True)
    # "previewed", "applied" or "discarded".
    status: Mapped[str] = mapped_column(String(20), default="previewed")
    # Counts and errors of the last plan, as shown to the admin.
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())
    applied_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
