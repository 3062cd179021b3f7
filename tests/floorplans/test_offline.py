"""Which pyramid levels "keep offline" stores."""

from __future__ import annotations

from converters.tiling import count_tiles, max_zoom_for
from floorplans.models import PlanPage
from floorplans.services.offline import FULL_ZOOM_TILE_LIMIT, levels_of, offline_levels


def test_levels_match_the_pyramid_the_converter_writes() -> None:
    for width, height in ((9933, 7016), (2448, 4032), (300, 200), (49000, 180)):
        zoom = max_zoom_for(width, height)
        assert sum(level.tiles for level in levels_of(width, height, 256, zoom)) == count_tiles(width, height, zoom)


def test_full_zoom_only_for_small_pages() -> None:
    small = PlanPage(width=2000, height=1500, tile_size=256, max_zoom=3)
    assert [lv.zoom for lv in offline_levels(small)] == [0, 1, 2, 3]
    sheet = PlanPage(width=13000, height=9000, tile_size=256, max_zoom=6)
    levels = offline_levels(sheet)
    assert [lv.zoom for lv in levels] == [0, 1, 2, 3, 4, 5]
    assert levels_of(13000, 9000, 256, 6)[-1].tiles > FULL_ZOOM_TILE_LIMIT
    assert offline_levels(PlanPage(width=None, height=None)) == []
