"""The demo pulse: a monthly survey of the whole demo company, with six months of answers.

``load_survey_demo`` is the surveys package's demo loader (registered by ``surveys.init_app``,
called by ``adoption.demo.load_demo`` after the organization and its CRM usage). It builds the
survey through the same services the survey builder uses, schedules its rounds up to the demo's
"today", and, on the small demo, has people answer the rounds through ``submit_response``, so
participation, the unit snapshot and the tenure band come out as they would in real use. The large
demo (a year of monthly rounds for ~20,000 people) writes the same rows in bulk
(``surveys/demo_bulk.py``).

How a team answers follows its CRM adoption story, and its view of the leadership follows the
story of the sponsor answering for its region (``adoption.demo.SPONSOR_STORIES``): the
leadership-commitment item high where the sponsor is visible, low where the sponsor is absent or
busy without being seen as committed; the trust-in-action item likewise, less strongly.

Deterministic and idempotent like the rest of the demo: the survey is found by its title, a
round that already has participations is left alone, and every random choice comes from a
``random.Random`` seeded with the demo seed and a person's (or team's) HR id or unit path. The
dates below are those of a load on 23 November 2026; on another day the schedule starts the same
whole weeks later (``adoption.demo_calendar``), so the latest round is always the one open on the
demo's "today", 15 to 18 days in (on the small demo; see ``ROUND_LENGTH_DAYS``).
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from sqlalchemy import func, select

from adoption.demo import ABSENT, ROOT_UNIT, UNCOMMITTED, VISIBLE, region_story
from adoption.demo_calendar import DemoCalendar
from adoption.demo_telemetry import (
    LARGE_WEEKS,
    SMALL_WEEKS,
    TeamProfile,
    demo_team_profiles,
    window,
)
from adoption.extensions import db
from adoption.models import OrgUnit, Role, User
from surveys.demo_bulk import answer_rounds_in_bulk
from surveys.models import Participation, Recurrence, Scale, Survey, SurveyRound
from surveys.services import (
    QuestionSpec,
    SurveyError,
    activate_survey,
    create_survey,
    eligible_employees,
    round_opening,
    schedule_rounds,
    submit_response,
    sync_item_bank,
)

SURVEY_TITLE = "Monthly pulse"
#: When the first round opens, as loaded on 2026-11-23 (``DemoCalendar.day`` moves it); rounds are
#: scheduled through the demo's "today" (``DemoCalendar.today``).
FIRST_OPENS_ON = dt.date(2026, 6, 8)
#: The large demo (the benchmarks' data) has a year of monthly rounds.
LARGE_FIRST_OPENS_ON = dt.date(2025, 12, 1)
# Rounds open on the same day of each month (the 8th as loaded on 2026-11-23) and stay open 28
# days (the longest a monthly round may). On the demo's "today" the latest has been open 15 to 18
# days, so it is open on whichever day of the week the demo is loaded (its "today" is the Monday
# of the load week): someone trying the app always finds a round to answer.
ROUND_LENGTH_DAYS = 28
MAX_ITEMS_PER_ROUND = 11
ROTATE_EVERY = 2

# In this order: the sampler keeps the first nine in every round and alternates the last four
# (see surveys.services.sample_questions), so the engagement index and eNPS never have gaps.
_QUESTIONS = (
    ("engagement.energy", False),
    ("engagement.meaning", False),
    ("engagement.absorption", False),
    ("engagement.pride", False),
    ("engagement.extra_effort", False),
    ("enps.recommend", False),
    ("readiness.desire.personal", False),
    ("readiness.desire.benefit", False),
    ("leadership.walk_the_talk", True),
    ("feedback.action", True),
    ("enablement.tools", True),
    ("enablement.time", True),
    ("enablement.training", True),
)

# How each construct sits against a person's engagement, on the 1-5 scale: time is the usual
# complaint, and trust that feedback leads to action is lower than engagement.
_CONSTRUCT_SHIFT = {
    "readiness.desire": 0.1,
    "leadership_commitment": -0.1,
    "feedback_trust": -0.4,
    "enablement.tools": -0.2,
    "enablement.time": -0.7,
    "enablement.training": -0.5,
}
# Teams that resist the CRM also say so: they see less in it and find the tool worse.
_RESISTANT_SHIFT = {"readiness.desire": -0.8, "enablement.tools": -0.5}
# Per round since the first: training and the "you said, we did" follow-ups slowly pay off.
_CONSTRUCT_TREND = {"enablement.training": 0.12, "feedback_trust": 0.06}
# What the employees of a sponsor's regions see of the leadership (adoption.demo.SPONSOR_STORIES):
# a committed leadership where the sponsor is visible (about what the record shows), next to
# nothing where the sponsor is absent (as little as the record shows), little where a busy
# sponsor is not seen as committed (far less than the record: the say-do gap); trust that
# feedback leads to action follows, less strongly.
_PERCEIVED_SHIFT = {
    VISIBLE: {"leadership_commitment": 0.7, "feedback_trust": 0.3},
    ABSENT: {"leadership_commitment": -1.5, "feedback_trust": -0.6},
    UNCOMMITTED: {"leadership_commitment": -1.0, "feedback_trust": -0.4},
}

COMMENT_THEMES = {
    "enablement.tools": "tools",
    "enablement.time": "time",
    "enablement.training": "training",
    "leadership_commitment": "leadership",
    "feedback_trust": "leadership",
}
# (unfavourable, favourable) comments by theme; none of them says who wrote it.
_COMMENTS = {
    "tools": (
        ("Logging a call takes six clicks. On the road I end up typing notes later from memory.",
         "The mobile app keeps logging me out, so I go back to my notebook.",
         "We still have to copy orders from the ERP into the CRM by hand.",
         "Search can't find accounts by their old customer number, which is what customers quote.",
         "Too many mandatory fields on an opportunity for a small repeat order."),
        ("The new pipeline view saves me the Friday spreadsheet.",
         "Being able to see the service tickets before a visit is really useful.",
         "The Outlook add-in made logging e-mails painless."),
    ),
    "time": (
        ("Updating the CRM comes on top of the same call targets. Something has to give.",
         "I do my CRM updates in the evening because the day is full of customer calls.",
         "We were told it would save time; so far it adds about an hour a week.",
         "Month-end and the CRM clean-up landed in the same week again."),
        ("Our manager blocked 30 minutes on Fridays for updates, and that helps.",
         "Once the account plans were in, preparing for reviews got much quicker."),
    ),
    "training": (
        ("The training was a generic demo; I needed to see how to do my own daily tasks.",
         "New joiners get no CRM training at all, they learn from whoever sits next to them.",
         "The e-learning is in English only; a session in our language would help.",
         "I never got invited to the training, I only found the recordings by chance."),
        ("The short videos on forecasting were exactly what I needed.",
         "The floor walkers in the first weeks answered all my questions.",
         "The refresher on opportunity stages cleared up a lot of confusion in our team."),
    ),
    "leadership": (
        ("Leadership says the CRM matters but the forecast call still runs on spreadsheets.",
         "Our reviews never look at the CRM, so nobody sees why we should keep it current.",
         "We raised the same issues in the last pulse and have not heard anything back.",
         "It feels like the CRM is for head office to watch us, not to help us sell."),
        ("Our director now runs the pipeline review from the CRM, which sends a clear signal.",
         "Good to see last month's feedback turned into the fix for duplicate accounts.",
         "Our manager uses the CRM in one-to-ones and it has made the numbers more honest."),
    ),
}


def load_survey_demo(size: str, seed: int, calendar: DemoCalendar) -> str | None:
    """Add the demo pulse (survey, rounds and, on the small demo, answers) once, on ``calendar``'s
    dates; flushes only."""
    leader = db.session.scalar(
        select(User).where(User.role == Role.CHANGE_LEADER.value).order_by(User.id).limit(1)
    )
    root = db.session.scalar(select(OrgUnit).where(OrgUnit.path == ROOT_UNIT))
    if leader is None or root is None:
        return None  # not the demo organization: nothing to attach a pulse to
    survey = db.session.scalar(select(Survey).where(Survey.title == SURVEY_TITLE).order_by(Survey.id).limit(1))
    created = survey is None
    if created:
        sync_item_bank()
        survey = create_survey(
            title=SURVEY_TITLE,
            created_by=leader,
            audience_units=[root],
            questions=[QuestionSpec(item_key=key, allow_comment=comment) for key, comment in _QUESTIONS],
            first_opens_on=calendar.day(FIRST_OPENS_ON if size == "small" else LARGE_FIRST_OPENS_ON),
            round_length_days=ROUND_LENGTH_DAYS,
            recurrence=Recurrence.MONTHLY.value,
            max_items_per_round=MAX_ITEMS_PER_ROUND,
            rotate_every=ROTATE_EVERY,
        )
        activate_survey(survey)
    today = calendar.today
    schedule_rounds(survey, today)
    if size == "small":
        profiles = demo_team_profiles(seed)
        for survey_round in survey.rounds:
            _answer_round(survey_round, profiles, seed, calendar)
    else:
        first, last = window(LARGE_WEEKS, calendar)
        answer_rounds_in_bulk(
            survey.rounds, demo_team_profiles(seed, "large"), seed, today,
            progress_of=lambda r: max(0.0, (r.opens_on - first).days / (last - first).days),
            traits_of=_team_traits, answer=_answer, last_round_day=ROUND_LENGTH_DAYS - 1,
        )
    _prepare_results(survey, today)
    extra = ""
    if size == "small":
        from surveys.demo_conversations import converse, plan_actions

        threads, answers, closed = converse(list(survey.rounds), today, seed)
        plans = plan_actions(list(survey.rounds), today, seed)
        if threads or plans:
            extra = (f" Leaders replied to {threads} comments ({answers} answered back by their "
                     f"anonymous authors, {closed} closed by them); {plans} action plans.")
    return _describe(survey, size, created, calendar.loaded_on) + extra


def _prepare_results(survey: Survey, today: dt.date) -> None:
    """Prepare the results of the rounds closed by the demo's ``today``, as the daily command would
    have: each the morning after it closed (05:00 UTC), not at load time."""
    from flask import current_app

    from surveys.results import prepare_closed_rounds

    waiting = [r for r in survey.rounds if r.results_ready_at is None and r.closes_on < today]
    prepare_closed_rounds(today, current_app.config)
    for survey_round in waiting:
        # Leaders read and reply from then on (surveys.demo_conversations), and the commitment
        # dashboard counts a round's comments in the quarter its results came out.
        survey_round.results_ready_at = dt.datetime.combine(survey_round.closes_on + dt.timedelta(days=1),
                                                            dt.time(5))


def _describe(survey: Survey, size: str, created: bool, loaded_on: dt.date) -> str:
    """The summary line: the survey, its rounds, the responses it holds, and the round the demo
    employee can answer on the load day."""
    rounds = survey.rounds
    responses = db.session.scalar(
        select(func.count()).select_from(Participation)
        .join(SurveyRound, SurveyRound.id == Participation.round_id)
        .where(SurveyRound.survey_id == survey.id)
    )
    span = f"{rounds[0].opens_on.isoformat()} to {rounds[-1].closes_on.isoformat()}" if rounds else "none yet"
    answers = f"{responses} responses"
    state = "" if created else " (already present)"
    # Rounds are scheduled through the demo's "today". The small demo's latest round is open all
    # that week; the large demo's rounds open on the 1st, so on a load day later in the week its
    # last one may have closed, and the next one (scheduled by `flask schedule-surveys`) not opened yet.
    following = round_opening(survey, len(rounds) + 1)
    if (rounds and rounds[-1].closes_on >= loaded_on) or following <= loaded_on:
        answerable = "the demo employee can answer the open round"
    else:
        answerable = f"the demo employee can answer the next round, opening on {following.isoformat()}"
    return (f"Pulse survey \"{survey.title}\"{state}: {len(rounds)} monthly rounds ({span}), "
            f"{answers}; {answerable}.")


def _answer_round(survey_round: SurveyRound, profiles: dict[str, TeamProfile], seed: int,
                  calendar: DemoCalendar) -> None:
    """Have the round's audience answer it up to the day before the demo's "today", once."""
    answered = db.session.scalar(
        select(Participation.round_id).where(Participation.round_id == survey_round.id).limit(1)
    )
    last_day = min(survey_round.closes_on, calendar.today - dt.timedelta(days=1))
    if answered is not None or survey_round.opens_on > last_day:
        return
    still_open = survey_round.closes_on >= calendar.today
    # People with a demo login answer an open round themselves, when they try the app.
    with_login = set(db.session.scalars(select(User.employee_id).where(User.employee_id.isnot(None))))
    # The person behind the demo's employee login speaks up in every round they answered, so
    # that signing in with it shows their own conversations (surveys.demo_conversations).
    speaking_up = set(db.session.scalars(
        select(User.employee_id).where(User.role == Role.EMPLOYEE.value, User.employee_id.isnot(None))))
    first, last = window(SMALL_WEEKS, calendar)
    progress = (survey_round.opens_on - first).days / (last - first).days
    questions = [(rq, rq.question.item_version.item.construct, rq.question.scale, rq.question.allow_comment)
                 for rq in survey_round.questions]
    for employee in eligible_employees(survey_round):
        if still_open and employee.id in with_login:
            continue
        path = employee.unit.path
        team = _team_traits(path, profiles.get(path), progress, seed)
        person = random.Random(f"{seed}:{employee.hr_id}")  # stable traits, the same every round
        propensity, offset = person.uniform(-0.15, 0.15), person.gauss(0, 0.45)
        rng = random.Random(f"{seed}:{employee.hr_id}:{survey_round.number}")
        if rng.random() >= team.response_rate + propensity:
            continue
        # Most people answer in the first days of a round, a few after the reminders.
        day = survey_round.opens_on + dt.timedelta(days=min(int(rng.expovariate(1 / 4)), ROUND_LENGTH_DAYS - 1))
        if day > last_day:
            continue  # not yet answered on the demo's "today"
        mood = team.engagement + offset
        answers = {
            rq.id: _answer(rng, construct, scale, allow_comment, mood, team.resistant, survey_round.number,
                           team.perceived)
            for rq, construct, scale, allow_comment in questions
        }
        if employee.id in speaking_up:
            # A generator of its own: the answers' values stay what they would be without it.
            _speak_up(answers, questions, random.Random(f"{seed}:{employee.hr_id}:{survey_round.number}:comment"))
        try:
            submit_response(employee, survey_round, answers, today=day)
        except SurveyError:
            continue  # left or moved outside the audience before that day: no answer, as in life


@dataclass(frozen=True)
class _TeamTraits:
    """How one team answers a round: its response rate, engagement (1-5), and how its view of
    the leadership stands against its engagement (construct -> shift, its sponsor's story)."""

    response_rate: float
    engagement: float
    resistant: bool
    perceived: dict[str, float] = field(default_factory=dict)


def _team_traits(path: str, profile: TeamProfile | None, progress: float, seed: int) -> _TeamTraits:
    """A team's answering habits in a round, following its CRM adoption story."""
    rng = random.Random(f"{seed}:{path}")
    rate, engagement = rng.uniform(0.55, 0.8), rng.uniform(3.4, 4.1)
    resistant = bool(profile and profile.resistant)
    if profile is not None:
        # Teams that took the CRM up well tend to be the more engaged ones.
        engagement += (profile.ceiling - 0.75) * 0.8
        if resistant:
            # Few answers as well: some of these teams fall below the reporting threshold.
            rate, engagement = rng.uniform(0.35, 0.5), rng.uniform(2.6, 3.0)
        elif profile.lapse_from is not None and progress >= profile.lapse_from - 0.1:
            # A slipping team (its champion left) loses heart in the pulse before the CRM data shows it.
            rate, engagement = rate - 0.15, engagement - 0.7
    story = region_story(path)
    return _TeamTraits(rate, engagement, resistant, _PERCEIVED_SHIFT[story.profile] if story else {})


def _speak_up(answers: dict, questions: list, rng: random.Random) -> None:
    """Give ``answers`` a comment when they have none: on the question open to comments that was
    rated lowest (the first of equals), fitting the rating like ``_answer``'s comments."""
    if any("comment" in answer for answer in answers.values()):
        return
    open_to_comment = [(rq.id, COMMENT_THEMES[construct]) for rq, construct, _scale, allow_comment in questions
                       if allow_comment and construct in COMMENT_THEMES]
    if not open_to_comment:
        return
    rq_id, theme = min(open_to_comment, key=lambda question: answers[question[0]]["value"])
    unfavourable, favourable = _COMMENTS[theme]
    answers[rq_id]["comment"] = rng.choice(unfavourable if answers[rq_id]["value"] <= 3 else favourable)


def _answer(rng: random.Random, construct: str, scale: str, allow_comment: bool, mood: float,
            resistant: bool, number: int, perceived: dict[str, float] | None = None) -> dict:
    """One person's answer to one question, with now and then a comment (``perceived``: the
    team's shift per construct, ``_TeamTraits.perceived``)."""
    if scale == Scale.NPS11.value:
        return {"value": max(0, min(10, round(2.7 * (mood - 1) + rng.gauss(0, 1.3))))}
    latent = (mood + _CONSTRUCT_SHIFT.get(construct, 0.0) + _CONSTRUCT_TREND.get(construct, 0.0) * (number - 1)
              + (_RESISTANT_SHIFT.get(construct, 0.0) if resistant else 0.0)
              + (perceived or {}).get(construct, 0.0) + rng.gauss(0, 0.6))
    value = max(1, min(5, round(latent)))
    answer: dict = {"value": value}
    theme = COMMENT_THEMES.get(construct)
    if allow_comment and theme and rng.random() < {1: 0.3, 2: 0.2, 3: 0.07}.get(value, 0.04):
        unfavourable, favourable = _COMMENTS[theme]
        answer["comment"] = rng.choice(unfavourable if value <= 3 else favourable)
    return answer
