"""The packet and the plan drawing as pure functions over data (no app, no database): paper
sizes and orientation, the grid's labels where floorplans.grid puts its cells, icons,
north arrow, text in any script, and stitching tiles back into a page."""
from __future__ import annotations

import io

import pymupdf
import pytest
from PIL import Image

from converters import packet, plan_drawing, stitch
from converters.tiling import TILE_SIZE, level_size
from floorplans import marker_kinds
from floorplans.grid import column_label, plan_grid

KINDS = {kind.key: packet.KindStyle(kind.label, marker_kinds.icon_svg(kind.key)) for kind in marker_kinds.KINDS}


def plan_image(width: int, height: int) -> bytes:
    """A stand-in plan: white paper with a dark frame and a cross."""
    image = Image.new("RGB", (width, height), "white")
    pixels = image.load()
    for x in range(width):
        for y in (0, height // 2, height - 1):
            pixels[x, y] = (20, 20, 20)
    for y in range(height):
        for x in (0, width // 2, width - 1):
            pixels[x, y] = (20, 20, 20)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def floor(width: int = 1600, height: int = 1000, **values: object) -> packet.Floor:
    grid = plan_grid(width, height)
    fields: dict[str, object] = {
        "label": "Ground floor", "image": plan_image(width // 8, height // 8), "width": width, "height": height,
        "grid_columns": [column_label(i) for i in range(grid.columns)], "grid_rows": grid.rows,
        "grid_cell": grid.cell, **values,
    }
    return packet.Floor(**fields)  # type: ignore[arg-type]


def build(paper: str = "letter", floors: list[packet.Floor] | None = None, **values: object) -> pymupdf.Document:
    card = packet.Card("Masjid Al-Noor", "77 Queen Street West, Toronto", [("Key box", "Left of the main door")],
                       [packet.CardContact("Amina Khan", "416-555-0101", "24/7", "Caretaker · KEYS")])
    data = packet.build_packet(packet.Packet(
        paper=packet.PAPERS[paper], card=card, floors=floors if floors is not None else [floor()], kinds=KINDS,
        printed="Printed 2026-11-22 09:00 EST by Jane Doe", verified="Record last verified 2026-10-01",
        plan_version=2, **values,  # type: ignore[arg-type]
    ))
    return pymupdf.open("pdf", data)


@pytest.mark.parametrize(("paper", "short", "long"), [("letter", 612, 792), ("tabloid", 792, 1224),
                                                      ("a4", 595, 842), ("a3", 842, 1191)])
def test_paper_sizes_and_orientation_per_floor(paper: str, short: int, long: int) -> None:
    document = build(paper, [floor(1600, 1000), floor(1000, 1600, label="Tower")])
    sizes = [(round(page.rect.width), round(page.rect.height)) for page in document]
    # The card is portrait; a wide plan gets a landscape sheet, a tall one a portrait sheet.
    assert sizes == [(short, long), (long, short), (short, long)]


def test_grid_labels_sit_on_the_cells_of_floorplans_grid() -> None:
    plan = floor(1600, 1000)
    page = build(floors=[plan])[1]
    grid = plan_grid(1600, 1000)
    assert (grid.columns, grid.rows) == (10, 7)  # the 7th row is partial
    image = next(info for info in page.get_image_info() if info["width"] == 200)
    left, top, right, _bottom = image["bbox"]
    cell = grid.cell / 1600 * (right - left)
    for index in range(grid.columns):
        letter = column_label(index)
        hits = page.search_for(letter)
        assert len(hits) >= 2, letter  # above and below the plan
        # Centred over its column (or over the partial last one).
        expected = min(left + (index + 0.5) * cell, (left + index * cell + right) / 2)
        assert any(abs((hit.x0 + hit.x1) / 2 - expected) < 2 and hit.y1 <= top + 1 for hit in hits), letter
    for row in range(1, grid.rows + 1):
        hits = [hit for hit in page.search_for(str(row)) if hit.x1 <= left + 1 or hit.x0 >= right - 1]
        assert len(hits) >= 2, row  # left and right of the plan


def test_markers_legend_north_and_exercise() -> None:
    marks = [packet.Mark("door", 0.1, 0.5, "A1 Main entrance"), packet.Mark("aed", 0.5, 0.5),
             packet.Mark("gas_shutoff", 0.7, 0.3, "", confirmed=False)]
    sketches = [packet.Sketch("line", [(0.1, 0.1), (0.4, 0.3)], "#dc2626", "Route 1"),
                packet.Sketch("area", [(0.6, 0.6), (0.9, 0.6), (0.9, 0.9)], "#2563eb", "Sector B"),
                packet.Sketch("note", [(0.2, 0.3)], "#16a34a", "Command post"),
                packet.Sketch("marker", [(0.8, 0.2)], "#9333ea", "", "staging_area")]
    document = build(floors=[floor(marks=marks, north_degrees=90.0), floor(label="Basement", sketches=sketches)],
                     exercise="Tabletop 2026")
    first, second = document[1].get_text(), document[2].get_text()
    assert "A1 Main entrance" in first and "Exterior door" in first and "AED (defibrillator)" in first
    assert "not yet confirmed" in first and "Gas shut-off" in first
    assert "Staging area" in second and "Exterior door" not in second
    assert "Route 1" in second and "Sector B" in second and "Command post" in second
    for page in document:
        assert "EXERCISE — not the building's record · Tabletop 2026" in page.get_text()
    words = [{w[4] for w in page.get_text("words")} for page in document]
    assert "N" in words[1] and "N" not in words[2]
    # Icons are drawn from their SVGs (vectors, not rasters: one image per floor page), at
    # their page-relative place: the AED's green disc at the middle of the plan.
    assert len(document[1].get_images()) == 1
    box = pymupdf.Rect(document[1].get_image_info()[0]["bbox"])
    centre = pymupdf.Point((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2)
    pixmap = document[1].get_pixmap(dpi=144, clip=pymupdf.Rect(centre.x - 8, centre.y - 8, centre.x + 8, centre.y + 8))
    red, green, blue = pixmap.pixel(pixmap.width // 2 - 10, pixmap.height // 2)  # 5 pt left of the centre
    assert green > 100 and red < 60 and blue < 100, (red, green, blue)
    plain = build(floors=[floor(marks=marks)])
    assert "EXERCISE" not in plain[1].get_text()


def test_footer_card_and_text_in_any_script() -> None:
    card = packet.Card("ਗੁਰਦੁਆਰਾ ਸਾਹਿਬ — Gurdwara", "1 Main St", [("Hazards", "מטף כיבוי")], [])
    data = packet.build_packet(packet.Packet(
        paper=packet.PAPERS["a4"], card=card, floors=[floor()], kinds=KINDS, printed="Printed now by Jane",
        verified="Record never verified", plan_version=None,
    ))
    document = pymupdf.open("pdf", data)
    card_text = document[0].get_text()
    assert "ਗੁਰਦੁਆਰਾ" in card_text and "No contacts on record." in card_text
    for number, page in enumerate(document, start=1):
        text = page.get_text()
        assert f"Printed now by Jane · Record never verified · page {number} of 2" in text
        assert "Sensitive: security plan of a place of worship. Do not share." in text
    pixmap = document[0].get_pixmap(dpi=40)
    assert len(set(pixmap.samples)) > 2  # drawn, not blank


def test_annotate_plan_keeps_the_size_and_draws_over_the_image() -> None:
    image = plan_image(800, 500)
    plan = floor(1600, 1000, marks=[packet.Mark("aed", 0.5, 0.5)])
    drawn = Image.open(io.BytesIO(plan_drawing.annotate_plan(image, 800, 500, plan, KINDS, grid=True, marks=True)))
    bare = Image.open(io.BytesIO(plan_drawing.annotate_plan(image, 800, 500, plan, KINDS, grid=False, marks=False)))
    assert drawn.size == bare.size == (800, 500)
    assert drawn.getpixel((400, 250)) != bare.getpixel((400, 250))  # the AED icon at the centre
    assert bare.getpixel((200, 125)) == (255, 255, 255)


def tiles_of(image: Image.Image) -> dict[tuple[int, int], bytes]:
    found = {}
    for column in range(-(-image.width // TILE_SIZE)):
        for row in range(-(-image.height // TILE_SIZE)):
            tile = Image.new("RGB", (TILE_SIZE, TILE_SIZE), (250, 250, 250))
            tile.paste(image.crop((column * TILE_SIZE, row * TILE_SIZE, (column + 1) * TILE_SIZE,
                                   (row + 1) * TILE_SIZE)), (0, 0))
            buffer = io.BytesIO()
            tile.save(buffer, "WEBP", lossless=True)
            found[column, row] = buffer.getvalue()
    return found


def test_stitching_puts_tiles_back_and_skips_damaged_ones() -> None:
    page = Image.effect_noise((600, 300), 60).convert("RGB")
    tiles = tiles_of(page)
    whole = stitch.stitch(lambda c, r: tiles.get((c, r)), 600, 300, 2, 2)
    assert whole.size == (600, 300) and whole.tobytes() == page.tobytes()
    tiles[1, 0] = b"RIFF-not-a-tile"
    damaged = stitch.stitch(lambda c, r: tiles.get((c, r)), 600, 300, 2, 2, background="#ff0000")
    assert damaged.getpixel((300, 100)) == (255, 0, 0) and damaged.getpixel((10, 10)) == page.getpixel((10, 10))
    scaled = stitch.stitch(lambda c, r: tiles.get((c, r)), 600, 300, 2, 2, size=(200, 100))
    assert scaled.size == (200, 100)


def test_levels_for_paper_and_budget() -> None:
    # A 6736 x 4764 page (A2 at 288 dpi), max zoom 5: Letter wants ~2200 px, tabloid ~3400.
    assert level_size(6736, 4764, 4, 5) == (3368, 2382)
    assert stitch.print_plan(6736, 4764, 5, packet.plan_pixels(packet.PAPERS["letter"])) == (4, None)
    zoom, size = stitch.print_plan(6736, 4764, 5, 6000)
    assert zoom == 5 and size is not None and size[0] * size[1] <= stitch.MAX_PIXELS
    assert stitch.zoom_for(6736, 4764, 5, 100_000) == 4  # within the budget
    with pytest.raises(ValueError, match="budget"):
        stitch.stitch(lambda c, r: None, 6736, 4764, 5, 5)


@pytest.mark.parametrize("colour", [(20, 20, 20), (200, 30, 30)])
def test_line_art_goes_on_paper_as_its_own_pixels(colour: tuple[int, int, int]) -> None:
    # A plan image given as a Raster (grey or RGB rows, already deflated) must come out of
    # the PDF exactly as it went in: the same pixels, the same size, grey kept grey.
    image = Image.new("RGB", (400, 250), "white")
    image.paste(colour, (100, 50, 300, 200))
    image.paste((128, 128, 128), (0, 0, 40, 250))
    raster = stitch.for_pdf(image, line_art=True)
    assert isinstance(raster, stitch.Raster) and raster.grey is (colour[0] == colour[1] == colour[2])
    document = build(floors=[floor(3200, 2000, image=raster)])
    (xref, *_), = document[1].get_images()
    extracted = pymupdf.Pixmap(document, xref)
    assert (extracted.width, extracted.height) == (400, 250)
    assert extracted.n == (1 if raster.grey else 3)
    assert Image.frombytes("L" if raster.grey else "RGB", (400, 250), extracted.samples).convert("RGB").tobytes() \
        == image.tobytes()
    # And the plan is where the page shows it: the square's colour is what most of a patch
    # inside it shows (grid lines may cross the patch).
    box = pymupdf.Rect(document[1].get_image_info()[0]["bbox"])
    x, y = box.x0 + box.width * 0.4, box.y0 + box.height * 0.45
    shown = document[1].get_pixmap(dpi=72, clip=pymupdf.Rect(x, y, x + 8, y + 8))
    patch = Image.frombytes("RGB", (shown.width, shown.height), shown.samples)
    _count, common = max(patch.getcolors(256) or [(0, (0, 0, 0))])
    assert max(abs(a - b) for a, b in zip(common, colour, strict=True)) <= 3


def test_scans_go_on_paper_as_jpeg() -> None:
    image = Image.effect_noise((300, 200), 60).convert("RGB")
    data = stitch.for_pdf(image, line_art=False)
    assert isinstance(data, bytes) and data[:3] == b"\xff\xd8\xff"
