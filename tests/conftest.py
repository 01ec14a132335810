"""Shared fixtures: ``app``, ``db``, ``client``, ``login_as``.

The suite runs on SQLite by default and on PostgreSQL when ``TEST_DATABASE_URL`` is set.
Each test gets a fresh database: a new SQLite file, or emptied PostgreSQL tables.
Passwords are hashed cheaply (``fast_password_hashing``) unless a test asks for
``production_password_hashing``; URL builders are compiled on first use
(``url_builders_compiled_on_first_use``). The demo is loaded for 23 November 2026 unless a test names
another day (``demo_load_day``).
"""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import gc
import os
import pickle
import re
import shutil
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from werkzeug.routing import Rule
from werkzeug.security import generate_password_hash

from adoption import accounts, create_app, demo_calendar
from adoption.extensions import db as _db
from tests.factories import DEFAULT_PASSWORD, make_employee, make_user


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto``: one worker more than the machine has cores. The suite often waits (on
    Chromium, the live servers, PostgreSQL): with one worker per core, `time` saw 1.36 of 2 cores
    busy over a CI run. With a third worker, CI's PostgreSQL pass went from 792 to 661 s and its
    SQLite pass stayed at 591 s (597 before; 479 s in a run outside CI) (2026-12-07)."""
    return (os.cpu_count() or 1) + 1


#: A browser test takes about as long as this many other tests (≈10 s against ≈0.5 s on PostgreSQL).
BROWSER_TEST_WEIGHT = 10


def pytest_collection_modifyitems(config, items) -> None:
    """Run the modules marked ``long_module`` first, then the others by their expected length,
    longest first (a browser test counting as ``BROWSER_TEST_WEIGHT`` tests). pytest-xdist hands
    out whole modules (``--dist loadfile``); its own reordering (turned off in pyproject.toml)
    knows only the counts, so the long modules and the browser modules, which have few tests,
    went last and a run ended with one worker alone on a module of one or two minutes."""
    modules: dict[str, list] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::", 1)[0], []).append(item)

    def order(path: str) -> tuple[bool, int]:
        tests = modules[path]
        length = sum(BROWSER_TEST_WEIGHT if test.get_closest_marker("browser") else 1 for test in tests)
        return tests[0].get_closest_marker("long_module") is None, -length

    items[:] = [item for path in sorted(modules, key=order) for item in modules[path]]


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

# One PBKDF2 round instead of scrypt: scrypt is slow on purpose (~0.1 s a hash, more on a busy
# machine), and the suite hashes and checks a password for nearly every user it signs in.
FAST_PASSWORD_METHOD = "pbkdf2:sha256:1"
_PRODUCTION_HASHING = (accounts.generate_password_hash, accounts._DUMMY_HASH)


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """Hash test passwords with ``FAST_PASSWORD_METHOD``, the unknown-account check included.

    Only the cost changes: salted hashes, ``check_password_hash`` and the equal work for unknown
    and locked accounts stay as they are; ``production_password_hashing`` restores scrypt."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "generate_password_hash",
                      functools.partial(generate_password_hash, method=FAST_PASSWORD_METHOD))
        patch.setattr(accounts, "_DUMMY_HASH",
                      generate_password_hash("uptake-timing-equalizer", method=FAST_PASSWORD_METHOD))
        yield


@pytest.fixture(scope="session", autouse=True)
def url_builders_compiled_on_first_use():
    """Compile each URL rule's builder when a URL is first built from it, not when the rule is added.

    Werkzeug compiles two builder functions per rule as the rule is added (Python source, through
    ``ast`` and ``compile``): with the app's ~110 rules that is more than half of ``create_app``
    (~180 ms of it on the CI machine), and the suite creates an app for nearly every test. The
    builders are the same functions, compiled by Werkzeug's own method, only later; URL matching
    is untouched. Without the private method (another Werkzeug), nothing is patched.
    """
    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None:
        yield
        return

    def on_first_use(rule: Rule, append_unknown: bool = True):
        compiled = None

        def build(bound_rule: Rule, **values):
            nonlocal compiled
            if compiled is None:
                compiled = compile_builder(bound_rule, append_unknown)
            return compiled(bound_rule, **values)

        return build

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Rule, "_compile_builder", on_first_use)
        yield


@pytest.fixture(scope="session", autouse=True)
def demo_load_day():
    """Every demo a test loads without naming its day is built for the reference day
    (``adoption.demo_calendar.REFERENCE_LOAD_DAY``), whatever the real date: the figures the
    tests assert are those of the data as written. The clock ``load_demo`` reads for its default
    day is the one replaced; a test that checks the default patches it again."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo_calendar, "org_today", lambda _timezone: demo_calendar.REFERENCE_LOAD_DAY)
        yield demo_calendar.REFERENCE_LOAD_DAY


@pytest.fixture
def production_password_hashing(monkeypatch):
    """Hash passwords as production does (scrypt) in this test; request it before any user."""
    monkeypatch.setattr(accounts, "generate_password_hash", _PRODUCTION_HASHING[0])
    monkeypatch.setattr(accounts, "_DUMMY_HASH", _PRODUCTION_HASHING[1])


@pytest.fixture
def app_config(tmp_path) -> dict:
    """Settings for the test app; override this fixture in a module to change them."""
    return {}


def _test_config(path) -> dict:
    """The test app's settings, its instance folder and SQLite file under ``path``."""
    return {
        "ENV": "testing",
        "INSTANCE_PATH": str(path / "instance"),
        "DATABASE_URL": TEST_DATABASE_URL or f"sqlite:///{path / 'test.db'}",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
    }


class OwnContextClient(FlaskClient):
    """A test client that gives every request its own application context, as a server does.

    The ``app`` fixture keeps one application context open for the whole test, and Flask reuses
    it for requests to the same app, so ``g`` (the signed-in user Flask-Login caches there, the
    scope ``current_scope`` caches there) and the database session would leak from one request
    into the next, and from the test into its requests. Data a test writes must be committed
    before a request can see it, as with a real server.
    """

    def open(self, *args, **kwargs):
        """Send the request inside a fresh application context."""
        with self.application.app_context():
            return super().open(*args, **kwargs)


@contextlib.contextmanager
def throwaway_database(path: Path, prefix: str = "uptake_tmp"):
    """The URL of an empty database only the caller uses: a SQLite file under ``path``, or on
    PostgreSQL a database created next to ``TEST_DATABASE_URL`` and dropped afterwards (the
    schema the rest of the suite shares is never touched)."""
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{path / f'{prefix}.db'}"
        return
    import secrets

    from sqlalchemy import create_engine, make_url

    from adoption.config import database_uri

    server = make_url(database_uri({"DATABASE_URL": TEST_DATABASE_URL}, ""))
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def app_of_its_own(path, config: dict | None = None, sqlite_file: Path | None = None):
    """A test app on a fresh, empty schema under ``path``, inside its app context: the ``app``
    fixture, and module-scoped fixtures that build one database for a whole module.

    On SQLite the database starts as a copy of ``sqlite_file`` when given (a demo snapshot)."""
    config = {**_test_config(path), **(config or {})}
    # SQLite: a copy of the empty schema this process built first (~1 ms instead of ~50 ms).
    copied = _SQLITE_SCHEMA is not None and config["DATABASE_URL"] == f"sqlite:///{path / 'test.db'}"
    if copied:
        shutil.copyfile(sqlite_file or _SQLITE_SCHEMA, path / "test.db")
    app = create_app(config)
    with app.app_context():
        if TEST_DATABASE_URL:
            _reset_postgres()
        elif not copied:
            _db.create_all()
        yield app
        _db.session.remove()
        if TEST_DATABASE_URL:
            # Its connections would otherwise hold locks the next test's TRUNCATE waits for.
            _db.engine.dispose()


@pytest.fixture
def app(tmp_path, app_config):
    """A Flask app on a fresh, empty schema."""
    with app_of_its_own(tmp_path, app_config) as app:
        yield app


_pg_schema_ready = False


# Above this many rows in a table, emptying the tables with TRUNCATE beats DELETE.
_DELETE_AT_MOST = 1000


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
    tables = _db.metadata.sorted_tables
    try:
        _empty_postgres_tables(tables)
    except OperationalError as exc:
        if "lock timeout" not in str(exc):
            raise
        raise RuntimeError(
            "Emptying the tables for this test waited more than 30 s for a lock: another app of this "
            "process still holds a transaction open (typically a module-scoped demo app, e.g. from "
            "demo_loaded, in a module whose other tests use the function-scoped app fixture). Keep the two "
            "kinds of test in separate modules.") from exc


def _empty_postgres_tables(tables) -> None:
    """Empty the tables the last test wrote to (see ``_reset_postgres``)."""
    with _db.engine.begin() as conn:
        # Fail rather than hang when a connection of this process holds the tables (see above).
        conn.execute(text("SET LOCAL lock_timeout = '30s'"))
        # A test writes a handful of rows into a few tables. So count the rows of each table (up
        # to _DELETE_AT_MOST + 1, one query for all, ~5 ms) and find the id sequences that moved,
        # then empty only those tables, leaving the database exactly as a full TRUNCATE ...
        # RESTART IDENTITY would. TRUNCATE costs ~0.15 s however few the rows (new files for every
        # table and index); DELETE of a few rows, children first, and restarting the sequences
        # that moved ~15 ms. Big tables (the demo's) are still truncated.
        probe = " UNION ALL ".join(
            f"SELECT '{t.name}', (SELECT count(*) FROM (SELECT FROM \"{t.name}\" "
            f"LIMIT {_DELETE_AT_MOST + 1}) AS s)" for t in tables)
        rows = {name: n for name, n in conn.execute(text(probe))}
        moved = conn.execute(text(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' AND last_value IS NOT NULL"
        )).scalars().all()
        used = {name for name, n in rows.items() if n} | ({s.removesuffix("_id_seq") for s in moved} & rows.keys())
        if not used:
            return
        if max(rows.values()) > _DELETE_AT_MOST:
            names = ", ".join(f'"{name}"' for name in sorted(used))
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            return
        for table in reversed(tables):
            if rows[table.name]:
                conn.execute(table.delete())
        for sequence in moved:
            conn.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))


@dataclasses.dataclass(frozen=True)
class _DemoSnapshot:
    """The small demo as one load left it, for the next modules that need it: the app's secret
    key (the demo's keyed hashes depend on it), the load's summary, and the data itself: on
    SQLite the database file, on PostgreSQL each table's rows in ``COPY`` text format."""

    secret_key: str
    summary: object
    sqlite_file: Path | None = None
    copy_data: dict[str, bytes] | None = None


# The small demo per seed, loaded once per test process (or per run, see ``demo_loaded``).
_DEMO_SNAPSHOTS: dict[int, _DemoSnapshot] = {}
# Under pytest-xdist, the folder the workers of this run share (set by ``_run_files``).
_SHARED_FOLDER: Path | None = None
# Where this process keeps the demo snapshots' database files (set by ``_run_files``).
_SNAPSHOT_FOLDER: Path | None = None
# On SQLite, this process's empty schema, which each test's database is copied from.
_SQLITE_SCHEMA: Path | None = None


@pytest.fixture(scope="session", autouse=True)
def _run_files(tmp_path_factory):
    """Files made once per run: on SQLite, the empty schema (``create_all`` into a file of its
    own, which ``app_of_its_own`` copies); under pytest-xdist, the run's temporary folder, which
    every worker sees: the first worker to load the demo leaves its snapshot there for the others
    (see ``demo_loaded``)."""
    global _SHARED_FOLDER, _SNAPSHOT_FOLDER, _SQLITE_SCHEMA
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Each worker's basetemp is <run>/popen-gwN; <run> is new for every run.
        _SHARED_FOLDER = tmp_path_factory.getbasetemp().parent
    _SNAPSHOT_FOLDER = _SHARED_FOLDER or tmp_path_factory.mktemp("snapshots")
    if not TEST_DATABASE_URL:
        folder = tmp_path_factory.mktemp("schema")
        with app_of_its_own(folder):
            _db.engine.dispose()  # the last connection closed: everything is in test.db
        _SQLITE_SCHEMA = folder / "test.db"
    yield
    _SHARED_FOLDER = _SNAPSHOT_FOLDER = _SQLITE_SCHEMA = None


@pytest.fixture(scope="session", autouse=True)
def _garbage_collection_for_many_apps(_run_files):
    """Python's cyclic garbage collector, set for a run that builds an app per test.

    Each test's ``create_app`` allocates tens of thousands of objects (routes, the Dash layout,
    the callbacks), so with the default thresholds a full collection runs every few tests, and
    it walks every object the run has imported (SQLAlchemy, pandas, plotly: ~400,000): one test
    in six paid ~0.3 s for it, 40 % of the average test's setup. The imported modules and the
    first app are moved out of the collector's sight (``gc.freeze``) and the young generations
    collected less often; full collections still run (memory stays bounded), over the objects
    made since. The suite's wall time fell 15 % on SQLite and 13 % on PostgreSQL (2 cores, -n 3:
    380 -> 322 s, 505 -> 440 s); a worker peaked at 880 MB."""
    gc.collect()
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(50_000, 10, 10)
    yield
    gc.set_threshold(*thresholds)
    gc.unfreeze()


def _copy_out() -> dict[str, bytes]:
    """PostgreSQL: every row of every table, as ``COPY ... TO STDOUT`` writes it."""
    data = {}
    with _db.engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()
        for table in _db.metadata.sorted_tables:
            with cursor.copy(f'COPY "{table.name}" TO STDOUT') as copy:
                data[table.name] = b"".join(bytes(block) for block in copy)
    return data


def _copy_in(data: dict[str, bytes]) -> None:
    """PostgreSQL: write ``_copy_out()`` rows into the empty schema and move the id sequences
    past them. ``COPY`` is ~10x faster than inserting the demo's ~100,000 rows."""
    with _db.engine.begin() as conn:
        # Some tables refer to themselves (a manager is an employee): foreign keys are not
        # checked while the snapshot's consistent rows go in.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        cursor = conn.connection.driver_connection.cursor()
        for table in _db.metadata.sorted_tables:
            if data[table.name]:
                with cursor.copy(f'COPY "{table.name}" FROM STDIN') as copy:
                    copy.write(data[table.name])
                column = table.columns.get("id")
                if column is not None and column.autoincrement is not False and column.type.python_type is int:
                    conn.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                        f"(SELECT max(id) FROM \"{table.name}\"))"))


@contextlib.contextmanager
def _demo_snapshot_shared(seed: int):
    """Held while this process looks for the demo snapshot of ``seed`` or makes it; yields the
    file the other workers of the run share it through (``None`` without pytest-xdist).

    The lock makes a worker that needs the demo while another is loading it wait for that
    snapshot instead of loading the same demo a second time on the other core."""
    if _SHARED_FOLDER is None:
        yield None
        return
    shared = _SHARED_FOLDER / f"demo-snapshot-{seed}.pickle"
    with open(_SHARED_FOLDER / f"demo-snapshot-{seed}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield shared
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _take_snapshot(path: Path, app, summary) -> _DemoSnapshot:
    """The demo just loaded and committed in ``app``'s database, as a snapshot."""
    secret_key = app.config["SECRET_KEY"]
    if TEST_DATABASE_URL:
        return _DemoSnapshot(secret_key, summary, copy_data=_copy_out())
    _db.session.remove()
    _db.engine.dispose()  # the last connection closed: everything is in test.db
    kept = _SNAPSHOT_FOLDER / f"demo-{os.getpid()}-{path.name}.db"
    shutil.copyfile(path / "test.db", kept)
    return _DemoSnapshot(secret_key, summary, sqlite_file=kept)


@contextlib.contextmanager
def demo_loaded(path, seed: int = 7):
    """An app of its own whose database holds the small demo with every feature's demo data,
    as ``(app, summary)``, inside its app context: for module-scoped fixtures.

    The demo is loaded through ``load_demo`` once per test run and seed (under pytest-xdist, by
    the first worker that needs it); the next modules and tests get a copy of it (a copy of the
    SQLite file, or its tables' rows through ``COPY`` on PostgreSQL, with the same secret key),
    so each still has a database of its own to change."""
    from adoption.demo import load_demo

    with contextlib.ExitStack() as stack:
        shared = stack.enter_context(_demo_snapshot_shared(seed))
        snapshot = _DEMO_SNAPSHOTS.get(seed)
        if snapshot is None and shared is not None and shared.exists():
            snapshot = _DEMO_SNAPSHOTS[seed] = pickle.loads(shared.read_bytes())
        config = {"SECRET_KEY": snapshot.secret_key} if snapshot is not None else {}
        sqlite_file = snapshot.sqlite_file if snapshot is not None else None
        with app_of_its_own(path, config, sqlite_file) as app:
            if snapshot is None:
                summary = load_demo(size="small", seed=seed)
                _db.session.commit()
                snapshot = _DEMO_SNAPSHOTS[seed] = _take_snapshot(path, app, summary)
                if shared is not None:
                    partial = shared.with_suffix(".partial")
                    partial.write_bytes(pickle.dumps(snapshot, protocol=pickle.HIGHEST_PROTOCOL))
                    partial.replace(shared)
            elif snapshot.copy_data is not None:
                _copy_in(snapshot.copy_data)
            stack.close()  # the snapshot is there: the other workers need not wait for this module
            yield app, snapshot.summary


def outbox() -> list:
    """The outbox, oldest first, as the test's session sees it (its own writes included)."""
    from adoption.models import OutboxMessage

    return list(_db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def committed_outbox() -> list:
    """The outbox, oldest first, as the database holds it once the test's own writes are
    committed (a request of the test client writes through a session of its own)."""
    _db.session.commit()
    return outbox()


def csrf_token(client, path: str) -> str:
    """The CSRF token of the form on the page at ``path``."""
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


@pytest.fixture
def db(app):
    """The SQLAlchemy handle, bound to the test app's fresh database."""
    return _db


@pytest.fixture
def client(app):
    """A test client whose requests do not share ``g`` or the session with the test; so is any
    other ``app.test_client()`` of a test that asks for this fixture (or ``login_as``)."""
    app.test_client_class = OwnContextClient
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
