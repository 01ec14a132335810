"""Administration of accounts: the list (search, filters, pages), opening an account, an
account's page (role, enable or disable, unlock, send an invitation or a reset link) and accounts
for everyone on the roster. The rules (not one's own account, never the last admin, one-time
links) are the services' (``adoption.accounts``); these views only ask and report."""
from __future__ import annotations

from collections import Counter

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from adoption.access import current_scope, role_required
from adoption.access_changes import account_history
from adoption.accounts import (
    ACCOUNT_STATUSES,
    AccountError,
    accounts_awaiting_invitation,
    change_role,
    count_awaiting_invitation,
    count_without_account,
    create_roster_accounts,
    create_user,
    find_accounts,
    open_links_until,
    recent_links,
    send_password_link,
    set_enabled,
    unlock,
)
from adoption.extensions import db
from adoption.forms import ConfirmForm, UserCreateForm, UserLinkForm, UserRoleForm
from adoption.models import Role, User
from adoption.sign_ins import account_sign_ins
from adoption.timekeeping import utcnow
from adoption.views.admin import bp
from adoption.views.shell import ROLE_LABELS

USERS_PER_PAGE = 50
#: The list's status filter (``adoption.accounts.ACCOUNT_STATUSES``), as the page labels it.
STATUSES = dict(zip(ACCOUNT_STATUSES, (
    "Every account", "Can sign in", "No password yet", "Locked after failed sign-ins", "Disabled",
    "Employee has left"), strict=True))


@bp.route("/users")
@role_required(Role.ADMIN)
def users():
    """Accounts, searchable by e-mail or name, filtered by role and status, 50 a page."""
    now = utcnow()
    search = (request.args.get("q") or "").strip()[:320]
    role = request.args.get("role") or ""
    status = request.args.get("status") or "all"
    listing = db.paginate(find_accounts(search, role, status, now),
                          page=max(request.args.get("page", 1, type=int) or 1, 1),
                          per_page=USERS_PER_PAGE, error_out=False)
    return render_template(
        "admin/users.html", listing=listing, search=search, role=role, status=status,
        open_links=open_links_until([u.id for u in listing.items], now),
        statuses=STATUSES, now=now, without_account=count_without_account(),
        awaiting_invitation=count_awaiting_invitation(now),
        roster_form=ConfirmForm(),
    )


@bp.route("/users/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def new_user():
    """Open an account (linked to the employee with that e-mail, if any), and invite them."""
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = create_user(form.email.data, form.role.data, by=current_user)
            if form.invite.data:
                send_password_link(user, "invite", now=utcnow(), by=current_user)
        except AccountError as exc:
            db.session.rollback()
            form.email.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"Account {user.email} created" + (
                "; an invitation to set a password was sent (see the Outbox when no mail server is "
                "configured)." if form.invite.data else "; it cannot sign in until it has a password."),
                "success")
            return redirect(url_for("admin.user", user_id=user.id))
    return render_template("admin/user_new.html", form=form), 422 if form.errors else 200


@bp.route("/users/<int:user_id>")
@role_required(Role.ADMIN)
def user(user_id: int):
    """One account: who it is, what it may do, and what an admin can do to it."""
    account = db.get_or_404(User, user_id)
    now = utcnow()
    return render_template(
        "admin/user.html", account=account, links=recent_links(account), now=now,
        history=account_history(current_scope(), account),
        sign_ins=account_sign_ins(current_scope(), account, now=now),
        open_links=open_links_until([account.id], now),
        role_form=UserRoleForm(role=account.role), action_form=ConfirmForm(),
        # An invitation while the account has no password, a reset once it has one.
        link_form=UserLinkForm(purpose="invite" if account.password_hash is None else "reset"),
        yourself=account.id == current_user.id,
    )


def _done(user: User, message: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("admin.user", user_id=user.id))


def _refused(user: User, exc: AccountError):
    db.session.rollback()
    flash(f"Not done: {exc}.", "danger")
    return redirect(url_for("admin.user", user_id=user.id))


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@role_required(Role.ADMIN)
def user_role(user_id: int):
    """Change the account's role."""
    account, form = db.get_or_404(User, user_id), UserRoleForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        change_role(account, form.role.data, by=current_user)
    except AccountError as exc:
        return _refused(account, exc)
    return _done(account, f"{account.email} is now {ROLE_LABELS[account.role].lower()}.")


@bp.route("/users/<int:user_id>/<any(enable, disable):action>", methods=["POST"])
@role_required(Role.ADMIN)
def user_enabled(user_id: int, action: str):
    """Enable or disable the account."""
    account = db.get_or_404(User, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        set_enabled(account, action == "enable", by=current_user, now=utcnow())
    except AccountError as exc:
        return _refused(account, exc)
    return _done(account, f"{account.email} is {action}d" + (
        ": it cannot sign in, its open sessions end and its unused links no longer work."
        if action == "disable" else "."))


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@role_required(Role.ADMIN)
def user_unlock(user_id: int):
    """Lift a lockout after failed sign-ins."""
    account = db.get_or_404(User, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    unlock(account, by=current_user)
    return _done(account, f"{account.email} may sign in again.")


@bp.route("/users/<int:user_id>/link", methods=["POST"])
@role_required(Role.ADMIN)
def user_link(user_id: int):
    """Send an invitation or a password reset link (ending the earlier ones)."""
    account, form = db.get_or_404(User, user_id), UserLinkForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        send_password_link(account, form.purpose.data, now=utcnow(), by=current_user)
    except AccountError as exc:
        return _refused(account, exc)
    what = "An invitation" if form.purpose.data == "invite" else "A password reset link"
    return _done(account, f"{what} was sent to {account.email}; earlier links no longer work.")


def _invite_all(accounts: list[User]) -> tuple[int, AccountError | None]:
    """Send each account an invitation, committing each one; stops at the first mail failure.
    Returns how many were sent and the failure, if any."""
    invited = 0
    for account in accounts:
        try:
            send_password_link(account, "invite", now=utcnow(),
                               by=current_user)
        except AccountError as exc:  # the mail server failed: stop, and say who is left
            db.session.rollback()
            return invited, exc
        db.session.commit()
        invited += 1
    return invited, None


def _flash_failure(total: int, invited: int, failure: AccountError | None) -> None:
    if failure is not None:
        flash(f"{total - invited} invitation(s) were not sent: {failure}. Send them again from "
              "this page once mail works.", "danger")


@bp.route("/users/roster-accounts", methods=["POST"])
@role_required(Role.ADMIN)
def roster_accounts():
    """An account and an invitation for every active employee without one."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    made = create_roster_accounts(by=current_user)
    db.session.commit()  # the accounts stand, whatever happens to the mail below
    roles = Counter(account.role for account in made)
    invited, failure = _invite_all(made)
    detail = ", ".join(f"{n} {ROLE_LABELS[role].lower()}" for role, n in sorted(roles.items()))
    flash(f"{len(made)} account(s) created" + (f" ({detail})" if detail else "")
          + f"; {invited} invited.", "success")
    _flash_failure(len(made), invited, failure)
    return redirect(url_for("admin.users"))


@bp.route("/users/reinvite", methods=["POST"])
@role_required(Role.ADMIN)
def reinvite():
    """A new invitation for every account without a password whose invitation expired, was
    ended, or was never sent."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    waiting = accounts_awaiting_invitation(utcnow())
    invited, failure = _invite_all(waiting)
    flash(f"{invited} new invitation(s) sent.", "success")
    _flash_failure(len(waiting), invited, failure)
    return redirect(url_for("admin.users"))
