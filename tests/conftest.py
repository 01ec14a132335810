"""Shared fixtures: ``app``, ``db``, ``client``, ``login_as``.

The suite runs on SQLite by default and on PostgreSQL when ``TEST_DATABASE_URL`` is set.
Each test gets a fresh database: a new SQLite file, or emptied PostgreSQL tables.
"""
from __future__ import annotations

import contextlib
import os

import pytest
from sqlalchemy import text

from adoption import create_app
from adoption.extensions import db as _db
from tests.factories import DEFAULT_PASSWORD, make_employee, make_user


def _worker_database(url: str | None) -> str | None:
    """Under pytest-xdist, each worker gets a PostgreSQL database of its own next to ``url``.

    Tests empty every table before they run, so two workers sharing one database would wipe
    each other's data. ``<name>_gw0``, ``<name>_gw1``, ... are created on first use and kept
    for the next run. The variable is rewritten here, before any test module reads it.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from adoption.config import database_uri

    server = make_url(database_uri({"DATABASE_URL": url}, ""))
    name = f"{server.database}_{worker}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    worker_url = server.set(database=name).render_as_string(hide_password=False)
    os.environ["TEST_DATABASE_URL"] = worker_url
    return worker_url


TEST_DATABASE_URL = _worker_database(os.environ.get("TEST_DATABASE_URL"))


@pytest.fixture
def app_config(tmp_path) -> dict:
    """Settings for the test app; override this fixture in a module to change them."""
    return {}


@pytest.fixture
def app(tmp_path, app_config):
    """A Flask app on a fresh, empty schema."""
    config = {
        "ENV": "testing",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": TEST_DATABASE_URL or f"sqlite:///{tmp_path / 'test.db'}",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
    }
    config.update(app_config)
    app = create_app(config)
    with app.app_context():
        if TEST_DATABASE_URL:
            _reset_postgres()
        else:
            _db.create_all()
        yield app
        _db.session.remove()
        if TEST_DATABASE_URL:
            _db.engine.dispose()


_pg_schema_ready = False


def _reset_postgres() -> None:
    """Create the schema once per run, then empty every table before each test."""
    global _pg_schema_ready
    if not _pg_schema_ready:
        with _db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        _db.create_all()
        _pg_schema_ready = True
        return
    with _db.engine.begin() as conn:
        # TRUNCATE of every table costs ~0.3 s a test; a test writes a handful. So empty only the
        # tables that hold rows or whose id sequence has moved (one probe each, ~3 ms), which
        # leaves the database exactly as a full TRUNCATE ... RESTART IDENTITY would.
        probe = " UNION ALL ".join(
            f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM \"{t.name}\")" for t in _db.metadata.sorted_tables)
        used = set(conn.execute(text(probe)).scalars())
        moved = conn.execute(text(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' AND last_value IS NOT NULL"
        )).scalars()
        names = {t.name for t in _db.metadata.sorted_tables}
        used |= {s.removesuffix("_id_seq") for s in moved} & names
        if used:
            tables = ", ".join(f'"{name}"' for name in sorted(used))
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


# The small demo's rows per seed, loaded once per test process: (secret key, rows, summary).
_DEMO_SNAPSHOTS: dict[int, tuple[str, dict[str, list], object]] = {}


def _snapshot() -> dict[str, list]:
    """Every row of every table, in dependency order."""
    return {t.name: [tuple(r) for r in _db.session.execute(t.select())] for t in _db.metadata.sorted_tables}


def _restore(rows: dict[str, list]) -> None:
    """Write ``_snapshot()`` rows into the empty schema (and move PostgreSQL's sequences past them)."""
    with _db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Rows come back in any order and some tables refer to themselves (a manager is an
            # employee): foreign keys are not checked while the snapshot's consistent rows go in.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in _db.metadata.sorted_tables:
            data = rows[table.name]
            if data:
                names = [c.name for c in table.columns]
                conn.execute(table.insert(), [dict(zip(names, row, strict=True)) for row in data])
        if conn.dialect.name == "postgresql":
            for table in _db.metadata.sorted_tables:
                column = table.columns.get("id")
                if column is not None and column.autoincrement is not False and rows[table.name] \
                        and column.type.python_type is int:
                    conn.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                        f"(SELECT max(id) FROM \"{table.name}\"))"))


@contextlib.contextmanager
def demo_loaded(path, seed: int = 7):
    """An app of its own whose database holds the small demo with every feature's demo data,
    as ``(app, summary)``, inside its app context: for module-scoped fixtures.

    The demo is loaded through ``load_demo`` once per test process and seed; the next modules get
    a copy of its rows (and the same secret key, which the demo's keyed hashes depend on), so each
    module still has a database of its own to change."""
    from adoption.demo import load_demo

    snapshot = _DEMO_SNAPSHOTS.get(seed)
    config = {
        "ENV": "testing",
        "INSTANCE_PATH": str(path / "instance"),
        "DATABASE_URL": TEST_DATABASE_URL or f"sqlite:///{path / 'test.db'}",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
    }
    if snapshot is not None:
        config["SECRET_KEY"] = snapshot[0]
    app = create_app(config)
    with app.app_context():
        if TEST_DATABASE_URL:
            _reset_postgres()
        else:
            _db.create_all()
        if snapshot is None:
            summary = load_demo(size="small", seed=seed)
            _db.session.commit()
            _DEMO_SNAPSHOTS[seed] = (app.config["SECRET_KEY"], _snapshot(), summary)
        else:
            _restore(snapshot[1])
            summary = snapshot[2]
        yield app, summary
        _db.session.remove()
        if TEST_DATABASE_URL:
            # Its connections would otherwise hold locks the next test's TRUNCATE waits for.
            _db.engine.dispose()


@pytest.fixture
def db(app):
    """The SQLAlchemy handle, bound to the test app's fresh database."""
    return _db


@pytest.fixture
def client(app):
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def login_as(app, client, db):
    """Sign the client in as a new user with ``role``; returns the user.

    Employees and managers get an employee record in ``unit`` (default Acme/EMEA/Sales North).
    """

    def _login(role: str, unit: str = "Acme/EMEA/Sales North", employee=None):
        if employee is None and role != "admin":
            employee = make_employee(unit, is_executive=(role == "executive"))
        user = make_user(role, employee)
        db.session.commit()
        response = client.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return _login
