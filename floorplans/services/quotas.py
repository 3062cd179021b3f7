"""Quotas and rate limits: uploads per congregation per hour, print packets per account per
minute, and how many packets one web process prepares at once.

The counters live in the database (``models.limits.RateLimit``), so every gunicorn process
on every host shares them: one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING``
per use both checks and counts, which SQLite and PostgreSQL each run atomically, so
concurrent requests can never slip past the limit together.  The blueprint commits right
after ``take_*`` (before the expensive work): on SQLite an open write transaction would
otherwise block every other writer for the 20 s a packet takes.

Packets are also limited per process (``PACKETS_AT_ONCE``): a packet is ~20 s of CPU in
the web process, and threads of one Python process do not run it faster side by side.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import case, select
from sqlalchemy.dialects import postgresql, sqlite

from floorplans.config import get_settings
from floorplans.db import db
from floorplans.errors import FloorplansError
from floorplans.models import Role, User
from floorplans.models.limits import RateLimit

#: How long a refused packet should wait when the process is busy: about one packet's time.
BUSY_RETRY_SECONDS = 20


class QuotaExceeded(FloorplansError):
    """Too many uses too quickly: the message says the limit and when to try again;
    ``retry_after`` (seconds) becomes the ``Retry-After`` header."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


@dataclass(frozen=True)
class Limit:
    uses: int  # at most this many...
    period_ms: int  # ...per this long, in any window of that length

    @property
    def share_ms(self) -> int:
        """What one use costs of the budget (the GCRA emission interval)."""
        return max(1, self.period_ms // self.uses)


def now_ms() -> int:
    """Wall-clock milliseconds: every process and host compares the same instants."""
    return time.time_ns() // 1_000_000


def _upsert(dialect: str) -> Any:
    return (postgresql if dialect == "postgresql" else sqlite).insert(RateLimit)


#: How far apart concurrent requests' clocks may read (see ``take``).
CLOCK_SLACK_MS = 1_000


def take(key: str, limit: Limit) -> int:
    """Use one of ``key``'s budget.  Returns 0 when allowed (counted, flushed with the
    session), else the seconds until one use is back (nothing counted)."""
    now = now_ms()
    share = limit.share_ms
    table = RateLimit.__table__
    # A row whose instant has passed counts from now: the budget is full again.
    start = case((table.c.refilled_at_ms > now, table.c.refilled_at_ms), else_=now)
    statement = _upsert(db.session.get_bind().dialect.name).values(key=key, refilled_at_ms=now + share)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"refilled_at_ms": start + share},
        # Allowed while the budget would be back within one period; the database evaluates
        # this on the row as it is once any concurrent use has committed.  Concurrent
        # requests read the clock before their statement and may reach the database out of
        # order: a slack below one use's share absorbs that without ever letting one more in.
        where=start + share - now <= limit.period_ms + min(CLOCK_SLACK_MS, share // 2),
    ).returning(table.c.refilled_at_ms)
    if db.session.execute(statement).first() is not None:
        return 0
    refilled = db.session.scalar(select(RateLimit.refilled_at_ms).where(RateLimit.key == key)) or now
    return max(1, math.ceil((refilled + share - now - limit.period_ms) / 1000))


def in_words(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def upload_key(user: User) -> str:
    """A partner's uploads count for their congregation (its accounts share one budget);
    an administrator's for themselves."""
    if Role(user.role) is Role.PARTNER and user.organisation_id is not None:
        return f"upload:organisation:{user.organisation_id}"
    return f"upload:user:{user.id}"


def take_upload(user: User) -> None:
    """Count one upload attempt (accepted or refused by validation alike: checking a file
    costs what taking it does), or raise ``QuotaExceeded``."""
    per_hour = get_settings().uploads_per_hour
    wait = take(upload_key(user), Limit(per_hour, 3_600_000))
    if wait:
        whose = "each congregation" if upload_key(user).startswith("upload:organisation") else "each account"
        raise QuotaExceeded(
            f"Too many uploads: plans can be uploaded {per_hour} times an hour for {whose}. "
            f"Try again in {in_words(wait)}; nothing was uploaded this time.", wait)


def _process_slots() -> threading.BoundedSemaphore:
    slots: threading.BoundedSemaphore = current_app.extensions.setdefault(
        "floorplans.packets_at_once", threading.BoundedSemaphore(get_settings().packets_at_once))
    return slots


@contextmanager
def packet_slot(user: User) -> Iterator[None]:
    """Hold one of this process's packet slots and count one packet for ``user``, or raise
    ``QuotaExceeded`` (the slot first: a busy server does not use up the account's budget)."""
    slots = _process_slots()
    if not slots.acquire(blocking=False):
        at_once = get_settings().packets_at_once
        raise QuotaExceeded(
            f"The service is preparing {at_once} print packet{'s' if at_once != 1 else ''} right now, the most "
            f"it makes at once. Try again in {in_words(BUSY_RETRY_SECONDS)}.", BUSY_RETRY_SECONDS)
    try:
        per_minute = get_settings().packets_per_minute
        wait = take(f"packet:user:{user.id}", Limit(per_minute, 60_000))
        if wait:
            raise QuotaExceeded(
                f"Too many print packets: each account can make {per_minute} a minute. "
                f"Try again in {in_words(wait)}.", wait)
        yield
    finally:
        slots.release()
