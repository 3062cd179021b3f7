"""What a PDF's pictures would cost to draw, found before anything is drawn.

A picture's stream says nothing honest about its size: a 2 MB Flate stream of zeros
declared 50,000 x 50,000 opens into 2.5 GB, and the renderer would decode it again for
every band of every zoom level until its time limit (docs/security.md, "Hostile files").
So validation reads each picture's size from its dictionary (``/Width``, ``/Height`` and
the colour space's components: nothing is decoded) and then each page's cost the way the
renderer will meet it: the page is recorded into a display list (what every render worker
does first; a page that hangs MuPDF hangs here, inside the validation child's time limit)
and the list is replayed through a device that only notes the pictures drawn, inline ones
and soft masks included, each counted once however often it is drawn.

Runs in the validation child (converters.worker); must not import Flask, SQLAlchemy,
storage, floorplans or converters.validate."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pymupdf
from pymupdf import mupdf

from converters.errors import PdfRejected

# The colour spaces a picture's dictionary may name, by their components. MuPDF draws
# every picture at 8 bits per component whatever its stored depth, so a 1-bit picture
# costs as much to draw as an 8-bit grey one of the same size.
_COMPONENTS = {
    "DeviceGray": 1, "G": 1, "CalGray": 1, "Indexed": 1, "I": 1, "Separation": 1, "Pattern": 1,
    "DeviceRGB": 3, "RGB": 3, "CalRGB": 3, "Lab": 3,
    "DeviceCMYK": 4, "CMYK": 4,
}  # fmt: skip
_UNKNOWN_COMPONENTS = 3  # JPX pictures carry their own; RGB is the common case
_NAME = re.compile(rb"/([A-Za-z]+)")
_REFERENCE = re.compile(r"^(\d+) 0 R$")
_ADVICE = "Export the plan again with images at 300 dpi or less, and upload the new file."


@dataclass(frozen=True)
class Picture:
    """A picture's size as drawn: pixels and components (8 bits each once opened)."""

    width: int
    height: int
    components: int

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def opened_bytes(self) -> int:
        return self.pixels * self.components


def _millions(count: int) -> str:
    return f"{count / 1_000_000:,.0f} million"


def _megabytes(count: int) -> str:
    return f"{count / 1_000_000:,.0f} MB"


def _too_large(picture: Picture, where: str, max_pixels: int, max_page_bytes: int) -> PdfRejected:
    return PdfRejected(
        f"One picture {where} is {picture.width:,} x {picture.height:,} pixels ({_millions(picture.pixels)}, "
        f"{_megabytes(picture.opened_bytes)} once opened); we can draw pictures of at most "
        f"{_millions(max_pixels)} pixels ({_megabytes(max_page_bytes)}), and a floor plan needs far fewer: "
        f"a whole 36 x 48 in sheet scanned at 300 dpi is 156 million. {_ADVICE}"
    )


def check_picture(picture: Picture, where: str, max_pixels: int, max_page_bytes: int) -> None:
    if picture.pixels > max_pixels or picture.opened_bytes > max_page_bytes:
        raise _too_large(picture, where, max_pixels, max_page_bytes)


# -- the pictures' dictionaries ------------------------------------------------------------


def _integer(document: pymupdf.Document, xref: int, key: str) -> int | None:
    kind, value = document.xref_get_key(xref, key)
    if kind == "xref":  # a size stored in an object of its own is legal, if odd
        match = _REFERENCE.match(value)
        value = document.xref_object(int(match.group(1))).strip() if match else ""
    elif kind != "int":
        return None
    try:
        number = int(value)
    except ValueError:
        return None
    return number if number > 0 else None


def _components(document: pymupdf.Document, xref: int) -> int:
    if document.xref_get_key(xref, "ImageMask")[1] == "true":
        return 1
    kind, value = document.xref_get_key(xref, "ColorSpace")
    if kind == "xref":
        match = _REFERENCE.match(value)
        value = document.xref_object(int(match.group(1)), compressed=True) if match else ""
    names = _NAME.findall(value.encode("latin-1", "replace"))
    if not names:
        return _UNKNOWN_COMPONENTS
    first = names[0].decode()
    if first == "ICCBased":
        icc = re.search(r"/ICCBased\s+(\d+) 0 R", value)
        count = _integer(document, int(icc.group(1)), "N") if icc else None
        return count if count in (1, 3, 4) else _UNKNOWN_COMPONENTS
    if first == "DeviceN":
        inks = re.search(r"/DeviceN\s*\[([^\]]*)\]", value)
        return max(1, len(_NAME.findall(inks.group(1).encode()))) if inks else _UNKNOWN_COMPONENTS
    return _COMPONENTS.get(first, _UNKNOWN_COMPONENTS)


def stored_pictures(document: pymupdf.Document) -> Iterator[Picture]:
    """Every image XObject of the document (soft masks and pictures only annotations,
    patterns or Type 3 glyphs use included), sized from its dictionary alone."""
    for xref in range(1, document.xref_length()):
        try:
            if document.xref_get_key(xref, "Subtype")[1] != "/Image":
                continue
            width, height = _integer(document, xref, "Width"), _integer(document, xref, "Height")
            if width is None or height is None:
                continue  # MuPDF refuses such a picture itself when it meets it
            yield Picture(width, height, _components(document, xref))
        except (RuntimeError, ValueError):  # a damaged object: the page checks meet it if it matters
            continue


def check_stored_pictures(document: pymupdf.Document, max_pixels: int, max_page_bytes: int) -> None:
    for picture in stored_pictures(document):
        check_picture(picture, "in this PDF", max_pixels, max_page_bytes)


# -- one page, as the renderer will meet it ------------------------------------------------


class _PictureDevice(mupdf.FzDevice2):  # type: ignore[misc]  # MuPDF's SWIG classes are untyped (Any)
    """A MuPDF device that draws nothing and notes each distinct picture it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.use_virtual_fill_image()
        self.use_virtual_fill_image_mask()
        self.use_virtual_clip_image_mask()
        self.pictures: dict[int, Picture] = {}

    def _note(self, image: mupdf.fz_image, components: int) -> None:
        # The same XObject drawn 40 times is one fz_image (MuPDF's store); decoded once.
        self.pictures.setdefault(int(image.this), Picture(image.w, image.h, components))
        if image.mask:  # a soft mask is a picture of its own, decoded alongside
            self._note(image.mask, 1)

    def fill_image(self, ctx: object, image: mupdf.fz_image, *_: object) -> None:
        self._note(image, max(1, image.n))

    def fill_image_mask(self, ctx: object, image: mupdf.fz_image, *_: object) -> None:
        self._note(image, 1)

    def clip_image_mask(self, ctx: object, image: mupdf.fz_image, *_: object) -> None:
        self._note(image, 1)


def page_pictures(page: pymupdf.Page) -> list[Picture]:
    """The distinct pictures the renderer would draw on ``page`` (annotations included):
    the page recorded as the render workers record it, then replayed into a device that
    only looks at pictures. Recording decodes inline pictures (MuPDF keeps them decoded);
    XObjects stay compressed."""
    display_list = page.get_displaylist()
    device = _PictureDevice()
    try:
        everything = mupdf.FzRect(mupdf.FzRect.Fixed_INFINITE)
        mupdf.fz_run_display_list(display_list.this, device, mupdf.FzMatrix(), everything, mupdf.FzCookie())
    finally:
        mupdf.fz_close_device(device)
    return list(device.pictures.values())


def check_page_pictures(page: pymupdf.Page, number: int, max_pixels: int, max_page_bytes: int) -> None:
    """Refuse the page when one of its pictures, or all of them together, would take
    more to open than a page may; otherwise return quietly."""
    pictures = page_pictures(page)
    for picture in pictures:
        check_picture(picture, f"on page {number} of this PDF", max_pixels, max_page_bytes)
    total = sum(picture.opened_bytes for picture in pictures)
    if total > max_page_bytes:
        raise PdfRejected(
            f"The {len(pictures)} pictures on page {number} of this PDF take {_megabytes(total)} once opened; "
            f"we can draw at most {_megabytes(max_page_bytes)} of pictures on one page. Export the plan again "
            "with images at 300 dpi or less (or spread the pictures over several pages), and upload the new file."
        )
