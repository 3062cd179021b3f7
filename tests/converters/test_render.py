"""render_pages over the real corpus: every plan comes out upright and the same as MuPDF's
own rendering of the page, as a complete Leaflet pyramid with padded edge tiles; hostile
files that validate also render."""

from __future__ import annotations

import io
from pathlib import Path

import pymupdf
import pytest
from PIL import Image, ImageChops, ImageStat

from converters import PageResult, RenderLimits, render_pages
from converters.tiling import count_tiles, grid_size, level_size, parse_hex_colour

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
PLANS = sorted(path.name for path in CORPUS.glob("plan-*.pdf"))
# Full resolution is not what these tests are about: 4 Mpx keeps the corpus quick.
SMALL = RenderLimits(page_pixels=4_000_000)
SCANS = {
    "plan-school-scanned-photo-ocr.pdf",
    "plan-art-gallery-raster-oversize-page.pdf",
    "plan-assembly-hall-raster-5pages-mixed-sizes.pdf",
}


def open_tile(result: PageResult, zoom: int, column: int, row: int) -> Image.Image:
    return Image.open(result.directory / str(zoom) / str(column) / f"{row}.webp").convert("RGB")


def stitch(result: PageResult, zoom: int) -> Image.Image:
    """Level ``zoom`` reassembled from its tiles, padding included."""
    columns, rows = grid_size(*level_size(result.width, result.height, zoom, result.max_zoom))
    canvas = Image.new("RGB", (columns * 256, rows * 256), (255, 0, 255))
    for column in range(columns):
        for row in range(rows):
            tile = open_tile(result, zoom, column, row)
            assert tile.size == (256, 256)
            canvas.paste(tile, (column * 256, row * 256))
    return canvas


def mean_difference(first: Image.Image, second: Image.Image) -> float:
    width, height = min(first.width, second.width), min(first.height, second.height)
    box = (0, 0, width, height)
    return sum(ImageStat.Stat(ImageChops.difference(first.crop(box), second.crop(box))).mean) / 3


def mupdf_reference(path: Path, number: int, width: int, height: int) -> Image.Image:
    page = pymupdf.open(path)[number - 1]
    matrix = pymupdf.Matrix(width / page.rect.width, height / page.rect.height)
    pixmap = page.get_pixmap(matrix=matrix, alpha=False)
    return Image.frombytes("RGB", (pixmap.width, pixmap.height), pixmap.samples)


def assert_complete_pyramid(result: PageResult) -> None:
    entries = {entry.name for entry in result.directory.iterdir()}
    assert entries == {"overview.webp"} | {str(zoom) for zoom in range(result.max_zoom + 1)}
    for zoom in range(result.max_zoom + 1):
        columns, rows = grid_size(*level_size(result.width, result.height, zoom, result.max_zoom))
        found = {
            (int(column.name), int(tile.name.removesuffix(".webp")))
            for column in (result.directory / str(zoom)).iterdir()
            for tile in column.iterdir()
        }
        assert found == {(column, row) for column in range(columns) for row in range(rows)}, f"level {zoom}"
    assert grid_size(*level_size(result.width, result.height, 0, result.max_zoom)) == (1, 1)
    assert result.tiles == count_tiles(result.width, result.height, result.max_zoom)
    on_disk = sum(path.stat().st_size for path in result.directory.rglob("*") if path.is_file())
    assert result.bytes == on_disk


@pytest.mark.slow
@pytest.mark.parametrize("name", PLANS)
def test_plan_page_one_renders_upright_and_complete(name: str, tmp_path: Path) -> None:
    path = CORPUS / name
    [result] = render_pages(path, tmp_path, [1], limits=SMALL)
    page = pymupdf.open(path)[0]

    assert result.kind == ("scan" if name in SCANS else "vector")
    assert result.width * result.height <= SMALL.page_pixels
    assert result.width / result.height == pytest.approx(page.rect.width / page.rect.height, rel=0.01)
    assert (result.tile_size, result.min_zoom, result.format) == (256, 0, "webp")
    assert result.directory == tmp_path / "1"
    assert_complete_pyramid(result)

    full = stitch(result, result.max_zoom)
    reference = mupdf_reference(path, 1, result.width, result.height)
    assert abs(reference.width - result.width) <= 1
    assert abs(reference.height - result.height) <= 1
    # Upright and what MuPDF itself draws: vector tiles are lossless but posterized (a few
    # levels of anti-aliasing: ~1-2/255 a pixel), scans lossy.
    assert mean_difference(full, reference) < (4.0 if result.kind == "scan" else 2.5)

    background = parse_hex_colour(result.background)
    right_pad = full.crop((result.width, 0, full.width, result.height))
    bottom_pad = full.crop((0, result.height, full.width, full.height))
    for pad in (right_pad, bottom_pad):
        if pad.width and pad.height:
            assert max(abs(a - b) for a, b in zip(ImageStat.Stat(pad).mean, background, strict=True)) < 3
    if result.kind == "vector":
        assert result.background == "#ffffff"

    overview = Image.open(result.directory / "overview.webp").convert("RGB")
    assert overview.size == (result.overview_width, result.overview_height)
    assert max(overview.size) == 1024
    assert mean_difference(overview, mupdf_reference(path, 1, *overview.size)) < 6.0


@pytest.mark.slow
def test_rotated_sheets_come_out_as_a_viewer_shows_them(tmp_path: Path) -> None:
    # Stored portrait with /Rotate 90 and 270: displayed landscape, text reading left to right.
    for name in (
        "plan-restaurant-inn-8sheets-A1-rot90-autocad.pdf",
        "plan-farmhouse-25sheets-tabloid-rot270-brotli.pdf",
    ):
        [result] = render_pages(CORPUS / name, tmp_path / name, [1], limits=RenderLimits(page_pixels=1_000_000))
        assert result.width > result.height
        full = stitch(result, result.max_zoom)
        reference = mupdf_reference(CORPUS / name, 1, result.width, result.height)
        turned = reference.rotate(180)
        assert mean_difference(full, reference) < mean_difference(full, turned) / 3


@pytest.mark.slow
def test_largest_vector_sheet_at_full_budget(tmp_path: Path) -> None:
    path = CORPUS / "plan-restaurant-inn-8sheets-A1-rot90-autocad.pdf"
    [result] = render_pages(path, tmp_path, [1])
    # A1 turned by /Rotate 90, 2384 x 1684 pt at 288 dpi: 9536 x 6736 px, 2**6 tiles across.
    assert (result.width, result.height, result.dpi, result.max_zoom) == (9536, 6736, 288.0, 6)
    assert result.tiles == count_tiles(9536, 6736, 6)
    page = pymupdf.open(path)[0]
    # Text positions come unrotated; the rotation matrix maps them to the page as displayed.
    title = page.search_for("THE CRAYFISH INN")[0] * page.rotation_matrix
    column, row = int((title.x0 + title.x1) / 2 * 4 // 256), int((title.y0 + title.y1) / 2 * 4 // 256)
    darkest, lightest = open_tile(result, 6, column, row).convert("L").getextrema()
    assert darkest < 80, "a full-zoom tile under the sheet's title should hold its dark letters"
    assert lightest > 200


def scan_pdf(colour: tuple[int, int, int]) -> bytes:
    """A page entirely covered by one 600 x 450 px photo, 300 dpi on a 144 x 108 pt page."""
    photo = Image.new("RGB", (600, 450), colour)
    for x in range(0, 600, 40):
        photo.paste((20, 20, 20), (x, 100, x + 3, 350))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=95)
    document = pymupdf.open()
    page = document.new_page(width=144, height=108)
    page.insert_image(page.rect, stream=buffer.getvalue())
    return document.tobytes()


@pytest.mark.slow  # renders in child processes
def test_a_scan_renders_at_its_native_resolution_padded_with_its_paper(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(scan_pdf((230, 215, 180)))
    [result] = render_pages(path, tmp_path / "out", [1])
    assert result.kind == "scan"
    assert result.dpi == pytest.approx(300, rel=0.01)
    assert (result.width, result.height, result.max_zoom) == (600, 450, 2)
    red, green, blue = parse_hex_colour(result.background)
    assert abs(red - 230) <= 3 and abs(green - 215) <= 3 and abs(blue - 180) <= 3
    corner = open_tile(result, 2, 2, 1)  # covers x 512..767, y 256..511 of a 600 x 450 image
    padding = corner.crop((100, 200, 256, 256))
    assert max(abs(a - b) for a, b in zip(ImageStat.Stat(padding).mean, (red, green, blue), strict=True)) < 3


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "bad-javascript-openaction.pdf",
        "bad-encrypted-owner-only-noprint.pdf",
        "bad-xref-missing.pdf",
        "bad-deep-nesting-68k-dicts-trailer.pdf",
        "bad-image-bomb-151mpx-1bit.pdf",
    ],
)
def test_hostile_files_that_validate_also_render(name: str, tmp_path: Path) -> None:
    limits = RenderLimits(page_pixels=2_000_000, wall_seconds=60, memory_mb=1024)
    [result] = render_pages(CORPUS / name, tmp_path, [1], limits=limits)
    assert_complete_pyramid(result)


@pytest.mark.slow  # renders in child processes
def test_vector_tiles_are_posterized_and_scans_are_not(tmp_path: Path) -> None:
    document = pymupdf.open()
    page = document.new_page(width=300, height=200)
    page.draw_rect(pymupdf.Rect(20, 20, 140, 120), color=(0, 0, 0), fill=(0.91, 0.93, 0.93), width=1.5)
    page.draw_circle((220, 90), 50, color=(0.9, 0.1, 0.1), width=2)
    page.insert_text((30, 160), "ROOM 1401A  3600 x 2400", fontsize=11)
    vector = tmp_path / "vector.pdf"
    vector.write_bytes(document.tobytes())
    [drawing] = render_pages(vector, tmp_path / "vector", [1], limits=RenderLimits(target_dpi=300))
    assert drawing.kind == "vector"
    full = stitch(drawing, drawing.max_zoom)
    colours = full.getcolors(1 << 20)
    assert colours is not None and len(colours) <= 128
    assert mean_difference(full, mupdf_reference(vector, 1, drawing.width, drawing.height)) < 2.0

    # A scanned photograph keeps its smooth tones: no levels, no bands.
    photo = Image.linear_gradient("L").resize((600, 450)).convert("RGB")
    buffer = io.BytesIO()
    photo.save(buffer, "PNG")
    document = pymupdf.open()
    page = document.new_page(width=144, height=108)
    page.insert_image(page.rect, stream=buffer.getvalue())
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(document.tobytes())
    [scanned] = render_pages(scan, tmp_path / "scan", [1])
    assert scanned.kind == "scan"
    greys = stitch(scanned, scanned.max_zoom).crop((0, 0, 600, 450)).convert("L").getcolors(256)
    assert greys is not None and len(greys) > 150
