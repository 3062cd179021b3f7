"""Photos of buildings and markers: added from the portal (upright, no metadata, WebP sizes
in the store under the building's keys), replaced, captioned and deleted; served like tiles
(a partner of another congregation, an anonymous visitor, an officer for a marker of a draft:
nothing); a carried-over marker keeps its photo."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from floorplans import objects
from floorplans.db import db
from floorplans.models import AuditEvent, Photo, Role
from floorplans.services import audit, photos
from tests.converters import photo_samples as samples
from tests.floorplans.test_markers import place, ready_version

pytestmark = pytest.mark.slow  # every photo is made safe in a child process


@pytest.fixture
def world(storage_backend, make_user, make_building) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation, name="St Brigid's")
    version = ready_version(building, "Ground floor", publish=True)
    marker = place(version.pages[0], partner, kind="gas_shutoff", x=0.3, y=0.6)
    return {"partner": partner, "building": building, "version": version, "marker": marker}


def add(browser, building, data: bytes, **form: Any):  # type: ignore[no-untyped-def]
    return browser.post(f"/portal/buildings/{building.id}/photos",
                        {"file": (io.BytesIO(data), "IMG_0001.HEIC"), **form}, content_type="multipart/form-data")


def only_photo(**where: Any) -> Photo:
    db.session.expire_all()
    found = db.session.query(Photo).filter_by(**where).all()
    assert len(found) == 1, found
    return found[0]


def url(photo: Photo, size: int = photos.SMALL) -> str:
    return f"/r/photos/{photo.id}/{photo.token}/{size}.webp"


def test_a_phone_photo_is_kept_upright_and_without_metadata(world, browser_for) -> None:
    partner, building = world["partner"], world["building"]
    photo_bytes = samples.phone_jpeg(1600, 1200, orientation=6)
    response = add(browser_for(partner), building, photo_bytes, subject="front", caption="From Elm Street")
    assert response.status_code == 302, response.get_data(as_text=True)
    photo = only_photo(building_id=building.id)
    assert (photo.subject, photo.caption, photo.width, photo.height) == ("front", "From Elm Street", 1200, 1600)
    store = objects.get_storage()
    keys = sorted(store.list(objects.building_photos_prefix(building.id)))
    assert keys == sorted(objects.photo_key(building.id, photo.token, size) for size in photos.SIZES)
    for key in keys:
        data = store.get(key)
        assert samples.no_secrets(data) == []
        picture = Image.open(io.BytesIO(data))
        assert picture.format == "WEBP" and picture.width < picture.height
    big = Image.open(io.BytesIO(store.get(keys[0] if "1280" in keys[0] else keys[1]))).convert("RGB")
    assert big.size == (960, 1280)
    red, green, _ = big.getpixel((big.width - 4, 4))
    assert red > 180 and green < 80  # the stored top-left corner, turned to the top right


def test_who_may_see_a_photo(world, app, browser_for, make_user) -> None:
    partner, building, marker = world["partner"], world["building"], world["marker"]
    add(browser_for(partner), building, samples.phone_jpeg(), subject="front")
    add(browser_for(partner), building, samples.phone_png(), subject="marker", marker_id=str(marker.id))
    front, shutoff = only_photo(subject="front"), only_photo(subject="marker")

    own = browser_for(partner).get(url(shutoff))
    assert own.status_code == 200 and own.mimetype == "image/webp"
    assert own.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    assert browser_for(partner).get(url(front), headers={"If-None-Match": own.headers["ETag"]}).status_code == 200
    assert browser_for(partner).get(url(shutoff), headers={"If-None-Match": own.headers["ETag"]}).status_code == 304
    officer = browser_for(make_user(Role.OFFICER))
    assert officer.get(url(front)).status_code == 200
    assert officer.get(url(shutoff, photos.LARGE)).status_code == 200  # a marker of the published plan
    other = browser_for(make_user(Role.PARTNER))  # another congregation
    assert other.get(url(front)).status_code == 404 and other.get(url(shutoff)).status_code == 404
    anonymous = app.test_client().get(url(front))
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")
    assert browser_for(partner).get(f"/r/photos/{front.id}/{'0' * 32}/320.webp").status_code == 404
    assert browser_for(partner).get(f"/r/photos/{front.id}/{front.token}/999.webp").status_code == 404


def test_an_officer_does_not_see_the_photo_of_a_draft_marker(world, browser_for, make_user) -> None:
    partner, building = world["partner"], world["building"]
    draft = ready_version(building, "Ground floor")
    new_marker = place(draft.pages[0], partner, kind="key_box", x=0.1, y=0.1)
    add(browser_for(partner), building, samples.phone_jpeg(), subject="marker", marker_id=str(new_marker.id))
    photo = only_photo(marker_id=new_marker.id)
    assert browser_for(partner).get(url(photo)).status_code == 200
    assert browser_for(make_user(Role.OFFICER)).get(url(photo)).status_code == 404


def test_a_carried_marker_keeps_its_photo(world, browser_for, make_user) -> None:
    partner, building, marker = world["partner"], world["building"], world["marker"]
    add(browser_for(partner), building, samples.phone_jpeg(), subject="marker", marker_id=str(marker.id))
    photo = only_photo(marker_id=marker.id)
    newer = ready_version(building, "Ground floor")  # carries the gas shut-off, flagged
    from floorplans.services import markers, plans

    for flagged in markers.flagged_markers(newer):
        markers.confirm(flagged, by=partner)
    plans.publish(newer, by=partner)
    db.session.commit()
    shown = markers.markers_of(newer)
    assert len(shown) == 1 and shown[0].carried_from_id == marker.id
    assert photos.photo_for_marker(shown[0]) == photo
    assert browser_for(make_user(Role.OFFICER)).get(url(photo)).status_code == 200


def test_replace_caption_and_delete(world, browser_for) -> None:
    partner, building = world["partner"], world["building"]
    browser = browser_for(partner)
    add(browser, building, samples.phone_jpeg(), subject="entrance", caption="Door 2, side B")
    photo = only_photo(subject="entrance")
    old_url, old_token = url(photo), photo.token
    response = browser.post(f"/portal/buildings/{building.id}/photos/{photo.id}",
                            {"file": (io.BytesIO(samples.phone_png()), "new.png"), "caption": "Door 2: ramp"},
                            content_type="multipart/form-data")
    assert response.status_code == 302
    photo = only_photo(subject="entrance")
    assert photo.token != old_token and photo.caption == "Door 2: ramp"
    assert browser.get(old_url).status_code == 404 and browser.get(url(photo)).status_code == 200
    store = objects.get_storage()
    assert list(store.list(objects.photo_prefix(building.id, old_token))) == []
    assert browser.post(f"/portal/buildings/{building.id}/photos/{photo.id}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.query(Photo).count() == 0
    assert list(store.list(objects.building_photos_prefix(building.id))) == []
    done = [event.action for event in db.session.query(AuditEvent).filter(AuditEvent.action.like("photo.%"))
            .order_by(AuditEvent.id)]
    assert done == ["photo.add", "photo.replace", "photo.caption", "photo.delete"]
    assert set(done) <= set(audit.ACTIONS["photo"])  # the admin's audit page filters by them


def test_a_refused_picture_keeps_nothing(world, browser_for) -> None:
    partner, building = world["partner"], world["building"]
    for data, words in ((samples.png_bomb(), "50,000 x 50,000"), (b"%PDF-1.7 not a photo", "is a PDF"),
                        (samples.phone_jpeg()[:3000], "incomplete"), (b"", "The file is empty")):
        response = add(browser_for(partner), building, data, subject="front")
        assert response.status_code == 422 and words in response.get_data(as_text=True)
    assert db.session.query(Photo).count() == 0
    assert list(objects.get_storage().list(objects.building_photos_prefix(building.id))) == []


def test_the_photos_page_lists_markers(world, browser_for) -> None:
    page = browser_for(world["partner"]).get(f"/portal/buildings/{world['building'].id}/photos")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Front of the building" in text and "Gas shut-off" in text


def test_the_api_lists_uploads_and_deletes_photos(world, browser_for, make_user, api_token) -> None:
    partner, building, marker = world["partner"], world["building"], world["marker"]
    client = browser_for(partner).client
    sent = client.post(f"/api/v1/buildings/{building.id}/photos", headers=api_token(partner),
                       data={"file": (io.BytesIO(samples.phone_jpeg()), "front.jpg"), "subject": "front",
                             "caption": "Main Street"}, content_type="multipart/form-data")
    assert sent.status_code == 201, sent.get_json()
    front = sent.get_json()
    assert front["subject"] == "front" and [size["size"] for size in front["sizes"]] == list(photos.SIZES)
    assert front["large"].startswith("/api/v1/photos/")
    draft = ready_version(building, "Ground floor")
    unpublished = place(draft.pages[0], partner, kind="key_box", x=0.1, y=0.1)
    for target, data in ((marker, samples.phone_png()), (unpublished, samples.phone_jpeg())):
        assert client.post(f"/api/v1/buildings/{building.id}/photos", headers=api_token(partner),
                           data={"file": (io.BytesIO(data), "m.jpg"), "subject": "marker",
                                 "marker_id": str(target.id)}, content_type="multipart/form-data").status_code == 201

    officer = make_user(Role.OFFICER)
    record = client.get(f"/api/v1/buildings/{building.id}", headers=api_token(officer)).get_json()
    assert sorted((p["subject"], p["marker_id"]) for p in record["photos"]) == [("front", None), ("marker", marker.id)]
    shown = record["plan"]["pages"][0]["markers"][0]
    assert shown["photo"]["id"] == only_photo(marker_id=marker.id).id
    image = client.get(shown["photo"]["small"], headers=api_token(officer))
    assert image.status_code == 200 and image.mimetype == "image/webp"
    own = client.get(f"/api/v1/buildings/{building.id}", headers=api_token(partner)).get_json()
    assert len(own["photos"]) == 3  # its congregation sees the draft's marker photo too

    assert client.delete(f"/api/v1/photos/{front['id']}", headers=api_token(officer)).status_code == 403
    assert client.delete(f"/api/v1/photos/{front['id']}", headers=api_token(make_user(Role.PARTNER))).status_code == 404
    assert client.delete(f"/api/v1/photos/{front['id']}", headers=api_token(partner)).status_code == 204
    assert client.get(front["small"], headers=api_token(partner)).status_code == 404


def test_keep_offline_takes_the_photos_and_says_how_much(world, browser_for, make_user) -> None:
    partner, building = world["partner"], world["building"]
    add(browser_for(partner), building, samples.phone_jpeg(), subject="front")
    front = only_photo(subject="front")
    officer = browser_for(make_user(Role.OFFICER))
    pack = officer.get(f"/r/offline/pack?ids={building.id}").get_json()
    kept = pack["buildings"][0]
    assert kept["photos"] == [url(front, size) for size in photos.SIZES]
    assert pack["bytes"] >= front.stored_bytes and pack["files"] >= 2 + len(photos.SIZES)
    page = officer.get("/r/?q=Brigid").get_data(as_text=True)
    assert "data-keep-offline-size" in page and "on this computer" in page
