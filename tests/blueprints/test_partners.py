"""The partner portal: a congregation keeps its records current through the web."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

from floorplans.db import db
from floorplans.models import AccessEvent, Building, Contact, Gathering, Role

GOOD_BUILDING = {
    "name": "Masjid Al-Noor",
    "street": "123 Main St",
    "city": "Toronto",
    "region": "ON",
    "postal_code": "M4C 1A1",
    "latitude": "43.68",
    "longitude": "-79.30",
    "capacity": "600",
    "hazards": "Propane for the kitchen",
    "entrances": "Front doors (1)",
}


def test_partner_adds_a_building_with_contacts_and_gatherings(browser_for, make_user) -> None:
    partner = make_user(Role.PARTNER)
    browser = browser_for(partner)
    response = browser.post("/portal/buildings/new", GOOD_BUILDING)
    assert response.status_code == 302
    building = db.session.scalar(select(Building))
    assert building.organisation_id == partner.organisation_id
    assert building.capacity == 600 and building.latitude == 43.68
    assert building.last_verified_by_id == partner.id  # entering it is vouching for it

    response = browser.post(
        f"/portal/buildings/{building.id}/contacts",
        {
            "name": "Yusuf Ali",
            "role": "Imam",
            "phone": "+1 (416) 555-0123 ext 4",
            "key_holder": "1",
            "available_days": ["4", "5"],
            "available_from": "08:00",
            "available_until": "22:00",
            "languages": "English, Arabic, Urdu",
        },
    )
    assert response.status_code == 302
    response = browser.post(
        f"/portal/buildings/{building.id}/gatherings",
        {
            "label": "Friday prayers",
            "weekday": "4",
            "start_time": "12:30",
            "end_time": "14:00",
            "expected_attendance": "400",
            "children_areas_in_use": "1",
        },
    )
    assert response.status_code == 302
    page = browser.get(f"/portal/buildings/{building.id}/contacts").get_data(as_text=True)
    assert "Yusuf Ali" in page
    assert 'href="tel:+14165550123;ext=4"' in page
    assert "Fri, Sat 08:00–22:00" in page
    gatherings_page = browser.get(f"/portal/buildings/{building.id}/gatherings").get_data(as_text=True)
    assert "Friday prayers" in gatherings_page and "every Friday, 12:30–14:00" in gatherings_page
    gathering = db.session.scalar(select(Gathering))
    assert gathering.children_areas_in_use is True and gathering.expected_attendance == 400


def test_bad_building_input_says_what_is_wrong_and_saves_nothing(browser_for, make_user) -> None:
    browser = browser_for(make_user(Role.PARTNER))
    bad = {**GOOD_BUILDING, "name": "", "capacity": "lots", "latitude": "123", "longitude": ""}
    response = browser.post("/portal/buildings/new", bad)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nothing was saved" in page
    assert "Building name is required." in page
    assert "Capacity (people) must be a whole number." in page
    assert "Latitude must be at most 90." in page
    assert 'value="lots"' in page  # what they typed is kept for correction
    assert db.session.scalar(select(func.count(Building.id))) == 0


def test_editing_keeps_other_fields_and_refuses_a_stale_form(browser_for, make_user, make_building) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation, name="St. Andrew's", notes="Keep")
    browser = browser_for(partner)
    form = browser.get(f"/portal/buildings/{building.id}/edit").get_data(as_text=True)
    assert 'name="row_version" value="1"' in form
    values = {**GOOD_BUILDING, "name": "St. Andrew's Church", "notes": "Keep", "row_version": "1"}
    assert browser.post(f"/portal/buildings/{building.id}/edit", values).status_code == 302
    db.session.refresh(building)
    assert building.name == "St. Andrew's Church" and building.row_version == 2

    # A second tab still holding version 1 must not overwrite the change.
    response = browser.post(f"/portal/buildings/{building.id}/edit", {**values, "name": "Old tab"})
    assert response.status_code == 409
    assert "Someone else changed this building" in response.get_data(as_text=True)
    db.session.refresh(building)
    assert building.name == "St. Andrew's Church"


def test_verify_renews_the_date(browser_for, make_user, make_building) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation, last_verified_at=dt.datetime(2020, 1, 1))
    browser = browser_for(partner)
    assert "needs confirming" in browser.get("/portal/").get_data(as_text=True)
    assert browser.post(f"/portal/buildings/{building.id}/verify").status_code == 302
    db.session.refresh(building)
    assert building.last_verified_at.date() >= dt.date.today() - dt.timedelta(days=1)
    assert building.last_verified_by_id == partner.id
    assert "needs confirming" not in browser.get("/portal/").get_data(as_text=True)


def test_contacts_reorder_edit_and_remove(browser_for, make_user, make_building) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    browser = browser_for(partner)
    for name in ("First", "Second", "Third"):
        browser.post(f"/portal/buildings/{building.id}/contacts", {"name": name, "phone": "416-555-0100"})
    third = db.session.scalar(select(Contact).where(Contact.name == "Third"))
    browser.post(f"/portal/buildings/{building.id}/contacts/{third.id}/move", {"direction": "up"})
    db.session.expire_all()
    assert [c.name for c in db.session.get(Building, building.id).contacts] == ["First", "Third", "Second"]

    response = browser.post(
        f"/portal/buildings/{building.id}/contacts/{third.id}",
        {"name": "Third", "phone": "not a phone", "available_from": "09:00"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Phone is not a phone number" in page
    db.session.expire_all()
    assert db.session.get(Contact, third.id).phone == "416-555-0100"

    browser.post(f"/portal/buildings/{building.id}/contacts/{third.id}/delete")
    db.session.expire_all()
    contacts = db.session.get(Building, building.id).contacts
    assert [(c.name, c.position) for c in contacts] == [("First", 1), ("Second", 2)]


def test_gathering_needs_a_day_or_a_date(browser_for, make_user, make_building) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    browser = browser_for(partner)
    response = browser.post(
        f"/portal/buildings/{building.id}/gatherings", {"label": "Vigil", "start_time": "25:00", "end_time": "02:00"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Starts must be a time like 13:30" in page
    response = browser.post(
        f"/portal/buildings/{building.id}/gatherings", {"label": "Vigil", "start_time": "22:00", "end_time": "02:00"}
    )
    assert "choose a day of the week, or a date" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Gathering.id))) == 0


def test_partner_cannot_reach_another_congregation_by_guessing_ids(browser_for, make_user, make_building) -> None:
    mine, theirs = make_user(Role.PARTNER), make_user(Role.PARTNER)
    other = make_building(theirs.organisation, name="Their temple")
    contact = Contact(building=other, name="Their caretaker", phone="416-555-0199", position=1)
    db.session.add(contact)
    db.session.commit()
    browser = browser_for(mine)
    for url in (
        f"/portal/buildings/{other.id}",
        f"/portal/buildings/{other.id}/edit",
        f"/portal/buildings/{other.id}/contacts",
        f"/portal/buildings/{other.id}/contacts/{contact.id}",
        f"/portal/buildings/{other.id}/access-log",
        f"/r/buildings/{other.id}",
    ):
        response = browser.get(url)
        assert response.status_code == 404, url
        assert "Their caretaker" not in response.get_data(as_text=True)
    assert browser.post(f"/portal/buildings/{other.id}/edit", {**GOOD_BUILDING}).status_code == 404
    assert browser.post(f"/portal/buildings/{other.id}/contacts/{contact.id}/delete").status_code == 404
    assert "Their temple" not in browser.get("/portal/").get_data(as_text=True)
    assert "Their temple" not in browser.get("/r/?q=temple").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Building, other.id).name == "Their temple"
    assert db.session.get(Contact, contact.id) is not None


def test_reads_by_the_service_are_logged_and_shown_to_the_partner(browser_for, make_user, make_building) -> None:
    partner, officer, stranger = make_user(Role.PARTNER), make_user(Role.OFFICER), make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    officer_browser = browser_for(officer)
    assert officer_browser.get(f"/r/buildings/{building.id}").status_code == 200
    partner_browser = browser_for(partner)
    partner_browser.get(f"/portal/buildings/{building.id}")  # own reads are not logged
    events = db.session.scalars(select(AccessEvent)).all()
    assert [(e.user_id, e.building_id, e.action) for e in events] == [(officer.id, building.id, "view_record")]
    log = partner_browser.get(f"/portal/buildings/{building.id}/access-log").get_data(as_text=True)
    assert officer.email in log
    assert browser_for(stranger).get(f"/portal/buildings/{building.id}/access-log").status_code == 404


def test_officers_and_planners_read_but_never_edit(browser_for, make_user, make_building) -> None:
    building = make_building(name="Sri Ganesha Temple")
    for role in (Role.OFFICER, Role.PLANNER):
        browser = browser_for(make_user(role))
        assert "Sri Ganesha Temple" in browser.get(f"/r/buildings/{building.id}").get_data(as_text=True)
        assert browser.get(f"/portal/buildings/{building.id}/edit").status_code == 403
        assert browser.post(f"/portal/buildings/{building.id}/verify").status_code == 403


def test_admin_creates_an_organisation_and_a_partner(browser_for, make_user) -> None:
    admin = browser_for(make_user(Role.ADMIN))
    response = admin.post("/admin/organisations", {"name": "Gurdwara Guru Nanak", "faith_tradition": "Sikh"})
    assert response.status_code == 302
    response = admin.post("/admin/organisations", {"name": "gurdwara guru nanak", "faith_tradition": "Sikh"})
    assert response.status_code == 422 and "already has this name" in response.get_data(as_text=True)
    from floorplans.models import Organisation, User

    organisation = db.session.scalar(select(Organisation))
    response = admin.post(
        "/admin/users",
        {
            "email": "Seva@Example.org",
            "role": "partner",
            "password": "long enough password",
            "organisation_id": organisation.id,
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "seva@example.org"))
    assert user.organisation_id == organisation.id and user.role == "partner"
    response = admin.post(
        "/admin/users", {"email": "x@example.org", "role": "partner", "password": "long enough password"}
    )
    assert response.status_code == 422 and "is required for a partner" in response.get_data(as_text=True)


def test_forms_offer_every_weekday(browser_for, make_user, make_building) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    browser = browser_for(partner)
    contacts_form = browser.get(f"/portal/buildings/{building.id}/contacts").get_data(as_text=True)
    for number, day in enumerate(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")):
        assert re.search(rf'name="available_days" value="{number}"\s*>\s*{day}<', contacts_form)
    gatherings_form = browser.get(f"/portal/buildings/{building.id}/gatherings").get_data(as_text=True)
    assert re.search(r'<option value="4"\s*>Friday</option>', gatherings_form)
