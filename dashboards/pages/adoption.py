"""Page "Adoption": CRM adoption against the initiative's target, in the signed-in user's scope.

Charts (a)–(d) read only the weekly rollups; the dormant list and the direct reports read
``daily_usage``. Each chart has a ``*_frame`` function (query → metrics) that both its display
callback and its CSV download call, so the file holds exactly the rows the chart was drawn from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from dash import Dash, Input, Output, State, dcc, html

from adoption.access import current_scope
from adoption.models import OrgUnit, Role
from adoption.scope import Scope
from adoption.telemetry.rollups import week_start_day
from dashboards import clock, components, figures, queries
from dashboards.inputs import parse_day, parse_int
from dashboards.metrics import adoption as metrics

SLUG = "adoption"
TITLE = "Adoption"
# One sentence on the dashboards' landing page: the question the page answers.
QUESTION = ("Is the CRM really used? Weekly adoption and key behaviours against the target, units at "
            "risk, and the people who have gone dormant.")
ROLES = frozenset(
    {Role.MANAGER.value, Role.CHANGE_LEADER.value, Role.EXECUTIVE.value, Role.ADMIN.value}
)

# The default period: this many weeks, ending with the current one.
DEFAULT_WEEKS = 26
# The dormant list shows this many people on screen; its CSV holds them all.
DISPLAY_ROWS = 100

UNIT = "adoption-unit"
PERIOD = "adoption-period"
RATE_FIGURE = "adoption-rate-figure"
RATE_N = "adoption-rate-n"
BEHAVIOURS_FIGURE = "adoption-behaviours-figure"
BEHAVIOURS_N = "adoption-behaviours-n"
HEATMAP_FIGURE = "adoption-heatmap-figure"
HEATMAP_N = "adoption-heatmap-n"
AT_RISK_TABLE = "adoption-at-risk-table"
AT_RISK_N = "adoption-at-risk-n"
DORMANT_TABLE = "adoption-dormant-table"
DORMANT_N = "adoption-dormant-n"
REPORTS_TABLE = "adoption-reports-table"
REPORTS_N = "adoption-reports-n"


@dataclass(frozen=True)
class Filters:
    """What the page shows: the focus unit (``None``: nothing in scope) and the period."""

    focus: OrgUnit | None
    start: dt.date
    end: dt.date
    # First days of the weeks overlapping the period, oldest first.
    weeks: list[dt.date]
    # False for roles without this page: every frame is then empty.
    allowed: bool



def default_period(today: dt.date, first_weekday: int) -> tuple[dt.date, dt.date]:
    """The last ``DEFAULT_WEEKS`` weeks ending with the current one."""
    start = metrics.week_of(today, first_weekday) - dt.timedelta(weeks=DEFAULT_WEEKS - 1)
    return start, today


def layout(today: dt.date) -> html.Section:
    """The page for one request; the unit picker's choices are filled by a scoped callback."""
    # The organization's week, as the filters read it (``filters``): the page is only built
    # inside a request now, no longer at start-up for Dash's validation layout.
    start, end = default_period(today, week_start_day())
    return html.Section(
        className="dashboards-page",
        children=[
            html.H1(TITLE, className="h3"),
            html.P(
                "Weekly CRM adoption of the units you may see, against the initiative's target.",
                className="text-body-secondary",
            ),
            html.Div(
                className="row g-3 align-items-end mb-3",
                children=[
                    html.Div(
                        className="col-md-6 col-lg-5",
                        children=[
                            html.Label(
                                "Unit (with everything below it)",
                                htmlFor=UNIT,
                                className="form-label",
                            ),
                            dcc.Dropdown(
                                id=UNIT, options=[], value=None, placeholder="Your whole scope"
                            ),
                        ],
                    ),
                    html.Div(
                        className="col-md-6 col-lg-5",
                        children=[
                            html.Label("Period", htmlFor=PERIOD, className="form-label d-block"),
                            dcc.DatePickerRange(
                                id=PERIOD,
                                start_date=start.isoformat(),
                                end_date=end.isoformat(),
                                display_format="YYYY-MM-DD",
                            ),
                        ],
                    ),
                ],
            ),
            html.Div(
                className="row",
                children=[
                    components.section("adoption", "rate", "Adoption rate by week", RATE_N,
                                       components.graph(RATE_FIGURE)),
                    components.section("adoption", "behaviours", "Key behaviours by week",
                                       BEHAVIOURS_N, components.graph(BEHAVIOURS_FIGURE)),
                    components.section("adoption", "heatmap", "Adoption by unit and week",
                                       HEATMAP_N, components.graph(HEATMAP_FIGURE)),
                    components.section("adoption", "at-risk", "Units at risk", AT_RISK_N,
                                       html.Div(id=AT_RISK_TABLE)),
                    components.section("adoption", "dormant", "Dormant users", DORMANT_N,
                                       html.Div(id=DORMANT_TABLE)),
                    components.section("adoption", "reports", "Your direct reports", REPORTS_N,
                                       html.Div(id=REPORTS_TABLE)),
                ],
            ),
        ],
    )


def filters(scope: Scope, unit: Any, start: Any, end: Any) -> Filters:
    """The page's filters from the raw callback inputs, resolved against ``scope``."""
    first_weekday = week_start_day()
    default_start, default_end = default_period(clock.org_today(), first_weekday)
    start_day = parse_day(start) or default_start
    end_day = parse_day(end) or default_end
    if start_day > end_day:
        start_day, end_day = end_day, start_day
    allowed = scope.role.value in ROLES
    focus = queries.focus_unit(scope, parse_int(unit)) if allowed else None
    weeks = metrics.weeks_in_period(start_day, end_day, first_weekday)
    return Filters(focus, start_day, end_day, weeks, allowed)


# --- chart data: query → metrics, shared by each chart and its CSV download ------------------


def rate_frame(scope: Scope, f: Filters) -> pd.DataFrame:
    """(a) Weekly licensed, active and adoption rate of the focus subtree, with the target."""
    if f.focus is None:
        return metrics.weekly_adoption(pd.DataFrame(), []).assign(target=None)
    usage = queries.weekly_usage(scope, f.focus.id, f.weeks[0], f.weeks[-1])
    target, _ = queries.adoption_settings(scope)
    return metrics.weekly_adoption(usage, f.weeks).assign(target=target)


def behaviours_frame(scope: Scope, f: Filters) -> pd.DataFrame:
    """(b) Weekly share of licensed people performing each of the initiative's key behaviours."""
    if f.focus is None:
        return metrics.behaviour_shares(pd.DataFrame(), pd.DataFrame(), [])
    _, key_behaviours = queries.adoption_settings(scope)
    weekly = metrics.weekly_adoption(
        queries.weekly_usage(scope, f.focus.id, f.weeks[0], f.weeks[-1]), f.weeks
    )
    behaviours = queries.weekly_behaviours(
        scope, f.focus.id, f.weeks[0], f.weeks[-1], key_behaviours
    )
    return metrics.behaviour_shares(behaviours, weekly, key_behaviours)


def heatmap_frame(scope: Scope, f: Filters) -> pd.DataFrame:
    """(c) Adoption rate per week of each unit directly below the focus unit."""
    if f.focus is None:
        return metrics.adoption_grid(pd.DataFrame(), [])
    units = queries.child_unit_weekly_usage(scope, f.focus.id, f.weeks[0], f.weeks[-1])
    return metrics.adoption_grid(units, f.weeks, metrics.MIN_N)


def judged_weeks(f: Filters) -> list[dt.date]:
    """The weeks the at-risk rule looks at: the last complete weeks of the period. A week that
    ends today is still running (today's use is not all in), so it is complete only from
    tomorrow on."""
    last_complete_day = min(f.end, clock.org_today() - dt.timedelta(days=1))
    return metrics.complete_weeks(f.weeks, last_complete_day)[-(metrics.FALLING_WEEKS + 1) :]


def at_risk_frame(scope: Scope, f: Filters) -> pd.DataFrame:
    """(d) Units of the focus subtree below target whose rate fell three weeks in a row."""
    weeks = judged_weeks(f)
    target, _ = queries.adoption_settings(scope) if f.focus is not None else (None, [])
    if f.focus is None or target is None or not weeks:
        return metrics.units_at_risk(pd.DataFrame(), 0.0, weeks)
    units = queries.unit_weekly_usage(scope, f.focus.id, weeks[0], weeks[-1])
    return metrics.units_at_risk(metrics.subtree_totals(units, f.focus.path), target, weeks)


def dormant_frame(scope: Scope, f: Filters) -> pd.DataFrame:
    """(e) Dormant licensed people by name for roles that see individuals; for the others
    (executives) one row of counts for the focus unit, never a name."""
    if f.focus is None:
        return queries.dormant_people(scope, None, f.end).iloc[0:0]
    if scope.sees_individuals:
        return queries.dormant_people(scope, f.focus.id, f.end)
    return pd.DataFrame([{"unit": f.focus.path, **dormant_counts(scope, f)}])


def reports_frame(scope: Scope, f: Filters) -> pd.DataFrame:
    """(f) The user's direct reports: qualifying events and active days in the period."""
    frame = queries.direct_reports_usage(scope, f.start, f.end)
    return frame if f.allowed else frame.iloc[0:0]


def dormant_counts(scope: Scope, f: Filters, people: pd.DataFrame | None = None) -> dict[str, int]:
    """The n of (e): licensed people in the focus subtree and how many are dormant.

    When the scope sees individuals, the dormant list already holds exactly the dormant people
    of the scope (its person filter adds nothing to the unit filter), so only the licensed
    count is queried: the 30-day lookup is the page's most expensive query.
    """
    if f.focus is None:
        return {"licensed": 0, "dormant": 0}
    if scope.sees_individuals and people is not None:
        return {
            "licensed": queries.licensed_count(scope, f.focus.id, f.end),
            "dormant": len(people),
        }
    return queries.dormant_count(scope, f.focus.id, f.end)


CHARTS: dict[str, Callable[[Scope, Filters], pd.DataFrame]] = {
    "rate": rate_frame,
    "behaviours": behaviours_frame,
    "heatmap": heatmap_frame,
    "at-risk": at_risk_frame,
    "dormant": dormant_frame,
    "reports": reports_frame,
}


# --- what the charts say in words ------------------------------------------------------------


def _share(value: float | None) -> str:
    """A share for people to read."""
    return "n/a" if value is None or pd.isna(value) else f"{value:.0%}"


def _day(value: Any) -> str:
    """A date for a table cell ("never" when missing)."""
    return "never" if value is None or pd.isna(value) else str(value)


def _people(n: int) -> str:
    """``n`` people, in words."""
    return "1 person" if n == 1 else f"{n} people"


def rate_text(weekly: pd.DataFrame, f: Filters) -> str:
    """The n of chart (a): licensed and active people in the last week with anyone licensed."""
    counted = weekly[weekly["licensed"] > 0]
    if f.focus is None or counted.empty:
        return f"{figures.NO_DATA_MESSAGE}: n = 0 licensed people."
    last = counted.iloc[-1]
    target = weekly["target"].iloc[0] if "target" in weekly else None
    goal = "no target set" if target is None or pd.isna(target) else f"target {_share(target)}"
    return (
        f"{f.focus.path}, week of {last['week_start'].isoformat()}: n = {int(last['licensed'])} "
        f"licensed, {int(last['active'])} active ({_share(last['adoption_rate'])}); {goal}."
    )


def behaviours_text(shares: pd.DataFrame, f: Filters) -> str:
    """The n of chart (b): the licensed people each week's shares are taken of."""
    if shares.empty:
        return "No key behaviours are set for the initiative, or no data in your scope."
    counted = shares[shares["licensed"] > 0]
    if counted.empty:
        return f"{figures.NO_DATA_MESSAGE}: n = 0 licensed people."
    last = counted.iloc[-1]
    return (
        f"Share of licensed people who performed each key behaviour in the week; "
        f"n = {int(last['licensed'])} licensed in the week of {last['week_start'].isoformat()}."
    )


def heatmap_text(grid: pd.DataFrame, f: Filters) -> str:
    """The n of chart (c) and what its marks mean."""
    if grid.empty or f.focus is None:
        return f"{figures.NO_DATA_MESSAGE}: n = 0 licensed people."
    units = grid["path"].nunique()
    return (
        f"{units} unit(s) directly below {f.focus.path}, each with its whole subtree; "
        f"* marks a cell with fewer than {metrics.MIN_N} licensed people (n in each tooltip)."
    )


def at_risk_text(at_risk: pd.DataFrame, f: Filters, target: float | None) -> str:
    """The n of table (d) and the rule it applies."""
    weeks = judged_weeks(f)
    if f.focus is None:
        return f"{figures.NO_DATA_MESSAGE}."
    if target is None:
        return "The initiative has no adoption target, so no unit can be below it."
    if len(weeks) < metrics.FALLING_WEEKS + 1:
        return f"The period needs {metrics.FALLING_WEEKS + 1} complete weeks to judge a trend."
    return (
        f"{len(at_risk)} unit(s) below the {_share(target)} target whose rate fell in each of the "
        f"{metrics.FALLING_WEEKS} weeks to the week of {weeks[-1].isoformat()} (complete weeks; "
        f"units with at least {metrics.MIN_N} licensed people)."
    )


def dormant_text(scope: Scope, f: Filters, counts: dict[str, int]) -> str:
    """The n of (e): dormant people of the licensed people in the focus subtree."""
    if f.focus is None:
        return f"{figures.NO_DATA_MESSAGE}."
    first = f.end - dt.timedelta(days=queries.DORMANT_DAYS - 1)
    text = (
        f"{counts['dormant']} of n = {counts['licensed']} licensed people in {f.focus.path} had no "
        f"qualifying CRM use from {first.isoformat()} to {f.end.isoformat()}."
    )
    if not scope.sees_individuals:
        text += " Your role sees counts only, not names."
    return text


def reports_text(scope: Scope, reports: pd.DataFrame, f: Filters) -> str:
    """The n of (f): how many direct reports, over which period."""
    if not f.allowed or scope.employee_id is None or not scope.sees_individuals:
        return "Individual usage is shown to managers for their own direct reports."
    return (
        f"n = {_people(len(reports))} reporting to you directly; qualifying CRM use from "
        f"{f.start.isoformat()} to {f.end.isoformat()}."
    )


def simple_table(caption: str, headers: list[str], rows: list[list[Any]]) -> html.Table | html.P:
    """An accessible table: a caption, column headers, the first cell of a row as its header."""
    if not rows:
        return html.P("Nobody to list.", className="text-body-secondary")
    return html.Table(
        className="table table-sm table-striped",
        children=[
            html.Caption(caption),
            html.Thead(html.Tr([html.Th(h, scope="col") for h in headers])),
            html.Tbody(
                [
                    html.Tr([html.Th(row[0], scope="row"), *[html.Td(c) for c in row[1:]]])
                    for row in rows
                ]
            ),
        ],
    )


def at_risk_table(at_risk: pd.DataFrame, weeks: list[dt.date]) -> html.Table | html.P:
    """Table (d): unit, licensed, the last four weeks' rates and the target."""
    week_columns = [w.isoformat() for w in weeks]
    rows = [
        [
            row["path"],
            int(row["licensed"]),
            *[_share(row[w]) for w in week_columns],
            _share(row["target"]),
        ]
        for _, row in at_risk.iterrows()
    ]
    if not rows:
        return html.P("No unit is at risk.", className="text-body-secondary")
    return simple_table(
        "Units below target and falling for three weeks",
        ["Unit", "Licensed (n)", *[f"Week of {w}" for w in week_columns], "Target"],
        rows,
    )


def dormant_table(scope: Scope, dormant: pd.DataFrame) -> html.Table | html.P:
    """Table (e): the dormant people (first ``DISPLAY_ROWS``), or nothing for count-only roles."""
    if not scope.sees_individuals:
        return html.P("Names are not shown to your role.", className="text-body-secondary")
    shown = dormant.head(DISPLAY_ROWS)
    caption = "Licensed people with no qualifying use in 30 days"
    if len(dormant) > len(shown):
        caption += f" (first {len(shown)} of {len(dormant)}; the CSV has all)"
    return simple_table(
        caption,
        ["Name", "E-mail", "Unit", "Last active day"],
        [[r.full_name, r.email, r.unit, _day(r.last_active_day)] for r in shown.itertuples()],
    )


def reports_table(reports: pd.DataFrame) -> html.Table | html.P:
    """Table (f): each direct report's events, active days and last active day."""
    return simple_table(
        "Your direct reports' CRM use in the period",
        ["Name", "CRM licence", "Events", "Active days", "Last active day"],
        [
            [
                r.full_name,
                "yes" if r.licensed else "no",
                int(r.events),
                int(r.active_days),
                _day(r.last_active_day),
            ]
            for r in reports.itertuples()
        ],
    )


# --- callbacks --------------------------------------------------------------------------------

FILTER_INPUTS = (
    Input(UNIT, "value"),
    Input(PERIOD, "start_date"),
    Input(PERIOD, "end_date"),
)


def _register_download(app: Dash, key: str, build: Callable[[Scope, Filters], pd.DataFrame]):
    """Add the CSV download callback of chart ``key`` to ``app``."""

    @app.callback(
        Output(f"adoption-{key}-download", "data"),
        Input(f"adoption-{key}-csv", "n_clicks"),
        State(UNIT, "value"),
        State(PERIOD, "start_date"),
        State(PERIOD, "end_date"),
        prevent_initial_call=True,
    )
    def download_csv(_clicks, unit, start, end):
        """The chart's own frame as CSV: the same scoped rows the chart was drawn from."""
        scope = current_scope()
        f = filters(scope, unit, start, end)
        frame = build(scope, f)
        return components.send_csv(frame, f"adoption-{key}-{f.start}-{f.end}.csv")


def register(app: Dash) -> None:
    """Add the page's callbacks to ``app``."""

    @app.callback(Output(UNIT, "options"), Input(PERIOD, "end_date"))
    def fill_units(_end):
        """Offer only the units in the signed-in user's scope."""
        scope = current_scope()
        if scope.role.value not in ROLES:
            return []
        units = queries.units_in_scope(scope)
        return [{"label": r.path, "value": int(r.unit_id)} for r in units.itertuples(index=False)]

    @app.callback(*components.chart_outputs(RATE_FIGURE), Output(RATE_N, "children"),
                  *FILTER_INPUTS)
    def show_rate(unit, start, end):
        """(a) Adoption rate vs target: scoped query → weekly rates → line chart."""
        # The scope comes from the session, never from the request body: this is a public POST.
        scope = current_scope()
        f = filters(scope, unit, start, end)
        weekly = rate_frame(scope, f)
        target = weekly["target"].iloc[0] if not weekly.empty else None
        return *components.chart(figures.adoption_rate_figure(weekly, target)), rate_text(weekly, f)

    @app.callback(
        *components.chart_outputs(BEHAVIOURS_FIGURE), Output(BEHAVIOURS_N, "children"),
        *FILTER_INPUTS
    )
    def show_behaviours(unit, start, end):
        """(b) Key behaviours: scoped queries → weekly shares → line chart."""
        scope = current_scope()
        f = filters(scope, unit, start, end)
        shares = behaviours_frame(scope, f)
        return *components.chart(figures.behaviours_figure(shares)), behaviours_text(shares, f)

    @app.callback(*components.chart_outputs(HEATMAP_FIGURE), Output(HEATMAP_N, "children"),
                  *FILTER_INPUTS)
    def show_heatmap(unit, start, end):
        """(c) Unit × week heatmap: scoped query → grid with small-n marks → heatmap."""
        scope = current_scope()
        f = filters(scope, unit, start, end)
        grid = heatmap_frame(scope, f)
        return (*components.chart(figures.adoption_heatmap(grid, metrics.MIN_N), rows="Unit"),
                heatmap_text(grid, f))

    @app.callback(Output(AT_RISK_TABLE, "children"), Output(AT_RISK_N, "children"), *FILTER_INPUTS)
    def show_at_risk(unit, start, end):
        """(d) Units at risk: scoped query → subtree totals → at-risk rule → table."""
        scope = current_scope()
        f = filters(scope, unit, start, end)
        at_risk = at_risk_frame(scope, f)
        target, _ = queries.adoption_settings(scope)
        return at_risk_table(at_risk, judged_weeks(f)), at_risk_text(at_risk, f, target)

    @app.callback(Output(DORMANT_TABLE, "children"), Output(DORMANT_N, "children"), *FILTER_INPUTS)
    def show_dormant(unit, start, end):
        """(e) Dormant users: scoped count, and names only where the scope sees individuals."""
        scope = current_scope()
        f = filters(scope, unit, start, end)
        dormant = dormant_frame(scope, f)
        counts = dormant_counts(scope, f, dormant)
        return dormant_table(scope, dormant), dormant_text(scope, f, counts)

    @app.callback(Output(REPORTS_TABLE, "children"), Output(REPORTS_N, "children"), *FILTER_INPUTS)
    def show_reports(unit, start, end):
        """(f) The user's direct reports' usage over the period (scoped to their individuals)."""
        scope = current_scope()
        f = filters(scope, unit, start, end)
        reports = reports_frame(scope, f)
        return reports_table(reports), reports_text(scope, reports, f)

    for key, build in CHARTS.items():
        _register_download(app, key, build)
