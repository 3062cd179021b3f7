"""The administrators' review queue: what partners changed since a building was last reviewed.

Built on the audit log, which already holds every change with its before and after values
(contacts' private values masked).  A review records the newest event the reviewer saw
(``BuildingReview.last_event_id``); the queue is every partner change after it.  Events are
never marked or changed (the table is append-only down to the database).

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select

from floorplans.db import db, utcnow
from floorplans.errors import InvalidInput
from floorplans.models import AuditEvent, Building, BuildingReview, Role, User
from floorplans.services import audit

#: What a partner can change about a building; "building.verify" is a confirmation, not a change.
REVIEWED_ACTIONS = (
    "building.create", "building.update",
    "contact.create", "contact.update", "contact.delete", "contact.move",
    "gathering.create", "gathering.update", "gathering.delete",
    "plan.upload", "plan.pages", "plan.publish",
    "marker.place", "marker.move", "marker.update", "marker.delete",
)  # fmt: skip


def _last_reviewed_event() -> Any:
    """Per building, the newest event covered by a review (0 if never reviewed)."""
    return (
        select(func.coalesce(func.max(BuildingReview.last_event_id), 0))
        .where(BuildingReview.building_id == AuditEvent.building_id)
        .scalar_subquery()
    )


def _pending() -> ColumnElement[bool]:
    by_partner = AuditEvent.actor_role == Role.PARTNER.value
    # A partner's upload is published by the job worker when it is rendered (no actor): that
    # publish is the moment officers see the new plan, so it belongs in the queue too.
    published_by_the_worker = and_(AuditEvent.action == "plan.publish", AuditEvent.actor_id.is_(None))
    return and_(
        AuditEvent.building_id.is_not(None),
        AuditEvent.action.in_(REVIEWED_ACTIONS),
        or_(by_partner, published_by_the_worker),
        AuditEvent.id > _last_reviewed_event(),
    )


@dataclass(frozen=True)
class QueueEntry:
    building: Building
    changes: int
    first_at: dt.datetime
    last_at: dt.datetime
    last_review: BuildingReview | None


def queue(*, limit: int = 500) -> list[QueueEntry]:
    """Buildings with partner changes not yet reviewed, the longest waiting first."""
    rows = db.session.execute(
        select(AuditEvent.building_id, func.count(AuditEvent.id), func.min(AuditEvent.at), func.max(AuditEvent.at))
        .where(_pending())
        .group_by(AuditEvent.building_id)
        .order_by(func.min(AuditEvent.at))
        .limit(limit)
    ).all()
    entries = []
    for building_id, count, first_at, last_at in rows:
        building = db.session.get(Building, building_id)
        if building is None:  # deleted since: its events stay in the audit log
            continue
        entries.append(QueueEntry(building, count, first_at, last_at, last_review(building_id)))
    return entries


def last_review(building_id: int) -> BuildingReview | None:
    return db.session.scalar(
        select(BuildingReview).where(BuildingReview.building_id == building_id)
        .order_by(BuildingReview.id.desc()).limit(1)
    )


def pending_events(building: Building) -> Sequence[AuditEvent]:
    """The building's partner changes since its last review, oldest first."""
    return db.session.scalars(
        select(AuditEvent).where(_pending(), AuditEvent.building_id == building.id).order_by(AuditEvent.id)
    ).all()


@dataclass
class ObjectDiff:
    """The net change of one object (the building, a contact, a gathering, a plan version)
    over the pending events: each field's value before the first and after the last."""

    kind: str  # building, contact, gathering, plan_version
    object_id: int | None
    name: str
    created: bool = False
    deleted: bool = False
    fields: dict[str, list[Any]] = field(default_factory=dict)  # name -> [before, after]
    facts: list[str] = field(default_factory=list)  # uploads and publishes

    @property
    def changed_fields(self) -> list[tuple[str, Any, Any]]:
        return [(name, old, new) for name, (old, new) in self.fields.items() if old != new or self.created]


def diff(events: Sequence[AuditEvent]) -> list[ObjectDiff]:
    """The pending events folded into one diff per object, in the order first touched."""
    objects: dict[tuple[str, int | None], ObjectDiff] = {}
    for entry in events:
        detail = entry.detail or {}
        kind = entry.target_type or entry.action.split(".")[0]
        key = (kind, entry.target_id)
        item = objects.get(key)
        if item is None:
            item = objects[key] = ObjectDiff(kind, entry.target_id, _name(kind, detail, entry))
        verb = entry.action.split(".", 1)[1]
        if verb in ("create", "place"):
            item.created = True
            for name, value in (detail.get("values") or {}).items():
                item.fields[name] = [None, value]
        elif verb == "delete":
            item.deleted = True
            for name, value in (detail.get("values") or {}).items():
                item.fields.setdefault(name, [value, value])[1] = None
        elif verb == "upload":
            item.facts.append(f"uploaded {detail.get('file') or 'a PDF'} ({detail.get('pages', '?')} page(s)) "
                              f"as version {detail.get('number', '?')}")
        elif verb == "publish":
            replaces = detail.get("replaces")
            item.facts.append(f"version {detail.get('number', '?')} published"
                              + (f", replacing version {replaces}" if replaces else " (the first plan)"))
        for name, (old, new) in (detail.get("changes") or {}).items():
            if name in item.fields:
                item.fields[name][1] = new
            else:
                item.fields[name] = [old, new]
    return list(objects.values())


def _name(kind: str, detail: dict[str, Any], entry: AuditEvent) -> str:
    values = detail.get("values") or {}
    label = detail.get("name") or detail.get("label") or values.get("name") or values.get("label")
    if kind == "plan_version":
        return f"Plan version {detail.get('number', entry.target_id)}"
    return f"{kind.replace('_', ' ').capitalize()}" + (f" “{label}”" if label else f" #{entry.target_id}")


def mark_reviewed(building: Building, *, up_to_event_id: int, by: User) -> BuildingReview:
    """Record that ``by`` reviewed the building's changes up to the event the page showed
    last; a change made while they were reading stays in the queue."""
    covered = [e for e in pending_events(building) if e.id <= up_to_event_id]
    if not covered:
        raise InvalidInput({"up_to": "there is nothing (left) to review for this building: reload the queue."})
    review = BuildingReview(building_id=building.id, last_event_id=covered[-1].id, reviewed_at=utcnow(),
                            reviewed_by_id=by.id, reviewed_by_email=by.email, changes=len(covered))
    db.session.add(review)
    db.session.flush()
    audit.record("building.review", actor=by, building=building, target=building,
                 detail={"up_to_event": review.last_event_id, "changes": review.changes})
    return review
