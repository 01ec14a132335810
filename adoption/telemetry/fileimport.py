"""Importing a file of events: read it row by row, judge, store and commit in batches.

A file import is a job, so unlike the services it commits: once per batch of ``batch_size``
rows. Each batch is atomic, so a crash mid-file leaves every committed batch whole, and
re-running the same file converges (``event_id`` is idempotent: stored rows come back as
duplicates, never twice). Rejected rows, with their line and reason, go to a CSV. Memory stays
constant whatever the size of the file. Formats: ``formats.py`` and docs/telemetry.md.
"""
from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, TextIO

from adoption.extensions import db
from adoption.telemetry.formats import (
    FORMATS,
    NEEDS_EVENT_TYPE,
    FileFormatError,
    Row,
    RowRejection,
    read_events,
)
from adoption.telemetry.ingest import Batch, Rejection, judge_event
from adoption.telemetry.services import store_batch
from adoption.timekeeping import utcnow

__all__ = ["FORMATS", "NEEDS_EVENT_TYPE", "REJECTS_HEADER", "FileFormatError", "FileImportResult", "import_events"]

REJECTS_HEADER = ("line", "event_id", "code", "field", "message")
GZIP_MAGIC = b"\x1f\x8b"
_READ_CHUNK = 256 * 1024
# The gzip module's ways of saying the compressed data is damaged or cut short.
_GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)


@dataclass
class FileImportResult:
    """What became of a file: rows read, and events accepted, already stored, or rejected."""

    rows: int = 0  # data rows of the file (blank lines and a header excluded)
    accepted: int = 0
    duplicates: int = 0
    # Rejected rows and events (a salesforce-records row can make two events).
    rejected: int = 0

    def summary(self) -> str:
        """The CLI's final line."""
        return f"accepted={self.accepted} duplicates={self.duplicates} rejected={self.rejected}"


def import_events(stream: BinaryIO, fmt: str, *, event_type: str | None = None, import_id: int | None = None,
                  rejects: TextIO | None = None, progress: Callable[[int, int], None] | None = None,
                  batch_size: int = 1000) -> FileImportResult:
    """Import a file of events (gzip or not), committing each batch; raises ``FileFormatError``
    before storing anything when the file as a whole cannot be read."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    source = _open_source(stream)
    rows = read_events(source.stream, fmt, event_type)
    writer = csv.writer(rejects) if rejects is not None else None
    if writer is not None:
        writer.writerow(REJECTS_HEADER)
    result = FileImportResult()
    pending: list[Row] = []
    last_line = 0
    for row in source.guard(rows):
        if row.line != last_line:  # the events of one row are consecutive and share its line
            result.rows += 1
            last_line = row.line
        pending.append(row)
        if len(pending) >= batch_size:
            _import_batch(pending, import_id, result, writer, rejects)
            pending = []
            if progress is not None:
                progress(source.bytes_read, result.rows)
    if pending:
        _import_batch(pending, import_id, result, writer, rejects)
    if progress is not None:
        progress(source.bytes_read, result.rows)
    return result


def _import_batch(pending: list[Row], import_id: int | None, result: FileImportResult,
                  writer, rejects: TextIO | None) -> None:
    """Judge, store and commit one batch; then count it and write its rejects in line order."""
    received_at = utcnow()
    batch = Batch()
    lines: list[int] = []  # line of each judged event, by its index in the batch
    rejected: list[RowRejection] = []
    for row in pending:
        if isinstance(row, RowRejection):
            rejected.append(row)
            continue
        verdict = judge_event(len(lines), row.value, received_at, None)
        if isinstance(verdict, Rejection):
            rejected.append(_at_line(verdict, row.line))
            continue
        if not row.qualifying:
            verdict.qualifying = False
        batch.events.append(verdict)
        lines.append(row.line)
    if batch.events:
        stored = store_batch(batch, token_id=None, received_at=received_at, import_id=import_id)
        db.session.commit()
        result.accepted += stored.accepted
        result.duplicates += stored.duplicates
        rejected.extend(_at_line(r, lines[r.index]) for r in stored.rejected)  # conflicts
    result.rejected += len(rejected)
    if writer is not None and rejected:
        rejected.sort(key=lambda r: r.line)
        writer.writerows((r.line, r.event_id or "", r.code, r.field or "", r.message) for r in rejected)
        rejects.flush()


def _at_line(rejection: Rejection, line: int) -> RowRejection:
    """A judge's rejection, placed at the file line it came from."""
    return RowRejection(line, rejection.event_id, rejection.code, rejection.field, rejection.message)


class _CountingReader(io.RawIOBase):
    """Reads from the caller's stream, counting the bytes (for progress); never closes it."""

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__()
        self._stream = stream
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.count += size
        return size


class _Source:
    """The file's content as a binary stream, gunzipped when it is gzip, with bytes read so far."""

    def __init__(self, counter: _CountingReader, stream: BinaryIO, gzipped: bool) -> None:
        self._counter = counter
        self.stream = stream
        self.gzipped = gzipped

    @property
    def bytes_read(self) -> int:
        """Bytes taken from the file (compressed bytes for a gzip file)."""
        return self._counter.count

    def guard(self, rows: Iterator[Row]) -> Iterator[Row]:
        """``rows``, turning gzip damage found mid-way (unseekable input only) into ``FileFormatError``."""
        if not self.gzipped:
            yield from rows
            return
        line = 0
        try:
            for row in rows:
                line = row.line
                yield row
        except _GZIP_ERRORS as exc:
            raise FileFormatError(f"the gzip data is damaged after line {line} ({exc}); "
                                  "the rows before it were imported") from exc


def _open_source(stream: BinaryIO) -> _Source:
    """Wrap the caller's stream; a gzip file (by its magic bytes) is checked whole, then unzipped."""
    start = stream.tell() if _seekable(stream) else None
    counter = _CountingReader(stream)
    buffered = io.BufferedReader(counter, _READ_CHUNK)
    if buffered.peek(2)[:2] != GZIP_MAGIC:
        return _Source(counter, buffered, gzipped=False)
    if start is not None:
        # Read the gzip through once before storing anything, so a truncated or corrupt file is a
        # whole-file error rather than a half-imported one (constant memory: output is discarded).
        _check_gzip(stream, start)
        stream.seek(start)
        counter = _CountingReader(stream)
        buffered = io.BufferedReader(counter, _READ_CHUNK)
    return _Source(counter, gzip.GzipFile(fileobj=buffered, mode="rb"), gzipped=True)


def _check_gzip(stream: BinaryIO, start: int) -> None:
    """Raise ``FileFormatError`` unless the stream from ``start`` is complete, valid gzip."""
    stream.seek(start)
    try:
        with gzip.GzipFile(fileobj=stream, mode="rb") as unzipped:
            while unzipped.read(_READ_CHUNK):
                pass
    except _GZIP_ERRORS as exc:
        raise FileFormatError(f"the file starts like gzip but is not valid gzip ({exc})") from exc


def _seekable(stream: BinaryIO) -> bool:
    try:
        return stream.seekable()
    except (AttributeError, ValueError):
        return False
