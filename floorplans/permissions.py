"""Who may do what.  Every route declares one ``Permission``; this module says which roles
hold it, and which buildings a user may see or change.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import enum

from sqlalchemy import Select, select, true

from floorplans.models import Building, PlanVersion, Role, User


class Permission(enum.StrEnum):
    PUBLIC = "public"  # the login page, static assets, health checks
    SIGNED_IN = "signed_in"  # any account: logout, own password
    READ_RECORDS = "read_records"  # building records and plans (partners: their own only)
    EDIT_RECORDS = "edit_records"  # partners (their own buildings) and admins
    READ_ACCESS_LOG = "read_access_log"  # partners (their own buildings) and admins
    RUN_EXERCISES = "run_exercises"  # planners and admins: exercise layers, never the real record
    ADMIN = "admin"  # organisations, accounts, everything


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.PARTNER: frozenset(
        {Permission.SIGNED_IN, Permission.READ_RECORDS, Permission.EDIT_RECORDS,
         Permission.READ_ACCESS_LOG}
    ),
    Role.OFFICER: frozenset({Permission.SIGNED_IN, Permission.READ_RECORDS}),
    Role.PLANNER: frozenset({Permission.SIGNED_IN, Permission.READ_RECORDS, Permission.RUN_EXERCISES}),
}


def has_permission(user: User | None, permission: Permission) -> bool:
    if permission is Permission.PUBLIC:
        return True
    if user is None or not user.active:
        return False
    return permission in ROLE_PERMISSIONS[Role(user.role)]


def sees_all_buildings(user: User) -> bool:
    return Role(user.role) in (Role.ADMIN, Role.OFFICER, Role.PLANNER)


def can_read(user: User, building: Building) -> bool:
    return can_read_of(user, building.organisation_id)


def can_read_of(user: User, organisation_id: int) -> bool:
    """Whether ``user`` may read the buildings of this congregation (the tile route asks by
    id, without loading the building)."""
    return has_permission(user, Permission.READ_RECORDS) and (
        sees_all_buildings(user) or organisation_id == user.organisation_id
    )


def can_edit(user: User, building: Building) -> bool:
    return can_edit_of(user, building.organisation_id)


def can_edit_of(user: User, organisation_id: int) -> bool:
    """Whether ``user`` may change (and see the drafts of) this congregation's buildings."""
    if not has_permission(user, Permission.EDIT_RECORDS):
        return False
    return Role(user.role) is Role.ADMIN or organisation_id == user.organisation_id


def can_see_version(user: User, version: PlanVersion) -> bool:
    """Drafts, failed and queued versions are their congregation's (and administrators')
    business; officers and planners see only what was published (``shown_to_officers``)."""
    if can_edit(user, version.building):
        return True
    return version.shown_to_officers and can_read(user, version.building)


def is_own_building(user: User, building: Building) -> bool:
    """Partners reading their own congregation's record are not logged as access."""
    return Role(user.role) is Role.PARTNER and building.organisation_id == user.organisation_id


def readable_buildings(user: User) -> Select[Building]:
    """The buildings query scoped to what ``user`` may read."""
    query = select(Building)
    if sees_all_buildings(user):
        return query.where(true())
    return query.where(Building.organisation_id == user.organisation_id)
