"""The application's data model (SQLAlchemy 2 typed models).

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

from floorplans.models.accounts import (
    FAITH_TRADITIONS,
    AccountLink,
    ApiToken,
    LoginSession,
    Organisation,
    Role,
    User,
)
from floorplans.models.audit import AccessEvent, AuditEvent
from floorplans.models.buildings import Building, Contact, Gathering
from floorplans.models.keeping_current import BuildingReminder, BuildingReview
from floorplans.models.photos import Photo, PhotoSubject
from floorplans.models.planning import Exercise, ExerciseItem, ExerciseState, ItemShape, Marker
from floorplans.models.plans import PlanPage, PlanVersion, VersionState
from floorplans.models.reviews import ReviewedChange

__all__ = [
    "FAITH_TRADITIONS",
    "AccessEvent",
    "AccountLink",
    "ApiToken",
    "AuditEvent",
    "Building",
    "BuildingReminder",
    "BuildingReview",
    "Contact",
    "Exercise",
    "ExerciseItem",
    "ExerciseState",
    "Gathering",
    "ItemShape",
    "LoginSession",
    "Marker",
    "Organisation",
    "Photo",
    "PhotoSubject",
    "PlanPage",
    "PlanVersion",
    "ReviewedChange",
    "Role",
    "User",
    "VersionState",
]
