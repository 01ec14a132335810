"""The telemetry API: ``POST /api/v1/events`` (bearer token with scope ``events:write``) and
``GET /api/v1/adoption`` (token with scope ``read``, or a signed-in user within their scope).

The blueprint is CSRF-exempt (it is registered with ``csrf.exempt``): ``POST /events`` takes only
a bearer token, not a session cookie, so a forged cross-site request has nothing to ride on; the
one route that accepts the session is a GET that changes nothing.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, jsonify, request

from adoption.api_auth import (
    api_error,
    current_api_scope,
    current_token,
    rate_limited,
    token_or_user,
    token_rate_key,
    token_required,
)
from adoption.extensions import db, limiter
from adoption.initiative import current_initiative
from adoption.scope import ScopeError
from adoption.telemetry.adoption import (
    AdoptionQueryError,
    adoption_summary,
    data_consistent_through,
    resolve_unit,
)
from adoption.telemetry.ingest import RequestError, parse_batch, read_body
from adoption.telemetry.services import store_batch
from adoption.timekeeping import org_today, utcnow

bp = Blueprint("telemetry_api", __name__, url_prefix="/api/v1")


def _events_rate_limit() -> str:
    """The configured per-token rate limit of the events endpoint."""
    return current_app.config["EVENTS_RATE_LIMIT"]


def received_now() -> dt.datetime:
    """The time of receipt, as naive UTC (tests replace it to pin the clock)."""
    return utcnow()


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


def _date_arg(name: str) -> dt.date:
    """The ``name`` query parameter as a date; ``AdoptionQueryError`` (400) when missing or invalid."""
    value = request.args.get(name)
    if not value:
        raise AdoptionQueryError(400, "missing_parameter", f"'{name}' is required (YYYY-MM-DD).")
    try:
        if len(value) != 10:
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise AdoptionQueryError(400, "invalid_date", f"'{name}' must be a date as YYYY-MM-DD, not '{value}'.") from None


@bp.route("/adoption", methods=["GET"])
@token_or_user("read")
def get_adoption():
    """Adoption metrics of a unit's subtree over a window, with ``X-Data-Consistent-Through``."""
    scope = current_api_scope()
    initiative = current_initiative()
    try:
        unit = resolve_unit(scope, request.args.get("unit"))
        start, end = _date_arg("start"), _date_arg("end")
        today = org_today(current_app.config["ORG_TIMEZONE"])
        summary = adoption_summary(scope, unit, start, end,
                                   initiative.key_behaviours if initiative else [], today)
    except AdoptionQueryError as exc:
        db.session.commit()  # nothing but the token's last-used time is pending
        return api_error(exc.status, exc.code, exc.message)
    except ScopeError:
        db.session.commit()
        return api_error(403, "out_of_scope", "Your access does not cover this unit's figures.")
    through = data_consistent_through()
    db.session.commit()
    response = jsonify(summary)
    if through is not None:
        response.headers["X-Data-Consistent-Through"] = through.isoformat(timespec="seconds") + "Z"
    return response


bp.register_error_handler(429, rate_limited)


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
