"""Rebuilding tiles from kept originals: after restoring a backup made with ``--skip-tiles``
(the archive keeps every original PDF but no tile pyramids), ``flask plans rerender`` renders
each version officers or partners may open again, under the same version key, so every tile
URL, offline pack and record stays as it was.

Writes storage only: no record changes (a version stays published, a draft stays a draft).
A version whose pages all have their manifest (written last, after the page's tiles) is
skipped, so an interrupted rerender run again continues where it stopped.
Must not import blueprints.
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

import converters
from floorplans import objects
from floorplans.config import get_settings
from floorplans.db import db
from floorplans.errors import FloorplansError
from floorplans.models import PlanVersion, VersionState
from floorplans.services.plans import work_folder
from floorplans.services.rendering import _PageStore, render_limits, store_labels


@dataclass
class RerenderReport:
    rendered: list[int] = field(default_factory=list)  # version ids
    skipped: list[int] = field(default_factory=list)  # tiles already there
    failed: dict[int, str] = field(default_factory=dict)
    tiles: int = 0


def versions_to_rerender(*, building_id: int | None = None, every_version: bool = False) -> list[PlanVersion]:
    """Published versions and drafts (ready, never published), of one building or all;
    with ``every_version`` also earlier published versions whose tiles are kept."""
    query = select(PlanVersion).where(PlanVersion.state == VersionState.READY.value,
                                      PlanVersion.tiles_deleted_at.is_(None)).order_by(PlanVersion.id)
    if building_id is not None:
        query = query.where(PlanVersion.building_id == building_id)
    versions = list(db.session.scalars(query))
    if every_version:
        return versions
    return [version for version in versions if version.status in ("published", "draft")]


def has_tiles(version: PlanVersion) -> bool:
    store = objects.get_storage()
    return all(store.exists(objects.manifest_key(version.key, page.number)) for page in version.pages)


def rerender_version(version: PlanVersion) -> int:
    """Render the version's kept original into its tiles again; the number of tiles stored.
    Raises FloorplansError when the original is missing or will not render."""
    store = objects.get_storage()
    key, sha256 = version.key, version.original_sha256
    numbers = sorted(page.number for page in version.pages)
    db.session.rollback()  # no transaction held while the child processes render
    try:
        original = store.get(objects.original_key(sha256))
    except FileNotFoundError:
        raise FloorplansError(f"its original PDF ({objects.original_key(sha256)}) is not in storage") from None
    with (
        tempfile.TemporaryDirectory(prefix=f"rerender-{key}-", dir=work_folder()) as tmp,
        _PageStore(store, key) as storing,
    ):
        folder = Path(tmp)
        pdf = folder / "original.pdf"
        pdf.write_bytes(original)
        try:
            results = converters.render_pages(pdf, folder / "out", numbers, limits=render_limits(),
                                              on_page=storing.add, nice=get_settings().render_nice)
        except (converters.RenderFailed, converters.PdfRejected) as error:
            raise FloorplansError(str(error)) from error
        if not store.exists(objects.labels_key(key)):  # kept labels (perhaps edited) stay as they are
            store_labels(store, key, results)
        storing.wait(lambda: None)
    return sum(result.tiles for result in results)


def rerender(
    versions: list[PlanVersion], *, on_version: Callable[[PlanVersion, int, int, str], None] | None = None,
) -> RerenderReport:
    """Rerender each version that lacks tiles; ``on_version(version, n, of, outcome)`` after each."""
    report = RerenderReport()
    total = len(versions)
    for number, version in enumerate(versions, start=1):
        version_id = version.id
        if has_tiles(version):
            report.skipped.append(version_id)
            outcome = "tiles already there"
        else:
            try:
                tiles = rerender_version(version)
            except FloorplansError as error:
                report.failed[version_id] = error.message
                outcome = f"failed: {error.message}"
            else:
                report.rendered.append(version_id)
                report.tiles += tiles
                outcome = f"{tiles} tiles"
        if on_version:
            on_version(version, number, total, outcome)
    return report
