"""The training demo: six months of the starter curriculum at the demo company, and its effect.

``load_training_demo`` is the training package's demo loader (registered by ``training.init_app``,
called by ``adoption.demo.load_demo`` after the organization, its CRM usage and the pulse). It
loads the starter curriculum and assigns it the way a change team would have over the six months
before the demo's "today" (the dates below are those of a load on 2026-11-23; on another day they
move by the same whole weeks as the rest of the demo, ``adoption.demo_calendar``):

- *CRM as a customer strategy* to everyone, in May, due at the end of June;
- *Customer insight first* to the front-line sales and service teams, and *Pipeline hygiene* to
  the sales teams, each in five waves of teams from June to November, the last one due in
  December (so on "today" some colleagues are not trained yet);
- *Reading the numbers as an informed skeptic* to the people with a manager, change-leader or
  executive login in October and to the marketing-operations teams in November.

Who is in which wave comes from a shuffle of the teams, never from their CRM usage, so
completion timing is unrelated to how much anyone uses the CRM. Each assignee then takes the
module or not: most on time, some late, some part way through or not started; knowledge-check
answers depend on the person and on the question (a multiple-choice question and one tricky
single-choice question are missed most); case answers, commitments, reactions and the 30/60/90-day
follow-ups are drawn from sets of plausible texts.

**Planted effects** (for the behaviour difference-in-differences): from the week after their
completion, people who completed *Customer insight first* log 1 to 1.5 more ``activity_logged``
(each person draws one rate) in each week they use the CRM, on the days they use it, so a
dormant user stays dormant; completing *Pipeline hygiene* changes nothing in
``opportunity_updated``.

What each person does is planned first, as data (``LearnerPlan``: start, read, answer, attempt,
commit, rate, answer follow-ups, each at a historical instant). On the small demo the demo
manager's team (the demo employee's) and everyone with a login carry out their plans through the
learner services (``training.services``, ``training.followups``) with historical ``now`` and
``today``; the other plans, about nine in ten, are written as the same rows in bulk with their
xAPI statements (``training/demo_bulk.py``: the services take ~35 ms per enrollment, which would
add most of a minute to every small-demo load), and the extra activities go as raw events through
the ingest path, like ``adoption.demo_telemetry``. The large demo writes every plan in bulk,
without xAPI statements, and adds the extra activities to ``daily_usage`` directly.

Deterministic and idempotent: every choice comes from a ``random.Random`` seeded with the demo
seed and a person's HR id (or a team's path); the assignments are made once (a second load finds
them and adds nothing), and the extra events are ``demo-training-s<seed>-<n>``.
"""
from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import func, select

from adoption.demo import ABSENT, ROOT_UNIT, UNCOMMITTED, VISIBLE, sponsor_stories
from adoption.demo_calendar import DemoCalendar
from adoption.demo_telemetry import refresh_rollups, team_kind
from adoption.extensions import db
from adoption.models import DailyUsage, Employee, OrgUnit, Role, UsageEvent, User
from adoption.models.org import UNIT_PATH_SEPARATOR
from adoption.timekeeping import org_today
from training.assignments import assign_module
from training.followups import ANSWER_DAYS
from training.models import (
    FOLLOW_UP_DAYS,
    AssignedTraining,
    Assignment,
    CheckAttempt,
    CheckQuestion,
    Commitment,
    CommitmentFollowUp,
    Enrollment,
    Module,
    ModuleStep,
    QuestionKind,
    StepKind,
)
from training.services import commitment_behaviours, pass_mark
from training.starter import load_starter_curriculum

STRATEGY, INSIGHT, PIPELINE, SKEPTIC = (
    "crm-customer-strategy", "customer-insight-first", "pipeline-hygiene", "informed-skeptic")
#: The module with a planted effect on its key behaviour, and the one with none.
EFFECT_MODULE, NULL_MODULE = INSIGHT, PIPELINE
EFFECT_BEHAVIOUR = "activity_logged"
#: Extra ``activity_logged`` per week of a completer of ``EFFECT_MODULE`` (each person draws one).
EFFECT_PER_WEEK = (1.0, 1.5)

_FRONTLINE = ("field", "inside", "key_accounts", "service", "success")
_SALES = ("field", "inside", "key_accounts")
# Waves of teams, (assigned on, due on): Mondays and Fridays, the last due after "today". These and
# the other assignment dates are reference dates (``DemoCalendar.day`` moves them).
_INSIGHT_WAVES = (
    (dt.date(2026, 6, 8), dt.date(2026, 7, 10)),
    (dt.date(2026, 7, 6), dt.date(2026, 8, 7)),
    (dt.date(2026, 8, 10), dt.date(2026, 9, 11)),
    (dt.date(2026, 9, 7), dt.date(2026, 10, 9)),
    (dt.date(2026, 10, 26), dt.date(2026, 12, 4)),
)
_PIPELINE_WAVES = (
    (dt.date(2026, 6, 22), dt.date(2026, 7, 24)),
    (dt.date(2026, 7, 27), dt.date(2026, 8, 28)),
    (dt.date(2026, 8, 24), dt.date(2026, 9, 25)),
    (dt.date(2026, 9, 21), dt.date(2026, 10, 23)),
    (dt.date(2026, 11, 9), dt.date(2026, 12, 11)),
)
_STRATEGY_DATES = (dt.date(2026, 5, 4), dt.date(2026, 6, 26))
_SKEPTIC_LEADERS = (dt.date(2026, 10, 12), dt.date(2026, 11, 13))
_SKEPTIC_MARKETING = (dt.date(2026, 11, 2), dt.date(2026, 12, 4))
_LEADER_ROLES = (Role.MANAGER.value, Role.CHANGE_LEADER.value, Role.EXECUTIVE.value)
_JOINER_DAYS = 30

# What becomes of one person's assignment.
ON_TIME, LATE, STALLED, NOT_STARTED = "on_time", "late", "stalled", "not_started"
# The demo logins have a story of their own, so that whoever tries them finds something to do:
# the employee has a module under way (stalled since the summer) and, having completed the
# October wave's module on time, a follow-up open (each is open 30 days: training.followups).
_CAST_OUTCOMES = {
    Role.EMPLOYEE.value: {STRATEGY: ON_TIME, INSIGHT: STALLED, PIPELINE: ON_TIME, SKEPTIC: NOT_STARTED},
    Role.MANAGER.value: {STRATEGY: ON_TIME, INSIGHT: LATE, PIPELINE: ON_TIME, SKEPTIC: STALLED},
    Role.CHANGE_LEADER.value: {STRATEGY: ON_TIME, INSIGHT: ON_TIME, PIPELINE: ON_TIME, SKEPTIC: ON_TIME},
}
# The sponsors' own training is part of their story (adoption.demo.SPONSOR_STORIES): the visible
# and the busy sponsor complete every module on time (the CEO, with the executive login, among
# them), the absent one never starts.
_SPONSOR_OUTCOMES = {VISIBLE: ON_TIME, UNCOMMITTED: ON_TIME, ABSENT: NOT_STARTED}
# Share of follow-ups answered when asked at 30, 60 and 90 days (interest fades).
_ANSWER_SHARE = {30: 0.8, 60: 0.68, 90: 0.58}
# Working hours in UTC by region, as in adoption.demo_telemetry: local dates stay the same.
_UTC_OFFSET_HOURS = {"North America": -5, "EMEA": 1, "APAC": 8, "LATAM": -3}

# Mean usefulness (1-5) each module is given, and the texts learners write.
_REACTION_MEAN = {STRATEGY: 3.6, INSIGHT: 4.2, PIPELINE: 3.7, SKEPTIC: 4.0}
_REACTION_COMMENTS = {
    STRATEGY: (
        (1, 2, "Nice words, but my targets have not changed, so neither will my day."),
        (2, 3, "A lot of theory for people who have used a CRM for years."),
        (3, 4, "The handover case happened to me last year. I wish we had had this then."),
        (4, 5, "Good to hear leadership say the CRM is for customers and not for reporting."),
        (3, 5, "The account plan template is useful; please make it the default in the CRM."),
    ),
    INSIGHT: (
        (4, 5, "Heard, means, next is simple enough to actually use on a busy day."),
        (4, 5, "The complaint call case was very close to real life in our team."),
        (3, 4, "Good module. Logging from the phone is still slow, which is the real obstacle."),
        (1, 3, "We already log everything; this felt like being told how to do my job."),
        (4, 5, "Finally a training about customers and not about which button to press."),
    ),
    PIPELINE: (
        (1, 2, "Honest pipelines are fine until the forecast call punishes them."),
        (2, 3, "Our managers should take this module first."),
        (3, 4, "The end-of-quarter case was uncomfortably familiar."),
        (4, 5, "The Friday routine takes 15 minutes and my forecast is better for it."),
        (3, 4, "Useful, but the stage definitions in our CRM do not match the ones in the lesson."),
    ),
    SKEPTIC: (
        (4, 5, "Compared with what? is now a question in every one of our team meetings."),
        (3, 4, "Good, but I would like an example with our own dashboards."),
        (4, 5, "The activity contest case should be shown to every director."),
        (2, 3, "Too much statistics for a manager's training."),
    ),
}
_CASE_ANSWERS = {
    STRATEGY: (
        (3, ("Before Thursday I would read Daniel's e-mails and the service tickets about the April "
            "deliveries, ask finance whether anything was credited and put what I find into the account "
            "plan with its source. In the call I would introduce myself as the new contact, say that I "
            "know about the April problems and ask where things stand for them before talking about the "
            "renewal, and who decides now that there is a new CFO. Afterwards I would update the account "
            "plan (goals, people, risks, next steps with dates) and check the opportunity's stage and "
            "close date against what I heard.")),
        (3, ("Rebuild the history first: tickets, e-mails, finance. Get the new CFO's name from the "
            "switchboard and add her to the account. In the call, ask what was promised for the new "
            "warehouse and how the deliveries have been since April, and agree a next step with a date. "
            "Then bring the account plan and the renewal date up to date.")),
        (2, ("Read Daniel's e-mails and try to find the proposal for the warehouse. In the call "
            "apologise for the delivery problems and ask about the warehouse. Update the CRM afterwards "
            "with the notes from the call.")),
        (2, ("Ask my manager what Daniel promised and prepare a new proposal for the warehouse so that "
            "I have something to show on Thursday. Log the call in the CRM.")),
        (1, "Update the contacts in the CRM and log the meeting."),
        (1, "Call the customer, ask what they need and update the opportunity."),
    ),
    INSIGHT: (
        (3, ("Heard: third late delivery this year, order held because an address change was not "
            "confirmed; released, next-day delivery and a loaner printer. Helen Park (office manager) "
            "says the partners saw a competitor offering remote toner monitoring; the contract renews in "
            "the autumn and she is preparing a comparison. Second office opens in September. Means (my "
            "read): the renewal is at risk and will be decided on reliability. Next: account manager told "
            "today through a task on the account (me, by 17:30).")),
        (3, ("On the ticket: the delivery facts and what I did. On the account: a note that a competitor "
            "offers remote toner monitoring and the contract is up in the autumn, plus the second office "
            "in September. A task for the account manager today, because the ticket is resolved but the "
            "account is not.")),
        (2, ("Resolve the ticket with the delivery details and send an e-mail to the account manager "
            "about the competitor.")),
        (2, ("Log it as a delivery complaint, write that the customer is unhappy and might leave, and "
            "tell my team leader at the next huddle.")),
        (1, "Category: delivery. Resolved: yes. Toner shipped next day, loaner printer sent."),
        (1, "Customer complained about late toner, sorted it out."),
    ),
    PIPELINE: (
        (3, ("Close the seven dead deals as lost with a reason and a task to check back next quarter. "
            "Call or e-mail the four other past-date deals and the two silent proposals today and move "
            "them back to the stage the customer has really reached. Put my best hours into the 120k "
            "deal, with a dated next step for each remaining step of their purchasing process. Tell Ewa: "
            "190k closed, 120k likely, a few possibles and a gap, and that I am prospecting for next "
            "quarter.")),
        (3, ("Clean the pipeline before forecasting: dead deals to lost, doubtful ones tested with one "
            "call each, stages back to what the customer did. Forecast what I believe (about 310k) and "
            "ask Ewa for help with the gap now rather than on the last day.")),
        (2, ("Move the past close dates to realistic ones and send a follow-up e-mail to everyone who "
            "has gone quiet. Forecast 310k and explain that the rest is uncertain.")),
        (2, ("Focus on the 120k deal and leave the rest until after the quarter. Tell Ewa I expect to "
            "land around 310k.")),
        (1, "Push the dates to next month so the pipeline looks right, and clean it up next quarter."),
        (1, "Forecast 350k as asked and work hard to get there."),
    ),
    SKEPTIC: (
        (3, ("Compared with the South, activities rose by about 5 more per agent per week, so part of "
            "the rise goes with the contest, but two agents admit to double logging, so the measure is "
            "being gamed. CSAT 84% to 81% on about 55 answers and the survey item on 14 answers are "
            "within normal variation: no sign of a gain for customers. I would tell Paul not to roll it "
            "out as it is: target something customers feel, read a sample of records, and start with "
            "some regions while others stay as a comparison.")),
        (3, ("The contest moved the count, not the service. Recommend a pilot in two regions with a "
            "comparison group and a customer-facing target, and protect the agents who told the truth.")),
        (2, ("The contest worked for activity numbers but CSAT went down, so I would tell Paul it hurts "
            "customers and should not be rolled out.")),
        (2, ("The numbers went up everywhere, so it may just be the season. I would ask Paul to wait "
            "another quarter before deciding.")),
        (1, "Activities went up from 11 to 19, so the contest works. Roll it out."),
        (1, "I do not trust any of these numbers."),
    ),
}
# How often an answer of each quality (3 good, 2 fair, 1 thin) is written.
_QUALITY_WEIGHTS = {3: 0.35, 2: 0.4, 1: 0.25}
_COMMITMENTS = {
    STRATEGY: (
        ("update the account plans of my five biggest customers with their goals, the people who decide "
        "and the risks, before each review meeting."),
        "add the new contacts I meet to the account plan on the same day.",
        "review one account plan every Friday afternoon and fix what is out of date.",
        "write down in the account plan what each key customer said they want to achieve this year.",
        "bring the account plans of my accounts up to date before any holiday or handover.",
        "ask my two largest customers what has changed for them this year and put it in their plans.",
    ),
    INSIGHT: (
        "write a heard / means / next note within an hour of every customer call.",
        "log every customer visit on the same day, with what the customer said and a dated next step.",
        "block ten minutes after my last call each day to log what I heard.",
        "create a task for the account manager whenever a customer mentions a competitor.",
        "log callbacks with the customer's own words, not just 'called back'.",
        "log my meetings from my phone in the car park before driving to the next one.",
    ),
    PIPELINE: (
        "close or re-date every opportunity whose close date has passed, every Friday.",
        "move a stage only when the customer has actually done something, and note what.",
        "give every open opportunity a dated next step.",
        "go through my pipeline with my manager and close what is dead without apologising for it.",
        "check my ten largest opportunities every Monday morning.",
        "mark opportunities lost, with a reason, within a week of hearing no.",
    ),
    SKEPTIC: (
        "ask 'compared with what?' before I share any number in our team meeting.",
        "show the n next to every percentage in my monthly report.",
        "read a sample of ten records before I trust a rise in activity counts.",
        "propose a comparison group before we roll out the next incentive.",
        "stop ranking my team on logged activities and look at customer outcomes instead.",
        "check whether a change is bigger than the usual month-to-month variation before reporting it.",
    ),
}
# (done, partly, not yet) shares of follow-up answers per module.
_FOLLOW_UP_SHARES = {
    STRATEGY: (0.38, 0.37, 0.25),
    INSIGHT: (0.55, 0.3, 0.15),
    PIPELINE: (0.5, 0.32, 0.18),
    SKEPTIC: (0.45, 0.35, 0.2),
}
_FOLLOW_UP_NOTES = {
    "done": ("Doing it every week now.", "It has become a habit.", "Yes, and my manager noticed.",
             "Done; it takes less time than I expected."),
    "partly": ("On quiet days yes, on busy days no.", "Most weeks, not all.",
               "Started well, slipped during month-end.", "Half of my accounts so far."),
    "not_yet": ("No time with the current call targets.", "Holidays, then a backlog.",
                "I need help from my manager to make room for it.", "Not yet, will restart next week."),
}


# --- plans: what each person does, as data ------------------------------------------------------

@dataclass(frozen=True)
class StartModule:
    """Open the module for the first time."""

    at: dt.datetime


@dataclass(frozen=True)
class ReadLesson:
    """Read a lesson to its end."""

    step: ModuleStep
    at: dt.datetime


@dataclass(frozen=True)
class AnswerCase:
    """Write what one would do in the case study."""

    step: ModuleStep
    text: str
    at: dt.datetime


@dataclass(frozen=True)
class SubmitCheck:
    """One attempt at the knowledge check: question id -> chosen option indexes."""

    step: ModuleStep
    answers: dict[int, list[int]]
    at: dt.datetime


@dataclass(frozen=True)
class MakeCommitment:
    """Write the commitment, optionally naming a key behaviour."""

    step: ModuleStep
    text: str
    key_behaviour: str | None
    at: dt.datetime


@dataclass(frozen=True)
class GiveReaction:
    """Rate the module's usefulness, which completes it."""

    score: int
    comment: str
    at: dt.datetime


@dataclass(frozen=True)
class AnswerFollowUp:
    """Answer the follow-up of ``day_offset`` days."""

    day_offset: int
    status: str
    note: str
    at: dt.datetime


Action = StartModule | ReadLesson | AnswerCase | SubmitCheck | MakeCommitment | GiveReaction | AnswerFollowUp


@dataclass(frozen=True)
class Learner:
    """One assignee of a module: who, where, and the dates of their (earliest) assignment."""

    employee_id: int
    hr_id: str
    team: str
    region: str
    role: str | None
    assigned_on: dt.date
    due_on: dt.date
    sponsor: str | None = None  # a sponsor's story (adoption.demo.SPONSOR_STORIES), else None


@dataclass
class LearnerPlan:
    """Everything one person does with one module, in order (empty: never started)."""

    learner: Learner
    module: Module
    actions: list[Action] = field(default_factory=list)


def _working_day(day: dt.date, forward: bool) -> dt.date:
    """``day``, or the nearest weekday after (``forward``) or before it."""
    while day.weekday() >= 5:
        day += dt.timedelta(days=1 if forward else -1)
    return day


def _at(day: dt.date, minute: int, region: str) -> dt.datetime:
    """The naive-UTC instant of local ``minute`` (after local midnight) on ``day`` in ``region``."""
    offset = _UTC_OFFSET_HOURS.get(region, 0)
    return dt.datetime(day.year, day.month, day.day) + dt.timedelta(minutes=minute - 60 * offset)


def org_day(moment: dt.datetime) -> dt.date:
    """The organization's date of a naive-UTC instant."""
    zone = current_app.config["ORG_TIMEZONE"]
    if zone == "UTC":
        return moment.date()  # the default, and the large demo's hot path
    return org_today(zone, moment.replace(tzinfo=dt.UTC))


def _pick_text(rng: random.Random, texts: tuple[tuple[int, str], ...]) -> str:
    """A case answer, good ones less often than the rest."""
    weights = [_QUALITY_WEIGHTS[quality] for quality, _ in texts]
    return rng.choices([text for _, text in texts], weights=weights)[0]


def _miss_chance(question_difficulty: float, aptitude: float, attempt: int) -> float:
    """The chance of getting a question wrong: harder questions, weaker learners and first
    attempts miss more (the explanations shown after an attempt help the next)."""
    logit = math.log(question_difficulty / (1 - question_difficulty)) - aptitude - 1.6 * (attempt - 1)
    return 1 / (1 + math.exp(-logit))


def question_difficulties(step: ModuleStep) -> dict[int, float]:
    """Each question's base chance of being missed: multiple-choice ones and the check's last
    single-choice one are the "most missed" questions of the demo."""
    singles = [q for q in step.questions if q.kind == QuestionKind.SINGLE.value]
    tricky = singles[-1].id if len(singles) > 1 else None
    return {q.id: 0.38 if q.kind == QuestionKind.MULTIPLE.value else 0.26 if q.id == tricky else 0.07
            for q in step.questions}


def _wrong_choice(rng: random.Random, question: CheckQuestion) -> list[int]:
    """A plausible wrong answer: another option, or for a multiple-choice question one right
    option too few or one wrong option too many."""
    right = sorted(question.correct)
    others = [i for i in range(len(question.options)) if i not in right]
    if question.kind == QuestionKind.SINGLE.value:
        return [rng.choice(others)] if others else []
    if len(right) > 1 and (not others or rng.random() < 0.6):
        return sorted(rng.sample(right, len(right) - 1))
    return sorted(right + [rng.choice(others)]) if others else right[:-1]


def answer_correct(question: CheckQuestion, chosen: list[int] | None) -> bool:
    """Whether ``chosen`` answers ``question``: exactly its right options (the services' rule)."""
    return bool(chosen) and set(chosen) == set(question.correct)


def check_score(step: ModuleStep, answers: dict[int, list[int]]) -> tuple[int, int, bool]:
    """(right, questions, passed) of an attempt, by the rule ``services.submit_check`` applies."""
    right = sum(1 for q in step.questions if answer_correct(q, answers.get(q.id)))
    n = len(step.questions)
    return right, n, right * 100 >= pass_mark(step) * n


@dataclass(frozen=True)
class _Person:
    """Traits of a person that hold across modules."""

    aptitude: float  # knowledge checks: higher misses less
    care: float  # case answers and follow-ups: higher writes better and answers more


def _person(seed: int, hr_id: str) -> _Person:
    """A person's stable traits, from their own generator."""
    rng = random.Random(f"{seed}:training-person:{hr_id}")
    return _Person(aptitude=rng.gauss(0, 0.8), care=rng.uniform(-0.15, 0.15))


def _outcome(rng: random.Random, learner: Learner, slug: str, seed: int) -> str:
    """What becomes of the assignment: teams differ in diligence, never by their CRM usage."""
    forced = _SPONSOR_OUTCOMES.get(learner.sponsor or "") or _CAST_OUTCOMES.get(learner.role or "", {}).get(slug)
    if forced is not None:
        return forced
    diligence = random.Random(f"{seed}:training-team:{learner.team}").uniform(-0.12, 0.08)
    u, on_time = rng.random(), 0.72 + diligence
    if u < on_time:
        return ON_TIME
    if u < on_time + 0.13:
        return LATE
    if u < on_time + 0.2:
        return STALLED
    return NOT_STARTED


def _completion_day(rng: random.Random, outcome: str, learner: Learner) -> dt.date:
    """The day the module would be completed: shortly after assignment (a keen quarter), in the
    last days before the due date (most), or after it (late)."""
    assigned, due = learner.assigned_on, learner.due_on
    if outcome == LATE:
        return _working_day(due + dt.timedelta(days=1 + int(rng.expovariate(1 / 9))), forward=True)
    if rng.random() < 0.25:
        day = assigned + dt.timedelta(days=int(rng.expovariate(1 / 5)))
    else:
        day = due - dt.timedelta(days=int(rng.expovariate(1 / 6)))
    day = min(max(day, assigned), due)
    day = _working_day(day, forward=False)
    return day if day >= assigned else _working_day(assigned, forward=True)


def module_difficulties(module: Module) -> dict[int, float]:
    """``question_difficulties`` of every check of ``module``, by question id."""
    return {question_id: share for step in module.steps if step.kind == StepKind.CHECK.value
            for question_id, share in question_difficulties(step).items()}


def plan_learner(learner: Learner, module: Module, seed: int, behaviours: list[str],
                 difficulties: dict[int, float] | None = None, *, today: dt.date) -> LearnerPlan:
    """What ``learner`` does with ``module`` before the demo's ``today`` (``difficulties``: the
    module's ``module_difficulties``, computed once by a caller planning many learners)."""
    difficulties = difficulties if difficulties is not None else module_difficulties(module)
    slug = module.slug
    rng = random.Random(f"{seed}:training:{learner.hr_id}:{slug}")
    person = _person(seed, learner.hr_id)
    plan = LearnerPlan(learner, module)
    outcome = _outcome(rng, learner, slug, seed)
    if outcome == NOT_STARTED:
        return plan
    last_day = today - dt.timedelta(days=1)
    if outcome == STALLED:
        span = max(0, (min(learner.due_on, last_day) - learner.assigned_on).days)
        finish = _working_day(learner.assigned_on + dt.timedelta(days=rng.randint(0, span)), forward=False)
        finish = max(finish, learner.assigned_on)
    else:
        finish = _completion_day(rng, outcome, learner)
    # Most take a module in one sitting; some start a few days before they finish.
    start = finish
    if rng.random() < 0.4:
        start = max(_working_day(finish - dt.timedelta(days=rng.randint(1, 4)), forward=False),
                    learner.assigned_on)
    actions = _take_module(rng, person, learner, module, start, finish, behaviours, difficulties)
    rated = next((i for i, a in enumerate(actions) if isinstance(a, GiveReaction)), None)
    # Actions are in time order: count those before "today" from the end.
    before_today = len(actions)
    while before_today and org_day(actions[before_today - 1].at) > last_day:
        before_today -= 1
    if outcome == STALLED:
        # Stopped somewhere before rating the module (perhaps after a failed check attempt).
        stop = rng.randint(1, rated if rated is not None else len(actions))
        plan.actions = actions[:min(stop, before_today)]
    elif rated is None or before_today < len(actions):
        # Attempts at the check used up, or still under way on "today".
        plan.actions = actions[:min(before_today, rated if rated is not None else len(actions))]
    else:
        plan.actions = actions + _follow_ups(rng, person, learner, module, actions, today)
    return plan


def _take_module(rng: random.Random, person: _Person, learner: Learner, module: Module,
                 start: dt.date, finish: dt.date, behaviours: list[str],
                 difficulty: dict[int, float]) -> list[Action]:
    """Every step in order from ``start`` (the first session) to ``finish`` (the rest and the
    reaction); stops early if the checks' attempts run out."""
    region = learner.region
    minute = rng.randrange(9 * 60, 15 * 60)
    day = start
    actions: list[Action] = [StartModule(_at(day, minute, region))]
    for step in module.steps:
        if step.kind == StepKind.CASE_STUDY.value and day < finish:
            day, minute = finish, rng.randrange(9 * 60, 15 * 60)  # the second sitting
        minute += rng.randint(4, 12)
        if step.kind == StepKind.LESSON.value:
            actions.append(ReadLesson(step, _at(day, minute, region)))
        elif step.kind == StepKind.CASE_STUDY.value:
            texts = _CASE_ANSWERS.get(module.slug) or ((2, "I would talk to the customer first."),)
            actions.append(AnswerCase(step, _pick_text(rng, texts), _at(day, minute, region)))
        elif step.kind == StepKind.CHECK.value:
            attempt, passed = 0, False
            while not passed and (step.attempts_allowed is None or attempt < step.attempts_allowed):
                attempt += 1
                answers = {
                    q.id: (_wrong_choice(rng, q)
                           if rng.random() < _miss_chance(difficulty[q.id], person.aptitude, attempt)
                           else sorted(q.correct))
                    for q in step.questions
                }
                actions.append(SubmitCheck(step, answers, _at(day, minute, region)))
                passed = check_score(step, answers)[2]
                minute += rng.randint(2, 6)
                if attempt >= 4:  # an unlimited check: the demo learner gets there
                    break
            if not passed:
                return actions  # attempts used up: stuck until someone resets the check
        elif step.kind == StepKind.COMMITMENT.value:
            texts = _COMMITMENTS.get(module.slug) or ("put what I learned into practice.",)
            actions.append(MakeCommitment(step, rng.choice(texts), _key_behaviour(rng, module, behaviours),
                                          _at(day, minute, region)))
    minute += rng.randint(1, 3)
    score = max(1, min(5, round(rng.gauss(_REACTION_MEAN.get(module.slug, 3.8), 0.85))))
    comment = ""
    if rng.random() < 0.18:
        fitting = [text for low, high, text in _REACTION_COMMENTS.get(module.slug, ()) if low <= score <= high]
        comment = rng.choice(fitting) if fitting else ""
    actions.append(GiveReaction(score, comment, _at(day, minute, region)))
    return actions


def _key_behaviour(rng: random.Random, module: Module, behaviours: list[str]) -> str | None:
    """The key behaviour a commitment names: mostly the module's own, sometimes another, or none."""
    own = list(module.key_behaviours or [])
    u = rng.random()
    if own and u < 0.84:
        return own[0]
    others = [b for b in behaviours if b not in own]
    if others and u < (0.9 if own else 0.15):
        return rng.choice(others)
    return None


def _follow_ups(rng: random.Random, person: _Person, learner: Learner, module: Module,
                actions: list[Action], today: dt.date) -> list[Action]:
    """Answers to the 30/60/90-day follow-ups asked before ``today``, each within the 30 days it is
    open (people with a demo login leave theirs for whoever tries the app)."""
    commit = next((a for a in actions if isinstance(a, MakeCommitment)), None)
    if commit is None or learner.role is not None:
        return []
    committed_on = org_day(commit.at)
    shares = _FOLLOW_UP_SHARES.get(module.slug, (0.4, 0.35, 0.25))
    answers: list[Action] = []
    for days in FOLLOW_UP_DAYS:
        due = committed_on + dt.timedelta(days=days)
        day = _working_day(due + dt.timedelta(days=int(rng.expovariate(1 / 3))), forward=True)
        answering = rng.random() < _ANSWER_SHARE[days] + person.care
        status = rng.choices(("done", "partly", "not_yet"), weights=shares)[0]
        note = rng.choice(_FOLLOW_UP_NOTES[status]) if rng.random() < 0.5 else ""
        at = _at(day, rng.randrange(9 * 60, 17 * 60), learner.region)
        # Answered while the follow-up was open (training.followups.ANSWER_DAYS), and before today.
        if answering and due <= org_day(at) < min(today, due + dt.timedelta(days=ANSWER_DAYS)):
            answers.append(AnswerFollowUp(days, status, note, at))
    return answers


# --- assignments --------------------------------------------------------------------------------

def _teams(kinds: tuple[str, ...]) -> list[OrgUnit]:
    """The team units of these kinds (by the names the demo roster gives them), by path."""
    parents = select(OrgUnit.parent_id).where(OrgUnit.parent_id.is_not(None))
    leaves = db.session.scalars(select(OrgUnit).where(OrgUnit.id.not_in(parents)).order_by(OrgUnit.path))
    return [u for u in leaves if team_kind(u.path) in kinds]


def waves(teams: list[OrgUnit], count: int, rng: random.Random) -> list[list[OrgUnit]]:
    """``teams`` dealt into ``count`` waves: shuffled within each kind of team, then dealt in turn,
    so every wave mixes kinds and regions and none is chosen by how well its teams use the CRM."""
    by_kind: dict[str, list[OrgUnit]] = defaultdict(list)
    for team in teams:
        by_kind[team_kind(team.path)].append(team)
    dealt: list[list[OrgUnit]] = [[] for _ in range(count)]
    i = 0
    for kind in sorted(by_kind):
        group = by_kind[kind]
        rng.shuffle(group)
        for team in group:
            dealt[i % count].append(team)
            i += 1
    return dealt


def _assign_curriculum(modules: dict[str, Module], leader: User, root: OrgUnit, seed: int,
                       calendar: DemoCalendar, in_bulk: bool = False) -> None:
    """The change team's assignments of the starter curriculum over the six months, on
    ``calendar``'s dates (``in_bulk``: the assignees of assignments without a role filter written
    by ``demo_bulk.assign_in_bulk``)."""
    from training.demo_bulk import assign_in_bulk

    def assign(slug: str, units: list[OrgUnit], dates: tuple[dt.date, dt.date],
               roles: tuple[str, ...] | None = None) -> None:
        if not units or slug not in modules:
            return
        service = assign_in_bulk if in_bulk and roles is None else assign_module
        assigned_on, due_on = (calendar.day(day) for day in dates)
        service(modules[slug], units=units, roles=roles, due_on=due_on, joiner_days=_JOINER_DAYS,
                created_by=leader, today=assigned_on)

    rng = random.Random(f"{seed}:training-waves")
    assign(STRATEGY, [root], _STRATEGY_DATES)
    for units, dates in zip(waves(_teams(_FRONTLINE), len(_INSIGHT_WAVES), rng), _INSIGHT_WAVES, strict=True):
        assign(INSIGHT, units, dates)
    for units, dates in zip(waves(_teams(_SALES), len(_PIPELINE_WAVES), rng), _PIPELINE_WAVES, strict=True):
        assign(PIPELINE, units, dates)
    assign(SKEPTIC, [root], _SKEPTIC_LEADERS, _LEADER_ROLES)
    assign(SKEPTIC, _teams(("marketing",)), _SKEPTIC_MARKETING)


def _region(path: str) -> str:
    """The region of a unit path (headquarters count as North America, as in the telemetry)."""
    parts = path.split(UNIT_PATH_SEPARATOR)
    return parts[1] if len(parts) > 1 else "North America"


def learners(module_ids: list[int]) -> dict[int, list[Learner]]:
    """Assignees per module, with their earliest assignment's dates, in HR-id order."""
    rows = db.session.execute(
        select(Assignment.module_id, Employee.id, Employee.hr_id, OrgUnit.path, User.role,
               func.min(AssignedTraining.assigned_on), func.min(AssignedTraining.due_on))
        .join(AssignedTraining, AssignedTraining.assignment_id == Assignment.id)
        .join(Employee, Employee.id == AssignedTraining.employee_id)
        .join(OrgUnit, OrgUnit.id == Employee.unit_id)
        .outerjoin(User, User.employee_id == Employee.id)
        .where(Assignment.module_id.in_(module_ids))
        .group_by(Assignment.module_id, Employee.id, Employee.hr_id, OrgUnit.path, User.role)
        .order_by(Assignment.module_id, Employee.hr_id)
    )
    sponsors = {employee_id: story.profile for employee_id, story in sponsor_stories().items()}
    found: dict[int, list[Learner]] = defaultdict(list)
    for module_id, employee_id, hr_id, path, role, assigned_on, due_on in rows:
        found[module_id].append(Learner(employee_id, hr_id, path, _region(path), role, assigned_on, due_on,
                                        sponsors.get(employee_id)))
    return found


def plan_all(modules: list[Module], seed: int, today: dt.date) -> list[LearnerPlan]:
    """Every assignee's plan before the demo's ``today``, module by module in curriculum order,
    people in HR-id order."""
    by_module = learners([m.id for m in modules])
    plans = []
    for module in modules:
        behaviours, difficulties = commitment_behaviours(module), module_difficulties(module)
        plans.extend(plan_learner(learner, module, seed, behaviours, difficulties, today=today)
                     for learner in by_module.get(module.id, []))
    return plans


# --- the small demo: through the learner services ----------------------------------------------

def take_through_services(plans: list[LearnerPlan]) -> None:
    """Carry out every plan with the learner services, at the plan's historical times."""
    from training import services
    from training.followups import answer_follow_up

    ids = sorted({p.learner.employee_id for p in plans if p.actions})
    employees = {e.id: e for e in db.session.scalars(select(Employee).where(Employee.id.in_(ids)))}
    for plan in plans:
        if not plan.actions:
            continue
        employee = employees[plan.learner.employee_id]
        enrollment = commitment = None
        for action in plan.actions:
            match action:
                case StartModule(at=at):
                    enrollment = services.start_module(employee, plan.module, at)
                case ReadLesson(step=step, at=at):
                    services.complete_lesson(enrollment, step, at)
                case AnswerCase(step=step, text=text, at=at):
                    services.answer_case(enrollment, step, text, at)
                case SubmitCheck(step=step, answers=answers, at=at):
                    services.submit_check(enrollment, step, answers, at)
                case MakeCommitment(step=step, text=text, key_behaviour=behaviour, at=at):
                    commitment = services.make_commitment(enrollment, step, text, behaviour, org_day(at), at)
                case GiveReaction(score=score, comment=comment, at=at):
                    services.give_reaction(enrollment, score, comment, org_day(at), at)
                case AnswerFollowUp(day_offset=days, status=status, note=note, at=at):
                    follow_up = next(f for f in commitment.follow_ups if f.day_offset == days)
                    answer_follow_up(follow_up, employee, status, note, now=at, today=org_day(at))


# --- the planted effect -------------------------------------------------------------------------

def _week_after(day: dt.date) -> dt.date:
    """The first day of the week after the one containing ``day`` (the organization's weeks)."""
    first = int(current_app.config["WEEK_START"])
    return day - dt.timedelta(days=(day.weekday() - first) % 7) + dt.timedelta(days=7)


def _active_days(employee_ids: list[int], since: dt.date) -> dict[int, list[dt.date]]:
    """Each employee's days with qualifying CRM use from ``since`` on, in order."""
    days: dict[int, list[dt.date]] = defaultdict(list)
    for chunk_start in range(0, len(employee_ids), 500):
        chunk = employee_ids[chunk_start : chunk_start + 500]
        for employee_id, day in db.session.execute(
            select(DailyUsage.employee_id, DailyUsage.day)
            .where(DailyUsage.employee_id.in_(chunk), DailyUsage.day >= since)
            .group_by(DailyUsage.employee_id, DailyUsage.day)
            .order_by(DailyUsage.employee_id, DailyUsage.day)
        ):
            days[employee_id].append(day if isinstance(day, dt.date) else dt.date.fromisoformat(day))
    return days


def extra_activity(seed: int, usage_end: dt.date) -> Iterator[tuple[int, str, str, dt.date, int]]:
    """The planted effect, as (employee id, CRM user id, region, day, extra events): each
    licensed completer of the effect module logs 1 to 1.5 more activities in each week they use the
    CRM, from the week after their completion to the end of the demo's usage (``usage_end``).

    The extra events fall only on days the person already used the CRM: training changes what
    active users do, it does not make a dormant user active, so the adoption story of the
    telemetry demo (resistant teams staying low) is left as it was."""
    module_id = db.session.scalar(select(Module.id).where(Module.slug == EFFECT_MODULE))
    if module_id is None:
        return
    rows = db.session.execute(
        select(Employee.id, Employee.hr_id, Employee.crm_user_id, OrgUnit.path, Enrollment.completed_on)
        .join(Enrollment, Enrollment.employee_id == Employee.id)
        .join(OrgUnit, OrgUnit.id == Employee.unit_id)
        .where(Enrollment.module_id == module_id, Enrollment.completed_on.is_not(None),
               Employee.crm_user_id.is_not(None))
        .order_by(Employee.hr_id)
    ).all()
    if not rows:
        return
    active = _active_days([r[0] for r in rows], min(r[4] for r in rows))
    for employee_id, hr_id, crm_user_id, path, completed_on in rows:
        rng = random.Random(f"{seed}:training-effect:{hr_id}")
        per_week = rng.uniform(*EFFECT_PER_WEEK)
        region = _region(path)
        weeks: dict[dt.date, list[dt.date]] = defaultdict(list)
        for day in active.get(employee_id, ()):
            if _week_after(completed_on) <= day <= usage_end:
                weeks[_week_after(day) - dt.timedelta(days=7)].append(day)
        for _week, days in sorted(weeks.items()):
            mean = per_week / len(days)
            for day in days:
                # Poisson by inversion (means of at most three).
                k, p, u = 0, math.exp(-mean), rng.random()
                cumulative = p
                while u > cumulative:
                    k += 1
                    p *= mean / k
                    cumulative += p
                if k:
                    yield employee_id, crm_user_id, region, day, k


def _event_id(seed: int, n: int) -> str:
    return f"demo-training-s{seed}-{n:07d}"


def send_extra_activity(seed: int, calendar: DemoCalendar) -> int:
    """The small demo's planted effect as raw events through the ingest path, once; returns how
    many were sent (0 when they are there already)."""
    from adoption.demo_telemetry import store_demo_events

    if db.session.scalar(select(UsageEvent.id).where(UsageEvent.event_id == _event_id(seed, 1))):
        return 0
    return store_demo_events(_extra_activity_events(seed, calendar.usage_end), calendar)


def _extra_activity_events(seed: int, usage_end: dt.date) -> Iterator[dict]:
    """``extra_activity`` as API-shaped events, numbered from 1, during working hours."""
    sent = 0
    for _employee_id, crm_user_id, region, day, k in extra_activity(seed, usage_end):
        rng = random.Random(f"{seed}:training-event:{crm_user_id}:{day.isoformat()}")
        for _ in range(k):
            sent += 1
            moment = _at(day, rng.randrange(9 * 60, 17 * 60), region)
            yield {"event_id": _event_id(seed, sent), "occurred_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                   "event_type": EFFECT_BEHAVIOUR, "client": "ui", "crm_user_id": crm_user_id,
                   "object_type": rng.choice(("Task", "Event"))}


# --- the loader ---------------------------------------------------------------------------------

def _showcase_teams() -> set[str]:
    """The units of the demo's employee and manager logins: their teams learn through the services."""
    return set(db.session.scalars(
        select(OrgUnit.path).join(Employee, Employee.unit_id == OrgUnit.id)
        .join(User, User.employee_id == Employee.id)
        .where(User.role.in_([Role.EMPLOYEE.value, Role.MANAGER.value]))))


def load_training_demo(size: str, seed: int, calendar: DemoCalendar) -> str | None:
    """Add the starter curriculum, its assignments, six months of learning and the planted
    effect once, on ``calendar``'s dates; flushes only. Returns the demo summary's line (None
    outside the demo)."""
    leader = db.session.scalar(
        select(User).where(User.role == Role.CHANGE_LEADER.value).order_by(User.id).limit(1))
    root = db.session.scalar(select(OrgUnit).where(OrgUnit.path == ROOT_UNIT))
    if leader is None or root is None:
        return None
    modules = load_starter_curriculum(created_by=leader)
    by_slug = {m.slug: m for m in modules}
    created = db.session.scalar(
        select(Assignment.id).where(Assignment.module_id.in_([m.id for m in modules])).limit(1)) is None
    extra = 0
    if created:
        from training.demo_bulk import write_plans_in_bulk

        _assign_curriculum(by_slug, leader, root, seed, calendar, in_bulk=size != "small")
        plans = plan_all(modules, seed, calendar.today)
        if size == "small":
            showcase = _showcase_teams()
            take_through_services([p for p in plans if p.learner.team in showcase or p.learner.role])
            write_plans_in_bulk([p for p in plans if not (p.learner.team in showcase or p.learner.role)],
                                with_xapi=True)
        else:
            write_plans_in_bulk(plans)
        db.session.flush()
    if size == "small":
        extra = send_extra_activity(seed, calendar)
    elif created:
        from training.demo_bulk import add_extra_activity_in_bulk

        extra = add_extra_activity_in_bulk(seed, calendar.usage_end)
    if extra:
        refresh_rollups()
    db.session.flush()
    return _describe(modules, created, extra, size)


def _describe(modules: list[Module], created: bool, extra: int, size: str) -> str:
    """The summary line: assignments, completion and the planted effect."""
    ids = [m.id for m in modules]
    assignments = db.session.scalar(select(func.count()).select_from(Assignment).where(Assignment.module_id.in_(ids)))
    enrolled, completed = db.session.execute(
        select(func.count(), func.count(Enrollment.completed_on)).where(Enrollment.module_id.in_(ids))).one()
    commitments = db.session.scalar(select(func.count()).select_from(Commitment).where(Commitment.module_id.in_(ids)))
    answered = db.session.scalar(
        select(func.count()).select_from(CommitmentFollowUp).join(Commitment)
        .where(Commitment.module_id.in_(ids), CommitmentFollowUp.status.is_not(None)))
    attempts = db.session.scalar(
        select(func.count()).select_from(CheckAttempt).join(Enrollment).where(Enrollment.module_id.in_(ids)))
    state = "" if created else " (already present)"
    effect = f"; {extra} extra {EFFECT_BEHAVIOUR} events planted" if extra else ""
    xapi = "" if size == "small" else " (no xAPI statements in the large demo)"
    return (f"Training{state}: {len(modules)} starter modules in {assignments} assignments; {enrolled} "
            f"enrollments, {completed} completed, {attempts} check attempts, {commitments} commitments, "
            f"{answered} follow-ups answered{xapi}{effect}.")
