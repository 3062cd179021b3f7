"""Administrators' review marks: which partner change (an audit event) was reviewed, by whom
and when.

The audit log is append-only down to the database, so a review never touches the event:
each reviewed change gets one ``ReviewedChange`` row here, kept beside the log.  Reviews
made before these rows existed are a high-water mark per building (``BuildingReview`` in
``models.keeping_current``); the queue honours both.

The queue reads partners' changes among every event of the log, most of which are officers'
reads: ``ix_audit_events_changes`` holds only the events of those who can make a change to
review (partners, administrators, the command line), with all the queue needs of them.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from floorplans.db import Model, utcnow
from floorplans.models.accounts import Role
from floorplans.models.audit import AuditEvent

#: The events that can be changes to review, in SQL.  The queue's query says it in these very
#: words: SQLite uses a partial index only for a query that repeats its condition (with
#: literals, not bound values), and PostgreSQL then can too.
CHANGE_MAKERS = f"actor_role IN ('{Role.PARTNER.value}', '{Role.ADMIN.value}', '')"


class ReviewedChange(Model):
    __tablename__ = "reviewed_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique: one change is reviewed once, and of two administrators clicking at the same
    # moment the second is told.  The mark goes with its event when the retention job
    # prunes the log (the one deletion the log allows).
    audit_event_id: Mapped[int] = mapped_column(
        ForeignKey("audit_events.id", ondelete="CASCADE"), unique=True
    )
    # The queue counts by building: kept here so it needs no join back into the log.
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"), index=True)
    reviewed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)  # naive UTC
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Copied, so the mark reads the same after the account is gone.
    reviewed_by_email: Mapped[str] = mapped_column(String(254), default="")


Index(
    "ix_audit_events_changes",
    AuditEvent.building_id, AuditEvent.id, AuditEvent.at, AuditEvent.action, AuditEvent.actor_role,
    sqlite_where=text(CHANGE_MAKERS), postgresql_where=text(CHANGE_MAKERS),
)
