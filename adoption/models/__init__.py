"""Core models: the organization (units, employees, membership history), the initiative and users."""
from adoption.models.org import Employee, Initiative, OrgUnit, UnitMembership, initiative_sponsors
from adoption.models.users import ROLES, Role, User
from adoption.models.roster import RosterImport

__all__ = [
    "Employee",
    "Initiative",
    "OrgUnit",
    "ROLES",
    "Role",
    "RosterImport",
    "UnitMembership",
    "User",
    "initiative_sponsors",
]
