"""Sign in and sign out, and set a password through a one-time link (an invitation or a reset)."""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from adoption.accounts import (
    INVALID_LINK,
    MIN_PASSWORD_LENGTH,
    AccountError,
    LoginPolicy,
    authenticate,
    redeem_password_link,
    send_password_link,
    valid_link,
)
from adoption.extensions import db, limiter
from adoption.forms import LoginForm, PasswordForgotForm, PasswordSetForm
from adoption.models import User
from adoption.timekeeping import utcnow

bp = Blueprint("auth", __name__)

GENERIC_FAILURE = "That e-mail and password do not match an account that can sign in."
# The same answer whether or not the address has an account: the page reveals nothing.
RESET_SENT = ("If an account that can sign in uses this address, a link to set a new password is on its "
              "way. It works once, within two hours.")


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
    if request.method == "GET" and request.args.get("email"):
        form.email.data = request.args["email"][:320]  # back from setting a password
    if form.validate_on_submit():
        policy = LoginPolicy(
            max_failures=current_app.config["LOGIN_MAX_FAILURES"],
            lockout=dt.timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"]),
        )
        user = authenticate(form.email.data, form.password.data, utcnow(), policy, address=request.remote_addr)
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


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def forgot_password():
    """Ask for a reset link by e-mail; the answer is the same for every address."""
    form = PasswordForgotForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.scalar(select(User).where(func.lower(User.email) == email))
        if user is not None and user.is_active:
            try:
                send_password_link(user, "reset", now=utcnow())
            except AccountError:
                # The mail server failed. Same answer as ever (a different one would tell who has
                # an account); the log tells the operator.
                db.session.rollback()
                current_app.logger.exception("password reset link for user %s not sent", user.id)
            else:
                db.session.commit()
        flash(RESET_SENT, "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/password_forgot.html", form=form)


@bp.route("/password/<token>", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def set_password(token: str):
    """Choose a password through a one-time link (an invitation or a reset)."""
    now = utcnow()
    link = valid_link(token, now)
    if link is None:
        return _private(render_template("auth/password_link_invalid.html", message=INVALID_LINK), 404)
    form = PasswordSetForm()
    if form.validate_on_submit():
        try:
            user = redeem_password_link(token, form.password.data, now=now)
        except AccountError as exc:
            db.session.rollback()
            form.password.errors.append(str(exc))
        else:
            db.session.commit()
            if current_user.is_authenticated:
                logout_user()  # whoever was signed in in this browser, the link's owner signs in anew
            flash("Your password is set. Sign in with it now.", "success")
            return redirect(url_for("auth.login", email=user.email))
    return _private(render_template("auth/password_set.html", form=form, link=link,
                                    min_length=MIN_PASSWORD_LENGTH), 422 if form.errors else 200)


def _private(page: str, status: int):
    """A page whose address holds a secret: never cached, and never sent on as a referrer."""
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
