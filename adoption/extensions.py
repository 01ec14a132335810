"""Flask extensions, created unbound here and bound in ``create_app`` through ``init_app``."""
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.orm import DeclarativeBase

# Named constraints so Alembic can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for every model in every package."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
# Outgoing e-mail (adoption/mail.py); reads MAIL_* settings, connects only when a message is sent.
mail = Mail()
# Compressed responses (zstd, brotli or gzip, as the browser accepts) for what is large and holds
# no secret: the dashboards' JSON, scripts (plotly.js is 4.6 MB) and style sheets. Never HTML: a
# page carries its form's CSRF token next to text a visitor may have put there, the pairing that
# compression leaks (BREACH).
compress = Compress()
COMPRESSED_TYPES = ["application/json", "text/javascript", "application/javascript", "text/css",
                    "image/svg+xml"]


def values_check(column: str, values: tuple[str, ...]) -> str:
    """SQL text of ``column IN (...)`` for a check constraint on a column of known values."""
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def configure_sqlite(engine: Engine) -> None:
    """Set each new SQLite connection up for a web app with background jobs (no-op elsewhere)."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)


def _sqlite_on_connect(dbapi_connection, connection_record) -> None:
    """WAL, ``synchronous=NORMAL`` and a busy timeout on every new SQLite connection.

    WAL lets readers (pages, dashboards) run while a request or a job writes, and turns a
    commit into an append to the log. With ``synchronous=NORMAL`` a commit no longer waits for
    the disk: the database stays consistent after a crash or a power loss, but the last
    transactions before a power loss (not a process crash) may be lost; see docs/operations.md.
    The busy timeout makes a writer wait for the lock instead of failing at once.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 10000")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()
