"""Storing judged events: idempotency on ``event_id``, identity resolution, one bulk insert.

The hot path of ingestion, so it uses SQLAlchemy Core on the table, never per-object ORM: one
SELECT of the batch's ids already stored, one SELECT each of the roster keys and of the aliases
the batch names, and multi-row INSERTs. It adds to the caller's transaction and never commits:
the request commits once, so a crash leaves all of the accepted part stored or none of it.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Integer,
    Table,
    Text,
    and_,
    bindparam,
    cast,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from adoption.extensions import db
from adoption.models import CrmAlias, Employee, UsageEvent
from adoption.telemetry.ingest import Batch, ParsedEvent, Rejection
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
    reject conflicts; flushes, never commits."""
    result = IngestResult(rejected=list(batch.rejected))
    table: Table = UsageEvent.__table__

    # An id stands for the content stored first: in the database, else earlier in this batch.
    standing = _stored_hashes(table, list({event.event_id for event in batch.events}))
    fresh: list[ParsedEvent] = []
    for event in batch.events:
        stored_hash = standing.get(event.event_id)
        if stored_hash is None:
            standing[event.event_id] = event.content_hash
            fresh.append(event)
        else:
            _judge_repeat(event, stored_hash, result)

    if fresh:
        employees = resolve_employees(fresh)
        rows = [_row(event, employees.get(event.index), token_id, received_at, import_id) for event in fresh]
        inserted: set[str] = set()
        for start in range(0, len(rows), INSERT_CHUNK_ROWS):
            inserted.update(_insert_chunk(table, rows[start:start + INSERT_CHUNK_ROWS]))
        result.accepted = len(inserted)
        # Only what this transaction really inserted is counted, so a lost race never counts twice.
        add_to_daily_usage(row for row in rows if row["event_id"] in inserted)
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
        matches = [column.in_(exact_ids)]
        if short_ids:
            matches.append(and_(func.length(column) == LONG_ID, func.substr(column, 1, SHORT_ID).in_(short_ids)))
        return or_(*matches)

    roster_conditions, alias_conditions = [], []
    if exact_ids:
        roster_conditions.append(id_matches(Employee.crm_user_id))
        alias_conditions.append(and_(CrmAlias.key_kind == "crm_user_id", id_matches(CrmAlias.key_value)))
    if usernames:
        roster_conditions.append(Employee.crm_username.in_(usernames))
        alias_conditions.append(and_(CrmAlias.key_kind == "crm_username", CrmAlias.key_value.in_(usernames)))
    if emails:
        roster_conditions.append(Employee.email.in_(emails))
        alias_conditions.append(and_(CrmAlias.key_kind == "user_email", CrmAlias.key_value.in_(emails)))
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

    resolved: dict[int, int] = {}
    for event in events:
        crm_user_id = event.crm_user_id
        short_id = crm_user_id[:SHORT_ID] if crm_user_id and len(crm_user_id) in (SHORT_ID, LONG_ID) else None
        # Each tier's keys, tried in the roster and then in the aliases before the next tier.
        tiers = (((by_id, crm_user_id), (by_short_id, short_id)),
                 ((by_username, event.crm_username.lower() if event.crm_username else None),),
                 ((by_email, event.user_email.lower() if event.user_email else None),))
        match = None
        for tier in tiers:
            for source in (0, 1):
                match = next((maps[source][key] for maps, key in tier if key and key in maps[source]), None)
                if match is not None:
                    break
            if match is not None:
                resolved[event.index] = match
                break
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
    if _dialect() == "postgresql":
        # One array parameter instead of 1,000 placeholders: psycopg parses a query's text in
        # Python and caches only short ones, so a long IN list costs more than the lookup.
        condition = table.c.event_id == func.any(cast(bindparam("ids"), postgresql.ARRAY(Text)))
    else:
        condition = table.c.event_id.in_(bindparam("ids", expanding=True))
    query = select(table.c.event_id, table.c.content_hash).where(condition)
    return dict(db.session.execute(query, {"ids": event_ids}).all())


def _row(event: ParsedEvent, employee_id: int | None, token_id: int | None, received_at: dt.datetime,
         import_id: int | None) -> dict:
    """The column values of one new event."""
    return {
        "event_id": event.event_id, "content_hash": event.content_hash,
        "occurred_at_raw": event.occurred_at_raw, "occurred_at": event.occurred_at,
        "received_at": received_at, "event_type": event.event_type, "object_type": event.object_type,
        "client": event.client, "properties": event.properties, "user_email": event.user_email,
        "crm_user_id": event.crm_user_id, "crm_username": event.crm_username,
        "employee_id": employee_id, "qualifying": event.qualifying, "token_id": token_id,
        "import_id": import_id,
    }


def _insert_chunk(table: Table, rows: list[dict]) -> set[str]:
    """Insert rows in one statement, skipping ids that already exist; returns the ids inserted."""
    dialect = _dialect()
    if dialect == "postgresql":
        return _insert_chunk_postgresql(table, rows)
    if dialect == "sqlite":
        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=["event_id"])
    else:  # no portable "skip duplicates": a race then fails the request, and its retry converges
        statement = insert(table)
    # With RETURNING, SQLAlchemy sends the rows as multi-row VALUES ("insertmanyvalues") and
    # hands back only the rows really inserted, which is how a lost race is detected.
    returned = db.session.execute(statement.returning(table.c.event_id), rows)
    return set(returned.scalars())


#: PostgreSQL element type of each inserted column, for the unnest() arrays.
_PG_ARRAY_TYPES = {
    "event_id": Text, "content_hash": Text, "occurred_at_raw": Text, "occurred_at": DateTime,
    "received_at": DateTime, "event_type": Text, "object_type": Text, "client": Text,
    "properties": Text, "user_email": Text, "crm_user_id": Text, "crm_username": Text,
    "employee_id": Integer, "qualifying": Boolean, "token_id": Integer, "import_id": Integer,
}


def _insert_chunk_postgresql(table: Table, rows: list[dict]) -> set[str]:
    """PostgreSQL: ``INSERT ... SELECT FROM unnest(<one array per column>) ON CONFLICT DO NOTHING``."""
    # One short statement with 15 array parameters, instead of a VALUES list with thousands of
    # placeholders that psycopg would have to parse on every call; RETURNING still names the
    # rows really inserted.
    columns = list(_PG_ARRAY_TYPES)
    arrays = {name: [row[name] for row in rows] for name in columns}
    arrays["properties"] = [None if p is None else json.dumps(p) for p in arrays["properties"]]
    unnested = func.unnest(*(cast(bindparam(f"a_{name}"), postgresql.ARRAY(kind)) for name, kind in _PG_ARRAY_TYPES.items())
                           ).table_valued(*columns).render_derived()
    source = select(*(cast(unnested.c.properties, JSON) if name == "properties" else unnested.c[name] for name in columns))
    statement = (postgresql.insert(table).from_select(columns, source)
                 .on_conflict_do_nothing(index_elements=["event_id"]).returning(table.c.event_id))
    returned = db.session.execute(statement, {f"a_{name}": values for name, values in arrays.items()})
    return set(returned.scalars())


def _dialect() -> str:
    """The name of the database dialect in use ("sqlite", "postgresql", ...)."""
    return db.session.get_bind().dialect.name
