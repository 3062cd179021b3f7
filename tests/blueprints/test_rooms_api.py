"""GET /api/v1/buildings/{id}/rooms: the shape of an answer, who may ask (partners their own
congregation only), drafts never searched, every read logged, bad queries refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from converters import rooms as labels
from floorplans import objects
from floorplans.db import db
from floorplans.models import AccessEvent, Building, Role
from floorplans.services import rendering
from tests.floorplans.test_markers import ready_version


def with_labels(building: Building, publish: bool = True, **found: tuple[float, float, float, float]) -> None:
    version = ready_version(building, "Ground floor", publish=publish)
    rendering.put_labels(objects.get_storage(), version.key, [labels.PageLabels(1, "text", tuple(
        labels.Label(text.replace("_", " "), box) for text, box in found.items()))])


def rooms_of(app, building: Building, headers: dict[str, str], q: str = "kitchen"):  # type: ignore[no-untyped-def]
    return app.test_client().get(f"/api/v1/buildings/{building.id}/rooms", query_string={"q": q}, headers=headers)


@pytest.mark.parametrize("role", [Role.OFFICER, Role.PLANNER, Role.ADMIN, Role.PARTNER])
def test_answer_shape_for_every_reader_role(app, make_user, make_building, api_token, role) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    with_labels(building, Main_Kitchen=(0.1, 0.2, 0.3, 0.4), Room_204=(0.5, 0.5, 0.6, 0.6))
    reader = partner if role is Role.PARTNER else make_user(role)  # a partner: their own building
    response = rooms_of(app, building, api_token(reader))
    assert response.status_code == 200
    assert response.get_json() == {"matches": [
        {"text": "Main Kitchen", "floor": "Ground floor", "page": 1, "x": 0.2, "y": 0.3, "cell": "C2"},
    ]}
    numbered = rooms_of(app, building, api_token(reader), q="204")
    assert [match["text"] for match in numbered.get_json()["matches"]] == ["Room 204"]


def test_partners_only_find_rooms_of_their_own_buildings(app, make_user, make_building, api_token) -> None:
    partner, other = make_user(Role.PARTNER), make_user(Role.PARTNER)
    theirs = make_building(other.organisation)
    with_labels(theirs, Kitchen=(0.1, 0.1, 0.2, 0.2))
    response = rooms_of(app, theirs, api_token(partner))
    assert response.status_code == 404
    assert "matches" not in response.get_json()


def test_drafts_are_never_searched(app, make_user, make_building, api_token) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    with_labels(building, publish=False, Kitchen=(0.1, 0.1, 0.2, 0.2))
    for user in (partner, make_user(Role.OFFICER)):
        assert rooms_of(app, building, api_token(user)).get_json() == {"matches": []}


def test_every_search_is_logged_as_a_plan_read(app, make_user, make_building, api_token) -> None:
    partner, officer = make_user(Role.PARTNER), make_user(Role.OFFICER)
    building = make_building(partner.organisation)
    with_labels(building, Kitchen=(0.1, 0.1, 0.2, 0.2))
    rooms_of(app, building, api_token(officer), q=" Kitchen ")
    rooms_of(app, building, api_token(partner))  # a partner's look at their own: not logged
    logged = db.session.execute(select(AccessEvent.user_id, AccessEvent.action, AccessEvent.channel,
                                       AccessEvent.detail).where(AccessEvent.building_id == building.id)).all()
    assert [tuple(row) for row in logged] == [(officer.id, "view_plan", "api", "find rooms: Kitchen")]


def test_empty_or_long_queries_are_refused_with_a_message(app, make_user, make_building, api_token) -> None:
    building = make_building()
    headers = api_token(make_user(Role.OFFICER))
    for q in ("", "  ", "?!", "a" * 200):
        response = rooms_of(app, building, headers, q=q)
        assert response.status_code == 400
        assert "room" in response.get_json()["error"]
    missing = app.test_client().get(f"/api/v1/buildings/{building.id}/rooms", headers=headers)
    assert missing.status_code == 400


def test_the_operation_is_documented(app, make_user, api_token) -> None:
    document = app.test_client().get("/api/v1/openapi.json", headers=api_token(make_user(Role.OFFICER))).get_json()
    operation = document["paths"]["/buildings/{building_id}/rooms"]["get"]
    assert operation["parameters"][0]["name"] == "q"
    assert set(document["components"]["schemas"]["RoomMatch"]["required"]) == {"text", "floor", "page", "x", "y",
                                                                               "cell"}
