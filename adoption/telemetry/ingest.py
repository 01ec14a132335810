"""Event batches from bytes to per-event verdicts: pure functions, no Flask, no database.

``read_body`` turns a (possibly gzip-encoded) request body into at most ``MAX_BODY_BYTES``;
``parse_batch`` splits it into events and judges each one on its own with ``judge_event``.
Problems with the request as a whole raise ``RequestError``; a problem with one event is a
``Rejection`` for that event only. The codes are listed in ``REJECTION_CODES`` and docs/api.md.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

MAX_EVENTS = 1000
MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_EVENT_BYTES = 32 * 1024
# A gzip body may be a little larger than its content when the content does not compress.
MAX_COMPRESSED_BYTES = MAX_BODY_BYTES + 64 * 1024
MAX_FUTURE = dt.timedelta(hours=23)
MAX_EVENT_ID_LENGTH = 128
MAX_PROPERTIES_DEPTH = 16
LIMITS = {"max_events": MAX_EVENTS, "max_body_bytes": MAX_BODY_BYTES, "max_event_bytes": MAX_EVENT_BYTES}

CLIENTS = ("ui", "mobile", "api", "integration")
# Machine traffic: an integration user or a script is not a person adopting the CRM, so such
# events are stored but never count towards adoption (the same rule as API logins in the
# Salesforce login export).
NON_QUALIFYING_CLIENTS = frozenset({"api", "integration"})
ACTOR_FIELDS = ("crm_user_id", "crm_username", "user_email")
FIELDS = frozenset({"event_id", "occurred_at", "event_type", "object_type", "client", "properties", *ACTOR_FIELDS})
# Longest accepted value of each string field (the column sizes of UsageEvent).
MAX_LENGTHS = {"event_type": 64, "object_type": 64, "user_email": 320, "crm_user_id": 64, "crm_username": 320}
_STRING_FIELDS = (("event_type", True), ("object_type", False), *((a, False) for a in ACTOR_FIELDS))

#: Every code a rejected event can carry, with what it means.
REJECTION_CODES: dict[str, str] = {
    "invalid_json": "an NDJSON line is not valid JSON (or not UTF-8)",
    "invalid_type": "the event is not a JSON object, or a field has the wrong JSON type",
    "too_large": f"the event's canonical JSON is over {MAX_EVENT_BYTES} bytes",
    "unknown_field": "the event has a field the API does not define (put extra data in `properties`)",
    "missing_field": "a required field is absent or null (`actor` means none of the three actor keys)",
    "invalid_event_id": f"`event_id` is empty, longer than {MAX_EVENT_ID_LENGTH} characters, "
                        "has leading/trailing spaces or control characters",
    "invalid_timestamp": "`occurred_at` is not an RFC 3339 date-time with an offset",
    "future_timestamp": "`occurred_at` is more than 23 hours after the time of receipt (after skew correction)",
    "invalid_value": "a string is empty, too long or holds control characters, or `properties` "
                     f"is nested deeper than {MAX_PROPERTIES_DEPTH} levels",
    "unknown_client": f"`client` is not one of {', '.join(CLIENTS)}",
    "conflict": "an event with this `event_id` but different content was already accepted",
    "too_old": "`occurred_at` is before the retention window (`UPTAKE_TELEMETRY_RETENTION_DAYS`): raw "
               "events that old are deleted, so they are no longer taken",
}

_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(?:([Zz])|([+-])([01][0-9]|2[0-3]):([0-5][0-9]))"
)
# One encoder for every event: json.dumps with options builds a new one on each call.
_CANONICAL_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
# Control characters and unpaired surrogates cannot go into a text column (PostgreSQL refuses
# NUL and the driver cannot encode a lone surrogate), so they are refused up front.
_BAD_CHARACTERS = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


class RequestError(Exception):
    """The request as a whole cannot be taken: answered with ``status`` and nothing is stored."""

    def __init__(self, status: int, error: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.extra = extra


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why one event was not taken."""

    index: int
    event_id: str | None
    code: str
    field: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON form used in the API response."""
        return {"index": self.index, "event_id": self.event_id, "code": self.code,
                "field": self.field, "message": self.message}


@dataclass(slots=True)  # not frozen: a frozen dataclass is several times slower to build
class ParsedEvent:
    """A valid event, ready to store; times are naive UTC."""

    index: int
    event_id: str
    content_hash: str
    occurred_at_raw: str
    occurred_at: dt.datetime
    event_type: str
    object_type: str | None
    client: str | None
    properties: dict | None
    user_email: str | None
    crm_user_id: str | None
    crm_username: str | None
    qualifying: bool


@dataclass
class Batch:
    """The events of one request: the valid ones and the per-event rejections, by index."""

    events: list[ParsedEvent] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    sent_at: dt.datetime | None = None


def read_body(stream: BinaryIO, content_length: int | None, content_encoding: str | None) -> bytes:
    """The request body, gunzipped if need be; never more than ``MAX_BODY_BYTES`` are held."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        if content_length is not None and content_length > MAX_BODY_BYTES:
            raise _body_too_large()
        body = _read_at_most(stream, MAX_BODY_BYTES)
        if len(body) > MAX_BODY_BYTES:
            raise _body_too_large()
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise RequestError(415, "unsupported_encoding", "Content-Encoding must be gzip or absent.")
    if content_length is not None and content_length > MAX_COMPRESSED_BYTES:
        raise _body_too_large()
    compressed = _read_at_most(stream, MAX_COMPRESSED_BYTES)
    if len(compressed) > MAX_COMPRESSED_BYTES:
        raise _body_too_large()
    return gunzip_capped(compressed, MAX_BODY_BYTES)


def gunzip_capped(data: bytes, limit: int) -> bytes:
    """Decompress gzip ``data`` (one or more members), stopping as soon as it passes ``limit`` bytes."""
    out = bytearray()
    # Decompressing in bounded steps is the defence against gzip bombs: a few kilobytes can
    # expand to gigabytes, so the output, not the input, is what must be capped.
    while data:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            while data:
                out += inflater.decompress(data, limit + 1 - len(out))
                if len(out) > limit:
                    raise _body_too_large()
                data = inflater.unconsumed_tail
                if inflater.eof:
                    break
        except zlib.error as exc:
            raise RequestError(400, "invalid_gzip", f"The body is not valid gzip: {exc}.") from exc
        if not inflater.eof:
            raise RequestError(400, "invalid_gzip", "The gzip body is truncated.")
        data = inflater.unused_data
    return bytes(out)


def parse_batch(body: bytes, media_type: str, sent_at_header: str | None, received_at: dt.datetime) -> Batch:
    """Split a body into events and judge each; raises ``RequestError`` for request-level faults."""
    if media_type == "application/json":
        values, sent_at_raw = _json_envelope(body)
    elif media_type == "application/x-ndjson":
        values, sent_at_raw = list(_ndjson_values(body)), sent_at_header
    else:
        raise RequestError(415, "unsupported_media_type",
                           "Send Content-Type: application/json or application/x-ndjson.")
    batch = Batch()
    skew = None
    if sent_at_raw is not None:
        sent_at = parse_rfc3339(sent_at_raw) if isinstance(sent_at_raw, str) else None
        if sent_at is None:
            raise RequestError(400, "invalid_sent_at", "sent_at must be an RFC 3339 date-time with an offset.")
        batch.sent_at = sent_at
        # Positive when the sender's clock runs ahead of ours.
        skew = sent_at - received_at
    for index, value in enumerate(values):
        verdict = value if isinstance(value, Rejection) else judge_event(index, value, received_at, skew)
        if isinstance(verdict, Rejection):
            batch.rejected.append(verdict)
        else:
            batch.events.append(verdict)
    return batch


def judge_event(index: int, value: Any, received_at: dt.datetime, skew: dt.timedelta | None) -> ParsedEvent | Rejection:
    """Validate one event (any JSON value): a ``ParsedEvent`` or the first ``Rejection`` found."""
    if not isinstance(value, dict):
        return Rejection(index, None, "invalid_type", None, "An event must be a JSON object.")
    raw_id = value.get("event_id")
    echo_id = raw_id[:MAX_EVENT_ID_LENGTH] if isinstance(raw_id, str) else None

    def reject(code: str, field_name: str | None, message: str) -> Rejection:
        return Rejection(index, echo_id, code, field_name, message)

    try:
        canonical = canonical_json(value)
    except (TypeError, ValueError, RecursionError):
        return reject("invalid_value", None, "The event cannot be represented as canonical JSON.")
    if len(canonical) > MAX_EVENT_BYTES:
        return reject("too_large", None, f"The event is {len(canonical)} bytes; the limit is {MAX_EVENT_BYTES}.")
    if not FIELDS.issuperset(value):
        unknown = min(k for k in value if k not in FIELDS)
        return reject("unknown_field", unknown, f"'{unknown}' is not an event field; use 'properties' for extra data.")

    event_id = value.get("event_id")
    if event_id is None:
        return reject("missing_field", "event_id", "event_id is required.")
    if not isinstance(event_id, str):
        return reject("invalid_type", "event_id", "event_id must be a string.")
    if (not event_id or len(event_id) > MAX_EVENT_ID_LENGTH or event_id != event_id.strip()
            or _BAD_CHARACTERS.search(event_id)):
        return reject("invalid_event_id", "event_id",
                      f"event_id must be 1-{MAX_EVENT_ID_LENGTH} characters without control characters "
                      "or leading/trailing spaces.")

    occurred_raw = value.get("occurred_at")
    if occurred_raw is None:
        return reject("missing_field", "occurred_at", "occurred_at is required.")
    if not isinstance(occurred_raw, str):
        return reject("invalid_type", "occurred_at", "occurred_at must be a string.")
    occurred = parse_rfc3339(occurred_raw)
    if occurred is None:
        return reject("invalid_timestamp", "occurred_at",
                      "occurred_at must be an RFC 3339 date-time with an offset, e.g. 2024-05-01T09:30:00Z.")

    strings: dict[str, str | None] = {}
    for name, required in _STRING_FIELDS:
        raw = value.get(name)
        if raw is None or (raw == "" and not required):
            strings[name] = None
            if required:
                return reject("missing_field", name, f"{name} is required.")
            continue
        if not isinstance(raw, str):
            return reject("invalid_type", name, f"{name} must be a string.")
        if not raw.strip() or len(raw) > MAX_LENGTHS[name] or _BAD_CHARACTERS.search(raw):
            return reject("invalid_value", name,
                          f"{name} must be 1-{MAX_LENGTHS[name]} characters without control characters.")
        strings[name] = raw
    if not (strings["crm_user_id"] or strings["crm_username"] or strings["user_email"]):
        return reject("missing_field", "actor", "One of user_email, crm_user_id or crm_username is required.")

    client = value.get("client")
    if client is not None:
        if not isinstance(client, str):
            return reject("invalid_type", "client", "client must be a string.")
        if client not in CLIENTS:
            return reject("unknown_client", "client", f"client must be one of {', '.join(CLIENTS)}.")

    properties = value.get("properties")
    if properties is not None:
        if not isinstance(properties, dict):
            return reject("invalid_type", "properties", "properties must be a JSON object.")
        if _deeper_than(properties, MAX_PROPERTIES_DEPTH):
            return reject("invalid_value", "properties", f"properties may nest at most {MAX_PROPERTIES_DEPTH} levels.")

    try:
        corrected = occurred - skew if skew is not None else occurred
    except OverflowError:
        return reject("invalid_timestamp", "occurred_at", "occurred_at is out of range once corrected for clock skew.")
    if corrected - received_at > MAX_FUTURE:
        return reject("future_timestamp", "occurred_at",
                      "occurred_at is more than 23 hours in the future (after clock-skew correction).")

    return ParsedEvent(
        index=index, event_id=event_id, content_hash=hashlib.sha256(canonical).hexdigest(),
        occurred_at_raw=occurred_raw, occurred_at=corrected, event_type=strings["event_type"],
        object_type=strings["object_type"], client=client, properties=properties,
        user_email=strings["user_email"], crm_user_id=strings["crm_user_id"],
        crm_username=strings["crm_username"], qualifying=client not in NON_QUALIFYING_CLIENTS,
    )


def canonical_json(value: Any) -> bytes:
    """The bytes an event's hash and size are taken over: sorted keys, no spaces, UTF-8."""
    # surrogatepass: a lone surrogate (legal in JSON escapes) must not make hashing raise.
    return _CANONICAL_ENCODER.encode(value).encode("utf-8", "surrogatepass")


def parse_rfc3339(text: str) -> dt.datetime | None:
    """An RFC 3339 date-time with offset as naive UTC, or None when it is not one."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        return None
    # The pattern has vetted the shape; the C parser does the arithmetic (it truncates a fraction
    # past microseconds, and refuses impossible dates and offsets of 24 hours or more).
    try:
        parsed = dt.datetime.fromisoformat(text.upper() if match.group(8) == "z" or "t" in text else text)
        offset = parsed.utcoffset()
        return parsed.replace(tzinfo=None) - offset
    except (ValueError, OverflowError):
        return None


def _json_envelope(body: bytes) -> tuple[list[Any], Any]:
    """The events and ``sent_at`` of a JSON body ``{"sent_at"?, "events": [...]}``."""
    try:
        document = json.loads(body.decode("utf-8-sig"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise RequestError(400, "invalid_json", f"The body is not valid UTF-8 JSON: {exc}.") from exc
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise RequestError(400, "invalid_body", 'The body must be an object {"sent_at"?: ..., "events": [...]}.')
    unknown = sorted(set(document) - {"sent_at", "events"})
    if unknown:
        raise RequestError(400, "invalid_body", f"Unknown field '{unknown[0]}' in the body; only sent_at and events are defined.")
    events = document["events"]
    if len(events) > MAX_EVENTS:
        raise _too_many_events(len(events))
    return events, document.get("sent_at")


def _ndjson_values(body: bytes) -> Iterator[Any]:
    """One JSON value (or an ``invalid_json`` rejection) per non-blank line."""
    lines = [line for line in body.split(b"\n") if line.strip()]
    if len(lines) > MAX_EVENTS:
        raise _too_many_events(len(lines))
    for index, line in enumerate(lines):
        try:
            yield json.loads(line.decode("utf-8-sig" if index == 0 else "utf-8"), parse_constant=_refuse_constant)
        except (UnicodeDecodeError, ValueError, RecursionError):
            yield Rejection(index, None, "invalid_json", None, "This line is not valid UTF-8 JSON.")


def _deeper_than(value: Any, limit: int) -> bool:
    """True when containers nest more than ``limit`` levels (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _refuse_constant(name: str) -> Any:
    """NaN and Infinity are not JSON; Python's parser would accept them otherwise."""
    raise ValueError(f"{name} is not valid JSON")


def _read_at_most(stream: BinaryIO, limit: int) -> bytes:
    """Read until end of stream or ``limit + 1`` bytes, whichever comes first."""
    chunks, size = [], 0
    while size <= limit:
        chunk = stream.read(min(64 * 1024, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _body_too_large() -> RequestError:
    return RequestError(413, "body_too_large",
                        f"The body is over {MAX_BODY_BYTES} bytes uncompressed; send smaller batches.", limits=LIMITS)


def _too_many_events(count: int) -> RequestError:
    return RequestError(413, "too_many_events",
                        f"The batch has {count} events; the limit is {MAX_EVENTS}.", limits=LIMITS)
