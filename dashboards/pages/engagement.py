"""Page "Engagement" (D3): pulse survey results of a round and unit, with a tenure filter.

The data come from the survey results service (``surveys.results``), which checks the scope and
applies the disclosure rules; this page never reads survey tables itself. Each chart has a
``*_frame`` function (service → metrics) that its display callback and its CSV download both
call, so a suppressed group is suppressed identically in the chart, the table and the file.
Closed rounds are prepared before any callback runs (``dashboards._fresh_data``), never here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from dash import Dash, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from adoption.access import current_scope
from adoption.models import Role
from adoption.scope import Scope, ScopeError
from dashboards import components, queries
from dashboards import engagement_figures as figures
from dashboards.figures import NO_DATA_MESSAGE, empty_figure
from dashboards.inputs import parse_int
from dashboards.metrics import engagement as metrics
from surveys import actions, conversations, results
from surveys.disclosure import SUPPRESSED_MESSAGE, group_disclosure
from surveys.models import ALL_BANDS, TENURE_BANDS

SLUG = "engagement"
TITLE = "Engagement"
# One sentence on the dashboards' landing page: the question the page answers.
QUESTION = ("What the pulse surveys say: engagement, eNPS, barriers to change and their drivers, "
            "and whether comments get answers and actions follow.")
# Survey results are for the people who act on them; admins run the platform and employees read
# their own unit's results elsewhere.
ROLES = frozenset({Role.MANAGER.value, Role.CHANGE_LEADER.value, Role.EXECUTIVE.value})

ROUND = "engagement-round"
UNIT = "engagement-unit"
TENURE = "engagement-tenure"
KPIS = "engagement-kpis-cards"
KPIS_N = "engagement-kpis-n"
TREND_FIGURE = "engagement-trend-figure"
TREND_N = "engagement-trend-n"
HEATMAP_FIGURE = "engagement-heatmap-figure"
HEATMAP_N = "engagement-heatmap-n"
BARRIERS_FIGURE = "engagement-barriers-figure"
BARRIERS_N = "engagement-barriers-n"
DRIVERS_FIGURE = "engagement-drivers-figure"
DRIVERS_N = "engagement-drivers-n"
CONVERSATIONS_TABLE = "engagement-conversations-table"
CONVERSATIONS_N = "engagement-conversations-n"
PLANS_FIGURE = "engagement-plans-figure"
PLANS_N = "engagement-plans-n"

NOT_ALLOWED = "Your role does not give access to survey results."
NO_ROUNDS = "No survey round has results yet: a round's results appear after it closes."
UNKNOWN_ROUND = "There are no results for this round."
OUT_OF_SCOPE = "This unit is outside what you may see."
NOT_FOUND = "There is no such unit or round."
NOT_READY = "The results of this round are not ready yet."
COMMENTS_FOR_LEADERS = (
    "Comments and conversations are read by managers and change leaders only."
)


@dataclass(frozen=True)
class Filters:
    """What the page shows: a prepared round, a unit (with its subtree) and a tenure band."""

    round: results.RoundInfo | None
    # As requested (the results service checks it against the scope), or the top of the scope.
    unit_id: int | None
    band: str
    # Why nothing can be shown (role, no round yet, unknown round); None when all is well.
    problem: str | None


class Unavailable(Exception):
    """A chart cannot be drawn for these filters; the message says why, fit to show."""


def filters(scope: Scope, round_value: Any, unit: Any, tenure: Any) -> Filters:
    """The page's filters from the raw callback inputs (a public POST: anything may come)."""
    band = tenure if tenure in TENURE_BANDS else ALL_BANDS
    if scope.role.value not in ROLES:
        return Filters(None, None, band, NOT_ALLOWED)
    try:
        rounds = results.results_rounds(scope)
    except ScopeError:
        return Filters(None, None, band, NOT_ALLOWED)
    if not rounds:
        return Filters(None, None, band, NO_ROUNDS)
    requested = parse_int(round_value)
    if requested is None:
        chosen = rounds[0]
    else:
        chosen = next((r for r in rounds if r.id == requested), None)
    unit_id = parse_int(unit)
    if unit_id is None:
        top = queries.focus_unit(scope, None)
        unit_id = top.id if top is not None else None
    if chosen is None:
        return Filters(None, unit_id, band, UNKNOWN_ROUND)
    if unit_id is None:
        return Filters(chosen, None, band, NO_DATA_MESSAGE)
    return Filters(chosen, unit_id, band, None)


def _checked(f: Filters) -> results.RoundInfo:
    """The round of usable filters; ``Unavailable`` with the reason otherwise."""
    if f.problem is not None or f.round is None or f.unit_id is None:
        raise Unavailable(f.problem or NO_DATA_MESSAGE)
    return f.round


def _service(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a survey service; its refusals become ``Unavailable`` with a message to show."""
    try:
        return call(*args, **kwargs)
    except ScopeError as error:
        raise Unavailable(OUT_OF_SCOPE) from error
    except results.ResultsNotFound as error:
        raise Unavailable(NOT_FOUND) from error
    except results.ResultsNotReady as error:
        raise Unavailable(NOT_READY) from error


# --- chart data: service → metrics, shared by each chart and its CSV download ----------------


def group(scope: Scope, f: Filters) -> results.GroupResults:
    """The chosen group's results (scope-checked and disclosure-checked by the service)."""
    survey_round = _checked(f)
    return _service(results.group_results, scope, survey_round.id, f.unit_id, f.band)


def kpis_frame(scope: Scope, f: Filters) -> pd.DataFrame:
    """Response rate, engagement index and eNPS of the group, with invited and n."""
    return metrics.kpi_frame(group(scope, f))


def trend_frame(scope: Scope, f: Filters) -> pd.DataFrame:
    """The group's figures in every prepared round of the chosen round's survey."""
    survey_round = _checked(f)
    points = _service(results.trend, scope, survey_round.survey_id, f.unit_id, f.band)
    return metrics.trend_frame(points)


def heatmap_frame(scope: Scope, f: Filters) -> pd.DataFrame:
    """Favourability per likert item of each unit directly below the chosen one."""
    survey_round = _checked(f)
    children = _service(results.heatmap, scope, survey_round.id, f.unit_id, f.band)
    return metrics.heatmap_frame(children)


def barriers_frame(scope: Scope, f: Filters) -> pd.DataFrame:
    """Respondents of the group by first change-readiness barrier."""
    return metrics.barrier_frame(group(scope, f))


def drivers_frame(scope: Scope, f: Filters) -> pd.DataFrame:
    """Each item's correlation with the engagement index in the group, with CI and n."""
    survey_round = _checked(f)
    found = _service(results.drivers, scope, survey_round.id, f.unit_id, f.band)
    # The service gives no drivers for a suppressed group; only then ask (by primary key, the
    # scope already checked) whether that is why, rather than reading the group's results.
    suppressed = not found and not group_disclosure(survey_round.id, f.unit_id, f.band).shown
    return metrics.driver_frame(found, suppressed, SUPPRESSED_MESSAGE if suppressed else None)


def conversations_frame(scope: Scope, f: Filters) -> pd.DataFrame:
    """Comments, conversations and conversations awaiting a leader's reply in the unit's subtree."""
    _checked(f)
    if scope.role not in conversations.READER_ROLES:
        raise Unavailable(COMMENTS_FOR_LEADERS)
    stats = _service(conversations.conversation_stats, scope, f.unit_id)
    unit = queries.focus_unit(scope, f.unit_id)
    return metrics.conversation_frame(unit.path if unit is not None else "", stats)


def plans_frame(scope: Scope, f: Filters) -> pd.DataFrame:
    """Action plans of the unit's subtree by status (plans of every round)."""
    _checked(f)
    plans = _service(actions.plans_in_scope, scope, unit_id=f.unit_id)
    return metrics.plan_frame(plan.status for plan in plans)


CHARTS: dict[str, Callable[[Scope, Filters], pd.DataFrame]] = {
    "kpis": kpis_frame,
    "trend": trend_frame,
    "heatmap": heatmap_frame,
    "barriers": barriers_frame,
    "drivers": drivers_frame,
    "conversations": conversations_frame,
    "plans": plans_frame,
}


# --- layout ------------------------------------------------------------------------------------



def layout(_today) -> html.Section:
    """The page for one request; the round and unit pickers are filled by a scoped callback."""
    return html.Section(
        className="dashboards-page",
        children=[
            html.H1(TITLE, className="h3"),
            html.P(
                "Pulse survey results of the units you may see. Groups with too few responses "
                f"show “{metrics.SUPPRESSED_MESSAGE}” instead of any figure.",
                className="text-body-secondary",
            ),
            html.Div(
                className="row g-3 align-items-end mb-3",
                children=[
                    components.picker("Round", dcc.Dropdown(
                        id=ROUND, options=[], value=None,
                        placeholder="Latest round with results",
                    )),
                    components.picker("Unit (with everything below it)", dcc.Dropdown(
                        id=UNIT, options=[], value=None, placeholder="Your whole scope",
                    )),
                    components.picker("Tenure", dcc.Dropdown(
                        id=TENURE,
                        options=[{"label": label, "value": band}
                                 for band, label in metrics.BAND_LABELS.items()],
                        value=ALL_BANDS,
                        clearable=False,
                    )),
                ],
            ),
            html.Div(
                className="row",
                children=[
                    components.section("engagement", "kpis", "Headline figures", KPIS_N, html.Div(id=KPIS)),
                    components.section("engagement", "trend", "Trend across rounds", TREND_N, components.graph(TREND_FIGURE)),
                    components.section("engagement", "heatmap", "Favourability by unit and item", HEATMAP_N,
                            components.graph(HEATMAP_FIGURE)),
                    components.section("engagement", "barriers", "Change-readiness barriers", BARRIERS_N,
                            components.graph(BARRIERS_FIGURE), "col-lg-6"),
                    components.section("engagement", "drivers", "What goes with engagement (drivers)", DRIVERS_N,
                            components.graph(DRIVERS_FIGURE), "col-lg-6"),
                    components.section("engagement", "conversations", "Conversations", CONVERSATIONS_N,
                            html.Div(id=CONVERSATIONS_TABLE), "col-lg-6"),
                    components.section("engagement", "plans", "Action plans by status", PLANS_N, components.graph(PLANS_FIGURE),
                            "col-lg-6"),
                ],
            ),
        ],
    )


# --- what the charts say in words --------------------------------------------------------------


def _group_name(unit: str, band: str) -> str:
    """A group for people to read: its unit and, when filtered, its tenure band."""
    return unit if band == ALL_BANDS else f"{unit}, {metrics.BAND_LABELS[band].lower()}"


def _signed(value: float) -> str:
    """An eNPS, with its sign."""
    return f"{value:+.0f}"


def kpi_cards(kpis: pd.DataFrame) -> html.Div:
    """The headline figures as cards with their n; only a message for a suppressed group."""
    row = kpis.iloc[0]
    if bool(row["suppressed"]):
        return html.Div(
            f"{_group_name(row['unit'], row['band'])}: {row['message']}.",
            className="alert alert-secondary",
            role="note",
        )

    def card(title: str, value: str, note: str) -> html.Div:
        return html.Div(
            className="col-sm-4",
            children=html.Div(
                className="card h-100",
                children=html.Div(
                    className="card-body",
                    children=[
                        html.H3(title, className="h6 card-title text-body-secondary"),
                        html.P(value, className="display-6 mb-1"),
                        html.P(note, className="small text-body-secondary mb-0"),
                    ],
                ),
            ),
        )

    def shown(value: Any, text: Callable[[float], str]) -> str:
        return metrics.SUPPRESSED_MESSAGE if pd.isna(value) else text(float(value))

    n, invited = int(row["n"]), int(row["invited"])
    return html.Div(
        className="row g-3",
        children=[
            card("Response rate", shown(row["response_rate"], lambda v: f"{v:.0%}"),
                 f"n = {n} respondents of {invited} invited"),
            card("Engagement index", shown(row["engagement_index"], lambda v: f"{v:.0f} / 100"),
                 f"n = {n} respondents"),
            card("eNPS", shown(row["enps"], _signed), f"n = {n} respondents"),
        ],
    )


def kpis_text(kpis: pd.DataFrame) -> str:
    """The n of the headline figures and what the group is."""
    row = kpis.iloc[0]
    group_name = _group_name(row["unit"], row["band"])
    if bool(row["suppressed"]):
        return f"{row['round']}, {group_name}: {row['message']}."
    return (
        f"{row['round']}, {group_name}: n = {int(row['n'])} respondents of "
        f"{int(row['invited'])} invited."
    )


def trend_text(trend: pd.DataFrame) -> str:
    """The n of the trend and how to read it."""
    if trend.empty:
        return f"{NO_DATA_MESSAGE}."
    rounds = trend["round"].nunique()
    hidden = int((trend["series"] == "all").sum())
    if hidden == rounds:
        return f"{rounds} round(s) with results, in each: {metrics.SUPPRESSED_MESSAGE}."
    text = (
        f"{rounds} round(s) with results; n (respondents) above every point, and in each "
        "tooltip. Items are joined across rounds only when the same version was asked: click "
        "one in the legend to show its favourability (% answering 4–5)."
    )
    if hidden:
        text += f" {hidden} round(s): {metrics.SUPPRESSED_MESSAGE}."
    return text


def heatmap_text(grid: pd.DataFrame) -> str:
    """The n of the heatmap and what its blanks mean."""
    if grid.empty:
        return f"{figures.NO_CHILD_UNITS}."
    units = grid["unit"].nunique()
    return (
        f"{units} unit(s) directly below the chosen one; % answering 4–5 (favourable). "
        f"n per unit on its label and per cell in its tooltip; a blank cell is "
        f"“{metrics.SUPPRESSED_MESSAGE}” or an item not asked there."
    )


def barriers_text(barriers: pd.DataFrame) -> str:
    """The n of the barrier distribution and the rule behind it."""
    if barriers.empty:
        return "No change-readiness item was asked in this round."
    if barriers["suppressed"].astype(bool).any():
        return f"Change-readiness barriers: {barriers['message'].dropna().iloc[0]}."
    return (
        f"n = {int(barriers['n'].iloc[0])} respondents who answered a change-readiness item, "
        "each counted at the first element (awareness, desire, knowledge, ability, "
        "reinforcement) whose mean score is 3 or less."
    )


def drivers_text(drivers: pd.DataFrame) -> str:
    """The n of the driver analysis and how not to read it."""
    if drivers.empty:
        return "No item besides the engagement items was scored in this round."
    if drivers["item_key"].isna().all():
        return f"Drivers: {drivers['message'].dropna().iloc[0]}."
    shown = drivers[~drivers["suppressed"].astype(bool)]
    ns = shown["n"].dropna().astype(int)
    span = "" if ns.empty else (
        f"n = {ns.min()} to {ns.max()} respondents per item" if ns.min() != ns.max()
        else f"n = {ns.min()} respondents per item"
    )
    return (
        f"Pearson r of each item with the engagement index, with its 95% confidence interval; "
        f"{span}. Hollow grey points are not significant (the interval includes 0). "
        "A correlation is not a cause."
    )


def conversations_table(frame: pd.DataFrame) -> html.Table:
    """The conversation figures as an accessible one-row table."""
    row = frame.iloc[0]
    hours = row["median_hours_to_first_reply"]
    wait = "no replies yet" if pd.isna(hours) else f"{hours:.1f} h"
    headers = ["Unit", "Comments", "Conversations", "Awaiting reply", "Closed",
               "Median time to first reply"]
    cells = [int(row["comments"]), int(row["threads"]), int(row["awaiting_reply"]),
             int(row["closed"]), wait]
    return html.Table(
        className="table table-sm",
        children=[
            html.Caption("Comments and conversations over every round with results"),
            html.Thead(html.Tr([html.Th(h, scope="col") for h in headers])),
            html.Tbody(html.Tr([html.Th(row["unit"], scope="row"),
                                *[html.Td(c) for c in cells]])),
        ],
    )


def conversations_text(frame: pd.DataFrame) -> str:
    """The n of the conversations panel."""
    row = frame.iloc[0]
    return (
        f"n = {int(row['comments'])} comments shown to leaders in {row['unit']}; "
        f"{int(row['awaiting_reply'])} conversation(s) awaiting a reply."
    )


def plans_text(plans: pd.DataFrame) -> str:
    """The n of the action plans chart."""
    return (
        f"n = {int(plans['plans'].sum())} action plans for the chosen unit and the units below "
        "it, from every round."
    )


# --- callbacks ---------------------------------------------------------------------------------

FILTER_INPUTS = (Input(ROUND, "value"), Input(UNIT, "value"), Input(TENURE, "value"))


def _frame_or_problem(build: Callable[[Scope, Filters], pd.DataFrame], round_value, unit, tenure):
    """The chart's frame for the signed-in user, or (None, why it cannot be shown)."""
    # The scope comes from the session, never from the request body: this is a public POST.
    scope = current_scope()
    f = filters(scope, round_value, unit, tenure)
    try:
        return build(scope, f), None
    except Unavailable as why:
        return None, str(why)


def _register_download(app: Dash, key: str, build: Callable[[Scope, Filters], pd.DataFrame]):
    """Add the CSV download callback of chart ``key`` to ``app``."""

    @app.callback(
        Output(f"engagement-{key}-download", "data"),
        Input(f"engagement-{key}-csv", "n_clicks"),
        State(ROUND, "value"),
        State(UNIT, "value"),
        State(TENURE, "value"),
        prevent_initial_call=True,
    )
    def download_csv(_clicks, round_value, unit, tenure):
        """The chart's own frame as CSV; nothing at all when the chart has nothing to show."""
        frame, problem = _frame_or_problem(build, round_value, unit, tenure)
        if problem is not None:
            raise PreventUpdate
        return components.send_csv(frame, f"engagement-{key}.csv")


def register(app: Dash) -> None:
    """Add the page's callbacks to ``app``."""

    @app.callback(Output(ROUND, "options"), Output(UNIT, "options"), Input(TENURE, "value"))
    def fill_pickers(_tenure):
        """Offer the rounds with results and only the units in the signed-in user's scope."""
        scope = current_scope()
        if scope.role.value not in ROLES:
            return [], []
        try:
            rounds = results.results_rounds(scope)
        except ScopeError:
            return [], []
        units = queries.units_in_scope(scope)
        return (
            [{"label": metrics.round_label(r), "value": r.id} for r in rounds],
            [{"label": r.path, "value": int(r.unit_id)} for r in units.itertuples(index=False)],
        )

    @app.callback(Output(KPIS, "children"), Output(KPIS_N, "children"), *FILTER_INPUTS)
    def show_kpis(round_value, unit, tenure):
        """Headline figures: scoped group results → one row → cards with n."""
        kpis, problem = _frame_or_problem(kpis_frame, round_value, unit, tenure)
        if problem is not None:
            return html.P(problem, className="text-body-secondary"), problem
        return kpi_cards(kpis), kpis_text(kpis)

    @app.callback(*components.chart_outputs(TREND_FIGURE), Output(TREND_N, "children"), *FILTER_INPUTS)
    def show_trend(round_value, unit, tenure):
        """Trend: the group in every prepared round of the survey → series → line chart."""
        trend, problem = _frame_or_problem(trend_frame, round_value, unit, tenure)
        if problem is not None:
            return *components.chart(empty_figure(problem)), problem
        return *components.chart(figures.trend_figure(trend)), trend_text(trend)

    @app.callback(
        *components.chart_outputs(HEATMAP_FIGURE), Output(HEATMAP_N, "children"), *FILTER_INPUTS
    )
    def show_heatmap(round_value, unit, tenure):
        """Heatmap: child units' results → unit × item favourability → heatmap with blanks."""
        grid, problem = _frame_or_problem(heatmap_frame, round_value, unit, tenure)
        if problem is not None:
            return *components.chart(empty_figure(problem)), problem
        return *components.chart(figures.heatmap_figure(grid), rows="Unit"), heatmap_text(grid)

    @app.callback(
        *components.chart_outputs(BARRIERS_FIGURE), Output(BARRIERS_N, "children"), *FILTER_INPUTS
    )
    def show_barriers(round_value, unit, tenure):
        """Barriers: the group's first-barrier counts → shares → bar chart."""
        barriers, problem = _frame_or_problem(barriers_frame, round_value, unit, tenure)
        if problem is not None:
            return *components.chart(empty_figure(problem)), problem
        return *components.chart(figures.barrier_figure(barriers)), barriers_text(barriers)

    @app.callback(*components.chart_outputs(DRIVERS_FIGURE), Output(DRIVERS_N, "children"), *FILTER_INPUTS)
    def show_drivers(round_value, unit, tenure):
        """Drivers: correlations with CI → sorted frame → points with error bars."""
        drivers, problem = _frame_or_problem(drivers_frame, round_value, unit, tenure)
        if problem is not None:
            return *components.chart(empty_figure(problem)), problem
        return *components.chart(figures.driver_figure(drivers), rows="Item"), drivers_text(drivers)

    @app.callback(
        Output(CONVERSATIONS_TABLE, "children"), Output(CONVERSATIONS_N, "children"),
        *FILTER_INPUTS,
    )
    def show_conversations(round_value, unit, tenure):
        """Conversations: the unit's comment and thread counts → one-row table."""
        frame, problem = _frame_or_problem(conversations_frame, round_value, unit, tenure)
        if problem is not None:
            return html.P(problem, className="text-body-secondary"), problem
        return conversations_table(frame), conversations_text(frame)

    @app.callback(*components.chart_outputs(PLANS_FIGURE), Output(PLANS_N, "children"), *FILTER_INPUTS)
    def show_plans(round_value, unit, tenure):
        """Action plans: the unit's plans (scoped) → counts by status → bar chart."""
        plans, problem = _frame_or_problem(plans_frame, round_value, unit, tenure)
        if problem is not None:
            return *components.chart(empty_figure(problem)), problem
        return *components.chart(figures.plans_figure(plans), rows="Status"), plans_text(plans)

    for key, build in CHARTS.items():
        _register_download(app, key, build)
