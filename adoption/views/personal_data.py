"""A person's data: "My data" for everyone signed in, and the admins' page for answering a
request on someone's behalf (adoption/personal_data.py decides what each may read)."""
from __future__ import annotations

from flask import abort, current_app, render_template, request
from flask_login import current_user, login_required

from adoption.access import current_scope, role_required
from adoption.extensions import db
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
    document, error = None, None
    if reference:
        employee, user = find_person(reference)
        if employee is None and user is None:
            error = f"No employee or account has the HR id or e-mail {reference!r}."
        else:
            document = personal_data(current_scope(), employee, user, utcnow())
    return render_template("admin/personal_data.html", reference=reference, document=document, error=error,
                           download=("admin.personal_data_download", {"person": reference}),
                           exports=recent_exports(current_scope())), (404 if error else 200)


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
