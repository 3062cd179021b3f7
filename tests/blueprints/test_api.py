"""JSON API v1: bearer tokens, the web's permissions, JSON errors, the OpenAPI document."""

from __future__ import annotations

import re

from openapi_spec_validator import validate
from sqlalchemy import func, select

from floorplans.db import db
from floorplans.models import AccessEvent, Building, Role


def test_no_token_no_data(app, make_building) -> None:
    make_building()
    client = app.test_client()
    for headers in ({}, {"Authorization": "Bearer fpt_not-a-real-token"}, {"Authorization": "Basic abc"}):
        response = client.get("/api/v1/buildings", headers=headers)
        assert response.status_code == 401
        assert response.get_json() == {"error": response.get_json()["error"]}
        assert "Bearer" in response.get_json()["error"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_search_is_tolerant_and_scoped(app, make_user, make_building, api_token) -> None:
    officer = make_user(Role.OFFICER)
    make_building(name="Beth Tzedec", street="1700 Bathurst Street", city="Toronto")
    make_building(name="St. Basil's", street="50 St. Joseph Street", city="Toronto")
    client = app.test_client()
    headers = api_token(officer)

    def names(q: str) -> list[str]:
        response = client.get("/api/v1/buildings", query_string={"q": q}, headers=headers)
        assert response.status_code == 200
        return [b["name"] for b in response.get_json()["buildings"]]

    assert names("1700 bathurst st") == ["Beth Tzedec"]
    assert names("BATHURST STREET") == ["Beth Tzedec"]
    assert names("st joseph") == ["St. Basil's"]
    assert names("basil") == ["St. Basil's"]
    assert names("170 bathurst") == []  # numbers match whole
    assert sorted(names("")) == ["Beth Tzedec", "St. Basil's"]


def test_whole_record_and_access_log(app, make_user, make_building, api_token) -> None:
    officer = make_user(Role.OFFICER)
    building = make_building(name="Hindu Sabha Mandir")
    client = app.test_client()
    partner = make_user(Role.PARTNER, building.organisation)
    response = client.post(
        f"/api/v1/buildings/{building.id}/contacts",
        headers=api_token(partner),
        json={"name": "Priya", "phone": "905-555-0111", "available_24_7": True, "key_holder": True},
    )
    assert response.status_code == 201, response.get_json()
    response = client.post(
        f"/api/v1/buildings/{building.id}/gatherings",
        headers=api_token(partner),
        json={
            "label": "Diwali",
            "on_date": "2026-11-08",
            "start_time": "18:00",
            "end_time": "23:30",
            "expected_attendance": 900,
        },
    )
    assert response.status_code == 201, response.get_json()

    response = client.get(f"/api/v1/buildings/{building.id}", headers=api_token(officer))
    body = response.get_json()
    assert response.status_code == 200
    assert body["name"] == "Hindu Sabha Mandir"
    assert body["contacts"][0] | {"id": 0} == {
        "id": 0,
        "position": 1,
        "name": "Priya",
        "role": "",
        "phone": "905-555-0111",
        "phone_alt": "",
        "email": "",
        "key_holder": True,
        "available_24_7": True,
        "available_days": [],
        "available_from": None,
        "available_until": None,
        "languages": "",
    }
    assert body["gatherings"][0]["on_date"] == "2026-11-08"
    assert body["gatherings"][0]["start_time"] == "18:00"
    assert response.headers["ETag"] == f'"{body["row_version"]}"'
    assert response.headers["Cache-Control"] == "no-store"
    events = db.session.scalars(select(AccessEvent)).all()
    assert [(e.user_id, e.channel) for e in events] == [(officer.id, "api")]


def test_partner_creates_and_patches_own_building(app, make_user, api_token) -> None:
    partner = make_user(Role.PARTNER)
    client = app.test_client()
    headers = api_token(partner)
    response = client.post(
        "/api/v1/buildings", headers=headers, json={"name": "Grace Chapel", "street": "9 King St E", "city": "Hamilton"}
    )
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert response.headers["Location"] == f"/api/v1/buildings/{created['id']}"
    assert created["organisation"]["id"] == partner.organisation_id

    url = f"/api/v1/buildings/{created['id']}"
    response = client.patch(url, headers=headers, json={"capacity": 120})
    assert response.status_code == 200
    assert response.get_json()["capacity"] == 120 and response.get_json()["name"] == "Grace Chapel"

    # Conditional update with a stale ETag is refused; the current one passes.
    response = client.patch(url, headers={**headers, "If-Match": '"1"'}, json={"capacity": 5})
    assert response.status_code == 409
    response = client.patch(url, headers={**headers, "If-Match": '"2"'}, json={"capacity": 130})
    assert response.status_code == 200 and response.get_json()["capacity"] == 130


def test_bad_api_input_is_a_clear_json_error_and_changes_nothing(app, make_user, make_building, api_token) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation, name="Unchanged", capacity=10)
    client = app.test_client()
    headers = api_token(partner)
    url = f"/api/v1/buildings/{building.id}"
    cases = [
        ({"capacity": "ten", "name": "Changed"}, 422, {"capacity": "must be a whole number."}),
        ({"capcity": 5}, 422, {"capcity": "is not a field of this record."}),
        ({"name": ""}, 422, {"name": "is required."}),
        ({"latitude": 43.7}, 422, {"longitude": "is needed too: give both latitude and longitude, or neither."}),
    ]
    for body, status, fields in cases:
        response = client.patch(url, headers=headers, json=body)
        assert response.status_code == status, body
        assert response.get_json()["fields"] == fields
        assert response.get_json()["error"]
    response = client.patch(url, headers={**headers, "Content-Type": "application/json"}, data="{not json")
    assert response.status_code == 422 and "JSON object" in response.get_json()["error"]
    response = client.patch(url, headers=headers, json=["a list"])
    assert response.status_code == 422
    db.session.expire_all()
    assert (db.session.get(Building, building.id).name, db.session.get(Building, building.id).capacity) == (
        "Unchanged",
        10,
    )
    assert client.get("/api/v1/nothing-here", headers=headers).get_json() == {
        "error": "There is nothing here. Check the address, or go back to the start page."
    }


def test_api_permissions_follow_the_web(app, make_user, make_building, api_token) -> None:
    building = make_building(name="Theirs")
    client = app.test_client()
    url = f"/api/v1/buildings/{building.id}"
    stranger = api_token(make_user(Role.PARTNER))
    assert client.get(url, headers=stranger).status_code == 404
    assert client.patch(url, headers=stranger, json={"name": "Mine now"}).status_code == 404
    assert (
        client.post(f"{url}/contacts", headers=stranger, json={"name": "x", "phone": "4165550100"}).status_code == 404
    )
    officer = api_token(make_user(Role.OFFICER))
    assert client.patch(url, headers=officer, json={"name": "Officer's"}).status_code == 403
    assert client.post("/api/v1/buildings", headers=officer, json={"name": "x"}).status_code == 403
    partner = api_token(make_user(Role.PARTNER))
    response = client.post(
        "/api/v1/buildings",
        headers=partner,
        json={"name": "x", "street": "1 A St", "city": "Y", "organisation_id": building.organisation_id},
    )
    assert response.status_code == 422
    admin = api_token(make_user(Role.ADMIN))
    response = client.post("/api/v1/buildings", headers=admin, json={"name": "x", "street": "1 A St", "city": "Y"})
    assert response.status_code == 422 and "organisation_id" in response.get_json()["fields"]
    response = client.post(
        "/api/v1/buildings",
        headers=admin,
        json={"name": "By admin", "street": "1 A St", "city": "Y", "organisation_id": building.organisation_id},
    )
    assert response.status_code == 201
    assert db.session.scalar(select(func.count(Building.id))) == 2
    db.session.expire_all()
    assert db.session.get(Building, building.id).name == "Theirs"


def test_browser_session_needs_csrf_for_api_writes(app, browser_for, make_user, make_building) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation, name="Before")
    browser = browser_for(partner)
    url = f"/api/v1/buildings/{building.id}"
    assert browser.client.get(url).status_code == 200  # reading with the session is fine
    assert browser.client.patch(url, json={"name": "Forged"}).status_code == 400
    response = browser.client.patch(url, json={"name": "After"}, headers={"X-CSRFToken": browser.csrf_token})
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Building, building.id).name == "After"


def test_revoked_token_and_disabled_account_stop_working(app, make_user, api_token) -> None:
    from floorplans.models import ApiToken
    from floorplans.services import tokens

    officer = make_user(Role.OFFICER)
    headers = api_token(officer)
    client = app.test_client()
    assert client.get("/api/v1/buildings", headers=headers).status_code == 200
    tokens.revoke_token(db.session.scalar(select(ApiToken)), reason=tokens.BY_ADMIN)
    db.session.commit()
    assert client.get("/api/v1/buildings", headers=headers).status_code == 401
    headers = api_token(officer)
    officer.active = False
    db.session.commit()
    assert client.get("/api/v1/buildings", headers=headers).status_code == 401


def test_openapi_document_is_valid_and_lists_every_api_route(app, make_user, api_token) -> None:
    client = app.test_client()
    response = client.get("/api/v1/openapi.json", headers=api_token(make_user(Role.OFFICER)))
    assert response.status_code == 200
    spec = response.get_json()
    validate(spec)
    documented = {
        (path, method.upper()) for path, item in spec["paths"].items() for method in item if method != "parameters"
    }
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "api.openapi_document":
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
            routes |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == documented
    building_schema = spec["paths"]["/buildings"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert building_schema["properties"]["capacity"] == {
        "type": "integer",
        "minimum": 0,
        "maximum": 1000000,
        "nullable": True,
        "description": "Capacity (people)",
    }


def test_answers_keep_the_order_the_record_is_written_in(app, make_user, make_building, api_token) -> None:
    """A building's name comes before its details, as in floorplans.representations: Flask
    3.1 sorts keys unless the JSON provider is told not to (JSON_SORT_KEYS no longer counts)."""
    import json

    officer = make_user(Role.OFFICER)
    building = make_building(name="Gurdwara Sahib")
    response = app.test_client().get(f"/api/v1/buildings/{building.id}", headers=api_token(officer))
    assert response.status_code == 200
    keys = [key for key, _ in json.loads(response.data, object_pairs_hook=lambda pairs: pairs)]
    assert keys != sorted(keys), keys
    assert keys[:2] == ["id", "name"], keys


def test_contacts_and_gatherings_are_changed_moved_and_deleted(app, make_user, make_building, api_token) -> None:
    building = make_building()
    partner = make_user(Role.PARTNER, building.organisation)
    client, headers = app.test_client(), api_token(partner)
    base = f"/api/v1/buildings/{building.id}"
    first, second = (client.post(f"{base}/contacts", headers=headers, json={"name": name, "phone": "416-555-0100"})
                     .get_json()["id"] for name in ("Ana", "Ben"))
    gathering = client.post(f"{base}/gatherings", headers=headers, json={
        "label": "Vespers", "weekday": 5, "start_time": "18:00", "end_time": "19:00"}).get_json()["id"]

    moved = client.patch(f"{base}/contacts/{second}", headers=headers, json={"position": 1, "role": "Caretaker"})
    assert moved.status_code == 200, moved.get_json()
    assert (moved.get_json()["position"], moved.get_json()["role"]) == (1, "Caretaker")
    refused = client.patch(f"{base}/contacts/{first}", headers=headers, json={"position": "top"})
    assert refused.status_code == 422 and "position" in refused.get_data(as_text=True)
    changed = client.patch(f"{base}/gatherings/{gathering}", headers=headers, json={"label": "Evening prayer"})
    assert changed.status_code == 200 and changed.get_json()["label"] == "Evening prayer"

    assert client.delete(f"{base}/gatherings/{gathering}", headers=headers).status_code == 204
    assert client.delete(f"{base}/gatherings/{gathering}", headers=headers).status_code == 404
    assert client.delete(f"{base}/contacts/{second}", headers=headers).status_code == 204
    record = client.get(base, headers=headers).get_json()
    assert [(c["name"], c["position"]) for c in record["contacts"]] == [("Ana", 1)] and record["gatherings"] == []
