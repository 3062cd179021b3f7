"""Building records: create, change, confirm as current, find.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from floorplans.db import db, utcnow
from floorplans.errors import Conflict, Forbidden, InvalidInput, NotFound
from floorplans.fields import Field, RecordFields
from floorplans.models import Building, Organisation, Role, User
from floorplans.models.buildings import BuildingWord
from floorplans.permissions import can_edit, can_read, readable_buildings
from floorplans.search import MAX_INDEXED_CHARS, following, normalise, tokens
from floorplans.services import audit

BUILDING_FIELDS = RecordFields((
    Field("name", "Building name", required=True, group="Building"),
    Field("capacity", "Capacity (people)", "int", minimum=0, maximum=1_000_000, group="Building"),
    Field("street", "Street address", required=True, group="Address",
          help="Number and street, as a 911 call would give it."),
    Field("city", "City", required=True, max_length=100, group="Address"),
    Field("region", "Province or state", max_length=100, group="Address"),
    Field("postal_code", "Postal code", max_length=20, group="Address"),
    Field("latitude", "Latitude", "float", minimum=-90, maximum=90, group="Address",
          help="Decimal degrees, e.g. 43.6532"),
    Field("longitude", "Longitude", "float", minimum=-180, maximum=180, group="Address",
          help="Decimal degrees, e.g. -79.3832"),
    Field("entrances", "Entrances", "textarea", max_length=4000, group="Access",
          help="Which doors are used, which are kept locked, where responders should enter."),
    Field("key_box", "Key box", "textarea", max_length=2000, group="Access",
          help="Where the key box is and who holds the code (never the code itself)."),
    Field("shutoff_gas", "Gas shut-off", "textarea", max_length=2000, group="Utility shut-offs"),
    Field("shutoff_electric", "Electrical panel / shut-off", "textarea", max_length=2000,
          group="Utility shut-offs"),
    Field("shutoff_water", "Water shut-off", "textarea", max_length=2000, group="Utility shut-offs"),
    Field("alarm_company", "Alarm company", group="Alarm"),
    Field("alarm_panel", "Alarm panel location", "textarea", max_length=2000, group="Alarm"),
    Field("hazards", "Hazards", "textarea", max_length=4000, group="Hazards and notes",
          help="Fuel, chemicals, candles, oxygen, dogs, structural issues..."),
    Field("notes", "Notes for responders", "textarea", max_length=8000, group="Hazards and notes"),
))


def _search_text(building: Building) -> str:
    return normalise(" ".join((building.name, building.street, building.city, building.postal_code)))


def _check_coordinates(values: Mapping[str, Any], building: Building | None) -> None:
    lat = values.get("latitude", building.latitude if building else None)
    lon = values.get("longitude", building.longitude if building else None)
    if (lat is None) != (lon is None):
        missing = "longitude" if lon is None else "latitude"
        raise InvalidInput({missing: "is needed too: give both latitude and longitude, or neither."})


def create_building(organisation: Organisation, raw: Mapping[str, Any], *, by: User | None) -> Building:
    values = BUILDING_FIELDS.clean(raw)
    _check_coordinates(values, None)
    building = Building(organisation=organisation, **values)
    building.search_text = _search_text(building)
    # A partner entering the record is vouching for it today.
    building.last_verified_at = utcnow()
    building.last_verified_by = by
    db.session.add(building)
    db.session.flush()
    audit.record("building.create", building=building, target=building,
                 detail={"values": audit.values(building, values)})
    return building


def update_building(
    building: Building, raw: Mapping[str, Any], *, partial: bool = False, expected_version: int | None = None
) -> Building:
    """Change fields; with ``expected_version`` (the form's hidden row version) an edit based
    on an older copy is refused instead of silently overwriting someone else's change."""
    values = BUILDING_FIELDS.clean(raw, partial=partial)
    _check_coordinates(values, building)
    if expected_version is not None and expected_version != building.row_version:
        raise Conflict(
            "Someone else changed this building while you were editing. "
            "Your changes were not saved: reload the page, then make them again."
        )
    with audit.recording_changes(building, values, "building.update", building=building):
        for name, value in values.items():
            setattr(building, name, value)
        building.search_text = _search_text(building)
        flush_or_conflict()
    return building


def verify_building(building: Building, *, by: User) -> Building:
    """The partner's one-click "I confirm this is current"."""
    building.last_verified_at = utcnow()
    building.last_verified_by = by
    flush_or_conflict()
    audit.record("building.verify", building=building, target=building)
    return building


def flush_or_conflict() -> None:
    try:
        db.session.flush()
    except StaleDataError:
        raise Conflict(
            "Someone else changed this building at the same moment. Reload the page and try again."
        ) from None


def is_stale(building: Building, *, stale_after_days: int, now: dt.datetime | None = None) -> bool:
    if building.last_verified_at is None:
        return True
    return (now or utcnow()) - building.last_verified_at > dt.timedelta(days=stale_after_days)


def get_readable(user: User, building_id: int) -> Building:
    """A building ``user`` may read.  Someone else's building is "not found", not "forbidden",
    so ids cannot be probed to learn which exist."""
    building = db.session.get(Building, building_id)
    if building is None or not can_read(user, building):
        raise NotFound("There is no such building, or it is not yours to see.")
    return building


def get_editable(user: User, building_id: int) -> Building:
    building = get_readable(user, building_id)
    if not can_edit(user, building):
        raise Forbidden("You can read this building's record but not change it.")
    return building


# A name and an address are a dozen words; each word is one condition of the statement, and
# SQLite refuses a thousand ("Expression tree is too large").  Words past these are ignored.
MAX_SEARCH_WORDS = 16
MAX_SEARCH_CHARS = 200


def search_words(query: str) -> tuple[list[str], bool]:
    """The words ``search`` looks for, and whether ``query`` had more than it uses."""
    query = " ".join(query.split())
    cut = len(query) > MAX_SEARCH_CHARS
    if cut:  # at the last space, not inside a word
        query = query[: MAX_SEARCH_CHARS + 1].rsplit(" ", 1)[0][:MAX_SEARCH_CHARS]
    words = tokens(query)
    return words[:MAX_SEARCH_WORDS], cut or len(words) > MAX_SEARCH_WORDS


def search(user: User, query: str = "", *, limit: int = 50, offset: int = 0,
           congregations: bool = True) -> Sequence[Building]:
    """Buildings ``user`` may read whose name or address contains every word of ``query``
    (abbreviations expanded: "st" finds "street"), by name then id; with no words, all of them
    (the lists).  Only the first ``MAX_SEARCH_WORDS`` words of its first ``MAX_SEARCH_CHARS``
    characters count, so any input costs three statements.  Each word narrows through the
    building_words index, never a read of every building.  The page's ids are found first,
    then only their records are read: sorting ids and names is cheaper than sorting records;
    with their ``congregations`` too, for pages that show them."""
    words, _ = search_words(query)
    ids = readable_buildings(user).with_only_columns(Building.id)
    if not words:  # a list: a page of the name index, however far in
        return records(db.session.scalars(ids.order_by(Building.name, Building.id).offset(offset).limit(limit)).all(),
                       congregations=congregations)
    for word in dict.fromkeys(words):
        ids = ids.where(Building.id.in_(with_word(word)))
    # Sorted by ``name || ''``, which no index provides, so the database sorts the matches.
    # Given the name index, PostgreSQL would walk it and test each name until the page is
    # full, expecting the matches spread evenly over the names; but words that names start
    # with are not ("masjid": half the names walked, 26 ms, where sorting takes 4).
    return records(db.session.scalars(ids.order_by(Building.name + "", Building.id).offset(offset).limit(limit)).all(),
                   congregations=congregations)


def records(ids: Sequence[int], *, congregations: bool = False) -> list[Building]:
    """The buildings of ``ids`` in that order, with their congregations if asked (a second
    statement); one deleted in between is left out.  ``ids`` are already known readable."""
    if not ids:
        return []
    loaded = {building.id: building
              for building in db.session.scalars(_records_statement(congregations), {"ids": list(ids)})}
    return [loaded[i] for i in ids if i in loaded]


@cache
def _records_statement(congregations: bool) -> Select[Building]:
    """Buildings by the ``ids`` bound, built once per process: every Find page and lookup
    reads its results this way, and building the statement cost a third of running it."""
    statement = select(Building).where(Building.id.in_(bindparam("ids", expanding=True)))
    return statement.options(selectinload(Building.organisation)) if congregations else statement


def with_word(word: str, *, whole: bool | None = None) -> Select[int]:
    """The ids of the buildings whose stored search text has a word starting with ``word``
    ("gra" finds "Grace", "main" never finds "domain"), or ``word`` itself when ``whole``
    (by default for a number: "12" must not find "123 Main Street"), by an index range on
    building_words.  ``word`` is one of ``search.tokens``' words."""
    return words_matching(word_test(word, whole=whole))


def word_test(word: str, *, whole: bool | None = None) -> dict[str, str]:
    """What ``with_word`` compares, by role: ``word`` for a word the index holds whole;
    ``from`` and ``to`` for an index range (the words starting with it); and ``text`` too for
    a word longer than the index keeps, which the stored text decides.  Apart, so that a
    statement built once can be given the values of another word of the same roles."""
    whole = word.isdigit() if whole is None else whole
    indexed = word[:MAX_INDEXED_CHARS]
    if whole and indexed == word:
        return {"word": word}
    bounds = {"from": indexed, "to": following(indexed)}
    # Longer than the index keeps: the index narrows, the stored text decides.
    return bounds if indexed == word else {**bounds, "text": f" {word} " if whole else f" {word}"}


def words_matching(test: Mapping[str, Any]) -> Select[int]:
    """The statement of ``with_word`` for a ``word_test``, its values given or bound."""
    if "word" in test:
        return select(BuildingWord.building_id).where(BuildingWord.word == test["word"])
    ids = select(BuildingWord.building_id).where(BuildingWord.word >= test["from"], BuildingWord.word < test["to"])
    if "text" not in test:
        return ids
    padded = " " + Building.search_text + " "
    return (ids.join(Building, Building.id == BuildingWord.building_id).correlate(None)
            .where(padded.contains(test["text"])))


def organisation_for_new_building(user: User, organisation_id: int | None) -> Organisation:
    """Partners add buildings to their own congregation; admins choose one."""
    if Role(user.role) is Role.PARTNER:
        if user.organisation is None:
            raise Forbidden("Your account is not attached to a congregation yet; ask the service.")
        if organisation_id not in (None, user.organisation_id):
            raise InvalidInput({"organisation_id": "partners add buildings to their own congregation only."})
        return user.organisation
    if Role(user.role) is not Role.ADMIN:
        raise Forbidden("Only a congregation's partners or an administrator can add a building.")
    organisation = db.session.get(Organisation, organisation_id) if organisation_id else None
    if organisation is None:
        raise InvalidInput({"organisation_id": "choose the congregation that owns this building."})
    return organisation
