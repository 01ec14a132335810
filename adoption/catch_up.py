"""Derived data brought up to date at a transaction boundary (a request, before it reads).

Rollups of stale weeks and the results of survey rounds that closed are computed by the first
request that needs them. ``commit_catch_up`` runs such a step and commits what it did, once, so
the reads that follow see it and the next request does not redo it.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError

from adoption.extensions import db

log = logging.getLogger(__name__)


def commit_catch_up(step: Callable[[], object], what: str) -> None:
    """Run ``step`` and commit if it did anything; a step that lost a race reads what the winner committed.

    Requests arrive together (a dashboard fires its callbacks at once): on PostgreSQL row locks
    make the second one wait; on SQLite it may fail to write. Either way the other request's work
    will do, so the failure is rolled back and logged, never shown to the user.
    """
    try:
        if step():
            db.session.commit()
    except DBAPIError:
        db.session.rollback()
        log.warning("%s lost a race; reading what is committed", what, exc_info=True)
