"""Keeping records current: the reminders sent to partners and the administrators' reviews.

``BuildingReminder`` remembers each reminder e-mailed about a building, keyed by the
confirmation it was about (``verified_at``) and the threshold crossed ("due" or "stale"),
so each crossing is mailed once, whichever process (cron or the job worker) gets there
first: the unique constraint decides.  ``BuildingReview`` records that an administrator
read a building's changes up to one audit event; the review queue is every partner change
after the latest of them.  Audit events themselves are never touched (they are append-only).

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from floorplans.db import Model, utcnow

#: Stands for "never confirmed" in ``BuildingReminder.verified_at``: a unique constraint
#: treats NULLs as all different, which would let a never-confirmed building be mailed twice.
NEVER_VERIFIED = dt.datetime(1970, 1, 1)


class BuildingReminder(Model):
    __tablename__ = "building_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"), index=True)
    threshold: Mapped[str] = mapped_column(String(10))  # "due" (soon stale) or "stale"
    # The building's last_verified_at when the reminder went out (NEVER_VERIFIED if none):
    # a new confirmation starts a new cycle of reminders.
    verified_at: Mapped[dt.datetime] = mapped_column(DateTime)
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    recipients: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (UniqueConstraint("building_id", "threshold", "verified_at"),)


class BuildingReview(Model):
    __tablename__ = "building_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"), index=True)
    # Reviews made before changes were reviewed one by one (models.reviews.ReviewedChange):
    # the newest audit event the reviewer saw; the queue still counts everything up to it as
    # reviewed.  New reviews are written as ReviewedChange rows.
    last_event_id: Mapped[int] = mapped_column(Integer)
    reviewed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Copied, so the review reads the same after the account is gone.
    reviewed_by_email: Mapped[str] = mapped_column(String(254), default="")
    changes: Mapped[int] = mapped_column(Integer, default=0)  # how many events it covered
