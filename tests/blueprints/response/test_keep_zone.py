"""Keep my area offline (issue 19), over HTTP: the zone's pack (the buildings within a
distance of a point, nearest first, at most MAX_KEEP_BUILDINGS), the Find page's control,
the plan page naming its version (for the service worker's eviction) and the size estimate
from each page's own tiles."""

from __future__ import annotations

import pytest

from floorplans.db import db
from floorplans.models import Photo, PlanPage, Role
from floorplans.services import offline
from floorplans.services.offline import TILE_BYTES, page_keep
from tests.blueprints.response.test_in_car import published_plan

CAR = (43.6450, -79.3960)


def test_the_zone_is_the_buildings_within_the_distance_nearest_first(browser_for, make_user, make_building) -> None:
    officer = browser_for(make_user(Role.OFFICER))
    make_building(name="Near", latitude=43.6455, longitude=-79.3951)  # ~100 m
    mid = make_building(name="Mid", latitude=43.6600, longitude=-79.3900)  # ~1.7 km
    published_plan(mid, ("Ground", 1000, 700, 2))
    make_building(name="Far", latitude=43.7500, longitude=-79.3960)  # ~11.7 km
    make_building(name="Nowhere")
    partner = make_user(Role.PARTNER)
    make_building(partner.organisation, name="Partner's own", latitude=43.6451, longitude=-79.3961)

    def zone(km: float, user=officer) -> dict:
        response = user.get(f"/r/offline/pack?lat={CAR[0]}&lon={CAR[1]}&km={km:g}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    one = zone(1)
    assert [b["name"] for b in one["buildings"]] == ["Partner's own", "Near"]
    assert one["more"] is False
    five = zone(5)
    assert [b["name"] for b in five["buildings"]][-1] == "Mid"
    assert five["bytes"] == sum(b["bytes"] for b in five["buildings"])
    assert [b["name"] for b in zone(25)["buildings"]][-1] == "Far"
    # A partner's zone holds only their own buildings.
    own = zone(1, browser_for(partner))
    assert [b["name"] for b in own["buildings"]] == ["Partner's own"]

    # Only the distances offered; coordinates that are numbers.
    assert officer.get(f"/r/offline/pack?lat={CAR[0]}&lon={CAR[1]}&km=3").status_code == 422
    assert officer.get(f"/r/offline/pack?lat={CAR[0]}&lon={CAR[1]}&km=many").status_code == 422
    assert officer.get("/r/offline/pack?lat=north&lon=0&km=5").status_code == 422


def test_a_crowded_zone_keeps_the_nearest(app, browser_for, make_user, make_building,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(offline, "MAX_KEEP_BUILDINGS", 3)
    officer = browser_for(make_user(Role.OFFICER))
    for i in range(5):
        make_building(name=f"B{i}", latitude=CAR[0] + 0.001 * (i + 1), longitude=CAR[1])
    pack = officer.get(f"/r/offline/pack?lat={CAR[0]}&lon={CAR[1]}&km=5").get_json()
    assert [b["name"] for b in pack["buildings"]] == ["B0", "B1", "B2"]
    assert pack["more"] is True


def test_the_find_page_offers_the_zone_around_the_car_or_a_building_found(
        browser_for, make_user, make_building) -> None:
    officer = browser_for(make_user(Role.OFFICER))
    found = make_building(name="Beth Shalom", latitude=43.70, longitude=-79.42)
    make_building(name="Beth Shalom Annex")  # no location: cannot be the middle of an area
    page = officer.get("/r/?q=beth+shalom").get_data(as_text=True)
    assert "Keep my area offline" in page
    assert '<option value="car">this car</option>' in page
    assert f'<option value="{found.latitude},{found.longitude}">Beth Shalom</option>' in page
    assert "Beth Shalom Annex</option>" not in page
    assert all(f'<option value="{km}"' in page for km in offline.ZONE_KILOMETRES)


def test_the_plan_page_names_its_version(browser_for, make_user, make_building) -> None:
    officer = browser_for(make_user(Role.OFFICER))
    building = make_building()
    version = published_plan(building, ("Ground", 1000, 700, 2))
    page = officer.get(f"/r/buildings/{building.id}/plan").get_data(as_text=True)
    assert f'<meta name="plan-version" content="{version.key}">' in page
    bare = make_building()
    assert 'name="plan-version"' not in officer.get(f"/r/buildings/{bare.id}/plan").get_data(as_text=True)


def test_the_size_estimate_uses_the_page_s_own_tiles(app) -> None:
    rendered = PlanPage(width=1000, height=700, tile_size=256, max_zoom=2, tiles=17, tile_bytes=17 * 1_500)
    assert page_keep(rendered) == (17, 17 * 1_500)
    # Full zoom left out on a large sheet: its kept tiles are the denser ones.
    sheet = PlanPage(width=13000, height=9000, tile_size=256, max_zoom=6, tiles=2_400, tile_bytes=2_400 * 4_000)
    kept = sum(level.tiles for level in offline.offline_levels(sheet))
    assert kept < 2_400
    assert page_keep(sheet) == (kept, round(kept * 4_000 * offline.DENSER_WITHOUT_FULL_ZOOM))
    # A page rendered before pages recorded their bytes: the fixed average.
    assert page_keep(PlanPage(width=1000, height=700, tile_size=256, max_zoom=2)) == (17, 17 * TILE_BYTES)
    db.session.rollback()


def test_the_size_of_many_buildings_costs_a_few_statements_not_some_per_building(
        app, make_user, make_building) -> None:
    """A Find page of 50 results, a zone of 300: the plans, their pages and the photos are
    read for all of them at once (at province size, two statements a building were most of
    a search's time)."""
    from sqlalchemy import event

    from floorplans.models import Building

    officer = make_user(Role.OFFICER)

    def statements(count: int) -> tuple[int, offline.KeepSize]:
        buildings = [make_building() for _ in range(count)]
        for building in buildings:
            published_plan(building, ("Ground", 1000, 700, 2), ("Upper", 1000, 700, 2))
        ids = [b.id for b in buildings]
        db.session.expunge_all()  # as a request finds them: freshly loaded, nothing else loaded
        listed = list(db.session.scalars(db.select(Building).where(Building.id.in_(ids))))
        seen: list[str] = []
        listen = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listen)
        try:
            size = offline.keep_size(officer, listed)
        finally:
            event.remove(db.engine, "before_cursor_execute", listen)
        return len(seen), size

    few, small = statements(2)
    many, large = statements(12)
    assert many == few <= 4
    assert large.files == 6 * small.files and large.bytes == 6 * small.bytes


def test_the_find_page_size_is_what_keeping_fetches(app, make_user, make_building) -> None:
    """``keep_size`` reads the shown pages as rows, ``kept`` (what a zone's pack fetches) as
    records: the same files and bytes, building by building, whatever the plan's state."""
    from floorplans.db import utcnow
    from floorplans.models import Building, User

    officer = make_user(Role.OFFICER)
    shown = make_building()
    published_plan(shown, ("Ground", 1000, 700, 2), ("Upper", 13000, 9000, 6), ("Roof", 800, 600, 1))
    shown.published_version.pages[1].tiles, shown.published_version.pages[1].tile_bytes = 2_400, 2_400 * 4_000
    shown.published_version.pages[2].hidden = True  # a sheet the partner hid: not kept
    every_sheet_hidden = make_building()
    for page in published_plan(every_sheet_hidden, ("Ground", 1000, 700, 2)).pages:
        page.hidden = True
    cleaned = make_building()  # published once, its tiles since removed: nothing to show
    published_plan(cleaned, ("Ground", 1000, 700, 2)).tiles_deleted_at = utcnow()
    never_published = make_building()
    draft = published_plan(never_published, ("Ground", 1000, 700, 2))
    draft.published_at, never_published.published_version_id = None, None
    no_plan = make_building()
    # Photos an officer sees (the front, an entrance: every size of each is kept), on a
    # building with a shown plan and on one with none.
    photographed, not_photographed = make_building(), make_building()
    for building in (photographed, not_photographed):
        published_plan(building, ("Ground", 1000, 700, 2))
    photo_no_plan = make_building()
    sizes = [{"size": 320, "width": 10, "height": 10, "bytes": 9_000}, {"size": 1280, "width": 40, "height": 40,
                                                                          "bytes": 90_000}]
    db.session.add_all([Photo(building_id=building.id, subject=subject, token=f"{n:032x}", width=40, height=40,
                              sizes=sizes)
                        for n, (building, subject) in enumerate([(photographed, "front"), (photographed, "entrance"),
                                                                 (photo_no_plan, "front")])])
    db.session.commit()
    photographed_id, not_photographed_id, photo_no_plan_id = photographed.id, not_photographed.id, photo_no_plan.id
    ids = [shown.id, every_sheet_hidden.id, cleaned.id, never_published.id, no_plan.id, photographed_id,
           not_photographed_id, photo_no_plan_id]
    officer_id = officer.id
    db.session.expunge_all()
    officer = db.session.get(User, officer_id)  # the reader, as a request loads them
    listed = list(db.session.scalars(db.select(Building).where(Building.id.in_(ids)).order_by(Building.id)))
    for building in listed:
        each = offline.kept(officer, [building])
        assert offline.keep_size(officer, [building]) == offline.KeepSize(
            files=sum(k.files for k in each), bytes=sum(k.bytes for k in each)), building.name
    kept = [offline.keep_size(officer, [b]) for b in listed]
    assert kept[0].files > kept[1].files == 2 > kept[2].files == kept[3].files == kept[4].files == 1
    size_of = {building.id: size for building, size in zip(listed, kept, strict=True)}
    # Two photos of two sizes each, beside the same plan's files; the card and the front's sizes.
    assert size_of[photographed_id].files == size_of[not_photographed_id].files + 4
    assert size_of[photographed_id].bytes == size_of[not_photographed_id].bytes + 2 * 99_000
    assert size_of[photo_no_plan_id] == offline.KeepSize(files=1 + 2, bytes=offline.PAGE_BYTES + 99_000)
    assert offline.keep_size(officer, listed).bytes == sum(size.bytes for size in kept)
