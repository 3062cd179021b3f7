"""A made-up two-floor plan of the demo synagogue, drawn as a vector PDF, so that
``make run`` shows a real rendered plan without shipping anyone's drawings.

Must not import blueprints.
"""
from __future__ import annotations

import converters  # noqa: F401  # first: keeps PyMuPDF's unused extras out (converters/__init__.py)

# isort: split
import pymupdf

Room = tuple[str, float, float, float, float]  # label, x0, y0, x1, y1 in points

GROUND: list[Room] = [
    ("SANCTUARY", 80, 80, 640, 520),
    ("BIMAH", 300, 110, 420, 180),
    ("LOBBY", 640, 380, 900, 700),
    ("COAT ROOM", 900, 380, 1040, 520),
    ("OFFICE", 900, 520, 1040, 700),
    ("SOCIAL HALL", 640, 80, 1140, 380),
    ("KITCHEN", 1040, 380, 1140, 700),
    ("WASHROOMS", 80, 520, 360, 700),
    ("STAIRS", 360, 520, 460, 700),
    ("FIRST AID", 460, 520, 640, 700),
]
BASEMENT: list[Room] = [
    ("CHILDREN'S AREA", 80, 80, 520, 420),
    ("CLASSROOM 1", 520, 80, 760, 300),
    ("CLASSROOM 2", 760, 80, 1000, 300),
    ("BOILER ROOM / ELECTRICAL", 1000, 80, 1140, 420),
    ("STORAGE", 520, 300, 1000, 420),
    ("YOUTH LOUNGE", 80, 420, 640, 700),
    ("STAIRS", 360, 560, 460, 700),
    ("WASHROOMS", 640, 420, 900, 700),
    ("MECHANICAL", 900, 420, 1140, 700),
]


def _floor(page: pymupdf.Page, title: str, rooms: list[Room], doors: list[tuple[str, float, float]]) -> None:
    ink = (0.1, 0.1, 0.15)
    for label, x0, y0, x1, y1 in rooms:
        page.draw_rect(pymupdf.Rect(x0, y0, x1, y1), color=ink, width=2.5)
        size = 14 if x1 - x0 > 150 else 9
        box = pymupdf.Rect(x0 + 4, (y0 + y1) / 2 - size, x1 - 4, (y0 + y1) / 2 + size * 2)
        page.insert_textbox(box, label, fontsize=size, fontname="helv", color=ink, align=pymupdf.TEXT_ALIGN_CENTER)
    page.draw_rect(pymupdf.Rect(80, 80, 1140, 700), color=ink, width=6)
    for number, x, y in doors:
        page.draw_circle(pymupdf.Point(x, y), 13, color=(0.75, 0.1, 0.1), fill=(1, 1, 1), width=2)
        page.insert_text(pymupdf.Point(x - 4.5, y + 5), number, fontsize=14, fontname="hebo", color=(0.75, 0.1, 0.1))
    page.insert_text(pymupdf.Point(80, 50), title, fontsize=22, fontname="hebo", color=ink)
    page.insert_text(pymupdf.Point(80, 740), "Beth Shalom Synagogue, 123 Main Street. Demo drawing, not to scale.",
                     fontsize=10, fontname="helv", color=ink)
    # A north arrow, as on a real sheet.
    page.draw_polyline([pymupdf.Point(1110, 30), pymupdf.Point(1120, 60), pymupdf.Point(1100, 60),
                        pymupdf.Point(1110, 30)], color=ink, fill=ink)
    page.insert_text(pymupdf.Point(1105, 75), "N", fontsize=12, fontname="hebo", color=ink)


def demo_plan_pdf() -> bytes:
    document = pymupdf.open()
    ground = document.new_page(width=1224, height=792)
    _floor(ground, "GROUND FLOOR", GROUND, [("1", 770, 700), ("2", 1140, 230), ("3", 1090, 700)])
    basement = document.new_page(width=1224, height=792)
    _floor(basement, "BASEMENT", BASEMENT, [("4", 80, 560)])
    data: bytes = document.tobytes(garbage=3, deflate=True)
    document.close()
    return data
