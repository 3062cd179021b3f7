"""Every admin, portal, exercise and account form, given invalid input, answers 422 with the
form again: what was typed still in it, the field's message beside it, never a 500.

The forms are found in the app's URL map: a new POST route under these prefixes fails
``test_every_form_has_a_case`` until it gets a case here (or is listed as a button with
nothing typed in it, or a JSON route, which must still never answer 500)."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask

from floorplans.db import db, utcnow
from floorplans.models import (
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
from floorplans.models.accounts import LinkKind
from floorplans.services import account_links
from tests.conftest import PASSWORD, Browser

PREFIXES = ("/admin", "/portal", "/exercises", "/account", "/invitation", "/password-reset", "/forgot-password")


@dataclass(frozen=True)
class Case:
    """One invalid submission: who sends it, to which URL (with the world's ids), what it
    sends, what must come back typed in the form, the status that is the rule, and the
    field's message."""

    id: str
    endpoint: str
    who: str
    url: str
    data: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]
    typed: tuple[str, ...] = ()
    message: str = ""
    status: int = 422
    files: dict[str, Any] = field(default_factory=dict)


CASES = [
    Case("organisation added without a tradition", "admin.organisations", "admin", "/admin/organisations",
         {"name": "Typed Gospel Hall", "faith_tradition": ""}, ("Typed Gospel Hall",), "is required"),
    Case("organisation renamed to another's name", "admin.organisation", "admin",
         "/admin/organisations/{organisation_id}",
         {"name": "Other Congregation", "faith_tradition": "Jewish"}, ("Other Congregation",),
         "another organisation already has this name"),
    Case("account with an e-mail already taken", "admin.users", "admin", "/admin/users",
         lambda ids: {"email": ids["officer_email"], "name": "Typed Person", "role": "officer",
                      "password": "correct horse battery staple 93"},
         ("Typed Person",), "already has an account"),
    Case("account with a short password", "admin.users", "admin", "/admin/users",
         {"email": "typed.new@example.org", "name": "Typed Person", "role": "planner", "password": "short"},
         ("typed.new@example.org", "Typed Person"), "at least 12"),
    Case("partner account without a congregation", "admin.users", "admin", "/admin/users",
         {"email": "typed.partner@example.org", "name": "Typed Partner", "role": "partner", "organisation_id": "",
          "password": "correct horse battery staple 93"},
         ("typed.partner@example.org", "Typed Partner", 'value="partner" selected'), "is required for a partner"),
    Case("account made a partner without a congregation", "admin.user", "admin", "/admin/users/{officer_id}",
         {"name": "Typed Renamed", "role": "partner", "organisation_id": "", "active": "1"},
         ("Typed Renamed", 'value="partner" selected'), "is required for a partner"),
    Case("account given a short password", "admin.user", "admin", "/admin/users/{officer_id}",
         lambda ids: {"name": "Typed Renamed", "role": "planner", "organisation_id": str(ids["organisation_id"]),
                      "active": "1", "new_password": "short"},
         ("Typed Renamed", 'value="planner" selected'), "at least 12"),
    Case("building without a street", "partners.new_building", "partner", "/portal/buildings/new",
         {"name": "Typed Temple", "street": "", "city": "Typed City"}, ("Typed Temple", "Typed City"), "is required"),
    Case("building with a bad latitude", "partners.edit_building", "partner", "/portal/buildings/{building_id}/edit",
         lambda ids: {"name": "Typed Temple", "street": "1 Typed Street", "city": "Toronto", "latitude": "north",
                      "row_version": str(ids["row_version"])},
         ("Typed Temple", "1 Typed Street", "north"), "Latitude"),
    Case("contact with a bad phone", "partners.contacts", "partner", "/portal/buildings/{building_id}/contacts",
         {"name": "Typed Caretaker", "phone": "call me maybe"}, ("Typed Caretaker", "call me maybe"),
         "is not a phone number"),
    Case("contact changed to a bad phone", "partners.edit_contact", "partner",
         "/portal/buildings/{building_id}/contacts/{contact_id}",
         {"name": "Typed Caretaker", "phone": "call me maybe"}, ("Typed Caretaker", "call me maybe"),
         "is not a phone number"),
    Case("gathering with a bad time", "partners.gatherings", "partner", "/portal/buildings/{building_id}/gatherings",
         {"label": "Typed Vigil", "start_time": "25:99", "end_time": "23:00"}, ("Typed Vigil", "25:99"), "Starts"),
    Case("gathering changed to a bad time", "partners.edit_gathering", "partner",
         "/portal/buildings/{building_id}/gatherings/{gathering_id}",
         {"label": "Typed Vigil", "start_time": "25:99", "end_time": "23:00"}, ("Typed Vigil", "25:99"), "Starts"),
    Case("plan that is not a PDF", "partners.plans", "partner", "/portal/buildings/{building_id}/plans",
         {}, ("typed-floor-plan.txt",), "PDF", files={"file": (b"not a pdf at all", "typed-floor-plan.txt")}),
    Case("photo that is not a photo", "partners.photos", "partner", "/portal/buildings/{building_id}/photos",
         {"subject": "entrance", "caption": "Typed door 3, side C"}, ("Typed door 3, side C", "typed-door.txt"),
         "not a photo we can read", files={"file": (b"not a photo at all", "typed-door.txt")}),
    Case("photo caption too long", "partners.change_photo", "partner",
         "/portal/buildings/{building_id}/photos/{photo_id}", {"caption": "Typed caption " + "x" * 200},
         ("Typed caption " + "x" * 200,), "too long"),
    Case("sheet with no name", "partners.plan_pages", "partner",
         "/portal/buildings/{building_id}/plans/{version_id}/pages",
         lambda ids: {f"label-{ids['page_id']}": "", f"position-{ids['page_id']}": "1",
                      f"north-{ids['page_id']}": "sideways"},
         ("sideways",), "is required"),
    Case("exercise without a name", "planning.new", "planner", "/exercises/new",
         {"name": "", "description": "Typed scenario: a flood"}, ("Typed scenario: a flood",), "is required"),
    Case("exercise renamed to nothing", "planning.edit", "planner", "/exercises/{exercise_id}/edit",
         {"name": "", "description": "Typed scenario: a flood"}, ("Typed scenario: a flood",), "is required"),
    Case("planner added without an address", "planning.add_planner", "planner", "/exercises/{exercise_id}/planners",
         {"email": "  "}, (), "e-mail address"),
    Case("exercise closed without confirming", "planning.close", "planner", "/exercises/{exercise_id}/close",
         {}, (), "confirm"),
    Case("buildings import of a file that is not a list", "admin.import_upload", "admin", "/admin/import",
         {}, ("typed-list.csv",), "", files={"file": (b"\x00\x01\x02 not a list", "typed-list.csv")}),
    Case("invitation to an address with an account", "invitations.admin_invitations", "admin", "/admin/invitations",
         lambda ids: {"email": ids["officer_email"], "name": "Typed Invitee", "role": "officer"},
         ("Typed Invitee",), "already has an account"),
    Case("partner's invitation to no address", "invitations.people", "partner", "/portal/people",
         {"email": "typed-not-an-address", "name": "Typed Helper"}, ("typed-not-an-address", "Typed Helper"),
         "is not an e-mail address"),
    Case("forgot password without an address", "account_links.forgot_password", "anonymous", "/forgot-password",
         {"email": "typed-not-an-address"}, ("typed-not-an-address",), "type the e-mail address"),
    Case("reset to a short password", "account_links.reset_password", "anonymous", "/password-reset/{reset_token}",
         {"password": "short", "confirm_password": "short"}, (), "at least 12"),
    Case("invitation accepted with a short password", "account_links.accept_invitation", "anonymous",
         "/invitation/{invitation_token}", {"password": "short", "confirm_password": "short"}, (), "at least 12"),
    Case("password changed to a short one", "auth.change_password", "officer", "/account/password",
         {"current_password": PASSWORD, "new_password": "short", "confirm_password": "short"}, (), "at least 12"),
    Case("two-factor turned on with a wrong code", "auth.two_factor", "officer", "/account/two-factor",
         {"action": "enable", "code": "000000x"}, (), "code"),
]

#: POST routes with nothing typed in them (a button, hidden ids, ticked boxes: a stale
#: choice is answered by a message on the page it returns to) and the JSON routes of the
#: drawing tools; they are still sent nonsense below and must not answer 500.
NOT_TYPED = {
    "admin.review": "ticked changes to mark reviewed",
    "admin.revoke_token": "a button",
    "admin.reset_two_factor": "a button",
    "admin.unlock_user": "a button",
    "partners.delete_contact": "a button",
    "partners.move_contact": "up/down buttons",
    "partners.delete_gathering": "a button",
    "partners.delete_plan": "a button",
    "partners.delete_photo": "a button",
    "partners.publish_plan": "a button",
    "partners.verify": "a button",
    "partners.place_marker": "JSON (the marker editor)",
    "partners.change_marker": "JSON (the marker editor)",
    "partners.confirm_marker": "JSON (the marker editor)",
    "partners.delete_marker": "JSON (the marker editor)",
    "planning.add_building": "a button per search result",
    "planning.remove_building": "a button",
    "planning.remove_planner": "a button",
    "planning.reopen": "a button",
    "planning.add_item": "JSON (the drawing tools)",
    "planning.update_item": "JSON (the drawing tools)",
    "planning.delete_item": "JSON (the drawing tools)",
    "admin.import_confirm": "a button",
    "invitations.admin_resend": "a button",
    "invitations.admin_revoke": "a button",
    "invitations.resend": "a button",
    "invitations.revoke": "a button",
}


def form_endpoints(app: Flask) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules()
            if "POST" in rule.methods and rule.rule.startswith(PREFIXES)}


@pytest.fixture
def world(
    app: Flask, make_organisation, make_user, make_building, browser_for
) -> tuple[dict[str, Any], dict[str, Browser]]:
    own = make_organisation("Typed Congregation")
    make_organisation("Other Congregation")
    building = make_building(own)
    contact = Contact(building=building, name="Caretaker", phone="416-555-0100", position=1)
    gathering = Gathering(building=building, label="Langar", weekday=6, start_time=dt.time(11), end_time=dt.time(14))
    version = PlanVersion(building=building, number=1, state=VersionState.READY.value, original_sha256="0" * 64,
                          original_bytes=1, page_count=1,
                          pages=[PlanPage(number=1, position=1, label="Ground floor", width=256, height=256,
                                          tile_size=256, max_zoom=0)])
    db.session.add_all([contact, gathering, version])
    db.session.commit()
    users = {"admin": make_user(Role.ADMIN), "partner": make_user(Role.PARTNER, own),
             "officer": make_user(Role.OFFICER), "planner": make_user(Role.PLANNER)}
    exercise = Exercise(name="Fire drill", created_by=users["planner"], buildings=[building],
                        planners=[users["planner"]])
    item = ExerciseItem(exercise=exercise, building_id=building.id, page=version.pages[0], shape="area",
                        points=[[0.1, 0.1], [0.5, 0.1], [0.3, 0.4]], colour="#2563eb")
    marker = Marker(building_id=building.id, page=version.pages[0], kind="aed", x=0.5, y=0.5)
    photo = Photo(building_id=building.id, subject="entrance", token="0" * 32, width=10, height=10,
                  sizes=[{"size": 320, "width": 10, "height": 10, "bytes": 9}])
    db.session.add_all([exercise, item, marker, photo])
    version.published_at = utcnow()
    db.session.commit()
    _invitee, invitation_token = account_links.invite(email="invitee@example.org", name="", role="partner",
                                                      organisation=own, by=users["admin"])
    reset_token = account_links._new_link(users["officer"], LinkKind.RESET, by=None)
    db.session.commit()
    ids = {
        "invitation_token": invitation_token, "reset_token": reset_token,
        "organisation_id": own.id, "building_id": building.id, "row_version": building.row_version,
        "contact_id": contact.id, "gathering_id": gathering.id, "version_id": version.id,
        "page_id": version.pages[0].id, "exercise_id": exercise.id, "item_id": item.id, "marker_id": marker.id,
        "photo_id": photo.id,
        "officer_id": users["officer"].id, "officer_email": users["officer"].email, "user_id": users["officer"].id,
        "token_id": 0,
    }
    browsers = {name: browser_for(user) for name, user in users.items()}
    browsers["anonymous"] = Browser(app.test_client())
    return ids, browsers


def test_every_form_has_a_case(app: Flask) -> None:
    covered = {case.endpoint for case in CASES} | set(NOT_TYPED)
    missing = form_endpoints(app) - covered
    assert not missing, f"POST routes without a case in {__name__}: {sorted(missing)}"
    assert not covered - form_endpoints(app), "cases for routes that no longer exist"


# A file sent is read in a child process (a plan's validation, a photo's decoding): slow.
@pytest.mark.parametrize(
    "case", [pytest.param(case, id=case.id, marks=[pytest.mark.slow] if case.files else []) for case in CASES]
)
def test_invalid_input_comes_back_as_typed(case: Case, world) -> None:
    ids, browsers = world
    data = case.data(ids) if callable(case.data) else dict(case.data)
    if case.files:
        import io

        data.update({name: (io.BytesIO(content), filename) for name, (content, filename) in case.files.items()})
    response = browsers[case.who].post(case.url.format(**ids), data, content_type=(
        "multipart/form-data" if case.files else None) or "application/x-www-form-urlencoded")
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == case.status, page[:3000]
    assert response.mimetype == "text/html"
    assert "<form" in page, "the form is not shown again"
    for typed in case.typed:
        assert typed in page, f"{typed!r} is lost"
    assert case.message in page


@pytest.mark.parametrize("endpoint", sorted(NOT_TYPED))
def test_nonsense_to_a_button_is_never_a_500(endpoint: str, app: Flask, world) -> None:
    ids, browsers = world
    rule = next(rule for rule in app.url_map.iter_rules() if rule.endpoint == endpoint)
    who = "admin" if rule.rule.startswith("/admin") else "planner" if rule.rule.startswith("/exercises") else "partner"
    url = rule.rule
    for name in rule.arguments:
        url = url.replace(f"<int:{name}>", str(ids.get(name, 999_999)))
    for body in ({"user_id": "x", "building_id": "x", "event": "x", "direction": "sideways", "confirm": "no"},):
        response = browsers[who].post(url, body)
        assert response.status_code < 500, response.get_data(as_text=True)[:2000]
