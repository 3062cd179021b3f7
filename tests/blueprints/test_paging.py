"""Every list a page at a time (issue 19): at most 100 rows, a next page that continues
without repeating or skipping a row, a previous page, and the logs' filters."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import insert, select

from floorplans import paging
from floorplans.db import db
from floorplans.models import AccessEvent, AuditEvent, Building, Organisation, Role, User
from floorplans.models.buildings import index_for_finding
from floorplans.paging import PAGE_SIZE, page_number
from floorplans.services import access, administration, audit

DAY = dt.datetime(2026, 11, 1)


def add_access_events(rows: list[dict]) -> list[int]:  # type: ignore[type-arg]
    db.session.execute(insert(AccessEvent), [{"channel": "web", **row} for row in rows])
    db.session.commit()
    return list(db.session.scalars(select(AccessEvent.id).order_by(AccessEvent.id.desc())))


def walk_older(fetch) -> list[list[int]]:  # type: ignore[no-untyped-def]
    pages, before = [], None
    while True:
        page = fetch(before=before, after=None)
        pages.append([e.id for e in page])
        if page.older is None:
            return pages
        before = page.older


@pytest.mark.slow  # a few hundred rows and pages of 100
def test_the_access_log_pages_by_id_without_repeating_or_skipping(app, make_user, make_building) -> None:
    admin = make_user(Role.ADMIN)
    building = make_building()
    everything = add_access_events([{"user_id": admin.id, "building_id": building.id, "action": "view_record",
                                     "at": DAY + dt.timedelta(minutes=n)} for n in range(230)])
    pages = walk_older(lambda **keys: access.access_log(admin, **keys))
    assert [len(p) for p in pages] == [100, 100, 30]
    assert [i for p in pages for i in p] == everything  # newest first, each once
    # Back from the third page: exactly the second, then the first (which has no newer).
    third = access.access_log(admin, before=pages[1][-1])
    assert third.newer == pages[2][0]
    second = access.access_log(admin, after=third.newer)
    assert [e.id for e in second] == pages[1] and second.newer is not None and second.older == pages[1][-1]
    first = access.access_log(admin, after=second.newer)
    assert [e.id for e in first] == pages[0] and first.newer is None
    # Rows written while someone reads land on top: the next page still follows on.
    add_access_events([{"user_id": admin.id, "building_id": building.id, "action": "view_plan", "at": DAY}] * 5)
    assert [e.id for e in access.access_log(admin, before=pages[0][-1])] == pages[1]


def test_the_access_log_filters(app, make_user, make_building) -> None:
    admin = make_user(Role.ADMIN)
    officer, planner = make_user(Role.OFFICER, email="Officer.One@police.example"), make_user(Role.PLANNER)
    here, there = make_building(), make_building()
    rows = [{"user_id": officer.id, "building_id": here.id, "action": "view_record", "at": DAY},
            {"user_id": officer.id, "building_id": there.id, "action": "view_plan", "at": DAY + dt.timedelta(days=1)},
            {"user_id": planner.id, "building_id": here.id, "action": "export.packet",
             "at": DAY + dt.timedelta(days=2)},
            {"user_id": planner.id, "building_id": there.id, "action": "view_record", "at": DAY + dt.timedelta(days=3)}]
    ids = add_access_events(rows)[::-1]  # oldest first, as rows

    def found(**filters) -> list[int]:  # type: ignore[no-untyped-def]
        return [e.id for e in access.access_log(admin, filters=access.Filters(**filters))]

    assert found(who="officer.one@police.EXAMPLE") == [ids[1], ids[0]]
    assert found(who="officer") == []  # a whole address, not a part of one
    assert found(building_id=here.id) == [ids[2], ids[0]]
    assert found(action="view_record") == [ids[3], ids[0]]
    assert found(start=DAY + dt.timedelta(days=1), end=DAY + dt.timedelta(days=3)) == [ids[2], ids[1]]
    assert found(who=planner.email, building_id=there.id) == [ids[3]]
    # A partner sees only their own congregation's buildings, filters or not.
    partner = make_user(Role.PARTNER, organisation=here.organisation)
    assert [e.id for e in access.access_log(partner)] == [ids[2], ids[0]]
    assert [e.id for e in access.access_log(partner, filters=access.Filters(building_id=there.id))] == []


@pytest.mark.slow  # a few hundred rows and pages of 100
def test_the_who_looked_page_filters_and_links_the_next_page(app, make_user, make_building, browser_for) -> None:
    building = make_building()
    officer = make_user(Role.OFFICER)
    partner = make_user(Role.PARTNER, organisation=building.organisation)
    add_access_events([{"user_id": officer.id, "building_id": building.id, "action": "view_plan",
                        "at": DAY + dt.timedelta(minutes=n)} for n in range(PAGE_SIZE + 3)])
    browser = browser_for(partner)
    url = f"/portal/buildings/{building.id}/access-log"
    html = browser.get(url + "?action=view_plan").get_data(as_text=True)
    assert html.count('data-label="When"') == PAGE_SIZE
    older = re.search(r'href="([^"]*before=\d+[^"]*)"', html)
    assert older is not None and "action=view_plan" in older.group(1).replace("&amp;", "&")
    html = browser.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert html.count('data-label="When"') == 3 and "Newer events" in html and "Older events" not in html
    assert "Nobody outside" in browser.get(url + "?action=view_record").get_data(as_text=True)
    assert "must be a date" in browser.get(url + "?start=yesterday").get_data(as_text=True)


def test_the_audit_log_has_a_newer_page_too(app, make_user) -> None:
    db.session.execute(insert(AuditEvent), [{"action": "building.update", "at": DAY, "building_id": 7, "detail": {}}
                                            for _ in range(150)])
    db.session.commit()
    everything = list(db.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id.desc())))
    first = audit.page(audit.Filters(building_id=7))
    second = audit.page(audit.Filters(building_id=7), before_id=first.older)
    assert [e.id for e in first] + [e.id for e in second] == everything and second.older is None
    back = audit.page(audit.Filters(building_id=7), after_id=second.newer)
    assert [e.id for e in back] == [e.id for e in first]
    assert list(audit.page(audit.Filters(building_id=8))) == []


@pytest.mark.slow  # a few hundred rows and pages of 100
def test_admin_lists_come_a_hundred_at_a_time(app, make_user, browser_for) -> None:
    admin = make_user(Role.ADMIN, email="aaa-admin@example.org")
    organisation = Organisation(name="Zion", faith_tradition="Christian")
    db.session.add(organisation)
    db.session.flush()
    db.session.execute(insert(User), [{"email": f"officer-{n:03d}@example.org", "role": "officer",
                                       "password_hash": "!"} for n in range(PAGE_SIZE + 20)])
    db.session.execute(insert(Building), [{"name": f"Church {n:03d}", "organisation_id": organisation.id,
                                           "street": "", "search_text": f"church {n:03d}"}
                                          for n in range(PAGE_SIZE + 5)])
    index_for_finding(db.session.connection())  # a bulk insert bypasses the ORM's listeners
    db.session.commit()
    first, second = administration.accounts(1), administration.accounts(2)
    assert len(first) == PAGE_SIZE and first.more and first.previous_number is None
    assert len(second) == 21 and not second.more and second.previous_number == 1
    ids = [u.id for u in first] + [u.id for u in second]
    assert sorted(ids) == sorted(db.session.scalars(select(User.id))) and len(set(ids)) == len(ids)
    assert administration.organisations_page(1).items[0].name == "Zion"

    browser = browser_for(admin)
    html = browser.get("/admin/users").get_data(as_text=True)
    assert html.count('data-label="E-mail"') == PAGE_SIZE and "page=2" in html
    assert browser.get("/admin/users?page=2").get_data(as_text=True).count('data-label="E-mail"') == 21
    html = browser.get("/portal/").get_data(as_text=True)
    assert html.count('data-label="Building"') == PAGE_SIZE and "Church 099" in html and "Church 100" not in html
    html = browser.get("/portal/?q=church&page=2").get_data(as_text=True)
    assert re.findall(r"Church \d+", html) == ["Church 100", "Church 101", "Church 102", "Church 103", "Church 104"]
    assert "page=1" in html and "Next page" not in html


def test_page_numbers_from_a_query_string() -> None:
    assert [page_number(v) for v in (None, "", "x", "0", "-3", "2", "99999999999")] == [1, 1, 1, 1, 1, 2, 1_000_000]


@pytest.mark.slow  # a few hundred rows and pages of 100
def test_a_few_days_page_through_the_time_index_with_the_same_rows(app, make_user, make_building) -> None:
    """A window of days is read through the logs' time index (paging.short_window), a long
    one by id: the pages, older and newer, are the same rows in the same order."""
    admin, building = make_user(Role.ADMIN), make_building()
    # The day's rows among others before and after it, written in time order as the app writes them.
    everything = add_access_events([{"user_id": admin.id, "building_id": building.id, "action": "view_record",
                                     "at": DAY + dt.timedelta(hours=n * 6)} for n in range(-40, 260)])
    day = (DAY + dt.timedelta(days=2), DAY + dt.timedelta(days=32))
    assert paging.short_window(*day) and not paging.short_window(DAY, DAY + dt.timedelta(days=90))
    assert not paging.short_window(DAY, None)

    def pages(start: dt.datetime, end: dt.datetime) -> list[list[int]]:
        return walk_older(lambda **keys: access.access_log(admin, filters=access.Filters(start=start, end=end), **keys))

    short = pages(*day)
    expected = [i for i, n in zip(everything[::-1], range(-40, 260), strict=True)
                if day[0] <= DAY + dt.timedelta(hours=n * 6) < day[1]][::-1]
    assert [i for p in short for i in p] == expected and [len(p) for p in short] == [100, 20]
    newer = access.access_log(admin, filters=access.Filters(start=day[0], end=day[1]), after=short[1][0])
    assert [e.id for e in newer] == short[0]
    # The audit log's pages alike.
    db.session.execute(insert(AuditEvent), [{"action": "building.update", "at": DAY + dt.timedelta(hours=n * 6),
                                             "building_id": 7, "detail": {}} for n in range(-40, 260)])
    db.session.commit()
    audit_ids = list(db.session.scalars(select(AuditEvent.id).where(AuditEvent.at >= day[0], AuditEvent.at < day[1])
                                        .order_by(AuditEvent.id.desc())))
    first = audit.page(audit.Filters(start=day[0], end=day[1]))
    second = audit.page(audit.Filters(start=day[0], end=day[1]), before_id=first.older)
    assert [e.id for e in first] + [e.id for e in second] == audit_ids and second.older is None
    assert [e.id for e in audit.page(audit.Filters(start=day[0], end=day[1]), after_id=second.newer)] == \
        [e.id for e in first]


def test_the_congregations_list_counts_buildings_and_partners(app, make_user, make_building, make_organisation,
                                                              browser_for) -> None:  # type: ignore[no-untyped-def]
    busy, empty = make_organisation("Aaa Busy Congregation"), make_organisation("Aab Empty Congregation")
    for _ in range(3):
        make_building(busy)
    make_user(Role.PARTNER, organisation=busy), make_user(Role.PARTNER, organisation=busy)
    assert administration.sizes([busy, empty]) == {busy.id: (3, 2), empty.id: (0, 0)}
    page = browser_for(make_user(Role.ADMIN)).get("/admin/organisations").get_data(as_text=True)
    rows = re.findall(r"<tr><td data-label=\"Name\">.*?</tr>", page, re.S)
    busy_row = next(row for row in rows if "Aaa Busy" in row)
    assert re.findall(r'data-label="(?:Buildings|Partners)">(\d+)<', busy_row) == ["3", "2"]
