"""``/xapi/statements``, the Statement Resource of xAPI 1.0.3 (Communication 2.1): ``GET`` reads the
xAPI record (training/xapi.py) for an external learning record store; ``POST`` and ``PUT`` take
statements from an external learning system (training/xapi_intake.py).

Writing needs an API token with scope ``xapi:write``; reading needs ``read``.

Authorized by an API token with scope ``read``, sent as a bearer token or as the password of HTTP
Basic authentication (the user name is ignored), which is how most LRS clients send credentials.
Every request must carry ``X-Experience-API-Version`` (1.0 or 1.0.x); every response carries the
version this server speaks and ``X-Experience-API-Consistent-Through``. Parameters: statementId,
voidedStatementId, agent, verb, activity, registration, related_activities, related_agents, since
(exclusive), until (inclusive), limit (default 100, at most 500; 0 means 500), format, attachments,
ascending; the ``more`` link of a page continues it (an opaque cursor on stored time and id).
Voided statements are left out of queries and answer only to ``voidedStatementId``.

The blueprint is CSRF-exempt (registered with ``csrf.exempt``): it takes only API tokens, never
the browser's session cookie.
"""
from __future__ import annotations

import json
import uuid

from flask import Blueprint, current_app, jsonify, request, url_for

from adoption.api_auth import api_error, credential_rate_key, rate_limited
from adoption.extensions import db, limiter
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
from training.xapi_intake import (
    MAX_BODY_BYTES,
    StatementConflict,
    StatementsRejected,
    statements_from_body,
    store_external_statements,
)

bp = Blueprint("training_xapi", __name__, url_prefix="/xapi")

READ_SCOPE = "read"
WRITE_SCOPE = "xapi:write"
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


def _rate_key() -> str:
    """Rate-limit bucket: the token sent as Bearer or as the Basic password, else the address."""
    return credential_rate_key(_credential())


def _write_rate_limit() -> str:
    """The configured per-token rate limit of statement writes."""
    return current_app.config["XAPI_RATE_LIMIT"]


def _unauthorized(scope: str = READ_SCOPE):
    response = api_error(401, "unauthorized", f"Send an API token with scope '{scope}' as 'Authorization: Bearer "
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


def _authorized(scope: str):
    """The request's token when it holds ``scope`` and the version header is right, else the
    401, 403 or 400 answer to send."""
    credential = _credential()
    token = authenticate_bearer(f"Bearer {credential}", utcnow()) if credential else None
    if token is None:
        return None, _unauthorized(scope)
    db.session.commit()  # the token's last-used time
    if token.scope != scope:
        action = "reading" if scope == READ_SCOPE else "sending"
        return None, api_error(403, "insufficient_scope",
                               f"This token has scope '{token.scope}'; {action} statements needs '{scope}'.")
    problem = _version_problem()
    if problem is not None:
        return None, api_error(400, "bad_version", problem)
    return token, None


@bp.route("/statements", methods=["GET"])
def statements():
    """One statement by id, or a page of statements matching the filters, newest stored first."""
    _token, refusal = _authorized(READ_SCOPE)
    if refusal is not None:
        return refusal
    try:
        query = parse_query(request.args.to_dict(flat=False))
    except XapiQueryError as exc:
        return api_error(400, "bad_request", str(exc))
    if query.voided_statement_id is not None:
        statement = find_statement(query.voided_statement_id, query.format, voided=True)
        if statement is None:
            return api_error(404, "not_found", f"There is no voided statement {query.voided_statement_id}.")
        return jsonify(statement)
    if query.statement_id is not None:
        statement = find_statement(query.statement_id, query.format)
        if statement is None:
            return api_error(404, "not_found", f"There is no statement {query.statement_id} (or it was voided).")
        return jsonify(statement)
    page = find_statements(query)
    more = url_for("training_xapi.statements", **query.params, cursor=page.next_cursor) if page.next_cursor else ""
    return jsonify({"statements": page.statements, "more": more})


def _body() -> object:
    """The request's JSON body; ``StatementsRejected`` when it is not one."""
    if request.mimetype.startswith("multipart/"):
        raise StatementsRejected("Attachments (multipart bodies) are not accepted; send application/json.")
    if request.mimetype != "application/json":
        raise StatementsRejected("Send the statements as application/json.")
    raw = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise _TooLarge()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise StatementsRejected("The body is not valid JSON.") from None


class _TooLarge(Exception):
    """The body is over ``MAX_BODY_BYTES``."""


def _write(store):
    """Authorize a write and read its body, then ``store(token, body)`` and commit; the answer
    it returns, or the error as JSON with nothing stored."""
    token, refusal = _authorized(WRITE_SCOPE)
    if refusal is not None:
        return refusal
    try:
        response = store(token, _body())
    except StatementsRejected as exc:
        db.session.rollback()
        return api_error(400, "bad_request", str(exc), problems=[p.as_json() for p in exc.problems])
    except StatementConflict as exc:
        db.session.rollback()
        return api_error(409, "conflict", str(exc), statement_id=str(exc.statement_id))
    except _TooLarge:
        return api_error(413, "too_large", f"The body is over {MAX_BODY_BYTES} bytes; send fewer statements "
                                           "per request.", max_bytes=MAX_BODY_BYTES)
    db.session.commit()
    return response


@bp.route("/statements", methods=["POST"])
@limiter.limit(_write_rate_limit, key_func=_rate_key)
def post_statements():
    """Store one statement or an array of them; answer with their ids, in order."""
    def store(token, body):
        result = store_external_statements(statements_from_body(body), token, utcnow())
        return jsonify([str(i) for i in result.ids])
    return _write(store)


@bp.route("/statements", methods=["PUT"])
@limiter.limit(_write_rate_limit, key_func=_rate_key)
def put_statement():
    """Store one statement under the id the ``statementId`` parameter names; 204."""
    raw_id = request.args.get("statementId")
    try:
        statement_id = uuid.UUID(raw_id or "")
    except ValueError:
        return api_error(400, "bad_request", "PUT needs a statementId parameter that is a UUID.")

    def store(token, body):
        if not isinstance(body, dict):
            raise StatementsRejected("PUT takes one statement object.")
        store_external_statements([body], token, utcnow(), statement_id)
        return "", 204
    return _write(store)


bp.register_error_handler(429, rate_limited)


@bp.errorhandler(500)
def server_error(error):
    """An unexpected failure: JSON, with the transaction rolled back."""
    db.session.rollback()
    return api_error(500, "internal_error", "The request failed; retry it.")
