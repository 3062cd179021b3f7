"""Strict separation between congregations: a partner of one congregation tries well over
a thousand id combinations of another's buildings, contacts, gatherings, plan versions,
pages and tiles (their own building id paired with the other's children too), on every
route of the URL map that takes them, through the web and the API, with valid-looking
data, plus the searches, lookups and offline packs that take ids in the query string.
Nothing answers 2xx, no answer carries the other congregation's data, and nothing changes.

Runs on SQLite only (this module overrides ``database_url``): separation is decided in Python
(services.buildings.get_readable and friends) on the same queries for both databases, and
the sweep is ~1,200 requests; the route matrix covers every route on PostgreSQL too."""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import Rule

from floorplans import objects
from floorplans.db import db
from floorplans.models import (
    Building,
    Contact,
    Exercise,
    ExerciseItem,
    Gathering,
    Marker,
    Photo,
    PlanPage,
    PlanVersion,
    Role,
    VersionState,
)
from floorplans.representations import building_record
from floorplans.services import tokens
from tests.blueprints.test_permissions import requests_of
from tests.conftest import Browser

MARKERS = ("Victim Hall", "VictimContact", "416-555-0911", "victim-page", "VICTIM-TILE")  # never echoed from a query
# Non-id arguments of routes, with any harmless value; an *id* argument (…_id, …_key) that
# is not in ``Tenants.pools`` fails the test, so a new kind of record is added here on purpose.
PLAIN_ARGUMENTS = {"page": [1, 2], "z": [0], "x": [0], "y": [0], "filename": ["css/portal.css"], "size": [320],
                   "leaflet_version": ["0"], "leaflet_path": ["leaflet.js"]}  # fmt: skip
WEB_FORM = {"name": "Pwned", "street": "1 Pwned Street", "city": "Pwnville", "phone": "555-0100",
            "label": "Pwned", "weekday": "1", "start_time": "10:00", "end_time": "11:00", "direction": "up",
            "row_version": "1"}  # fmt: skip
API_BODY = {"name": "Pwned", "phone": "555-0100", "label": "Pwned"}


@dataclass
class Tenants:
    attacker: Browser
    token: dict[str, str]
    pools: dict[str, list[Any]]
    victim_ids: list[int]

    def snapshot(self, app: Flask) -> list[Any]:
        db.session.expire_all()
        with app.test_request_context():  # the record's JSON holds tile URLs
            return [self._state(building_id) for building_id in self.victim_ids]

    @staticmethod
    def _state(building_id: int) -> Any:
        building = db.session.get(Building, building_id)
        pages = [(v.id, v.state, [(p.label, p.position) for p in v.pages]) for v in building.plan_versions]
        kept = [(p.id, p.token, p.caption) for p in db.session.query(Photo).filter_by(building_id=building_id)]
        return (building_record(building), building.published_version_id, building.row_version, pages, kept)


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "floorplans.sqlite3"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def tenants(app: Flask, make_organisation, make_user, make_building, browser_for, api_token):  # type: ignore[no-untyped-def]
    victim_org, attacker_org = make_organisation("Victim Congregation"), make_organisation("Attacker Congregation")
    store = objects.get_storage()
    pools: dict[str, list[Any]] = {k: [] for k in ("building_id", "contact_id", "gathering_id", "version_id",
                                                   "version_key", "organisation_id", "user_id", "exercise_id",
                                                   "item_id", "marker_id", "photo_id", "photo_token")}
    for n in range(4):
        building = make_building(victim_org, name=f"Victim Hall {n}", street=f"{n + 1} Victim Lane",
                                 city="Victimville", latitude=45.0 + n / 1000, longitude=-75.0)
        for m in range(4):
            db.session.add(Contact(building=building, name=f"VictimContact {n}.{m}", phone="416-555-0911",
                                   position=m + 1))
            db.session.add(Gathering(building=building, label=f"Victim prayers {m}", weekday=m,
                                     start_time=dt.time(9), end_time=dt.time(10)))
        for number in (1, 2):
            version = PlanVersion(
                building=building, number=number, state=VersionState.READY.value, original_sha256="0" * 64,
                original_bytes=1, page_count=2,
                pages=[PlanPage(number=p, position=p, label=f"victim-page {p}", width=256, height=256,
                                tile_size=256, max_zoom=0) for p in (1, 2)],
            )
            db.session.add(version)
            db.session.flush()
            for p in (1, 2):
                store.put(objects.tile_key(version.key, p, 0, 0, 0), b"VICTIM-TILE")
                store.put(objects.overview_key(version.key, p), b"VICTIM-TILE")
            marker = Marker(building_id=building.id, page=version.pages[0], kind="aed", x=0.5, y=0.5,
                            label=f"Victim Hall AED {number}")
            db.session.add(marker)
            db.session.flush()
            pools["marker_id"].append(marker.id)
            building.published_version_id = version.id
        # A photo of an entrance, its stored size the victim's (served, it would be seen).
        photo = Photo(building_id=building.id, subject="entrance", caption=f"Victim Hall door {n}",
                      token=f"{n + 1:032x}", width=10, height=10,
                      sizes=[{"size": 320, "width": 10, "height": 10, "bytes": 11}])
        db.session.add(photo)
        store.put(objects.photo_key(building.id, photo.token, 320), b"VICTIM-TILE")
        db.session.commit()
        pools["photo_id"].append(photo.id)
        pools["photo_token"].append(photo.token)
        pools["building_id"].append(building.id)
        pools["contact_id"] += [c.id for c in building.contacts]
        pools["gathering_id"] += [g.id for g in building.gatherings]
        pools["version_id"] += [v.id for v in building.plan_versions]
        pools["version_key"] += [v.key for v in building.plan_versions]
    victim_ids = list(pools["building_id"])
    # A planners' exercise over a victim building: partners have no business with exercises at all.
    victim = db.session.get(Building, victim_ids[0])
    exercise = Exercise(name="Victim Hall drill", buildings=[victim])
    db.session.add(ExerciseItem(exercise=exercise, building_id=victim.id, page=victim.published_version.pages[0],
                                shape="note", points=[[0.5, 0.5]], label="Victim Hall note"))
    db.session.commit()
    pools["exercise_id"].append(exercise.id)
    pools["item_id"] += [item.id for item in exercise.items]
    own = make_building(attacker_org, name="Attacker Hall")
    pools["building_id"].append(own.id)  # own building, other's children: the classic IDOR pair
    pools["organisation_id"].append(victim_org.id)
    partner = make_user(Role.PARTNER, victim_org)
    pools["user_id"].append(partner.id)
    api_token(partner)  # the victim's integration: its token is "not found" to the attacker
    pools["token_id"] = [t.id for t in tokens.tokens_of(partner)]
    attacker = make_user(Role.PARTNER, attacker_org)
    return Tenants(browser_for(attacker), api_token(attacker), pools, victim_ids)


def combinations(rule: Rule, pools: dict[str, list[Any]]) -> list[dict[str, Any]]:
    names = sorted(rule.arguments)
    unknown = [n for n in names if n not in pools and n not in PLAIN_ARGUMENTS]
    assert not unknown, f"{rule.rule}: add victim values for {unknown} to the cross-tenant test"
    choices = [pools.get(n) or PLAIN_ARGUMENTS[n] for n in names]
    found = [dict(zip(names, values, strict=True)) for values in itertools.product(*choices)]
    own = pools["building_id"][-1]
    # A combination naming nothing of the victim's (only the attacker's own building) proves nothing.
    return [c for c in found if any(k in pools for k in c) and not (set(c) & set(pools) == {"building_id"}
                                                                     and c["building_id"] == own)]


def leaked(body: bytes) -> list[str]:
    text = body.decode("utf-8", "replace")
    return [m for m in MARKERS if m in text]


@pytest.mark.slow  # renders plans in child processes
def test_a_partner_reaches_nothing_of_another_congregation(app: Flask, tenants: Tenants) -> None:
    before = tenants.snapshot(app)
    browser, client = tenants.attacker, tenants.attacker.client
    tried, problems = 0, []
    for rule, method in requests_of(app):
        if not set(rule.arguments) & set(tenants.pools) or rule.endpoint == "auth.logout":
            continue
        is_api = rule.rule.startswith("/api/")
        for values in combinations(rule, tenants.pools):
            url = rule.build(values, append_unknown=False)[1]  # type: ignore[index]
            if is_api:
                body = API_BODY if method in ("POST", "PATCH") else None
                response = client.open(url, method=method, headers=tenants.token, json=body)
            elif method == "GET":
                response = browser.get(url)
            else:
                response = browser.post(url, WEB_FORM)
            tried += 1
            data = response.get_data()
            if response.status_code not in (403, 404) or leaked(data):
                problems.append(f"{method} {url}: {response.status_code} {leaked(data)}")
            response.close()
    print(f"cross-tenant: {tried} combinations")
    assert tried >= 1000, f"only {tried} combinations were tried"
    assert problems == []
    assert tenants.snapshot(app) == before, "a partner changed another congregation's records"


def test_searches_lookups_and_offline_packs_show_nothing_of_another_congregation(app, tenants: Tenants) -> None:
    browser, token = tenants.attacker, tenants.token
    ids = ",".join(str(i) for i in tenants.victim_ids)
    probes = [
        ("web", "/portal/?q=Victim"), ("web", "/r/?q=Victim"), ("web", "/r/?q=Victimville"),
        ("web", "/r/lookup?address=1 Victim Lane, Victimville"), ("web", "/r/nearest?lat=45.0&lon=-75.0"),
        ("web", f"/r/offline/pack?ids={ids}"), ("web", "/r/offline/pack?city=Victimville"),
        ("web", "/r/offline/pack?q=Victim"), ("api", "/api/v1/buildings?q=Victim"), ("api", "/api/v1/buildings"),
    ]  # fmt: skip
    problems = []
    for channel, url in probes:
        if channel == "api":
            response = browser.client.get(url, headers=token)
        else:
            response = browser.get(url)
        if response.status_code == 404 and url.startswith(("/r/lookup", "/r/nearest", "/r/offline")):
            continue  # a route another change removed: nothing to check
        if leaked(response.get_data()) or (response.status_code == 302 and "buildings/" in response.location):
            problems.append(f"{url}: {response.status_code} {leaked(response.get_data())}")
    assert problems == []


def test_the_sweep_sees_a_leak(app: Flask) -> None:
    """The check must be able to fail: a body naming the victim is seen."""
    assert leaked(b"<h1>Victim Hall 2</h1>") == ["Victim Hall"]
    assert leaked(b"nothing here") == []
