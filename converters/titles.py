"""What one sheet says about itself: its text lines as a PDF viewer shows them (rotation
applied, with size, position and weight), and what its title block labels as the sheet's
title ("SHEET TITLE", "DRAWING") and number ("SHEET NO.", "DWG NO:").

Reading only: converters.labels turns what is read here, for every page of a document,
into proposed page names. Runs inside the validation child process. Must not import Flask,
SQLAlchemy, storage or floorplans.

Labels are looked for in the title-block region only (the right 45% or the bottom 30% of
the sheet): elsewhere "TITLE" or "DRAWING" are as likely a column of a sheet index or a
word of a note."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import pymupdf

# Title-block field labels, compared casefolded with trailing ":" / "." and spaces removed.
_TITLE_LABEL = re.compile(
    r"^(?:(?:sheet|drawing|dwg\.?|drg\.?)\s*(?:title|name|description)|title(?: of (?:drawing|sheet))?|drawing)$"
)
_NUMBER_LABEL = re.compile(r"^(?:sheet|drawing|dwg\.?|drg\.?)\s*(?:no\.?|number|nr\.?|#)$|^sheet$")
_OTHER_LABEL = re.compile(
    r"^(?:date|scale|drawn(?: by)?|checked(?: by)?|designed(?: by)?|approved(?: by)?|"
    r"project(?: no\.?| number| name| title)?|job(?: no\.?| number)?|client|owner|rev(?:ision)?s?\.?|"
    r"stand no|status|issue|plot(?:ted)?(?: date)?|file|seal|stamp|architect|engineer|consultant|"
    r"contractor|address|location|remarks|description)$"
)
# A letter-prefixed sheet number as title blocks print it: A-101, A1.2, S-2.01, LA-03. Only
# for title blocks that label nothing: a separator is required, or room numbers and OCR
# noise ("G01", "KU70") match. Under a "SHEET NO." label any short token with a digit goes.
SHEET_NUMBER = re.compile(r"^[A-Z]{1,3}(?:-\d{1,3}(?:\.\d{1,3})?|\d{0,2}\.\d{1,3}|\d{1,2}-\d{1,3})$")
_HYPHENS = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")
_JUNK = dict.fromkeys(map(ord, "\ufffd\uffff\ufeff\u00ad"), None)
_WHITE = 0xFFFFFF
_BOLD = 16  # TEXT_FONT_BOLD in a span's flags


@dataclass(frozen=True)
class TextLine:
    """One line of text, placed as the viewer shows the page (points, origin top left)."""

    text: str
    size: float
    x0: float
    y0: float
    x1: float
    y1: float
    bold: bool

    @property
    def height(self) -> float:
        return self.y1 - self.y0


@dataclass(frozen=True)
class SheetText:
    """What a page says about itself. ``title`` and ``sheet_number`` are what its title
    block labels as such (None when it labels nothing); ``lines`` are its horizontal,
    visible lines, for the title-by-appearance rules of converters.labels."""

    number: int
    width: float
    height: float
    lines: tuple[TextLine, ...]
    title: str | None
    sheet_number: str | None


def clean(text: str) -> str:
    """One spelling for the same words: compatibility forms folded (ligatures, full-width
    letters), CAD's Unicode hyphens made ASCII, stray replacement characters dropped."""
    text = unicodedata.normalize("NFKC", text).translate(_HYPHENS).translate(_JUNK)
    return " ".join(text.split())


def _label_key(text: str) -> str:
    return text.casefold().rstrip(" :.")


def _is_label(line: TextLine) -> bool:
    key = _label_key(line.text)
    if _TITLE_LABEL.match(key) or _NUMBER_LABEL.match(key) or _OTHER_LABEL.match(key):
        return True
    # Any short field name ending with a colon ("REVIEWED BY:", "SUBMITTED:") closes the cell above it.
    return line.text.endswith(":") and len(line.text.split()) <= 3


def read_lines(page: pymupdf.Page) -> tuple[TextLine, ...]:
    """The page's horizontal, visible text lines in displayed coordinates.

    Vertical and diagonal text (a project name along the title strip, a watermark across the
    sheet) is never a sheet title; white text (hidden, or on a dark band) and text whose
    middle lies off the page are not what the partner sees."""
    matrix = page.rotation_matrix
    width, height = page.rect.width, page.rect.height
    lines: list[TextLine] = []
    for block in page.get_text("dict", flags=pymupdf.TEXT_MEDIABOX_CLIP)["blocks"]:
        for line in block.get("lines", ()):
            spans = [span for span in line["spans"] if span["text"].strip() and span["color"] != _WHITE]
            if not spans:
                continue
            dx, dy = line["dir"]
            # The direction as displayed: the rotation part of the matrix only.
            shown_dx, shown_dy = matrix.a * dx + matrix.c * dy, matrix.b * dx + matrix.d * dy
            if shown_dx < 0.99 or abs(shown_dy) > 0.05:
                continue
            box = pymupdf.Rect(line["bbox"]) * matrix
            middle_x, middle_y = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
            if not (0 <= middle_x <= width and 0 <= middle_y <= height):
                continue
            text = clean(" ".join(span["text"] for span in spans))
            if not text:
                continue
            bold = all(span["flags"] & _BOLD or "bold" in span["font"].casefold() for span in spans)
            size = max(span["size"] for span in spans)
            lines.append(TextLine(text, round(size, 2), box.x0, box.y0, box.x1, box.y1, bold))
    return tuple(lines)


def _overlaps(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def _cell_lines(label: TextLine, labels: list[TextLine], lines: tuple[TextLine, ...], height: float) -> list[TextLine]:
    """The lines of the cell a label names: to its right on its row, or below it, up to the
    next label of its column (or of the row: "DWG NO:" and "REV:" share a row)."""
    h = label.height
    row = [
        other
        for other in labels
        if other is not label and _overlaps(label.y0, label.y1, other.y0, other.y1) > 0.5 * min(h, other.height)
    ]
    right = min([other.x0 for other in row if other.x0 >= label.x1] + [float("inf")])
    # Values start at the label's left edge or right of it, give or take a character: the
    # drawing beside a narrow title strip must not leak in.
    left = max([other.x1 for other in row if other.x1 <= label.x0] + [label.x0 - 2 * h])
    below = [
        other.y0
        for other in labels
        if other is not label and other not in row and other.y0 > label.y1 - 0.3 * h
        and _overlaps(left, right, other.x0, other.x1) > 0
    ]  # fmt: skip
    bottom = min([*below, label.y1 + 0.12 * height])
    cell = [
        line
        for line in lines
        if line is not label
        and not _is_label(line)
        and left <= line.x0 < right
        and label.y0 - 0.3 * h <= line.y0 < bottom
        and (line.y0 >= label.y1 - 0.3 * h or line.x0 >= label.x1)
    ]
    if not cell:
        return []
    largest = max(line.size for line in cell)
    # Small print in the cell (a revision note, a file path) is not the value.
    return sorted((line for line in cell if line.size >= 0.7 * largest), key=lambda line: (round(line.y0), line.x0))


def _number_like(text: str) -> bool:
    return len(text) <= 12 and " " not in text and any(c.isdigit() for c in text)


def _inline_value(line: TextLine, pattern: re.Pattern[str]) -> str | None:
    """"SHEET TITLE: FIRST FLOOR PLAN" on one line."""
    head, colon, tail = line.text.partition(":")
    if colon and tail.strip() and pattern.match(_label_key(head)):
        return tail.strip()
    return None


def _labelled(lines: tuple[TextLine, ...], width: float, height: float) -> tuple[str | None, str | None]:
    region = [line for line in lines if line.x0 >= 0.55 * width or line.y0 >= 0.7 * height]
    labels = [line for line in region if _is_label(line)]
    title: tuple[int, str] | None = None
    number: str | None = None
    for line in region:
        inline = _inline_value(line, _TITLE_LABEL)
        if inline and title is None:
            title = (0, inline)
        inline_number = _inline_value(line, _NUMBER_LABEL)
        if inline_number and number is None and _number_like(inline_number):
            number = inline_number
    for label in labels:
        key = _label_key(label.text)
        if _TITLE_LABEL.match(key):
            # "SHEET TITLE" and "DRAWING TITLE" say more than a bare "TITLE" or "DRAWING".
            rank = 1 if key in ("title", "drawing") else 0
            if title is not None and title[0] <= rank:
                continue
            words = " ".join(line.text for line in _cell_lines(label, labels, lines, height))
            if words and sum(c.isalpha() for c in words) >= 3 and len(words.split()) <= 12:
                title = (rank, words)
        elif _NUMBER_LABEL.match(key) and number is None:
            for line in _cell_lines(label, labels, lines, height):
                if _number_like(line.text):
                    number = line.text
                    break
    if number is None:
        # No label: the largest sheet-number-shaped text of the title block ("A1.2" in 25 pt).
        numbers = [line for line in region if SHEET_NUMBER.match(line.text)]
        if numbers:
            number = max(numbers, key=lambda line: line.size).text
    return (title[1] if title else None), number


def read_sheet(page: pymupdf.Page, number: int) -> SheetText:
    """Read page ``number`` (1-based) of a document."""
    lines = read_lines(page)
    width, height = page.rect.width, page.rect.height
    title, sheet_number = _labelled(lines, width, height)
    return SheetText(
        number=number, width=width, height=height, lines=lines, title=title, sheet_number=sheet_number
    )
