"""Administrators' review marks: which partner change (an audit event) was reviewed, by whom
and when.

The audit log is append-only down to the database, so a review never touches the event:
each reviewed change gets one ``ReviewedChange`` row here, kept beside the log.  Reviews
made before these rows existed are a high-water mark per building (``BuildingReview`` in
``models.currency``); the queue honours both.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from floorplans.db import db, utcnow


class ReviewedChange(db.Model):
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
