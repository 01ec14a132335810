"""Page "Commitment" (D2, issue 7): the executive dashboard — what sponsors did, what employees
perceive, the gap, the outcomes, and what needs attention this week.

The landing page of executives. A one-screen summary first (adoption vs target, commitment score,
perceived commitment, CSAT trend, the three most urgent items), then the sections. Every figure
and table names its period and n. Scope is enforced in ``dashboards.commitment``: an executive
gets the leadership team's aggregates and their own sponsor record only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
from dash import Dash, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from adoption.access import current_scope
from adoption.models import Role
from adoption.scope import ScopeError
from dashboards import clock, commitment, components
from dashboards import commitment_report as cr
from dashboards import executive_figures as figures
from dashboards.figures import empty_figure

SLUG = "executive"
TITLE = "Commitment"
# One sentence on the dashboards' landing page: the question the page answers.
QUESTION = ("Do the sponsors visibly do what the change asks of everyone, and do employees see it? "
            "Each sponsor's record this quarter (in its first weeks, the quarter just ended), and what "
            "needs you this week.")
ROLES = frozenset({Role.EXECUTIVE.value, Role.CHANGE_LEADER.value, Role.ADMIN.value})
PAGE = "executive"

QUARTER = "executive-quarter"
PRINT_LINK = "executive-print"
SUMMARY = "executive-summary"
URGENT = "executive-urgent"
GAP_FIGURE = "executive-gap-figure"
GAP_N = "executive-gap-n"
GAP_TABLE = "executive-gap-table"
SPONSORS_N = "executive-sponsors-n"
SPONSORS_TABLE = "executive-sponsors-table"
TEAM_N = "executive-team-n"
TEAM_TABLE = "executive-team-table"
ADOPTION_FIGURE = "executive-adoption-figure"
CUSTOMER_FIGURE = "executive-customer-figure"
OUTCOMES_N = "executive-outcomes-n"
OUTCOMES_TABLE = "executive-outcomes-table"
PRINT_PATH = "/commitment/print"
NOT_ALLOWED = "Your role does not give access to this dashboard."
#: The say–do gap section's CSV: both sides and the n behind them.
GAP_COLUMNS = ["who", "objective_score", "activities", "comments", "perceived_leadership",
               "perceived_leadership_n", "gap", "flag"]


def layout(today: dt.date) -> html.Section:
    """The page for one request; the callbacks fill it for the signed-in user's scope."""
    choices = cr.quarter_choices(today)
    return html.Section(className="dashboards-page", children=[
        html.Div(className="d-flex flex-wrap justify-content-between align-items-end gap-3 mb-3", children=[
            html.Div([
                html.H1("Executive commitment", className="h3"),
                html.P("What sponsors visibly do, what employees perceive, the gap between the two, "
                       "and what needs you this week.", className="text-body-secondary mb-0"),
            ]),
            html.Div(className="d-flex align-items-end gap-2", children=[
                html.Div([
                    html.Label("Quarter", htmlFor=QUARTER, className="form-label"),
                    dcc.Dropdown(id=QUARTER, options=[{"label": label, "value": value} for value, label in choices],
                                 value=commitment.default_quarter(today), clearable=False,
                                 style={"minWidth": "12rem"}),
                ]),
                html.A("Printable view (board pack)", id=PRINT_LINK, href=PRINT_PATH,
                       className="btn btn-outline-secondary btn-sm", target="_blank"),
            ]),
        ]),
        html.Section(className="mb-4", **{"aria-labelledby": "executive-summary-heading"}, children=[
            html.H2("In two minutes", id="executive-summary-heading", className="h5"),
            html.Div(id=SUMMARY, className="row g-3", role="status"),
            html.H3("Needs attention this week", className="h6 mt-3"),
            html.Div(id=URGENT),
        ]),
        html.Div(className="row", children=[
            components.section(PAGE, "gap", "The say–do gap", GAP_N,
                               html.Div([components.graph(GAP_FIGURE, with_data=False), html.Div(id=GAP_TABLE)])),
            components.section(PAGE, "sponsors", "Sponsors: visibility, communication, role-modelling", SPONSORS_N,
                               html.Div(id=SPONSORS_TABLE)),
            components.section(PAGE, "team", "Leadership team", TEAM_N, html.Div(id=TEAM_TABLE)),
            components.section(PAGE, "outcomes", "Outcomes: adoption, customers, hypotheses", OUTCOMES_N,
                               html.Div([
                                   html.Div(className="row", children=[
                                       html.Div(components.graph(ADOPTION_FIGURE), className="col-lg-6"),
                                       html.Div(components.graph(CUSTOMER_FIGURE), className="col-lg-6"),
                                   ]),
                                   html.Div(id=OUTCOMES_TABLE),
                               ])),
        ]),
    ])


# --- pieces --------------------------------------------------------------------------------------


def _card(title: str, value: str, detail: str) -> html.Div:
    return html.Div(className="col-sm-6 col-xl-3", children=html.Div(className="card h-100", children=html.Div(
        className="card-body", children=[
            html.H3(title, className="h6 text-body-secondary"),
            html.P(value, className="fs-3 fw-semibold mb-1"),
            html.P(detail, className="small text-body-secondary mb-0"),
        ])))


def summary_cards(report: cr.Report) -> list:
    """Adoption vs target, commitment score, perceived commitment, CSAT trend."""
    o, period = report.outcomes, report.period
    own = next((r for r in report.sponsors if r.sponsor_id == report.own_sponsor_id), None)
    scored = own or report.team
    whose = "your" if own is not None else "the leadership team's"
    target = f" vs target {o.adoption_target:.0f}%" if o.adoption_target is not None else ""
    adoption = "n/a" if o.adoption_rate is None else f"{o.adoption_rate:.0f}%"
    perceived = scored.perceived
    csat = o.csat
    if len(csat) >= 2:
        change = csat[-1].value - csat[0].value
        csat_value = f"{csat[-1].value:.1f}"
        csat_detail = (f"{change:+.1f} since {csat[0].month}; latest month {csat[-1].units} units, "
                       f"n = {csat[-1].n:,} responses")
    elif csat:
        csat_value, csat_detail = f"{csat[-1].value:.1f}", f"{csat[-1].month}: n = {csat[-1].n:,} responses"
    else:
        csat_value, csat_detail = "n/a", "no CSAT imported for this period"
    return [
        _card("Adoption", adoption + target,
              f"last whole week: {o.active:,} active of {o.licensed:,} licensed ({period.label})"),
        _card("Commitment score", cr.points(scored.objective.value),
              f"{whose} objective score, 0–100, from {scored.visibility.done} activities ({period.label})"),
        _card("Perceived commitment", cr.points(perceived.leadership),
              f"{whose} units, 0–100, n = {perceived.leadership_n} respondents"
              + (f" ({perceived.round_label})" if perceived.round_label else "")),
        _card("CSAT", csat_value, csat_detail),
    ]


def urgent_list(items: list) -> html.Ul | html.P:
    """The most urgent items, each linking to where it is acted on."""
    if not items:
        return html.P("Nothing urgent: no units at risk, no comments awaiting a reply, no overdue actions.",
                      className="text-body-secondary")
    return html.Ul(className="list-group", children=[
        html.Li(html.A(item.text, href=item.link), className="list-group-item") for item in items])


def _table(caption: str, header: list[str], rows: list[list], row_classes: list[str] | None = None) -> html.Table:
    return html.Table(className="table table-sm table-striped align-middle", children=[
        html.Caption(caption),
        html.Thead(html.Tr([html.Th(h, scope="col") for h in header])),
        html.Tbody([html.Tr([html.Th(row[0], scope="row"), *[html.Td(v) for v in row[1:]]],
                            className=(row_classes or [""] * len(rows))[i]) for i, row in enumerate(rows)]),
    ])


def gap_table(report: cr.Report) -> html.Table | html.P:
    """Objective and perceived commitment per sponsor and the team, with the n behind each side."""
    entries = [*report.sponsors, report.team]
    rows, classes = [], []
    for r in entries:
        rows.append([r.name, cr.points(r.objective.value), f"{r.visibility.done} activities, {r.communication.comments} comments",
                     cr.points(r.perceived.leadership), f"{r.perceived.leadership_n} respondents",
                     cr.gap_text(r.gap, r.flag)])
        classes.append("table-danger" if r.flag else "")
    return _table(f"Say–do gap, {report.period.label}: objective (visibility, communication, role-modelling) "
                  "minus perceived leadership commitment, in points",
                  ["Who", "Objective", "behind it", "Perceived", "behind it", "Gap"], rows, classes)


def sponsors_table(report: cr.Report) -> html.Table | html.P:
    """Every indicator of each sponsor this user may read."""
    if not report.sponsors:
        return html.P("You are not a sponsor of the initiative: the leadership team's figures are below.",
                      className="text-body-secondary")
    rows = []
    for r in report.sponsors:
        v, c, m = r.visibility, r.communication, r.role_modelling
        rows.append([
            r.name, "; ".join(r.areas), cr.plan_text(v.done, v.planned), cr.percent(v.reach_share),
            str(c.messages), f"{cr.percent(c.reply_share)} of {c.comments}", cr.days(c.median_days_to_first_reply),
            f"{c.actions_closed_on_time} of {c.actions_due}", cr.percent(m.active_share),
            f"{m.trainings_completed} of {m.trainings_assigned}",
        ])
    return _table(f"Sponsor indicators, {report.period.label}",
                  ["Sponsor", "Areas", "Activities", "Reach", "Messages", "Comments replied", "Median first reply",
                   "Actions on time", "Own CRM: active weeks", "Own training"], rows)


def team_table(report: cr.Report) -> html.Table:
    """The leadership team's indicators and the executive group's CRM use."""
    t = report.team
    group = t.executive_group
    group_text = (cr.WITHHELD if group is None else
                  f"{cr.percent(group.active_share)} active weeks, {cr.percent(group.key_behaviour_share)} with a "
                  f"key behaviour (n = {group.people} executives)")
    rows = [
        ["Activities vs plan", cr.plan_text(t.visibility.done, t.visibility.planned)],
        ["Audience reach", f"{cr.percent(t.visibility.reach_share)} of {t.visibility.employees:,} people"],
        ["Messages", str(t.communication.messages)],
        ["Comments replied", f"{cr.percent(t.communication.reply_share)} of {t.communication.comments}"],
        ["Median days to first reply", cr.days(t.communication.median_days_to_first_reply)],
        ["Actions closed on time", f"{t.communication.actions_closed_on_time} of {t.communication.actions_due}"],
        ["Sponsors' own CRM use", cr.WITHHELD if t.role_modelling.withheld else
         f"{cr.percent(t.role_modelling.active_share)} active weeks (n = {t.sponsors} sponsors)"],
        ["Executive group's CRM use", group_text],
        ["Perceived leadership commitment", f"{cr.points(t.perceived.leadership)} (n = {t.perceived.leadership_n})"],
        ["Trust that feedback leads to action", f"{cr.points(t.perceived.trust)} (n = {t.perceived.trust_n})"],
    ]
    return html.Div([
        _table(f"Leadership team, {report.period.label}", ["Indicator", "Value"], rows),
        perceived_units_table(report),
    ])


def perceived_units_table(report: cr.Report) -> html.Table | html.P:
    """Perceived leadership commitment and trust by region, with n (anonymity rules applied)."""
    if not report.perceived_units:
        return html.P("No region to show.", className="text-body-secondary")
    rows = [[path, f"{cr.points(p.leadership)} (n = {p.leadership_n})", f"{cr.points(p.trust)} (n = {p.trust_n})",
             cr.NOT_SHOWN if p.suppressed_units else (p.round_label or "no round")]
            for path, p in report.perceived_units]
    return _table(f"Perceived commitment by region, 0–100, as of {report.period.end:%d %b %Y}",
                  ["Region", "Leadership commitment", "Trust that feedback leads to action", "Round"], rows)


def outcomes_table(report: cr.Report) -> html.Table:
    """Key behaviours and the hypotheses register's verdicts."""
    o = report.outcomes
    rows = [[f"Key behaviour: {name}", cr.points(share) + ("% of licensed people" if share is not None else "")]
            for name, share in o.key_behaviours.items()]
    rows += [[f"Hypotheses {verdict}", str(count)] for verdict, count in o.verdicts.items()]
    return _table(f"Key behaviours (last whole week) and hypotheses, {report.period.label}",
                  ["Outcome", "Value"], rows)


def _report(quarter):
    """The signed-in user's report, or the reason there is none."""
    scope = current_scope()
    if scope.role.value not in ROLES:
        return None, NOT_ALLOWED
    today = clock.org_today()
    try:
        return cr.report(scope, cr.parse_quarter(quarter, today), today), None
    except ScopeError:
        return None, NOT_ALLOWED


def register(app: Dash) -> None:
    """Add the page's callbacks to ``app``."""

    @app.callback(Output(SUMMARY, "children"), Output(URGENT, "children"), Output(PRINT_LINK, "href"),
                  Input(QUARTER, "value"))
    def show_summary(quarter):
        """The one-screen summary and the three most urgent items."""
        report, problem = _report(quarter)
        if report is None:
            return html.P(problem), "", PRINT_PATH
        return summary_cards(report), urgent_list(report.urgent), f"{PRINT_PATH}?quarter={quarter}"

    @app.callback(Output(GAP_FIGURE, "figure"), Output(GAP_N, "children"), Output(GAP_TABLE, "children"),
                  Input(QUARTER, "value"))
    def show_gap(quarter):
        """Objective vs perceived commitment per sponsor and the team."""
        report, problem = _report(quarter)
        if report is None:
            return empty_figure(problem), problem, ""
        flagged = [r.name for r in [*report.sponsors, report.team] if r.flag]
        n_line = (f"{report.period.label}. Gap = objective − perceived, in points; |gap| ≥ 20 is highlighted"
                  + (f": {', '.join(flagged)}." if flagged else "; none passes it."))
        return figures.gap_figure(report.sponsors, report.team, report.period), n_line, gap_table(report)

    @app.callback(Output(SPONSORS_TABLE, "children"), Output(SPONSORS_N, "children"),
                  Output(TEAM_TABLE, "children"), Output(TEAM_N, "children"), Input(QUARTER, "value"))
    def show_records(quarter):
        """Each sponsor's indicators (all, or your own) and the leadership team's."""
        report, problem = _report(quarter)
        if report is None:
            return html.P(problem), problem, "", ""
        whose = "every sponsor" if report.own_sponsor_id is None else "your own record"
        return (sponsors_table(report), f"{report.period.label}: {whose} ({len(report.sponsors)} shown).",
                team_table(report), f"{report.period.label}: {report.team.sponsors} sponsors.")

    @app.callback(*components.chart_outputs(ADOPTION_FIGURE), *components.chart_outputs(CUSTOMER_FIGURE),
                  Output(OUTCOMES_TABLE, "children"), Output(OUTCOMES_N, "children"), Input(QUARTER, "value"))
    def show_outcomes(quarter):
        """Organization adoption vs target, CSAT/NPS by month, key behaviours and verdicts."""
        report, problem = _report(quarter)
        if report is None:
            return *components.chart(empty_figure(problem)), *components.chart(empty_figure(problem)), "", problem
        o = report.outcomes
        return (*components.chart(figures.adoption_figure(o, report.period)),
                *components.chart(figures.customer_figure(o, report.period)),
                outcomes_table(report), f"{report.period.label}: {o.licensed:,} licensed people.")

    sections: dict[str, Callable[[cr.Report], pd.DataFrame]] = {
        "gap": lambda report: cr.indicator_frame(report.sponsors, report.team)[GAP_COLUMNS],
        "sponsors": lambda report: cr.indicator_frame(report.sponsors, None),
        "team": lambda report: cr.indicator_frame([], report.team),
        "outcomes": lambda report: cr.outcomes_frame(report.outcomes),
    }
    for key, build in sections.items():
        _register_download(app, key, build)


def _register_download(app: Dash, key: str, build: Callable[[cr.Report], pd.DataFrame]) -> None:
    """The CSV download of section ``key``: the rows it shows (what this user may read)."""

    @app.callback(Output(f"{PAGE}-{key}-download", "data"), Input(f"{PAGE}-{key}-csv", "n_clicks"),
                  State(QUARTER, "value"), prevent_initial_call=True)
    def download_csv(_clicks, quarter):
        """The section's rows of the user's report as CSV."""
        report, _problem = _report(quarter)
        if report is None:
            raise PreventUpdate
        return components.send_csv(build(report), f"commitment-{key}-{report.period.start}.csv")
