"""A consistent copy of the embedded SQLite database while the app runs (``flask backup-database``).

SQLite's online backup API copies the database page by page inside a read transaction, so the copy
is the database as of one moment, the committed content of the ``-wal`` file included; copying the
file alone is not (docs/operations.md). The copy is written next to its destination and renamed
into place only once it is complete and checks out, in rollback-journal mode, so it is one
self-contained file. PostgreSQL has its own tools: ``pg_dump``.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine


class BackupError(Exception):
    """The backup cannot be made (the message says why); nothing was written."""


@dataclass(frozen=True)
class Backup:
    """A finished backup (returned only once SQLite's integrity check said ok): where, how large."""

    path: Path
    size: int


def backup_sqlite(engine: Engine, destination: Path) -> Backup:
    """Copy the SQLite database behind ``engine`` to ``destination``, which must not exist."""
    if engine.dialect.name != "sqlite":
        raise BackupError(f"the database is {engine.dialect.name}, not SQLite: back it up with its own tools "
                          "(PostgreSQL: pg_dump -Fc), see docs/operations.md")
    if destination.exists():
        raise BackupError(f"{destination} exists: a backup never overwrites a file")
    if not destination.parent.is_dir():
        raise BackupError(f"{destination.parent} is not a folder")
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    source = engine.raw_connection()
    try:
        copy = sqlite3.connect(partial)
        try:
            source.driver_connection.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
            integrity = copy.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            copy.close()
    finally:
        source.close()
    if integrity != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"the copy failed SQLite's integrity check ({integrity}); nothing was kept")
    partial.replace(destination)
    return Backup(destination, destination.stat().st_size)
