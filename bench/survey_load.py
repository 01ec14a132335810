"""Survey load benchmark: employees submitting a 12-question pulse at once, against a minimal form.

    python bench/survey_load.py                       # fresh SQLite file; 200 clients, 60 s measured
    python bench/survey_load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test_f
    python bench/survey_load.py --duration 20 --clients 50 --workers 4 --threads 4 --keep-alive 75
    python bench/survey_load.py --phases survey --py-spy    # where the workers spend their time
    python bench/survey_load.py --clients 12 --profile      # in-process: CPU per submission, cProfile, SQL statements

**PostgreSQL: the database named by ``--database-url`` is wiped** (its ``public`` schema is
dropped and re-created; the database is created first if it does not exist).

Setup (untimed): a fresh database migrated with ``flask_migrate.upgrade``; an organization of
``--clients`` x ``--accounts`` employees in 10 teams, each with an employee account
(``adoption.accounts``); and
``--rounds`` one-off surveys of the same 12 questions (nine 1-5 agreement scales, two of them with a
comment box, a 0-10, a single choice, a free text) built, activated and scheduled with the survey
services, all open today. One response per employee per round is the rule, so each submission
needs a fresh (employee, round): every client plays ``--accounts`` employees in turn, and the
survey budget (``UPTAKE_SURVEY_BUDGET_ROUNDS``) is raised so all the rounds are offered to everyone.

Phases, each served by gunicorn on 127.0.0.1 with the same settings (``gthread`` workers,
``--workers`` x ``--threads``) and driven by the same client: a warm-up (at least ``--warmup``
seconds, and until every client has gone round the loop once, so the closed loop is in its
steady state), then ``--duration`` measured seconds, after which every client finishes the
submission it is in. By default baseline, survey, baseline again (the machine's load drifts: the ratio is taken
against the mean of the two baselines, both printed):

1. **baseline** -- bench/_baseline_app.py: a minimal Flask app whose Flask-WTF form of 12 fields
   (CSRF token in the session cookie) is fetched with a GET and posted back, then redirects;
2. **survey** -- the app: each client signs in as each of its employees once (before the clock
   starts), then loops over the rounds, and within a round over its employees: GET
   ``/surveys/rounds/<id>`` (the answer form; its CSRF token is read from the page), POST the
   answers, expect the redirect to the round's "submitted" page.

The client is ``--client-processes`` processes of threads (one per client), one
``requests.Session`` per employee, no pause between requests; redirects are not
followed. Any exception or unexpected status is an error. Per phase it prints the submissions
answered per second in the measured window, the latency of those POSTs (p50/p95/p99) and of
their GETs, errors, and the CPU seconds of each gunicorn worker, of the client and of the whole
machine in the window; then the ratio survey/baseline of the rates (goal >= 0.5), and the same
ratio computed from the server CPU per submission (what the rate ratio would be were the server
alone on the cores). Afterwards it checks the database: responses and participations match the
successful submissions one for one, nobody has two participations in a round, every response has
its 11 scored answers, and the 3 free texts per response are in ``comments``. It exits with 1 when
a check fails or a client ran out of (employee, round) pairs before the end. Results: docs/performance.md.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import multiprocessing as mp
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from ingest import free_port, machine

GOAL = 0.5
TEAMS = 10
PASSWORD = "bench-password-1"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
LIKERT_WORDING = (
    "I have the tools I need to record my customer work in the CRM.",
    "My manager uses the CRM in our one-to-ones.",
    "Updating the CRM helps me sell.",
    "I know how to find an account's history in the CRM.",
    "The CRM training prepared me for my daily tasks.",
    "I trust the numbers in the CRM pipeline.",
    "I have time in my week to keep the CRM current.",
    "Feedback I give about the CRM leads to changes.",
    "I would be disappointed if we went back to spreadsheets.",
)
CHOICE_OPTIONS = ("Daily", "A few times a week", "Weekly", "Rarely")
#: Scored answers per response (nine 1-5, one 0-10, one choice) and free texts per response
#: (the text question and two comment boxes), which go to ``comments``.
SCORED_PER_RESPONSE, TEXTS_PER_RESPONSE, COMMENT_BOXES = 11, 3, 2


# --- setup --------------------------------------------------------------------------------------

def question_specs():
    """The survey's 12 questions: nine 1-5 scales (the first two with a comment box), a 0-10,
    a single choice and a free text."""
    from surveys.services import QuestionSpec

    specs = [QuestionSpec(wording=w, scale="likert5", allow_comment=i < COMMENT_BOXES)
             for i, w in enumerate(LIKERT_WORDING)]
    specs.append(QuestionSpec(wording="How likely are you to recommend the CRM to a colleague?", scale="nps11"))
    specs.append(QuestionSpec(wording="How often do you open the CRM?", scale="single", options=CHOICE_OPTIONS))
    specs.append(QuestionSpec(wording="What one change would help you most?", scale="text"))
    return specs


def make_app(url: str, instance: Path):
    """The app bound to ``url`` (in this process, for setup and the checks)."""
    from adoption import create_app

    return create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": str(instance)})


def ensure_postgres_database(url: str) -> None:
    """Create the PostgreSQL database of ``url`` when it does not exist (from the ``postgres`` one)."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        psycopg.connect(dsn).close()
        return
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
    maintenance = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{parsed.database}"')


def setup_database(url: str, instance: Path, employees: int, n_rounds: int):
    """Migrate an empty database and build the organization, the accounts and the rounds open today.

    Returns (logins: e-mail → employee id, rounds: list of (round id, form fields)), where each
    form field is (name, scale, options, has a comment box) as the answer form names it.
    """
    from flask_migrate import upgrade
    from sqlalchemy import text
    from werkzeug.security import generate_password_hash

    from adoption.accounts import create_user
    from adoption.extensions import db
    from adoption.models import Employee
    from adoption.org import ensure_unit, start_membership
    from adoption.timekeeping import org_today
    from surveys.services import activate_survey, create_survey, schedule_rounds

    app = make_app(url, instance)
    today = org_today(app.config["ORG_TIMEZONE"])  # the day the server will judge rounds by
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(directory=str(ROOT / "adoption" / "migrations"))
        rng = random.Random(7)
        root = ensure_unit("Bench Co")
        teams = [ensure_unit(f"Bench Co/Sales/Team {i + 1:02d}") for i in range(TEAMS)]
        # Sign-in happens before the clock starts, but 200 scrypt checks would still cost the
        # server ~15 s of CPU: every account gets one cheap PBKDF2 hash (a bench-only shortcut).
        password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
        logins = {}
        for n in range(employees):
            started = today - dt.timedelta(days=rng.randrange(120, 3650))  # all three tenure bands
            unit = teams[n % TEAMS]
            employee = Employee(unit=unit, hr_id=f"B{n:05d}", email=f"employee{n:04d}@bench.example",
                                full_name=f"Employee {n}", title="Account Executive", start_date=started,
                                active=True, is_executive=False)
            db.session.add(employee)
            db.session.flush()
            start_membership(employee, unit, started)
            user = create_user(employee.email, "employee")
            user.password_hash = password_hash
            logins[employee.email] = employee.id
        leader = create_user("leader@bench.example", "change_leader")
        specs = question_specs()
        rounds = []
        for k in range(n_rounds):
            # One-off surveys that opened over the last two weeks and stay open for two months.
            survey = create_survey(title=f"Bench pulse {k + 1:03d}", created_by=leader, audience_units=[root],
                                   questions=specs, first_opens_on=today - dt.timedelta(days=1 + k % 14),
                                   round_length_days=60)
            activate_survey(survey)
            (survey_round,) = schedule_rounds(survey, today)
            fields = [(f"q{rq.id}", rq.question.scale, tuple(rq.question.options), rq.question.allow_comment)
                      for rq in survey_round.questions]
            rounds.append((survey_round.id, fields))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return logins, rounds


# --- the server ---------------------------------------------------------------------------------

@contextlib.contextmanager
def gunicorn(target: str, chdir: Path, env: dict[str, str], workers: int, threads: int, keep_alive: int,
             log: Path, ready_path: str):
    """Serve ``target`` with gunicorn on a free port of 127.0.0.1; yields (port, process), stops it after."""
    import requests

    port = free_port()
    # Each worker imports the app after it is forked (several seconds for this one): until all
    # have, the first ones ready would accept every keep-alive connection and keep it. A hook
    # marks each worker ready; the clients connect once all are.
    ready_dir = log.with_suffix(".ready")
    ready_dir.mkdir()
    config = log.with_suffix(".conf.py")
    config.write_text("import os, pathlib\n\n\ndef post_worker_init(worker):\n"
                      f"    pathlib.Path({str(ready_dir)!r}, str(os.getpid())).touch()\n")
    command = [sys.executable, "-m", "gunicorn", "--config", str(config),
               "--workers", str(workers), "--worker-class", "gthread",
               "--threads", str(threads), "--keep-alive", str(keep_alive), "--backlog", "2048",
               "--bind", f"127.0.0.1:{port}", "--chdir", str(chdir), "--log-level", "warning", target]
    with log.open("w") as out:
        server = subprocess.Popen(command, env=dict(os.environ, **env), stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300  # the app takes seconds to import, minutes on a busy machine
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}{ready_path}", timeout=5)
                break
            except requests.RequestException:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start; see {log}") from None
                time.sleep(0.2)
        while len(list(ready_dir.iterdir())) < workers:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn workers did not start; see {log}")
            time.sleep(0.1)
        yield port, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def children(pid: int) -> list[int]:
    """The child process ids of ``pid`` (gunicorn's workers)."""
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid`` (all its threads)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU jiffies of the whole machine so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


# --- the client ---------------------------------------------------------------------------------

def answers_for(rng: random.Random, fields) -> dict[str, str]:
    """Random answers to every question of a round, with every comment box filled in."""
    data = {}
    for name, scale, options, has_comment in fields:
        if scale == "likert5":
            data[name] = str(rng.randint(1, 5))
        elif scale == "nps11":
            data[name] = str(rng.randint(0, 10))
        elif scale == "single":
            data[name] = rng.choice(options)
        else:
            data[name] = rng.choice(("More time for updates.", "Fewer mandatory fields.",
                                     "Training on forecasting.", "A better mobile app."))
        if has_comment:
            data[f"{name}-comment"] = rng.choice(("Logging a call takes too many clicks.",
                                                  "The pipeline view saves me time.", "Search is slow."))
    return data


class Tally:
    """What one client process saw: latencies, successes, errors (thread-safe appends)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.post_ms: list[float] = []
        self.get_ms: list[float] = []
        self.submitted: list[tuple[str, int]] = []
        self.done_at: list[float] = []  # monotonic time of each successful POST's answer
        self.errors: list[str] = []
        self.ran_out = 0
        self.last_end = 0.0

    def success(self, key: tuple[str, int], get_ms: float, post_ms: float) -> None:
        """Record a successful submission (employee e-mail and round id for the survey)."""
        with self.lock:
            self.submitted.append(key)
            self.get_ms.append(get_ms)
            self.post_ms.append(post_ms)
            self.done_at.append(time.monotonic())

    def error(self, message: str) -> None:
        """Count an error, keeping its message."""
        with self.lock:
            self.errors.append(message[:300])


def timed(call, *args, **kwargs):
    """(milliseconds, result) of one HTTP call."""
    started = time.perf_counter()
    result = call(*args, **kwargs)
    return (time.perf_counter() - started) * 1000, result


def token_of(html: str) -> str | None:
    """The CSRF token in a page, if any."""
    match = CSRF.search(html)
    return match.group(1) if match else None


def sign_in(session, base: str, email: str) -> None:
    """Sign in through the login form; raises when it fails."""
    page = session.get(f"{base}/login", timeout=300)
    token = token_of(page.text)
    response = session.post(f"{base}/login", data={"csrf_token": token, "email": email, "password": PASSWORD,
                                                   "submit": "Sign in"}, allow_redirects=False, timeout=300)
    if response.status_code != 302:
        raise RuntimeError(f"sign-in of {email}: HTTP {response.status_code}")
    mine = session.get(f"{base}/surveys/", timeout=300)  # warms the worker's templates and queries
    if mine.status_code != 200:
        raise RuntimeError(f"/surveys/ for {email}: HTTP {mine.status_code}")


class Clock:
    """The phase's shared timing: when the measured window opens (set by the driver once every
    employee has gone round the loop once) and how many have."""

    def __init__(self, context, duration: float) -> None:
        self.duration = duration
        self.window_start = context.Value("d", 0.0)
        self.opened = context.Event()
        self.round_trips = context.Value("i", 0)

    def over(self) -> bool:
        """True once the measured window has closed: time to stop starting submissions."""
        return self.opened.is_set() and time.monotonic() >= self.window_start.value + self.duration

    def went_round(self) -> None:
        """Count a client's first submission attempt, whatever came of it."""
        with self.round_trips.get_lock():
            self.round_trips.value += 1


def survey_employee(sessions, base: str, emails: list[str], rounds, clock: Clock, tally: Tally, seed: int) -> None:
    """One client answering the rounds one after the other as each of its signed-in employees in
    turn, until the window closes: GET the form, POST the answers."""
    rng = random.Random(seed)

    def submit(session, email: str, round_id: int, fields) -> None:
        url = f"{base}/surveys/rounds/{round_id}"
        try:
            get_ms, page = timed(session.get, url, allow_redirects=False, timeout=300)
            token = token_of(page.text) if page.status_code == 200 else None
            if token is None or f'name="{fields[0][0]}"' not in page.text:
                tally.error(f"GET {url}: HTTP {page.status_code} {page.headers.get('Location', '')}")
                return
            data = answers_for(rng, fields)
            data.update(csrf_token=token, send="Submit")
            post_ms, response = timed(session.post, url, data=data, allow_redirects=False, timeout=300)
        except Exception as exc:  # noqa: BLE001 - every failure counts as an error
            tally.error(f"{url}: {type(exc).__name__}: {exc}")
            return
        location = response.headers.get("Location", "")
        if response.status_code != 302 or not location.endswith(f"/surveys/rounds/{round_id}/submitted"):
            tally.error(f"POST {url}: HTTP {response.status_code} -> {location or response.text[:200]}")
            return
        tally.success((email, round_id), get_ms, post_ms)

    first = True
    for round_id, fields in rounds:
        for session, email in zip(sessions, emails):
            if clock.over():
                return
            submit(session, email, round_id, fields)
            if first:
                clock.went_round()
                first = False
    if not clock.over():
        with tally.lock:
            tally.ran_out += 1


def baseline_answers(rng: random.Random) -> dict[str, str]:
    """Random answers to the baseline form's 12 fields."""
    data = {f"q{i}": str(rng.randint(1, 5)) for i in range(1, 10)}
    data.update(q10=str(rng.randint(0, 10)), q11=rng.choice(("Daily", "Weekly", "Monthly", "Never")),
                q12="More time for updates.")
    return data


def baseline_employee(session, base: str, clock: Clock, tally: Tally, seed: int) -> None:
    """GET the baseline form, POST 12 answers, until the window closes."""
    rng = random.Random(seed)
    url = f"{base}/form"

    def submit() -> None:
        try:
            get_ms, page = timed(session.get, url, allow_redirects=False, timeout=300)
            token = token_of(page.text) if page.status_code == 200 else None
            if token is None:
                tally.error(f"GET {url}: HTTP {page.status_code}")
                return
            data = baseline_answers(rng)
            data.update(csrf_token=token, send="Submit")
            post_ms, response = timed(session.post, url, data=data, allow_redirects=False, timeout=300)
        except Exception as exc:  # noqa: BLE001 - every failure counts as an error
            tally.error(f"{url}: {type(exc).__name__}: {exc}")
            return
        if response.status_code != 302 or not response.headers.get("Location", "").endswith("/thanks"):
            tally.error(f"POST {url}: HTTP {response.status_code}")
            return
        tally.success(("", 0), get_ms, post_ms)

    first = True
    while not clock.over():
        submit()
        if first:
            clock.went_round()
            first = False


def client_process(kind: str, port: int, people: list[list[str]], rounds, clock: Clock, seed: int,
                   ready, go, results) -> None:
    """(Child process) one thread per client, with a session per employee it plays: prepare (sign
    in), wait for the start, run, report."""
    import requests

    base = f"http://127.0.0.1:{port}"
    tally = Tally()
    sessions = [[requests.Session() for _ in emails] for emails in people]

    def prepare(i: int) -> None:
        for session, email in zip(sessions[i], people[i]):
            try:
                if kind == "survey":
                    sign_in(session, base, email)
                else:
                    session.get(f"{base}/form", timeout=300)
            except Exception as exc:  # noqa: BLE001
                tally.error(f"prepare {email}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=prepare, args=(i,)) for i in range(len(people))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ready.put(len(tally.errors))
    go.wait()
    cpu = []

    def measure_cpu() -> None:
        """This process's CPU seconds at the start and the end of the measured window."""
        clock.opened.wait()
        for moment in (clock.window_start.value, clock.window_start.value + clock.duration):
            time.sleep(max(0.0, moment - time.monotonic()))
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu.append(usage.ru_utime + usage.ru_stime)

    def run(i: int) -> None:
        if kind == "survey":
            survey_employee(sessions[i], base, people[i], rounds, clock, tally, seed + i)
        else:
            baseline_employee(sessions[i][0], base, clock, tally, seed + i)
        with tally.lock:
            tally.last_end = max(tally.last_end, time.monotonic())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(people))]
    threads.append(threading.Thread(target=measure_cpu))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put({"post_ms": tally.post_ms, "get_ms": tally.get_ms, "submitted": tally.submitted,
                 "done_at": tally.done_at, "errors": tally.errors, "ran_out": tally.ran_out,
                 "last_end": tally.last_end, "cpu": cpu[1] - cpu[0]})


class ServerSample:
    """CPU seconds of each gunicorn worker and busy/total jiffies of the machine, at one moment."""

    def __init__(self, pids: list[int]) -> None:
        self.workers = {p: cpu_seconds(p) for p in pids}
        self.busy, self.total = machine_busy()


def run_load(kind: str, port: int, server_pid: int, people: list[list[str]], rounds, warmup: float,
             duration: float, processes: int, spy: Path | None = None) -> dict:
    """Run the clients (one per list of employees in ``people``) against the server on ``port``: a
    warm-up until every client has tried to submit once (and at least ``warmup`` seconds), then the
    measured ``duration``, after which each client finishes the submission it is in. Returns the tallies.

    With ``spy`` (a folder), py-spy samples every worker during the measured window, writing
    one file of collapsed stacks per worker there.
    """
    context = mp.get_context("spawn")
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    clock = Clock(context, duration)
    groups = [people[i::processes] for i in range(processes)]
    clients = [context.Process(target=client_process,
                               args=(kind, port, group, rounds, clock, 1000 * n, ready, go, results))
               for n, group in enumerate(groups) if group]
    for c in clients:
        c.start()
    prepare_errors = sum(ready.get(timeout=1800) for _ in clients)
    pids = children(server_pid)
    started = time.monotonic()
    go.set()
    # A closed loop reaches its steady state once every client has gone round once.
    while time.monotonic() < started + warmup or clock.round_trips.value < len(people):
        if time.monotonic() > started + 900:
            raise RuntimeError(f"after 15 minutes only {clock.round_trips.value} of {len(people)} clients "
                               "had tried to submit once")
        time.sleep(0.2)
    before = ServerSample(pids)
    clock.window_start.value = time.monotonic()
    clock.opened.set()
    window = (clock.window_start.value, clock.window_start.value + duration)
    spies = [subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(p),
                               "--duration", str(int(duration)), "--rate", "50", "--nonblocking", "--format", "raw",
                               "--output", str(spy / f"worker-{p}.txt")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for p in (pids if spy else [])]
    time.sleep(max(0.0, window[1] - time.monotonic()))
    after = ServerSample(pids)
    for process in spies:
        process.wait()
    reports = [results.get(timeout=1800) for _ in clients]
    for c in clients:
        c.join()
    merged = {key: [x for r in reports for x in r[key]]
              for key in ("post_ms", "get_ms", "submitted", "done_at", "errors")}
    measured = [i for i, t in enumerate(merged["done_at"]) if window[0] < t <= window[1]]
    merged.update(
        warmup=window[0] - started, duration=duration, seconds=max(r["last_end"] for r in reports) - started,
        in_window=len(measured), window_post_ms=[merged["post_ms"][i] for i in measured],
        window_get_ms=[merged["get_ms"][i] for i in measured],
        prepare_errors=prepare_errors, ran_out=sum(r["ran_out"] for r in reports),
        client_cpu=sum(r["cpu"] for r in reports),
        worker_cpu=sorted((after.workers[p] - before.workers[p] for p in pids), reverse=True),
        machine_busy=(after.busy - before.busy) / max(1, after.total - before.total),
    )
    merged["server_cpu"] = sum(merged["worker_cpu"])
    return merged


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile (0-1) of ``values`` by the nearest-rank method."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def report(label: str, result: dict) -> tuple[float, float]:
    """Print one phase's figures; returns (submissions/s, server CPU ms per submission) of the window."""
    n = result["in_window"]
    rate = n / result["duration"]
    post, get = result["window_post_ms"] or [0.0], result["window_get_ms"] or [0.0]
    errors = len(result["errors"]) + result["prepare_errors"]
    print(f"{label}: {rate:,.1f} submissions/s ({n:,} answered in the {result['duration']:.0f} s after "
          f"{result['warmup']:.0f} s of warm-up; {len(result['submitted']):,} in all); errors {errors}")
    print(f"    POST latency ms: p50 {percentile(post, .5):,.0f}  p95 {percentile(post, .95):,.0f}  "
          f"p99 {percentile(post, .99):,.0f}  max {max(post):,.0f};  "
          f"GET form p50 {percentile(get, .5):,.0f}  p95 {percentile(get, .95):,.0f}")
    cpu_ms = 1000 * result["server_cpu"] / n if n else float("nan")
    workers = " / ".join(f"{c:.0f}" for c in result["worker_cpu"])
    print(f"    CPU s in the window: gunicorn workers {result['server_cpu']:.1f} ({workers}), "
          f"{cpu_ms:.1f} ms per submission; client {result['client_cpu']:.1f}; machine busy "
          f"{100 * result['machine_busy']:.0f} % of {os.cpu_count()} cores")
    for message in result["errors"][:5]:
        print(f"    error: {message}")
    return rate, cpu_ms


PROJECT_PACKAGES = ("adoption/", "surveys/", "training/", "dashboards/")


def summarize_stacks(files: list[Path], top: int = 18) -> None:
    """Print where the sampled worker threads were: the project's functions and templates by
    inclusive share of the samples, and the library each sample was in at the leaf."""
    import collections

    total, inclusive, leaves = 0, collections.Counter(), collections.Counter()
    for path in files:
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            total += n
            seen = set()
            for frame in stack.split(";"):
                name, _, where = frame.partition(" (")
                source = where.rsplit(":", 1)[0]
                if source.startswith(PROJECT_PACKAGES) or source.endswith(".html"):
                    label = f"template {source}" if source.endswith(".html") else f"{name} ({source})"
                    if label not in seen:
                        seen.add(label)
                        inclusive[label] += n
            leaf_source = stack.rsplit(";", 1)[-1].partition(" (")[2]
            leaves[leaf_source.split("/", 1)[0] if "/" in leaf_source else leaf_source.split(".py")[0]] += n
    if not total:
        print("py-spy: no samples (is py-spy installed, and may this user trace processes?)")
        return
    print(f"py-spy, {total:,} samples of the workers' busy threads in the window; inclusive share:")
    for label, n in inclusive.most_common(top):
        print(f"  {100 * n / total:5.1f} %  {label}")
    print("  at the leaf: " + ", ".join(f"{name} {100 * n / total:.0f} %" for name, n in leaves.most_common(8)))


# --- the checks ---------------------------------------------------------------------------------

def check_database(url: str, instance: Path, submitted: list[tuple[str, int]], logins: dict[str, int]) -> list[str]:
    """Compare what was stored with the successful submissions; returns the failed checks."""
    from sqlalchemy import text

    from adoption.extensions import db

    expected = {(logins[email], round_id) for email, round_id in submitted}
    failures = []
    app = make_app(url, instance)
    with app.app_context():
        def scalar(sql: str):
            return db.session.scalar(text(sql))

        participations = set(db.session.execute(text("SELECT employee_id, round_id FROM participations")).all())
        n_participations = scalar("SELECT count(*) FROM participations")
        n_responses = scalar("SELECT count(*) FROM responses")
        twice = scalar("SELECT count(*) FROM (SELECT employee_id, round_id FROM participations "
                       "GROUP BY employee_id, round_id HAVING count(*) > 1) AS twice")
        per_round_responses = dict(db.session.execute(text("SELECT round_id, count(*) FROM responses GROUP BY round_id")).all())
        per_round_participations = dict(db.session.execute(
            text("SELECT round_id, count(*) FROM participations GROUP BY round_id")).all())
        n_answers = scalar("SELECT count(*) FROM answers")
        incomplete = scalar(f"SELECT count(*) FROM responses r WHERE (SELECT count(*) FROM answers a "
                            f"WHERE a.response_id = r.id) <> {SCORED_PER_RESPONSE}")
        texts = dict(db.session.execute(text("SELECT kind, count(*) FROM comments GROUP BY kind")).all())
        drafts = scalar("SELECT count(*) FROM response_drafts")
        db.session.remove()
        db.engine.dispose()
    n = len(submitted)
    checks = [
        (f"{n:,} successful submissions, {len(expected):,} distinct (employee, round)", len(expected) == n),
        (f"responses rows {n_responses:,} == submissions", n_responses == n),
        (f"participations rows {n_participations:,} == submissions", n_participations == n),
        ("participations are exactly the (employee, round) pairs submitted", participations == expected),
        (f"employees with two participations in one round: {twice}", twice == 0),
        ("responses per round == participations per round", per_round_responses == per_round_participations),
        ((f"answers rows {n_answers:,} == {SCORED_PER_RESPONSE} x responses; responses without exactly "
          f"{SCORED_PER_RESPONSE}: {incomplete}"), n_answers == SCORED_PER_RESPONSE * n_responses and incomplete == 0),
        ((f"free texts in comments: {texts.get('answer', 0):,} answers + {texts.get('comment', 0):,} "
          f"comment boxes == {TEXTS_PER_RESPONSE} x responses"),
         texts.get("answer", 0) == n_responses and texts.get("comment", 0) == COMMENT_BOXES * n_responses),
        (f"drafts left: {drafts}", drafts == 0),
    ]
    for label, ok in checks:
        print(f"  [{'ok' if ok else 'FAILED'}] {label}")
        if not ok:
            failures.append(label)
    return failures


# --- profiling ---------------------------------------------------------------------------------

def profile(url: str, instance: Path, emails: list[str], rounds, budget_rounds: int) -> None:
    """In-process, with Flask's test client (GET form, POST): first the CPU per submission of the
    app and of the baseline app without a profiler (medians over employees: steadier than the load's
    rates on a shared machine), then cProfile over 10 employees answering every round; prints
    the figures, the SQL statements per request and the profile's top."""
    import cProfile
    import pstats

    app = make_app(url, instance)
    app.config.update(SURVEY_BUDGET_ROUNDS=budget_rounds, LOGIN_RATE_LIMIT="1000000 per minute")
    rng = random.Random(1)

    def signed_in(email):
        client = app.test_client()
        token = token_of(client.get("/login").get_data(as_text=True))
        client.post("/login", data={"csrf_token": token, "email": email, "password": PASSWORD, "submit": "Sign in"})
        return client

    def answer(client, round_id, fields):
        url = f"/surveys/rounds/{round_id}"
        page = client.get(url)
        data = answers_for(rng, fields)
        data.update(csrf_token=token_of(page.get_data(as_text=True)), send="Submit")
        response = client.post(url, data=data)
        assert response.status_code == 302 and response.location.endswith("/submitted"), response.status_code

    def per_employee_cpu(submit_all) -> float:
        """Median over calls of ``submit_all()`` (one employee's submissions) of the CPU ms per submission."""
        samples = []
        for _ in range(20):
            cpu = time.process_time()
            n = submit_all()
            samples.append(1000 * (time.process_time() - cpu) / n)
        return statistics.median(samples)

    if len(emails) < 31:
        raise SystemExit("--profile needs at least 31 employees (--clients x --accounts)")
    answer(signed_in(emails[-1]), *rounds[0])  # warm-up: imports, templates, caches
    unprofiled = iter([signed_in(email) for email in emails[10:30]])

    def one_employee() -> int:
        client = next(unprofiled)
        for survey_round in rounds:
            answer(client, *survey_round)
        return len(rounds)

    app_ms = per_employee_cpu(one_employee)
    os.environ.setdefault("BASELINE_SECRET_KEY", "bench")
    from _baseline_app import app as baseline

    baseline_client = baseline.test_client()

    def baseline_rounds() -> int:
        for _ in rounds:
            page = baseline_client.get("/form")
            data = baseline_answers(rng)
            data.update(csrf_token=token_of(page.get_data(as_text=True)), send="Submit")
            assert baseline_client.post("/form", data=data).status_code == 302
        return len(rounds)

    baseline_rounds()
    baseline_ms = per_employee_cpu(baseline_rounds)
    print(f"In-process CPU per submission (GET form + POST), without a profiler, median of 20 employees x "
          f"{len(rounds)} rounds: app {app_ms:.2f} ms, baseline {baseline_ms:.2f} ms (baseline/app = "
          f"{baseline_ms / app_ms:.3f})")

    statements = {"GET": 0, "POST": 0}
    with app.app_context():
        from sqlalchemy import event

        from adoption.extensions import db

        engine = db.engine

    def count(*_args) -> None:
        from flask import has_request_context, request

        if has_request_context():
            statements[request.method] = statements.get(request.method, 0) + 1

    event.listen(engine, "before_cursor_execute", count)
    clients = [signed_in(email) for email in emails[:10]]
    profiler = cProfile.Profile()
    started, cpu = time.perf_counter(), time.process_time()
    profiler.enable()
    for client in clients:
        for survey_round in rounds:
            answer(client, *survey_round)
    profiler.disable()
    n = len(clients) * len(rounds)
    print(f"{n} submissions in-process (GET form + POST) by {len(clients)} employees over {len(rounds)} rounds, "
          f"with the profiler on: {1000 * (time.perf_counter() - started) / n:.1f} ms wall, "
          f"{1000 * (time.process_time() - cpu) / n:.1f} ms CPU each")
    event.remove(engine, "before_cursor_execute", count)
    print(f"SQL statements per submission: {statements['GET'] / n:.1f} in the GET of the form, "
          f"{statements['POST'] / n:.1f} in the POST")
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(60)


# --- driver -------------------------------------------------------------------------------------

def main() -> int:
    """Parse the options, set up, run the phases, compare, check; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60, help="measured seconds per phase (default 60)")
    parser.add_argument("--warmup", type=float, default=20,
                        help="least seconds of load before the measured ones; the warm-up lasts until every "
                             "client has gone round once (default 20)")
    parser.add_argument("--clients", type=int, default=200,
                        help="simulated clients, each a closed loop without pauses (default 200)")
    parser.add_argument("--accounts", type=int, default=6,
                        help="employees each client signs in as and submits for in turn (default 6): the "
                             "one-response rule needs a fresh (employee, round) per submission, and more "
                             "people rather than more rounds keeps each person's year of rounds realistic")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL URL (the database is WIPED); default: a fresh SQLite file")
    parser.add_argument("--workers", type=int, default=2,
                        help="gunicorn gthread workers (default 2: one per core, docs/operations.md)")
    parser.add_argument("--threads", type=int, default=4,
                        help="threads per gunicorn worker, to overlap database waits (default 4, as "
                             "docs/operations.md recommends: on SQLite 8 contend for the GIL and the write lock)")
    parser.add_argument("--keep-alive", type=int, default=0,
                        help="gunicorn --keep-alive seconds (default 0: a connection per request, as behind a "
                             "proxy; with keep-alive a worker keeps every connection it accepted, and one of two "
                             "workers can end up with nearly all 200)")
    parser.add_argument("--rounds", type=int, default=12,
                        help="open rounds, i.e. the most submissions one employee can make (default 12)")
    parser.add_argument("--client-processes", type=int, default=4,
                        help="client processes the simulated clients are spread over (default 4)")
    parser.add_argument("--phases", default="baseline,survey,baseline",
                        help="phases in order (default baseline,survey,baseline: the baseline is measured "
                             "before and after, and the ratio taken against their mean)")
    parser.add_argument("--py-spy", action="store_true",
                        help="sample the app's workers with py-spy during the measured window (pip install py-spy)")
    parser.add_argument("--profile", action="store_true",
                        help="instead of the load, in-process: CPU per submission of the app and the baseline "
                             "without a profiler, then cProfile 10 employees answering every round, and count "
                             "SQL statements per request")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, logs)")
    args = parser.parse_args()
    phases = args.phases.split(",")
    if set(phases) - {"baseline", "survey"} or phases.count("survey") > 1:
        parser.error("--phases: baseline (any number of times) and survey (at most once)")

    work = Path(tempfile.mkdtemp(prefix="uptake-bench-"))
    instance = work / "instance"
    instance.mkdir()
    url = args.database_url or f"sqlite:///{work / 'bench.db'}"
    database = "PostgreSQL" if args.database_url else "SQLite"
    try:
        print(f"Machine: {machine()}")
        if database == "PostgreSQL":
            ensure_postgres_database(url)
        started = time.perf_counter()
        logins, rounds = setup_database(url, instance, args.clients * args.accounts, args.rounds)
        if database == "PostgreSQL":
            import psycopg

            with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
                print(f"PostgreSQL {conn.info.server_version // 10000}.{conn.info.server_version % 10000}")
        print(f"{database}: {args.clients * args.accounts:,} employees with accounts in {TEAMS} teams, {len(rounds)} open rounds "
              f"of 12 questions (set up in {time.perf_counter() - started:.0f} s)")
        keep_alive = f"keep-alive {args.keep_alive} s" if args.keep_alive else "no keep-alive"
        print(f"Server: gunicorn {args.workers} gthread workers x {args.threads} threads, {keep_alive}, 127.0.0.1; "
              f"client: {args.clients} threads in {args.client_processes} processes, each signed in as "
              f"{args.accounts} employees (a requests session each); "
              f"warm-up of at least {args.warmup:.0f} s, then {args.duration:.0f} s measured per phase")
        emails = sorted(logins)
        people = [emails[i * args.accounts:(i + 1) * args.accounts] for i in range(args.clients)]
        if args.profile:
            profile(url, instance, emails, rounds, len(rounds))
            return 0
        baselines, survey, failed = [], None, []
        for n, phase in enumerate(phases, start=1):
            if phase == "baseline":
                with gunicorn("_baseline_app:app", BENCH, {"BASELINE_SECRET_KEY": "bench"}, args.workers,
                              args.threads, args.keep_alive, work / f"baseline{n}.log", "/form") as (port, process):
                    result = run_load("baseline", port, process.pid, people, None, args.warmup, args.duration,
                                      args.client_processes)
                baselines.append(report(f"{n}. baseline (minimal Flask-WTF form, 12 fields)", result))
                if result["errors"] or result["prepare_errors"]:
                    failed.append("baseline errors")
                continue
            env = {"UPTAKE_DATABASE_URL": url, "UPTAKE_SECRET_KEY": "bench", "UPTAKE_INSTANCE_PATH": str(instance),
                   "UPTAKE_LOGIN_RATE_LIMIT": "1000000 per minute",
                   "UPTAKE_SURVEY_BUDGET_ROUNDS": str(len(rounds))}
            with gunicorn("wsgi:app", ROOT, env, args.workers, args.threads, args.keep_alive, work / "survey.log",
                          "/login") as (port, process):
                spy = work / "py-spy" if args.py_spy else None
                if spy:
                    spy.mkdir()
                result = run_load("survey", port, process.pid, people, rounds, args.warmup, args.duration,
                                  args.client_processes, spy)
            survey = report(f"{n}. survey (the app, {database})", result)
            errors = len(result["errors"]) + result["prepare_errors"]
            locked = sum("locked" in e for e in result["errors"])
            log_text = (work / "survey.log").read_text(errors="replace")
            if locked or "database is locked" in log_text:
                print(f"    'database is locked': {locked} client errors, "
                      f"{log_text.count('database is locked')} mentions in the server log")
            if result["ran_out"]:
                print(f"    {result['ran_out']} clients answered all {len(rounds)} rounds as each of their "
                      f"employees before the end: raise --accounts")
                failed.append("ran out of rounds")
            if errors:
                failed.append(f"{errors} errors")
            if spy:
                summarize_stacks(sorted(spy.iterdir()))
            print("Checks:")
            failed += check_database(url, instance, result["submitted"], logins)
        if baselines and survey is not None:
            rate = statistics.mean(b[0] for b in baselines)
            cpu_ms = statistics.mean(b[1] for b in baselines)
            ratio = survey[0] / rate
            verdict = "meets" if ratio >= GOAL else "MISSES"
            spread = f" (mean of {' and '.join(f'{b[0]:,.1f}' for b in baselines)})" if len(baselines) > 1 else ""
            print(f"ratio survey/baseline = {survey[0]:,.1f} / {rate:,.1f}{spread} = {ratio:.3f}  "
                  f"({verdict} the goal of >= {GOAL})")
            print(f"server CPU per submission: baseline {cpu_ms:.1f} ms, survey {survey[1]:.1f} ms "
                  f"(baseline/survey = {cpu_ms / survey[1]:.3f}, the ratio were the server alone on the cores)")
        if failed:
            print(f"FAILED: {'; '.join(failed)}")
            return 1
        print("all checks passed")
        return 0
    finally:
        if args.keep:
            print(f"Kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
