"""A suggested label for a page, from the words printed on it: a floor name ("Ground
floor", "Basement", "Floor 1") when a title on the sheet says one, else the sheet number
from the title block ("Sheet A1.2"), else "Page N". Partners correct it when it is wrong;
it only saves them typing.

Must not import Flask, SQLAlchemy, storage or floorplans."""

from __future__ import annotations

import re
import statistics

import pymupdf

_ORDINALS = {
    "1st": "first", "2nd": "second", "3rd": "third", "4th": "fourth", "5th": "fifth",
    "6th": "sixth", "7th": "seventh", "8th": "eighth", "9th": "ninth",
}  # fmt: skip
_FLOOR = re.compile(
    r"\b(?:(?P<ordinal>ground|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|"
    r"top|upper|lower|\d(?:st|nd|rd|th))\s*(?P<noun>floor|level|storey|story)"
    r"|(?P<numbered>floor|level)\s+(?P<number>-?\d{1,2})\b"
    r"|(?P<single>basement|mezzanine|cellar|crypt|undercroft|balcony|gallery level))",
    re.IGNORECASE,
)
# Letter-prefixed sheet numbers as CAD title blocks print them: A-101, A1.2, S-2.01. A
# separator is required: without one, room numbers and OCR noise ("G01", "KU70") match.
_SHEET = re.compile(r"^[A-Z]{1,2}(?:[-\u2010.]\d{1,3}(?:\.\d{1,3})?|\d{1,2}[.\-\u2010]\d{1,3})$")


def _floor_name(match: re.Match[str]) -> str:
    if match.group("single"):
        return match.group("single").capitalize()
    if match.group("numbered"):
        return f"{match.group('numbered').capitalize()} {match.group('number')}"
    ordinal = match.group("ordinal").lower()
    ordinal = _ORDINALS.get(ordinal, ordinal)
    return f"{ordinal.capitalize()} {match.group('noun').lower()}"


def suggested_label(page: pymupdf.Page, number: int) -> str:
    spans: list[tuple[float, str]] = []
    for block in page.get_text("dict", flags=0)["blocks"]:
        for line in block.get("lines", ()):
            text = " ".join(span["text"].strip() for span in line["spans"]).strip()
            if text:
                spans.append((max(span["size"] for span in line["spans"]), text))
    if not spans:
        return f"Page {number}"
    # A floor named in a title (type at least as large as the typical line on the
    # sheet) rather than in a note or a dimension.
    typical = statistics.median(size for size, _ in spans)
    floors = [
        (size, _floor_name(match))
        for size, text in spans
        if size >= typical
        for match in [_FLOOR.search(text)]
        if match
    ]
    if floors:
        return max(floors, key=lambda item: item[0])[1]
    sheets = [(size, text) for size, text in spans if _SHEET.match(text)]
    if sheets:
        return f"Sheet {max(sheets, key=lambda item: item[0])[1]}"
    return f"Page {number}"
