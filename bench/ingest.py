"""Ingestion benchmark: the HTTP API (under gunicorn) and the file import, against the raw-driver floor.

    python bench/ingest.py [--events 1000000] [--database-url postgresql+psycopg://...]
    python bench/ingest.py --events 20000 --profile 5      # cProfile of the app side, in-process

One run, three phases over the same N events, each starting from an empty events table:

1. **api**   — a client (this process, one persistent HTTP/1.1 connection per ``--clients``)
   POSTs NDJSON batches of 1,000 to ``/api/v1/events`` on gunicorn at 127.0.0.1;
2. **floor** — the same rows go into a scratch table with the same unique index, with the raw
   driver in one transaction (``sqlite3`` ``executemany``; psycopg ``COPY``): the best the
   database can do, preparation of the rows excluded from the time;
3. **file**  — the same events as an NDJSON file through ``fileimport.import_events`` in a child
   process (as ``flask ingest-events`` does), with that process's peak RSS.

It prints events/s of each phase and the ratios api/floor and file/floor (goals: >= 0.5, >= 0.7).
SQLite uses a fresh file in a temporary folder. **PostgreSQL: the database named by
``--database-url`` is wiped (its ``public`` schema is dropped and re-created).**
See docs/performance.md for results and how to read them.
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import hashlib
import http.client
import io
import json
import os
import platform
import pstats
import random
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BATCH = 1000
GOAL_API, GOAL_FILE = 0.5, 0.7
EVENT_TYPES = (("login", 40), ("record_updated", 20), ("record_created", 10), ("activity_logged", 12),
               ("opportunity_updated", 8), ("report_viewed", 9), ("account_plan_updated", 1))
OBJECT_TYPES = {"record_created": "Account", "record_updated": "Contact", "activity_logged": "Task",
                "opportunity_updated": "Opportunity", "report_viewed": "Report", "account_plan_updated": "AccountPlan"}
FLOOR_COLUMNS = ("event_id", "content_hash", "occurred_at_raw", "occurred_at", "received_at", "event_type",
                 "object_type", "client", "properties", "user_email", "crm_user_id", "crm_username",
                 "employee_id", "qualifying", "token_id", "import_id")
# The types of usage_events without its foreign keys (the floor checks no references).
SQLITE_FLOOR_DDL = """
CREATE TABLE bench_floor (
    id INTEGER PRIMARY KEY, event_id VARCHAR(128) NOT NULL, content_hash VARCHAR(64) NOT NULL,
    occurred_at_raw VARCHAR(64) NOT NULL, occurred_at DATETIME NOT NULL, received_at DATETIME NOT NULL,
    event_type VARCHAR(64) NOT NULL, object_type VARCHAR(64), client VARCHAR(16), properties JSON,
    user_email VARCHAR(320), crm_user_id VARCHAR(64), crm_username VARCHAR(320), employee_id INTEGER,
    qualifying BOOLEAN NOT NULL, token_id INTEGER, import_id INTEGER)"""
PG_FLOOR_DDL = """
CREATE TABLE bench_floor (
    id BIGSERIAL PRIMARY KEY, event_id VARCHAR(128) NOT NULL, content_hash VARCHAR(64) NOT NULL,
    occurred_at_raw VARCHAR(64) NOT NULL, occurred_at TIMESTAMP NOT NULL, received_at TIMESTAMP NOT NULL,
    event_type VARCHAR(64) NOT NULL, object_type VARCHAR(64), client VARCHAR(16), properties JSON,
    user_email VARCHAR(320), crm_user_id VARCHAR(64), crm_username VARCHAR(320), employee_id INTEGER,
    qualifying BOOLEAN NOT NULL, token_id INTEGER, import_id INTEGER)"""
FLOOR_INDEXES = ("CREATE UNIQUE INDEX bench_floor_event_id ON bench_floor (event_id)",
                 "CREATE INDEX bench_floor_employee_occurred ON bench_floor (employee_id, occurred_at)")
# Tables an ingest writes to; emptied before each phase.
INGEST_TABLES = ("usage_events", "daily_usage", "rollup_backlog", "weekly_unit_usage",
                 "weekly_unit_behaviours", "event_imports")


def machine() -> str:
    """CPU, cores, memory and software versions, for the report."""
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.1f} GiB RAM"
    return (f"{cpu}, {os.cpu_count()} cores{memory}; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}")


def make_app(url: str, instance: Path):
    """The app bound to ``url`` (in this process, for setup, resets and profiling)."""
    from adoption import create_app

    return create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": str(instance),
                       "EVENTS_RATE_LIMIT": "1000000 per minute"})


def setup_database(url: str, instance: Path) -> tuple[str, dict[str, int]]:
    """Migrate an empty database, import the small demo roster, issue a token.

    Returns the token and the roster's actor keys (CRM user ids and usernames) → employee id.
    """
    from flask_migrate import upgrade
    from sqlalchemy import select, text

    from adoption.demo import CURRENT_EFFECTIVE, build_roster
    from adoption.extensions import db
    from adoption.models import Employee
    from adoption.roster import import_roster
    from adoption.tokens import issue_token

    app = make_app(url, instance)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(directory=str(ROOT / "adoption" / "migrations"))
        roster = build_roster("small", 7)
        import_roster(io.StringIO(roster.current_csv), effective=CURRENT_EFFECTIVE, full=True, force=True)
        _, token = issue_token("bench", "events:write", created_by_id=None)
        db.session.commit()
        keys = {}
        for employee_id, crm_user_id, crm_username in db.session.execute(
                select(Employee.id, Employee.crm_user_id, Employee.crm_username).where(Employee.crm_user_id.is_not(None))):
            keys[crm_user_id] = employee_id
            keys[crm_username] = employee_id
        db.session.remove()
        db.engine.dispose()
    return token, keys


def write_events(path: Path, n: int, keys: dict[str, int], now: dt.datetime, seed: int = 1) -> None:
    """N deterministic events as NDJSON: mostly known CRM ids, some 15-character ids, usernames
    and unknown actors, over the 60 days before ``now``."""
    rng = random.Random(seed)
    ids = sorted(k for k in keys if "@" not in k)
    usernames = sorted(k for k in keys if "@" in k)
    kinds = [k for k, _ in EVENT_TYPES]
    weights = [w for _, w in EVENT_TYPES]
    start = now - dt.timedelta(days=60)
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            kind = rng.choices(kinds, weights)[0]
            when = start + dt.timedelta(seconds=rng.randrange(60 * 86400))
            event = {"event_id": f"bench-{i:09d}", "occurred_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                     "event_type": kind, "client": "integration" if rng.random() < 0.03 else "ui"}
            draw = rng.random()
            if draw < 0.80:
                event["crm_user_id"] = rng.choice(ids)
            elif draw < 0.85:
                event["crm_user_id"] = rng.choice(ids)[:15]
            elif draw < 0.95:
                event["crm_username"] = rng.choice(usernames)
            else:
                event["crm_username"] = f"contractor{rng.randrange(50)}@partner.example"
            if kind in OBJECT_TYPES:
                event["object_type"] = OBJECT_TYPES[kind]
            out.write(json.dumps(event, separators=(",", ":")) + "\n")


def reset_ingest_tables(url: str, instance: Path) -> None:
    """Empty the tables an ingest writes to, so each phase starts alike."""
    from sqlalchemy import text

    from adoption.extensions import db

    app = make_app(url, instance)
    with app.app_context():
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                conn.execute(text(f"TRUNCATE {', '.join(INGEST_TABLES)} RESTART IDENTITY CASCADE"))
                conn.execute(text("DROP TABLE IF EXISTS bench_floor"))
            else:
                for table in INGEST_TABLES:
                    conn.execute(text(f"DELETE FROM {table}"))
                conn.execute(text("DROP TABLE IF EXISTS bench_floor"))
        if db.engine.dialect.name == "sqlite":
            with db.engine.connect() as conn:
                conn.exec_driver_sql("VACUUM")
        else:
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        db.engine.dispose()


def count_events(url: str, instance: Path) -> int:
    """Rows in usage_events."""
    from sqlalchemy import text

    from adoption.extensions import db

    app = make_app(url, instance)
    with app.app_context():
        n = db.session.scalar(text("SELECT count(*) FROM usage_events"))
        db.session.remove()
        db.engine.dispose()
    return n


# --- phase 1: the HTTP API under gunicorn -------------------------------------------------------

def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(url: str, instance: Path, workers: int, log: Path):
    """Serve the app with gunicorn on a free port of 127.0.0.1; yields the port, stops it after."""
    port = free_port()
    env = dict(os.environ, UPTAKE_DATABASE_URL=url, UPTAKE_SECRET_KEY="bench",
               UPTAKE_INSTANCE_PATH=str(instance), UPTAKE_EVENTS_RATE_LIMIT="1000000 per minute")
    # gthread workers keep connections alive (sync workers close each one); one thread per
    # worker, as the client sends one request at a time per connection.
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", "gthread",
               "--threads", "1", "--keep-alive", "60", "--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT),
               "--log-level", "warning", "wsgi:app"]
    with log.open("w") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/login")
                conn.getresponse().read()
                conn.close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start; see {log}") from None
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def batches(path: Path):
    """NDJSON bodies of ``BATCH`` lines each, read from the events file."""
    with path.open("rb") as f:
        lines = []
        for line in f:
            lines.append(line)
            if len(lines) == BATCH:
                yield b"".join(lines)
                lines = []
        if lines:
            yield b"".join(lines)


def run_api(path: Path, port: int, token: str, clients: int) -> tuple[float, int]:
    """POST every batch over persistent connections; returns (seconds, events accepted)."""
    source = batches(path)
    lock = threading.Lock()
    accepted = [0] * clients
    errors: list[str] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}

    def client(slot: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        while not errors:
            with lock:
                body = next(source, None)
            if body is None:
                break
            for attempt in range(3):
                try:
                    conn.request("POST", "/api/v1/events", body, headers)
                    response = conn.getresponse()
                    data = response.read()
                    break
                except (http.client.HTTPException, OSError):
                    # The server may close an idle keep-alive connection: reconnect once or twice.
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
                    if attempt == 2:
                        raise
            if response.status != 200:
                errors.append(f"HTTP {response.status}: {data[:300]!r}")
                break
            result = json.loads(data)
            if result["rejected"]:
                errors.append(f"rejected: {result['rejected'][:3]}")
            accepted[slot] += result["accepted"]
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    if errors:
        raise RuntimeError(errors[0])
    return seconds, sum(accepted)


# --- phase 2: the raw-driver floor --------------------------------------------------------------

def floor_rows(path: Path, keys: dict[str, int], received_at: dt.datetime, sqlite_text: bool):
    """The rows the app would store for the events, in chunks of 100,000 (prepared untimed)."""
    from adoption.telemetry.ingest import canonical_json, parse_rfc3339

    def resolve(event):
        key = event.get("crm_user_id") or event.get("crm_username")
        if key in keys:
            return keys[key]
        if key and len(key) == 15:
            return next((v for k, v in keys.items() if k.startswith(key) and "@" not in k), None)
        return None

    short = {}
    chunk = []
    received = received_at.isoformat(" ") if sqlite_text else received_at
    with path.open("rb") as f:
        for line in f:
            event = json.loads(line)
            key = event.get("crm_user_id")
            if key and len(key) == 15 and key not in short:
                short[key] = resolve(event)
            employee_id = short[key] if key and len(key) == 15 else resolve(event)
            occurred = parse_rfc3339(event["occurred_at"])
            chunk.append((
                event["event_id"], hashlib.sha256(canonical_json(event)).hexdigest(), event["occurred_at"],
                occurred.isoformat(" ") if sqlite_text else occurred, received, event["event_type"],
                event.get("object_type"), event.get("client"), None, None, event.get("crm_user_id"),
                event.get("crm_username"), employee_id, event.get("client") != "integration", 1, None))
            if len(chunk) == 100_000:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def run_floor(path: Path, url: str, keys: dict[str, int], sqlite_file: Path | None) -> tuple[float, int]:
    """Insert the rows into a scratch table in one transaction; returns (seconds, rows)."""
    received_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    elapsed, rows = 0.0, 0
    if sqlite_file is not None:
        conn = sqlite3.connect(sqlite_file, isolation_level=None)
        conn.execute("DROP TABLE IF EXISTS bench_floor")
        conn.execute(SQLITE_FLOOR_DDL)
        for ddl in FLOOR_INDEXES:
            conn.execute(ddl)
        insert = f"INSERT INTO bench_floor ({', '.join(FLOOR_COLUMNS)}) VALUES ({', '.join('?' * len(FLOOR_COLUMNS))})"
        conn.execute("BEGIN")
        for chunk in floor_rows(path, keys, received_at, sqlite_text=True):
            started = time.perf_counter()
            conn.executemany(insert, chunk)
            elapsed += time.perf_counter() - started
            rows += len(chunk)
        started = time.perf_counter()
        conn.execute("COMMIT")
        elapsed += time.perf_counter() - started
        conn.execute("DROP TABLE bench_floor")
        conn.close()
        return elapsed, rows

    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_floor")
        conn.execute(PG_FLOOR_DDL)
        for ddl in FLOOR_INDEXES:
            conn.execute(ddl)
        conn.commit()
        with conn.cursor() as cur:
            for chunk in floor_rows(path, keys, received_at, sqlite_text=False):
                started = time.perf_counter()
                with cur.copy(f"COPY bench_floor ({', '.join(FLOOR_COLUMNS)}) FROM STDIN") as copy:
                    for row in chunk:
                        copy.write_row(row)
                elapsed += time.perf_counter() - started
                rows += len(chunk)
        started = time.perf_counter()
        conn.commit()
        elapsed += time.perf_counter() - started
        conn.execute("DROP TABLE bench_floor")
        conn.commit()
    return elapsed, rows


# --- phase 3: the file import, in a child process ----------------------------------------------

def child_import(path: Path, url: str, instance: Path) -> None:
    """(Child process) import the NDJSON file like ``flask ingest-events``; print JSON timings."""
    from adoption.extensions import db
    from adoption.telemetry.fileimport import import_events

    app = make_app(url, instance)
    with app.app_context():
        rss_before = peak_rss_kb()
        started = time.perf_counter()
        with path.open("rb") as stream:
            result = import_events(stream, "ndjson")
        seconds = time.perf_counter() - started
        db.session.remove()
    print(json.dumps({"seconds": seconds, "accepted": result.accepted, "rejected": result.rejected,
                      "rss_before_kb": rss_before, "peak_rss_kb": peak_rss_kb()}))


def peak_rss_kb() -> int:
    """This process's peak RSS in KiB (VmHWM: unlike ru_maxrss, it does not carry over the
    parent's peak across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_file(path: Path, url: str, instance: Path) -> dict:
    """Run the file import in a child process; returns its report."""
    out = subprocess.run([sys.executable, __file__, "--child-import", str(path), "--database-url", url,
                          "--instance", str(instance)], check=False, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"file import failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- profiling ---------------------------------------------------------------------------------

def profile(path: Path, url: str, instance: Path, token: str, n_batches: int) -> None:
    """cProfile the app side of ``n_batches`` API requests in-process (test client); print the top."""
    app = make_app(url, instance)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    bodies = [b for _, b in zip(range(n_batches + 1), batches(path))]
    client.post("/api/v1/events", data=bodies[0], headers=headers)  # warm-up: imports, caches
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for body in bodies[1:]:
        response = client.post("/api/v1/events", data=body, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
    profiler.disable()
    seconds = time.perf_counter() - started
    print(f"{len(bodies) - 1} batches in-process: {seconds:.2f} s, "
          f"{(len(bodies) - 1) * BATCH / seconds:,.0f} events/s (with the profiler on)")
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)


# --- driver -------------------------------------------------------------------------------------

def main() -> None:
    """Parse the options and run the benchmark (or one of its child roles)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events per phase (default 1,000,000)")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL URL (the database is WIPED); default: a fresh SQLite file")
    parser.add_argument("--phases", default="api,floor,file", help="comma-separated subset of api,floor,file")
    parser.add_argument("--clients", type=int, default=1, help="concurrent connections (and gunicorn workers)")
    parser.add_argument("--profile", type=int, default=0, metavar="BATCHES",
                        help="instead of timing, cProfile this many API batches in-process")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--child-import", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--instance", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child_import:
        child_import(Path(args.child_import), args.database_url, Path(args.instance))
        return

    work = Path(tempfile.mkdtemp(prefix="uptake-bench-"))
    instance = work / "instance"
    instance.mkdir()
    sqlite_file = None if args.database_url else work / "bench.db"
    url = args.database_url or f"sqlite:///{sqlite_file}"
    database = "PostgreSQL" if args.database_url else "SQLite"
    phases = set(args.phases.split(","))
    try:
        print(f"Machine: {machine()}")
        token, keys = setup_database(url, instance)
        if database == "PostgreSQL":
            import psycopg

            with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
                print(f"PostgreSQL {conn.info.server_version // 10000}.{conn.info.server_version % 10000}")
        events = work / "events.ndjson"
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        write_events(events, args.events, keys, now)
        print(f"{database}: {args.events:,} events ({events.stat().st_size / 1e6:.0f} MB of NDJSON), "
              f"batches of {BATCH}, roster of {len(keys) // 2} licensed employees")
        if args.profile:
            profile(events, url, instance, token, args.profile)
            return

        rates = {}
        if "api" in phases:
            reset_ingest_tables(url, instance)
            with gunicorn(url, instance, args.clients, work / "gunicorn.log") as port:
                seconds, accepted = run_api(events, port, token, args.clients)
            stored = count_events(url, instance)
            if accepted != args.events or stored != args.events:
                raise RuntimeError(f"api: {accepted} accepted, {stored} stored of {args.events}")
            rates["api"] = args.events / seconds
            print(f"api   (gunicorn, {args.clients} connection(s)): {seconds:8.1f} s  {rates['api']:>10,.0f} events/s")
        if "floor" in phases:
            reset_ingest_tables(url, instance)
            seconds, rows = run_floor(events, url, keys, sqlite_file)
            rates["floor"] = rows / seconds
            driver = "sqlite3 executemany" if sqlite_file else "psycopg COPY"
            print(f"floor ({driver}): {seconds:8.1f} s  {rates['floor']:>10,.0f} events/s")
        if "file" in phases:
            reset_ingest_tables(url, instance)
            report = run_file(events, url, instance)
            if report["accepted"] != args.events:
                raise RuntimeError(f"file: {report}")
            rates["file"] = args.events / report["seconds"]
            print(f"file  (import_events, NDJSON): {report['seconds']:8.1f} s  {rates['file']:>10,.0f} events/s  "
                  f"peak RSS {report['peak_rss_kb'] / 1024:.0f} MB (after app start {report['rss_before_kb'] / 1024:.0f} MB)")
        if "floor" in rates:
            for phase, goal in (("api", GOAL_API), ("file", GOAL_FILE)):
                if phase in rates:
                    ratio = rates[phase] / rates["floor"]
                    verdict = "meets" if ratio >= goal else "MISSES"
                    print(f"ratio {phase}/floor = {ratio:.3f}  ({verdict} the goal of >= {goal})")
    finally:
        if args.keep:
            print(f"Kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
