"""Organization metrics on tiny hand-made frames with known answers."""

import math

import pandas as pd

from adoption.models.org import UNIT_PATH_SEPARATOR
from dashboards.metrics import organization as metrics


def units(*rows):
    """A per-unit frame from (path, employees, licensed) tuples."""
    return pd.DataFrame(
        [
            {"path": p, "name": p.split("/")[-1], "employees": e, "licensed": lic}
            for p, e, lic in rows
        ]
    )


ACME = units(
    ("Acme", 1, 1),
    ("Acme/EMEA", 2, 0),
    ("Acme/EMEA/Sales North", 5, 3),
    ("Acme/EMEA/Sales South", 4, 4),
    ("Acme/Americas", 0, 0),
    ("Acme/Americas/Sales West", 6, 2),
)


def by_path(rolled):
    """Rows of a roll-up as path → (units, employees, licensed)."""
    return {r.path: (r.units, r.employees, r.licensed) for r in rolled.itertuples(index=False)}


def test_rollup_to_company_sums_everyone_into_the_root():
    rolled = metrics.roll_up(ACME, 0)
    assert by_path(rolled) == {"Acme": (6, 18, 10)}
    assert rolled.iloc[0]["licence_share"] == 10 / 18


def test_rollup_to_region_keeps_people_attached_to_the_company_on_their_own_row():
    assert by_path(metrics.roll_up(ACME, 1)) == {
        "Acme": (1, 1, 1),
        "Acme/Americas": (2, 6, 2),
        "Acme/EMEA": (3, 11, 7),
    }


def test_rollup_to_team_leaves_every_unit_as_it_is():
    rolled = metrics.roll_up(ACME, 2)
    assert by_path(rolled)["Acme/EMEA/Sales North"] == (1, 5, 3)
    assert len(rolled) == len(ACME)
    assert rolled["employees"].sum() == 18


def test_rollup_never_names_an_ancestor_missing_from_the_frame():
    # A manager's frame holds only their region: asking for "company" must not invent "Acme".
    emea = units(
        ("Acme/EMEA", 2, 0), ("Acme/EMEA/Sales North", 5, 3), ("Acme/EMEA/Sales South", 4, 4)
    )
    assert by_path(metrics.roll_up(emea, 0)) == {"Acme/EMEA": (3, 11, 7)}


def test_rollup_of_sibling_teams_without_their_parent_keeps_them_apart():
    teams = units(("Acme/EMEA/Sales North", 5, 3), ("Acme/Americas/Sales West", 6, 2))
    assert by_path(metrics.roll_up(teams, 0)) == {
        "Acme/Americas/Sales West": (1, 6, 2),
        "Acme/EMEA/Sales North": (1, 5, 3),
    }


def test_rollup_reports_depth_and_name_of_each_group():
    rolled = metrics.roll_up(ACME, 1).set_index("path")
    assert rolled.loc["Acme/EMEA", "depth"] == 1
    assert rolled.loc["Acme/EMEA", "name"] == "EMEA"


def test_licence_share_is_missing_for_a_unit_without_people():
    share = metrics.licence_share(pd.Series([0, 4]), pd.Series([0, 1]))
    assert math.isnan(share[0])
    assert share[1] == 0.25


def test_rollup_of_an_empty_frame_is_empty_with_the_expected_columns():
    rolled = metrics.roll_up(units(), 1)
    assert rolled.empty
    assert list(rolled.columns) == metrics.ROLLUP_COLUMNS


def test_totals_add_up_and_have_no_share_without_people():
    assert metrics.totals(metrics.roll_up(ACME, 1)) == {
        "employees": 18,
        "licensed": 10,
        "licence_share": 10 / 18,
    }
    assert metrics.totals(metrics.roll_up(units(), 1)) == {
        "employees": 0,
        "licensed": 0,
        "licence_share": None,
    }


def test_metrics_split_paths_like_the_org_model():
    assert metrics.UNIT_PATH_SEPARATOR == UNIT_PATH_SEPARATOR
