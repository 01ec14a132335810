"""Training: modules, case studies, knowledge checks, assignments and commitments."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the training blueprint and commands with ``app``."""
    from training import cli, views

    app.register_blueprint(views.bp)
    cli.register(app)
