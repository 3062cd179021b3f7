"""Proposed page names and kinds: each page named from its own title, on the corpus sets
(the 25-sheet farmhouse that became "First floor" x10, the 8-sheet restaurant, the 5-sheet
lab, the single plans) and on small PDFs built here, one per rule."""

from __future__ import annotations

import functools
from pathlib import Path

import pymupdf
import pytest

from converters.labels import propose, read_title, suggested_label
from converters.titles import read_sheet
from tests.conftest import CORPUS

FARMHOUSE = "plan-farmhouse-25sheets-tabloid-rot270-brotli.pdf"
RESTAURANT = "plan-restaurant-inn-8sheets-A1-rot90-autocad.pdf"
LAB = "plan-university-lab-5sheets-A2-autocad.pdf"


@functools.cache
def corpus_proposals(name: str) -> list[tuple[str, str]]:
    with pymupdf.open(CORPUS / name) as document:
        sheets = [read_sheet(page, index + 1) for index, page in enumerate(document)]
    return [(proposal.name, proposal.kind) for proposal in propose(sheets)]


def proposals(document: pymupdf.Document) -> list[tuple[str, str]]:
    reopened = pymupdf.open("pdf", document.tobytes())  # read back what a partner uploads
    return [(p.name, p.kind) for p in propose([read_sheet(page, i + 1) for i, page in enumerate(reopened)])]


def write(page: pymupdf.Page, at: tuple[float, float], text: str, size: float) -> None:
    """Text at ``at`` as the viewer shows the page, reading left to right on screen."""
    point = pymupdf.Point(at) * page.derotation_matrix
    page.insert_text(point, text, fontsize=size, rotate=page.rotation)


def sheet(document: pymupdf.Document, *texts: tuple[tuple[float, float], str, float]) -> pymupdf.Page:
    page = document.new_page(width=1224, height=792)
    for at, text, size in texts:
        write(page, at, text, size)
    return page


NOTES = tuple(((60, 600 + 12 * row), f"{row}. ALL WORK TO COMPLY WITH THE CODE", 8) for row in range(1, 8))


# -- the corpus -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "name", "kind"),
    [
        (1, "Cover page", "sheet"),
        (4, "Site plan", "sheet"),
        (5, "Foundation plan", "sheet"),
        (6, "First floor", "floor"),  # "1ST FLOOR PLAN"
        (7, "Second floor", "floor"),
        (8, "Roof plan", "sheet"),
        (9, "First floor RCP / electrical", "sheet"),  # "1ST FLOOR RCP / ELECTRICAL PLAN"
        (12, "South elevation", "sheet"),
        (16, "Interior elevations (A2.4)", "sheet"),  # two sheets of that title
        (17, "Interior elevations (A2.5)", "sheet"),
        (20, "Sections", "sheet"),
        (25, "Schedules", "sheet"),
    ],
)
def test_farmhouse_sheets_are_named_by_their_title_block(page: int, name: str, kind: str) -> None:
    assert corpus_proposals(FARMHOUSE)[page - 1] == (name, kind)


def test_farmhouse_has_two_floors_and_no_name_twice() -> None:
    # The issue: 25 floor buttons, "First floor" x10 and "Ground floor" x4.
    found = corpus_proposals(FARMHOUSE)
    assert [name for name, kind in found if kind == "floor"] == ["First floor", "Second floor"]
    assert len({name for name, _ in found}) == 25


def test_restaurant_sheets() -> None:
    assert corpus_proposals(RESTAURANT) == [
        ("Site plan & roof plan", "sheet"),
        ("Ground floor", "floor"),
        ("First floor", "floor"),
        ("Section", "sheet"),
        ("Elevations", "sheet"),
        ("Aluminium schedule", "sheet"),
        ("Electrical ground floor", "sheet"),  # "ELECTRICAL GROUND / FLOOR PLAN" on two lines
        ("Electrical first floor", "sheet"),  # was "Ground floor"
    ]


def test_lab_sheets() -> None:
    assert corpus_proposals(LAB) == [
        ("Layout plan", "floor"),
        ("Demolition plan", "sheet"),
        ("Block wall plan", "sheet"),
        ("Reflected ceiling plan", "sheet"),  # "REFLECTED / CEILING PLAN" on two lines
        ("Floor finishes plan", "sheet"),
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # The largest title of a rotated sheet, not the building's name beside it.
        ("plan-university-hall-floor1-legal-rot90-vector.pdf", "Floor 1"),
        # An OCR layer: "Floor Plan" under the larger school name.
        ("plan-school-scanned-photo-ocr.pdf", "Floor plan"),
        ("plan-auditorium-event-layout-letter-mixed.pdf", "Lower Atrium / Auditorium"),
        ("plan-house-archicad-vector-nonstandard-size.pdf", "Tloris pritličja"),
        # Three buildings' floors on one sheet: no one name is right.
        ("plan-conference-centre-lecture-halls-A4-vector.pdf", "Sheet 1"),
        # Only a diagonal watermark, and white text off the page's edge.
        ("plan-residence-site-archD-portrait-vector-watermark.pdf", "Sheet 1"),
        ("plan-art-gallery-raster-oversize-page.pdf", "Sheet 1"),
    ],
)
def test_single_plans(name: str, expected: str) -> None:
    # Alone in its document, a plan is never proposed hidden.
    assert corpus_proposals(name) == [(expected, "floor")]


# -- the rules, on PDFs built here ----------------------------------------------------


def test_a_title_beats_a_larger_note_naming_another_floor() -> None:
    document = pymupdf.open()
    sheet(
        document,
        ((60, 100), "NEW FIRST FLOOR ABOVE SHOWN DASHED, SEE STRUCTURAL FOR ALL BEAMS", 14),
        ((60, 740), "GROUND FLOOR PLAN", 20),
        *NOTES,
    )
    assert proposals(document) == [("Ground floor", "floor")]


def test_a_cross_reference_is_not_a_title() -> None:
    document = pymupdf.open()
    sheet(document, ((60, 100), "SEE FIRST FLOOR PLAN", 30), ((60, 740), "SECTIONS", 20), *NOTES)
    assert proposals(document) == [("Sections", "sheet")]


def test_text_on_every_page_is_not_a_title() -> None:
    document = pymupdf.open()
    for title in ("BASEMENT", "GROUND FLOOR", "ELEVATIONS"):
        # The project's name larger, and set right above the title in the same type.
        project = (((60, 60), "ST MARY'S CHURCH", 36), ((60, 720), "ST MARY'S", 18))
        sheet(document, *project, ((60, 740), title, 18), *NOTES)
    assert proposals(document) == [("Basement", "floor"), ("Ground floor", "floor"), ("Elevations", "sheet")]


def test_a_sheet_with_no_title_is_sheet_n() -> None:
    document = pymupdf.open()
    sheet(document, ((60, 740), "GROUND FLOOR PLAN", 20), *NOTES)
    sheet(document, ((60, 740), "FIRST FLOOR PLAN", 20), *NOTES)
    sheet(document, ((300, 300), "12'-6\"", 20), ((500, 300), "3600", 20), ((60, 500), "N", 40))
    assert proposals(document)[2] == ("Sheet 3", "floor")


def test_the_title_block_title_beats_the_view_title() -> None:
    document = pymupdf.open()
    sheet(
        document,
        ((60, 740), "FIRST FLOOR PLAN", 16),  # the view's own title, larger
        ((1100, 690), "SHEET TITLE", 5),
        ((1100, 705), "FIRST FLOOR FRAMING PLAN", 7),
        ((1100, 740), "SHEET NO.", 5),
        ((1100, 765), "S-101", 20),
    )
    assert proposals(document) == [("First floor framing", "sheet")]


def test_same_titles_are_told_apart_by_sheet_number() -> None:
    document = pymupdf.open()
    for number in ("A-201", "A-202"):
        sheet(document, ((1100, 690), "DRAWING TITLE:", 5), ((1100, 705), "ELEVATIONS", 8), ((1100, 765), number, 20))
    assert proposals(document) == [("Elevations (A-201)", "sheet"), ("Elevations (A-202)", "sheet")]


def test_genuinely_equal_titles_stay_equal_without_numbers() -> None:
    document = pymupdf.open()
    sheet(document, ((60, 740), "ELEVATIONS", 20), *NOTES)
    sheet(document, ((60, 740), "ELEVATIONS", 20), *NOTES)
    assert proposals(document) == [("Elevations", "sheet"), ("Elevations", "sheet")]


def test_different_titles_of_one_floor_get_different_names() -> None:
    document = pymupdf.open()
    sheet(document, ((60, 740), "FIRST FLOOR PLAN", 20), *NOTES)
    sheet(document, ((60, 740), "FIRST FLOOR FRAMING PLAN", 20), *NOTES)
    assert proposals(document) == [("First floor", "floor"), ("First floor framing", "sheet")]


def test_floors_of_two_buildings_keep_the_building() -> None:
    document = pymupdf.open()
    for title in ("CHURCH FIRST FLOOR", "HALL FIRST FLOOR", "CHURCH BASEMENT"):
        sheet(document, ((60, 740), title, 20), *NOTES)
    assert [name for name, _ in proposals(document)] == ["Church first floor", "Hall first floor", "Church basement"]


def test_several_floors_on_one_sheet_give_no_floor_name() -> None:
    document = pymupdf.open()
    sheet(document, ((60, 740), "GROUND FLOOR", 20), ((700, 740), "FIRST FLOOR", 18), *NOTES)
    sheet(document, ((60, 740), "GROUND FLOOR", 20), ((700, 740), "FIRST FLOOR", 20), *NOTES)
    assert proposals(document) == [("Sheet 1", "floor"), ("Sheet 2", "floor")]


def test_several_equal_view_titles_give_no_name() -> None:
    document = pymupdf.open()
    sheet(document, ((60, 740), "SECTION A-A", 20), ((700, 740), "SECTION B-B", 20), *NOTES)
    assert proposals(document) == [("Sheet 1", "floor")]


@pytest.mark.parametrize("rotation", [90, 270])
def test_rotated_sheets_are_read_as_shown(rotation: int) -> None:
    document = pymupdf.open()
    page = document.new_page(width=792, height=1224)  # stored portrait, shown landscape
    page.set_rotation(rotation)
    write(page, (60, 740), "GROUND FLOOR PLAN", 20)
    for at, text, size in NOTES:
        write(page, at, text, size)
    # Larger, but running up the sheet as shown: a title strip's project name, not a title.
    page.insert_text((100, 700), "FIRST FLOOR PLAN", fontsize=40)
    assert proposals(document) == [("Ground floor", "floor")]


def test_a_long_title_is_shortened_to_40_characters() -> None:
    name = read_title("1ST FLOOR - REFLECTED CEILING PLAN & ELECTRICAL PLAN AND DATA").name
    assert len(name) <= 40
    assert name.startswith("First floor - reflected ceiling plan")
    assert name.endswith("…")


@pytest.mark.parametrize(
    ("title", "name", "kind"),
    [
        ("LEVEL 02", "Level 2", "floor"),
        ("BASEMENT FLOOR PLAN", "Basement", "floor"),
        ("MEZZANINE LEVEL PLAN", "Mezzanine", "floor"),
        ("LOWER GROUND FLOOR PLAN", "Lower ground floor", "floor"),
        ("MAIN FLOOR PLAN", "Main floor", "floor"),
        ("PLAN OF 3RD FLOOR", "Third floor", "floor"),
        ("FLOOR PLAN", "Floor plan", "floor"),
        ("WINDOW SCHEDULE", "Window schedule", "sheet"),
        ("SECTION A-A", "Section A-A", "sheet"),
        ("COVER SHEET", "Cover sheet", "sheet"),
        ("GROUND FLOOR FRAMING PLAN", "Ground floor framing", "sheet"),
    ],
)
def test_titles_read_as_names(title: str, name: str, kind: str) -> None:
    reading = read_title(title)
    assert (reading.name, reading.evidence) == (name, kind)


def test_suggested_label_names_one_page_on_its_own(tmp_path: Path) -> None:
    document = pymupdf.open()
    sheet(document, ((60, 740), "2ND FLOOR PLAN", 20), *NOTES)
    sheet(document, *NOTES)
    path = tmp_path / "plan.pdf"
    document.save(path)
    with pymupdf.open(path) as saved:
        assert [suggested_label(page, index + 1) for index, page in enumerate(saved)] == ["Second floor", "Sheet 2"]
