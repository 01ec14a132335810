"""The surveys blueprint, its routes in one module per concern:

- answering: "My surveys", the answer form and the confirmation; the survey builder
- conversations: comments, leaders' replies and "My conversations"
- actions: "you said, we did" action plans
"""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("surveys", __name__, url_prefix="/surveys", template_folder="../templates")

# The modules add their routes to `bp` when imported.
from surveys.views import actions, answering, conversations  # noqa: F401


@bp.record_once
def _register_home_sections(state) -> None:
    """The surveys' parts of the home page (surveys/home.py)."""
    from surveys.home import register

    register(state.app)
