"""Administration: the sign-in log, read-only (adoption/sign_ins.py keeps it)."""
from __future__ import annotations

from flask import Response, abort, current_app, render_template, request

from adoption.access import current_scope, role_required
from adoption.extensions import db
from adoption.models import SIGN_IN_OUTCOMES, Role
from adoption.sign_ins import FAILED, OUTCOME_FILTERS, recent_failures, sign_in_log, sign_in_log_csv
from adoption.timekeeping import utcnow
from adoption.views.admin import bp

ATTEMPTS_PER_PAGE = 50


def _filters() -> tuple[str, str]:
    """The log's filters from the query string: what to search for, and which outcome."""
    search = (request.args.get("q") or "").strip()[:320]
    outcome = request.args.get("outcome") or ""
    if outcome and outcome not in OUTCOME_FILTERS:
        abort(400)
    return search, outcome


@bp.route("/sign-ins", endpoint="sign_ins")
@role_required(Role.ADMIN)
def sign_ins_page():
    """Attempts to sign in, newest first, filtered by outcome and by account or address, 50 a page."""
    search, outcome = _filters()
    now = utcnow()
    listing = db.paginate(sign_in_log(current_scope(), now=now, outcome=outcome or None, search=search or None),
                          page=max(request.args.get("page", 1, type=int) or 1, 1),
                          per_page=ATTEMPTS_PER_PAGE, error_out=False)
    return render_template("admin/sign_ins.html", listing=listing, search=search, outcome=outcome,
                           outcomes=SIGN_IN_OUTCOMES, failed=FAILED, failures=recent_failures(current_scope(), now=now),
                           keep_days=current_app.config["SIGN_IN_LOG_DAYS"])


@bp.route("/sign-ins.csv", endpoint="sign_ins_csv")
@role_required(Role.ADMIN)
def sign_ins_download():
    """Every attempt the filters select, newest first, as CSV (for an auditor)."""
    search, outcome = _filters()
    text = sign_in_log_csv(current_scope(), now=utcnow(), outcome=outcome or None, search=search or None)
    return Response(text, mimetype="text/csv", headers={"Content-Disposition": "attachment; filename=sign-ins.csv"})
