"""The migrations: one head, the models match them, and they can be undone.

Each test migrates its own empty database: a temporary SQLite file, or on PostgreSQL a
throwaway database created next to ``TEST_DATABASE_URL`` and dropped afterwards, so the schema
the rest of the suite shares is never touched.
"""
from __future__ import annotations

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from adoption import create_app
from adoption.extensions import db
from adoption.health import migration_script
from tests.conftest import throwaway_database


@pytest.fixture
def empty_database_url(tmp_path):
    """The URL of an empty database that only this test uses."""
    with throwaway_database(tmp_path, "uptake_mig") as url:
        yield url


@pytest.fixture
def migration_app(tmp_path, empty_database_url):
    """An app pointed at the empty database, inside an app context."""
    app = create_app({"ENV": "testing", "INSTANCE_PATH": str(tmp_path / "instance"), "DATABASE_URL": empty_database_url})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _tables() -> set[str]:
    with db.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def _differences() -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_migrations_have_exactly_one_head():
    assert len(migration_script().get_heads()) == 1


def test_upgrade_to_head_records_the_head_revision(migration_app):
    flask_migrate.upgrade()
    with db.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == migration_script().get_current_head()


def test_models_match_the_migrated_schema(migration_app):
    flask_migrate.upgrade()
    assert _differences() == []


def test_every_model_table_is_created_by_the_migrations(migration_app):
    flask_migrate.upgrade()
    assert set(db.metadata.tables) <= _tables()


def test_downgrade_to_base_removes_every_table(migration_app):
    flask_migrate.upgrade()
    flask_migrate.downgrade(revision="base")
    assert _tables() <= {"alembic_version"}


def test_upgrade_after_downgrade_gives_the_same_schema(migration_app):
    flask_migrate.upgrade()
    flask_migrate.downgrade(revision="base")
    flask_migrate.upgrade()
    assert _differences() == []


def test_upgrade_creates_the_instance_folder_for_the_default_sqlite_database(tmp_path, monkeypatch):
    monkeypatch.delenv("UPTAKE_DATABASE_URL", raising=False)
    instance = tmp_path / "fresh-checkout" / "instance"
    app = create_app({"ENV": "testing", "INSTANCE_PATH": str(instance)})
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    assert (instance / "uptake.db").is_file()
