"""Organization metrics: headcount and CRM licences rolled up the unit tree."""

from __future__ import annotations

import pandas as pd

# The separator of ``OrgUnit.path``, repeated here so metrics import neither Flask nor the models;
# a test checks it still matches ``adoption.models.org.UNIT_PATH_SEPARATOR``.
UNIT_PATH_SEPARATOR = "/"
ROLLUP_COLUMNS = ["path", "name", "depth", "units", "employees", "licensed", "licence_share"]


def _group_path(path: str, depth: int, known: set[str]) -> str:
    """The unit ``path`` counts towards at ``depth``: its ancestor there, if that unit is known.

    An ancestor missing from ``known`` (outside the user's scope) is never invented: the row
    falls to the next known unit below it, at worst to itself.
    """
    parts = path.split(UNIT_PATH_SEPARATOR)
    own_depth = len(parts) - 1
    for d in range(min(depth, own_depth), own_depth + 1):
        candidate = UNIT_PATH_SEPARATOR.join(parts[: d + 1])
        if candidate in known:
            return candidate
    return path


def licence_share(employees: pd.Series, licensed: pd.Series) -> pd.Series:
    """Licensed people as a share of people (0–1); missing where a unit has nobody."""
    employees = employees.astype("float64")
    return (licensed.astype("float64") / employees).where(employees > 0)


def roll_up(units: pd.DataFrame, depth: int) -> pd.DataFrame:
    """Sum per-unit ``employees`` and ``licensed`` into the units at ``depth`` (0 = company).

    ``units`` has one row per unit (``path``, ``name``, ``employees``, ``licensed``). Units above
    ``depth`` keep their own row (people attached directly to a region stay visible at team
    level); a unit whose ancestor at ``depth`` is not in ``units`` rolls into its highest
    ancestor that is. The result has one row per group, by path, with the share of licences.
    """
    if units.empty:
        dtypes = {
            "depth": "int64",
            "units": "int64",
            "employees": "int64",
            "licensed": "int64",
            "licence_share": "float64",
        }
        return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "object")) for c in ROLLUP_COLUMNS})
    known = set(units["path"])
    names = dict(zip(units["path"], units["name"], strict=True))
    grouped = (
        units.assign(group=[_group_path(p, depth, known) for p in units["path"]])
        .groupby("group", sort=True)
        .agg(units=("path", "size"), employees=("employees", "sum"), licensed=("licensed", "sum"))
        .reset_index()
        .rename(columns={"group": "path"})
    )
    grouped["name"] = grouped["path"].map(names)
    grouped["depth"] = grouped["path"].str.count(UNIT_PATH_SEPARATOR)
    grouped["employees"] = grouped["employees"].astype("int64")
    grouped["licensed"] = grouped["licensed"].astype("int64")
    grouped["licence_share"] = licence_share(grouped["employees"], grouped["licensed"])
    return grouped[ROLLUP_COLUMNS]


def totals(rolled: pd.DataFrame) -> dict[str, float | int | None]:
    """Employees, licensed people and licence share over all rows of ``rolled``."""
    employees = int(rolled["employees"].sum()) if not rolled.empty else 0
    licensed = int(rolled["licensed"].sum()) if not rolled.empty else 0
    return {
        "employees": employees,
        "licensed": licensed,
        "licence_share": licensed / employees if employees else None,
    }
