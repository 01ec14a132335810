"""Event files, row by row: one streaming reader per format, no Flask, no database.

Each reader takes a binary stream and yields, in file order, a ``RowEvent`` (an event shaped like
one item of ``POST /api/v1/events``, judged later by ``ingest.judge_event``) or a
``RowRejection`` (a row that cannot become an event, with its physical line number and reason).
A problem with the file as a whole (unknown format, missing or unknown columns, an empty file)
raises ``FileFormatError`` before the first row is yielded. Memory stays constant: lines are read
one at a time and capped at ``MAX_LINE_CHARS``. The formats are documented in docs/telemetry.md.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, BinaryIO

from adoption.telemetry.ingest import FIELDS, MAX_LENGTHS, parse_rfc3339

FORMATS = ("ndjson", "csv", "salesforce-login", "salesforce-login-history", "salesforce-records")
#: Formats whose rows mean what ``--event-type`` says (and only those take one).
NEEDS_EVENT_TYPE = frozenset({"salesforce-records"})
# Longer lines are rejected unread: an event is at most 32 KB, and a file without line breaks
# must not be loaded whole into memory.
MAX_LINE_CHARS = 1024 * 1024

#: Codes of rows rejected while reading the file, before ``judge_event`` (which adds its own
#: codes, ``ingest.REJECTION_CODES``).
FILE_REJECTION_CODES: dict[str, str] = {
    "invalid_encoding": "the line is not valid UTF-8",
    "invalid_row": "the line is not a well-formed CSV row, or has more or fewer cells than the header",
    "invalid_json": "an NDJSON line, or a CSV `properties` cell, is not valid JSON",
    "too_large": f"the line is longer than {MAX_LINE_CHARS} characters",
    "missing_field": "a column the event needs is empty (the field names the column)",
    "invalid_timestamp": "a Salesforce date column is not a date-time the format defines",
    "unsupported_event_type": "a Salesforce EventLogFile row whose EVENT_TYPE is not Login",
}

LOGIN_ID_PREFIX = "sf-login:"
LOGIN_HISTORY_ID_PREFIX = "sf-login-history:"
RECORD_ID_PREFIX = "sf-record:"
LOGIN_OK = "LOGIN_NO_ERROR"
# Salesforce object key prefixes (the first 3 characters of a record id) of the usual objects.
OBJECT_PREFIXES = {"001": "Account", "003": "Contact", "006": "Opportunity", "00Q": "Lead",
                   "00T": "Task", "00U": "Event", "500": "Case"}

_CSV_REQUIRED = ("event_id", "occurred_at", "event_type")
_CSV_ACTORS = ("crm_user_id", "crm_username", "user_email")
_LOGIN_REQUIRED = ("EVENT_TYPE", "REQUEST_ID", "LOGIN_STATUS", "API_TYPE")
# (preferred, fallback): a file needs at least one of each pair.
_LOGIN_EITHER = (("TIMESTAMP_DERIVED", "TIMESTAMP"), ("USER_ID_DERIVED", "USER_ID"))
_HISTORY_REQUIRED = ("Id", "UserId", "LoginTime", "Status", "LoginType", "ApiType", "Application")
# LoginHistory: the one Status of a login that went through.
HISTORY_OK = "Success"
# LoginType values that are API sessions whatever ApiType says.
HISTORY_API_LOGIN_TYPES = frozenset({"other apex api", "partner product"})
# Application values of Salesforce's own mobile app; any other OAuth ("Remote Access") login is a
# connected app, i.e. an integration.
HISTORY_MOBILE_APPS = frozenset({"salesforce for ios", "salesforce for android"})
_RECORDS_REQUIRED = ("Id", "CreatedById", "CreatedDate")
_RECORDS_OPTIONAL = ("LastModifiedById", "LastModifiedDate")

#: What each format needs of a file, for the upload page (docs/telemetry.md has the whole story).
REQUIRED_COLUMNS: dict[str, str] = {
    "ndjson": "one JSON event per line, with the API's fields",
    "csv": f"{', '.join(_CSV_REQUIRED)} and one of {', '.join(_CSV_ACTORS)}",
    "salesforce-login": ", ".join([*_LOGIN_REQUIRED, *(" or ".join(pair) for pair in _LOGIN_EITHER)]),
    "salesforce-login-history": ", ".join(_HISTORY_REQUIRED),
    "salesforce-records": f"{', '.join(_RECORDS_REQUIRED)}; optionally {', '.join(_RECORDS_OPTIONAL)}",
}

# Salesforce writes offsets without a colon (+0000); RFC 3339 wants +00:00.
_COMPACT_OFFSET = re.compile(r"(.*[0-9])([+-][0-9]{2})([0-9]{2})")
# EventLogFile TIMESTAMP: yyyyMMddHHmmss.SSS in UTC.
_ELF_TIMESTAMP = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})(?:\.([0-9]{1,6}))?")
# Bytes that are not UTF-8 decode to lone surrogates in this range (errors="surrogateescape").
_UNDECODABLE = re.compile("[\udc80-\udcff]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")


class FileFormatError(Exception):
    """The file as a whole cannot be imported (nothing of it is stored)."""


@dataclass(slots=True)
class RowEvent:
    """One event read from the file, shaped like an item of the events API."""

    line: int  # physical line of the file where the row starts (a CSV header is line 1)
    value: dict[str, Any]
    # False forces the stored event to be non-qualifying (a failed login) whatever its client.
    qualifying: bool = True


@dataclass(frozen=True, slots=True)
class RowRejection:
    """A row that cannot become an event, and why."""

    line: int
    event_id: str | None
    code: str
    field: str | None
    message: str


Row = RowEvent | RowRejection


def read_events(stream: BinaryIO, fmt: str, event_type: str | None = None) -> Iterator[Row]:
    """The rows of a file in format ``fmt``; raises ``FileFormatError`` up front for file-level faults."""
    if fmt not in FORMATS:
        raise FileFormatError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt in NEEDS_EVENT_TYPE:
        if event_type is None or not event_type.strip():
            raise FileFormatError(f"the {fmt} format needs an event type (what one row means, e.g. activity_logged)")
        if len(event_type) > MAX_LENGTHS["event_type"] or _CONTROL.search(event_type) or event_type != event_type.strip():
            raise FileFormatError(f"the event type must be 1-{MAX_LENGTHS['event_type']} characters "
                                  "without control characters or surrounding spaces")
        return read_salesforce_records(stream, event_type)
    if event_type is not None:
        raise FileFormatError(f"an event type is only meaningful for {', '.join(sorted(NEEDS_EVENT_TYPE))}; "
                              f"{fmt} files carry their own")
    if fmt == "ndjson":
        return read_ndjson(stream)
    if fmt == "csv":
        return read_csv(stream)
    if fmt == "salesforce-login-history":
        return read_salesforce_login_history(stream)
    return read_salesforce_login(stream)


# --- NDJSON -------------------------------------------------------------------------------------

def read_ndjson(stream: BinaryIO) -> Iterator[Row]:
    """One event per line (the API's field names); blank lines are skipped."""
    line_no = 0
    while True:
        raw = stream.readline(MAX_LINE_CHARS + 1)
        if not raw:
            return
        line_no += 1
        if len(raw) > MAX_LINE_CHARS and not raw.endswith(b"\n"):
            _skip_rest_of_line(stream)
            yield RowRejection(line_no, None, "too_large", None, f"The line is longer than {MAX_LINE_CHARS} bytes.")
            continue
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8-sig" if line_no == 1 else "utf-8")
        except UnicodeDecodeError:
            yield RowRejection(line_no, None, "invalid_encoding", None, "The line is not valid UTF-8.")
            continue
        try:
            value = json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            yield RowRejection(line_no, None, "invalid_json", None, "The line is not valid JSON.")
            continue
        yield RowEvent(line_no, value)


def _skip_rest_of_line(stream: BinaryIO) -> None:
    """Consume the stream up to and including the next newline, in bounded chunks."""
    while True:
        chunk = stream.readline(64 * 1024)
        if not chunk or chunk.endswith(b"\n"):
            return


def _refuse_constant(name: str) -> Any:
    """NaN and Infinity are not JSON; Python's parser would accept them otherwise."""
    raise ValueError(f"{name} is not valid JSON")


# --- CSV plumbing ------------------------------------------------------------------------------

class _LineTooLong(Exception):
    """Raised through ``csv.reader`` when a physical line is over the cap (it has been skipped)."""


class _Lines:
    """Physical lines of a text stream for ``csv.reader``, counted and capped in length.

    A class, not a generator: it must keep working after it raises ``_LineTooLong``.
    """

    def __init__(self, text: io.TextIOBase) -> None:
        self.text = text
        self.count = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self.text.readline(MAX_LINE_CHARS + 1)
        if not line:
            raise StopIteration
        self.count += 1
        if len(line) > MAX_LINE_CHARS and not line.endswith(("\n", "\r")):
            while True:
                rest = self.text.readline(64 * 1024)
                if not rest or rest.endswith(("\n", "\r")):
                    break
            raise _LineTooLong
        return line


class _CsvFile:
    """A CSV file's header and its rows, each with the physical line it starts on."""

    def __init__(self, stream: BinaryIO) -> None:
        # surrogateescape: a byte that is not UTF-8 becomes a marker character, so one bad row is
        # rejected on its own instead of stopping the whole file mid-way.
        self.text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
        self.lines = _Lines(self.text)
        self.reader = csv.reader(self.lines)
        self.header = self._read_header()

    def _read_header(self) -> list[str]:
        """The first non-blank row, its names stripped; ``FileFormatError`` when it is unusable."""
        while True:
            try:
                cells = next(self.reader)
            except StopIteration:
                raise FileFormatError("the file is empty (no header row)") from None
            except (csv.Error, _LineTooLong) as exc:
                raise FileFormatError(f"the header row is not valid CSV ({str(exc) or 'a line too long'})") from None
            if cells:
                break
        if any(_UNDECODABLE.search(c) for c in cells):
            raise FileFormatError("the header row is not UTF-8; save the file as UTF-8 CSV")
        if any("\x00" in c for c in cells):
            raise FileFormatError("the header row holds NUL characters; is the file UTF-16? Save it as UTF-8 CSV")
        header = [c.strip() for c in cells]
        folded = [c.casefold() for c in header]
        repeated = sorted({c for c, f in zip(header, folded) if folded.count(f) > 1})
        if repeated:
            raise FileFormatError(f"columns appear more than once: {', '.join(repeated)}")
        return header

    def rows(self) -> Iterator[tuple[int, list[str] | RowRejection]]:
        """``(line, cells)`` per non-blank row, or ``(line, RowRejection)`` for a malformed one."""
        width = len(self.header)
        stalled_at = -1
        while True:
            line = self.lines.count + 1
            try:
                cells = next(self.reader)
            except StopIteration:
                return
            except _LineTooLong:
                yield line, RowRejection(line, None, "too_large", None,
                                         f"The line is longer than {MAX_LINE_CHARS} characters.")
                continue
            except csv.Error as exc:
                if self.lines.count == stalled_at:
                    return  # the reader reports the same fault without reading on: nothing is left
                stalled_at = self.lines.count
                yield line, RowRejection(line, None, "invalid_row", None, f"The row is not valid CSV: {exc}.")
                continue
            if not cells or (len(cells) == 1 and not cells[0].strip() and width > 1):
                continue  # a blank line
            if any(_UNDECODABLE.search(c) for c in cells):
                yield line, RowRejection(line, None, "invalid_encoding", None, "The row is not valid UTF-8.")
                continue
            if len(cells) != width:
                yield line, RowRejection(line, None, "invalid_row", None,
                                         f"The row has {len(cells)} cells; the header has {width}.")
                continue
            yield line, cells


def _column_index(header: list[str], names: tuple[str, ...]) -> dict[str, int]:
    """Position of each of ``names`` present in the header, matched case-insensitively."""
    positions = {name.casefold(): i for i, name in enumerate(header)}
    return {name: positions[name.casefold()] for name in names if name.casefold() in positions}


def _missing(columns: dict[str, int], names: tuple[str, ...]) -> list[str]:
    return [name for name in names if name not in columns]


# --- csv (API field names) ---------------------------------------------------------------------

def read_csv(stream: BinaryIO) -> Iterator[Row]:
    """A CSV with the API's field names as columns; ``properties`` holds a JSON object."""
    source = _CsvFile(stream)
    header = source.header
    unknown = [name for name in header if name not in FIELDS]
    if unknown:
        raise FileFormatError(f"unknown columns: {', '.join(unknown)}; the columns are the API's field names "
                              f"({', '.join(sorted(FIELDS))})")
    missing = [name for name in _CSV_REQUIRED if name not in header]
    if missing:
        raise FileFormatError(f"missing columns: {', '.join(missing)}")
    if not any(name in header for name in _CSV_ACTORS):
        raise FileFormatError(f"missing columns: at least one of {', '.join(_CSV_ACTORS)} is needed")
    return _csv_rows(source, header)


def _csv_rows(source: _CsvFile, header: list[str]) -> Iterator[Row]:
    id_at = header.index("event_id")
    for line, cells in source.rows():
        if isinstance(cells, RowRejection):
            yield cells
            continue
        # An empty cell is an absent field, so a CSV row and the same event sent as JSON without
        # that field have the same content (and hash).
        value: dict[str, Any] = {name: cell for name, cell in zip(header, cells) if cell != ""}
        if "properties" in value:
            try:
                value["properties"] = json.loads(value["properties"], parse_constant=_refuse_constant)
            except (ValueError, RecursionError):
                yield RowRejection(line, cells[id_at] or None, "invalid_json", "properties",
                                   "properties must be a JSON object, e.g. {\"stage\": \"won\"}.")
                continue
        yield RowEvent(line, value)


# --- salesforce-login --------------------------------------------------------------------------

def read_salesforce_login(stream: BinaryIO) -> Iterator[Row]:
    """A Salesforce EventLogFile of event type Login: one ``login`` event per row."""
    source = _CsvFile(stream)
    wanted = (*_LOGIN_REQUIRED, *(name for pair in _LOGIN_EITHER for name in pair), "USER_NAME", "LOGIN_TYPE")
    columns = _column_index(source.header, wanted)
    missing = _missing(columns, _LOGIN_REQUIRED)
    missing += [" or ".join(pair) for pair in _LOGIN_EITHER if not any(name in columns for name in pair)]
    if missing:
        raise FileFormatError(f"missing columns for a Salesforce Login EventLogFile: {', '.join(missing)}")
    return _login_rows(source, columns)


def _cell(columns: dict[str, int], cells: list[str], name: str) -> str:
    """The stripped value of column ``name`` in a row; "" when the file has no such column."""
    return cells[columns[name]].strip() if name in columns else ""


def _login_rows(source: _CsvFile, columns: dict[str, int]) -> Iterator[Row]:
    cell = partial(_cell, columns)

    for line, cells in source.rows():
        if isinstance(cells, RowRejection):
            yield cells
            continue
        request_id = cell(cells, "REQUEST_ID")
        event_id = LOGIN_ID_PREFIX + request_id if request_id else None
        kind = cell(cells, "EVENT_TYPE")
        if kind != "Login":
            yield RowRejection(line, event_id, "unsupported_event_type", "EVENT_TYPE",
                               f"EVENT_TYPE is {kind!r}; this format reads Login rows only.")
            continue
        if not request_id:
            yield RowRejection(line, None, "missing_field", "REQUEST_ID", "REQUEST_ID is empty.")
            continue
        occurred, problem = _login_time(cell(cells, "TIMESTAMP_DERIVED"), cell(cells, "TIMESTAMP"))
        if problem:
            yield RowRejection(line, event_id, *problem)
            continue
        status, api_type, login_type = cell(cells, "LOGIN_STATUS"), cell(cells, "API_TYPE"), cell(cells, "LOGIN_TYPE")
        properties = {"login_status": status}
        if login_type:
            properties["login_type"] = login_type
        if api_type:
            properties["api_type"] = api_type
        value = {
            "event_id": event_id, "occurred_at": occurred, "event_type": "login",
            # API logins (API_TYPE set) are machine traffic: client "api" keeps them out of adoption.
            "client": "api" if api_type else "ui", "properties": properties,
        }
        user_id = cell(cells, "USER_ID_DERIVED") or cell(cells, "USER_ID")
        if user_id:
            value["crm_user_id"] = user_id
        if cell(cells, "USER_NAME"):
            value["crm_username"] = cell(cells, "USER_NAME")
        # A failed login is kept (it is evidence of trying) but is not use of the CRM.
        yield RowEvent(line, value, qualifying=status == LOGIN_OK)


def _login_time(derived: str, timestamp: str) -> tuple[str | None, tuple | None]:
    """The login's time as RFC 3339 UTC from TIMESTAMP_DERIVED, else TIMESTAMP; or a rejection."""
    if derived:
        instant = parse_salesforce_datetime(derived)
        if instant is None:
            return None, ("invalid_timestamp", "TIMESTAMP_DERIVED",
                          f"TIMESTAMP_DERIVED {derived[:40]!r} is not an ISO 8601 date-time with an offset.")
        return format_utc(instant), None
    if timestamp:
        instant = parse_elf_timestamp(timestamp)
        if instant is None:
            return None, ("invalid_timestamp", "TIMESTAMP",
                          f"TIMESTAMP {timestamp[:40]!r} is not yyyyMMddHHmmss.SSS.")
        return format_utc(instant), None
    return None, ("missing_field", "TIMESTAMP_DERIVED", "Both TIMESTAMP_DERIVED and TIMESTAMP are empty.")


# --- salesforce-login-history ------------------------------------------------------------------

def read_salesforce_login_history(stream: BinaryIO) -> Iterator[Row]:
    """An export of Salesforce's LoginHistory object (API field names): one ``login`` event per row."""
    source = _CsvFile(stream)
    columns = _column_index(source.header, _HISTORY_REQUIRED)
    missing = _missing(columns, _HISTORY_REQUIRED)
    if missing:
        raise FileFormatError(
            f"missing columns for a Salesforce LoginHistory export: {', '.join(missing)} (export the LoginHistory "
            "object with its API field names, e.g. with Data Loader; the Login History page's download in Setup "
            "is not this format)")
    return _login_history_rows(source, columns)


def history_client(login_type: str, api_type: str, application: str) -> str:
    """The ``client`` of a LoginHistory row: who was on the other end of the session.

    API sessions (an ``ApiType``, or an API ``LoginType``) are ``api``; an OAuth login
    (``LoginType`` "Remote Access ...") is Salesforce's mobile app (``mobile``) or else a connected
    app (``integration``); any other login (the browser, single sign-on) is ``ui``.
    """
    if (api_type and api_type.casefold() != "n/a") or login_type.casefold() in HISTORY_API_LOGIN_TYPES:
        return "api"
    if login_type.casefold().startswith("remote access"):
        return "mobile" if application.casefold() in HISTORY_MOBILE_APPS else "integration"
    return "ui"


def salesforce_id15(record_id: str) -> str:
    """A Salesforce id in its 15-character form (an 18-character id is the 15 plus a checksum)."""
    return record_id[:15] if len(record_id) == 18 and record_id.isalnum() else record_id


def _rows_with_id(source: _CsvFile, columns: dict[str, int]) -> Iterator[RowRejection | tuple[int, list[str], str]]:
    """``(line, cells, Id)`` per row of a Salesforce export; malformed rows and rows without an
    ``Id`` as rejections."""
    for line, cells in source.rows():
        if isinstance(cells, RowRejection):
            yield cells
        elif not (record_id := _cell(columns, cells, "Id")):
            yield RowRejection(line, None, "missing_field", "Id", "Id is empty.")
        else:
            yield line, cells, record_id


def _login_history_rows(source: _CsvFile, columns: dict[str, int]) -> Iterator[Row]:
    cell = partial(_cell, columns)

    for row in _rows_with_id(source, columns):
        if isinstance(row, RowRejection):
            yield row
            continue
        line, cells, history_id = row
        # The 15-character form, so an export with 18-character ids gives the same events.
        event_id = LOGIN_HISTORY_ID_PREFIX + salesforce_id15(history_id)
        occurred, problem = _required_datetime(cell(cells, "LoginTime"), "LoginTime")
        if problem:
            yield RowRejection(line, event_id, *problem)
            continue
        if not cell(cells, "UserId"):
            yield RowRejection(line, event_id, "missing_field", "UserId", "UserId is empty.")
            continue
        status, login_type = cell(cells, "Status"), cell(cells, "LoginType")
        api_type, application = cell(cells, "ApiType"), cell(cells, "Application")
        properties = {"login_status": status}
        for key, text in (("login_type", login_type), ("application", application), ("api_type", api_type)):
            if text and text.casefold() != "n/a":
                properties[key] = text
        value = {"event_id": event_id, "occurred_at": format_utc(occurred), "event_type": "login",
                 "crm_user_id": cell(cells, "UserId"), "client": history_client(login_type, api_type, application),
                 "properties": properties}
        # A failed login is kept but is not use of the CRM.
        yield RowEvent(line, value, qualifying=status == HISTORY_OK)


# --- salesforce-records ------------------------------------------------------------------------

def read_salesforce_records(stream: BinaryIO, event_type: str) -> Iterator[Row]:
    """A CRM records export: an ``event_type`` event per record created, plus ``record_updated``
    when it was last modified at another time than its creation."""
    source = _CsvFile(stream)
    columns = _column_index(source.header, (*_RECORDS_REQUIRED, *_RECORDS_OPTIONAL))
    missing = _missing(columns, _RECORDS_REQUIRED)
    if missing:
        raise FileFormatError(f"missing columns for a Salesforce records export: {', '.join(missing)}")
    return _record_rows(source, columns, event_type)


def _record_rows(source: _CsvFile, columns: dict[str, int], event_type: str) -> Iterator[Row]:
    cell = partial(_cell, columns)

    for row in _rows_with_id(source, columns):
        if isinstance(row, RowRejection):
            yield row
            continue
        line, cells, record_id = row
        object_type = OBJECT_PREFIXES.get(record_id[:3])
        created, problem = _required_datetime(cell(cells, "CreatedDate"), "CreatedDate")
        created_id = f"{RECORD_ID_PREFIX}{record_id}:created"
        if problem:
            yield RowRejection(line, created_id, *problem)
        else:
            yield RowEvent(line, _record_event(created_id, created, event_type, object_type, cell(cells, "CreatedById")))

        modified_raw = cell(cells, "LastModifiedDate")
        if not modified_raw:
            continue
        modified = parse_salesforce_datetime(modified_raw)
        if modified is None:
            yield RowRejection(line, None, "invalid_timestamp", "LastModifiedDate",
                               f"LastModifiedDate {modified_raw[:40]!r} is not a date-time like "
                               "2026-01-05T08:15:12.000+0000.")
            continue
        if modified == created:
            continue
        # The id names the modification instant, so a later export with a newer LastModifiedDate
        # adds one more update while re-importing the same export changes nothing.
        modifier = cell(cells, "LastModifiedById") if "LastModifiedById" in columns else cell(cells, "CreatedById")
        modified_id = f"{RECORD_ID_PREFIX}{record_id}:modified:{format_utc(modified)}"
        yield RowEvent(line, _record_event(modified_id, modified, "record_updated", object_type, modifier))


def _record_event(event_id: str, instant: dt.datetime, event_type: str, object_type: str | None, actor: str) -> dict:
    value = {"event_id": event_id, "occurred_at": format_utc(instant), "event_type": event_type}
    if object_type:
        value["object_type"] = object_type
    if actor:
        value["crm_user_id"] = actor
    return value


# --- Salesforce date-times ---------------------------------------------------------------------

def parse_salesforce_datetime(text: str) -> dt.datetime | None:
    """A Salesforce date-time (``...Z``, ``...+0000`` or ``...+00:00``) as naive UTC, or None."""
    match = _COMPACT_OFFSET.fullmatch(text)
    if match:
        text = f"{match.group(1)}{match.group(2)}:{match.group(3)}"
    return parse_rfc3339(text)


def _required_datetime(raw: str, column: str) -> tuple[dt.datetime | None, tuple | None]:
    """``(instant, None)`` for a required Salesforce date-time cell, or ``(None, rejection)``."""
    if not raw:
        return None, ("missing_field", column, f"{column} is empty.")
    instant = parse_salesforce_datetime(raw)
    if instant is None:
        return None, ("invalid_timestamp", column,
                      f"{column} {raw[:40]!r} is not a date-time like 2026-01-05T08:15:12.000+0000.")
    return instant, None


def parse_elf_timestamp(text: str) -> dt.datetime | None:
    """An EventLogFile ``TIMESTAMP`` (``yyyyMMddHHmmss.SSS``, UTC) as naive UTC, or None."""
    match = _ELF_TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    fraction = (match.group(7) or "0").ljust(6, "0")
    try:
        return dt.datetime(*(int(g) for g in match.groups()[:6]), int(fraction))
    except ValueError:
        return None


def format_utc(instant: dt.datetime) -> str:
    """Naive UTC as RFC 3339 with ``Z``, to the millisecond (to the microsecond when it has them).

    Every Salesforce spelling of an instant maps to the same string, so re-exporting a file in
    another date style yields the same events (duplicates, not conflicts).
    """
    return instant.isoformat(timespec="microseconds" if instant.microsecond % 1000 else "milliseconds") + "Z"

