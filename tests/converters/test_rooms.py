"""Room labels read from plans (converters.rooms): words grouped into labels at the place
the tiles show them (rotated sheets included), noise dropped, boilerplate marked; OCR on a
scan made here from a vector page; the render worker writing them beside each page."""

from __future__ import annotations

import json
from pathlib import Path

import pymupdf
import pytest

from converters import RenderLimits, render_pages, rooms

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
ROTATED = CORPUS / "plan-university-hall-floor1-legal-rot90-vector.pdf"
SCHOOL = CORPUS / "plan-school-scanned-photo-ocr.pdf"
KNOWN_WORDS = ("KITCHEN", "NURSERY", "BOILER")


def label_named(labels: tuple[rooms.Label, ...] | list[rooms.Label], text: str) -> rooms.Label:
    found = [label for label in labels if label.text == text]
    assert found, f"{text!r} not among {[label.text for label in labels][:60]}"
    return found[0]


def test_words_of_one_line_make_one_label_and_far_apart_words_two() -> None:
    words = [
        (100, 100, 140, 110, "Drawing", 0, 0, 0), (143, 100, 170, 110, "Room", 0, 0, 1),
        (400, 100, 430, 110, "Kitchen", 0, 0, 2),  # same line, far away: another room
        (100, 300, 130, 310, "3602C", 1, 0, 0),
    ]  # fmt: skip
    labels = rooms.group_words(words, rooms.IDENTITY, 1000, 500)
    assert [label.text for label in labels] == ["Drawing Room", "Kitchen", "3602C"]
    assert label_named(labels, "Drawing Room").box == pytest.approx((0.1, 0.2, 0.17, 0.22))


@pytest.mark.parametrize("text", ["12'-6\"", "1200 mm", "4.50", "1:50", "900x2100", "-", "A", "+3.20", "20201231"])
def test_dimensions_scales_and_lone_characters_are_noise(text: str) -> None:
    assert rooms.is_noise(text)


@pytest.mark.parametrize("text", ["204", "3602C", "Kitchen", "Salle à manger", "G101", "5/F corridor"])
def test_room_names_and_numbers_are_kept(text: str) -> None:
    assert not rooms.is_noise(text)


@pytest.mark.parametrize(("text", "kept"), [("JE", False), ("salTlci", False), ("=Êi", False), ("Tl", False),
                                            ("Sayles First Floor", True), ("108", True), ("Cuisine", True)])
def test_what_ocr_reads_in_hatching_is_dropped(text: str, kept: bool) -> None:
    assert rooms.ocr_plausible(text) is kept


def test_text_on_most_pages_is_marked_repeated() -> None:
    def page(number: int, *texts: str) -> rooms.PageLabels:
        return rooms.PageLabels(number, "text", tuple(rooms.Label(text, (0, 0, 0.1, 0.1)) for text in texts))

    pages = rooms.mark_repeated([page(1, "ACME Architects", "Kitchen"), page(2, "ACME ARCHITECTS", "Office"),
                                 page(3, "acme architects", "Hall")])
    marked = [(label.text, label.repeated) for label in pages[0].labels]
    assert marked == [("ACME Architects", True), ("Kitchen", False)]
    document = rooms.version_document(pages)
    assert [page.labels for page in rooms.pages_of(json.loads(json.dumps(document)))] == [p.labels for p in pages]


def test_rotated_sheet_labels_sit_where_the_tiles_show_them() -> None:
    """The university hall is stored portrait with /Rotate 90: its room 1200A is drawn at
    74-76 % across and 36-37 % down the sheet as shown (checked on a rendered PNG)."""
    page = pymupdf.open(ROTATED)[0]
    labels = rooms.page_labels(page, 1, Path("/nonexistent"), ocr_seconds=1)
    assert labels.source == "text"
    x, y = label_named(labels.labels, "1200A").centre
    assert x == pytest.approx(0.746, abs=0.01)
    assert y == pytest.approx(0.365, abs=0.01)
    assert len(labels.labels) > 80
    assert all(0 <= value <= 1 for label in labels.labels for value in label.box)


@pytest.mark.slow
@pytest.mark.parametrize("name", [ROTATED.name, "plan-restaurant-inn-8sheets-A1-rot90-autocad.pdf",
                                  "plan-farmhouse-25sheets-tabloid-rot270-brotli.pdf"])
def test_the_render_workers_display_list_gives_the_same_labels(name: str) -> None:
    """The worker reads words from the display list it recorded (shown coordinates); the
    same page read from its text layer (unrotated, then turned) gives the same labels."""
    page = pymupdf.open(CORPUS / name)[0]
    from_page = rooms.page_labels(page, 1, Path("/nonexistent"), ocr_seconds=1)
    from_list = rooms.page_labels(page, 1, Path("/nonexistent"), ocr_seconds=1, display_list=page.get_displaylist())
    assert [label.text for label in from_list.labels] == [label.text for label in from_page.labels]
    for a, b in zip(from_list.labels, from_page.labels, strict=True):
        assert a.box == pytest.approx(b.box, abs=1e-4)


def test_a_scans_own_text_layer_is_used() -> None:
    labels = rooms.page_labels(pymupdf.open(SCHOOL)[0], 1, Path("/nonexistent"), ocr_seconds=1)
    assert labels.source == "text"
    assert "Roof Garden" in {label.text for label in labels.labels}


def made_scan(folder: Path) -> Path:
    """A vector page naming three rooms, drawn to a picture and put alone in a new PDF:
    a scan with no text layer."""
    vector = pymupdf.open()
    page = vector.new_page(width=612, height=792)
    page.draw_rect(pymupdf.Rect(36, 36, 576, 756), width=2)
    for index, word in enumerate(KNOWN_WORDS):
        page.insert_text((100, 200 + 200 * index), word, fontsize=28, fontname="helv")
    picture = page.get_pixmap(dpi=200)
    scan = pymupdf.open()
    scan.new_page(width=612, height=792).insert_image(pymupdf.Rect(0, 0, 612, 792), pixmap=picture)
    path = folder / "scan.pdf"
    scan.save(path)
    assert pymupdf.open(path)[0].get_text().strip() == ""
    return path


@pytest.mark.slow
def test_ocr_reads_a_scan_without_a_text_layer(tmp_path: Path) -> None:
    if rooms.tessdata() is None:
        pytest.fail(f"Tesseract is missing: {rooms.INSTALL_HINT}")
    page = pymupdf.open(made_scan(tmp_path))[0]
    labels = rooms.page_labels(page, 1, tmp_path, ocr_seconds=60)
    assert labels.source == "ocr"
    for index, word in enumerate(KNOWN_WORDS):
        x, y = label_named(labels.labels, word).centre
        assert y == pytest.approx((200 - 10 + 200 * index) / 792, abs=0.02)
        assert 100 / 612 < x < 0.5


@pytest.mark.slow
def test_ocr_overrunning_its_time_leaves_the_page_without_labels(tmp_path: Path) -> None:
    page = pymupdf.open(made_scan(tmp_path))[0]
    labels = rooms.page_labels(page, 1, tmp_path, ocr_seconds=0.0)
    assert (labels.source, labels.labels) == ("ocr-failed", ())


def test_missing_tesseract_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rooms, "TESSDATA_FOLDERS", ())
    monkeypatch.delenv("TESSDATA_PREFIX", raising=False)
    page = pymupdf.open(made_scan(tmp_path))[0]
    assert rooms.page_labels(page, 1, tmp_path, ocr_seconds=30).source == "ocr-missing"


@pytest.mark.slow
def test_render_writes_each_pages_labels_beside_its_tiles(tmp_path: Path) -> None:
    scan = made_scan(tmp_path)
    combined = pymupdf.open(ROTATED)
    combined.insert_pdf(pymupdf.open(scan))
    pdf = tmp_path / "two.pdf"
    combined.save(pdf)
    results = render_pages(pdf, tmp_path / "out", [1, 2], limits=RenderLimits(page_pixels=2_000_000, workers=2))
    first = rooms.read_page_labels(results[0].labels_file, 1)
    second = rooms.read_page_labels(results[1].labels_file, 2)
    assert first is not None and second is not None
    assert first.source == "text" and label_named(first.labels, "1200A")
    assert second.source == "ocr" and label_named(second.labels, "NURSERY")
    assert {entry.name for entry in results[0].directory.iterdir()} >= {"overview.webp", "0"}
