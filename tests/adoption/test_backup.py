"""``flask backup-database`` (adoption/backup.py): a consistent copy of the embedded SQLite database,
taken while the app holds uncheckpointed writes in its WAL file, that never overwrites a file and
points PostgreSQL users to their own tools. Each test runs on a SQLite file of its own, whatever
database the suite runs on: the command is for the embedded default."""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import create_engine, select

from adoption.backup import BackupError, backup_sqlite
from adoption.extensions import db
from adoption.models import Employee
from tests.conftest import app_of_its_own
from tests.factories import make_employee


@pytest.fixture
def sqlite_app(tmp_path, monkeypatch):
    """An app on a SQLite file with one employee committed (still in the WAL file, not checkpointed)."""
    monkeypatch.setattr("tests.conftest.TEST_DATABASE_URL", None)
    with app_of_its_own(tmp_path, {"DATABASE_URL": f"sqlite:///{tmp_path / 'live.db'}"}) as app:
        make_employee(full_name="Ada Backup")
        db.session.commit()
        yield app


def test_the_backup_holds_what_was_committed_in_one_self_contained_file(sqlite_app, tmp_path):
    assert (tmp_path / "live.db-wal").stat().st_size > 0  # the commit is in the WAL, not yet in the file
    result = sqlite_app.test_cli_runner().invoke(args=["backup-database", str(tmp_path / "backup.db")])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"backup: {tmp_path / 'backup.db'} bytes=") and "integrity=ok" in result.output
    copy = sqlite3.connect(tmp_path / "backup.db")
    assert copy.execute("SELECT full_name FROM employees").fetchall() == [("Ada Backup",)]
    assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    copy.close()
    assert not (tmp_path / "backup.db.partial").exists()


def test_a_backup_never_overwrites_a_file(sqlite_app, tmp_path):
    (tmp_path / "backup.db").write_bytes(b"yesterday's backup")
    result = sqlite_app.test_cli_runner().invoke(args=["backup-database", str(tmp_path / "backup.db")])
    assert result.exit_code == 1 and "never overwrites" in result.output
    assert (tmp_path / "backup.db").read_bytes() == b"yesterday's backup"
    assert db.session.scalar(select(Employee.full_name)) == "Ada Backup"


def test_postgresql_is_pointed_to_its_own_tools(tmp_path):
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # never connected to
    with pytest.raises(BackupError, match="pg_dump"):
        backup_sqlite(engine, tmp_path / "backup.db")
    assert not (tmp_path / "backup.db").exists()
