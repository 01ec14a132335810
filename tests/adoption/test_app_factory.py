"""The application factory and its configuration: precedence, coercion, side effects, secret key."""
from __future__ import annotations

import socket
import stat

import pytest
from sqlalchemy import make_url

from adoption import create_app
from adoption.config import DEFAULTS


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """Start every test from an environment without ``UPTAKE_*`` or Flask debug variables."""
    import os

    for name in list(os.environ):
        if name.startswith("UPTAKE_") or name in {"FLASK_DEBUG", "FLASK_ENV"}:
            monkeypatch.delenv(name)


@pytest.fixture
def instance(tmp_path):
    """An instance folder that does not exist yet."""
    return tmp_path / "instance"


def _testing(instance, **settings) -> dict:
    """Settings of a testing app in ``instance``."""
    return {"ENV": "testing", "INSTANCE_PATH": str(instance), **settings}


# --- side effects ---------------------------------------------------------------------------


def test_create_app_does_not_create_the_default_sqlite_file(instance):
    app = create_app(_testing(instance))
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("uptake.db")
    assert not (instance / "uptake.db").exists()
    assert not instance.exists()


def test_create_app_does_not_create_an_explicit_sqlite_file(tmp_path, instance):
    db_file = tmp_path / "explicit.db"
    create_app(_testing(instance, DATABASE_URL=f"sqlite:///{db_file}"))
    assert not db_file.exists()


def test_create_app_opens_no_network_connection(monkeypatch, instance):
    attempts = []

    def refuse(self, address):
        attempts.append(address)
        raise OSError("network use during create_app")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    # Nothing listens on port 1: connecting at all would fail loudly.
    app = create_app(_testing(instance, DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none"))
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert attempts == []


# --- precedence -----------------------------------------------------------------------------


def test_defaults_apply_without_environment_or_mapping(instance):
    app = create_app(_testing(instance))
    assert app.config["LOGIN_MAX_FAILURES"] == DEFAULTS["LOGIN_MAX_FAILURES"]
    assert app.config["ORG_TIMEZONE"] == "UTC"


def test_environment_variable_overrides_default(monkeypatch, instance):
    monkeypatch.setenv("UPTAKE_ORG_TIMEZONE", "Europe/Berlin")
    app = create_app(_testing(instance))
    assert app.config["ORG_TIMEZONE"] == "Europe/Berlin"


def test_mapping_overrides_environment_variable(monkeypatch, instance):
    monkeypatch.setenv("UPTAKE_ORG_TIMEZONE", "Europe/Berlin")
    app = create_app(_testing(instance, ORG_TIMEZONE="America/Chicago"))
    assert app.config["ORG_TIMEZONE"] == "America/Chicago"


def test_uptake_env_variable_selects_the_environment(monkeypatch, instance):
    monkeypatch.setenv("UPTAKE_ENV", "testing")
    app = create_app({"INSTANCE_PATH": str(instance)})
    assert app.config["ENV"] == "testing"
    assert app.testing


def test_uptake_database_url_is_honoured(monkeypatch, tmp_path, instance):
    monkeypatch.setenv("UPTAKE_DATABASE_URL", f"sqlite:///{tmp_path / 'from_env.db'}")
    app = create_app(_testing(instance))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'from_env.db'}"


def test_loose_postgres_url_is_given_the_psycopg_driver(monkeypatch, instance):
    monkeypatch.setenv("UPTAKE_DATABASE_URL", "postgres://u:p@db.internal:5432/uptake")
    app = create_app(_testing(instance))
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.database) == ("db.internal", "uptake")


def test_default_sqlite_file_lives_in_the_instance_folder(instance):
    app = create_app(_testing(instance))
    assert app.instance_path == str(instance)
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    assert url.drivername == "sqlite"
    assert url.database == str(instance / "uptake.db")


# --- coercion -------------------------------------------------------------------------------


def test_integer_setting_from_environment_becomes_int(monkeypatch, instance):
    monkeypatch.setenv("UPTAKE_LOGIN_MAX_FAILURES", "7")
    app = create_app(_testing(instance))
    assert app.config["LOGIN_MAX_FAILURES"] == 7


def test_float_setting_from_environment_becomes_float(monkeypatch, instance):
    monkeypatch.setenv("UPTAKE_ROSTER_MAX_DEACTIVATION_SHARE", "0.25")
    app = create_app(_testing(instance))
    assert app.config["ROSTER_MAX_DEACTIVATION_SHARE"] == pytest.approx(0.25)


@pytest.mark.parametrize(("raw", "expected"), [("yes", True), ("ON", True), ("1", True), ("false", False), ("0", False)])
def test_boolean_setting_from_environment_becomes_bool(monkeypatch, instance, raw, expected):
    monkeypatch.setenv("UPTAKE_SESSION_COOKIE_SECURE", raw)
    app = create_app(_testing(instance))
    assert app.config["SESSION_COOKIE_SECURE"] is expected


def test_bad_boolean_names_the_variable(monkeypatch, instance):
    monkeypatch.setenv("UPTAKE_SESSION_COOKIE_SECURE", "maybe")
    with pytest.raises(ValueError, match="UPTAKE_SESSION_COOKIE_SECURE must be a boolean"):
        create_app(_testing(instance))


def test_bad_integer_names_the_variable(monkeypatch, instance):
    monkeypatch.setenv("UPTAKE_LOGIN_MAX_FAILURES", "five")
    with pytest.raises(ValueError, match="UPTAKE_LOGIN_MAX_FAILURES must be an integer"):
        create_app(_testing(instance))


def test_unknown_environment_is_refused(monkeypatch, instance):
    monkeypatch.setenv("UPTAKE_ENV", "staging")
    with pytest.raises(ValueError, match="UPTAKE_ENV must be production, development or testing"):
        create_app({"INSTANCE_PATH": str(instance)})


# --- secret key -----------------------------------------------------------------------------


def test_production_without_secret_key_refuses_to_start(instance):
    with pytest.raises(RuntimeError, match="UPTAKE_SECRET_KEY is not set"):
        create_app({"ENV": "production", "INSTANCE_PATH": str(instance)})


def test_production_is_the_default_environment(instance):
    with pytest.raises(RuntimeError, match="UPTAKE_SECRET_KEY"):
        create_app({"INSTANCE_PATH": str(instance)})


def test_production_with_empty_secret_key_refuses_to_start(monkeypatch, instance):
    monkeypatch.setenv("UPTAKE_SECRET_KEY", "")
    with pytest.raises(RuntimeError, match="UPTAKE_SECRET_KEY is not set"):
        create_app({"ENV": "production", "INSTANCE_PATH": str(instance)})


def test_development_generates_a_private_key_file_in_the_instance_folder(instance):
    app = create_app({"ENV": "development", "INSTANCE_PATH": str(instance)})
    key_file = instance / "secret_key"
    assert key_file.read_text().strip() == app.config["SECRET_KEY"]
    assert len(app.config["SECRET_KEY"]) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_development_reuses_the_generated_key(instance):
    first = create_app({"ENV": "development", "INSTANCE_PATH": str(instance)})
    second = create_app({"ENV": "development", "INSTANCE_PATH": str(instance)})
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]


def test_development_regenerates_an_empty_key_file(instance):
    instance.mkdir()
    (instance / "secret_key").write_text("")
    app = create_app({"ENV": "development", "INSTANCE_PATH": str(instance)})
    assert len(app.config["SECRET_KEY"]) >= 32
    assert (instance / "secret_key").read_text().strip() == app.config["SECRET_KEY"]


def test_testing_works_without_secret_key_and_writes_no_file(instance):
    app = create_app(_testing(instance))
    assert app.config["SECRET_KEY"]
    assert not (instance / "secret_key").exists()


def test_explicit_secret_key_wins_in_production(instance):
    app = create_app({"ENV": "production", "INSTANCE_PATH": str(instance), "SECRET_KEY": "s" * 40})
    assert app.config["SECRET_KEY"] == "s" * 40


def test_explicit_secret_key_wins_over_the_development_key_file(instance):
    create_app({"ENV": "development", "INSTANCE_PATH": str(instance)})
    app = create_app({"ENV": "development", "INSTANCE_PATH": str(instance), "SECRET_KEY": "k" * 40})
    assert app.config["SECRET_KEY"] == "k" * 40


def test_secret_key_from_environment_is_used_in_production(monkeypatch, instance):
    monkeypatch.setenv("UPTAKE_SECRET_KEY", "e" * 40)
    app = create_app({"ENV": "production", "INSTANCE_PATH": str(instance)})
    assert app.config["SECRET_KEY"] == "e" * 40
    assert not instance.exists()
