"""What is drawn on a plan: the building's real markers (doors, AEDs, shut-offs... placed by
its partner) and planners' exercise layers, which never touch the real record.

Positions are page-relative (0..1 from the page's left and top edges), so a marker stays on
the same spot at every zoom level, at any rendering resolution and on paper.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, Column, DateTime, Float, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from floorplans.db import Model, db, utcnow
from floorplans.models.accounts import User
from floorplans.models.plans import PlanPage

if TYPE_CHECKING:
    from floorplans.models.buildings import Building  # which imports this module


class Marker(Model):
    """A real marker on one page of one plan version.  When a new version is published, the
    markers of the one it replaces are copied onto its pages of the same label and flagged
    until the partner confirms they are still in the right place."""

    __tablename__ = "markers"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Denormalised from the page, so "this congregation's markers" is one indexed query.
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"), index=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("plan_pages.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # a key of floorplans.marker_kinds.KINDS
    x: Mapped[float] = mapped_column(Float)  # 0..1 from the page's left edge
    y: Mapped[float] = mapped_column(Float)  # 0..1 from the page's top edge
    number: Mapped[int | None] = mapped_column(Integer)  # exterior doors: 1 = main entrance, then clockwise
    side: Mapped[str] = mapped_column(String(1), default="")  # A-D, the fire service's building side
    label: Mapped[str] = mapped_column(String(80), default="")  # short text shown beside the icon
    note: Mapped[str] = mapped_column(Text, default="")
    needs_confirmation: Mapped[bool] = mapped_column(Boolean, default=False)
    carried_from_id: Mapped[int | None] = mapped_column(ForeignKey("markers.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    page: Mapped[PlanPage] = relationship()
    created_by: Mapped[User | None] = relationship()


class ExerciseState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # read-only, kept for the after-action review


exercise_buildings = Table(
    "exercise_buildings", db.metadata,
    Column("exercise_id", ForeignKey("exercises.id", ondelete="CASCADE"), primary_key=True),
    Column("building_id", ForeignKey("buildings.id", ondelete="CASCADE"), primary_key=True),
)  # fmt: skip

exercise_planners = Table(
    "exercise_planners", db.metadata,
    Column("exercise_id", ForeignKey("exercises.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)  # fmt: skip


class Exercise(Model):
    """A tabletop exercise over one or more buildings, shared by the planners running it."""

    __tablename__ = "exercises"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(10), default=ExerciseState.OPEN.value, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    buildings: Mapped[list[Building]] = relationship(secondary=exercise_buildings, order_by="Building.name")
    planners: Mapped[list[User]] = relationship(secondary=exercise_planners, order_by=User.email)
    items: Mapped[list[ExerciseItem]] = relationship(
        back_populates="exercise", cascade="all, delete-orphan", order_by=lambda: ExerciseItem.id
    )

    @property
    def is_open(self) -> bool:
        return self.state == ExerciseState.OPEN


class ItemShape(enum.StrEnum):
    MARKER = "marker"  # one point, with a marker kind
    LINE = "line"  # two or more points: a route, a cordon
    AREA = "area"  # three or more points, closed: a perimeter, a search sector
    NOTE = "note"  # one point, with text


class ExerciseItem(Model):
    """Something drawn on an exercise's scratch layer over a plan page."""

    __tablename__ = "exercise_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    exercise_id: Mapped[int] = mapped_column(ForeignKey("exercises.id", ondelete="CASCADE"), index=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"), index=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("plan_pages.id", ondelete="CASCADE"), index=True)
    shape: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(40), default="")  # marker kind, for shape "marker"
    # [[x, y], ...] page-relative (0..1), like Marker.x/y.
    points: Mapped[list[Any]] = mapped_column(JSON, default=list)
    label: Mapped[str] = mapped_column(String(200), default="")
    colour: Mapped[str] = mapped_column(String(7), default="#dc2626")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    exercise: Mapped[Exercise] = relationship(back_populates="items")
    page: Mapped[PlanPage] = relationship()
    created_by: Mapped[User | None] = relationship()
