"""Pictures from phones made safe: recognised by their bytes, one file from first byte to
last, sized before decoding, complete, upright, and stripped of every metadata field."""

from __future__ import annotations

import io
from pathlib import Path

import pymupdf
import pytest
from PIL import Image

from converters import image_isolation, images
from converters.errors import ImageRejected
from tests.converters import photo_samples as samples


def test_kinds_are_recognised_by_their_bytes() -> None:
    assert images.sniff(samples.phone_jpeg()[:16]) == images.JPEG
    assert images.sniff(samples.phone_png()[:16]) == images.PNG
    assert images.sniff(samples.phone_heic()[:16]) == images.HEIC
    assert images.sniff(b"%PDF-1.7\n") is None
    assert images.sniff(b"GIF89a") is None


def test_a_pdf_named_jpg_is_refused_as_a_pdf() -> None:
    with pytest.raises(ImageRejected, match="This file is a PDF, not a photo"):
        images.check_structure(b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n")


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: samples.phone_jpeg() + samples.zip_of("evil.html", b"<b>hi</b>"), "a ZIP archive"),
        (lambda: samples.phone_png() + b"<html><script>alert(1)</script></html>", "another file after its end"),
        (lambda: samples.phone_png()[:-12] + samples.png_chunk(b"tEXt", b"c\x00<html><script>x</script>")
         + samples.png_chunk(b"IEND", b""), "a web page"),
        (lambda: samples.phone_jpeg()[:-2] + b"%PDF-1.4 junk\xff\xd9", "a PDF"),
    ],
    ids=["jpeg+zip", "png+html-after-end", "png-with-html-chunk", "jpeg-with-pdf"],
)
def test_polyglots_are_refused(make, words: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ImageRejected, match=words):
        images.check_structure(make())


def test_truncated_files_are_refused() -> None:
    jpeg, png = samples.phone_jpeg(), samples.phone_png()
    for data in (jpeg[: len(jpeg) // 2], png[: len(png) // 2], samples.phone_heic()[:700]):
        with pytest.raises(ImageRejected, match="incomplete"):
            images.decode(data)


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    bomb = samples.png_bomb()
    assert len(bomb) < 200_000
    with pytest.raises(ImageRejected, match="50,000 x 50,000 pixels"):
        images.decode(bomb)


def test_orientation_is_applied_and_metadata_dropped() -> None:
    jpeg = samples.phone_jpeg(800, 600, orientation=6)
    assert samples.no_secrets(jpeg) != []  # the sample does carry what must go
    image = images.decode(jpeg)
    assert image.size == (600, 800)  # stored landscape, shown portrait
    assert image.getpixel((image.width - 5, 5)) == pytest.approx(samples.RED, abs=12)  # top-left went top-right
    assert image.info == {}


def test_photo_sizes_are_webp_without_metadata(tmp_path: Path) -> None:
    result = images.photo_sizes(samples.phone_jpeg(800, 600), tmp_path, (160, 640))
    assert (result.width, result.height) == (600, 800)
    assert [(size.size, size.width, size.height) for size in result.sizes] == [(160, 120, 160), (640, 480, 640)]
    for size in (160, 640):
        data = (tmp_path / f"{size}.webp").read_bytes()
        assert data[8:12] == b"WEBP"
        assert samples.no_secrets(data) == []


def test_small_photos_are_not_enlarged(tmp_path: Path) -> None:
    result = images.photo_sizes(samples.phone_png(400, 300), tmp_path, (320, 1280))
    assert [(size.width, size.height) for size in result.sizes] == [(240, 320), (300, 400)]
    assert samples.no_secrets((tmp_path / "1280.webp").read_bytes()) == []


def test_heic_from_a_phone(tmp_path: Path) -> None:
    heic = samples.phone_heic()
    assert b"Exif" in heic
    result = images.photo_sizes(heic, tmp_path, (320,))
    assert result.kind == images.HEIC
    assert samples.no_secrets((tmp_path / "320.webp").read_bytes()) == []


def test_a_turned_heic_is_turned_once() -> None:
    """libheif applies the HEIF's rotation and pillow-heif resets the EXIF orientation: the
    picture must not be turned a second time by exif_transpose."""
    image = images.decode(samples.phone_heic(400, 300, orientation=6))
    assert image.size == (300, 400)
    red, green, _ = image.getpixel((image.width - 5, 5))
    assert red > 180 and green < 80


def test_an_icc_profile_is_applied_then_dropped(tmp_path: Path) -> None:
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    samples.picture().save(buffer, "JPEG", icc_profile=profile)
    assert Image.open(io.BytesIO(buffer.getvalue())).info["icc_profile"] == profile
    images.photo_sizes(buffer.getvalue(), tmp_path, (320,))
    assert Image.open(tmp_path / "320.webp").info.get("icc_profile") in (None, b"")


@pytest.mark.parametrize(
    ("pixels", "stated", "expected"),
    [
        ((4032, 3024), (72, 72), 4032 / 17),  # a phone: 72 dpi means nothing; an 11 x 17 in sheet
        ((5100, 6600), (300, 300), 300.0),  # a letter page scanned at 300 dpi
        ((800, 600), None, 150.0),  # small: a smaller sheet, never under 150 dpi
        ((3000, 2000), (300, 150), 3000 / 17),  # unequal: not a scanner's
    ],
)
def test_page_dpi(pixels: tuple[int, int], stated: object, expected: float) -> None:
    assert images.page_dpi(*pixels, stated) == pytest.approx(expected)


def test_a_photo_of_a_plan_becomes_one_upright_page(tmp_path: Path) -> None:
    out = tmp_path / "plan.pdf"
    result = images.image_pdf(samples.phone_jpeg(1700, 1100, orientation=6), out)
    assert (result.width, result.height) == (1100, 1700)
    data = out.read_bytes()
    assert samples.no_secrets(data) == []
    with pymupdf.open(out) as document:
        assert document.page_count == 1
        page = document[0]
        assert page.rect.height == pytest.approx(1700 / 150 * 72, abs=0.5)  # at least 150 dpi: 11.3 in
        assert page.rect.width < page.rect.height
        pixmap = page.get_pixmap(dpi=20)
        assert pixmap.pixel(pixmap.width - 3, 3)[0] > 180 and pixmap.pixel(pixmap.width - 3, 3)[1] < 80


@pytest.mark.slow
def test_isolated_photo_sizes(tmp_path: Path) -> None:
    source = tmp_path / "photo.jpg"
    source.write_bytes(samples.phone_jpeg(1600, 1200))
    result = image_isolation.photo_sizes_isolated(source, tmp_path / "out")
    assert [size.size for size in result.sizes] == [320, 1280]
    assert (result.width, result.height) == (1200, 1600)
    for size in result.sizes:
        assert samples.no_secrets((tmp_path / "out" / f"{size.size}.webp").read_bytes()) == []


@pytest.mark.slow
def test_isolated_refusals_come_from_the_child(tmp_path: Path) -> None:
    source = tmp_path / "bomb.png"
    source.write_bytes(samples.png_bomb())
    with pytest.raises(ImageRejected, match="50,000 x 50,000"):
        image_isolation.photo_sizes_isolated(source, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.slow
def test_a_picture_that_hangs_the_decoder_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "photo.jpg"
    source.write_bytes(samples.phone_jpeg())
    monkeypatch.setattr(image_isolation, "TEST_HOOK", "hang")
    with pytest.raises(ImageRejected, match=r"longer than we allow|within 2 seconds"):
        image_isolation.photo_sizes_isolated(source, tmp_path / "out", timeout=2)
