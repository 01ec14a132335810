"""Core models: the organization (units, employees, membership history), the initiative, users,
telemetry, customer outcomes, the hypotheses register, sponsor commitment, and the access and
sign-in logs."""
from adoption.models.access_changes import ACCESS_ACTIONS, AccessChange
from adoption.models.hypotheses import (
    EVALUATION_TRIGGERS,
    HYPOTHESIS_VERDICTS,
    Hypothesis,
    HypothesisEvaluation,
)
from adoption.models.org import Employee, Initiative, OrgUnit, UnitMembership, initiative_sponsors
from adoption.models.outbox import OutboxMessage
from adoption.models.outcomes import OUTCOME_SOURCES, OutcomeMeasure
from adoption.models.roster import RosterImport
from adoption.models.sign_ins import FAILED_OUTCOMES, SIGN_IN_OUTCOMES, SignIn
from adoption.models.sponsors import (
    ACTIVITY_KINDS,
    ACTIVITY_LABELS,
    SponsorActivity,
    SponsorArea,
    SponsorDigest,
    SponsorPlan,
    sponsor_activity_units,
)
from adoption.models.telemetry import (
    CrmAlias,
    DailyUsage,
    EventImport,
    RawEventPurge,
    RollupBacklog,
    UsageEvent,
    WeeklyUnitBehaviour,
    WeeklyUnitUsage,
)
from adoption.models.tokens import TOKEN_SCOPES, ApiToken
from adoption.models.users import (
    PASSWORD_LINK_PURPOSES,
    ROLES,
    Erasure,
    PasswordLink,
    PersonalDataExport,
    Role,
    User,
)

__all__ = [
    "ACCESS_ACTIONS",
    "ACTIVITY_KINDS",
    "ACTIVITY_LABELS",
    "EVALUATION_TRIGGERS",
    "FAILED_OUTCOMES",
    "HYPOTHESIS_VERDICTS",
    "OUTCOME_SOURCES",
    "PASSWORD_LINK_PURPOSES",
    "ROLES",
    "SIGN_IN_OUTCOMES",
    "TOKEN_SCOPES",
    "AccessChange",
    "ApiToken",
    "CrmAlias",
    "DailyUsage",
    "Employee",
    "Erasure",
    "EventImport",
    "Hypothesis",
    "HypothesisEvaluation",
    "Initiative",
    "OrgUnit",
    "OutboxMessage",
    "OutcomeMeasure",
    "PasswordLink",
    "PersonalDataExport",
    "RawEventPurge",
    "Role",
    "RollupBacklog",
    "RosterImport",
    "SignIn",
    "SponsorActivity",
    "SponsorArea",
    "SponsorDigest",
    "SponsorPlan",
    "UnitMembership",
    "UsageEvent",
    "User",
    "WeeklyUnitBehaviour",
    "WeeklyUnitUsage",
    "initiative_sponsors",
    "sponsor_activity_units",
]
