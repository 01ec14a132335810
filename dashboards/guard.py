"""The gate in front of every Dash route: signed in, and holding a role with at least one page.

Everything below the Dash prefix is guarded, component suites and assets included. They are
static JavaScript and CSS and would be harmless in public, but one rule without exceptions is
easier to audit than a list of safe paths, and it costs nothing: only signed-in users ever load
the pages that reference them, and the browser sends the session cookie with those requests.

This gate is the outer wall. The data scope applied in every query is the real protection,
because a callback is a POST anyone can send.
"""

from __future__ import annotations

from flask import Flask, abort, jsonify, redirect, request, url_for
from flask_login import current_user

from dashboards.pages import pages_for


def _login_target() -> str:
    """Where to come back to after signing in: this path and its query string."""
    query = request.query_string.decode("utf-8", "replace")
    return f"{request.path}?{query}" if query else request.path


def install(server: Flask, prefix: str) -> None:
    """Guard every route of ``server`` below ``prefix`` (e.g. ``/dashboards/``)."""
    bare = prefix.rstrip("/")
    # Dash answers HTML for its index and for every other GET below the prefix (its catch-all);
    # those are pages a person navigates to, everything else is JSON or a static file.
    page_endpoints = {prefix, prefix + "<path:path>"}

    @server.before_request
    def guard_dashboards():
        """Redirect or refuse requests to the dashboards from users who may not see them."""
        if request.path != bare and not request.path.startswith(prefix):
            return None
        is_page = request.method in ("GET", "HEAD") and (
            request.endpoint in page_endpoints or request.path == bare
        )
        if not current_user.is_authenticated:
            if is_page:
                return redirect(url_for("auth.login", next=_login_target()))
            return jsonify(error="Sign in to use the dashboards."), 401
        if not pages_for(current_user.role):
            if is_page:
                abort(403)
            return jsonify(error="Your role has no dashboards."), 403
        return None
