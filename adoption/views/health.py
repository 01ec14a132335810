"""``/healthz`` (alive) and ``/readyz`` (ready to serve people): no sign-in, no session, no cache."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from adoption.health import readiness

bp = Blueprint("health", __name__)


def _uncached(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz():
    """The process answers (it reads nothing: a slow database must not get it restarted)."""
    return _uncached(jsonify(status="alive"))


@bp.get("/readyz")
def readyz():
    """200 when the database answers at this release's schema, else 503 with what is wrong."""
    state = readiness(current_app)
    body = jsonify(status="ready" if state.ready else "not ready", checks=state.checks)
    return _uncached(body), 200 if state.ready else 503
