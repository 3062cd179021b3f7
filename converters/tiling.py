"""Pyramid geometry and tile encoding for Leaflet's CRS.Simple.

Geometry: levels and tile counts come from converters.pyramid (free of PIL, so the web
processes share it); its names are re-exported here for the renderer. Bands
are the unit of work a worker renders: a strip of whole tile rows of one level, at most
``MAX_BAND_COLUMNS`` tiles wide so memory stays bounded on extreme aspect ratios.

Encoding: WebP, lossless for vector sheets (line art compresses well and stays crisp),
lossy for scans (photographic content); single-colour tiles are encoded once per colour
and their bytes reused, since blank paper is most of a floor plan. Vector sheets are
posterized first (``posterize``): a few inks plus their anti-aliasing become a few dozen
colours a tile, which WebP lossless stores as a palette, 2-4x smaller and faster to encode.

Pure functions over pixels and paths: must not import pymupdf, Flask, SQLAlchemy,
storage or floorplans."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from PIL import Image

# Re-exported (``as``) for the renderer, the stitcher and the benchmarks.
from converters.pyramid import TILE_SIZE as TILE_SIZE
from converters.pyramid import count_tiles as count_tiles
from converters.pyramid import grid_size as grid_size
from converters.pyramid import level_size as level_size
from converters.pyramid import max_zoom_for as max_zoom_for

FORMAT = "webp"
OVERVIEW_SIDE = 1024
# Wider bands than this are split: a 49,000 pt wide page at 288 dpi would otherwise need a
# 150 MB band.
MAX_BAND_COLUMNS = 64

# Measured on the corpus (docs/benchmarks.md): lossless method 1 at quality 30 is within
# ~3% of Pillow's default lossless (method 4, quality 80) in bytes at a third of its time;
# below 30 it is faster still but up to 30% bigger on line art.
LOSSLESS_OPTIONS: dict[str, object] = {"lossless": True, "method": 1, "quality": 30}
# Posterized line art (a palette of tens of colours) stays at quality 30: 25 was 15%
# faster to encode on average but reached 1.10x the bytes of Pillow's default lossless on
# a farmhouse sheet, and below 25 it is 1.10x on average (docs/benchmarks.md).
POSTERIZED_OPTIONS: dict[str, object] = {"lossless": True, "method": 1, "quality": 30}
LOSSY_OPTIONS: dict[str, object] = {"lossless": False, "method": 2, "quality": 80}
OVERVIEW_OPTIONS: dict[str, object] = {"lossless": False, "method": 2, "quality": 80}


# Posterizing line art (docs/benchmarks.md): in YCbCr so that greys stay grey (per-channel
# RGB levels tint light grey fills cyan or pink where the channels round apart). Luma
# keeps more levels near white, where light fills (corridors, tables) live and the eye
# sees small steps; near-white snaps to paper and near-black to ink. Chroma is snapped to
# steps of 16 around neutral, with a dead zone so that anti-aliased grey stays neutral.
# Coarser levels (luma steps of 48, chroma of 24) were 15-25% smaller still but turned
# the university hall's saturated red and yellow room fills visibly orange.
LUMA_LEVELS = (0, 24, 48, 72, 96, 120, 144, 168, 192, 212, 228, 242, 255)
CHROMA_STEP = 16
CHROMA_NEUTRAL = 6


def _luma_table() -> list[int]:
    return [min(LUMA_LEVELS, key=lambda level: abs(level - value)) for value in range(256)]


def _chroma_table() -> list[int]:
    table = []
    for value in range(256):
        offset = value - 128
        if abs(offset) <= CHROMA_NEUTRAL:
            table.append(128)
        else:
            table.append(max(0, min(255, 128 + round(offset / CHROMA_STEP) * CHROMA_STEP)))
    return table


# One lookup table for the three YCbCr bands, built once at import (~0.1 ms).
_POSTERIZE_TABLE = _luma_table() + _chroma_table() * 2
# The luma levels applied to R, G and B alike: on a grey pixel this is exactly what the
# YCbCr route gives (Y is the grey, chroma is neutral), at a sixth of the cost.
_GREY_TABLE = _luma_table() * 3
# WebP lossless stores a tile of at most 256 colours as a palette.
_PALETTE_SIZE = 256


def posterize(image: Image.Image) -> Image.Image:
    """An RGB image with its colours snapped to a few luma and chroma levels: line art and
    text keep their shape (the mean error is 0.5-2.6/255 a pixel on the corpus's dense sheets)
    while a tile holds tens of colours instead of thousands. Never for photographs or
    scans, where the levels would show as bands.

    Most line-art tiles are black on white: their levels are applied to each channel in
    one pass (0.1 ms a tile), and only a tile that then holds a colour that is not a
    grey takes the YCbCr route (0.6 ms), which keeps near-greys grey where separate
    channels would round apart into a tint."""
    snapped = image.point(_GREY_TABLE)
    colours = _rgb_colours(snapped, _PALETTE_SIZE)
    if colours is not None and all(red == green == blue for _, (red, green, blue) in colours):
        return snapped
    return image.convert("YCbCr").point(_POSTERIZE_TABLE).convert("RGB")


@dataclass(frozen=True)
class Band:
    """A block of tiles of one level: tile columns [column, column + columns) and tile
    rows [row, row + rows); the pixels are clipped to the level's image (``pixel_box``)."""

    zoom: int
    column: int
    row: int
    columns: int
    rows: int
    level_width: int
    level_height: int

    @property
    def tiles(self) -> int:
        return self.columns * self.rows

    @property
    def pixel_box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of the level's image inside this band, in level pixels."""
        x0, y0 = self.column * TILE_SIZE, self.row * TILE_SIZE
        x1 = min((self.column + self.columns) * TILE_SIZE, self.level_width)
        y1 = min((self.row + self.rows) * TILE_SIZE, self.level_height)
        return x0, y0, x1, y1


def plan_bands(width: int, height: int, max_zoom: int, band_rows: int = 1) -> list[Band]:
    """Every band of every level, largest level first, in row-major order."""
    bands: list[Band] = []
    for zoom in range(max_zoom, -1, -1):
        level_width, level_height = level_size(width, height, zoom, max_zoom)
        columns, rows = grid_size(level_width, level_height)
        for row in range(0, rows, band_rows):
            for column in range(0, columns, MAX_BAND_COLUMNS):
                bands.append(
                    Band(
                        zoom=zoom,
                        column=column,
                        row=row,
                        columns=min(MAX_BAND_COLUMNS, columns - column),
                        rows=min(band_rows, rows - row),
                        level_width=level_width,
                        level_height=level_height,
                    )
                )
    return bands


# The folder, inside a page's directory while it renders, where workers claim bands.
CLAIMS_FOLDER = ".bands"


class BandClaims:
    """Which worker draws which band of a page, decided as they go: each worker walks the
    same list of bands and draws a band only if it is the first to claim its number, by
    creating ``<folder>/<number>`` exclusively (0.2-1 ms a band, a few dozen bands a
    page). A worker slowed down by the overview it also draws, by denser bands or by
    another process on its core leaves more bands to the other, so both finish together;
    a fixed split made the page wait for the slower one."""

    def __init__(self, folder: Path) -> None:
        self.folder = os.fspath(folder)
        os.makedirs(self.folder, exist_ok=True)

    def claim(self, number: int) -> bool:
        try:
            os.close(os.open(f"{self.folder}/{number}", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
        except FileExistsError:
            return False
        return True


def band_tiles(
    band: Band, image: Image.Image, background: tuple[int, int, int]
) -> Iterator[tuple[int, int, Image.Image]]:
    """Cut a rendered band (``image`` covers ``band.pixel_box``) into full 256 x 256 tiles,
    padding the ones on the image's right and bottom edges with ``background``."""
    x0, y0, x1, y1 = band.pixel_box
    for row in range(band.row, band.row + band.rows):
        for column in range(band.column, band.column + band.columns):
            left, top = column * TILE_SIZE - x0, row * TILE_SIZE - y0
            right, bottom = min(left + TILE_SIZE, x1 - x0), min(top + TILE_SIZE, y1 - y0)
            piece = image.crop((left, top, right, bottom))
            if piece.size != (TILE_SIZE, TILE_SIZE):
                tile = Image.new("RGB", (TILE_SIZE, TILE_SIZE), background)
                tile.paste(piece, (0, 0))
                piece = tile
            yield column, row, piece


def single_colour(tile: Image.Image) -> tuple[int, int, int] | None:
    # getcolors gives up at the second colour: ~2.5x faster than getextrema on plans.
    colours = _rgb_colours(tile, 1)
    if colours is None:
        return None
    return colours[0][1]


def _rgb_colours(image: Image.Image, most: int) -> list[tuple[int, tuple[int, int, int]]] | None:
    """``getcolors`` of an RGB image: (count, (red, green, blue)) pairs, None past ``most``
    colours.  Pillow types it for every mode (a one-band image's colours are numbers)."""
    return cast("list[tuple[int, tuple[int, int, int]]] | None", image.getcolors(most))


# What lets a tile share the file of an identical one: its colour when it is a single
# colour, or (line art) the SHA-256 of its pixels.
TileKey = tuple[int, int, int] | bytes


class TileEncoder:
    """Encodes tiles to WebP; single-colour tiles are encoded once per colour. With
    ``posterize`` (line art), tiles that are not blank are posterized first: per tile
    rather than per band, so blank paper costs no conversion; and a tile whose pixels
    repeat an earlier tile's (a sheet's frame, title-block rules, hatching, grids: 8-14%
    of the non-blank tiles of the corpus's sheets) reuses its bytes, for the cost of a
    digest (0.13 ms) instead of posterizing and encoding (1.5-2.5 ms)."""

    def __init__(self, lossless: bool, posterize: bool = False) -> None:
        self.posterize = posterize and lossless
        if self.posterize:
            self.options = POSTERIZED_OPTIONS
        else:
            self.options = LOSSLESS_OPTIONS if lossless else LOSSY_OPTIONS
        self._solid: dict[tuple[int, int, int], bytes] = {}
        self._repeated: dict[bytes, tuple[bytes, TileKey]] = {}

    def encode(self, tile: Image.Image) -> tuple[bytes, TileKey | None]:
        """The tile's bytes and, when another tile may share its file, its key: its colour
        when it is a single colour, else (line art) a digest of its pixels."""
        colour = single_colour(tile)
        if colour is None and self.posterize:
            digest = hashlib.sha256(tile.tobytes()).digest()
            known = self._repeated.get(digest)
            if known is not None:
                return known
            tile = posterize(tile)
            colour = single_colour(tile)  # near-white specks snap to paper: a blank tile
            if colour is None:
                self._repeated[digest] = (encode_webp(tile, self.options), digest)
                return self._repeated[digest]
            self._repeated[digest] = (self._solid_bytes(tile, colour), colour)
            return self._repeated[digest]
        if colour is None:
            return encode_webp(tile, self.options), None
        return self._solid_bytes(tile, colour), colour

    def _solid_bytes(self, tile: Image.Image, colour: tuple[int, int, int]) -> bytes:
        cached = self._solid.get(colour)
        if cached is None:
            # Lossless even on scans: a flat tile costs ~50 bytes either way and stays
            # exactly the background colour.
            cached = self._solid[colour] = encode_webp(tile, LOSSLESS_OPTIONS)
        return cached


class TileWriter:
    """Writes a page's tiles under ``<page_dir>/<z>/<x>/<y>.webp``.

    A tile with the same key as an earlier one (converters.tiling.TileEncoder: the same
    colour, or the same pixels) is a hard link to the first: creating a file is one of the
    most expensive steps of a tile on some filesystems (0.2-1.3 ms of kernel time each on
    the benchmark machine, depending on its load), a link costs ~0.02 ms, and blank paper
    is half the tiles of a line drawing.

    Tiles are written straight under their final names, without write_atomic's temporary
    name and rename: nothing reads a page directory before every worker has reported the
    page done, and a page that fails is removed whole (converters.isolation)."""

    def __init__(self, page_dir: Path) -> None:
        self.page_dir = os.fspath(page_dir)
        self._folders: set[str] = set()
        self._first: dict[TileKey, str] = {}

    def write(self, zoom: int, column: int, row: int, data: bytes, key: TileKey | None) -> None:
        folder = f"{self.page_dir}/{zoom}/{column}"
        if folder not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)
        path = f"{folder}/{row}.{FORMAT}"
        first = self._first.get(key) if key is not None else None
        if first is not None:
            try:
                os.link(first, path)
                return
            except OSError:
                pass  # a filesystem without hard links: write it out
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view) :]
        finally:
            os.close(descriptor)
        if key is not None and first is None:
            self._first[key] = path


def encode_webp(image: Image.Image, options: dict[str, object]) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", **options)
    return buffer.getvalue()


def tile_path(page_dir: Path, zoom: int, column: int, row: int) -> Path:
    return page_dir / str(zoom) / str(column) / f"{row}.{FORMAT}"


def write_atomic(path: Path, data: bytes) -> None:
    """Write through a temporary name and rename, so a reader (or a worker killed halfway)
    never leaves a truncated file under the final name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def hex_colour(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def parse_hex_colour(text: str) -> tuple[int, int, int]:
    return int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16)
