"""Counting failed attempts so that a limit holds under any concurrency: the sign-in lock,
the per-address limit, and the forms that ask for the current password.

An attempt *takes a slot* before its password or code is checked: one conditional
``INSERT ... ON CONFLICT DO UPDATE ... WHERE failures < limit ... RETURNING`` on a counter
row.  The database applies these one at a time per row (PostgreSQL re-reads the row under
its lock; SQLite has one writer), so of twenty requests arriving together at most
``limit`` get a slot and the others are refused unchecked.  A success gives its slot back;
a failure keeps it; the failure that fills the last slot locks the counter.

Taking a slot commits the session at once (the one exception to "services flush, the
request commits"): a count that waited for the request's commit would let every concurrent
request in.  So slots are taken before anything else is changed.  It is the request's own
session, not a second connection: a request never holds two connections from the pool
(twenty concurrent sign-ins would otherwise wait on each other for the pool's fifteen), nor
waits on its own write lock on SQLite.  Giving a slot back, clearing and locking happen in
the caller's transaction (the request commits them).

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, and_, case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from floorplans.db import db
from floorplans.models.accounts import AttemptCounter

_COUNTERS = cast(Table, AttemptCounter.__table__)  # a mapped class's Table, typed as any FromClause


@dataclass(frozen=True)
class Limit:
    """``most`` failures within ``window`` (counted from the first of them); the one that
    reaches ``most`` locks the counter for ``lock``."""

    most: int
    window: dt.timedelta
    lock: dt.timedelta


@dataclass(frozen=True)
class Counter:
    key: str
    limit: Limit
    user_id: int | None = None
    address: str = ""


@dataclass(frozen=True)
class Slot:
    counter: Counter
    number: int  # 1 for the first failure of the window...; ``limit.most`` is the last

    @property
    def is_last(self) -> bool:
        return self.number >= self.counter.limit.most


def _insert() -> Any:
    return (postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert)(_COUNTERS)


def take(counter: Counter, now: dt.datetime) -> Slot | None:
    """A slot for one attempt, or None: the counter is locked, or every slot of its window
    is taken (by failures, or by attempts being checked right now)."""
    c = _COUNTERS.c
    window_over = c.window_started_at <= now - counter.limit.window
    statement = (
        _insert()
        .values(key=counter.key, user_id=counter.user_id, address=counter.address, failures=1,
                window_started_at=now, locked_until=None)
        .on_conflict_do_update(
            index_elements=[c.key],
            set_={
                "failures": case((window_over, 1), else_=c.failures + 1),
                "window_started_at": case((window_over, now), else_=c.window_started_at),
                "locked_until": None,
            },
            where=and_(
                or_(c.locked_until.is_(None), c.locked_until <= now),
                or_(window_over, c.failures < counter.limit.most),
            ),
        )
        .returning(c.failures)
    )
    number = db.session.execute(statement).scalar()
    # Committed now, before the check it allows: every other request must see this slot
    # taken.  (The only commit in a service: a count that waited for the request's commit
    # would let every concurrent request in.)
    db.session.commit()
    return None if number is None else Slot(counter, int(number))


def give_back(slot: Slot) -> None:
    """The attempt succeeded (or was not an attempt after all): it does not count."""
    c = _COUNTERS.c
    db.session.execute(
        update(_COUNTERS).where(c.key == slot.counter.key, c.failures > 0).values(failures=c.failures - 1)
    )


def clear(counter: Counter) -> None:
    """Start afresh: a success on this account from this source."""
    db.session.execute(update(_COUNTERS).where(_COUNTERS.c.key == counter.key).values(failures=0, locked_until=None))


def lock(slot: Slot, now: dt.datetime) -> dt.datetime:
    """The last slot's attempt failed: refuse this counter for ``limit.lock``.  The count
    starts again from nothing when the lock ends (a new window)."""
    until = now + slot.counter.limit.lock
    db.session.execute(update(_COUNTERS).where(_COUNTERS.c.key == slot.counter.key)
                       .values(failures=0, window_started_at=now, locked_until=until))
    return until


def locked(user_id: int, now: dt.datetime) -> list[AttemptCounter]:
    """The counters of an account that hold it back now (for its administration page)."""
    return list(db.session.scalars(
        select(AttemptCounter)
        .where(AttemptCounter.user_id == user_id, AttemptCounter.locked_until > now)
        .order_by(AttemptCounter.locked_until.desc())
    ))


def forget_account(user_id: int) -> list[str]:
    """Every counter of an account, and those of the addresses that failed on it, deleted
    (an unlock).  Returns those addresses."""
    c = _COUNTERS.c
    addresses = sorted(set(db.session.scalars(select(c.address).where(c.user_id == user_id, c.address != ""))))
    db.session.execute(delete(_COUNTERS).where(c.user_id == user_id))
    if addresses:
        db.session.execute(delete(_COUNTERS).where(c.user_id.is_(None), c.address.in_(addresses)))
    return addresses


def forget_address(address: str) -> int:
    """The per-address counter and every account's counter for that address, deleted."""
    result = db.session.execute(delete(_COUNTERS).where(_COUNTERS.c.address == address))
    return int(getattr(result, "rowcount", 0) or 0)
