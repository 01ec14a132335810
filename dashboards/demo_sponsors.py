"""The demo's sponsor commitment (issue 7, point 6): what the initiative's three sponsors did,
planned and answer for, so the executive commitment dashboard shows each case.

``load_sponsor_demo`` is registered after the evidence demo (``dashboards.init_app``); the usage,
pulse and training demos have already planted the rest of each story (``adoption.demo.
SPONSOR_STORIES``: own CRM use, own training, what their regions' employees answer to the
leadership items, how soon their comments get a reply). Through ``adoption.sponsors``, as a change
leader would in the app, it:

- gives each sponsor their regions as areas: the CEO North America, the Chief Revenue Officer
  LATAM, the Chief Customer Officer EMEA and APAC;
- sets a plan per sponsor for each of the last three calendar quarters up to the demo's "today"
  (the current quarter under way), and for the load day's quarter when the load day has just
  entered the next one;
- records their visible activities in those quarters, with dates, audiences and notes: the CEO at
  or above plan (town halls, team visits in the pipeline meetings, replies to what the pulse said,
  recognitions, decisions on escalations); the Chief Revenue Officer far below it (a few visits,
  steering meetings missed); the Chief Customer Officer at or above plan but mostly by broadcast
  (many messages and town halls about targets and league tables, few team visits). The last
  message of the CEO and of the Chief Customer Officer is sent from the app (to the outbox), by
  the CEO's own login and by the change leader on the CCO's behalf; with an SMTP server configured
  the demo never e-mails its made-up addresses and records those messages instead.

Quarters are calendar quarters, which the demo's whole-week shift (``adoption.demo_calendar``)
cannot move: the quarters are those of the demo's "today" wherever it falls, the two before the
current one complete. As loaded on 23 November 2026 the current quarter is 54 days in; the counts
of ``DONE`` for it are what happened by then, and earlier in a quarter the same pace over the
weekdays gone by (``current_counts``), so early in a quarter there is little or nothing yet. The
Commitment page opens on the quarter just ended in a quarter's first weeks
(``dashboards.commitment.default_quarter``).

Deterministic (every date, team and note comes from a ``random.Random`` seeded with the demo seed,
the sponsor's title and the quarter) and idempotent: once any sponsor plan or activity is stored,
plans and activities are left alone; areas are set only for a sponsor who has none.
"""
from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from adoption.demo import (
    ABSENT,
    ROOT_UNIT,
    SPONSOR_STORIES,
    UNCOMMITTED,
    VISIBLE,
    SponsorStory,
    sponsor_stories,
)
from adoption.demo_calendar import REFERENCE, DemoCalendar
from adoption.demo_telemetry import team_kind
from adoption.extensions import db
from adoption.models import (
    ACTIVITY_KINDS,
    Employee,
    OrgUnit,
    Role,
    SponsorActivity,
    SponsorArea,
    SponsorPlan,
    User,
)
from adoption.models.org import UNIT_PATH_SEPARATOR
from adoption.org import subtree_filter
from adoption.scope import Scope, scope_for
from adoption.sponsors import (
    quarter_bounds,
    quarter_starts,
    record_activity,
    send_message,
    set_areas,
    set_plan,
)
from surveys.demo import SURVEY_TITLE
from surveys.models import Survey, SurveyRound

#: Quarters with plans and activities, the current one (under way on "today") last.
QUARTERS = 3

_FRONTLINE = ("field", "inside", "key_accounts", "service", "success")


def _counts(th: int, tv: int, msg: int, st: int, rec: int, esc: int) -> dict[str, int]:
    """Actions per kind, in the order of ``ACTIVITY_KINDS``."""
    return dict(zip(ACTIVITY_KINDS, (th, tv, msg, st, rec, esc), strict=True))


#: Planned actions per quarter, by story (the same plan each quarter, as agreed in the steering).
PLANS = {
    VISIBLE: _counts(th=1, tv=4, msg=2, st=3, rec=2, esc=1),
    ABSENT: _counts(th=1, tv=3, msg=2, st=3, rec=1, esc=1),
    UNCOMMITTED: _counts(th=2, tv=2, msg=4, st=3, rec=2, esc=1),
}
#: Actions done in each quarter, oldest first; the last (current) quarter's count is what
#: happened by "today" as loaded on 2026-11-23, 54 days into the quarter (its December steering
#: meeting still to come); ``current_counts`` scales it to another "today".
DONE = {
    VISIBLE: (_counts(1, 4, 2, 3, 2, 1), _counts(1, 5, 3, 3, 2, 2), _counts(1, 5, 3, 2, 2, 1)),
    ABSENT: (_counts(1, 0, 1, 2, 0, 1), _counts(0, 1, 0, 1, 1, 0), _counts(0, 1, 0, 0, 0, 1)),
    UNCOMMITTED: (_counts(2, 1, 5, 3, 1, 2), _counts(2, 1, 6, 3, 2, 1), _counts(2, 1, 7, 2, 2, 2)),
}

# Notes by story and kind; "{where}" is the audience (a team or the sponsor's regions).
_NOTES = {
    VISIBLE: {
        "town_hall": (
            "Town hall for {where}: ran our own pipeline review live from the CRM, then forty minutes of questions.",
            "Town hall for {where}: what the last pulse said, what we changed, and the three things not fixed yet.",
        ),
        "team_visit": (
            "Sat in on {where}'s Monday pipeline meeting, run from the CRM; asked each rep for one thing that slows them down.",
            "Rode along with {where} on two customer visits; logged both from the phone together in the car park.",
            "Morning with {where} on their account plans; took away the duplicate-accounts problem to fix centrally.",
            "Visited {where}: went through the open comments from the pulse with the team and the manager.",
        ),
        "message": (
            "E-mail to {where}: what you told us in the pulse, and what changes this month.",
            "E-mail to {where}: from now on my forecast review uses the CRM only; no spreadsheets in the pack.",
            "Video message to {where}: thanks to the teams who piloted the mobile app, and what they taught us.",
        ),
        "steering_meeting": (
            "Monthly CRM steering (chair): unblocked the budget for the ERP link.",
            "Monthly CRM steering (chair): reviewed the comments awaiting a reply; every director owns theirs.",
            "Monthly CRM steering (chair): agreed to drop the weekly call-report spreadsheet.",
        ),
        "recognition": (
            "Recognised {where} on the regional call: six weeks of customer visits logged the same day.",
            "Thank-you note and lunch for {where}: the way they use the CRM is now the region's example.",
        ),
        "escalation_decision": (
            "Decided to retire the call-report spreadsheet the CRM replaces (escalated by {where}).",
            "Approved four optional fields on repeat orders under 5,000 after {where}'s escalation.",
        ),
    },
    ABSENT: {
        "town_hall": ("Opened the {where} town hall (first ten minutes), then left for a customer meeting.",),
        "team_visit": ("Visited {where}; customer dinner in the evening.",),
        "message": ("Forwarded the program office's update to {where}.",),
        "steering_meeting": ("Monthly CRM steering: attended the first half.",),
        "recognition": ("Congratulated {where} on their quarter by e-mail.",),
        "escalation_decision": ("Signed off the ERP-link priority for {where} after three weeks in the queue.",),
    },
    UNCOMMITTED: {
        "town_hall": (
            "Town hall for {where}: this quarter's adoption targets and the data-quality league table by team.",
            "Town hall for {where}: CRM compliance; every opportunity updated weekly from now on.",
        ),
        "team_visit": ("Half-day visit to {where}: reviewed their adoption figures with the manager.",),
        "message": (
            "E-mail to {where}: adoption by team for last month; teams below 60% to send a recovery plan.",
            "E-mail to {where}: reminder that CRM updates are mandatory before the Friday forecast call.",
            "E-mail to {where}: the new data-quality league table, published every Monday.",
            "E-mail to {where}: the CRM is how head office sees the pipeline; incomplete records will be escalated.",
            "E-mail to {where}: last week's login figures by team, with the names of the bottom five teams.",
            "E-mail to {where}: the program's new adoption target and the date of the next audit of records.",
        ),
        "steering_meeting": (
            "Monthly CRM steering: presented the adoption dashboard by team and the bottom ten.",
            "Monthly CRM steering: asked for weekly compliance reports per region.",
        ),
        "recognition": ("Named {where} top of the data-quality league table in the Monday e-mail.",),
        "escalation_decision": (
            "Decided: CRM field completeness becomes part of the quarterly performance review ({where}).",
            "Decided to keep all mandatory opportunity fields, escalated by {where}.",
        ),
    },
}

# The message each of the two active sponsors sends from the app in the last days before "today"
# (``_message``: {pulse} is the month of the latest pulse round closed by then, {quarter} the
# quarter, {steering} the month of the next steering meeting).
_SENT_FROM_APP = {
    VISIBLE: ("What you told us in {pulse}, and what changes now", (
        "Thank you to everyone who answered {pulse}'s pulse and wrote a comment.\n\n"
        "You told us that updating the CRM comes on top of the same call targets, and that reviews "
        "still run on spreadsheets. Two things change from this week: the weekly call-report "
        "spreadsheet is gone, because the CRM holds the same information, and my own forecast "
        "review runs from the CRM dashboard only.\n\n"
        "If you see the old way creeping back, reply in the pulse: I read the comments, and so do "
        "your directors.")),
    UNCOMMITTED: ("{quarter} adoption: every team above 70% by {steering}", (
        "Adoption in EMEA and APAC stood at 64% last week, below the program target.\n\n"
        "Every team is expected to be above 70% active users by the {steering} steering meeting. "
        "Managers of teams below 60% send a recovery plan to the program office by Friday. The "
        "data-quality league table goes out every Monday; records incomplete before the forecast "
        "call will be escalated.")),
}


@dataclass(frozen=True)
class _Sponsor:
    """One demo sponsor as the loader needs them."""

    employee: Employee
    story: SponsorStory
    regions: list[OrgUnit]
    teams: list[OrgUnit]


def _weekdays(first: dt.date, last: dt.date) -> list[dt.date]:
    """Monday to Friday from ``first`` to ``last``."""
    days = (first + dt.timedelta(days=i) for i in range((last - first).days + 1))
    return [day for day in days if day.weekday() < 5]


#: Weekdays of the current quarter before "today" as loaded on 2026-11-23: what ``DONE``'s last
#: counts were done in.
_REFERENCE_WEEKDAYS = len(_weekdays(quarter_bounds(REFERENCE.today)[0], REFERENCE.today - dt.timedelta(days=1)))


def current_counts(profile: str, quarter: dt.date, today: dt.date) -> dict[str, int]:
    """The actions of a sponsor with story ``profile`` in the current ``quarter`` before ``today``:
    ``DONE``'s last counts at the reference pace, fewer while fewer weekdays have gone by (whole
    actions only), never more (later in a quarter the same actions are spread wider)."""
    share = min(1.0, len(_weekdays(quarter, today - dt.timedelta(days=1))) / _REFERENCE_WEEKDAYS)
    return {kind: math.floor(count * share) for kind, count in DONE[profile][-1].items()}


def _steering_days(first: dt.date, last: dt.date) -> list[dt.date]:
    """The monthly steering meetings between two days: the second Tuesday of each month."""
    days = []
    month = dt.date(first.year, first.month, 1)
    while month <= last:
        second_tuesday = month + dt.timedelta(days=(1 - month.weekday()) % 7 + 7)
        if first <= second_tuesday <= last:
            days.append(second_tuesday)
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return days


def _teams_in(region: OrgUnit) -> list[OrgUnit]:
    """The sales and service teams (units without children) of a region's subtree, by path: where
    sponsors visit, recognise adopters and hear escalations."""
    parents = select(OrgUnit.parent_id).where(OrgUnit.parent_id.is_not(None))
    teams = db.session.scalars(
        select(OrgUnit).where(subtree_filter(region), OrgUnit.id.not_in(parents), OrgUnit.id != region.id)
        .order_by(OrgUnit.path))
    return [team for team in teams if team_kind(team.path) in _FRONTLINE]


def _name(unit: OrgUnit) -> str:
    """A unit's own name (the last part of its path)."""
    return unit.path.rsplit(UNIT_PATH_SEPARATOR, 1)[-1]


def _sponsors() -> list[_Sponsor]:
    """The demo sponsors with their regions and teams, in the order of ``SPONSOR_STORIES``."""
    by_story = {story.title: employee_id for employee_id, story in sponsor_stories().items()}
    found = []
    for story in SPONSOR_STORIES:
        employee_id = by_story.get(story.title)
        if employee_id is None:
            continue
        paths = [f"{ROOT_UNIT}{UNIT_PATH_SEPARATOR}{region}" for region in story.regions]
        regions = list(db.session.scalars(select(OrgUnit).where(OrgUnit.path.in_(paths)).order_by(OrgUnit.path)))
        teams = [team for region in regions for team in _teams_in(region)]
        if regions and teams:
            found.append(_Sponsor(db.session.get(Employee, employee_id), story, regions, teams))
    return found


def load_sponsor_demo(size: str, seed: int, calendar: DemoCalendar) -> str | None:
    """Add the sponsors' areas, plans and activities once, in the quarters up to ``calendar``'s
    "today"; flushes only. The summary's line (None outside the demo)."""
    leader = db.session.scalar(
        select(User).where(User.role == Role.CHANGE_LEADER.value).order_by(User.id).limit(1))
    sponsors = _sponsors() if leader is not None else []
    if not sponsors:
        return None
    scope = scope_for(leader)
    for sponsor in sponsors:
        if db.session.scalar(select(SponsorArea.unit_id).where(SponsorArea.sponsor_id == sponsor.employee.id)
                             .limit(1)) is None:
            set_areas(leader, scope, sponsor_id=sponsor.employee.id, unit_ids=[u.id for u in sponsor.regions])
    present = (db.session.scalar(select(SponsorActivity.id).limit(1)) is not None
               or db.session.scalar(select(SponsorPlan.id).limit(1)) is not None)
    if not present:
        today = calendar.today
        quarters = quarter_starts(today, back=QUARTERS - 1)[::-1]  # oldest first
        # Plans are agreed ahead: a load early in a quarter finds that quarter's plan set even
        # when the demo's "today" (the Monday of the load week) is still in the one before.
        loaded_quarter = quarter_bounds(calendar.loaded_on)[0]
        for sponsor in sponsors:
            profile = sponsor.story.profile
            # Each sponsor's notes of a kind come round in a shuffled order, none twice in a row.
            rng = random.Random(f"{seed}:sponsors:{sponsor.story.title}")
            notes = {kind: itertools.cycle(rng.sample(texts, len(texts)))
                     for kind, texts in _NOTES[profile].items()}
            done = [*DONE[profile][:QUARTERS - 1], current_counts(profile, quarters[-1], today)]
            # The latest message is the one sent from the app: in the current quarter, or, when it
            # has none yet, in the quarter before.
            from_app = max((i for i, counts in enumerate(done) if counts["message"]), default=None)
            for index, quarter in enumerate(quarters):
                set_plan(leader, scope, sponsor_id=sponsor.employee.id, quarter_start=quarter,
                         counts=PLANS[profile])
                _record_quarter(leader, scope, sponsor, quarter, done[index], notes, today=today,
                                current=index == len(quarters) - 1,
                                sends_from_app=index == from_app and profile in _SENT_FROM_APP, seed=seed)
            if loaded_quarter > quarters[-1]:
                set_plan(leader, scope, sponsor_id=sponsor.employee.id, quarter_start=loaded_quarter,
                         counts=PLANS[profile])
    return _describe(sponsors, not present, calendar.today)


def _record_quarter(leader: User, scope: Scope, sponsor: _Sponsor, quarter: dt.date, done: dict[str, int],
                    notes: dict[str, Iterator[str]], *, today: dt.date, current: bool, sends_from_app: bool,
                    seed: int) -> None:
    """Record one sponsor's activities of one quarter (up to the day before ``today``); with
    ``sends_from_app`` its latest message is sent from the app."""
    story = sponsor.story
    rng = random.Random(f"{seed}:sponsors:{story.title}:{quarter.isoformat()}")
    last = min(quarter_bounds(quarter)[1], today - dt.timedelta(days=1))
    weekdays = _weekdays(quarter, last)
    regions = ", ".join(_name(r) for r in sponsor.regions)
    entries: list[tuple[dt.date, str, list[OrgUnit], str]] = []
    for kind in ACTIVITY_KINDS:
        count = done[kind]
        if not count:
            continue
        if kind == "steering_meeting":
            meetings = _steering_days(quarter, last)
            days = sorted(rng.sample(meetings, min(count, len(meetings))))
        else:
            days = sorted(rng.sample(weekdays, count))
        if kind == "message" and current and story.profile in _SENT_FROM_APP:
            # The latest message of the quarter went out in the last week before "today".
            days[-1] = max(days[-1], rng.choice(weekdays[-5:]))
        visited = rng.sample(sponsor.teams, min(count, len(sponsor.teams)))
        for i, day in enumerate(days):
            if kind in ("team_visit", "recognition", "escalation_decision"):
                team = visited[i % len(visited)]
                units, where = [team], _name(team)
            elif kind == "town_hall" and story.profile == UNCOMMITTED:
                region = sponsor.regions[i % len(sponsor.regions)]  # one town hall per region
                units, where = [region], _name(region)
            else:
                units, where = sponsor.regions, regions
            entries.append((day, kind, units, next(notes[kind]).format(where=where)))
    entries.sort(key=lambda e: (e[0], ACTIVITY_KINDS.index(e[1])))
    from_app = None
    if sends_from_app:
        from_app = max((i for i, e in enumerate(entries) if e[1] == "message"), default=None)
    for i, (day, kind, units, note) in enumerate(entries):
        if i == from_app:
            subject, body = _message(story.profile, day)
            if not current_app.config.get("MAIL_SERVER"):
                _send(leader, scope, sponsor, day, units, subject, body)
                continue
            # With an SMTP server configured the message is recorded, not sent: the demo never
            # e-mails its made-up addresses.
            note = f"E-mail to {regions}: {subject}"
        record_activity(leader, scope, sponsor_id=sponsor.employee.id, kind=kind, occurred_on=day,
                        unit_ids=[u.id for u in units], note=note, today=today)


def _message(profile: str, day: dt.date) -> tuple[str, str]:
    """The subject and body of the message a sponsor with story ``profile`` sends on ``day``,
    naming the months and quarter of that day."""
    pulse = db.session.scalar(
        select(SurveyRound.opens_on).join(Survey, Survey.id == SurveyRound.survey_id)
        .where(Survey.title == SURVEY_TITLE, SurveyRound.closes_on < day)
        .order_by(SurveyRound.closes_on.desc()).limit(1))
    # Without the demo pulse, "last month's pulse".
    pulse_month = pulse or (day.replace(day=1) - dt.timedelta(days=1))
    after = day + dt.timedelta(days=1)
    steering = _steering_days(after, after + dt.timedelta(days=62))[0]
    words = {"pulse": f"{pulse_month:%B}", "quarter": f"Q{(day.month - 1) // 3 + 1}", "steering": f"{steering:%B}"}
    subject, body = _SENT_FROM_APP[profile]
    return subject.format(**words), body.format(**words)


def _send(leader: User, scope: Scope, sponsor: _Sponsor, day: dt.date, units: list[OrgUnit], subject: str,
          body: str) -> None:
    """Send the sponsor's message from the app: by their own login if they have one (the CEO's
    executive login), else by the change leader on their behalf."""
    own = db.session.scalar(select(User).where(User.employee_id == sponsor.employee.id).limit(1))
    user, user_scope = (own, scope_for(own)) if own is not None else (leader, scope)
    send_message(user, user_scope, sponsor_id=sponsor.employee.id, unit_ids=[u.id for u in units],
                 subject=subject, body=body, today=day)


def _describe(sponsors: list[_Sponsor], created: bool, today: dt.date) -> str:
    """The summary line: each sponsor's story and the activities against plan in the quarter
    of the demo's ``today``."""
    first, last = quarter_bounds(today)
    total = db.session.scalar(select(func.count()).select_from(SponsorActivity)) or 0
    parts = []
    for sponsor in sponsors:
        sponsor_id = sponsor.employee.id
        done = db.session.scalar(select(func.count()).select_from(SponsorActivity).where(
            SponsorActivity.sponsor_id == sponsor_id, SponsorActivity.occurred_on.between(first, last))) or 0
        planned = db.session.scalar(select(func.sum(SponsorPlan.planned)).where(
            SponsorPlan.sponsor_id == sponsor_id, SponsorPlan.quarter_start == first)) or 0
        title = "".join(word[0] for word in sponsor.story.title.split() if word[0].isupper())
        parts.append(f"{sponsor.employee.full_name} ({title}, {sponsor.story.profile}) {done} of {planned} planned")
    sent = db.session.scalar(select(func.count()).select_from(SponsorActivity)
                             .where(SponsorActivity.outbox_subject.is_not(None))) or 0
    state = "" if created else " (already present)"
    kinds = Counter(db.session.scalars(select(SponsorActivity.kind)))
    return (f"Sponsors{state}: {len(sponsors)} with their areas, quarterly plans and {total} activities "
            f"({kinds['message']} messages, {sent} sent from the app); this quarter: {'; '.join(parts)}.")
