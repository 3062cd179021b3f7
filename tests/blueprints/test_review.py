"""The administrators' review queue: partners' changes since they were last reviewed, each in
words (form labels, people's values, grid cells for markers, plan events), grouped by day
and record, a page at a time, reviewed one by one or "the remaining" once all are shown."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from floorplans.db import db, utcnow
from floorplans.errors import InvalidInput
from floorplans.models import (
    AuditEvent,
    Building,
    BuildingReview,
    Contact,
    Gathering,
    PlanPage,
    PlanVersion,
    ReviewedChange,
    Role,
    User,
    VersionState,
)
from floorplans.services import audit, markers, plans, reviews

BUILDING = {
    "name": "Masjid Al-Noor",
    "street": "123 Main St",
    "city": "Toronto",
    "region": "ON",
    "postal_code": "M4C 1A1",
    "capacity": "600",
}
CONTACT = {"name": "Imran", "role": "Caretaker", "phone": "416-555-0142", "phone_alt": "416-555-0199"}
GATHERING = {"label": "Friday prayers", "weekday": "4", "start_time": "12:30", "end_time": "14:00"}


def _text(response: Any) -> str:
    """The page's main content as a person reads it: tags out, entities decoded, spaces collapsed."""
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True).split("<main", 1)[-1]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _shown_ids(response: Any) -> list[int]:
    """The event ids of the per-change "Reviewed" buttons, in page order."""
    return [int(i) for i in re.findall(r'name="event" value="(\d+)">\s*<input type="hidden" name="page"',
                                       response.get_data(as_text=True))]


@pytest.fixture
def setting(make_user, make_building, browser_for) -> dict[str, Any]:
    building = make_building(**{**BUILDING, "capacity": 600})
    partner = make_user(Role.PARTNER, building.organisation)
    admin_user = make_user(Role.ADMIN)
    return {"building": building, "partner": partner, "admin_user": admin_user,
            "editor": browser_for(partner), "admin": browser_for(admin_user)}


def _record(action: str, building: Building, by: User | None, **detail: Any) -> AuditEvent:
    """An event as the services write it (plans' events are recorded by the render job and
    the plan pages, whose own tests cover them; here only their words matter)."""
    event = audit.record(action, actor=by, building=building, target=None, detail=detail)
    db.session.commit()
    return event


def _ready_version(building: Building, number: int, *labels: str) -> PlanVersion:
    """A rendered version, each sheet 2000 x 1000 px: a 10 x 5 grid of 200 px cells."""
    version = PlanVersion(building=building, number=number, state=VersionState.READY.value, original_sha256="0" * 64,
                          original_bytes=1, page_count=len(labels))
    for n, label in enumerate(labels, start=1):
        version.pages.append(PlanPage(number=n, position=n, label=label, width=2000, height=1000, tile_size=256,
                                      max_zoom=3))
    db.session.add(version)
    db.session.commit()
    return version


# --- words -----------------------------------------------------------------------------

def test_record_and_gathering_changes_read_with_form_labels_and_peoples_values(setting) -> None:
    building, editor, admin = setting["building"], setting["editor"], setting["admin"]
    editor.post(f"/portal/buildings/{building.id}/edit", {**BUILDING, "capacity": "650", "row_version": "1"})
    editor.post(f"/portal/buildings/{building.id}/gatherings", GATHERING)
    gathering = db.session.scalars(select(Gathering)).one()
    response = editor.post(f"/portal/buildings/{building.id}/gatherings/{gathering.id}",
                           {**GATHERING, "start_time": "13:15", "children_areas_in_use": "1"})
    assert response.status_code == 302
    editor.post(f"/portal/buildings/{building.id}/gatherings",
                {**GATHERING, "label": "Christmas concert", "weekday": "", "on_date": "2026-12-24"})

    page = _text(admin.get(f"/admin/review/{building.id}"))
    assert "changed the building record" in page and "Capacity (people) 600 → 650" in page
    assert "added gathering “Friday prayers”" in page and "Every Friday" in page and "Starts 12:30" in page
    assert "changed gathering “Friday prayers”" in page
    assert "Starts 12:30 → 13:15" in page and "Children's areas in use no → yes" in page
    assert "Or once, on Thu 24 Dec 2026" in page
    for raw in ("children_areas_in_use", "start_time", "capacity", "12:30:00", "True", "False", "None", "2026-12-24"):
        assert raw not in page
    # Grouped by record: the building record, and each gathering under its own name.
    assert page.count("Gathering “Friday prayers”") == 1 and "The building record" in page


def test_a_contact_update_keeps_private_values_masked(setting) -> None:
    building, editor, admin = setting["building"], setting["editor"], setting["admin"]
    editor.post(f"/portal/buildings/{building.id}/contacts", CONTACT)
    contact = db.session.scalars(select(Contact)).one()
    editor.post(f"/portal/buildings/{building.id}/contacts/{contact.id}",
                {**CONTACT, "phone": "416-555-0107", "phone_alt": "905-555-1299", "key_holder": "1"})
    response = admin.get(f"/admin/review/{building.id}")
    page = _text(response)
    assert "changed contact “Imran”" in page and "added contact “Imran”" in page
    assert "Phone …42 → …07" in page and "Holds keys no → yes" in page
    # Another number with the same last digits still reads as a change.
    assert "Other phone …99 → …99 (another number)" in page
    html = response.get_data(as_text=True)
    for number in ("416-555-0142", "416-555-0107", "905-555-1299", "0142", "1299"):
        assert number not in html


def test_a_marker_reads_as_a_grid_cell_on_a_named_floor(setting) -> None:
    building, partner, admin = setting["building"], setting["partner"], setting["admin"]
    version = _ready_version(building, 1, "Ground floor", "Basement")
    ground = version.pages[0]
    # x 0.25 of 2000 px is column C, y 0.7 of 1000 px is row 4; x 0.35 is column D.
    door = markers.place(ground, {"kind": "door", "number": 2, "side": "B", "x": 0.25, "y": 0.7}, by=partner)
    db.session.commit()
    markers.update(door, {"x": 0.35}, by=partner)  # the log keeps x only: y comes from its history
    db.session.commit()
    aed = markers.place(ground, {"kind": "aed", "label": "By the office", "x": 0.05, "y": 0.05}, by=partner)
    db.session.commit()
    markers.update(aed, {"x": 0.95, "y": 0.95}, by=partner, page=version.pages[1])
    db.session.commit()
    draft = _ready_version(building, 2, "Mezzanine")
    markers.place(draft.pages[0], {"kind": "aed", "x": 0.5, "y": 0.5}, by=partner)
    db.session.delete(draft)  # a draft deleted with its markers: their events stay in the log
    db.session.commit()

    # Published, then a new draft: the door is carried onto it, and the partner confirms it there.
    plans.publish(version, by=partner)
    draft = _ready_version(building, 3, "Ground floor")
    plans.prepare_draft(draft)
    db.session.commit()
    (carried,) = markers.markers_of(draft)
    markers.confirm(carried, by=partner)
    db.session.commit()

    page = _text(admin.get(f"/admin/review/{building.id}"))
    assert "Exterior door 2 (side B) confirmed where it was carried over, on Ground floor at D4" in page
    assert "Markers on plan version 3" in page
    assert "Exterior door 2 (side B) placed on Ground floor at C4" in page
    assert "Exterior door 2 (side B) moved on Ground floor from C4 to D4" in page
    assert "AED (defibrillator) “By the office” moved from Ground floor at A1 to Basement at J5" in page
    assert "AED (defibrillator) placed on a floor no longer in the plan" in page
    assert "Markers on plan version 1" in page
    assert "Version" not in page  # said in the group's title, not as a field
    for raw in ("0.35", "0.25", "0.7", "0.95", "kind"):
        assert raw not in page


def test_plan_events_read_as_versions_and_sheets(setting) -> None:
    building, partner, admin = setting["building"], setting["partner"], setting["admin"]
    _record("plan.upload", building, partner, number=3, file="plan.pdf", bytes=123456, sha256="ab" * 32, pages=5)
    _record("plan.pages", building, partner, number=3, changes={
        "page 2": ["2. Page 2", "2. Ground floor"],
        "page 5": ["5. Elevations", "5. Elevations (hidden from officers)"],
        "page 1": ["1. Basement", "3. Basement (north 90°)"],
    })  # fmt: skip
    _record("plan.publish", building, partner, number=3, replaces=2, first_time=True)
    # An administrator publishing for the congregation is in the queue too: officers see it.
    _record("plan.publish", building, setting["admin_user"], number=4, replaces=3, first_time=True,
            on_behalf_of_partner=True)

    page = _text(admin.get(f"/admin/review/{building.id}"))
    assert "uploaded version 3 (plan.pdf, 5 sheets)" in page
    assert "published version 3 (replaces version 2)" in page
    assert "renamed sheet 2 “Page 2” → “Ground floor”" in page
    assert "hid sheet 5 (Elevations)" in page
    assert "moved sheet 1 (Basement) from place 1 to 3 in the floor order" in page
    assert "set the north of sheet 1 (Basement) to 90°" in page
    assert f"{setting['admin_user'].email} (administrator) published version 4 (replaces version 3), " \
           "on the congregation's behalf" in page
    assert "ab" * 32 not in page and "123456" not in page  # the file's fingerprint and size are not news


def test_the_plan_services_events_read_as_words(setting) -> None:
    """The same words from the events the partner's plan pages and the publish write."""
    building, partner, editor, admin = (setting[k] for k in ("building", "partner", "editor", "admin"))
    first = _ready_version(building, 1, "Page 1", "Page 2", "Elevations")
    sheet_1, sheet_2, elevations = first.pages
    form = {f"label-{sheet_1.id}": "Basement", f"label-{sheet_2.id}": "Ground floor",
            f"label-{elevations.id}": "Elevations", f"position-{sheet_1.id}": "1", f"position-{sheet_2.id}": "2",
            f"position-{elevations.id}": "3", f"north-{sheet_2.id}": "90"}  # fmt: skip
    form.update({f"offered-{page.id}": "1" for page in first.pages})
    form.update({f"shown-{page.id}": "1" for page in (sheet_1, sheet_2)})
    response = editor.post(f"/portal/buildings/{building.id}/plans/{first.id}/pages", form)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert editor.post(f"/portal/buildings/{building.id}/plans/{first.id}/publish").status_code == 302
    plans.delete_version(_ready_version(building, 2, "Sketch"), by=partner)
    plans.publish(_ready_version(building, 3, "Basement", "Ground floor"), by=setting["admin_user"])
    db.session.commit()

    page = _text(admin.get(f"/admin/review/{building.id}"))
    assert "changed the sheets of version 1" in page
    assert "renamed sheet 1 “Page 1” → “Basement”" in page and "renamed sheet 2 “Page 2” → “Ground floor”" in page
    assert "set the north of sheet 2 (Ground floor) to 90°" in page and "hid sheet 3 (Elevations)" in page
    assert "published version 1 (the building's first plan)" in page
    assert "deleted draft version 2" in page
    assert "published version 3 (replaces version 1), on the congregation's behalf" in page


def test_unknown_actions_and_odd_details_read_as_words_without_reprs(setting) -> None:
    building, partner, admin = setting["building"], setting["partner"], setting["admin"]
    _record("plan.archive_all", building, partner, reason_code={"asked_by": ["board", True, None]}, count=2.0,
            changes={"weird_field": [None, 1.5]}, when="2026-03-01T15:30:00")
    _record("marker.teleport", building, partner, version="seven", changes="not a mapping", values=[1, 2])
    _record("building.update", building, partner, changes={"capacity": "not a pair", "new_thing": [False, True]})
    _record("contact.update", building, partner, name="Imran", changes={"available_from": ["09:00:00", None]})

    response = admin.get(f"/admin/review/{building.id}")
    page = _text(response)
    assert "Plan: archive all" in page and "Reason code Asked by: board, yes, (empty)" in page
    assert "Weird field (empty) → 1.5" in page and "Count 2" in page
    assert "When 2026-03-01 10:30" in page  # 15:30 UTC in Toronto
    assert "Marker: teleport" in page
    assert "New thing no → yes" in page and "Capacity (people) (empty) → not a pair" in page
    assert "Available from 09:00 → (empty)" in page
    for raw in ("{", "}", "[", "]", "None", "True", "'", "archive_all", "reason_code", "2.0"):
        assert raw not in page, raw


# --- reviewing -------------------------------------------------------------------------

def test_each_change_is_reviewed_on_its_own_then_the_remaining_together(setting) -> None:
    building, editor, admin, admin_user = (setting[k] for k in ("building", "editor", "admin", "admin_user"))
    editor.post(f"/portal/buildings/{building.id}/edit", {**BUILDING, "capacity": "650", "row_version": "1"})
    editor.post(f"/portal/buildings/{building.id}/contacts", CONTACT)
    editor.post(f"/portal/buildings/{building.id}/gatherings", GATHERING)
    events_before = db.session.scalar(select(func.count(AuditEvent.id)))
    response = admin.get(f"/admin/review/{building.id}")
    assert "To review (3)" in _text(response) and "Mark the remaining 3 reviewed" in _text(response)
    newest, middle, oldest = _shown_ids(response)

    response = admin.post(f"/admin/review/{building.id}", {"event": str(middle), "page": "1"})
    assert response.status_code == 302
    marks = db.session.scalars(select(ReviewedChange)).all()
    assert [(m.audit_event_id, m.reviewed_by_id, m.reviewed_by_email) for m in marks] == [
        (middle, admin_user.id, admin_user.email)
    ]
    assert marks[0].reviewed_at is not None
    page = _text(admin.get(f"/admin/review/{building.id}"))
    assert "To review (2)" in page and "added contact" not in page and "Mark the remaining 2 reviewed" in page
    reviewed = _text(admin.get(f"/admin/review/{building.id}?show=reviewed"))
    assert "added contact “Imran”" in reviewed and f"Reviewed by {admin_user.email}" in reviewed
    assert "changed the building record" not in reviewed
    queue = _text(admin.get("/admin/review"))
    assert building.name in queue and f"by {admin_user.email}" in queue

    # "The remaining" marks what the page showed: a change made meanwhile stays.
    shown = _shown_ids(admin.get(f"/admin/review/{building.id}"))
    assert shown == [newest, oldest]
    editor.post(f"/portal/buildings/{building.id}/edit", {**BUILDING, "capacity": "700", "row_version": "2"})
    response = admin.post(f"/admin/review/{building.id}", {"event": [str(i) for i in shown]})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/admin/review/{building.id}?page=1")
    page = _text(admin.get(f"/admin/review/{building.id}"))
    assert "To review (1)" in page and "Capacity (people) 650 → 700" in page
    assert db.session.scalar(select(func.count(ReviewedChange.id))) == 3
    # Each review is audited; the log's events were only added to, never changed.
    review_events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "building.review")).all()
    assert [e.detail["events"] for e in review_events] == [[middle], sorted([newest, oldest])]
    assert db.session.scalar(select(func.count(AuditEvent.id))) >= events_before + 3

    # Marking a change already reviewed says so and records nothing.
    response = admin.post(f"/admin/review/{building.id}", {"event": str(middle)}, follow_redirects=True)
    assert "nothing (left) to review" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(ReviewedChange.id))) == 3
    # The last one: the building leaves the queue.
    (last,) = _shown_ids(admin.get(f"/admin/review/{building.id}"))
    response = admin.post(f"/admin/review/{building.id}", {"event": str(last)})
    assert response.headers["Location"].endswith("/admin/review")
    assert "Nothing to review" in _text(admin.get("/admin/review"))


def test_changes_are_paged_and_the_remaining_button_waits_until_all_are_shown(setting) -> None:
    building, partner, admin = setting["building"], setting["partner"], setting["admin"]
    for n in range(reviews.PAGE_SIZE + 5):
        _record("building.update", building, partner, changes={"capacity": [600 + n, 601 + n]})
    response = admin.get(f"/admin/review/{building.id}")
    page = _text(response)
    first_page = _shown_ids(response)
    assert len(first_page) == reviews.PAGE_SIZE and "Page 1 of 2" in page
    assert "Capacity (people) 654 → 655" in page and "Capacity (people) 600 → 601" not in page  # newest first
    assert "Mark the remaining" not in page and "5 more changes on the other pages" in page
    response = admin.get(f"/admin/review/{building.id}?page=2")
    assert len(_shown_ids(response)) == 5 and "Capacity (people) 600 → 601" in _text(response)
    assert not set(_shown_ids(response)) & set(first_page)

    for event_id in first_page[:5]:
        admin.post(f"/admin/review/{building.id}", {"event": str(event_id), "page": "1"})
    page = _text(admin.get(f"/admin/review/{building.id}"))
    assert "Page 1 of" not in page and f"Mark the remaining {reviews.PAGE_SIZE} reviewed" in page
    # Past the last page (its changes were just reviewed): the last page there is.
    assert len(_shown_ids(admin.get(f"/admin/review/{building.id}?page=2"))) == reviews.PAGE_SIZE


def test_the_queue_counts_unreviewed_changes_and_the_oldest_ones_age(setting, make_building) -> None:
    building, partner, admin, editor = setting["building"], setting["partner"], setting["admin"], setting["editor"]
    other = make_building(building.organisation, name="Quiet Hall")
    db.session.add(AuditEvent(at=utcnow() - dt.timedelta(days=3, hours=2), action="contact.create",
                              actor_id=partner.id, actor_email=partner.email, actor_role="partner",
                              building_id=building.id, organisation_id=building.organisation_id,
                              target_type="contact", target_id=99, detail={"values": {"name": "Old"}}))
    db.session.commit()
    editor.post(f"/portal/buildings/{building.id}/contacts", CONTACT)
    # Neither a confirmation nor an administrator's own edit is a partner change to review.
    editor.post(f"/portal/buildings/{other.id}/verify")
    admin.post(f"/portal/buildings/{other.id}/edit", {**BUILDING, "name": "Quiet Hall 2", "row_version": "1"})
    rows = re.findall(r"<tr>.*?</tr>", admin.get("/admin/review").get_data(as_text=True), re.S)[1:]
    assert len(rows) == 1
    row = " ".join(unescape(re.sub(r"<[^>]+>", " ", rows[0])).split())
    assert building.name in row and " 2 3 days " in row and "never" in row
    assert [e.building.id for e in reviews.queue()] == [building.id]


def test_the_queue_reads_the_partial_index_not_the_whole_log(setting) -> None:
    """Officers' reads fill the log; the queue must not read them (bench/reviews.py: 1M reads)."""
    _record("building.update", setting["building"], setting["partner"], changes={"capacity": [600, 650]})
    seen: list[tuple[str, Any]] = []

    def remember(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "GROUP BY audit_events.building_id" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        assert [entry.changes for entry in reviews.queue()] == [1]
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    ((statement, parameters),) = seen
    if db.engine.dialect.name == "sqlite":
        plan = " ".join(str(row) for row in db.session.connection().exec_driver_sql(
            "EXPLAIN QUERY PLAN " + statement, parameters))  # fmt: skip
    else:  # with a handful of rows PostgreSQL would rightly scan the table: ask what it can use
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(str(row) for row in db.session.connection().exec_driver_sql("EXPLAIN " + statement, parameters))
    db.session.rollback()
    assert "ix_audit_events_changes" in plan, plan


def test_reviews_made_before_per_change_marks_still_count(setting) -> None:
    building, partner, admin = setting["building"], setting["partner"], setting["admin"]
    old = _record("building.update", building, partner, changes={"capacity": [600, 650]})
    db.session.add(BuildingReview(building_id=building.id, last_event_id=old.id, reviewed_by_email="x@example.org"))
    db.session.commit()
    _record("building.update", building, partner, changes={"capacity": [650, 700]})
    page = _text(admin.get(f"/admin/review/{building.id}"))
    assert "650 → 700" in page and "600 → 650" not in page and "To review (1)" in page
    with pytest.raises(InvalidInput):
        reviews.mark_reviewed(building, [old.id], by=setting["admin_user"])


def test_only_admins_see_or_mark_the_queue(setting, make_user, browser_for) -> None:
    building, editor = setting["building"], setting["editor"]
    editor.post(f"/portal/buildings/{building.id}/contacts", CONTACT)
    event_id = db.session.scalars(select(AuditEvent.id).where(AuditEvent.action == "contact.create")).one()
    for role in (Role.PARTNER, Role.OFFICER, Role.PLANNER):
        visitor = editor if role is Role.PARTNER else browser_for(make_user(role))
        assert visitor.get("/admin/review").status_code == 403
        assert visitor.get(f"/admin/review/{building.id}").status_code == 403
        assert visitor.get(f"/admin/review/{building.id}?show=reviewed").status_code == 403
        assert visitor.post(f"/admin/review/{building.id}", {"event": str(event_id)}).status_code == 403
    assert db.session.scalar(select(func.count(ReviewedChange.id))) == 0
    assert setting["admin"].get("/admin/review/999999").status_code == 404
