"""Tile pyramid geometry for Leaflet's CRS.Simple: how many levels a page gets and how many
tiles each level has.  The renderer cuts pages by it (converters.tiling), "keep offline"
counts what to fetch by it (floorplans.services.offline), and the exports stitch levels back
by it (floorplans.services.exports).

A page of ``width`` x ``height`` full-zoom pixels gets levels 0..max_zoom, level z being the
full image scaled by 2**(z - max_zoom) (sizes rounded up, never below one pixel), cut into
``tile_size`` tiles addressed ``<z>/<x>/<y>`` with x the column and y the row from the
top-left.

Arithmetic only: must not import PIL, pymupdf, Flask, SQLAlchemy, storage or floorplans, so
the web processes can use it without loading an image library (tests/converters/test_pyramid.py).
"""
from __future__ import annotations

from dataclasses import dataclass

TILE_SIZE = 256


@dataclass(frozen=True)
class Level:
    """One level of a pyramid: its zoom and its grid of tiles."""

    zoom: int
    columns: int
    rows: int

    @property
    def tiles(self) -> int:
        return self.columns * self.rows


def max_zoom_for(width: int, height: int, tile_size: int = TILE_SIZE) -> int:
    """The smallest z with tile_size * 2**z >= the longest side, so level 0 is one tile."""
    longest = max(width, height)
    zoom = 0
    while tile_size << zoom < longest:
        zoom += 1
    return zoom


def level_size(width: int, height: int, zoom: int, max_zoom: int) -> tuple[int, int]:
    """The pixel size of level ``zoom``."""
    shift = max_zoom - zoom
    return max(1, -(-width >> shift)), max(1, -(-height >> shift))


def grid_size(width: int, height: int, tile_size: int = TILE_SIZE) -> tuple[int, int]:
    """Columns and rows of tiles covering an image of this size."""
    return -(-width // tile_size), -(-height // tile_size)


def levels(width: int, height: int, max_zoom: int, tile_size: int = TILE_SIZE) -> list[Level]:
    """Every level of the pyramid, level 0 first."""
    return [Level(zoom, *grid_size(*level_size(width, height, zoom, max_zoom), tile_size))
            for zoom in range(max_zoom + 1)]


def count_tiles(width: int, height: int, max_zoom: int, tile_size: int = TILE_SIZE) -> int:
    return sum(level.tiles for level in levels(width, height, max_zoom, tile_size))
