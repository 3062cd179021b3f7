"""Rate limits shared by every web process: one row per limited thing (a congregation's
uploads, an account's print packets), changed by one atomic statement per request.

The row keeps a single instant (the generic cell rate algorithm, GCRA): the moment at which
the whole budget is back.  Each use pushes it one "share" of the period later; a use that
would push it further than one period ahead is refused.  One integer per key, no list of
past uses, and nothing to reset: a row whose instant has passed means "the whole budget is
there", exactly like no row.  Rows are never deleted (deleting them as requests pass would
let two requests' deletes deadlock on PostgreSQL); there is at most one per congregation or
account and kind of use.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from floorplans.db import Model


class RateLimit(Model):
    __tablename__ = "rate_limits"

    #: What is limited and for whom, e.g. ``upload:organisation:7`` or ``packet:user:42``.
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    #: Milliseconds since the epoch (UTC) when the whole budget is available again; integers,
    #: so that "exactly a full period ahead" compares exactly on every engine.
    refilled_at_ms: Mapped[int] = mapped_column(BigInteger)
