"""Responders of other agencies (fire, EMS): officer accounts with an agency, made on the
admin pages or by ``flask users create --agency``, named by it in a congregation's access log."""

from __future__ import annotations

from sqlalchemy import select

from floorplans.db import db
from floorplans.models import AuditEvent, Role, User

STRONG = "amber-otter-lantern-97"


def test_an_admin_gives_a_responder_an_agency_and_changes_it(browser_for, make_user) -> None:
    browser = browser_for(make_user(Role.ADMIN))
    assert 'name="agency"' in browser.get("/admin/users").get_data(as_text=True)
    created = browser.post("/admin/users", {"email": "j.smith@oakville.ca", "name": "J. Smith", "role": "officer",
                                            "agency": " Oakville Fire ", "password": STRONG})
    assert created.status_code == 302, created.get_data(as_text=True)
    responder = db.session.scalar(select(User).where(User.email == "j.smith@oakville.ca"))
    assert (responder.role, responder.agency) == ("officer", "Oakville Fire")
    assert '<td data-label="Role">officer (Oakville Fire)</td>' in browser.get("/admin/users").get_data(as_text=True)
    created_event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.create"))
    assert created_event.detail["agency"] == "Oakville Fire"

    page = browser.get(f"/admin/users/{responder.id}").get_data(as_text=True)
    assert 'value="Oakville Fire"' in page
    saved = browser.post(f"/admin/users/{responder.id}", {"name": "J. Smith", "role": "officer", "active": "1",
                                                         "agency": "Halton EMS"})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    db.session.refresh(responder)
    assert responder.agency == "Halton EMS"
    changed = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.update"))
    assert changed.detail["changes"]["agency"] == ["Oakville Fire", "Halton EMS"]


def test_a_bad_agency_is_refused_on_the_form_with_what_was_typed(browser_for, make_user, make_organisation) -> None:
    browser = browser_for(make_user(Role.ADMIN))
    too_long = "Oakville Fire " + "x" * 120
    refused = browser.post("/admin/users", {"email": "a@oakville.ca", "role": "officer", "agency": too_long,
                                            "password": STRONG})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "Agency: is too long (134 characters, at most 120)." in page and f'value="{too_long}"' in page
    congregation = make_organisation("Grace Church", "Christian")
    partner = browser.post("/admin/users", {"email": "b@grace.org", "role": "partner", "password": STRONG,
                                            "organisation_id": str(congregation.id), "agency": "Oakville Fire"})
    assert partner.status_code == 422
    assert "a partner belongs to a congregation" in partner.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email.in_(["a@oakville.ca", "b@grace.org"]))) is None


def test_flask_users_create_takes_an_agency(app, runner) -> None:
    result = runner.invoke(args=["users", "create", "--email", "medic@halton.ca", "--role", "officer",
                                 "--name", "R. Patel", "--agency", "Halton EMS"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User).where(User.email == "medic@halton.ca")).agency == "Halton EMS"
    refused = runner.invoke(args=["users", "create", "--email", "x@halton.ca", "--role", "officer",
                                  "--agency", "Halton\nEMS"])
    assert refused.exit_code == 1 and "agency: must be one line" in refused.output


def test_the_congregation_sees_the_agency_with_the_name_in_its_access_log(
    browser_for, make_user, make_building
) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    firefighter = make_user(Role.OFFICER, name="J. Smith", agency="Oakville Fire")
    police = make_user(Role.OFFICER, name="A. Officer")
    for responder in (firefighter, police):
        assert browser_for(responder).get(f"/r/buildings/{building.id}").status_code == 200
    log = browser_for(partner).get(f"/portal/buildings/{building.id}/access-log").get_data(as_text=True)
    assert '<td data-label="Who">Oakville Fire: J. Smith</td>' in log
    assert '<td data-label="Who">A. Officer</td>' in log
    admin_log = browser_for(make_user(Role.ADMIN)).get("/admin/access-log").get_data(as_text=True)
    assert "Oakville Fire: J. Smith" in admin_log
