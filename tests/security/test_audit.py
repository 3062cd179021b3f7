"""The audit log: every change with before and after, uploads and publishes, permission
changes, outsiders' reads, reads of the log itself; append-only down to the database;
retention; the admin page and its CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from floorplans.db import db, utcnow
from floorplans.models import AuditEvent, Contact, Role
from floorplans.services import audit
from tests.security.conftest import audit_events

BUILDING_FORM = {"name": "Beth Israel", "street": "10 Elm Street", "city": "Toronto"}
CONTACT_FORM = {"name": "Miriam Cohen", "role": "Caretaker", "phone": "416-555-0199", "email": "miriam@example.org"}


def test_record_changes_keep_before_and_after(app, browser_for, make_user, make_building, api_token) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation, name="Old name", street="1 Old Road", city="Toronto")
    browser = browser_for(partner)
    form = {**BUILDING_FORM, "row_version": building.row_version}
    assert browser.post(f"/portal/buildings/{building.id}/edit", form).status_code == 302
    (update,) = audit_events("building.update")
    assert update.detail["changes"]["name"] == ["Old name", "Beth Israel"]
    assert update.detail["changes"]["street"] == ["1 Old Road", "10 Elm Street"]
    assert "city" not in update.detail["changes"]  # unchanged fields are not listed
    assert (update.actor_id, update.building_id, update.organisation_id, update.channel) == (
        partner.id, building.id, partner.organisation_id, "web")

    client = browser.client
    headers = api_token(partner)
    client.patch(f"/api/v1/buildings/{building.id}", json={"hazards": "Oxygen tanks"}, headers=headers)
    api_update = audit_events("building.update")[-1]
    assert api_update.channel == "api" and api_update.detail["changes"] == {"hazards": ["", "Oxygen tanks"]}

    assert browser.post(f"/portal/buildings/{building.id}/contacts", CONTACT_FORM).status_code == 302
    contact = db.session.query(Contact).filter_by(building_id=building.id).one()
    created = audit_events("contact.create")[0]
    assert created.target_id == contact.id and created.detail["values"]["name"] == "Miriam Cohen"
    edit = {**CONTACT_FORM, "phone": "647-555-0123"}
    assert browser.post(f"/portal/buildings/{building.id}/contacts/{contact.id}", edit).status_code == 302
    assert audit_events("contact.update")[0].detail["changes"] == {"phone": ["…99", "…23"]}
    assert browser.post(f"/portal/buildings/{building.id}/contacts/{contact.id}/delete").status_code == 302
    assert audit_events("contact.delete")[0].detail["values"]["role"] == "Caretaker"

    gathering = {"label": "Shabbat service", "weekday": "5", "start_time": "09:30", "end_time": "12:00",
                 "expected_attendance": "250"}
    browser.post(f"/portal/buildings/{building.id}/gatherings", gathering)
    gid = audit_events("gathering.create")[0].target_id
    browser.post(f"/portal/buildings/{building.id}/gatherings/{gid}", {**gathering, "expected_attendance": "400"})
    assert audit_events("gathering.update")[0].detail["changes"] == {"expected_attendance": [250, 400]}

    # No contact value in clear anywhere in the log.
    everything = repr([e.detail for e in audit_events()])
    for private in ("416-555-0199", "647-555-0123", "miriam@example.org"):
        assert private not in everything


def test_permission_changes_are_recorded(app, browser_for, make_user, make_organisation) -> None:
    admin = browser_for(make_user(Role.ADMIN))
    organisation = make_organisation("Masjid Al-Noor")
    officer = make_user(Role.OFFICER)
    form = {"role": "partner", "organisation_id": str(organisation.id), "name": "", "active": "1"}
    assert admin.post(f"/admin/users/{officer.id}", form).status_code == 302
    (change,) = audit_events("account.update")
    assert change.detail["changes"] == {"role": ["officer", "partner"], "organisation": [None, "Masjid Al-Noor"]}
    assert admin.post(f"/admin/users/{officer.id}", {**form, "active": ""} | {"active": None}).status_code == 302
    assert audit_events("account.update")[-1].detail["changes"] == {"active": [True, False]}
    created = admin.post("/admin/users", {"email": "new@example.org", "role": "planner",
                                          "password": "velvet harbour quarry lantern"})
    assert created.status_code == 302
    assert audit_events("account.create")[0].detail == {"email": "new@example.org", "role": "planner",
                                                       "organisation": None, "agency": "",
                                                       "temporary_password": True}
    assert "velvet harbour" not in repr([e.detail for e in audit_events()])


def test_outsiders_reads_are_recorded_and_own_reads_are_not(app, browser_for, make_user, make_building,
                                                           api_token) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    browser_for(partner).get(f"/portal/buildings/{building.id}")
    assert audit_events("access.view_record") == []
    officer = make_user(Role.OFFICER)
    browser_for(officer).get(f"/r/buildings/{building.id}")
    app.test_client().get(f"/api/v1/buildings/{building.id}", headers=api_token(officer))
    browser_for(make_user(Role.ADMIN)).get(f"/portal/buildings/{building.id}/contacts")
    reads = audit_events("access.view_record")
    assert [(e.actor_role, e.channel, e.building_id) for e in reads] == [
        ("officer", "web", building.id), ("officer", "api", building.id), ("admin", "web", building.id)]
    assert all(e.organisation_id == partner.organisation_id for e in reads)


@pytest.fixture
def render_inline(app_config) -> None:
    app_config.update(PAGE_MAX_PIXELS=2_000_000, JOBS_IMMEDIATE=True)


@pytest.mark.slow  # renders uploads in child processes
def test_uploads_publishes_and_page_labels_are_recorded(render_inline, app, browser_for, make_user,
                                                        make_building) -> None:
    from tests.floorplans.test_plans import latest_version, upload

    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    browser = browser_for(partner)
    assert upload(browser, building, "plan-auditorium-event-layout-letter-mixed.pdf").status_code == 302
    version = latest_version(building)
    (uploaded,) = audit_events("plan.upload")
    assert uploaded.actor_id == partner.id and uploaded.target_id == version.id
    assert uploaded.detail["file"] == "plan-auditorium-event-layout-letter-mixed.pdf"
    assert uploaded.detail["sha256"] == version.original_sha256
    assert audit_events("plan.publish") == []  # a draft: nobody published it yet
    assert browser.post(f"/portal/buildings/{building.id}/plans/{version.id}/publish").status_code == 302
    (published,) = audit_events("plan.publish")
    assert published.target_id == version.id and published.actor_id == partner.id
    assert published.detail == {"number": 1, "replaces": None, "first_time": True}
    page = version.pages[0]
    old_label = page.label
    form = {f"label-{page.id}": "Main hall", f"position-{page.id}": "1"}
    assert browser.post(f"/portal/buildings/{building.id}/plans/{version.id}/pages", form).status_code == 302
    (labels,) = audit_events("plan.pages")
    assert labels.detail["changes"] == {"page 1": [f"1. {old_label}", "1. Main hall"]}
    form[f"offered-{page.id}"] = "1"  # the same form with its "officers see it" box unticked
    assert browser.post(f"/portal/buildings/{building.id}/plans/{version.id}/pages", {
        **form, f"label-{page.id}": "Main hall"}).status_code == 422  # the only sheet: it stays shown


def test_the_log_is_append_only_down_to_the_database(app, make_user) -> None:
    entry = audit.record("login.success", actor=make_user(Role.OFFICER))
    db.session.commit()
    entry.action = "nothing.happened"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEvent, entry.id))
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    # Bypassing the ORM does not help: the database itself refuses.
    for statement in ("UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match=r"append-only|cannot be deleted"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert [e.action for e in audit_events()] == ["login.success"]


def test_prune_removes_what_is_past_retention_and_records_it(app, runner, make_user, make_building) -> None:
    user = make_user(Role.OFFICER)
    old, recent = utcnow() - dt.timedelta(days=400), utcnow() - dt.timedelta(days=100)
    db.session.add_all([AuditEvent(at=old, action="login.success", actor_id=user.id, detail={}),
                        AuditEvent(at=recent, action="login.success", actor_id=user.id, detail={})])
    from floorplans.models import AccessEvent

    building = make_building()
    db.session.add(AccessEvent(at=old, user_id=user.id, building_id=building.id, action="view_record", channel="web"))
    db.session.commit()
    result = runner.invoke(args=["audit", "prune"])
    assert result.exit_code == 0, result.output
    assert "Deleted 2 audit event(s) and 1 access-log event(s)" in result.output  # the old one and its mirror
    remaining = audit_events()
    assert [e.at for e in remaining if e.action == "login.success"] == [recent]
    (pruned,) = audit_events("audit.prune")
    assert pruned.channel == "cli" and pruned.detail["retention_days"] == 365
    assert runner.invoke(args=["audit", "prune", "--days", "90"]).exit_code == 0
    assert [e.at for e in audit_events() if e.action == "login.success"] == []
    refused = runner.invoke(args=["audit", "prune", "--days", "7"])
    assert refused.exit_code != 0 and "at least 30 days" in refused.output


def test_the_admin_page_filters_and_records_its_own_reads(app, browser_for, make_user, make_building) -> None:
    admin_user = make_user(Role.ADMIN)
    admin = browser_for(admin_user)
    officer = make_user(Role.OFFICER)
    building, other = make_building(), make_building()
    browser_for(officer).get(f"/r/buildings/{building.id}")
    browser_for(officer).get(f"/r/buildings/{other.id}")
    page = admin.get(f"/admin/audit?group=access&building={building.id}&actor={officer.email[:10]}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    body = page.get_data(as_text=True)
    assert body.count('<td data-label="Action">access.view_record</td>') == 1 and officer.email in body
    read = audit_events("audit.read")[-1]
    assert read.actor_id == admin_user.id and read.detail["group"] == "access"
    assert read.detail["building_id"] == building.id and read.detail["shown"] == 1
    bad = admin.get("/admin/audit?start=yesterday")
    assert bad.status_code == 200 and "must be a date" in bad.get_data(as_text=True)
    at = audit_events()[0].at
    assert abs((at - dt.datetime.now(dt.UTC).replace(tzinfo=None)).total_seconds()) < 120  # stored in UTC


def test_csv_export_has_every_column_neutralises_formulas_and_is_recorded(app, browser_for, make_user) -> None:
    admin = browser_for(make_user(Role.ADMIN))
    audit.record("login.failure", detail={"email": "=HYPERLINK(\"http://evil\")"}, ip_address="192.0.2.1")
    db.session.commit()
    response = admin.get("/admin/audit.csv?group=login")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="audit-')
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert set(rows[0]) == set(audit.CSV_COLUMNS)
    failure = next(r for r in rows if r["action"] == "login.failure")
    assert failure["ip_address"] == "192.0.2.1" and failure["at_utc"].endswith("Z")
    assert not any(value.startswith(("=", "+", "-", "@")) for row in rows for value in row.values())
    assert audit_events("audit.export")[-1].detail["group"] == "login"
    assert admin.get("/admin/audit.csv?start=31-01-2026").status_code == 400
