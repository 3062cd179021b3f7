"""Review before publish: a rendered upload is a draft that officers never see (web, API,
offline pack, tiles) until its partner (or an administrator) has checked its sheets and
carried-over markers and published it; hidden sheets never reach officers; drafts and
failed uploads can be deleted with their tiles."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from sqlalchemy import select

from floorplans import objects
from floorplans.db import db
from floorplans.demo_plan import demo_plan_pdf
from floorplans.models import AuditEvent, Building, Marker, PlanVersion, Role, VersionState
from floorplans.services import markers, plans
from tests.conftest import publish_reviewed

pytestmark = [pytest.mark.usefixtures("fast_render"), pytest.mark.slow]  # each upload is rendered in child processes


def upload_demo(browser: Any, building: Building) -> PlanVersion:
    """The demo's two-sheet drawing (titled "Ground floor" and "Basement") through the portal;
    JOBS_IMMEDIATE renders it during the request."""
    response = browser.post(f"/portal/buildings/{building.id}/plans",
                            {"file": (io.BytesIO(demo_plan_pdf()), "plans.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 302, response.text
    db.session.expire_all()
    version = db.session.scalars(
        select(PlanVersion).where(PlanVersion.building_id == building.id).order_by(PlanVersion.number.desc())
    ).first()
    assert version is not None and version.state == VersionState.READY, version and version.error
    return version


def tile_url(version: PlanVersion, page: int) -> str:
    return f"/r/tiles/{version.key}/{page}/0/0/0.webp"


def overview_url(version: PlanVersion, page: int) -> str:
    return f"/r/tiles/{version.key}/{page}/overview.webp"


@pytest.fixture
def congregation(make_user, make_building, browser_for, api_token) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    partner = make_user(Role.PARTNER)
    officer = make_user(Role.OFFICER)
    building = make_building(partner.organisation, name="Masjid Al-Noor")
    return {
        "partner": partner, "officer": officer, "building": building,
        "portal": browser_for(partner), "car": browser_for(officer),
        "partner_token": api_token(partner), "officer_token": api_token(officer),
    }


def test_a_rendered_upload_is_a_draft_that_officers_never_see(storage_backend, app, congregation) -> None:
    c = congregation
    building: Building = c["building"]
    draft = upload_demo(c["portal"], building)
    assert draft.status == "draft" and draft.published_at is None
    db.session.refresh(building)
    assert building.published_version_id is None

    car, officer = c["car"], c["officer_token"]
    assert "No plan has been published" in car.get(f"/r/buildings/{building.id}/plan").text
    assert car.client.get(f"/api/v1/plans/{draft.id}", headers=officer).status_code == 404
    assert car.client.get(f"/api/v1/plans/{draft.id}/markers", headers=officer).status_code == 404
    assert car.client.get(f"/api/v1/buildings/{building.id}", headers=officer).get_json()["plan"] is None
    for url in (tile_url(draft, 1), overview_url(draft, 1), tile_url(draft, 2)):
        assert car.get(url).status_code == 404, url
    pack = car.get(f"/r/offline/pack?ids={building.id}").get_json()
    assert pack["buildings"][0]["plan_pages"] == []

    # Its partner sees every sheet of it, to check them.
    portal = c["portal"]
    assert portal.get(tile_url(draft, 1)).status_code == 200
    assert portal.get(overview_url(draft, 2)).status_code == 200
    page = portal.get(f"/portal/buildings/{building.id}/plans/{draft.id}").text
    assert "Check it before officers see it" in page and "Publish: show this plan to officers" in page

    assert portal.post(f"/portal/buildings/{building.id}/plans/{draft.id}/publish").status_code == 302
    db.session.refresh(building)
    assert building.published_version_id == draft.id
    assert car.get(tile_url(draft, 1)).status_code == 200
    record = car.client.get(f"/api/v1/buildings/{building.id}", headers=officer).get_json()
    assert record["plan"]["id"] == draft.id and record["plan"]["status"] == "published"
    assert [p["label"] for p in record["plan"]["pages"]] == ["Ground floor", "Basement"]
    published = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "plan.publish")).one()
    assert published.actor_id == c["partner"].id and published.detail["first_time"] is True


def test_carried_markers_must_each_be_checked_before_publishing(app, congregation) -> None:
    c = congregation
    building, partner, token = c["building"], c["partner"], c["partner_token"]
    first = upload_demo(c["portal"], building)
    ground = first.pages[0]
    for values in ({"kind": "door", "number": 1, "side": "A", "label": "Main doors", "x": 0.6, "y": 0.9},
                   {"kind": "aed", "label": "AED", "x": 0.5, "y": 0.7}):
        markers.place(ground, values, by=partner)
    publish_reviewed(first, partner)

    second = upload_demo(c["portal"], building)
    flagged = markers.flagged_markers(second)
    assert sorted(m.kind for m in flagged) == ["aed", "door"]  # carried onto the sheet of the same name
    client = c["portal"].client
    refused = client.post(f"/api/v1/plans/{second.id}/publish", headers=token)
    assert refused.status_code == 409
    assert "2 markers carried over" in refused.get_json()["error"]
    db.session.refresh(building)
    assert building.published_version_id == first.id  # officers still see the first

    page = c["portal"].get(f"/portal/buildings/{building.id}/plans/{second.id}").text
    assert "Door 1 (side A) Main doors" in page
    assert re.search(r"Ground floor</td><td data-label=\"Cell\">[A-Z]+\d+", page)

    door = next(m for m in flagged if m.kind == "door")
    aed = next(m for m in flagged if m.kind == "aed")
    assert client.post(f"/api/v1/markers/{door.id}/confirm", headers=token).status_code == 200
    still = client.post(f"/api/v1/plans/{second.id}/publish", headers=token)
    assert still.status_code == 409 and "1 marker carried over" in still.get_json()["error"]
    moved = client.patch(f"/api/v1/markers/{aed.id}", json={"x": 0.55, "y": 0.72}, headers=token)
    assert moved.status_code == 200  # moving a carried marker checks it
    published = client.post(f"/api/v1/plans/{second.id}/publish", headers=token)
    assert published.status_code == 200 and published.get_json()["status"] == "published"
    officer_view = c["car"].client.get(f"/api/v1/buildings/{building.id}", headers=c["officer_token"]).get_json()
    shown = [m for p in officer_view["plan"]["pages"] for m in p["markers"]]
    assert len(shown) == 2 and not any(m["needs_confirmation"] for m in shown)
    assert {m["door"] for m in shown} == {"Door 1 (side A)", ""}


def test_renaming_a_draft_sheet_brings_the_markers_of_the_floor_of_that_name(app, congregation) -> None:
    c = congregation
    building, partner = c["building"], c["partner"]
    first = upload_demo(c["portal"], building)
    markers.place(first.pages[1], {"kind": "water_shutoff", "label": "Meter", "x": 0.8, "y": 0.4}, by=partner)
    publish_reviewed(first, partner)

    draft = upload_demo(c["portal"], building)
    ground, basement = draft.pages
    assert [m.page_id for m in markers.flagged_markers(draft)] == [basement.id]
    # The partner renames the sheets the other way round: the shut-off follows the name.
    plans.update_pages(draft, {ground.id: "Basement", basement.id: "Lower hall"}, [])
    db.session.commit()
    assert [m.page_id for m in markers.flagged_markers(draft)] == [ground.id]
    # Hidden, the sheet takes nothing, and the review says what would be left out of the car.
    plans.update_pages(draft, {}, [], hidden={ground.id: True})
    db.session.commit()
    assert markers.flagged_markers(draft) == []
    page = c["portal"].get(f"/portal/buildings/{building.id}/plans/{draft.id}").text
    assert "1 marker of “Basement”" in page and "will not be on this plan" in page
    plans.update_pages(draft, {}, [], hidden={ground.id: False})
    db.session.commit()
    assert [m.page_id for m in markers.flagged_markers(draft)] == [ground.id]
    plans.update_pages(draft, {ground.id: "Ground floor", basement.id: "Basement"}, [])
    db.session.commit()
    assert [m.page_id for m in markers.flagged_markers(draft)] == [basement.id]


def test_duplicate_floor_names_and_all_hidden_block_publishing(app, congregation) -> None:
    c = congregation
    building = c["building"]
    draft = upload_demo(c["portal"], building)
    ground, basement = draft.pages
    plans.update_pages(draft, {ground.id: "Main floor", basement.id: "main  FLOOR"}, [])
    db.session.commit()
    reasons = plans.reasons_not_to_publish(draft)
    assert len(reasons) == 1 and "same name" in reasons[0] and "sheets 1, 2" in reasons[0]
    answer = c["portal"].post(f"/portal/buildings/{building.id}/plans/{draft.id}/publish", follow_redirects=True)
    assert "same name" in answer.text
    db.session.refresh(building)
    assert building.published_version_id is None
    # Hiding the second sheet settles it: what officers see has one "Main floor".
    plans.update_pages(draft, {}, [], hidden={basement.id: True})
    db.session.commit()
    assert plans.reasons_not_to_publish(draft) == []
    # Hiding every sheet is refused with a message.
    form = {f"label-{p.id}": p.label for p in draft.pages} | {f"offered-{p.id}": "1" for p in draft.pages}
    refused = c["portal"].post(f"/portal/buildings/{building.id}/plans/{draft.id}/pages", form)
    assert refused.status_code == 422 and "keep at least one floor" in refused.text


def test_a_hidden_sheet_never_reaches_officers(app, congregation) -> None:
    c = congregation
    building, partner = c["building"], c["partner"]
    version = upload_demo(c["portal"], building)
    markers.place(version.pages[1], {"kind": "electric_shutoff", "label": "Panel", "x": 0.8, "y": 0.2}, by=partner)
    publish_reviewed(version, partner)
    car, officer = c["car"], c["officer_token"]
    assert car.get(tile_url(version, 2)).status_code == 200

    basement = version.pages[1]
    form = {f"label-{p.id}": p.label for p in version.pages} | {f"offered-{p.id}": "1" for p in version.pages}
    form[f"shown-{version.pages[0].id}"] = "1"  # the basement's box left unticked
    assert c["portal"].post(f"/portal/buildings/{building.id}/plans/{version.id}/pages", form).status_code == 302
    db.session.refresh(basement)
    assert basement.hidden

    plan_page = car.get(f"/r/buildings/{building.id}/plan").text
    assert "Ground floor" in plan_page and "Basement" not in plan_page and "Panel" not in plan_page
    assert "Basement" not in car.get(f"/r/buildings/{building.id}").text
    record = car.client.get(f"/api/v1/buildings/{building.id}", headers=officer).get_json()
    assert [p["label"] for p in record["plan"]["pages"]] == ["Ground floor"]
    listed = car.client.get(f"/api/v1/plans/{version.id}/markers", headers=officer).get_json()["markers"]
    assert listed == []
    shutoff = db.session.scalars(select(Marker).where(Marker.page_id == basement.id)).one()
    assert car.client.get(f"/api/v1/markers/{shutoff.id}", headers=officer).status_code == 404
    pack = car.get(f"/r/offline/pack?ids={building.id}").get_json()["buildings"][0]
    assert [p["label"] for p in pack["plan_pages"]] == ["Ground floor"]
    for url in (tile_url(version, 2), overview_url(version, 2)):
        assert car.get(url).status_code == 404, url
    assert car.get(f"/r/buildings/{building.id}/export/pages/2.png").status_code == 404
    # The congregation still has it.
    assert c["portal"].get(tile_url(version, 2)).status_code == 200
    partner_view = c["portal"].client.get(f"/api/v1/plans/{version.id}", headers=c["partner_token"]).get_json()
    assert [(p["label"], p["hidden"]) for p in partner_view["pages"]] == [("Ground floor", False), ("Basement", True)]


def test_deleting_a_draft_removes_its_tiles_and_a_published_plan_stays(storage_backend, app, congregation) -> None:
    c = congregation
    building, partner, token = c["building"], c["partner"], c["partner_token"]
    published = publish_reviewed(upload_demo(c["portal"], building), partner)
    draft = upload_demo(c["portal"], building)
    store = objects.get_storage()
    draft_id, draft_key = draft.id, draft.key
    assert list(store.list(objects.version_prefix(draft_key)))
    client = c["portal"].client
    assert client.delete(f"/api/v1/plans/{published.id}", headers=token).status_code == 409
    assert client.delete(f"/api/v1/plans/{draft_id}", headers=c["officer_token"]).status_code == 403
    assert client.delete(f"/api/v1/plans/{draft_id}", headers=token).status_code == 204
    assert list(store.list(objects.version_prefix(draft_key))) == []
    db.session.expire_all()
    assert db.session.get(PlanVersion, draft_id) is None
    # The same file is still the published version's original: kept.
    assert store.exists(objects.original_key(published.original_sha256))
    assert list(store.list(objects.version_prefix(published.key)))
    deleted = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "plan.delete")).one()
    assert deleted.detail["status"] == "draft" and deleted.actor_id == partner.id


def test_a_failed_version_shows_only_its_error_and_can_be_deleted(app, congregation) -> None:
    c = congregation
    building = c["building"]
    version = upload_demo(c["portal"], building)
    version.state, version.error = VersionState.FAILED.value, "A page took too long to draw. Export it again."
    db.session.commit()
    version_id, original = version.id, objects.original_key(version.original_sha256)
    page = c["portal"].get(f"/portal/buildings/{building.id}/plans/{version.id}").text
    assert "A page took too long to draw" in page and "Upload again" in page
    assert 'name="label-' not in page and "Publish" not in page
    assert c["portal"].post(f"/portal/buildings/{building.id}/plans/{version_id}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(PlanVersion, version_id) is None
    assert not objects.get_storage().exists(original)


def test_an_admin_publishes_on_the_partners_behalf_and_it_is_audited(app, congregation, make_user,
                                                                      browser_for) -> None:
    c = congregation
    draft = upload_demo(c["portal"], c["building"])
    admin = make_user(Role.ADMIN)
    assert browser_for(admin).post(f"/portal/buildings/{c['building'].id}/plans/{draft.id}/publish").status_code == 302
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "plan.publish")).one()
    assert event.actor_id == admin.id and event.detail["on_behalf_of_partner"] is True
    # An officer cannot publish, even with the version's id.
    other = upload_demo(c["portal"], c["building"])
    officer = c["car"].client.post(f"/api/v1/plans/{other.id}/publish", headers=c["officer_token"])
    assert officer.status_code == 403


def test_officers_and_planners_read_no_draft_by_id_anywhere(app, congregation, make_user, api_token) -> None:
    c = congregation
    draft = upload_demo(c["portal"], c["building"])
    planner = make_user(Role.PLANNER)
    for token in (c["officer_token"], api_token(planner)):
        client = c["car"].client
        assert client.get(f"/api/v1/plans/{draft.id}", headers=token).status_code == 404
        geojson = client.get(f"/api/v1/buildings/{c['building'].id}/export/markers.geojson?version={draft.id}",
                             headers=token)
        assert geojson.status_code == 404


def test_progress_never_goes_backwards() -> None:
    """The counters a render job writes, in the order it writes them (a first large page, a
    second small one): the percent only grows and ends at 99 before ready."""
    from floorplans.models import PlanPage

    version = PlanVersion(state=VersionState.RENDERING.value, page_count=2, pages_done=0, tiles_done=0,
                          tiles_total=0, tiles_rendered=0)
    big, small = PlanPage(number=1, position=1, label="A"), PlanPage(number=2, position=2, label="B")
    version.pages = [big, small]
    steps = []
    for pages_done, total, stored, big_tiles, small_tiles in (
        (0, 0, 0, 0, 0), (1, 300, 0, 300, 0), (1, 300, 150, 300, 0), (1, 300, 299, 300, 0),
        (2, 310, 300, 300, 10), (2, 310, 305, 300, 10), (2, 310, 310, 300, 10),
    ):
        version.pages_done, version.tiles_total, version.tiles_done = pages_done, total, stored
        big.tiles, small.tiles = big_tiles, small_tiles
        steps.append(version.percent)
    assert steps == sorted(steps) and steps[0] == 0 and steps[-1] == 99, steps
