"""What "keep offline" stores for a building: which pyramid levels of each plan page.

Officers pre-load whole patrol zones, so the choice trades storage on the car's laptop for
detail: every level up to one below full zoom (room labels are readable there on the plans
we render), and full zoom too when a page is small enough that it costs little.
Must not import blueprints or storage; of converters only the pyramid geometry (no PIL,
no PyMuPDF in a web process).
"""
from __future__ import annotations

from converters import pyramid
from converters.pyramid import Level
from floorplans.models import PlanPage

# Full-zoom tiles of a page are kept offline when there are at most this many (about 2 MB at
# the sizes our plans compress to); larger sheets keep levels 0..max_zoom-1, a quarter as many.
FULL_ZOOM_TILE_LIMIT = 160


def levels_of(width: int, height: int, tile_size: int, max_zoom: int) -> list[Level]:
    """Every level of a rendered page's pyramid (converters.pyramid, as the renderer cut it)."""
    return pyramid.levels(width, height, max_zoom, tile_size)


def offline_levels(page: PlanPage, *, full_zoom_limit: int = FULL_ZOOM_TILE_LIMIT) -> list[Level]:
    """The levels "keep offline" fetches for a rendered page."""
    if not (page.width and page.height and page.tile_size and page.max_zoom is not None):
        return []
    levels = levels_of(page.width, page.height, page.tile_size, page.max_zoom)
    if levels[-1].tiles <= full_zoom_limit or len(levels) == 1:
        return levels
    return levels[:-1]
