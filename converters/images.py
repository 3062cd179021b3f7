"""Photos from phones (JPEG, PNG, HEIC/HEIF), made safe to keep and to show.

A partner's photo is hostile until proven otherwise: it may declare 50,000 x 50,000 pixels
in a few kilobytes (a decompression bomb), be cut off in transfer, or be two files at once
(a JPEG with a ZIP appended, a PNG carrying a web page, a PDF renamed .jpg). And a good
photo says too much: a phone writes where it was taken (GPS), when, and on what device.

So an image is (1) recognised by its bytes, never by its name, and must be one thing from
its first byte to its last (``sniff`` and ``check_structure``, stdlib only, cheap enough for
the web process); then, in a child process with memory and time limits
(converters.image_isolation -> converters.worker), (2) its declared size is checked before a
pixel is decoded, (3) it is decoded completely (a truncated file is refused, not padded with
grey), (4) turned upright from its EXIF orientation, converted to sRGB, and (5) re-encoded
from the bare pixels, so nothing of the original's metadata (EXIF with GPS, XMP, ICC
profile, comments, text chunks) survives in what is stored: WebP sizes for photos
(``photo_sizes``), a one-page PDF for a photo of a plan (``image_pdf``).

Must not import Flask, SQLAlchemy, storage or floorplans. PIL, pillow_heif and pymupdf are
imported by the functions that decode, which only the child runs."""

from __future__ import annotations

import io
import re
import struct
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from converters.errors import ImageRejected

if TYPE_CHECKING:
    from PIL import Image

JPEG, PNG, HEIC = "jpeg", "png", "heic"
KINDS = (JPEG, PNG, HEIC)
#: What a file input offers a partner (the form's ``accept`` list: types and extensions).
ACCEPT = "image/jpeg,image/png,image/heic,image/heif,.jpg,.jpeg,.png,.heic,.heif"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# ISO base media "ftyp" brands of HEIF still images (HEVC-coded, what iPhones and most
# Android phones write), and the generic image brands that name the same container.
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
# Another format's markers inside an image make it a polyglot: a browser, an unzip tool or a
# PDF reader would each find a different file in the same bytes. Long enough (5 bytes and
# more) that compressed pixel data holds them by chance about once in 10^5 photos.
_FOREIGN = re.compile(rb"%PDF-|<html|<script|<!doctype|<iframe|<\?xml-stylesheet", re.IGNORECASE)
_WHAT_TO_DO = "Take or export the photo again as JPEG, PNG or HEIC, and upload that file."


@dataclass(frozen=True)
class ImageLimits:
    """What an uploaded image may be. ``max_pixels`` is checked against the size the file
    declares, before anything is decoded: 64 million pixels is a 200-megapixel phone's
    binned output (and a 48-megapixel one's full), and opens into 192 MB in colour, well
    within the child's memory cap with the upright copy beside it."""

    max_bytes: int = 40 * 1024 * 1024
    max_pixels: int = 64_000_000
    max_side: int = 20_000


DEFAULT_IMAGE_LIMITS = ImageLimits()


@dataclass(frozen=True)
class ImageSize:
    """One stored rendition: its long side as asked (``size``), its pixels and bytes."""

    size: int
    width: int
    height: int
    bytes: int


@dataclass(frozen=True)
class PhotoResult:
    """A photo made safe: its upright size, the kind it arrived as, and its renditions."""

    kind: str
    width: int
    height: int
    sizes: tuple[ImageSize, ...]


@dataclass(frozen=True)
class PlanImageResult:
    """A photo of a plan turned into a one-page PDF of ``width_pt`` x ``height_pt``."""

    kind: str
    width: int
    height: int
    dpi: float
    width_pt: float
    height_pt: float


def _megabytes(count: int) -> str:
    return f"{count / (1024 * 1024):.0f} MB"


def describe(head: bytes) -> str | None:
    """What a file that is not one of our image kinds looks like, in a partner's words
    (None: nothing we recognise)."""
    if b"%PDF-" in head[:1024]:
        return "a PDF"
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive (or an Office document)"
    if head.startswith(b"GIF8"):
        return "a GIF picture"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "a TIFF picture"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "a WebP picture"
    if head[4:8] == b"ftyp":
        return "a video or a picture format we cannot read"
    if head.lstrip().startswith((b"<", b"\xef\xbb\xbf<")):
        return "a web page or an SVG drawing"
    return None


def sniff(head: bytes) -> str | None:
    """The image kind of a file from its first bytes (16 are enough), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(_PNG_SIGNATURE):
        return PNG
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return HEIC
    return None


def _polyglot(what: str) -> ImageRejected:
    return ImageRejected(f"This picture also carries {what} inside it, so it was refused. {_WHAT_TO_DO}")


def _truncated() -> ImageRejected:
    return ImageRejected(
        "This picture is incomplete: its end is missing, as happens when a copy or a transfer is cut off. "
        "Upload the complete file again (or take the photo again)."
    )


def _png_end(data: bytes) -> int:
    """Where the PNG's IEND chunk ends, walking its chunks; raises on a broken chain."""
    offset = len(_PNG_SIGNATURE)
    while True:
        if offset + 12 > len(data):
            raise _truncated()
        length: int = struct.unpack(">I", data[offset : offset + 4])[0]
        kind = data[offset + 4 : offset + 8]
        offset += 12 + length
        if offset > len(data):
            raise _truncated()
        if kind == b"IEND":
            return offset


def _heif_end(data: bytes) -> int:
    """Where the last top-level ISO media box ends; the boxes must tile the file."""
    offset = 0
    while offset < len(data):
        if offset + 8 > len(data):
            raise _truncated()
        size, _kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:  # a 64-bit size follows the type
            if offset + 16 > len(data):
                raise _truncated()
            (size,) = struct.unpack(">Q", data[offset + 8 : offset + 16])
        elif size == 0:  # "to the end of the file"
            size = len(data) - offset
        if size < 8:
            raise ImageRejected(f"This HEIC picture is damaged and cannot be read. {_WHAT_TO_DO}")
        offset += size
        if offset > len(data):
            raise _truncated()
    return offset


def check_structure(data: bytes, limits: ImageLimits = DEFAULT_IMAGE_LIMITS) -> str:
    """The kind of ``data``, once it is known to be one whole image and nothing else:
    recognised from its first byte, ending where its own format says it ends, and holding
    no other format's file. Raises ``ImageRejected`` with what to do."""
    if not data:
        raise ImageRejected("The file is empty. Choose the photo again and upload it.")
    if len(data) > limits.max_bytes:
        raise ImageRejected(
            f"The picture is {_megabytes(len(data))}; the largest we accept is {_megabytes(limits.max_bytes)}. "
            "Send it again at a smaller size (most phones offer 'Medium' or 'Large' when sharing)."
        )
    kind = sniff(data[:16])
    if kind is None:
        what = describe(data[:1024])
        raise ImageRejected(
            f"This file is {what + ', not' if what else 'not'} a photo we can read. "
            "Upload a JPEG, PNG or HEIC photo (what phones and cameras save)."
        )
    if kind == JPEG:
        # Some cameras pad the file with zeros after the end-of-image marker.
        if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
            if zipfile.is_zipfile(io.BytesIO(data)):
                raise _polyglot("a ZIP archive")
            raise _truncated()
    elif kind == PNG:
        end = _png_end(data)
        if end != len(data):
            raise _polyglot("another file after its end")
    else:
        _heif_end(data)
    if zipfile.is_zipfile(io.BytesIO(data)):
        raise _polyglot("a ZIP archive")
    found = _FOREIGN.search(data)
    if found:
        what = "a PDF" if found.group().startswith(b"%") else "a web page"
        raise _polyglot(what)
    return kind


# -- decoding: in the child process only ----------------------------------------------------


def decode(data: bytes, limits: ImageLimits = DEFAULT_IMAGE_LIMITS, *, draft: int | None = None) -> Image.Image:
    """The upright pixels of ``data`` (RGB, or L for a grey picture), in sRGB, with no
    metadata at all. ``draft`` lets a JPEG decode at 1/2, 1/4 or 1/8 scale when a
    rendition of that long side is all that is wanted."""
    return _decode(data, limits, draft)[0]


def _decode(data: bytes, limits: ImageLimits, draft: int | None) -> tuple[Image.Image, object]:
    """``decode``'s pixels, and the resolution the file states (``info["dpi"]``) if any."""
    from PIL import Image, ImageFile, ImageOps

    kind = check_structure(data, limits)
    if kind == HEIC:
        import pillow_heif

        pillow_heif.register_heif_opener()
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    # Our own limit is checked below, from the header, with a message that gives the sizes;
    # Pillow's (a warning, then an error at twice it) would say less.
    Image.MAX_IMAGE_PIXELS = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[{JPEG: "JPEG", PNG: "PNG", HEIC: "HEIF"}[kind]])
        width, height = image.size  # from the header: nothing is decoded yet
        if width < 1 or height < 1:
            raise ImageRejected(f"This picture has no pixels. {_WHAT_TO_DO}")
        if width * height > limits.max_pixels:
            raise ImageRejected(
                f"This picture is {width:,} x {height:,} pixels ({width * height / 1e6:,.0f} million); we accept "
                f"pictures of at most {limits.max_pixels / 1e6:,.0f} million pixels. Send it again at a smaller "
                "size (most phones offer 'Large' or 'Medium' when sharing)."
            )
        if max(width, height) > limits.max_side:  # a strip no camera makes: the file says what it is not
            raise ImageRejected(
                f"This picture is {width:,} x {height:,} pixels; we accept pictures of at most {limits.max_side:,} "
                f"pixels a side. {_WHAT_TO_DO}"
            )
        if getattr(image, "n_frames", 1) > 1 and kind == PNG:
            raise ImageRejected(f"This is an animated picture. {_WHAT_TO_DO}")
        if draft and kind == JPEG:
            image.draft("RGB", (draft, draft))
        image.load()
        stated = image.info.get("dpi")
        upright = ImageOps.exif_transpose(image)
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(
            f"This picture declares more pixels than we can open safely, so it was refused. {_WHAT_TO_DO}"
        ) from None
    except MemoryError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError, TypeError) as error:
        if "truncated" in str(error).lower():
            raise _truncated() from None
        raise ImageRejected(f"This picture is damaged and cannot be read. {_WHAT_TO_DO}") from None
    return _bare(_srgb(upright)), stated


def _srgb(image: Image.Image) -> Image.Image:
    """Pixels in sRGB (what browsers assume once the ICC profile is gone): a phone's Display
    P3 photo would otherwise look dull. RGB or L; transparency flattened on white."""
    from PIL import Image, ImageCms

    profile = image.info.get("icc_profile")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba).convert("RGB")
    elif image.mode == "CMYK" and not profile:
        image = image.convert("RGB")
    elif image.mode not in ("RGB", "L", "CMYK"):
        image = image.convert("RGB")
    if profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            target = ImageCms.createProfile("sRGB")
            converted = ImageCms.profileToProfile(image, source, target, outputMode="RGB")
            image = converted if converted is not None else image.convert("RGB")
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            image = image.convert("RGB")  # a broken profile: the pixels as they are
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    return image


def _bare(image: Image.Image) -> Image.Image:
    """The same pixels in a new image that has never seen the file: no ``info`` (EXIF, XMP,
    ICC, comments, text chunks), so no encoder can write any of it back."""
    from PIL import Image

    return Image.frombytes(image.mode, image.size, image.tobytes())


def photo_sizes(
    data: bytes, out_dir: Path, sizes: Sequence[int], limits: ImageLimits = DEFAULT_IMAGE_LIMITS
) -> PhotoResult:
    """Write ``<size>.webp`` into ``out_dir`` for each long side in ``sizes`` (never
    enlarged beyond the photo itself)."""
    from PIL import Image

    kind = check_structure(data, limits)
    image = decode(data, limits, draft=max(sizes))
    written = []
    for size in sorted(sizes):
        copy = image.copy()
        copy.thumbnail((size, size), Image.Resampling.LANCZOS)
        if copy.mode != "RGB":
            copy = copy.convert("RGB")
        buffer = io.BytesIO()
        copy.save(buffer, "WEBP", quality=80, method=4)
        (out_dir / f"{size}.webp").write_bytes(buffer.getvalue())
        written.append(ImageSize(size=size, width=copy.width, height=copy.height, bytes=buffer.tell()))
    return PhotoResult(kind=kind, width=image.width, height=image.height, sizes=tuple(written))


# A photo of a plan needs a page size: from the DPI the file states when it is a scanner's
# (between these bounds and giving a sheet of a believable size), otherwise the long side of
# an 11 x 17 in (tabloid, ~A3) sheet, the size of most wall evacuation maps, but never below
# 150 dpi (a small picture makes a smaller sheet, not a blurry large one).
_SCAN_DPI = (100.0, 1200.0)
_SHEET_INCHES = (3.0, 60.0)
DEFAULT_LONG_SIDE_IN = 17.0
MIN_DEFAULT_DPI = 150.0


def page_dpi(width: int, height: int, stated: object) -> float:
    """The resolution at which ``width`` x ``height`` pixels make a real-world page."""
    if isinstance(stated, tuple) and len(stated) == 2:
        try:
            x, y = float(stated[0]), float(stated[1])
        except (TypeError, ValueError):
            x = y = 0.0
        if _SCAN_DPI[0] <= x <= _SCAN_DPI[1] and abs(x - y) <= 0.01 * x:
            long_in = max(width, height) / x
            if _SHEET_INCHES[0] <= long_in <= _SHEET_INCHES[1]:
                return x
    return max(MIN_DEFAULT_DPI, max(width, height) / DEFAULT_LONG_SIDE_IN)


def image_pdf(data: bytes, out_path: Path, limits: ImageLimits = DEFAULT_IMAGE_LIMITS) -> PlanImageResult:
    """Write a one-page PDF at ``out_path`` whose page is the upright picture, sized from
    its pixels and resolution (``page_dpi``). A JPEG or HEIC is stored as JPEG (quality
    92: a plan's text stays sharp), a PNG losslessly."""
    import pymupdf

    kind = check_structure(data, limits)
    image, stated = _decode(data, limits, None)
    dpi = page_dpi(image.width, image.height, stated)
    buffer = io.BytesIO()
    if kind == PNG:
        image.save(buffer, "PNG", optimize=False, compress_level=6)
    else:
        image.save(buffer, "JPEG", quality=92, subsampling=0)
    width_pt, height_pt = image.width * 72.0 / dpi, image.height * 72.0 / dpi
    document = pymupdf.open()
    try:
        page = document.new_page(width=width_pt, height=height_pt)
        page.insert_image(page.rect, stream=buffer.getvalue())
        document.set_metadata({})
        document.save(str(out_path), garbage=3, deflate=True, no_new_id=True)
    finally:
        document.close()
    return PlanImageResult(
        kind=kind, width=image.width, height=image.height, dpi=round(dpi, 2),
        width_pt=round(width_pt, 2), height_pt=round(height_pt, 2),
    )  # fmt: skip

