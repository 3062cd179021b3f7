"""Reading a plan version's tiles and previews: who may read which version and page (the
tile route, the tile gate and the previews ask here), and the reads themselves.

A version's congregation and administrators read every page of every version with tiles;
officers and planners only the shown pages of a published one (``PlanVersion.shown_to_officers``).
Must not import blueprints.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select

from floorplans import objects
from floorplans.db import db
from floorplans.errors import NotFound
from floorplans.models import Building, PlanPage, PlanVersion, User
from floorplans.permissions import can_edit_of, can_read_of, can_see_version


def may_read_version(user: User, version: PlanVersion) -> bool:
    """Whether ``user`` may see this version's plan: it has tiles, and it is their
    congregation's (or they administer), or it was published for officers
    (``PlanVersion.has_tiles``, ``shown_to_officers``).  ``TileAccess`` is its cached form."""
    return version.has_tiles and can_see_version(user, version)


#: Tile requests are most of the load (bench/load.py): what a version key may show is kept
#: in process, for published versions only (a published version stays published; a draft is
#: looked up each time, so the moment it is published every process serves it).  What could
#: still change (an administrator moving a building to another congregation, a sheet hidden
#: on the published plan, a cleanup) is picked up within TILE_ACCESS_CACHE_SECONDS (a
#: cleaned-up version's tiles are gone from storage anyway).  The user's own session is
#: still checked on every request.
TILE_ACCESS_CACHE_SECONDS = 60.0
_TILE_ACCESS_CACHE_MAX = 20_000


@dataclass(frozen=True, slots=True)
class TileAccess:
    """Who may read a version's tiles: its congregation and administrators every page;
    other readers only pages shown to officers of a published version."""

    organisation_id: int
    published: bool
    hidden_pages: frozenset[int]
    looked_up_at: float

    def allows(self, reader: User | Any, page: int) -> bool:
        """``reader``: a user, or anything with its role, congregation and ``active`` (the
        tile gate's remembered sessions)."""
        if can_edit_of(reader, self.organisation_id):
            return True
        return self.published and page not in self.hidden_pages and can_read_of(reader, self.organisation_id)


def _tile_access_cache(app: Flask) -> dict[str, TileAccess]:
    cache: dict[str, TileAccess] = app.extensions.setdefault("floorplans.tile_access", {})
    return cache


def cached_tile_access(app: Flask, version_key: str) -> TileAccess | None:
    """What a version's tiles may show if this process looked it up lately, else None
    (the tile gate, floorplans.tile_gate, asks without a database session)."""
    hit = _tile_access_cache(app).get(version_key)
    if hit is not None and time.monotonic() - hit.looked_up_at < TILE_ACCESS_CACHE_SECONDS:
        return hit
    return None


def forget(version_key: str) -> None:
    """Drop this process's cached answer for a version whose shown sheets changed."""
    _tile_access_cache(current_app).pop(version_key, None)


def _tile_access(app: Flask, version_key: str) -> TileAccess | None:
    hit = cached_tile_access(app, version_key)
    if hit is not None:
        return hit
    row = db.session.execute(
        select(Building.organisation_id, PlanVersion.id, PlanVersion.published_at)
        .join(PlanVersion, PlanVersion.building_id == Building.id)
        .where(PlanVersion.key == version_key, PlanVersion.has_tiles)
    ).first()
    cache = _tile_access_cache(app)
    if row is None:
        cache.pop(version_key, None)
        return None
    hidden = frozenset(db.session.scalars(
        select(PlanPage.number).where(PlanPage.version_id == row.id, PlanPage.hidden.is_(True))
    ))
    access = TileAccess(row.organisation_id, row.published_at is not None, hidden, time.monotonic())
    if access.published:
        if len(cache) >= _TILE_ACCESS_CACHE_MAX:
            cache.clear()  # simple bound: refilled one query per key
        cache[version_key] = access
    return access


def may_read_tile(app: Flask, reader: User | Any, version_key: str, page: int, *, cached_only: bool = False) -> bool:
    """The one rule of who reads a page's tiles, for the tile routes, the API's and the tile
    gate: ``may_read_version`` for one page, as the in-car view's pages show it (a version with
    tiles; drafts and hidden sheets for its own congregation and administrators only).

    ``reader``: a user, or what the tile gate remembered of one (role, congregation,
    ``active``).  ``cached_only``: decide from what this process looked up lately, without
    the database (the gate, outside any request); an unknown version is then refused here
    and the full path decides."""
    access = cached_tile_access(app, version_key) if cached_only else _tile_access(app, version_key)
    return access is not None and access.allows(reader, page)


def check_tile_access(user: User, version_key: str, page: int) -> None:
    """``may_read_tile`` for the signed-in user, or the 404 every refusal gets."""
    if not may_read_tile(current_app, user, version_key, page):
        raise NotFound("There is no such plan, or it is not yours to see.")


def stored_page_preview(version: PlanVersion, number: int) -> bytes:
    """The preview of one page of a version as soon as that page is stored, so a partner
    can check the first sheets while the rest of a large set renders. Only for the
    version's own congregation (the caller checked); officers see ready versions only."""
    if number not in version.stored_page_numbers:
        raise NotFound("This page is not ready yet.")
    return _overview(version.key, number)


def read_overview(user: User, version_key: str, page: int) -> bytes:
    """A page's small image, for whoever may read its tiles (``may_read_tile``)."""
    check_tile_access(user, version_key, page)
    return _overview(version_key, page)


def _overview(version_key: str, page: int) -> bytes:
    try:
        return objects.get_storage().get(objects.overview_key(version_key, page))
    except FileNotFoundError:
        raise NotFound("This page has no preview.") from None
