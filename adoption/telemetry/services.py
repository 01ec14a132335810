"""Storing judged events: idempotency on ``event_id``, identity resolution, one bulk insert.

The hot path of ingestion, so it uses SQLAlchemy Core on the table, never per-object ORM: one
SELECT of the batch's ids already stored, one SELECT each of the roster keys and of the aliases
the batch names, and multi-row INSERTs. It adds to the caller's transaction and never commits:
the request commits once, so a crash leaves all of the accepted part stored or none of it.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain

from sqlalchemy import Table, Text, and_, any_, bindparam, cast, func, or_, select
from sqlalchemy.dialects import postgresql

from adoption.extensions import db
from adoption.models import CrmAlias, Employee, UsageEvent
from adoption.telemetry.ingest import Batch, ParsedEvent, Rejection
from adoption.telemetry.retention import oldest_accepted
from adoption.telemetry.rollups import add_to_daily_usage

# Rows per INSERT statement: well under SQLite's 32,766 bound parameters at 16 columns a row.
INSERT_CHUNK_ROWS = 500
# Salesforce ids: the 15-character form is case-sensitive; the 18-character form adds a
# 3-character checksum suffix, so its first 15 characters are the short id.
SHORT_ID, LONG_ID = 15, 18


@dataclass
class IngestResult:
    """What became of a batch: counts, and every rejection ordered by the event's index."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The API response body."""
        return {"accepted": self.accepted, "duplicates": self.duplicates,
                "rejected": [r.as_dict() for r in self.rejected]}


def store_batch(batch: Batch, token_id: int | None, received_at: dt.datetime,
                import_id: int | None = None) -> IngestResult:
    """Store the batch's new events and count them into ``daily_usage``; count duplicates,
    reject conflicts and new events older than the retention horizon; flushes, never commits."""
    result = IngestResult(rejected=list(batch.rejected))
    table: Table = UsageEvent.__table__
    oldest = oldest_accepted(received_at)

    # An id stands for the content stored first: in the database, else earlier in this batch.
    standing = _stored_hashes(table, list({event.event_id for event in batch.events}))
    fresh: list[ParsedEvent] = []
    for event in batch.events:
        stored_hash = standing.get(event.event_id)
        if stored_hash is not None:
            _judge_repeat(event, stored_hash, result)
        elif oldest is not None and event.occurred_at < oldest:
            # Still stored, it is a duplicate like any other; new, it would outlive the purge's
            # idempotency: once deleted, a re-send could not be recognised (retention.py).
            result.rejected.append(Rejection(
                event.index, event.event_id, "too_old", "occurred_at",
                f"occurred_at is before {oldest.isoformat()}Z, the start of the retention window: "
                "raw events older than that are deleted, so they are no longer taken."))
        else:
            standing[event.event_id] = event.content_hash
            fresh.append(event)

    if fresh:
        employees = resolve_employees(fresh)
        rows = [_row(event, employees.get(event.index), token_id, received_at, import_id) for event in fresh]
        inserted: set[str] = set()
        for start in range(0, len(rows), INSERT_CHUNK_ROWS):
            inserted.update(_insert_chunk(table, rows[start:start + INSERT_CHUNK_ROWS]))
        result.accepted = len(inserted)
        # Only what this transaction really inserted is counted, so a lost race never counts twice.
        add_to_daily_usage((event.occurred_at, employees[event.index], event.event_type) for event in fresh
                           if event.qualifying and event.index in employees and event.event_id in inserted)
        lost = [event for event in fresh if event.event_id not in inserted]
        if lost:
            # A concurrent request stored these ids between our SELECT and our INSERT: judge
            # them against what it stored, exactly as if it had come first.
            winners = _stored_hashes(table, [event.event_id for event in lost])
            for event in lost:
                if event.event_id not in winners:
                    # Only possible under an isolation level above READ COMMITTED; failing the
                    # request is safe, since its retry converges.
                    raise RuntimeError(f"event {event.event_id!r} was neither inserted nor found")
                _judge_repeat(event, winners[event.event_id], result)

    result.rejected.sort(key=lambda r: r.index)
    return result


def resolve_employees(events: list[ParsedEvent]) -> dict[int, int]:
    """Map event index → employee id from the roster and the aliases (two queries); unmatched
    events are absent.

    Precedence, first match wins: roster CRM user id, alias CRM user id, roster username, alias
    username, roster e-mail, alias e-mail (an alias only ever names a key the roster lacks, see
    ``identity.map_actor``). 18- and 15-character Salesforce ids match each other
    (case-sensitive); usernames and e-mails are compared in lower case, as both tables store them.
    Works on anything with ``index``, ``crm_user_id``, ``crm_username`` and ``user_email``.
    """
    user_ids = {e.crm_user_id for e in events if e.crm_user_id}
    usernames = {e.crm_username.lower() for e in events if e.crm_username}
    emails = {e.user_email.lower() for e in events if e.user_email}
    short_ids = {i for i in user_ids if len(i) == SHORT_ID}
    exact_ids = user_ids | {i[:SHORT_ID] for i in user_ids if len(i) == LONG_ID}

    def id_matches(column):
        """The batch's CRM user ids, exact or as the 15-character prefix of an 18-character id."""
        matches = [_one_of(column, exact_ids)]
        if short_ids:
            matches.append(and_(func.length(column) == LONG_ID, _one_of(func.substr(column, 1, SHORT_ID), short_ids)))
        return or_(*matches)

    roster_conditions, alias_conditions = [], []
    if exact_ids:
        roster_conditions.append(id_matches(Employee.crm_user_id))
        alias_conditions.append(and_(CrmAlias.key_kind == "crm_user_id", id_matches(CrmAlias.key_value)))
    if usernames:
        roster_conditions.append(_one_of(Employee.crm_username, usernames))
        alias_conditions.append(and_(CrmAlias.key_kind == "crm_username", _one_of(CrmAlias.key_value, usernames)))
    if emails:
        roster_conditions.append(_one_of(Employee.email, emails))
        alias_conditions.append(and_(CrmAlias.key_kind == "user_email", _one_of(CrmAlias.key_value, emails)))
    if not roster_conditions:
        return {}
    # Per key kind, one map for the roster (0) and one for the aliases (1).
    by_id: tuple[dict[str, int], dict[str, int]] = ({}, {})
    by_short_id: tuple[dict[str, int], dict[str, int]] = ({}, {})
    by_username: tuple[dict[str, int], dict[str, int]] = ({}, {})
    by_email: tuple[dict[str, int], dict[str, int]] = ({}, {})

    def add_id(source: int, crm_user_id: str, employee_id: int) -> None:
        by_id[source].setdefault(crm_user_id, employee_id)
        if len(crm_user_id) in (SHORT_ID, LONG_ID):
            by_short_id[source].setdefault(crm_user_id[:SHORT_ID], employee_id)

    roster = (select(Employee.id, Employee.crm_user_id, Employee.crm_username, Employee.email)
              .where(or_(*roster_conditions)).order_by(Employee.id))
    for employee_id, crm_user_id, crm_username, email in db.session.execute(roster):
        if crm_user_id:
            add_id(0, crm_user_id, employee_id)
        if crm_username:
            by_username[0].setdefault(crm_username.lower(), employee_id)
        if email:
            by_email[0].setdefault(email.lower(), employee_id)
    aliases = (select(CrmAlias.employee_id, CrmAlias.key_kind, CrmAlias.key_value)
               .where(or_(*alias_conditions)).order_by(CrmAlias.id))
    for employee_id, key_kind, key_value in db.session.execute(aliases):
        if key_kind == "crm_user_id":
            add_id(1, key_value, employee_id)
        elif key_kind == "crm_username":
            by_username[1].setdefault(key_value, employee_id)
        else:
            by_email[1].setdefault(key_value, employee_id)

    id_sources = ((by_id[0], by_short_id[0]), (by_id[1], by_short_id[1]))

    def match(crm_user_id: str | None, crm_username: str | None, user_email: str | None) -> int | None:
        """The employee of one set of actor keys: each tier in the roster, then in the aliases."""
        if crm_user_id:
            short_id = crm_user_id[:SHORT_ID] if len(crm_user_id) in (SHORT_ID, LONG_ID) else None
            for exact, prefix in id_sources:
                found = exact.get(crm_user_id)
                if found is None and short_id:
                    found = prefix.get(short_id)
                if found is not None:
                    return found
        for maps, key in ((by_username, crm_username), (by_email, user_email)):
            if key:
                key = key.lower()
                found = maps[0].get(key)
                if found is None:
                    found = maps[1].get(key)
                if found is not None:
                    return found
        return None

    # A batch names each actor many times: match each distinct set of keys once.
    matches: dict[tuple, int | None] = {}
    resolved: dict[int, int] = {}
    for event in events:
        keys = (event.crm_user_id, event.crm_username, event.user_email)
        found = matches[keys] if keys in matches else matches.setdefault(keys, match(*keys))
        if found is not None:
            resolved[event.index] = found
    return resolved


def _judge_repeat(event: ParsedEvent, stored_hash: str, result: IngestResult) -> None:
    """Same content as the event already standing → duplicate; other content → conflict."""
    if event.content_hash == stored_hash:
        result.duplicates += 1
    else:
        result.rejected.append(Rejection(event.index, event.event_id, "conflict", "event_id",
                                         "An event with this event_id and different content was already accepted."))


def _stored_hashes(table: Table, event_ids: list[str]) -> dict[str, str]:
    """``event_id → content_hash`` of the given ids already stored (one query)."""
    if not event_ids:
        return {}
    query = select(table.c.event_id, table.c.content_hash).where(_one_of(table.c.event_id, event_ids))
    return dict(db.session.execute(query).all())


def _one_of(column, values: Collection[str]):
    """``column IN values``; on PostgreSQL ``column = ANY(<one array parameter>)``."""
    if _dialect() == "postgresql":
        # psycopg parses a query's text in Python and caches only short ones, so a long IN list
        # of placeholders costs more than the lookup itself.
        return column == any_(cast(bindparam(None, list(values)), postgresql.ARRAY(Text)))
    return column.in_(values)


#: The columns of a new event, in the order of the tuples ``_row`` builds.
_COLUMNS = ("event_id", "content_hash", "occurred_at_raw", "occurred_at", "received_at", "event_type",
            "object_type", "client", "properties", "user_email", "crm_user_id", "crm_username",
            "employee_id", "qualifying", "token_id", "import_id")
_PROPERTIES = _COLUMNS.index("properties")


def _row(event: ParsedEvent, employee_id: int | None, token_id: int | None, received_at: dt.datetime,
         import_id: int | None) -> tuple:
    """The column values of one new event (Python values, in ``_COLUMNS`` order)."""
    return (event.event_id, event.content_hash, event.occurred_at_raw, event.occurred_at, received_at,
            event.event_type, event.object_type, event.client, event.properties, event.user_email,
            event.crm_user_id, event.crm_username, employee_id, event.qualifying, token_id, import_id)


def _insert_chunk(table: Table, rows: list[tuple]) -> set[str]:
    """Insert rows, skipping ids that already exist; returns the ids really inserted.

    The ids are how a lost race is detected. Both paths bypass SQLAlchemy's per-row parameter
    handling, which cost more than the database's own work.
    """
    dialect = _dialect()
    if dialect == "postgresql":
        return _insert_chunk_postgresql(table, rows)
    if dialect == "sqlite":
        return _insert_chunk_sqlite(table, rows)
    raise RuntimeError(f"unsupported database {dialect}")


def _insert_chunk_sqlite(table: Table, rows: list[tuple]) -> set[str]:
    """SQLite: one multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING event_id`` (16
    parameters a row, so ``INSERT_CHUNK_ROWS`` stays under the bound-parameter limit)."""
    connection = db.session.connection()
    values = _driver_values(connection.dialect, table, _COLUMNS, rows)
    returned = connection.exec_driver_sql(_sqlite_insert_sql(table.name, len(rows)), tuple(chain.from_iterable(values)))
    return set(returned.scalars().all())


@lru_cache(maxsize=8)
def _sqlite_insert_sql(table_name: str, count: int) -> str:
    """The text of the SQLite insert of ``count`` rows (the same text each time, so SQLite's
    statement cache keeps it prepared)."""
    row = f"({', '.join('?' * len(_COLUMNS))})"
    return (f"INSERT INTO {table_name} ({', '.join(_COLUMNS)}) VALUES {', '.join([row] * count)} "
            "ON CONFLICT (event_id) DO NOTHING RETURNING event_id")


#: Temporary table the PostgreSQL path COPYs a chunk into: private to the connection, created on
#: first use (again after a rollback dropped it), emptied after each chunk and at commit.
_STAGING = "usage_events_staging"


def _insert_chunk_postgresql(table: Table, rows: list[tuple]) -> set[str]:
    """PostgreSQL: ``COPY`` the rows into a temporary table, then one ``INSERT ... SELECT ...
    ON CONFLICT (event_id) DO NOTHING RETURNING event_id``."""
    # COPY streams the rows in the driver's C code; an INSERT would need a parameter per value
    # (or arrays, which psycopg builds slowly). ON CONFLICT then sorts out the ids stored by a
    # concurrent request, which COPY into usage_events itself cannot.
    connection = db.session.connection()
    columns = ", ".join(_COLUMNS)
    with connection.connection.dbapi_connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING} ON COMMIT DELETE ROWS "
                       f"AS SELECT {columns} FROM {table.name} WITH NO DATA")
        with cursor.copy(f"COPY {_STAGING} ({columns}) FROM STDIN") as copy:
            for row in rows:
                properties = row[_PROPERTIES]
                if properties is not None:  # stored as SQL NULL when absent, as JSON text otherwise
                    row = (*row[:_PROPERTIES], json.dumps(properties), *row[_PROPERTIES + 1:])
                copy.write_row(row)
        inserted = set(connection.exec_driver_sql(
            f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {_STAGING} "
            "ON CONFLICT (event_id) DO NOTHING RETURNING event_id").scalars().all())
        cursor.execute(f"DELETE FROM {_STAGING}")  # the next chunk of this transaction starts empty
    return inserted


def _driver_values(dialect, table: Table, columns: Sequence[str], rows: list[tuple]) -> list[tuple]:
    """``rows`` (Python values in ``columns`` order) as the driver takes them, converted by the
    dialect's own bind processors, so raw-driver writes store exactly what SQLAlchemy would."""
    processors = [(i, processor) for i, name in enumerate(columns)
                  if (processor := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))]
    if not processors:
        return rows
    # The last value converted in each column: a batch shares one receipt time, one token, ...
    last = [(object(), None)] * len(columns)
    converted = []
    for row in rows:
        values = list(row)
        for i, processor in processors:
            value = values[i]
            previous, result = last[i]
            if value is not previous:
                result = processor(value)
                last[i] = (value, result)
            values[i] = result
        converted.append(values)
    return converted


def _dialect() -> str:
    """The name of the database dialect in use ("sqlite", "postgresql", ...)."""
    return db.session.get_bind().dialect.name
