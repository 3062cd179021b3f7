"""A building's record: the place itself, who to call, and when people gather there.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from floorplans.db import Model, utcnow
from floorplans.models.accounts import Organisation, User
from floorplans.models.plans import PlanVersion


class Building(Model):
    __tablename__ = "buildings"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    street: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    region: Mapped[str] = mapped_column(String(100), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    capacity: Mapped[int | None] = mapped_column(Integer)
    entrances: Mapped[str] = mapped_column(Text, default="")
    key_box: Mapped[str] = mapped_column(Text, default="")
    shutoff_gas: Mapped[str] = mapped_column(Text, default="")
    shutoff_electric: Mapped[str] = mapped_column(Text, default="")
    shutoff_water: Mapped[str] = mapped_column(Text, default="")
    alarm_company: Mapped[str] = mapped_column(String(200), default="")
    alarm_panel: Mapped[str] = mapped_column(Text, default="")
    hazards: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    # Normalised name and address ("123 main street"), kept by the service for search.
    search_text: Mapped[str] = mapped_column(Text, default="")
    last_verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_verified_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        # "Nearest": services.finding asks for a latitude range, then a longitude range.
        Index("ix_buildings_latitude_longitude", "latitude", "longitude"),
    )
    # The plan officers see.  Moves only to a completely rendered version (services.plans).
    published_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan_versions.id", ondelete="SET NULL", use_alter=True)
    )
    # Optimistic locking: two editors saving at once get a conflict, never a lost update.
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__: Mapping[str, Any] = {"version_id_col": row_version}

    organisation: Mapped[Organisation] = relationship(back_populates="buildings")
    last_verified_by: Mapped[User | None] = relationship()
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="building", order_by=lambda: (Contact.position, Contact.id), cascade="all, delete-orphan"
    )
    gatherings: Mapped[list[Gathering]] = relationship(
        back_populates="building",
        order_by=lambda: (Gathering.weekday, Gathering.on_date, Gathering.start_time),
        cascade="all, delete-orphan",
    )

    # post_update: the pointer is written in its own UPDATE, after both rows exist.
    published_version: Mapped[PlanVersion | None] = relationship(foreign_keys=[published_version_id], post_update=True)
    plan_versions: Mapped[list[PlanVersion]] = relationship(
        back_populates="building",
        foreign_keys="PlanVersion.building_id",
        order_by="PlanVersion.number.desc()",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    @property
    def shown_plan(self) -> PlanVersion | None:
        """The plan officers see: the published version, if its tiles are there to show
        (``PlanVersion.shown_to_officers``)."""
        version = self.published_version
        return version if version is not None and version.shown_to_officers else None

    @property
    def address(self) -> str:
        return ", ".join(p for p in (self.street, self.city, self.region, self.postal_code) if p)


class Contact(Model):
    """An emergency contact, in the order the partner wants them called."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(
        ForeignKey("buildings.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40))
    phone_alt: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    key_holder: Mapped[bool] = mapped_column(Boolean, default=False)
    available_24_7: Mapped[bool] = mapped_column(Boolean, default=False)
    # Weekdays as digits, Monday = 0 ("01234" = Monday to Friday); used when not 24/7.
    available_days: Mapped[str] = mapped_column(String(7), default="")
    available_from: Mapped[dt.time | None] = mapped_column(Time)
    available_until: Mapped[dt.time | None] = mapped_column(Time)
    languages: Mapped[str] = mapped_column(String(200), default="")

    building: Mapped[Building] = relationship(back_populates="contacts")


class Gathering(Model):
    """A recurring (weekday) or one-off (date) gathering, in the service's time zone."""

    __tablename__ = "gatherings"

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(
        ForeignKey("buildings.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(200))
    weekday: Mapped[int | None] = mapped_column(Integer)  # Monday = 0
    on_date: Mapped[dt.date | None] = mapped_column(Date)
    start_time: Mapped[dt.time] = mapped_column(Time)
    end_time: Mapped[dt.time] = mapped_column(Time)
    expected_attendance: Mapped[int | None] = mapped_column(Integer)
    children_areas_in_use: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(Text, default="")

    building: Mapped[Building] = relationship(back_populates="gatherings")
