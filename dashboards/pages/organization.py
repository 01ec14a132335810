"""Page "Organization": headcount and CRM licences by unit, in the signed-in user's scope."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from dash import Dash, Input, Output, dcc, html

from adoption.access import current_scope
from adoption.models import Role
from dashboards import clock, components, figures, queries
from dashboards.inputs import parse_day, parse_int
from dashboards.metrics import organization as metrics

SLUG = "organization"
TITLE = "Organization"
# One sentence on the dashboards' landing page: the question the page answers.
QUESTION = "Who is in each unit on any day, and how many of them hold a CRM licence."
ROLES = frozenset(
    {Role.MANAGER.value, Role.CHANGE_LEADER.value, Role.EXECUTIVE.value, Role.ADMIN.value}
)

# Depth names of the tree the product describes (company → region → team); deeper units are allowed.
LEVEL_NAMES = {0: "Company", 1: "Region", 2: "Team"}
DEFAULT_LEVEL = 2

AS_OF = "org-as-of"
LEVEL = "org-level"
UNIT = "org-unit"
SUMMARY = "org-summary"
FIGURE = "org-figure"
TABLE = "org-table"


def level_name(depth: int) -> str:
    """What a depth of the unit tree is called on screen."""
    return LEVEL_NAMES.get(depth, f"Level {depth + 1}")


def layout(today: dt.date) -> html.Section:
    """The page for one request; the pickers' choices are filled by a scoped callback."""
    return html.Section(
        className="dashboards-page",
        children=[
            html.H1(TITLE, className="h3"),
            html.P(
                "People and CRM licences per unit on the chosen day, for the units you may see.",
                className="text-body-secondary",
            ),
            html.Div(
                className="row g-3 align-items-end mb-3",
                children=[
                    html.Div(
                        className="col-sm-4 col-lg-3",
                        children=[
                            html.Label("As of", htmlFor=AS_OF, className="form-label d-block"),
                            dcc.DatePickerSingle(
                                id=AS_OF, date=today.isoformat(), display_format="YYYY-MM-DD"
                            ),
                        ],
                    ),
                    html.Div(
                        className="col-sm-4 col-lg-3",
                        children=[
                            html.Label("Level", htmlFor=LEVEL, className="form-label"),
                            # Start with the named levels so the default is a valid choice (the
                            # dropdown drops a value missing from its options); the scoped
                            # callback then narrows them to the levels the user has.
                            dcc.Dropdown(
                                id=LEVEL,
                                options=[{"label": n, "value": d} for d, n in LEVEL_NAMES.items()],
                                value=DEFAULT_LEVEL,
                                clearable=False,
                            ),
                        ],
                    ),
                    html.Div(
                        className="col-sm-4 col-lg-4",
                        children=[
                            html.Label("Unit", htmlFor=UNIT, className="form-label"),
                            dcc.Dropdown(
                                id=UNIT, options=[], value=None, placeholder="All units you may see"
                            ),
                        ],
                    ),
                ],
            ),
            html.P(id=SUMMARY, role="status"),
            components.graph(FIGURE, with_data=False),
            html.Div(id=TABLE, className="table-responsive"),
        ],
    )


def _share(value: float | None) -> str:
    """A licence share for people to read."""
    return "n/a" if value is None or pd.isna(value) else f"{value:.0%}"


def summary_text(rolled: pd.DataFrame, day: dt.date) -> str:
    """One sentence with the totals of the table."""
    if rolled.empty:
        return f"{figures.NO_DATA_MESSAGE} on {day.isoformat()}."
    total = metrics.totals(rolled)
    people = "1 person" if total["employees"] == 1 else f"{total['employees']} people"
    units = "1 unit" if len(rolled) == 1 else f"{len(rolled)} units"
    return (
        f"On {day.isoformat()}: {people}, {total['licensed']} with a CRM licence "
        f"({_share(total['licence_share'])}), across {units}."
    )


def table(rolled: pd.DataFrame, day: dt.date) -> html.Table | html.P:
    """The figure's numbers as an accessible table, with a total row."""
    if rolled.empty:
        return html.P(figures.NO_DATA_MESSAGE, className="text-body-secondary")
    total = metrics.totals(rolled)
    header = html.Thead(
        html.Tr(
            [html.Th("Unit", scope="col")]
            + [
                html.Th(h, scope="col", className="text-end")
                for h in ("Employees", "Licensed", "Licence share")
            ]
        )
    )
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Th(row.path, scope="row"),
                    html.Td(int(row.employees), className="text-end"),
                    html.Td(int(row.licensed), className="text-end"),
                    html.Td(_share(row.licence_share), className="text-end"),
                ]
            )
            for row in rolled.itertuples(index=False)
        ]
    )
    footer = html.Tfoot(
        html.Tr(
            [
                html.Th("Total", scope="row"),
                html.Td(total["employees"], className="text-end"),
                html.Td(total["licensed"], className="text-end"),
                html.Td(_share(total["licence_share"]), className="text-end"),
            ]
        )
    )
    return html.Table(
        className="table table-sm table-striped",
        children=[
            html.Caption(f"Headcount and CRM licences by unit on {day.isoformat()}"),
            header,
            body,
            footer,
        ],
    )


def register(app: Dash) -> None:
    """Add the page's callbacks to ``app``."""

    @app.callback(
        Output(LEVEL, "options"),
        Output(UNIT, "options"),
        Input(AS_OF, "date"),
    )
    def fill_pickers(_as_of):
        """Offer only the levels and units in the signed-in user's scope."""
        scope = current_scope()
        if scope.role not in ROLES:
            return [], []
        units = queries.units_in_scope(scope)
        depths = sorted(set(units["depth"].tolist()))
        levels = [{"label": level_name(d), "value": d} for d in depths]
        choices = [
            {"label": row.path, "value": int(row.unit_id)} for row in units.itertuples(index=False)
        ]
        return levels, choices

    @app.callback(
        Output(FIGURE, "figure"),
        Output(TABLE, "children"),
        Output(SUMMARY, "children"),
        Input(AS_OF, "date"),
        Input(LEVEL, "value"),
        Input(UNIT, "value"),
    )
    def show_headcount(as_of, level, unit):
        """Headcount by unit: query (scoped) → roll-up → figure and table."""
        # The scope comes from the session, never from the request body: this is a public POST.
        scope = current_scope()
        day = parse_day(as_of) or clock.org_today()
        if scope.role in ROLES:
            frame = queries.headcount_by_unit(scope, day, within=parse_int(unit))
        else:
            # The guard already refuses such roles; this keeps the callback safe on its own.
            frame = queries.empty_headcount()
        depth = parse_int(level)
        rolled = metrics.roll_up(frame, DEFAULT_LEVEL if depth is None else max(depth, 0))
        return figures.headcount_figure(rolled), table(rolled, day), summary_text(rolled, day)
