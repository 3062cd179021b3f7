"""`flask plans find-rooms`: versions rendered before labels were read get them from their
kept PDF, tiles untouched; the plans officers see by default, every kept version with --all;
and `flask demo` leaves the demo building's plan with labels."""

from __future__ import annotations

import pytest

from floorplans import objects
from floorplans.db import db
from floorplans.models import Building, Role, VersionState
from floorplans.services import plans, rendering, rooms
from tests.conftest import publish_reviewed
from tests.floorplans.conftest import corpus

pytestmark = pytest.mark.slow


def rendered(building: Building, by, name: str):  # type: ignore[no-untyped-def]
    with corpus(name).open("rb") as stream:
        version = plans.upload_plan(building, stream, name, by=by)
    db.session.commit()
    rendering.render_version(version.id)
    db.session.refresh(version)
    assert version.state == VersionState.READY, version.error
    return version


def test_old_versions_get_labels_from_their_pdf_and_keep_their_tiles(app, runner, fast_render, make_user,
                                                                      make_building) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    shown = rendered(building, partner, "plan-university-hall-floor1-legal-rot90-vector.pdf")
    publish_reviewed(shown, partner)
    draft = rendered(building, partner, "plan-conference-centre-lecture-halls-A4-vector.pdf")
    store = objects.get_storage()
    for version in (shown, draft):  # as rendered before this feature
        store.delete(objects.labels_key(version.key))
        rooms.forget(version.key)
    tiles_before = {key: store.get(key) for key in store.list(objects.version_prefix(shown.key))}
    assert rooms.search(building, "1200A") == []

    result = runner.invoke(args=["plans", "find-rooms"])
    assert result.exit_code == 0, result.output
    assert "Labels read for 1 version(s)" in result.output
    assert [m.text for m in rooms.search(building, "1200A")] == ["1200A"]
    tiles_after = {key: store.get(key) for key in store.list(objects.version_prefix(shown.key))}
    assert set(tiles_after) - set(tiles_before) == {objects.labels_key(shown.key)}
    assert all(tiles_after[key] == data for key, data in tiles_before.items())
    assert not store.exists(objects.labels_key(draft.key))  # a draft: only with --all

    result = runner.invoke(args=["plans", "find-rooms", "--all"])
    assert result.exit_code == 0, result.output
    assert "Labels read for 1 version(s)" in result.output and "1 version(s) had them already" in result.output
    assert b"Library" in store.get(objects.labels_key(draft.key))


def test_the_demo_plan_has_labels(app, runner, fast_render) -> None:
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    building = db.session.scalars(db.select(Building)).first()
    assert building is not None
    found = {(m.text, m.floor) for m in rooms.search(building, "kitchen")}
    assert found and all(text == "KITCHEN" for text, _floor in found)
    assert {place.kind for place in rooms.card_places(building)} == {"children", "mechanical", "kitchen"}
