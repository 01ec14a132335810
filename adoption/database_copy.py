"""Copying the whole database to another one: how an organization that started on the embedded
SQLite file moves to PostgreSQL when it outgrows it (``flask copy-database``, docs/operations.md).

The target must already have the schema, by the same migrations at the same revision (``flask db
upgrade`` run against it), and hold no rows: the copy never merges. Every table is copied through
SQLAlchemy Core with the models' own column types, so values are converted between the dialects
(SQLite's text dates, 0/1 booleans and JSON text become PostgreSQL's types), parents before
children, in one transaction on the target: a failure leaves it empty, and the copy can simply be
run again. A self-referencing column (a unit's parent, an employee's manager) is filled in a
second pass, after every row of its table exists. PostgreSQL's id sequences are then moved past
the copied ids, and the row counts of both sides are compared before the commit.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    JSON,
    Connection,
    Engine,
    MetaData,
    Table,
    and_,
    bindparam,
    func,
    null,
    select,
    text,
    update,
)

#: Rows read and written per statement.
BATCH_ROWS = 5000
_NULL = "__sql_null_"


class CopyError(Exception):
    """The copy cannot be made (the message says why); nothing was written."""


@dataclass
class CopyReport:
    """What was copied: rows per table, in the order they were copied."""

    revision: str
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Rows copied in all."""
        return sum(self.rows.values())


def copy_database(source: Engine, target: Engine, metadata: MetaData, *,
                  progress: Callable[[str, int], None] | None = None) -> CopyReport:
    """Copy every table of ``metadata`` from ``source`` into the empty, migrated ``target``;
    commits on the target only when every table's row count matches."""
    with source.connect() as reading, target.connect() as writing:
        if reading.dialect.name == "postgresql":
            # Every table read in one snapshot, as SQLite's one read transaction gives by itself.
            reading = reading.execution_options(isolation_level="REPEATABLE READ")
        revision = _check(reading, writing, metadata)
        report = CopyReport(revision)
        with writing.begin():
            for table in metadata.sorted_tables:
                report.rows[table.name] = _copy_table(reading, writing, table)
                if progress is not None:
                    progress(table.name, report.rows[table.name])
            if writing.dialect.name == "postgresql":
                _advance_sequences(writing, metadata)
            copied = {t.name: writing.scalar(select(func.count()).select_from(t)) for t in metadata.sorted_tables}
            if copied != report.rows:
                differing = sorted(name for name in copied if copied[name] != report.rows[name])
                raise CopyError(f"the target's row counts differ from the source's in {', '.join(differing)}; "
                                "nothing was kept")
    return report


def _check(reading: Connection, writing: Connection, metadata: MetaData) -> str:
    """The schema revision both sides are at; ``CopyError`` unless they match and the target is empty."""
    source_revision, target_revision = _revision(reading), _revision(writing)
    if source_revision is None:
        raise CopyError("the source database has no migration revision: run `flask db upgrade` on it first")
    if target_revision != source_revision:
        raise CopyError(f"the target is at migration revision {target_revision or 'none (no schema)'} and the "
                        f"source at {source_revision}: run `flask --app wsgi db upgrade` with "
                        "UPTAKE_DATABASE_URL set to the target first")
    filled = [t.name for t in metadata.sorted_tables if writing.scalar(select(select(t).limit(1).exists()))]
    writing.rollback()
    if filled:
        raise CopyError(f"the target already holds data (in {', '.join(filled[:5])}"
                        f"{', …' if len(filled) > 5 else ''}): the copy never merges; use an empty database")
    return source_revision


def _revision(connection: Connection) -> str | None:
    """The Alembic revision the database is at (None without one), read as ``health.readiness`` does."""
    revision = MigrationContext.configure(connection).get_current_revision()
    connection.rollback()
    return revision


def _copy_table(reading: Connection, writing: Connection, table: Table) -> int:
    """Copy one table in batches, in primary-key order; returns the rows copied."""
    later = [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]
    # A JSON column can hold SQL NULL or the JSON value null, which both read as None; written back,
    # None becomes JSON null. The rows that held SQL NULL are set back to it after each batch.
    json_nullable = [c for c in table.columns if isinstance(c.type, JSON) and c.nullable]
    key = list(table.primary_key.columns)
    by_key = and_(*(c == bindparam("key_" + c.name) for c in key))
    copied = 0
    deferred: list[dict] = []
    for rows in _batches(reading, table, json_nullable):
        sql_null = {c.name: [row for row in rows if row.pop(_NULL + c.name)] for c in json_nullable}
        if later:
            deferred += [_key_of(row, key) | {"later_" + name: row[name] for name in later}
                         for row in rows if any(row[name] is not None for name in later)]
            rows = [row | dict.fromkeys(later) for row in rows]
        writing.execute(table.insert(), rows)
        for name, nulls in sql_null.items():
            if nulls:
                writing.execute(update(table).where(by_key).values({name: null()}), [_key_of(r, key) for r in nulls])
        copied += len(rows)
    if deferred:
        # Every row exists now, so a reference to a row with a higher id holds.
        statement = update(table).where(by_key).values({name: bindparam("later_" + name) for name in later})
        for start in range(0, len(deferred), BATCH_ROWS):
            writing.execute(statement, deferred[start:start + BATCH_ROWS])
    return copied


def _key_of(row: dict, key: list) -> dict:
    """The row's primary key as the ``key_*`` parameters of an UPDATE."""
    return {"key_" + c.name: row[c.name] for c in key}


def _batches(reading: Connection, table: Table, json_nullable: list) -> Iterator[list[dict]]:
    """The table's rows as dicts (with an SQL NULL flag per nullable JSON column), ``BATCH_ROWS``
    at a time, without holding the whole table."""
    flags = [c.is_(None).label(_NULL + c.name) for c in json_nullable]
    result = reading.execution_options(stream_results=True, yield_per=BATCH_ROWS).execute(
        select(table, *flags).order_by(*table.primary_key.columns))
    for partition in result.mappings().partitions(BATCH_ROWS):
        yield [dict(row) for row in partition]


def _advance_sequences(writing: Connection, metadata: MetaData) -> None:
    """Move each PostgreSQL id sequence past the largest copied id, so new rows get fresh ids."""
    for table in metadata.sorted_tables:
        columns = list(table.primary_key.columns)
        if len(columns) != 1 or not columns[0].autoincrement or columns[0].type.python_type is not int:
            continue
        sequence = writing.scalar(text("SELECT pg_get_serial_sequence(:table, :column)"),
                                  {"table": table.name, "column": columns[0].name})
        if sequence is not None:
            quote = writing.dialect.identifier_preparer.quote
            writing.execute(text(f"SELECT setval(:sequence, COALESCE((SELECT max({quote(columns[0].name)}) "
                                 f"FROM {quote(table.name)}), 0) + 1, false)"), {"sequence": sequence})
