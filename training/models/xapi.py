"""The xAPI record (T6): every learning action is also kept as an xAPI 1.0.3 statement, beside the
statements an external learning system sends (training/xapi_intake.py)."""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, String, Uuid, false, func
from sqlalchemy.orm import Mapped, mapped_column

from adoption.extensions import db


class XapiStatement(db.Model):
    """One stored xAPI statement; ``statement`` is the full JSON, the other columns are its filters."""

    __tablename__ = "xapi_statements"
    __table_args__ = (Index("ix_xapi_statements_stored_id", "stored", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # the statement's own id
    # The actor; NULL for an external statement whose actor matches no one on the roster (yet).
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), index=True)
    verb: Mapped[str] = mapped_column(String(200), index=True)  # the verb's IRI
    # The object's IRI when it is an Activity (an external statement may refer to an Agent or
    # another statement instead).
    activity: Mapped[str | None] = mapped_column(String(500), index=True)
    # An external Activity's name as its definition gives it (first language), for the Training
    # dashboard; NULL for Uptake's own statements, whose modules have titles.
    activity_name: Mapped[str | None] = mapped_column(String(300))
    # The module the activity belongs to (filters by module, and "related activities").
    module_id: Mapped[int | None] = mapped_column(ForeignKey("training_modules.id"), index=True)
    timestamp: Mapped[dt.datetime] = mapped_column(DateTime)  # when it happened (UTC)
    stored: Mapped[dt.datetime] = mapped_column(DateTime)  # when it was recorded (UTC)
    statement: Mapped[dict] = mapped_column(JSON)
    # The API token an external system sent it with; NULL for the statements Uptake records.
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"), index=True)
    # An external statement's actor identifier (training.xapi_intake.actor_key): how it is
    # attributed once a roster import brings the person in.
    actor_key: Mapped[str | None] = mapped_column(String(700), index=True)
    # SHA-256 of an external statement's content: the same id sent again is a duplicate when
    # this matches, a conflict otherwise.
    content_hash: Mapped[str | None] = mapped_column(String(64))
    # Voided by a later voiding statement: left out of queries (Data 2.3.2).
    voided: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class LearnerAlias(db.Model):
    """An external learner identifier the roster cannot match, mapped to an employee by an admin
    (for instance a personal e-mail address the learning system knows someone by).

    Attribution tries the roster first, then these aliases; creating one attributes the stored
    statements that name the identifier (training/xapi_intake.py, ``map_learner``).
    """

    __tablename__ = "xapi_learner_aliases"

    id: Mapped[int] = mapped_column(primary_key=True)
    # As ``training.xapi.actor_key`` writes it (``mbox:mailto:...``, ``account:<homePage>|<name>``, ...).
    actor_key: Mapped[str] = mapped_column(String(700), unique=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())
