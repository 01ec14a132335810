"""The dashboard pages, as specs: where each lives, who may open it, its layout and callbacks.

A new page (Adoption, Engagement, Training, Evidence, Executive) is one module with ``SLUG``,
``TITLE``, ``QUESTION``, ``ROLES``, ``layout`` and ``register``, named once in ``PAGES`` here;
navigation, routing, the landing page and the guard follow.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from dash import Dash
from dash.development.base_component import Component

from dashboards.pages import adoption, engagement, evidence, executive, organization, training


@dataclass(frozen=True)
class PageSpec:
    """One dashboard page: its address below ``/dashboards/``, title, roles and building blocks."""

    slug: str
    title: str
    # The question the page answers, for the landing page.
    question: str
    roles: frozenset[str]
    # Builds the page for one request; takes the organization's today for date pickers.
    layout: Callable[[dt.date], Component]
    # Adds the page's callbacks to a Dash instance.
    register: Callable[[Dash], None]

    @classmethod
    def of(cls, module) -> PageSpec:
        """The spec of a page module: its ``SLUG``, ``TITLE``, ``QUESTION``, ``ROLES``, ``layout``
        and ``register``."""
        return cls(module.SLUG, module.TITLE, module.QUESTION, module.ROLES, module.layout,
                   module.register)

    def allows(self, role: str | None) -> bool:
        """True when a user with ``role`` may open the page."""
        return role is not None and role in self.roles


PAGES: tuple[PageSpec, ...] = tuple(
    PageSpec.of(module)
    # First: the executives' landing page (adoption.views.shell.register_landing).
    for module in (executive, organization, adoption, engagement, training, evidence)
)


def pages_for(role: str | None) -> list[PageSpec]:
    """The pages a user with ``role`` may open, in navigation order."""
    return [page for page in PAGES if page.allows(role)]


def page_for(slug: str) -> PageSpec | None:
    """The page at ``slug`` (``None`` when there is none)."""
    return next((page for page in PAGES if page.slug == slug), None)
