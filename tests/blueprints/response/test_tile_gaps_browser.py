"""No hairline gaps between a plan's tiles at fractional zoom, in a real Chromium.

The viewer zooms in quarter steps (plan.js: zoomSnap 0.25), and Chromium draws the seams
between tiles scaled by a fraction as faint lines of the map's background: across a drawing,
a light line through every dark wall.  Leaflet 1.9.4 fixed it with one CSS rule; until
XStatic-Leaflet has 1.9.4, static/css/plan.css carries that rule.  The map here is the
viewer's own: Leaflet 1.9.3's sheet, plan.css, the ``plan`` class, black tiles on the
viewer's white ground, so a seam is a light pixel."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import xstatic.pkg.leaflet as leaflet

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[3]
LEAFLET = Path(leaflet.BASE_DIR)
SIZE = 600

PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>{leaflet_css}</style><style>{plan_css}</style>
<style>html, body {{ margin: 0; }}
#plan {{ position: absolute; left: 0; top: 0; width: {size}px; height: {size}px; }}</style>
</head><body><div id="plan" class="plan"></div></body></html>"""

#: A map of black 256 px tiles at a fractional zoom; resolves once every tile is drawn.
SHOW = """(zoom) => new Promise((resolve) => {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 256;
  const ink = canvas.getContext("2d");
  ink.fillStyle = "#000";
  ink.fillRect(0, 0, 256, 256);
  const map = L.map("plan", { crs: L.CRS.Simple, zoomSnap: 0, fadeAnimation: false, zoomAnimation: false,
                              zoomControl: false, attributionControl: false });
  const tiles = L.tileLayer(canvas.toDataURL(), { tileSize: 256, noWrap: true });
  tiles.on("load", () => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  tiles.addTo(map);
  map.setView([-128, 128], zoom);
})"""


def light_pixels(chromium: Any, zoom: float) -> int:
    """How many pixels of the all-black plan are not black: the seams."""
    from PIL import Image

    page = chromium.new_page(viewport={"width": SIZE, "height": SIZE})
    try:
        page.set_content(PAGE.format(leaflet_css=(LEAFLET / "leaflet.css").read_text(),
                                     plan_css=(ROOT / "static" / "css" / "plan.css").read_text(), size=SIZE))
        page.add_script_tag(path=str(LEAFLET / "leaflet.js"))
        page.evaluate(SHOW, zoom)
        image = Image.open(io.BytesIO(page.screenshot())).convert("L")
    finally:
        page.close()
    histogram = image.histogram()
    return sum(histogram[9:])


@pytest.mark.parametrize("zoom", [1.25, 2.37, 2.75])
def test_no_seams_between_tiles_at_fractional_zoom(chromium: Any, zoom: float) -> None:
    assert light_pixels(chromium, zoom) == 0, "light hairlines between the tiles: the Leaflet 1.9.4 rule is missing"
