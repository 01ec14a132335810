"""The Dash app mounted at /dashboards/ and the analytics behind it.

Layers: ``queries`` (database → DataFrame, scoped), ``metrics`` (pure pandas), ``figures``
(DataFrame → plotly); ``pages`` chain them in callbacks; ``shell`` routes and navigates;
``guard`` keeps everyone without a dashboard role out of every Dash route.
"""

from __future__ import annotations

import datetime as dt

from flask import Flask, current_app, request

from adoption import security
from adoption.catch_up import commit_catch_up
from adoption.telemetry import rollups
from dashboards import clock
from surveys import results

URL_BASE = "/dashboards/"
DISPATCH_ENDPOINT = URL_BASE + "_dash-update-component"
# Dash's own page, with the language declared (screen readers pick their voice from it; WCAG
# 3.1.1) and without its Internet Explorer banner.
INDEX_STRING = """<!DOCTYPE html>
<html lang="en">
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
    </head>
    <body>
        {%app_entry%}
        <footer>
            {%config%}
            {%scripts%}
            {%renderer%}
        </footer>
    </body>
</html>"""


def bring_up_to_date(today: dt.date) -> None:
    """Recompute the weekly rollups queued as stale, then prepare the results of survey rounds
    closed by ``today``, each committed at once (``commit_catch_up``), so what reads next only
    reads. Every dashboards boundary calls it before reading: a callback (``_fresh_data``), the
    evidence API and command, the hypotheses' evaluation. Cheap when nothing is pending (one
    indexed read each)."""
    commit_catch_up(rollups.refresh_weekly_usage, "weekly rollup refresh")
    commit_catch_up(lambda: results.prepare_closed_rounds(today, current_app.config),
                    "survey results preparation")


def _fresh_data() -> None:
    """Before a dashboard callback runs, bring derived data up to date (``bring_up_to_date``):
    the dispatch request is the transaction boundary, so a round closed overnight has its
    results on the first callback of the day and the next callback does not redo it."""
    if request.endpoint == DISPATCH_ENDPOINT:
        bring_up_to_date(clock.org_today())


def init_app(server: Flask) -> None:
    """Mount the one Dash instance of ``server`` at ``/dashboards/``, guarded, with its pages."""
    from dash import Dash

    from adoption.demo import register_demo_loader
    from adoption.extensions import csrf
    from adoption.models import Role
    from adoption.signals import data_imported
    from adoption.views.auth import register_landing
    from dashboards import api, cli, commitment_views, guard, home, shell, views
    from dashboards.demo import load_evidence_demo
    from dashboards.demo_sponsors import load_sponsor_demo
    from dashboards.jobs import evaluate_after_import
    from dashboards.pages import PAGES, executive

    # Installed before Dash adds its own before_request hooks, so a refused request never
    # reaches them.
    guard.install(server, URL_BASE)
    server.register_blueprint(api.bp)  # GET only, so nothing for CSRF to check
    cli.register(server)
    server.register_blueprint(views.bp)  # the hypotheses register: forms with CSRF tokens
    server.register_blueprint(commitment_views.bp)  # the commitment board pack (read only)
    register_landing(server, Role.EXECUTIVE.value, URL_BASE + executive.SLUG)
    home.register(server)  # adoption against the target and the executive's commitment, on the home page
    # New outcomes or events re-evaluate the hypotheses, in a background job.
    data_imported.connect(evaluate_after_import, sender=server)
    register_demo_loader(server, load_evidence_demo)  # after the usage, survey and training demos
    register_demo_loader(server, load_sponsor_demo)  # after the evidence demo
    # After the guard, so only callbacks of signed-in users with dashboards get here.
    server.before_request(_fresh_data)
    app = Dash(
        name=__name__,
        server=server,
        url_base_pathname=URL_BASE,
        # Every script from this server (the product works offline); no CDN.
        serve_locally=True,
        # Our own router (see dashboards.shell), not Dash's module-global page registry.
        use_pages=False,
        pages_folder="",
        assets_folder="assets",
        external_stylesheets=[f"{server.static_url_path}/vendor/bootstrap-5.3.9/bootstrap.min.css"],
        # A table's box that scrolls sideways takes keyboard focus, as on the Flask pages.
        external_scripts=[f"{server.static_url_path}/js/scroll-regions.js"],
        title="Dashboards · Uptake",
        update_title=None,
    )
    app.index_string = INDEX_STRING
    # Pages are rendered by the router's callback, so most callbacks name components the first
    # layout does not hold. Dash would check them in the browser against a copy of every page's
    # layout put into each page's HTML (~190 KB a page load, never compressed, and only its
    # debugger shows the findings): instead the suite checks the wiring once, on the server
    # (tests/dashboards/test_callback_wiring.py), and the pages ship no such copy.
    app.config.suppress_callback_exceptions = True
    app.layout = shell.layout
    shell.register(app)
    for page in PAGES:
        page.register(app)
    # Dash's renderer posts JSON without a form token; the guard and the data scope protect this
    # view, and every other POST of the app keeps its CSRF check.
    csrf.exempt(server.view_functions[DISPATCH_ENDPOINT])
    # Dash starts its renderer with an inline script: the policy allows exactly that script.
    security.allow_inline_scripts(server, app.csp_hashes())
    server.extensions["uptake_dashboards"] = app
