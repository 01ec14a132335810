"""The training blueprint, its routes in one module per concern:

- learner: "My training", the module player (lesson, case study, check, commitment, reaction),
  the completion certificate
- authoring: change leaders' module editor with preview, publishing, folder import/export
- assignments: assigning modules, the assignment overview, commitment follow-ups
"""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("training", __name__, url_prefix="/training", template_folder="../templates")

# The modules add their routes to `bp` when imported.
from training.views import assignments, authoring, learner  # noqa: F401


@bp.record_once
def _register_home_section(state) -> None:
    """Training's part of the home page (training/home.py)."""
    from training.home import register

    register(state.app)
