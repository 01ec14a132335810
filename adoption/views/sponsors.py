"""Pages of the sponsor log (D2, issue 7): ``/sponsors/`` and its forms.

- change leaders and admins: every sponsor's log, record and message for any sponsor, plans,
  and the units each sponsor answers for (areas);
- an executive who is a sponsor: their own log, activities, messages and plans;
- an executive who is not a sponsor: a page that says why there is nothing here for them;
- everyone else: 403 (the service, ``adoption.sponsors``, refuses them too).

Each POST validates its form, calls one service, commits once and redirects. See docs/commitment.md.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from adoption import sponsors
from adoption.access import current_scope, role_required
from adoption.extensions import db
from adoption.models import Employee, Role
from adoption.org import units_in_scope
from adoption.scope import ScopeError
from adoption.sponsor_forms import (
    ActivityForm,
    AreasForm,
    DeleteActivityForm,
    LogFilterForm,
    MessageForm,
    PlanForm,
)
from adoption.sponsor_log import sponsor_log
from adoption.sponsors import quarter_label, quarter_starts
from adoption.timekeeping import org_today

bp = Blueprint("sponsors", __name__, url_prefix="/sponsors")
T = TypeVar("T")

READERS = (Role.EXECUTIVE, Role.CHANGE_LEADER, Role.ADMIN)
PROGRAM = (Role.CHANGE_LEADER, Role.ADMIN)
#: Quarters the log's filter and the plan form offer before and after today's.
QUARTERS_BACK, QUARTERS_AHEAD = 4, 2


def _today() -> dt.date:
    """Today in the organization's time zone."""
    return org_today(current_app.config["ORG_TIMEZONE"])


def _readable() -> list[Employee]:
    """The sponsors the signed-in user may read and record for (403 when their role reads none)."""
    try:
        return sponsors.readable_sponsors(current_scope())
    except ScopeError:
        abort(403)


def _nobody_page():
    """Why there is no log: the executive is not a sponsor, or no sponsor is named yet (a GET;
    a form posted anyway is refused: there is no sponsor this user may record for)."""
    if request.method != "GET":
        abort(403)
    return render_template("sponsors/no_sponsor.html", is_executive=current_user.role == Role.EXECUTIVE.value)


def _asked_quarter(today: dt.date) -> dt.date:
    """The quarter holding the query string's ``quarter`` (an ISO date), or today's."""
    try:
        day = dt.date.fromisoformat(request.args.get("quarter", ""))
    except ValueError:
        day = today
    return sponsors.quarter_bounds(day)[0]


def _quarters(today: dt.date, also: dt.date, ahead: int = 0) -> list[dt.date]:
    """The quarters a form offers, newest first, with ``also`` among them."""
    return sorted({*quarter_starts(today, back=QUARTERS_BACK, ahead=ahead), also}, reverse=True)


def _chosen_sponsor(readable: list[Employee]) -> int | None:
    """The sponsor a form starts with: ``sponsor_id`` from the query string, or the only one."""
    chosen = request.args.get("sponsor_id", type=int)
    if chosen is None and len(readable) == 1:
        chosen = readable[0].id
    return chosen


def _require(sponsor_id: int) -> Employee:
    """The sponsor, when the user may record for them (403 otherwise, 404 when not a sponsor)."""
    try:
        return sponsors.require_sponsor(current_scope(), sponsor_id)
    except ScopeError:
        abort(403)
    except sponsors.SponsorError:
        abort(404)


def _prefill(form, readable: list[Employee]) -> int | None:
    """On a GET, start ``form`` on the sponsor asked for (or the only one) and, when it has an
    audience, on their areas; returns that sponsor's id (403 when the user may not act for them)."""
    chosen = _chosen_sponsor(readable)
    if chosen is not None:
        form.sponsor.data = _require(chosen).id
        if "units" in form:
            form.units.data = [u.id for u in sponsors.areas_of(chosen)]
    return chosen


def _attempt(call: Callable[[], T], refused: Callable[[sponsors.SponsorError], Any]) -> tuple[T | None, Any]:
    """Run one service call: ``(result, None)``, or ``(None, refused(error))`` after a rollback
    when the service refuses it with a reason; a ``ScopeError`` is rolled back and answered 403."""
    try:
        return call(), None
    except ScopeError:
        db.session.rollback()
        abort(403)
    except sponsors.SponsorError as exc:
        db.session.rollback()
        return None, refused(exc)


def _shown_on(form, page: Callable[..., Any]) -> Callable[[sponsors.SponsorError], Any]:
    """A refusal shown under the form's field it is about, on ``page`` (422)."""
    def show(error: sponsors.SponsorError):
        form.add_service_error(error)
        return page(form, 422)
    return show


def _log_url(sponsor_id: int | None, day: dt.date | None) -> str:
    """The log filtered to a sponsor and the quarter holding ``day``."""
    quarter = sponsors.quarter_bounds(day)[0].isoformat() if day else None
    return url_for("sponsors.log", sponsor_id=sponsor_id, quarter=quarter)


# ---------------------------------------------------------------- the log


@bp.route("/")
@role_required(*READERS)
def log():
    """A quarter of the log (one sponsor or every readable one) with progress against plan."""
    readable = _readable()
    if not readable:
        return _nobody_page()
    today = _today()
    form = LogFilterForm(request.args)
    valid = form.validate()  # the choices are set below: they are not checked
    sponsor_id = form.sponsor_id.data if valid and form.sponsor_id.data else None
    if sponsor_id is None and len(readable) == 1:
        sponsor_id = readable[0].id
    quarter = form.quarter.data if valid and form.quarter.data else today
    try:
        page = sponsor_log(current_scope(), sponsor_id=sponsor_id, quarter_start=quarter)
    except ScopeError:
        abort(403)
    form.set_choices(readable, _quarters(today, page.quarter_start))
    form.sponsor_id.data, form.quarter.data = sponsor_id, page.quarter_start
    return render_template("sponsors/log.html", form=form, page=page, sponsor_id=sponsor_id,
                           delete_form=DeleteActivityForm(),
                           can_set_areas=current_user.role in {r.value for r in PROGRAM})


# ---------------------------------------------------------------- recording an activity


def _activity_page(form: ActivityForm, status: int = 200):
    """The record-an-activity form."""
    return render_template("sponsors/record.html", form=form), status


@bp.route("/record", methods=["GET", "POST"])
@role_required(*READERS)
def record():
    """Record a visible action of a sponsor: what, when, for which units, and a note."""
    readable = _readable()
    if not readable:
        return _nobody_page()
    scope, today = current_scope(), _today()
    form = ActivityForm()
    form.set_choices(readable, units_in_scope(scope))
    if request.method == "GET":
        _prefill(form, readable)
        form.occurred_on.data = today
        return _activity_page(form)
    if not form.validate_on_submit():
        return _activity_page(form, 422)
    activity, refusal = _attempt(
        lambda: sponsors.record_activity(current_user._get_current_object(), scope, **form.activity_args(),
                                         today=today),
        _shown_on(form, _activity_page))
    if refusal is not None:
        return refusal
    target = _log_url(activity.sponsor_id, activity.occurred_on)
    db.session.commit()
    flash("Activity recorded.", "success")
    return redirect(target)


# ---------------------------------------------------------------- sending a message


def _message_page(form: MessageForm, status: int = 200):
    """The message form."""
    return render_template("sponsors/message.html", form=form), status


@bp.route("/message", methods=["GET", "POST"])
@role_required(*READERS)
def message():
    """Write a sponsor's message, confirm it (saying how many people it goes to), send it.

    "Continue" checks the message as sending would and shows the confirmation; "Send" sends it
    to the outbox or by e-mail and records it as the sponsor's ``message`` activity of today.
    """
    readable = _readable()
    if not readable:
        return _nobody_page()
    scope = current_scope()
    form = MessageForm()
    units = units_in_scope(scope)
    form.set_choices(readable, units)
    if request.method == "GET":
        _prefill(form, readable)
        return _message_page(form)
    if not form.validate_on_submit():
        return _message_page(form, 422)
    if form.edit.data:
        return _message_page(form)
    refused = _shown_on(form, _message_page)
    if not form.send.data:
        audience, refusal = _attempt(lambda: sponsors.message_audience(scope, **form.message_args()), refused)
        if refusal is not None:
            return refusal
        paths = {u.id: u.path for u in units}
        sponsor_name = next(s.full_name for s in readable if s.id == form.sponsor.data)
        return render_template("sponsors/message_confirm.html", form=form, recipients=len(audience),
                               sponsor_name=sponsor_name,
                               unit_paths=[paths[i] for i in sorted(set(form.units.data), key=paths.get)])
    activity, refusal = _attempt(
        lambda: sponsors.send_message(current_user._get_current_object(), scope, **form.message_args(),
                                      today=_today()),
        refused)
    if refusal is not None:
        return refusal
    sent = activity.recipients
    target = _log_url(activity.sponsor_id, activity.occurred_on)
    db.session.commit()
    flash(f"Message sent to {sent} {'person' if sent == 1 else 'people'} and recorded in the log.", "success")
    return redirect(target)


# ---------------------------------------------------------------- plans


def _plan_page(form: PlanForm, status: int = 200):
    """The quarterly plan form."""
    return render_template("sponsors/plan.html", form=form), status


@bp.route("/plan", methods=["GET", "POST"])
@role_required(*READERS)
def plan():
    """Set how many actions of each kind a sponsor plans for a quarter (0 removes a kind's plan)."""
    readable = _readable()
    if not readable:
        return _nobody_page()
    today = _today()
    form = PlanForm()
    if request.method == "GET":
        quarter = _asked_quarter(today)
        form.set_choices(readable, _quarters(today, quarter, ahead=QUARTERS_AHEAD))
        form.quarter.data = quarter
        chosen = _prefill(form, readable)
        form.fill_counts(sponsors.plan_counts(chosen, quarter) if chosen is not None else {})
        return _plan_page(form)
    valid = form.validate_on_submit()  # the choices are set below: they are not checked
    form.set_choices(readable, _quarters(today, form.quarter.data or sponsors.quarter_bounds(today)[0],
                                         ahead=QUARTERS_AHEAD))
    if not valid:
        return _plan_page(form, 422)
    args = form.plan_args()
    _plans, refusal = _attempt(
        lambda: sponsors.set_plan(current_user._get_current_object(), current_scope(), **args),
        _shown_on(form, _plan_page))
    if refusal is not None:
        return refusal
    db.session.commit()
    flash(f"Plan for {quarter_label(args['quarter_start'])} saved.", "success")
    return redirect(_log_url(args["sponsor_id"], args["quarter_start"]))


# ---------------------------------------------------------------- areas


def _areas_page(form: AreasForm, readable: list[Employee], status: int = 200):
    """The areas form, with every sponsor's current areas."""
    current = [(s, sponsors.areas_of(s.id)) for s in readable]
    return render_template("sponsors/areas.html", form=form, current=current), status


@bp.route("/areas", methods=["GET", "POST"])
@role_required(*PROGRAM)
def areas():
    """Say which units (with their subtrees) a sponsor answers for; without any, the organization."""
    readable = _readable()
    if not readable:
        return _nobody_page()
    form = AreasForm()
    form.set_choices(readable, units_in_scope(current_scope()))
    if request.method == "GET":
        _prefill(form, readable)
        return _areas_page(form, readable)
    if not form.validate_on_submit():
        return _areas_page(form, readable, 422)
    _units, refusal = _attempt(
        lambda: sponsors.set_areas(current_user._get_current_object(), current_scope(),
                                   sponsor_id=form.sponsor.data, unit_ids=form.units.data),
        _shown_on(form, lambda f, status: _areas_page(f, readable, status)))
    if refusal is not None:
        return refusal
    db.session.commit()
    flash("Areas saved.", "success")
    return redirect(url_for("sponsors.areas", sponsor_id=form.sponsor.data))


# ---------------------------------------------------------------- removing an activity


@bp.route("/activities/<int:activity_id>/delete", methods=["POST"])
@role_required(*READERS)
def delete(activity_id: int):
    """Remove a wrongly recorded activity (a message sent from the app stays: it was sent).

    ``sponsor_id`` and ``quarter`` in the query string are the log's filter, to return to it."""
    if not DeleteActivityForm().validate_on_submit():
        abort(400)
    back = url_for("sponsors.log", sponsor_id=request.args.get("sponsor_id", type=int),
                   quarter=_asked_quarter(_today()).isoformat())

    def refused(error: sponsors.SponsorError):
        flash(str(error), "danger")
        return redirect(back)

    _none, refusal = _attempt(
        lambda: sponsors.delete_activity(current_user._get_current_object(), current_scope(), activity_id), refused)
    if refusal is not None:
        return refusal
    db.session.commit()
    flash("Activity removed from the log.", "success")
    return redirect(back)
