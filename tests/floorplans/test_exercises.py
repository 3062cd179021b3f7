"""Exercises (floorplans.services.exercises): who takes part, over which buildings, closing,
and the validation of what planners draw.  The web tests (tests/blueprints/test_exercises_web.py)
check the same through HTTP, and that the real record never changes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from floorplans.db import db
from floorplans.errors import Forbidden, InvalidInput, NotFound
from floorplans.models import AuditEvent, Building, Exercise, PlanPage, PlanVersion, Role, User, VersionState
from floorplans.services import exercise_items, exercises, plans
from tests.conftest import publish_reviewed


def plan_of(building: Building, state: VersionState = VersionState.READY, *, publish: bool = True,
            labels: tuple[str, ...] = ("Floor 1", "Floor 2")) -> PlanVersion:
    """A version as the render job leaves it; ``publish``: then published (as the command
    line's ``--publish`` does, nobody's markers to check), else a draft officers never see."""
    version = PlanVersion(building=building, number=len(building.plan_versions) + 1, state=state.value,
                          original_sha256="0" * 64, original_bytes=1, page_count=len(labels),
                          pages=[PlanPage(number=n, position=n, label=label, width=1000, height=800,
                                          tile_size=256, max_zoom=2) for n, label in enumerate(labels, start=1)])
    db.session.add(version)
    db.session.flush()
    if publish:
        assert plans.publish(version, by=None)
    db.session.commit()
    return version


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("exercise.%"))
                                    .order_by(AuditEvent.id)))


@pytest.fixture
def planner(make_user) -> User:  # type: ignore[no-untyped-def]
    return make_user(Role.PLANNER)


def new_exercise(planner: User, *buildings: Building, name: str = "Kitchen fire") -> Exercise:
    exercise = exercises.create_exercise({"name": name, "description": "Friday prayers"},
                                         [b.id for b in buildings], by=planner)
    db.session.commit()
    return exercise


def fields_of(error: pytest.ExceptionInfo[InvalidInput]) -> dict[str, str]:
    return error.value.fields


def test_create_share_and_close(planner: User, make_user, make_building) -> None:  # type: ignore[no-untyped-def]
    hall, annex = make_building(name="Hall"), make_building(name="Annex")
    exercise = new_exercise(planner, hall, annex)
    assert exercise.is_open and exercise.planners == [planner] and exercise.created_by == planner
    assert exercise.buildings == [annex, hall]  # by name

    colleague, third = make_user(Role.PLANNER, email="colleague@example.org"), make_user(Role.PLANNER)
    admin = make_user(Role.ADMIN)
    assert exercises.add_planner(exercise, " Colleague@Example.org ") == colleague
    assert exercises.add_planner(exercise, third.email) == third
    # Anyone but an active planner not yet taking part: nothing added, and no error that
    # would tell the caller what the address is (tests/security/test_add_planner_answer.py).
    for who in (admin.email, make_user(Role.OFFICER).email, make_user(Role.PARTNER).email, "nobody@example.org",
                make_user(Role.PLANNER, active=False).email, colleague.email):
        assert exercises.add_planner(exercise, who) is None
    assert set(exercise.planners) == {planner, colleague, third}
    with pytest.raises(InvalidInput) as error:
        exercises.add_planner(exercise, "")
    assert "type the planner's e-mail" in fields_of(error)["email"]
    assert exercises.remove_planner(exercise, str(third.id)) == third
    with pytest.raises(InvalidInput):
        exercises.remove_planner(exercise, "999999")

    chapel = make_building(name="Chapel")
    exercises.add_building(exercise, chapel.id, by=planner)
    with pytest.raises(InvalidInput) as error:
        exercises.add_building(exercise, chapel.id, by=planner)
    assert "already part" in fields_of(error)["buildings"]
    exercises.remove_building(exercise, chapel.id)
    db.session.commit()
    assert chapel not in exercise.buildings

    exercises.close_exercise(exercise)
    db.session.commit()
    assert not exercise.is_open and exercise.closed_at is not None
    closed = "This exercise is closed"
    for attempt in (
        lambda: exercises.add_planner(exercise, admin.email),
        lambda: exercises.remove_planner(exercise, colleague.id),
        lambda: exercises.add_building(exercise, chapel.id, by=planner),
        lambda: exercises.remove_building(exercise, hall.id),
        lambda: exercises.update_exercise(exercise, {"name": "Renamed"}),
        lambda: exercises.close_exercise(exercise),
    ):
        with pytest.raises(Forbidden, match=closed):
            attempt()
    with pytest.raises(Forbidden):
        exercises.reopen_exercise(exercise, by=planner)
    exercises.reopen_exercise(exercise, by=admin)
    assert exercise.is_open and exercise.closed_at is None
    assert actions() == [
        "exercise.create", "exercise.planner.add", "exercise.planner.add", "exercise.planner.remove",
        "exercise.building.add", "exercise.building.remove", "exercise.close", "exercise.reopen",
    ]


def test_an_exercise_keeps_a_planner_and_a_building(planner: User, make_building) -> None:  # type: ignore[no-untyped-def]
    hall = make_building()
    exercise = new_exercise(planner, hall)
    with pytest.raises(InvalidInput, match="at least one planner"):
        exercises.remove_planner(exercise, planner.id)
    with pytest.raises(InvalidInput, match="at least one building"):
        exercises.remove_building(exercise, hall.id)


def test_creating_needs_a_name_and_readable_buildings(planner: User, make_user, make_building) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput) as error:
        exercises.create_exercise({"name": " ", "description": ""}, [], by=planner)
    assert fields_of(error) == {"name": "is required.", "buildings": "choose at least one building."}
    with pytest.raises(InvalidInput) as error:
        exercises.create_exercise({"name": "x" * 201, "description": ""}, ["999999", "abc"], by=planner)
    assert "at most 200" in fields_of(error)["name"] and "does not exist" in fields_of(error)["buildings"]
    with pytest.raises(Forbidden):
        exercises.create_exercise({"name": "Drill"}, [make_building().id], by=make_user(Role.OFFICER))


def test_membership_decides_who_finds_an_exercise(planner: User, make_user, make_building) -> None:  # type: ignore[no-untyped-def]
    hall = make_building()
    first = new_exercise(planner, hall, name="First")
    second = new_exercise(planner, hall, name="Second")
    stranger = make_user(Role.PLANNER)
    third = new_exercise(stranger, hall, name="Third")
    exercises.close_exercise(second)
    db.session.commit()
    assert [e.name for e in exercises.exercises_of(planner)] == ["First", "Second"]  # open first
    admin = make_user(Role.ADMIN)
    assert [e.name for e in exercises.exercises_of(admin)] == ["Third", "First", "Second"]
    assert exercises.get_exercise(admin, third.id) == third
    for outsider in (stranger, make_user(Role.OFFICER), make_user(Role.PARTNER)):
        with pytest.raises(NotFound):
            exercises.get_exercise(outsider, first.id)
    with pytest.raises(NotFound):
        exercises.get_exercise(planner, 999999)


def test_items_of_each_shape(planner: User, make_building) -> None:  # type: ignore[no-untyped-def]
    hall = make_building()
    page = plan_of(hall).pages[0]
    exercise = new_exercise(planner, hall)
    drawn = {
        "marker": {"kind": "aed", "points": [[0.25, 0.5]], "label": "Casualty collection"},
        "line": {"points": [[0, 0], [0.5, 0.5], [1, 1]], "colour": "#2563EB"},
        "area": {"points": [[0.1, 0.1], [0.4, 0.1], [0.4, 0.3], [0.1, 0.1]], "label": "Inner cordon"},
        "note": {"points": [[0.9, 0.1]], "label": "Staging for EMS", "colour": "#111827"},
    }
    items = {shape: exercise_items.add_item(exercise, hall, {"page_id": page.id, "shape": shape, **body}, by=planner)
             for shape, body in drawn.items()}  # fmt: skip
    db.session.commit()
    assert items["marker"].kind == "aed" and items["marker"].colour == "#dc2626"  # the default colour
    assert items["line"].colour == "#2563eb" and items["line"].points == [[0, 0], [0.5, 0.5], [1, 1]]
    assert items["area"].points == [[0.1, 0.1], [0.4, 0.1], [0.4, 0.3]]  # the repeated closing point dropped
    assert [i.shape for i in exercise_items.items_on(exercise, hall)] == ["marker", "line", "area", "note"]

    exercise_items.update_item(items["marker"], {"points": [[0.3, 0.6]]})
    exercise_items.update_item(items["note"], {"label": "Staging moved", "colour": "#16a34a"})
    exercise_items.delete_item(items["line"])
    db.session.commit()
    assert items["marker"].points == [[0.3, 0.6]] and items["note"].label == "Staging moved"
    assert [i.shape for i in exercise_items.items_on(exercise, hall)] == ["marker", "area", "note"]
    assert actions()[-7:] == ["exercise.item.add"] * 4 + ["exercise.item.move", "exercise.item.edit",
                                                          "exercise.item.delete"]
    with pytest.raises(NotFound):
        exercise_items.item_of(exercise, items["line"].id)

    exercises.close_exercise(exercise)
    for attempt in (
        lambda: exercise_items.add_item(exercise, hall, {"page_id": page.id, "shape": "note", "points": [[0.5, 0.5]],
                                                    "label": "Late"}, by=planner),
        lambda: exercise_items.update_item(items["marker"], {"points": [[0.5, 0.5]]}),
        lambda: exercise_items.delete_item(items["area"]),
    ):
        with pytest.raises(Forbidden, match="closed"):
            attempt()


OFF_PAGE = "must lie on the page (each position between 0 and 1)."
NOT_POINTS = "must be a list of [x, y] positions on the page."
BAD_ITEMS: list[tuple[dict[str, Any], str, str]] = [
    ({"shape": "circle", "points": [[0.5, 0.5]]}, "shape", "must be one of: marker, line, area, note."),
    ({"shape": "marker", "points": [[0.5, 0.5]]}, "kind", "choose a kind of marker from the list."),
    ({"shape": "marker", "kind": "laser", "points": [[0.5, 0.5]]}, "kind", "choose a kind of marker from the list."),
    ({"shape": "line", "kind": "aed", "points": [[0, 0], [1, 1]]}, "kind", "only markers have a kind."),
    ({"shape": "line", "points": [[0.5, 0.5]]}, "points", "A line needs at least 2 points."),
    ({"shape": "area", "points": [[0, 0], [1, 1]]}, "points", "An area needs at least 3 points."),
    ({"shape": "area", "points": [[0, 0], [1, 1], [0, 0]]}, "points", "An area needs at least 3 points."),
    ({"shape": "marker", "kind": "aed", "points": [[0.1, 0.1], [0.2, 0.2]]}, "points", "A marker has at most 1 point."),
    ({"shape": "line", "points": [[n / 201, 0.5] for n in range(201)]}, "points", "A line has at most 200 points."),
    ({"shape": "note", "points": [[0.5, 0.5]], "label": "  "}, "label", "a note needs its text."),
    ({"shape": "note", "points": [[1.2, 0.5]], "label": "x"}, "points", OFF_PAGE),
    ({"shape": "note", "points": [[-0.1, 0.5]], "label": "x"}, "points", OFF_PAGE),
    ({"shape": "note", "points": [[float("nan"), 0.5]], "label": "x"}, "points", OFF_PAGE),
    ({"shape": "note", "points": [[True, 0.5]], "label": "x"}, "points", NOT_POINTS),
    ({"shape": "note", "points": [["0.5", 0.5]], "label": "x"}, "points", NOT_POINTS),
    ({"shape": "note", "points": [[0.5, 0.5, 0.5]], "label": "x"}, "points", NOT_POINTS),
    ({"shape": "note", "points": "0.5,0.5", "label": "x"}, "points", NOT_POINTS),
    ({"shape": "note", "points": [[0.5, 0.5]], "label": "x" * 201}, "label",
     "is too long (201 characters, at most 200)."),
    ({"shape": "note", "points": [[0.5, 0.5]], "label": 7}, "label", "must be text."),
    ({"shape": "note", "points": [[0.5, 0.5]], "label": "x", "colour": "#ff00ff"}, "colour",
     "must be one of Red (#dc2626), Blue (#2563eb), Green (#16a34a), Purple (#9333ea), Orange (#ea580c), "
     "Black (#111827)."),
    ({"shape": "note", "points": [[0.5, 0.5]], "label": "x", "building_id": 1}, "building_id",
     "is not a field of an exercise item."),
]  # fmt: skip


def test_item_validation_says_what_is_wrong(planner: User, make_building) -> None:  # type: ignore[no-untyped-def]
    hall = make_building()
    page = plan_of(hall).pages[0]
    exercise = new_exercise(planner, hall)
    wrong = []
    for body, field, message in BAD_ITEMS:
        try:
            exercise_items.add_item(exercise, hall, {"page_id": page.id, **body}, by=planner)
        except InvalidInput as error:
            if error.fields.get(field) != message:
                wrong.append(f"{body}: {error.fields}")
        else:
            wrong.append(f"{body}: accepted")
    assert wrong == []
    assert not exercise.items


def test_items_go_on_a_ready_page_of_the_exercises_building(planner: User, make_building) -> None:  # type: ignore[no-untyped-def]
    hall, other, outside = make_building(), make_building(), make_building()
    older = plan_of(hall)  # published, then replaced: a car may still have it open
    published = plan_of(hall)
    failed = plan_of(hall, VersionState.FAILED, publish=False)
    exercise = new_exercise(planner, hall, other)
    note = {"shape": "note", "points": [[0.5, 0.5]], "label": "here"}
    for page in (published.pages[1], older.pages[0]):
        exercise_items.add_item(exercise, hall, {"page_id": page.id, **note}, by=planner)
    for page_id in (failed.pages[0].id, plan_of(other).pages[0].id + 100, "first", None):
        with pytest.raises(InvalidInput) as error:
            exercise_items.add_item(exercise, hall, {"page_id": page_id, **note}, by=planner)
        assert fields_of(error) == {"page_id": "must be one of this building's plan pages."}
    with pytest.raises(InvalidInput):  # another building's page
        exercise_items.add_item(exercise, hall, {"page_id": other.published_version.pages[0].id, **note}, by=planner)
    with pytest.raises(NotFound):  # a building that is not part of the exercise
        exercise_items.add_item(exercise, outside, {"page_id": plan_of(outside).pages[0].id, **note}, by=planner)


def test_planners_draw_only_on_the_sheets_officers_see(planner: User, make_user, make_building) -> None:  # type: ignore[no-untyped-def]
    hall = make_building()
    published = plan_of(hall)
    draft = plan_of(hall, publish=False)  # rendered, not yet checked by its partner
    exercise = new_exercise(planner, hall)
    note = {"shape": "note", "points": [[0.5, 0.5]], "label": "here"}
    refused = {"page_id": "must be one of this building's plan pages."}
    with pytest.raises(InvalidInput) as error:
        exercise_items.add_item(exercise, hall, {"page_id": draft.pages[0].id, **note}, by=planner)
    assert fields_of(error) == refused

    plans.update_pages(published, {}, [], hidden={published.pages[1].id: True})  # the partner hides floor 2
    db.session.commit()
    with pytest.raises(InvalidInput) as error:
        exercise_items.add_item(exercise, hall, {"page_id": published.pages[1].id, **note}, by=planner)
    assert fields_of(error) == refused
    exercise_items.add_item(exercise, hall, {"page_id": published.pages[0].id, **note}, by=planner)

    # Once its partner publishes the draft, officers see it, and so may planners draw on it
    # (the drawing already made follows it onto its floor of the same name).
    partner = make_user(Role.PARTNER, organisation=hall.organisation)
    publish_reviewed(draft, partner)
    exercise_items.add_item(exercise, hall, {"page_id": draft.pages[0].id, **note}, by=planner)
    db.session.commit()
    assert [item.page_id for item in exercise_items.items_on(exercise, hall)] == [draft.pages[0].id] * 2


def test_removing_a_building_removes_its_drawings(planner: User, make_building) -> None:  # type: ignore[no-untyped-def]
    hall, annex = make_building(), make_building()
    exercise = new_exercise(planner, hall, annex)
    for building in (hall, annex):
        exercise_items.add_item(exercise, building, {"page_id": plan_of(building).pages[0].id, "shape": "note",
                                                "points": [[0.5, 0.5]], "label": building.name}, by=planner)
    exercises.remove_building(exercise, str(annex.id))
    db.session.commit()
    assert [item.label for item in exercise.items] == [hall.name]
    assert exercise_items.items_on(exercise, annex) == []


def test_editing_keeps_the_shape_and_checks_the_result(planner: User, make_building) -> None:  # type: ignore[no-untyped-def]
    hall = make_building()
    exercise = new_exercise(planner, hall)
    area = exercise_items.add_item(exercise, hall, {"page_id": plan_of(hall).pages[0].id, "shape": "area",
                                               "points": [[0, 0], [1, 0], [1, 1]]}, by=planner)
    for body, field in (({}, "item"), ({"shape": "line"}, "shape"), ({"page_id": 1}, "page_id"),
                        ({"points": [[0, 0], [1, 1]]}, "points"), ({"colour": "pink"}, "colour")):  # fmt: skip
        with pytest.raises(InvalidInput) as error:
            exercise_items.update_item(area, body)
        assert field in fields_of(error)
    assert area.points == [[0, 0], [1, 0], [1, 1]] and area.shape == "area"


def test_drawings_follow_a_new_plan_by_floor_name_and_the_real_record_stays(planner: User, make_user,
                                                                          make_building) -> None:  # type: ignore[no-untyped-def]
    from floorplans.models.planning import Marker
    from floorplans.services import markers

    hall = make_building()
    first = plan_of(hall)
    floor1, floor2 = first.pages
    partner = make_user(Role.PARTNER, organisation=hall.organisation)
    markers.place(floor1, {"kind": "aed", "x": 0.5, "y": 0.5}, by=partner)
    exercise = new_exercise(planner, hall)
    cordon = exercise_items.add_item(exercise, hall, {"page_id": floor1.id, "shape": "area",
                                                      "points": [[0.1, 0.1], [0.4, 0.1], [0.4, 0.3]]}, by=planner)
    staging = exercise_items.add_item(exercise, hall, {"page_id": floor2.id, "shape": "note",
                                                       "points": [[0.9, 0.1]], "label": "Staging"}, by=planner)
    db.session.commit()

    # The partner's new set: floor 1 spelled otherwise, no floor 2, a mezzanine.  Rendered, it
    # is a draft: the real markers carry over onto it (flagged), the drawings wait for publishing.
    second = plan_of(hall, publish=False, labels=("Mezzanine", " FLOOR  1"))
    plans.prepare_draft(second)
    db.session.commit()
    db.session.expire_all()
    new_floor1 = second.pages[1]
    real = db.session.scalars(select(Marker).where(Marker.building_id == hall.id).order_by(Marker.id)).all()
    assert [(m.page_id, m.needs_confirmation) for m in real] == [(floor1.id, False), (new_floor1.id, True)]
    assert cordon.page_id == floor1.id  # planners see what officers see: still the first plan

    for marker in markers.flagged_markers(second):
        markers.confirm(marker, by=partner)
    assert plans.publish(second, by=partner)
    db.session.commit()
    db.session.expire_all()
    assert cordon.page_id == new_floor1.id and cordon.points == [[0.1, 0.1], [0.4, 0.1], [0.4, 0.3]]
    assert staging.page_id == floor2.id  # no floor 2 any more: it stays where it was drawn
    follow = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "exercise.items.follow")).one()
    assert follow.detail == {"from": 1, "to": 2, "moved": 1, "stayed": 1}
    # The real record: publishing moved no marker; the old one is untouched, the copy checked.
    real = db.session.scalars(select(Marker).where(Marker.building_id == hall.id).order_by(Marker.id)).all()
    assert [(m.page_id, m.needs_confirmation) for m in real] == [(floor1.id, False), (new_floor1.id, False)]

    assert plans.publish(first, by=partner)  # back to the first plan: the drawing comes back with it
    db.session.commit()
    db.session.expire_all()
    assert cordon.page_id == floor1.id and staging.page_id == floor2.id
