"""Rendering one page's share of a tile pyramid, inside a worker process.

A worker opens the PDF itself, records the page once into a MuPDF display list, decides
the page's kind (vector sheet or scan) and full-zoom size, and then draws its share of
the bands of every zoom level straight from the display list at that level's scale
(sharper than downsampling, and no level ever needs the whole page in memory), slicing
each band into tiles. Everything a worker needs to agree with its siblings (size, kind,
background) is computed deterministically from the same file; the only thing they share
is which bands are taken (tiling.BandClaims, files in the page's directory).

Runs in the child; must not import Flask, SQLAlchemy, storage, floorplans or
converters.isolation."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pymupdf
from PIL import Image, ImageStat
from pymupdf import mupdf

from converters import tiling

# A page is a scan when one raster image covers most of it and it has (almost) no vector
# paths: a paper plan photographed or scanned and wrapped in a PDF. The auditorium plan in
# the corpus, a raster background under ~1,000 vector paths, stays a vector sheet.
SCAN_MIN_COVERAGE = 0.6
SCAN_MAX_PATHS = 50
# Scans are drawn in taller bands: each band draws the image again, and fewer, larger
# bands decode it fewer times. The pixel cap keeps a band's memory bounded (RGB pixmap plus
# Pillow's copy: ~7 bytes a pixel).
SCAN_BAND_ROWS = 4
SCAN_BAND_MAX_PIXELS = 8_000_000

WHITE = (255, 255, 255)
# MuPDF anti-aliases with 8 bits (256 coverage levels) by default. Line art is posterized
# to 13 luma levels before encoding (tiling.posterize), so 4 bits (16 levels) draw the
# same tiles to the eye, 15-30% faster on the corpus's vector sheets. Scans keep 8 bits.
LINE_ART_AA_BITS = 4


@dataclass(frozen=True)
class PagePlan:
    """Everything about a page's pyramid that its workers must agree on."""

    number: int
    kind: str
    dpi: float
    width: int
    height: int
    max_zoom: int
    background: tuple[int, int, int]
    overview_width: int
    overview_height: int

    @property
    def tiles(self) -> int:
        return tiling.count_tiles(self.width, self.height, self.max_zoom)

    @property
    def line_art(self) -> bool:
        """Vector sheets are posterized before encoding (tiling.posterize); scans never:
        a page whose largest image covers most of it is a photograph or a scan. A vector
        sheet keeps its smaller images (the auditorium's raster plan, the restaurant's
        grey furniture), which on the corpus are line art too."""
        return self.kind == "vector"

    @property
    def band_rows(self) -> int:
        if self.kind != "scan":
            return 1
        band_width = min(self.width, tiling.MAX_BAND_COLUMNS * tiling.TILE_SIZE)
        fits = SCAN_BAND_MAX_PIXELS // (band_width * tiling.TILE_SIZE)
        return max(1, min(SCAN_BAND_ROWS, fits))


def fit_resolution(width_pt: float, height_pt: float, dpi: float, page_pixels: int) -> tuple[float, int, int]:
    """(dpi, width, height) at ``dpi`` or lower, so that width * height <= page_pixels."""
    area = width_pt * height_pt
    ceiling = 72.0 * math.sqrt(page_pixels / area)
    dpi = min(dpi, ceiling)
    while True:
        width = max(1, round(width_pt * dpi / 72.0))
        height = max(1, round(height_pt * dpi / 72.0))
        if width * height <= page_pixels or dpi < 1e-3:
            return dpi, width, height
        dpi *= 0.999


def classify(page: pymupdf.Page) -> tuple[str, float | None]:
    """("scan", native dpi) or ("vector", None)."""
    rect = page.rect
    page_area = rect.width * rect.height
    best: tuple[float, float] | None = None
    for info in page.get_image_info():
        placed = pymupdf.Rect(info["bbox"])
        if placed.is_empty or info["width"] <= 0 or info["height"] <= 0:
            continue
        coverage = (placed & rect).get_area() / page_area
        if coverage >= SCAN_MIN_COVERAGE and (best is None or coverage > best[0]):
            # Area-based so an image placed turned by 90 degrees measures the same.
            native = 72.0 * math.sqrt(info["width"] * info["height"] / placed.get_area())
            best = (coverage, native)
    if best is None or len(page.get_cdrawings()) > SCAN_MAX_PATHS:
        return "vector", None
    return "scan", best[1]


def border_colour(image: Image.Image) -> tuple[int, int, int]:
    """The median colour of the image's outer ring: what to pad a scan's edge tiles with,
    so the padding continues the paper rather than cutting it off in white or black."""
    width, height = image.size
    ring = max(1, min(width, height) // 50)
    strips = [
        image.crop((0, 0, width, ring)),
        image.crop((0, height - ring, width, height)),
        image.crop((0, 0, ring, height)).rotate(90, expand=True),
        image.crop((width - ring, 0, width, height)).rotate(90, expand=True),
    ]
    joined = Image.new("RGB", (sum(strip.width for strip in strips), ring))
    offset = 0
    for strip in strips:
        joined.paste(strip, (offset, 0))
        offset += strip.width
    median = ImageStat.Stat(joined).median
    return int(median[0]), int(median[1]), int(median[2])


class PageRenderer:
    """One page of one PDF, recorded once, drawn at any scale and clip."""

    def __init__(self, document: pymupdf.Document, number: int) -> None:
        self.number = number
        self.page = document.load_page(number - 1)
        self.rect = self.page.rect
        # The display list holds the page as a viewer shows it (after /Rotate and the crop
        # box), in points from the top-left corner.
        self.display_list = self.page.get_displaylist()
        self._overview: Image.Image | None = None

    def draw(self, width: int, height: int, box: tuple[int, int, int, int]) -> Image.Image:
        """The part ``box`` (x0, y0, x1, y1) of the page drawn at ``width`` x ``height``."""
        x0, y0, x1, y1 = box
        matrix = mupdf.FzMatrix(
            width / self.rect.width, 0, 0, height / self.rect.height,
            -self.rect.x0 * width / self.rect.width, -self.rect.y0 * height / self.rect.height,
        )  # fmt: skip
        bbox = mupdf.FzIrect(x0, y0, x1, y1)
        # A pixmap with exactly this bbox, drawn through the low-level API: PyMuPDF's
        # clip parameter rounds in page space and can be a pixel off at band edges.
        pixmap = mupdf.fz_new_pixmap_with_bbox(mupdf.fz_device_rgb(), bbox, mupdf.FzSeparations(), 0)
        mupdf.fz_clear_pixmap_with_value(pixmap, 0xFF)  # paper is white, as in a viewer
        device = mupdf.fz_new_draw_device(mupdf.FzMatrix(), pixmap)
        try:
            mupdf.fz_run_display_list(
                self.display_list.this, device, matrix, mupdf.fz_rect_from_irect(bbox), mupdf.FzCookie()
            )
        finally:
            mupdf.fz_close_device(device)
        samples = mupdf.fz_pixmap_samples_memoryview(pixmap)
        stride = mupdf.fz_pixmap_stride(pixmap)
        return Image.frombuffer("RGB", (x1 - x0, y1 - y0), samples, "raw", "RGB", stride, 1)

    @property
    def overview_size(self) -> tuple[int, int]:
        scale = tiling.OVERVIEW_SIDE / max(self.rect.width, self.rect.height)
        return max(1, round(self.rect.width * scale)), max(1, round(self.rect.height * scale))

    def overview(self) -> Image.Image:
        """The whole page with its longest side 1024 px (drawn once, on first use)."""
        if self._overview is None:
            self._overview = self.draw(*self.overview_size, (0, 0, *self.overview_size))
        return self._overview

    def plan(self, page_pixels: int, target_dpi: float) -> PagePlan:
        kind, native_dpi = classify(self.page)
        wanted = native_dpi if kind == "scan" and native_dpi else target_dpi
        dpi, width, height = fit_resolution(self.rect.width, self.rect.height, wanted, page_pixels)
        return PagePlan(
            number=self.number,
            kind=kind,
            dpi=round(dpi, 2),
            width=width,
            height=height,
            max_zoom=tiling.max_zoom_for(width, height),
            background=border_colour(self.overview()) if kind == "scan" else WHITE,
            overview_width=self.overview_size[0],
            overview_height=self.overview_size[1],
        )


@contextmanager
def antialiasing(bits: int) -> Iterator[None]:
    """MuPDF's anti-aliasing (graphics and text) set to ``bits`` within the block."""
    graphics, text = mupdf.fz_graphics_aa_level(), mupdf.fz_text_aa_level()
    mupdf.fz_set_graphics_aa_level(bits)
    mupdf.fz_set_text_aa_level(bits)
    try:
        yield
    finally:
        mupdf.fz_set_graphics_aa_level(graphics)
        mupdf.fz_set_text_aa_level(text)


def render_share(
    renderer: PageRenderer, plan: PagePlan, page_dir: Path, on_band: Callable[[int, int], None]
) -> tuple[int, int]:
    """Draw, slice, encode and write the bands this worker claims (tiling.BandClaims);
    return (tiles, bytes). ``on_band(tiles_done, bytes_done)`` is called after each band."""
    encoder = tiling.TileEncoder(lossless=plan.kind != "scan", posterize=plan.line_art)
    bands = tiling.plan_bands(plan.width, plan.height, plan.max_zoom, plan.band_rows)
    claims = tiling.BandClaims(page_dir / tiling.CLAIMS_FOLDER)
    writer = tiling.TileWriter(page_dir)
    tiles = written = 0
    with antialiasing(LINE_ART_AA_BITS if plan.line_art else mupdf.fz_graphics_aa_level()):
        for number, band in enumerate(bands):
            if not claims.claim(number):
                continue
            image = renderer.draw(band.level_width, band.level_height, band.pixel_box)
            for column, row, tile in tiling.band_tiles(band, image, plan.background):
                data, key = encoder.encode(tile)
                writer.write(band.zoom, column, row, data, key)
                tiles += 1
                written += len(data)
            on_band(tiles, written)
    return tiles, written
