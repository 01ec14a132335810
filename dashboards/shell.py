"""The frame around every dashboard page: role-filtered navigation and a small page router.

Routing is our own (``dcc.Location`` + one callback) rather than Dash's ``use_pages``: Dash keeps
its page registry and routing config in module globals (``dash._pages``), which the second
``create_app()`` in a process would share and overwrite, while this router lives entirely on the
Dash instance that ``register`` is given.
"""

from __future__ import annotations

from dash import Dash, Input, Output, dcc, html
from dash.development.base_component import Component

from adoption.access import current_scope
from dashboards import clock
from dashboards.pages import PageSpec, page_for, pages_for

LOCATION = "dashboards-location"
NAV = "dashboards-nav"
CONTENT = "dashboards-content"


def layout() -> html.Div:
    """The shell; its navigation and content are filled per user by the router callback."""
    return html.Div(
        [
            dcc.Location(id=LOCATION, refresh=False),
            html.Header(
                html.Nav(
                    id=NAV,
                    className="navbar navbar-expand navbar-dark bg-dark px-3",
                    **{"aria-label": "Dashboards"},
                )
            ),
            html.Main(id=CONTENT, className="container-fluid py-4"),
        ]
    )


def navigation(pages: list[PageSpec], current: str | None, prefix: str) -> list[Component]:
    """The navigation bar's contents: back to the app, then the pages the user may open."""
    links = [
        html.Li(
            dcc.Link(
                page.title,
                href=f"{prefix}{page.slug}",
                className="nav-link active" if page.slug == current else "nav-link",
            ),
            className="nav-item",
        )
        for page in pages
    ]
    return [
        html.A("Uptake", href="/", className="navbar-brand", title="Back to Uptake"),
        dcc.Link(
            "Dashboards", href=prefix, className="navbar-text me-3 text-white text-decoration-none"
        ),
        html.Ul(links, className="navbar-nav me-auto"),
        html.A("Back to the app", href="/", className="btn btn-outline-light btn-sm"),
    ]


def home(pages: list[PageSpec], prefix: str) -> Component:
    """The landing page: the dashboards this user may open, each with the question it answers."""
    cards = [
        html.Li(
            html.Article(
                html.Div(
                    [
                        html.H2(
                            dcc.Link(page.title, href=f"{prefix}{page.slug}",
                                     className="stretched-link"),
                            className="h5 card-title",
                        ),
                        html.P(page.question, className="card-text text-body-secondary mb-0"),
                    ],
                    className="card-body",
                ),
                className="card h-100",
            ),
            className="col",
        )
        for page in pages
    ]
    return html.Section(
        [
            html.H1("Dashboards", className="h3"),
            html.P("Every figure is limited to what your role may see.",
                   className="text-body-secondary"),
            html.Ul(cards, className="row row-cols-1 row-cols-md-2 row-cols-xl-3 g-3 list-unstyled"),
        ]
    )


def message(title: str, text: str) -> Component:
    """A page that only says something (not found, not allowed)."""
    return html.Section([html.H1(title, className="h3"), html.P(text)])


def slug_of(pathname: str | None, prefix: str) -> str | None:
    """The page slug in ``pathname`` ("" for the landing page), ``None`` outside ``prefix``."""
    path = (pathname or "").rstrip("/") + "/"
    if not path.startswith(prefix):
        return None
    return path[len(prefix) :].strip("/")


def register(app: Dash) -> None:
    """Add the router callback to ``app``."""
    prefix = app.config.routes_pathname_prefix

    @app.callback(
        Output(NAV, "children"),
        Output(CONTENT, "children"),
        Input(LOCATION, "pathname"),
    )
    def route(pathname):
        """Render the navigation and the page at ``pathname`` for the signed-in user."""
        role = current_scope().role.value
        pages = pages_for(role)
        slug = slug_of(pathname, prefix)
        if slug == "":
            return navigation(pages, None, prefix), home(pages, prefix)
        page = page_for(slug) if slug is not None else None
        if page is None:
            return navigation(pages, None, prefix), message(
                "Page not found", "There is no dashboard at this address."
            )
        if not page.allows(role):
            return navigation(pages, None, prefix), message(
                "Not allowed", "Your role does not give access to this dashboard."
            )
        return navigation(pages, slug, prefix), page.layout(clock.org_today())
