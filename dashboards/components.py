"""Layout pieces every dashboard page builds its charts from: a chart section with its heading,
n line and CSV download (and the download itself), an empty graph its callback fills (with its
data as a table), a table, and a labelled filter.

Component ids are ``<page>-<key>-…`` (the page's prefix, e.g. ``training``), which the pages'
download callbacks and the benchmark (``bench/dashboards.py``) rely on.
"""

from __future__ import annotations

import functools
import json

import pandas as pd
from dash import Output, dcc, html

from adoption.csv_export import spreadsheet_safe
from dashboards.chart_tables import chart_table
from dashboards.figures import empty_figure


def csv_button(page: str, key: str) -> list:
    """The download button of chart ``key`` on ``page`` and the component that delivers its file."""
    return [
        html.Button(
            "Download CSV",
            id=f"{page}-{key}-csv",
            className="btn btn-outline-secondary btn-sm",
            n_clicks=0,
        ),
        dcc.Download(id=f"{page}-{key}-download"),
    ]


def send_csv(frame: pd.DataFrame, filename: str) -> dict:
    """A chart's frame as a CSV download that is safe to open in a spreadsheet
    (``adoption.csv_export``): its text comes partly from outside (names and units from the HR
    export, activity names from the learning system), and a cell such as ``=HYPERLINK(...)`` would
    otherwise run when a leader opens it."""
    safe = frame.copy()
    for column in safe.columns:
        if pd.api.types.is_object_dtype(safe[column]) or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(spreadsheet_safe)
    return dcc.send_data_frame(safe.to_csv, filename, index=False)


def section(page: str, key: str, heading: str, n_id: str, body,
            width: str = "col-12") -> html.Section:
    """One chart of a page, a column of the page's row of charts: heading, its n line, the chart
    or table, its CSV download; ``width`` is its grid class (e.g. ``col-lg-6`` for half a row)."""
    return html.Section(
        className=f"{width} mb-4",
        **{"aria-labelledby": f"{page}-{key}-heading"},
        children=[
            html.Div(
                className="d-flex justify-content-between align-items-baseline",
                children=[
                    html.H2(heading, id=f"{page}-{key}-heading", className="h5"),
                    *csv_button(page, key),
                ],
            ),
            html.P(id=n_id, className="text-body-secondary small", role="status"),
            # A table wider than a phone scrolls in here instead of widening the page.
            html.Div(body, className="table-responsive"),
        ],
    )


@functools.cache
def _loading_figure() -> str:
    """The placeholder every chart shows before its callback answers, as JSON, built once:
    plotly takes tens of milliseconds to build a figure, and a page shows up to a dozen of them."""
    return empty_figure("Loading…").to_json()


def graph(component_id: str, with_data: bool = True) -> html.Div:
    """An empty chart that its callback fills, and below it the chart's data as a table, folded
    (``chart_tables``: the chart's text alternative), which the callback fills through
    ``chart_outputs`` and ``chart``. ``with_data=False`` for a chart whose page already shows
    its data in a table next to it (the callback then fills only the figure)."""
    figure = dcc.Graph(id=component_id, config={"displaylogo": False},
                       figure=json.loads(_loading_figure()))
    if not with_data:
        return html.Div(figure)
    return html.Div([
        figure,
        html.Details(className="chart-data small", children=[
            html.Summary("The chart's data as a table"),
            # A wide table scrolls in here; a keyboard user scrolls it once it has focus (the
            # table inside says what it is: a region's name would repeat "the chart's data").
            html.Div(id=data_id(component_id), className="table-responsive", tabIndex="0"),
        ]),
    ])


def data_id(component_id: str) -> str:
    """The id of the table that holds the data of chart ``component_id``."""
    return f"{component_id}-data"


def chart_outputs(component_id: str) -> tuple[Output, Output]:
    """A callback's outputs for chart ``component_id``: its figure and its data table."""
    return Output(component_id, "figure"), Output(data_id(component_id), "children")


def chart(figure, rows: str | None = None) -> tuple:
    """The values of ``chart_outputs``: the figure and, built from it, its data table (``rows``:
    what the rows are, when the chart's axis does not say, e.g. "Unit")."""
    return figure, chart_table(figure, rows)


def picker(label: str, component, label_for: str | None = None) -> html.Div:
    """A labelled filter (``label_for``: the id to label when it is not the component's own,
    e.g. a date range's start)."""
    return html.Div(
        className="col-md-4",
        children=[html.Label(label, htmlFor=label_for or component.id, className="form-label"),
                  component],
    )


def table(caption: str, headers: list[str], rows: list[tuple]) -> html.Table:
    """An accessible table: a caption, column headers, and rows whose first cell heads the row
    (a cell is its text, or ``(text, title)`` for a tooltip)."""
    def row_header(cell) -> html.Th:
        text, title = cell if isinstance(cell, tuple) else (cell, None)
        return html.Th(text, scope="row", title=title)

    return html.Table(
        className="table table-sm",
        children=[
            html.Caption(caption),
            html.Thead(html.Tr([html.Th(h, scope="col") for h in headers])),
            html.Tbody([html.Tr([row_header(first), *(html.Td(cell) for cell in rest)])
                        for first, *rest in rows]),
        ],
    )
