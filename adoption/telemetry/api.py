"""The telemetry API: ``POST /api/v1/events`` (bearer token with scope ``events:write``).

The blueprint is CSRF-exempt (it is registered with ``csrf.exempt``): its callers send a bearer
token, not a session cookie, so a forged cross-site request has nothing to ride on.
"""
from __future__ import annotations

import datetime as dt
import math
import time

from flask import Blueprint, current_app, jsonify, request

from adoption.api_auth import api_error, current_token, token_rate_key, token_required
from adoption.extensions import db, limiter
from adoption.telemetry.ingest import RequestError, parse_batch, read_body
from adoption.telemetry.services import store_batch

bp = Blueprint("telemetry_api", __name__, url_prefix="/api/v1")


def _events_rate_limit() -> str:
    """The configured per-token rate limit of the events endpoint."""
    return current_app.config["EVENTS_RATE_LIMIT"]


def received_now() -> dt.datetime:
    """The time of receipt, as naive UTC (tests replace it to pin the clock)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@bp.route("/events", methods=["POST"])
@limiter.limit(_events_rate_limit, key_func=token_rate_key)
@token_required("events:write")
def post_events():
    """Take a batch of CRM usage events; answer with accepted, duplicate and rejected counts."""
    received_at = received_now()
    try:
        body = read_body(request.stream, request.content_length, request.headers.get("Content-Encoding"))
        batch = parse_batch(body, request.mimetype, request.headers.get("X-Sent-At"), received_at)
    except RequestError as exc:
        db.session.commit()  # nothing but the token's last-used time is pending
        return api_error(exc.status, exc.error, exc.message, **exc.extra)
    result = store_batch(batch, current_token().id, received_at)
    db.session.commit()
    return jsonify(result.as_dict())


@bp.errorhandler(429)
def rate_limited(error):
    """Rate limit reached: JSON with ``Retry-After`` in seconds."""
    limit = limiter.current_limit
    retry_after = max(1, math.ceil(limit.reset_at - time.time())) if limit else 60
    return api_error(429, "rate_limited", f"Rate limit reached ({error.description}); retry after {retry_after} s.",
                     {"Retry-After": str(retry_after)})


@bp.errorhandler(400)
@bp.errorhandler(405)
@bp.errorhandler(413)
def http_error(error):
    """Other HTTP errors of the API as JSON rather than the site's HTML pages."""
    return api_error(error.code, error.name.lower().replace(" ", "_"), error.description or error.name)


@bp.errorhandler(500)
def server_error(error):
    """An unexpected failure: the transaction is rolled back, so nothing of the batch is kept."""
    db.session.rollback()
    return api_error(500, "internal_error", "Nothing from this request was stored; retry it.")
