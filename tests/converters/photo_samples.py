"""Photos made on the spot for the picture tests: a phone's JPEG turned sideways by its EXIF
orientation and carrying GPS tags, the same as PNG and HEIC, and hostile ones."""

from __future__ import annotations

import io
import struct
import zlib

import pillow_heif
from PIL import Image

#: Degrees, minutes, seconds north and west: a place the stored files must never tell.
GPS_LATITUDE = (45.0, 30.0, 12.34)
GPS_LONGITUDE = (73.0, 33.0, 56.78)
CAMERA = "SecretPhone 12 Pro"  # the EXIF "Model": must not survive either
RED = (220, 20, 20)


def picture(width: int = 800, height: int = 600) -> Image.Image:
    """A landscape picture, white, with a red block in its stored top-left corner (so the
    upright result shows where the corner went) and a grey stripe."""
    image = Image.new("RGB", (width, height), (255, 255, 255))
    image.paste(RED, (0, 0, width // 4, height // 4))
    image.paste((90, 90, 90), (0, height // 2, width, height // 2 + 8))
    return image


def exif_block(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x0110] = CAMERA
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", GPS_LATITUDE, "W", GPS_LONGITUDE
    return exif


def phone_jpeg(width: int = 800, height: int = 600, orientation: int = 6, dpi: int | None = 72) -> bytes:
    """What a phone writes: the sensor's landscape pixels, EXIF orientation 6 (turn 90
    degrees clockwise to view), GPS tags, the camera's model."""
    buffer = io.BytesIO()
    extra = {"dpi": (dpi, dpi)} if dpi else {}
    picture(width, height).save(buffer, "JPEG", quality=90, exif=exif_block(orientation).tobytes(), **extra)
    return buffer.getvalue()


def phone_png(width: int = 400, height: int = 300, orientation: int = 6) -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "taken at 12 Secret Street")
    buffer = io.BytesIO()
    picture(width, height).save(buffer, "PNG", exif=exif_block(orientation).tobytes(), pnginfo=info)
    return buffer.getvalue()


def phone_heic(width: int = 400, height: int = 300, orientation: int = 1) -> bytes:
    """As an iPhone writes it: the sensor's pixels, the turn in the HEIF's own ``irot`` box
    and in EXIF (pillow-heif writes both from the EXIF orientation), GPS tags."""
    pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    picture(width, height).save(buffer, "HEIF", quality=80, exif=exif_block(orientation).tobytes())
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A PNG of a few kilobytes declaring ``width`` x ``height`` grey pixels (2.5 billion
    for the default), whose data would inflate into gigabytes of zeros."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(bytes(width + 1) * 64, 9)  # the first rows; enough to look real
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", rows) + png_chunk(b"IEND", b"")


def zip_of(name: str, data: bytes) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def no_secrets(data: bytes) -> list[str]:
    """What of the original's metadata ``data`` still holds (an empty list is the goal)."""
    found = []
    for name, marker in (("EXIF", b"Exif"), ("camera model", CAMERA.encode()), ("XMP", b"xpacket"),
                         ("PNG text", b"Secret Street")):  # fmt: skip
        if marker in data:
            found.append(name)
    try:
        image = Image.open(io.BytesIO(data))
        if image.getexif():
            found.append("EXIF tags")
        if image.info.get("icc_profile"):
            found.append("ICC profile")
    except Exception:  # noqa: BLE001 - a PDF or other container: the byte search stands
        pass
    return found


def heic_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A small real HEIC whose image-size boxes (``ispe``) declare ``width`` x ``height``: a
    decoder that trusted them would allocate 7.5 GB before finding the data is 400 x 300."""
    data = bytearray(phone_heic(400, 300))
    at = data.find(b"ispe")
    while at >= 0:
        data[at + 8 : at + 16] = struct.pack(">II", width, height)
        at = data.find(b"ispe", at + 4)
    return bytes(data)
