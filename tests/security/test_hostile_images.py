"""Hostile pictures through the real upload paths (a partner's photo in the portal and
through the API, a photo of a plan): a decompression bomb (a PNG, a HEIC), a truncated JPEG,
polyglots (JPEG + ZIP, PNG + HTML, a PDF named .jpg), a picture that keeps the decoder busy:
each gets a clear refusal that says what to do, nothing is stored, no version is made, and
the web process keeps answering.  Decoding runs in a child process with memory, CPU and
wall-clock limits (converters.image_isolation): the limit below is a bound on each refusal,
not a measure of speed."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

import pytest

from converters import image_isolation
from floorplans import objects
from floorplans.db import db
from floorplans.models import Photo, PlanVersion, Role
from tests.converters import photo_samples as samples

pytestmark = pytest.mark.slow  # each picture goes to a child process

WALL_LIMIT = 30.0  # a refusal comes within the child's own limits (15 s), never later


def truncated_jpeg() -> bytes:
    data = samples.phone_jpeg(1600, 1200)
    return data[: len(data) * 2 // 3]


def simple_pdf() -> bytes:
    import pymupdf

    document = pymupdf.open()
    document.new_page().insert_text((72, 72), "Ground floor")
    data: bytes = document.tobytes()
    document.close()
    return data


CASES: dict[str, tuple[Callable[[], bytes], str, tuple[str, ...]]] = {
    "png bomb 50,000 x 50,000": (samples.png_bomb, "map.png", ("50,000 x 50,000 pixels",)),
    "heic bomb 50,000 x 50,000": (samples.heic_bomb, "IMG_0001.HEIC", ("50,000 x 50,000 pixels",)),
    "truncated jpeg": (truncated_jpeg, "IMG_0002.JPG", ("incomplete",)),
    "jpeg + zip": (lambda: samples.phone_jpeg() + samples.zip_of("index.html", b"<script>1</script>"),
                   "IMG_0003.JPG", ("ZIP archive",)),
    "png + html": (lambda: samples.phone_png() + b"<html><script>alert(document.cookie)</script></html>",
                   "IMG_0004.PNG", ("another file after its end",)),
    "png with an html chunk": (
        lambda: samples.phone_png()[:-12] + samples.png_chunk(b"tEXt", b"x\x00<html><script>1</script>")
        + samples.png_chunk(b"IEND", b""), "IMG_0005.PNG", ("web page",)),
}


def refused(response: Any, words: tuple[str, ...]) -> str:
    text = response.get_data(as_text=True)
    assert response.status_code == 422, (response.status_code, text[:500])
    assert any(word in text for word in words), text[:2000]
    return text


def nothing_stored(building_id: int) -> None:
    db.session.expire_all()
    assert db.session.query(Photo).count() == 0
    assert db.session.query(PlanVersion).filter_by(building_id=building_id).count() == 0
    store = objects.get_storage()
    assert list(store.list(objects.building_photos_prefix(building_id))) == []
    assert list(store.list("originals/")) == []


@pytest.mark.parametrize("name", list(CASES))
def test_a_hostile_photo_is_refused(name: str, app, browser_for, make_user, make_building, api_token) -> None:
    make, filename, words = CASES[name]
    data = make()
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    browser = browser_for(partner)
    for send in (
        lambda: browser.post(f"/portal/buildings/{building.id}/photos", {"file": (io.BytesIO(data), filename),
                             "subject": "front"}, content_type="multipart/form-data"),
        lambda: browser.client.post(f"/api/v1/buildings/{building.id}/photos", headers=api_token(partner),
                                    data={"file": (io.BytesIO(data), filename), "subject": "front"},
                                    content_type="multipart/form-data"),
        lambda: browser.post(f"/portal/buildings/{building.id}/plans", {"file": (io.BytesIO(data), filename)},
                             content_type="multipart/form-data"),
    ):
        started = time.monotonic()
        refused(send(), words)
        assert time.monotonic() - started < WALL_LIMIT
        assert browser.get(f"/portal/buildings/{building.id}/photos").status_code == 200  # still answering
    nothing_stored(building.id)


def test_a_pdf_named_jpg_is_not_a_photo_but_is_a_plan(app, browser_for, make_user, make_building) -> None:
    """By its bytes: refused as a photo ("a PDF, not a photo"), taken as the plan it is."""
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    browser = browser_for(partner)
    response = browser.post(f"/portal/buildings/{building.id}/photos",
                            {"file": (io.BytesIO(simple_pdf()), "front.jpg"), "subject": "front"},
                            content_type="multipart/form-data")
    refused(response, ("This file is a PDF, not a photo",))
    nothing_stored(building.id)
    app.config["JOBS_IMMEDIATE"] = False  # accepted is enough here; rendering is tested elsewhere
    plan = browser.post(f"/portal/buildings/{building.id}/plans", {"file": (io.BytesIO(simple_pdf()), "plan.jpg")},
                        content_type="multipart/form-data")
    assert plan.status_code == 302


def test_a_picture_that_holds_the_decoder_is_stopped(app, browser_for, make_user, make_building,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A decoder that never returns (as libheif or libpng might on a crafted file) costs a
    child process its time limit, then a refusal; the worker is free again."""
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    monkeypatch.setattr(image_isolation, "TEST_HOOK", "hang")
    monkeypatch.setattr(image_isolation, "TIMEOUT_SECONDS", 3.0)
    monkeypatch.setattr(image_isolation.photo_sizes_isolated, "__defaults__",
                        (image_isolation.PHOTO_SIZES, image_isolation.DEFAULT_IMAGE_LIMITS))
    monkeypatch.setattr(image_isolation.photo_sizes_isolated, "__kwdefaults__", {"timeout": 3.0, "memory_mb": 1024})
    browser = browser_for(partner)
    started = time.monotonic()
    response = browser.post(f"/portal/buildings/{building.id}/photos",
                            {"file": (io.BytesIO(samples.phone_jpeg()), "IMG_0006.JPG"), "subject": "front"},
                            content_type="multipart/form-data")
    refused(response, ("took longer than we allow", "within 3 seconds"))
    assert time.monotonic() - started < WALL_LIMIT
    monkeypatch.setattr(image_isolation, "TEST_HOOK", None)
    ok = browser.post(f"/portal/buildings/{building.id}/photos",
                      {"file": (io.BytesIO(samples.phone_jpeg()), "IMG_0007.JPG"), "subject": "front"},
                      content_type="multipart/form-data")
    assert ok.status_code == 302
