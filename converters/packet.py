"""The printed packet: a PDF for the table of a tabletop exercise or the binder in the
car.  A first page "card" (who to call, how to get in, shut-offs, hazards), then one page
per floor: the plan, the reference grid lettered and numbered around its edge exactly as
on screen, the markers as their icons with door numbers and labels, an optional exercise
layer, a legend of the kinds on that page, a north arrow when the partner set it, and a
footer that says when, by whom and from which record the copy was made.

Built from plain data (``Packet``): the plan images are rasters the caller made from our
own rendered tiles (converters.stitch), never the partner's original PDF, so nothing here
parses an untrusted document and this can run in the web process.  Text is real text
(selectable, searchable): Helvetica for what it covers, MuPDF's fallback fonts through
``insert_htmlbox`` for anything else (a congregation's name in Gurmukhi, Arabic, Hebrew).

Pure PyMuPDF over data and bytes: must not import Flask, SQLAlchemy, storage or floorplans
(the icons and grid arrive as data: SVG strings and column labels).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

import pymupdf


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
class Mark:
    kind: str  # a key of Packet.kinds
    x: float  # 0..1 from the page's left edge
    y: float  # 0..1 from the page's top edge
    text: str = ""  # door number and label: "A1 Main entrance"
    confirmed: bool = True  # carried over from an older plan and not yet confirmed: drawn with "?"


@dataclass(frozen=True)
class Sketch:
    """An exercise item: shape "marker", "line", "area" or "note"."""

    shape: str
    points: Sequence[tuple[float, float]]  # page-relative
    colour: str = "#dc2626"
    text: str = ""
    kind: str = ""  # for shape "marker"


@dataclass(frozen=True)
class Floor:
    label: str
    image: bytes  # PNG or JPEG of the whole page, any resolution, same aspect as width x height
    width: int  # the page's full-zoom pixels: the grid is defined on these
    height: int
    grid_columns: Sequence[str]  # "A", "B"... (floorplans.grid)
    grid_rows: int
    grid_cell: float  # side of a cell in full-zoom pixels
    north_degrees: float | None = None
    marks: Sequence[Mark] = ()
    sketches: Sequence[Sketch] = ()


@dataclass(frozen=True)
class KindStyle:
    label: str
    svg: str  # a stand-alone SVG icon (floorplans.markers.icon_svg)


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


EXERCISE_TITLE = "EXERCISE — not the building's record"

MARGIN = 28.0
INK = (0.07, 0.09, 0.15)
MUTED = (0.35, 0.38, 0.45)
RED = (0.73, 0.11, 0.11)
GRID = (0.11, 0.31, 0.85)
WHITE = (1.0, 1.0, 1.0)

_REGULAR = pymupdf.Font("helv")
_BOLD = pymupdf.Font("hebo")


def hex_rgb(text: str) -> tuple[float, float, float]:
    text = text.lstrip("#")
    if len(text) != 6:
        return RED
    try:
        return tuple(int(text[i:i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]
    except ValueError:
        return RED


# ---------------------------------------------------------------------------------------
# Text


class Text:
    """Writes the text of one page: Helvetica through TextWriters (one per colour, written
    at the end), anything Helvetica cannot show through ``insert_htmlbox``."""

    def __init__(self, page: pymupdf.Page) -> None:
        self.page = page
        self.writers: dict[tuple[float, ...], pymupdf.TextWriter] = {}

    @staticmethod
    def covered(text: str) -> bool:
        return all(_REGULAR.has_glyph(ord(c)) for c in text)

    @staticmethod
    def width(text: str, size: float, bold: bool = False) -> float:
        return (_BOLD if bold else _REGULAR).text_length(text, fontsize=size)

    def line(self, x: float, y: float, text: str, size: float, *, bold: bool = False,
             colour: tuple[float, ...] = INK, align: str = "left") -> float:
        """One line with its baseline at ``y``; returns its width."""
        if not text:
            return 0.0
        width = self.width(text, size, bold)
        if align == "center":
            x -= width / 2
        elif align == "right":
            x -= width
        if self.covered(text):
            writer = self.writers.get(colour)
            if writer is None:
                writer = self.writers[colour] = pymupdf.TextWriter(self.page.rect, color=colour)
            writer.append((x, y), text, font=_BOLD if bold else _REGULAR, fontsize=size)
        else:
            box = pymupdf.Rect(x, y - size * 1.05, x + width * 1.6 + size * 4, y + size * 0.45)
            self._html(box, text, size, bold, colour, wrap=False)
        return width

    def paragraph(self, x0: float, x1: float, y: float, text: str, size: float, *, bold: bool = False,
                  colour: tuple[float, ...] = INK, leading: float = 1.25) -> float:
        """Wrapped text starting with its first baseline at ``y``; returns the next baseline."""
        if not text:
            return y
        if not self.covered(text):
            box = pymupdf.Rect(x0, y - size, x1, y - size + 2000)
            spare = self._html(box, text, size, bold, colour, wrap=True)
            return y + (2000 - spare) + size * (leading - 1)
        for raw in text.splitlines() or [""]:
            words = raw.split()
            current = ""
            for word in words:
                candidate = f"{current} {word}".strip()
                if current and self.width(candidate, size, bold) > x1 - x0:
                    self.line(x0, y, current, size, bold=bold, colour=colour)
                    y += size * leading
                    current = word
                else:
                    current = candidate
            self.line(x0, y, current, size, bold=bold, colour=colour)
            y += size * leading
        return y

    def _html(self, box: pymupdf.Rect, text: str, size: float, bold: bool, colour: tuple[float, ...],
              *, wrap: bool) -> float:
        rgb = ",".join(str(round(c * 255)) for c in colour[:3])
        css = (f"* {{font-family: sans-serif; font-size: {size}px; color: rgb({rgb}); margin: 0; "
               f"font-weight: {'bold' if bold else 'normal'}; white-space: {'normal' if wrap else 'nowrap'};}}")
        spare, _scale = self.page.insert_htmlbox(box, escape(text).replace("\n", "<br>"), css=css, scale_low=1)
        return max(0.0, spare)

    def finish(self) -> None:
        for writer in self.writers.values():
            writer.write_text(self.page)


# ---------------------------------------------------------------------------------------
# Icons


class Icons:
    """Each marker kind's SVG converted once to a one-page PDF, shown wherever it is placed."""

    def __init__(self, kinds: Mapping[str, KindStyle]) -> None:
        self.kinds = kinds
        self._documents: dict[str, pymupdf.Document] = {}

    def draw(self, page: pymupdf.Page, kind: str, centre: pymupdf.Point, size: float) -> pymupdf.Rect:
        rect = pymupdf.Rect(centre.x - size / 2, centre.y - size / 2, centre.x + size / 2, centre.y + size / 2)
        document = self._document(kind)
        if document is None:
            page.draw_circle(centre, size / 2, color=INK, fill=MUTED, width=0.5)
        else:
            page.show_pdf_page(rect, document, 0)
        return rect

    def _document(self, kind: str) -> pymupdf.Document | None:
        if kind not in self._documents:
            style = self.kinds.get(kind)
            if style is None:
                return None
            with pymupdf.open("svg", style.svg.encode()) as svg:
                self._documents[kind] = pymupdf.open("pdf", svg.convert_to_pdf())
        return self._documents[kind]

    def close(self) -> None:
        for document in self._documents.values():
            document.close()


# ---------------------------------------------------------------------------------------
# Drawing a plan with its grid, markers and sketches (shared by the packet and PNG export)


@dataclass(frozen=True)
class Scale:
    """Sizes of what is drawn over a plan, in points, for a given sheet."""

    icon: float = 13.0
    label: float = 7.0
    grid_label: float = 8.0
    grid_line: float = 0.6
    sketch_line: float = 2.0


def scale_for(paper: Paper) -> Scale:
    if paper.height > 1000:  # tabloid, A3: a bigger sheet is read from further away
        return Scale(icon=15.0, label=8.0, grid_label=9.5, grid_line=0.7, sketch_line=2.4)
    return Scale()


def draw_grid(page: pymupdf.Page, text: Text, rect: pymupdf.Rect, floor: Floor, scale: Scale, *,
              labels_outside: bool = True) -> None:
    """The reference grid of floorplans.grid over ``rect`` (where the page image is): square
    cells of ``grid_cell`` full-zoom pixels from the top-left, the last row or column
    possibly partial; letters along the top and bottom, numbers along the left and right."""
    cell = floor.grid_cell / floor.width * rect.width
    shape = page.new_shape()
    for i in range(1, len(floor.grid_columns)):
        x = rect.x0 + i * cell
        shape.draw_line((x, rect.y0), (x, rect.y1))
    for j in range(1, floor.grid_rows):
        y = rect.y0 + j * cell
        shape.draw_line((rect.x0, y), (rect.x1, y))
    shape.finish(color=GRID, width=scale.grid_line, stroke_opacity=0.55)
    shape.draw_rect(rect)
    shape.finish(color=GRID, width=scale.grid_line * 1.5)
    shape.commit()
    size = scale.grid_label
    gap = size * 0.45
    for i, letter in enumerate(floor.grid_columns):
        x = rect.x0 + (i + 0.5) * cell
        x = min(x, (rect.x0 + i * cell + rect.x1) / 2)  # centre of a partial last column
        if labels_outside:
            text.line(x, rect.y0 - gap, letter, size, bold=True, colour=GRID, align="center")
            text.line(x, rect.y1 + gap + size * 0.75, letter, size, bold=True, colour=GRID, align="center")
        else:
            _label_chip(page, text, pymupdf.Point(x, rect.y0 + size * 0.9), letter, size)
    for j in range(floor.grid_rows):
        y = rect.y0 + (j + 0.5) * cell
        y = min(y, (rect.y0 + j * cell + rect.y1) / 2)
        number = str(j + 1)
        baseline = y + size * 0.35
        if labels_outside:
            text.line(rect.x0 - gap, baseline, number, size, bold=True, colour=GRID, align="right")
            text.line(rect.x1 + gap, baseline, number, size, bold=True, colour=GRID)
        else:
            _label_chip(page, text, pymupdf.Point(rect.x0 + size * 0.9, y), number, size)


def _label_chip(page: pymupdf.Page, text: Text, centre: pymupdf.Point, label: str, size: float) -> None:
    """A grid label inside the plan (PNG export): on a white chip so lines do not cross it."""
    width = text.width(label, size, bold=True)
    chip = pymupdf.Rect(centre.x - width / 2 - size * 0.3, centre.y - size * 0.65,
                        centre.x + width / 2 + size * 0.3, centre.y + size * 0.6)
    page.draw_rect(chip, color=None, fill=WHITE, fill_opacity=0.85)
    text.line(centre.x, centre.y + size * 0.35, label, size, bold=True, colour=GRID, align="center")


def _point(rect: pymupdf.Rect, x: float, y: float) -> pymupdf.Point:
    return pymupdf.Point(rect.x0 + min(1.0, max(0.0, x)) * rect.width, rect.y0 + min(1.0, max(0.0, y)) * rect.height)


def _tag(page: pymupdf.Page, text: Text, left: float, middle: float, label: str, size: float,
         colour: tuple[float, ...] = INK) -> None:
    """A short label beside an icon, on a white box so it reads over the drawing."""
    width = text.width(label, size, bold=True)
    box = pymupdf.Rect(left, middle - size * 0.7, left + width + size * 0.6, middle + size * 0.6)
    page.draw_rect(box, color=None, fill=WHITE, fill_opacity=0.85)
    text.line(left + size * 0.3, middle + size * 0.35, label, size, bold=True, colour=colour)


def draw_marks(page: pymupdf.Page, text: Text, icons: Icons, rect: pymupdf.Rect, marks: Sequence[Mark],
               scale: Scale) -> None:
    for mark in marks:
        centre = _point(rect, mark.x, mark.y)
        icons.draw(page, mark.kind, centre, scale.icon)
        label = mark.text if mark.confirmed else f"{mark.text} (?)".strip()
        if label:
            _tag(page, text, centre.x + scale.icon / 2 + 1, centre.y, label, scale.label)


def draw_sketches(page: pymupdf.Page, text: Text, icons: Icons, rect: pymupdf.Rect, sketches: Sequence[Sketch],
                  scale: Scale) -> None:
    """An exercise layer, in each item's colour, over the real markers' layer."""
    for sketch in sketches:
        colour = hex_rgb(sketch.colour)
        points = [_point(rect, x, y) for x, y in sketch.points]
        if not points:
            continue
        if sketch.shape == "line" and len(points) >= 2:
            page.draw_polyline(points, color=colour, width=scale.sketch_line, lineCap=1, lineJoin=1)
            anchor = points[0]
        elif sketch.shape == "area" and len(points) >= 3:
            page.draw_polyline([*points, points[0]], color=colour, fill=colour, width=scale.sketch_line,
                               fill_opacity=0.18, closePath=True, lineJoin=1)
            anchor = pymupdf.Point(sum(p.x for p in points) / len(points), sum(p.y for p in points) / len(points))
        elif sketch.shape == "marker":
            anchor = points[0]
            page.draw_circle(anchor, scale.icon * 0.72, color=colour, width=scale.sketch_line)
            icons.draw(page, sketch.kind, anchor, scale.icon)
            anchor = pymupdf.Point(anchor.x + scale.icon * 0.75, anchor.y)
        else:  # a note, or a shape with too few points: a dot and its text
            anchor = points[0]
            page.draw_circle(anchor, scale.sketch_line * 1.2, color=colour, fill=colour)
            anchor = pymupdf.Point(anchor.x + scale.sketch_line * 1.5, anchor.y)
        if sketch.text:
            _tag(page, text, anchor.x, anchor.y, sketch.text, scale.label + 0.5, colour)


def draw_north(page: pymupdf.Page, text: Text, centre: pymupdf.Point, radius: float, degrees: float) -> None:
    """An arrow pointing to true north: ``degrees`` clockwise from the page's up."""
    angle = math.radians(degrees)

    def at(distance: float, offset: float) -> pymupdf.Point:
        # Rotate (offset, -distance) clockwise by angle; y grows downwards on the page.
        dx, dy = offset, -distance
        return pymupdf.Point(centre.x + dx * math.cos(angle) - dy * math.sin(angle),
                             centre.y + dx * math.sin(angle) + dy * math.cos(angle))

    page.draw_circle(centre, radius, color=INK, width=0.6)
    tip, tail = at(radius * 0.85, 0), at(-radius * 0.85, 0)
    left, right = at(-radius * 0.45, -radius * 0.38), at(-radius * 0.45, radius * 0.38)
    page.draw_polyline([tip, left, centre, tip], color=INK, fill=INK, width=0.5, closePath=True)
    page.draw_polyline([tip, right, centre, tip], color=INK, fill=WHITE, width=0.5, closePath=True)
    page.draw_line(centre, tail, color=INK, width=0.5)
    label = at(radius + 6, 0)
    text.line(label.x, label.y + 3.2, "N", 9, bold=True, align="center")


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
    x0, x1 = MARGIN + 8, paper.width - MARGIN - 8
    bottom = paper.height - MARGIN - 26
    y = MARGIN + 6
    if packet.exercise:
        y = _exercise_band(page, text, packet, y)
    y = text.paragraph(x0, x1, y + 20, card.building_name, 22, bold=True, leading=1.15)
    y = text.paragraph(x0, x1, y, card.address, 12, colour=MUTED)
    if card.warning:
        y = text.paragraph(x0, x1, y + 4, card.warning, 10.5, bold=True, colour=RED)

    def next_page() -> None:
        nonlocal page, text
        text.finish()
        page = document.new_page(width=paper.width, height=paper.height)
        text = Text(page)

    def heading(title: str) -> None:
        nonlocal y
        if y + 40 > bottom:
            next_page()
            y = MARGIN + 10
        y += 14
        text.line(x0, y, title.upper(), 9, bold=True, colour=MUTED)
        page.draw_line((x0, y + 3), (x1, y + 3), color=MUTED, width=0.4)
        y += 16

    def room(lines: float) -> None:
        nonlocal y
        if y + lines > bottom:
            next_page()
            y = MARGIN + 24

    if card.gatherings:
        heading("Gatherings")
        for line in card.gatherings:
            room(14)
            y = text.paragraph(x0, x1, y, line, 10.5)
    heading("Call, in this order")
    if not card.contacts:
        y = text.paragraph(x0, x1, y, "No contacts on record.", 10.5, colour=MUTED)
    for number, contact in enumerate(card.contacts, start=1):
        room(30)
        text.line(x0, y, f"{number}.", 11, bold=True)
        name_width = text.line(x0 + 18, y, contact.name, 11, bold=True)
        text.line(max(x0 + 18 + name_width + 12, x0 + 200), y, contact.phone, 12, bold=True)
        if contact.hours:
            text.line(x1, y, contact.hours, 10, bold=contact.hours == "24/7", align="right")
        y += 13
        if contact.details:
            y = text.paragraph(x0 + 18, x1, y, contact.details, 9, colour=MUTED)
        y += 3
    heading("Building")
    label_width = 92
    for label, value in card.facts:
        if not value:
            continue
        room(14)
        text.line(x0, y, label, 9.5, bold=True, colour=RED if label == "Hazards" else INK)
        y = text.paragraph(x0 + label_width, x1, y, value, 10)
        y += 2
    if packet.floors:
        heading("Floors in this packet")
        for number, floor in enumerate(packet.floors, start=2):
            room(14)
            y = text.paragraph(x0, x1, y, f"{floor.label} · page {number}", 10)
    text.finish()


def _legend_rows(kinds: Sequence[str], columns: int) -> int:
    return -(-len(kinds) // columns) if kinds else 0


LEGEND_COLUMN = 150.0
LEGEND_ROW = 13.0
GUTTER = 15.0  # around the plan, for the grid's letters and numbers
HEADER = 30.0
FOOTER = 26.0


def _kinds_on(floor: Floor, kinds: Mapping[str, KindStyle]) -> list[str]:
    present = {m.kind for m in floor.marks} | {s.kind for s in floor.sketches if s.shape == "marker"}
    return [key for key in kinds if key in present]


def _layout(width: float, height: float, floor: Floor, kinds: Mapping[str, KindStyle],
            exercise: bool) -> tuple[pymupdf.Rect, pymupdf.Rect, int]:
    """Where the plan image goes on a sheet of this size, the legend's box and its columns."""
    present = _kinds_on(floor, kinds)
    north = 52.0 if floor.north_degrees is not None else 0.0
    columns = max(1, int((width - 2 * MARGIN - north) // LEGEND_COLUMN))
    rows = _legend_rows(present, columns)
    if any(not m.confirmed for m in floor.marks):
        rows += 1
    legend_height = max(rows * LEGEND_ROW + (6 if rows else 0), 46.0 if north else 0.0)
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


def sheet_for(paper: Paper, floor: Floor, kinds: Mapping[str, KindStyle], exercise: bool) -> tuple[float, float]:
    """Portrait or landscape, whichever shows the plan larger."""
    portrait = (paper.width, paper.height)
    landscape = (paper.height, paper.width)
    sizes = [_layout(*size, floor, kinds, exercise)[0].width for size in (portrait, landscape)]
    return landscape if sizes[1] > sizes[0] * 1.02 else portrait


def _floor_page(document: pymupdf.Document, icons: Icons, packet: Packet, floor: Floor, number: int,
                total: int) -> None:
    width, height = sheet_for(packet.paper, floor, packet.kinds, bool(packet.exercise))
    page = document.new_page(width=width, height=height)
    text = Text(page)
    scale = scale_for(packet.paper)
    y = MARGIN
    if packet.exercise:
        y = _exercise_band(page, text, packet, y)
    text.line(MARGIN, y + 18, floor.label, 16, bold=True)
    text.line(width - MARGIN, y + 18, f"{packet.card.building_name} · floor {number - 1} of {total - 1}", 9,
              colour=MUTED, align="right")
    image, legend, columns = _layout(width, height, floor, packet.kinds, bool(packet.exercise))
    page.insert_image(image, stream=floor.image, keep_proportion=False)
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
            _floor_page(document, icons, packet, floor, index, total)
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
        return document.tobytes(garbage=3, deflate=True, deflate_images=True)
    finally:
        icons.close()
        document.close()


def annotate_plan(image: bytes, width: int, height: int, floor: Floor, kinds: Mapping[str, KindStyle], *,
                  grid: bool, marks: bool) -> bytes:
    """One plan image with the grid (labels inside its edge) and markers drawn over it, as
    PNG bytes of ``width`` x ``height`` pixels: the packet's drawing at 1 point = 1 pixel,
    sized as on a tabloid sheet of the same plan."""
    document = pymupdf.open()
    icons = Icons(kinds)
    try:
        page = document.new_page(width=width, height=height)
        rect = page.rect
        page.insert_image(rect, stream=image, keep_proportion=False)
        factor = max(width, height) / 900
        base = scale_for(PAPERS["tabloid"])
        scale = Scale(icon=base.icon * factor, label=base.label * factor, grid_label=base.grid_label * factor,
                      grid_line=max(1.0, base.grid_line * factor), sketch_line=base.sketch_line * factor)
        text = Text(page)
        if grid:
            draw_grid(page, text, rect, floor, scale, labels_outside=False)
        if marks:
            draw_marks(page, text, icons, rect, floor.marks, scale)
        text.finish()
        return page.get_pixmap(alpha=False).tobytes("png")
    finally:
        icons.close()
        document.close()
