"""The words a plan prints, grouped into labels ("Drawing Room", "3602C", "Main entrance")
with where they are on the page: what an officer's "Find" looks for.

Labels are read from the page's text layer (PyMuPDF's words, on every vector sheet), or,
for a page without a usable one (a scan, a photo, a CAD export that draws its text as
curves), by Tesseract through PyMuPDF's OCR. Boxes are page-relative (0-1, origin top
left) in the orientation the tiles show: the page's /Rotate is applied, as the viewer does.

OCR runs in a forked copy of the render worker (same memory and CPU limits, inherited), so a
page whose OCR crashes, runs out of memory or overruns its time keeps its tiles: the page
gets no OCR labels and says why (``PageLabels.source``).

Reading runs in the render worker; must not import Flask, SQLAlchemy, storage or floorplans."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pymupdf

# PyMuPDF is imported where a page is read, never at import: the app reads and searches the
# stored labels (PageLabels, version_document, pages_of) without loading it.

FORMAT = 1
# A page "has a usable text layer" with at least this many words of three letters or digits:
# the art gallery's raster page carries 20 scraps of a bad OCR ("S", "i", "C", "it").
USABLE_MIN_WORDS = 5
# Two words of one line further apart than this many text heights are two labels (a room
# name and the next room's, printed on one baseline in CAD).
SPLIT_GAP = 1.2
MAX_LABEL_CHARS = 60
# Text on this share of a document's pages (3 pages or more) is title-block boilerplate:
# kept, marked ``repeated``, ranked low by search.
REPEATED_SHARE = 0.6
OCR_LANGUAGES = "eng+fra"
# OCR resolution: 300 dpi (Tesseract's sweet spot), lower for large sheets so the page
# image stays within OCR_MAX_PIXELS (an A1 sheet at ~140 dpi): memory and time stay bounded.
OCR_DPI = 300.0
OCR_MAX_PIXELS = 16_000_000
TESSDATA_FOLDERS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
)
INSTALL_HINT = "install Tesseract with `make ocr` (Debian: tesseract-ocr tesseract-ocr-eng tesseract-ocr-fra)"

# What is never a room: dimensions (3'-6", 1200 mm, 4.50, 1:50, 900x2100), and anything
# without a letter or a digit.
_DIMENSION = re.compile(
    r"""^(?:
        \d+\s*'\s*-?\s*\d*(?:\s*\d+/\d+)?\s*"?          # 12'-6", 3'
      | \d+(?:\s*\d+/\d+)?\s*"                          # 6", 6 1/2"
      | \d+[.,]\d+\s*(?:mm|cm|m|m2|m²|ft|in|sf)?        # 4.50, 2,40 m
      | \d+\s*(?:mm|cm|m|m2|m²|ft|in|sf|sq\.?\s*ft)     # 1200 mm, 85 m²
      | \d+\s*[:/]\s*\d+                                # 1:50, 1/4
      | \d+\s*[x×]\s*\d+                                # 900x2100
      | [+-]\s*\d+(?:[.,]\d+)?                          # +3.20 levels
      | \d{7,}                                          # long numbers: dates, references
    )$""",
    re.VERBOSE | re.IGNORECASE,
)
_ALNUM = re.compile(r"[^\W_]", re.UNICODE)


@dataclass(frozen=True)
class Label:
    """One label: its text and its box (x0, y0, x1, y1), page-relative 0-1 as shown."""

    text: str
    box: tuple[float, float, float, float]
    repeated: bool = False

    @property
    def centre(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"text": self.text, "box": [round(value, 5) for value in self.box]}
        if self.repeated:
            data["repeated"] = True
        return data


@dataclass(frozen=True)
class PageLabels:
    """A page's labels and where they come from: "text" (the PDF's text layer), "ocr",
    "none" (no text, and OCR found none), "ocr-missing" (Tesseract not installed),
    "ocr-failed" (it crashed or overran its time: the page has no labels, its tiles are fine)."""

    number: int
    source: str
    labels: tuple[Label, ...] = field(default=())
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source, "seconds": round(self.seconds, 3),
            "labels": [label.as_json() for label in self.labels],
        }  # fmt: skip

    @classmethod
    def from_json(cls, number: int, data: dict[str, Any]) -> PageLabels:
        return cls(
            number=number,
            source=str(data.get("source", "none")),
            labels=tuple(_label_from_json(item) for item in data.get("labels", ())),
            seconds=float(data.get("seconds", 0.0)),
        )


def _label_from_json(item: dict[str, Any]) -> Label:
    x0, y0, x1, y1 = (float(value) for value in item["box"])
    return Label(str(item["text"]), (x0, y0, x1, y1), bool(item.get("repeated")))


def clean(text: str) -> str:
    from converters.titles import clean as clean_text  # the sheet titles' spelling rules

    return clean_text(text)


def is_noise(text: str) -> bool:
    """A dimension, a scale, a lone character or punctuation: never a room."""
    if len(_ALNUM.findall(text)) < 2:
        return True
    return bool(_DIMENSION.match(text))


Box = tuple[float, float, float, float]


def _gap(a: Box, b: Box) -> float:
    """The distance between two boxes (0 when they touch or overlap)."""
    dx = max(0.0, b[0] - a[2], a[0] - b[2])
    dy = max(0.0, b[1] - a[3], a[1] - b[3])
    return math.hypot(dx, dy)


def _turned(x0: float, y0: float, x1: float, y1: float, m: Sequence[float]) -> Box:
    """The box (x0, y0, x1, y1) through the matrix m = (a, b, c, d, e, f), axis-aligned."""
    xs = [m[0] * x + m[2] * y + m[4] for x, y in ((x0, y0), (x1, y0), (x0, y1), (x1, y1))]
    ys = [m[1] * x + m[3] * y + m[5] for x, y in ((x0, y0), (x1, y0), (x0, y1), (x1, y1))]
    return min(xs), min(ys), max(xs), max(ys)


def group_words(words: Iterable[Sequence[Any]], rotation: Sequence[float], width: float, height: float) -> list[Label]:
    """PyMuPDF words (x0, y0, x1, y1, text, block, line, word) grouped into labels: the
    words of one text line, split where two are far apart; boxes turned by ``rotation``
    (the page's rotation matrix, or the identity for words already as shown) and divided by
    the shown page's size. Plain floats: PyMuPDF's Rect costs more than the reading."""
    identity = tuple(rotation) == (1, 0, 0, 1, 0, 0)
    lines: dict[tuple[int, int], list[tuple[Box, str]]] = {}
    for word in words:
        text = clean(str(word[4]))
        if not text:
            continue
        x0, y0, x1, y1 = float(word[0]), float(word[1]), float(word[2]), float(word[3])
        box = (x0, y0, x1, y1) if identity else _turned(x0, y0, x1, y1, rotation)
        lines.setdefault((int(word[5]), int(word[6])), []).append((box, text))
    labels: list[Label] = []
    for entries in lines.values():
        run: list[tuple[Box, str]] = []
        for box, text in entries:
            if run:
                last = run[-1][0]
                thickness = min(last[2] - last[0], last[3] - last[1], box[2] - box[0], box[3] - box[1])
                if _gap(last, box) > SPLIT_GAP * max(thickness, 1.0):
                    labels.extend(_label(run, width, height))
                    run = []
            run.append((box, text))
        labels.extend(_label(run, width, height))
    return labels


def _label(run: list[tuple[Box, str]], width: float, height: float) -> list[Label]:
    if not run:
        return []
    text = " ".join(text for _, text in run)
    if len(text) > MAX_LABEL_CHARS or is_noise(text):
        return []
    x0 = max(0.0, min(box[0] for box, _ in run) / width)
    y0 = max(0.0, min(box[1] for box, _ in run) / height)
    x1 = min(1.0, max(box[2] for box, _ in run) / width)
    y1 = min(1.0, max(box[3] for box, _ in run) / height)
    if x1 <= x0 or y1 <= y0:
        return []  # off the visible page
    return [Label(text, (x0, y0, x1, y1))]


def usable(words: Sequence[Sequence[Any]]) -> bool:
    return sum(1 for word in words if len(_ALNUM.findall(str(word[4]))) >= 3) >= USABLE_MIN_WORDS


IDENTITY = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def text_labels(
    page: pymupdf.Page, words: Sequence[Sequence[Any]] | None = None, *, shown: bool = False
) -> list[Label]:
    """Labels of ``words`` (default: the page's text layer). ``shown``: the words are in the
    page's shown coordinates already (read from its display list), else unrotated."""
    import pymupdf

    if words is None:
        words = page.get_text("words", flags=pymupdf.TEXT_MEDIABOX_CLIP)
    turn = page.rotation_matrix
    rotation = IDENTITY if shown else (turn.a, turn.b, turn.c, turn.d, turn.e, turn.f)
    return group_words(words, rotation, page.rect.width, page.rect.height)


def shown_words(display_list: pymupdf.DisplayList) -> list[tuple[Any, ...]]:
    """The words of a page's display list (what the render worker already recorded, so
    the page is not interpreted again: ~10x faster than Page.get_text on CAD sheets), in
    the shown page's coordinates."""
    import pymupdf

    textpage = pymupdf.TextPage(display_list.get_textpage(flags=pymupdf.TEXT_MEDIABOX_CLIP))
    words: list[tuple[Any, ...]] = textpage.extractWORDS()
    return words


def tessdata() -> str | None:
    """Tesseract's language folder holding English and French, or None when it is missing."""
    folders = [os.environ.get("TESSDATA_PREFIX", ""), *TESSDATA_FOLDERS]
    for folder in folders:
        if folder and all((Path(folder) / f"{language}.traineddata").is_file() for language in ("eng", "fra")):
            return folder
    return None


def ocr_dpi(page: pymupdf.Page) -> int:
    area = page.rect.width * page.rect.height
    return max(50, int(min(OCR_DPI, 72.0 * math.sqrt(OCR_MAX_PIXELS / max(area, 1.0)))))


# Tesseract (as MuPDF drives it: automatic page segmentation) reads little of a coloured,
# gridded plan; the same page made black on white first reads several times more of it
# (the scanned school: 3 of 29 rooms found, 10 once binarised; docs/benchmarks.md).
OCR_THRESHOLD = 150
_OCR_EDGES = "|_[]{}‘’'\"`~"


def ocr_picture(page: pymupdf.Page) -> pymupdf.Pixmap:
    """The page as shown, at ocr_dpi, grey stretched to full contrast and cut to black on
    white (paper tones, coloured room fills and hatching mostly drop out), as RGB: MuPDF's
    OCR reads nothing from a grey pixmap."""
    import pymupdf
    from PIL import Image, ImageOps

    grey = page.get_pixmap(dpi=ocr_dpi(page), colorspace=pymupdf.csGRAY, alpha=False)
    image = Image.frombytes("L", (grey.width, grey.height), grey.samples)
    del grey
    image = ImageOps.autocontrast(image, cutoff=1).point(lambda v: 255 if v > OCR_THRESHOLD else 0).convert("RGB")
    return pymupdf.Pixmap(pymupdf.csRGB, image.width, image.height, image.tobytes(), 0)


def ocr_labels(page: pymupdf.Page, folder: str) -> list[Label]:
    """The page OCR'd whole (as the viewer shows it) by Tesseract through PyMuPDF (the
    picture of ``ocr_picture``, read by Pixmap.pdfocr_tobytes), grouped into labels."""
    import pymupdf

    picture = ocr_picture(page)
    read = pymupdf.open("pdf", picture.pdfocr_tobytes(language=OCR_LANGUAGES, tessdata=folder))
    ocr_page = read[0]
    sx, sy = page.rect.width / ocr_page.rect.width, page.rect.height / ocr_page.rect.height
    words = []
    for word in ocr_page.get_text("words"):
        # Tesseract reads table lines and hatching as "|", "_" or "—" stuck to a word, or as
        # words of their own: those are trimmed, and only words with a letter or digit count.
        text = str(word[4]).strip(_OCR_EDGES)
        if _ALNUM.search(text):
            words.append((word[0] * sx, word[1] * sy, word[2] * sx, word[3] * sy, text, word[5], word[6], word[7]))
    labels = text_labels(page, words, shown=True)
    return [label for label in labels if ocr_plausible(label.text)]


_VOWEL_OR_DIGIT = re.compile(r"[aeiouyàâäéèêëîïôöùûüÿ0-9]", re.IGNORECASE)
_CASE_FLIP = re.compile(r"[a-z][A-Z][a-z]")


def ocr_plausible(text: str) -> bool:
    """What OCR reads in a drawing's lines and hatching ("JE", "em", "salTlci", "=Êi") is
    short, vowelless or flips case mid-word; a room's name or number is not."""
    return (len(_ALNUM.findall(text)) >= 3 and bool(_VOWEL_OR_DIGIT.search(text))
            and not _CASE_FLIP.search(text))


def _ocr_in_fork(page: pymupdf.Page, folder: str, out: Path, seconds: float) -> str:
    """OCR in a forked copy of this worker, so a crash, a memory blow-up or an overrun costs
    the labels only. Returns the source: "ocr" or "ocr-failed"."""
    out.unlink(missing_ok=True)
    pid = os.fork()
    if pid == 0:  # the copy: OCR, write, and leave without any teardown
        code = 1
        try:
            labels = ocr_labels(page, folder)
            temporary = out.with_suffix(".part")
            temporary.write_text(json.dumps([label.as_json() for label in labels]))
            temporary.replace(out)
            code = 0
        finally:
            os._exit(code)
    deadline = time.monotonic() + seconds
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return "ocr" if os.waitstatus_to_exitcode(status) == 0 and out.is_file() else "ocr-failed"
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "ocr-failed"
        time.sleep(0.05)


def page_labels(
    page: pymupdf.Page, number: int, work: Path, *, ocr_seconds: float, display_list: pymupdf.DisplayList | None = None
) -> PageLabels:
    """The labels of one page: from its text layer when it has a usable one, else OCR'd
    within ``ocr_seconds`` (files under ``work`` meanwhile). ``display_list``: the page's,
    recorded already (the render worker's): its words are read from it."""
    import pymupdf

    started = time.perf_counter()
    if display_list is not None:
        words: Sequence[Sequence[Any]] = shown_words(display_list)
    else:
        words = page.get_text("words", flags=pymupdf.TEXT_MEDIABOX_CLIP)
    shown = display_list is not None
    if usable(words):
        return PageLabels(number, "text", tuple(text_labels(page, words, shown=shown)), time.perf_counter() - started)
    folder = tessdata()
    if folder is None:
        return PageLabels(number, "ocr-missing", tuple(text_labels(page, words, shown=shown)),
                          time.perf_counter() - started)
    out = work / f"{number}.ocr.json"
    source = _ocr_in_fork(page, folder, out, ocr_seconds)
    labels: tuple[Label, ...] = ()
    if source == "ocr":
        labels = PageLabels.from_json(number, {"labels": json.loads(out.read_text())}).labels
        out.unlink(missing_ok=True)
    return PageLabels(number, source if labels or source != "ocr" else "none", labels, time.perf_counter() - started)


def labels_path(page_dir: Path) -> Path:
    """Where the render worker leaves a page's labels: beside the page's tile folder, which
    holds tiles and nothing else."""
    return page_dir.parent / f"{page_dir.name}.labels.json"


def write_page_labels(path: Path, labels: PageLabels) -> None:
    temporary = path.with_suffix(".part")
    temporary.write_text(json.dumps(labels.as_json()))
    temporary.replace(path)


def read_page_labels(path: Path, number: int) -> PageLabels | None:
    try:
        return PageLabels.from_json(number, json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def mark_repeated(pages: Sequence[PageLabels]) -> list[PageLabels]:
    """Labels printed on most pages of a document (3 pages or more): the project's name,
    the firm, "SCALE": kept, marked ``repeated`` so search ranks them low."""
    if len(pages) < 3:
        return list(pages)
    counts = Counter(text for page in pages for text in {label.text.casefold() for label in page.labels})
    common = {text for text, count in counts.items() if count >= REPEATED_SHARE * len(pages)}
    return [
        PageLabels(
            page.number, page.source,
            tuple(Label(label.text, label.box, label.repeated or label.text.casefold() in common)
                  for label in page.labels),
            page.seconds,
        )
        for page in pages
    ]


def version_document(pages: Sequence[PageLabels]) -> dict[str, Any]:
    """The one JSON object kept beside a version's tiles: every page's labels."""
    return {"format": FORMAT, "pages": {str(page.number): page.as_json() for page in mark_repeated(pages)}}


def pages_of(document: dict[str, Any]) -> list[PageLabels]:
    """The pages of a document written by ``version_document`` (unknown format: none)."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        return []
    return [PageLabels.from_json(int(number), data) for number, data in document.get("pages", {}).items()]
