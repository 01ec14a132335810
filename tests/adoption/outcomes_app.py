"""The ``app`` of the customer-outcomes tests: one app per test module, emptied before each test.

Building an app costs about 0.3 s (mostly the dashboards' layouts), emptying its tables a few
milliseconds, so the outcomes tests share one app per module instead of building one per test.
Each test still starts on an empty database, in an app context of its own; a test parametrized
with its own ``app_config`` (rate limits, CSRF, exception propagation) gets a fresh app, exactly
as ``tests/conftest.py`` builds it. Import ``app`` and ``module_app`` into a test module to use it.
"""
from __future__ import annotations

import pytest
from sqlalchemy import delete

from adoption import create_app
from adoption.extensions import db as _db
from tests.conftest import TEST_DATABASE_URL, _reset_postgres


def _config(path, overrides: dict) -> dict:
    """The settings ``tests/conftest.py`` gives a test app, with ``overrides``."""
    return {
        "ENV": "testing",
        "INSTANCE_PATH": str(path / "instance"),
        "DATABASE_URL": TEST_DATABASE_URL or f"sqlite:///{path / 'test.db'}",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        **overrides,
    }


@pytest.fixture(scope="module")
def module_app(tmp_path_factory):
    """The app the module's tests share, on a schema built from the models."""
    app = create_app(_config(tmp_path_factory.mktemp("outcomes"), {}))
    with app.app_context():
        if not TEST_DATABASE_URL:
            _db.create_all()
    yield app
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture
def app(module_app, tmp_path, app_config):
    """A Flask app on an empty database: the module's, emptied, or a fresh one for ``app_config``."""
    app = create_app(_config(tmp_path, app_config)) if app_config else module_app
    with app.app_context():
        if TEST_DATABASE_URL:
            _reset_postgres()
        elif app is module_app:
            for table in reversed(_db.metadata.sorted_tables):
                _db.session.execute(delete(table))
            _db.session.commit()
        else:
            _db.create_all()
        yield app
        _db.session.remove()
        if TEST_DATABASE_URL and app is not module_app:
            _db.engine.dispose()
