"""``POST /api/v1/outcomes``: customer outcomes per unit and period (bearer token with scope
``outcomes:write``), answered per item like ``POST /api/v1/events``.

The blueprint is CSRF-exempt (registered with ``csrf.exempt``): it takes only a bearer token,
never the session cookie, so a forged cross-site request has nothing to ride on.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, jsonify, request

from adoption.api_auth import api_error, current_token, rate_limited, token_rate_key, token_required
from adoption.extensions import db, limiter
from adoption.outcomes import RequestError, judge_outcomes, read_outcome_request, store_outcomes
from adoption.signals import announce_import
from adoption.telemetry.api import http_error, server_error
from adoption.timekeeping import utcnow

bp = Blueprint("outcomes_api", __name__, url_prefix="/api/v1")

# The same JSON error answers as the events API (429 with Retry-After, other HTTP errors, 500
# after a rollback).
bp.register_error_handler(429, rate_limited)
for _status in (400, 405, 413):
    bp.register_error_handler(_status, http_error)
bp.register_error_handler(500, server_error)


def _outcomes_rate_limit() -> str:
    """The configured per-token rate limit of the outcomes endpoint."""
    return current_app.config["OUTCOMES_RATE_LIMIT"]


def received_now() -> dt.datetime:
    """The time of receipt, as naive UTC (tests replace it to pin the clock)."""
    return utcnow()


@bp.route("/outcomes", methods=["POST"])
@limiter.limit(_outcomes_rate_limit, key_func=token_rate_key)
@token_required("outcomes:write")
def post_outcomes():
    """Take customer outcomes; answer with accepted, duplicate and rejected counts."""
    received_at = received_now()
    try:
        items = read_outcome_request(request.stream, request.content_length,
                                     request.headers.get("Content-Encoding"), request.mimetype)
    except RequestError as exc:
        db.session.commit()  # nothing but the token's last-used time is pending
        return api_error(exc.status, exc.error, exc.message, **exc.extra)
    valid, rejected = judge_outcomes(items)
    result = store_outcomes(valid, source="api", token_id=current_token().id, now=received_at, rejected=rejected)
    db.session.commit()
    announce_import("outcomes", result.accepted)  # after the commit: receivers see the new values
    return jsonify(result.as_dict())
