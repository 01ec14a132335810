"""Celery worker entry point: ``celery -A adoption.worker worker`` (settings from ``UPTAKE_*``).

Like ``wsgi.py`` this module builds the app when imported; only the worker imports it (Celery
looks for an attribute named ``app`` first, hence ``flask_app``). The
worker consumes the ``UPTAKE_CELERY_QUEUE`` queue (``uptake`` by default) of the broker named
by ``UPTAKE_CELERY_BROKER_URL``, and reads the same database as the web app.
"""
from __future__ import annotations

from celery.signals import worker_process_init

from adoption import create_app
from adoption.extensions import db

flask_app = create_app()
if not flask_app.config.get("CELERY_BROKER_URL"):
    raise RuntimeError(
        "UPTAKE_CELERY_BROKER_URL is not set: without a broker, jobs run inside the web process "
        "and no worker is needed. Set it (e.g. redis://127.0.0.1:6379/0) on the web app and here."
    )
celery = flask_app.extensions["celery"]


@worker_process_init.connect
def _fresh_connections(**_: object) -> None:
    """A forked pool process must not reuse the parent's database connections."""
    with flask_app.app_context():
        db.engine.dispose(close=False)
