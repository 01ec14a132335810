"""The web shell: navigation by role, shared template globals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby

from flask import Flask, request, url_for
from flask_login import current_user

from adoption.models import Role


@dataclass(frozen=True)
class NavItem:
    """One entry of the main navigation."""

    label: str
    endpoint: str | None
    roles: frozenset[str]
    path: str | None = None
    # Shown only to accounts linked to an employee record (pages about one's own answers).
    needs_employee: bool = False
    # Name of a count shown beside the label (registered with ``register_nav_badge``).
    badge: str | None = None
    # The menu the entry goes in when the role has at least ``MIN_MENU_ENTRIES`` of its entries.
    group: str | None = None

    def href(self) -> str:
        """The link target."""
        return self.path if self.path else url_for(self.endpoint)


def _covers(target: str, path: str) -> bool:
    """True when ``path`` is ``target`` or lies below it (``/`` covers only itself)."""
    if target == "/":
        return path == "/"
    return path == target or path.startswith(target.rstrip("/") + "/")


def current_entry(hrefs: dict[NavItem, str], path: str) -> NavItem | None:
    """The entry of ``hrefs`` (entry → link) whose page is ``path`` or lies above it most closely
    (Surveys under My surveys; Home only matches itself)."""
    covering = [(len(href), item) for item, href in hrefs.items() if _covers(href, path)]
    return max(covering, key=lambda pair: pair[0])[1] if covering else None


_ALL = frozenset(r.value for r in Role)
_LEADERS = frozenset(
    {Role.MANAGER.value, Role.CHANGE_LEADER.value, Role.EXECUTIVE.value, Role.ADMIN.value}
)

_UNIT_LEADERS = frozenset({Role.MANAGER.value, Role.CHANGE_LEADER.value})
_ADMINS = frozenset({Role.ADMIN.value})
PROGRAM_MENU, ADMIN_MENU = "Program", "Admin"

NAVIGATION: tuple[NavItem, ...] = (
    NavItem("Home", "home.index", _ALL),
    NavItem("My surveys", "surveys.mine", _ALL, needs_employee=True),
    NavItem("My training", "training.mine", _ALL, needs_employee=True, badge="training-follow-ups"),
    NavItem("My conversations", "surveys.my_conversations", _ALL, needs_employee=True,
            badge="unread-conversations"),
    NavItem("You said, we did", "surveys.ledger", _ALL, needs_employee=True),
    NavItem("Dashboards", None, _LEADERS, path="/dashboards/"),
    NavItem("Conversations", "surveys.conversations", _UNIT_LEADERS),
    NavItem("Action plans", "surveys.actions", _UNIT_LEADERS),
    # Running the program: a menu for change leaders and admins, entries in the bar for the others.
    # The hypotheses register (dashboards/views.py): organization-wide verdicts.
    NavItem("Hypotheses", "hypotheses.register",
            frozenset({Role.CHANGE_LEADER.value, Role.EXECUTIVE.value, Role.ADMIN.value}), group=PROGRAM_MENU),
    # The sponsor log (adoption/views/sponsors.py): an executive who is not a sponsor is told why
    # it is empty for them.
    NavItem("Sponsor log", "sponsors.log",
            frozenset({Role.CHANGE_LEADER.value, Role.EXECUTIVE.value, Role.ADMIN.value}), group=PROGRAM_MENU),
    NavItem("Surveys", "surveys.manage", frozenset({Role.CHANGE_LEADER.value, Role.ADMIN.value}), group=PROGRAM_MENU),
    NavItem("Training modules", "training.manage", frozenset({Role.CHANGE_LEADER.value, Role.ADMIN.value}),
            group=PROGRAM_MENU),
    NavItem("Training assignments", "training.assignments",
            frozenset({Role.CHANGE_LEADER.value, Role.ADMIN.value, Role.MANAGER.value}), group=PROGRAM_MENU),
    NavItem("Event imports", "telemetry.imports", frozenset({Role.CHANGE_LEADER.value, Role.ADMIN.value}),
            group=PROGRAM_MENU),
    NavItem("Roster import", "admin.roster_upload", _ADMINS, group=ADMIN_MENU),
    NavItem("Users", "admin.users", _ADMINS, group=ADMIN_MENU),
    NavItem("API tokens", "admin.tokens", _ADMINS, group=ADMIN_MENU),
    NavItem("Access log", "admin.access_log", _ADMINS, group=ADMIN_MENU),
    NavItem("Sign-ins", "admin.sign_ins", _ADMINS, group=ADMIN_MENU),
    NavItem("Unmatched CRM users", "admin.unmatched", _ADMINS, group=ADMIN_MENU),
    NavItem("Outbox", "admin.outbox", _ADMINS, group=ADMIN_MENU),
    NavItem("Personal data", "admin.personal_data_request", _ADMINS, group=ADMIN_MENU),
    NavItem("Settings", "admin.settings", _ADMINS, group=ADMIN_MENU),
)

#: A group becomes a menu only when the role has at least this many of its entries (an executive's
#: two "Program" entries stay in the bar: a menu of two hides more than it tidies).
MIN_MENU_ENTRIES = 3


@dataclass(frozen=True)
class NavSection:
    """What the bar shows in one place: an entry of its own (``label`` None) or a menu of entries."""

    label: str | None
    items: tuple[NavItem, ...]


def sections_of(items: list[NavItem]) -> list[NavSection]:
    """The entries as the bar lays them out: each group's run of entries (a group's entries stand
    together in ``NAVIGATION``) as one menu when it is long enough, every other entry on its own."""
    sections: list[NavSection] = []
    for group, run in groupby(items, key=lambda item: item.group):
        entries = tuple(run)
        if group and len(entries) >= MIN_MENU_ENTRIES:
            sections.append(NavSection(group, entries))
        else:
            sections += [NavSection(None, (entry,)) for entry in entries]
    return sections


ROLE_LABELS = {
    Role.EMPLOYEE.value: "Employee",
    Role.MANAGER.value: "Manager",
    Role.CHANGE_LEADER.value: "Change leader",
    Role.EXECUTIVE.value: "Executive",
    Role.ADMIN.value: "Admin",
}


def navigation_for(role: str | None, has_employee: bool = True) -> list[NavItem]:
    """The navigation entries a user with ``role`` (and an employee record, or not) gets."""
    if role is None:
        return []
    return [item for item in NAVIGATION if role in item.roles and (has_employee or not item.needs_employee)]


def register_nav_badge(app: Flask, name: str, count: Callable[[], int]) -> None:
    """Have the navigation entry whose ``badge`` is ``name`` show ``count()`` when it is not 0."""
    app.extensions.setdefault("uptake_nav_badges", {})[name] = count


def register(app: Flask) -> None:
    """Expose the navigation to every template."""

    @app.context_processor
    def inject_navigation():
        """Navigation entries for the signed-in user, and the path to mark the current one."""
        signed_in = current_user.is_authenticated
        role = current_user.role if signed_in else None
        badges = app.extensions.get("uptake_nav_badges", {})
        path = request.path if request else ""
        # Every link is built once per page: which entry is current depends on all of them.
        hrefs = {item: item.href() for item in NAVIGATION}
        return {
            "nav_sections": sections_of(navigation_for(role, signed_in and current_user.employee_id is not None)),
            "nav_href": hrefs,
            "nav_current": current_entry(hrefs, path),
            "nav_badge": lambda name: badges[name]() if name in badges else 0,
            "role_labels": ROLE_LABELS,
        }
