"""Administration: roster import and users."""
from flask import Blueprint, render_template
from sqlalchemy import select

from adoption.access import role_required
from adoption.extensions import db
from adoption.models import Role, User

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users")
@role_required(Role.ADMIN)
def users():
    """List accounts and their roles."""
    rows = db.session.scalars(select(User).order_by(User.email)).all()
    return render_template("admin/users.html", users=rows)


@bp.route("/roster")
@role_required(Role.ADMIN)
def roster_upload():
    """Upload an HR export (placeholder until the roster import lands)."""
    return render_template("admin/users.html", users=[])
