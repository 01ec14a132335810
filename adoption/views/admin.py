"""Administration: roster import (upload → preview → confirm), API tokens, unmatched CRM users
and the outbox; accounts are in ``adoption.views.admin_users``, on this blueprint."""
from __future__ import annotations

import csv
import io

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from adoption.access import role_required
from adoption.extensions import db
from adoption.forms import (
    ApiTokenForm,
    ConfirmForm,
    MapActorForm,
    RosterConfirmForm,
    RosterUploadForm,
)
from adoption.mail import outbox_page
from adoption.models import Role, RosterImport
from adoption.roster import (
    RosterFileError,
    SafetyStop,
    UploadStateError,
    apply_upload,
    preview_upload,
    stage_upload,
)
from adoption.telemetry.identity import (
    IdentityError,
    list_aliases,
    map_actor,
    unmatched_actors,
    unmatched_totals,
)
from adoption.timekeeping import org_today, utcnow
from adoption.tokens import TokenError, issue_token, list_tokens, revoke_token

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _limits() -> dict[str, float]:
    """The configured roster safety limits."""
    config = current_app.config
    return {"max_deactivation_share": config["ROSTER_MAX_DEACTIVATION_SHARE"],
            "max_email_change_share": config["ROSTER_MAX_EMAIL_CHANGE_SHARE"]}


@bp.route("/roster", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def roster_upload():
    """Upload an HR export; it is kept and previewed, nothing is imported yet."""
    form = RosterUploadForm()
    if form.validate_on_submit():
        effective = form.effective_date.data or org_today(current_app.config["ORG_TIMEZONE"])
        try:
            upload, _ = stage_upload(form.file.data.filename or "roster.csv", form.file.data.read(),
                                     uploaded_by_id=current_user.id, effective=effective,
                                     full=not form.partial.data, **_limits())
        except RosterFileError as exc:
            db.session.rollback()
            flash(f"The file cannot be imported: {exc}.", "danger")
        else:
            db.session.commit()
            return redirect(url_for("admin.roster_preview", import_id=upload.id))
    recent = db.session.scalars(select(RosterImport).order_by(RosterImport.id.desc()).limit(20)).all()
    return render_template("admin/roster_upload.html", form=form, recent=recent)


def _get_upload(import_id: int) -> RosterImport:
    upload = db.session.get(RosterImport, import_id)
    if upload is None:
        abort(404)
    return upload


@bp.route("/roster/<int:import_id>")
@role_required(Role.ADMIN)
def roster_preview(import_id: int):
    """Show what the upload would create, update, move and deactivate, and every rejected row."""
    upload = _get_upload(import_id)
    plan = preview_upload(upload, **_limits()) if upload.status == "previewed" else None
    return render_template("admin/roster_preview.html", upload=upload, plan=plan, form=RosterConfirmForm())


@bp.route("/roster/<int:import_id>/apply", methods=["POST"])
@role_required(Role.ADMIN)
def roster_apply(import_id: int):
    """Apply a previewed upload; a tripped safety stop needs the explicit confirmation box."""
    upload = _get_upload(import_id)
    form = RosterConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        plan = apply_upload(upload, force=form.force.data, now=utcnow(), **_limits())
    except SafetyStop as exc:
        db.session.rollback()
        flash("Nothing was imported: " + "; ".join(exc.reasons) + ". Tick the confirmation box to apply anyway.", "danger")
        return redirect(url_for("admin.roster_preview", import_id=import_id))
    except UploadStateError as exc:
        db.session.rollback()
        flash(f"Nothing was imported: {exc}.", "warning")
        return redirect(url_for("admin.roster_preview", import_id=import_id))
    db.session.commit()
    counts = plan.counts()
    flash(f"Roster imported: {counts['created']} created, {counts['updated']} updated, "
          f"{counts['deactivated']} deactivated, {counts['rejected']} rows rejected.", "success")
    return redirect(url_for("admin.roster_preview", import_id=import_id))


@bp.route("/roster/<int:import_id>/rejected.csv")
@role_required(Role.ADMIN)
def roster_rejects(import_id: int):
    """Download the rejected rows (line, employee id, reason) as CSV."""
    upload = _get_upload(import_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "employee_id", "reason"])
    for error in upload.summary.get("errors", []):
        writer.writerow([error["line"], error["employee_id"] or "", error["reason"]])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=roster-{import_id}-rejected.csv"})


def _tokens_page(form: ApiTokenForm, status: int = 200):
    """The token list with the create form."""
    return render_template("admin/tokens.html", tokens=list_tokens(), form=form,
                           revoke_form=ConfirmForm()), status


@bp.route("/tokens")
@role_required(Role.ADMIN)
def tokens():
    """List API tokens (never their secrets) with a form to create one."""
    return _tokens_page(ApiTokenForm())


@bp.route("/tokens", methods=["POST"])
@role_required(Role.ADMIN)
def create_token():
    """Create an API token and show its secret this once."""
    form = ApiTokenForm()
    if not form.validate_on_submit():
        return _tokens_page(form, 400)
    try:
        token, plaintext = issue_token(form.name.data, form.scope.data, created_by_id=current_user.id)
    except TokenError as exc:
        db.session.rollback()
        form.name.errors.append(str(exc))
        return _tokens_page(form, 400)
    db.session.commit()
    # Rendered, not redirected: the secret must not travel through a URL or the session cookie.
    response = Response(render_template("admin/tokens_created.html", token=token, plaintext=plaintext))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@role_required(Role.ADMIN)
def revoke_api_token(token_id: int):
    """Revoke an API token; requests using it get 401 from now on."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        token = revoke_token(token_id, by_id=current_user.id)
    except TokenError:
        db.session.rollback()
        abort(404)
    db.session.commit()
    flash(f"Token {token.prefix} ({token.name}) is revoked.", "success")
    return redirect(url_for("admin.tokens"))


#: Unmatched actor keys per page of the "Unmatched CRM users" list.
UNMATCHED_PAGE_SIZE = 50


def _unmatched_page(search: str, page: int, form: MapActorForm | None = None, status: int = 200):
    """The unmatched actors (paginated, searchable) with a mapping form per row, and the aliases."""
    search = search.strip()[:320]
    totals = unmatched_totals(search)
    pages = max((totals.actors + UNMATCHED_PAGE_SIZE - 1) // UNMATCHED_PAGE_SIZE, 1)
    page = min(page, pages)
    actors = unmatched_actors(limit=UNMATCHED_PAGE_SIZE, offset=(page - 1) * UNMATCHED_PAGE_SIZE, search=search)
    return render_template("admin/unmatched.html", actors=actors, totals=totals, search=search, page=page,
                           pages=pages, aliases=list_aliases(), form=form), status


@bp.route("/unmatched")
@role_required(Role.ADMIN)
def unmatched():
    """List the CRM actor keys whose events match nobody on the roster, to map them."""
    return _unmatched_page(request.args.get("q") or "", max(request.args.get("page", 1, type=int) or 1, 1))


@bp.route("/unmatched/map", methods=["POST"])
@role_required(Role.ADMIN)
def map_unmatched():
    """Map an actor key to an employee with an alias; its events are attributed at once."""
    form = MapActorForm()
    if form.validate_on_submit():
        try:
            mapping = map_actor(form.key_kind.data, form.key_value.data, form.employee_id,
                                created_by_id=current_user.id)
        except IdentityError as exc:
            db.session.rollback()
            form.employee.errors.append(str(exc))
        else:
            name = mapping.employee.full_name
            db.session.commit()
            flash(f"{mapping.attributed} events attributed to {name}.", "success")
            return redirect(url_for("admin.unmatched", q=form.search.data or None))
    # The errors are shown above the list, naming the key the failed form was for.
    return _unmatched_page(form.search.data or "", 1, form, 400)


@bp.route("/outbox")
@role_required(Role.ADMIN)
def outbox():
    """List the messages kept instead of sent (no SMTP server), newest first, 50 per page."""
    listing = outbox_page(max(request.args.get("page", 1, type=int) or 1, 1))
    return render_template("admin/outbox.html", listing=listing)
