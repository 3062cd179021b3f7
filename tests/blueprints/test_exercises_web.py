"""Exercises over HTTP: the planner's pages (list, new, exercise, close), the scratch layer's
JSON endpoints, who may use them, and the building's real record, which no exercise ever
changes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from floorplans.db import db
from floorplans.models import (
    AccessEvent,
    AuditEvent,
    Building,
    Exercise,
    ExerciseItem,
    Marker,
    PlanPage,
    PlanVersion,
    Role,
    User,
    VersionState,
)
from floorplans.representations import building_record
from tests.conftest import Browser, publish_reviewed

JSON = {"Accept": "application/json"}


def published_plan(building: Building, partner: User) -> PlanVersion:
    """A rendered two-floor plan with two markers, published by the building's partner."""
    version = PlanVersion(building=building, number=1, state=VersionState.READY.value, original_sha256="0" * 64,
                          original_bytes=1, page_count=2,
                          pages=[PlanPage(number=n, position=n, label=label, width=1200, height=800, tile_size=256,
                                          max_zoom=3) for n, label in ((1, "Ground floor"), (2, "Basement"))])
    db.session.add(version)
    db.session.flush()
    db.session.add_all([
        Marker(building_id=building.id, page_id=version.pages[0].id, kind="aed", x=0.2, y=0.3, label="Lobby AED"),
        Marker(building_id=building.id, page_id=version.pages[0].id, kind="door", x=0.5, y=1.0, number=1),
    ])
    db.session.commit()
    return publish_reviewed(version, partner)


class Planner:
    """A signed-in planner's browser, with the JSON calls exercise.js makes."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser

    def send(self, url: str, body: Any, *, csrf: bool = True) -> Any:
        headers = dict(JSON)
        if csrf:
            if self.browser.csrf_token is None:
                self.browser.get("/exercises/")
            headers["X-CSRFToken"] = self.browser.csrf_token or ""
        return self.browser.client.post(url, json=body, headers=headers)

    def get_json(self, url: str) -> Any:
        return self.browser.client.get(url, headers=JSON)


@pytest.fixture
def hall(make_building, make_user) -> Building:  # type: ignore[no-untyped-def]
    building = make_building(name="Beth Shalom")
    published_plan(building, make_user(Role.PARTNER, organisation=building.organisation))
    return building


@pytest.fixture
def planner_user(make_user) -> User:  # type: ignore[no-untyped-def]
    return make_user(Role.PLANNER, email="lead.planner@example.org")


@pytest.fixture
def planner(browser_for, planner_user: User) -> Planner:  # type: ignore[no-untyped-def]
    return Planner(browser_for(planner_user))


def create(planner: Planner, *buildings: Building, name: str = "Kitchen fire") -> Exercise:
    response = planner.browser.post("/exercises/new", {"name": name, "description": "Friday prayers, 400 inside",
                                                       "buildings": [str(b.id) for b in buildings]})
    assert response.status_code == 302, response.get_data(as_text=True)
    exercise_id = int(response.headers["Location"].rsplit("/", 1)[1])
    return db.session.get(Exercise, exercise_id)


def real_record(building_id: int) -> Any:
    """Everything of the building's own record an exercise could conceivably touch."""
    db.session.expire_all()
    building = db.session.get(Building, building_id)
    markers = db.session.scalars(select(Marker).where(Marker.building_id == building_id).order_by(Marker.id))
    versions = [
        (v.id, v.number, v.state, v.published_at, v.tiles_deleted_at,
         [(p.id, p.number, p.position, p.label, p.width, p.height, p.max_zoom, p.north_degrees) for p in v.pages])
        for v in building.plan_versions
    ]  # fmt: skip
    return (
        building_record(building), building.row_version, building.published_version_id, building.last_verified_at,
        [(m.id, m.page_id, m.kind, m.x, m.y, m.number, m.side, m.label, m.note, m.needs_confirmation,
          m.updated_at) for m in markers],
        versions,
    )  # fmt: skip


def test_create_share_list_and_close(app: Flask, planner: Planner, make_user, hall: Building,
                                     make_building) -> None:  # type: ignore[no-untyped-def]
    page = planner.browser.get("/exercises/new").get_data(as_text=True)
    assert "Beth Shalom" in page and 'name="buildings"' in page
    response = planner.browser.post("/exercises/new", {"name": "", "description": ""})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Nothing was saved" in body and "choose at least one building." in body and "is required." in body

    annex = make_building(name="Annex Hall")
    found = planner.browser.get(f"/exercises/new?q=annex&buildings={hall.id}&name=Drill").get_data(as_text=True)
    assert "Annex Hall" in found and "Beth Shalom" in found  # the ticked building stays listed
    assert re.search(rf'value="{hall.id}" checked', found) and 'value="Drill"' in found

    exercise = create(planner, hall, annex)
    assert [b.name for b in exercise.buildings] == ["Annex Hall", "Beth Shalom"]
    colleague = make_user(Role.PLANNER, email="second@example.org")
    officer = make_user(Role.OFFICER, email="officer@example.org")
    assert planner.browser.post(f"/exercises/{exercise.id}/planners", {"email": colleague.email}).status_code == 302
    not_added = planner.browser.post(f"/exercises/{exercise.id}/planners", {"email": officer.email})
    assert not_added.status_code == 302  # the same answer as for a planner (tests/security/test_add_planner_answer.py)
    db.session.expire_all()
    assert officer not in db.session.get(Exercise, exercise.id).planners
    shown = planner.browser.get(f"/exercises/{exercise.id}").get_data(as_text=True)
    assert f'name="building_id" value="{annex.id}"' in shown and 'aria-label="Take Annex Hall out of' in shown
    assert f'name="user_id" value="{colleague.id}"' in shown and f'aria-label="Remove {colleague.email} from' in shown
    response = planner.browser.post(f"/exercises/{exercise.id}/buildings/remove", {"building_id": annex.id})
    assert response.status_code == 302
    left = planner.browser.get(f"/exercises/{exercise.id}").get_data(as_text=True)
    assert 'name="building_id"' not in left  # the last building stays: no button to remove it

    renamed = planner.browser.post(f"/exercises/{exercise.id}/edit", {"name": "Kitchen fire", "description": "Sunday"})
    db.session.expire_all()
    assert renamed.status_code == 302 and db.session.get(Exercise, exercise.id).description == "Sunday"
    blank = planner.browser.post(f"/exercises/{exercise.id}/edit", {"name": "", "description": ""})
    assert blank.status_code == 422 and "Name: is required." in blank.get_data(as_text=True)

    later = create(planner, hall, name="Armed intruder")
    # Closing asks first.
    assert "it becomes read-only" in planner.browser.get(f"/exercises/{exercise.id}/close").get_data(as_text=True)
    response = planner.browser.post(f"/exercises/{exercise.id}/close", {})
    assert response.status_code == 422 and "Tick the box" in response.get_data(as_text=True)
    assert planner.browser.post(f"/exercises/{exercise.id}/close", {"confirm": "yes"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Exercise, exercise.id).state == "closed"

    listing = planner.browser.get("/exercises/").get_data(as_text=True).split("<table", 1)[1]  # after the flash
    assert listing.index("Armed intruder") < listing.index("Kitchen fire")  # open first, then closed
    assert "closed" in listing
    colleague_view = Planner(_browser(app, colleague)).browser.get("/exercises/").get_data(as_text=True)
    assert "Kitchen fire" in colleague_view and "Armed intruder" not in colleague_view
    page = planner.browser.get(f"/exercises/{exercise.id}").get_data(as_text=True)
    assert "read-only" in page and "Add planner" not in page and "See the plan" in page
    later_page = planner.browser.get(f"/exercises/{later.id}").get_data(as_text=True)
    assert "Add planner" in later_page
    assert f"/r/buildings/{hall.id}/export?exercise={later.id}" in later_page  # its print packet

    # Closed means read-only, for forms and JSON alike.
    refused = planner.browser.post(f"/exercises/{exercise.id}/planners", {"email": colleague.email})
    assert refused.status_code == 403
    answer = planner.send(f"/exercises/{exercise.id}/buildings/{hall.id}/items",
                          {"page_id": hall.published_version.pages[0].id, "shape": "note", "points": [[0.5, 0.5]],
                           "label": "Too late"})
    assert answer.status_code == 403 and "closed" in answer.get_json()["error"]
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("exercise.%"))
                                 .order_by(AuditEvent.id))
    assert list(actions) == ["exercise.create", "exercise.planner.add", "exercise.building.remove",
                             "exercise.update", "exercise.create", "exercise.close"]


def _browser(app: Flask, user: User) -> Browser:
    browser = Browser(app.test_client())
    assert browser.login(user).status_code == 302
    return browser


def test_items_of_each_shape_through_the_json_endpoints(planner: Planner, hall: Building) -> None:
    exercise = create(planner, hall)
    ground, basement = (p.id for p in hall.published_version.pages)
    items_url = f"/exercises/{exercise.id}/buildings/{hall.id}/items"
    bodies = [
        {"page_id": ground, "shape": "marker", "kind": "rally_point", "points": [[0.9, 0.9]], "label": "Muster"},
        {"page_id": ground, "shape": "line", "points": [[0.1, 0.5], [0.5, 0.5], [0.5, 0.9]], "colour": "#2563eb"},
        {"page_id": ground, "shape": "area", "points": [[0.2, 0.2], [0.6, 0.2], [0.6, 0.6]], "label": "Hot zone"},
        {"page_id": basement, "shape": "note", "points": [[0.3, 0.3]], "label": "Children here at 11:00"},
    ]
    made = []
    for body in bodies:
        response = planner.send(items_url, body)
        assert response.status_code == 201, response.get_json()
        made.append(response.get_json()["item"])
    assert [m["shape"] for m in made] == ["marker", "line", "area", "note"]
    assert made[0]["by"] == "lead.planner@example.org" and made[1]["colour"] == "#2563eb"

    moved = planner.send(f"/exercises/{exercise.id}/items/{made[0]['id']}", {"points": [[0.8, 0.85]]})
    assert moved.status_code == 200 and moved.get_json()["item"]["points"] == [[0.8, 0.85]]
    edited = planner.send(f"/exercises/{exercise.id}/items/{made[2]['id']}",
                          {"label": "Warm zone", "colour": "#ea580c"})
    assert edited.get_json()["item"]["label"] == "Warm zone"
    assert planner.send(f"/exercises/{exercise.id}/items/{made[1]['id']}/delete", {}).status_code == 200
    layer = planner.get_json(items_url).get_json()
    assert layer["state"] == "open"
    assert [(i["shape"], i["label"]) for i in layer["items"]] == [
        ("marker", "Muster"), ("area", "Warm zone"), ("note", "Children here at 11:00")]
    stored = db.session.get(ExerciseItem, made[2]["id"])
    assert stored.points == [[0.2, 0.2], [0.6, 0.2], [0.6, 0.6]] and stored.colour == "#ea580c"

    # What is wrong, said in the JSON answer exercise.js shows.
    bad = planner.send(items_url, {"page_id": ground, "shape": "area", "points": [[0.1, 0.1], [1.5, 0.2]],
                                   "colour": "#123456"})
    assert bad.status_code == 422
    assert bad.get_json()["fields"] == {
        "points": "must lie on the page (each position between 0 and 1).",
        "colour": "must be one of Red (#dc2626), Blue (#2563eb), Green (#16a34a), Purple (#9333ea), "
                  "Orange (#ea580c), Black (#111827).",
    }
    assert planner.send(items_url, ["not", "an", "object"]).get_json()["fields"] == {
        "item": "send the item as a JSON object."}
    gone = planner.send(f"/exercises/{exercise.id}/items/{made[1]['id']}", {"label": "again"})
    assert gone.status_code == 404 and "deleted" in gone.get_json()["error"]
    # Without the CSRF header, another site's page cannot draw in a planner's name.
    assert planner.send(items_url, bodies[3], csrf=False).status_code == 400


def test_the_drawing_page(planner: Planner, hall: Building, make_building) -> None:  # type: ignore[no-untyped-def]
    exercise = create(planner, hall)
    response = planner.browser.get(f"/exercises/{exercise.id}/buildings/{hall.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "EXERCISE" in page and "not the building's record" in page
    for script in ("js/plan.js", "js/markers.js", "js/exercise.js"):
        assert script in page
    assert page.index("js/markers.js") < page.index("js/exercise.js")  # the real markers underneath
    assert "<script>" not in page and ' style="' not in page  # the CSP forbids inline code and styles
    pages = re.search(r"data-pages='([^']+)'", page)
    assert pages and "Lobby AED" in pages.group(1)  # the real markers travel with the pages
    assert 'data-tool="area"' in page and 'data-colour="#9333ea"' in page
    events = db.session.scalars(select(AccessEvent).where(AccessEvent.building_id == hall.id))
    assert [(e.action, e.detail) for e in events] == [("view_plan", f"exercise {exercise.id}")]
    # A building that is not part of the exercise has no drawing page in it.
    other = make_building()
    assert planner.browser.get(f"/exercises/{exercise.id}/buildings/{other.id}").status_code == 404
    # One without a published plan says so.
    planner.browser.post(f"/exercises/{exercise.id}/buildings", {"building_id": other.id})
    bare = planner.browser.get(f"/exercises/{exercise.id}/buildings/{other.id}").get_data(as_text=True)
    assert "No plan has been published for this building yet" in bare and "data-plan" not in bare
    planner.browser.post(f"/exercises/{exercise.id}/close", {"confirm": "yes"})
    closed = planner.browser.get(f"/exercises/{exercise.id}/buildings/{hall.id}").get_data(as_text=True)
    assert "data-readonly" in closed and 'data-tool="area"' not in closed and "closed: view only" in closed


def test_who_may_use_exercises(app: Flask, planner: Planner, hall: Building, make_user,
                               browser_for) -> None:  # type: ignore[no-untyped-def]
    exercise = create(planner, hall)
    ground = hall.published_version.pages[0].id
    item = planner.send(f"/exercises/{exercise.id}/buildings/{hall.id}/items",
                        {"page_id": ground, "shape": "note", "points": [[0.5, 0.5]], "label": "Ours"}).get_json()
    urls = [
        ("GET", "/exercises/"), ("GET", f"/exercises/{exercise.id}"),
        ("GET", f"/exercises/{exercise.id}/buildings/{hall.id}"),
        ("GET", f"/exercises/{exercise.id}/buildings/{hall.id}/items"),
        ("POST", f"/exercises/{exercise.id}/buildings/{hall.id}/items"),
        ("POST", f"/exercises/{exercise.id}/items/{item['item']['id']}"),
        ("POST", f"/exercises/{exercise.id}/items/{item['item']['id']}/delete"),
        ("POST", f"/exercises/{exercise.id}/close"),
    ]
    note = {"page_id": ground, "shape": "note", "points": [[0.2, 0.2]], "label": "Theirs"}

    def statuses(who: Planner | Browser) -> list[int]:
        visitor = who if isinstance(who, Planner) else Planner(who)
        return [(visitor.get_json(url) if method == "GET" else visitor.send(url, note)).status_code
                for method, url in urls]

    assert statuses(Browser(app.test_client()))[:4] == [302] * 4  # anonymous: to the login page
    for role in (Role.OFFICER, Role.PARTNER):
        assert statuses(browser_for(make_user(role, **({"organisation": hall.organisation}
                                                       if role is Role.PARTNER else {})))) == [403] * len(urls)
    # A planner outside the exercise: it does not exist for them (their own list is empty).
    outsider = statuses(browser_for(make_user(Role.PLANNER)))
    assert outsider == [200] + [404] * (len(urls) - 1)
    admin = Planner(browser_for(make_user(Role.ADMIN)))
    assert admin.get_json(f"/exercises/{exercise.id}/buildings/{hall.id}/items").status_code == 200
    assert admin.send(f"/exercises/{exercise.id}/buildings/{hall.id}/items", note).status_code == 201
    member = make_user(Role.PLANNER)
    planner.browser.post(f"/exercises/{exercise.id}/planners", {"email": member.email})
    joined = Planner(browser_for(member))
    assert joined.send(f"/exercises/{exercise.id}/items/{item['item']['id']}", {"label": "Edited"}).status_code == 200
    layer = joined.get_json(f"/exercises/{exercise.id}/buildings/{hall.id}/items").get_json()
    assert sorted(i["label"] for i in layer["items"]) == ["Edited", "Theirs"]
    # Only an administrator reopens.
    planner.browser.post(f"/exercises/{exercise.id}/close", {"confirm": "yes"})
    assert planner.browser.post(f"/exercises/{exercise.id}/reopen", {}).status_code == 403
    assert admin.browser.post(f"/exercises/{exercise.id}/reopen", {}).status_code == 302


def test_an_exercise_never_changes_the_real_record(app: Flask, planner: Planner, hall: Building,
                                                    make_building, make_user) -> None:  # type: ignore[no-untyped-def]
    annex = make_building(name="Annex")
    published_plan(annex, make_user(Role.PARTNER, organisation=annex.organisation))
    with app.test_request_context():  # the record's JSON holds tile URLs
        before = {b.id: real_record(b.id) for b in (hall, annex)}
    exercise = create(planner, hall, annex)
    ground = hall.published_version.pages[0].id
    items_url = f"/exercises/{exercise.id}/buildings/{hall.id}/items"
    made = [planner.send(items_url, body).get_json()["item"] for body in (
        {"page_id": ground, "shape": "marker", "kind": "aed", "points": [[0.2, 0.3]], "label": "Lobby AED"},
        {"page_id": ground, "shape": "line", "points": [[0, 0], [1, 1]]},
        {"page_id": ground, "shape": "area", "points": [[0.1, 0.1], [0.3, 0.1], [0.2, 0.3]]},
        {"page_id": ground, "shape": "note", "points": [[0.5, 1.0]], "label": "Door 1 blocked"},
    )]
    planner.send(f"/exercises/{exercise.id}/buildings/{annex.id}/items",
                 {"page_id": annex.published_version.pages[1].id, "shape": "note", "points": [[0, 0]], "label": "x"})
    planner.send(f"/exercises/{exercise.id}/items/{made[0]['id']}", {"points": [[0.9, 0.9]], "kind": "door"})
    planner.send(f"/exercises/{exercise.id}/items/{made[2]['id']}", {"points": [[0.5, 0.5], [0.6, 0.5], [0.6, 0.6]]})
    planner.send(f"/exercises/{exercise.id}/items/{made[1]['id']}/delete", {})
    planner.browser.get(f"/exercises/{exercise.id}/buildings/{hall.id}")
    planner.browser.post(f"/exercises/{exercise.id}/buildings/remove", {"building_id": annex.id})
    assert planner.browser.post(f"/exercises/{exercise.id}/close", {"confirm": "yes"}).status_code == 302
    assert db.session.scalar(select(ExerciseItem.id).where(ExerciseItem.id == made[0]["id"])) is not None
    with app.test_request_context():
        after = {b.id: real_record(b.id) for b in (hall, annex)}
    assert after == before
    assert len(before[hall.id][4]) == 2  # the comparison did see the real markers
