"""Rendering a plan version into tiles, storing them and publishing: the job's work.

Each page is rendered in isolated child processes (``converters``), its tiles stored under
the version's immutable keys, and its manifest written last.  Only when every page is stored
does the version become ready and, if it is the newest, published.  A failure marks the
version failed with a message for the partner and never touches the published plan.

This module commits: it is the body of a job, and progress must be visible while it runs.
Must not import blueprints.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import or_, select, update

import converters
from floorplans import objects
from floorplans.db import db, utcnow
from floorplans.errors import Conflict
from floorplans.models import PlanPage, PlanVersion, VersionState
from floorplans.services.plans import publish, work_folder
from storage import StorageError

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
PROGRESS_EVERY = 1.0  # seconds between progress commits
STORAGE_FAILED = (
    "The plan was rendered but could not be saved to storage. It will be retried; "
    "if this message stays, tell the service's administrator."
)


class RetryLater(Exception):
    """A passing failure (storage unreachable): the job should run again later."""


def render_limits() -> converters.RenderLimits:
    config = current_app.config
    return converters.RenderLimits(
        page_pixels=int(config["PAGE_MAX_PIXELS"]),
        target_dpi=float(config["RENDER_DPI"]),
        wall_seconds=float(config["RENDER_PAGE_SECONDS"]),
        memory_mb=int(config["RENDER_MEMORY_MB"]),
        workers=int(config["RENDER_WORKERS"]),
    )


def claim(version_id: int) -> bool:
    """Move a queued version to rendering, atomically: of two workers given the same job,
    exactly one gets it."""
    result = db.session.execute(
        update(PlanVersion)
        .where(PlanVersion.id == version_id, PlanVersion.state == VersionState.QUEUED.value)
        .values(state=VersionState.RENDERING.value, started_at=utcnow(), heartbeat_at=utcnow(),
                attempts=PlanVersion.attempts + 1,
                error="", tiles_rendered=0, tiles_done=0, pages_done=0)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


@dataclass
class _Progress:
    version: PlanVersion
    callback: Callable[[PlanVersion], None] | None
    last: float = 0.0

    def save(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last >= PROGRESS_EVERY:
            self.version.heartbeat_at = utcnow()
            db.session.commit()
            self.last = now
        if self.callback:
            self.callback(self.version)


def render_version(version_id: int, *, on_progress: Callable[[PlanVersion], None] | None = None) -> PlanVersion | None:
    """Render, store and publish one version.  Returns the version, or None when another
    worker already has it.  Raises RetryLater when storage failed (the version is queued again)."""
    if not claim(version_id):
        log.info("Plan version %s is not queued any more; nothing to do.", version_id)
        return None
    version = db.session.get(PlanVersion, version_id)
    assert version is not None
    db.session.refresh(version)
    progress = _Progress(version, on_progress)
    store = objects.get_storage()
    try:
        with tempfile.TemporaryDirectory(prefix=f"render-{version.key}-", dir=work_folder()) as tmp:
            folder = Path(tmp)
            pdf = folder / "original.pdf"
            pdf.write_bytes(store.get(objects.original_key(version.original_sha256)))
            pages = sorted(version.pages, key=lambda p: p.number)
            # One call for the whole document: the render workers start once, not per page.
            results = _render(pdf, folder / "out", pages, progress)
            version.tiles_total = sum(result.tiles for result in results)
            for page, result in zip(pages, results, strict=True):
                _store_page(version, page, result, progress)
                progress.save(force=True)
    except converters.RenderFailed as failed:
        return _fail(version, str(failed))
    except converters.PdfRejected as rejected:
        return _fail(version, str(rejected))
    except (StorageError, FileNotFoundError) as error:
        log.warning("Plan version %s: storage failed (%s); attempt %s.", version.id, error, version.attempts)
        if version.attempts >= MAX_ATTEMPTS:
            return _fail(version, STORAGE_FAILED.replace("It will be retried; if", "If"))
        version.state = VersionState.QUEUED.value
        version.error = STORAGE_FAILED
        db.session.commit()
        raise RetryLater(str(error)) from error

    _finish(version)
    progress.save(force=True)
    return version


def _render(pdf: Path, out: Path, pages: list[PlanPage], progress: _Progress) -> list[converters.PageResult]:
    version = progress.version

    def seen(step: converters.Progress) -> None:
        version.pages_done = step.pages_done
        version.tiles_rendered = step.tiles_done
        version.tiles_total = max(version.tiles_total, step.tiles_total)
        progress.save()

    results = converters.render_pages(pdf, out, [page.number for page in pages], limits=render_limits(),
                                      on_progress=seen)
    version.tiles_rendered = sum(result.tiles for result in results)
    return results


def _store_page(version: PlanVersion, page: PlanPage, result: converters.PageResult, progress: _Progress) -> None:
    """Tiles first, the overview, then the manifest last: a reader that finds the manifest
    knows every tile of the page is there."""
    start = version.tiles_done
    items: list[tuple[str, Path, str]] = []
    for path in sorted(result.directory.rglob("*.webp")):
        relative = path.relative_to(result.directory).parts
        if relative == ("overview.webp",):
            continue
        z, x, y = int(relative[0]), int(relative[1]), int(Path(relative[2]).stem)
        items.append((objects.tile_key(version.key, page.number, z, x, y), path, "image/webp"))
    items.append((objects.overview_key(version.key, page.number), result.directory / "overview.webp", "image/webp"))

    def stored(count: int) -> None:
        version.tiles_done = start + min(count, result.tiles)
        progress.save()

    store = objects.get_storage()
    store.put_many(items, on_progress=stored)
    page.width, page.height = result.width, result.height
    page.tile_size, page.max_zoom = result.tile_size, result.max_zoom
    page.tile_format, page.kind, page.background = result.format, result.kind, result.background
    page.tiles, page.tile_bytes = result.tiles, result.bytes
    manifest = {
        "version": version.key, "page": page.number, "width": result.width, "height": result.height,
        "tile_size": result.tile_size, "min_zoom": result.min_zoom, "max_zoom": result.max_zoom,
        "format": result.format, "kind": result.kind, "dpi": result.dpi, "background": result.background,
        "tiles": result.tiles, "bytes": result.bytes,
        "overview": {"width": result.overview_width, "height": result.overview_height},
    }
    store.put(objects.manifest_key(version.key, page.number), json.dumps(manifest).encode(),
              content_type="application/json")
    version.tiles_done = start + result.tiles


def _fail(version: PlanVersion, message: str) -> PlanVersion:
    version.state = VersionState.FAILED.value
    version.error = message
    version.finished_at = utcnow()
    db.session.commit()
    log.info("Plan version %s failed: %s", version.id, message)
    return version


def _mark_ready(version: PlanVersion) -> None:
    version.state = VersionState.READY.value
    version.pages_done = version.page_count
    version.finished_at = utcnow()
    version.error = ""


def _finish(version: PlanVersion) -> None:
    """Mark the version ready and publish it (unless a newer one is published) in one commit,
    so nobody ever sees a complete newest version that officers do not get yet.  A partner
    editing the building at the same moment makes a try a conflict: try again."""
    for _attempt in range(5):
        _mark_ready(version)
        try:
            publish(version, only_if_newer=True)
            db.session.commit()
            return
        except Conflict:
            db.session.rollback()
            db.session.refresh(version.building)
    # Still ready (its tiles are complete); the partner can publish it from the portal.
    _mark_ready(version)
    db.session.commit()
    log.error("Plan version %s rendered but could not be published after 5 tries.", version.id)


def recover_stalled(*, silent_for: dt.timedelta, queued_for: dt.timedelta) -> list[int]:
    """Find work a crashed worker abandoned: versions rendering whose heartbeat stopped go
    back to the queue (or fail after MAX_ATTEMPTS), and versions queued for long are returned
    too.  Returns the ids to enqueue again; a duplicate job is harmless, ``claim`` lets one run."""
    now = utcnow()
    stalled = db.session.scalars(
        select(PlanVersion).where(
            or_(
                (PlanVersion.state == VersionState.RENDERING.value) & (PlanVersion.heartbeat_at < now - silent_for),
                (PlanVersion.state == VersionState.QUEUED.value) & (PlanVersion.created_at < now - queued_for),
            )
        )
    ).all()
    requeue: list[int] = []
    for version in stalled:
        if version.state == VersionState.RENDERING.value and version.attempts >= MAX_ATTEMPTS:
            version.state = VersionState.FAILED.value
            version.error = (
                "Rendering this plan stopped unexpectedly several times. Try exporting the PDF again "
                "from your drawing program, or split it into smaller files."
            )
            version.finished_at = now
            continue
        version.state = VersionState.QUEUED.value
        requeue.append(version.id)
    db.session.commit()
    return requeue
