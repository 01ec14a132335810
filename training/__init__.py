"""Training: modules, case studies, knowledge checks, assignments and commitments."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the training blueprint, commands and demo data with ``app``."""
    from adoption.demo import register_demo_loader
    from adoption.erasure import register_erasure
    from adoption.extensions import csrf
    from adoption.personal_data import register_personal_data
    from adoption.roster import roster_imported
    from training import api, cli, views
    from training.assignments import sync_after_roster_import
    from training.demo import load_training_demo
    from training.demo_external import load_external_learning_demo
    from training.personal_data import erase_training, training_contribution
    from training.xapi_learners import attribute_after_roster_import

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)  # /xapi/statements: API tokens only, never the session cookie
    cli.register(app)
    # A roster import brings new joiners into assigned units: assign them in the same transaction,
    # and attribute the external learning records that name them.
    roster_imported.connect(sync_after_roster_import, sender=app)
    roster_imported.connect(attribute_after_roster_import, sender=app)
    register_demo_loader(app, load_training_demo)
    register_demo_loader(app, load_external_learning_demo)
    register_personal_data(app, training_contribution)
    register_erasure(app, erase_training)
