"""The home page: what needs the signed-in user's attention, by role."""
from flask import Blueprint, render_template
from flask_login import login_required

from adoption.access import current_scope
from adoption.home import home_summary

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    """Home page for the signed-in user's role."""
    scope = current_scope()
    return render_template("home/index.html", summary=home_summary(scope), scope=scope)
