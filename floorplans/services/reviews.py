"""The administrators' review queue: what partners changed since an administrator last
reviewed it, each change in words, reviewed one by one.

Built on the audit log, which holds every change with its before and after values (a
contact's private values masked).  The log is append-only down to the database, so a
review never touches an event: a ``ReviewedChange`` row beside it says who reviewed which
change and when.  Reviews made before those rows existed are a high-water mark per building
(``BuildingReview.last_event_id``), still honoured.  Reviewing is itself audited
("building.review").

What is reviewed: every action of a partner on a building's record, contacts, gatherings,
plan and markers, including actions added after this was written (they read as words all
the same), except confirming that the record is current; and every publish of a plan,
whoever made it (the partner, an administrator on the congregation's behalf, the command
line), because that is the moment officers see the new plan.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVarTuple

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, or_, select, text, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from floorplans.db import db, utcnow
from floorplans.errors import Conflict, InvalidInput
from floorplans.models import AuditEvent, Building, BuildingReview, ReviewedChange, Role, User
from floorplans.models.reviews import CHANGE_MAKERS
from floorplans.services import audit
from floorplans.services.marker_words import MarkerWords
from floorplans.services.review_words import Change, age_words, date_words, describe, local_day

#: The kinds of record a partner keeps: each of their actions on these is a change to review.
REVIEWED_KINDS = ("building", "contact", "gathering", "plan", "marker")
#: Not changes: a partner confirming the record is current, and a review itself.
NOT_CHANGES = ("building.verify", "building.review")
#: Changes on one page of a building's review: a page an administrator reads to the end.
PAGE_SIZE = 50
_Row = TypeVarTuple("_Row")  # a query's column types, kept through _waiting
#: At most this many changes marked reviewed by one request (a page's worth, with room).
MARK_AT_MOST = 200


def _changes() -> ColumnElement[bool]:
    """Partners' changes (and publishes), reviewed or not."""
    return and_(
        AuditEvent.building_id.is_not(None),
        or_(*(AuditEvent.action.startswith(f"{kind}.") for kind in REVIEWED_KINDS)),
        AuditEvent.action.not_in(NOT_CHANGES),
        # Who can make a change to review at all, as the log's partial index says it: the
        # queue then never reads officers' reads, most of the log.
        text(CHANGE_MAKERS),
        # A CASE, not an OR: an OR sends PostgreSQL to the action index and the table's rows
        # instead of the partial index alone.
        case((AuditEvent.actor_role == Role.PARTNER.value, true()), else_=AuditEvent.action == "plan.publish"),
    )


def _reviewed() -> ColumnElement[bool]:
    return exists().where(ReviewedChange.audit_event_id == AuditEvent.id)


def _waiting(query: Select[*_Row]) -> Select[*_Row]:
    """``query`` (over the audit log) narrowed to changes waiting for review: not marked
    reviewed, and newer than the building's reviews made before marks existed
    (``BuildingReview``, joined once rather than asked again for every event)."""
    before_marks = (
        select(BuildingReview.building_id, func.max(BuildingReview.last_event_id).label("last_event_id"))
        .group_by(BuildingReview.building_id)
        .subquery()
    )
    return query.outerjoin(before_marks, before_marks.c.building_id == AuditEvent.building_id).where(
        _changes(), AuditEvent.id > func.coalesce(before_marks.c.last_event_id, 0), ~_reviewed()
    )


# --- the queue -------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueEntry:
    building: Building
    changes: int  # not reviewed yet
    oldest_at: dt.datetime  # naive UTC
    waiting: str  # how long the oldest has waited, in words
    last_reviewed_at: dt.datetime | None
    last_reviewed_by: str


NEVER: tuple[None, str] = (None, "")  # (when, by whom) of a building never reviewed


def queue(*, limit: int = 500, now: dt.datetime | None = None) -> list[QueueEntry]:
    """Buildings with changes not yet reviewed, the longest waiting first."""
    now = now or utcnow()
    rows = db.session.execute(
        _waiting(select(AuditEvent.building_id, func.count(AuditEvent.id), func.min(AuditEvent.at)))
        .group_by(AuditEvent.building_id)
        .order_by(func.min(AuditEvent.at), AuditEvent.building_id)
        .limit(limit)
    ).all()
    ids = [building_id for building_id, _count, _oldest in rows if building_id is not None]
    buildings = {b.id: b for b in db.session.scalars(
        select(Building).where(Building.id.in_(ids)).options(selectinload(Building.organisation))
    )}  # fmt: skip
    reviewed = last_reviews(ids)
    return [
        QueueEntry(buildings[building_id], count, oldest, age_words(oldest, now), *reviewed.get(building_id, NEVER))
        for building_id, count, oldest in rows
        if building_id in buildings  # a building deleted since: its events stay in the log
    ]


def last_reviews(building_ids: Sequence[int]) -> dict[int, tuple[dt.datetime, str]]:
    """Building id -> when its latest review was made and by whom (either kind of review)."""
    found: dict[int, tuple[dt.datetime, str]] = {}
    models: tuple[type[ReviewedChange] | type[BuildingReview], ...] = (ReviewedChange, BuildingReview)
    for model in models:
        latest = select(func.max(model.id)).where(model.building_id.in_(building_ids)).group_by(model.building_id)
        reviews = select(model.building_id, model.reviewed_at, model.reviewed_by_email).where(model.id.in_(latest))
        for building_id, reviewed_at, reviewed_by_email in db.session.execute(reviews):
            if building_id not in found or found[building_id][0] < reviewed_at:
                found[building_id] = (reviewed_at, reviewed_by_email)
    return found


def pending_count(building: Building) -> int:
    return db.session.scalar(
        _waiting(select(func.count(AuditEvent.id))).where(AuditEvent.building_id == building.id)
    ) or 0


# --- one building's changes, a page at a time ------------------------------------------

@dataclass
class Group:
    """One record's changes on one day: the building record, a contact, the plan..."""

    key: str
    title: str
    changes: list[Change] = field(default_factory=list)


@dataclass
class Day:
    day: dt.date  # in the service's time zone
    groups: list[Group] = field(default_factory=list)

    @property
    def title(self) -> str:
        return date_words(self.day)


@dataclass(frozen=True)
class ChangesPage:
    """A page of a building's changes, newest first, grouped by day and then by record."""

    days: list[Day]
    total: int  # matching changes on every page
    number: int  # 1-based
    pages: int
    shown: list[int]  # the event ids on this page
    marks: dict[int, ReviewedChange]  # event id -> its review (the reviewed listing)

    @property
    def all_shown(self) -> bool:
        """Every remaining change is on this page, so "mark the remaining" skips nothing."""
        return 0 < self.total == len(self.shown)


def pending_page(building: Building, number: int = 1, *, size: int = PAGE_SIZE) -> ChangesPage:
    """The building's changes waiting for review, newest first."""
    query = _waiting(select(AuditEvent)).where(AuditEvent.building_id == building.id)
    return _page(building, query, pending_count(building), number, size)


def reviewed_page(building: Building, number: int = 1, *, size: int = PAGE_SIZE) -> ChangesPage:
    """The building's changes already reviewed one by one, newest first, with who and when."""
    query = select(AuditEvent).where(_changes(), _reviewed(), AuditEvent.building_id == building.id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return _page(building, query, total, number, size, with_marks=True)


def _page(building: Building, query: Select[AuditEvent], total: int, number: int, size: int,
          *, with_marks: bool = False) -> ChangesPage:  # fmt: skip
    pages = max(1, -(-total // size))
    number = min(max(1, number), pages)  # past the end (the last changes were just reviewed): the last page
    events = list(db.session.scalars(query.order_by(AuditEvent.id.desc()).offset((number - 1) * size).limit(size)))
    marks: dict[int, ReviewedChange] = {}
    if with_marks and events:
        marks = {mark.audit_event_id: mark for mark in db.session.scalars(
            select(ReviewedChange).where(ReviewedChange.audit_event_id.in_([e.id for e in events]))
        )}  # fmt: skip
    return ChangesPage(group(events, MarkerWords(building.id, events)), total, number, pages,
                       [e.id for e in events], marks)  # fmt: skip


def group(events: Iterable[AuditEvent], markers: MarkerWords) -> list[Day]:
    """Newest first: days, within a day each record (by its newest change), its changes."""
    days: dict[dt.date, Day] = {}
    groups: dict[tuple[dt.date, str], Group] = {}
    for event in events:
        change = describe(event, markers)
        day = local_day(event.at)
        if day not in days:
            days[day] = Day(day)
        if (day, change.record_key) not in groups:
            groups[day, change.record_key] = Group(change.record_key, change.record)
            days[day].groups.append(groups[day, change.record_key])
        groups[day, change.record_key].changes.append(change)
    return list(days.values())


# --- reviewing -------------------------------------------------------------------------

def mark_reviewed(building: Building, event_ids: Iterable[int], *, by: User) -> list[int]:
    """Record that ``by`` reviewed these changes of the building (the ones a page showed
    them); those already reviewed, or not the building's, are left out.  Returns the ids
    marked."""
    wanted = sorted({int(i) for i in event_ids})[:MARK_AT_MOST]
    ids = list(db.session.scalars(
        _waiting(select(AuditEvent.id)).where(AuditEvent.building_id == building.id, AuditEvent.id.in_(wanted))
        .order_by(AuditEvent.id)
    )) if wanted else []  # fmt: skip
    if not ids:
        raise InvalidInput({"event": "there is nothing (left) to review among these changes: someone may have "
                                     "reviewed them already. Reload the page to see what is left."})  # fmt: skip
    at = utcnow()
    db.session.add_all(
        ReviewedChange(audit_event_id=event_id, building_id=building.id, reviewed_at=at, reviewed_by_id=by.id,
                       reviewed_by_email=by.email)
        for event_id in ids
    )  # fmt: skip
    try:
        db.session.flush()
    except IntegrityError:  # the unique event id: another administrator marked one first
        raise Conflict("Another administrator reviewed some of these changes at the same moment. "
                       "Reload the page to see what is left.") from None  # fmt: skip
    audit.record("building.review", actor=by, building=building, target=building,
                 detail={"changes": len(ids), "events": ids})  # fmt: skip
    return ids
