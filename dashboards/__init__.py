"""The Dash app mounted at /dashboards/ and the analytics behind it."""
from flask import Flask


def init_app(server: Flask) -> None:
    """Mount the dashboards on ``server``."""
