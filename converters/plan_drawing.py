"""What is drawn over a plan page, on paper or in an image: the reference grid lettered
and numbered around its edge (as floorplans.grid defines it, in page-relative cells), the
markers as their icons with door numbers and labels, an exercise layer in its colours and
a north arrow.  Shared by the printed packet (converters.packet) and the PNG export
(``annotate_plan``).

Text is real text: Helvetica through TextWriters for what it covers, MuPDF's fallback
fonts through ``insert_htmlbox`` for anything else (a name in Gurmukhi, Arabic, Hebrew).

Pure PyMuPDF over data and bytes: must not import Flask, SQLAlchemy, storage or floorplans
(icons and grid labels arrive as data).  Only our own SVG icons and our own PDFs are
opened here, never a partner's document.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

import pymupdf

from converters.stitch import Raster

INK = (0.07, 0.09, 0.15)
MUTED = (0.35, 0.38, 0.45)
RED = (0.73, 0.11, 0.11)
GRID = (0.11, 0.31, 0.85)
WHITE = (1.0, 1.0, 1.0)


@dataclass(frozen=True)
class Mark:
    kind: str  # a key of Packet.kinds
    x: float  # 0..1 from the page's left edge
    y: float  # 0..1 from the page's top edge
    text: str = ""  # door number and label: "Door 1 (side A) Main entrance"
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
    image: bytes | Raster  # the whole page, any resolution, same aspect as width x height
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
    svg: str  # a stand-alone SVG icon (floorplans.marker_kinds.icon_svg)


_REGULAR = pymupdf.Font("helv")
_BOLD = pymupdf.Font("hebo")


def hex_rgb(text: str) -> tuple[float, float, float]:
    text = text.lstrip("#")
    if len(text) != 6:
        return RED
    try:
        red, green, blue = (int(text[i:i + 2], 16) / 255 for i in (0, 2, 4))
    except ValueError:
        return RED
    return red, green, blue


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
        length: float = (_BOLD if bold else _REGULAR).text_length(text, fontsize=size)
        return length

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
        spare: float
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


#: A bigger sheet (tabloid, A3) is read from further away.
LARGE_SHEET = Scale(icon=15.0, label=8.0, grid_label=9.5, grid_line=0.7, sketch_line=2.4)


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
        base = LARGE_SHEET
        scale = Scale(icon=base.icon * factor, label=base.label * factor, grid_label=base.grid_label * factor,
                      grid_line=max(1.0, base.grid_line * factor), sketch_line=base.sketch_line * factor)
        text = Text(page)
        if grid:
            draw_grid(page, text, rect, floor, scale, labels_outside=False)
        if marks:
            draw_marks(page, text, icons, rect, floor.marks, scale)
        text.finish()
        png: bytes = page.get_pixmap(alpha=False).tobytes("png")
        return png
    finally:
        icons.close()
        document.close()
