"""Training routes: authoring (see training/views/__init__.py)."""
from __future__ import annotations

from training.views import bp  # noqa: F401
