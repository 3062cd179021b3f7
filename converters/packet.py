"""The printed packet: a PDF for the table of a tabletop exercise or the binder in the
car.  A first page "card" (who to call, how to get in, shut-offs, hazards), then one page
per floor, landscape or portrait as the plan fits: the plan with its grid, markers and
optional exercise layer (converters.plan_drawing), a legend of the kinds on that page, a
north arrow when the partner set it, and a footer that says when, by whom and from which
record the copy was made.

Built from plain data (``Packet``): the plan images are rasters the caller made from our
own rendered tiles (converters.stitch), never the partner's original PDF, so nothing here
parses an untrusted document and this can run in the web process.

Pure PyMuPDF over data and bytes: must not import Flask, SQLAlchemy, storage or floorplans.
"""
from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pymupdf

from converters.plan_drawing import (
    INK,
    LARGE_SHEET,
    MUTED,
    RED,
    WHITE,
    Floor,
    Icons,
    KindStyle,
    Mark,
    Scale,
    Sketch,
    Text,
    draw_grid,
    draw_marks,
    draw_north,
    draw_sketches,
)
from converters.stitch import Raster

__all__ = ["PAPERS", "Card", "CardContact", "Floor", "KindStyle", "Mark", "MarkPhoto", "Packet", "Paper", "Sketch",
           "build_packet", "plan_pixels"]


@dataclass(frozen=True)
class Paper:
    key: str
    name: str
    width: float  # points, portrait
    height: float


PAPERS: dict[str, Paper] = {
    "letter": Paper("letter", "Letter", 612.0, 792.0),
    "tabloid": Paper("tabloid", "Tabloid", 792.0, 1224.0),
    "a4": Paper("a4", "A4", 595.28, 841.89),
    "a3": Paper("a3", "A3", 841.89, 1190.55),
}

#: Plan images are chosen for at least about this resolution across the whole sheet (the
#: plan itself is a little smaller than the sheet, so it prints at ~210-290 dpi): room
#: labels stay sharp, and more is bytes and seconds that an office printer does not show.
PRINT_DPI = 200


def plan_pixels(paper: Paper) -> int:
    """How many pixels the plan image needs along its longer side for ``paper``."""
    return int(paper.height / 72 * PRINT_DPI)


@dataclass(frozen=True)
class CardContact:
    name: str
    phone: str
    hours: str  # "24/7", "Mon–Fri 08:00–18:00", "" when not given
    details: str = ""  # role, key holder, languages, second number


@dataclass(frozen=True)
class Card:
    building_name: str
    address: str
    facts: Sequence[tuple[str, str]]  # ("Key box", "left of the main door, code with the caretaker")
    contacts: Sequence[CardContact]
    gatherings: Sequence[str] = ()  # "NOW Friday prayers until 14:00, ~400 expected"
    warning: str = ""  # "May be out of date: last confirmed 400 days ago"


@dataclass(frozen=True)
class MarkPhoto:
    """A marker's photo, printed under the floor's legend: the icon, what it is, its grid
    square, and the picture (our own stored WebP, JPEG or PNG: never a partner's file)."""

    kind: str
    text: str  # "Gas shut-off · Gas meter"
    cell: str  # "C8"
    image: bytes


@dataclass(frozen=True)
class Packet:
    paper: Paper
    card: Card
    floors: Sequence[Floor]
    kinds: Mapping[str, KindStyle]  # in the legend's order
    printed: str  # "Printed 2026-11-22 14:05 by Jane Doe"
    verified: str  # "Record last verified 2026-10-01" or "Record never verified"
    plan_version: int | None
    sensitivity: str = "Sensitive: security plan of a place of worship. Do not share."
    exercise: str = ""  # the exercise's name when its layer is drawn
    photos: Sequence[Sequence[MarkPhoto]] = ()  # each floor's markers' photos, in the floors' order


EXERCISE_TITLE = "EXERCISE — not the building's record"
MARGIN = 28.0


def scale_for(paper: Paper) -> Scale:
    return LARGE_SHEET if paper.height > 1000 else Scale()


# ---------------------------------------------------------------------------------------
# Pages


def _footer(page: pymupdf.Page, text: Text, packet: Packet, number: int, total: int) -> None:
    width, height = page.rect.width, page.rect.height
    parts = [packet.printed, packet.verified]
    if packet.plan_version is not None:
        parts.append(f"Plan version {packet.plan_version}")
    parts.append(f"page {number} of {total}")
    y = height - MARGIN + 2
    text.paragraph(MARGIN, width - MARGIN, y - 10, " · ".join(parts), 7.5, colour=MUTED)
    text.line(MARGIN, y + 1, packet.sensitivity, 7.5, bold=True, colour=RED)


def _exercise_band(page: pymupdf.Page, text: Text, packet: Packet, y: float) -> float:
    band = pymupdf.Rect(MARGIN, y, page.rect.width - MARGIN, y + 17)
    page.draw_rect(band, color=None, fill=RED)
    title = f"{EXERCISE_TITLE} · {packet.exercise}" if packet.exercise else EXERCISE_TITLE
    text.line(band.x0 + 6, band.y1 - 5, title, 10, bold=True, colour=WHITE)
    return band.y1 + 6


def _card_pages(document: pymupdf.Document, packet: Packet) -> None:
    """The card: one page, continued on more if a congregation lists many contacts."""
    card = packet.card
    paper = packet.paper
    page = document.new_page(width=paper.width, height=paper.height)
    text = Text(page)
    k = 1.3 if paper.height > 1000 else 1.0  # tabloid and A3: the same card, larger
    x0, x1 = MARGIN + 8, paper.width - MARGIN - 8
    bottom = paper.height - MARGIN - 26
    y = MARGIN + 6
    if packet.exercise:
        y = _exercise_band(page, text, packet, y)
    y = text.paragraph(x0, x1, y + 20 * k, card.building_name, 22 * k, bold=True, leading=1.15)
    y = text.paragraph(x0, x1, y, card.address, 12 * k, colour=MUTED)
    if card.warning:
        y = text.paragraph(x0, x1, y + 4, card.warning, 10.5 * k, bold=True, colour=RED)

    def next_page() -> None:
        nonlocal page, text
        text.finish()
        page = document.new_page(width=paper.width, height=paper.height)
        text = Text(page)

    def heading(title: str) -> None:
        nonlocal y
        if y + 40 * k > bottom:
            next_page()
            y = MARGIN + 10
        y += 14 * k
        text.line(x0, y, title.upper(), 9 * k, bold=True, colour=MUTED)
        page.draw_line((x0, y + 3), (x1, y + 3), color=MUTED, width=0.4)
        y += 16 * k

    def room(lines: float) -> None:
        nonlocal y
        if y + lines * k > bottom:
            next_page()
            y = MARGIN + 24

    if card.gatherings:
        heading("Gatherings")
        for line in card.gatherings:
            room(14)
            y = text.paragraph(x0, x1, y, line, 10.5 * k)
    heading("Call, in this order")
    if not card.contacts:
        y = text.paragraph(x0, x1, y, "No contacts on record.", 10.5 * k, colour=MUTED)
    for number, contact in enumerate(card.contacts, start=1):
        room(30)
        text.line(x0, y, f"{number}.", 11 * k, bold=True)
        name_width = text.line(x0 + 18 * k, y, contact.name, 11 * k, bold=True)
        text.line(max(x0 + (18 + 12) * k + name_width, x0 + 200 * k), y, contact.phone, 12 * k, bold=True)
        if contact.hours:
            text.line(x1, y, contact.hours, 10 * k, bold=contact.hours == "24/7", align="right")
        y += 13 * k
        if contact.details:
            y = text.paragraph(x0 + 18 * k, x1, y, contact.details, 9 * k, colour=MUTED)
        y += 3
    heading("Building")
    label_width = 92 * k
    for label, value in card.facts:
        if not value:
            continue
        room(14)
        text.line(x0, y, label, 9.5 * k, bold=True, colour=RED if label == "Hazards" else INK)
        y = text.paragraph(x0 + label_width, x1, y, value, 10 * k)
        y += 2
    if packet.floors:
        heading("Floors in this packet")
        for number, floor in enumerate(packet.floors, start=2):
            room(14)
            y = text.paragraph(x0, x1, y, f"{floor.label} · page {number}", 10 * k)
    text.finish()


def _legend_rows(kinds: Sequence[str], columns: int) -> int:
    return -(-len(kinds) // columns) if kinds else 0


LEGEND_COLUMN = 150.0
LEGEND_ROW = 13.0
PHOTO_COLUMN = 180.0  # a marker's photo beside its icon, name and grid square
PHOTO_ROW = 62.0
PHOTO_SIDE = 56.0
GUTTER = 15.0  # around the plan, for the grid's letters and numbers
HEADER = 30.0
FOOTER = 26.0


def _kinds_on(floor: Floor, kinds: Mapping[str, KindStyle]) -> list[str]:
    present = {m.kind for m in floor.marks} | {s.kind for s in floor.sketches if s.shape == "marker"}
    return [key for key in kinds if key in present]


def _photo_columns(width: float) -> int:
    return max(1, int((width - 2 * MARGIN) // PHOTO_COLUMN))


def _layout(width: float, height: float, floor: Floor, kinds: Mapping[str, KindStyle],
            exercise: bool, photos: int = 0) -> tuple[pymupdf.Rect, pymupdf.Rect, int]:
    """Where the plan image goes on a sheet of this size, the legend's box and its columns
    (the kinds' rows, then ``photos`` markers' photos in rows of their own)."""
    present = _kinds_on(floor, kinds)
    north = 52.0 if floor.north_degrees is not None else 0.0
    columns = max(1, int((width - 2 * MARGIN - north) // LEGEND_COLUMN))
    rows = _legend_rows(present, columns)
    if any(not m.confirmed for m in floor.marks):
        rows += 1
    legend_height = max(rows * LEGEND_ROW + (6 if rows else 0), 46.0 if north else 0.0)
    legend_height += -(-photos // _photo_columns(width)) * PHOTO_ROW
    top = MARGIN + HEADER + (23 if exercise else 0)
    bottom = height - MARGIN - FOOTER - legend_height
    frame = pymupdf.Rect(MARGIN + GUTTER, top + GUTTER, width - MARGIN - GUTTER, bottom - GUTTER)
    legend = pymupdf.Rect(MARGIN, bottom, width - MARGIN, bottom + legend_height)
    aspect = floor.width / floor.height
    if frame.width / frame.height > aspect:
        image_width = frame.height * aspect
        image = pymupdf.Rect(frame.x0 + (frame.width - image_width) / 2, frame.y0,
                             frame.x0 + (frame.width + image_width) / 2, frame.y1)
    else:
        image_height = frame.width / aspect
        image = pymupdf.Rect(frame.x0, frame.y0, frame.x1, frame.y0 + image_height)
    return image, legend, columns


def sheet_for(paper: Paper, floor: Floor, kinds: Mapping[str, KindStyle], exercise: bool,
              photos: int = 0) -> tuple[float, float]:
    """Portrait or landscape, whichever shows the plan larger."""
    portrait = (paper.width, paper.height)
    landscape = (paper.height, paper.width)
    sizes = [_layout(*size, floor, kinds, exercise, photos)[0].width for size in (portrait, landscape)]
    return landscape if sizes[1] > sizes[0] * 1.02 else portrait


def insert_plan(document: pymupdf.Document, page: pymupdf.Page, rect: pymupdf.Rect, image: bytes | Raster) -> None:
    """The plan image into ``rect``: PNG or JPEG bytes as they are, a ``Raster`` as an image
    stream written directly, already compressed, so MuPDF never decodes or deflates it."""
    if isinstance(image, bytes):
        page.insert_image(rect, stream=image, keep_proportion=False)
        return
    xref = document.get_new_xref()
    colourspace = "/DeviceGray" if image.grey else "/DeviceRGB"
    document.update_object(xref, f"<</Type/XObject/Subtype/Image/Width {image.width}/Height {image.height}"
                                 f"/ColorSpace{colourspace}/BitsPerComponent 8>>")
    document.update_stream(xref, image.data, compress=False)  # stored as given: the bytes are deflated...
    document.xref_set_key(xref, "Filter", "/FlateDecode")  # ...so they say so (and the writer leaves them be)
    page.insert_image(rect, xref=xref, keep_proportion=False)


def _printable(image: bytes) -> tuple[bytes, int, int]:
    """A photo as MuPDF can place it, with its size: our stored WebP becomes a JPEG (MuPDF
    reads no WebP)."""
    from PIL import Image  # our own small pictures, made by converters.images

    picture = Image.open(io.BytesIO(image))
    if picture.format in ("JPEG", "PNG"):
        return image, picture.width, picture.height
    buffer = io.BytesIO()
    picture.convert("RGB").save(buffer, "JPEG", quality=85)
    return buffer.getvalue(), picture.width, picture.height


def _photos(document: pymupdf.Document, page: pymupdf.Page, text: Text, icons: Icons, packet: Packet,
            photos: Sequence[MarkPhoto], top: float, width: float) -> None:
    """Each marker's photo under the legend, with its icon, name and grid square."""
    columns = _photo_columns(width)
    for index, photo in enumerate(photos):
        column, row = index % columns, index // columns
        left = MARGIN + column * PHOTO_COLUMN
        y = top + row * PHOTO_ROW + 3
        box = pymupdf.Rect(left, y, left + PHOTO_SIDE, y + PHOTO_SIDE)
        try:
            data, pixels_wide, pixels_high = _printable(photo.image)
            fit = min(PHOTO_SIDE / pixels_wide, PHOTO_SIDE / pixels_high)
            box = pymupdf.Rect(left, y, left + pixels_wide * fit, y + pixels_high * fit)
            page.insert_image(box, stream=data, keep_proportion=False)
        except (ValueError, RuntimeError, OSError):
            pass  # a photo we cannot place: its frame, name and square still print
        page.draw_rect(box, color=MUTED, width=0.5)  # a pale photo's edge on white paper
        x = box.x1 + 6
        if photo.kind in packet.kinds:
            icons.draw(page, photo.kind, pymupdf.Point(x + 5.5, y + 7), 10)
        text.line(x + 14, y + 10, photo.cell, 8, bold=True)
        text.paragraph(x, left + PHOTO_COLUMN - 6, y + 23, photo.text, 7.5)


def _floor_page(document: pymupdf.Document, icons: Icons, packet: Packet, floor: Floor, number: int,
                total: int, photos: Sequence[MarkPhoto] = ()) -> None:
    width, height = sheet_for(packet.paper, floor, packet.kinds, bool(packet.exercise), len(photos))
    page = document.new_page(width=width, height=height)
    text = Text(page)
    scale = scale_for(packet.paper)
    y = MARGIN
    if packet.exercise:
        y = _exercise_band(page, text, packet, y)
    text.line(MARGIN, y + 18, floor.label, 16, bold=True)
    text.line(width - MARGIN, y + 18, f"{packet.card.building_name} · floor {number - 1} of {total - 1}", 9,
              colour=MUTED, align="right")
    image, legend, columns = _layout(width, height, floor, packet.kinds, bool(packet.exercise), len(photos))
    insert_plan(document, page, image, floor.image)
    draw_grid(page, text, image, floor, scale)
    draw_marks(page, text, icons, image, floor.marks, scale)
    draw_sketches(page, text, icons, image, floor.sketches, scale)
    present = _kinds_on(floor, packet.kinds)
    entries = [(key, packet.kinds[key].label) for key in present]
    if any(not m.confirmed for m in floor.marks):
        entries.append(("", "(?) position not yet confirmed by the congregation"))
    for index, (key, label) in enumerate(entries):
        column, row = index % columns, index // columns
        left = legend.x0 + column * LEGEND_COLUMN
        middle = legend.y0 + 6 + row * LEGEND_ROW + LEGEND_ROW / 2
        if key:
            icons.draw(page, key, pymupdf.Point(left + 5.5, middle), 10)
        text.line(left + 14, middle + 3, label, 7.5)
    if floor.north_degrees is not None:
        draw_north(page, text, pymupdf.Point(legend.x1 - 22, legend.y0 + 26), 15, floor.north_degrees)
    if photos:  # at the bottom of the legend's box, below the kinds
        photo_rows = -(-len(photos) // _photo_columns(width))
        _photos(document, page, text, icons, packet, photos, legend.y1 - photo_rows * PHOTO_ROW, width)
    _footer(page, text, packet, number, total)
    text.finish()


def build_packet(packet: Packet) -> bytes:
    """The packet as PDF bytes."""
    document = pymupdf.open()
    icons = Icons(packet.kinds)
    try:
        _card_pages(document, packet)
        card_pages = document.page_count
        total = card_pages + len(packet.floors)
        for index, floor in enumerate(packet.floors, start=card_pages + 1):
            photos = packet.photos[index - card_pages - 1] if index - card_pages - 1 < len(packet.photos) else ()
            _floor_page(document, icons, packet, floor, index, total, photos)
        for index in range(card_pages):  # their footers say "of n": known only now
            page = document[index]
            text = Text(page)
            _footer(page, text, packet, index + 1, total)
            text.finish()
        document.set_metadata({
            "title": f"{packet.card.building_name}: plan packet",
            "subject": packet.sensitivity,
            "creator": "floorplans",
            "producer": "floorplans (PyMuPDF)",
        })
        document.subset_fonts()
        pdf: bytes = document.tobytes(garbage=1, deflate=True)
        return pdf
    finally:
        icons.close()
        document.close()
