"""Moving an organization from the embedded SQLite file to another database (adoption/
database_copy.py, ``flask copy-database``): the demo organization, migrated and loaded into a
SQLite file, is copied into an empty migrated database — PostgreSQL when the suite runs on it, a
second SQLite file otherwise — and the copy must hold every row and answer as the original did."""
from __future__ import annotations

import contextlib
import shutil

import flask_migrate
import pytest
from sqlalchemy import JSON, create_engine, func, select

from adoption import create_app
from adoption.database_copy import CopyError, copy_database
from adoption.demo import DEMO_PASSWORD, load_demo
from adoption.extensions import db
from adoption.models import Employee, OutboxMessage
from tests.conftest import throwaway_database
from tests.factories import make_employee

# It loads the demo for itself (a minute or two): started first (tests/conftest.py).
pytestmark = pytest.mark.long_module

SECRET = "copy-test-secret-0123456789abcdef"  # both sides: author keys and erasure hashes must still match
CHANGE_LEADER = "thiago.santos@acme.example"
EMPTY = "empty-migrated.db"


def app_on(url: str, path):
    return create_app({"ENV": "testing", "INSTANCE_PATH": str(path / "instance"), "DATABASE_URL": url,
                       "SECRET_KEY": SECRET, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})


@contextlib.contextmanager
def migrated(url: str, path):
    """An app on ``url`` with the schema made by the migrations, inside its app context."""
    app = app_on(url, path)
    with app.app_context():
        flask_migrate.upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


def answers(app) -> dict:
    """What the change leader reads through the API: adoption, units, every round's results."""
    client = app.test_client()
    assert client.post("/login", data={"email": CHANGE_LEADER, "password": DEMO_PASSWORD}).status_code == 302
    paths = ["/api/v1/units", "/api/v1/surveys/rounds", "/api/v1/adoption?unit=Acme&start=2026-05-01&end=2026-11-15",
             "/api/v1/adoption?unit=Acme/EMEA&start=2026-09-01&end=2026-11-15"]
    found = {p: client.get(p).get_json() for p in paths}
    for survey_round in found["/api/v1/surveys/rounds"]["rounds"]:
        path = f"/api/v1/surveys/rounds/{survey_round['id']}/results?unit=Acme"
        found[path] = client.get(path).get_json()
    return found


def census(engine) -> dict:
    """Rows per table, and per nullable JSON column how many hold SQL NULL (not JSON null)."""
    found = {}
    with engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            found[table.name] = conn.scalar(select(func.count()).select_from(table))
            for column in table.columns:
                if isinstance(column.type, JSON) and column.nullable:
                    found[f"{table.name}.{column.name} IS NULL"] = conn.scalar(
                        select(func.count()).select_from(table).where(column.is_(None)))
    return found


@pytest.fixture(scope="module")
def moved(tmp_path_factory):
    """The demo in a migrated SQLite file, copied into an empty migrated target:
    ``(source app, target URL, report, census and answers of the source)``."""
    path = tmp_path_factory.mktemp("copy")
    with migrated(f"sqlite:///{path / EMPTY}", path):
        pass  # an empty migrated SQLite file, copied for each SQLite target (faster than migrating)
    shutil.copyfile(path / EMPTY, path / "source.db")
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(migrated(f"sqlite:///{path / 'source.db'}", path))
        load_demo(size="small", seed=7)
        # A report whose manager joined the roster after them (a higher id): the copy's second pass.
        report_first = make_employee("Acme/EMEA", hr_id="LATE-1", email="late1@acme.example")
        report_first.manager = make_employee("Acme/EMEA", hr_id="LATE-2", email="late2@acme.example")
        db.session.commit()
        # Answered first: asking for a round's results prepares its figures (rows the copy must carry).
        answered = answers(source)
        before = census(db.engine), answered
        target_url = stack.enter_context(throwaway_database(path, "uptake_copy"))
        if target_url.startswith("sqlite"):
            shutil.copyfile(path / EMPTY, path / "uptake_copy.db")
        else:
            with migrated(target_url, path):
                pass
        target = create_engine(target_url)
        report = copy_database(db.engine, target, db.metadata)
        target.dispose()
        yield source, target_url, report, before


def empty_target(moved, tmp_path, name: str) -> str:
    """The URL of a fresh empty migrated SQLite file (a copy of the fixture's)."""
    source_folder = moved[0].instance_path.rsplit("/instance", 1)[0]
    shutil.copyfile(f"{source_folder}/{EMPTY}", tmp_path / name)
    return f"sqlite:///{tmp_path / name}"


def test_every_row_of_every_table_arrives(moved):
    _source, target_url, report, (census_before, _answers) = moved
    target = create_engine(target_url)
    census_after = census(target)
    target.dispose()
    assert census_after == census_before
    assert report.rows == {t.name: census_before[t.name] for t in db.metadata.sorted_tables}
    assert report.rows["usage_events"] > 40_000 and report.rows["comments"] > 500


def test_the_copy_answers_as_the_source_did(moved, tmp_path):
    _source, target_url, _report, (_census, answers_before) = moved
    target = app_on(target_url, tmp_path)
    with target.app_context():
        after = answers(target)
        db.session.remove()
        db.engine.dispose()
    assert len(answers_before) >= 10 and after == answers_before


def test_managers_and_parent_units_point_where_they_did(moved, tmp_path):
    """Self-references are filled in a second pass: a manager may have a higher id than their report."""
    _source, target_url, _report, _before = moved
    manager_of = select(Employee.hr_id, Employee.manager_id).order_by(Employee.id)
    source_pairs = list(db.session.execute(manager_of))
    with app_on(target_url, tmp_path).app_context():
        assert list(db.session.execute(manager_of)) == source_pairs
        db.engine.dispose()
    late = dict(db.session.execute(select(Employee.hr_id, Employee.id).where(Employee.hr_id.like("LATE-%"))).all())
    assert dict(source_pairs)["LATE-1"] == late["LATE-2"] > late["LATE-1"]


def test_new_rows_in_the_copy_get_fresh_ids(moved, tmp_path):
    _source, target_url, _report, _before = moved
    with app_on(target_url, tmp_path).app_context():
        highest = db.session.scalar(select(func.max(OutboxMessage.id)))
        message = OutboxMessage(kind="test", recipients=["a@acme.example"], subject="after the move", body="")
        db.session.add(message)
        db.session.commit()
        assert message.id > highest
        db.session.delete(message)
        db.session.commit()
        db.engine.dispose()


def test_a_target_that_holds_data_is_refused(moved):
    _source, target_url, _report, _before = moved
    target = create_engine(target_url)
    # Taken now: the other tests of the module sign in to the copy (a row in its sign-in log).
    census_before = census(target)
    with pytest.raises(CopyError, match="already holds data"):
        copy_database(db.engine, target, db.metadata)
    census_after = census(target)
    target.dispose()
    assert census_after == census_before and census_after["usage_events"] > 40_000


def test_a_target_without_the_schema_is_refused(moved, tmp_path):
    target = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(CopyError, match="migration revision none"):
        copy_database(db.engine, target, db.metadata)
    target.dispose()


def test_a_failure_midway_leaves_the_target_empty_and_a_retry_completes(moved, tmp_path, monkeypatch):
    from adoption import database_copy

    url = empty_target(moved, tmp_path, "target.db")
    real = database_copy._copy_table

    written_before_failing = []

    def fail_at_employees(reading, writing, table):
        if table.name == "employees":  # after the units were written
            written_before_failing.append(writing.scalar(select(func.count()).select_from(db.metadata.tables["org_units"])))
            raise RuntimeError("disk full")
        return real(reading, writing, table)

    monkeypatch.setattr(database_copy, "_copy_table", fail_at_employees)
    target = create_engine(url)
    with pytest.raises(RuntimeError, match="disk full"):
        copy_database(db.engine, target, db.metadata)
    assert written_before_failing[0] > 40 and set(census(target).values()) == {0}
    monkeypatch.setattr(database_copy, "_copy_table", real)
    assert copy_database(db.engine, target, db.metadata).rows["employees"] > 600
    target.dispose()


def test_the_command_copies_into_the_url_given_and_says_how_much(moved, tmp_path):
    source, *_ = moved
    url = empty_target(moved, tmp_path, "by-command.db")
    result = source.test_cli_runner().invoke(args=["copy-database", url])
    assert result.exit_code == 0, result.output
    assert "  usage_events: " in result.output
    assert f"copied: tables={len(db.metadata.sorted_tables)} rows={sum(moved[2].rows.values())} " in result.output
    again = source.test_cli_runner().invoke(args=["copy-database", url])
    assert again.exit_code == 1 and "already holds data" in again.output

