"""The marker catalogue: about twenty kinds, each with its own icon, valid SVG everywhere
it is drawn (browser sprite, stand-alone for the printed packet)."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pymupdf
import pytest

from floorplans import marker_kinds

REQUIRED = {
    "door", "stairs", "elevator", "aed", "first_aid", "extinguisher", "fire_alarm_panel",
    "sprinkler_control", "gas_shutoff", "electric_shutoff", "water_shutoff", "key_box",
    "security_office", "safe_room", "childrens_area", "rally_point", "staging_area", "hazard", "note",
}  # fmt: skip


def test_every_kind_the_issue_names_is_there_with_its_own_icon() -> None:
    keys = [kind.key for kind in marker_kinds.KINDS]
    assert len(keys) == len(set(keys)) and 19 <= len(keys) <= 24
    assert REQUIRED <= set(keys)
    assert len({kind.svg_body() for kind in marker_kinds.KINDS}) == len(keys), "two kinds share an icon"
    assert len({kind.label for kind in marker_kinds.KINDS}) == len(keys)
    assert [kind.key for kind in marker_kinds.KINDS if kind.numbered] == ["door"]


def test_the_sprite_has_one_symbol_per_kind() -> None:
    sprite = ET.fromstring(marker_kinds.sprite_svg())
    ids = [symbol.get("id") for symbol in sprite]
    assert ids == [f"marker-{kind.key}" for kind in marker_kinds.KINDS]


@pytest.mark.parametrize("key", [kind.key for kind in marker_kinds.KINDS])
def test_each_icon_draws_in_pymupdf(key: str) -> None:
    """The printed packet draws the same SVG: it must render, and not as a blank square."""
    document = pymupdf.open("svg", marker_kinds.icon_svg(key, 48).encode())
    pixmap = document[0].get_pixmap()
    colours = {pixmap.pixel(x, y) for x in range(0, pixmap.width, 3) for y in range(0, pixmap.height, 3)}
    assert len(colours) >= 3  # background, the family's colour and the glyph at least


def test_unknown_kinds_and_door_labels() -> None:
    with pytest.raises(ValueError, match="not a kind of marker"):
        marker_kinds.kind_of("<script>")
    assert marker_kinds.door_label(1, None) == "Door 1"
    assert marker_kinds.door_label(3, "B") == "Door 3 (side B)"  # never "B3": a grid cell on the plan
    assert marker_kinds.door_label(None, "A") == ""
