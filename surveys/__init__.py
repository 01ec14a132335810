"""Pulse surveys: item bank, rounds, confidential responses, conversations and action plans."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the surveys blueprint, commands and demo pulse with ``app``."""
    from adoption.demo import register_demo_loader
    from surveys import api, cli, views
    from surveys.demo import load_survey_demo

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    cli.register(app)
    register_demo_loader(app, load_survey_demo)
