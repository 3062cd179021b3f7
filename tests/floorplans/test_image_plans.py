"""The photo is the plan: a partner's JPEG, PNG or HEIC of the evacuation map on the wall
becomes a one-page version (upright from EXIF, a real-world page size, none of the photo's
metadata), rendered like a scanned PDF, through the portal and the API."""

from __future__ import annotations

import io
import json

import pymupdf
import pytest
from PIL import Image

from floorplans import objects
from floorplans.models import Role, VersionState
from tests.converters import photo_samples as samples
from tests.floorplans.test_plans import latest_version, upload

pytestmark = [pytest.mark.usefixtures("fast_render"), pytest.mark.slow]


def stored_everything(version_key: str, sha256: str) -> list[bytes]:
    store = objects.get_storage()
    keys = [objects.original_key(sha256), *store.list(objects.version_prefix(version_key))]
    return [store.get(key) for key in keys]


def test_a_phone_photo_becomes_an_upright_plan(storage_backend, app, browser_for, make_user, make_building) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    photo = samples.phone_jpeg(1700, 1100, orientation=6)  # stored landscape, shown portrait
    assert samples.no_secrets(photo)
    response = upload(browser_for(partner), building, "IMG_2041.JPG", photo)
    assert response.status_code == 302, response.get_data(as_text=True)
    version = latest_version(building)
    assert version.state == VersionState.READY, version.error
    assert version.page_count == 1 and version.original_filename == "IMG_2041.JPG"
    page = version.pages[0]
    assert (page.width_pt, page.height_pt) == pytest.approx((1100 / 150 * 72, 1700 / 150 * 72), abs=0.5)
    assert page.kind == "scan" and page.width < page.height  # rendered like a scan, portrait

    store = objects.get_storage()
    original = store.get(objects.original_key(version.original_sha256))
    assert original.startswith(b"%PDF-")  # the version's original is the one-page PDF
    with pymupdf.open(stream=original, filetype="pdf") as document:
        assert document.page_count == 1
    for data in stored_everything(version.key, version.original_sha256):
        assert samples.no_secrets(data) == []

    overview = Image.open(io.BytesIO(store.get(objects.overview_key(version.key, 1)))).convert("RGB")
    assert overview.width < overview.height
    red, green, _ = overview.getpixel((overview.width - 3, 3))  # the corner the EXIF turned
    assert red > 180 and green < 90
    manifest = json.loads(store.get(objects.manifest_key(version.key, 1)))
    assert manifest["width"] == page.width


@pytest.mark.parametrize("kind", ["png", "heic"])
def test_png_and_heic_plans_through_the_api(kind, app, browser_for, make_user, make_building, api_token) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    data = samples.phone_png(600, 400) if kind == "png" else samples.phone_heic(600, 400)
    response = browser_for(partner).client.post(
        f"/api/v1/buildings/{building.id}/plans", headers=api_token(partner),
        data={"file": (io.BytesIO(data), f"wall-map.{kind}")}, content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 202, response.get_json()
    version = latest_version(building)
    assert version.state == VersionState.READY, version.error
    assert version.pages[0].kind == "scan"
    for stored in stored_everything(version.key, version.original_sha256):
        assert samples.no_secrets(stored) == []


def test_a_hostile_photo_is_refused_with_nothing_stored(app, browser_for, make_user, make_building) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    response = upload(browser_for(partner), building, "map.png", samples.png_bomb())
    assert response.status_code == 422
    assert "50,000 x 50,000 pixels" in response.get_data(as_text=True)
    assert latest_version(building) is None
    assert list(objects.get_storage().list("originals/")) == []


def test_the_form_offers_photos(app, browser_for, make_user, make_building) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    page = browser_for(partner).get(f"/portal/buildings/{building.id}/plans").get_data(as_text=True)
    assert "image/jpeg" in page and ".heic" in page and "photo of the plan" in page
