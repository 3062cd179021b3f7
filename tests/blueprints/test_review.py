"""The administrators' review queue: partners' changes since the last review, a diff of
each (field, before, after), "mark reviewed", and the queue coming back with a new change."""

from __future__ import annotations

import re

from floorplans.db import db
from floorplans.models import AuditEvent, BuildingReview, Role

BUILDING = {
    "name": "Masjid Al-Noor",
    "street": "123 Main St",
    "city": "Toronto",
    "region": "ON",
    "postal_code": "M4C 1A1",
    "capacity": "600",
}


def _rows(page: str) -> list[tuple[str, str, str]]:
    """(field, before, after) of every diff row, tags stripped."""
    cells = re.findall(r"<tr><td>([^<]*)</td><td class=\"before\">(.*?)</td><td class=\"after\">(.*?)</td></tr>", page)
    strip = lambda html: re.sub(r"<[^>]+>", "", html).strip()  # noqa: E731
    return [(name, strip(before), strip(after)) for name, before, after in cells]


def _queue_names(admin) -> str:  # type: ignore[no-untyped-def]
    page = admin.get("/admin/review").get_data(as_text=True)
    return page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]


def test_partner_changes_are_queued_diffed_and_marked_reviewed(
    app, make_organisation, make_user, make_building, browser_for
) -> None:
    organisation = make_organisation()
    building = make_building(organisation, **{k: v for k, v in BUILDING.items() if k != "capacity"}, capacity=600)
    untouched = make_building(organisation, name="Quiet Hall")
    partner = make_user(Role.PARTNER, organisation)
    admin_user = make_user(Role.ADMIN)
    editor, admin = browser_for(partner), browser_for(admin_user)
    assert "Nothing to review" in _queue_names(admin)

    response = editor.post(f"/portal/buildings/{building.id}/edit",
                           {**BUILDING, "name": "Masjid An-Nur", "capacity": "650", "row_version": "1"})
    assert response.status_code == 302
    editor.post(f"/portal/buildings/{building.id}/contacts",
                {"name": "Imran the caretaker", "phone": "416-555-0142", "role": "Caretaker"})
    # An administrator's own edit is not a partner change: it does not enter the queue.
    admin.post(f"/portal/buildings/{untouched.id}/edit", {**BUILDING, "name": "Quiet Hall 2", "row_version": "1"})

    queue = _queue_names(admin)
    assert f"/admin/review/{building.id}\"" in queue and ">2<" in queue
    assert "Quiet Hall" not in queue

    page = admin.get(f"/admin/review/{building.id}").get_data(as_text=True)
    rows = _rows(page)
    assert ("name", "Masjid Al-Noor", "Masjid An-Nur") in rows
    assert ("capacity", "600", "650") in rows
    assert ("name", "—", "Imran the caretaker") in rows
    assert ("phone", "—", "…42") in rows  # masked, as the audit log keeps it
    assert "416-555-0142" not in page

    up_to = re.search(r'name="up_to" value="(\d+)"', page)
    assert up_to is not None
    response = admin.post(f"/admin/review/{building.id}", {"up_to": up_to.group(1)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/review")
    assert "Nothing to review" in _queue_names(admin)
    review = db.session.query(BuildingReview).one()
    assert review.reviewed_by_id == admin_user.id and review.reviewed_by_email == admin_user.email
    assert review.changes == 2 and review.reviewed_at is not None
    assert "No partner change since the last review" in admin.get(f"/admin/review/{building.id}").get_data(as_text=True)
    # The review is itself in the audit log; no event was changed.
    assert db.session.query(AuditEvent).filter_by(action="building.review", building_id=building.id).count() == 1

    # A later edit brings it back, with only what is new.
    editor.post(f"/portal/buildings/{building.id}/edit",
                {**BUILDING, "name": "Masjid An-Nur", "capacity": "700", "row_version": "2"})
    assert ">1<" in _queue_names(admin)
    assert _rows(admin.get(f"/admin/review/{building.id}").get_data(as_text=True)) == [("capacity", "650", "700")]


def test_a_change_made_while_reading_stays_in_the_queue(
    app, make_user, make_building, browser_for
) -> None:
    building = make_building(name="Temple Hall")
    editor = browser_for(make_user(Role.PARTNER, building.organisation))
    admin = browser_for(make_user(Role.ADMIN))
    editor.post(f"/portal/buildings/{building.id}/contacts", {"name": "First", "phone": "416-555-0100"})
    page = admin.get(f"/admin/review/{building.id}").get_data(as_text=True)
    shown_up_to = re.search(r'name="up_to" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    editor.post(f"/portal/buildings/{building.id}/contacts", {"name": "Second", "phone": "416-555-0101"})
    admin.post(f"/admin/review/{building.id}", {"up_to": shown_up_to})
    rows = _rows(admin.get(f"/admin/review/{building.id}").get_data(as_text=True))
    assert ("name", "—", "Second") in rows and ("name", "—", "First") not in rows
    # Nothing left to mark: a clear message, no empty review recorded.
    editor_free = admin.post(f"/admin/review/{building.id}", {"up_to": "0"}, follow_redirects=True)
    assert "nothing (left) to review" in editor_free.get_data(as_text=True)
    assert db.session.query(BuildingReview).count() == 1


def test_only_admins_see_or_mark_the_queue(app, make_user, make_building, browser_for) -> None:
    building = make_building()
    partner = make_user(Role.PARTNER, building.organisation)
    editor = browser_for(partner)
    editor.post(f"/portal/buildings/{building.id}/contacts", {"name": "First", "phone": "416-555-0100"})
    event_id = db.session.query(AuditEvent).filter_by(action="contact.create").one().id
    for role in (Role.PARTNER, Role.OFFICER, Role.PLANNER):
        visitor = editor if role is Role.PARTNER else browser_for(make_user(role))
        assert visitor.get("/admin/review").status_code == 403
        assert visitor.get(f"/admin/review/{building.id}").status_code == 403
        assert visitor.post(f"/admin/review/{building.id}", {"up_to": str(event_id)}).status_code == 403
    assert db.session.query(BuildingReview).count() == 0
