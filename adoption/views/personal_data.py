"""A person's data: "My data" for everyone signed in, and the admins' page for answering a
request on someone's behalf (adoption/personal_data.py decides what each may read)."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from adoption.access import current_scope, role_required
from adoption.erasure import (
    ErasureError,
    account_pseudonym,
    erase_account_on_request,
    erase_on_request,
    pseudonym,
    recent_erasures,
    why_account_not_erasable,
    why_not_erasable,
)
from adoption.extensions import db
from adoption.forms import EraseForm
from adoption.models import Role
from adoption.personal_data import (
    find_person,
    person_for,
    personal_data,
    recent_exports,
    record_export,
)
from adoption.timekeeping import utcnow
from adoption.views.admin import bp as admin_bp
from adoption.views.home import bp as home_bp


def _download(document, name: str):
    """The document as a JSON attachment, never cached."""
    response = current_app.response_class(
        current_app.json.dumps(document.as_json(), indent=2, ensure_ascii=False), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@home_bp.route("/me/data")
@login_required
def my_data():
    """What Uptake holds about the signed-in person, section by section, with the download."""
    employee, user = person_for(current_user)
    document = personal_data(current_scope(), employee, user, utcnow())
    return render_template("home/my_data.html", document=document, own=True,
                           download=("home.my_data_download", {}))


@home_bp.route("/me/data.json")
@login_required
def my_data_download():
    """Everything Uptake holds about the signed-in person, as JSON."""
    employee, user = person_for(current_user)
    return _download(personal_data(current_scope(), employee, user, utcnow()), "my-uptake-data.json")


@admin_bp.route("/personal-data")
@role_required(Role.ADMIN)
def personal_data_request():
    """Answer a person's request for their data: find them by HR id or e-mail, then download."""
    reference = (request.args.get("person") or "").strip()[:320]
    document, error, erase_form, not_erasable = None, None, None, None
    if reference:
        employee, user = find_person(reference)
        if employee is None and user is None:
            error = f"No employee or account has the HR id or e-mail {reference!r}."
        else:
            document = personal_data(current_scope(), employee, user, utcnow())
            if employee is not None:
                not_erasable = why_not_erasable(employee)
                erase_form = EraseForm(person=reference) if not_erasable is None else None
            else:
                not_erasable = why_account_not_erasable(user)
                erase_form = EraseForm.for_account(person=reference) if not_erasable is None else None
    scope = current_scope()
    return render_template("admin/personal_data.html", reference=reference, document=document, error=error,
                           download=("admin.personal_data_download", {"person": reference}),
                           erase_form=erase_form, not_erasable=not_erasable,
                           exports=recent_exports(scope), erasures=recent_erasures(scope)), (404 if error else 200)


@admin_bp.route("/personal-data/download")
@role_required(Role.ADMIN)
def personal_data_download():
    """The person's data as JSON, for an admin answering their request (recorded for audit)."""
    reference = (request.args.get("person") or "").strip()[:320]
    employee, user = find_person(reference)
    if employee is None and user is None:
        abort(404)
    scope, now = current_scope(), utcnow()
    document = personal_data(scope, employee, user, now)
    record_export(scope, employee, user, now)
    db.session.commit()
    return _download(document, f"uptake-data-{document.subject['hr_id'] or 'account'}.json")


@admin_bp.route("/personal-data/erase", methods=["POST"])
@role_required(Role.ADMIN)
def personal_data_erase():
    """Erase a leaver's personal data at their request, once the admin typed their HR id (or, for
    an account with no employee record, its e-mail)."""
    form = EraseForm()
    if not form.validate_on_submit():
        for message in form.confirm.errors or form.person.errors or ["The form has expired; try again."]:
            flash(message, "danger")
        return redirect(url_for("admin.personal_data_request", person=form.person.data or ""))
    try:
        if form.employee is not None:
            erase_on_request(current_scope(), form.employee, utcnow())
            known_as = f"what the metrics of the past need stays, as {pseudonym(form.employee.id)}"
        else:
            erase_account_on_request(current_scope(), form.user, utcnow())
            known_as = f"the account stays on the record of what it did, disabled, as {account_pseudonym(form.user.id)}"
    except ErasureError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return redirect(url_for("admin.personal_data_request", person=form.person.data))
    db.session.commit()
    flash(f"Their personal data is erased; {known_as}.", "success")
    return redirect(url_for("admin.personal_data_request"))
