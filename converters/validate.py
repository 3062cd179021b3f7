"""Checks an upload before anything is queued: is it really a PDF, can it be opened
without a password, and are its size, page count, pages and pictures within limits (what
each page would cost to draw: converters.pictures). Every refusal is a ``PdfRejected``
whose message tells a partner what is wrong and what to do.

Runs MuPDF in the calling process; the web app calls ``validate_pdf_isolated``
(converters.isolation), which runs this in a child process. Must not import Flask,
SQLAlchemy, storage or floorplans."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

import pymupdf

from converters import pictures
from converters.errors import PdfRejected
from converters.labels import FLOOR, propose
from converters.titles import SheetText, read_sheet

logger = logging.getLogger(__name__)

# The header may follow some junk (the PDF spec tolerates it; Acrobat looks in the first
# 1024 bytes), but no further: PyMuPDF would otherwise open HTML, SVG, PNG and ZIP files
# as documents of their own type.
HEADER_WINDOW = 1024
# Junk before the header is tolerated, but not when the junk is another format's own
# signature: MuPDF's repair would happily find the PDF inside a ZIP that stores one.
_OTHER_FORMATS = (
    b"PK\x03\x04",  # ZIP, and the office formats built on it
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",
    b"II*\x00",  # TIFF
    b"MM\x00*",
    b"<",  # HTML, XML, SVG
    b"\xef\xbb\xbf<",
)
_RE_EXPORT = "Export or print the drawing to PDF again from the program that made it, and upload the new file."
# How MuPDF says a page holds more than can be opened: its own size limit on pictures
# (FzErrorLimit, "Overly large image"), or an allocation refused by the memory cap.
_TOO_LARGE_WORDS = ("overly large", "malloc", "out of memory", "cannot allocate")


@dataclass(frozen=True)
class UploadLimits:
    """What an upload may be.

    ``max_page_pixels`` refuses pages whose area at 72 dpi (one pixel per point, the least
    that keeps a plan's text legible) already exceeds the per-page pixel budget: the
    renderer lowers the resolution of large sheets to fit the budget, and below 72 dpi it
    would be handing officers an illegible plan.

    ``max_image_pixels`` and ``max_page_image_bytes`` refuse decompression bombs before
    anything is queued (converters.pictures): a picture's pixels as its dictionary declares
    them, and the bytes a page's pictures take once opened (8 bits per component, as MuPDF
    draws them). A whole 36 x 48 in sheet scanned at 300 dpi is 156 million pixels, 467 MB
    in colour; the renderer decodes a picture again for each band it draws, at ~30 ms of
    CPU per opened MB on our 2 cores, so 600 MB keeps a page well inside 30 s."""

    max_bytes: int = 100 * 1024 * 1024
    max_pages: int = 60
    max_page_side_pt: float = 14400.0
    max_page_pixels: int = 100_000_000
    max_image_pixels: int = 200_000_000
    max_page_image_bytes: int = 600_000_000


DEFAULT_UPLOAD_LIMITS = UploadLimits()


@dataclass(frozen=True)
class PageSummary:
    """One page as a viewer shows it, with the name proposed for it from its own title
    (converters.labels) and its kind: "floor" (the plan of one floor, or a page we could
    not read) or "sheet" (cover, elevation, section, detail, schedule, site...), which the
    partner's review may propose to hide."""

    number: int
    width_pt: float
    height_pt: float
    rotation: int
    suggested_label: str
    suggested_kind: str = FLOOR


@dataclass(frozen=True)
class PdfSummary:
    sha256: str
    page_count: int
    pages: tuple[PageSummary, ...]
    encrypted_owner_only: bool


def _megabytes(count: int) -> str:
    return f"{count / (1024 * 1024):.0f} MB" if count >= 1024 * 1024 else f"{count / 1024:.0f} KB"


def _size_words(points: float) -> str:
    return f"{points / 72 * 2.54:.0f} cm ({points / 72:.0f} in)"


def check_size(size: int, limits: UploadLimits) -> None:
    if size == 0:
        raise PdfRejected("The file is empty. Choose the PDF of the floor plan and upload it again.")
    if size > limits.max_bytes:
        raise PdfRejected(
            f"The file is {_megabytes(size)}; the largest we accept is {_megabytes(limits.max_bytes)}. "
            "Export the drawing again with smaller embedded pictures, or split it into several files."
        )


def open_pdf(data: bytes, limits: UploadLimits) -> pymupdf.Document:
    """Open ``data`` as a PDF or refuse it; the checks that need no page."""
    check_size(len(data), limits)
    if data.startswith(_OTHER_FORMATS) or b"%PDF-" not in data[:HEADER_WINDOW]:
        raise PdfRejected(
            "This file is not a PDF, nor a photo of a plan (JPEG, PNG or HEIC). Save or print the floor "
            "plan as a PDF (for example with 'Print to PDF'), or take a photo of it, and upload that file."
        )
    try:
        document = pymupdf.open(stream=data, filetype="pdf")
    except Exception as error:  # MuPDF raises many types for damaged files
        raise PdfRejected(f"This PDF is damaged and cannot be opened. {_RE_EXPORT}") from error
    try:
        check_document(document, data, limits)
    except PdfRejected:
        document.close()
        raise
    except Exception as error:  # a damaged structure surfaces as MuPDF errors on any property
        document.close()
        raise PdfRejected(f"This PDF is damaged and cannot be read. {_RE_EXPORT}") from error
    return document


def check_document(document: pymupdf.Document, data: bytes, limits: UploadLimits) -> None:
    # A file cut off in transfer loses its end (the %%EOF marker, the cross-reference
    # table); MuPDF then rebuilds what it can and would open it with blank pages. Files
    # repaired for other reasons (a missing xref table, a broken trailer) keep their end.
    if document.is_repaired and b"%%EOF" not in data[-HEADER_WINDOW:]:
        raise PdfRejected(
            "This PDF is incomplete: its end is missing, as happens when a download or copy is cut off. "
            "Upload the complete file again, or export the drawing to PDF again."
        )
    if not document.is_pdf:
        raise PdfRejected(
            "This file is not a PDF, nor a photo of a plan (JPEG, PNG or HEIC). Save or print the floor plan as "
            "a PDF, or take a photo of it, and upload that file."
        )
    if document.needs_pass:
        raise PdfRejected(
            "This PDF is protected by a password. Open it, remove the password "
            "(e.g. print to PDF), and upload it again."
        )
    count = document.page_count
    if count == 0:
        raise PdfRejected(f"This PDF has no pages. {_RE_EXPORT}")
    if count > limits.max_pages:
        raise PdfRejected(
            f"This PDF has {count} pages; the most we accept in one upload is {limits.max_pages}. "
            f"Split it into files of at most {limits.max_pages} pages and upload them one by one."
        )


def check_page(document: pymupdf.Document, index: int, limits: UploadLimits) -> tuple[PageSummary, SheetText]:
    """The page's summary (named "Sheet n" until ``name_pages`` has seen the whole document)
    and what it says about itself."""
    number = index + 1
    try:
        page = document.load_page(index)
        rect = page.rect
        rotation = page.rotation
        sheet = read_sheet(page, number)
    except Exception as error:  # as above, per page (e.g. a page-tree cycle)
        raise PdfRejected(f"Page {number} of this PDF is damaged and cannot be read. {_RE_EXPORT}") from error
    width, height = rect.width, rect.height
    if not (width >= 1 and height >= 1):  # also catches NaN from a garbage MediaBox
        raise PdfRejected(f"Page {number} of this PDF has no visible area. {_RE_EXPORT}")
    if max(width, height) > limits.max_page_side_pt:
        raise PdfRejected(
            f"Page {number} is {_size_words(width)} wide and {_size_words(height)} high; the largest "
            f"page we accept is {_size_words(limits.max_page_side_pt)} on each side. Export the "
            "drawing on a smaller sheet size (for example A0 or 36 x 48 in), or split it into "
            "several sheets."
        )
    if width * height > limits.max_page_pixels:
        raise PdfRejected(
            f"Page {number} is {_size_words(width)} by {_size_words(height)}, too large to show "
            "legibly on a screen. Export the drawing on a smaller sheet size, or split it into "
            "several sheets."
        )
    summary = PageSummary(
        number=number,
        width_pt=round(width, 2),
        height_pt=round(height, 2),
        rotation=rotation,
        suggested_label=f"Sheet {number}",
    )
    return summary, sheet


def name_pages(checked: list[tuple[PageSummary, SheetText]]) -> tuple[PageSummary, ...]:
    """Each page's proposed name and kind, from the whole document at once: text printed on
    most pages is nobody's title, and pages of the same title are told apart by number."""
    summaries = [summary for summary, _ in checked]
    try:
        proposals = propose([sheet for _, sheet in checked])
    except Exception:  # a proposal only saves typing: never refuse an upload over one
        logger.exception("proposing page names failed; pages keep 'Sheet n'")
        return tuple(summaries)
    return tuple(
        replace(summary, suggested_label=proposal.name, suggested_kind=proposal.kind)
        for summary, proposal in zip(summaries, proposals, strict=True)
    )


def check_page_cost(document: pymupdf.Document, index: int, limits: UploadLimits) -> None:
    """Refuse page ``index`` if drawing it would cost more than a page may: its pictures
    (converters.pictures). Recording the page as the renderer will is also where MuPDF
    hangs on some hostile files; the isolated parent's time limit then names this page."""
    number = index + 1
    try:
        page = document.load_page(index)
        pictures.check_page_pictures(page, number, limits.max_image_pixels, limits.max_page_image_bytes)
    except PdfRejected:
        raise
    except Exception as error:  # MuPDF raises many types for damaged files
        if isinstance(error, MemoryError) or any(word in str(error).lower() for word in _TOO_LARGE_WORDS):
            raise PdfRejected(
                f"Page {number} of this PDF holds more than we can open within the memory we allow, usually "
                "a picture of enormous size. Export the plan again with images at 300 dpi or less, and upload "
                "the new file."
            ) from error
        raise PdfRejected(f"Page {number} of this PDF is damaged and cannot be read. {_RE_EXPORT}") from error


def validate_pdf(
    data: bytes, limits: UploadLimits = DEFAULT_UPLOAD_LIMITS, *, on_page: Callable[[int], None] | None = None
) -> PdfSummary:
    """Check ``data`` in this process; raise ``PdfRejected`` or describe the document.
    ``on_page(number)`` is called as each page's checks begin (the isolated parent names
    the page a hostile file got stuck on)."""
    document = open_pdf(data, limits)
    try:
        # Every picture's declared size first: nothing is decoded or drawn for it.
        pictures.check_stored_pictures(document, limits.max_image_pixels, limits.max_page_image_bytes)
        checked = []
        for index in range(document.page_count):
            if on_page is not None:
                on_page(index + 1)
            check_page_cost(document, index, limits)
            checked.append(check_page(document, index, limits))
        pages = name_pages(checked)
        # Owner-password-only files open without a password; MuPDF then reports
        # is_encrypted False but still names the encryption in the metadata.
        encrypted = bool((document.metadata or {}).get("encryption"))
    except PdfRejected:
        raise
    except Exception as error:  # found by fuzzing: damaged files fail on any property
        raise PdfRejected(f"This PDF is damaged and cannot be read. {_RE_EXPORT}") from error
    finally:
        document.close()
    return PdfSummary(
        sha256=hashlib.sha256(data).hexdigest(),
        page_count=len(pages),
        pages=pages,
        encrypted_owner_only=encrypted,
    )
