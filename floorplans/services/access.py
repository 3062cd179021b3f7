"""The access log: every read of a building's record or plan by someone outside its
congregation.  Append-only; the building's partners read their own buildings' events.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from floorplans.db import db
from floorplans.models import AccessEvent, Building, Role, User
from floorplans.paging import PAGE_SIZE, Page, by_keyset, short_window
from floorplans.permissions import can_read, is_own_building


def record_access(
    user: User, building: Building, action: str, *, channel: str, ip_address: str = "", detail: str = "",
    always: bool = False,
) -> AccessEvent | None:
    """Log a read of ``building`` unless the reader belongs to its own congregation.
    ``always``: log it anyway (an export leaves the service as a file: the congregation
    sees every copy that was made, its own included)."""
    if is_own_building(user, building) and not always:
        return None
    event = AccessEvent(
        user_id=user.id,
        building_id=building.id,
        action=action,
        channel=channel,
        ip_address=ip_address[:64],
        detail=detail[:300],
    )
    db.session.add(event)
    db.session.flush()
    return event

#: Every action of the access log in its readers' words, in the order its "What" filter
#: offers them; the log's rows say the same (templates/_access_filters.html, _access_events.html).
ACTION_WORDS = {
    "view_record": "viewed the record",
    "view_plan": "viewed the plan",
    "keep_offline": "kept it for offline use",
    "export.packet": "downloaded the print packet",
    "export.png": "downloaded a floor as an image",
    "export.geojson": "downloaded the markers",
}


@dataclass(frozen=True)
class Filters:
    """What the "Who looked" and access log pages select (each served by an index of
    migration 0014 that ends in the id, so a page walks it newest first)."""

    who: str = ""  # the reader's e-mail, whole (case ignored)
    building_id: int | None = None
    action: str = ""  # view_record, view_plan, export.packet...
    start: dt.datetime | None = None  # naive UTC, inclusive
    end: dt.datetime | None = None  # naive UTC, exclusive


def access_log(user: User, *, building: Building | None = None, filters: Filters = Filters(),
               before: int | None = None, after: int | None = None, size: int = PAGE_SIZE) -> Page[AccessEvent]:
    """Events ``user`` may read, newest first, a page at a time (``paging.by_keyset``): a
    partner those of their congregation's buildings, an admin all."""
    query = select(AccessEvent).options(selectinload(AccessEvent.user))
    if Role(user.role) is not Role.ADMIN:
        own = select(Building.id).where(Building.organisation_id == user.organisation_id)
        query = query.where(AccessEvent.building_id.in_(own))
    if building is not None:
        query = query.where(AccessEvent.building_id == building.id)
    if filters.building_id is not None:
        query = query.where(AccessEvent.building_id == filters.building_id)
    if filters.who:
        readers = select(User.id).where(func.lower(User.email) == filters.who.strip().lower())
        query = query.where(AccessEvent.user_id.in_(readers))
    if filters.action:
        query = query.where(AccessEvent.action == filters.action)
    if filters.start is not None:
        query = query.where(AccessEvent.at >= filters.start)
    if filters.end is not None:
        query = query.where(AccessEvent.at < filters.end)
    return by_keyset(query, AccessEvent.id, before=before, after=after, size=size,
                     narrow=short_window(filters.start, filters.end))


VIEW_ACTIONS = ("view_record", "view_plan")


# "Recently viewed" reads at most this many of the officer's newest views: an officer's
# history grows by thousands of events a year, and eight buildings are almost always among
# the last few dozen, so the newest rows of the (user, id) index are read, never all of them.
RECENT_VIEWS_READ = 400


def recently_viewed(user: User, *, limit: int = 8) -> list[Building]:
    """The buildings ``user`` looked at most recently, newest first, from their own access
    events (so it follows the officer from one car's laptop to another's)."""
    newest = db.session.scalars(
        select(AccessEvent.building_id)
        .where(AccessEvent.user_id == user.id, AccessEvent.action.in_(VIEW_ACTIONS),
               AccessEvent.building_id.is_not(None))
        .order_by(AccessEvent.id.desc())
        .limit(RECENT_VIEWS_READ)
    )
    ids = [building_id for building_id in dict.fromkeys(newest) if building_id is not None][:limit]
    found = {b.id: b for b in db.session.scalars(select(Building).where(Building.id.in_(ids)))} if ids else {}
    return [found[i] for i in ids if i in found and can_read(user, found[i])]
