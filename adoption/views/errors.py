"""Error pages that keep the layout, say what happened and what to do next."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError

from adoption.extensions import db
from adoption.scope import ScopeError

#: code -> (title, what happened, what to do next)
ERROR_PAGES: dict[int, tuple[str, str, str]] = {
    400: (
        "Bad request",
        "The request could not be understood.",
        "Go back, reload the page and try again.",
    ),
    403: (
        "Not allowed",
        "Your role does not give access to this page or data.",
        "If you think you need it, ask your Uptake administrator.",
    ),
    404: (
        "Page not found",
        "There is nothing at this address.",
        "Check the address, or start again from the home page.",
    ),
    413: (
        "File too large",
        "The file is larger than this server accepts.",
        "Split the file into smaller parts, or ask your administrator about the upload limit.",
    ),
    429: (
        "Too many attempts",
        "Too many attempts from your address.",
        "Wait a minute and try again.",
    ),
    500: (
        "Something went wrong",
        "An unexpected error happened. Nothing was saved from this request.",
        "Try again in a moment; if it keeps happening, tell your administrator when it happened.",
    ),
}

#: A CSRF failure is a 400 whose likely cause is known.
FORM_EXPIRED = (
    "Form expired",
    "The form expired or did not come from this site.",
    "Go back, reload the page and try again.",
)

# Served when even the layout cannot be rendered (e.g. the database is unreachable).
_BARE_500 = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>Something went wrong · Uptake</title></head><body><main>"
    "<h1>Something went wrong (500)</h1><p>An unexpected error happened. Nothing was saved from "
    'this request.</p><p><a href="/">Back to the home page</a></p></main></body></html>'
)


def render_error(code: int, page: tuple[str, str, str] | None = None):
    """The error page for ``code`` in the site layout, with that status."""
    title, message, hint = page or ERROR_PAGES[code]
    return render_template(
        "errors/error.html", code=code, title=title, message=message, hint=hint
    ), code


def register(app: Flask) -> None:
    """Install the 400/403/404/413/429/500 handlers."""

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        """The form was stale or forged."""
        return render_error(400, FORM_EXPIRED)

    @app.errorhandler(400)
    def bad_request(error):
        """The request was malformed."""
        return render_error(400)

    @app.errorhandler(ScopeError)
    @app.errorhandler(403)
    def forbidden(error):
        """The user is signed in but may not see this."""
        return render_error(403)

    @app.errorhandler(404)
    def not_found(error):
        """Nothing lives at this address."""
        return render_error(404)

    @app.errorhandler(413)
    def too_large(error):
        """The upload is over the size limit."""
        return render_error(413)

    @app.errorhandler(429)
    def too_many(error):
        """Rate limit reached."""
        return render_error(429)

    @app.errorhandler(500)
    def server_error(error):
        """Something broke; the transaction is rolled back so nothing half-done is kept."""
        db.session.rollback()
        try:
            return render_error(500)
        except Exception:
            app.logger.exception("the 500 page could not be rendered with the layout")
            return _BARE_500, 500
