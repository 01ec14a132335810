"""Pages of the hypotheses register (D6): ``/hypotheses`` and ``/hypotheses/<id>``.

Change leaders and admins record, edit, archive and re-evaluate hypotheses; executives read the
register; everyone else gets 403 (the service refuses them too: ``dashboards.hypotheses``).
Each POST validates its form, calls one service, commits once and redirects.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from adoption.access import current_scope, role_required
from adoption.extensions import db
from adoption.forms import ConfirmForm
from adoption.models import Role, User
from adoption.scope import ScopeError
from dashboards import bring_up_to_date, clock, hypotheses
from dashboards.forms import HypothesisForm

bp = Blueprint("hypotheses", __name__, template_folder="templates")

READERS = (Role.CHANGE_LEADER, Role.ADMIN, Role.EXECUTIVE)
VERDICT_WORDS = {"supported": "supported", "contradicted": "contradicted", "inconclusive": "not yet decidable"}
MANAGERS = (Role.CHANGE_LEADER, Role.ADMIN)


def _hypothesis(hypothesis_id: int):
    """The hypothesis for the signed-in user (404 when missing or archived, 403 out of scope)."""
    try:
        return hypotheses.get_hypothesis(current_scope(), hypothesis_id)
    except hypotheses.HypothesisNotFound:
        abort(404)
    except ScopeError:
        abort(403)


def _owner(owner_id: int | None) -> User | None:
    """The user picked as owner (the service checks that they may own one)."""
    return db.session.get(User, owner_id) if owner_id is not None else None


@bp.route("/hypotheses")
@role_required(*READERS)
def register():
    """The register: every hypothesis with its verdict, evidence and what would decide it."""
    try:
        entries = hypotheses.register_entries(current_scope())
    except ScopeError:
        abort(403)
    return render_template("dashboards/hypotheses.html", entries=entries,
                           can_manage=hypotheses.can_manage(current_user), action_form=ConfirmForm())


@bp.route("/hypotheses/<int:hypothesis_id>")
@role_required(*READERS)
def detail(hypothesis_id: int):
    """One hypothesis: its question, current verdict and reading, and the story of its verdicts."""
    try:
        entry = hypotheses.register_entry(current_scope(), hypothesis_id)
    except hypotheses.HypothesisNotFound:
        abort(404)
    except ScopeError:
        abort(403)
    return render_template("dashboards/hypothesis_detail.html", entry=entry,
                           can_manage=hypotheses.can_manage(current_user), action_form=ConfirmForm())


def _form_page(form: HypothesisForm, hypothesis=None, status: int = 200):
    """The new or edit form."""
    form.set_choices(hypotheses.metric_choices(), hypotheses.owner_choices())
    return render_template("dashboards/hypothesis_form.html", form=form, hypothesis=hypothesis), status


@bp.route("/hypotheses/new", methods=["GET", "POST"])
@role_required(*MANAGERS)
def new():
    """Record a hypothesis; it is evaluated at once."""
    form = HypothesisForm()
    if request.method == "GET":
        form.owner.data = current_user.id
        return _form_page(form)
    if not form.validate_on_submit():
        return _form_page(form, status=422)
    today = clock.org_today()
    bring_up_to_date(today)  # committed apart, as before the evidence API answers
    try:
        hypothesis = hypotheses.create_hypothesis(
            **form.hypothesis_args(), owner=_owner(form.owner.data), created_by=current_user._get_current_object(),
            today=today, config=current_app.config)
    except ScopeError:
        db.session.rollback()
        abort(403)
    except hypotheses.HypothesisError as exc:
        db.session.rollback()
        form.add_errors(exc)
        return _form_page(form, status=422)
    db.session.commit()
    flash(f"Hypothesis recorded and evaluated: {VERDICT_WORDS.get(hypothesis.verdict, 'not evaluated')} for now.",
          "success")
    return redirect(url_for("hypotheses.detail", hypothesis_id=hypothesis.id))


@bp.route("/hypotheses/<int:hypothesis_id>/edit", methods=["GET", "POST"])
@role_required(*MANAGERS)
def edit(hypothesis_id: int):
    """Edit a hypothesis; a changed question is re-evaluated ('edited' in its history)."""
    hypothesis = _hypothesis(hypothesis_id)
    form = HypothesisForm(obj=hypothesis) if request.method == "GET" else HypothesisForm()
    if request.method == "GET":
        form.owner.data = hypothesis.owner_id
        return _form_page(form, hypothesis)
    if not form.validate_on_submit():
        return _form_page(form, hypothesis, status=422)
    owner = _owner(form.owner.data)
    if owner is None:  # (None would keep the current owner)
        form.owner.errors = ["Choose the owner among the people offered."]
        return _form_page(form, hypothesis, status=422)
    today = clock.org_today()
    bring_up_to_date(today)
    try:
        hypotheses.update_hypothesis(hypothesis, current_user._get_current_object(), **form.hypothesis_args(),
                                     owner=owner, today=today, config=current_app.config)
    except ScopeError:
        db.session.rollback()
        abort(403)
    except hypotheses.HypothesisError as exc:
        db.session.rollback()
        form.add_errors(exc)
        return _form_page(form, hypothesis, status=422)
    db.session.commit()
    flash("Hypothesis saved.", "success")
    return redirect(url_for("hypotheses.detail", hypothesis_id=hypothesis_id))


@bp.route("/hypotheses/<int:hypothesis_id>/archive", methods=["POST"])
@role_required(*MANAGERS)
def archive(hypothesis_id: int):
    """Take a hypothesis off the register (its history is kept)."""
    hypothesis = _hypothesis(hypothesis_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        hypotheses.archive_hypothesis(hypothesis, current_user._get_current_object())
    except ScopeError:
        db.session.rollback()
        abort(403)
    db.session.commit()
    flash("Hypothesis archived: it is off the register and no longer evaluated.", "success")
    return redirect(url_for("hypotheses.register"))


@bp.route("/hypotheses/<int:hypothesis_id>/evaluate", methods=["POST"])
@role_required(*MANAGERS)
def evaluate(hypothesis_id: int):
    """"Re-evaluate now": read the evidence again (trigger 'manual')."""
    hypothesis = _hypothesis(hypothesis_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    today = clock.org_today()
    bring_up_to_date(today)
    try:
        check = hypotheses.reevaluate(hypothesis, current_user._get_current_object(), today=today,
                                      config=current_app.config)
    except ScopeError:
        db.session.rollback()
        abort(403)
    except hypotheses.HypothesisError:
        db.session.rollback()
        abort(404)
    db.session.commit()
    verdict = VERDICT_WORDS.get(hypothesis.verdict, "not evaluated")
    flash(f"Re-evaluated: {verdict}" + (" (a new entry in its history)." if check.changed else ", unchanged."),
          "success")
    return redirect(url_for("hypotheses.detail", hypothesis_id=hypothesis_id))
