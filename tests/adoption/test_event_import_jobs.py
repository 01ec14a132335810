"""Event file imports from the UI: background jobs in-process and on a real Celery worker."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adoption import create_app, jobs
from adoption.models import EventImport, UsageEvent
from adoption.telemetry.jobs import run_event_import
from tests.factories import DEFAULT_PASSWORD, make_user

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
# A queue of this run's own, so its worker cannot take anybody else's tasks (nor they its).
QUEUE = f"uptake-test-{uuid.uuid4().hex[:12]}"


def _event(n: int, **overrides) -> dict:
    event = {"event_id": f"ev-{n}", "occurred_at": "2024-05-01T09:00:00Z", "event_type": "login",
             "user_email": "someone@acme.example"}
    event.update(overrides)
    return event


def _ndjson(*events: dict) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


# Three good events, one repeated (a duplicate) and one without its event_id (rejected).
SAMPLE = _ndjson(_event(1), _event(2), _event(3), _event(1), {**_event(9), "event_id": None})


def _upload(client, data: bytes = SAMPLE, fmt: str = "ndjson", filename: str = "events.ndjson", **extra):
    form = {"file": (io.BytesIO(data), filename), "format": fmt, **extra}
    return client.post("/imports/", data=form, content_type="multipart/form-data")


def _finish_jobs(db) -> None:
    """Wait for the in-process jobs, then drop the test session's (now stale) view of the rows."""
    assert jobs.wait_for_local_jobs(timeout=30)
    db.session.rollback()


def _wait_done(client, db, import_id: int, timeout: float = 60) -> dict:
    """Poll the status endpoint like the page does, until the import ends."""
    deadline = time.monotonic() + timeout
    while True:
        # The test client shares the test's session; a real request starts with a fresh one.
        db.session.rollback()
        status = client.get(f"/imports/{import_id}/status.json").get_json()
        if status["status"] in ("done", "failed") or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


@pytest.fixture(autouse=True)
def _no_leftover_jobs():
    """A test's in-process jobs end before its database goes away."""
    yield
    assert jobs.wait_for_local_jobs(timeout=30)


# ----------------------------------------------------------------------- in-process


def test_change_leader_upload_runs_in_process_and_ends_done_with_counts(client, db, login_as):
    login_as("change_leader")
    response = _upload(client)
    assert response.status_code == 302
    record = db.session.scalars(select(EventImport)).one()
    assert response.headers["Location"].endswith(f"/imports/{record.id}")
    _finish_jobs(db)

    status = client.get(f"/imports/{record.id}/status.json").get_json()
    assert {k: status[k] for k in ("status", "rows", "accepted", "duplicates", "rejected", "progress", "error")} == {
        "status": "done", "rows": 5, "accepted": 3, "duplicates": 1, "rejected": 1, "progress": 1.0, "error": None}
    assert status["bytes_read"] == status["size_bytes"] == len(SAMPLE)
    page = client.get(f"/imports/{record.id}").get_data(as_text=True)
    assert 'data-testid="import-status">Done<' in page
    assert re.search(r'data-testid="import-accepted">3<', page)
    assert db.session.scalar(select(func.count()).select_from(UsageEvent).where(UsageEvent.import_id == record.id)) == 3


def test_upload_is_stored_in_the_instance_folder_under_its_id(app, client, db, login_as):
    login_as("admin")
    _upload(client, filename="../../My events.ndjson")
    record = db.session.scalars(select(EventImport)).one()
    assert record.upload_path == f"imports/{record.id}-My_events.ndjson"
    assert (Path(app.instance_path) / record.upload_path).read_bytes() == SAMPLE
    assert record.filename == "../../My events.ndjson" and record.size_bytes == len(SAMPLE)
    assert record.created_by_id is not None and record.task_id == jobs.local_runner_id()


def test_rejects_csv_of_a_done_import_lists_the_rejected_rows(client, db, login_as):
    login_as("change_leader")
    _upload(client)
    _finish_jobs(db)
    record = db.session.scalars(select(EventImport)).one()
    status = client.get(f"/imports/{record.id}/status.json").get_json()
    assert status["rejects_url"] == f"/imports/{record.id}/rejects.csv"

    response = client.get(status["rejects_url"])
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["line", "event_id", "code", "field", "message"]
    assert len(rows) == 2 and rows[1][0] == "5" and rows[1][3] == "event_id"  # the row without its id
    assert 'data-testid="rejects-link"' in client.get(f"/imports/{record.id}").get_data(as_text=True)


def test_import_without_rejections_offers_no_rejects_file(client, db, login_as):
    login_as("change_leader")
    _upload(client, data=_ndjson(_event(1), _event(2)))
    _finish_jobs(db)
    record = db.session.scalars(select(EventImport)).one()
    assert client.get(f"/imports/{record.id}/status.json").get_json()["rejects_url"] is None
    assert client.get(f"/imports/{record.id}/rejects.csv").status_code == 404


def test_import_list_shows_past_imports_with_status_and_counts(client, db, login_as):
    login_as("change_leader")
    _upload(client)
    _finish_jobs(db)
    cli_import = EventImport(filename="from-the-cli.csv", format="csv", status="done", rows=7, accepted=7)
    db.session.add(cli_import)
    db.session.commit()
    page = client.get("/imports/").get_data(as_text=True)
    assert "events.ndjson" in page and "from-the-cli.csv" in page and "command line" in page
    table = page[page.index('data-testid="event-imports"'):]
    assert table.count(">Done<") == 2


@pytest.mark.parametrize("role", ["employee", "manager", "executive"])
def test_other_roles_get_403_on_every_import_page(client, db, login_as, role):
    record = EventImport(filename="x.ndjson", format="ndjson", status="done")
    db.session.add(record)
    db.session.commit()
    login_as(role)
    for path in ("/imports/", f"/imports/{record.id}", f"/imports/{record.id}/status.json",
                 f"/imports/{record.id}/rejects.csv"):
        assert client.get(path).status_code == 403, path
    assert _upload(client).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(EventImport)) == 1


def test_signed_out_visitor_is_sent_to_login(client):
    response = client.get("/imports/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_salesforce_records_upload_needs_an_event_type(client, db, login_as):
    login_as("change_leader")
    response = _upload(client, fmt="salesforce-records", filename="tasks.csv")
    assert response.status_code == 400
    assert "needs the event type" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(EventImport)) == 0


def test_event_type_is_refused_for_formats_that_carry_their_own(client, db, login_as):
    login_as("change_leader")
    response = _upload(client, event_type="activity_logged")
    assert response.status_code == 400
    assert "Only a Salesforce records export takes an event type" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(EventImport)) == 0


def test_salesforce_records_upload_keeps_its_event_type(client, db, login_as):
    login_as("change_leader")
    data = b"Id,CreatedById,CreatedDate\n00T000000000001AAA,005000000000001AAA,2024-05-01T09:00:00.000Z\n"
    response = _upload(client, data=data, fmt="salesforce-records", filename="tasks.csv", event_type="activity_logged")
    assert response.status_code == 302
    _finish_jobs(db)
    record = db.session.scalars(select(EventImport)).one()
    assert (record.format, record.event_type, record.status) == ("salesforce-records", "activity_logged", "done")
    assert record.accepted == 1


def test_salesforce_login_history_is_offered_and_imported_from_the_upload_page(client, db, login_as):
    login_as("change_leader")
    page = client.get("/imports/").get_data(as_text=True)
    assert '<option value="salesforce-login-history">Salesforce LoginHistory export</option>' in page
    # The page says what the file needs, from the reader's own list of columns.
    help_table = page.split('data-testid="event-formats"', 1)[1].split("</details>", 1)[0]
    assert "Id, UserId, LoginTime, Status, LoginType, ApiType, Application" in help_table
    assert "not the download on Setup" in help_table
    data = (PROJECT_ROOT / "docs" / "examples" / "salesforce-login-history.csv").read_bytes()
    response = _upload(client, data=data, fmt="salesforce-login-history", filename="LoginHistory.csv")
    assert response.status_code == 302
    _finish_jobs(db)
    record = db.session.scalars(select(EventImport)).one()
    assert (record.format, record.status, record.accepted, record.rejected) == ("salesforce-login-history", "done", 5, 0)


def test_upload_without_a_file_is_refused(client, db, login_as):
    login_as("change_leader")
    response = client.post("/imports/", data={"format": "ndjson"}, content_type="multipart/form-data")
    assert response.status_code == 400 and "Choose a file" in response.get_data(as_text=True)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_upload_form_needs_its_csrf_token(client, db):
    user = make_user("change_leader")
    db.session.commit()

    def token(path: str) -> str:
        html = client.get(path).get_data(as_text=True)
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)

    client.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD, "csrf_token": token("/login")})
    assert _upload(client).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(EventImport)) == 0
    assert _upload(client, csrf_token=token("/imports/")).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(EventImport)) == 1


@pytest.mark.parametrize("app_config", [{"MAX_CONTENT_LENGTH": 100, "EVENT_IMPORT_MAX_BYTES": 10_000}])
def test_upload_has_its_own_size_limit_above_the_apps(client, db, login_as):
    login_as("change_leader")
    assert _upload(client).status_code == 302  # SAMPLE is over 100 bytes, under 10,000
    assert _upload(client, data=b"\n" * 20_000).status_code == 413
    assert db.session.scalar(select(func.count()).select_from(EventImport)) == 1


# ------------------------------------------------------------------------- failures


def _stored_import(app, db, data: bytes, fmt: str = "ndjson", **fields) -> EventImport:
    record = EventImport(filename="f", format=fmt, status="queued", size_bytes=len(data), **fields)
    db.session.add(record)
    db.session.flush()
    record.upload_path = f"imports/{record.id}-f"
    path = Path(app.instance_path) / record.upload_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    db.session.commit()
    return record


def test_unreadable_file_marks_the_import_failed_with_the_reason(app, db):
    # A Login EventLogFile without its columns is a whole-file problem, not a per-row one.
    record = _stored_import(app, db, b"NOT,THE,COLUMNS\n1,2,3\n", fmt="salesforce-login")
    run_event_import(record.id)
    db.session.refresh(record)
    assert record.status == "failed" and record.finished_at is not None
    assert record.error.startswith("The file cannot be imported: ")
    assert record.accepted == 0


def test_crash_mid_import_marks_it_failed_and_keeps_the_committed_batches(app, db, monkeypatch):
    from adoption.telemetry import fileimport

    real = fileimport.import_events

    def crashing(stream, fmt, **kwargs):
        """The real import in batches of 2, with the disk failing after the first batch."""
        record_progress = kwargs["progress"]

        def progress(bytes_read, rows):
            record_progress(bytes_read, rows)
            raise OSError("disk on fire")

        return real(stream, fmt, **{**kwargs, "progress": progress, "batch_size": 2})

    monkeypatch.setattr(fileimport, "import_events", crashing)
    record = _stored_import(app, db, _ndjson(*(_event(n) for n in range(1, 6))))
    run_event_import(record.id)
    db.session.refresh(record)
    assert record.status == "failed"
    assert "disk on fire" in record.error and "OSError" in record.error
    assert record.accepted == 2 and record.rows == 2
    assert db.session.scalar(select(func.count()).select_from(UsageEvent)) == 2


def test_rerun_of_an_interrupted_import_counts_its_earlier_events_as_accepted(app, db):
    record = _stored_import(app, db, SAMPLE)
    run_event_import(record.id)
    # As if the worker died after storing everything: the redelivered job finds it running.
    record.status, record.accepted, record.finished_at = "running", 0, None
    db.session.commit()
    run_event_import(record.id)
    db.session.refresh(record)
    assert (record.status, record.accepted, record.duplicates, record.rejected) == ("done", 3, 1, 1)


def test_finished_import_is_not_run_again(app, db):
    record = _stored_import(app, db, SAMPLE)
    run_event_import(record.id)
    db.session.refresh(record)
    finished = record.finished_at
    run_event_import(record.id)
    db.session.refresh(record)
    assert record.finished_at == finished and record.accepted == 3


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_import_left_running_by_a_dead_process_is_shown_as_interrupted(app, client, db, login_as):
    login_as("change_leader")
    host_pid = jobs.local_runner_id().rsplit(":", 1)[0]
    record = _stored_import(app, db, SAMPLE, task_id=f"{host_pid}:{_dead_pid()}")
    record.status = "running"
    db.session.commit()
    status = client.get(f"/imports/{record.id}/status.json").get_json()
    assert status["status"] == "failed" and status["error"].startswith("Interrupted")
    db.session.refresh(record)
    assert record.status == "failed" and record.finished_at is not None


def test_import_running_in_a_live_process_or_on_celery_is_left_alone(app, client, db, login_as):
    login_as("change_leader")
    alive = _stored_import(app, db, SAMPLE, task_id=jobs.local_runner_id())
    celery_task = _stored_import(app, db, SAMPLE, task_id=str(uuid.uuid4()))
    for record in (alive, celery_task):
        record.status = "running"
    db.session.commit()
    for record in (alive, celery_task):
        assert client.get(f"/imports/{record.id}/status.json").get_json()["status"] == "running"


@pytest.mark.parametrize("app_config", [{"CELERY_BROKER_URL": "redis://127.0.0.1:1/0"}])
def test_upload_when_the_broker_is_down_keeps_the_file_and_marks_the_import_failed(app, client, db, login_as):
    login_as("change_leader")
    response = _upload(client)
    assert response.status_code == 302
    record = db.session.scalars(select(EventImport)).one()
    db.session.refresh(record)
    assert record.status == "failed" and "could not be queued" in record.error
    assert (Path(app.instance_path) / record.upload_path).exists()


def test_creating_the_app_with_a_broker_opens_no_connection(tmp_path):
    # Port 1 refuses connections: any attempt to connect at create time would raise.
    app = create_app({"ENV": "testing", "INSTANCE_PATH": str(tmp_path), "CELERY_BROKER_URL": "redis://127.0.0.1:1/0"})
    celery = app.extensions["celery"]
    assert celery.conf.broker_url == "redis://127.0.0.1:1/0"
    assert "telemetry.run_event_import" in celery.tasks


# ------------------------------------------------------------------ a real worker


def _redis_or_skip() -> None:
    """Redis must answer; missing Redis fails under CI and skips elsewhere."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} is unreachable ({exc}): CI must run the Celery worker test")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable ({exc})")


@pytest.fixture
def celery_worker(app):
    """``celery -A adoption.worker worker`` on the test's database, consuming this run's queue."""
    _redis_or_skip()
    env = {**os.environ,
           "UPTAKE_ENV": "testing",
           "UPTAKE_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "UPTAKE_INSTANCE_PATH": app.instance_path,
           "UPTAKE_CELERY_BROKER_URL": REDIS_URL,
           "UPTAKE_CELERY_QUEUE": QUEUE}
    with open(Path(app.instance_path).parent / "worker.log", "w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "adoption.worker", "worker", "--pool", "solo",
             "--queues", QUEUE, "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--loglevel", "INFO", "--hostname", f"{QUEUE}@%h"],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        yield worker
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    import redis

    # Leave no trace of the run's own queue in the shared Redis.
    redis.Redis.from_url(REDIS_URL).delete(QUEUE, f"_kombu.binding.{QUEUE}", f"_kombu.binding_permanent.{QUEUE}")


@pytest.mark.parametrize("app_config", [{"CELERY_BROKER_URL": REDIS_URL, "CELERY_QUEUE": QUEUE}])
def test_import_runs_on_a_real_celery_worker(app, client, db, login_as, celery_worker):
    login_as("change_leader")
    response = _upload(client)
    assert response.status_code == 302
    record = db.session.scalars(select(EventImport)).one()
    db.session.commit()  # end the test's read transaction: the worker updates this row
    assert record.task_id and not record.task_id.startswith(jobs.LOCAL_PREFIX)

    status = _wait_done(client, db, record.id)
    # The task commits "done" before the worker logs that it succeeded: wait for that line too.
    log_path = Path(app.instance_path).parent / "worker.log"
    deadline = time.monotonic() + 15
    while "succeeded" not in (log := log_path.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert celery_worker.poll() is None, log
    assert {k: status[k] for k in ("status", "rows", "accepted", "duplicates", "rejected")} == {
        "status": "done", "rows": 5, "accepted": 3, "duplicates": 1, "rejected": 1}, log
    assert "telemetry.run_event_import" in log and "succeeded" in log
    assert db.session.scalar(select(func.count()).select_from(UsageEvent).where(UsageEvent.import_id == record.id)) == 3
