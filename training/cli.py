"""``flask --app wsgi ...`` commands of the training package."""
from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Add the training commands to ``app``."""
