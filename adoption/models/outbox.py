"""E-mail the app would have sent when no SMTP server is configured (adoption/mail.py)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import JSON, Boolean, ColumnElement, DateTime, String, Text, cast, false, func, or_
from sqlalchemy.orm import Mapped, mapped_column

from adoption.extensions import db


class OutboxMessage(db.Model):
    """One message to one or more recipients, kept for admins to read or relay."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now(), index=True)
    # What sent it, e.g. "survey_reminder".
    kind: Mapped[str] = mapped_column(String(40))
    recipients: Mapped[list[str]] = mapped_column(JSON)
    # The recipient list itself is confidential (a survey reminder's recipients are exactly the
    # people who have not answered): the admin page shows only how many there are.
    hide_recipients: Mapped[bool] = mapped_column(Boolean, default=False)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)

    @classmethod
    def addressed_to(cls, addresses: Iterable[str]) -> ColumnElement[bool]:
        """SQL: the message has one of ``addresses`` among its recipients, whatever its case."""
        # The JSON list as text holds each address in quotes, so '"a_b@x"' never matches "ab@x";
        # lower-cased, since PostgreSQL's LIKE is case-sensitive and an address may be stored as typed.
        listed = func.lower(cast(cls.recipients, String))
        return or_(false(), *(listed.contains(f'"{a.lower()}"', autoescape=True) for a in addresses))
