"""Adoption metrics: weekly rates, key-behaviour shares, the unit × week grid and units at risk.

Frames come from the weekly rollups (``weekly_unit_usage``: licensed and active people per week
and unit). A rate whose denominator is zero is missing (NaN), never 0: "nobody licensed" is not
"nobody used it".
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

# Repeated from ``adoption.models.org`` so metrics import neither Flask nor the models.
UNIT_PATH_SEPARATOR = "/"
# Cells (and units) with fewer licensed people than this are shown but marked: one person
# moves such a rate by 20 points or more.
MIN_N = 5
# "Falling for 3 consecutive weeks" needs 4 weekly rates: three drops in a row.
FALLING_WEEKS = 3

WEEKLY_COLUMNS = ["week_start", "licensed", "active", "adoption_rate"]
BEHAVIOUR_COLUMNS = ["week_start", "event_type", "people", "licensed", "share"]
GRID_COLUMNS = ["unit_id", "path", "week_start", "licensed", "active", "adoption_rate", "small_n"]


def week_of(day: dt.date, first_weekday: int) -> dt.date:
    """The first day of the week containing ``day`` (0 = weeks start on Monday)."""
    return day - dt.timedelta(days=(day.weekday() - first_weekday) % 7)


def weeks_in_period(start: dt.date, end: dt.date, first_weekday: int) -> list[dt.date]:
    """First days of every week that overlaps ``start``–``end`` (both included), in order."""
    if end < start:
        return []
    week, last = week_of(start, first_weekday), week_of(end, first_weekday)
    weeks = []
    while week <= last:
        weeks.append(week)
        week += dt.timedelta(days=7)
    return weeks


def last_whole_week(last_day: dt.date, first_weekday: int) -> dt.date:
    """The first day of the latest week whose last day is on or before ``last_day``."""
    return week_of(last_day + dt.timedelta(days=1), first_weekday) - dt.timedelta(days=7)


def complete_weeks(weeks: list[dt.date], end: dt.date) -> list[dt.date]:
    """The weeks of ``weeks`` whose last day is on or before ``end`` (a running week is partial)."""
    return [w for w in weeks if w + dt.timedelta(days=6) <= end]


def rate(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """``numerator / denominator`` as floats, NaN where the denominator is zero or missing."""
    denominator = denominator.astype("float64")
    return (numerator.astype("float64") / denominator).where(denominator > 0)


def weekly_adoption(usage: pd.DataFrame, weeks: list[dt.date]) -> pd.DataFrame:
    """One row per week of ``weeks``: licensed, active and their ratio (NaN with nobody licensed).

    ``usage`` has ``week_start``, ``licensed`` and ``active``; weeks it lacks get zero people.
    """
    frame = (
        usage.groupby("week_start")[["licensed", "active"]].sum()
        if not usage.empty
        else pd.DataFrame(columns=["licensed", "active"])
    )
    frame = frame.reindex(pd.Index(weeks, name="week_start"), fill_value=0).reset_index()
    frame[["licensed", "active"]] = frame[["licensed", "active"]].astype("int64")
    frame["adoption_rate"] = rate(frame["active"], frame["licensed"])
    return frame[WEEKLY_COLUMNS]


def behaviour_shares(
    behaviours: pd.DataFrame, weekly: pd.DataFrame, key_behaviours: list[str]
) -> pd.DataFrame:
    """Share of licensed people performing each key behaviour, per week of ``weekly``.

    ``behaviours`` has ``week_start``, ``event_type``, ``people``; ``weekly`` is the output of
    ``weekly_adoption`` (its ``licensed`` is the denominator). Every behaviour gets every week.
    """
    if not key_behaviours or weekly.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in BEHAVIOUR_COLUMNS})
    grid = pd.MultiIndex.from_product(
        [weekly["week_start"].tolist(), list(key_behaviours)], names=["week_start", "event_type"]
    )
    people = (
        behaviours[behaviours["event_type"].isin(key_behaviours)]
        .groupby(["week_start", "event_type"])["people"]
        .sum()
        if not behaviours.empty
        else pd.Series(dtype="int64")
    )
    frame = people.reindex(grid, fill_value=0).rename("people").reset_index()
    frame["people"] = frame["people"].astype("int64")
    frame = frame.merge(weekly[["week_start", "licensed"]], on="week_start", how="left")
    frame["share"] = rate(frame["people"], frame["licensed"])
    return frame[BEHAVIOUR_COLUMNS]


def adoption_grid(units: pd.DataFrame, weeks: list[dt.date], min_n: int = MIN_N) -> pd.DataFrame:
    """Unit × week adoption rates: every unit of ``units`` gets every week; small cells marked.

    ``units`` has ``unit_id``, ``path``, ``week_start``, ``licensed``, ``active`` (one row per
    unit and week at most). ``small_n`` is True where 1 to ``min_n - 1`` people are licensed.
    """
    if units.empty or not weeks:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in GRID_COLUMNS})
    names = units.drop_duplicates("unit_id").set_index("unit_id")["path"]
    grid = pd.MultiIndex.from_product(
        [names.index.tolist(), weeks], names=["unit_id", "week_start"]
    )
    frame = (
        units.groupby(["unit_id", "week_start"])[["licensed", "active"]]
        .sum()
        .reindex(grid, fill_value=0)
        .reset_index()
    )
    frame[["licensed", "active"]] = frame[["licensed", "active"]].astype("int64")
    frame["path"] = frame["unit_id"].map(names)
    frame["adoption_rate"] = rate(frame["active"], frame["licensed"])
    # An empty cell has no rate to doubt; only a rate over a few people is marked.
    frame["small_n"] = (frame["licensed"] > 0) & (frame["licensed"] < min_n)
    return frame.sort_values(["path", "week_start"], ignore_index=True)[GRID_COLUMNS]


def subtree_totals(units: pd.DataFrame, root: str) -> pd.DataFrame:
    """Per-unit weekly counts summed into every unit from ``root`` down (subtree totals).

    ``units`` has one row per unit and week with the people counted in that unit itself
    (``path``, ``week_start``, ``licensed``, ``active``), all at or below the path ``root``; a
    unit's total is its own rows plus those of every unit below it. A unit between ``root`` and
    a row's unit counts even without rows of its own (a region whose people all sit in teams);
    nothing above ``root`` is ever made up.
    """
    columns = ["path", "week_start", "licensed", "active"]
    if units.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    below = root + UNIT_PATH_SEPARATOR

    def ancestors(path: str) -> list[str]:
        """``path`` and every ancestor of it from ``root`` down."""
        parts = path.split(UNIT_PATH_SEPARATOR)
        prefixes = (UNIT_PATH_SEPARATOR.join(parts[: i + 1]) for i in range(len(parts)))
        return [p for p in prefixes if p == root or p.startswith(below)]

    groups = {path: ancestors(path) for path in set(units["path"])}
    # One copy of each row per unit it counts towards, then one sum per unit and week.
    frame = (
        units.assign(group=units["path"].map(groups))
        .explode("group")
        .dropna(subset=["group"])
        .groupby(["group", "week_start"])[["licensed", "active"]]
        .sum()
        .reset_index()
        .rename(columns={"group": "path"})
    )
    frame[["licensed", "active"]] = frame[["licensed", "active"]].astype("int64")
    return frame[columns]


def units_at_risk(
    units: pd.DataFrame,
    target: float,
    weeks: list[dt.date],
    *,
    falling_weeks: int = FALLING_WEEKS,
    min_licensed: int = MIN_N,
) -> pd.DataFrame:
    """Units below ``target`` in the last of ``weeks`` whose rate fell in each of the last
    ``falling_weeks`` weeks (strictly, week over week).

    ``units`` has ``path``, ``week_start``, ``licensed``, ``active`` (subtree totals);
    ``target`` is a share (0–1); ``weeks`` are the complete weeks to judge, oldest first. A unit
    needs a rate in each of the last ``falling_weeks + 1`` weeks and at least ``min_licensed``
    people licensed in the last one: smaller units swing too much to call a trend. The result
    has the unit, its licensed count in the last week, one column per week's rate (named by the
    week's first day) and the target, most-fallen first.
    """
    window = list(weeks)[-(falling_weeks + 1) :]
    week_columns = [w.isoformat() for w in window]
    columns = ["path", "licensed", *week_columns, "target"]
    if units.empty or len(window) < falling_weeks + 1:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    counts = (
        units[units["week_start"].isin(window)]
        .groupby(["path", "week_start"])[["licensed", "active"]]
        .sum()
    )
    if counts.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    # Units × weeks; a week with no row for a unit stays NaN, so its rate is missing, not 0.
    licensed = counts["licensed"].unstack("week_start").reindex(columns=window).astype("float64")
    active = counts["active"].unstack("week_start").reindex(columns=window).astype("float64")
    rates = (active / licensed).where(licensed > 0)
    last_licensed = licensed[window[-1]].fillna(0).astype("int64")
    complete = rates.notna().all(axis=1)
    falling = (rates.diff(axis=1).iloc[:, 1:] < 0).all(axis=1)
    below = rates[window[-1]] < target
    flagged = complete & falling & below & (last_licensed >= min_licensed)
    result = rates[flagged].copy()
    result.columns = week_columns
    result.insert(0, "licensed", last_licensed[flagged])
    result["target"] = float(target)
    result["drop"] = result[week_columns[0]] - result[week_columns[-1]]
    result = result.reset_index().sort_values(["drop", "path"], ascending=[False, True])
    return result[columns].reset_index(drop=True)
