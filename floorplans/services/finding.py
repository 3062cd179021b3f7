"""Finding a building from the car: by the address a CAD system sends, and by distance
from where the car is.  Name-or-address search itself is ``buildings.search``.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_
from sqlalchemy.orm import selectinload

from floorplans.db import db
from floorplans.errors import InvalidInput
from floorplans.models import Building, User
from floorplans.permissions import readable_buildings
from floorplans.search import tokens
from floorplans.services.buildings import search

EARTH_RADIUS_M = 6_371_008.8
COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
# A CAD address carries more than the street ("..., Toronto, ON M5V 2T6"); dropping words from
# its end finds the building when the extra words are not in our record.  At least this many
# words stay, so "123" alone never opens some random building.
MIN_LOOKUP_WORDS = 2


def lookup_address(user: User, address: str, *, limit: int = 50) -> Sequence[Building]:
    """Buildings at ``address``, best evidence first: a building whose whole street address
    ("123 main st") appears in the query, narrowed by city and postal code when several
    do; otherwise the name-or-address search, shortened from the end until something
    matches.  One result means the caller may open that building directly."""
    words = tokens(address)
    if not words:
        return []
    by_street = _street_matches(user, words)
    if by_street:
        return by_street
    for end in range(len(words), MIN_LOOKUP_WORDS - 1, -1):
        found = search(user, " ".join(words[:end]), limit=limit)
        if found:
            return found
    return []


def _contains(words: list[str], part: list[str]) -> bool:
    """Whether ``part`` occurs in ``words`` as a contiguous run."""
    if not part:
        return False
    return any(words[i : i + len(part)] == part for i in range(len(words) - len(part) + 1))


def _street_matches(user: User, words: list[str]) -> list[Building]:
    numbers = [w for w in words if w.isdigit()]
    if not numbers:
        return []
    # The house number narrows the candidates in SQL ("Unit 4, 123 Main St" has two numbers:
    # either may be it); the street comparison is exact, in Python.
    padded = " " + Building.search_text + " "
    has_number = or_(*(padded.contains(f" {number} ") for number in dict.fromkeys(numbers[:4])))
    query = readable_buildings(user).where(has_number).limit(500)
    candidates = db.session.scalars(query.options(selectinload(Building.organisation))).all()
    matches = [b for b in candidates if _contains(words, tokens(b.street))]
    for narrower in (lambda b: _contains(words, tokens(b.city)), lambda b: _contains(words, tokens(b.postal_code))):
        narrowed = [b for b in matches if narrower(b)]
        if narrowed:
            matches = narrowed
    return sorted(matches, key=lambda b: (b.name, b.id))


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
    """The readable buildings nearest to a point; buildings without coordinates are skipped.
    A regional service has thousands of buildings at most: computing every distance is
    cheaper than keeping a spatial index in step on SQLite and PostgreSQL alike."""
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180) or math.isnan(latitude + longitude):
        raise InvalidInput({"lat": "latitude and longitude must be decimal degrees."})
    query = readable_buildings(user).where(Building.latitude.is_not(None), Building.longitude.is_not(None))
    rows = []
    for building in db.session.scalars(query):
        metres, bearing = distance_and_bearing(latitude, longitude, building.latitude, building.longitude)
        rows.append(Nearby(building, metres, bearing))
    return sorted(rows, key=lambda n: (n.metres, n.building.id))[:limit]


def buildings_by_id(user: User, ids: Sequence[int]) -> list[Building]:
    """The readable ones among ``ids``, in the order given; others are silently left out."""
    if not ids:
        return []
    query = readable_buildings(user).where(Building.id.in_(list(ids)))
    found = {b.id: b for b in db.session.scalars(query)}
    return [found[i] for i in dict.fromkeys(ids) if i in found]


def in_city(user: User, city: str, *, limit: int = 500) -> list[Building]:
    """Every readable building of a city (for "keep this city offline")."""
    wanted = " ".join(tokens(city))
    if not wanted:
        return []
    query = readable_buildings(user).order_by(Building.name, Building.id)
    return [b for b in db.session.scalars(query) if " ".join(tokens(b.city)) == wanted][:limit]


__all__ = ["Nearby", "buildings_by_id", "compass", "distance_text", "in_city", "lookup_address", "nearest"]
