"""The behaviour difference-in-differences: hand-built panels with known answers, then simulated
organizations with a planted effect and with none (seeded, small, fast)."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from dashboards.metrics import training as metrics

MONDAY = 0
COHORT = dt.date(2026, 3, 9)  # a Monday: the completion week of the hand-built completers
COMPLETED = dt.date(2026, 3, 11)
PRE_WEEKS = [COHORT - dt.timedelta(weeks=k) for k in (4, 3, 2, 1)]
POST_WEEKS = [COHORT + dt.timedelta(weeks=k) for k in (1, 2, 3, 4)]
THROUGH = metrics.post_window_end(COHORT)  # 2026-04-12, the last day of the post window


def person(employee_id, completed_on=None, start_date=None, end_date=None):
    """One row of the ``people`` frame."""
    return {"employee_id": employee_id, "completed_on": completed_on,
            "start_date": start_date, "end_date": end_date}


def usage(employee_id, pre, post, cohort_week=0):
    """Weekly rows: ``pre`` events in each of the 4 weeks before, ``post`` in each after, and
    ``cohort_week`` in the completion week itself (which the analysis leaves out)."""
    rows = [(employee_id, w, pre) for w in PRE_WEEKS] + [(employee_id, w, post) for w in POST_WEEKS]
    rows.append((employee_id, COHORT, cohort_week))
    return rows


def frames(people, rows):
    """The ``people`` and ``weekly`` frames from lists."""
    return (pd.DataFrame(rows, columns=["employee_id", "week_start", "events"]),
            pd.DataFrame(people))


def panel_of(weekly, people, through=THROUGH, first=dt.date(2026, 1, 1), last=dt.date(2026, 6, 30)):
    """The stacked panel with the test's defaults."""
    return metrics.behaviour_panel(weekly, people, first_day=first, last_day=last,
                                   telemetry_through=through, first_weekday=MONDAY)


def hand_built():
    """10 completers whose weekly rate rises by 2 or 4 (mean +3), 10 colleagues by 0 or 2 (+1)."""
    people, rows = [], []
    for i in range(10):
        people.append(person(i, COMPLETED))
        rows += usage(i, pre=5 + i, post=5 + i + (2 if i % 2 else 4), cohort_week=100)
    for i in range(10, 20):
        people.append(person(i))
        rows += usage(i, pre=i, post=i + (0 if i % 2 else 2), cohort_week=100)
    return frames(people, rows)


def test_hand_built_panel_gives_the_exact_difference_in_differences():
    weekly, people = hand_built()
    result = metrics.difference_in_differences(panel_of(weekly, people))
    assert result.message is None
    assert result.estimate == pytest.approx(2.0)
    assert result.n_completers == 10 and result.n_comparison == 10 and result.cohorts == 1
    assert result.completers_pre == pytest.approx(9.5)
    assert result.completers_post == pytest.approx(12.5)
    assert result.comparison_pre == pytest.approx(14.5)
    assert result.comparison_post == pytest.approx(15.5)
    assert result.ci_low < 2.0 < result.ci_high


def test_the_completion_week_itself_is_left_out_of_both_windows():
    weekly, people = hand_built()
    panel = panel_of(weekly, people)
    # Every person had 100 events in the completion week; none of them shows up.
    assert panel["pre"].max() < 100 and panel["post"].max() < 100
    assert set(panel["cohort"]) == {COHORT}


def test_two_equal_cohorts_average_their_own_differences():
    rows = []
    for cohort, lift in ((dt.date(2026, 3, 2), 2.0), (dt.date(2026, 3, 9), 4.0)):
        for i in range(10):
            rows.append((cohort, i + (0 if cohort.day == 2 else 100), True, 1.0, 1.0 + lift + i % 2))
        for i in range(10):
            rows.append((cohort, 200 + i, False, 1.0, 1.0 + i % 2))
    panel = pd.DataFrame(rows, columns=["cohort", "employee_id", "treated", "pre", "post"])
    panel["change"] = panel["post"] - panel["pre"]
    assert metrics.difference_in_differences(panel).estimate == pytest.approx(3.0)


def test_colleagues_who_complete_within_the_post_window_are_not_comparison_people():
    weekly, people = hand_built()
    people.loc[people["employee_id"] == 10, "completed_on"] = THROUGH  # trained during the window
    people.loc[people["employee_id"] == 11, "completed_on"] = THROUGH + dt.timedelta(days=1)
    panel = panel_of(weekly, people)
    comparison = set(panel.loc[~panel["treated"], "employee_id"])
    assert 10 not in comparison and 11 in comparison


def test_people_not_employed_for_the_whole_span_take_no_part():
    weekly, people = hand_built()
    people.loc[people["employee_id"] == 0, "start_date"] = PRE_WEEKS[1]  # joined in the pre window
    people.loc[people["employee_id"] == 12, "end_date"] = POST_WEEKS[2]  # left in the post window
    panel = panel_of(weekly, people)
    assert 0 not in set(panel["employee_id"]) and 12 not in set(panel["employee_id"])


def test_a_cohort_whose_post_window_is_not_complete_is_left_out():
    weekly, people = hand_built()
    assert panel_of(weekly, people, through=THROUGH - dt.timedelta(days=1)).empty


def test_completions_outside_the_period_make_no_cohort():
    weekly, people = hand_built()
    assert panel_of(weekly, people, first=COMPLETED + dt.timedelta(days=1)).empty


@pytest.mark.parametrize("completers, colleagues", [(9, 10), (10, 9)])
def test_too_few_completers_or_colleagues_is_not_enough_data(completers, colleagues):
    weekly, people = hand_built()
    keep = list(range(completers)) + list(range(10, 10 + colleagues))
    people = people[people["employee_id"].isin(keep)]
    result = metrics.difference_in_differences(panel_of(weekly, people))
    assert result.estimate is None and result.ci_low is None
    assert result.message == metrics.NOT_ENOUGH_DATA
    assert (result.n_completers, result.n_comparison) == (completers, colleagues)


def test_no_completer_at_all_is_not_enough_data():
    result = metrics.difference_in_differences(metrics.behaviour_panel(
        pd.DataFrame(columns=["employee_id", "week_start", "events"]),
        pd.DataFrame([person(1)]), first_day=COHORT, last_day=THROUGH,
        telemetry_through=THROUGH, first_weekday=MONDAY))
    assert result.message == metrics.NOT_ENOUGH_DATA and result.n_completers == 0


# --- simulated organizations ----------------------------------------------------------------------

FIRST_WEEK = dt.date(2026, 1, 5)  # a Monday
N_WEEKS = 16
COHORTS = [FIRST_WEEK + dt.timedelta(weeks=k) for k in (5, 6, 7, 8)]


def simulate(rng, effect, completers=40, colleagues=60):
    """Weekly events of a small organization: each person has their own rate, every week a common
    shock, Poisson noise; completers are spread over four completion weeks and gain ``effect``
    events a week from the week after completion. Colleagues never complete."""
    people = completers + colleagues
    rates = rng.gamma(4.0, 1.5, size=people)  # mean 6 events a week, varying between people
    shocks = rng.normal(0.0, 1.0, size=N_WEEKS)
    weeks = np.arange(N_WEEKS)
    cohort_index = np.full(people, N_WEEKS + 10)
    cohort_index[:completers] = np.repeat([5, 6, 7, 8], completers // 4)
    lift = effect * (weeks[None, :] > cohort_index[:, None])
    mean = np.clip(rates[:, None] + shocks[None, :] + lift, 0.05, None)
    counts = rng.poisson(mean)
    week_starts = [FIRST_WEEK + dt.timedelta(weeks=int(w)) for w in weeks]
    weekly = pd.DataFrame({
        "employee_id": np.repeat(np.arange(people), N_WEEKS),
        "week_start": week_starts * people,
        "events": counts.ravel(),
    })
    completed = [FIRST_WEEK + dt.timedelta(weeks=int(c), days=2) if c < N_WEEKS else None
                 for c in cohort_index]
    population = pd.DataFrame({"employee_id": np.arange(people), "completed_on": completed,
                               "start_date": None, "end_date": None})
    return weekly, population


def estimate(weekly, population):
    """The analysis over the whole simulated period."""
    panel = metrics.behaviour_panel(
        weekly, population, first_day=FIRST_WEEK, last_day=FIRST_WEEK + dt.timedelta(weeks=N_WEEKS),
        telemetry_through=FIRST_WEEK + dt.timedelta(weeks=N_WEEKS, days=-1),
        first_weekday=MONDAY)
    return metrics.difference_in_differences(panel)


def test_a_planted_effect_is_recovered_within_its_interval():
    result = estimate(*simulate(np.random.default_rng(20261123), effect=1.5))
    assert result.n_completers == 40 and result.n_comparison == 60 and result.cohorts == 4
    assert result.ci_low <= 1.5 <= result.ci_high
    assert result.ci_low > 0 and result.p_value < 0.05


def test_a_null_effects_interval_contains_zero_in_at_least_90_percent_of_200_runs():
    rng = np.random.default_rng(7)
    covered = 0
    for _ in range(200):
        result = estimate(*simulate(rng, effect=0.0))
        covered += result.ci_low <= 0.0 <= result.ci_high
    assert covered >= 180


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_wide_panel_cut_to_people_and_a_period_equals_the_panel_built_for_them(seed):
    # The dashboard builds one panel over every cohort and cuts it per request; the cut must be
    # exactly the panel built from the chosen people's telemetry for the chosen period.
    rng = np.random.default_rng(seed)
    weekly, population = simulate(rng, effect=1.0)
    through = FIRST_WEEK + dt.timedelta(weeks=N_WEEKS, days=-1)
    wide = metrics.behaviour_panel(weekly, population, first_day=FIRST_WEEK, last_day=through,
                                   telemetry_through=through, first_weekday=MONDAY)
    chosen = np.sort(rng.choice(population["employee_id"], size=len(population) // 2, replace=False))
    # A period that starts and ends mid-week, so edge cohorts keep only part of their completers.
    first = FIRST_WEEK + dt.timedelta(weeks=int(rng.integers(4, 7)), days=3)
    last = first + dt.timedelta(weeks=3, days=2)
    narrow = metrics.behaviour_panel(
        weekly[weekly["employee_id"].isin(chosen)],
        population[population["employee_id"].isin(chosen)].reset_index(drop=True),
        first_day=first, last_day=last, telemetry_through=through, first_weekday=MONDAY)
    cut = metrics.restrict_panel(wide, chosen, first, last)

    assert not narrow.empty and narrow["treated"].any()
    order = ["cohort", "employee_id"]
    pd.testing.assert_frame_equal(cut.sort_values(order).reset_index(drop=True),
                                  narrow.sort_values(order).reset_index(drop=True))
    assert metrics.difference_in_differences(cut) == metrics.difference_in_differences(narrow)
