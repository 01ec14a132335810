"""Training effectiveness (T5, D4): completion against due dates, reaction, learning, commitments'
follow-up, and the behaviour difference-in-differences.

Pure: pandas, numpy and statsmodels only. No Flask, no database, no clock: ``today``, the last
complete day of telemetry and the organization's first weekday are passed in. The inputs are the
aggregate frames of ``dashboards.training_queries`` (or hand-built frames in tests). Definitions:
docs/metrics.md, section "Training".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

# statsmodels and scipy are imported in the functions that compute a statistic: together they are
# ~90 MB of a process's memory, which a process that never computes one (a CLI import, a background
# worker) need not hold; a web worker imports them once, at its first such request.
import numpy as np
import pandas as pd

from adoption.models.org import UNIT_PATH_SEPARATOR
from dashboards.metrics.adoption import week_of

# A group smaller than this is shown without its figures to scopes that do not see individuals
# (executives): a mean of two reactions is nearly two people's answers.
MIN_GROUP = 5
CONFIDENCE = 0.95

# Completion of an assignment, as of the day asked.
ON_TIME, LATE, OVERDUE, NOT_YET_DUE = "on_time", "late", "overdue", "not_yet_due"
COMPLETION_STATUSES = (ON_TIME, LATE, OVERDUE, NOT_YET_DUE)
COMPLETION_LABELS = {
    ON_TIME: "Completed on time",
    LATE: "Completed late",
    OVERDUE: "Overdue",
    NOT_YET_DUE: "Not yet due",
}
COMPLETION_COLUMNS = ["unit", "status", "label", "assignees", "share", "n", "hidden"]

# A commitment follow-up's state: the learner's answer, or why there is none.
DONE, PARTLY, NOT_YET = "done", "partly", "not_yet"
UNANSWERED, NOT_DUE = "unanswered", "not_due"
FOLLOW_UP_STATES = (DONE, PARTLY, NOT_YET, UNANSWERED, NOT_DUE)
FOLLOW_UP_LABELS = {
    DONE: "Done",
    PARTLY: "Partly",
    NOT_YET: "Not yet",
    UNANSWERED: "Asked, no answer",
    NOT_DUE: "Not asked yet",
}
FOLLOW_UP_COLUMNS = ["day_offset", "state", "label", "follow_ups", "share", "n", "hidden"]

REACTION_COLUMNS = ["module_id", "module", "n", "mean", "sd", "ci_low", "ci_high", "hidden"]
LEARNING_COLUMNS = [
    "module_id", "module", "first_attempts", "first_attempt_score", "first_attempt_pass_rate",
    "checks_taken", "pass_rate", "hidden",
]
MISSED_COLUMNS = ["question_id", "module", "prompt", "n", "wrong", "share_wrong", "hidden"]
EXTERNAL_COLUMNS = ["activity", "name", "learners", "completed", "passed", "failed", "hidden"]

# --- behaviour: difference-in-differences --------------------------------------------------------

#: Weeks before and after the completion week compared (the completion week itself is left out:
#: the learner was trained for only part of it).
WINDOW_WEEKS = 4
#: Below these, the analysis says "not enough data" instead of an estimate.
MIN_COMPLETERS = 10
MIN_COMPARISON = 10
NOT_ENOUGH_DATA = "Not enough data"
PANEL_COLUMNS = ["cohort", "employee_id", "treated", "completed", "pre", "post", "change"]
DID_COLUMNS = [
    "module_id", "module", "behaviour", "estimate", "ci_low", "ci_high", "p_value",
    "n_completers", "n_comparison", "cohorts", "completers_pre", "completers_post",
    "comparison_pre", "comparison_post", "message",
]


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """``rows`` as a frame with exactly ``columns`` (in that order), also when there are none."""
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    return pd.DataFrame(rows, columns=columns)


def _share(part: float, whole: float) -> float:
    """``part / whole``, NaN for an empty whole."""
    return float(part) / float(whole) if whole else float("nan")


# --- completion by unit vs due dates ------------------------------------------------------------


def completion_status(completed_on: dt.date | None, due_on: dt.date, today: dt.date) -> str:
    """One assignment's status on ``today``: completed on time (on or before the due date) or
    late, and when not completed, overdue (the due date has passed) or not yet due."""
    if completed_on is not None and completed_on <= today:
        return ON_TIME if completed_on <= due_on else LATE
    return OVERDUE if due_on < today else NOT_YET_DUE


def unit_group(path: str, focus: str) -> str:
    """The row a unit of ``focus``'s subtree counts in: the child of ``focus`` it lies under,
    or ``focus`` itself (its direct members)."""
    if path == focus or not path.startswith(focus + UNIT_PATH_SEPARATOR):
        return focus
    child = path[len(focus) + 1 :].split(UNIT_PATH_SEPARATOR, 1)[0]
    return focus + UNIT_PATH_SEPARATOR + child


def completion_by_unit(counts: pd.DataFrame, focus: str, min_group: int = 1) -> pd.DataFrame:
    """Assignees per status in each unit directly below ``focus`` (and ``focus`` for its own
    people), with shares and the unit's n; units under ``min_group`` assignees are ``hidden``.

    ``counts`` has ``path`` (the assignee's unit), the facts ``completed`` (by today),
    ``on_time`` (completed on or before the due date), ``past_due`` (due before today), and
    ``assignees``; the status follows ``completion_status``.
    """
    if counts.empty:
        return _frame([], COMPLETION_COLUMNS)
    completed, on_time = counts["completed"].astype(bool), counts["on_time"].astype(bool)
    past_due = counts["past_due"].astype(bool)
    status = np.select(
        [completed & on_time, completed, past_due], [ON_TIME, LATE, OVERDUE], NOT_YET_DUE
    )
    grouped = counts.assign(
        unit=[unit_group(p, focus) for p in counts["path"]], status=status
    )
    table = (
        grouped.groupby(["unit", "status"])["assignees"].sum().unstack(fill_value=0)
        .reindex(columns=list(COMPLETION_STATUSES), fill_value=0)
    )
    rows = []
    for unit, statuses in table.iterrows():
        n = int(statuses.sum())
        hidden = n < min_group
        for status in COMPLETION_STATUSES:
            count = int(statuses[status])
            rows.append({
                "unit": unit, "status": status, "label": COMPLETION_LABELS[status],
                "assignees": None if hidden else count,
                "share": None if hidden else _share(count, n),
                "n": n, "hidden": hidden,
            })
    return _frame(rows, COMPLETION_COLUMNS)


# --- reaction and learning ----------------------------------------------------------------------


def mean_interval(n: int, total: float, total_squares: float) -> tuple[float, float, float, float]:
    """Mean, sample standard deviation and the 95% t-interval of the mean, from n, Σx and Σx²
    (interval NaN below two values)."""
    from scipy import stats

    if n <= 0:
        return (float("nan"),) * 4
    mean = total / n
    if n < 2:
        return mean, float("nan"), float("nan"), float("nan")
    variance = max(0.0, (total_squares - n * mean * mean) / (n - 1))
    sd = variance**0.5
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * sd / n**0.5
    return mean, sd, mean - half, mean + half


def reaction_by_module(sums: pd.DataFrame, min_group: int = 1) -> pd.DataFrame:
    """Mean usefulness (1–5) per module with its n and 95% interval.

    ``sums`` has ``module_id``, ``module``, ``n``, ``total`` (Σ score) and ``total_squares``.
    """
    rows = []
    for row in sums.itertuples(index=False):
        n = int(row.n)
        hidden = n < min_group
        mean, sd, low, high = mean_interval(n, float(row.total), float(row.total_squares))
        rows.append({
            "module_id": int(row.module_id), "module": row.module, "n": n,
            "mean": None if hidden else mean, "sd": None if hidden else sd,
            "ci_low": None if hidden else low, "ci_high": None if hidden else high,
            "hidden": hidden,
        })
    return _frame(rows, REACTION_COLUMNS)


def learning_by_module(sums: pd.DataFrame, min_group: int = 1) -> pd.DataFrame:
    """First-attempt score and pass rate, and the pass rate over all attempts, per module.

    ``sums`` has ``module_id``, ``module``, ``first_attempts``, ``first_score_total``,
    ``first_passed``, ``checks_taken`` (learner × check) and ``checks_passed``.
    """
    rows = []
    for row in sums.itertuples(index=False):
        first, taken = int(row.first_attempts), int(row.checks_taken)
        hidden = first < min_group
        rows.append({
            "module_id": int(row.module_id), "module": row.module,
            "first_attempts": first,
            "first_attempt_score": None if hidden else _share(row.first_score_total, first),
            "first_attempt_pass_rate": None if hidden else _share(row.first_passed, first),
            "checks_taken": taken,
            "pass_rate": None if hidden else _share(row.checks_passed, taken),
            "hidden": hidden,
        })
    return _frame(rows, LEARNING_COLUMNS)


def most_missed(answers: pd.DataFrame, limit: int = 10, min_group: int = 1) -> pd.DataFrame:
    """The questions most often answered wrong on a first attempt, worst first (ties: more
    answers first), at most ``limit``; questions under ``min_group`` answers are left out.

    ``answers`` has ``question_id``, ``module``, ``prompt``, ``n`` and ``wrong``.
    """
    if answers.empty:
        return _frame([], MISSED_COLUMNS)
    frame = answers[answers["n"].astype(int) >= max(1, min_group)].copy()
    if frame.empty:
        return _frame([], MISSED_COLUMNS)
    frame["n"] = frame["n"].astype(int)
    frame["wrong"] = frame["wrong"].astype(int)
    frame["share_wrong"] = frame["wrong"] / frame["n"]
    frame["hidden"] = False
    frame = frame.sort_values(["share_wrong", "n", "question_id"], ascending=[False, False, True])
    return frame.head(limit)[MISSED_COLUMNS].reset_index(drop=True)


# --- learning recorded by other systems ----------------------------------------------------------

#: The outcomes counted per activity, each a column of the frame.
EXTERNAL_OUTCOMES = ("completed", "passed", "failed")


def external_learning(counts: pd.DataFrame, any_verb: str, min_group: int = 1) -> pd.DataFrame:
    """One row per activity of another learning system, most learners first: its learners (with
    any record) and how many of them completed, passed and failed it. Activities with fewer
    than ``min_group`` learners keep their n only (``hidden``).

    ``counts`` has ``activity``, ``name``, ``verb`` (an outcome's name, or ``any_verb`` for the
    learners with any record) and ``learners``.
    """
    if counts.empty:
        return _frame([], EXTERNAL_COLUMNS)
    rows = []
    for activity, group in counts.groupby("activity", sort=False):
        by_verb = dict(zip(group["verb"], group["learners"].astype(int), strict=True))
        learners = by_verb.get(any_verb, 0)
        hidden = learners < max(1, min_group)
        names = group["name"].dropna()
        row = {"activity": activity, "name": names.iloc[0] if len(names) else activity,
               "learners": learners, "hidden": hidden}
        for outcome in EXTERNAL_OUTCOMES:
            row[outcome] = None if hidden else by_verb.get(outcome, 0)
        rows.append(row)
    frame = _frame(rows, EXTERNAL_COLUMNS)
    frame[list(EXTERNAL_OUTCOMES)] = frame[list(EXTERNAL_OUTCOMES)].astype("Int64")  # hidden: <NA>
    return frame.sort_values(["learners", "name"], ascending=[False, True]).reset_index(drop=True)


# --- commitments and their follow-up ------------------------------------------------------------


def follow_up_state(status: str | None, due_on: dt.date, today: dt.date) -> str:
    """A follow-up's state on ``today``: the learner's answer, else asked and unanswered (due on
    or before today) or not asked yet."""
    if status:
        return status
    return UNANSWERED if due_on <= today else NOT_DUE


def follow_ups_by_offset(counts: pd.DataFrame, min_group: int = 1) -> pd.DataFrame:
    """Follow-ups per state at 30, 60 and 90 days, with shares and each offset's n.

    ``counts`` has ``day_offset``, ``status`` (the answer, None while unanswered), ``asked``
    (due on or before today) and ``follow_ups``; the state follows ``follow_up_state``.
    """
    if counts.empty:
        return _frame([], FOLLOW_UP_COLUMNS)
    answered = counts["status"].notna() & (counts["status"].astype(str) != "")
    state = np.where(answered, counts["status"].astype(str),
                     np.where(counts["asked"].astype(bool), UNANSWERED, NOT_DUE))
    table = (
        counts.assign(state=state).groupby(["day_offset", "state"])["follow_ups"].sum().unstack(fill_value=0)
        .reindex(columns=list(FOLLOW_UP_STATES), fill_value=0)
        .sort_index()
    )
    rows = []
    for offset, states in table.iterrows():
        n = int(states.sum())
        hidden = n < min_group
        for state in FOLLOW_UP_STATES:
            count = int(states[state])
            rows.append({
                "day_offset": int(offset), "state": state, "label": FOLLOW_UP_LABELS[state],
                "follow_ups": None if hidden else count,
                "share": None if hidden else _share(count, n), "n": n, "hidden": hidden,
            })
    return _frame(rows, FOLLOW_UP_COLUMNS)


# --- behaviour: difference-in-differences -------------------------------------------------------


@dataclass(frozen=True)
class DidEstimate:
    """The difference-in-differences of one behaviour: completers' change in weekly rate minus
    the comparison group's over the same calendar weeks, with its 95% interval (or why not)."""

    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_completers: int
    n_comparison: int
    cohorts: int
    # Mean weekly rates before and after, for the reader (completers, then comparison).
    completers_pre: float | None = None
    completers_post: float | None = None
    comparison_pre: float | None = None
    comparison_post: float | None = None
    # Why there is no estimate; None when there is one.
    message: str | None = None


def post_window_end(cohort: dt.date) -> dt.date:
    """The last day of the post window of completers whose completion week starts ``cohort``."""
    return cohort + dt.timedelta(weeks=WINDOW_WEEKS + 1, days=-1)


def behaviour_panel(
    weekly: pd.DataFrame,
    people: pd.DataFrame,
    *,
    first_day: dt.date,
    last_day: dt.date,
    telemetry_through: dt.date,
    first_weekday: int,
) -> pd.DataFrame:
    """The stacked panel: for each completion week (cohort) in ``[first_day, last_day]`` whose
    post window ends by ``telemetry_through``, one row per completer of that week and per
    comparison person, with their mean weekly events in the 4 weeks before the cohort week and
    the 4 weeks after it (the cohort week itself left out).

    ``weekly`` has ``employee_id``, ``week_start`` (weeks starting on ``first_weekday``) and
    ``events`` (missing person-weeks are zero). ``people`` is everyone who may take part:
    ``employee_id``, ``completed_on`` (None when not completed), ``start_date`` and
    ``end_date`` (None when unknown / still employed). A person takes part in a cohort only when
    employed for its whole span; they are a comparison person when they had not completed the
    module by the end of the cohort's post window. ``completed`` is the person's completion day
    as a day number (``date.toordinal``; the largest date's when not completed), which
    ``restrict_panel`` reads.
    """
    if people.empty:
        return _frame([], PANEL_COLUMNS)
    ids = people["employee_id"].astype(int).to_numpy()
    completed = [c if isinstance(c, dt.date) else None for c in people["completed_on"]]
    cohort_of = [week_of(c, first_weekday) if c is not None else None for c in completed]
    wanted = sorted({
        w for w, c in zip(cohort_of, completed, strict=True)
        if c is not None and first_day <= c <= last_day
        and post_window_end(w) <= telemetry_through
    })
    if not wanted:
        return _frame([], PANEL_COLUMNS)
    # Dense person × week matrix of events over every week any cohort needs.
    origin = wanted[0] - dt.timedelta(weeks=WINDOW_WEEKS)
    n_weeks = (wanted[-1] - origin).days // 7 + WINDOW_WEEKS + 1
    events = np.zeros((len(ids), n_weeks))
    if not weekly.empty:
        row_of = pd.Series(np.arange(len(ids)), index=ids)
        days = pd.to_datetime(weekly["week_start"]) - pd.Timestamp(origin)
        week_index = (days.dt.days // 7).to_numpy()
        rows = row_of.reindex(weekly["employee_id"].astype(int).to_numpy()).to_numpy()
        keep = ~np.isnan(rows) & (week_index >= 0) & (week_index < n_weeks)
        np.add.at(events, (rows[keep].astype(int), week_index[keep]),
                  weekly["events"].to_numpy(dtype=float)[keep])
    # Dates as day numbers, so the per-cohort selections are vectorized integer comparisons.
    start = _ordinals(people["start_date"], dt.date.min)
    end = _ordinals(people["end_date"], dt.date.max)
    completed_arr = _ordinals(completed, dt.date.max)
    cohort_arr = _ordinals(cohort_of, dt.date.min)
    first_n, last_n = first_day.toordinal(), last_day.toordinal()
    parts = []
    for cohort in wanted:
        k = (cohort - origin).days // 7
        pre_start = (cohort - dt.timedelta(weeks=WINDOW_WEEKS)).toordinal()
        post_end = post_window_end(cohort).toordinal()
        employed = (start <= pre_start) & (end > post_end)
        treated = employed & (cohort_arr == cohort.toordinal()) & (completed_arr >= first_n) \
            & (completed_arr <= last_n)
        comparison = employed & (completed_arr > post_end)
        take = treated | comparison
        if not treated.any():
            continue
        pre = events[take, k - WINDOW_WEEKS : k].mean(axis=1)
        post = events[take, k + 1 : k + 1 + WINDOW_WEEKS].mean(axis=1)
        parts.append(pd.DataFrame({
            "cohort": cohort, "employee_id": ids[take], "treated": treated[take],
            "completed": completed_arr[take], "pre": pre, "post": post, "change": post - pre,
        }))
    if not parts:
        return _frame([], PANEL_COLUMNS)
    return pd.concat(parts, ignore_index=True)


def restrict_panel(
    panel: pd.DataFrame, employee_ids, first_day: dt.date, last_day: dt.date
) -> pd.DataFrame:
    """The part of a panel built over every cohort (``behaviour_panel`` with the widest period)
    that ``behaviour_panel`` would build for the people ``employee_ids`` and the completions from
    ``first_day`` to ``last_day``: their completers of that period, and their comparison people in
    the cohorts that keep at least one completer.

    Membership of the comparison group does not depend on the period (not completed by the end
    of the cohort's post window), so filtering the wide panel gives the same rows as building
    the narrow one, without reading the telemetry again.
    """
    if panel.empty:
        return panel
    people = panel["employee_id"].isin(np.asarray(employee_ids)).to_numpy()
    treated = panel["treated"].to_numpy(dtype=bool)
    completed = panel["completed"].to_numpy(dtype=np.int64)
    in_period = (completed >= first_day.toordinal()) & (completed <= last_day.toordinal())
    completers = people & treated & in_period
    wanted = panel["cohort"].to_numpy()[completers]
    comparison = people & ~treated & panel["cohort"].isin(set(wanted)).to_numpy()
    return panel[completers | comparison].reset_index(drop=True)


def _ordinals(values, missing: dt.date) -> np.ndarray:
    """Dates as day numbers (``date.toordinal``), ``missing`` standing in for absent ones."""
    return np.array(
        [(v if isinstance(v, dt.date) else missing).toordinal() for v in values], dtype=np.int64
    )


def _mean(values: np.ndarray) -> float | None:
    """The mean of ``values``, None when there are none."""
    return float(values.mean()) if len(values) else None


def difference_in_differences(
    panel: pd.DataFrame,
    min_completers: int = MIN_COMPLETERS,
    min_comparison: int = MIN_COMPARISON,
) -> DidEstimate:
    """The stacked difference-in-differences of ``panel`` (see ``behaviour_panel``).

    OLS of each row's change (post − pre weekly rate) on ``treated`` with cohort fixed effects,
    absorbed by demeaning within cohort (Frisch–Waugh–Lovell, so the design never grows with the
    number of cohorts); standard errors cluster-robust by person, since a comparison person
    appears in several cohorts; t-based 95% interval with (persons − 1) degrees of freedom.
    Refuses (``NOT_ENOUGH_DATA``) below ``min_completers`` completers or ``min_comparison``
    comparison people.
    """
    if panel.empty:
        return DidEstimate(None, None, None, None, 0, 0, 0, message=NOT_ENOUGH_DATA)
    treated = panel["treated"].to_numpy(dtype=bool)
    people = panel["employee_id"].to_numpy()
    n_completers = len(np.unique(people[treated]))
    n_comparison = len(np.unique(people[~treated]))
    pre, post = panel["pre"].to_numpy(dtype=float), panel["post"].to_numpy(dtype=float)
    means = {
        "completers_pre": _mean(pre[treated]),
        "completers_post": _mean(post[treated]),
        "comparison_pre": _mean(pre[~treated]),
        "comparison_post": _mean(post[~treated]),
    }
    # Only cohorts that have both groups identify anything; the others are dropped.
    cohort = pd.factorize(panel["cohort"])[0]
    share_treated = np.bincount(cohort, weights=treated) / np.bincount(cohort)
    usable = (share_treated > 0) & (share_treated < 1)
    cohorts = int(usable.sum())
    if n_completers < min_completers or n_comparison < min_comparison or not cohorts:
        return DidEstimate(None, None, None, None, n_completers, n_comparison, cohorts,
                           message=NOT_ENOUGH_DATA, **means)
    keep = usable[cohort]
    change = panel["change"].to_numpy(dtype=float)[keep]
    return _fit(change, treated[keep], cohort[keep], people[keep], n_completers, n_comparison,
                cohorts, means)


def _within(values: np.ndarray, cohort: np.ndarray) -> np.ndarray:
    """``values`` minus their cohort's mean (the cohort fixed effect absorbed)."""
    means = np.bincount(cohort, weights=values) / np.bincount(cohort)
    return values - means[cohort]


def _fit(
    change: np.ndarray,
    treated: np.ndarray,
    cohort: np.ndarray,
    people: np.ndarray,
    n_completers: int,
    n_comparison: int,
    cohorts: int,
    means: dict,
) -> DidEstimate:
    """The cohort-demeaned OLS with person-clustered errors behind ``difference_in_differences``."""
    import statsmodels.api as sm

    x = _within(treated.astype(float), cohort)
    y = _within(change, cohort)
    groups = pd.factorize(people)[0]
    fit = sm.OLS(y, x[:, None]).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    low, high = fit.conf_int(alpha=1 - CONFIDENCE)[0]
    return DidEstimate(
        estimate=float(fit.params[0]), ci_low=float(low), ci_high=float(high),
        p_value=float(fit.pvalues[0]), n_completers=n_completers, n_comparison=n_comparison,
        cohorts=cohorts, **means,
    )


def did_row(module_id: int, module: str, behaviour: str, result: DidEstimate) -> dict[str, Any]:
    """One row of the behaviour frame (the forest plot and its CSV) for one module × behaviour."""
    return {
        "module_id": module_id, "module": module, "behaviour": behaviour,
        "estimate": result.estimate, "ci_low": result.ci_low, "ci_high": result.ci_high,
        "p_value": result.p_value, "n_completers": result.n_completers,
        "n_comparison": result.n_comparison, "cohorts": result.cohorts,
        "completers_pre": result.completers_pre, "completers_post": result.completers_post,
        "comparison_pre": result.comparison_pre, "comparison_post": result.comparison_post,
        "message": result.message,
    }


def did_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The behaviour rows as the forest plot's frame, in module then behaviour order."""
    return _frame(rows, DID_COLUMNS)
