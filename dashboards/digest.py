"""The sponsors' weekly digest (issue 7, point 5): each sponsor's own indicators for the quarter
so far and what needs them this week, by e-mail (or the outbox), linking to the dashboard. In a
quarter's first ``NEW_QUARTER_DAYS`` days it opens with how the quarter just ended closed.

``send_digests`` sends one digest per sponsor and week (``SponsorDigest`` records it before the
message is made, in the caller's transaction), so a second run the same week sends nothing.
A digest is built as its sponsor would see the dashboard — an executive's scope for their own
employee record — so it never carries anything the sponsor could not read there.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from adoption.extensions import db
from adoption.mail import send_mail
from adoption.models import Employee, SponsorDigest
from adoption.scope import Scope, executive_scope
from adoption.sponsors import all_sponsors, quarter_bounds
from adoption.timekeeping import utcnow
from dashboards import commitment
from dashboards import commitment_report as cr

DIGEST_KIND = "sponsor_digest"
DASHBOARD_PATH = "/dashboards/executive"
#: How many items of "what needs you" a digest lists.
NEEDS_LISTED = 5


@dataclass(frozen=True)
class Digest:
    """One sponsor's digest, ready to send."""

    sponsor_id: int
    email: str
    subject: str
    body: str


@dataclass(frozen=True)
class DigestRun:
    """What ``send_digests`` did: digests sent, and sponsors skipped because theirs was already sent."""

    sent: int
    already_sent: int


def week_start(today: dt.date, first_weekday: int = 0) -> dt.date:
    """The first day (``first_weekday``: 0 = Monday) of the week holding ``today``."""
    return today - dt.timedelta(days=(today.weekday() - first_weekday) % 7)


def _closed_quarter_lines(scope: Scope, sponsor: Employee, today: dt.date, config: Mapping[str, Any]) -> list[str]:
    """In a quarter's first ``NEW_QUARTER_DAYS`` days, how the quarter just ended closed: the
    current one has too few days to say much, and the dashboard opens on the ended one."""
    current = commitment.quarter_value(quarter_bounds(today)[0])
    ended = commitment.default_quarter(today)
    if ended == current:
        return []
    period = commitment.commitment_period(today, ended)
    record = next((r for r in commitment.sponsor_records(scope, period, today, config)
                   if r.sponsor_id == sponsor.id), None)
    if record is None:  # not a sponsor then
        return []
    v, p = record.visibility, record.perceived
    return [
        (f"Last quarter, {period.label}, closed at: visible actions "
         f"{cr.plan_text(v.done, v.planned)}; commitment score {cr.points(record.objective.value)}/100; "
         f"perceived {cr.points(p.leadership)}/100 (n = {p.leadership_n}); "
         f"gap {cr.gap_text(record.gap, record.flag)}."),
        "",
    ]


def compose(sponsor: Employee, today: dt.date, config: Mapping[str, Any]) -> Digest:
    """The sponsor's digest for the week of ``today``: their quarter so far and what needs them,
    and early in a quarter how the one just ended closed."""
    scope = executive_scope(None, sponsor.id)  # as the sponsor would see the dashboard
    period = commitment.commitment_period(today)
    record = next(r for r in commitment.sponsor_records(scope, period, today, config) if r.sponsor_id == sponsor.id)
    needs = commitment.urgent_items(scope, today, sponsor_id=sponsor.id, limit=NEEDS_LISTED)
    v, c, m, p = record.visibility, record.communication, record.role_modelling, record.perceived
    link = f"{str(config.get('BASE_URL', '')).rstrip('/')}{DASHBOARD_PATH}"
    lines = [
        f"Hello {sponsor.full_name.split()[0]},",
        "",
        *_closed_quarter_lines(scope, sponsor, today, config),
        f"Your commitment to the CRM initiative, {period.label} (areas: {', '.join(record.areas)}):",
        "",
        (f"- Visible actions: {cr.plan_text(v.done, v.planned)}; reach {cr.percent(v.reach_share)} "
        f"of the {v.employees:,} people in your areas"),
        f"- Messages: {c.messages}",
        (f"- Employees' comments in your areas answered: {cr.percent(c.reply_share)} of {c.comments}; "
        f"median first reply {cr.days(c.median_days_to_first_reply)}"),
        f"- \"You said, we did\" actions closed on time: {c.actions_closed_on_time} of {c.actions_due}",
        (f"- Your own CRM use: active {cr.percent(m.active_share)} of {m.weeks} weeks; "
        f"training {m.trainings_completed} of {m.trainings_assigned} completed"),
        (f"- Commitment score {cr.points(record.objective.value)}/100; perceived by your units "
        f"{cr.points(p.leadership)}/100 (n = {p.leadership_n} respondents); gap {cr.gap_text(record.gap, record.flag)}"),
        "",
        "What needs you this week:",
    ]
    lines += [f"- {item.text}" for item in needs] or ["- Nothing: no comments awaiting a reply, no actions due."]
    lines += ["", f"Your dashboard: {link}", "",
              "Figures for groups of people follow the survey's anonymity rules; nobody's answers are shown.",
              "", "— Uptake"]
    subject = f"Your CRM commitment this week: {cr.plan_text(v.done, v.planned)}, {len(needs)} item(s) need you"
    return Digest(sponsor.id, sponsor.email, subject, "\n".join(lines) + "\n")


def send_digests(today: dt.date, config: Mapping[str, Any]) -> DigestRun:
    """Send this week's digest to every active sponsor who has not had it; flushes, the caller
    commits once. With SMTP a message handed to the server stays sent if the transaction then
    fails, and the next run sends it again (at least once rather than at most once)."""
    week = week_start(today, int(config.get("WEEK_START", 0)))
    done = set(db.session.scalars(select(SponsorDigest.sponsor_id).where(SponsorDigest.week_start == week)))
    sent = skipped = 0
    for sponsor in all_sponsors():
        if not sponsor.active:
            continue
        if sponsor.id in done:
            skipped += 1
            continue
        db.session.add(SponsorDigest(sponsor_id=sponsor.id, week_start=week, sent_at=utcnow()))
        db.session.flush()  # a concurrent run fails here on the primary key instead of sending twice
        digest = compose(sponsor, today, config)
        send_mail([digest.email], digest.subject, digest.body, kind=DIGEST_KIND)
        sent += 1
    return DigestRun(sent=sent, already_sent=skipped)
