"""Pyramid geometry (converters.pyramid): one home for levels and tile counts, light enough
for the web processes (no image library, no PDF library)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from converters import pyramid, tiling
from tests.test_layout import ROOT


@pytest.mark.slow  # starts a Python of its own, whose imports are what it checks
def test_importing_the_geometry_loads_neither_pil_nor_pymupdf() -> None:
    script = ("import json, sys; import converters.pyramid, floorplans.services.offline; "
              "print(json.dumps(sorted(m for m in ('PIL', 'pymupdf', 'fitz') if m in sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(loaded.stdout) == []


def test_levels_are_the_renderers_levels() -> None:
    # The renderer's names are the geometry's, not a copy of it.
    assert (tiling.level_size, tiling.grid_size, tiling.count_tiles, tiling.max_zoom_for) == (
        pyramid.level_size, pyramid.grid_size, pyramid.count_tiles, pyramid.max_zoom_for)
    width, height = 3000, 1000
    zoom = pyramid.max_zoom_for(width, height)
    assert zoom == 4  # 256 * 2**4 = 4096 >= 3000
    levels = pyramid.levels(width, height, zoom)
    assert [(lv.zoom, lv.columns, lv.rows) for lv in levels] == [
        (0, 1, 1), (1, 2, 1), (2, 3, 1), (3, 6, 2), (4, 12, 4)]
    assert pyramid.count_tiles(width, height, zoom) == sum(lv.tiles for lv in levels) == 1 + 2 + 3 + 12 + 48
