"""Error pages that keep the layout and say what happened."""
from flask import Flask, render_template
from flask_wtf.csrf import CSRFError

from adoption.extensions import db
from adoption.scope import ScopeError


def register(app: Flask) -> None:
    """Install the 400/403/404/413/429/500 handlers."""

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        """The form was stale or forged."""
        return render_template("errors/error.html", code=400, title="Form expired",
                               message="The form expired or did not come from this site. Go back, reload the page and try again."), 400

    @app.errorhandler(ScopeError)
    @app.errorhandler(403)
    def forbidden(error):
        """The user is signed in but may not see this."""
        return render_template("errors/error.html", code=403, title="Not allowed",
                               message="Your role does not give access to this page or data."), 403

    @app.errorhandler(404)
    def not_found(error):
        """Nothing lives at this address."""
        return render_template("errors/error.html", code=404, title="Page not found",
                               message="There is nothing at this address."), 404

    @app.errorhandler(413)
    def too_large(error):
        """The upload is over the size limit."""
        return render_template("errors/error.html", code=413, title="File too large",
                               message="The file is larger than this server accepts."), 413

    @app.errorhandler(429)
    def too_many(error):
        """Rate limit reached."""
        return render_template("errors/error.html", code=429, title="Too many attempts",
                               message="Too many attempts from your address. Wait a minute and try again."), 429

    @app.errorhandler(500)
    def server_error(error):
        """Something broke; the transaction is rolled back so nothing half-done is kept."""
        db.session.rollback()
        return render_template("errors/error.html", code=500, title="Something went wrong",
                               message="An unexpected error happened. Nothing was saved from this request."), 500
