"""The admin's CSV import pages: upload, a preview that changes nothing, confirm."""

from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from floorplans.db import db
from floorplans.models import AuditEvent, Building, Organisation, Role, User
from tests.import_data import messy_csv


def _count(model: object) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _upload(browser, data: bytes, name: str = "places.csv"):  # type: ignore[no-untyped-def]
    return browser.post("/admin/import", {"file": (io.BytesIO(data), name)})


def test_upload_previews_line_by_line_then_confirm_imports(browser_for, make_user) -> None:
    admin = make_user(Role.ADMIN)
    browser = browser_for(admin)
    assert "Import buildings from CSV" in browser.get("/admin/").get_data(as_text=True)
    data, expected = messy_csv(80)

    preview = _upload(browser, data)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200, page
    assert f"<strong>{expected.buildings}</strong> buildings to create" in page
    assert f"<strong>{len(expected.rejected)}</strong> rejected" in page
    assert "Ignored columns: Ward, OBJECTID." in page
    assert "UTF-8 with byte-order mark, semicolon-separated" in page
    for number in expected.rejected:
        assert f'<td data-label="Line">{number}</td>' in page
    assert "latitude: must be at most 90" in page
    assert _count(Building) == 0 and _count(Organisation) == 0  # a preview changes nothing
    token = re.search(r'name="token" value="([0-9a-f]{32})"', page).group(1)

    done = browser.post("/admin/import/confirm", {"token": token, "filename": "places.csv", "invite": "1"})
    page = done.get_data(as_text=True)
    assert done.status_code == 200, page
    assert f"<strong>{expected.buildings}</strong> buildings created" in page
    assert _count(Building) == expected.buildings
    assert db.session.scalar(select(func.count()).select_from(User).where(User.role == Role.PARTNER.value)) \
        == expected.partners
    summary = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "buildings.import"))
    assert summary.actor_id == admin.id and summary.channel == "web" and summary.detail["created"] == expected.buildings

    # The same confirmation again finds nothing to import; the same file again changes nothing.
    assert browser.post("/admin/import/confirm", {"token": token}).status_code == 404
    again = _upload(browser, data).get_data(as_text=True)
    assert "<strong>0</strong> buildings to create" in again
    assert f"<strong>{expected.buildings}</strong> unchanged" in again


def test_a_file_that_cannot_be_read_is_refused_on_the_form(browser_for, make_user) -> None:
    browser = browser_for(make_user(Role.ADMIN))
    refused = _upload(browser, b"Name;Town\nA;B\n", "list.csv")
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "list.csv has no &#39;street&#39; and &#39;city&#39; columns: the first line must name" in page
    assert "choose it again" in page
    assert browser.post("/admin/import", {}).status_code == 422
    assert browser.post("/admin/import/confirm", {"token": "../../etc/passwd"}).status_code == 404


def test_only_administrators_import(browser_for, make_user) -> None:
    for role in (Role.PARTNER, Role.OFFICER, Role.PLANNER):
        browser = browser_for(make_user(role))
        assert browser.get("/admin/import").status_code == 403
        assert _upload(browser, messy_csv(5)[0]).status_code == 403
    assert _count(Building) == 0
