"""Rendering a plan version into tiles and storing them: the job's work.

Each page is rendered in isolated child processes (``converters``), its tiles stored under
the version's immutable keys while the workers render the next page (``_PageStore``), and
its manifest written last.  Only when every page is stored does the version become ready:
a draft that its partner reviews and publishes (``services.plans.publish``).  A failure
marks the version failed with a message for the partner and never touches the published plan.

This module commits: it is the body of a job, and progress must be visible while it runs.
It never leaves a transaction open while the child processes work (``_nothing_held``): a
page may render for minutes, and on SQLite a write lock held meanwhile makes every web
request that writes (a login, an access-log row) fail with "database is locked" once the
busy timeout passes; on PostgreSQL a session idle in transaction holds back vacuum.
Must not import blueprints.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import or_, select, update

import converters
from converters import rooms
from floorplans import objects
from floorplans.config import get_settings
from floorplans.db import db, rowcount, utcnow
from floorplans.models import PlanPage, PlanVersion, VersionState
from floorplans.services.plans import prepare_draft, work_folder
from storage import Storage, StorageError

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
    settings = get_settings()
    return converters.RenderLimits(
        page_pixels=settings.page_max_pixels,
        target_dpi=settings.render_dpi,
        wall_seconds=settings.render_page_seconds,
        memory_mb=settings.render_memory_mb,
        workers=settings.render_workers,
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
    db.session.commit()  # the job's own: every other worker sees the claim at once
    return rowcount(result) == 1


@dataclass
class _Progress:
    version: PlanVersion
    callback: Callable[[PlanVersion], None] | None
    last: float = 0.0

    def save(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last >= PROGRESS_EVERY:
            self.version.heartbeat_at = utcnow()
            db.session.commit()  # progress the partner sees, and the heartbeat recover_stalled reads
            self.last = now
        if self.callback:
            self.callback(self.version)


@contextmanager
def _nothing_held() -> Iterator[None]:
    """Within the block the job's session writes only in the commits that save progress
    (no autoflush: a change made between two saves is flushed by the next commit, not by a
    query that happens to run first, which would take SQLite's write lock and keep it
    until that commit, however long the page being rendered takes), and a commit keeps
    what the session has loaded (no expiry: reading the version afterwards needs no
    SELECT, which on PostgreSQL would open a transaction left idle across the render)."""
    session = db.session()
    expire_on_commit = session.expire_on_commit
    session.expire_on_commit = False
    try:
        with session.no_autoflush:
            yield
    finally:
        session.expire_on_commit = expire_on_commit


def render_version(version_id: int, *, on_progress: Callable[[PlanVersion], None] | None = None) -> PlanVersion | None:
    """Render and store one version, leaving it a draft.  Returns the version, or None when another
    worker already has it.  Raises RetryLater when storage failed (the version is queued again)."""
    if not claim(version_id):
        log.info("Plan version %s is not queued any more; nothing to do.", version_id)
        return None
    version = db.session.get(PlanVersion, version_id)
    assert version is not None
    db.session.refresh(version)
    with _nothing_held():
        pages = sorted(version.pages, key=lambda p: p.number)  # loaded now, read from memory later
        db.session.commit()  # ends the reads' transaction; the render holds none
        failed = _render_and_store(version, pages, _Progress(version, on_progress))
    if failed is not None:
        return failed
    # Anything may have changed during the render (the building's published plan, say):
    # the draft is prepared from the database as it is now.
    db.session.expire_all()
    _finish(version)
    _Progress(version, on_progress).save(force=True)
    return version


def _render_and_store(version: PlanVersion, pages: list[PlanPage], progress: _Progress) -> PlanVersion | None:
    """Render and store every page; the version failed, or None once all are stored."""
    store = objects.get_storage()
    try:
        # The pages' store closes (stops and waits for its thread) before the folder goes.
        with (
            tempfile.TemporaryDirectory(prefix=f"render-{version.key}-", dir=work_folder()) as tmp,
            _PageStore(store, version.key) as storing,
        ):
            folder = Path(tmp)
            pdf = folder / "original.pdf"
            pdf.write_bytes(store.get(objects.original_key(version.original_sha256)))
            # One call for the whole document: the render workers start once, not per page.
            results = _render(pdf, folder / "out", pages, progress, storing)
            version.tiles_total = sum(result.tiles for result in results)
            store_labels(store, version.key, results)

            def tick() -> None:
                version.tiles_done = storing.tiles
                progress.save()

            storing.wait(tick)
            version.tiles_done = version.tiles_total
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
        db.session.commit()  # queued again before huey retries the job
        raise RetryLater(str(error)) from error
    return None


def _render(
    pdf: Path, out: Path, pages: list[PlanPage], progress: _Progress, storing: _PageStore
) -> list[converters.PageResult]:
    version = progress.version

    def seen(step: converters.Progress) -> None:
        version.pages_done = step.pages_done
        version.tiles_rendered = step.tiles_done
        version.tiles_total = max(version.tiles_total, step.tiles_total)
        version.tiles_done = storing.tiles
        progress.save()

    by_number = {page.number: page for page in pages}

    def rendered(result: converters.PageResult) -> None:
        _describe(by_number[result.number], result)  # saved with the next progress
        storing.add(result)

    results = converters.render_pages(pdf, out, [page.number for page in pages], limits=render_limits(),
                                      on_progress=seen, on_page=rendered,
                                      nice=get_settings().render_nice)
    version.tiles_rendered = sum(result.tiles for result in results)
    return results


def store_labels(store: Storage, version_key: str, results: list[converters.PageResult]) -> None:
    """Keep every page's room labels as one JSON object beside the version's pages
    (objects.labels_key): read with the tiles, copied with them into offline packs and
    backups. A page whose labels the worker could not write counts as having none."""
    pages = [rooms.read_page_labels(result.labels_file, result.number) or rooms.PageLabels(result.number, "failed")
             for result in results]
    put_labels(store, version_key, pages)


def put_labels(store: Storage, version_key: str, pages: list[rooms.PageLabels]) -> None:
    if any(page.source == "ocr-missing" for page in pages):
        log.warning("Plan %s: pages without a text layer get no room labels: %s.", version_key, rooms.INSTALL_HINT)
    document = rooms.version_document(pages)
    store.put(objects.labels_key(version_key), json.dumps(document, ensure_ascii=False).encode(),
              content_type="application/json")


class _PageStore:
    """Stores each rendered page while the workers render the next one, so an upload's
    storing overlaps its rendering instead of following it: with a store that answers
    over a network (~20 ms a PUT) storing was half of a multi-sheet job, and such uploads
    are published 15-30% sooner (docs/benchmarks.md, "Upload to published").

    One thread, pages in order; each page's tiles, then its overview, then its manifest
    last, so a reader that finds a manifest knows the page is whole. The thread only talks
    to storage: the database session stays with the job's thread, which reads ``tiles``
    to show progress. A storage failure stops the render at the next page and is raised
    from ``add`` or ``wait``."""

    def __init__(self, store: Storage, version_key: str) -> None:
        self.store = store
        self.version_key = version_key
        self.tiles = 0  # tiles stored so far; written by the storing thread only
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-pages")
        self._futures: list[Future[None]] = []
        self._stopping = False

    def __enter__(self) -> _PageStore:
        return self

    def __exit__(self, *_: object) -> None:
        # After a failure: the page being stored stops between tiles, queued ones never start.
        self._stopping = True
        self._pool.shutdown(wait=True, cancel_futures=True)

    def add(self, result: converters.PageResult) -> None:
        self._raise_failure()
        self._futures.append(self._pool.submit(self._store_page, result))

    def wait(self, tick: Callable[[], None]) -> None:
        """Until every page is stored, calling ``tick`` about every PROGRESS_EVERY seconds."""
        pending = set(self._futures)
        while pending:
            _done, pending = wait(pending, timeout=PROGRESS_EVERY, return_when=FIRST_EXCEPTION)
            self._raise_failure()
            tick()

    def _raise_failure(self) -> None:
        for future in self._futures:
            error = future.exception() if future.done() and not future.cancelled() else None
            if error is not None:
                raise error

    def _store_page(self, result: converters.PageResult) -> None:
        start, number = self.tiles, result.number
        items: list[tuple[str, Path, str]] = []
        for path in sorted(result.directory.rglob("*.webp")):
            relative = path.relative_to(result.directory).parts
            if relative == ("overview.webp",):
                continue
            z, x, y = int(relative[0]), int(relative[1]), int(Path(relative[2]).stem)
            items.append((objects.tile_key(self.version_key, number, z, x, y), path, "image/webp"))
        items.append((objects.overview_key(self.version_key, number), result.directory / "overview.webp",
                      "image/webp"))

        def stored(count: int) -> None:
            if self._stopping:
                raise _Stopped
            # The page's last tile counts once its manifest is written (plans.pages_stored).
            self.tiles = start + min(count, result.tiles - 1)

        try:
            self.store.put_many(items, on_progress=stored)
        except _Stopped:
            return
        manifest = {
            "version": self.version_key, "page": number, "width": result.width, "height": result.height,
            "tile_size": result.tile_size, "min_zoom": result.min_zoom, "max_zoom": result.max_zoom,
            "format": result.format, "kind": result.kind, "dpi": result.dpi, "background": result.background,
            "tiles": result.tiles, "bytes": result.bytes,
            "overview": {"width": result.overview_width, "height": result.overview_height},
        }
        self.store.put(objects.manifest_key(self.version_key, number), json.dumps(manifest).encode(),
                       content_type="application/json")
        self.tiles = start + result.tiles


class _Stopped(Exception):
    """The job is over (it failed elsewhere): stop storing the page."""


def _describe(page: PlanPage, result: converters.PageResult) -> None:
    page.width, page.height = result.width, result.height
    page.tile_size, page.max_zoom = result.tile_size, result.max_zoom
    page.tile_format, page.kind, page.background = result.format, result.kind, result.background
    page.tiles, page.tile_bytes = result.tiles, result.bytes


def _fail(version: PlanVersion, message: str) -> PlanVersion:
    version.state = VersionState.FAILED.value
    version.error = message
    version.finished_at = utcnow()
    db.session.commit()  # the job's end: failed
    log.info("Plan version %s failed: %s", version.id, message)
    return version


def _mark_ready(version: PlanVersion) -> None:
    version.state = VersionState.READY.value
    version.pages_done = version.page_count
    version.finished_at = utcnow()
    version.error = ""


def _finish(version: PlanVersion) -> None:
    """Mark the version ready, a draft: officers keep seeing the published plan until the
    partner (or an administrator) has checked this one's sheets and markers and published
    it.  The published plan's markers are carried onto it, flagged, in the same commit."""
    _mark_ready(version)
    prepare_draft(version)
    db.session.commit()  # the job's end: a draft, markers carried, in one commit


def recover_stalled(*, silent_for: dt.timedelta, queued_for: dt.timedelta) -> list[int]:
    """Find work a crashed worker abandoned: versions rendering whose heartbeat stopped go
    back to the queue (or fail after MAX_ATTEMPTS), and versions queued for long are returned
    too.  Returns the ids to enqueue again once this is committed (flushes only); a duplicate
    job is harmless, ``claim`` lets one run."""
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
    db.session.flush()
    return requeue
