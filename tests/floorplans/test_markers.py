"""Markers on plan pages, through the service: who may change them, what is valid, the
audit of every change, and the carry-over onto a newly published version."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from floorplans.db import db
from floorplans.errors import Conflict, Forbidden, InvalidInput, NotFound
from floorplans.models import AuditEvent, Building, Marker, PlanPage, PlanVersion, Role, VersionState
from floorplans.services import markers, plans


def ready_version(building: Building, *labels: str, number: int | None = None, publish: bool = False) -> PlanVersion:
    """A rendered (READY) version with one page per label, 2000 x 1000 px; no tiles needed.
    As the render job does, the published plan's markers are carried onto it (flagged);
    ``publish``: then published (refused if any was carried: they wait for checking)."""
    number = number or (max((v.number for v in building.plan_versions), default=0) + 1)
    version = PlanVersion(building=building, number=number, state=VersionState.READY.value, original_sha256="0" * 64,
                          original_bytes=1, page_count=len(labels))
    for n, label in enumerate(labels, start=1):
        version.pages.append(PlanPage(number=n, position=n, label=label, width=2000, height=1000, tile_size=256,
                                      max_zoom=3))
    db.session.add(version)
    db.session.flush()
    plans.prepare_draft(version)
    if publish:
        plans.publish(version, by=None)
    db.session.commit()
    return version


def events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


@pytest.fixture
def setting(make_user, make_building) -> dict[str, Any]:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    version = ready_version(building, "Ground floor", "Basement", publish=True)
    return {"partner": partner, "building": building, "version": version, "ground": version.pages[0],
            "basement": version.pages[1]}


def place(page: PlanPage, by: Any, **values: Any) -> Marker:
    marker = markers.place(page, {"kind": "aed", "x": 0.5, "y": 0.5, **values}, by=by)
    db.session.commit()
    return marker


def test_place_move_edit_delete_are_audited(setting) -> None:
    partner, ground, basement = setting["partner"], setting["ground"], setting["basement"]
    door = place(ground, partner, kind="door", x="0.25", y=0.9, number="1", side="a", label="  Main entrance ")
    assert (door.kind, door.x, door.y, door.number, door.side) == ("door", 0.25, 0.9, 1, "A")
    assert door.label == "Main entrance"
    assert not door.needs_confirmation and door.created_by_id == partner.id
    (placed,) = events("marker.place")
    assert placed.actor_id == partner.id and placed.target_type == "marker" and placed.target_id == door.id
    assert placed.detail["page"] == "Ground floor" and placed.detail["values"]["number"] == 1

    markers.update(door, {"x": 0.3, "y": 0.8}, by=partner)
    db.session.commit()
    (moved,) = events("marker.move")
    assert moved.detail["changes"] == {"x": [0.25, 0.3], "y": [0.9, 0.8]}

    markers.update(door, {"label": "Front doors", "note": "Glass, double"}, by=partner)
    db.session.commit()
    (edited,) = events("marker.update")
    assert edited.detail["changes"]["label"] == ["Main entrance", "Front doors"]

    markers.update(door, {"x": 0.1}, by=partner, page=basement)
    db.session.commit()
    assert door.page_id == basement.id
    assert events("marker.move")[-1].detail["changes"]["page"] == ["Ground floor", "Basement"]

    markers.update(door, {"label": "Front doors"}, by=partner)  # nothing changed: nothing logged
    db.session.commit()
    assert len(events("marker.update")) == 1

    markers.delete(door, by=partner)
    db.session.commit()
    assert db.session.get(Marker, door.id) is None
    (deleted,) = events("marker.delete")
    assert deleted.detail["values"]["label"] == "Front doors"


def test_positions_are_clamped_at_the_edge_and_refused_beyond(setting) -> None:
    partner, ground = setting["partner"], setting["ground"]
    edge = place(ground, partner, x=1.02, y=-0.01)
    assert (edge.x, edge.y) == (1.0, 0.0)
    with pytest.raises(InvalidInput) as refused:
        markers.place(ground, {"kind": "aed", "x": 640, "y": "half"}, by=partner)
    assert "not pixels" in refused.value.fields["x"] and "number" in refused.value.fields["y"]
    with pytest.raises(InvalidInput) as missing:
        markers.place(ground, {"kind": "aed"}, by=partner)
    assert set(missing.value.fields) == {"x", "y"}
    for bad in (float("nan"), float("inf"), True, None):
        with pytest.raises(InvalidInput):
            markers.place(ground, {"kind": "aed", "x": bad, "y": 0.5}, by=partner)


def test_validation_messages(setting) -> None:
    partner, ground = setting["partner"], setting["ground"]
    cases = [
        ({"kind": "unicorn"}, "kind", "must be one of"),
        ({"kind": ""}, "kind", "is required"),
        ({"kind": "door", "number": 0}, "number", "at least 1"),
        ({"kind": "door", "number": 100}, "number", "at most 99"),
        ({"kind": "door", "number": "one"}, "number", "whole number"),
        ({"kind": "door", "side": "E"}, "side", "must be one of: A, B, C, D"),
        ({"kind": "aed", "number": 2}, "number", "is for exterior doors only, not for “AED (defibrillator)”"),
        ({"kind": "gas_shutoff", "side": "B"}, "side", "is for exterior doors only, not for “Gas shut-off”"),
        ({"kind": "note", "label": "x" * 81}, "label", "at most 80"),
        ({"kind": "note", "colour": "red"}, "colour", "is not a field"),
    ]
    for values, field, message in cases:
        with pytest.raises(InvalidInput) as refused:
            markers.place(ground, {"x": 0.5, "y": 0.5, **values}, by=partner)
        assert message in refused.value.fields.get(field, ""), (values, refused.value.fields)
    db.session.rollback()
    assert db.session.scalar(select(Marker.id)) is None


def test_a_door_turned_into_something_else_loses_its_number(setting) -> None:
    partner, ground = setting["partner"], setting["ground"]
    door = place(ground, partner, kind="door", number=3, side="C")
    markers.update(door, {"kind": "stairs"}, by=partner)
    assert (door.kind, door.number, door.side) == ("stairs", None, "")


def test_only_the_congregation_and_admins_change_markers(setting, make_user) -> None:
    ground = setting["ground"]
    marker = place(ground, setting["partner"])
    for role in (Role.OFFICER, Role.PLANNER):
        reader = make_user(role)
        assert markers.get_marker(reader, marker.id) is marker  # they read
        with pytest.raises(Forbidden):
            markers.get_marker(reader, marker.id, edit=True)
        with pytest.raises(Forbidden):
            markers.place(ground, {"kind": "aed", "x": 0.1, "y": 0.1}, by=reader)
        with pytest.raises(Forbidden):
            markers.update(marker, {"x": 0.1}, by=reader)
        with pytest.raises(Forbidden):
            markers.delete(marker, by=reader)
    stranger = make_user(Role.PARTNER)  # another congregation: not even there
    with pytest.raises(NotFound):
        markers.get_marker(stranger, marker.id)
    with pytest.raises(NotFound):
        markers.update(marker, {"x": 0.1}, by=stranger)
    admin = make_user(Role.ADMIN)
    markers.update(markers.get_marker(admin, marker.id, edit=True), {"x": 0.2}, by=admin)
    assert marker.x == 0.2


def test_markers_go_on_ready_versions_only(setting) -> None:
    partner, building = setting["partner"], setting["building"]
    queued = ready_version(building, "Ground floor")
    queued.state = VersionState.RENDERING.value
    db.session.commit()
    with pytest.raises(Conflict):
        markers.place(queued.pages[0], {"kind": "aed", "x": 0.5, "y": 0.5}, by=partner)
    # A ready version not yet published takes markers: the partner prepares them before publishing.
    draft = ready_version(building, "Ground floor")
    assert place(draft.pages[0], partner).page.version_id == draft.id


def test_carry_over_by_label_flagged_then_confirmed(setting, make_user) -> None:
    partner, building, old = setting["partner"], setting["building"], setting["version"]
    door = place(setting["ground"], partner, kind="door", x=0.2, y=0.95, number=1, side="A", label="Main")
    place(setting["ground"], partner, kind="aed", x=0.6, y=0.4)
    place(setting["basement"], partner, kind="electric_shutoff", x=0.9, y=0.1)
    # The new set: the ground floor spelled differently, no basement, a new mezzanine.
    new = ready_version(building, "Mezzanine", "  GROUND   floor ")

    carried = markers.markers_of(new)
    assert [(m.kind, m.page.label) for m in carried] == [("door", "  GROUND   floor "), ("aed", "  GROUND   floor ")]
    copy = carried[0]
    assert (copy.x, copy.y, copy.number, copy.side, copy.label) == (0.2, 0.95, 1, "A", "Main")
    assert all(m.needs_confirmation for m in carried) and copy.carried_from_id == door.id
    assert len(markers.markers_of(old)) == 3  # the old version keeps its own
    (carry,) = events("marker.carry")
    assert carry.detail == {"from": 1, "to": 2, "carried": 2, "not_carried": 1, "pages_without_match": ["Basement"]}
    assert markers.flagged_count(new) == 2 and markers.carried_from_numbers(new) == [1]
    with pytest.raises(Conflict, match="2 markers carried over"):
        plans.publish(new, by=partner)  # nobody looked at them yet

    markers.confirm(copy, by=partner)
    db.session.commit()
    assert not copy.needs_confirmation and markers.flagged_count(new) == 1
    with pytest.raises(Forbidden):
        markers.confirm(carried[1], by=make_user(Role.OFFICER))
    with pytest.raises(Conflict, match="1 marker carried over"):
        plans.publish(new, by=partner)
    markers.confirm(carried[1], by=partner)
    assert plans.publish(new, by=partner)
    db.session.commit()
    assert markers.flagged_count(new) == 0
    assert [e.detail["count"] for e in events("marker.confirm")] == [1, 1]


def test_moving_a_carried_marker_confirms_it(setting) -> None:
    partner, building = setting["partner"], setting["building"]
    place(setting["ground"], partner)
    new = ready_version(building, "Ground floor")
    (copy,) = markers.markers_of(new)
    markers.update(copy, {"label": "By the office"}, by=partner)
    assert copy.needs_confirmation  # an edit alone does not say it is in the right place
    markers.update(copy, {"x": 0.55}, by=partner)
    assert not copy.needs_confirmation


def test_republishing_brings_back_a_versions_own_markers_without_duplicates(setting) -> None:
    partner, building, first = setting["partner"], setting["building"], setting["version"]
    place(setting["ground"], partner, kind="aed")
    second = ready_version(building, "Ground floor")
    (copy,) = markers.markers_of(second)
    markers.update(copy, {"kind": "first_aid"}, by=partner)
    markers.confirm(copy, by=partner)
    assert plans.publish(second, by=partner)
    db.session.commit()

    assert plans.publish(first, by=partner)  # back to version 1: it has its own markers, nothing is copied
    db.session.commit()
    assert [m.kind for m in markers.markers_of(first)] == ["aed"]
    assert plans.publish(second, by=partner)  # and forward again: version 2 keeps its own, no duplicates
    db.session.commit()
    assert [m.kind for m in markers.markers_of(second)] == ["first_aid"]
    assert len(events("marker.carry")) == 1


def test_a_drafts_own_markers_and_its_checked_carried_ones_are_published(setting) -> None:
    partner, building = setting["partner"], setting["building"]
    place(setting["ground"], partner, kind="aed")
    draft = ready_version(building, "Ground floor")
    place(draft.pages[0], partner, kind="hazard")
    (carried,) = markers.flagged_markers(draft)
    markers.confirm(carried, by=partner)
    assert plans.publish(draft, by=partner)
    db.session.commit()
    assert [(m.kind, m.needs_confirmation) for m in markers.markers_of(draft)] == [("aed", False), ("hazard", False)]
    assert len(events("marker.carry")) == 1


def test_a_second_door_of_the_same_number_is_refused_on_any_floor(setting) -> None:
    partner = setting["partner"]
    place(setting["ground"], partner, kind="door", number=2, side="B", label="Ramp door")
    with pytest.raises(InvalidInput) as refused:
        markers.place(setting["basement"], {"kind": "door", "number": 2, "x": 0.1, "y": 0.1}, by=partner)
    assert "Door 2 is already on Ground floor (“Ramp door”)" in refused.value.fields["number"]
    other = place(setting["basement"], partner, kind="door", number=3)
    with pytest.raises(InvalidInput):
        markers.update(other, {"number": 2}, by=partner)
    markers.update(other, {"number": 3, "label": "Basement exit"}, by=partner)  # its own number is fine
    assert other.number == 3


def test_the_first_publish_and_a_plan_without_markers_carry_nothing(make_user, make_building) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    ready_version(building, "Ground floor", publish=True)
    second = ready_version(building, "Ground floor", publish=True)
    assert markers.markers_of(second) == [] and events("marker.carry") == []


@pytest.mark.slow  # renders the demo plan in child processes
def test_the_demo_building_has_markers_on_its_plan(app) -> None:
    from floorplans import demo

    created = demo.create_demo()
    assert created is not None
    db.session.commit()
    version = db.session.get(PlanVersion, created[1])
    placed = markers.markers_of(version)
    by_kind = {(m.page.label, m.kind, m.number, m.side) for m in placed}
    assert ("Ground floor", "door", 1, "A") in by_kind and ("Basement", "door", 4, "D") in by_kind
    assert {"aed", "gas_shutoff", "rally_point", "electric_shutoff", "key_box"} <= {m.kind for m in placed}
    assert all(0 <= m.x <= 1 and 0 <= m.y <= 1 and not m.needs_confirmation for m in placed)


def test_partner_marker_changes_wait_in_the_administrators_review_queue(setting) -> None:
    from floorplans.services import reviews

    partner, building = setting["partner"], setting["building"]
    marker = place(setting["ground"], partner, kind="aed", label="AED")
    markers.update(marker, {"x": 0.6}, by=partner)
    db.session.commit()
    assert building.id in [entry.building.id for entry in reviews.queue()]
    headlines = [change.headline for day in reviews.pending_page(building).days for group in day.groups
                 for change in group.changes]
    assert "AED (defibrillator) “AED” placed on Ground floor at F3" in headlines
    assert "AED (defibrillator) “AED” moved on Ground floor from F3 to G3" in headlines  # x 0.5 -> 0.6
