"""Liveness and readiness, for what runs the app: a load balancer, systemd, Kubernetes.

*Alive* means the process answers requests; it reads nothing. *Ready* means it can serve people:
the database answers and its schema is at the migrations' head of this code (a release deployed
before ``flask db upgrade``, or a database a newer release migrated, is not ready). Reasons are
short and fixed: the endpoints need no sign-in, so they never carry a connection string or an
error's text (those go to the log).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from adoption.extensions import db

log = logging.getLogger(__name__)

#: The Alembic scripts (Flask-Migrate's directory).
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_HEADS_KEY = "uptake_migration_heads"

OK = "ok"
UNREACHABLE = "unreachable"
NOT_MIGRATED = "not migrated: run flask --app wsgi db upgrade"
BEHIND = "behind this release's migrations: run flask --app wsgi db upgrade"
UNKNOWN = "at a revision this release does not know (a newer release migrated it)"


@dataclass(frozen=True)
class Readiness:
    """Whether the app can serve people, and each check's outcome (``"ok"`` or a reason)."""

    checks: dict[str, str]

    @property
    def ready(self) -> bool:
        return all(outcome == OK for outcome in self.checks.values())


def migration_script() -> ScriptDirectory:
    """This release's Alembic scripts."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config)


def migration_heads(app: Flask) -> frozenset[str]:
    """The head revision(s) of this code's migrations, read once per app."""
    heads = app.extensions.get(_HEADS_KEY)
    if heads is None:
        heads = app.extensions[_HEADS_KEY] = frozenset(migration_script().get_heads())
    return heads


def readiness(app: Flask) -> Readiness:
    """Check the database connection and the schema revision (inside an app context)."""
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError:
        log.exception("readiness: the database did not answer")
        return Readiness({"database": UNREACHABLE, "schema": UNREACHABLE})
    return Readiness({"database": OK, "schema": _schema_state(current, migration_heads(app))})


def _schema_state(current: frozenset[str], heads: frozenset[str]) -> str:
    """How the database's revision(s) compare with the code's head(s)."""
    if current == heads:
        return OK
    if not current:
        return NOT_MIGRATED
    script = migration_script()
    try:
        known = all(script.get_revision(rev) is not None for rev in current)
    except CommandError:  # an id alembic cannot resolve
        known = False
    return BEHIND if known else UNKNOWN
