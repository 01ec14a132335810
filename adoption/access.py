"""Request-level access: the current user's ``Scope`` and a role check for views."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, g
from flask_login import current_user, login_required

from adoption.models import Role
from adoption.scope import Scope, scope_for


def current_scope() -> Scope:
    """The signed-in user's scope, built once per request."""
    if not current_user.is_authenticated:
        abort(401)
    if "uptake_scope" not in g:
        g.uptake_scope = scope_for(current_user._get_current_object())
    return g.uptake_scope


def role_required(*roles: Role) -> Callable:
    """Allow the view only to signed-in users holding one of ``roles`` (403 otherwise)."""
    allowed = {Role(r).value for r in roles}

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
