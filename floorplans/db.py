"""The database: one SQLAlchemy session per request (Flask-SQLAlchemy), migrations by Alembic.

Services call ``db.session.flush()``; the request, the CLI command or the job commits.
Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry

# Named constraints so Alembic can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


MIGRATIONS = Path(__file__).parent / "migrations"

db = SQLAlchemy(model_class=Base)
migrate = Migrate()


def utcnow() -> dt.datetime:
    """Naive UTC: the same on SQLite (no time zones) and PostgreSQL (timestamp without time zone)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def init_app(app: Flask) -> None:
    # SQL logging (SQLALCHEMY_ECHO, or sqlalchemy.engine at INFO while debugging) must never
    # print the values bound to a statement: they are contacts' phone numbers and password hashes.
    engine_options: dict[str, Any] = {"hide_parameters": True}
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        engine_options["connect_args"] = {"timeout": 15}
        _keep_sqlite_private(app.config["SQLALCHEMY_DATABASE_URI"])
    else:
        engine_options["pool_pre_ping"] = True
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options)
    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(MIGRATIONS), render_as_batch=True, compare_type=True
    )


def _keep_sqlite_private(url: str) -> None:
    """The database file (and its -wal and -shm files, which SQLite creates with the
    database file's mode) readable by this account only: it holds password hashes."""
    from floorplans.config import keep_private

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.parent.is_dir():
        keep_private(path)
        for journal in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if journal.exists():
                keep_private(journal)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: ConnectionPoolEntry) -> None:
    """WAL lets the job worker write while the web process reads; foreign keys are off by default."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
