"""Which groups of a closed round may be shown: the anonymity threshold and differencing protection.

A *group* is a unit's whole subtree, optionally narrowed to one tenure band: ``(unit_id, band)``
with ``band`` = ``ALL_BANDS`` or one of ``TENURE_BANDS``. A *cell* is the finest thing responses
are grouped by: ``(snapshot unit, tenure band or None)``. Every group is a union of cells.

The rules, applied once per round when its results are prepared (docs/privacy.md):

1. **Threshold** — a group with fewer than k respondents is not shown.
2. **No shown group repeats a larger one** — when a shown group H ⊂ G has exactly G's
   respondents, H is not shown (the issue's rule ``|G| − |H| ≥ k`` with a zero difference).
3. **Differencing** — whatever the reader adds and subtracts among the shown groups (a unit minus
   its child, a unit minus one tenure band, a region minus three of its teams and a band...), the
   smallest set of people they can isolate is an *atom*: the people who belong to exactly the same
   shown groups. Every atom must hold at least k people. While one does not, the groups that
   separate it from its nearest atom (fewest groups, then fewest people) are suppressed, which
   merges the two. This is done first among the unit groups alone, then with the tenure-band
   groups, merging only atoms with the same unit groups: a tenure band never costs a unit its
   result (the unit groups shown are those shown without any band). This implies the issue's
   pairwise rule (``|G| − |H| ≥ k`` for every shown H ⊂ G) and its sibling rule, and also
   covers combinations of more than two groups.
4. **Across rounds** — a group shown in an earlier round of the same survey is not shown again
   if the people who answered differ from that round's by more than zero and fewer than k (one
   joiner or one leaver would otherwise be isolated by comparing the two rounds).

Suppression only ever merges atoms, so one pass of each rule in this order is enough.
Comments are decided the same way with their own threshold, over unit groups only.
The rules are a pure function (``decide``) tested on hand-built trees; the database part below
gathers the cells and writes ``round_groups``.
"""
from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update

from adoption.config import MIN_THRESHOLD
from adoption.extensions import db
from adoption.models import Employee, OrgUnit, UnitMembership
from adoption.org import membership_in_force
from surveys.models import (
    ALL_BANDS,
    TENURE_BANDS,
    Comment,
    Participation,
    Response,
    RoundGroup,
    SurveyRound,
)
from surveys.services import eligible_employees, tenure_band

Group = tuple[int, str]  # (unit id, ALL_BANDS or a tenure band)
Cell = tuple[int, str | None]  # (snapshot unit id, tenure band or None)

BELOW_THRESHOLD = "below_threshold"
DIFFERENCING = "differencing"
DIFFERENCING_ROUND = "differencing_round"

#: What every page, export, API answer and e-mail says in place of a suppressed figure.
SUPPRESSED_MESSAGE = "not enough responses to show"


@dataclass(frozen=True)
class Thresholds:
    """Minimum respondents for scores (k) and for comments."""

    scores: int
    comments: int


def thresholds(config: Mapping[str, Any]) -> Thresholds:
    """The thresholds from the settings, never below MIN_THRESHOLD whatever they say."""
    return Thresholds(
        scores=max(MIN_THRESHOLD, int(config.get("SURVEY_MIN_RESPONDENTS", 5))),
        comments=max(MIN_THRESHOLD, int(config.get("SURVEY_MIN_COMMENT_RESPONDENTS", 5))),
    )


# ------------------------------------------------------------------ the rules (pure)


def ancestors(unit_id: int, parents: Mapping[int, int | None]) -> list[int]:
    """The unit and its ancestors up to the root, nearest first."""
    chain = []
    current: int | None = unit_id
    while current is not None:
        chain.append(current)
        current = parents.get(current)
    return chain


def cell_groups(cell: Cell, parents: Mapping[int, int | None], *, bands: bool = True) -> list[Group]:
    """Every group that contains the cell: each ancestor unit, for all bands and the cell's band."""
    unit_id, band = cell
    groups: list[Group] = []
    for a in ancestors(unit_id, parents):
        groups.append((a, ALL_BANDS))
        if bands and band is not None:
            groups.append((a, band))
    return groups


def group_sizes(cells: Mapping[Cell, int], parents: Mapping[int, int | None], *, bands: bool = True) -> dict[Group, int]:
    """Respondents per group, from the respondents per cell."""
    sizes: dict[Group, int] = defaultdict(int)
    for cell, count in cells.items():
        for group in cell_groups(cell, parents, bands=bands):
            sizes[group] += count
    return dict(sizes)


def _specificity(group: Group, parents: Mapping[int, int | None]) -> tuple:
    """Sort key: unit groups before tenure-band groups, then higher units first."""
    return (group[1] != ALL_BANDS, len(ancestors(group[0], parents)), group[0], group[1])


def decide(
    cells: Mapping[Cell, int],
    parents: Mapping[int, int | None],
    k: int,
    *,
    bands: bool = True,
    members: Mapping[Group, frozenset] | None = None,
    earlier: Iterable[Mapping[Group, frozenset]] = (),
) -> dict[Group, str | None]:
    """For every group with respondents: None when it may be shown, else why it is suppressed.

    ``cells`` maps (snapshot unit, band or None) to its number of respondents; ``parents`` maps
    every unit to its parent. With ``bands=False`` only unit groups exist (comments).
    ``members`` (this round) and ``earlier`` (earlier rounds of the survey: the respondent sets of
    the groups they showed) feed the across-rounds rule; respondents are any hashable ids.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    cells = {c: n for c, n in cells.items() if n > 0}
    sizes = group_sizes(cells, parents, bands=bands)
    reasons: dict[Group, str | None] = {g: (None if n >= k else BELOW_THRESHOLD) for g, n in sizes.items()}
    cell_members = {c: frozenset(cell_groups(c, parents, bands=bands)) for c in cells}

    def shown() -> set[Group]:
        return {g for g, r in reasons.items() if r is None}

    # Rule 2: a shown group with exactly the respondents of a larger shown group is not shown.
    covering: dict[Group, frozenset[Cell]] = defaultdict(frozenset)
    for c, groups in cell_members.items():
        for g in groups:
            covering[g] = covering[g] | {c}
    by_cells: dict[frozenset[Cell], list[Group]] = defaultdict(list)
    for g in shown():
        by_cells[covering[g]].append(g)
    for same in by_cells.values():
        if len(same) > 1:
            # Keep the most general group (a unit before a tenure band, a region before a team).
            same.sort(key=lambda g: _specificity(g, parents))
            for g in same[1:]:
                reasons[g] = DIFFERENCING

    # Rule 3: every atom (people in exactly the same shown groups) holds at least k people.
    # A unit's own result is what its manager acts on; a tenure band is a secondary cut. Merged in
    # one pass, a small band atom inside a team (two people of one band, split off by the region's
    # and the company's groups for that band) was cheapest to fix by suppressing the team, and the
    # demo showed 1-4 of its 40 teams. So the unit groups are settled first, as if there were no
    # bands; then band atoms are merged only with atoms of the same unit groups, which suppresses
    # band groups alone and always succeeds (together they form a unit atom, already >= k).
    unit_members = {c: _unit_groups(groups) for c, groups in cell_members.items()}
    _merge_small_atoms(cells, unit_members, reasons, sizes, k, parents)
    if bands:
        _merge_small_atoms(cells, cell_members, reasons, sizes, k, parents, keep_units=True)

    # Rule 4: not shown again with a respondent set that differs from an earlier round's by 1..k-1.
    if members is not None:
        for previous in earlier:
            for g in shown():
                before = previous.get(g)
                if before is None:
                    continue
                difference = len(members.get(g, frozenset()) ^ before)
                if 0 < difference < k:
                    reasons[g] = DIFFERENCING_ROUND
    return reasons


def _merge_cost(target: frozenset[Group], other: frozenset[Group], sizes: Mapping[Group, int]) -> tuple:
    """Fewest groups to suppress, then fewest people in them (then a fixed order, for determinism)."""
    diff = target ^ other
    return (len(diff), sum(sizes[g] for g in diff), sorted(diff))


def _unit_groups(signature: frozenset[Group]) -> frozenset[Group]:
    """The unit (all bands) groups among a set of groups."""
    return frozenset(g for g in signature if g[1] == ALL_BANDS)


def _merge_small_atoms(
    cells: Mapping[Cell, int],
    cell_members: Mapping[Cell, frozenset[Group]],
    reasons: dict[Group, str | None],
    sizes: Mapping[Group, int],
    k: int,
    parents: Mapping[int, int | None],
    *,
    keep_units: bool = False,
) -> None:
    """Suppress groups until every atom of the shown groups holds at least k people.

    Suppressing a group removes it from every signature that has it, so whole atoms merge and
    none ever splits: atoms are kept incrementally and each small one is merged with a nearby
    atom (found through its most specific groups) at the least cost in suppressed groups.
    With ``keep_units`` (the unit groups' atoms already hold k each) a small atom is merged only
    with an atom of exactly its unit groups, the one such merge that suppresses fewest groups:
    those atoms need not share any tenure-band group with it (the other bands of the same team),
    so they are looked up by their unit groups, not through the most specific groups.
    """
    visible = {g for g, r in reasons.items() if r is None}
    atom_n: dict[frozenset[Group], int] = defaultdict(int)
    for c, groups in cell_members.items():
        signature = groups & visible
        if signature:  # people in no shown group cannot be isolated
            atom_n[frozenset(signature)] += cells[c]
    group_atoms: dict[Group, set[frozenset[Group]]] = defaultdict(set)
    same_units: dict[frozenset[Group], set[frozenset[Group]]] = defaultdict(set)
    for signature in atom_n:
        for g in signature:
            group_atoms[g].add(signature)
        same_units[_unit_groups(signature)].add(signature)

    def order(signature: frozenset[Group]) -> tuple:
        return (atom_n[signature], sorted(signature))

    heap = [order(sig) + (sig,) for sig, n in atom_n.items() if n < k]
    heapq.heapify(heap)
    while heap:
        n, _, target = heapq.heappop(heap)
        if atom_n.get(target) != n:
            continue  # merged or grown since it was queued
        candidates: set[frozenset[Group]] = set()
        if keep_units:
            # Never empty when the target has a unit group: its unit atom holds >= k people.
            candidates = same_units[_unit_groups(target)] - {target}
        else:
            levels = 0
            for g in sorted(target, key=lambda g: _specificity(g, parents), reverse=True):
                found = group_atoms[g] - {target}
                if found:
                    candidates |= found
                    levels += 1
                    if levels == 2:  # the nearest atoms, and those one level up
                        break
        if candidates:
            nearest = min(candidates, key=lambda other, t=target: _merge_cost(t, other, sizes))
            suppress = target ^ nearest
        else:
            suppress = set(target)
        for g in suppress:
            reasons[g] = DIFFERENCING
        affected = set().union(*(group_atoms.pop(g, set()) for g in suppress))
        for signature in affected:
            count = atom_n.pop(signature)
            for g in signature - suppress:
                group_atoms[g].discard(signature)
            same_units[_unit_groups(signature)].discard(signature)
            merged = frozenset(signature - suppress)
            if not merged:
                continue
            atom_n[merged] += count
            for g in merged:
                group_atoms[g].add(merged)
            same_units[_unit_groups(merged)].add(merged)
            if atom_n[merged] < k:
                heapq.heappush(heap, order(merged) + (merged,))


# ------------------------------------------------------------------ the database side


def _parents() -> dict[int, int | None]:
    return dict(db.session.execute(select(OrgUnit.id, OrgUnit.parent_id)).all())


def _response_cells(round_id: int) -> dict[Cell, int]:
    """Respondents per (snapshot unit, tenure band) of the round, from the responses."""
    cells: dict[Cell, int] = defaultdict(int)
    rows = db.session.execute(select(Response.unit_id, Response.tenure_band).where(Response.round_id == round_id))
    for unit_id, band in rows:
        cells[(unit_id, band)] += 1
    return dict(cells)


def _respondent_sets(round_id: int, parents: Mapping[int, int | None]) -> dict[Group, frozenset[int]]:
    """Who answered, per group, from the participations (employee, day) and the roster history.

    Used only to compare rounds with each other; never shown and never stored.
    """
    rows = db.session.execute(
        select(Participation.employee_id, Participation.submitted_on, UnitMembership.unit_id, Employee.start_date)
        .join(Employee, Employee.id == Participation.employee_id)
        .join(UnitMembership, UnitMembership.employee_id == Participation.employee_id)
        .where(Participation.round_id == round_id,
               UnitMembership.valid_from <= Participation.submitted_on,
               (UnitMembership.valid_to.is_(None)) | (UnitMembership.valid_to > Participation.submitted_on))
    )
    sets: dict[Group, set[int]] = defaultdict(set)
    for employee_id, day, unit_id, start in rows:
        for g in cell_groups((unit_id, tenure_band(start, day)), parents):
            sets[g].add(employee_id)
    return {g: frozenset(s) for g, s in sets.items()}


def _invited(survey_round: SurveyRound, parents: Mapping[int, int | None]) -> dict[Group, int]:
    """People in the round's audience per group on the opening day (response-rate denominator)."""
    day = survey_round.opens_on
    people = eligible_employees(survey_round)
    units = dict(db.session.execute(
        select(UnitMembership.employee_id, UnitMembership.unit_id)
        .where(UnitMembership.employee_id.in_([p.id for p in people]), membership_in_force(day))
    ).all()) if people else {}
    invited: dict[Group, int] = defaultdict(int)
    for person in people:
        unit_id = units.get(person.id)
        if unit_id is None:
            continue
        for g in cell_groups((unit_id, tenure_band(person.start_date, day)), parents):
            invited[g] += 1
    return dict(invited)


def _earlier_shown_sets(survey_round: SurveyRound, parents: Mapping[int, int | None]) -> list[dict[Group, frozenset]]:
    """For each earlier prepared round of the survey: the respondent sets of the groups it showed."""
    earlier = db.session.scalars(
        select(SurveyRound).where(SurveyRound.survey_id == survey_round.survey_id,
                                  SurveyRound.number < survey_round.number,
                                  SurveyRound.results_ready_at.isnot(None))
        .order_by(SurveyRound.number)
    ).all()
    result = []
    for previous in earlier:
        shown_groups = set(db.session.execute(
            select(RoundGroup.unit_id, RoundGroup.tenure_band)
            .where(RoundGroup.round_id == previous.id, RoundGroup.shown.is_(True))
        ).all())
        sets = _respondent_sets(previous.id, parents)
        result.append({g: s for g, s in sets.items() if g in shown_groups})
    return result


def prepare_disclosure(survey_round: SurveyRound, config: Mapping[str, Any]) -> dict[Group, str | None]:
    """Decide and store which groups of the closed round may be shown, and where comments go.

    Writes one ``round_groups`` row per group with respondents or invitees and sets each comment's
    ``group_unit_id``. Earlier rounds of the survey must have been prepared first (their shown
    groups feed the across-rounds rule). Flushes; the caller commits.
    """
    limits = thresholds(config)
    parents = _parents()
    cells = _response_cells(survey_round.id)
    reasons = decide(cells, parents, limits.scores,
                     members=_respondent_sets(survey_round.id, parents),
                     earlier=_earlier_shown_sets(survey_round, parents))
    unit_cells: dict[Cell, int] = defaultdict(int)
    for (unit_id, _band_), n in cells.items():
        unit_cells[(unit_id, None)] += n
    comment_reasons = decide(unit_cells, parents, limits.comments, bands=False)
    sizes = group_sizes(cells, parents)
    invited = _invited(survey_round, parents)

    db.session.execute(delete(RoundGroup).where(RoundGroup.round_id == survey_round.id))
    rows = []
    for group in sorted(set(sizes) | set(invited)):
        unit_id, band = group
        rows.append({
            "round_id": survey_round.id, "unit_id": unit_id, "tenure_band": band,
            "invited": invited.get(group, 0), "respondents": sizes.get(group, 0),
            "shown": reasons.get(group, BELOW_THRESHOLD) is None,
            "reason": reasons.get(group, BELOW_THRESHOLD),
            "comments_shown": band == ALL_BANDS and comment_reasons.get(group, BELOW_THRESHOLD) is None,
        })
    if rows:
        db.session.execute(RoundGroup.__table__.insert(), rows)

    # Each comment goes to the smallest unit whose comments may be shown that holds its author's unit.
    comment_units = {g[0] for g, r in comment_reasons.items() if r is None}
    targets: dict[int, int | None] = {}
    for (unit_id,) in db.session.execute(
        select(Comment.unit_id).where(Comment.round_id == survey_round.id).distinct()
    ):
        targets[unit_id] = next((a for a in ancestors(unit_id, parents) if a in comment_units), None)
    for unit_id, target in targets.items():
        db.session.execute(
            update(Comment).where(Comment.round_id == survey_round.id, Comment.unit_id == unit_id)
            .values(group_unit_id=target)
        )
    db.session.flush()
    return reasons


@dataclass(frozen=True)
class GroupDisclosure:
    """What may be said about one group of one round."""

    round_id: int
    unit_id: int
    tenure_band: str
    invited: int
    shown: bool
    comments_shown: bool
    # None when suppressed: even the count is not shown.
    respondents: int | None
    reason: str | None


def group_disclosure(round_id: int, unit_id: int, band: str = ALL_BANDS) -> GroupDisclosure:
    """The stored decision for a group; a group nobody answered in is suppressed like any other."""
    if band != ALL_BANDS and band not in TENURE_BANDS:
        raise ValueError(f"unknown tenure band {band!r}")
    row = db.session.get(RoundGroup, (round_id, unit_id, band))
    if row is None:
        return GroupDisclosure(round_id, unit_id, band, 0, False, False, None, BELOW_THRESHOLD)
    return GroupDisclosure(
        round_id, unit_id, band, row.invited, row.shown, row.comments_shown,
        row.respondents if row.shown else None, row.reason,
    )
