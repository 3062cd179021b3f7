"""Markers through the JSON API: list, place (201), read, move and edit (PATCH), delete,
confirm; errors as {"error", "fields"}; who may do what; the OpenAPI document."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from floorplans.db import db
from floorplans.models import AccessEvent, Marker, Role
from tests.floorplans.test_markers import ready_version


@pytest.fixture
def api(app: Flask, make_user, make_building, api_token) -> dict[str, Any]:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    version = ready_version(building, "Ground floor", "Basement", publish=True)
    return {"client": app.test_client(), "partner": api_token(partner), "building": building, "version": version,
            "token": api_token}


def test_place_read_move_edit_confirm_delete(api) -> None:
    client, token, version = api["client"], api["partner"], api["version"]
    created = client.post(f"/api/v1/plans/{version.id}/markers", headers=token, json={
        "page": 1, "kind": "door", "x": 0.62, "y": 0.88, "number": 1, "side": "A", "label": "Main entrance"})
    assert created.status_code == 201, created.get_json()
    marker = created.get_json()
    assert created.headers["Location"] == f"/api/v1/markers/{marker['id']}"
    assert {k: marker[k] for k in ("page", "page_id", "kind", "door", "label", "needs_confirmation")} == {
        "page": 1, "page_id": version.pages[0].id, "kind": "door", "door": "Door 1 (side A)", "label": "Main entrance",
        "needs_confirmation": False}
    assert client.get(created.headers["Location"], headers=token).get_json() == marker

    moved = client.patch(f"/api/v1/markers/{marker['id']}", headers=token, json={"x": 0.6, "page": 2})
    assert moved.status_code == 200 and (moved.get_json()["x"], moved.get_json()["page"]) == (0.6, 2)
    edited = client.patch(f"/api/v1/markers/{marker['id']}", headers=token, json={"note": "Push bar", "side": "b"})
    assert (edited.get_json()["note"], edited.get_json()["door"]) == ("Push bar", "Door 1 (side B)")

    listed = client.get(f"/api/v1/plans/{version.id}/markers", headers=token).get_json()
    assert [m["id"] for m in listed["markers"]] == [marker["id"]]
    pages = client.get(f"/api/v1/plans/{version.id}", headers=token).get_json()["pages"]
    assert pages[0]["markers"] == [] and [m["note"] for m in pages[1]["markers"]] == ["Push bar"]

    confirmed = client.post(f"/api/v1/markers/{marker['id']}/confirm", headers=token)
    assert confirmed.status_code == 200 and confirmed.get_json()["needs_confirmation"] is False
    assert client.delete(f"/api/v1/markers/{marker['id']}", headers=token).status_code == 204
    assert client.get(f"/api/v1/markers/{marker['id']}", headers=token).status_code == 404


def test_errors_name_the_fields(api) -> None:
    client, token, version = api["client"], api["partner"], api["version"]
    url = f"/api/v1/plans/{version.id}/markers"
    refused = client.post(url, headers=token, json={"kind": "fire", "x": "left", "y": 3, "number": 1, "colour": "red"})
    assert refused.status_code == 422
    fields = refused.get_json()["fields"]
    assert set(fields) == {"page", "kind", "x", "y", "colour"}
    assert fields["page"].startswith("must be the page's number in the PDF")
    assert fields["kind"].startswith("must be one of: door, stairs")
    assert fields["colour"] == "is not a field of this record."
    assert refused.get_json()["error"] == "Please correct the 5 highlighted fields."
    not_json = client.post(url, headers=token, data="kind=aed")
    assert not_json.status_code == 422 and not_json.get_json()["fields"] == {"body": "must be a JSON object"}
    marker = client.post(url, headers=token, json={"page": 1, "kind": "aed", "x": 0.5, "y": 0.5}).get_json()
    door_only = client.patch(f"/api/v1/markers/{marker['id']}", headers=token, json={"side": "A"})
    assert door_only.status_code == 422 and door_only.get_json()["fields"]["side"].startswith("is for exterior doors")
    bad_page = client.patch(f"/api/v1/markers/{marker['id']}", headers=token, json={"page": 7})
    assert bad_page.get_json()["fields"]["page"] == "this plan has no page 7 (it has 2)."


def test_who_may_do_what(app: Flask, api, make_user) -> None:
    client, version = api["client"], api["version"]
    url = f"/api/v1/plans/{version.id}/markers"
    marker = client.post(url, headers=api["partner"], json={"page": 1, "kind": "aed", "x": 0.5, "y": 0.5}).get_json()
    one = f"/api/v1/markers/{marker['id']}"
    for role in (Role.OFFICER, Role.PLANNER):
        token = api["token"](make_user(role))
        assert client.get(url, headers=token).status_code == 200
        assert client.get(one, headers=token).status_code == 200
        for method, address, body in (("POST", url, {"page": 1, "kind": "aed", "x": 0.1, "y": 0.1}),
                                      ("PATCH", one, {"x": 0.1}), ("DELETE", one, None),
                                      ("POST", f"{one}/confirm", None)):
            answer = client.open(address, method=method, headers=token, json=body)
            assert answer.status_code == 403 and "error" in answer.get_json(), (role, method, address)
    stranger = api["token"](make_user(Role.PARTNER))
    for method, address in (("GET", url), ("POST", url), ("GET", one), ("PATCH", one), ("DELETE", one),
                            ("POST", f"{one}/confirm")):
        answer = client.open(address, method=method, headers=stranger, json={"x": 0.1})
        assert answer.status_code == 404 and "error" in answer.get_json(), (method, address)
    assert client.get(url).status_code == 401
    assert client.post(url, json={"page": 1, "kind": "aed", "x": 0.1, "y": 0.1}).status_code == 401
    assert client.delete(one).status_code == 401
    db.session.expire_all()
    assert [(m.x, m.y) for m in db.session.query(Marker)] == [(0.5, 0.5)]


def test_reads_by_outsiders_are_in_the_access_log(api, make_user) -> None:
    officer = make_user(Role.OFFICER)
    api["client"].get(f"/api/v1/plans/{api['version'].id}/markers", headers=api["token"](officer))
    api["client"].get(f"/api/v1/plans/{api['version'].id}/markers", headers=api["partner"])
    events = db.session.query(AccessEvent).all()
    assert [(e.user_id, e.action, e.detail) for e in events] == [(officer.id, "view_plan", "markers of version 1")]


def test_carried_markers_are_flagged_and_confirmed_through_the_api(api) -> None:
    client, token, version = api["client"], api["partner"], api["version"]
    client.post(f"/api/v1/plans/{version.id}/markers", headers=token,
                json={"page": 2, "kind": "water_shutoff", "x": 0.3, "y": 0.3})
    new = ready_version(api["building"], "basement")  # carried when it is ready
    (carried,) = client.get(f"/api/v1/plans/{new.id}/markers", headers=token).get_json()["markers"]
    assert carried["needs_confirmation"] is True and carried["carried_from_id"] is not None
    assert (carried["x"], carried["y"], carried["page"]) == (0.3, 0.3, 1)
    refused = client.post(f"/api/v1/plans/{new.id}/publish", headers=token)
    assert refused.status_code == 409 and "not checked yet" in refused.get_json()["error"]
    client.post(f"/api/v1/markers/{carried['id']}/confirm", headers=token)
    assert client.post(f"/api/v1/plans/{new.id}/publish", headers=token).status_code == 200
    record = client.get(f"/api/v1/buildings/{api['building'].id}", headers=token).get_json()
    assert record["plan"]["pages"][0]["markers"][0]["needs_confirmation"] is False


def test_the_openapi_document_describes_the_marker_routes(api) -> None:
    document = api["client"].get("/api/v1/openapi.json", headers=api["partner"]).get_json()
    paths = document["paths"]
    assert set(paths["/plans/{version_id}/markers"]) == {"parameters", "get", "post"}
    assert set(paths["/markers/{marker_id}"]) == {"parameters", "get", "patch", "delete"}
    assert "post" in paths["/markers/{marker_id}/confirm"]
    new = paths["/plans/{version_id}/markers"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert new["required"] == ["page", "kind", "x", "y"]
    assert "door" in new["properties"]["kind"]["enum"] and new["properties"]["side"]["enum"] == ["A", "B", "C", "D", ""]
    assert "number in the PDF" in new["properties"]["page"]["description"]
    schemas = document["components"]["schemas"]
    assert "needs_confirmation" in schemas["Marker"]["properties"]
    assert schemas["PlanVersion"]["properties"]["pages"]["items"]["properties"]["markers"]["items"] == {
        "$ref": "#/components/schemas/Marker"}
