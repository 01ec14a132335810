"""What the home page shows each role: what needs the signed-in user's attention.

Every figure is read through the user's ``Scope``; which sections a role gets is a matter of
presentation, but whether names of people may appear is decided by the scope alone
(``sees_individuals``), so an aggregates-only scope gets no list of people whatever its role.
``today`` is always passed in (the organization's date), never read from the clock here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from flask import Flask
from sqlalchemy import and_, case, func, or_, select

from adoption.accounts import count_without_account
from adoption.extensions import db
from adoption.models import Employee, Initiative, OrgUnit, Role, RosterImport, UnitMembership, User
from adoption.scope import Scope
from adoption.sign_ins import Failures, recent_failures
from adoption.timekeeping import utcnow

#: How far back "new joiners" and "leavers" look, and how far ahead announced leavers are shown.
ATTENTION_WINDOW = dt.timedelta(days=30)
#: How many units the change leader's "lowest licence share" list shows.
LOWEST_SHARE_UNITS = 5
#: How many roster imports the admin's home lists.
RECENT_IMPORTS = 5


@dataclass(frozen=True)
class MyRecord:
    """The signed-in person's own roster record."""

    full_name: str
    title: str | None
    unit_path: str
    manager_name: str | None
    has_crm_licence: bool
    active: bool


@dataclass(frozen=True)
class PersonLine:
    """One person in a manager's list: name, title, unit and the date that put them there."""

    full_name: str
    title: str | None
    unit_path: str
    on: dt.date | None = None


@dataclass
class TeamSection:
    """A unit in a manager's scope with its figures and the people who need attention."""

    unit_id: int
    unit_path: str
    headcount: int = 0
    licensed: int = 0
    without_licence: list[PersonLine] = field(default_factory=list)
    joiners: list[PersonLine] = field(default_factory=list)
    leavers: list[PersonLine] = field(default_factory=list)

    @property
    def licence_share(self) -> float | None:
        """Share of the team holding a CRM licence (None for an empty team)."""
        return self.licensed / self.headcount if self.headcount else None


@dataclass(frozen=True)
class UnitShare:
    """Headcount and licences of one unit (aggregates only)."""

    unit_id: int
    unit_path: str
    headcount: int
    licensed: int

    @property
    def licence_share(self) -> float:
        """Share of the unit holding a CRM licence."""
        return self.licensed / self.headcount if self.headcount else 0.0


@dataclass(frozen=True)
class InitiativeFigures:
    """The CRM initiative as leaders see it on their home page."""

    name: str
    start_date: dt.date
    licensed_seats: int
    adoption_target_pct: float
    # Names of the sponsoring executives: a public part of the initiative, not a list of staff.
    sponsors: list[str]


@dataclass(frozen=True)
class OrganizationFigures:
    """Organization-wide (or scope-wide) aggregates: people, licences and the initiative."""

    headcount: int
    licensed: int
    initiative: InitiativeFigures | None

    @property
    def licence_share(self) -> float | None:
        """Share of active people holding a CRM licence."""
        return self.licensed / self.headcount if self.headcount else None

    @property
    def seats_used_share(self) -> float | None:
        """Licences held as a share of the initiative's licensed seats."""
        if self.initiative is None or not self.initiative.licensed_seats:
            return None
        return self.licensed / self.initiative.licensed_seats


@dataclass(frozen=True)
class ImportLine:
    """One roster import as listed on a home page (no row-level content)."""

    id: int
    filename: str
    status: str
    effective_date: dt.date
    created_at: dt.datetime | None
    applied_at: dt.datetime | None
    rows: int | None
    rejected: int | None


@dataclass(frozen=True)
class AccountFigures:
    """Accounts by role, for the admin."""

    by_role: dict[str, int]
    disabled: int
    without_password: int
    # Active people on the roster with no account at all.
    roster_without_account: int
    # Accounts locked after failed sign-ins at the time of the page.
    locked: int = 0
    # Refused sign-in attempts of the last day (adoption/sign_ins.py).
    refused: Failures | None = None

    @property
    def total(self) -> int:
        """Every account, whatever its role."""
        return sum(self.by_role.values())


@dataclass
class HomeSummary:
    """Everything one user's home page shows; sections a role does not get stay empty."""

    role: Role
    today: dt.date
    me: MyRecord | None = None
    teams: list[TeamSection] = field(default_factory=list)
    organization: OrganizationFigures | None = None
    lowest_share_units: list[UnitShare] = field(default_factory=list)
    imports: list[ImportLine] = field(default_factory=list)
    accounts: AccountFigures | None = None

    @property
    def last_import(self) -> ImportLine | None:
        """The most recent roster import, when the section was built."""
        return self.imports[0] if self.imports else None


@dataclass(frozen=True)
class HomeSection:
    """A part of the home page that a feature package adds (surveys, training, dashboards):
    ``adoption`` cannot import them, so they register here when their blueprint is registered.

    ``build(scope, today)`` returns what ``template`` draws (as ``section``), or None when the
    section has nothing to say to this user. It reads only through ``scope``, like every query.
    """

    name: str
    template: str
    build: Callable[[Scope, dt.date], Any]
    # "yours": the person's own to-dos (every role with a roster record); "leading": what the
    # user answers for as a leader, drawn first, above the role's roster figures.
    place: Literal["yours", "leading"] = "yours"
    order: int = 100


def register_home_section(app: Flask, section: HomeSection) -> None:
    """Add ``section`` to every home page it has something for (once per name)."""
    sections = app.extensions.setdefault("uptake_home_sections", {})
    sections[section.name] = section


def home_sections(app: Flask, scope: Scope, today: dt.date) -> dict[str, list[tuple[HomeSection, Any]]]:
    """The registered sections with something for this user, by place, each with what it built."""
    placed: dict[str, list[tuple[HomeSection, Any]]] = {"yours": [], "leading": []}
    registered = app.extensions.get("uptake_home_sections", {}).values()
    for section in sorted(registered, key=lambda s: (s.order, s.name)):
        built = section.build(scope, today)
        if built is not None:
            placed[section.place].append((section, built))
    return placed


def home_summary(scope: Scope, today: dt.date, now: dt.datetime | None = None) -> HomeSummary:
    """Build the home page of the user behind ``scope`` as of ``today`` (and, for what counts
    by the hour, ``now`` in UTC: the current time when None)."""
    summary = HomeSummary(role=scope.role, today=today, me=my_record(scope))
    if scope.role is Role.MANAGER:
        summary.teams = team_sections(scope, today)
    elif scope.role is Role.CHANGE_LEADER:
        summary.organization = organization_figures(scope, today)
        summary.lowest_share_units = lowest_share_units(scope, today)
        summary.imports = recent_imports(scope, limit=1)
    elif scope.role is Role.EXECUTIVE:
        summary.organization = organization_figures(scope, today)
    elif scope.role is Role.ADMIN:
        summary.accounts = account_figures(scope, now or utcnow())
        summary.imports = recent_imports(scope, limit=RECENT_IMPORTS)
    return summary


def own_employee(scope: Scope) -> Employee | None:
    """The signed-in user's own employee record (everyone may read their own), or None."""
    return db.session.get(Employee, scope.employee_id) if scope.employee_id is not None else None


def my_record(scope: Scope) -> MyRecord | None:
    """The user's own roster record (everyone may read their own)."""
    me = own_employee(scope)
    if me is None:
        return None
    return MyRecord(
        full_name=me.full_name,
        title=me.title,
        unit_path=me.unit.path,
        manager_name=me.manager.full_name if me.manager is not None else None,
        has_crm_licence=me.has_crm_licence,
        active=me.active,
    )


def _in_force_on(day: dt.date):
    """Unit memberships in force on ``day``."""
    return and_(
        UnitMembership.valid_from <= day,
        or_(UnitMembership.valid_to.is_(None), UnitMembership.valid_to > day),
    )


def _members_on(scope: Scope, day: dt.date):
    """SELECT over employees joined to the membership they held on ``day``, within ``scope``."""
    return (
        select()
        .select_from(Employee)
        .join(UnitMembership, UnitMembership.employee_id == Employee.id)
        .join(OrgUnit, OrgUnit.id == UnitMembership.unit_id)
        .where(_in_force_on(day), scope.unit_filter(UnitMembership.unit_id))
    )


def unit_figures(scope: Scope, today: dt.date) -> list[UnitShare]:
    """Headcount and licences on ``today`` per unit in scope that has people, by path."""
    if not scope.sees_aggregates:
        return []
    licensed = func.sum(case((Employee.has_crm_licence, 1), else_=0))
    stmt = (
        _members_on(scope, today)
        .add_columns(OrgUnit.id, OrgUnit.path, func.count(Employee.id), licensed)
        .group_by(OrgUnit.id, OrgUnit.path)
        .order_by(OrgUnit.path)
    )
    return [
        UnitShare(uid, path, int(n), int(lic or 0))
        for uid, path, n, lic in db.session.execute(stmt)
    ]


def team_sections(scope: Scope, today: dt.date) -> list[TeamSection]:
    """A manager's units: figures and, only if the scope allows individuals, who needs attention."""
    if not scope.sees_aggregates:
        return []
    teams = {
        u.unit_id: TeamSection(u.unit_id, u.unit_path, u.headcount, u.licensed)
        for u in unit_figures(scope, today)
    }
    if not scope.sees_individuals:
        return [teams[k] for k in sorted(teams, key=lambda k: teams[k].unit_path)]

    people = scope.employee_filter(Employee.id, UnitMembership.unit_id)
    columns = (OrgUnit.id, OrgUnit.path, Employee.full_name, Employee.title)
    for uid, path, name, title in db.session.execute(
        _members_on(scope, today)
        .add_columns(*columns)
        .where(people, ~Employee.has_crm_licence)
        .order_by(Employee.full_name)
    ):
        teams[uid].without_licence.append(PersonLine(name, title, path))

    for uid, path, name, title, start in db.session.execute(
        _members_on(scope, today)
        .add_columns(*columns, Employee.start_date)
        .where(people, Employee.start_date > today - ATTENTION_WINDOW, Employee.start_date <= today)
        .order_by(Employee.start_date.desc(), Employee.full_name)
    ):
        teams[uid].joiners.append(PersonLine(name, title, path, start))

    # A leaver keeps their last unit as ``Employee.unit_id``; announced leavers are still members.
    leavers = (
        select(OrgUnit.id, OrgUnit.path, Employee.full_name, Employee.title, Employee.end_date)
        .join(OrgUnit, OrgUnit.id == Employee.unit_id)
        .where(
            scope.unit_filter(Employee.unit_id),
            scope.employee_filter(Employee.id, Employee.unit_id),
            Employee.end_date > today - ATTENTION_WINDOW,
            Employee.end_date <= today + ATTENTION_WINDOW,
        )
        .order_by(Employee.end_date, Employee.full_name)
    )
    for uid, path, name, title, end in db.session.execute(leavers):
        team = teams.setdefault(uid, TeamSection(uid, path))
        team.leavers.append(PersonLine(name, title, path, end))
    return [teams[k] for k in sorted(teams, key=lambda k: teams[k].unit_path)]


def current_initiative(today: dt.date) -> Initiative | None:
    """The tracked initiative: the latest started by ``today``, else the earliest planned."""
    started = db.session.scalar(
        select(Initiative)
        .where(Initiative.start_date <= today)
        .order_by(Initiative.start_date.desc(), Initiative.id.desc())
        .limit(1)
    )
    if started is not None:
        return started
    return db.session.scalar(
        select(Initiative).order_by(Initiative.start_date, Initiative.id).limit(1)
    )


def organization_figures(scope: Scope, today: dt.date) -> OrganizationFigures | None:
    """People and licences in scope on ``today``, with the initiative's seats, target, sponsors."""
    if not scope.sees_aggregates:
        return None
    licensed = func.sum(case((Employee.has_crm_licence, 1), else_=0))
    headcount, licences = db.session.execute(
        _members_on(scope, today).add_columns(func.count(Employee.id), licensed)
    ).one()
    initiative = current_initiative(today)
    figures = None
    if initiative is not None:
        figures = InitiativeFigures(
            name=initiative.name,
            start_date=initiative.start_date,
            licensed_seats=initiative.licensed_seats,
            adoption_target_pct=float(initiative.adoption_target_pct),
            sponsors=sorted(s.full_name for s in initiative.sponsors),
        )
    return OrganizationFigures(int(headcount or 0), int(licences or 0), figures)


def lowest_share_units(
    scope: Scope, today: dt.date, limit: int = LOWEST_SHARE_UNITS
) -> list[UnitShare]:
    """Units with people whose licence share is lowest (ties: larger units first)."""
    units = unit_figures(scope, today)
    units.sort(key=lambda u: (u.licence_share, -u.headcount, u.unit_path))
    return units[:limit]


def recent_imports(scope: Scope, limit: int) -> list[ImportLine]:
    """The latest roster imports, newest first (for the roles that run or watch them)."""
    if not (scope.all_units and scope.sees_individuals):
        return []
    rows = db.session.scalars(
        select(RosterImport)
        .order_by(RosterImport.created_at.desc(), RosterImport.id.desc())
        .limit(limit)
    )
    lines = []
    for row in rows:
        counts = (row.summary or {}).get("counts") or {}
        lines.append(
            ImportLine(
                id=row.id,
                filename=row.filename,
                status=row.status,
                effective_date=row.effective_date,
                created_at=row.created_at,
                applied_at=row.applied_at,
                rows=counts.get("rows"),
                rejected=counts.get("rejected"),
            )
        )
    return lines


def account_figures(scope: Scope, now: dt.datetime) -> AccountFigures | None:
    """Accounts per role, disabled accounts, accounts that cannot sign in yet or are locked on
    ``now``, people on the roster without one, and the last day's refused sign-ins (admin only)."""
    if scope.role is not Role.ADMIN:
        return None
    by_role = {role.value: 0 for role in Role}
    for role, n in db.session.execute(select(User.role, func.count(User.id)).group_by(User.role)):
        by_role[role] = int(n)
    disabled, no_password, locked = db.session.execute(select(
        func.count(User.id).filter(User.is_enabled.is_(False)),
        func.count(User.id).filter(User.password_hash.is_(None)),
        func.count(User.id).filter(User.locked_until > now),
    )).one()
    return AccountFigures(by_role, int(disabled), int(no_password), count_without_account(), int(locked),
                          recent_failures(scope, now=now))
