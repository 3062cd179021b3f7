"""Exports of a building (floorplans.services.exports): the printed packet of a corpus plan
rendered through the normal upload -> render path, markers as GeoJSON, a page as PNG, the
exercise layer only for its planners, and every download in the access log.

The tests that render a plan run on SQLite only (the renderer is the slow part and the
database paths are the same); the permission and logging tests run on both databases.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import time
from pathlib import Path

import pymupdf
import pytest
from PIL import Image
from sqlalchemy import select

from floorplans.db import db
from floorplans.errors import NotFound
from floorplans.grid import plan_grid
from floorplans.models import AccessEvent, AuditEvent, Building, Contact, Gathering, PlanVersion, Role, User
from floorplans.models.planning import Exercise, ExerciseItem, Marker
from floorplans.services import exports, plans
from tests.conftest import publish_reviewed
from tests.floorplans.conftest import corpus

pytestmark = [pytest.mark.usefixtures("fast_render"), pytest.mark.slow]  # packets of rendered plans

#: An architect's five A2 sheets (AutoCAD): a real multi-page plan.
PLAN = "plan-university-lab-5sheets-A2-autocad.pdf"
#: Rendering is the slow part and its database paths are the same on both engines.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "exports"


def render_plan(building: Building, by: User, name: str = PLAN, *, show_every_sheet: bool = False) -> PlanVersion:
    """Upload and render (JOBS_IMMEDIATE) as the portal does, then published by ``by`` once
    reviewed.  ``show_every_sheet``: the partner shows the sheets the upload proposed hidden
    (not a floor plan by their titles), so officers get every sheet of the drawing."""
    from floorplans.jobs import queue_render

    with corpus(name).open("rb") as stream:
        version = plans.upload_plan(building, stream, name, by=by)
    queue_render(version.id)  # JOBS_IMMEDIATE: rendered at the commit
    db.session.commit()
    db.session.expire_all()
    version = db.session.get(PlanVersion, version.id)
    assert version is not None and version.status == "draft", version and version.error
    if show_every_sheet:
        plans.update_pages(version, {}, [], hidden={page.id: False for page in version.pages})
        db.session.commit()
    publish_reviewed(version, by)
    assert version.building.published_version_id == version.id
    return version


def place(page_id: int, building: Building, kind: str, x: float, y: float, **values: object) -> Marker:
    marker = Marker(building_id=building.id, page_id=page_id, kind=kind, x=x, y=y, **values)
    db.session.add(marker)
    db.session.commit()
    return marker


def pdf_text(page: pymupdf.Page) -> set[str]:
    return {word[4] for word in page.get_text("words")}


@SQLITE_ONLY
def test_the_packet_of_a_corpus_plan(app, make_user, make_building) -> None:
    partner = make_user(Role.PARTNER, name="Amina Khan")
    building = make_building(partner.organisation, name="Masjid Al-Noor", capacity=400,
                             key_box="Left of the main door", hazards="Oxygen cylinders in the clinic",
                             last_verified_at=dt.datetime(2026, 10, 1, 12, 0))
    db.session.add(Contact(building=building, position=1, name="Yusuf Ali", phone="416-555-0101", available_24_7=True))
    version = render_plan(building, partner, show_every_sheet=True)
    pages = list(version.pages)
    assert len(pages) == 5
    first, second = pages[0], pages[1]
    first.north_degrees = 90.0
    place(first.id, building, "door", 0.2, 0.5, number=1, side="A", label="Main entrance")
    place(first.id, building, "aed", 0.6, 0.4)
    place(second.id, building, "gas_shutoff", 0.3, 0.3, needs_confirmation=True)
    officer = make_user(Role.OFFICER, name="Constable Reyes")

    timings = {}
    for paper in ("letter", "a3"):
        started = time.perf_counter()
        download = exports.packet_download(officer, building.id, paper=paper)
        timings[paper] = time.perf_counter() - started
        db.session.commit()
        document = pymupdf.open("pdf", download.data)
        assert document.page_count == 1 + 5
        assert download.filename == f"masjid-al-noor-packet-{paper}.pdf"
        card = document[0]
        card_text = card.get_text()
        assert "Masjid Al-Noor" in card_text and "Yusuf Ali" in card_text and "416-555-0101" in card_text
        assert "24/7" in card_text and "Oxygen cylinders in the clinic" in card_text
        long_side, short_side = (792, 612) if paper == "letter" else (1190.55, 841.89)
        for index, page in enumerate(document):
            # Letter or A3, portrait or landscape as the plan fits.
            assert sorted((round(page.rect.width), round(page.rect.height))) == [round(short_side), round(long_side)]
            text = page.get_text()
            assert "Printed " in text and "by Constable Reyes" in text and "Record last verified 2026-10-01" in text
            assert f"page {index + 1} of 6" in text and f"Plan version {version.number}" in text
            assert "Sensitive: security plan of a place of worship. Do not share." in text
        for page, plan_page in zip(list(document)[1:], pages, strict=True):
            words = pdf_text(page)
            grid = plan_grid(plan_page.width, plan_page.height)
            assert plan_page.label in page.get_text()
            assert {"A", "B", "C", "J"} <= words and {"1", "2", str(grid.rows)} <= words
            # Every column letter twice (top and bottom), every row number twice (left and right).
            assert len(page.search_for("J")) >= 2
        floor1, floor2, floor3 = document[1].get_text(), document[2].get_text(), document[3].get_text()
        assert "Exterior door" in floor1 and "AED (defibrillator)" in floor1
        assert "Door 1 (side A) Main entrance" in floor1
        assert "Gas shut-off" not in floor1 and "Gas shut-off" in floor2 and "not yet confirmed" in floor2
        assert "Exterior door" not in floor3
        assert "EXERCISE" not in document[1].get_text()
        # The north arrow (its "N") only on the page whose north is set.
        assert "N" in pdf_text(document[1]) and "N" not in pdf_text(document[2])
        # Pages render, and are not blank: look at them in test-artifacts/exports/.
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for index in (0, 1, 2):
            pixmap = document[index].get_pixmap(dpi=60)
            pixmap.save(ARTIFACTS / f"packet-{paper}-{index + 1}.png")
            image = Image.open(io.BytesIO(pixmap.tobytes("png"))).convert("L")
            low, high = image.getextrema()
            assert high - low > 200
            dark = sum(image.histogram()[:128]) / (image.width * image.height)
            assert dark > (0.002 if index == 0 else 0.01), f"page {index + 1} looks blank"
        (ARTIFACTS / f"packet-{paper}.pdf").write_bytes(download.data)
    print(f"packet timings: {timings}, letter bytes {len(download.data)}")
    assert db.session.scalars(select(AccessEvent.action).where(AccessEvent.building_id == building.id)).all() == [
        "export.packet", "export.packet"]

    # GeoJSON: page pixels at full zoom.
    body, filename = exports.geojson_download(officer, building.id)
    collection = json.loads(json.dumps(body))
    assert collection["type"] == "FeatureCollection" and "not WGS84" in collection["coordinates"]
    assert filename == f"masjid-al-noor-markers-v{version.number}.geojson"
    door = next(f for f in collection["features"] if f["properties"]["kind"] == "door")
    assert door["geometry"] == {"type": "Point", "coordinates": [0.2 * first.width, 0.5 * first.height]}
    assert door["properties"].items() >= {"number": 1, "side": "A", "label": "Main entrance", "page": first.number,
                                       "page_label": first.label, "page_width": first.width,
                                       "page_height": first.height, "needs_confirmation": False}.items()
    assert len(collection["features"]) == 3

    # PNG at a chosen width, with and without the grid.
    png = exports.page_png(officer, building.id, first.number, width=1000)
    image = Image.open(io.BytesIO(png.data))
    assert image.format == "PNG" and image.width == 1000
    assert abs(image.height - round(first.height * 1000 / first.width)) <= 1
    image.save(ARTIFACTS / "page-1000.png")
    plain = Image.open(io.BytesIO(exports.page_png(officer, building.id, first.number, width=1000, grid=False,
                                                   with_markers=False).data))
    assert plain.size == image.size and plain.tobytes() != image.tobytes()
    capped = Image.open(io.BytesIO(exports.page_png(officer, building.id, first.number, width=100_000).data))
    assert capped.width == first.width  # never more than the page's full zoom
    with pytest.raises(NotFound):
        exports.page_png(officer, building.id, 99)
    db.session.commit()
    actions = db.session.scalars(select(AccessEvent.action).where(AccessEvent.building_id == building.id)).all()
    assert actions.count("export.geojson") == 1 and actions.count("export.png") == 3
    audited = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("access.export.%"))).all()
    assert sorted(audited) == ["access.export.geojson"] + ["access.export.packet"] * 2 + ["access.export.png"] * 3

    # A sheet the partner hides from officers is in no export: not its markers, image or page.
    plans.update_pages(version, {}, [], hidden={second.id: True})
    db.session.commit()
    body, _ = exports.geojson_download(officer, building.id)
    assert sorted(f["properties"]["kind"] for f in body["features"]) == ["aed", "door"]
    with pytest.raises(NotFound):
        exports.page_png(officer, building.id, second.number)
    document = pymupdf.open("pdf", exports.packet_download(officer, building.id).data)
    assert document.page_count == 1 + 4
    assert second.label not in document[2].get_text() and "Gas shut-off" not in document[2].get_text()


@SQLITE_ONLY
def test_the_exercise_layer_is_for_its_planners_and_never_touches_the_record(app, make_user, make_building) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    other = make_building(partner.organisation)
    version = render_plan(building, partner, "plan-conference-centre-lecture-halls-A4-vector.pdf")
    page = version.pages[0]
    place(page.id, building, "aed", 0.5, 0.5)
    planner, outsider = make_user(Role.PLANNER), make_user(Role.PLANNER)
    exercise = Exercise(name="Tabletop: hold-up at Friday prayers", planners=[planner], buildings=[building])
    elsewhere = Exercise(name="Other", planners=[planner], buildings=[other])
    db.session.add_all([exercise, elsewhere])
    db.session.flush()
    db.session.add_all([
        ExerciseItem(exercise=exercise, building_id=building.id, page_id=page.id, shape="line",
                     points=[[0.1, 0.1], [0.5, 0.2]], label="Approach route", colour="#dc2626"),
        ExerciseItem(exercise=exercise, building_id=building.id, page_id=page.id, shape="marker", kind="staging_area",
                     points=[[0.8, 0.2]], label="Staging", colour="#7c3aed"),
    ])
    db.session.commit()
    before = [(m.kind, m.x, m.y, m.label) for m in db.session.scalars(select(Marker))]

    plain = pymupdf.open("pdf", exports.packet_download(planner, building.id).data)
    assert "EXERCISE" not in plain[1].get_text() and "Approach route" not in plain[1].get_text()
    layered = exports.packet_download(planner, building.id, exercise_id=exercise.id)
    document = pymupdf.open("pdf", layered.data)
    for page_ in document:
        assert "EXERCISE — not the building's record" in page_.get_text()
    assert "Approach route" in document[1].get_text() and "Staging area" in document[1].get_text()
    assert "AED (defibrillator)" in document[1].get_text()  # the real markers stay underneath
    assert layered.filename.endswith("-exercise.pdf")
    db.session.commit()
    assert [(m.kind, m.x, m.y, m.label) for m in db.session.scalars(select(Marker))] == before
    assert exports.markers_geojson(building, version)["features"][0]["properties"]["kind"] == "aed"

    for user, exercise_id in ((outsider, exercise.id), (make_user(Role.OFFICER), exercise.id),
                              (partner, exercise.id), (planner, elsewhere.id), (planner, 999_999)):
        with pytest.raises(NotFound):
            exports.packet_download(user, building.id, exercise_id=exercise_id)
    assert exports.packet_download(make_user(Role.ADMIN), building.id, exercise_id=exercise.id).data


def test_a_building_without_a_plan_prints_its_card(app, make_user, make_building) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation, name="Temple Beth Shalom")
    db.session.add_all([
        Gathering(building=building, label="Shabbat service", weekday=5, start_time=dt.time(10),
                  end_time=dt.time(12), expected_attendance=250, children_areas_in_use=True),
        Gathering(building=building, label="Past gala", on_date=dt.date(2020, 1, 1), start_time=dt.time(18),
                  end_time=dt.time(22)),
    ])
    db.session.commit()
    download = exports.packet_download(partner, building.id, paper="tabloid")
    document = pymupdf.open("pdf", download.data)
    assert document.page_count == 1 and round(document[0].rect.width) == 792
    card = document[0].get_text()
    assert "Temple Beth Shalom" in card and "Record never verified" in card
    assert "Sat 10:00–12:00 Shabbat service, ~250 expected, children's area in use" in card
    assert "Past gala" not in card
    db.session.commit()
    # A partner's own export is logged too (exports leave the service as files).
    assert db.session.scalars(select(AccessEvent.action)).all() == ["export.packet"]
    body, filename = exports.geojson_download(partner, building.id)
    assert body["features"] == [] and body["plan_version"] is None and filename == "temple-beth-shalom-markers.geojson"
    with pytest.raises(exports.InvalidInput):
        exports.packet_download(partner, building.id, paper="legal")
    with pytest.raises(NotFound):
        exports.packet_download(make_user(Role.PARTNER), building.id)  # another congregation


def test_what_is_printed_beside_a_marker() -> None:
    assert exports.marker_text(Marker(kind="door", number=1, side="A", label="Main entrance")) == (
        "Door 1 (side A) Main entrance")
    assert exports.marker_text(Marker(kind="door", number=3, side="")) == "Door 3"
    assert exports.marker_text(Marker(kind="aed", label="")) == ""
    assert exports.marker_text(Marker(kind="note", label="", note="Ramp")) == "Ramp"
    assert exports.marker_text(Marker(kind="note", label="", note="x" * 80)) == "x" * 59 + "…"


def test_safe_filenames() -> None:
    assert exports.safe_filename("Masjid Al-Nûr", "packet", extension="pdf") == "masjid-al-nur-packet.pdf"
    assert exports.safe_filename('../../etc/"x"', extension="png") == "etc-x.png"
    assert exports.safe_filename("ਗੁਰਦੁਆਰਾ", extension="pdf") == "building.pdf"
