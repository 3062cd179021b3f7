"""Finding a building from the car: by the address a CAD system sends, and by distance
from where the car is.  Name-or-address search itself is ``buildings.search``.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Integer,
    Row,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    union,
)

from floorplans import addresses
from floorplans.db import db
from floorplans.errors import InvalidInput
from floorplans.models import Building, User
from floorplans.models.buildings import BuildingWord
from floorplans.permissions import readable_buildings, sees_all_buildings
from floorplans.search import normalise, tokens
from floorplans.services.buildings import records, search, with_word, word_test, words_matching

EARTH_RADIUS_M = 6_371_008.8
COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
# Buildings judged against one address: those at its house numbers, its postal code or on
# its street.  A regional service has a handful at any one number; the cap bounds the work.
MAX_CANDIDATES = 500
# When none is exact, the officer is shown the closest near matches, as many as "Nearest to
# me" shows: a list to read at a glance in a moving car, where the 30th building on the
# same street in another town was only something to scroll past.
NEAR_MATCHES_SHOWN = 10
# The near matches judged to choose them, closest kinds first and on a street the nearest
# house numbers (a province's Main Streets hold a thousand buildings; judging 500 of them
# was most of a lookup's time).
MAX_NEAR_CANDIDATES = 4 * NEAR_MATCHES_SHOWN
# The name fallback needs this many words from the address's start ("Beth Shalom, ..."),
# so "123" alone never lists every building at some 123.
MIN_NAME_WORDS = 2


@dataclass(frozen=True)
class Match:
    building: Building
    differences: tuple[str, ...]  # empty: the same street address as the record
    cost: int = 0

    @property
    def exact(self) -> bool:
        return not self.differences


@dataclass(frozen=True)
class Lookup:
    """What an address sent by a CAD link found: exact matches, else near ones best first."""

    sent: str  # the address as read (its beginning when it was cut)
    cut: bool
    matches: tuple[Match, ...]

    @property
    def exact(self) -> list[Building]:
        return [m.building for m in self.matches if m.exact]

    @property
    def near(self) -> list[Match]:
        """Near matches, best first; none when something matched exactly."""
        return [] if self.exact else list(self.matches)

    @property
    def buildings(self) -> list[Building]:
        return self.exact or [m.building for m in self.matches]

    @property
    def opens(self) -> Building | None:
        """The building whose card may open without the officer choosing: the one exact
        match of an address read whole.  On the radio a wrong building is worse than none."""
        exact = self.exact
        return exact[0] if len(exact) == 1 and not self.cut else None


def lookup_address(user: User, address: str, *, limit: int = 50) -> Lookup:
    """Buildings at ``address``: those whose street address it is (house number, street
    name, type and direction the same; a city or postal code sent agreeing with the record),
    else the nearest to it with what differs (docs/in-car.md, "CAD lookup").  The address
    is cut to ``addresses.MAX_ADDRESS_CHARS``.

    A province has thousands of buildings on its Main Streets, so the database narrows first,
    through the building_words index: the buildings at one of the address's house numbers
    that have its street's first word are judged first, and an exact match among them ends
    the lookup (a CAD address is almost always a building's).  Only when none is exact are
    the others worth judging (at the number, in the postal code, on the street in the
    address's place, then elsewhere), closest kinds first and then the nearest house numbers,
    up to ``MAX_NEAR_CANDIDATES`` in all; the best ``NEAR_MATCHES_SHOWN`` are shown.  At most
    five statements are issued."""
    sent = addresses.read(address)
    if not sent.words:
        return Lookup(sent.text, sent.cut, ())
    judged = _judge(sent, _at_address(user, sent))
    if not any(verdict.exact for _, verdict in judged):
        judged += _judge(sent, _near_address(user, sent, [key[3] for key, _ in judged]))
    near_limit = min(limit, NEAR_MATCHES_SHOWN)
    if not judged:
        return Lookup(sent.text, sent.cut, tuple(_by_words(user, sent)[:near_limit]))
    exact = [(key, verdict) for key, verdict in judged if verdict.exact]
    chosen = sorted(exact or judged, key=lambda row: row[0])[:limit if exact else near_limit]
    loaded = {building.id: building for building in records([key[3] for key, _ in chosen])}
    return Lookup(sent.text, sent.cut, tuple(Match(loaded[key[3]], verdict.differences, verdict.cost)
                                             for key, verdict in chosen if key[3] in loaded))


# What ``addresses.judge`` reads of a building: its candidates are read as these columns,
# and whole buildings are loaded only for the matches shown.
Candidate = Row[int, str, str, str, str, str]  # as _JUDGED
_JUDGED = (Building.id, Building.name, Building.street, Building.city, Building.region, Building.postal_code)


def _judge(sent: addresses.Sent, rows: Sequence[Candidate]
           ) -> list[tuple[tuple[int, int, str, int], addresses.Verdict]]:
    """Each candidate's verdict, keyed as the matches are ordered (cost, how far the house
    number is, name, id); those neither at nor near the address are left out."""
    records = [addresses.Record.of(street=row.street, city=row.city, region=row.region,
                                   postal_code=row.postal_code, name=row.name) for row in rows]
    return [((verdict.cost, verdict.number_gap, row.name, row.id), verdict)
            for row, verdict in zip(rows, addresses.judge_all(sent, records), strict=True) if verdict is not None]


IdSelects = list[Select[int]]
# Which of a near lookup's candidates a statement finds (``_Near.kinds``).
Which = Literal["first", "street"]
# A word as a statement compares it: its parameters' prefix and ``word_test``'s roles.
WordShape = tuple[str, tuple[str, ...]]

# The lookup's statements are built once per shape of address (how many house numbers,
# postal codes, street and place words, how each word is compared) and per scope, and kept:
# building one and working out its cache key was 2.8 ms of the 6.3 its two narrowing
# statements took.  Every value is a parameter bound when the statement runs; none is
# written into a statement kept, so one address's words never answer another's.
_BUILT: dict[tuple[object, ...], Select[*tuple[Any, ...]] | None] = {}
# The benchmark's 1,000 addresses have 11 shapes; a statement kept is ~10-20 kB.
MAX_BUILT = 256


def _built(key: tuple[object, ...], build: Callable[[], Select[*tuple[Any, ...]] | None]
           ) -> Select[*tuple[Any, ...]] | None:
    """The statement ``build`` makes for ``key``, made once (None: a shape that finds none).
    Read in one step: between asking whether it is kept and reading it, another thread (a
    threaded server's) may empty the cache while the key's shape hashes in Python."""
    try:
        return _BUILT[key]
    except KeyError:
        pass
    statement = build()
    if len(_BUILT) >= MAX_BUILT:
        _BUILT.clear()
    _BUILT[key] = statement
    return statement


class _Values:
    """A lookup's values, each named for its place in the statement ("number0_word")."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def word(self, name: str, word: str, *, whole: bool) -> WordShape:
        test = word_test(word, whole=whole)
        self.values.update({f"{name}_{role}": value for role, value in test.items()})
        return name, tuple(test)

    def value(self, name: str, value: Any) -> str:
        self.values[name] = value
        return name


def _bound_word(shape: WordShape) -> Select[int]:
    name, roles = shape
    return words_matching({role: bindparam(f"{name}_{role}") for role in roles})


def _scope(user: User) -> tuple[object, ...]:
    """What a kept statement's scope depends on (``readable_buildings``): every building,
    or one congregation's (none, for a partner not yet attached to one)."""
    return ("every building",) if sees_all_buildings(user) else ("congregation", user.organisation_id)


def _at_number(values: _Values, sent: addresses.Sent) -> tuple[WordShape, ...]:
    """The address's house numbers, each to be found whole."""
    numbers = dict.fromkeys(sent.plain[i] for i in sent.numbers)
    return tuple(values.word(f"number{i}", number, whole=True) for i, number in enumerate(numbers))


def _at_address(user: User, sent: addresses.Sent) -> Sequence[Candidate]:
    """The buildings at one of the address's house numbers with the first word of its street
    ("main" of "123 Main St"): a handful, among which any building whose street address
    it is.  With no street word, those at the number."""
    values = _Values()
    numbers = _at_number(values, sent)
    if not numbers:
        return []
    street = addresses.street_words(sent)
    on_street = values.word("street", street[0], whole=False) if street else None

    def build() -> Select[*tuple[Any, ...]]:
        query = (readable_buildings(user).with_only_columns(*_JUDGED)
                 .where(Building.id.in_(_either([_bound_word(number) for number in numbers]))))
        if on_street is not None:
            query = query.where(Building.id.in_(_bound_word(on_street)))
        return query.order_by(Building.id).limit(MAX_CANDIDATES)

    statement = _built(("at", _scope(user), numbers, on_street), build)
    return [] if statement is None else db.session.execute(statement, values.values).all()


@dataclass(frozen=True)
class _Near:
    """The words that find an address's near candidates, as their statement's shape."""

    numbers: tuple[WordShape, ...]
    postal_codes: tuple[tuple[WordShape, WordShape, WordShape, str], ...]  # whole, halves, halves' text
    street: tuple[tuple[WordShape, str], ...]  # each word with its longest length
    places: tuple[WordShape, ...]
    shared: tuple[str, ...]  # the address's words, counted in each candidate's text
    gaps: tuple[str, ...]  # the numbers the address's house number may be

    def at_number(self) -> IdSelects:
        return [_bound_word(number) for number in self.numbers]

    def in_postal_code(self) -> IdSelects:
        whole = [_bound_word(code) for code, _, _, _ in self.postal_codes]
        return whole + [  # "M5V 2T6": both halves, side by side
            select(Building.id).correlate(None).where(
                Building.id.in_(_bound_word(first)), Building.id.in_(_bound_word(second)),
                (" " + Building.search_text + " ").contains(bindparam(text)))
            for _, first, second, text in self.postal_codes]

    def on_street(self) -> IdSelects:
        on_street: IdSelects = []
        for word, longest in self.street:  # every word: each narrows the one before
            ids = _bound_word(word).where(func.length(BuildingWord.word) <= bindparam(longest))
            on_street = [ids.where(BuildingWord.building_id.in_(on_street[0]))] if on_street else [ids]
        return on_street

    def here(self) -> IdSelects:
        on_street = self.on_street()
        if not on_street or not self.places:
            return []
        return [on_street[0].where(BuildingWord.building_id.in_(_either([_bound_word(p) for p in self.places])))]

    def kinds(self, which: Which) -> list[IdSelects]:
        """The candidates' kinds, closest first: ``"first"`` those at the address's numbers,
        in its postal codes and on its street in its place; ``"street"`` the street's
        everywhere."""
        return [self.at_number(), self.in_postal_code(), self.here()] if which == "first" else [self.on_street()]


def _near_address(user: User, sent: addresses.Sent, judged: Sequence[int]) -> Sequence[Candidate]:
    """The other buildings worth judging: at one of the address's numbers (another street's
    spelling), with its postal code, or on its street in its place ("Dundas Ave" in Ottawa
    for "2169 Dundas Ave, Ottawa"), in that order, so the cap leaves out the farthest; then,
    only if these leave room, on its street elsewhere.

    A province's Dundas Avenues hold a thousand buildings in a dozen towns: ordering all of
    them by how many of the address's words they have took most of a lookup's time, where
    the hundred in the town sent are found through the index by the town's name.  A city
    misspelt or not sent finds none there, and the street's buildings everywhere are judged."""
    room = MAX_NEAR_CANDIDATES - len(judged)
    if room <= 0:
        return []
    values = _Values()
    codes = sorted(sent.postal_codes)
    near = _Near(
        numbers=_at_number(values, sent),
        postal_codes=tuple((values.word(f"code{i}", code, whole=True), values.word(f"codea{i}", code[:3], whole=True),
                            values.word(f"codeb{i}", code[3:], whole=True),
                            values.value(f"codetext{i}", f" {code[:3]} {code[3:]} ")) for i, code in enumerate(codes)),
        # Words more letters longer than the typing errors a street's name is forgiven
        # ("kingston" for "king") cannot make it that street: only its buildings' other words
        # could, and those are other candidates (half the candidates of "King St" in a
        # province where Kingston is a city).
        street=tuple((values.word(f"street{i}", word, whole=False),
                      values.value(f"streetlen{i}", len(word) + addresses.MOST_TYPING_ERRORS))
                     for i, word in enumerate(addresses.street_words(sent))),
        places=tuple(values.word(f"place{i}", word, whole=True) for i, word in enumerate(addresses.place_words(sent))),
        shared=tuple(values.value(f"shared{i}", f" {word} ") for i, word in enumerate(sorted(set(sent.plain)))),
        gaps=tuple(values.value(f"gap{i}", number) for i, number in enumerate(addresses.sent_numbers(sent))),
    )
    skipped = list(judged)
    found = _candidates(user, "first", near, values.values, skipped, room)
    if len(found) < room and near.street:
        skipped += [row.id for row in found]
        found = [*found, *_candidates(user, "street", near, values.values, skipped, room - len(found))]
    return found


def _candidates(user: User, which: Which, near: _Near, values: dict[str, Any], skipped: Sequence[int],
                room: int) -> Sequence[Candidate]:
    """Up to ``room`` of the buildings in any of ``near``'s kinds (``_Near.kinds``) but
    ``skipped``: those of the first kind first, and so on; then those having more of the
    address's words (its city: Main St in Guelph before Main St in Windsor; its street type)
    in their stored search text; then the nearest house numbers, as the matches are shown,
    so a crowded street's cut leaves out the farthest.  One statement, none for no
    candidates."""

    def build() -> Select[*tuple[Any, ...]] | None:
        kinds = [selects for selects in near.kinds(which) if selects]
        candidates = [ids for selects in kinds for ids in selects]
        if not candidates:
            return None
        query = readable_buildings(user).with_only_columns(*_JUDGED).where(Building.id.in_(_either(candidates)))
        if skipped:
            query = query.where(Building.id.not_in(bindparam("skipped", expanding=True)))
        if len(kinds) > 1:
            query = query.order_by(case(*[(Building.id.in_(_either(ids)), rank)
                                          for rank, ids in enumerate(kinds[:-1])], else_=len(kinds) - 1))
        # How many of the address's words the building's stored text has, read from the
        # row the statement fetches anyway: asked of the index instead, it was a probe for
        # each of the hundreds of buildings on a town's street, a third of the statement's
        # time.
        padded = " " + Building.search_text + " "
        shared = sum((case((padded.contains(bindparam(word)), 1), else_=0) for word in near.shared),
                     start=literal(0))
        query = query.order_by(shared.desc())
        gap = _number_gap([bindparam(number, type_=Integer) for number in near.gaps])
        if gap is not None:
            query = query.order_by(Building.house_number.is_(None), gap)
        return query.order_by(Building.id).limit(bindparam("room", type_=Integer))

    statement = _built((which, _scope(user), near, bool(skipped)), build)
    if statement is None:
        return []
    return db.session.execute(statement, {**values, "skipped": list(skipped), "room": room}).all()


def _number_gap(numbers: Sequence[ColumnElement[int]]) -> ColumnElement[int] | None:
    """How far a building's house number is from the nearest of ``numbers``, in SQL that
    SQLite and PostgreSQL share (LEAST is PostgreSQL's, two-argument min() SQLite's)."""
    gap: ColumnElement[int] | None = None
    for number in numbers:
        this = func.abs(Building.house_number - number)
        gap = this if gap is None else case((this < gap, this), else_=gap)
    return gap


def _either(selects: IdSelects) -> Select[int] | CompoundSelect[int]:
    """The ids in any of ``selects`` (one UNION, never nested: SQLite refuses brackets)."""
    return selects[0] if len(selects) == 1 else union(*selects)


def _by_words(user: User, sent: addresses.Sent) -> list[Match]:
    """Nothing at that street address: the buildings whose name or address has the most of
    the address's words from its start ("Beth Shalom, 99 Elm St" finds Beth Shalom), as the
    name-or-address search does, from one search for the first words."""
    words = list(sent.plain)
    first = words[: min(MIN_NAME_WORDS, len(words))]
    scored = []
    for building in search(user, " ".join(first), limit=MAX_CANDIDATES, congregations=False):
        count = addresses.prefix_words_matched(words, building.search_text)
        if count >= len(first):
            scored.append((count, building))
    if not scored:
        return []
    most = max(count for count, _ in scored)
    matches = []
    for count, building in scored:
        if count == most:
            # "Beth Shalom, Toronto" is found by its name; "Main Toronto" by some of its words.
            in_name = [addresses.prefix_words_matched([w], normalise(building.name)) for w in words[:count]]
            in_place = [addresses.prefix_words_matched([w], normalise(f"{building.city} {building.postal_code}"))
                        for w in words[:count]]
            by_name = any(in_name) and all(n or p for n, p in zip(in_name, in_place, strict=True))
            difference = addresses.NAME_ONLY if by_name else addresses.WORDS_ONLY
            matches.append(Match(building, (difference,), addresses.COST[difference]))
    return matches


@dataclass(frozen=True)
class Nearby:
    building: Building
    metres: float
    bearing: float  # degrees clockwise from north, from the car to the building

    @property
    def direction(self) -> str:
        return compass(self.bearing)


def distance_and_bearing(lat1: float, lon1: float, lat2: float, lon2: float) -> tuple[float, float]:
    """Great-circle distance in metres (haversine) and initial bearing in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    metres = 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))
    y = math.sin(dlambda) * math.cos(phi2)
    x = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlambda)
    return metres, (math.degrees(math.atan2(y, x)) + 360) % 360


def compass(bearing: float) -> str:
    return COMPASS[round((bearing % 360) / 45) % 8]


def distance_text(metres: float) -> str:
    if metres < 1000:
        return f"{round(metres / 10) * 10:.0f} m"
    return f"{metres / 1000:.1f} km" if metres < 100_000 else f"{metres / 1000:.0f} km"


def nearest(user: User, latitude: float, longitude: float, *, limit: int = 10) -> list[Nearby]:
    """The readable buildings nearest to a point, nearest first (ties by id); buildings
    without coordinates are skipped.

    A province has tens of thousands of buildings: the database hands over only those in a
    latitude/longitude box around the point (index ix_buildings_latitude_longitude, on
    SQLite and PostgreSQL alike), as bare (id, latitude, longitude) rows; the exact
    distances are computed for those alone and only the ``limit`` nearest are loaded.  The
    box circumscribes a circle of ``radius`` metres; it grows until ``limit`` candidates are
    inside and the farthest of the ``limit`` nearest is within the circle (so nothing
    outside the box can be nearer, nor tie), or until it covers the whole earth."""
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180) or math.isnan(latitude + longitude):
        raise InvalidInput({"lat": "latitude and longitude must be decimal degrees."})
    if limit <= 0:
        return []
    located = readable_buildings(user).where(Building.latitude.is_not(None), Building.longitude.is_not(None))
    radius = FIRST_BOX_M
    while True:
        box = _box(latitude, longitude, radius)
        query = located.with_only_columns(Building.id, Building.latitude, Building.longitude)
        if box is not None:
            query = query.where(box)
        rows = []
        for building_id, lat, lon in db.session.execute(query):
            if lat is None or lon is None:
                continue  # never: the query leaves them out
            metres, bearing = distance_and_bearing(latitude, longitude, lat, lon)
            rows.append((metres, building_id, bearing))
        rows.sort()
        chosen = rows[:limit]
        if box is None or (len(chosen) == limit and chosen[-1][0] <= radius):
            break
        # Too few inside, or the farthest chosen may be beaten by one outside the box: a box
        # at least that far out (and at least GROWTH times larger) holds every contender.
        radius = max(radius * GROWTH, chosen[-1][0] if len(chosen) == limit else 0.0)
    loaded = {b.id: b for b in db.session.scalars(select(Building).where(Building.id.in_([r[1] for r in chosen])))}
    return [Nearby(loaded[building_id], metres, bearing) for metres, building_id, bearing in chosen]


# The first box's half-width: a town's buildings; each round multiplies it by GROWTH.
FIRST_BOX_M = 5_000.0
GROWTH = 4.0
# Boxes are widened by this (relative, and in degrees) so rounding never leaves out a
# building the haversine puts on the circle.
_SLACK = 1e-9
_SLACK_DEGREES = 1e-7


def _box(latitude: float, longitude: float, radius: float) -> ColumnElement[bool] | None:
    """A condition on latitude and longitude true for every point within ``radius`` metres
    of the point (great circle), or None when that is the whole earth.  Near a pole the box
    takes every longitude; across the antimeridian its longitudes come in two ranges."""
    angle = radius * (1 + _SLACK) / EARTH_RADIUS_M  # radians
    if angle >= math.pi:
        return None
    dlat = math.degrees(angle) + _SLACK_DEGREES
    south, north = latitude - dlat, latitude + dlat
    in_latitude = Building.latitude.between(max(south, -90.0), min(north, 90.0))
    cos_lat = math.cos(math.radians(latitude))
    if south <= -90 or north >= 90 or math.sin(angle) >= cos_lat:
        return in_latitude  # the circle reaches a pole: every longitude
    # The widest longitude on the circle (the meridians tangent to it).
    dlon = math.degrees(math.asin(math.sin(angle) / cos_lat)) + _SLACK_DEGREES
    if dlon >= 180:
        return in_latitude
    west, east = longitude - dlon, longitude + dlon
    if west < -180:
        in_longitude = or_(Building.longitude >= west + 360, Building.longitude <= east)
    elif east > 180:
        in_longitude = or_(Building.longitude >= west, Building.longitude <= east - 360)
    else:
        in_longitude = Building.longitude.between(west, east)
    return and_(in_latitude, in_longitude)


def buildings_by_id(user: User, ids: Sequence[int]) -> list[Building]:
    """The readable ones among ``ids``, in the order given; others are silently left out."""
    if not ids:
        return []
    query = readable_buildings(user).where(Building.id.in_(list(ids)))
    found = {b.id: b for b in db.session.scalars(query)}
    return [found[i] for i in dict.fromkeys(ids) if i in found]


def in_city(user: User, city: str, *, limit: int = 500) -> list[Building]:
    """The readable buildings of a city (for "keep this city offline"), by name, at most
    ``limit``.  Those whose search text has the city's words are found through the words
    index and read as (id, city) rows; only the ``limit`` whose city it is are loaded (a
    province's 20,000 buildings were each loaded to compare their city)."""
    words = tokens(city)
    if not words:
        return []
    query = readable_buildings(user).with_only_columns(Building.id, Building.city)
    for word in dict.fromkeys(words):
        query = query.where(Building.id.in_(with_word(word, whole=True)))
    ids = [row.id for row in db.session.execute(query.order_by(Building.name, Building.id))
           if tokens(row.city) == words][:limit]
    return buildings_by_id(user, ids)


__all__ = [
    "Lookup", "Match", "Nearby", "buildings_by_id", "compass", "distance_text", "in_city", "lookup_address", "nearest",
]
