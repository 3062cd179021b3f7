"""Removing what officers can no longer need: the tiles of superseded and failed versions
(and of drafts overtaken by a later publish) after a grace period, and tiles in storage
that no version owns (a crash between storing and recording, a deleted building).
Originals are kept: they are the partner's record.

Must not import blueprints.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from floorplans import objects
from floorplans.db import db, utcnow
from floorplans.models import Building, PlanVersion, VersionState

log = logging.getLogger(__name__)


@dataclass
class CleanupReport:
    versions: list[int] = field(default_factory=list)  # versions whose tiles were removed
    orphans: list[str] = field(default_factory=list)  # version keys found only in storage
    objects_deleted: int = 0


def cleanup_plans(*, grace: dt.timedelta, now: dt.datetime | None = None) -> CleanupReport:
    """Remove the tiles no version needs any more; at a province's size (tens of thousands of
    versions, millions of tiles) the published versions are left out in SQL, the others'
    buildings are read with them, and the store is asked for its version folders, not for
    every tile."""
    now = now or utcnow()
    report = CleanupReport()
    store = objects.get_storage()
    published = select(Building.published_version_id).where(Building.published_version_id.is_not(None))
    candidates = db.session.scalars(
        select(PlanVersion).where(
            PlanVersion.tiles_deleted_at.is_(None),
            PlanVersion.state.in_((VersionState.READY.value, VersionState.FAILED.value)),
            PlanVersion.id.not_in(published),
        ).options(selectinload(PlanVersion.building).selectinload(Building.published_version))
    ).all()
    for version in candidates:
        current = version.building.published_version
        # A version stops being needed when something else has been published for the whole
        # grace period (or, if it failed, when it failed that long ago).
        since = current.published_at if current is not None and current.published_at else None
        if version.state == VersionState.FAILED.value:
            since = version.finished_at
        elif version.published_at is None and (since is None or version.created_at > since):
            continue  # a draft uploaded after the last publish waits for its partner's review
        if since is None or now - since < grace:
            continue
        report.objects_deleted += store.delete_prefix(objects.version_prefix(version.key))
        version.tiles_deleted_at = now
        report.versions.append(version.id)
        db.session.commit()  # each version as its tiles go: a run stopped midway keeps what it did

    known = set(db.session.scalars(select(PlanVersion.key)))
    for version_key in store.folders(objects.TILES_PREFIX):
        if version_key in known:
            continue
        # Checked again right before deleting: a version recorded meanwhile is not an orphan.
        if db.session.scalar(select(PlanVersion.id).where(PlanVersion.key == version_key)) is None:
            report.objects_deleted += store.delete_prefix(objects.version_prefix(version_key))
            report.orphans.append(version_key)
    log.info("Plan cleanup: %d versions, %d orphans, %d objects.", len(report.versions), len(report.orphans),
             report.objects_deleted)
    return report
