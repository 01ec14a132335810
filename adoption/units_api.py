"""``GET /api/v1/units``: the units a caller may read figures of, with their paths and parents
(token with scope ``read``, or a signed-in user within their scope), so API clients can name the
``unit`` the other read endpoints take."""
from __future__ import annotations

from flask import Blueprint, jsonify

from adoption.api_auth import api_error, current_api_scope, token_or_user
from adoption.extensions import db
from adoption.models.org import UNIT_PATH_SEPARATOR
from adoption.org import units_in_scope

bp = Blueprint("units_api", __name__, url_prefix="/api/v1")


@bp.route("/units", methods=["GET"])
@token_or_user("read")
def get_units():
    """The units in the caller's scope by path, each with its name, depth and parent's path."""
    scope = current_api_scope()
    if not scope.sees_aggregates:
        db.session.commit()  # nothing but the token's last-used time is pending
        return api_error(403, "out_of_scope", "Your access does not include unit figures.")
    units = units_in_scope(scope)
    db.session.commit()
    # A path holds every ancestor, so the parent's path is the path without its last segment
    # (a manager's own unit has a parent outside their scope: its path is no secret).
    return jsonify({"units": [
        {"path": u.path, "name": u.name, "depth": u.depth,
         "parent": u.path.rsplit(UNIT_PATH_SEPARATOR, 1)[0] if u.depth > 0 else None}
        for u in units
    ]})
