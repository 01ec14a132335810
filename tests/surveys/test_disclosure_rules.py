"""The disclosure rules on hand-built trees (surveys.disclosure.decide): threshold, differencing, rounds."""
from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from surveys.disclosure import (
    BELOW_THRESHOLD,
    DIFFERENCING,
    DIFFERENCING_ROUND,
    cell_groups,
    decide,
    group_sizes,
)
from surveys.models import ALL_BANDS

# 1 Company ─ 2 Region ─┬─ 3 Team A
#                       └─ 4 Team B
#            └ 5 Region 2 ─ 6 Team C
PARENTS = {1: None, 2: 1, 3: 2, 4: 2, 5: 1, 6: 5}
K = 5


def shown(reasons):
    return {g for g, r in reasons.items() if r is None}


def test_groups_below_the_threshold_are_suppressed():
    reasons = decide({(3, "3y+"): 4, (4, "3y+"): 9, (6, "3y+"): 9}, PARENTS, K)
    assert reasons[(3, ALL_BANDS)] == BELOW_THRESHOLD
    assert {(1, ALL_BANDS), (2, ALL_BANDS)} <= shown(reasons)


def test_a_child_unit_differing_from_its_parent_by_fewer_than_k_is_suppressed():
    # Region 2 = Team A (8) + Team B (2): showing the region and Team A would reveal Team B.
    reasons = decide({(3, "3y+"): 8, (4, "3y+"): 2, (6, "3y+"): 9}, PARENTS, K)
    assert (2, ALL_BANDS) in shown(reasons)
    assert reasons[(3, ALL_BANDS)] == DIFFERENCING


def test_a_group_identical_to_its_parent_is_not_shown_twice():
    # Region 5 holds only Team C: |G| - |H| = 0 < k, so the team (the smaller group) goes.
    reasons = decide({(6, "1-3y"): 7, (3, "3y+"): 9, (4, "3y+"): 6}, PARENTS, K)
    assert reasons[(6, ALL_BANDS)] == DIFFERENCING
    assert (5, ALL_BANDS) in shown(reasons)


def test_a_tenure_filter_leaving_fewer_than_k_outside_is_suppressed():
    # Team A: 6 people, 5 of them 3y+: "Team A" minus "Team A, 3y+" would be one person.
    reasons = decide({(3, "3y+"): 5, (3, "<1y"): 1, (4, "1-3y"): 9}, PARENTS, K)
    assert (3, ALL_BANDS) in shown(reasons)
    assert reasons[(3, "3y+")] is not None


def test_siblings_are_suppressed_until_the_remainder_is_empty_or_at_least_k():
    # Region 2 has three people of its own and two shown teams: region minus both teams = 3 people.
    parents = {1: None, 2: 1, 3: 2, 4: 2, 7: 1}
    cells = {(2, None): 3, (3, None): 6, (4, None): 7, (7, None): 20}
    reasons = decide(cells, parents, K, bands=False)
    assert (2, ALL_BANDS) in shown(reasons)
    assert reasons[(3, ALL_BANDS)] == DIFFERENCING  # the smaller sibling goes
    assert (4, ALL_BANDS) in shown(reasons)  # region minus team B = 9 people: enough


def test_combining_a_band_across_units_cannot_isolate_one_person():
    # Region 2 = Team A (5 people 3y+, x with <1y) + Team B (10 3y+, 10 1-3y). Shown naively,
    # Region − Region(3y+) − Team B(1-3y) = x. The rules must leave no such combination.
    cells = {(3, "3y+"): 5, (3, "<1y"): 1, (4, "3y+"): 10, (4, "1-3y"): 10}
    parents = {1: None, 2: 1, 3: 2, 4: 2}
    reasons = decide(cells, parents, K)
    assert _smallest_isolable(cells, parents, shown(reasons)) >= K


def test_a_small_tenure_band_costs_band_groups_not_the_team():
    # Team A: 6 people 3y+ and 2 people 1-3y. Region 2 and the company show their 1-3y groups, so
    # Team A's two 1-3y people are an atom of 2. Suppressing Team A, Team B and Team B's 1-3y group
    # (3 groups) would merge them with Team B's 1-3y people; suppressing the 1-3y and 3y+ groups
    # above Team A and Team A's 3y+ group (5 groups, no unit) merges them with Team A's 3y+ people,
    # who share no tenure-band group with them. The team's own result wins.
    cells = {(3, "3y+"): 6, (3, "1-3y"): 2, (4, "3y+"): 6, (4, "1-3y"): 6, (6, "3y+"): 6, (6, "1-3y"): 6}
    reasons = decide(cells, PARENTS, K)
    assert {(3, ALL_BANDS), (4, ALL_BANDS), (2, ALL_BANDS), (1, ALL_BANDS)} <= shown(reasons)
    for band_group in [(1, "1-3y"), (2, "1-3y"), (3, "3y+")]:
        assert reasons[band_group] == DIFFERENCING
    assert _smallest_isolable(cells, PARENTS, shown(reasons)) >= K


def test_a_group_is_not_shown_in_a_round_whose_respondents_differ_by_fewer_than_k():
    cells = {(3, "3y+"): 7, (4, "3y+"): 9}
    before = {(3, ALL_BANDS): frozenset(range(6))}
    now = {(3, ALL_BANDS): frozenset(range(7)), (3, "3y+"): frozenset(range(7))}
    reasons = decide(cells, PARENTS, K, members=now, earlier=[before])
    assert reasons[(3, ALL_BANDS)] == DIFFERENCING_ROUND


def test_the_same_respondents_or_a_large_change_across_rounds_are_allowed():
    cells = {(3, "3y+"): 7, (4, "3y+"): 9}
    same = {(3, ALL_BANDS): frozenset(range(7))}
    moved = {(3, ALL_BANDS): frozenset(range(10, 17))}
    now = {(3, ALL_BANDS): frozenset(range(7))}
    assert decide(cells, PARENTS, K, members=now, earlier=[same])[(3, ALL_BANDS)] is None
    assert decide(cells, PARENTS, K, members=now, earlier=[moved])[(3, ALL_BANDS)] is None


def _smallest_isolable(cells, parents, visible):
    """The fewest people an attacker can isolate with sums and differences of the shown groups."""
    atoms = {}
    for cell, n in cells.items():
        signature = frozenset(g for g in cell_groups(cell, parents) if g in visible)
        if signature:
            atoms[signature] = atoms.get(signature, 0) + n
    return min(atoms.values(), default=K)


def _linear_combinations_isolate_fewer_than_k(cells, parents, visible):
    """Brute force: some ±1 combination of at most four shown groups covers 1..k-1 people exactly."""
    members = {g: {c for c in cells if g in cell_groups(c, parents)} for g in visible}
    groups = sorted(visible)
    for size in range(1, min(4, len(groups)) + 1):
        for combo in itertools.combinations(groups, size):
            for signs in itertools.product((1, -1), repeat=size):
                weight = {c: sum(s for g, s in zip(combo, signs) if c in members[g]) for c in cells}
                if any(w not in (0, 1) for w in weight.values()):
                    continue
                covered = sum(cells[c] for c, w in weight.items() if w == 1)
                if 0 < covered < K:
                    return True
    return False


TREE = {1: None, 2: 1, 3: 2, 4: 2, 5: 1, 6: 5, 7: 5}
cells_strategy = st.dictionaries(
    st.tuples(st.sampled_from([2, 3, 4, 5, 6, 7]), st.sampled_from(["<1y", "1-3y", "3y+", None])),
    st.integers(min_value=1, max_value=12), min_size=1, max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(cells_strategy)
def test_no_combination_of_shown_groups_isolates_fewer_than_k_people(cells):
    reasons = decide(cells, TREE, K)
    visible = shown(reasons)
    sizes = group_sizes(cells, TREE)
    assert all(sizes[g] >= K for g in visible)
    assert not _linear_combinations_isolate_fewer_than_k(cells, TREE, visible)


@settings(max_examples=150, deadline=None)
@given(cells_strategy)
def test_every_atom_of_the_shown_groups_holds_at_least_k_people(cells):
    reasons = decide(cells, TREE, K)
    assert _smallest_isolable(cells, TREE, shown(reasons)) >= K


@settings(max_examples=150, deadline=None)
@given(cells_strategy)
def test_tenure_bands_never_cost_a_unit_group_its_result(cells):
    # The unit groups shown are exactly those shown when the same people are not split by band.
    unit_cells: dict = {}
    for (unit, _band), n in cells.items():
        unit_cells[(unit, None)] = unit_cells.get((unit, None), 0) + n
    with_bands = {g for g in shown(decide(cells, TREE, K)) if g[1] == ALL_BANDS}
    assert with_bands == shown(decide(unit_cells, TREE, K, bands=False))


@settings(max_examples=150, deadline=None)
@given(cells_strategy)
def test_every_shown_subgroup_differs_from_every_shown_supergroup_by_at_least_k(cells):
    reasons = decide(cells, TREE, K)
    visible = shown(reasons)
    members = {g: {c for c in cells if g in cell_groups(c, TREE)} for g in visible}
    for g, h in itertools.permutations(visible, 2):
        if members[h] <= members[g]:
            assert sum(cells[c] for c in members[g] - members[h]) >= K, (g, h)
