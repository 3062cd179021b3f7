"""The partner's marker editor over HTTP: the page, its CSRF-protected JSON routes (place,
move, edit, delete, confirm), who may use them, and the markers in the in-car plan."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from flask import Flask

from floorplans.db import db
from floorplans.marker_kinds import KINDS
from floorplans.models import Marker, Role, VersionState
from tests.conftest import Browser
from tests.floorplans.test_markers import ready_version


@pytest.fixture
def editor(make_user, make_building, browser_for) -> dict[str, Any]:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    version = ready_version(building, "Ground floor", "Basement", publish=True)
    base = f"/portal/buildings/{building.id}/plans/{version.id}/markers"
    return {"partner": partner, "building": building, "version": version, "base": base,
            "browser": browser_for(partner)}


def send(browser: Browser, url: str, body: dict[str, Any] | None = None, *, csrf: bool = True) -> Any:
    """What markers.js does: JSON with the page's CSRF token in X-CSRFToken."""
    if csrf and browser.csrf_token is None:
        browser.get("/account/password")
    headers = {"Accept": "application/json", **({"X-CSRFToken": browser.csrf_token} if csrf else {})}
    return browser.client.post(url, json=body or {}, headers=headers)


def data_pages(page_html: str) -> list[dict[str, Any]]:
    return json.loads(html.unescape(re.search(r"data-pages='([^']*)'", page_html).group(1)))


def test_the_editor_page_and_its_links(editor) -> None:
    browser, building, version = editor["browser"], editor["building"], editor["version"]
    page = browser.get(editor["base"])
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'data-markers-editable="true"' in text and f'data-markers-url="{editor["base"]}"' in text
    assert text.count("data-marker-kind=") == len(KINDS) and 'data-marker-kind="door"' in text
    assert re.search(r'data-marker-sprite="/r/assets/marker-icons\.svg\?v=\w+"', text)
    assert 'data-csrf-token="' in text
    assert [p["label"] for p in data_pages(text)] == ["Ground floor", "Basement"]
    assert "Officers see these markers" in text
    # Reached from the version page and the plans page.
    assert editor["base"] in browser.get(f"/portal/buildings/{building.id}/plans/{version.id}").get_data(as_text=True)
    assert editor["base"] in browser.get(f"/portal/buildings/{building.id}/plans").get_data(as_text=True)


def test_place_move_edit_confirm_and_delete_through_the_editor(editor) -> None:
    browser, base = editor["browser"], editor["base"]
    placed = send(browser, base, {"page": 2, "kind": "door", "x": 0.4, "y": 0.98, "number": 2, "side": "b"})
    assert placed.status_code == 201, placed.get_json()
    marker = placed.get_json()
    assert (marker["page_id"], marker["door"], marker["kind_label"]) == (editor["version"].pages[1].id,
                                                                        "Door 2 (side B)", "Exterior door")
    moved = send(browser, f"{base}/{marker['id']}", {"x": 0.45, "y": 1.03})
    assert moved.status_code == 200 and (moved.get_json()["x"], moved.get_json()["y"]) == (0.45, 1.0)
    edited = send(browser, f"{base}/{marker['id']}", {"label": "Fire exit", "note": "Alarmed", "number": None,
                                                      "side": ""})
    assert edited.get_json()["label"] == "Fire exit" and edited.get_json()["number"] is None
    to_ground = send(browser, f"{base}/{marker['id']}", {"page": 1})
    assert to_ground.get_json()["page_id"] == editor["version"].pages[0].id
    # The editor's page shows it where it is now.
    (ground, basement) = data_pages(browser.get(base).get_data(as_text=True))
    assert [m["label"] for m in ground["markers"]] == ["Fire exit"] and basement["markers"] == []
    assert send(browser, f"{base}/{marker['id']}/confirm").status_code == 200
    deleted = send(browser, f"{base}/{marker['id']}/delete")
    assert deleted.get_json() == {"deleted": marker["id"]}
    assert db.session.get(Marker, marker["id"]) is None


def test_validation_messages_come_back_as_json_fields(editor) -> None:
    browser, base = editor["browser"], editor["base"]
    refused = send(browser, base, {"page": 9, "kind": "aed", "x": 250, "y": 0.5, "label": "L" * 81, "number": 4})
    assert refused.status_code == 422
    body = refused.get_json()
    assert set(body["fields"]) == {"page", "x", "label", "number"}
    assert body["fields"]["page"] == "this plan has no page 9 (it has 2)."
    assert "not pixels" in body["fields"]["x"] and "at most 80" in body["fields"]["label"]
    assert body["fields"]["number"] == "is for exterior doors only, not for “AED (defibrillator)”."
    assert "error" in body
    not_json = browser.client.post(base, data="kind=aed", headers={"X-CSRFToken": browser.csrf_token or "",
                                                                   "Accept": "application/json"})
    assert not_json.status_code == 422 and not_json.get_json()["fields"] == {"body": "must be a JSON object"}
    assert db.session.query(Marker).count() == 0


def test_json_routes_are_csrf_protected(editor) -> None:
    browser, base = editor["browser"], editor["base"]
    refused = send(browser, base, {"page": 1, "kind": "aed", "x": 0.5, "y": 0.5}, csrf=False)
    assert refused.status_code == 400 and "did not come from this site" in refused.get_json()["error"]
    forged = browser.client.post(base, json={"page": 1, "kind": "aed", "x": 0.5, "y": 0.5},
                                 headers={"X-CSRFToken": "forged", "Accept": "application/json"})
    assert forged.status_code == 400
    assert db.session.query(Marker).count() == 0


def test_who_may_use_the_editor(app: Flask, editor, make_user, browser_for) -> None:
    base = editor["base"]
    marker = send(editor["browser"], base, {"page": 1, "kind": "aed", "x": 0.5, "y": 0.5}).get_json()
    for role in (Role.OFFICER, Role.PLANNER):
        reader = browser_for(make_user(role))
        assert reader.get(base).status_code == 403
        assert send(reader, base, {"page": 1, "kind": "aed", "x": 0.2, "y": 0.2}).status_code == 403
        assert send(reader, f"{base}/{marker['id']}", {"x": 0.1}).status_code == 403
        assert send(reader, f"{base}/{marker['id']}/delete").status_code == 403
    stranger = browser_for(make_user(Role.PARTNER))  # another congregation's partner
    assert stranger.get(base).status_code == 404
    for url, body in ((base, {"page": 1, "kind": "aed", "x": 0.2, "y": 0.2}), (f"{base}/{marker['id']}", {"x": 0.1}),
                      (f"{base}/{marker['id']}/delete", {}), (f"{base}/{marker['id']}/confirm", {})):
        assert send(stranger, url, body).status_code == 404, url
    anonymous = Browser(app.test_client())
    assert anonymous.get(base).headers["Location"].startswith("/login")
    assert anonymous.client.post(base, json={}).status_code in (302, 400)
    db.session.expire_all()
    assert [(m.x, m.y) for m in db.session.query(Marker)] == [(0.5, 0.5)]
    admin = browser_for(make_user(Role.ADMIN))
    assert send(admin, f"{base}/{marker['id']}", {"x": 0.3}).status_code == 200


def test_a_marker_of_another_version_is_not_found_through_this_one(editor) -> None:
    browser, base = editor["browser"], editor["base"]
    other = ready_version(editor["building"], "Ground floor")
    marker = send(browser, base.replace(f"/plans/{editor['version'].id}/", f"/plans/{other.id}/"),
                  {"page": 1, "kind": "aed", "x": 0.5, "y": 0.5}).get_json()
    assert send(browser, f"{base}/{marker['id']}", {"x": 0.1}).status_code == 404


def test_an_unready_version_has_no_editor(editor) -> None:
    version = ready_version(editor["building"], "Ground floor")
    version.state = VersionState.RENDERING.value
    db.session.commit()
    base = f"/portal/buildings/{editor['building'].id}/plans/{version.id}/markers"
    page = editor["browser"].get(base).get_data(as_text=True)
    assert "Markers go on a plan once it is ready" in page and "data-plan" not in page
    refused = send(editor["browser"], base, {"page": 1, "kind": "aed", "x": 0.5, "y": 0.5})
    assert refused.status_code == 409


def test_flagged_markers_are_counted_on_the_editor(editor) -> None:
    browser, base = editor["browser"], editor["base"]
    for x in (0.1, 0.2, 0.3):
        send(browser, base, {"page": 1, "kind": "extinguisher", "x": x, "y": 0.5})
    new = ready_version(editor["building"], "Ground floor", "Basement")  # carried when it is ready
    new_base = f"/portal/buildings/{editor['building'].id}/plans/{new.id}/markers"
    text = browser.get(new_base).get_data(as_text=True)
    assert "3 markers carried over from version 1 need checking." in text
    ground = data_pages(text)[0]
    assert [m["needs_confirmation"] for m in ground["markers"]] == [True, True, True]
    assert send(browser, f"{new_base}/{ground['markers'][0]['id']}/confirm").get_json()["needs_confirmation"] is False
    assert "2 markers carried over from version 1 need checking." in browser.get(new_base).get_data(as_text=True)
    # No "all are right" shortcut: each one is looked at, on the plan.
    assert send(browser, f"{new_base}/confirm").status_code == 404
    assert "All are in the right place" not in browser.get(new_base).get_data(as_text=True)
    for marker in ground["markers"][1:]:
        assert send(browser, f"{new_base}/{marker['id']}/confirm").status_code == 200
    assert "carried over" not in re.sub(r"<p[^>]*data-flagged[^>]*hidden.*?</p>", "", browser.get(new_base)
                                        .get_data(as_text=True), flags=re.S)


def test_the_in_car_plan_draws_the_published_markers_with_a_toggle_and_legend(editor, make_user, browser_for) -> None:
    base = editor["base"]
    send(editor["browser"], base, {"page": 1, "kind": "door", "x": 0.5, "y": 0.95, "number": 1, "side": "A",
                                   "label": "Main <entrance>"})
    send(editor["browser"], base, {"page": 2, "kind": "gas_shutoff", "x": 0.1, "y": 0.2})
    officer = browser_for(make_user(Role.OFFICER))
    text = officer.get(f"/r/buildings/{editor['building'].id}/plan").get_data(as_text=True)
    ground, basement = data_pages(text)
    (door,) = ground["markers"]
    assert {k: door[k] for k in ("kind", "x", "y", "number", "side", "label", "note", "needs_confirmation")} == {
        "kind": "door", "x": 0.5, "y": 0.95, "number": 1, "side": "A", "label": "Main <entrance>", "note": "",
        "needs_confirmation": False}
    assert "Main <entrance>" not in text  # escaped in the page
    assert [m["kind"] for m in basement["markers"]] == ["gas_shutoff"]
    assert 'data-markers-toggle aria-pressed="true"' in text
    legend = re.findall(r'data-legend-kind="(\w+)"', text)
    assert legend == ["door", "gas_shutoff"]  # the catalogue's order
    assert "js/markers.js" in text and "css/markers.css" in text
    # A ready version not published: its markers are the partner's draft, not in the car.
    draft = ready_version(editor["building"], "Ground floor")
    send(editor["browser"], f"/portal/buildings/{editor['building'].id}/plans/{draft.id}/markers",
         {"page": 1, "kind": "hazard", "x": 0.5, "y": 0.5})
    text = officer.get(f"/r/buildings/{editor['building'].id}/plan").get_data(as_text=True)
    assert "hazard" not in re.findall(r'data-legend-kind="(\w+)"', text)


def test_a_plan_without_markers_has_no_marker_tools(editor, make_user, browser_for) -> None:
    officer = browser_for(make_user(Role.OFFICER))
    text = officer.get(f"/r/buildings/{editor['building'].id}/plan").get_data(as_text=True)
    assert "data-markers-toggle" not in text and "data-marker-legend" not in text


def test_the_icon_sprite_is_public_cached_and_in_the_offline_shell(app: Flask, editor) -> None:
    text = editor["browser"].get(editor["base"]).get_data(as_text=True)
    url = html.unescape(re.search(r'data-marker-sprite="([^"]+)"', text).group(1))
    anonymous = app.test_client()
    sprite = anonymous.get(url, headers={"Accept-Encoding": "gzip"})
    assert sprite.status_code == 200 and sprite.mimetype == "image/svg+xml"
    assert sprite.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert sprite.headers["Content-Encoding"] == "gzip"
    assert anonymous.get(url.split("?")[0]).headers["Cache-Control"] == "no-cache"
    worker = anonymous.get("/r/sw.js").get_data(as_text=True)
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", worker).group(1))
    assert url in shell and any("js/markers.js" in u for u in shell) and any("css/markers.css" in u for u in shell)


def test_the_version_and_plans_pages_say_when_carried_markers_need_checking(editor) -> None:
    browser, building = editor["browser"], editor["building"]
    send(browser, editor["base"], {"page": 1, "kind": "aed", "x": 0.5, "y": 0.5})
    new = ready_version(building, "Ground floor")
    version_page = browser.get(f"/portal/buildings/{building.id}/plans/{new.id}").get_data(as_text=True)
    assert "1 carried over from version 1 waits for you to look at it on the plan" in version_page
    assert "1 marker carried over from the current plan is not checked yet" in version_page
    assert "1 to check" in browser.get(f"/portal/buildings/{building.id}/plans").get_data(as_text=True)
    old_page = browser.get(f"/portal/buildings/{building.id}/plans/{editor['version'].id}").get_data(as_text=True)
    assert "needs checking" not in old_page
