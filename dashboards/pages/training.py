"""Page "Training" (D4): completion against due dates, reaction, learning, commitments and their
follow-up, and the behaviour difference-in-differences per module, with their n and intervals.

Each chart has a ``*_frame`` function (scoped queries → metrics) that its display callback and
its CSV download both call, so the chart and the file always hold the same figures. Every query
reads aggregates of the population (scope ∩ chosen unit's subtree); nothing on this page names a
person, and groups smaller than ``metrics.MIN_GROUP`` keep only their n for scopes that do not see
individuals (executives).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from dash import Dash, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from adoption.access import current_scope
from adoption.extensions import db
from adoption.models import OrgUnit, Role
from adoption.scope import Scope
from adoption.telemetry.rollups import week_start_day
from dashboards import cache, clock, components, queries, training_queries
from dashboards import training_figures as figures
from dashboards.figures import empty_figure
from dashboards.inputs import parse_day, parse_int
from dashboards.metrics import training as metrics

SLUG = "training"
TITLE = "Training"
# One sentence on the dashboards' landing page: the question the page answers.
QUESTION = ("Is training taken, found useful, learned and acted on, with behaviour in the CRM "
            "before and after against peers not yet trained.")
ROLES = frozenset(
    {Role.MANAGER.value, Role.CHANGE_LEADER.value, Role.EXECUTIVE.value, Role.ADMIN.value}
)
# The period shown when none is chosen: the last half year.
DEFAULT_DAYS = 182
# Behaviour panels kept per app (``app.extensions[CACHE_KEY]``, see ``behaviour_frame``): one
# entry per scope, module and behaviour, replaced as soon as the stamps it was built under (the
# module's audience and completions, the rollups of past weeks) change; the time limit bounds
# what the stamps cannot see (e.g. a corrected employment date), the byte limit the memory.
CACHE_KEY = "uptake_training_behaviour"
CACHE_SECONDS = 3600
CACHE_BYTES = 256 * 1024 * 1024

MODULE = "training-module"
UNIT = "training-unit"
PERIOD = "training-period"
COMPLETION_FIGURE = "training-completion-figure"
COMPLETION_N = "training-completion-n"
REACTION_FIGURE = "training-reaction-figure"
REACTION_N = "training-reaction-n"
LEARNING_FIGURE = "training-learning-figure"
LEARNING_N = "training-learning-n"
MISSED_TABLE = "training-missed-table"
MISSED_N = "training-missed-n"
COMMITMENTS_FIGURE = "training-commitments-figure"
COMMITMENTS_N = "training-commitments-n"
BEHAVIOUR_FIGURE = "training-behaviour-figure"
BEHAVIOUR_N = "training-behaviour-n"
EXTERNAL_TABLE = "training-external-table"
EXTERNAL_N = "training-external-n"

NOT_ALLOWED = "Your role does not give access to training results."
OUT_OF_SCOPE = "This unit is outside what you may see."
UNKNOWN_MODULE = "There is no such module."
RESULTS_ON_EVIDENCE = (
    "Whether training goes with customer outcomes (CSAT, NPS, retention by unit) is on the "
    "Evidence page: pick training completion as x and an outcome as y, with the lag."
)


@dataclass(frozen=True)
class Filters:
    """What the page shows: a module (or all), a unit's subtree (or the whole scope), a period."""

    module_id: int | None
    focus: OrgUnit | None
    start: dt.date
    end: dt.date
    today: dt.date
    # The smallest group whose figures may be shown to this user.
    min_group: int
    # Why nothing can be shown (role, unit out of scope, unknown module); None when all is well.
    problem: str | None


class Unavailable(Exception):
    """A chart cannot be drawn for these filters; the message says why, fit to show."""


def default_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """The last ``DEFAULT_DAYS`` days ending today."""
    return today - dt.timedelta(days=DEFAULT_DAYS - 1), today


def filters(scope: Scope, module: Any, unit: Any, start: Any, end: Any,
            today: dt.date) -> Filters:
    """The page's filters from the raw callback inputs (a public POST: anything may come)."""
    default_start, default_end = default_period(today)
    start_day, end_day = parse_day(start) or default_start, parse_day(end) or default_end
    if start_day > end_day:
        start_day, end_day = end_day, start_day
    min_group = 1 if scope.sees_individuals else metrics.MIN_GROUP

    def refused(problem: str) -> Filters:
        return Filters(None, None, start_day, end_day, today, min_group, problem)

    if scope.role.value not in ROLES or not scope.sees_aggregates:
        return refused(NOT_ALLOWED)
    module_id = parse_int(module)
    if module is not None and module_id is None:
        return refused(UNKNOWN_MODULE)
    if module_id is not None and module_id not in set(training_queries.modules(scope)["module_id"]):
        return refused(UNKNOWN_MODULE)
    unit_id = parse_int(unit)
    if unit is not None and unit_id is None:
        return refused(OUT_OF_SCOPE)
    if unit_id is not None:
        # A forged or foreign id shows nothing, never the top of the scope in its place.
        focus = db.session.get(OrgUnit, unit_id) if scope.allows_unit(unit_id) else None
        if focus is None:
            return refused(OUT_OF_SCOPE)
    else:
        # The whole scope (the scope filter of every query keeps a manager in their subtree).
        focus = None
    return Filters(module_id, focus, start_day, end_day, today, min_group, None)


def _checked(f: Filters) -> Filters:
    """Usable filters, or ``Unavailable`` with the reason."""
    if f.problem is not None:
        raise Unavailable(f.problem)
    return f


def _focus_path(scope: Scope, f: Filters) -> str:
    """The path the completion chart groups under: the chosen unit or the top of the scope."""
    unit = f.focus or queries.focus_unit(scope, None)
    return unit.path if unit is not None else ""


# --- chart data: scoped queries → metrics, shared by each chart and its CSV download ----------


def completion_frame(scope: Scope, f: Filters) -> pd.DataFrame:
    """Assignees per status in each unit directly below the chosen one."""
    f = _checked(f)
    counts = training_queries.completion_counts(scope, f.focus, f.module_id, f.start, f.end,
                                                f.today)
    return metrics.completion_by_unit(counts, _focus_path(scope, f), f.min_group)


def reaction_frame(scope: Scope, f: Filters) -> pd.DataFrame:
    """Mean usefulness per module with its interval and n."""
    f = _checked(f)
    sums = training_queries.reaction_sums(scope, f.focus, f.module_id, f.start, f.end)
    return metrics.reaction_by_module(sums, f.min_group)


def learning_frame(scope: Scope, f: Filters) -> pd.DataFrame:
    """First-attempt score and pass rates per module."""
    f = _checked(f)
    sums = training_queries.learning_sums(scope, f.focus, f.module_id, f.start, f.end)
    return metrics.learning_by_module(sums, f.min_group)


def missed_frame(scope: Scope, f: Filters) -> pd.DataFrame:
    """The questions most often wrong at the first attempt."""
    f = _checked(f)
    answers = training_queries.most_missed_counts(scope, f.focus, f.module_id, f.start, f.end)
    return metrics.most_missed(answers, min_group=f.min_group)


def commitments_frame(scope: Scope, f: Filters) -> pd.DataFrame:
    """Follow-ups of the period's commitments by offset and state."""
    f = _checked(f)
    counts = training_queries.follow_up_counts(scope, f.focus, f.module_id, f.start, f.end,
                                               f.today)
    return metrics.follow_ups_by_offset(counts, f.min_group)


def _wide_panel(scope: Scope, module_id: int, behaviour: str, through: dt.date,
                first_weekday: int) -> pd.DataFrame:
    """The behaviour panel of one module × key behaviour over every cohort whose post window has
    ended, for the whole of ``scope``: read from the telemetry once, then cut to any unit and
    period by ``metrics.restrict_panel``."""
    people = training_queries.behaviour_people(scope, None, module_id)
    completed = [c for c in people["completed_on"] if isinstance(c, dt.date)]
    if not completed:
        return metrics.behaviour_panel(pd.DataFrame(), pd.DataFrame(), first_day=through,
                                       last_day=through, telemetry_through=through,
                                       first_weekday=first_weekday)
    first = min(completed)
    weekly = training_queries.weekly_events(
        scope, None, module_id, behaviour,
        first - dt.timedelta(weeks=metrics.WINDOW_WEEKS + 1), through, first_weekday,
    )
    return metrics.behaviour_panel(weekly, people, first_day=first, last_day=through,
                                   telemetry_through=through, first_weekday=first_weekday)


def _cached(key: tuple, stamp: tuple, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """The behaviour panel kept under ``key`` if built under ``stamp``, else ``compute()``
    (``dashboards.cache.stamped`` with this page's limits)."""
    return cache.stamped(CACHE_KEY, key, stamp, compute, seconds=CACHE_SECONDS, max_bytes=CACHE_BYTES)


def behaviour_frame(scope: Scope, f: Filters) -> pd.DataFrame:
    """The difference-in-differences of each key behaviour of each chosen module.

    The expensive read of the page is a person × week panel of a module's audience. It is built
    once per scope, module and behaviour over every cohort, and kept (``_cached``) under stamps
    of what it depends on: the last day of telemetry, the rollups of the past weeks, and the
    module's assignments and completions; each call then cuts it to the chosen unit and period
    (``metrics.restrict_panel``, the same rows as a panel built for them) and fits the model.
    """
    f = _checked(f)
    chosen = training_queries.modules(scope)
    if f.module_id is not None:
        chosen = chosen[chosen["module_id"] == f.module_id]
    chosen = [m for m in chosen.itertuples(index=False) if m.key_behaviours]
    rows: list[dict[str, Any]] = []
    if not chosen:
        return metrics.did_frame(rows)
    through = training_queries.telemetry_through(f.today)
    first_weekday = week_start_day()
    population = training_queries.population_ids(scope, f.focus)
    telemetry = None if through is None else training_queries.telemetry_stamp(through)
    for module in chosen:
        module_id = int(module.module_id)
        audience = training_queries.audience_stamp(module_id)
        for behaviour in module.key_behaviours:
            if through is None:
                panel = pd.DataFrame()
            else:
                panel = _cached(
                    (scope.unit_ids, module_id, behaviour),
                    (through, first_weekday, audience, telemetry),
                    lambda m=module_id, b=behaviour: _wide_panel(scope, m, b, through, first_weekday))
            result = metrics.difference_in_differences(
                metrics.restrict_panel(panel, population, f.start, f.end))
            rows.append(metrics.did_row(module_id, module.title, behaviour, result))
    return metrics.did_frame(rows)


def external_frame(scope: Scope, f: Filters) -> pd.DataFrame:
    """Learners per activity of another learning system, with their outcomes (the module filter
    does not apply: these are not Uptake's modules)."""
    f = _checked(f)
    counts = training_queries.external_learning_counts(scope, f.focus, f.start, f.end)
    return metrics.external_learning(counts, training_queries.ANY_VERB, f.min_group)


CHARTS: dict[str, Callable[[Scope, Filters], pd.DataFrame]] = {
    "completion": completion_frame,
    "reaction": reaction_frame,
    "learning": learning_frame,
    "missed": missed_frame,
    "commitments": commitments_frame,
    "behaviour": behaviour_frame,
    "external": external_frame,
}


# --- layout ------------------------------------------------------------------------------------



def layout(today: dt.date) -> html.Section:
    """The page for one request; the module and unit pickers are filled by a scoped callback."""
    start, end = default_period(today)
    return html.Section(
        className="dashboards-page",
        children=[
            html.H1(TITLE, className="h3"),
            html.P(
                "Whether training is taken, found useful, learned and acted on, for the people "
                "you may see (counted in their current unit). Every figure shows its n; "
                f"groups of fewer than {metrics.MIN_GROUP} are shown to executives without "
                "their figures.",
                className="text-body-secondary",
            ),
            html.Div(
                className="row g-3 align-items-end mb-3",
                children=[
                    components.picker("Module", dcc.Dropdown(
                        id=MODULE, options=[], value=None, placeholder="Every module",
                    ), MODULE),
                    components.picker("Unit (with everything below it)", dcc.Dropdown(
                        id=UNIT, options=[], value=None, placeholder="Your whole scope",
                    ), UNIT),
                    components.picker("Period", dcc.DatePickerRange(
                        id=PERIOD, start_date=start.isoformat(), end_date=end.isoformat(),
                        display_format="YYYY-MM-DD",
                    ), PERIOD),
                ],
            ),
            html.Div(
                className="row",
                children=[
                    components.section("training", "completion", "Completion by unit against due dates", COMPLETION_N,
                            components.graph(COMPLETION_FIGURE)),
                    components.section("training", "reaction", "Reaction: how useful learners found it", REACTION_N,
                            components.graph(REACTION_FIGURE), "col-lg-6"),
                    components.section("training", "learning", "Learning: knowledge checks", LEARNING_N,
                            components.graph(LEARNING_FIGURE), "col-lg-6"),
                    components.section("training", "missed", "Most-missed questions (first attempts)", MISSED_N,
                            html.Div(id=MISSED_TABLE)),
                    components.section("training", "commitments", "Commitments and their follow-up", COMMITMENTS_N,
                            components.graph(COMMITMENTS_FIGURE)),
                    components.section("training", "behaviour", "Behaviour: completers against not-yet-trained "
                            "colleagues", BEHAVIOUR_N, components.graph(BEHAVIOUR_FIGURE)),
                    components.section("training", "external", "Learning recorded by other systems (xAPI)",
                            EXTERNAL_N, html.Div(id=EXTERNAL_TABLE)),
                    html.Section(
                        className="col-12 mb-4",
                        **{"aria-labelledby": "training-results-heading"},
                        children=[
                            html.H2("Results: customer outcomes", id="training-results-heading",
                                    className="h5"),
                            html.P(RESULTS_ON_EVIDENCE, id="training-results-note",
                                   className="text-body-secondary"),
                        ],
                    ),
                ],
            ),
        ],
    )


# --- what the charts say in words --------------------------------------------------------------


def _period(f: Filters) -> str:
    """The period in words."""
    return f"{f.start.isoformat()} to {f.end.isoformat()}"


def completion_text(frame: pd.DataFrame, f: Filters) -> str:
    """The n of the completion chart and its rule."""
    if frame.empty:
        return f"{figures.NO_ASSIGNMENTS}."
    n = int(frame.groupby("unit")["n"].first().sum())
    return (
        f"n = {n} assignees of assignments running in {_period(f)}, status on "
        f"{f.today.isoformat()}: completed on or before the due date (on time) or after it "
        "(late); not completed and past the due date (overdue) or not."
    )


def reaction_text(frame: pd.DataFrame) -> str:
    """The n of the reaction chart."""
    if frame.empty:
        return f"{figures.NO_REACTIONS}."
    return (
        f"n = {int(frame['n'].sum())} reactions of learners who completed in the period; "
        "mean with its 95% interval (t), n per module on its label."
    )


def learning_text(frame: pd.DataFrame) -> str:
    """The n of the learning chart."""
    if frame.empty:
        return f"{figures.NO_ATTEMPTS}."
    return (
        f"n = {int(frame['first_attempts'].sum())} first attempts (learner × check) in the "
        "period; pass rate at the first attempt and at any attempt, mean first-attempt score in "
        "the tooltip."
    )


def missed_table(frame: pd.DataFrame) -> html.Table | html.P:
    """The most-missed questions as an accessible table."""
    if frame.empty:
        return html.P("No question was answered often enough at a first attempt to list.",
                      className="text-body-secondary")
    return components.table(
        "Questions most often answered wrong at the first attempt",
        ["Question", "Module", "Wrong at first attempt", "n answers"],
        [(r.prompt, r.module, f"{r.share_wrong:.0%} ({int(r.wrong)})", int(r.n))
         for r in frame.itertuples(index=False)],
    )


def missed_text(frame: pd.DataFrame, f: Filters) -> str:
    """The n of the most-missed questions."""
    if frame.empty:
        return "No first attempts to rank."
    rule = "" if f.min_group <= 1 else f" Questions with fewer than {f.min_group} answers are left out."
    return (
        f"{len(frame)} question(s), worst first; n = first-attempt answers to each question.{rule}"
    )


def _count(value) -> str:
    return "–" if value is None or pd.isna(value) else str(int(value))


def external_table(frame: pd.DataFrame) -> html.Table | html.P:
    """The activities of other learning systems as an accessible table."""
    if frame.empty:
        return html.P("No other learning system has sent records for these people and this period.",
                      className="text-body-secondary")
    return components.table(
        "Learners with a record from another learning system, by outcome",
        ["Activity", "Learners", "Completed", "Passed", "Failed an attempt"],
        [((r.name, r.activity), int(r.learners), _count(r.completed), _count(r.passed), _count(r.failed))
         for r in frame.itertuples(index=False)],
    )


def external_text(frame: pd.DataFrame, f: Filters, unattributed: tuple[int, int]) -> str:
    """The n of the external-learning table, its rule, and what could not be attributed."""
    statements, actors = unattributed
    elsewhere = (f" {statements} record(s) of {actors} learner(s) not on the roster are kept apart until a "
                 "roster import names them." if statements else "")
    if frame.empty:
        return f"No records in {_period(f)}.{elsewhere}"
    rule = "" if f.min_group <= 1 else f" Activities with fewer than {f.min_group} learners show their n only."
    return (f"n = learners with a record in {_period(f)}; a learner who failed and then passed counts "
            f"under both. The module filter does not apply.{rule}{elsewhere}")


def commitments_text(frame: pd.DataFrame, made: tuple[int, int]) -> str:
    """The n of the follow-up chart."""
    total, with_behaviour = made
    if frame.empty:
        return f"{figures.NO_COMMITMENTS}."
    return (
        f"n = {total} commitments made in the period ({with_behaviour} naming a key behaviour); "
        "each is asked about at 30, 60 and 90 days, n per follow-up on its label."
    )


def behaviour_text(frame: pd.DataFrame) -> str:
    """The n of the forest plot and how to read it."""
    if frame.empty:
        return f"{figures.NO_BEHAVIOURS}."
    estimated = frame["estimate"].notna()
    return (
        f"{int(estimated.sum())} of {len(frame)} module × behaviour pair(s) with an estimate: the "
        "change in weekly events from the 4 weeks before the completion week to the 4 weeks "
        "after it, among completers, minus the change among colleagues of the module's "
        "audience not yet trained, over the same calendar weeks; 95% interval. Fewer than "
        f"{metrics.MIN_COMPLETERS} completers or {metrics.MIN_COMPARISON} comparison people: "
        f"“{metrics.NOT_ENOUGH_DATA}”. An interval that includes 0 is no evidence of a change."
    )


# --- callbacks ---------------------------------------------------------------------------------

FILTER_INPUTS = (
    Input(MODULE, "value"), Input(UNIT, "value"),
    Input(PERIOD, "start_date"), Input(PERIOD, "end_date"),
)


def _filters(module, unit, start, end) -> tuple[Scope, Filters]:
    """The signed-in user's scope (from the session, never the request body) and filters."""
    scope = current_scope()
    return scope, filters(scope, module, unit, start, end, clock.org_today())


def _frame_or_problem(build: Callable[[Scope, Filters], pd.DataFrame], module, unit, start, end):
    """The chart's frame for the signed-in user, or (None, why it cannot be shown)."""
    scope, f = _filters(module, unit, start, end)
    try:
        return build(scope, f), f, None
    except Unavailable as why:
        return None, f, str(why)


def _register_download(app: Dash, key: str, build: Callable[[Scope, Filters], pd.DataFrame]):
    """Add the CSV download callback of chart ``key`` to ``app``."""

    @app.callback(
        Output(f"training-{key}-download", "data"),
        Input(f"training-{key}-csv", "n_clicks"),
        State(MODULE, "value"),
        State(UNIT, "value"),
        State(PERIOD, "start_date"),
        State(PERIOD, "end_date"),
        prevent_initial_call=True,
    )
    def download_csv(_clicks, module, unit, start, end):
        """The chart's own frame as CSV; nothing at all when the chart has nothing to show."""
        frame, _f, problem = _frame_or_problem(build, module, unit, start, end)
        if problem is not None:
            raise PreventUpdate
        return components.send_csv(frame, f"training-{key}.csv")


def register(app: Dash) -> None:
    """Add the page's callbacks to ``app``."""

    @app.callback(Output(MODULE, "options"), Output(UNIT, "options"),
                  Input(PERIOD, "start_date"))
    def fill_pickers(_start):
        """Offer the modules with results and only the units in the signed-in user's scope."""
        scope = current_scope()
        if scope.role.value not in ROLES:
            return [], []
        modules = training_queries.modules(scope)
        units = queries.units_in_scope(scope)
        return (
            [{"label": r.title, "value": int(r.module_id)} for r in modules.itertuples(index=False)],
            [{"label": r.path, "value": int(r.unit_id)} for r in units.itertuples(index=False)],
        )

    @app.callback(*components.chart_outputs(COMPLETION_FIGURE), Output(COMPLETION_N, "children"),
                  *FILTER_INPUTS)
    def show_completion(module, unit, start, end):
        """Completion: assignees' facts per unit → statuses per child unit → stacked bars."""
        frame, f, problem = _frame_or_problem(completion_frame, module, unit, start, end)
        if problem is not None:
            return *components.chart(empty_figure(problem)), problem
        return *components.chart(figures.completion_figure(frame), rows="Unit"), completion_text(frame, f)

    @app.callback(*components.chart_outputs(REACTION_FIGURE), Output(REACTION_N, "children"),
                  *FILTER_INPUTS)
    def show_reaction(module, unit, start, end):
        """Reaction: Σ and Σ² of scores per module → mean and interval → points with bars."""
        frame, _f, problem = _frame_or_problem(reaction_frame, module, unit, start, end)
        if problem is not None:
            return *components.chart(empty_figure(problem)), problem
        return *components.chart(figures.reaction_figure(frame), rows="Module"), reaction_text(frame)

    @app.callback(*components.chart_outputs(LEARNING_FIGURE), Output(LEARNING_N, "children"),
                  *FILTER_INPUTS)
    def show_learning(module, unit, start, end):
        """Learning: first-attempt sums per module → rates → grouped bars."""
        frame, _f, problem = _frame_or_problem(learning_frame, module, unit, start, end)
        if problem is not None:
            return *components.chart(empty_figure(problem)), problem
        return *components.chart(figures.learning_figure(frame), rows="Module"), learning_text(frame)

    @app.callback(Output(MISSED_TABLE, "children"), Output(MISSED_N, "children"),
                  *FILTER_INPUTS)
    def show_missed(module, unit, start, end):
        """Most-missed questions: first-attempt answers per question → ranking → table."""
        frame, f, problem = _frame_or_problem(missed_frame, module, unit, start, end)
        if problem is not None:
            return html.P(problem, className="text-body-secondary"), problem
        return missed_table(frame), missed_text(frame, f)

    @app.callback(*components.chart_outputs(COMMITMENTS_FIGURE), Output(COMMITMENTS_N, "children"),
                  *FILTER_INPUTS)
    def show_commitments(module, unit, start, end):
        """Commitments: follow-ups per offset and answer → states → stacked bars."""
        frame, f, problem = _frame_or_problem(commitments_frame, module, unit, start, end)
        if problem is not None:
            return *components.chart(empty_figure(problem)), problem
        made = training_queries.commitments_made(current_scope(), f.focus, f.module_id,
                                                 f.start, f.end)
        return *components.chart(figures.follow_up_figure(frame), rows="Follow-up"), commitments_text(frame, made)

    @app.callback(*components.chart_outputs(BEHAVIOUR_FIGURE), Output(BEHAVIOUR_N, "children"),
                  *FILTER_INPUTS)
    def show_behaviour(module, unit, start, end):
        """Behaviour: weekly events of the audience → stacked panel → DiD → forest plot."""
        frame, _f, problem = _frame_or_problem(behaviour_frame, module, unit, start, end)
        if problem is not None:
            return *components.chart(empty_figure(problem)), problem
        return *components.chart(figures.did_figure(frame), rows="Module · behaviour"), behaviour_text(frame)

    @app.callback(Output(EXTERNAL_TABLE, "children"), Output(EXTERNAL_N, "children"),
                  *FILTER_INPUTS)
    def show_external(module, unit, start, end):
        """Other learning systems: learners per activity and outcome → table."""
        frame, f, problem = _frame_or_problem(external_frame, module, unit, start, end)
        if problem is not None:
            return html.P(problem, className="text-body-secondary"), problem
        unattributed = training_queries.external_unattributed(current_scope(), f.start, f.end)
        return external_table(frame), external_text(frame, f, unattributed)

    for key, build in CHARTS.items():
        _register_download(app, key, build)

