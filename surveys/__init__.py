"""Pulse surveys: item bank, rounds, confidential responses, conversations and action plans."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the surveys blueprint, commands and demo pulse with ``app``."""
    from adoption.demo import register_demo_loader
    from adoption.erasure import register_erasure
    from adoption.personal_data import register_personal_data
    from surveys import api, cli, views
    from surveys.demo import load_survey_demo
    from surveys.personal_data import erase_surveys, survey_contribution

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    cli.register(app)
    register_demo_loader(app, load_survey_demo)
    register_personal_data(app, survey_contribution)
    register_erasure(app, erase_surveys)
