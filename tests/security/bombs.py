"""Decompression bombs made on the spot: a few kilobytes of PDF whose picture opens into
gigabytes. Deflate cannot shrink zeros more than ~1,000 to 1, so a 2.5 GB picture is a
2.4 MB stream; deflating that stream again (a filter chain of two FlateDecode, which
every reader applies in turn) takes it down to a few kilobytes, as in the bombs sent
around as e-mail attachments.

The compressed zeros are built without compressing gigabytes: after a full flush deflate
starts afresh, so compressing one 16 MB block of zeros gives bytes that can be repeated
as often as needed, and the zlib checksum of n zeros is known in closed form."""

from __future__ import annotations

import zlib

from tests.security.hostile import one_page

_BLOCK = 1 << 24
_COLOUR_SPACES = {1: b"/DeviceGray", 3: b"/DeviceRGB", 4: b"/DeviceCMYK"}


def zeros_deflated(total: int) -> bytes:
    """A zlib stream that inflates to ``total`` zero bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(_BLOCK)) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeats, rest = divmod(total, _BLOCK)
    tail = compressor.compress(bytes(rest)) + compressor.flush()
    adler32 = ((total % 65521) << 16) | 1  # Adler-32 of n zero bytes: a = 1, b = n mod 65521
    return b"\x78\xda" + block * repeats + tail + adler32.to_bytes(4, "big")


def inflated_size(data: bytes, passes: int = 2) -> int:
    """How many bytes ``data`` inflates to through ``passes`` FlateDecode filters, counted
    chunk by chunk (never held in memory)."""
    for _ in range(passes - 1):
        data = zlib.decompress(data)
    inflater, size = zlib.decompressobj(), 0
    while data:
        size += len(inflater.decompress(data, _BLOCK))
        data = inflater.unconsumed_tail
    return size + len(inflater.flush())


def picture_stream(width: int, height: int, components: int = 1) -> bytes:
    """An image XObject of zeros, flate-compressed twice: a few KB for gigabytes."""
    data = zlib.compress(zeros_deflated(width * height * components), 9)
    return (
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s /BitsPerComponent 8 "
        b"/Filter [/FlateDecode /FlateDecode] /Length %d >>\nstream\n"
        % (width, height, _COLOUR_SPACES[components], len(data))
    ) + data + b"\nendstream"


def picture_bomb(width: int = 50_000, height: int = 50_000, components: int = 1) -> bytes:
    """One letter page showing one picture that opens into width x height x components bytes."""
    return one_page(b"q 500 0 0 500 50 150 cm /Im1 Do Q", resources=b"<< /XObject << /Im1 5 0 R >> >>",
                    more=[picture_stream(width, height, components)])


def pictures_page(count: int, width: int, height: int, components: int = 3) -> bytes:
    """One page showing ``count`` different pictures, each within the per-picture limit."""
    names = b" ".join(b"/Im%d %d 0 R" % (index, 5 + index) for index in range(count))
    content = b" ".join(b"q 100 0 0 100 %d 300 cm /Im%d Do Q" % (20 + 120 * index, index) for index in range(count))
    return one_page(content, resources=b"<< /XObject << %s >> >>" % names,
                    more=[picture_stream(width, height, components) for _ in range(count)])


def inline_bomb(width: int, height: int) -> bytes:
    """A picture written inline in the page's content (``BI ... ID ... EI``): no XObject, so
    no dictionary to read; MuPDF opens it while reading the page."""
    content = (b"q 500 0 0 500 50 150 cm BI /W %d /H %d /CS /G /BPC 8 /F /Fl ID " % (width, height)
               + zeros_deflated(width * height) + b" EI Q")
    return one_page(content)

