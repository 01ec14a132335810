"""Comments and the anonymous conversations leaders have with their authors (S4).

A comment is stored apart from the response it came with: nothing links it to the respondent's
scores. Its author is known only through ``author_key``, an HMAC (keyed with the app's secret) of
the employee, the round and the comment itself, which lets the app recognise the author when they
sign in, and nobody reading the database without the secret (docs/privacy.md).
"""
from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    String,
    Text,
    Uuid,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from adoption.extensions import db
from surveys.models.core import RoundQuestion, SurveyRound, _in


class CommentKind(enum.StrEnum):
    """Where a comment was written."""

    COMMENT = "comment"  # the comment box under a question
    ANSWER = "answer"  # the answer to a free-text question


COMMENT_KINDS = tuple(k.value for k in CommentKind)


class ThreadStatus(enum.StrEnum):
    """A conversation is open until its author closes it."""

    OPEN = "open"
    CLOSED = "closed"


THREAD_STATUSES = tuple(s.value for s in ThreadStatus)


class Comment(db.Model):
    """Free text written in a response, kept without any reference to the response."""

    __tablename__ = "comments"
    __table_args__ = (
        CheckConstraint(_in("kind", COMMENT_KINDS), name="known_comment_kind"),
        # Primary-key order (random) instead of insertion order, as for responses.
        {"sqlite_with_rowid": False},
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id"), index=True)
    round_question_id: Mapped[int] = mapped_column(ForeignKey("round_questions.id"))
    # The author's unit on the day they answered (no tenure band: comments are not filtered by it).
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    kind: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)
    # HMAC-SHA256 (hex) of employee, round and comment id under a key derived from SECRET_KEY:
    # the only way back to the author, usable only by the running app (surveys/conversations.py).
    author_key: Mapped[str] = mapped_column(String(64))
    # The smallest unit whose comments may be shown that holds `unit_id`, decided when the
    # round's results are computed; NULL = shown to nobody (the whole organization is too small).
    group_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)

    round: Mapped[SurveyRound] = relationship()
    round_question: Mapped[RoundQuestion] = relationship()


class CommentThread(db.Model):
    """A conversation about one comment, opened by a leader's first reply."""

    __tablename__ = "comment_threads"
    __table_args__ = (CheckConstraint(_in("status", THREAD_STATUSES), name="known_thread_status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("comments.id"), unique=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id"), index=True)
    # The unit the thread is listed under: the comment's group unit when the leader replied.
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    status: Mapped[str] = mapped_column(String(6), default=ThreadStatus.OPEN.value)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())
    # Time to first reply is measured from the day the comment became visible to leaders
    # (the round's results) to this moment.
    first_reply_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_message_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # The last message is the author's: a leader owes an answer.
    awaiting_leader: Mapped[bool] = mapped_column(Boolean, default=False)
    # A leader wrote since the author last read the thread (the author's notification).
    author_unread: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    comment: Mapped[Comment] = relationship()
    messages: Mapped[list[ThreadMessage]] = relationship(
        back_populates="thread", order_by="ThreadMessage.id"
    )


class ThreadMessage(db.Model):
    """One message of a conversation: from a named leader, or from the anonymous author."""

    __tablename__ = "thread_messages"
    __table_args__ = (
        CheckConstraint(
            "(from_author AND sender_id IS NULL) OR (NOT from_author AND sender_id IS NOT NULL)",
            name="author_is_anonymous",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("comment_threads.id"), index=True)
    from_author: Mapped[bool] = mapped_column(Boolean)
    # The leader who wrote it; never set for the author's messages.
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    # Only the day is kept for the author's messages (an exact time could be matched to who
    # was at their desk); leaders' messages keep the time in `created_at`.
    created_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    thread: Mapped[CommentThread] = relationship(back_populates="messages")
