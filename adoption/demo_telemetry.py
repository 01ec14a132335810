"""CRM usage for the demo organization: raw events for the small demo, daily rollups for the large.

The story: the CRM went live for the whole company in spring 2026 and the data runs through
the Sunday before the day the demo is loaded (``DemoCalendar.usage_end``: Sunday 22 November 2026
as loaded on 23 November, ``adoption.demo_calendar.REFERENCE_USAGE_END``). Each team
adopts along its own S-curve (different floors, ceilings, midpoints and speeds); a few resistant
teams stay low and flat; two front-line teams that had adopted early slip over the last five
weeks, one person giving up after another (the dashboard's "units at risk"); within a team some licence holders are champions and some never log in.
Nearly all use falls on weekdays, in the working hours of the person's region. The initiative's
three sponsors follow their stories (``adoption.demo.SPONSOR_STORIES``): the absent one never logs
in, the other two use the CRM from the start of the window.

The small demo gets six months of raw events, sent through the real ingest path
(``judge_event`` then ``store_batch`` in batches of 1,000), so ``daily_usage`` is filled by the
product's own code. Besides employees' use it carries an integration user's logins (client
``integration``: stored, never counted), e-mail sync activity under real people's ids (also
``integration``), contractors whose CRM usernames match nobody on the roster, and some events
that name people by the 15-character form of their CRM user id.

The large demo (about 15,000 licence holders) gets twelve months of ``daily_usage`` rows written
directly with Core bulk inserts: generating, judging and storing the ~15 million raw events that
would stand behind them takes many minutes, while the dashboards only ever read the rollups.

Both are deterministic: the small demo draws the shared choices from ``random.Random(seed)`` and
each person's from their own ``random.Random`` seeded by the seed and their CRM id (so one person's
story does not reshuffle everyone else's), the large one from ``numpy.random.default_rng(seed)``, never from the clock; event ids are
``demo-s<seed>-<n>``, so a second load is recognised and adds nothing. Loaded on another day, the
window moves by whole weeks and the draws stay the same; only the holidays (``day_factor``) are
those of the dates the usage falls on.
"""
from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from sqlalchemy import Date, Integer, Text, bindparam, cast, func, insert, select
from sqlalchemy.dialects import postgresql

from adoption.demo import ABSENT, salesforce_id18, sponsor_stories
from adoption.demo_calendar import DemoCalendar
from adoption.extensions import db
from adoption.models import DailyUsage, Employee, OrgUnit, UnitMembership, UsageEvent
from adoption.models.org import UNIT_PATH_SEPARATOR

SMALL_WEEKS = 26
LARGE_WEEKS = 52
#: When the demo events are "received": the morning after the last day of use (as loaded on
#: 2026-11-23; ``DemoCalendar.moment`` moves it).
RECEIVED_AT = dt.datetime(2026, 11, 23, 6, 0)
BATCH_SIZE = 1000
EVENT_TYPES = ("login", "record_created", "record_updated", "activity_logged",
               "opportunity_updated", "report_viewed", "account_plan_updated")
_OBJECT_TYPES = {
    "record_created": ("Account", "Contact", "Lead", "Case"),
    "record_updated": ("Account", "Contact", "Case", "Lead"),
    "activity_logged": ("Task", "Event"),
    "opportunity_updated": ("Opportunity",),
    "report_viewed": ("Report", "Dashboard"),
    "account_plan_updated": ("AccountPlan",),
}
# Mean actions of each type on an active day of a fully adopted person, by kind of team; a login
# or two comes on top. Key behaviours (opportunity_updated, activity_logged, account_plan_updated)
# stay rarer than logins everywhere.
_ACTION_MEANS = {
    "field": {"record_created": 0.25, "record_updated": 0.5, "activity_logged": 0.5,
              "opportunity_updated": 0.45, "report_viewed": 0.2, "account_plan_updated": 0.06},
    "inside": {"record_created": 0.45, "record_updated": 0.45, "activity_logged": 0.7,
               "opportunity_updated": 0.25, "report_viewed": 0.1, "account_plan_updated": 0.01},
    "key_accounts": {"record_created": 0.1, "record_updated": 0.45, "activity_logged": 0.4,
                     "opportunity_updated": 0.35, "report_viewed": 0.3, "account_plan_updated": 0.15},
    "service": {"record_created": 0.35, "record_updated": 0.8, "activity_logged": 0.3,
                "opportunity_updated": 0.02, "report_viewed": 0.05},
    "success": {"record_updated": 0.5, "activity_logged": 0.5, "opportunity_updated": 0.1,
                "report_viewed": 0.25, "account_plan_updated": 0.1},
    "marketing": {"record_created": 0.15, "record_updated": 0.2, "report_viewed": 0.6,
                  "activity_logged": 0.05},
    "orders": {"record_updated": 0.6, "opportunity_updated": 0.1, "report_viewed": 0.15},
    "leadership": {"report_viewed": 0.7, "opportunity_updated": 0.05, "record_updated": 0.1},
}
# Team labels as the roster names them (demo._KINDS), longest first so "Key Accounts" wins.
_KIND_LABELS = (("Field Sales", "field"), ("Inside Sales", "inside"), ("Key Accounts", "key_accounts"),
                ("Customer Service", "service"), ("Customer Success", "success"),
                ("Marketing Operations", "marketing"), ("Order Management", "orders"))
# Working hours in UTC by region (8:00-18:00 local, standard time): every event stays on its
# local date whatever the organization's time zone is set to, near enough for a demo.
_UTC_OFFSET_HOURS = {"North America": -5, "EMEA": 1, "APAC": 8, "LATAM": -3}
# Kinds whose people are least keen on a CRM: resistant teams are drawn mostly from these.
_RESISTANT_PRONE = {"orders": 5, "marketing": 3, "service": 2}
RESISTANT_SHARE = 0.1
# Teams whose usage falls away over the last weeks of the window, and the share of their members
# who give up by its end.
SLIPPING_TEAMS = 2
SLIPPING_WEEKS = 5
SLIPPING_SHARE = 0.6
# Licence holders who never log in at all (the dormant users the dashboard lists).
_NEVER_SHARE = 0.06
# Chance of an active working day before a person adopts (trying it out, being made to), and
# the range of that chance once the CRM is a habit.
_TRYOUT_RATE = 0.012
_HABIT_RANGE = (0.5, 0.95)
# Weeks after adopting until a person does their full share of actions per session.
_RAMP_WEEKS = 8
# Chance of a second login on an active day.
_SECOND_LOGIN = 0.25
# Of employees' events, the share naming them by each actor key (the rest by the 18-character id).
_SHORT_ID_SHARE = 0.05
_USERNAME_SHARE = 0.10
_EMAIL_SHARE = 0.03
# Share of activities logged by e-mail sync rather than by hand: machine traffic, never counted.
_SYNCED_ACTIVITY_SHARE = 0.15

INTEGRATION_USERNAME = "integration.erp@acme.crm"
INTEGRATION_USER_ID = salesforce_id18("0058d00000IntgR")
#: People using the CRM who are not on the HR roster: contractors and an agency, by CRM username.
CONTRACTORS = ("m.keller@northwind-consulting.example", "r.osei@northwind-consulting.example",
               "t.nakamura@bluepeak-partners.example", "sales.support@brightline-agency.example")


@dataclass(frozen=True)
class TeamProfile:
    """How one unit takes up the CRM: the share of its licence holders who have made it a habit
    follows an S-curve from ``floor`` to ``ceiling`` over the window."""

    kind: str
    resistant: bool
    floor: float
    ceiling: float
    # Where the curve is steepest, as a fraction of the window, and how steep it is there.
    midpoint: float
    speed: float
    region: str
    # A slipping team (its champion manager left): from this fraction of the window on, a share
    # of its members stops using the CRM, one after another (see ``lapse_schedule``). None for
    # every other team.
    lapse_from: float | None = None
    lapse_share: float = 0.0

    def level(self, x: float) -> float:
        """The share of members who have adopted by fraction ``x`` of the window."""
        return self.floor + (self.ceiling - self.floor) / (1 + math.exp(-self.speed * (x - self.midpoint)))

    def adoption_point(self, u: float) -> float:
        """When (as a fraction of the window) the member at quantile ``u`` adopts: below 0 means
        before the window, ``inf`` never in it. The curve is the distribution of adoption times."""
        if u <= self.level(0.0):
            return -1.0
        if u >= self.level(1.0):
            return math.inf
        share = (u - self.floor) / (self.ceiling - self.floor)
        return self.midpoint - math.log(1 / share - 1) / self.speed


@dataclass(frozen=True)
class TelemetrySummary:
    """What demo usage the database holds, for the demo summary."""

    newly_loaded: bool
    raw_events: bool
    first_day: dt.date
    last_day: dt.date
    events: int
    unmatched_events: int
    unmatched_actors: int
    non_qualifying_events: int
    daily_rows: int
    daily_events: int

    def describe(self) -> str:
        """One line for the demo summary."""
        months = round((self.last_day - self.first_day).days / 30.4)
        span = f"{self.first_day.isoformat()} to {self.last_day.isoformat()}"
        if self.raw_events:
            return (f"  CRM usage: {self.events} events over {months} months ({span}); "
                    f"{self.non_qualifying_events} from integrations, {self.unmatched_events} from "
                    f"{self.unmatched_actors} actors not on the roster; {self.daily_rows} daily rollup rows.")
        return (f"  CRM usage: daily rollups only, {self.daily_rows} rows holding {self.daily_events} "
                f"events over {months} months ({span}).")


def window(weeks: int, calendar: DemoCalendar) -> tuple[dt.date, dt.date]:
    """First and last day of ``weeks`` whole weeks ending on the load's last day of usage."""
    last = calendar.usage_end
    return last - dt.timedelta(days=7 * weeks - 1), last


def team_kind(path: str) -> str:
    """The kind of team a unit path names (``leadership`` for headquarters, regions and areas)."""
    name = path.rsplit(UNIT_PATH_SEPARATOR, 1)[-1]
    for label, kind in _KIND_LABELS:
        if name.startswith(label):
            return kind
    return "leadership"


def team_profiles(paths: list[str], rng: random.Random, weeks: int = SMALL_WEEKS) -> dict[str, TeamProfile]:
    """An adoption profile per unit path, drawn in path order from ``rng``; ``weeks`` is the
    window's length (slipping teams start to slip ``SLIPPING_WEEKS`` before its end)."""
    paths = sorted(paths)
    teams = [p for p in paths if team_kind(p) != "leadership"]
    weights = [_RESISTANT_PRONE.get(team_kind(p), 1) for p in teams]
    resistant: set[str] = set()
    wanted = max(2, round(len(teams) * RESISTANT_SHARE)) if teams else 0
    # At least one resistant team is a big front-line one, where it hurts (and shows).
    frontline = [p for p in teams if team_kind(p) in ("field", "service")]
    if frontline:
        resistant.add(rng.choice(frontline))
    while len(resistant) < wanted:
        resistant.add(rng.choices(teams, weights=weights)[0])
    profiles = {}
    for path in paths:
        kind = team_kind(path)
        parts = path.split(UNIT_PATH_SEPARATOR)
        region = parts[1] if len(parts) > 1 else "North America"
        if path in resistant:
            level = rng.uniform(0.05, 0.12)
            profile = TeamProfile(kind, True, level, level + rng.uniform(0.01, 0.05), 0.5, 4.0, region)
        elif kind == "leadership":
            profile = TeamProfile(kind, False, rng.uniform(0.2, 0.35), rng.uniform(0.6, 0.8),
                                  rng.uniform(0.2, 0.5), rng.uniform(6, 10), region)
        else:
            ceiling = rng.uniform(0.45, 0.7) if kind in ("marketing", "orders") else rng.uniform(0.7, 0.93)
            profile = TeamProfile(kind, False, rng.uniform(0.03, 0.12), ceiling,
                                  rng.uniform(0.15, 0.8), rng.uniform(5, 16), region)
        profiles[path] = profile
    # Slipping teams: front-line teams that had adopted early and well, until their usage fell
    # away over the last weeks; the dashboard's "units at risk" exists for them. Chosen without
    # drawing from ``rng``, so every other team keeps its profile.
    adopters = sorted((p for p in teams if p not in resistant and team_kind(p) in ("field", "inside")),
                      key=lambda p: (-profiles[p].ceiling, p))
    lapse_from = 1 - SLIPPING_WEEKS * 7 / (weeks * 7)
    for path in adopters[:SLIPPING_TEAMS]:
        profiles[path] = replace(profiles[path], midpoint=min(profiles[path].midpoint, 0.35),
                                 lapse_from=lapse_from, lapse_share=SLIPPING_SHARE)
    return profiles


def _independence_day_observed(year: int) -> dt.date:
    """4 July, or the Friday before or Monday after when it falls on a weekend."""
    day = dt.date(year, 7, 4)
    return day + dt.timedelta(days={5: -1, 6: 1}.get(day.weekday(), 0))


def day_factor(day: dt.date, region: str) -> float:
    """How much of a normal working day's use falls on ``day``: weekends and holidays are quiet
    (the holidays of ``day``'s own calendar, whatever day the demo is loaded on)."""
    weekday = day.weekday()
    if weekday == 5:
        return 0.04
    if weekday == 6:
        return 0.02
    if (day.month == 12 and day.day >= 24) or (day.month == 1 and day.day == 1):
        return 0.15
    if region == "EMEA" and day.month == 8:
        return 0.6  # the European summer break
    if region == "North America" and day == _independence_day_observed(day.year):
        return 0.1
    return 1.0


@dataclass(frozen=True)
class _Member:
    """One licence holder with the periods they spent in each unit, clipped to the window."""

    employee_id: int
    crm_user_id: str
    crm_username: str
    email: str
    # (first day, last day inclusive, unit path)
    periods: tuple[tuple[dt.date, dt.date, str], ...]


def lapse_schedule(members: list[_Member], profiles: dict[str, TeamProfile]) -> dict[tuple[int, str], float]:
    """When (as a fraction of the window) each member of a slipping team gives up the CRM, by
    (employee id, unit path): evenly spaced from the team's ``lapse_from`` to the window's end,
    in roster order, so the team's weekly adoption falls week after week."""
    by_team: dict[str, list[int]] = defaultdict(list)
    for member in members:
        for _, _, path in member.periods:
            if profiles[path].lapse_from is not None and member.employee_id not in by_team[path]:
                by_team[path].append(member.employee_id)
    schedule = {}
    for path, people in by_team.items():
        profile = profiles[path]
        quitting = max(1, round(len(people) * profile.lapse_share))
        for rank, employee_id in enumerate(people[:quitting]):
            schedule[(employee_id, path)] = (
                profile.lapse_from + (1 - profile.lapse_from) * (rank + 0.5) / quitting)
    return schedule


def _licence_holders(first: dt.date, last: dt.date) -> list[_Member]:
    """Employees with a CRM user id and their unit memberships within [first, last], by HR id."""
    rows = db.session.execute(
        select(Employee.id, Employee.hr_id, Employee.crm_user_id, Employee.crm_username, Employee.email,
               Employee.start_date, Employee.end_date, UnitMembership.valid_from, UnitMembership.valid_to,
               OrgUnit.path)
        .join(UnitMembership, UnitMembership.employee_id == Employee.id)
        .join(OrgUnit, OrgUnit.id == UnitMembership.unit_id)
        .where(Employee.crm_user_id.is_not(None))
        .order_by(Employee.hr_id, UnitMembership.valid_from)
    ).all()
    periods: dict[int, list[tuple[dt.date, dt.date, str]]] = defaultdict(list)
    people: dict[int, tuple] = {}
    for (employee_id, hr_id, crm_user_id, crm_username, email, start, end,
         valid_from, valid_to, path) in rows:
        people.setdefault(employee_id, (hr_id, crm_user_id, crm_username or "", email))
        lo = max(first, valid_from, start or first)
        hi = min(last, (valid_to - dt.timedelta(days=1)) if valid_to else last,
                 (end - dt.timedelta(days=1)) if end else last)
        if lo <= hi:
            periods[employee_id].append((lo, hi, path))
    ordered = sorted(people.items(), key=lambda item: item[1][0])
    return [_Member(employee_id, crm_user_id, crm_username, email, tuple(periods[employee_id]))
            for employee_id, (_, crm_user_id, crm_username, email) in ordered if periods[employee_id]]


def _all_unit_paths() -> list[str]:
    """Every unit path of the organization."""
    return list(db.session.scalars(select(OrgUnit.path)))


def demo_team_profiles(seed: int, size: str = "small") -> dict[str, TeamProfile]:
    """The adoption profile of every unit of the loaded demo, as the generators draw them."""
    if size == "small":
        return team_profiles(_all_unit_paths(), random.Random(seed))
    return team_profiles(_all_unit_paths(), random.Random(seed), LARGE_WEEKS)


# --- the small demo: raw events through the ingest path ----------------------------------------

def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method: means here are small)."""
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _stamp(day: dt.date, utc_hour_offset: int, minute_of_day: int) -> str:
    """RFC 3339 UTC time of a local working minute (minutes after local midnight) on ``day``."""
    moment = dt.datetime(day.year, day.month, day.day) + dt.timedelta(minutes=minute_of_day - 60 * utc_hour_offset)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_events(seed: int, calendar: DemoCalendar) -> Iterator[dict]:
    """The small demo's raw events (API JSON objects), deterministic for ``seed`` and the load's
    week; needs the roster in the database to know who holds a licence and in which unit."""
    rng = random.Random(seed)
    first, last = window(SMALL_WEEKS, calendar)
    span = (last - first).days + 1
    profiles = team_profiles(_all_unit_paths(), rng)
    counter = 0

    def event(day: dt.date, offset: int, minute: int, event_type: str, actor: dict, client: str,
              draw: random.Random = rng) -> dict:
        nonlocal counter
        counter += 1
        value = {"event_id": f"demo-s{seed}-{counter:07d}", "occurred_at": _stamp(day, offset, minute),
                 "event_type": event_type, "client": client, **actor}
        if event_type in _OBJECT_TYPES:
            value["object_type"] = draw.choice(_OBJECT_TYPES[event_type])
        return value

    # The ERP integration user logs in every two hours, every day, and pushes order updates.
    integration = {"crm_user_id": INTEGRATION_USER_ID, "crm_username": INTEGRATION_USERNAME}
    for offset_days in range(span):
        day = first + dt.timedelta(days=offset_days)
        for hour in range(0, 24, 2):
            yield event(day, 0, hour * 60 + rng.randrange(3), "login", integration, "integration")
        if day.weekday() < 5:
            for _ in range(rng.randint(2, 5)):
                yield event(day, 0, rng.randrange(24 * 60), "record_updated", integration, "integration")

    # Contractors: real, qualifying use by people HR does not know about.
    for username in CONTRACTORS:
        since = first + dt.timedelta(days=rng.randrange(span // 2))
        keenness = rng.uniform(0.4, 0.8)
        for offset_days in range((since - first).days, span):
            day = first + dt.timedelta(days=offset_days)
            if rng.random() >= keenness * day_factor(day, "EMEA"):
                continue
            minute = rng.randrange(8 * 60, 10 * 60)
            yield event(day, 1, minute, "login", {"crm_username": username}, "ui")
            for _ in range(_poisson(rng, 1.2)):
                minute += rng.randrange(5, 60)
                yield event(day, 1, minute, rng.choice(("record_updated", "activity_logged", "report_viewed")),
                            {"crm_username": username}, "ui")

    members = _licence_holders(first, last)
    lapses = lapse_schedule(members, profiles)
    sponsors = sponsor_stories()
    for member in members:
        # Each person draws from their own generator, so one person's story (a lapse, say)
        # does not reshuffle everyone else's.
        person = random.Random(f"{seed}-{member.crm_user_id}")
        # Where the person stands in the team's adoption curve (early adopter ... never), how
        # strong the habit is once formed, and whether they ever log in at all.
        quantile = person.random()
        habit = person.uniform(*_HABIT_RANGE)
        tryout = 0.0 if person.random() < _NEVER_SHARE else _TRYOUT_RATE
        mobile = person.random() < 0.3
        story = sponsors.get(member.employee_id)
        if story is not None:
            # A sponsor's own use is part of their story (adoption.demo.SPONSOR_STORIES): the
            # absent one holds a licence and never logs in, the others use the CRM from the start.
            if story.profile == ABSENT:
                continue
            quantile, tryout = 0.0, _TRYOUT_RATE
        for lo, hi, path in member.periods:
            profile = profiles[path]
            adopted_at = profile.adoption_point(quantile) * span
            lapsed_at = lapses.get((member.employee_id, path), math.inf) * span
            offset = _UTC_OFFSET_HOURS.get(profile.region, -5)
            means = _ACTION_MEANS[profile.kind]
            types, weights = list(means), list(means.values())
            total_mean = sum(weights)
            for offset_days in range((lo - first).days, (hi - first).days + 1):
                day = first + dt.timedelta(days=offset_days)
                since = offset_days - adopted_at
                chance = (habit if since >= 0 else tryout) * day_factor(day, profile.region)
                if offset_days >= lapsed_at:
                    chance = 0.0  # given up, not even trying any more
                if person.random() >= chance:
                    continue
                depth = 0.3 if since < 0 else 0.5 + 0.5 * min(1.0, since / (7 * _RAMP_WEEKS))
                yield from _person_day(person, event, member, day, offset, types, weights,
                                       total_mean * depth, mobile)


def _person_day(rng, event, member: _Member, day: dt.date, offset: int, types: list[str],
                weights: list[float], actions_mean: float, mobile: bool) -> Iterator[dict]:
    """One person's events on one active day: a login or two, then some actions."""
    minute = rng.randrange(8 * 60, 10 * 60 + 30)
    logins = 2 if rng.random() < _SECOND_LOGIN else 1
    actions = rng.choices(types, weights=weights, k=_poisson(rng, actions_mean))
    for i, event_type in enumerate(["login"] * logins + actions):
        if i == 1 and logins == 2:
            minute = rng.randrange(13 * 60, 15 * 60)  # after lunch, a second session
        else:
            minute += rng.randrange(2, 40)
        minute = min(minute, 18 * 60 - 1)
        draw = rng.random()
        if draw < _SHORT_ID_SHARE:
            actor = {"crm_user_id": member.crm_user_id[:15]}
        elif draw < _SHORT_ID_SHARE + _USERNAME_SHARE:
            actor = {"crm_username": member.crm_username}
        elif draw < _SHORT_ID_SHARE + _USERNAME_SHARE + _EMAIL_SHARE:
            actor = {"user_email": member.email}
        else:
            actor = {"crm_user_id": member.crm_user_id}
        client = "mobile" if mobile and rng.random() < 0.25 else "ui"
        if event_type == "activity_logged" and rng.random() < _SYNCED_ACTIVITY_SHARE:
            client = "integration"
        yield event(day, offset, minute, event_type, actor, client, rng)


def _demo_event_ids(seed: int):
    """SQL condition: the event ids this seed's demo uses (a range, so the unique index serves it)."""
    prefix = f"demo-s{seed}-"
    column = UsageEvent.__table__.c.event_id
    # "." sorts right after "-": every id with the prefix lies in [prefix, prefix with "." last).
    return (column >= prefix) & (column < prefix[:-1] + ".")


def store_demo_events(values: Iterable[dict], calendar: DemoCalendar) -> int:
    """Store demo events (API-shaped dicts) through the ingest path, ``BATCH_SIZE`` at a time, as
    received at the load's ``RECEIVED_AT``; flushes, never commits. A demo event the ingest
    rules reject is a bug in the demo, or a retention window shorter than its history: it
    raises (the caller's transaction is then rolled back whole). Returns how many were stored."""
    from adoption.telemetry.ingest import Batch, judge_event
    from adoption.telemetry.services import store_batch

    received_at = calendar.moment(RECEIVED_AT)
    batch, stored = Batch(), 0
    for value in values:
        verdict = judge_event(len(batch.events), value, received_at, None)
        if not hasattr(verdict, "content_hash"):
            raise RuntimeError(f"demo event {value['event_id']} was rejected: {verdict.message}")
        batch.events.append(verdict)
        stored += 1
        if len(batch.events) == BATCH_SIZE:
            _refuse_rejections(store_batch(batch, None, received_at).rejected)
            batch = Batch()
    if batch.events:
        _refuse_rejections(store_batch(batch, None, received_at).rejected)
    return stored


class DemoLoadError(RuntimeError):
    """The demo cannot be loaded as configured (nothing of it is kept); the message says why."""


def _refuse_rejections(rejected: list) -> None:
    """Raise on the first event ``store_batch`` did not take."""
    if not rejected:
        return
    first = rejected[0]
    hint = (" The demo's CRM usage goes back six months: load it with UPTAKE_TELEMETRY_RETENTION_DAYS "
            "unset (0) or longer than that." if first.code == "too_old" else "")
    raise DemoLoadError(f"demo event {first.event_id} was rejected ({first.code}): {first.message}{hint}")


def load_small_telemetry(seed: int, calendar: DemoCalendar) -> bool:
    """Store the small demo's events through the ingest path unless they are there; flushes,
    never commits. Returns whether anything was stored."""
    # The whole demo is stored in one transaction, so the first event present means all are.
    if db.session.scalar(select(UsageEvent.id).where(UsageEvent.event_id == f"demo-s{seed}-{1:07d}")):
        return False
    store_demo_events(generate_events(seed, calendar), calendar)
    return True


# --- the large demo: daily rollups written directly --------------------------------------------

def load_large_rollups(seed: int, calendar: DemoCalendar) -> bool:
    """Write twelve months of ``daily_usage`` for the large demo unless it holds usage already;
    flushes, never commits. Returns whether anything was written."""
    import numpy as np

    from adoption.telemetry.rollups import queue_weeks

    if db.session.scalar(select(DailyUsage.employee_id).limit(1)) is not None:
        return False
    first, last = window(LARGE_WEEKS, calendar)
    span = (last - first).days + 1
    days = [first + dt.timedelta(days=i) for i in range(span)]
    rng = random.Random(seed)
    profiles = team_profiles(_all_unit_paths(), rng, LARGE_WEEKS)
    draws = np.random.default_rng(seed)
    factors = {region: np.array([day_factor(d, region) for d in days])
               for region in {p.region for p in profiles.values()}}
    type_index = {name: i for i, name in enumerate(EVENT_TYPES)}
    chunks: list[np.ndarray] = []
    members = _licence_holders(first, last)
    lapses = lapse_schedule(members, profiles)

    def member_rows(member: _Member, rng, quantile: float, habit: float, tryout: float) -> list[np.ndarray]:
        """One licence holder's (day index, employee id, event type index, events) rows, drawn
        from ``rng``."""
        found = []
        for lo, hi, path in member.periods:
            profile = profiles[path]
            a, b = (lo - first).days, (hi - first).days + 1
            since = np.arange(a, b) - profile.adoption_point(quantile) * span
            chance = np.where(since >= 0, habit, tryout) * factors[profile.region][a:b]
            chance[np.arange(a, b) >= lapses.get((member.employee_id, path), math.inf) * span] = 0.0
            active = np.nonzero(rng.random(b - a) < chance)[0]
            if not len(active):
                continue
            ramp = np.minimum(1.0, since[active] / (7 * _RAMP_WEEKS))
            depth = np.where(ramp < 0, 0.3, 0.5 + 0.5 * ramp)
            counts = [1 + (rng.random(len(active)) < _SECOND_LOGIN)]
            kinds = [type_index["login"]]
            for event_type, mean in _ACTION_MEANS[profile.kind].items():
                counts.append(rng.poisson(mean * depth))
                kinds.append(type_index[event_type])
            for kind, count in zip(kinds, counts):
                keep = count > 0
                n = int(keep.sum())
                if n:
                    found.append(np.stack([active[keep] + a, np.full(n, member.employee_id),
                                           np.full(n, kind), count[keep]], axis=1))
        return found

    sponsors = sponsor_stories()
    for member in members:
        quantile = float(draws.random())
        habit = float(draws.uniform(*_HABIT_RANGE))
        tryout = 0.0 if draws.random() < _NEVER_SHARE else _TRYOUT_RATE
        mine = member_rows(member, draws, quantile, habit, tryout)
        story = sponsors.get(member.employee_id)
        if story is not None:
            # A sponsor's own use is part of their story (adoption.demo.SPONSOR_STORIES): the
            # absent one never logs in, the others use the CRM from the start. Their rows are
            # drawn apart, after the shared draws above, so everyone else's usage stays as it was.
            own = np.random.default_rng([seed, member.employee_id])
            mine = [] if story.profile == ABSENT else member_rows(member, own, 0.0, habit, _TRYOUT_RATE)
        chunks.extend(mine)
    if not chunks:
        return False
    rows = np.concatenate(chunks)
    _insert_daily_rows(rows, days)
    queue_weeks(days)
    return True


def _insert_daily_rows(rows, days: list[dt.date]) -> None:
    """Bulk-insert (day index, employee id, event type index, events) rows into ``daily_usage``."""
    table = DailyUsage.__table__
    step = 50_000
    if db.session.get_bind().dialect.name == "postgresql":
        # One INSERT ... SELECT FROM unnest(arrays) per chunk: a handful of parameters instead of
        # 200,000 placeholders (the same technique as event ingestion).
        source = select(*func.unnest(
            cast(bindparam("days"), postgresql.ARRAY(Date)), cast(bindparam("employees"), postgresql.ARRAY(Integer)),
            cast(bindparam("types"), postgresql.ARRAY(Text)), cast(bindparam("events"), postgresql.ARRAY(Integer)),
        ).table_valued("day", "employee_id", "event_type", "events").render_derived().c)
        statement = insert(table).from_select(["day", "employee_id", "event_type", "events"], source)
        for start in range(0, len(rows), step):
            part = rows[start:start + step]
            db.session.execute(statement, {
                "days": [days[i] for i in part[:, 0].tolist()], "employees": part[:, 1].tolist(),
                "types": [EVENT_TYPES[i] for i in part[:, 2].tolist()], "events": part[:, 3].tolist()})
        return
    statement = insert(table)
    for start in range(0, len(rows), step):
        db.session.execute(statement, [
            {"day": days[d], "employee_id": e, "event_type": EVENT_TYPES[t], "events": n}
            for d, e, t, n in rows[start:start + step].tolist()])


# --- both ---------------------------------------------------------------------------------------

def refresh_rollups() -> None:
    """Recompute the weekly per-unit tables for the weeks the demo's usage queued."""
    from adoption.telemetry.rollups import refresh_weekly_usage

    refresh_weekly_usage()


def load_telemetry(size: str, seed: int, calendar: DemoCalendar) -> TelemetrySummary:
    """Load the demo's usage for ``size`` (once), its window ending on ``calendar``'s last day
    of usage, and refresh the weekly rollups; flushes only."""
    if size == "small":
        loaded = load_small_telemetry(seed, calendar)
    else:
        loaded = load_large_rollups(seed, calendar)
    if loaded:
        refresh_rollups()
    db.session.flush()
    return summarize(size, seed, loaded, calendar)


def summarize(size: str, seed: int, newly_loaded: bool, calendar: DemoCalendar) -> TelemetrySummary:
    """Count the demo usage the database holds."""
    first, last = window(SMALL_WEEKS if size == "small" else LARGE_WEEKS, calendar)
    events = UsageEvent.__table__
    mine = _demo_event_ids(seed)
    total, unmatched, non_qualifying = db.session.execute(
        select(func.count(), func.count().filter(events.c.employee_id.is_(None)),
               func.count().filter(events.c.qualifying.is_(False))).where(mine)
    ).one()
    actors = db.session.scalar(
        select(func.count(func.distinct(func.coalesce(events.c.crm_user_id, events.c.crm_username))))
        .where(mine, events.c.employee_id.is_(None)))
    daily = DailyUsage.__table__
    rows, daily_events = db.session.execute(
        select(func.count(), func.coalesce(func.sum(daily.c.events), 0))
        .where(daily.c.day.between(first, last))).one()
    return TelemetrySummary(
        newly_loaded=newly_loaded, raw_events=size == "small", first_day=first, last_day=last,
        events=total, unmatched_events=unmatched, unmatched_actors=actors,
        non_qualifying_events=non_qualifying, daily_rows=rows, daily_events=int(daily_events))
