"""A page image put back together from its tiles, for the printed packet and the PNG export.

Exports start from our own rendered pyramid, never from the partner's original PDF: the
tiles were made in the isolated child process (converters.isolation) and are plain WebP
that Pillow decodes, so nothing a hostile upload contains is parsed again in the web
process.  The level is the smallest one with enough pixels for the paper or the requested
width (the full-zoom level is ~288 dpi of the sheet, more than a printer shows).

Pure functions over bytes: must not import pymupdf, Flask, SQLAlchemy, storage or floorplans.
"""
from __future__ import annotations

import io
from collections.abc import Callable

from PIL import Image

from converters.tiling import TILE_SIZE, grid_size, level_size, parse_hex_colour

#: No export image bigger than this (about 50 MB of RGB in memory).
MAX_PIXELS = 16_000_000


def zoom_for(width: int, height: int, max_zoom: int, long_side: int) -> int:
    """The smallest pyramid level whose longer side has at least ``long_side`` pixels
    (the full-zoom level when none has)."""
    for zoom in range(max_zoom + 1):
        if max(level_size(width, height, zoom, max_zoom)) >= long_side:
            return zoom
    return max_zoom


def stitch(read_tile: Callable[[int, int], bytes | None], width: int, height: int, zoom: int, max_zoom: int,
           background: str = "#ffffff") -> Image.Image:
    """Level ``zoom`` of a page of ``width`` x ``height`` full-zoom pixels, from its tiles;
    a missing tile (``read_tile`` returns None) is left as the page's background."""
    level_width, level_height = level_size(width, height, zoom, max_zoom)
    if level_width * level_height > MAX_PIXELS:
        raise ValueError(f"a {level_width} x {level_height} image is over the export budget")
    image = Image.new("RGB", (level_width, level_height), parse_hex_colour(background))
    columns, rows = grid_size(level_width, level_height)
    for column in range(columns):
        for row in range(rows):
            data = read_tile(column, row)
            if data is None:
                continue
            try:
                with Image.open(io.BytesIO(data)) as tile:
                    image.paste(tile.convert("RGB"), (column * TILE_SIZE, row * TILE_SIZE))
            except (OSError, ValueError):
                continue  # a damaged tile prints as paper rather than failing the whole export
    return image


def fit_width(image: Image.Image, width: int) -> Image.Image:
    """``image`` scaled to ``width`` pixels wide, keeping its aspect (never enlarged)."""
    if width >= image.width:
        return image
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def encode(image: Image.Image, *, line_art: bool) -> bytes:
    """PNG for line art (crisp lines, a few colours compress well), JPEG for scans."""
    buffer = io.BytesIO()
    if line_art:
        image.save(buffer, "PNG", compress_level=3)
    else:
        image.save(buffer, "JPEG", quality=85, optimize=True)
    return buffer.getvalue()
