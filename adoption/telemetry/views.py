"""Event file imports in the UI: upload, a page per import with live progress, the rejects CSV.

Only change leaders and admins import events. The upload is stored in the instance folder and
imported by a background job (``adoption.telemetry.jobs.run_event_import``), so the request
returns at once; the import's page polls ``status.json`` (and, without JavaScript, reloads).
"""
from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select
from werkzeug.utils import secure_filename

from adoption.access import role_required
from adoption.extensions import db
from adoption.jobs import enqueue
from adoption.models import EventImport, Role
from adoption.telemetry.formats import FORMATS, REQUIRED_COLUMNS
from adoption.telemetry.forms import (
    FORMAT_LABELS,
    FORMAT_SOURCES,
    NEEDS_EVENT_TYPE,
    EventImportForm,
)
from adoption.telemetry.jobs import instance_file, mark_if_interrupted, run_event_import

bp = Blueprint("telemetry", __name__, url_prefix="/imports")

IMPORTERS = (Role.CHANGE_LEADER, Role.ADMIN)
# Past imports listed on the upload page.
RECENT_IMPORTS = 50


def register(app: Flask) -> None:
    """Register the blueprint and the larger body limit of its upload endpoint."""
    app.register_blueprint(bp)
    # CSRFProtect reads the form in an app-level before_request hook, which parses the body
    # under the limit in force then; so the upload's own limit is set in a hook that runs first.
    app.before_request_funcs.setdefault(None, []).insert(0, _upload_body_limit)


def _upload_body_limit() -> None:
    """Let the event upload exceed MAX_CONTENT_LENGTH, up to EVENT_IMPORT_MAX_BYTES."""
    if request.endpoint == "telemetry.imports" and request.method == "POST":
        request.max_content_length = current_app.config["EVENT_IMPORT_MAX_BYTES"]


def _get_import(import_id: int) -> EventImport:
    """The import, marked failed first if the process running it has died; 404 if unknown."""
    record = db.session.get(EventImport, import_id)
    if record is None:
        abort(404)
    if mark_if_interrupted(record):
        db.session.commit()
    return record


@bp.route("/", methods=["GET", "POST"])
@role_required(*IMPORTERS)
def imports():
    """The upload form and the past imports (from this page and from the command line)."""
    form = EventImportForm()
    if form.validate_on_submit():
        record = _store_upload(form)
        return redirect(url_for("telemetry.import_detail", import_id=record.id))
    status = 400 if request.method == "POST" else 200
    recent = db.session.scalars(select(EventImport).order_by(EventImport.id.desc()).limit(RECENT_IMPORTS)).all()
    for record in recent:
        mark_if_interrupted(record)
    db.session.commit()
    return render_template("telemetry/imports.html", form=form, recent=recent,
                           max_bytes=current_app.config["EVENT_IMPORT_MAX_BYTES"],
                           formats=[(fmt, FORMAT_LABELS[fmt], FORMAT_SOURCES[fmt], REQUIRED_COLUMNS[fmt])
                                    for fmt in FORMATS]), status


def _store_upload(form: EventImportForm) -> EventImport:
    """Save the file as ``imports/<id>-<name>``, record the import (queued) and enqueue its job."""
    upload = form.file.data
    filename = secure_filename(upload.filename or "") or "events"
    fmt = form.format.data
    record = EventImport(filename=(upload.filename or filename)[:255], format=fmt,
                         event_type=form.event_type.data if fmt in NEEDS_EVENT_TYPE else None,
                         created_by_id=current_user.id, status="queued")
    db.session.add(record)
    db.session.flush()  # the id names the stored file
    relative = f"imports/{record.id}-{filename}"[:500]
    path = instance_file(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    upload.save(path)  # werkzeug streams it from its spool file
    record.upload_path = relative
    record.size_bytes = path.stat().st_size
    # Committed before the job is sent: a worker must find the row.
    db.session.commit()
    try:
        record.task_id = enqueue(run_event_import, record.id)
    except Exception as exc:  # the broker is down: say so, keep the file and the row
        current_app.logger.exception("could not enqueue event import %s", record.id)
        record.status = "failed"
        record.error = f"The import could not be queued (is the job broker running?): {type(exc).__name__}: {exc}"[:1900]
        flash("The file was stored but its import could not be started.", "danger")
    db.session.commit()
    return record


@bp.route("/<int:import_id>")
@role_required(*IMPORTERS)
def import_detail(import_id: int):
    """An import's status, progress and counts; updated live by static/js/import-progress.js."""
    record = _get_import(import_id)
    return render_template("telemetry/import_detail.html", record=record, status=_status(record))


@bp.route("/<int:import_id>/status.json")
@role_required(*IMPORTERS)
def import_status(import_id: int):
    """The import's progress and counts as JSON, for the page's polling."""
    response = jsonify(_status(_get_import(import_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:import_id>/rejects.csv")
@role_required(*IMPORTERS)
def import_rejects(import_id: int):
    """Download the rejected rows of an import, each with its reason."""
    record = _get_import(import_id)
    path = _rejects_file(record)
    if path is None:
        abort(404)
    return send_file(path, mimetype="text/csv", as_attachment=True,
                     download_name=f"event-import-{record.id}-rejects.csv", max_age=0)


def _rejects_file(record: EventImport) -> Path | None:
    """The import's rejects CSV once the import has ended with rows rejected, else None."""
    if record.status not in ("done", "failed") or not record.rejects_path:
        return None
    path = instance_file(record.rejects_path)
    if not path.is_file() or (record.status == "done" and not record.rejected):
        return None
    if record.status == "failed":  # its count is unknown: offer the file if it has a row
        with path.open(encoding="utf-8") as rejects:
            if len(rejects.readlines(64 * 1024)) < 2:
                return None
    return path


def _status(record: EventImport) -> dict:
    """What the page and the JSON endpoint show about an import."""
    rejects = _rejects_file(record)
    progress = 1.0 if record.status == "done" else (
        min(record.bytes_read / record.size_bytes, 1.0) if record.size_bytes else 0.0)
    return {
        "id": record.id,
        "filename": record.filename,
        "format": record.format,
        "event_type": record.event_type,
        "status": record.status,
        "size_bytes": record.size_bytes,
        "bytes_read": record.bytes_read,
        "progress": round(progress, 4),
        "rows": record.rows,
        "accepted": record.accepted,
        "duplicates": record.duplicates,
        "rejected": record.rejected,
        "error": record.error,
        "started_at": _iso(record.started_at),
        "finished_at": _iso(record.finished_at),
        "rejects_url": url_for("telemetry.import_rejects", import_id=record.id) if rejects else None,
    }


def _iso(moment) -> str | None:
    """A naive UTC timestamp as RFC 3339."""
    return moment.isoformat(timespec="seconds") + "Z" if moment else None
