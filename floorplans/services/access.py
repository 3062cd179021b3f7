"""The access log: every read of a building's record or plan by someone outside its
congregation.  Append-only; the building's partners read their own buildings' events.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from floorplans.db import db
from floorplans.models import AccessEvent, Building, Role, User
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


def access_log(user: User, *, building: Building | None = None, limit: int = 200) -> Sequence[AccessEvent]:
    """Events ``user`` may read: a partner those of their congregation's buildings, an admin all."""
    query = select(AccessEvent).options(selectinload(AccessEvent.user)).order_by(
        AccessEvent.at.desc(), AccessEvent.id.desc()
    )
    if Role(user.role) is not Role.ADMIN:
        own = select(Building.id).where(Building.organisation_id == user.organisation_id)
        query = query.where(AccessEvent.building_id.in_(own))
    if building is not None:
        query = query.where(AccessEvent.building_id == building.id)
    return db.session.scalars(query.limit(limit)).all()


VIEW_ACTIONS = ("view_record", "view_plan")


def recently_viewed(user: User, *, limit: int = 8) -> list[Building]:
    """The buildings ``user`` looked at most recently, newest first, from their own access
    events (so it follows the officer from one car's laptop to another's)."""
    latest = (
        select(AccessEvent.building_id, func.max(AccessEvent.id).label("last"))
        .where(AccessEvent.user_id == user.id, AccessEvent.action.in_(VIEW_ACTIONS),
               AccessEvent.building_id.is_not(None))
        .group_by(AccessEvent.building_id)
        .subquery()
    )
    query = (
        select(Building).join(latest, latest.c.building_id == Building.id).order_by(latest.c.last.desc()).limit(limit)
    )
    return [b for b in db.session.scalars(query) if can_read(user, b)]
