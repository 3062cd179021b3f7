"""The printed packet shows each marker's photo beside its legend entry: the picture, the
marker's icon, its name and grid square, under the floor's plan."""

from __future__ import annotations

import io

import pymupdf
import pytest

from floorplans.db import db
from floorplans.models import Role
from floorplans.services import exports, markers, photos
from tests.blueprints.response.conftest import ARTIFACTS
from tests.conftest import publish_reviewed
from tests.converters import photo_samples as samples
from tests.floorplans.test_plans import latest_version, upload

pytestmark = [pytest.mark.usefixtures("fast_render"), pytest.mark.slow]


def test_the_packet_prints_a_markers_photo(app, browser_for, make_user, make_building) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    upload(browser_for(partner), building, "plan-university-hall-floor1-legal-rot90-vector.pdf")
    version = publish_reviewed(latest_version(building), partner)
    page = version.shown_pages[0]
    shutoff = markers.place(page, {"kind": "gas_shutoff", "x": 0.25, "y": 0.35, "label": "Gas meter"}, by=partner)
    markers.place(page, {"kind": "aed", "x": 0.7, "y": 0.6}, by=partner)  # no photo: legend only
    photos.add(partner, building, io.BytesIO(samples.phone_jpeg(800, 600, orientation=6)), subject="marker",
               marker=shutoff)
    db.session.commit()

    officer = make_user(Role.OFFICER)
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = exports.build_packet(officer, building)
    with pymupdf.open(stream=pdf, filetype="pdf") as document:
        floor = document[document.page_count - 1]
        text = floor.get_text()
        assert "Gas shut-off · Gas meter" in text or "Gas meter" in text, text
        images = floor.get_image_info()
        assert len(images) == 2, images  # the plan, and the shut-off's photo
        plan, photo = sorted(images, key=lambda info: -info["width"] * info["height"])
        box = pymupdf.Rect(photo["bbox"])
        assert box.y0 > pymupdf.Rect(plan["bbox"]).y1  # under the plan, in the legend
        assert box.height > box.width  # upright: the phone stored it sideways
        assert samples.no_secrets(pdf) == []
        floor.get_pixmap(dpi=60).save(str(ARTIFACTS / "photos-packet-floor.png"))
