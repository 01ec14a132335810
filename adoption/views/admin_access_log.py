"""Administration: the access log, read-only (adoption/access_changes.py keeps it)."""
from __future__ import annotations

from flask import Response, abort, render_template, request

from adoption.access import current_scope, role_required
from adoption.access_changes import access_log, access_log_csv
from adoption.extensions import db
from adoption.models import ACCESS_ACTIONS, Role
from adoption.models.access_changes import NO_ACTOR
from adoption.views.admin import bp

CHANGES_PER_PAGE = 50


def _filters() -> tuple[str, str]:
    """The log's filters from the query string: what to search for, and which change."""
    search = (request.args.get("q") or "").strip()[:320]
    action = request.args.get("action") or ""
    if action and action not in ACCESS_ACTIONS:
        abort(400)
    return search, action


@bp.route("/access-log", endpoint="access_log")
@role_required(Role.ADMIN)
def access_log_page():
    """Changes to accounts and API tokens, newest first, filtered by change and by who, 50 a page."""
    search, action = _filters()
    listing = db.paginate(access_log(current_scope(), action=action or None, search=search or None),
                          page=max(request.args.get("page", 1, type=int) or 1, 1),
                          per_page=CHANGES_PER_PAGE, error_out=False)
    return render_template("admin/access_log.html", listing=listing, search=search, action=action,
                           actions=ACCESS_ACTIONS, no_actor=NO_ACTOR)


@bp.route("/access-log.csv", endpoint="access_log_csv")
@role_required(Role.ADMIN)
def access_log_download():
    """Every change the filters select, newest first, as CSV (for an auditor)."""
    search, action = _filters()
    text = access_log_csv(current_scope(), action=action or None, search=search or None)
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=access-log.csv"})
