"""validate_pdf: every hostile corpus file gets its defined outcome, and inputs that are
not PDFs, or PDFs beyond the limits, are refused with a message that says what to do."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pymupdf
import pytest
from PIL import Image

from converters import PdfRejected, UploadLimits, validate_pdf, validate_pdf_isolated
from tests.security import bombs

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def pdf_with_pages(sizes: list[tuple[float, float]], text: str | None = None) -> bytes:
    document = pymupdf.open()
    for width, height in sizes:
        page = document.new_page(width=width, height=height)
        if text:
            page.insert_text((36, 72), text, fontsize=24)
    return document.tobytes()


def rejection(data: bytes, limits: UploadLimits | None = None) -> str:
    with pytest.raises(PdfRejected) as caught:
        validate_pdf(data, limits or UploadLimits())
    assert str(caught.value) == caught.value.message
    return caught.value.message


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("bad-encrypted-user-password.pdf", "protected by a password. Open it, remove the password"),
        ("bad-fuzzed-unopenable.pdf", "damaged and cannot be opened"),
        ("bad-page-tree-cycle.pdf", "Page 1 of this PDF is damaged"),
        # Not a PDF at all: a JPEG that PyMuPDF would open as a one-page image document.
        ("bad-huge-page-49000x127pt-fuzz.pdf", "not a PDF"),
    ],
)
def test_hostile_files_are_rejected_with_a_reason(name: str, says: str) -> None:
    message = rejection(corpus(name))
    assert says in message
    assert "upload" in message.lower()  # and what to do about it


@pytest.mark.parametrize(
    ("name", "pages"),
    [
        ("bad-encrypted-owner-only-noprint.pdf", 1),
        ("bad-javascript-openaction.pdf", 1),
        ("bad-xref-missing.pdf", 1),
        ("bad-deep-nesting-68k-dicts-trailer.pdf", 10),
        # A 34,862 x 4,332 soft mask (151 million pixels, 151 MB once opened), drawn 40
        # times: within the picture limits when counted once, as MuPDF decodes it once.
        ("bad-image-bomb-151mpx-1bit.pdf", 1),
        # bad-render-hang-structtree-cycle.pdf hangs MuPDF while reading page 1 and is
        # refused by the isolated validation's time limit (tests/converters/test_isolation.py).
    ],
)
def test_hostile_files_that_open_are_accepted(name: str, pages: int) -> None:
    summary = validate_pdf(corpus(name))
    assert summary.page_count == pages == len(summary.pages)
    assert [page.number for page in summary.pages] == list(range(1, pages + 1))


def test_owner_password_only_is_accepted_and_noted() -> None:
    assert validate_pdf(corpus("bad-encrypted-owner-only-noprint.pdf")).encrypted_owner_only
    assert not validate_pdf(corpus("bad-javascript-openaction.pdf")).encrypted_owner_only


def test_summary_describes_pages_as_displayed() -> None:
    data = corpus("plan-restaurant-inn-8sheets-A1-rot90-autocad.pdf")
    summary = validate_pdf(data)
    assert summary.sha256 == "7ad47b8bc30b7e227b70eb8afe33f150c822a9355cece73407cd7ab5beb14d80"
    assert summary.page_count == 8
    first = summary.pages[0]
    # Stored portrait with /Rotate 90: a viewer shows it landscape.
    assert (first.width_pt, first.height_pt, first.rotation) == (2384.0, 1684.0, 90)


@pytest.mark.parametrize(
    ("name", "page", "label", "kind"),
    [
        ("plan-restaurant-inn-8sheets-A1-rot90-autocad.pdf", 2, "Ground floor", "floor"),
        ("plan-university-hall-floor1-legal-rot90-vector.pdf", 1, "Floor 1", "floor"),
        ("plan-farmhouse-25sheets-tabloid-rot270-brotli.pdf", 2, "Project information", "sheet"),
        ("plan-university-lab-5sheets-A2-autocad.pdf", 3, "Block wall plan", "sheet"),
        # Pictures only, no text to read: named by position, and never proposed hidden.
        ("plan-assembly-hall-raster-5pages-mixed-sizes.pdf", 4, "Sheet 4", "floor"),
    ],
)
def test_suggested_labels(name: str, page: int, label: str, kind: str) -> None:
    summary = validate_pdf(corpus(name)).pages[page - 1]
    assert (summary.suggested_label, summary.suggested_kind) == (label, kind)


def test_a_basement_title_is_suggested() -> None:
    summary = validate_pdf(pdf_with_pages([(595, 842)] * 2, text="BASEMENT PLAN"))
    assert [page.suggested_label for page in summary.pages] == ["Basement", "Basement"]


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buffer, "PNG")
    return buffer.getvalue()


def _zip(compression: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        archive.writestr("plan.pdf", corpus("plan-university-hall-floor1-legal-rot90-vector.pdf"))
    return buffer.getvalue()


NOT_PDFS = {
    "html": b"<!doctype html><html><body><h1>Floor plan</h1></body></html>",
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="5" height="5"/></svg>',
    "png": _png(),
    # Stored uncompressed, the PDF's own header is within the ZIP's first 1024 bytes and
    # MuPDF's repair finds the PDF inside.
    "zip": _zip(zipfile.ZIP_STORED),
    "zip-deflated": _zip(zipfile.ZIP_DEFLATED),
}


@pytest.mark.parametrize("kind", sorted(NOT_PDFS))
def test_other_formats_are_not_pdfs(kind: str) -> None:
    assert "not a PDF" in rejection(NOT_PDFS[kind])


def test_a_zip_storing_a_pdf_is_not_a_pdf() -> None:
    # The header check alone would pass it, and MuPDF's repair finds the PDF inside.
    assert b"%PDF-" in NOT_PDFS["zip"][:1024]
    assert pymupdf.open(stream=NOT_PDFS["zip"], filetype="pdf").is_pdf
    assert "not a PDF" in rejection(NOT_PDFS["zip"])


@pytest.mark.slow  # validates in a child process
@pytest.mark.parametrize("kind", ["html", "png"])
def test_other_formats_named_pdf_are_refused_in_isolation(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "floor-plan.pdf"
    path.write_bytes(NOT_PDFS[kind])
    with pytest.raises(PdfRejected, match="not a PDF"):
        validate_pdf_isolated(path)


def test_a_pdf_header_on_something_else_is_refused() -> None:
    assert "not a PDF" in rejection(b"<html><body>%PDF-1.7 pretending</body></html>")
    assert "damaged" in rejection(b"junk\n%PDF-1.7\nnothing that parses\n%%EOF\n")


def test_empty_file() -> None:
    assert "empty" in rejection(b"")


def test_truncated_plan_is_incomplete() -> None:
    data = corpus("plan-restaurant-inn-8sheets-A1-rot90-autocad.pdf")
    message = rejection(data[: len(data) // 2])
    assert "incomplete" in message
    assert "Upload the complete file" in message


def test_no_pages() -> None:
    data = (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )
    assert "no pages" in rejection(data)


def test_too_many_pages() -> None:
    message = rejection(pdf_with_pages([(200, 200)] * 5), UploadLimits(max_pages=4))
    assert "5 pages" in message
    assert "at most 4 pages" in message


def test_page_larger_than_the_limit_names_page_size_and_remedy() -> None:
    data = pdf_with_pages([(612, 792), (15000, 500)])
    message = rejection(data)
    assert message.startswith("Page 2 is 529 cm (208 in) wide")
    assert "508 cm (200 in)" in message
    assert "smaller sheet size" in message


def test_page_pixel_budget() -> None:
    message = rejection(pdf_with_pages([(1000, 1000)]), UploadLimits(max_page_pixels=999_999))
    assert "Page 1" in message
    assert "too large" in message


def test_file_over_the_size_limit() -> None:
    data = corpus("plan-university-hall-floor1-legal-rot90-vector.pdf")
    message = rejection(data, UploadLimits(max_bytes=50 * 1024))
    assert "88 KB" in message
    assert "50 KB" in message
    assert "split it" in message


@pytest.mark.slow  # validates in a child process
def test_isolated_validation_matches_in_process(tmp_path: Path) -> None:
    path = CORPUS / "plan-farmhouse-25sheets-tabloid-rot270-brotli.pdf"
    assert validate_pdf_isolated(path) == validate_pdf(path.read_bytes())


def test_isolated_validation_refuses_before_reading_a_huge_file(tmp_path: Path) -> None:
    path = tmp_path / "big.pdf"
    path.write_bytes(b"%PDF-1.7\n" + b"0" * 4096)
    with pytest.raises(PdfRejected, match="largest we accept is 2 KB"):
        validate_pdf_isolated(path, UploadLimits(max_bytes=2048))


@pytest.mark.slow  # validates in a child process
@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("bad-encrypted-user-password.pdf", "password"),
        ("bad-page-tree-cycle.pdf", "Page 1"),
        ("bad-fuzzed-unopenable.pdf", "damaged"),
    ],
)
def test_isolated_validation_passes_rejections_through(name: str, says: str) -> None:
    with pytest.raises(PdfRejected, match=says):
        validate_pdf_isolated(CORPUS / name)


@pytest.mark.parametrize("name", sorted(path.name for path in CORPUS.glob("plan-*.pdf")))
def test_every_plan_of_the_corpus_is_accepted(name: str) -> None:
    """The picture and page-cost checks refuse bombs, never a real plan (scans included)."""
    summary = validate_pdf(corpus(name))
    assert summary.page_count == len(summary.pages) >= 1


# -- decompression bombs and the pages' cost (converters.pictures) ---------------------------

WALL_LIMIT = 20.0  # validate_pdf_isolated's own time limit
ADVICE = "Export the plan again with images at 300 dpi or less"


def refused_in_isolation(data: bytes, tmp_path: Path, limits: UploadLimits | None = None) -> str:
    path = tmp_path / "plan.pdf"
    path.write_bytes(data)
    started = time.monotonic()
    with pytest.raises(PdfRejected) as caught:
        validate_pdf_isolated(path, limits or UploadLimits())
    assert time.monotonic() - started < WALL_LIMIT  # refused by a check, not by the time limit
    return caught.value.message


def test_the_bombs_made_here_are_what_they_claim() -> None:
    data = bombs.picture_bomb(8_000, 8_000)  # the builder of the 2.5 GB one, at a size quick to count
    stream = pymupdf.open(stream=data, filetype="pdf").xref_stream_raw(5)
    assert bombs.inflated_size(stream) == 64_000_000
    assert len(data) < 10_000


@pytest.mark.slow  # validates in a child process
def test_a_picture_that_opens_into_gigabytes_is_refused_before_anything_is_drawn(tmp_path: Path) -> None:
    data = bombs.picture_bomb(50_000, 50_000)  # 2.5 GB of pixels in a PDF of ~5 KB
    assert len(data) < 10_000
    message = refused_in_isolation(data, tmp_path)
    assert message.startswith(
        "One picture in this PDF is 50,000 x 50,000 pixels (2,500 million, 2,500 MB once opened); "
        "we can draw pictures of at most 200 million pixels (600 MB)"
    )
    assert message.endswith(f"{ADVICE}, and upload the new file.")


@pytest.mark.slow  # validates in a child process
def test_a_colour_picture_counts_its_components(tmp_path: Path) -> None:
    # 150 million pixels is within the pixel limit, but in CMYK it opens into 600 MB and more.
    message = refused_in_isolation(bombs.picture_bomb(12_500, 12_500, components=4), tmp_path)
    assert "12,500 x 12,500 pixels (156 million, 625 MB once opened)" in message
    assert ADVICE in message


def test_a_soft_mask_is_a_picture_too() -> None:
    # The corpus's bomb hides its 34,862 x 4,332 picture as the soft mask of a 2 x 2 one.
    message = rejection(corpus("bad-image-bomb-151mpx-1bit.pdf"), UploadLimits(max_image_pixels=100_000_000))
    assert message.startswith("One picture in this PDF is 34,862 x 4,332 pixels (151 million")


@pytest.mark.slow  # validates in a child process
def test_an_inline_picture_is_measured_on_its_page(tmp_path: Path) -> None:
    # Written into the page's content, it has no dictionary of its own to read.
    message = refused_in_isolation(bombs.inline_bomb(16_000, 16_000), tmp_path)
    assert message.startswith("One picture on page 1 of this PDF is 16,000 x 16,000 pixels (256 million")
    assert ADVICE in message


@pytest.mark.slow  # validates in a child process
def test_an_inline_picture_too_large_to_open_is_refused_with_the_same_advice(tmp_path: Path) -> None:
    # MuPDF opens inline pictures while reading the page: 1.6 GB meets the 1 GiB memory cap.
    # (Past 2 GB MuPDF refuses an inline picture's size itself and draws nothing.)
    message = refused_in_isolation(bombs.inline_bomb(40_000, 40_000), tmp_path)
    assert message.startswith("Page 1 of this PDF holds more than we can open within the memory we allow")
    assert ADVICE in message


@pytest.mark.slow  # validates in a child process
def test_the_pictures_of_one_page_are_counted_together(tmp_path: Path) -> None:
    # Four colour pictures, each within the limits (144 million pixels, 432 MB), together 1,728 MB.
    message = refused_in_isolation(bombs.pictures_page(4, 12_000, 12_000), tmp_path)
    assert message.startswith(
        "The 4 pictures on page 1 of this PDF take 1,728 MB once opened; we can draw at most 600 MB"
    )
    assert ADVICE in message
