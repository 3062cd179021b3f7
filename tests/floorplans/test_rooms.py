"""Finding a room (floorplans.services.rooms): the forgiving match, the shown plan only,
its shown sheets only, floor names and grid cells; and a real plan rendered, its labels
kept beside its tiles and found."""

from __future__ import annotations

from typing import Any

import pytest

from converters import rooms as labels
from floorplans import objects
from floorplans.db import db
from floorplans.models import Building, Role, VersionState
from floorplans.services import rendering, rooms
from tests.floorplans.conftest import corpus
from tests.floorplans.test_markers import ready_version


@pytest.mark.parametrize(("query", "label"), [
    ("kitchen", "KITCHEN"), ("creche", "Crèche"), ("kitchn", "Kitchen"), ("nursary", "Nursery"),
    ("stairs", "Stair 2"), ("kitch", "Kitchen"), ("mechanicle", "Mechanical room"), ("204", "Room 204"),
    ("204", "204A"), ("salle a manger", "Salle à manger"), ("boiler", "Boiler Rm."),
])
def test_forgiving_matches(query: str, label: str) -> None:
    assert rooms.label_score(rooms.parse_query(query), label) > 0


@pytest.mark.parametrize(("query", "label"), [
    ("204", "1204"), ("204", "205"), ("kit", "Exit"), ("hall", "Boiler"), ("nursery", "Nurse station 2"),
    ("office", "Lobby"), ("kitchen", "Kitchenette tiles 900x900 x"),
])
def test_what_does_not_match(query: str, label: str) -> None:
    score = rooms.label_score(rooms.parse_query(query), label)
    if query == "kitchen":  # a prefix of a longer word matches, but below the word itself
        assert score < rooms.label_score(rooms.parse_query(query), "Kitchen")
    else:
        assert score == 0


@pytest.mark.parametrize("query", ["", "   ", "-- !", "x" * 81])
def test_bad_queries_are_refused_with_a_message(query: str) -> None:
    with pytest.raises(rooms.RoomQueryRejected) as refused:
        rooms.parse_query(query)
    assert "room" in refused.value.message


def put(version: Any, pages: dict[int, list[tuple[str, tuple[float, float, float, float]]]]) -> None:
    rendering.put_labels(objects.get_storage(), version.key, [
        labels.PageLabels(number, "text", tuple(labels.Label(text, box) for text, box in found))
        for number, found in pages.items()
    ])


@pytest.fixture
def building(make_user, make_building) -> Building:
    partner = make_user(Role.PARTNER)
    return make_building(partner.organisation)


def test_search_answers_floor_page_centre_and_cell_from_the_shown_plan(app, building) -> None:
    version = ready_version(building, "Ground floor", "Cover", "Basement", publish=True)
    version.pages[1].hidden = True
    db.session.commit()
    put(version, {
        1: [("Kitchen", (0.30, 0.40, 0.40, 0.44)), ("Kitchenette", (0.0, 0.0, 0.1, 0.1))],
        2: [("Kitchen equipment list", (0.1, 0.1, 0.2, 0.2))],  # a hidden sheet: never searched
        3: [("Boiler room", (0.9, 0.9, 0.95, 0.95))],
    })
    found = rooms.search(building, "KITCHEN")
    assert [match.as_json() for match in found] == [
        {"text": "Kitchen", "floor": "Ground floor", "page": 1, "x": 0.35, "y": 0.42, "cell": "D3"},
        {"text": "Kitchenette", "floor": "Ground floor", "page": 1, "x": 0.05, "y": 0.05, "cell": "A1"},
    ]
    assert [(m.floor, m.cell) for m in rooms.search(building, "boilr")] == [("Basement", "J5")]


def test_drafts_are_never_searched(app, building) -> None:
    published = ready_version(building, "Ground floor", publish=True)
    put(published, {1: [("Office", (0.1, 0.1, 0.2, 0.2))]})
    draft = ready_version(building, "Ground floor")
    assert draft.status == "draft"
    put(draft, {1: [("Nursery", (0.1, 0.1, 0.2, 0.2))]})
    assert rooms.search(building, "nursery") == []
    assert [m.text for m in rooms.search(building, "office")] == ["Office"]


def test_a_building_without_a_shown_plan_or_labels_finds_nothing(app, building) -> None:
    assert rooms.search(building, "kitchen") == []
    ready_version(building, "Ground floor", publish=True)  # rendered before labels were read
    assert rooms.search(building, "kitchen") == []


def test_title_block_text_ranks_below_a_room(app, building) -> None:
    version = ready_version(building, "Ground floor", publish=True)
    rendering.put_labels(objects.get_storage(), version.key, [labels.PageLabels(1, "text", (
        labels.Label("Hall Architects Ltd", (0.8, 0.9, 0.9, 0.95), repeated=True),
        labels.Label("Fellowship Hall", (0.5, 0.5, 0.6, 0.55)),
    ))])
    assert [m.text for m in rooms.search(building, "hall")] == ["Fellowship Hall", "Hall Architects Ltd"]


@pytest.mark.slow
def test_a_rendered_plan_keeps_its_labels_and_they_are_found(app, fast_render, make_user, make_building) -> None:
    from floorplans.services import plans
    from tests.conftest import publish_reviewed

    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    with corpus("plan-university-hall-floor1-legal-rot90-vector.pdf").open("rb") as stream:
        version = plans.upload_plan(building, stream, "hall.pdf", by=partner)
    db.session.commit()
    rendering.render_version(version.id)
    db.session.refresh(version)
    assert version.state == VersionState.READY, version.error
    stored = objects.get_storage().get(objects.labels_key(version.key))
    assert b'"1200A"' in stored
    publish_reviewed(version, partner)
    found = rooms.search(building, "1200a")
    assert [(m.text, m.page) for m in found] == [("1200A", 1)]
    assert found[0].x == pytest.approx(0.746, abs=0.01) and found[0].y == pytest.approx(0.365, abs=0.01)
    assert found[0].cell == "H3"


def test_pages_left_unread_for_want_of_tesseract_are_logged_once_with_the_fix(app, building, caplog) -> None:
    version = ready_version(building, "Ground floor", "Basement", publish=True)
    with caplog.at_level("WARNING", logger="floorplans.services.rendering"):
        rendering.put_labels(objects.get_storage(), version.key, [labels.PageLabels(1, "ocr-missing"),
                                                                  labels.PageLabels(2, "ocr-missing")])
    hints = [record.getMessage() for record in caplog.records if "make ocr" in record.getMessage()]
    assert len(hints) == 1 and "tesseract-ocr" in hints[0]
    assert objects.get_storage().exists(objects.labels_key(version.key))
