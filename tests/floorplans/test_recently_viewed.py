"""An officer's "Recently viewed": the newest distinct buildings, read from the newest end of
their own access events (never the whole history, which grows by thousands a year)."""
from __future__ import annotations

from floorplans.db import db
from floorplans.models import Role
from floorplans.services import access


def test_the_newest_distinct_buildings_first_with_a_long_history(app, make_user, make_building) -> None:  # type: ignore[no-untyped-def]
    officer, other = make_user(Role.OFFICER), make_user(Role.OFFICER)
    buildings = [make_building(name=f"Building {n}") for n in range(12)]
    # A long history of one building, then one view each of the others, newest last; an
    # export and another officer's views never count.
    for _ in range(access.RECENT_VIEWS_READ + 50):
        access.record_access(officer, buildings[0], "view_record", channel="web")
    for building in buildings[1:]:
        access.record_access(officer, building, "view_plan", channel="web")
        access.record_access(officer, building, "view_record", channel="web")
    access.record_access(officer, buildings[1], "export.packet", channel="web")
    access.record_access(other, buildings[2], "view_record", channel="web")
    db.session.commit()

    assert [b.name for b in access.recently_viewed(officer)] == [f"Building {n}" for n in range(11, 3, -1)]
    assert [b.name for b in access.recently_viewed(other)] == ["Building 2"]
    # Seen again: first again, once.
    access.record_access(officer, buildings[5], "view_record", channel="web")
    db.session.commit()
    assert [b.name for b in access.recently_viewed(officer, limit=3)] == ["Building 5", "Building 11", "Building 10"]
