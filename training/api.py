"""``GET /xapi/statements``: the xAPI record (training/xapi.py) for an external learning record
store, following the Statement Resource of xAPI 1.0.3 (Communication 2.1.3) for reading.

Authorized by an API token with scope ``read``, sent as a bearer token or as the password of HTTP
Basic authentication (the user name is ignored), which is how most LRS clients send credentials.
Every request must carry ``X-Experience-API-Version`` (1.0 or 1.0.x); every response carries the
version this server speaks and ``X-Experience-API-Consistent-Through``. Parameters: statementId,
voidedStatementId, agent, verb, activity, registration, related_activities, related_agents, since
(exclusive), until (inclusive), limit (default 100, at most 500; 0 means 500), format, attachments,
ascending; the ``more`` link of a page continues it (an opaque cursor on stored time and id).
Statements are never voided here, so ``voidedStatementId`` always answers 404.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for

from adoption.api_auth import api_error
from adoption.extensions import db
from adoption.timekeeping import utcnow
from adoption.tokens import authenticate_bearer
from training.xapi import (
    XAPI_VERSION,
    XapiQueryError,
    find_statement,
    find_statements,
    parse_query,
    timestamp_text,
)

bp = Blueprint("training_xapi", __name__, url_prefix="/xapi")

READ_SCOPE = "read"
_CHALLENGES = ('Basic realm="uptake-xapi"', 'Bearer realm="uptake"')


def _credential() -> str | None:
    """The token sent as ``Bearer <token>`` or as the password of ``Basic`` authentication."""
    header = (request.headers.get("Authorization") or "").strip()
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        auth = request.authorization
        return auth.password if auth is not None and auth.password else None
    return None


def _unauthorized():
    response = api_error(401, "unauthorized", "Send an API token with scope 'read' as 'Authorization: Bearer "
                                              "<token>', or as the password of HTTP Basic authentication.")
    for challenge in _CHALLENGES:
        response.headers.add("WWW-Authenticate", challenge)
    return response


def _version_problem() -> str | None:
    """Why the request's X-Experience-API-Version header is not acceptable, or None."""
    version = request.headers.get("X-Experience-API-Version")
    if version is None:
        return "The X-Experience-API-Version header is required (send 1.0.3)."
    version = version.strip()
    if version != "1.0" and not version.startswith("1.0."):
        return f"X-Experience-API-Version {version!r} is not supported; this server speaks {XAPI_VERSION}."
    return None


@bp.after_request
def xapi_headers(response):
    """Every response says which xAPI version it speaks and how far the record is complete."""
    response.headers["X-Experience-API-Version"] = XAPI_VERSION
    # Statements are written in the transaction of the learning action they record, with that
    # moment as their ``stored`` time; a transaction still open may yet commit one a little older.
    response.headers["X-Experience-API-Consistent-Through"] = timestamp_text(utcnow())
    return response


@bp.route("/statements", methods=["GET"])
def statements():
    """One statement by id, or a page of statements matching the filters, newest stored first."""
    credential = _credential()
    token = authenticate_bearer(f"Bearer {credential}", utcnow()) if credential else None
    if token is None:
        return _unauthorized()
    db.session.commit()  # the token's last-used time
    if token.scope != READ_SCOPE:
        return api_error(403, "insufficient_scope",
                         f"This token has scope '{token.scope}'; reading statements needs '{READ_SCOPE}'.")
    problem = _version_problem()
    if problem is not None:
        return api_error(400, "bad_version", problem)
    try:
        query = parse_query(request.args.to_dict(flat=False))
    except XapiQueryError as exc:
        return api_error(400, "bad_request", str(exc))
    if query.voided_statement_id is not None:
        return api_error(404, "not_found", "No statement of this server has been voided.")
    if query.statement_id is not None:
        statement = find_statement(query.statement_id, query.format)
        if statement is None:
            return api_error(404, "not_found", f"There is no statement {query.statement_id}.")
        return jsonify(statement)
    page = find_statements(query)
    more = url_for("training_xapi.statements", **query.params, cursor=page.next_cursor) if page.next_cursor else ""
    return jsonify({"statements": page.statements, "more": more})


@bp.errorhandler(500)
def server_error(error):
    """An unexpected failure: JSON, with the transaction rolled back."""
    db.session.rollback()
    return api_error(500, "internal_error", "The request failed; retry it.")
