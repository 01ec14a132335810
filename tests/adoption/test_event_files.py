"""Event file import: the five formats, rejects, idempotent re-runs, crashes, the CLI, memory."""
from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from adoption.extensions import db as _db
from adoption.models import DailyUsage, EventImport, UsageEvent
from adoption.telemetry import fileimport
from adoption.telemetry.fileimport import FileFormatError, import_events
from adoption.telemetry.formats import FORMATS, RowEvent, RowRejection, read_events
from adoption.telemetry.ingest import judge_event
from tests.factories import make_employee

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
LOGIN_HEADER = ("EVENT_TYPE,TIMESTAMP,REQUEST_ID,USER_ID,API_TYPE,USER_NAME,LOGIN_STATUS,"
                "TIMESTAMP_DERIVED,USER_ID_DERIVED")
JLEE_LONG, JLEE_SHORT = "005Hp00000AbCdEIAV", "005Hp00000AbCdE"


def run(data: bytes, fmt: str, **options) -> tuple[fileimport.FileImportResult, list[dict]]:
    """Import ``data``; returns the result and the rejects file's rows."""
    out = io.StringIO()
    result = import_events(io.BytesIO(data), fmt, rejects=out, **options)
    return result, list(csv.DictReader(io.StringIO(out.getvalue())))


def ndjson(*events: dict) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


def event(n: int, **fields) -> dict:
    value = {"event_id": f"ev-{n}", "occurred_at": "2026-01-05T09:00:00Z", "event_type": "login",
             "crm_user_id": JLEE_LONG}
    value.update(fields)
    return value


def login_row(request_id: str, *, status: str = "LOGIN_NO_ERROR", api_type: str = "", user_id: str = JLEE_SHORT,
              user_id_derived: str = JLEE_LONG, derived: str = "2026-01-05T08:15:12.204Z",
              timestamp: str = "20260105081512.204", kind: str = "Login") -> str:
    return (f'"{kind}","{timestamp}","{request_id}","{user_id}","{api_type}","jlee@example.crm","{status}",'
            f'"{derived}","{user_id_derived}"')


HISTORY_HEADER = "Id,UserId,LoginTime,LoginType,Status,Application,ApiType,SourceIp"


def history_row(history_id: str, *, login_type: str = "Application", status: str = "Success",
                application: str = "Browser", api_type: str = "N/A", user_id: str = JLEE_LONG,
                login_time: str = "2026-01-05T08:15:12.000+0000") -> str:
    return f"{history_id},{user_id},{login_time},{login_type},{status},{application},{api_type},198.51.100.7"


def login_file(*rows: str, header: str = LOGIN_HEADER) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode()


def stored() -> dict[str, UsageEvent]:
    return {e.event_id: e for e in _db.session.scalars(select(UsageEvent))}


def daily_usage() -> set[tuple]:
    return {(d.day, d.employee_id, d.event_type, d.events) for d in _db.session.scalars(select(DailyUsage))}


# --- the documented examples -------------------------------------------------------------------

@pytest.mark.parametrize(("name", "fmt", "event_type", "accepted"), [
    ("events.ndjson", "ndjson", None, 3),
    ("events.csv", "csv", None, 3),
    ("salesforce-login.csv", "salesforce-login", None, 4),
    ("salesforce-login-history.csv", "salesforce-login-history", None, 5),
    ("salesforce-tasks.csv", "salesforce-records", "activity_logged", 4),
])
def test_each_documented_example_file_imports_without_rejects(db, name, fmt, event_type, accepted):
    with (EXAMPLES / name).open("rb") as stream:
        result = import_events(stream, fmt, event_type=event_type)
    assert (result.accepted, result.duplicates, result.rejected) == (accepted, 0, 0)
    assert len(stored()) == accepted


# --- ndjson and csv ----------------------------------------------------------------------------

def test_ndjson_rejects_bad_lines_with_their_physical_line_numbers(db):
    data = (ndjson(event(1)) + b"\n" + b"{not json\n" + ndjson(event(2, occurred_at="yesterday"))
            + b"\xff\xfe\n" + ndjson(event(3)))
    result, rejects = run(data, "ndjson")
    assert (result.rows, result.accepted, result.rejected) == (5, 2, 3)
    assert [(r["line"], r["code"], r["field"]) for r in rejects] == [
        ("3", "invalid_json", ""), ("4", "invalid_timestamp", "occurred_at"), ("5", "invalid_encoding", "")]
    assert rejects[1]["event_id"] == "ev-2" and rejects[1]["message"]


def test_csv_columns_are_the_api_fields_and_empty_cells_are_absent(db):
    data = (b"event_id,occurred_at,event_type,object_type,client,user_email,properties\n"
            b'c-1,2026-01-05T09:00:00+01:00,opportunity_updated,Opportunity,mobile,Ann@Acme.example,"{""stage"": ""won""}"\n'
            b"c-2,2026-01-05T10:00:00Z,login,,,ann@acme.example,\n")
    result, rejects = run(data, "csv")
    assert rejects == []
    assert (result.accepted, result.rejected) == (2, 0)
    events = stored()
    assert events["c-1"].properties == {"stage": "won"}
    assert events["c-1"].occurred_at.isoformat() == "2026-01-05T08:00:00"
    assert events["c-2"].object_type is None and events["c-2"].client is None and events["c-2"].properties is None


def test_csv_row_rejects_name_the_line_with_the_header_as_line_one(db):
    data = ("\ufeffevent_id,occurred_at,event_type,crm_user_id,properties\n"
            "c-1,2026-01-05T09:00:00Z,login,u1,{broken\n"
            "c-2,2026-01-05T09:00:00Z,login,u1\n"
            "c-3,2026-01-05T09:00:00Z,login,,\n"
            "c-4,2026-01-05T09:00:00Z,login,u1,[1]\n"
            "c-5,2026-01-05T09:00:00Z,login,u1,\n").encode() + b"c-6,2026-01-05T09:00:00Z,login,\xff,\n"
    result, rejects = run(data, "csv")
    assert (result.rows, result.accepted, result.rejected) == (6, 1, 5)
    assert [(r["line"], r["event_id"], r["code"], r["field"]) for r in rejects] == [
        ("2", "c-1", "invalid_json", "properties"), ("3", "", "invalid_row", ""),
        ("4", "c-3", "missing_field", "actor"), ("5", "c-4", "invalid_type", "properties"),
        ("7", "", "invalid_encoding", "")]
    assert set(stored()) == {"c-5"}


def test_csv_quoted_line_breaks_keep_later_line_numbers_physical(db):
    data = (b'event_id,occurred_at,event_type,crm_user_id,properties\n'
            b'c-1,2026-01-05T09:00:00Z,login,u1,"{""note"":\n""two lines""}"\n'
            b'c-2,not-a-time,login,u1,\n')
    result, rejects = run(data, "csv")
    assert result.accepted == 1
    assert [(r["line"], r["code"]) for r in rejects] == [("4", "invalid_timestamp")]


def test_csv_unknown_columns_are_a_whole_file_error(db):
    data = b"event_id,occurred_at,event_type,user_email,stage,Owner\ne1,2026-01-05T09:00:00Z,login,a@b.c,won,x\n"
    with pytest.raises(FileFormatError, match="unknown columns: stage, Owner"):
        import_events(io.BytesIO(data), "csv")
    assert stored() == {}


def test_csv_missing_columns_are_a_whole_file_error(db):
    with pytest.raises(FileFormatError, match="missing columns: occurred_at"):
        import_events(io.BytesIO(b"event_id,event_type,user_email\n"), "csv")
    with pytest.raises(FileFormatError, match="at least one of crm_user_id"):
        import_events(io.BytesIO(b"event_id,occurred_at,event_type\n"), "csv")
    with pytest.raises(FileFormatError, match="empty"):
        import_events(io.BytesIO(b""), "csv")


def test_unknown_format_and_misplaced_event_type_are_file_errors(db):
    with pytest.raises(FileFormatError, match="unknown format"):
        import_events(io.BytesIO(ndjson(event(1))), "xml")
    with pytest.raises(FileFormatError, match="only meaningful for salesforce-records"):
        import_events(io.BytesIO(ndjson(event(1))), "ndjson", event_type="login")
    with pytest.raises(FileFormatError, match="needs an event type"):
        import_events(io.BytesIO(b"Id,CreatedById,CreatedDate\n"), "salesforce-records")
    assert stored() == {}


# --- salesforce-login --------------------------------------------------------------------------

def test_salesforce_login_failed_and_api_logins_are_stored_but_not_qualifying(db):
    jlee = make_employee(crm_user_id=JLEE_LONG)
    db.session.commit()
    data = login_file(login_row("R1"), login_row("R2", status="LOGIN_ERROR_INVALID_PASSWORD"),
                      login_row("R3", api_type="E"))
    result, rejects = run(data, "salesforce-login")
    assert rejects == []
    assert (result.accepted, result.rejected) == (3, 0)
    events = stored()
    ok, failed, api = events["sf-login:R1"], events["sf-login:R2"], events["sf-login:R3"]
    assert all(e.employee_id == jlee.id and e.event_type == "login" for e in (ok, failed, api))
    assert (ok.qualifying, ok.client) == (True, "ui")
    assert (failed.qualifying, failed.properties["login_status"]) == (False, "LOGIN_ERROR_INVALID_PASSWORD")
    assert (api.qualifying, api.client, api.properties["api_type"]) == (False, "api", "E")
    # Only the successful interactive login counts as use.
    assert {(emp, kind, n) for _, emp, kind, n in daily_usage()} == {(jlee.id, "login", 1)}


def test_salesforce_15_and_18_character_user_ids_resolve_to_the_same_employee(db):
    jlee = make_employee(crm_user_id=JLEE_LONG)
    db.session.commit()
    data = login_file(login_row("R1"), login_row("R2", user_id_derived=""))
    run(data, "salesforce-login")
    events = stored()
    assert events["sf-login:R2"].crm_user_id == JLEE_SHORT
    assert events["sf-login:R1"].employee_id == events["sf-login:R2"].employee_id == jlee.id
    records = b"Id,CreatedById,CreatedDate\n00THp00000Xy1AbCDE,005Hp00000AbCdE,2026-01-05T08:15:12.000+0000\n"
    run(records, "salesforce-records", event_type="activity_logged")
    assert stored()["sf-record:00THp00000Xy1AbCDE:created"].employee_id == jlee.id


def test_salesforce_login_falls_back_to_timestamp_and_user_id(db):
    header = "EVENT_TYPE,TIMESTAMP,REQUEST_ID,USER_ID,API_TYPE,USER_NAME,LOGIN_STATUS"
    data = login_file('"Login","20260105081512.204","R1","005Hp00000AbCdE","","jlee@example.crm","LOGIN_NO_ERROR"',
                      header=header)
    result, _ = run(data, "salesforce-login")
    assert result.accepted == 1
    login = stored()["sf-login:R1"]
    assert (login.occurred_at_raw, login.crm_user_id) == ("2026-01-05T08:15:12.204Z", JLEE_SHORT)
    # The same login read from TIMESTAMP_DERIVED is the same event: a duplicate, not a conflict.
    again, rejects = run(login_file(login_row("R1", user_id_derived="")), "salesforce-login")
    assert rejects == []
    assert (again.accepted, again.duplicates, again.rejected) == (0, 1, 0)


def test_salesforce_login_rejects_other_event_types_and_bad_rows_per_row(db):
    data = login_file(login_row("R1", kind="Logout"), login_row(""), login_row("R3", derived="05/01/2026"),
                      login_row("R4", derived="", timestamp=""), login_row("R5"))
    result, rejects = run(data, "salesforce-login")
    assert (result.accepted, result.rejected) == (1, 4)
    assert [(r["line"], r["event_id"], r["code"], r["field"]) for r in rejects] == [
        ("2", "sf-login:R1", "unsupported_event_type", "EVENT_TYPE"), ("3", "", "missing_field", "REQUEST_ID"),
        ("4", "sf-login:R3", "invalid_timestamp", "TIMESTAMP_DERIVED"),
        ("5", "sf-login:R4", "missing_field", "TIMESTAMP_DERIVED")]


def test_salesforce_login_missing_columns_are_listed(db):
    with pytest.raises(FileFormatError) as error:
        import_events(io.BytesIO(b'"EVENT_TYPE","REQUEST_ID","USER_NAME"\n"Login","R1","x"\n'), "salesforce-login")
    message = str(error.value)
    for name in ("LOGIN_STATUS", "API_TYPE", "TIMESTAMP_DERIVED or TIMESTAMP", "USER_ID_DERIVED or USER_ID"):
        assert name in message
    assert stored() == {}


# --- salesforce-login-history ------------------------------------------------------------------

def test_login_history_counts_people_in_the_browser_and_the_mobile_app_only(db):
    jlee = make_employee(crm_user_id=JLEE_LONG)
    db.session.commit()
    data = login_file(
        history_row("0YaA00000000001"),
        history_row("0YaA00000000002", status="Invalid Password"),
        history_row("0YaA00000000003", login_type="Remote Access 2.0", application="Salesforce for iOS"),
        history_row("0YaA00000000004", login_type="Remote Access 2.0", application="Order Sync"),
        history_row("0YaA00000000005", login_type="Other Apex API", application="N/A"),
        history_row("0YaA00000000006", login_type="Application", api_type="SOAP Partner"),
        history_row("0YaA00000000007", login_type="SAML Idp Initiated SSO", login_time="2026-01-06T07:00:00.000Z"),
        header=HISTORY_HEADER)
    result, rejects = run(data, "salesforce-login-history")
    assert rejects == []
    assert (result.accepted, result.rejected) == (7, 0)
    events = stored()
    seen = {key.removeprefix("sf-login-history:"): (e.client, e.qualifying) for key, e in events.items()}
    assert seen == {
        "0YaA00000000001": ("ui", True), "0YaA00000000002": ("ui", False),
        "0YaA00000000003": ("mobile", True), "0YaA00000000004": ("integration", False),
        "0YaA00000000005": ("api", False), "0YaA00000000006": ("api", False),
        "0YaA00000000007": ("ui", True)}
    assert all(e.employee_id == jlee.id and e.event_type == "login" for e in events.values())
    failed = events["sf-login-history:0YaA00000000002"]
    assert failed.properties == {"login_status": "Invalid Password", "login_type": "Application",
                                 "application": "Browser"}
    assert events["sf-login-history:0YaA00000000006"].properties["api_type"] == "SOAP Partner"
    # The source IP is not an event field and is not kept anywhere.
    assert not any("198.51.100.7" in json.dumps(e.properties) for e in events.values())
    # Browser, mobile app and single sign-on logins count: two on the 5th, one on the 6th.
    assert daily_usage() == {(dt.date(2026, 1, 5), jlee.id, "login", 2), (dt.date(2026, 1, 6), jlee.id, "login", 1)}


def test_login_history_ids_in_15_or_18_characters_are_the_same_event(db):
    first, _ = run(login_file(history_row("0YaHp00000AbC1dKAF"), header=HISTORY_HEADER), "salesforce-login-history")
    assert list(stored()) == ["sf-login-history:0YaHp00000AbC1d"]
    # A later export with 15-character ids (and another date style) only repeats what is stored.
    again, rejects = run(login_file(history_row("0YaHp00000AbC1d", login_time="2026-01-05T08:15:12.000Z"),
                                    header=HISTORY_HEADER), "salesforce-login-history")
    assert rejects == []
    assert (first.accepted, again.accepted, again.duplicates) == (1, 0, 1)


def test_login_history_rejects_rows_without_an_id_a_user_or_a_usable_time(db):
    data = login_file(history_row(""), history_row("0YaA00000000002", login_time=""),
                      history_row("0YaA00000000003", login_time="1/5/2026 8:15 AM"),
                      history_row("0YaA00000000004", user_id=""), history_row("0YaA00000000005"),
                      header=HISTORY_HEADER)
    result, rejects = run(data, "salesforce-login-history")
    assert (result.accepted, result.rejected) == (1, 4)
    assert [(r["line"], r["event_id"], r["code"], r["field"]) for r in rejects] == [
        ("2", "", "missing_field", "Id"),
        ("3", "sf-login-history:0YaA00000000002", "missing_field", "LoginTime"),
        ("4", "sf-login-history:0YaA00000000003", "invalid_timestamp", "LoginTime"),
        ("5", "sf-login-history:0YaA00000000004", "missing_field", "UserId")]
    assert list(stored()) == ["sf-login-history:0YaA00000000005"]


def test_login_history_missing_columns_are_listed_and_the_setup_download_is_named(db):
    setup_download = b"Username,Login Time,Source IP,Login Type,Status,Browser\nj@x,1/5/2026 8:15 AM,1.2.3.4,x,Success,y\n"
    with pytest.raises(FileFormatError) as error:
        import_events(io.BytesIO(setup_download), "salesforce-login-history")
    message = str(error.value)
    for name in ("Id", "UserId", "LoginTime", "LoginType", "ApiType", "Application"):
        assert name in message.split(" (")[0]
    assert "Setup" in message
    assert stored() == {}


# --- salesforce-records ------------------------------------------------------------------------

def test_salesforce_records_make_an_event_per_creation_and_one_per_later_modification(db):
    data = (b"ID,Subject,CREATEDBYID,CREATEDDATE,LASTMODIFIEDBYID,LASTMODIFIEDDATE\n"
            b"00THp00000Xy1AbCDE,Call,005Hp00000AbCdEIAV,2026-01-05T08:15:12.000+0000,005Hp00000AbCdEIAV,2026-01-05T08:15:12.000Z\n"
            b"006Hp00000Op1AbCDE,Deal,005Hp00000AbCdEIAV,2026-01-05T10:00:00.000-0500,005Hp00000FgHiJIAV,2026-01-07T09:30:00.000+0000\n")
    result, rejects = run(data, "salesforce-records", event_type="activity_logged")
    assert rejects == []
    assert (result.rows, result.accepted, result.rejected) == (2, 3, 0)
    events = stored()
    task = events["sf-record:00THp00000Xy1AbCDE:created"]
    assert (task.event_type, task.object_type, task.occurred_at_raw) == (
        "activity_logged", "Task", "2026-01-05T08:15:12.000Z")
    update = events["sf-record:006Hp00000Op1AbCDE:modified:2026-01-07T09:30:00.000Z"]
    assert (update.event_type, update.object_type, update.crm_user_id) == (
        "record_updated", "Opportunity", "005Hp00000FgHiJIAV")
    assert events["sf-record:006Hp00000Op1AbCDE:created"].occurred_at_raw == "2026-01-05T15:00:00.000Z"
    # A later export in the other date style is the same events; a new modification adds one.
    later = data.replace(b"+0000", b"Z") + (
        b"006Hp00000Op1AbCDE,Deal,005Hp00000AbCdEIAV,2026-01-05T10:00:00.000-0500,005Hp00000AbCdEIAV,2026-01-09T11:00:00.000Z\n")
    again, _ = run(later, "salesforce-records", event_type="activity_logged")
    assert (again.accepted, again.duplicates, again.rejected) == (1, 4, 0)


def test_salesforce_records_reject_bad_dates_and_need_their_columns(db):
    data = (b"Id,CreatedById,CreatedDate,LastModifiedDate\n"
            b"00T000000000001,005000000000001,5 Jan 2026,2026-01-06T10:00:00.000+0000\n"
            b",005000000000001,2026-01-05T10:00:00.000+0000,\n"
            b"00T000000000003,005000000000001,2026-01-05T10:00:00.000+0000,tomorrow\n")
    result, rejects = run(data, "salesforce-records", event_type="activity_logged")
    assert result.accepted == 2  # row 2's modification, row 4's creation
    assert [(r["line"], r["code"], r["field"]) for r in rejects] == [
        ("2", "invalid_timestamp", "CreatedDate"), ("3", "missing_field", "Id"),
        ("4", "invalid_timestamp", "LastModifiedDate")]
    with pytest.raises(FileFormatError, match="missing columns .*: CreatedById, CreatedDate"):
        import_events(io.BytesIO(b"Id,Subject\n1,x\n"), "salesforce-records", event_type="activity_logged")


# --- idempotency, conflicts, crashes, gzip -----------------------------------------------------

def test_reimporting_the_same_file_gives_only_duplicates(db):
    make_employee(crm_user_id=JLEE_LONG)
    db.session.commit()
    data = ndjson(*(event(n) for n in range(25)))
    first, _ = run(data, "ndjson", batch_size=10)
    before = (len(stored()), daily_usage())
    second, rejects = run(data, "ndjson", batch_size=10)
    assert (first.accepted, second.accepted, second.duplicates, second.rejected) == (25, 0, 25, 0)
    assert (len(stored()), daily_usage()) == before
    assert rejects == []


def test_same_event_id_with_other_content_is_a_conflict_in_the_rejects_file(db):
    run(ndjson(event(1)), "ndjson")
    result, rejects = run(ndjson(event(2), event(1, event_type="report_viewed")), "ndjson")
    assert (result.accepted, result.rejected) == (1, 1)
    assert [(r["line"], r["event_id"], r["code"]) for r in rejects] == [("2", "ev-1", "conflict")]
    assert stored()["ev-1"].event_type == "login"


def test_a_crash_mid_file_keeps_committed_batches_and_a_rerun_converges(db, monkeypatch):
    make_employee(crm_user_id=JLEE_LONG)
    db.session.commit()
    data = ndjson(*(event(n, occurred_at=f"2026-01-{5 + n % 3:02d}T09:00:00Z") for n in range(25)))
    real_store, calls = fileimport.store_batch, []

    def crash_on_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("power cut")
        return real_store(*args, **kwargs)

    monkeypatch.setattr(fileimport, "store_batch", crash_on_second_batch)
    with pytest.raises(RuntimeError):
        import_events(io.BytesIO(data), "ndjson", batch_size=10)
    db.session.rollback()
    assert set(stored()) == {f"ev-{n}" for n in range(10)}
    monkeypatch.setattr(fileimport, "store_batch", real_store)

    rerun = import_events(io.BytesIO(data), "ndjson", batch_size=10)
    assert (rerun.accepted, rerun.duplicates) == (15, 10)
    after_crash = ({(e.event_id, e.employee_id, e.qualifying) for e in stored().values()}, daily_usage())
    # A clean run from an empty store ends in the same state.
    db.session.execute(DailyUsage.__table__.delete())
    db.session.execute(UsageEvent.__table__.delete())
    db.session.commit()
    import_events(io.BytesIO(data), "ndjson", batch_size=10)
    assert ({(e.event_id, e.employee_id, e.qualifying) for e in stored().values()}, daily_usage()) == after_crash


def test_gzip_files_are_detected_and_read(db):
    result, _ = run(gzip.compress(ndjson(event(1), event(2))), "ndjson")
    assert result.accepted == 2
    with (EXAMPLES / "salesforce-tasks.csv").open("rb") as f:
        result, _ = run(gzip.compress(f.read()), "salesforce-records", event_type="activity_logged")
    assert result.accepted == 4


def test_a_truncated_gzip_file_is_a_whole_file_error_and_nothing_is_stored(db):
    data = gzip.compress(ndjson(*(event(n) for n in range(50))))
    with pytest.raises(FileFormatError, match="not valid gzip"):
        import_events(io.BytesIO(data[:-20]), "ndjson", batch_size=5)
    assert stored() == {}


def test_progress_reports_bytes_and_rows_after_each_batch(db):
    data = ndjson(*(event(n) for n in range(25)))
    calls = []
    import_events(io.BytesIO(data), "ndjson", batch_size=10, progress=lambda b, r: calls.append((b, r)))
    assert [rows for _, rows in calls] == [10, 20, 25]
    assert calls[-1][0] == len(data)


def test_import_id_is_recorded_on_each_event(db):
    record = EventImport(filename="x.ndjson", format="ndjson")
    db.session.add(record)
    db.session.commit()
    import_events(io.BytesIO(ndjson(event(1))), "ndjson", import_id=record.id)
    assert stored()["ev-1"].import_id == record.id


# --- the CLI -----------------------------------------------------------------------------------

def test_cli_imports_a_file_and_prints_the_counts_last(app, db, tmp_path):
    source = tmp_path / "events.ndjson"
    source.write_bytes(ndjson(event(1), event(2)) + b"oops\n")
    rejects = tmp_path / "rejects.csv"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["ingest-events", str(source), "--format", "ndjson", "--rejects", str(rejects)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == "accepted=2 duplicates=0 rejected=1"
    rows = list(csv.DictReader(rejects.open(encoding="utf-8")))
    assert [(r["line"], r["code"]) for r in rows] == [("3", "invalid_json")]
    record = db.session.scalars(select(EventImport)).one()
    assert (record.status, record.format, record.filename, record.accepted, record.rejected, record.rows) == (
        "done", "ndjson", "events.ndjson", 2, 1, 3)
    assert record.finished_at is not None
    assert {e.import_id for e in stored().values()} == {record.id}

    again = runner.invoke(args=["ingest-events", str(source), "--format", "ndjson"])
    assert again.exit_code == 0
    assert again.stdout.strip().splitlines()[-1] == "accepted=0 duplicates=2 rejected=1"


def test_cli_whole_file_error_exits_non_zero_with_the_reason(app, db, tmp_path):
    source = tmp_path / "logins.csv"
    source.write_text("EVENT_TYPE,REQUEST_ID\nLogin,R1\n")
    result = app.test_cli_runner().invoke(args=["ingest-events", str(source), "--format", "salesforce-login"])
    assert result.exit_code != 0
    assert "missing columns" in result.output and "LOGIN_STATUS" in result.output
    record = db.session.scalars(select(EventImport)).one()
    assert record.status == "failed" and "LOGIN_STATUS" in record.error
    assert stored() == {}


def test_cli_event_type_is_required_for_records_and_refused_otherwise(app, db):
    runner = app.test_cli_runner()
    records = str(EXAMPLES / "salesforce-tasks.csv")
    missing = runner.invoke(args=["ingest-events", records, "--format", "salesforce-records"])
    assert missing.exit_code != 0 and "--event-type is required" in missing.output
    refused = runner.invoke(args=["ingest-events", str(EXAMPLES / "events.ndjson"), "--format", "ndjson",
                                  "--event-type", "login"])
    assert refused.exit_code != 0 and "--event-type is only for" in refused.output
    ok = runner.invoke(args=["ingest-events", records, "--format", "salesforce-records",
                             "--event-type", "activity_logged"])
    assert ok.exit_code == 0
    assert ok.stdout.strip().splitlines()[-1] == "accepted=4 duplicates=0 rejected=0"


# --- robustness and memory ---------------------------------------------------------------------

_HEADERS = [b"", b"event_id,occurred_at,event_type,crm_user_id,properties\n", LOGIN_HEADER.encode() + b"\n",
            HISTORY_HEADER.encode() + b"\n",
            b"Id,CreatedById,CreatedDate,LastModifiedById,LastModifiedDate\n"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from(FORMATS), header=st.sampled_from(_HEADERS),
       body=st.one_of(st.binary(max_size=400),
                      st.text(alphabet=st.sampled_from(list('ab,"\r\n{}:\x00\\ 0123Z-T.+é\udc80')), max_size=200)
                      .map(lambda s: s.encode("utf-8", "surrogatepass"))))
def test_no_bytes_make_a_reader_raise_anything_but_a_file_format_error(fmt, header, body):
    try:
        rows = list(read_events(io.BytesIO(header + body), fmt,
                                event_type="activity_logged" if fmt == "salesforce-records" else None))
    except FileFormatError:
        return
    lines = [row.line for row in rows]
    assert lines == sorted(lines) and all(line >= 1 for line in lines)
    for row in rows:
        assert isinstance(row, (RowEvent, RowRejection))
        if isinstance(row, RowEvent):
            judge_event(0, row.value, dt.datetime(2026, 1, 1), None)


def _peak_bytes(tmp_path: Path, rows: int) -> int:
    """Peak traced memory while importing a CSV of ``rows`` events (made before tracing starts)."""
    source = tmp_path / f"events-{rows}.csv"
    with source.open("w", encoding="utf-8", newline="") as f:
        f.write("event_id,occurred_at,event_type,crm_user_id\n")
        for n in range(rows):
            f.write(f"m{rows}-{n},2026-01-{1 + n % 28:02d}T09:00:00Z,login,{JLEE_LONG if n % 2 else 'nobody'}\n")
    with source.open("rb") as stream:
        tracemalloc.start()
        try:
            import_events(stream, "csv", rejects=io.StringIO())
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


def test_import_memory_does_not_grow_with_the_file(db, tmp_path):
    make_employee(crm_user_id=JLEE_LONG)
    db.session.commit()
    _peak_bytes(tmp_path, 1500)  # warm caches (compiled statements) outside the comparison
    small, large = _peak_bytes(tmp_path, 2000), _peak_bytes(tmp_path, 20_000)
    # A leak of even ~100 bytes a row (a set of the ids seen) would add 2 MB at 20,000 rows.
    assert large < small * 1.3 + 1_000_000, (small, large)
