"""Every route x every kind of visitor.  The matrix is built from the app's URL map, so a
new route is checked the day it is added, and one without a declared permission cannot
even start (create_app refuses it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.routing import Rule

from blueprints.response.assets import LEAFLET_VERSION
from floorplans import objects
from floorplans.auth import declared_permission
from floorplans.db import db, utcnow
from floorplans.models import (
    AccountLink,
    ApiToken,
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
from floorplans.permissions import ROLE_PERMISSIONS, Permission
from floorplans.representations import building_record
from floorplans.services import account_links, imports
from tests.conftest import Browser

VISITORS = ["anonymous", "partner_own", "partner_other", "officer", "planner", "planner_other", "admin"]


@dataclass
class World:
    ids: dict[str, int | str]
    browsers: dict[str, Browser]
    tokens: dict[str, dict[str, str]]


@pytest.fixture
def world(app: Flask, make_organisation, make_user, make_building, browser_for, api_token) -> World:
    own, other = make_organisation("Gurdwara Sahib"), make_organisation("St. Mary's Parish")
    building = make_building(own)
    # Two of each: the web and the API each delete their own.
    contacts = [Contact(building=building, name=f"Caretaker {n}", phone="416-555-0100", position=n) for n in (1, 2)]
    gatherings = [
        Gathering(building=building, label=f"Langar {n}", weekday=6, start_time=dt.time(11), end_time=dt.time(14))
        for n in (1, 2)
    ]
    db.session.add_all(contacts + gatherings)
    version = PlanVersion(building=building, number=1, state=VersionState.READY.value, original_sha256="0" * 64,
                          original_bytes=1, page_count=1,
                          pages=[PlanPage(number=1, position=1, label="Ground floor", width=256, height=256,
                                          tile_size=256, max_zoom=0)])
    db.session.add(version)
    db.session.flush()
    building.published_version_id = version.id  # so the exports have a page to export
    version.published_at = utcnow()
    store = objects.get_storage()
    store.put(objects.tile_key(version.key, 1, 0, 0, 0), b"RIFF-tile")
    store.put(objects.overview_key(version.key, 1), b"RIFF-overview")
    db.session.commit()
    users = {
        "partner_own": make_user(Role.PARTNER, own),
        "partner_other": make_user(Role.PARTNER, other),
        "officer": make_user(Role.OFFICER),
        "planner": make_user(Role.PLANNER),
        "planner_other": make_user(Role.PLANNER),  # not a member of the exercise: it does not exist for them
        "admin": make_user(Role.ADMIN),
    }
    exercise = Exercise(name="Fire drill", created_by=users["planner"], buildings=[building],
                        planners=[users["planner"]])
    item = ExerciseItem(exercise=exercise, building_id=building.id, page=version.pages[0], shape="area",
                        points=[[0.1, 0.1], [0.5, 0.1], [0.3, 0.4]], colour="#2563eb")
    db.session.add_all([exercise, item])
    # Two markers: the portal and the API each delete their own.
    markers = [Marker(building_id=building.id, page=version.pages[0], kind="aed", x=0.5, y=0.5) for _ in (1, 2)]
    db.session.add_all(markers)
    # Two photos of an entrance (the portal and the API each delete their own), their sizes stored.
    photos = [Photo(building_id=building.id, subject="entrance", token=f"{n:032x}", width=10, height=10,
                    sizes=[{"size": 320, "width": 10, "height": 10, "bytes": 9}]) for n in (1, 2)]
    db.session.add_all(photos)
    for photo in photos:
        store.put(objects.photo_key(building.id, photo.token, 320), b"RIFF-photo")
    db.session.commit()
    browsers = {"anonymous": Browser(app.test_client())}
    tokens: dict[str, dict[str, str]] = {"anonymous": {}}
    for name, user in users.items():
        browsers[name] = browser_for(user)
        tokens[name] = api_token(user)
    # Spare tokens to revoke: the officer's on the admin page, the admin's own through the API
    # (where anyone else's is "not found").
    api_token(users["officer"])
    api_token(users["admin"])
    officer_spare, admin_spare = (db.session.scalars(select(ApiToken).where(ApiToken.user_id == users[name].id)
                                                     .order_by(ApiToken.id.desc())).first()
                                  for name in ("officer", "admin"))
    account_links.invite(email="invited@example.org", name="", role="partner", organisation=own, by=users["admin"])
    db.session.commit()
    invitation = db.session.scalars(select(AccountLink)).one()
    ids = {
        "building_id": building.id,
        "contact_id": contacts[0].id,
        "gathering_id": gatherings[0].id,
        "api_contact_id": contacts[1].id,
        "api_gathering_id": gatherings[1].id,
        "organisation_id": own.id,
        "user_id": users["officer"].id,
        "version_id": version.id,
        "version_key": version.key,
        "exercise_id": exercise.id,
        "item_id": item.id,
        "marker_id": markers[0].id,
        "api_marker_id": markers[1].id,
        "photo_id": photos[0].id,
        "api_photo_id": photos[1].id,
        "photo_token": photos[0].token,
        "api_photo_token": photos[1].token,
        "size": 320,
        "token_id": officer_spare.id,
        "link_id": invitation.id,
        # A CSV import waiting for its preview (the admin's import pages; another's link
        # token it is not: the e-mailed links' pages still answer 404 to it).
        "token": imports.stage(b"name,street,city\nSt. Mary's,12 King Street,Oakville\n", "region.csv"),
        "api_token_id": admin_spare.id,
        "page": 1,
        "z": 0,
        "x": 0,
        "y": 0,
        "leaflet_version": LEAFLET_VERSION,
        "leaflet_path": "leaflet.js",
    }
    return World(ids, browsers, tokens)


def requests_of(app: Flask) -> list[tuple[Rule, str]]:
    """Every (rule, method), reads first, then writes, deletions and sign-out last so that
    one request never removes what a later one needs."""
    pairs = [
        (rule, method) for rule in app.url_map.iter_rules() for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]

    def order(pair: tuple[Rule, str]) -> tuple[int, str]:
        rule, method = pair
        if rule.endpoint == "auth.logout":
            return (4, rule.rule)
        if method == "DELETE":
            return (3, rule.rule)
        if "delete" in rule.endpoint:
            return (2, rule.rule)
        return (0 if method == "GET" else 1, rule.rule)

    return sorted(pairs, key=order)


def url_for_rule(rule: Rule, ids: dict[str, int | str]) -> str:
    prefix = "api_" if rule.rule.startswith("/api/") else ""
    values = {name: ids.get(prefix + name, ids.get(name, "css/portal.css")) for name in rule.arguments}
    return rule.build(values, append_unknown=False)[1]  # type: ignore[index]


def expected(app: Flask, rule: Rule, visitor: str) -> str:
    required = declared_permission(app, rule.endpoint)
    assert required is not None, f"{rule.endpoint} declares no permission"
    if required is Permission.PUBLIC:
        # An e-mailed link's page with a made-up token: the one answer, 404, for anyone.
        if rule.endpoint.startswith("account_links.") and "token" in rule.arguments:
            return "not found"
        # Agency sign-in is off in this world (no OIDC_ISSUER): its pages are not there.
        # tests/test_oidc.py runs them against a real provider.
        return "not found" if rule.endpoint in {"auth.agency_login", "auth.agency_callback"} else "allowed"
    if visitor == "anonymous":
        return "sign in"
    role = Role(visitor.split("_")[0])
    if required not in ROLE_PERMISSIONS[role]:
        return "forbidden"
    if visitor == "partner_other" and rule.arguments & {"building_id", "version_id", "version_key", "marker_id",
                                                        "link_id", "photo_id"}:
        return "not found"
    if visitor == "planner_other" and "exercise_id" in rule.arguments:
        return "not found"
    if visitor != "admin" and "token_id" in rule.arguments:  # the admin's token: others' are not found
        return "not found"
    return "allowed"


def outcome(status: int, location: str, is_api: bool) -> str:
    if status == 401 or (status == 302 and location.startswith("/login?next=") and not is_api):
        return "sign in"
    if status == 403:
        return "forbidden"
    if status == 404:
        return "not found"
    return "allowed"


@pytest.mark.parametrize("visitor", VISITORS)
def test_route_matrix(app: Flask, world: World, visitor: str) -> None:
    browser, token = world.browsers[visitor], world.tokens[visitor]
    with app.test_request_context():  # the record's JSON holds tile URLs
        before = building_record(db.session.get(Building, world.ids["building_id"]))
    mismatches = []
    checked = 0
    for rule, method in requests_of(app):
        url = url_for_rule(rule, world.ids)
        is_api = url.startswith("/api/")
        if is_api:
            response = browser.client.open(url, method=method, headers=token, json={})
            response.close()
        elif method == "GET":
            response = browser.get(url)
        else:
            response = browser.post(url, {})
        want = expected(app, rule, visitor)
        got = outcome(response.status_code, response.headers.get("Location", ""), is_api)
        if declared_permission(app, rule.endpoint) is Permission.PUBLIC and response.status_code == 401:
            got = "allowed"  # the login form's own answer to wrong credentials
        checked += 1
        if got != want:
            mismatches.append(f"{method} {url}: expected {want}, got {response.status_code}")
        if is_api and response.status_code >= 400:
            assert response.is_json and "error" in response.get_json(), url
    assert checked >= 30
    assert mismatches == []
    if visitor in ("anonymous", "partner_other", "officer", "planner", "planner_other"):
        db.session.expire_all()
        with app.test_request_context():
            after = building_record(db.session.get(Building, world.ids["building_id"]))
        assert after == before, "a visitor without edit rights changed the record"


def test_matrix_catches_an_open_route(app: Flask) -> None:
    """The check itself must be able to fail: a route answering 200 to everyone is seen."""
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == "admin.index")
    assert expected(app, rule, "officer") == "forbidden"
    assert outcome(200, "", False) == "allowed"


def test_a_route_without_permission_stops_the_app(app_config) -> None:
    from flask import Blueprint

    import floorplans

    original = floorplans.create_app

    def sneaky() -> Flask:
        app = original(app_config)
        return app

    app = sneaky()
    bp = Blueprint("sneaky", __name__)

    @bp.route("/sneaky")
    def open_route() -> str:
        return "secret"

    app.register_blueprint(bp)
    response = app.test_client().get("/sneaky")
    assert response.status_code == 403
