"""Pyramid geometry and tile encoding, without PDFs: levels, bands and padding."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from converters import tiling


@pytest.mark.parametrize(
    ("width", "height", "max_zoom"),
    [(1, 1, 0), (256, 100, 0), (257, 10, 1), (512, 512, 1), (513, 300, 2), (10368, 6912, 6)],
)
def test_max_zoom_is_the_first_level_that_fits_one_tile(width: int, height: int, max_zoom: int) -> None:
    assert tiling.max_zoom_for(width, height) == max_zoom
    assert tiling.level_size(width, height, 0, max_zoom)[0] <= 256
    assert tiling.level_size(width, height, 0, max_zoom)[1] <= 256


def test_levels_halve_rounding_up() -> None:
    sizes = [tiling.level_size(1000, 301, zoom, 2) for zoom in range(3)]
    assert sizes == [(250, 76), (500, 151), (1000, 301)]


@pytest.mark.parametrize(
    ("width", "height", "rows"), [(1000, 301, 1), (5000, 2000, 1), (300, 3000, 4), (40000, 300, 1)]
)
def test_bands_cover_every_tile_once(width: int, height: int, rows: int) -> None:
    max_zoom = tiling.max_zoom_for(width, height)
    bands = tiling.plan_bands(width, height, max_zoom, band_rows=rows)
    seen = [
        (band.zoom, column, row)
        for band in bands
        for row in range(band.row, band.row + band.rows)
        for column in range(band.column, band.column + band.columns)
    ]
    assert len(seen) == len(set(seen)) == tiling.count_tiles(width, height, max_zoom)
    assert all(band.columns <= tiling.MAX_BAND_COLUMNS for band in bands)


def test_each_band_is_claimed_by_one_worker(tmp_path: Path) -> None:
    workers = [tiling.BandClaims(tmp_path / ".bands"), tiling.BandClaims(tmp_path / ".bands")]
    taken = [[number for number in range(10) if claims.claim(number)] for claims in workers]
    assert taken == [list(range(10)), []]
    assert not workers[0].claim(3)


def test_edge_tiles_are_padded_with_the_background() -> None:
    band = tiling.Band(zoom=1, column=0, row=1, columns=2, rows=1, level_width=300, level_height=266)
    assert band.pixel_box == (0, 256, 300, 266)
    image = Image.new("RGB", (300, 10), (10, 20, 30))
    tiles = {(column, row): tile for column, row, tile in tiling.band_tiles(band, image, (200, 190, 180))}
    assert set(tiles) == {(0, 1), (1, 1)}
    assert all(tile.size == (256, 256) for tile in tiles.values())
    assert tiles[(0, 1)].getpixel((255, 9)) == (10, 20, 30)
    assert tiles[(0, 1)].getpixel((0, 10)) == (200, 190, 180)
    assert tiles[(1, 1)].getpixel((43, 0)) == (10, 20, 30)
    assert tiles[(1, 1)].getpixel((44, 0)) == (200, 190, 180)


def test_blank_tiles_are_encoded_once_and_decode_exactly() -> None:
    encoder = tiling.TileEncoder(lossless=False)
    blank = Image.new("RGB", (256, 256), (250, 240, 230))
    (first, colour), (second, _) = encoder.encode(blank), encoder.encode(blank.copy())
    assert first is second
    assert colour == (250, 240, 230)
    assert Image.open(io.BytesIO(first)).convert("RGB").getextrema() == ((250, 250), (240, 240), (230, 230))


def test_lossless_tiles_round_trip() -> None:
    tile = Image.new("RGB", (256, 256), "white")
    tile.paste((0, 0, 0), (10, 10, 200, 12))
    data, colour = tiling.TileEncoder(lossless=True).encode(tile)
    assert colour is None
    assert data[:4] == b"RIFF"
    assert data[8:12] == b"WEBP"
    assert Image.open(io.BytesIO(data)).convert("RGB").tobytes() == tile.tobytes()


def test_write_atomic_leaves_only_the_final_name(tmp_path: Path) -> None:
    path = tiling.tile_path(tmp_path, 3, 4, 5)
    tiling.write_atomic(path, b"tile")
    assert path.read_bytes() == b"tile"
    assert [p.name for p in path.parent.iterdir()] == ["5.webp"]


def test_blank_tiles_share_one_file(tmp_path: Path) -> None:
    writer = tiling.TileWriter(tmp_path)
    writer.write(0, 0, 0, b"white", (255, 255, 255))
    writer.write(1, 0, 0, b"ink", None)
    writer.write(1, 1, 0, b"white", (255, 255, 255))
    writer.write(1, 1, 1, b"grey", (128, 128, 128))
    assert (tmp_path / "1" / "1" / "0.webp").read_bytes() == b"white"
    assert (tmp_path / "1" / "1" / "0.webp").samefile(tmp_path / "0" / "0" / "0.webp")
    assert (tmp_path / "1" / "1" / "1.webp").read_bytes() == b"grey"
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == [
        "0/0/0.webp",
        "1/0/0.webp",
        "1/1/0.webp",
        "1/1/1.webp",
    ]


def test_hex_colours() -> None:
    assert tiling.hex_colour((255, 0, 16)) == "#ff0010"
    assert tiling.parse_hex_colour("#ff0010") == (255, 0, 16)


def line_art_tile() -> Image.Image:
    """Black text, a red and a light grey fill and a blue line, anti-aliased by drawing
    at 4x and downsampling: thousands of colours, as MuPDF's own output has."""
    from PIL import ImageDraw

    big = Image.new("RGB", (1024, 1024), "white")
    draw = ImageDraw.Draw(big)
    draw.rectangle((40, 40, 500, 400), fill=(232, 236, 238), outline="black", width=6)
    draw.rectangle((560, 80, 980, 500), fill=(255, 0, 0))
    draw.line((0, 1000, 1000, 560), fill=(40, 80, 220), width=9)
    for row in range(6):
        draw.text((60, 450 + row * 90), "ROOM 1401A  3600 x 2400", fill="black", font_size=60)
    return big.resize((256, 256), Image.Resampling.LANCZOS)


def test_posterized_line_art_has_few_colours_and_stays_close() -> None:
    tile = line_art_tile()
    posterized = tiling.posterize(tile)
    assert len(tile.getcolors(1 << 16)) > 300
    colours = posterized.getcolors(1 << 16)
    assert colours is not None and len(colours) <= 128  # WebP lossless stores <= 256 as a palette
    difference = ImageStat.Stat(ImageChops.difference(tile, posterized)).mean
    assert sum(difference) / 3 < 3.0
    # Paper stays paper, ink stays ink, and a light grey fill stays grey (not tinted).
    assert posterized.getpixel((0, 0)) == (255, 255, 255)
    grey = posterized.getpixel((60, 30))
    assert max(grey) - min(grey) <= 2 and grey != (255, 255, 255)
    red = posterized.getpixel((200, 60))
    assert red[0] > 240 and red[1] < 24 and red[2] < 24


def test_posterized_line_art_encodes_smaller() -> None:
    tile = line_art_tile()
    raw = tiling.encode_webp(tile, tiling.LOSSLESS_OPTIONS)
    posterized = tiling.encode_webp(tiling.posterize(tile), tiling.LOSSLESS_OPTIONS)
    assert len(posterized) < len(raw) / 1.5


def test_black_and_white_line_art_snaps_to_grey_levels() -> None:
    tile = line_art_tile().convert("L").convert("RGB")
    posterized = tiling.posterize(tile)
    colours = posterized.getcolors(256)
    assert colours is not None
    assert {colour for _, colour in colours} <= {(level, level, level) for level in tiling.LUMA_LEVELS}
    assert sum(ImageStat.Stat(ImageChops.difference(tile, posterized)).mean) / 3 < 3.0


def test_a_near_grey_fill_on_its_own_stays_grey() -> None:
    # Channel by channel, (232, 236, 238) would round apart into (228, 242, 242): cyan.
    tile = Image.new("RGB", (256, 256), "white")
    tile.paste((232, 236, 238), (20, 20, 200, 200))
    tile.paste((0, 0, 0), (20, 210, 200, 214))
    colours = tiling.posterize(tile).getcolors(256)
    assert colours is not None
    assert all(max(colour) - min(colour) <= 2 for _, colour in colours)


def test_repeated_line_art_tiles_are_encoded_once_and_share_a_file(tmp_path: Path) -> None:
    encoder = tiling.TileEncoder(lossless=True, posterize=True)
    writer = tiling.TileWriter(tmp_path)
    first, second, other = line_art_tile(), line_art_tile(), line_art_tile().transpose(Image.Transpose.ROTATE_90)
    data, key = encoder.encode(first)
    again, same_key = encoder.encode(second)
    _, other_key = encoder.encode(other)
    assert again is data and same_key == key
    assert other_key != key
    writer.write(2, 0, 0, data, key)
    writer.write(2, 3, 1, again, same_key)
    assert (tmp_path / "2" / "3" / "1.webp").samefile(tmp_path / "2" / "0" / "0.webp")
    decoded = Image.open(tmp_path / "2" / "3" / "1.webp").convert("RGB")
    assert decoded.tobytes() == tiling.posterize(first).tobytes()
