"""The home page: what needs the signed-in user's attention, by role."""

from flask import Blueprint, current_app, render_template
from flask_login import login_required

from adoption.access import current_scope
from adoption.home import home_sections, home_summary
from adoption.timekeeping import org_today, utcnow

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    """Home page for the signed-in user's role, as of today in the organization's time zone."""
    today = org_today(current_app.config["ORG_TIMEZONE"])
    scope = current_scope()
    return render_template("home/index.html", summary=home_summary(scope, today, utcnow()),
                           sections=home_sections(current_app, scope, today))
