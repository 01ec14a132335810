"""``GET /api/v1/evidence?x=&y=&lag=`` (issue 6, point 4): the linkage of two metrics as JSON,
the same JSON as ``flask --app wsgi evidence --json`` (both go through ``dashboards.evidence``).

Token with scope ``read`` (organization-wide aggregates) or a signed-in user within their own
``Scope`` (a manager's question reads only their subtree's units). Read-only: GET only.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, jsonify, request

from adoption.api_auth import api_error, current_api_scope, token_or_user
from adoption.extensions import db
from adoption.timekeeping import org_today
from dashboards import bring_up_to_date, evidence

bp = Blueprint("evidence_api", __name__, url_prefix="/api/v1")


def _date(name: str) -> dt.date | None:
    """The optional ``name`` query parameter as a date; ``EvidenceError`` when malformed."""
    value = request.args.get(name)
    if not value:
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise evidence.EvidenceError(f"'{name}' must be a date as YYYY-MM-DD, not '{value}'.") from None


@bp.route("/evidence", methods=["GET"])
@token_or_user("read")
def get_evidence():
    """x at month t against y at t+lag across units: estimates, intervals, verdict and reading."""
    args = request.args
    if not current_api_scope().sees_aggregates:
        db.session.commit()
        return api_error(403, "out_of_scope", "Your access does not cover any unit's figures.")
    today = org_today(current_app.config["ORG_TIMEZONE"])
    try:
        question = evidence.make_question(
            args.get("x"), args.get("y"), lag=args.get("lag"), lags=args.get("lags"),
            level=args.get("level"), start=_date("start"), end=_date("end"),
            direction=args.get("direction"), smallest_effect=args.get("smallest_effect"), today=today,
        )
        evidence.check_known(question)
    except evidence.EvidenceError as exc:
        db.session.commit()  # nothing but the token's last-used time is pending
        return api_error(400, "invalid_question", str(exc))
    bring_up_to_date(today)
    answers = evidence.assess(current_api_scope(), question, current_app.config)
    db.session.commit()
    return jsonify(evidence.as_json(answers, single=args.get("lags") is None))
