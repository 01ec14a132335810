"""Sign in and sign out."""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from adoption.accounts import LoginPolicy, authenticate
from adoption.extensions import db, limiter
from adoption.forms import LoginForm
from adoption.timekeeping import utcnow

bp = Blueprint("auth", __name__)

GENERIC_FAILURE = "That e-mail and password do not match an account that can sign in."


def register_landing(app: Flask, role: str, path: str) -> None:
    """Send users of ``role`` to ``path`` after they sign in (instead of the home page); feature
    packages register theirs (the executive dashboard for executives)."""
    app.extensions.setdefault("uptake_landing", {})[role] = path


def landing_for(role: str | None) -> str:
    """Where a user with ``role`` lands after signing in."""
    return current_app.extensions.get("uptake_landing", {}).get(role) or url_for("home.index")


def _login_limit() -> str:
    """The configured rate limit for login attempts per client address."""
    return current_app.config["LOGIN_RATE_LIMIT"]


def _safe_next(target: str | None) -> str | None:
    """Accept only same-site relative redirect targets."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    """Show the sign-in form and sign the user in."""
    if current_user.is_authenticated:
        return redirect(landing_for(current_user.role))
    form = LoginForm()
    if form.validate_on_submit():
        policy = LoginPolicy(
            max_failures=current_app.config["LOGIN_MAX_FAILURES"],
            lockout=dt.timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"]),
        )
        user = authenticate(form.email.data, form.password.data, utcnow(), policy)
        db.session.commit()
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or landing_for(user.role))
        flash(GENERIC_FAILURE, "danger")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out (POST with a CSRF token, so another site cannot sign you out)."""
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
