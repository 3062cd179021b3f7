"""A building's record: the place itself, who to call, and when people gather there.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, Time, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.event import listens_for
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship
from sqlalchemy.sql import bindparam, delete, insert, select, update

from floorplans.addresses import house_number
from floorplans.db import Model, utcnow
from floorplans.models.accounts import Organisation, User
from floorplans.models.plans import PlanVersion
from floorplans.search import indexed_words


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
    # Normalised name and address ("123 main street"), kept by the service for search; its
    # words are indexed in building_words (BuildingWord) whenever it is written.
    search_text: Mapped[str] = mapped_column(Text, default="")
    # The street's house number as a number (``addresses.house_number``), kept by the
    # listeners below: the CAD lookup orders a crowded street's buildings by it in SQL.
    house_number: Mapped[int | None] = mapped_column(Integer)
    last_verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_verified_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        # "Nearest": services.finding asks for a latitude range, then a longitude range.
        Index("ix_buildings_latitude_longitude", "latitude", "longitude"),
        # The lists show buildings by name, 100 at a time: page 150 is read from this
        # index instead of sorting every building (migration 0018).
        Index("ix_buildings_name_id", "name", "id"),
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


# Byte order on PostgreSQL too, whatever the database's collation: a prefix is then an index
# range ("gra" <= word < "grb"), as it is in SQLite's default (binary) order.
WORD = Text().with_variant(Text(collation="C"), "postgresql")


class BuildingWord(Model):
    """One word of a building's stored search text, so the name-or-address search and the CAD
    lookup find buildings through an index on (word, building) instead of reading every
    building's text.  Derived from ``Building.search_text`` alone (``search.indexed_words``)
    by the listeners below, whenever the ORM writes it; a bulk insert that bypasses the ORM
    calls ``index_for_finding``.  Deleted with the building (ON DELETE CASCADE)."""

    __tablename__ = "building_words"

    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"), primary_key=True)
    word: Mapped[str] = mapped_column(WORD, primary_key=True)

    __table_args__ = (Index("ix_building_words_word_building_id", "word", "building_id"),)


def _write_words(connection: Connection, texts: Iterable[tuple[int, str]], *, replace: bool) -> None:
    texts = list(texts)
    if not texts:
        return
    if replace:
        connection.execute(delete(BuildingWord).where(BuildingWord.building_id.in_([i for i, _ in texts])))
    rows = [{"building_id": building_id, "word": word} for building_id, text in texts for word in indexed_words(text)]
    if rows:
        connection.execute(insert(BuildingWord), rows)


@listens_for(Building, "before_insert")
def _number_new_building(mapper: Mapper[Building], connection: Connection, building: Building) -> None:
    building.house_number = house_number(building.street or "")


@listens_for(Building, "before_update")
def _number_changed_building(mapper: Mapper[Building], connection: Connection, building: Building) -> None:
    if inspect(building).attrs.street.history.has_changes():
        building.house_number = house_number(building.street or "")


@listens_for(Building, "after_insert")
def _index_new_building(mapper: Mapper[Building], connection: Connection, building: Building) -> None:
    _write_words(connection, [(building.id, building.search_text or "")], replace=False)


@listens_for(Building, "after_update")
def _index_changed_building(mapper: Mapper[Building], connection: Connection, building: Building) -> None:
    if inspect(building).attrs.search_text.history.has_changes():
        _write_words(connection, [(building.id, building.search_text or "")], replace=True)


def index_for_finding(connection: Connection, building_ids: Iterable[int] | None = None, *, batch: int = 1000
                      ) -> None:
    """Index again the search words and the house numbers of ``building_ids`` (every
    building when None) from their stored search text and street, a batch at a time: for
    rows written without the ORM (bulk loads), which the listeners above never see."""
    if building_ids is None:
        building_ids = connection.scalars(select(Building.id)).all()
    ids = sorted(set(building_ids))
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        rows = connection.execute(select(Building.id, Building.search_text, Building.street)
                                  .where(Building.id.in_(chunk))).all()
        _write_words(connection, [(row.id, row.search_text) for row in rows], replace=True)
        if rows:  # none when every id asked for is gone
            connection.execute(update(Building).where(Building.id == bindparam("row_id"))
                               .values(house_number=bindparam("number")),
                               [{"row_id": row.id, "number": house_number(row.street or "")} for row in rows])
