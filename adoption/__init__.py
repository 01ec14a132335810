"""Uptake core: the application factory, organization, accounts and scope."""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, request

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app from defaults, ``UPTAKE_*`` variables and ``config``, without side effects.

    It runs no migration and opens no connection: ``flask --app wsgi db upgrade`` (or the
    ``quickstart`` command) prepares the database.
    """
    from adoption.config import database_uri, load_settings, resolve_secret_key

    settings = load_settings(config)
    app = Flask(
        "adoption",
        static_folder=str(PROJECT_ROOT / "static"),
        static_url_path="/static",
        instance_path=settings.get("INSTANCE_PATH") or None,
        instance_relative_config=False,
    )
    app.config.update(settings)
    app.config["TESTING"] = settings.get("TESTING", settings["ENV"] == "testing")
    app.config["SECRET_KEY"] = resolve_secret_key(settings, app.instance_path, app.debug)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_uri(settings, app.instance_path)
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    app.config["RATELIMIT_STORAGE_URI"] = settings["RATELIMIT_STORAGE_URI"]
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True

    _init_extensions(app)

    from adoption import jobs, security

    jobs.init_app(app)  # builds the Celery app lazily: no broker connection here
    _register_blueprints(app)
    _register_cli(app)
    security.init_app(app)

    from dashboards import init_app as init_dashboards

    init_dashboards(app)
    if settings["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # The client's address and scheme as the trusted proxies saw them (the rate limits, the
        # sign-in log and Flask-WTF's HTTPS referrer check read them); only that many hops are believed.
        hops = settings["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    return app


def _init_extensions(app: Flask) -> None:
    """Bind every extension to ``app``."""
    from adoption.extensions import (
        COMPRESSED_TYPES,
        compress,
        configure_sqlite,
        csrf,
        db,
        limiter,
        login_manager,
        mail,
        migrate,
    )
    from adoption.health import MIGRATIONS_DIR

    db.init_app(app)
    with app.app_context():  # the engine exists now; no connection is opened
        configure_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    mail.init_app(app)
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
    compress.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see this page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    # "strong" signs a session out when its client changes; Flask-Login's own fingerprint takes
    # the first X-Forwarded-For entry, which whoever holds a stolen cookie can write. The address
    # here is the one werkzeug's ProxyFix believed (only UPTAKE_TRUSTED_PROXIES hops), or the
    # socket's own. Flask-Login has no public hook for it; a test forges the header to prove it.
    login_manager._session_identifier_generator = _session_identifier

    from sqlalchemy.orm import joinedload

    # The feature packages' tables join the shared metadata here (never at adoption's import),
    # so create_all and Flask-Migrate see them.
    import surveys.models  # noqa: F401
    import training.models  # noqa: F401
    from adoption.models import User

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        """Load the signed-in user from ``User.get_id``'s "id:tag"; a disabled account, a leaver
        or a session opened before the password last changed is signed out at once."""
        user_id, _, tag = session_id.partition(":")
        if not user_id.isdigit() or not tag:
            return None  # a session from before the tag existed: sign in again
        # With its employee in the same statement: is_active and nearly every page read it.
        user = db.session.get(User, int(user_id), options=[joinedload(User.employee)])
        if user is None or not user.is_active:
            return None
        return user if hmac.compare_digest(tag, user.session_tag(app.config["SECRET_KEY"])) else None


def _session_identifier() -> str:
    """The fingerprint of the client a session belongs to: its address and its browser."""
    client = f"{request.remote_addr}|{request.headers.get('User-Agent', '')}"
    return hashlib.sha512(client.encode("utf-8", "replace")).hexdigest()


def _register_blueprints(app: Flask) -> None:
    """Register the core blueprints and those of the feature packages."""
    from adoption.views import (  # noqa: F401 (admin_*, personal_data: their routes)
        admin,
        admin_access_log,
        admin_settings,
        admin_sign_ins,
        admin_users,
        auth,
        errors,
        health,
        home,
        personal_data,
        sponsors,
    )

    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(sponsors.bp)
    errors.register(app)

    from adoption.extensions import csrf
    from adoption.telemetry import api as telemetry_api

    # Bearer-token API: no session cookie, so no CSRF; every other blueprint keeps the check.
    csrf.exempt(telemetry_api.bp)
    app.register_blueprint(telemetry_api.bp)

    from adoption import outcomes_api

    csrf.exempt(outcomes_api.bp)  # bearer token only, like the events API
    app.register_blueprint(outcomes_api.bp)

    from adoption import units_api

    app.register_blueprint(units_api.bp)  # GET only, so nothing for CSRF to check

    from adoption.telemetry import views as telemetry_views

    telemetry_views.register(app)

    from adoption import openapi

    app.register_blueprint(openapi.bp)

    import surveys

    surveys.init_app(app)  # its blueprint and its demo data

    import training

    training.init_app(app)

    from adoption.views.shell import register as register_shell

    register_shell(app)


def _register_cli(app: Flask) -> None:
    """Add the ``flask --app wsgi ...`` commands."""
    from adoption.cli import register

    register(app)
