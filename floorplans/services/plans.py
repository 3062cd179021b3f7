"""Plan versions: upload and validate, label and order pages, publish, and read tiles.

The rendering itself is in ``services.rendering`` (run by the job worker).  Must not import
blueprints.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from flask import Flask, current_app
from sqlalchemy import func, select, update

import converters
from floorplans import objects, tile_links
from floorplans.db import db, utcnow
from floorplans.errors import Conflict, FloorplansError, InvalidInput, NotFound
from floorplans.models import Building, PlanPage, PlanVersion, User, VersionState
from floorplans.permissions import can_edit, can_read, can_read_of
from floorplans.services import audit, exercise_items, markers

CHUNK = 1024 * 1024


class PlanRejected(FloorplansError):
    """The uploaded file is not a plan we can use; the message says why and what to do."""

    status = 422


def upload_limits() -> converters.UploadLimits:
    config = current_app.config
    return converters.UploadLimits(
        max_bytes=int(config["UPLOAD_MAX_MB"]) * CHUNK,
        max_pages=int(config["UPLOAD_MAX_PAGES"]),
        max_page_pixels=int(config["PAGE_MAX_PIXELS"]),
    )


def _spool(stream: BinaryIO, folder: Path, max_bytes: int) -> tuple[Path, str, int]:
    """Copy the upload to a private temporary file, hashing it on the way; stop at the limit."""
    digest = hashlib.sha256()
    size = 0
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=".pdf", dir=folder)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise PlanRejected(
                        f"The file is larger than {max_bytes // CHUNK} MB. Export the drawing again "
                        "with fewer sheets or lower image quality, or split it into several uploads."
                    )
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, digest.hexdigest(), size


def work_folder() -> Path:
    folder = Path(current_app.instance_path) / "work"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def upload_plan(building: Building, stream: BinaryIO, filename: str, *, by: User) -> PlanVersion:
    """Validate an upload and record it as a new queued version.  Nothing about the published
    plan changes; the caller commits and then queues the rendering (``jobs.queue_render``)."""
    limits = upload_limits()
    path, sha256, size = _spool(stream, work_folder(), limits.max_bytes)
    try:
        if size == 0:
            raise PlanRejected("The file is empty. Choose the PDF of your floor plan and upload it again.")
        try:
            summary = converters.validate_pdf_isolated(path, limits)
        except converters.PdfRejected as rejected:
            raise PlanRejected(str(rejected)) from None
        store = objects.get_storage()
        key = objects.original_key(sha256)
        if not store.exists(key):
            store.put_file(key, path, content_type="application/pdf")
    finally:
        path.unlink(missing_ok=True)

    previous = _labels_of(building.published_version)
    number = (db.session.scalar(
        select(func.max(PlanVersion.number)).where(PlanVersion.building_id == building.id)
    ) or 0) + 1
    version = PlanVersion(
        building=building,
        number=number,
        state=VersionState.QUEUED.value,
        original_sha256=sha256,
        original_filename=Path(filename or "plan.pdf").name[:255],
        original_bytes=size,
        page_count=summary.page_count,
        uploaded_by=by,
    )
    db.session.add(version)
    for page in summary.pages:
        version.pages.append(PlanPage(
            number=page.number,
            position=page.number,
            label=previous.get(page.number) or page.suggested_label or f"Page {page.number}",
            width_pt=page.width_pt,
            height_pt=page.height_pt,
        ))
    db.session.flush()
    audit.record("plan.upload", actor=by, building=building, target=version, detail={
        "number": number, "file": version.original_filename, "bytes": size, "sha256": sha256,
        "pages": summary.page_count,
    })  # fmt: skip
    return version


def _labels_of(version: PlanVersion | None) -> dict[int, str]:
    """A new upload of the same set keeps the labels the partner gave the last one."""
    if version is None:
        return {}
    return {page.number: page.label for page in version.pages}


def get_version(user: User, version_id: int, *, edit: bool = False) -> PlanVersion:
    version = db.session.get(PlanVersion, version_id)
    if version is None or not can_read(user, version.building) or (edit and not can_edit(user, version.building)):
        raise NotFound("There is no such plan version, or it is not yours to see.")
    return version


def version_of(building: Building, version_id: int) -> PlanVersion:
    version = db.session.get(PlanVersion, version_id)
    if version is None or version.building_id != building.id:
        raise NotFound("This building has no such plan version.")
    return version


def update_pages(
    version: PlanVersion, labels: Mapping[int, str], order: Sequence[int], north: Mapping[int, str] | None = None
) -> None:
    """Set each page's label (page id -> text), the order officers see (page ids) and,
    when given, its north (page id -> degrees clockwise from the page's up, "" = unknown)."""
    pages = {page.id: page for page in version.pages}
    errors: dict[str, str] = {}
    bearings: dict[int, float | None] = {}
    for page_id, text in (north or {}).items():
        try:
            bearings[page_id] = _north_degrees(text)
        except ValueError as exc:
            errors[f"north-{page_id}"] = str(exc)
    for page_id, label in labels.items():
        text = (label or "").strip()
        if page_id not in pages:
            errors[f"label-{page_id}"] = "is not a page of this plan."
        elif not text:
            errors[f"label-{page_id}"] = "is required (e.g. Ground floor, Basement, Sheet A-101)."
        elif len(text) > 100:
            errors[f"label-{page_id}"] = "is too long (at most 100 characters)."
    if order and sorted(order) != sorted(pages):
        errors["order"] = "must list every page of this plan once."
    if errors:
        raise InvalidInput(errors)
    before = {page.id: (page.label, page.position, page.north_degrees) for page in version.pages}
    for page_id, label in labels.items():
        pages[page_id].label = label.strip()
    for position, page_id in enumerate(order, start=1):
        pages[page_id].position = position
    for page_id, degrees in bearings.items():
        if page_id in pages:
            pages[page_id].north_degrees = degrees
    db.session.flush()
    changed = {
        f"page {page.number}": [_page_text(*before[page.id]), _page_text(page.label, page.position, page.north_degrees)]
        for page in version.pages
        if before[page.id] != (page.label, page.position, page.north_degrees)
    }
    if changed:
        audit.record("plan.pages", building=version.building, target=version,
                     detail={"number": version.number, "changes": changed})


def _north_degrees(text: str) -> float | None:
    """"90", "90°" or "22.5" -> degrees; "" -> unknown (no north arrow on the packet)."""
    text = (text or "").strip().removesuffix("°").strip()
    if not text:
        return None
    try:
        degrees = float(text)
    except ValueError:
        raise ValueError("must be a number of degrees from 0 to 359, or empty if you do not know.") from None
    if not 0 <= degrees < 360:
        raise ValueError("must be from 0 to 359 degrees (0: north is up, 90: north is to the right).")
    return degrees


def _page_text(label: str, position: int, north: float | None) -> str:
    return f"{position}. {label}" + (f" (north {north:g}°)" if north is not None else "")


def publish(version: PlanVersion, *, only_if_newer: bool = False) -> bool:
    """Point the building at ``version`` in one update of the building row.  Only a complete
    version can be published; two publishes racing on one building cannot both win (the
    building's row version makes the loser a Conflict)."""
    if version.state != VersionState.READY:
        raise Conflict("Only a completely rendered plan can be published. Wait until it is ready.")
    if version.tiles_deleted_at is not None:
        raise Conflict("The tiles of this old version were cleaned up. Upload it again to publish it.")
    building = version.building
    current = building.published_version
    if current is not None and current.id == version.id:
        return False
    if only_if_newer and current is not None and current.number > version.number:
        return False
    # One conditional UPDATE: it moves the pointer only if nobody changed the building since we
    # read it, so of two racing publishes exactly one wins and the other is told.
    moved = db.session.execute(
        update(Building)
        .where(Building.id == building.id, Building.row_version == building.row_version)
        .values(published_version_id=version.id, row_version=Building.row_version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.expire(building)
    if moved != 1:
        raise Conflict(
            "This building's plan was changed by someone else at the same moment. Reload and try again."
        )
    version.published_at = utcnow()
    db.session.flush()
    audit.record("plan.publish", building=building, target=version, detail={
        "number": version.number, "replaces": current.number if current is not None else None,
    })  # fmt: skip
    # The markers of the plan it replaces follow onto pages of the same name, flagged for checking,
    # and so do the exercises' drawings (scratch: moved, not copied, and not flagged).
    markers.carry_over(current, version)
    exercise_items.follow_plan(current, version)
    return True


def readable_version_by_key(user: User, version_key: str) -> PlanVersion:
    version = db.session.scalar(select(PlanVersion).where(PlanVersion.key == version_key))
    if (
        version is None
        or version.state != VersionState.READY
        or version.tiles_deleted_at is not None
        or not can_read(user, version.building)
    ):
        raise NotFound("There is no such plan, or it is not yours to see.")
    return version


#: Tile requests are most of the load (bench/load.py): the version key -> congregation lookup
#: is kept in process.  Keys are immutable and a ready version stays ready; what could change
#: (an administrator moving a building to another congregation, a cleanup) is picked up
#: within TILE_ACCESS_CACHE_SECONDS (a cleaned-up version's tiles are gone from storage anyway).
#: The user's own session is still checked on every request.
TILE_ACCESS_CACHE_SECONDS = 60.0
_TILE_ACCESS_CACHE_MAX = 20_000


def _tile_access_cache(app: Flask) -> dict[str, tuple[int, float]]:
    return app.extensions.setdefault("floorplans.tile_access", {})  # type: ignore[no-any-return]


def cached_congregation_of_tiles(app: Flask, version_key: str) -> int | None:
    """The congregation of a version's tiles if this process looked it up lately, else None
    (the tile gate, floorplans.tile_gate, asks without a database session)."""
    hit = _tile_access_cache(app).get(version_key)
    if hit is not None and time.monotonic() - hit[1] < TILE_ACCESS_CACHE_SECONDS:
        return hit[0]
    return None


def _congregation_of_tiles(version_key: str) -> int | None:
    cache = _tile_access_cache(current_app)
    now = time.monotonic()
    hit = cache.get(version_key)
    if hit is not None and now - hit[1] < TILE_ACCESS_CACHE_SECONDS:
        return hit[0]
    organisation_id = db.session.scalar(
        select(Building.organisation_id)
        .join(PlanVersion, PlanVersion.building_id == Building.id)
        .where(PlanVersion.key == version_key, PlanVersion.state == VersionState.READY.value,
               PlanVersion.tiles_deleted_at.is_(None))
    )
    if organisation_id is None:
        cache.pop(version_key, None)
        return None
    if len(cache) >= _TILE_ACCESS_CACHE_MAX:
        cache.clear()  # simple bound: refilled one query per key
    cache[version_key] = (organisation_id, now)
    return organisation_id


def check_tile_access(user: User, version_key: str) -> None:
    """The tile route's access check: the same rule as ``readable_version_by_key``
    (a ready version, tiles not cleaned up, a building the user may read), one cached lookup."""
    organisation_id = _congregation_of_tiles(version_key)
    if organisation_id is None or not can_read_of(user, organisation_id):
        raise NotFound("There is no such plan, or it is not yours to see.")


def read_tile(user: User, version_key: str, page: int, z: int, x: int, y: int) -> bytes:
    check_tile_access(user, version_key)
    try:
        return objects.get_storage().get(objects.tile_key(version_key, page, z, x, y))
    except FileNotFoundError:
        raise NotFound("There is no such tile.") from None


def tile_redirect(user: User, version_key: str, page: int, z: int, x: int, y: int) -> str | None:
    """A short-lived presigned URL of the tile when TILE_REDIRECT_SECONDS is set and the store
    has such URLs (S3), after the same access check as ``read_tile``; else None."""
    lifetime = tile_links.redirect_lifetime(current_app.config)
    if not lifetime:
        return None
    check_tile_access(user, version_key)
    return objects.get_storage().signed_url(objects.tile_key(version_key, page, z, x, y), expires_in=lifetime)


def stored_pages(version: PlanVersion) -> list[int]:
    """The numbers of a version's pages that are wholly in storage, manifest written: all
    of a ready version's; while it renders, the leading pages whose tiles are all counted
    in ``tiles_done`` (the job stores pages in page-number order, each as soon as it is
    rendered, and counts a page's last tile only once its manifest is written)."""
    pages = sorted(version.pages, key=lambda page: page.number)
    if version.state == VersionState.READY:
        return [] if version.tiles_deleted_at is not None else [page.number for page in pages]
    if version.state != VersionState.RENDERING:
        return []
    stored: list[int] = []
    counted = 0
    for page in pages:
        counted += page.tiles or 0
        if not page.tiles or counted > version.tiles_done:
            break
        stored.append(page.number)
    return stored


def stored_page_preview(version: PlanVersion, number: int) -> bytes:
    """The preview of one page of a version as soon as that page is stored, so a partner
    can check the first sheets while the rest of a large set renders. Only for the
    version's own congregation (the caller checked); officers see ready versions only."""
    if number not in stored_pages(version):
        raise NotFound("This page is not ready yet.")
    return _overview(version.key, number)


def read_overview(user: User, version_key: str, page: int) -> bytes:
    readable_version_by_key(user, version_key)
    return _overview(version_key, page)


def _overview(version_key: str, page: int) -> bytes:
    try:
        return objects.get_storage().get(objects.overview_key(version_key, page))
    except FileNotFoundError:
        raise NotFound("This page has no preview.") from None
