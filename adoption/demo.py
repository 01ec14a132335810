"""The demo organization: a deterministic fictional company loaded through the roster import.

``build_roster(size, seed)`` is pure: it writes two HR exports (CSV text) for Acme Industrial
Supply, a B2B distributor rolling out a CRM — an earlier roster (before the rollout) and the
current one (CRM licences handed out, a small reorg, a few joiners and leavers). ``load_demo``
imports both through ``adoption.roster.import_roster``, the same path a real HR file takes, so
the demo also exercises that service; then it adds the initiative, one login per role, and
CRM usage (``adoption.demo_telemetry``).

Same seed and load day, same bytes: every choice comes from one ``random.Random(seed)``, never
from the global generator or the clock. The dates below are the reference dates of a load on
23 November 2026; a load on another day moves them all by the same whole weeks
(``adoption.demo_calendar``).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
import random
import string
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING

from flask import Flask, current_app
from sqlalchemy import func, select

from adoption.demo_calendar import REFERENCE, DemoCalendar, calendar_for
from adoption.demo_sign_ins import load_sign_ins
from adoption.erasure import erase_on_request, erased_on, pseudonym
from adoption.extensions import db
from adoption.initiative import save_initiative
from adoption.models import Employee, Initiative, OrgUnit, Role, User
from adoption.models.org import UNIT_PATH_SEPARATOR
from adoption.scope import scope_for
from adoption.timekeeping import utcnow

if TYPE_CHECKING:
    from adoption.demo_telemetry import TelemetrySummary

#: The password of every demo login. Demo data only: never use it for a real account.
DEMO_PASSWORD = "uptake-demo-2026"

COMPANY_NAME = "Acme Industrial Supply"
ROOT_UNIT = "Acme"
EMAIL_DOMAIN = "acme.example"
CRM_DOMAIN = "acme.crm"
ADMIN_EMAIL = f"admin@{EMAIL_DOMAIN}"
HR_ID_PREFIX = "ACM"

#: Effective dates of the two rosters (reference dates: ``DemoCalendar.day`` moves them with the
#: load day, so the history keeps its place before the demo's "today").
EARLIER_EFFECTIVE = dt.date(2025, 7, 1)
CURRENT_EFFECTIVE = dt.date(2026, 3, 2)

INITIATIVE_NAME = "CRM: One view of the customer"
INITIATIVE_START = dt.date(2025, 9, 1)
ADOPTION_TARGET_PCT = 80.0
KEY_BEHAVIOURS = ["opportunity_updated", "activity_logged", "account_plan_updated"]

ROSTER_COLUMNS = (
    "employee_id", "email", "full_name", "title", "unit", "manager_employee_id",
    "start_date", "end_date", "crm_user_id", "crm_username", "is_executive",
)

SIZES = ("small", "large")

#: Where feature packages keep their demo loaders on the app (see ``register_demo_loader``).
DEMO_LOADERS = "uptake_demo_loaders"

#: A feature's demo loader: ``loader(size, seed, calendar)`` adds its demo data once, its dates
#: moved by ``calendar`` (flushing, never committing), and returns one line for the summary, or None.
DemoLoader = Callable[[str, int, DemoCalendar], "str | None"]

# Nobody's tenure reaches back before the company's founding.
_FOUNDED = dt.date(2004, 3, 1)
# The last day anyone starts or leaves: a few days before the current roster is exported.
_LAST_CHANGE = CURRENT_EFFECTIVE - dt.timedelta(days=3)
_MOVER_SHARE = 0.05
_LEAVER_SHARE = 0.025
# Mean tenure in years of team members; about one in nine joined after the earlier roster.
_MEAN_TENURE_YEARS = 5.5


class DemoError(RuntimeError):
    """The demo cannot be loaded (invalid demo data, or another organization is in the way)."""


# --- the shape of the company -------------------------------------------------------------------

@dataclass(frozen=True)
class _Region:
    """A sales region: its unit name, territories, and the naming cultures of its people."""

    name: str
    territories: tuple[str, ...]
    cultures: tuple[tuple[str, int], ...]


_REGIONS = (
    _Region(
        "North America",
        ("Northeast", "Southeast", "Midwest", "Central", "Southwest", "West", "Pacific Northwest", "Canada"),
        (("anglo", 50), ("hispanic", 14), ("indian", 9), ("chinese", 6), ("west_african", 6),
         ("korean", 4), ("italian", 4), ("french", 4), ("filipino", 3)),
    ),
    _Region(
        "EMEA",
        ("UK & Ireland", "DACH", "France", "Benelux", "Nordics", "Iberia", "Italy", "Central Europe",
         "Middle East", "Africa"),
        (("anglo", 16), ("germanic", 15), ("french", 13), ("italian", 9), ("iberian", 9),
         ("nordic", 8), ("dutch", 7), ("slavic", 9), ("arabic", 8), ("west_african", 6)),
    ),
    _Region(
        "APAC",
        ("ANZ", "Japan", "Korea", "Greater China", "India", "Southeast Asia", "Singapore"),
        (("chinese", 24), ("indian", 24), ("japanese", 14), ("korean", 9), ("vietnamese", 8),
         ("filipino", 8), ("anglo", 13)),
    ),
    _Region(
        "LATAM",
        ("Brazil", "Mexico", "Andean", "Southern Cone", "Central America", "Caribbean"),
        (("hispanic", 58), ("portuguese", 36), ("anglo", 6)),
    ),
)

# Headquarters hires from everywhere.
_HQ_CULTURES = tuple((c, 1) for c in (
    "anglo", "germanic", "french", "indian", "chinese", "hispanic", "portuguese", "west_african",
    "arabic", "japanese", "nordic", "italian",
))


@dataclass(frozen=True)
class _TeamKind:
    """A kind of team in a CRM program: job titles, and the share of members holding a licence."""

    key: str
    label: str
    manager_title: str
    titles: tuple[tuple[str, int], ...]
    licence_share: tuple[float, float]
    # Field teams are named after a territory; the others serve the whole region (or area).
    per_territory: bool


_KINDS = {k.key: k for k in (
    _TeamKind("field", "Field Sales", "Field Sales Manager",
              (("Account Executive", 6), ("Senior Account Executive", 3), ("Sales Engineer", 1)),
              (0.74, 0.86), True),
    _TeamKind("inside", "Inside Sales", "Inside Sales Manager",
              (("Inside Sales Representative", 6), ("Sales Development Representative", 4)),
              (0.76, 0.86), False),
    _TeamKind("key_accounts", "Key Accounts", "Head of Key Accounts",
              (("Key Account Manager", 6), ("Account Manager", 4)),
              (0.72, 0.85), False),
    _TeamKind("service", "Customer Service", "Customer Service Manager",
              (("Customer Service Agent", 7), ("Senior Customer Service Agent", 3)),
              (0.70, 0.82), True),
    _TeamKind("success", "Customer Success", "Customer Success Lead",
              (("Customer Success Manager", 8), ("Onboarding Specialist", 2)),
              (0.72, 0.84), False),
    _TeamKind("marketing", "Marketing Operations", "Marketing Operations Manager",
              (("Marketing Operations Specialist", 4), ("Campaign Manager", 3), ("Marketing Analyst", 3)),
              (0.35, 0.50), False),
    _TeamKind("orders", "Order Management", "Order Management Lead",
              (("Order Management Specialist", 6), ("Billing Specialist", 3), ("Deal Desk Analyst", 1)),
              (0.15, 0.30), False),
)}

# The ten teams of a region (small) or the repeating pattern of an area's teams (large).
_TEAM_PATTERN = ("field", "field", "field", "inside", "key_accounts", "service", "service",
                 "success", "marketing", "orders")
# Sales and service teams: the managers hold a licence, and people move between them in a reorg.
_CRM_FRONTLINE = {"field", "inside", "key_accounts", "service", "success"}


@dataclass(frozen=True)
class _Shape:
    """How big a demo company is."""

    teams: int
    # Large companies put an area (a territory) between the region and its teams.
    areas: bool
    # Members per team, the manager included.
    team_size: tuple[int, int]


_SHAPES = {
    "small": _Shape(teams=40, areas=False, team_size=(11, 19)),
    "large": _Shape(teams=1200, areas=True, team_size=(11, 22)),
}


# The initiative's sponsors (see "the sponsors' stories" below).
CEO_TITLE, CRO_TITLE, CCO_TITLE = "Chief Executive Officer", "Chief Revenue Officer", "Chief Customer Officer"


# --- people -------------------------------------------------------------------------------------

@dataclass(eq=False)
class _Person:
    """One person while the roster is being generated."""

    order: int
    first: str
    last: str
    title: str
    unit: str
    start: dt.date
    manager: _Person | None = None
    earlier_unit: str | None = None
    earlier_manager: _Person | None = None
    end: dt.date | None = None
    licensed: bool = False
    executive: bool = False
    hr_id: str = ""
    email: str = ""
    crm_user_id: str = ""
    crm_username: str = ""

    @property
    def full_name(self) -> str:
        """Given name and family name."""
        return f"{self.first} {self.last}"


@dataclass
class _Team:
    """One team while the roster is being generated."""

    path: str
    kind: _TeamKind
    region: str
    manager: _Person | None = None
    members: list[_Person] = field(default_factory=list)


@dataclass(frozen=True)
class DemoCast:
    """HR ids of the people the demo logins and the initiative are built around."""

    ceo: str
    sponsors: tuple[str, ...]
    change_leader: str
    manager: str
    employee: str
    manager_team: str


@dataclass(frozen=True)
class DemoRoster:
    """The two HR exports of the demo company, and who is who in them."""

    size: str
    seed: int
    calendar: DemoCalendar  # the load whose dates the exports carry
    earlier_csv: str
    current_csv: str
    cast: DemoCast
    # Counts of the current roster, for the summary and the initiative.
    employees: int
    active: int
    licences: int
    movers: int
    leavers: int
    joiners: int
    hr_emails: dict[str, str]
    hr_start_dates: dict[str, dt.date]


def _load_names(filename: str) -> dict[str, list[str]]:
    """Names by naming culture from a ``culture,name`` file in ``adoption/demo_data``."""
    text = resources.files("adoption").joinpath("demo_data", filename).read_text(encoding="utf-8")
    names: dict[str, list[str]] = defaultdict(list)
    rows = csv.DictReader(line for line in text.splitlines() if line and not line.startswith("#"))
    for row in rows:
        names[row["culture"].strip()].append(row["name"].strip())
    return dict(names)


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    """One value from ``(value, weight)`` pairs."""
    values = [c for c, _ in choices]
    weights = [w for _, w in choices]
    return rng.choices(values, weights=weights)[0]


def _email_slug(name: str) -> str:
    """ASCII lower-case letters of a name: "Lefèvre" → "lefevre", "O'Brien" → "obrien"."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in plain.lower() if ch in string.ascii_lowercase)


_SF_SUFFIX_ALPHABET = string.ascii_uppercase + "012345"
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def salesforce_id18(id15: str) -> str:
    """The 18-character, case-insensitive form of a 15-character Salesforce id (checksum suffix)."""
    if len(id15) != 15:
        raise ValueError("a Salesforce id has 15 characters before its suffix")
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, ch in enumerate(id15[start:start + 5]) if "A" <= ch <= "Z")
        suffix += _SF_SUFFIX_ALPHABET[bits]
    return id15 + suffix


class _Generator:
    """Builds the people of one demo company from one random generator."""

    def __init__(self, size: str, seed: int) -> None:
        if size not in _SHAPES:
            raise ValueError(f"unknown demo size {size!r}; choose one of {', '.join(SIZES)}")
        self.size = size
        self.shape = _SHAPES[size]
        self.rng = random.Random(seed)
        self.first_names = _load_names("first_names.csv")
        self.last_names = _load_names("last_names.csv")
        self.people: list[_Person] = []
        self.teams: list[_Team] = []

    # -- people --

    def person(self, cultures, title: str, unit: str, *, min_tenure_years: float = 0.0,
               manager: _Person | None = None) -> _Person:
        """A new person with a name drawn from ``cultures`` and a plausible start date."""
        rng = self.rng
        culture = _weighted(rng, cultures)
        # Most people's given and family names share a culture; some do not (marriage, migration).
        last_culture = culture if rng.random() < 0.85 else _weighted(rng, cultures)
        tenure_days = min_tenure_years * 365 + rng.expovariate(1 / (_MEAN_TENURE_YEARS * 365))
        start = _LAST_CHANGE - dt.timedelta(days=int(tenure_days))
        if start < _FOUNDED:
            # The long tail of tenure: the founding years, not a pile-up on the founding day.
            start = _FOUNDED + dt.timedelta(days=rng.randrange(5 * 365))
        p = _Person(
            order=len(self.people),
            first=rng.choice(self.first_names[culture]),
            last=rng.choice(self.last_names[last_culture]),
            title=title,
            unit=unit,
            start=start,
            manager=manager,
        )
        self.people.append(p)
        return p

    def build(self) -> None:
        """Generate headquarters, regions, (areas,) teams and their members."""
        root = ROOT_UNIT
        ceo = self.person(_HQ_CULTURES, CEO_TITLE, root, min_tenure_years=9)
        ceo.executive = True
        self.ceo = ceo
        self.cro = self.person(_HQ_CULTURES, CRO_TITLE, root, min_tenure_years=3, manager=ceo)
        self.cco = self.person(_HQ_CULTURES, CCO_TITLE, root, min_tenure_years=2, manager=ceo)
        cfo = self.person(_HQ_CULTURES, "Chief Financial Officer", root, min_tenure_years=4, manager=ceo)
        cmo = self.person(_HQ_CULTURES, "Chief Marketing Officer", root, min_tenure_years=1.5, manager=ceo)
        for p in (self.cro, self.cco, cfo, cmo):
            p.executive = True
        self.change_leader = self.person(
            _HQ_CULTURES, "Director, CRM Change and Adoption", root, min_tenure_years=1.2, manager=self.cco
        )
        for title in ("CRM Adoption Analyst", "CRM Enablement Specialist"):
            self.person(_HQ_CULTURES, title, root, min_tenure_years=1.1, manager=self.change_leader)

        if self.shape.areas:
            areas_total = sum(len(r.territories) for r in _REGIONS)
            per_area, extra = divmod(self.shape.teams, areas_total)
        else:
            per_region, extra = divmod(self.shape.teams, len(_REGIONS))
        area_index = 0
        for region_index, region in enumerate(_REGIONS):
            region_path = f"{root}{UNIT_PATH_SEPARATOR}{region.name}"
            head = self.person(region.cultures, f"Regional Vice President, {region.name}", region_path,
                               min_tenure_years=3, manager=ceo)
            head.executive = True
            if not self.shape.areas:
                count = per_region + (1 if region_index < extra else 0)
                self._teams_in(region, region_path, head, count, numbered=False)
                continue
            for territory in region.territories:
                area_path = f"{region_path}{UNIT_PATH_SEPARATOR}{territory}"
                area_head = self.person(region.cultures, f"Area Director, {territory}", area_path,
                                        min_tenure_years=2.5, manager=head)
                count = per_area + (1 if area_index < extra else 0)
                area_index += 1
                self._teams_in(region, area_path, area_head, count, numbered=True)

        for p in self.people:
            p.earlier_unit, p.earlier_manager = p.unit, p.manager

    def _teams_in(self, region: _Region, parent_path: str, boss: _Person, count: int, *, numbered: bool) -> None:
        """``count`` teams under ``parent_path``, each with a manager reporting to ``boss``."""
        rng = self.rng
        territories = list(region.territories)
        rng.shuffle(territories)
        used: dict[str, int] = defaultdict(int)
        for i in range(count):
            kind = _KINDS[_TEAM_PATTERN[i % len(_TEAM_PATTERN)]]
            used[kind.key] += 1
            n = used[kind.key]
            if numbered:
                name = f"{kind.label} {n}"
            elif kind.per_territory:
                name = f"{kind.label} {territories[(n - 1) % len(territories)]}"
                if n > len(territories):
                    name += f" {(n - 1) // len(territories) + 1}"
            else:
                name = f"{kind.label} {region.name}" + (f" {n}" if n > 1 else "")
            team = _Team(path=f"{parent_path}{UNIT_PATH_SEPARATOR}{name}", kind=kind, region=region.name)
            team.manager = self.person(region.cultures, kind.manager_title, team.path,
                                       min_tenure_years=2, manager=boss)
            team.manager.licensed = kind.key in _CRM_FRONTLINE
            share = rng.uniform(*kind.licence_share)
            size = rng.randint(*self.shape.team_size)
            for _ in range(size - 1):
                member = self.person(region.cultures, _weighted(rng, kind.titles), team.path,
                                     manager=team.manager)
                member.licensed = rng.random() < share
                team.members.append(member)
            self.teams.append(team)

    # -- what changed between the two rosters --

    def history(self) -> None:
        """Leavers and a small reorg between the earlier roster and the current one."""
        rng = self.rng
        staff = [m for t in self.teams for m in t.members if m.start <= EARLIER_EFFECTIVE]
        for p in rng.sample(staff, round(len(staff) * _LEAVER_SHARE)):
            p.end = rng.choice([EARLIER_EFFECTIVE + dt.timedelta(days=d)
                                for d in range(14, (_LAST_CHANGE - EARLIER_EFFECTIVE).days)])
        by_kind: dict[str, list[_Team]] = defaultdict(list)
        for t in self.teams:
            by_kind[t.kind.key].append(t)
        stayers = [p for p in staff if p.end is None]
        self.movers = rng.sample(stayers, round(len(stayers) * _MOVER_SHARE))
        team_of = {m: t for t in self.teams for m in t.members}
        for p in self.movers:
            old = team_of[p]
            candidates = [t for t in by_kind[old.kind.key] if t is not old]
            near = [t for t in candidates if t.region == old.region]
            # Most moves stay inside the region; a few cross to another one.
            new = rng.choice(near if near and rng.random() < 0.8 else candidates)
            p.unit, p.manager = new.path, new.manager
            old.members.remove(p)
            new.members.append(p)

    # -- identifiers --

    def identify(self) -> None:
        """HR ids in order of hiring, unique e-mails, and CRM identities for licence holders."""
        rng = self.rng
        self.people.sort(key=lambda p: (p.start, p.order))
        taken: set[str] = set()
        crm_ids: set[str] = set()
        for i, p in enumerate(self.people, start=1):
            p.hr_id = f"{HR_ID_PREFIX}{100000 + i}"
            base = f"{_email_slug(p.first)}.{_email_slug(p.last)}"
            local, n = base, 1
            while local in taken:
                n += 1
                local = f"{base}{n}"
            taken.add(local)
            p.email = f"{local}@{EMAIL_DOMAIN}"
            if p.executive or p.unit == ROOT_UNIT:
                p.licensed = True
            if p.licensed:
                while True:
                    crm_id = salesforce_id18("0058d00000" + "".join(rng.choices(_BASE62, k=5)))
                    if crm_id not in crm_ids:
                        break
                crm_ids.add(crm_id)
                p.crm_user_id = crm_id
                p.crm_username = f"{local}@{CRM_DOMAIN}"

    def cast(self) -> DemoCast:
        """The people behind the demo logins."""
        frontline = [t for t in self.teams if t.kind.key in _CRM_FRONTLINE]

        def active_members(t: _Team) -> list[_Person]:
            """Members still employed when the current roster is exported."""
            return [m for m in t.members if m.end is None and m.start <= _LAST_CHANGE]

        # The manager login gets the biggest team, so its results clear the anonymity threshold.
        team = max(frontline, key=lambda t: (len(active_members(t)), -self.teams.index(t)))
        movers = set(self.movers)
        members = sorted(active_members(team), key=lambda m: m.hr_id)
        employee = next((m for m in members if m.licensed and m not in movers), members[0])
        assert team.manager is not None
        return DemoCast(
            ceo=self.ceo.hr_id,
            sponsors=(self.ceo.hr_id, self.cro.hr_id, self.cco.hr_id),
            change_leader=self.change_leader.hr_id,
            manager=team.manager.hr_id,
            employee=employee.hr_id,
            manager_team=team.path,
        )


def _csv(rows: list[list[str]]) -> str:
    """CSV text with a header and Unix line ends (the same bytes on every platform)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ROSTER_COLUMNS)
    writer.writerows(rows)
    return out.getvalue()


def build_roster(size: str = "small", seed: int = 7, calendar: DemoCalendar = REFERENCE) -> DemoRoster:
    """Generate the demo company's earlier and current HR exports, their dates moved by
    ``calendar`` (the reference dates by default); pure (no database, no clock)."""
    gen = _Generator(size, seed)
    gen.build()
    gen.history()
    gen.identify()
    # The company is generated on the reference dates and only its exports are moved, so every
    # choice (tenures, leavers, movers) is the same whatever the load day.
    day = calendar.day
    earlier_rows: list[list[str]] = []
    current_rows: list[list[str]] = []
    for p in gen.people:  # already in HR-id order
        if p.start <= EARLIER_EFFECTIVE:
            # Before the rollout nobody had a CRM account, and today's leavers were still here.
            earlier_rows.append([
                p.hr_id, p.email, p.full_name, p.title, p.earlier_unit or p.unit,
                p.earlier_manager.hr_id if p.earlier_manager else "", day(p.start).isoformat(), "", "", "",
                "true" if p.executive else "false",
            ])
        current_rows.append([
            p.hr_id, p.email, p.full_name, p.title, p.unit, p.manager.hr_id if p.manager else "",
            day(p.start).isoformat(), day(p.end).isoformat() if p.end else "", p.crm_user_id, p.crm_username,
            "true" if p.executive else "false",
        ])
    active = [p for p in gen.people if p.end is None]
    return DemoRoster(
        size=size,
        seed=seed,
        calendar=calendar,
        earlier_csv=_csv(earlier_rows),
        current_csv=_csv(current_rows),
        cast=gen.cast(),
        employees=len(gen.people),
        active=len(active),
        licences=sum(1 for p in active if p.licensed),
        movers=len(gen.movers),
        leavers=len(gen.people) - len(active),
        joiners=len(gen.people) - len(earlier_rows),
        hr_emails={p.hr_id: p.email for p in gen.people},
        hr_start_dates={p.hr_id: day(p.start) for p in gen.people},
    )


# --- the sponsors' stories ----------------------------------------------------------------------

#: The three ways a sponsor shows up on the executive commitment dashboard (issue 7).
VISIBLE, ABSENT, UNCOMMITTED = "visible", "absent", "uncommitted"


@dataclass(frozen=True)
class SponsorStory:
    """One demo sponsor: who (by title), how they show up, and the regions they answer for."""

    title: str
    profile: str
    regions: tuple[str, ...]


#: Each story is planted where its evidence lives: the sponsors' activities and plans
#: (``dashboards/demo_sponsors.py``), their own CRM use (``adoption.demo_telemetry``) and training
#: (``training.demo``), and, in their regions, the pulse's leadership-commitment and trust answers
#: (``surveys.demo``) and how soon comments get a reply (``surveys.demo_conversations``).
#:
#: - the CEO, visible and consistent: at or above plan, messages, uses the CRM, trained, and North
#:   America's comments answered within days; North America sees a committed leadership;
#: - the CRO, absent: few activities against plan, no CRM use of their own, training not done,
#:   LATAM's comments answered late if at all; LATAM sees as little as there is;
#: - the CCO, active but not seen as committed: at or above plan with many messages, uses the CRM,
#:   trained, but EMEA and APAC answer the leadership items low (the say-do gap) and their comments
#:   wait.
SPONSOR_STORIES = (
    SponsorStory(CEO_TITLE, VISIBLE, ("North America",)),
    SponsorStory(CRO_TITLE, ABSENT, ("LATAM",)),
    SponsorStory(CCO_TITLE, UNCOMMITTED, ("EMEA", "APAC")),
)


def region_story(path: str) -> SponsorStory | None:
    """The story of the sponsor answering for the region of unit ``path`` (None at headquarters)."""
    parts = path.split(UNIT_PATH_SEPARATOR)
    if len(parts) < 2:
        return None
    return next((s for s in SPONSOR_STORIES if parts[1] in s.regions), None)


def sponsor_stories() -> dict[int, SponsorStory]:
    """The demo initiative's sponsors by employee id, with their story (matched by title); empty
    when the demo initiative is not there."""
    initiative = db.session.scalar(select(Initiative).where(Initiative.name == INITIATIVE_NAME))
    if initiative is None:
        return {}
    by_title = {s.title: s for s in SPONSOR_STORIES}
    return {e.id: by_title[e.title] for e in initiative.sponsors if e.title in by_title}


# --- loading ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DemoLogin:
    """One demo account: its role, e-mail and what the person signing in will see."""

    role: str
    email: str
    sees: str


@dataclass(frozen=True)
class DemoSummary:
    """What ``load_demo`` found or did, for the CLI to print and tests to check."""

    size: str
    seed: int
    newly_loaded: bool
    employees: int
    active: int
    teams: int
    regions: int
    licences: int
    movers: int
    initiative: str
    licensed_seats: int
    accounts: tuple[DemoLogin, ...]
    # The load the demo's dates follow (that of the first load when the demo was already there).
    calendar: DemoCalendar
    # CRM usage loaded with the organization (adoption.demo_telemetry); None when not loaded.
    telemetry: TelemetrySummary | None = None
    # One line from each feature package's demo loader (surveys, training, ...).
    extras: tuple[str, ...] = ()

    @property
    def logins(self) -> list[tuple[str, str]]:
        """The demo logins as (role, e-mail) pairs."""
        return [(a.role, a.email) for a in self.accounts]

    def describe(self) -> str:
        """A short multi-line report: counts, whether anything was loaded, and the logins."""
        state = ("loaded now" if self.newly_loaded
                 else "already present: nothing was changed")
        calendar = self.calendar
        if self.newly_loaded:
            built = f"Built for {calendar.loaded_on.isoformat()}: its dates follow that day"
        else:
            # A second load finds the first one's dates in the data; only the week is known.
            built = (f"Built for the week of {calendar.today.isoformat()} (to build it for another day, "
                     "load it into an empty database)")
        lines = [
            f"{COMPANY_NAME} demo organization (size {self.size}, seed {self.seed}): {state}.",
            f"  {built}; CRM usage runs to Sunday {calendar.usage_end.isoformat()}.",
            (f"  {self.active} active employees ({self.employees - self.active} leavers kept for history) "
            f"in {self.teams} teams across {self.regions} regions; {self.licences} hold a CRM licence."),
            (f"  Roster history: {calendar.day(EARLIER_EFFECTIVE).isoformat()} and "
            f"{calendar.day(CURRENT_EFFECTIVE).isoformat()} "
            f"({self.movers} people moved team in between)."),
            (f"  Initiative \"{self.initiative}\": {self.licensed_seats} licensed seats, "
            f"target {ADOPTION_TARGET_PCT:g}% adoption."),
            *([self.telemetry.describe()] if self.telemetry else []),
            *(f"  {line}" for line in self.extras),
            "",
            f"Demo logins, all with the password {DEMO_PASSWORD!r}",
            "(demo data only: never use this password, or these accounts, in a real deployment):",
        ]
        role_w = max(len(a.role) for a in self.accounts)
        email_w = max(len(a.email) for a in self.accounts)
        lines.append(f"  {'role':<{role_w}}  {'e-mail':<{email_w}}  what they see")
        for a in self.accounts:
            lines.append(f"  {a.role:<{role_w}}  {a.email:<{email_w}}  {a.sees}")
        return "\n".join(lines)


def _import(text: str, effective: dt.date, label: str, record: bool = True) -> None:
    """Import one demo roster; the demo is meant to be valid data, so any row error is a bug.

    With ``record`` it joins the import history, as a file imported with ``flask import-roster``
    would (not when a second run only confirms the roster is already there)."""
    from adoption.roster import import_roster, import_roster_text

    if record:
        _record, plan = import_roster_text(text, f"acme-hr-export-{effective.isoformat()}.csv", effective=effective,
                                           now=utcnow(), full=True, force=True)
    else:
        plan = import_roster(io.StringIO(text), effective=effective, full=True, force=True)
    if plan.errors:
        shown = "; ".join(f"line {e.line} ({e.employee_id}): {e.reason}" for e in plan.errors[:5])
        raise DemoError(f"the {label} demo roster has {len(plan.errors)} import errors: {shown}")


def _calendar_in_database(roster: DemoRoster) -> DemoCalendar:
    """The calendar the demo in the database was loaded with, read from its people's start dates
    (all moved by the same whole weeks); refuses an organization that is not this demo (other
    seed, size, or real data)."""
    in_db = {hr_id: (email, start) for hr_id, email, start in
             db.session.execute(select(Employee.hr_id, Employee.email, Employee.start_date))}
    # A leaver erased since (adoption/erasure.py) is there under a pseudonym: their row still counts.
    erased = erased_on(list(roster.hr_emails))
    mismatched = [hr for hr, email in roster.hr_emails.items()
                  if hr not in erased and in_db.get(hr, (None,))[0] != email]
    moved = {in_db[hr][1] - start for hr, start in roster.hr_start_dates.items()
             if hr in in_db and in_db[hr][1] is not None}
    if mismatched or len(in_db) != len(roster.hr_emails) or len(moved) != 1:
        raise DemoError(
            f"unit {ROOT_UNIT!r} exists but its people are not the {roster.size} demo with seed "
            f"{roster.seed}; load the demo into an empty database"
        )
    return DemoCalendar(roster.calendar.today + moved.pop())


def _employee(hr_id: str) -> Employee:
    """The demo employee with ``hr_id`` (it must have been imported)."""
    employee = db.session.scalar(select(Employee).where(Employee.hr_id == hr_id))
    if employee is None:
        raise DemoError(f"demo employee {hr_id} is missing after the roster import")
    return employee


def _ensure_initiative(roster: DemoRoster) -> Initiative:
    """The demo initiative, created once (an existing one with the same name is left alone)."""
    initiative = db.session.scalar(select(Initiative).where(Initiative.name == INITIATIVE_NAME))
    if initiative is not None:
        return initiative
    # Procurement bought about a tenth more seats than were handed out, rounded up to tens.
    seats = int(math.ceil(roster.licences * 1.1 / 10) * 10)
    return save_initiative(
        INITIATIVE_NAME,
        start_date=roster.calendar.day(INITIATIVE_START),
        licensed_seats=seats,
        adoption_target_pct=ADOPTION_TARGET_PCT,
        key_behaviours=KEY_BEHAVIOURS,
        sponsors=[_employee(hr_id) for hr_id in roster.cast.sponsors],
    )


def _ensure_logins(roster: DemoRoster) -> tuple[DemoLogin, ...]:
    """One account per role, linked to the demo people chosen for it; existing ones are kept as they are."""
    from adoption.accounts import create_user

    cast = roster.cast
    team_size = db.session.scalar(
        select(func.count(Employee.id))
        .join(OrgUnit, OrgUnit.id == Employee.unit_id)
        .where(OrgUnit.path == cast.manager_team, Employee.active.is_(True))
    )
    wanted = [
        (Role.ADMIN, ADMIN_EMAIL, "roster import, accounts and invitations, API tokens, the outbox"),
        (Role.CHANGE_LEADER, roster.hr_emails[cast.change_leader],
         "every unit and person: adoption monitoring, surveys, training, hypotheses"),
        (Role.EXECUTIVE, roster.hr_emails[cast.ceo],
         "organization-wide aggregates and the sponsor commitment dashboard (CEO, a sponsor)"),
        (Role.MANAGER, roster.hr_emails[cast.manager],
         f"own team {cast.manager_team} ({team_size} active people)"),
        (Role.EMPLOYEE, roster.hr_emails[cast.employee],
         "own pulses, replies to own comments, training and commitments"),
    ]
    # The accounts were opened when the initiative started, before their sign-ins (demo_sign_ins).
    opened = dt.datetime.combine(roster.calendar.day(INITIATIVE_START), dt.time(9))
    accounts = []
    for role, email, sees in wanted:
        exists = db.session.scalar(select(User.id).where(func.lower(User.email) == email))
        if exists is None:
            # create_user links the account to the employee with the same e-mail.
            create_user(email, role.value, DEMO_PASSWORD, at=opened)
        accounts.append(DemoLogin(role.value, email, sees))
    return tuple(accounts)


def load_demo(size: str = "small", seed: int = 7, today: dt.date | None = None) -> DemoSummary:
    """Load the demo organization with its dates following ``today`` (the organization's today
    when None), or confirm it is already there; flushes, never commits.

    A demo already in the database keeps the dates it was loaded with: moving it would rewrite
    its whole history."""
    calendar = calendar_for(today, current_app.config["ORG_TIMEZONE"])
    roster = build_roster(size, seed, calendar)
    root = db.session.scalar(select(OrgUnit).where(OrgUnit.path == ROOT_UNIT))
    newly_loaded = root is None
    if newly_loaded:
        _import(roster.earlier_csv, calendar.day(EARLIER_EFFECTIVE), "earlier")
    else:
        # Never replay the earlier roster over the current one: that would move people back.
        found = _calendar_in_database(roster)
        if found.shift != calendar.shift:
            calendar = found
            roster = build_roster(size, seed, calendar)
    # On a second run this is a no-op: the current roster is already applied.
    _import(roster.current_csv, calendar.day(CURRENT_EFFECTIVE), "current", record=newly_loaded)
    initiative = _ensure_initiative(roster)
    accounts = _ensure_logins(roster)
    db.session.flush()
    from adoption.demo_telemetry import load_telemetry  # it imports this module

    telemetry = load_telemetry(size, seed, calendar)
    extras = _load_feature_demos(size, seed, calendar)
    signed_in = None
    if newly_loaded:
        signed_in = load_sign_ins(seed, calendar, {a.role: a.email for a in accounts}, current_app.config)
    erased = _erase_a_leaver(calendar) if newly_loaded else None
    return _summarize(roster, newly_loaded, initiative, accounts, telemetry,
                      (*extras, *filter(None, [signed_in, erased])))


def _erase_a_leaver(calendar: DemoCalendar) -> str | None:
    """One leaver asked to be erased a month after the current roster, and the admin did it (last,
    once every feature's data about them is there); the summary line, or None without leavers."""
    leaver = db.session.scalar(select(Employee).where(Employee.active.is_(False), Employee.crm_user_id.is_not(None))
                               .order_by(Employee.hr_id).limit(1))
    admin = db.session.scalar(select(User).where(User.email == ADMIN_EMAIL))
    if leaver is None or admin is None:
        return None
    when = dt.datetime.combine(calendar.day(CURRENT_EFFECTIVE) + dt.timedelta(days=30), dt.time(9, 30))
    erasure = erase_on_request(scope_for(admin), leaver, when)
    return (f"Erasures: 1 leaver erased at their request on {when.date().isoformat()}, now "
            f"{pseudonym(erasure.employee_id)} (Admin → Personal data lists what went); the other "
            f"leavers are kept until UPTAKE_LEAVER_RETENTION_DAYS is set (erase-leavers).")


def register_demo_loader(app: Flask, loader: DemoLoader) -> None:
    """Have ``load_demo`` call ``loader(size, seed, calendar)`` after the organization and its usage.

    Feature packages register here from their ``init_app``, so this core module never imports
    them (dependencies point from the features to ``adoption``).
    """
    loaders = app.extensions.setdefault(DEMO_LOADERS, [])
    if loader not in loaders:
        loaders.append(loader)


def _load_feature_demos(size: str, seed: int, calendar: DemoCalendar) -> tuple[str, ...]:
    """Run the demo loaders the app's feature packages registered; their summary lines."""
    lines = []
    for loader in current_app.extensions.get(DEMO_LOADERS, []):
        line = loader(size, seed, calendar)
        db.session.flush()
        if line:
            lines.append(line)
    return tuple(lines)


def _summarize(roster: DemoRoster, newly_loaded: bool, initiative: Initiative,
               accounts: tuple[DemoLogin, ...], telemetry: TelemetrySummary | None = None,
               extras: tuple[str, ...] = ()) -> DemoSummary:
    """Count what the database now holds for the demo company."""
    prefix = ROOT_UNIT + UNIT_PATH_SEPARATOR
    in_company = (OrgUnit.path == ROOT_UNIT) | OrgUnit.path.startswith(prefix, autoescape=True)
    employees, active, licences = db.session.execute(
        select(
            func.count(Employee.id),
            func.count(Employee.id).filter(Employee.active.is_(True)),
            func.count(Employee.crm_user_id).filter(Employee.active.is_(True)),
        ).join(OrgUnit, OrgUnit.id == Employee.unit_id).where(in_company)
    ).one()
    parents = select(OrgUnit.parent_id).where(OrgUnit.parent_id.isnot(None))
    teams = db.session.scalar(
        select(func.count(OrgUnit.id)).where(in_company, OrgUnit.id.not_in(parents), OrgUnit.depth > 0)
    )
    regions = db.session.scalar(select(func.count(OrgUnit.id)).where(in_company, OrgUnit.depth == 1))
    return DemoSummary(
        size=roster.size,
        seed=roster.seed,
        newly_loaded=newly_loaded,
        employees=employees,
        active=active,
        teams=teams,
        regions=regions,
        licences=licences,
        movers=roster.movers,
        initiative=initiative.name,
        licensed_seats=initiative.licensed_seats,
        accounts=accounts,
        calendar=roster.calendar,
        telemetry=telemetry,
        extras=extras,
    )
