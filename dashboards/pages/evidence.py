"""Page "Evidence" (D5/D6): does a metric of the initiative go with a customer outcome months
later, across units? The linkage of the chosen pair and lag (scatter with fitted line and band,
the reading and its verdict), the lag profile −3..+3, the within-unit view and the hypotheses
register.

Every figure goes through ``dashboards.evidence`` — the same service as ``flask evidence`` and
``GET /api/v1/evidence`` — on the signed-in user's ``Scope``; each chart has a ``*_frame``
function its display callback and its CSV download both call. Nothing here names a person: the
panel holds unit aggregates only, survey figures only where a unit passed the anonymity rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from dash import Dash, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate
from flask import current_app

from adoption.access import current_scope
from adoption.models import Role
from adoption.scope import Scope
from dashboards import cache, clock, components, evidence_panel, hypotheses
from dashboards import evidence as service
from dashboards import evidence_figures as figures
from dashboards.figures import empty_figure
from dashboards.inputs import parse_day, parse_int
from dashboards.metrics import evidence as ev
from dashboards.metrics import evidence_charts as charts

SLUG = "evidence"
TITLE = "Evidence"
# One sentence on the dashboards' landing page: the question the page answers.
QUESTION = ("Do adoption, engagement and training go with customer satisfaction months later? "
            "Comparisons across units with intervals, n and caveats, and the hypotheses register.")
ROLES = frozenset({Role.CHANGE_LEADER.value, Role.EXECUTIVE.value})

X = "evidence-x"
Y = "evidence-y"
LAG = "evidence-lag"
PERIOD = "evidence-period"
LINKAGE_FIGURE = "evidence-linkage-figure"
LINKAGE_N = "evidence-linkage-n"
READING = "evidence-reading-text"
READING_N = "evidence-reading-n"
PROFILE_FIGURE = "evidence-profile-figure"
PROFILE_N = "evidence-profile-n"
WITHIN_FIGURE = "evidence-within-figure"
WITHIN_N = "evidence-within-n"
REGISTER_TABLE = "evidence-register-table"
REGISTER_N = "evidence-register-n"
REGISTER_URL = "/hypotheses"

# Metric panels kept per app (``dashboards.cache``): one per scope, level and metric over every
# month, rebuilt as soon as the data stamp of the metric's tables changes.
CACHE_KEY = "uptake_evidence_panels"
EARLIEST = dt.date(2000, 1, 1)  # the kept panels start here: every month a metric can have
CACHE_SECONDS = 3600
CACHE_BYTES = 128 * 1024 * 1024

DEFAULT_X = evidence_panel.ADOPTION_RATE
PREFERRED_Y = ("csat", "nps")
DEFAULT_LAG = 1
NOT_ALLOWED = "Your role does not give access to the evidence."
SAME_METRIC = "Pick two different metrics."
CHOOSE = "Pick the two metrics to compare."
VERDICT_BADGES = {ev.SUPPORTED: "text-bg-success", ev.CONTRADICTED: "text-bg-danger",
                  ev.INCONCLUSIVE: "text-bg-secondary"}


@dataclass(frozen=True)
class Filters:
    """What the page shows, or why it cannot."""

    question: service.Question | None
    problem: str | None


class Unavailable(Exception):
    """A chart cannot be drawn for these filters; the message says why, fit to show."""


def filters(scope: Scope, x: Any, y: Any, lag: Any, start: Any, end: Any, today: dt.date) -> Filters:
    """The page's question from the raw callback inputs (a public POST: anything may come)."""
    if scope.role.value not in ROLES or not scope.sees_aggregates:
        return Filters(None, NOT_ALLOWED)
    if not x or not y or not isinstance(x, str) or not isinstance(y, str):
        return Filters(None, CHOOSE)
    if x == y:
        return Filters(None, SAME_METRIC)
    lag_value = parse_int(lag)
    default_start, default_end = service.default_window(today)
    start_day, end_day = parse_day(start) or default_start, parse_day(end) or default_end
    if start_day > end_day:
        start_day, end_day = end_day, start_day
    try:
        question = service.make_question(x, y, lag=DEFAULT_LAG if lag_value is None else lag_value,
                                         start=start_day, end=end_day, today=today)
        # Names are not checked against the known metrics here (a query per callback): the
        # pickers offer only those, and a forged name reads no rows, so it is refused as "not
        # enough data", which is all it deserves.
    except service.EvidenceError as why:
        return Filters(None, str(why))
    return Filters(question, None)


def _family_panel(scope: Scope, level: str | int, family: str, today: dt.date) -> pd.DataFrame:
    """Every month of every known metric of one family (long form) for the user's scope and the
    level, up to today: read in one pass (one statement per family reads all its metrics for
    little more than one), then kept under the data stamp of its tables. The first question
    about a key behaviour thus reads them all, and switching x or y to a sibling is a cache hit."""
    def build() -> pd.DataFrame:
        metrics = [m for m in service.known_metrics() if evidence_panel.family(m) == family]
        if not metrics:
            return evidence_panel.empty_panel()
        return evidence_panel.unit_period_panel(scope, level=level, start=EARLIEST, end=today,
                                                metrics=metrics, config=current_app.config)

    key = (scope.unit_ids, level, family, today)
    return cache.stamped(CACHE_KEY, key, evidence_panel.data_stamp({family}), build,
                         seconds=CACHE_SECONDS, max_bytes=CACHE_BYTES)


def _metric_panel(scope: Scope, level: str | int, metric: str, today: dt.date) -> pd.DataFrame:
    """Every month of one metric (long form) for the user's scope and the level, up to today,
    cut from its family's kept panel; questions cut it further to their months. A name that is
    not a known metric reads nothing and finds no rows."""
    panel = _family_panel(scope, level, evidence_panel.family(metric), today)
    return panel[panel["metric"] == metric]


def _grid(scope: Scope, f: Filters) -> ev.Grid:
    """The question's x and y as a unit × month grid over its months, for the user's scope."""
    if f.problem is not None or f.question is None:
        raise Unavailable(f.problem or CHOOSE)
    q = f.question
    today = clock.org_today()
    first, last = pd.Period(q.start, freq="M"), pd.Period(q.end, freq="M")
    parts = []
    for metric in (q.x, q.y):
        panel = _metric_panel(scope, q.level, metric, today)
        parts.append(panel[(panel["period"] >= first) & (panel["period"] <= last)])
    return ev.panel_grid(evidence_panel.wide(pd.concat(parts, ignore_index=True), q.x, q.y))


def linkage_frame(scope: Scope, f: Filters) -> pd.DataFrame:
    """The pairs behind r: x at month t and y at t+lag per unit, raw and month-centred."""
    return charts.scatter_frame(_grid(scope, f), f.question.lags[0])


def profile_frame(scope: Scope, f: Filters) -> pd.DataFrame:
    """r and its interval at every lag −3..+3, Holm-adjusted across the seven."""
    return charts.profile_frame(ev.lag_profile(_grid(scope, f), service.LAG_PROFILE))


def within_frame(scope: Scope, f: Filters) -> pd.DataFrame:
    """Each unit's change in x beside its change in y at the lag, month-centred."""
    return charts.change_frame(_grid(scope, f), f.question.lags[0])


REGISTER_COLUMNS = ["id", "statement", "x", "y", "lag", "expected_direction", "smallest_effect",
                    "verdict", "r", "r_low", "r_high", "n_units", "n_observations", "evaluated_at",
                    "owner", "what_would_decide_it"]


def register_frame(scope: Scope, f: Filters) -> pd.DataFrame:
    """The hypotheses register with each current verdict (organization-wide figures: only a
    scope covering every unit reads it, checked by the register service)."""
    if scope.role.value not in ROLES or not hypotheses.can_read_register(scope):
        raise Unavailable(NOT_ALLOWED)
    rows = [{
        "id": e.id, "statement": e.statement, "x": e.x, "y": e.y, "lag": e.lag,
        "expected_direction": "positive" if e.expected_direction > 0 else "negative",
        "smallest_effect": e.smallest_effect, "verdict": e.verdict, "r": e.r,
        "r_low": e.r_ci[0] if e.r_ci else None, "r_high": e.r_ci[1] if e.r_ci else None,
        "n_units": e.n_units, "n_observations": e.n_observations,
        "evaluated_at": e.evaluated_at.date().isoformat() if e.evaluated_at else None,
        "owner": e.owner_name, "what_would_decide_it": e.decider,
    } for e in hypotheses.register_entries(scope)]
    return pd.DataFrame(rows, columns=REGISTER_COLUMNS)


CHARTS: dict[str, Callable[[Scope, Filters], pd.DataFrame]] = {
    "linkage": linkage_frame,
    "profile": profile_frame,
    "within": within_frame,
    "register": register_frame,
}


# --- layout ------------------------------------------------------------------------------------


def layout(today: dt.date) -> html.Section:
    """The page for one request; the metric pickers are filled by a callback."""
    start, end = service.default_window(today)
    lags = [{"label": f"{lag:+d} month{'s' if abs(lag) != 1 else ''}"
             + (" (x first)" if lag > 0 else " (same month)" if lag == 0 else " (y first)"),
             "value": lag} for lag in service.LAG_PROFILE]
    return html.Section(
        className="dashboards-page",
        children=[
            html.H1(TITLE, className="h3"),
            html.P(
                "Does a unit's adoption, engagement or training go with its customers' "
                "satisfaction months later? Units are compared with each other month by month "
                f"(teams, at least {ev.MIN_UNITS}); every figure shows how many units and "
                "unit-months it rests on, and the reading says what the data cannot show.",
                className="text-body-secondary",
            ),
            html.Div(
                className="row g-3 align-items-end mb-3",
                children=[
                    components.picker("x: at month t", dcc.Dropdown(id=X, options=[], value=None,
                                                                    clearable=False)),
                    components.picker("y: at month t + lag", dcc.Dropdown(id=Y, options=[], value=None,
                                                                          clearable=False)),
                    html.Div(className="col-md-2", children=[
                        html.Label("Lag", htmlFor=LAG, className="form-label"),
                        dcc.Dropdown(id=LAG, options=lags, value=DEFAULT_LAG, clearable=False),
                    ]),
                    html.Div(className="col-md-2", children=[
                        html.Label("Months", htmlFor=PERIOD, className="form-label"),
                        dcc.DatePickerRange(id=PERIOD, start_date=start.isoformat(),
                                            end_date=end.isoformat(), display_format="YYYY-MM"),
                    ]),
                ],
            ),
            html.Div(
                className="row",
                children=[
                    components.section(SLUG, "linkage", "Units compared: x against y at the lag",
                                       LINKAGE_N, components.graph(LINKAGE_FIGURE), "col-lg-7"),
                    html.Section(
                        className="col-lg-5 mb-4",
                        **{"aria-labelledby": "evidence-reading-heading"},
                        children=[
                            html.H2("What the data say", id="evidence-reading-heading", className="h5"),
                            html.P(id=READING_N, className="text-body-secondary small", role="status"),
                            html.Div(id=READING, **{"aria-live": "polite"}),
                        ],
                    ),
                    components.section(SLUG, "profile", "Lag profile: r at each lag, −3 to +3 months",
                                       PROFILE_N, components.graph(PROFILE_FIGURE), "col-lg-6"),
                    components.section(SLUG, "within", "Within a unit: its change in x and in y",
                                       WITHIN_N, components.graph(WITHIN_FIGURE), "col-lg-6"),
                    components.section(SLUG, "register", "Hypotheses register: the initiative's "
                                       "leaps of faith and their verdicts", REGISTER_N,
                                       html.Div(id=REGISTER_TABLE)),
                ],
            ),
        ],
    )


# --- what the charts say in words --------------------------------------------------------------


def _units(n_units: int, n_observations: int, what: str = "unit-months") -> str:
    """'40 units, 240 unit-months'."""
    return f"{n_units} unit{'s' if n_units != 1 else ''}, {n_observations} {what}"


def linkage_text(result: ev.Linkage) -> str:
    """The n line of the scatter and the reading: units, unit-months, r with its interval."""
    base = f"n = {_units(result.n_units, result.n_observations)}"
    if result.r is None:
        return f"{base}. {result.message}"
    return (f"{base}; r = {result.r:.2f} (95% interval {result.r_ci[0]:.2f} to "
            f"{result.r_ci[1]:.2f}).")


def profile_text(frame: pd.DataFrame) -> str:
    """The lag profile's n line."""
    if frame.empty:
        return "No lag has data."
    most = frame.loc[frame["n_units"].idxmax()]
    clear = frame.dropna(subset=["r"])
    clear = clear[(clear["r_low"] > 0) | (clear["r_high"] < 0)]
    lags = ", ".join(f"{lag:+d}" for lag in clear["lag"]) or "none"
    return (f"n = up to {_units(int(most['n_units']), int(most['n_observations']))} per lag; "
            f"7 lags tested at once (p Holm-adjusted). Interval excludes zero at lags: {lags}.")


def within_text(within: ev.WithinUnit) -> str:
    """The within-unit view's n line."""
    base = f"n = {_units(within.n_units, within.n_observations, 'month-to-month changes')}"
    if within.slope is None:
        return f"{base}. {within.message}"
    return (f"{base}; slope {within.slope:.3g} (95% interval {within.slope_ci[0]:.3g} to "
            f"{within.slope_ci[1]:.3g}), errors clustered by unit.")


def _title(n_line: str) -> str:
    """A chart's title: the n part of its n line ("n = 40 units, 240 unit-months"), so an
    exported image still says what it rests on."""
    return n_line.split(";")[0].split(". ")[0].rstrip(".")


def register_text(frame: pd.DataFrame) -> str:
    """The register's n line: how many hypotheses, by verdict."""
    if frame.empty:
        return "No hypothesis recorded yet."
    counts = frame["verdict"].fillna("not evaluated").value_counts()
    parts = ", ".join(f"{counts[v]} {v}" for v in (*ev.VERDICTS, "not evaluated") if v in counts)
    return (f"{len(frame)} hypothes{'is' if len(frame) == 1 else 'es'}: {parts}; each read across "
            f"every unit of the organization, whatever your scope.")


def register_table(frame: pd.DataFrame) -> html.Table | html.P:
    """The register as a table: statement, question, verdict, r with its interval and n."""
    if frame.empty:
        return html.P(["Change leaders record hypotheses in the ",
                       html.A("hypotheses register", href=REGISTER_URL), "."])
    header = html.Thead(html.Tr([html.Th(h, scope="col") for h in (
        "Hypothesis", "Question", "Verdict", "r (95% interval)", "n", "Evaluated")]))
    rows = []
    for row in frame.itertuples(index=False):
        verdict = row.verdict or "not evaluated"
        interval = ("—" if pd.isna(row.r) else
                    f"{row.r:.2f} ({row.r_low:.2f} to {row.r_high:.2f})")
        arrow = "↑" if row.expected_direction == "positive" else "↓"
        rows.append(html.Tr([
            html.Td(html.A(row.statement, href=f"{REGISTER_URL}/{row.id}")),
            html.Td(f"{service.label(row.x)} → {service.label(row.y)} {arrow}, lag {row.lag:+d}, "
                    f"at least r = {row.smallest_effect:.2f}"),
            html.Td(html.Span(verdict, className=f"badge {VERDICT_BADGES.get(verdict, 'text-bg-light')}")),
            html.Td(interval),
            html.Td(f"{row.n_units} units, {row.n_observations} unit-months"),
            html.Td(row.evaluated_at or "—"),
        ]))
    return html.Table([header, html.Tbody(rows)], className="table table-sm align-middle")


def reading_block(answer: service.Assessment) -> list:
    """The verdict as a badge, the reading, and the hypothesis it was read as."""
    q = answer.question
    direction = "higher" if q.direction > 0 else "lower"
    return [
        html.P([html.Span(answer.verdict, className=f"badge {VERDICT_BADGES[answer.verdict]} me-2"),
                html.Span(f"read as: a higher {service.label(q.x)} goes with a {direction} "
                          f"{service.label(q.y)}, by at least r = {q.smallest_effect:.1f}",
                          className="small text-body-secondary")]),
        html.P(answer.reading),
    ]


# --- callbacks ---------------------------------------------------------------------------------


FILTER_INPUTS = (Input(X, "value"), Input(Y, "value"), Input(LAG, "value"),
                 Input(PERIOD, "start_date"), Input(PERIOD, "end_date"))


def _filters(x, y, lag, start, end) -> tuple[Scope, Filters]:
    """The signed-in user's scope (from the session, never the request body) and filters."""
    scope = current_scope()
    return scope, filters(scope, x, y, lag, start, end, clock.org_today())


def _register_download(app: Dash, key: str, build: Callable[[Scope, Filters], pd.DataFrame]):
    """Add the CSV download callback of chart ``key`` to ``app``."""

    @app.callback(
        Output(f"{SLUG}-{key}-download", "data"),
        Input(f"{SLUG}-{key}-csv", "n_clicks"),
        State(X, "value"), State(Y, "value"), State(LAG, "value"),
        State(PERIOD, "start_date"), State(PERIOD, "end_date"),
        prevent_initial_call=True,
    )
    def download_csv(_clicks, x, y, lag, start, end):
        """The chart's own frame as CSV; nothing at all when the chart has nothing to show."""
        scope, f = _filters(x, y, lag, start, end)
        try:
            frame = build(scope, f)
        except Unavailable:
            raise PreventUpdate from None
        return components.send_csv(frame, f"evidence-{key}.csv")


def metric_options() -> tuple[list[dict[str, str]], str | None]:
    """Every metric one may ask about, labelled, and the default y (an outcome if any)."""
    choices = hypotheses.metric_choices()  # the register's form offers the same
    options = [{"label": label, "value": name} for name, label in choices]
    outcomes = [m for m, _label in choices if m not in evidence_panel.BUILT_IN
                and not m.startswith(evidence_panel.KEY_BEHAVIOUR)]
    preferred = [m for m in PREFERRED_Y if m in outcomes]
    default_y = (preferred or outcomes or [None])[0]
    return options, default_y


def register(app: Dash) -> None:
    """Add the page's callbacks to ``app``."""

    @app.callback(Output(X, "options"), Output(Y, "options"), Output(X, "value"), Output(Y, "value"),
                  Input(PERIOD, "start_date"), State(X, "value"), State(Y, "value"))
    def fill_pickers(_start, x, y):
        """Offer every known metric; start from adoption rate → CSAT (or the first outcome)."""
        if current_scope().role.value not in ROLES:
            return [], [], None, None
        options, default_y = metric_options()
        return options, options, x or DEFAULT_X, y or default_y

    @app.callback(*components.chart_outputs(LINKAGE_FIGURE), Output(LINKAGE_N, "children"),
                  Output(READING, "children"), Output(READING_N, "children"), *FILTER_INPUTS)
    def show_linkage(x, y, lag, start, end):
        """The chosen pair and lag: panel → linkage, verdict, reading → scatter with band."""
        scope, f = _filters(x, y, lag, start, end)
        try:
            grid = _grid(scope, f)
        except Unavailable as why:
            return (*components.chart(empty_figure(str(why))), str(why), html.P(str(why)),
                    str(why))
        q = f.question
        answer = service.assess_panel(q, grid)[0]
        n_line = linkage_text(answer.linkage)
        scatter = charts.scatter_frame(grid, q.lags[0])
        band = charts.fitted_band(scatter["x_centred"], scatter["y_centred"], scatter["unit"])
        figure = figures.linkage_figure(scatter, band, service.label(q.x), service.label(q.y),
                                        ev.when(q.lags[0]), _title(n_line))
        return *components.chart(figure), n_line, reading_block(answer), n_line

    @app.callback(*components.chart_outputs(WITHIN_FIGURE), Output(WITHIN_N, "children"),
                  *FILTER_INPUTS)
    def show_within(x, y, lag, start, end):
        """Within a unit: panel → month-to-month changes and their slope → scatter with band."""
        scope, f = _filters(x, y, lag, start, end)
        try:
            grid = _grid(scope, f)
        except Unavailable as why:
            return *components.chart(empty_figure(str(why))), str(why)
        q = f.question
        text = within_text(ev.within_unit_change(grid, q.lags[0]))
        changes = charts.change_frame(grid, q.lags[0])
        band = charts.fitted_band(changes["dx_centred"], changes["dy_centred"], changes["unit"],
                                  intercept=False)
        figure = figures.change_figure(changes, band, service.label(q.x), service.label(q.y),
                                       _title(text))
        return *components.chart(figure), text

    @app.callback(*components.chart_outputs(PROFILE_FIGURE), Output(PROFILE_N, "children"),
                  *FILTER_INPUTS)
    def show_profile(x, y, lag, start, end):
        """Lags −3..+3: panel → r and interval per lag (Holm) → points with intervals."""
        scope, f = _filters(x, y, lag, start, end)
        try:
            frame = profile_frame(scope, f)
        except Unavailable as why:
            return *components.chart(empty_figure(str(why))), str(why)
        text = profile_text(frame)
        figure = figures.profile_figure(frame, f.question.lags[0], _title(text))
        return *components.chart(figure), text

    @app.callback(Output(REGISTER_TABLE, "children"), Output(REGISTER_N, "children"),
                  Input(PERIOD, "start_date"))
    def show_register(_start):
        """The hypotheses register: stored verdicts → table (read, not recomputed, here)."""
        scope = current_scope()
        try:
            frame = register_frame(scope, Filters(None, None))
        except Unavailable as why:
            return html.P(str(why), className="text-body-secondary"), str(why)
        return register_table(frame), register_text(frame)

    for key, build in CHARTS.items():
        _register_download(app, key, build)
