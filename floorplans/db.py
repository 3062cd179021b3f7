"""The database: one SQLAlchemy session per request (Flask-SQLAlchemy), migrations by Alembic.

The rule, in one place: one unit of work per request, CLI command or job (``unit_of_work``).
A request's view runs inside one (``App.dispatch_request``): what it changed is committed
when it returns, whatever the status (a 422 that recorded a failed attempt keeps it), and
rolled back when an exception leaves it (an ``abort``, a domain error the handlers turn into
a 4xx, a bug).  The commit happens before the response is made, so a commit that fails is a
500 and no page says "saved" about something that was not.  Services only flush; a view,
command or job does not commit either, except where a line says why.  A step that may be
refused while the rest is kept goes in a savepoint (``db.session.begin_nested()``).

Work that must follow the commit (queueing a job the worker has to find committed, a mail
whose link must work, deleting stored files the rolled-back record would still need) is
handed to ``after_commit``: it runs once the unit of work is committed and is forgotten if
it is rolled back, so no caller can get the order wrong.  On SQLite a savepoint first opens
the transaction it belongs to (``_sqlite_savepoint_in_a_transaction``).

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from flask import Flask
from flask.typing import ResponseReturnValue
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event, make_url
from sqlalchemy.engine import CursorResult, Engine, Result
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction
from sqlalchemy.pool import ConnectionPoolEntry

from floorplans.config import get_settings, keep_private
from floorplans.routing import LazyRule

log = logging.getLogger(__name__)

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

# The base class of every model: ``db.Model``, which Flask-SQLAlchemy builds from Base when
# ``db`` is made (table names, its session).  mypy takes no attribute of an object as a base
# class, so to it the base is Base itself, which is what the models' columns need.
if TYPE_CHECKING:
    class Model(Base):
        __abstract__ = True
else:
    Model = db.Model


def utcnow() -> dt.datetime:
    """Naive UTC: the same on SQLite (no time zones) and PostgreSQL (timestamp without time zone)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched.  ``Session.execute()`` is typed to return a
    ``Result``; for those statements it is a ``CursorResult``, which counts them."""
    return cast(CursorResult[Any], result).rowcount


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Commit what the block changed when it ends normally; roll it back when an exception
    leaves it (the session is then clean for the error page, or the next command)."""
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


class App(Flask):
    """Flask with one unit of work per request: the view's changes are committed when it
    returns (before the response is made and sent) and rolled back when it raises.  What
    runs before the view (loading the user, the permission check) is outside it: a request
    refused there commits nothing, but for the lines that say why (a login's last-seen
    time, a refused token counted)."""

    url_rule_class = LazyRule  # builders compiled on first use: create_app() 6x sooner

    def dispatch_request(self) -> ResponseReturnValue:
        with unit_of_work():
            return super().dispatch_request()


_AFTER_COMMIT = "floorplans.after_commit"
_COMMITTED = "floorplans.committed"


def after_commit(action: Callable[[], object]) -> None:
    """Do ``action`` once the current unit of work is committed; never if it, or the
    savepoint it was asked in, is rolled back.  For what must follow the commit: queueing a
    job the worker has to find committed, deleting stored objects a failed commit would
    still need.  The action may read the database (a new transaction), not change it: its
    unit of work is over.  A failing action is logged, not raised: the work is saved."""
    session = db.session()
    transaction = session.get_nested_transaction() or session.get_transaction() or session.begin()
    session.info.setdefault(_AFTER_COMMIT, []).append((transaction, action))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: its actions wait for the outer commit
    session.info[_COMMITTED] = [action for _, action in session.info.pop(_AFTER_COMMIT, [])]


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous: SessionTransaction) -> None:
    def within(transaction: SessionTransaction | None) -> bool:
        while transaction is not None:
            if transaction is previous:
                return True
            transaction = transaction.parent
        return False

    pending = session.info.get(_AFTER_COMMIT)
    if pending:
        session.info[_AFTER_COMMIT] = [(t, action) for t, action in pending if not within(t)]


@event.listens_for(Session, "after_transaction_end")
def _run_after_commit(session: Session, transaction: SessionTransaction) -> None:
    """The unit of work is over: run what its commit was waiting for (here rather than in
    ``after_commit``, where the session may not read), or forget it when it closed without
    a commit (the session closed at the end of a request or job)."""
    if transaction.parent is not None:
        return
    session.info.pop(_AFTER_COMMIT, None)
    for action in session.info.pop(_COMMITTED, []):
        try:
            action()
        except Exception:
            log.exception("After the commit: %r failed (the committed work stands).", action)


def init_app(app: Flask) -> None:
    # SQL logging (SQLALCHEMY_ECHO, or sqlalchemy.engine at INFO while debugging) must never
    # print the values bound to a statement: they are contacts' phone numbers and password hashes.
    engine_options: dict[str, Any] = {"hide_parameters": True}
    database_url = get_settings(app).database_url
    if database_url.startswith("sqlite"):
        engine_options["connect_args"] = {"timeout": 15}
        _keep_sqlite_private(database_url)
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


@event.listens_for(Engine, "savepoint")
def _sqlite_savepoint_in_a_transaction(connection: Any, name: str) -> None:
    """pysqlite opens a transaction only before an INSERT, UPDATE or DELETE; a SAVEPOINT
    before any would open SQLite's own, which its RELEASE commits (the savepoint's work
    then stays even if the request rolls back).  So open the transaction first: IMMEDIATE,
    as a savepoint is there to write, and a deferred one that read first could not write
    once another connection had (SQLITE_BUSY at once, no busy_timeout)."""
    dbapi_connection = connection.connection.dbapi_connection
    if type(dbapi_connection).__module__.startswith("sqlite3") and not dbapi_connection.in_transaction:
        dbapi_connection.execute("BEGIN IMMEDIATE")
