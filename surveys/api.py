"""The survey results API: ``GET /api/v1/surveys/rounds`` and
``GET /api/v1/surveys/rounds/<id>/results`` (token with scope ``read``, or a signed-in user within
their scope), read-only like ``GET /api/v1/adoption``.

Rounds that closed but whose results are not prepared yet are prepared here, at the request
boundary, and committed before the read (as the dashboards refresh their rollups).
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from adoption.api_auth import api_error, current_api_scope, token_or_user
from adoption.catch_up import commit_catch_up
from adoption.extensions import db
from adoption.scope import ScopeError
from adoption.telemetry.adoption import AdoptionQueryError, resolve_unit
from adoption.timekeeping import org_today
from surveys.models import ALL_BANDS, TENURE_BANDS
from surveys.results import (
    GroupResults,
    ItemResult,
    ResultsNotFound,
    ResultsNotReady,
    RoundInfo,
    group_results,
    prepare_closed_rounds,
    results_rounds,
)

bp = Blueprint("surveys_api", __name__, url_prefix="/api/v1")

OUT_OF_SCOPE = "Your access does not cover this unit's figures."


def _prepare_closed_rounds() -> None:
    """Prepare (and commit) the results of rounds closed since the last request."""
    commit_catch_up(
        lambda: prepare_closed_rounds(org_today(current_app.config["ORG_TIMEZONE"]), current_app.config),
        "survey results preparation",
    )


def round_json(info: RoundInfo) -> dict:
    """A round as the API shows it."""
    return {
        "id": info.id,
        "survey": {"id": info.survey_id, "title": info.survey_title},
        "number": info.number,
        "opens_on": info.opens_on.isoformat(),
        "closes_on": info.closes_on.isoformat(),
        "results_available": info.results_ready,
    }


def item_key(item: ItemResult) -> str:
    """An item's key in the answer: the bank item's key, or ``q<question id>`` for a custom question."""
    return item.item_key or f"q{item.question_id}"


def results_json(result: GroupResults) -> dict:
    """A group's results as the API shows them; a suppressed group has no figures."""
    items: dict[str, dict] = {}
    for item in result.items:
        key = item_key(item)
        if key in items:  # two versions of one bank item in a round: tell them apart
            key = f"q{item.question_id}"
        items[key] = {
            "wording": item.wording, "construct": item.construct, "scale": item.scale,
            "n": item.n, "mean": item.mean, "favourable_pct": item.favourable_pct, "enps": item.enps,
            "choice_counts": item.choice_counts,
        }
    return {
        "round": round_json(result.round),
        "unit": result.unit_path,
        "tenure": None if result.band == ALL_BANDS else result.band,
        "invited": result.invited,
        "n": result.n,
        "suppressed": result.suppressed,
        "message": result.message,
        "response_rate": result.response_rate,
        "engagement_index": result.engagement_index,
        "enps": result.enps,
        "items": items,
        "barriers": result.barriers,
    }


@bp.route("/surveys/rounds", methods=["GET"])
@token_or_user("read")
def get_rounds():
    """Every survey round, newest first, saying whether its results are available."""
    scope = current_api_scope()
    if not scope.sees_aggregates:
        db.session.commit()
        return api_error(403, "out_of_scope", "Your access does not include survey results.")
    _prepare_closed_rounds()
    rounds = results_rounds(scope, include_pending=True)
    db.session.commit()
    return jsonify({"rounds": [round_json(r) for r in rounds]})


@bp.route("/surveys/rounds/<int:round_id>/results", methods=["GET"])
@token_or_user("read")
def get_round_results(round_id: int):
    """A unit's (and optionally one tenure band's) results in a closed round, suppressed below k."""
    scope = current_api_scope()
    tenure = request.args.get("tenure")
    try:
        unit = resolve_unit(scope, request.args.get("unit"))
        if tenure is not None and tenure not in TENURE_BANDS:
            db.session.commit()
            return api_error(400, "invalid_tenure",
                             f"'tenure' must be one of {', '.join(TENURE_BANDS)} (URL-encoded: %3C1y, 1-3y, "
                             f"3y%2B), not '{tenure}'.")
        _prepare_closed_rounds()
        result = group_results(scope, round_id, unit.id, tenure or ALL_BANDS)
    except AdoptionQueryError as exc:
        db.session.commit()  # nothing but the token's last-used time is pending
        return api_error(exc.status, exc.code, exc.message)
    except ScopeError:
        db.session.commit()
        return api_error(403, "out_of_scope", OUT_OF_SCOPE)
    except ResultsNotFound:
        db.session.commit()
        return api_error(404, "unknown_round", f"There is no survey round {round_id}.")
    except ResultsNotReady as exc:
        db.session.commit()
        today = org_today(current_app.config["ORG_TIMEZONE"])
        if exc.closes_on >= today:
            message = (f"Round {round_id} is still open: results appear after the round closes "
                       f"(its last day is {exc.closes_on.isoformat()}).")
            return api_error(409, "round_not_closed", message)
        return api_error(409, "results_not_ready", "The round's results are being prepared; retry in a moment.")
    db.session.commit()
    return jsonify(results_json(result))


@bp.errorhandler(500)
def server_error(error):
    """An unexpected failure: JSON, with the transaction rolled back."""
    db.session.rollback()
    return api_error(500, "internal_error", "The request failed; retry it.")
