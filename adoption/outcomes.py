"""Customer outcomes (M5): judge items, store them idempotently, import a CSV file.

An outcome is a unit's value of one metric (``csat``, ``nps``, ``retention`` or any other
lower-case name) over one calendar month or calendar quarter. Both ways in share one judge and
one store, shaped like the events API (``adoption/telemetry``):

- ``read_outcome_request`` turns a request body into items (request-level faults raise
  ``RequestError``); ``judge_outcome`` checks one item on its own (pure: no Flask, no database)
  and gives a ``ParsedOutcome`` or the first ``OutcomeRejection`` found;
- ``store_outcomes`` resolves the units, then inserts, counts duplicates, rejects conflicts, or
  replaces a value when the item asks for it. It adds to the caller's transaction and never
  commits, so a request stores all of its accepted items or none;
- ``import_outcomes`` streams a CSV file through the same judge and store, committing per batch
  (a file import is a job, like ``telemetry.fileimport``); re-running a file converges.

The key is (unit, metric, period_start, period_end). The same key with the same content (value
compared as a number, responses) is a duplicate; with other content it is a ``conflict`` and the
stored value stays, unless the item says ``"replace": true`` (``--replace`` for a file): the
documented way to correct a value (docs/outcomes.md).
"""
from __future__ import annotations

import calendar
import csv
import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, TextIO

from sqlalchemy import Table, bindparam, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from adoption.extensions import db
from adoption.models import OutcomeMeasure
from adoption.org import UnitPathError, normalize_unit_path, units_by_path
from adoption.telemetry.formats import FileFormatError, RowRejection, _CsvFile
from adoption.telemetry.ingest import MAX_BODY_BYTES, RequestError, read_body
from adoption.timekeeping import utcnow

__all__ = [
    "CSV_COLUMNS", "FILE_REJECTION_CODES", "KNOWN_METRICS", "LIMITS", "MAX_OUTCOMES", "REJECTION_CODES",
    "FileFormatError", "OutcomeFileResult", "OutcomeRejection", "OutcomeResult", "ParsedOutcome", "RequestError",
    "import_outcomes", "judge_outcome", "judge_outcomes", "read_outcome_request", "store_outcomes",
]

MAX_OUTCOMES = 1000
LIMITS = {"max_outcomes": MAX_OUTCOMES, "max_body_bytes": MAX_BODY_BYTES}
METRIC_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_UNIT_PATH_LENGTH = 1000  # the size of OrgUnit.path
MAX_RESPONSES = 2**31 - 1  # an INTEGER column on both databases


@dataclass(frozen=True, slots=True)
class MetricScale:
    """The accepted range (inclusive) of a known metric, and what its numbers mean."""

    low: float
    high: float
    meaning: str


#: The metrics whose scale is fixed; any other valid name takes any finite number.
KNOWN_METRICS: dict[str, MetricScale] = {
    "csat": MetricScale(0.0, 100.0, "a percentage, 0-100 (e.g. the share of customers answering 4 or 5 "
                                    "on a 5-point scale); convert a 1-5 average before sending"),
    "nps": MetricScale(-100.0, 100.0, "the Net Promoter Score, -100..100 (% promoters minus % detractors)"),
    "retention": MetricScale(0.0, 100.0, "a percentage, 0-100, of customers (or revenue) kept over the period; "
                                         "send 92.5, not 0.925"),
}

#: Every field an item may have; the first five are required.
FIELDS = ("unit", "metric", "period_start", "period_end", "value", "responses", "replace")
REQUIRED = FIELDS[:5]

#: Every code a rejected item can carry, with what it means (checked in this order).
REJECTION_CODES: dict[str, str] = {
    "invalid_type": "the item is not a JSON object, or a field has the wrong JSON type",
    "unknown_field": "the item has a field the API does not define",
    "missing_field": "a required field (unit, metric, period_start, period_end, value) is absent or null",
    "invalid_unit": f"`unit` is not a unit path (an empty segment, a name over 200 characters, control "
                    f"characters, over {MAX_UNIT_PATH_LENGTH} characters)",
    "invalid_metric": "`metric` is not a lower-case name: a letter, then letters, digits or _, at most 64",
    "invalid_date": "`period_start` or `period_end` is not a date written YYYY-MM-DD",
    "invalid_period": "the period is not a calendar month or a calendar quarter",
    "invalid_value": "`value` is not finite or outside the metric's range, or `responses` is not 1 or more",
    "unknown_unit": "no unit has this path",
    "conflict": "an outcome for this unit, metric and period with different content was already accepted "
                "(send it with \"replace\": true to correct it)",
}

#: Codes of CSV rows rejected while reading the file, before ``judge_outcome``.
FILE_REJECTION_CODES: dict[str, str] = {
    "invalid_encoding": "the line is not valid UTF-8",
    "invalid_row": "the line is not a well-formed CSV row, or has more or fewer cells than the header",
    "too_large": "the line is longer than 1,048,576 characters",
    "invalid_value": "`value` is not a decimal number (a dot as decimal separator), or `responses` "
                     "is not a whole number",
}

Key = tuple[int, str, dt.date, dt.date]  # unit id, metric, period start, period end

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WHOLE = re.compile(r"\+?[0-9]{1,12}")
# Control characters and unpaired surrogates cannot go into a text column (PostgreSQL refuses NUL).
_BAD_CHARACTERS = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
_CANONICAL_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@dataclass(frozen=True, slots=True)
class OutcomeRejection:
    """Why one item was not taken."""

    index: int
    code: str
    field: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON form used in the API response."""
        return {"index": self.index, "code": self.code, "field": self.field, "message": self.message}


@dataclass(frozen=True, slots=True)
class ParsedOutcome:
    """A valid item, ready to store; ``unit`` is the canonical path."""

    index: int
    unit: str
    metric: str
    period_start: dt.date
    period_end: dt.date
    value: float
    responses: int | None
    replace: bool
    content_hash: str


@dataclass
class OutcomeResult:
    """What became of the items of one request or batch: counts, and every rejection by index."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[OutcomeRejection] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The API response body."""
        return {"accepted": self.accepted, "duplicates": self.duplicates,
                "rejected": [r.as_dict() for r in self.rejected]}


# --- one item ------------------------------------------------------------------------------------

def judge_outcome(index: int, raw: Any) -> ParsedOutcome | OutcomeRejection:
    """Validate one item (any JSON value): a ``ParsedOutcome`` or the first ``OutcomeRejection`` found."""

    def reject(code: str, field_name: str | None, message: str) -> OutcomeRejection:
        return OutcomeRejection(index, code, field_name, message)

    if not isinstance(raw, dict):
        return reject("invalid_type", None, "An outcome must be a JSON object.")
    unknown = sorted(str(k) for k in raw if k not in FIELDS)
    if unknown:
        return reject("unknown_field", unknown[0], f"'{unknown[0]}' is not an outcome field; the fields are "
                                                   f"{', '.join(FIELDS)}.")
    for name in REQUIRED:
        if raw.get(name) is None:
            return reject("missing_field", name, f"{name} is required.")
    for name in ("unit", "metric", "period_start", "period_end"):
        if not isinstance(raw[name], str):
            return reject("invalid_type", name, f"{name} must be a string.")

    unit = raw["unit"]
    if len(unit) > MAX_UNIT_PATH_LENGTH or _BAD_CHARACTERS.search(unit):
        return reject("invalid_unit", "unit", f"unit must be a path of at most {MAX_UNIT_PATH_LENGTH} "
                                              "characters without control characters.")
    try:
        unit = normalize_unit_path(unit)
    except UnitPathError as exc:
        return reject("invalid_unit", "unit", f"unit is not a unit path such as Acme/EMEA/Sales North: {exc}.")

    metric = raw["metric"]
    if not METRIC_PATTERN.fullmatch(metric):
        return reject("invalid_metric", "metric", "metric must be a lower-case name such as csat, nps or "
                                                  "retention: a letter, then letters, digits or _, at most 64.")

    dates = {}
    for name in ("period_start", "period_end"):
        dates[name] = _date(raw[name])
        if dates[name] is None:
            return reject("invalid_date", name, f"{name} must be a date written YYYY-MM-DD, e.g. 2024-04-01.")
    start, end = dates["period_start"], dates["period_end"]
    if start.day != 1:
        return reject("invalid_period", "period_start",
                      "period_start must be the first day of a calendar month or quarter.")
    if end not in (_month_end(start), _quarter_end(start)):
        ends = f"{_month_end(start)} (the month)"
        if _quarter_end(start) is not None:
            ends += f" or {_quarter_end(start)} (the quarter)"
        return reject("invalid_period", "period_end",
                      f"The period must be a calendar month or quarter: with period_start {start}, "
                      f"period_end must be {ends}.")

    value = raw["value"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return reject("invalid_type", "value", "value must be a number.")
    try:
        value = float(value) + 0.0  # + 0.0 turns -0.0 into 0.0, so both hash alike
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        return reject("invalid_value", "value", "value must be a finite number.")
    scale = KNOWN_METRICS.get(metric)
    if scale is not None and not scale.low <= value <= scale.high:
        return reject("invalid_value", "value",
                      f"{metric} must be between {scale.low:g} and {scale.high:g}: {scale.meaning}.")

    responses = raw.get("responses")
    if responses is not None:
        if isinstance(responses, bool) or not isinstance(responses, int):
            return reject("invalid_type", "responses", "responses must be a whole number.")
        if not 1 <= responses <= MAX_RESPONSES:
            return reject("invalid_value", "responses",
                          f"responses must be between 1 and {MAX_RESPONSES} (leave it out when unknown).")
    replace = raw.get("replace")
    if replace is not None and not isinstance(replace, bool):
        return reject("invalid_type", "replace", "replace must be true or false.")

    return ParsedOutcome(index=index, unit=unit, metric=metric, period_start=start, period_end=end, value=value,
                         responses=responses, replace=bool(replace),
                         content_hash=content_hash(unit, metric, start, end, value, responses))


def judge_outcomes(values: Iterable[Any]) -> tuple[list[ParsedOutcome], list[OutcomeRejection]]:
    """Judge each item of a request, by position: the valid ones and the rejections."""
    valid: list[ParsedOutcome] = []
    rejected: list[OutcomeRejection] = []
    for index, raw in enumerate(values):
        verdict = judge_outcome(index, raw)
        (rejected if isinstance(verdict, OutcomeRejection) else valid).append(verdict)
    return valid, rejected


def content_hash(unit: str, metric: str, start: dt.date, end: dt.date, value: float, responses: int | None) -> str:
    """Hex SHA-256 of the canonical row: sorted keys, no spaces, UTF-8, ``value`` as a float."""
    row = {"unit": unit, "metric": metric, "period_start": start.isoformat(), "period_end": end.isoformat(),
           "value": float(value), "responses": responses}
    return hashlib.sha256(_CANONICAL_ENCODER.encode(row).encode("utf-8")).hexdigest()


def _date(text: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` date, or None."""
    if not _DATE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _month_end(start: dt.date) -> dt.date:
    """The last day of ``start``'s month."""
    return start.replace(day=calendar.monthrange(start.year, start.month)[1])


def _quarter_end(start: dt.date) -> dt.date | None:
    """The last day of the calendar quarter that begins on ``start``; None when no quarter begins then."""
    if start.day != 1 or start.month not in (1, 4, 7, 10):
        return None
    return _month_end(start.replace(month=start.month + 2))


# --- one request ---------------------------------------------------------------------------------

def read_outcome_request(stream: BinaryIO, content_length: int | None, content_encoding: str | None,
                         media_type: str) -> list[Any]:
    """The items of a request body ``{"outcomes": [...]}``; raises ``RequestError`` for request-level
    faults (nothing is stored then)."""
    if media_type != "application/json":
        raise RequestError(415, "unsupported_media_type", "Send Content-Type: application/json.")
    try:
        body = read_body(stream, content_length, content_encoding)
    except RequestError as exc:
        if exc.status == 413:  # the reader states the events API's limits; these are ours
            raise RequestError(413, exc.error, exc.message, limits=LIMITS) from None
        raise
    try:
        document = json.loads(body.decode("utf-8-sig"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise RequestError(400, "invalid_json", f"The body is not valid UTF-8 JSON: {exc}.") from exc
    if not isinstance(document, dict) or not isinstance(document.get("outcomes"), list):
        raise RequestError(400, "invalid_body", 'The body must be an object {"outcomes": [...]}.')
    unknown = sorted(set(document) - {"outcomes"})
    if unknown:
        raise RequestError(400, "invalid_body", f"Unknown field '{unknown[0]}' in the body; only outcomes is defined.")
    items = document["outcomes"]
    if len(items) > MAX_OUTCOMES:
        raise RequestError(413, "too_many_outcomes",
                           f"The request has {len(items)} outcomes; the limit is {MAX_OUTCOMES}.", limits=LIMITS)
    return items


def _refuse_constant(name: str) -> Any:
    """NaN and Infinity are not JSON; Python's parser would accept them otherwise."""
    raise ValueError(f"{name} is not valid JSON")


# --- storing -------------------------------------------------------------------------------------

# Rows per INSERT statement (12 columns a row: far under SQLite's bound-parameter limit).
INSERT_CHUNK_ROWS = 500


@dataclass
class _Plan:
    """What a set of items does to the table: rows to insert and to replace, and each item's verdict."""

    inserts: dict[Key, ParsedOutcome] = field(default_factory=dict)
    updates: dict[Key, ParsedOutcome] = field(default_factory=dict)
    # Item index → "accepted", "duplicate", or the item's conflict.
    verdicts: dict[int, str | OutcomeRejection] = field(default_factory=dict)


def store_outcomes(outcomes: Sequence[ParsedOutcome], *, source: str, token_id: int | None, now: dt.datetime,
                   rejected: Iterable[OutcomeRejection] = ()) -> OutcomeResult:
    """Store the new outcomes, replace those that ask for it, count duplicates, reject unknown units
    and conflicts; flushes, never commits. ``rejected`` (the judge's) are carried into the result."""
    result = OutcomeResult(rejected=list(rejected))
    units = units_by_path(o.unit for o in outcomes)
    keyed: list[tuple[Key, ParsedOutcome]] = []
    for outcome in outcomes:
        unit = units.get(outcome.unit)
        if unit is None:
            result.rejected.append(OutcomeRejection(outcome.index, "unknown_unit", "unit",
                                                    f"No unit has the path '{outcome.unit}'."))
        else:
            keyed.append(((unit.id, outcome.metric, outcome.period_start, outcome.period_end), outcome))

    table: Table = OutcomeMeasure.__table__
    plan = _settle(keyed, _stored_hashes(table, {key for key, _ in keyed}))
    inserted = _insert(table, plan.inserts, source, token_id, now)
    lost = set(plan.inserts) - inserted
    if lost:
        # A concurrent request stored these keys between our SELECT and our INSERT: judge the
        # items against what it stored, exactly as if it had come first.
        winners = _stored_hashes(table, lost)
        if lost - set(winners):
            # Only possible under an isolation level above READ COMMITTED; the retry converges.
            raise RuntimeError("an outcome was neither inserted nor found")
        replay = _settle([(key, o) for key, o in keyed if key in lost], winners)
        plan.verdicts.update(replay.verdicts)
        plan.updates.update(replay.updates)
    _update(table, plan.updates, source, token_id, now)

    for verdict in plan.verdicts.values():
        if verdict == "accepted":
            result.accepted += 1
        elif verdict == "duplicate":
            result.duplicates += 1
        else:
            result.rejected.append(verdict)
    result.rejected.sort(key=lambda r: r.index)
    return result


def _settle(keyed: list[tuple[Key, ParsedOutcome]], standing: dict[Key, str]) -> _Plan:
    """Judge items in order against the hash standing for each key (stored, else earlier in the batch)."""
    plan = _Plan()
    stored = set(standing)
    for key, outcome in keyed:
        current = standing.get(key)
        if current is None:
            plan.inserts[key] = outcome
        elif current == outcome.content_hash:
            plan.verdicts[outcome.index] = "duplicate"
            continue
        elif outcome.replace:
            (plan.updates if key in stored else plan.inserts)[key] = outcome
        else:
            plan.verdicts[outcome.index] = OutcomeRejection(
                outcome.index, "conflict", "value",
                f"{outcome.metric} of {outcome.unit} for {outcome.period_start}..{outcome.period_end} was already "
                "accepted with another value or responses; send \"replace\": true to correct it.")
            continue
        standing[key] = outcome.content_hash
        plan.verdicts[outcome.index] = "accepted"
    return plan


def _stored_hashes(table: Table, keys: set[Key]) -> dict[Key, str]:
    """``key → content_hash`` of the given keys already stored (one query per chunk)."""
    found: dict[Key, str] = {}
    ordered = sorted(keys)
    key_columns = tuple_(table.c.unit_id, table.c.metric, table.c.period_start, table.c.period_end)
    for start in range(0, len(ordered), INSERT_CHUNK_ROWS):
        query = select(table.c.unit_id, table.c.metric, table.c.period_start, table.c.period_end,
                       table.c.content_hash).where(key_columns.in_(ordered[start:start + INSERT_CHUNK_ROWS]))
        for unit_id, metric, period_start, period_end, stored_hash in db.session.execute(query):
            found[(unit_id, metric, period_start, period_end)] = stored_hash
    return found


def _insert(table: Table, rows: dict[Key, ParsedOutcome], source: str, token_id: int | None,
            now: dt.datetime) -> set[Key]:
    """Insert the new rows, skipping keys stored meanwhile; returns the keys really inserted."""
    values = [{"unit_id": key[0], "metric": o.metric, "period_start": o.period_start, "period_end": o.period_end,
               "value": o.value, "responses": o.responses, "source": source, "content_hash": o.content_hash,
               "token_id": token_id, "created_at": now, "updated_at": now} for key, o in rows.items()]
    inserted: set[Key] = set()
    for start in range(0, len(values), INSERT_CHUNK_ROWS):
        inserted |= _insert_chunk(table, values[start:start + INSERT_CHUNK_ROWS])
    return inserted


def _insert_chunk(table: Table, values: list[dict[str, Any]]) -> set[Key]:
    """One ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` of the key columns."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        statement = postgresql.insert(table)
    elif dialect == "sqlite":
        statement = sqlite.insert(table)
    else:
        raise RuntimeError(f"unsupported database {dialect}")
    statement = statement.values(values).on_conflict_do_nothing(
        index_elements=["unit_id", "metric", "period_start", "period_end"]
    ).returning(table.c.unit_id, table.c.metric, table.c.period_start, table.c.period_end)
    return {tuple(row) for row in db.session.execute(statement)}


def _update(table: Table, rows: dict[Key, ParsedOutcome], source: str, token_id: int | None,
            now: dt.datetime) -> None:
    """Replace the content of stored rows (an executemany UPDATE by key)."""
    if not rows:
        return
    statement = (update(table)
                 .where(table.c.unit_id == bindparam("k_unit"), table.c.metric == bindparam("k_metric"),
                        table.c.period_start == bindparam("k_start"), table.c.period_end == bindparam("k_end"))
                 .values(value=bindparam("n_value"), responses=bindparam("n_responses"),
                         content_hash=bindparam("n_hash"), source=bindparam("n_source"),
                         token_id=bindparam("n_token"), updated_at=bindparam("n_now")))
    db.session.execute(statement, [
        {"k_unit": key[0], "k_metric": key[1], "k_start": key[2], "k_end": key[3], "n_value": o.value,
         "n_responses": o.responses, "n_hash": o.content_hash, "n_source": source, "n_token": token_id,
         "n_now": now} for key, o in rows.items()])


# --- a CSV file ----------------------------------------------------------------------------------

CSV_COLUMNS = ("unit", "period_start", "period_end", "metric", "value", "responses")
CSV_REQUIRED = CSV_COLUMNS[:5]
REJECTS_HEADER = ("line", "code", "field", "message")


@dataclass
class OutcomeFileResult:
    """What became of a file: data rows read, and outcomes accepted, already stored, or rejected."""

    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0

    def summary(self) -> str:
        """The CLI's final line."""
        return f"accepted={self.accepted} duplicates={self.duplicates} rejected={self.rejected}"


def read_outcome_rows(stream: BinaryIO) -> Iterator[tuple[int, dict[str, Any] | RowRejection]]:
    """``(line, item)`` per data row of a CSV with ``CSV_COLUMNS``, the item shaped like one of the
    API, or ``(line, RowRejection)``; raises ``FileFormatError`` up front when the header is unusable."""
    source = _CsvFile(stream)
    columns = [name.casefold() for name in source.header]
    unknown = [name for name, folded in zip(source.header, columns) if folded not in CSV_COLUMNS]
    if unknown:
        raise FileFormatError(f"unknown columns: {', '.join(unknown)}; the columns are {', '.join(CSV_COLUMNS)}")
    missing = [name for name in CSV_REQUIRED if name not in columns]
    if missing:
        raise FileFormatError(f"missing columns: {', '.join(missing)}")
    return _csv_items(source, columns)


def _csv_items(source: _CsvFile, columns: list[str]) -> Iterator[tuple[int, dict[str, Any] | RowRejection]]:
    for line, cells in source.rows():
        if isinstance(cells, RowRejection):
            yield line, cells
            continue
        # An empty cell is an absent field, as in the events CSV.
        item: dict[str, Any] = {name: cell.strip() for name, cell in zip(columns, cells) if cell.strip()}
        number = item.get("value")
        if number is not None:
            if len(number) > 64 or not _DECIMAL.fullmatch(number):
                yield line, RowRejection(line, None, "invalid_value", "value",
                                         "value must be a decimal number with a dot as separator, e.g. 87.5.")
                continue
            item["value"] = float(number)
        count = item.get("responses")
        if count is not None:
            if not _WHOLE.fullmatch(count):
                yield line, RowRejection(line, None, "invalid_value", "responses",
                                         "responses must be a whole number, e.g. 214 (leave the cell empty "
                                         "when unknown).")
                continue
            item["responses"] = int(count)
        yield line, item


def import_outcomes(stream: BinaryIO, *, rejects: TextIO | None = None, replace: bool = False,
                    batch_size: int = 1000, clock: Callable[[], dt.datetime] = utcnow) -> OutcomeFileResult:
    """Import a CSV of outcomes, committing each batch of ``batch_size`` rows; raises
    ``FileFormatError`` before storing anything when the header cannot be used. With ``replace``
    every row replaces a stored value that differs (a correction file)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    rows = read_outcome_rows(stream)
    writer = csv.writer(rejects) if rejects is not None else None
    if writer is not None:
        writer.writerow(REJECTS_HEADER)
    result = OutcomeFileResult()
    pending: list[tuple[int, dict[str, Any] | RowRejection]] = []
    for row in rows:
        result.rows += 1
        pending.append(row)
        if len(pending) >= batch_size:
            _import_batch(pending, replace, clock(), result, writer, rejects)
            pending = []
    if pending:
        _import_batch(pending, replace, clock(), result, writer, rejects)
    return result


def _import_batch(pending: list[tuple[int, dict[str, Any] | RowRejection]], replace: bool, now: dt.datetime,
                  result: OutcomeFileResult, writer, rejects: TextIO | None) -> None:
    """Judge, store and commit one batch; then count it and write its rejects in line order."""
    lines = [line for line, _ in pending]
    failures: list[tuple[int, str, str | None, str]] = []
    valid: list[ParsedOutcome] = []
    for index, (line, item) in enumerate(pending):
        if isinstance(item, RowRejection):
            failures.append((line, item.code, item.field, item.message))
            continue
        if replace:
            item["replace"] = True
        verdict = judge_outcome(index, item)
        if isinstance(verdict, OutcomeRejection):
            failures.append((line, verdict.code, verdict.field, verdict.message))
        else:
            valid.append(verdict)
    if valid:
        stored = store_outcomes(valid, source="file", token_id=None, now=now)
        db.session.commit()
        result.accepted += stored.accepted
        result.duplicates += stored.duplicates
        failures.extend((lines[r.index], r.code, r.field, r.message) for r in stored.rejected)
    result.rejected += len(failures)
    if writer is not None and failures:
        failures.sort(key=lambda f: f[0])
        writer.writerows((line, code, field_name or "", message) for line, code, field_name, message in failures)
        rejects.flush()
