"""The executive dashboard's printable view: ``/commitment/print`` (a board pack page).

The same report as the Dash page (``dashboards.commitment_report``), server-rendered as plain
HTML tables that print on A4 without scripts; executives, change leaders and admins only, each
seeing what their scope allows (the report checks it).
"""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from adoption.access import current_scope, role_required
from adoption.models import Role
from adoption.scope import ScopeError
from dashboards import clock
from dashboards import commitment_report as cr

bp = Blueprint("commitment", __name__, template_folder="templates")


@bp.route("/commitment/print")
@role_required(Role.EXECUTIVE, Role.CHANGE_LEADER, Role.ADMIN)
def print_view():
    """The quarter's commitment report (``?quarter=2026-Q4``, default the page's), for print."""
    today = clock.org_today()
    try:
        report = cr.report(current_scope(), cr.parse_quarter(request.args.get("quarter"), today), today)
    except ScopeError:
        abort(403)
    return render_template("dashboards/commitment_print.html", report=report, cr=cr, today=today,
                           kinds=cr.kinds_rows)
