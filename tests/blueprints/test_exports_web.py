"""Print & export through the web and the API: the form, the downloads (attachments, never
cached), who may have them, the access log, and the partner setting a page's north.

One plan is rendered per test, on SQLite only: rendering is the slow part, and the
services' database paths run on both engines in tests/floorplans/test_exports.py."""
from __future__ import annotations

import io
import json

import pymupdf
import pytest
from PIL import Image
from sqlalchemy import select

from floorplans.db import db
from floorplans.models import AccessEvent, Building, Role
from floorplans.models.planning import Exercise, ExerciseItem, Marker
from tests.floorplans.test_exports import SQLITE_ONLY, render_plan

pytestmark = [pytest.mark.usefixtures("fast_render"), SQLITE_ONLY, pytest.mark.slow]  # packets of rendered plans

PLAN = "plan-conference-centre-lecture-halls-A4-vector.pdf"


@pytest.fixture
def fast_render(app_config):  # type: ignore[no-untyped-def]
    # More packets a minute than the quota allows (tests/security/test_quotas.py tests that).
    app_config.update(PAGE_MAX_PIXELS=4_000_000, RENDER_WORKERS=2, JOBS_IMMEDIATE=True, PACKETS_PER_MINUTE=100)
    return app_config


def downloaded(response, mimetype: str) -> bytes:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == mimetype
    assert response.headers["Cache-Control"] == "no-store"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="') and "/" not in disposition
    return response.get_data()


def test_officer_and_partner_download_everything_and_each_download_is_logged(
    app, browser_for, make_user, make_building, api_token
) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation, name="Gurdwara Sahib")
    version = render_plan(building, partner, PLAN)
    page = version.pages[0]
    db.session.add(Marker(building_id=building.id, page_id=page.id, kind="door", x=0.25, y=0.75, number=1))
    db.session.commit()
    officer = make_user(Role.OFFICER)
    web = browser_for(officer)

    form = web.get(f"/r/buildings/{building.id}/export")
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and "Print &amp; export" in html and "Download packet" in html
    assert f"/r/buildings/{building.id}/export/packet.pdf" in html and "Exercise layer" not in html
    assert f"/r/buildings/{building.id}/export" in web.get(f"/r/buildings/{building.id}").get_data(as_text=True)

    pdf = downloaded(web.get(f"/r/buildings/{building.id}/export/packet.pdf?paper=a4"), "application/pdf")
    document = pymupdf.open("pdf", pdf)
    assert document.page_count == 1 + len(version.pages)
    assert round(document[0].rect.width) == 595 and "Exterior door" in document[1].get_text()
    response = web.get(f"/r/buildings/{building.id}/export/packet.pdf?paper=a4")
    assert 'filename="gurdwara-sahib-packet-a4.pdf"' in response.headers["Content-Disposition"]
    assert web.get(f"/r/buildings/{building.id}/export/packet.pdf?paper=legal").status_code == 422

    geojson = json.loads(downloaded(web.get(f"/r/buildings/{building.id}/export/markers.geojson"),
                                    "application/geo+json"))
    [feature] = geojson["features"]
    assert feature["geometry"]["coordinates"] == [0.25 * page.width, 0.75 * page.height]

    png = downloaded(web.get(f"/r/buildings/{building.id}/export/pages/{page.number}.png?width=500&form=1&grid=1"),
                     "image/png")
    assert Image.open(io.BytesIO(png)).width == 500

    # The API: same files, bearer token.
    headers = api_token(officer)
    client = web.client
    api_pdf = downloaded(client.get(f"/api/v1/buildings/{building.id}/export/packet.pdf?paper=tabloid",
                                    headers=headers), "application/pdf")
    assert round(pymupdf.open("pdf", api_pdf)[0].rect.height) == 1224
    api_png = downloaded(client.get(f"/api/v1/buildings/{building.id}/export/pages/{page.number}.png?width=300"
                                    "&grid=0&markers=0", headers=headers), "image/png")
    assert Image.open(io.BytesIO(api_png)).width == 300
    assert client.get(f"/api/v1/buildings/{building.id}/export/pages/99.png", headers=headers).status_code == 404
    api_json = client.get(f"/api/v1/buildings/{building.id}/export/markers.geojson", headers=headers)
    assert json.loads(downloaded(api_json, "application/geo+json"))["features"] == geojson["features"]

    # The partner downloads their own packet: logged too.
    own = browser_for(partner)
    downloaded(own.get(f"/r/buildings/{building.id}/export/packet.pdf"), "application/pdf")
    assert "Print &amp; export" in own.get(f"/portal/buildings/{building.id}/plans").get_data(as_text=True)

    db.session.expire_all()
    events = db.session.scalars(select(AccessEvent).where(AccessEvent.action.like("export.%"))
                                .order_by(AccessEvent.id)).all()
    assert [(e.action, e.channel) for e in events] == [
        ("export.packet", "web"), ("export.packet", "web"), ("export.geojson", "web"), ("export.png", "web"),
        ("export.packet", "api"), ("export.png", "api"), ("export.geojson", "api"), ("export.packet", "web"),
    ]
    assert events[0].detail.startswith("paper a4") and events[-1].user_id == partner.id
    assert "page 1" in events[3].detail
    page = own.get(f"/portal/buildings/{building.id}/access-log").get_data(as_text=True)
    who_looked = page.split("<tbody>", 1)[1]  # the log's rows, not the filter's choices above them
    assert who_looked.count("downloaded the print packet") == 4 and "downloaded a floor as an image" in who_looked
    assert "downloaded the markers (api)" in who_looked and "paper a4" in who_looked

    # Another congregation's partner finds nothing.
    stranger = make_user(Role.PARTNER)
    other_web = browser_for(stranger)
    for url in (f"/r/buildings/{building.id}/export", f"/r/buildings/{building.id}/export/packet.pdf",
                f"/r/buildings/{building.id}/export/markers.geojson",
                f"/r/buildings/{building.id}/export/pages/1.png"):
        assert other_web.get(url).status_code == 404, url
    assert other_web.client.get(f"/api/v1/buildings/{building.id}/export/packet.pdf",
                                headers=api_token(stranger)).status_code == 404


def test_the_exercise_layer_is_offered_to_its_planners_only(app, browser_for, make_user, make_building) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    version = render_plan(building, partner, PLAN)
    planner, other_planner = make_user(Role.PLANNER), make_user(Role.PLANNER)
    exercise = Exercise(name="Evacuation drill", planners=[planner], buildings=[building])
    db.session.add(exercise)
    db.session.flush()
    db.session.add(ExerciseItem(exercise=exercise, building_id=building.id, page_id=version.pages[0].id,
                                shape="note", points=[[0.5, 0.5]], label="Incident command"))
    db.session.commit()

    web = browser_for(planner)
    form = web.get(f"/r/buildings/{building.id}/export").get_data(as_text=True)
    assert "Exercise layer" in form and "Evacuation drill" in form and " selected>Evacuation" not in form
    # An exercise's page can link here with its layer chosen.
    chosen = web.get(f"/r/buildings/{building.id}/export?exercise={exercise.id}").get_data(as_text=True)
    assert f'<option value="{exercise.id}" selected>Evacuation drill' in chosen
    pdf = downloaded(web.get(f"/r/buildings/{building.id}/export/packet.pdf?exercise={exercise.id}"),
                     "application/pdf")
    floor = pymupdf.open("pdf", pdf)[1].get_text()
    assert "EXERCISE — not the building's record" in floor and "Incident command" in floor

    outsider = browser_for(other_planner)
    assert "Evacuation drill" not in outsider.get(f"/r/buildings/{building.id}/export").get_data(as_text=True)
    assert outsider.get(f"/r/buildings/{building.id}/export/packet.pdf?exercise={exercise.id}").status_code == 404
    officer = browser_for(make_user(Role.OFFICER))
    assert officer.get(f"/r/buildings/{building.id}/export/packet.pdf?exercise={exercise.id}").status_code == 404
    assert officer.get(f"/r/buildings/{building.id}/export/packet.pdf?exercise=abc").status_code == 422


def test_the_partner_sets_north_and_the_packet_draws_the_arrow(app, browser_for, make_user, make_building) -> None:
    partner = make_user(Role.PARTNER)
    building: Building = make_building(partner.organisation)
    version = render_plan(building, partner, PLAN)
    page = version.pages[0]
    browser = browser_for(partner)
    url = f"/portal/buildings/{building.id}/plans/{version.id}/pages"
    form = {f"label-{page.id}": page.label, f"position-{page.id}": "1"}
    assert f'name="north-{page.id}"' in browser.get(f"/portal/buildings/{building.id}/plans/{version.id}").get_data(
        as_text=True)
    for bad in ("360", "-5", "north", "1e9"):
        response = browser.post(url, {**form, f"north-{page.id}": bad})
        assert response.status_code == 422, bad
        assert "degrees" in response.get_data(as_text=True)
    assert browser.post(url, {**form, f"north-{page.id}": " 90 "}).status_code == 302
    db.session.expire_all()
    assert db.session.get(type(page), page.id).north_degrees == 90.0
    packet = pymupdf.open("pdf", downloaded(browser.get(f"/r/buildings/{building.id}/export/packet.pdf"),
                                            "application/pdf"))
    assert "N" in {w[4] for w in packet[1].get_text("words")}
    # A form without the field leaves north alone; an empty field clears it (unknown: no arrow).
    assert browser.post(url, form).status_code == 302
    db.session.expire_all()
    assert db.session.get(type(page), page.id).north_degrees == 90.0
    assert browser.post(url, {**form, f"north-{page.id}": ""}).status_code == 302
    db.session.expire_all()
    assert db.session.get(type(page), page.id).north_degrees is None
    packet = pymupdf.open("pdf", downloaded(browser.get(f"/r/buildings/{building.id}/export/packet.pdf"),
                                            "application/pdf"))
    assert "N" not in {w[4] for w in packet[1].get_text("words")}
