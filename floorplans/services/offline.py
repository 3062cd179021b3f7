"""What "keep offline" stores for a building: which pyramid levels of each plan page, the
photos the officer may see (both sizes), and about how much room all of it takes, which the
Find page shows before an officer keeps buildings; and which buildings make up "my area"
(a patrol zone: those within a chosen distance of the car or of a building found).

Officers pre-load whole patrol zones, so the choice trades storage on the car's laptop for
detail: every level up to one below full zoom (room labels are readable there on the plans
we render), and full zoom too when a page is small enough that it costs little.
Must not import blueprints or storage; of converters only the pyramid geometry (no PIL,
no PyMuPDF in a web process).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Protocol

from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.orm import selectinload

from converters import pyramid
from converters.pyramid import Level
from floorplans.db import db
from floorplans.errors import InvalidInput
from floorplans.models import Building, Photo, PlanPage, PlanVersion, User
from floorplans.services import finding, photos

# Full-zoom tiles of a page are kept offline when there are at most this many (about 2 MB at
# the sizes our plans compress to); larger sheets keep levels 0..max_zoom-1, a quarter as many.
FULL_ZOOM_TILE_LIMIT = 160


class RenderedPage(Protocol):
    """What the offline choice reads of a plan page: a PlanPage, or a row of its columns."""

    @property
    def width(self) -> int | None: ...
    @property
    def height(self) -> int | None: ...
    @property
    def tile_size(self) -> int | None: ...
    @property
    def max_zoom(self) -> int | None: ...
    @property
    def tiles(self) -> int: ...
    @property
    def tile_bytes(self) -> int: ...


# Plans come in a few sizes of sheet: the levels of each are worked out once per process
# (a Find page sizes its results' pages on every search).
@lru_cache(maxsize=4096)
def _levels(width: int, height: int, tile_size: int, max_zoom: int) -> tuple[Level, ...]:
    return tuple(pyramid.levels(width, height, max_zoom, tile_size))


def levels_of(width: int, height: int, tile_size: int, max_zoom: int) -> list[Level]:
    """Every level of a rendered page's pyramid (converters.pyramid, as the renderer cut it)."""
    return list(_levels(width, height, tile_size, max_zoom))


def offline_levels(page: RenderedPage, *, full_zoom_limit: int = FULL_ZOOM_TILE_LIMIT) -> list[Level]:
    """The levels "keep offline" fetches for a rendered page."""
    if not (page.width and page.height and page.tile_size and page.max_zoom is not None):
        return []
    levels = levels_of(page.width, page.height, page.tile_size, page.max_zoom)
    if levels[-1].tiles <= full_zoom_limit or len(levels) == 1:
        return levels
    return levels[:-1]


# What a kept file takes, on average, where the exact size is not known before fetching it: a
# plan tile of a page rendered before pages recorded their bytes (FULL_ZOOM_TILE_LIMIT's 160
# tiles are about 2 MB) and a card or plan page.
TILE_BYTES = 12_500
PAGE_BYTES = 30_000


# Full zoom of a large sheet is mostly bare paper, which compresses to almost nothing, so
# the levels kept without it hold the denser tiles: on the corpus's large sheets their tiles
# average 1.5-1.7x the whole pyramid's mean (bench/offline_zone.py), and at the mean alone
# the estimate said 0.72x what a district took, letting the storage check pass a zone that
# does not fit.  Erring high only asks for a little more room than needed.
DENSER_WITHOUT_FULL_ZOOM = 1.7


def page_keep(page: RenderedPage) -> tuple[int, int]:
    """The tiles "keep offline" fetches of a rendered page, and about how many bytes: at the
    mean size of the page's own tiles (its pyramid's bytes over its tiles, recorded by the
    render; ``DENSER_WITHOUT_FULL_ZOOM`` when full zoom is left out), where a fixed
    TILE_BYTES was several times too much for line art and would make the storage check
    refuse a zone that fits."""
    levels = offline_levels(page)
    tiles = sum(level.tiles for level in levels)
    if not (page.tiles and page.tile_bytes):
        return tiles, tiles * TILE_BYTES
    mean = page.tile_bytes / page.tiles
    if levels and page.max_zoom is not None and levels[-1].zoom < page.max_zoom:
        mean *= DENSER_WITHOUT_FULL_ZOOM
    return tiles, round(tiles * mean)


@dataclass(frozen=True)
class KeepSize:
    """What keeping some buildings offline fetches: files, and about how many bytes."""

    files: int
    bytes: int

    @property
    def words(self) -> str:
        megabytes = self.bytes / 1_000_000
        size = f"{megabytes:.1f} MB" if megabytes >= 0.1 else f"{max(1, round(self.bytes / 1000))} kB"
        return f"about {size} on this computer ({self.files:,} files)"


@dataclass(frozen=True)
class Kept:
    """What keeping one building offline fetches: its card and plan pages, the tiles of
    ``offline_levels`` of its shown sheets (bytes estimated: ``page_keep``) and every size of
    the photos its reader may see (bytes exact)."""

    building: Building
    version: PlanVersion | None
    pages: list[PlanPage]
    photos: list[Photo]
    files: int
    bytes: int


def kept(user: User, buildings: Iterable[Building]) -> list[Kept]:
    """What keeping each of ``buildings`` fetches.  Their plans, pages and which of them have
    photos are read in three statements for all of them, so a zone of hundreds of buildings
    costs a query only per building that has photos (those its reader may see are kept)."""
    buildings = list(buildings)
    with_photos = photos.photographed(buildings)
    # The shown plans and their pages in two statements, not two a building: loaded into the
    # session, where each building's published_version and its pages then find them.
    published = [b.published_version_id for b in buildings if b.published_version_id is not None]
    plans = db.session.scalars(select(PlanVersion).where(PlanVersion.id.in_(published))
                               .options(selectinload(PlanVersion.pages))).all() if published else []
    result = []
    for building in buildings:
        version = building.shown_plan
        pages = list(version.shown_pages) if version is not None else []
        shown = photos.readable_photos(user, building) if building.id in with_photos else []
        files, size = _keeping(version is not None, pages, shown)
        result.append(Kept(building, version, pages, shown, files, size))
    del plans  # held until here: the session keeps loaded records only while they are referenced
    return result


@cache
def _keep_size_statement() -> Select[*tuple[Any, ...]]:
    """For each building of the ``ids`` bound: whether it has photos, and the pages of its
    shown plan.  Built once per process: building it took as long as running it."""
    has_photos = select(Photo.id).where(Photo.building_id == Building.id).correlate(Building).exists()
    return (select(Building.id, has_photos.label("has_photos"), PlanVersion.id.label("version_id"),
                   PlanPage.id.label("page_id"), PlanPage.width, PlanPage.height, PlanPage.tile_size,
                   PlanPage.max_zoom, PlanPage.tiles, PlanPage.tile_bytes)
            .outerjoin(PlanVersion, and_(PlanVersion.id == Building.published_version_id,
                                         PlanVersion.shown_to_officers))
            .outerjoin(PlanPage, and_(PlanPage.version_id == PlanVersion.id, PlanPage.hidden.is_(False)))
            .where(Building.id.in_(bindparam("ids", expanding=True))))


def keep_size(user: User, buildings: Iterable[Building]) -> KeepSize:
    """Files and bytes that keeping ``buildings`` offline fetches: what ``kept`` counts, in
    one statement for all of them (whether each has photos, and its shown pages' columns
    as rows rather than records): the Find page says it for every search's 20 results and
    every CAD lookup's matches."""
    buildings = list(buildings)
    if not buildings:
        return KeepSize(files=0, bytes=0)
    rows = db.session.execute(_keep_size_statement(), {"ids": [building.id for building in buildings]})
    plan_shown: set[int] = set()
    with_photos: set[int] = set()
    shown: dict[int, list[RenderedPage]] = {}
    for row in rows:
        if row.has_photos:
            with_photos.add(row.id)
        if row.version_id is not None:
            plan_shown.add(row.id)
        if row.page_id is not None:  # None: no plan shown, or a shown one whose sheets are all hidden
            shown.setdefault(row.id, []).append(row)
    files = size = 0
    for building in buildings:
        readable = photos.readable_photos(user, building) if building.id in with_photos else []
        building_files, building_bytes = _keeping(building.id in plan_shown, shown.get(building.id, []), readable)
        files += building_files
        size += building_bytes
    return KeepSize(files=files, bytes=size)


def _keeping(plan_shown: bool, pages: Iterable[RenderedPage], readable: Iterable[Photo]) -> tuple[int, int]:
    """Files and bytes of keeping one building: its card, its plan page if a plan is shown,
    the kept levels of its shown ``pages`` and every size of the photos its reader may see."""
    files = 2 if plan_shown else 1
    size = PAGE_BYTES * files
    for page in pages:
        tiles, tile_bytes = page_keep(page)
        files += tiles
        size += tile_bytes
    for photo in readable:
        files += len(photo.sizes)
        size += photo.stored_bytes
    return files, size


# At most this many buildings are kept in one go: a patrol district is about 200 (issue 19),
# and the officer sees the count and the size before anything is fetched.
MAX_KEEP_BUILDINGS = 300
# The distances "Keep my area offline" offers: a neighbourhood to a rural detachment's zone.
ZONE_KILOMETRES = (1, 2, 5, 10, 25, 50)


@dataclass(frozen=True)
class Zone:
    """The buildings of an officer's area, nearest first."""

    buildings: list[Building]
    kilometres: float
    more: bool  # more than MAX_KEEP_BUILDINGS are that close: these are the nearest of them


def zone(user: User, latitude: float, longitude: float, kilometres: float) -> Zone:
    """The readable buildings within ``kilometres`` of a point, nearest first, at most
    ``MAX_KEEP_BUILDINGS`` (buildings without coordinates cannot be placed in an area)."""
    if kilometres not in ZONE_KILOMETRES:
        choices = ", ".join(str(km) for km in ZONE_KILOMETRES)
        raise InvalidInput({"km": f"must be one of {choices} (kilometres)."})
    # One more than kept, to know whether the area holds more than can be kept.
    nearby = finding.nearest(user, latitude, longitude, limit=MAX_KEEP_BUILDINGS + 1)
    within = [n.building for n in nearby if n.metres <= kilometres * 1000]
    return Zone(within[:MAX_KEEP_BUILDINGS], kilometres, len(within) > MAX_KEEP_BUILDINGS)
