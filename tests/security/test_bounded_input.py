"""Bounded input (floorplans/bounds.py, docs/security.md "Bounded input"): ids no database can
hold are 404 on every route, web and API, in the path, a JSON body or the query string; NUL
and other control characters are 422 in every field and every query string on SQLite and
PostgreSQL; a body over the JSON cap is 413 while a PDF upload keeps its own cap; a very
long search is a clear answer, never a 500; bidirectional controls never reach a page.

Runs on both engines: SQLite refuses to bind a number past 2^63 - 1 (OverflowError) and
PostgreSQL refuses NUL in text, so each engine fails in its own way without the bounds."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from floorplans.bounds import RecordIdConverter
from floorplans.db import db
from floorplans.models import Building, Contact, Role

HUGE_IDS = (2**63, 2**64 + 7, int("9" * 40))
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


@pytest.fixture
def setting(app: Flask, make_user, make_building, browser_for, api_token) -> dict[str, Any]:
    partner = make_user(Role.PARTNER)
    admin = make_user(Role.ADMIN)
    building = make_building(partner.organisation, name="Masjid Al-Noor")
    db.session.add(Contact(building=building, position=1, name="Yusuf Ali", phone="416-555-0101"))
    db.session.commit()
    return {
        "building": building, "partner": partner, "admin": admin,
        "admin_web": browser_for(admin), "partner_web": browser_for(partner),
        "admin_api": api_token(admin), "partner_api": api_token(partner), "client": app.test_client(),
    }


def int_rules(app: Flask) -> list[tuple[str, list[str], list[str]]]:
    """(rule, its int arguments, its methods) of every route that takes an id or a number."""
    found = []
    for rule in app.url_map.iter_rules():
        numbers = [name for name, converter in rule._converters.items() if isinstance(converter, RecordIdConverter)]
        if numbers:
            found.append((rule, numbers, sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})))
    return found


def fill(rule: Any, numbers: list[str], number: int) -> str:
    values = {name: number if name in numbers else "x" for name in rule.arguments}
    path = rule.rule
    for name, value in values.items():
        path = re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?" + name + ">", str(value), path)
    return path


def test_ids_past_the_database_are_404_on_every_route(app: Flask, setting) -> None:
    rules = int_rules(app)
    assert len(rules) > 40, "the URL map's id routes were not found"
    asked = 0
    for rule, numbers, methods in rules:
        for number in HUGE_IDS:
            path = fill(rule, numbers, number)
            for method in methods:
                if path.startswith("/api/"):
                    response = setting["client"].open(path, method=method, headers=setting["admin_api"], json={})
                else:
                    response = setting["admin_web"].client.open(path, method=method, data={
                        "csrf_token": setting["admin_web"].csrf_token or ""})
                asked += 1
                assert response.status_code == 404, (method, path, response.status_code)
                if path.startswith("/api/"):
                    assert "error" in response.get_json()
    assert asked > 200


def test_ids_in_query_strings_and_json_bodies(app: Flask, setting) -> None:
    client, admin, building = setting["client"], setting["admin_api"], setting["building"]
    for number in HUGE_IDS:
        for name in ("version", "exercise"):
            export = "markers.geojson" if name == "version" else "packet.pdf"
            url = f"/api/v1/buildings/{building.id}/export/{export}"
            answer = client.get(f"{url}?{name}={number}", headers=admin)
            assert answer.status_code == 404, (url, answer.get_json())
        created = client.post("/api/v1/buildings", headers=admin, json={
            "organisation_id": number, "name": "Grace Chapel", "street": "1 King St", "city": "Toronto"})
        assert created.status_code == 404, created.get_json()
        # The offline pack leaves out ids no building can have, as it does unreadable ones.
        pack = setting["partner_web"].get(f"/r/offline/pack?ids={number},{building.id}")
        assert pack.status_code == 200 and [b["id"] for b in pack.get_json()["buildings"]] == [building.id]
        # Forms and query strings of the web pages: never a 500 (the error handler's net
        # turns a number SQLite cannot bind into "not found").
        for url in (f"/admin/audit?before={number}", f"/portal/buildings/new?organisation_id={number}"):
            assert setting["admin_web"].get(url).status_code in (200, 404, 422), url
        made = setting["admin_web"].post("/portal/buildings/new", {
            "organisation_id": str(number), "name": "Grace Chapel", "street": "1 King St", "city": "Toronto"})
        assert made.status_code in (404, 422), made.status_code
    assert db.session.scalar(select(func.count()).select_from(Building)) == 1
    not_a_number = client.post("/api/v1/buildings", headers=admin, json={"organisation_id": "one", "name": "x"})
    assert not_a_number.status_code == 422 and "organisation_id" in not_a_number.get_json()["fields"]


@pytest.mark.parametrize("bad", ["Yusuf\x00Ali", "Yusuf\x07Ali", "Yusuf\x85Ali", "Yusuf\x7fAli"])
def test_control_characters_in_a_field_are_422(app: Flask, setting, bad: str) -> None:
    client, token, building = setting["client"], setting["partner_api"], setting["building"]
    url = f"/api/v1/buildings/{building.id}/contacts"
    refused = client.post(url, headers=token, json={"name": bad, "phone": "416-555-0102"})
    assert refused.status_code == 422, refused.get_data(as_text=True)
    assert refused.get_json()["fields"]["name"].startswith("contains a control character (U+")
    notes = client.patch(f"/api/v1/buildings/{building.id}", headers=token, json={"notes": f"Side door\n{bad}"})
    assert notes.status_code == 422 and "notes" in notes.get_json()["fields"]
    # The portal's form: the same refusal, as a page.
    page = setting["partner_web"].post(f"/portal/buildings/{building.id}/edit", {
        "name": bad, "street": "77 Queen Street West", "city": "Toronto", "row_version": building.row_version})
    assert page.status_code == 422 and "control character" in page.get_data(as_text=True)
    db.session.expire_all()
    assert [c.name for c in db.session.get(Building, building.id).contacts] == ["Yusuf Ali"]
    assert db.session.get(Building, building.id).name == "Masjid Al-Noor"


def test_line_breaks_only_where_a_textarea_keeps_them(app: Flask, setting) -> None:
    client, token, building = setting["client"], setting["partner_api"], setting["building"]
    url = f"/api/v1/buildings/{building.id}"
    kept = client.patch(url, headers=token, json={"notes": "Side door\r\n\tkey in the box"})
    assert kept.status_code == 200 and kept.get_json()["notes"] == "Side door\n\tkey in the box"
    one_line = client.patch(url, headers=token, json={"name": "Masjid\nAl-Noor"})
    assert one_line.status_code == 422 and one_line.get_json()["fields"]["name"].startswith("must be one line")


def test_lone_surrogates_and_deep_json_are_422(app: Flask, setting) -> None:
    client, token, building = setting["client"], setting["partner_api"], setting["building"]
    url = f"/api/v1/buildings/{building.id}"
    surrogate = client.patch(url, headers={**token, "Content-Type": "application/json"},
                             data='{"notes": "half of a pair: \\ud800"}')
    assert surrogate.status_code == 422, surrogate.get_data(as_text=True)
    deep = client.patch(url, headers={**token, "Content-Type": "application/json"},
                        data="[" * 50_000 + "]" * 50_000)
    assert deep.status_code == 422 and deep.get_json()["fields"] == {"body": "nests deeper than 32 levels."}


@pytest.mark.parametrize("url", [
    "/r/?q=Masjid%00", "/r/lookup?address=77%20Queen%00St", "/r/offline/pack?city=Tor%00onto",
    "/api/v1/buildings?q=Masjid%00",
])
def test_control_characters_in_query_strings_are_422(app: Flask, setting, url: str) -> None:
    if url.startswith("/api/"):
        answer = setting["client"].get(url, headers=setting["partner_api"])
        assert answer.status_code == 422 and "control character (U+0000)" in answer.get_json()["error"]
    else:
        answer = setting["partner_web"].get(url)
        assert answer.status_code == 422 and "control character (U+0000)" in answer.get_data(as_text=True)


@pytest.mark.slow  # validates an upload in a child process
def test_a_body_over_the_json_cap_is_413_and_uploads_keep_theirs(app: Flask, setting) -> None:
    client, token, building = setting["client"], setting["partner_api"], setting["building"]
    big = json.dumps({"notes": "x" * (300 * 1024)})
    answer = client.patch(f"/api/v1/buildings/{building.id}", headers={**token, "Content-Type": "application/json"},
                          data=big)
    assert answer.status_code == 413
    assert answer.get_json()["error"].startswith("The request is too large: anything but a plan upload may send at "
                                                 "most 256 KB.")
    form = setting["partner_web"].post(f"/portal/buildings/{building.id}/edit", {"notes": "x" * (300 * 1024)})
    assert form.status_code == 413 and "at most 256 KB" in form.get_data(as_text=True)
    # A plan upload (multipart) is held to UPLOAD_MAX_MB instead: a 1 MB file that is not a PDF
    # reaches validation and is refused for what it is.
    upload = client.post(f"/api/v1/buildings/{building.id}/plans", headers=token,
                         data={"file": (io.BytesIO(b"not a pdf " * 100_000), "plan.pdf")})
    assert upload.status_code == 422, upload.get_json()


def test_long_searches_answer_clearly(app: Flask, setting) -> None:
    words = " ".join(["Masjid"] + [f"word{i}" for i in range(1000)])[:7000]
    capped = setting["partner_web"].get(f"/r/?q={words}")
    assert capped.status_code == 200
    found = setting["client"].get(f"/api/v1/buildings?q={words}", headers=setting["partner_api"])
    assert found.status_code == 200
    too_long = setting["partner_web"].get("/r/?q=" + "a" * 10_000)
    assert too_long.status_code == 414 and "too long (at most 8,192 characters)" in too_long.get_data(as_text=True)
    lookup = setting["partner_web"].get("/r/lookup?address=" + "77 Queen " * 1_000)
    assert lookup.status_code == 414


def test_bidirectional_controls_never_reach_the_card(app: Flask, setting, make_user, browser_for) -> None:
    building = setting["building"]
    building.name = "مسجد النور"  # Arabic is right-to-left text of its own: shown as it is
    building.hazards = "Oxygen \u202ecylinders\u202c in the clinic"
    db.session.add(Contact(building=building, position=2, name="\u2067Amina\u2069 Khan", phone="416\u200f-555-0199"))
    db.session.commit()
    officer = browser_for(make_user(Role.OFFICER))
    pages = (officer.get(f"/r/buildings/{building.id}"), setting["partner_web"].get(f"/portal/buildings/{building.id}"))
    for page in pages:
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "مسجد النور" in html
        assert not any(control in html for control in BIDI_CONTROLS)
    card = officer.get(f"/r/buildings/{building.id}").get_data(as_text=True)
    assert "Oxygen cylinders in the clinic" in card and "Amina Khan" in card and "416-555-0199" in card
