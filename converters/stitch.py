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
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageChops

from converters.tiling import TILE_SIZE, grid_size, level_size, parse_hex_colour

#: No export image bigger than this (about 50 MB of RGB in memory).
MAX_PIXELS = 16_000_000


def zoom_for(width: int, height: int, max_zoom: int, long_side: int, max_pixels: int | None = MAX_PIXELS) -> int:
    """The smallest pyramid level whose longer side has about ``long_side`` pixels or more
    (5% short is close enough: a level is half the next), within ``max_pixels`` if given."""
    chosen = 0
    for zoom in range(max_zoom + 1):
        level_width, level_height = level_size(width, height, zoom, max_zoom)
        if max_pixels is not None and level_width * level_height > max_pixels:
            break
        chosen = zoom
        if max(level_width, level_height) >= long_side * 0.95:
            break
    return chosen


def print_plan(width: int, height: int, max_zoom: int, long_side: int) -> tuple[int, tuple[int, int] | None]:
    """Which level to stitch for an image of about ``long_side`` pixels, and the size to
    scale it to: None (the level as it is) unless it is over the pixel budget.  Scaling
    line art blurs its few posterized colours into many, which made packets ~1.8x bigger
    and slower to write than printing the next level up as it is (measured on the corpus)."""
    zoom = zoom_for(width, height, max_zoom, long_side, max_pixels=None)
    level_width, level_height = level_size(width, height, zoom, max_zoom)
    if level_width * level_height <= MAX_PIXELS:
        return zoom, None
    scale = (MAX_PIXELS / (level_width * level_height)) ** 0.5
    return zoom, (max(1, int(level_width * scale)), max(1, int(level_height * scale)))


def stitch(read_tile: Callable[[int, int], bytes | None], width: int, height: int, zoom: int, max_zoom: int,
           background: str = "#ffffff", size: tuple[int, int] | None = None) -> Image.Image:
    """Level ``zoom`` of a page of ``width`` x ``height`` full-zoom pixels, from its tiles,
    scaled to ``size`` if given; a missing or damaged tile is left as the page's background.
    Scaling goes one row of tiles at a time, so a level bigger than the budget can still
    make a smaller image without ever being whole in memory."""
    level_width, level_height = level_size(width, height, zoom, max_zoom)
    out_width, out_height = size or (level_width, level_height)
    if out_width * out_height > MAX_PIXELS:
        raise ValueError(f"a {out_width} x {out_height} image is over the export budget")
    paper = parse_hex_colour(background)
    image = Image.new("RGB", (out_width, out_height), paper)
    columns, rows = grid_size(level_width, level_height)
    for row in range(rows):
        top, bottom = row * TILE_SIZE, min((row + 1) * TILE_SIZE, level_height)
        band = Image.new("RGB", (level_width, bottom - top), paper)
        for column in range(columns):
            data = read_tile(column, row)
            if data is None:
                continue
            try:
                with Image.open(io.BytesIO(data)) as tile:
                    band.paste(tile.convert("RGB"), (column * TILE_SIZE, 0))
            except (OSError, ValueError):
                continue  # a damaged tile prints as paper rather than failing the whole export
        if size is None:
            image.paste(band, (0, top))
            continue
        y0, y1 = round(top * out_height / level_height), round(bottom * out_height / level_height)
        if y1 > y0:
            image.paste(band.resize((out_width, y1 - y0), Image.Resampling.LANCZOS), (0, y0))
    return image


def encode(image: Image.Image, *, line_art: bool) -> bytes:
    """PNG for line art (crisp lines, a few colours compress well), JPEG for scans."""
    buffer = io.BytesIO()
    if line_art:
        # Level 3: the fastest to encode and for MuPDF to take in (it deflates the pixels
        # again in the PDF, so a smaller PNG does not make a smaller packet).
        image.save(buffer, "PNG", compress_level=3)
    else:
        image.save(buffer, "JPEG", quality=85, optimize=True)
    return buffer.getvalue()


@dataclass(frozen=True)
class Raster:
    """Pixels ready for a PDF image stream: 8-bit grey or RGB rows, zlib-compressed
    (PDF's FlateDecode).  The packet puts line art on paper this way, not as PNG: MuPDF
    would decode a PNG and deflate it again, and encoding, decoding and deflating were
    three quarters of a 25-sheet tabloid packet's time (bench/exports.py: 12.0 s, now 3.5 s)."""

    width: int
    height: int
    grey: bool
    data: bytes


def is_grey(image: Image.Image) -> bool:
    """Whether every pixel of an RGB image is a grey (R = G = B), as black-and-white
    line art is once posterized (converters.tiling)."""
    red, green, blue = image.split()
    return ImageChops.difference(red, green).getbbox() is None and ImageChops.difference(green, blue).getbbox() is None


def for_pdf(image: Image.Image, *, line_art: bool) -> Raster | bytes:
    """A plan image for the packet: line art as a ``Raster`` (grey when it has no colour,
    a third of the bytes), scans as JPEG, which a PDF embeds as it is."""
    if not line_art:
        return encode(image, line_art=False)
    grey = is_grey(image)
    pixels = (image.convert("L") if grey else image if image.mode == "RGB" else image.convert("RGB")).tobytes()
    # Level 6, zlib's default: what MuPDF itself used when it deflated the decoded PNG, so
    # packets are no bigger (level 3 made colour ones ~40% bigger for 0.1 s less); zlib
    # lets go of the GIL, so the packet's two threads compress two pages at once.
    return Raster(image.width, image.height, grey, zlib.compress(pixels, 6))
