"""Core models: the organization (units, employees, membership history), the initiative and users."""
from adoption.models.org import Employee, Initiative, OrgUnit, UnitMembership, initiative_sponsors
from adoption.models.outbox import OutboxMessage
from adoption.models.roster import RosterImport
from adoption.models.telemetry import (
    CrmAlias,
    DailyUsage,
    EventImport,
    RollupBacklog,
    UsageEvent,
    WeeklyUnitBehaviour,
    WeeklyUnitUsage,
)
from adoption.models.tokens import TOKEN_SCOPES, ApiToken
from adoption.models.users import ROLES, Role, User

__all__ = [
    "ROLES",
    "TOKEN_SCOPES",
    "ApiToken",
    "CrmAlias",
    "DailyUsage",
    "Employee",
    "EventImport",
    "Initiative",
    "OrgUnit",
    "OutboxMessage",
    "Role",
    "RollupBacklog",
    "RosterImport",
    "UnitMembership",
    "UsageEvent",
    "User",
    "WeeklyUnitBehaviour",
    "WeeklyUnitUsage",
    "initiative_sponsors",
]
