"""HTTP security headers sent with every response, the Content-Security-Policy among them.

The policy lets a page run only scripts served by this app (``'self'``) and the inline scripts
another package declares by hash (Dash's renderer bootstrap: see ``allow_inline_scripts``), so
an injected ``<script>`` or ``onclick=`` does nothing. Styles may be inline: plotly.js and Dash
set ``style`` attributes and insert style rules at run time, and a style cannot run code.
"""
from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, current_app

#: Sent with every response unless a view set its own: no MIME sniffing, no framing by other
#: sites (clickjacking), and no full address (which may hold a round, a unit or a token) sent
#: on to other sites as the referrer.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
}

#: The policy's directives apart from ``script-src``. Nothing is loaded from another origin (the
#: product works offline); ``data:`` images are Bootstrap's form icons and plotly's exports,
#: ``blob:`` plotly's "download as PNG".
POLICY = {
    "default-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data: blob:",
    "font-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'self'",
}

_EXTENSION = "uptake_inline_script_hashes"


def init_app(app: Flask) -> None:
    """Send the security headers with every response of ``app``."""
    app.extensions[_EXTENSION] = []
    app.after_request(_add_headers)


def allow_inline_scripts(app: Flask, hashes: Iterable[str]) -> None:
    """Let pages of ``app`` run the inline scripts with these CSP hashes (``'sha256-…'``)."""
    app.extensions[_EXTENSION].extend(hashes)


def content_security_policy(app: Flask) -> str:
    """The ``Content-Security-Policy`` header value of ``app``."""
    directives = {"script-src": " ".join(["'self'", *app.extensions[_EXTENSION]]), **POLICY}
    return "; ".join(f"{name} {sources}" for name, sources in directives.items())


def _add_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Content-Security-Policy", content_security_policy(current_app))
    return response
