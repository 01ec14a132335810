"""Outgoing e-mail: through Flask-Mail when ``MAIL_SERVER`` is set, otherwise into the outbox.

Without an SMTP server (the embedded default) nothing leaves the machine: each message becomes an
``OutboxMessage`` that admins read on the Outbox page (and may relay by hand). Both ways, a
message whose recipients must stay hidden from one another is never addressed to several people.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app
from flask_mail import Message
from sqlalchemy import func, select

from adoption.extensions import db, mail
from adoption.models import OutboxMessage
from adoption.timekeeping import utcnow

#: Messages per page of the admin Outbox page.
OUTBOX_PAGE_SIZE = 50

#: Why a kind of message hides its recipients; the Outbox page shows this instead of them.
HIDDEN_RECIPIENTS_REASONS = {
    "survey_reminder": "a reminder's recipients are the people who have not answered",
}
DEFAULT_HIDDEN_REASON = "the recipients of this message are confidential"


def send_mail(recipients: Iterable[str], subject: str, body: str, *, kind: str,
              hide_recipients: bool = False) -> int:
    """Send a plain-text message to each recipient (SMTP) or keep it in the outbox; returns how many.

    With ``MAIL_SERVER`` set, every recipient gets a message of their own, addressed to them
    alone, over one SMTP connection; mail is sent at once, so a caller whose transaction later
    rolls back has still sent it. Without it, the message is added to the outbox (flushed,
    never committed): one row for all recipients, or, with ``hide_recipients``, one row per
    recipient so that no stored message lists who else received it. Blank and repeated
    addresses are dropped; the subject is kept to one line (a line break would be a header
    injection, which Flask-Mail refuses).
    """
    addresses = list(dict.fromkeys(a.strip() for a in recipients if a and a.strip()))
    if not addresses:
        return 0
    subject = " ".join(subject.split())
    if current_app.config.get("MAIL_SERVER"):
        with mail.connect() as connection:
            for address in addresses:
                connection.send(Message(subject=subject, recipients=[address], body=body))
        return len(addresses)
    now = utcnow()
    groups = [[a] for a in addresses] if hide_recipients else [addresses]
    db.session.add_all(
        OutboxMessage(kind=kind, recipients=group, hide_recipients=hide_recipients, subject=subject,
                      body=body, created_at=now)
        for group in groups
    )
    db.session.flush()
    return len(groups)


@dataclass(frozen=True)
class OutboxEntry:
    """An outbox message as the admin page may show it: no addresses when they are hidden."""

    id: int
    created_at: dt.datetime
    kind: str
    subject: str
    body: str
    recipient_count: int
    # None when the message hides its recipients; then ``hidden_reason`` says why.
    recipients: tuple[str, ...] | None
    hidden_reason: str | None


@dataclass(frozen=True)
class OutboxPage:
    """One page of the outbox, newest first."""

    entries: list[OutboxEntry]
    page: int
    pages: int
    total: int


def _entry(message: OutboxMessage) -> OutboxEntry:
    """The displayable form of a stored message; hidden recipients never leave this function."""
    recipients = list(message.recipients or [])
    hidden = bool(message.hide_recipients)
    return OutboxEntry(
        id=message.id, created_at=message.created_at, kind=message.kind, subject=message.subject,
        body=message.body, recipient_count=len(recipients),
        recipients=None if hidden else tuple(recipients),
        hidden_reason=HIDDEN_RECIPIENTS_REASONS.get(message.kind, DEFAULT_HIDDEN_REASON) if hidden else None,
    )


def outbox_page(page: int, per_page: int = OUTBOX_PAGE_SIZE) -> OutboxPage:
    """Page ``page`` (1-based, clamped to the last) of the outbox messages, newest first."""
    total = db.session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
    pages = max((total + per_page - 1) // per_page, 1)
    page = min(max(page, 1), pages)
    messages = db.session.scalars(
        select(OutboxMessage)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    )
    return OutboxPage(entries=[_entry(m) for m in messages], page=page, pages=pages, total=total)
