"""Core models: the organization (units, employees, membership history), the initiative and users."""
from adoption.models.org import Employee, Initiative, OrgUnit, UnitMembership, initiative_sponsors
from adoption.models.users import ROLES, Role, User
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

__all__ = [
    "ApiToken",
    "CrmAlias",
    "DailyUsage",
    "EventImport",
    "RollupBacklog",
    "WeeklyUnitBehaviour",
    "WeeklyUnitUsage",
    "Employee",
    "Initiative",
    "OrgUnit",
    "ROLES",
    "Role",
    "RosterImport",
    "TOKEN_SCOPES",
    "UnitMembership",
    "UsageEvent",
    "User",
    "initiative_sponsors",
]
