"""``/healthz`` and ``/readyz``: alive without reading anything, ready only at this release's schema."""
from __future__ import annotations

import flask_migrate
from sqlalchemy import text

from adoption import create_app, health
from adoption.extensions import db
from tests.adoption.test_migrations import empty_database_url, migration_app  # noqa: F401 (fixtures)


def test_healthz_answers_without_a_sign_in_or_a_session(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "alive"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_a_database_built_without_the_migrations_is_not_ready(client):
    # The suite's schema comes from create_all: no alembic_version, so no known revision.
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "not ready",
                                   "checks": {"database": "ok", "schema": health.NOT_MIGRATED}}


def test_ready_at_the_head_then_behind_after_a_downgrade_and_unknown_at_a_newer_revision(migration_app):  # noqa: F811
    client = migration_app.test_client()
    flask_migrate.upgrade()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {"database": "ok", "schema": "ok"}}
    assert "Set-Cookie" not in response.headers

    flask_migrate.downgrade(revision="-1")
    response = client.get("/readyz")
    assert (response.status_code, response.get_json()["checks"]["schema"]) == (503, health.BEHIND)

    flask_migrate.upgrade()
    with db.engine.begin() as connection:  # as if a newer release had migrated the database
        connection.execute(text("UPDATE alembic_version SET version_num = 'f0f0f0f0f0f0'"))
    response = client.get("/readyz")
    assert (response.status_code, response.get_json()["checks"]["schema"]) == (503, health.UNKNOWN)


def test_an_unreachable_database_is_not_ready_and_the_answer_names_no_path(tmp_path):
    missing = tmp_path / "no" / "such" / "folder" / "uptake.db"
    app = create_app({"ENV": "testing", "INSTANCE_PATH": str(tmp_path / "instance"), "DATABASE_URL": f"sqlite:///{missing}"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": health.UNREACHABLE, "schema": health.UNREACHABLE}
    assert "folder" not in response.get_data(as_text=True)
    # Liveness reads nothing, so it does not care.
    assert app.test_client().get("/healthz").status_code == 200
