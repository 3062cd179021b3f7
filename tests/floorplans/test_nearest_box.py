""""Nearest" at province scale: the latitude/longitude box asked of the database gives the
same buildings, distances and order (ties by id) as computing every distance."""

from __future__ import annotations

import random

import pytest

from floorplans.db import db
from floorplans.models import Building, Role, User
from floorplans.search import normalise
from floorplans.services import finding
from floorplans.services.finding import distance_and_bearing, nearest


def add_buildings(organisation, places: list[tuple[float | None, float | None]]) -> list[Building]:  # type: ignore[no-untyped-def]
    buildings = []
    for n, (lat, lon) in enumerate(places):
        name = f"Place {n}"
        buildings.append(Building(organisation=organisation, name=name, street=f"{n} Main Street", city="Town",
                                  latitude=lat, longitude=lon, search_text=normalise(f"{name} {n} main street town")))
    db.session.add_all(buildings)
    db.session.commit()
    return buildings


def brute_force(latitude: float, longitude: float, limit: int, everything: list[Building] | None = None
                ) -> list[tuple[int, float]]:
    """The full scan "nearest" was: every located building's distance, then (metres, id)."""
    rows = []
    for building in everything or db.session.scalars(db.select(Building)):
        if building.latitude is not None and building.longitude is not None:
            metres, _ = distance_and_bearing(latitude, longitude, building.latitude, building.longitude)
            rows.append((metres, building.id))
    return [(building_id, metres) for metres, building_id in sorted(rows)[:limit]]


def found(user: User, latitude: float, longitude: float, limit: int) -> list[tuple[int, float]]:
    return [(n.building.id, n.metres) for n in nearest(user, latitude, longitude, limit=limit)]


@pytest.mark.slow  # hundreds of buildings
def test_the_box_finds_what_a_full_scan_finds(app, make_user, make_organisation) -> None:
    officer = make_user(Role.OFFICER)
    rng = random.Random(19)
    places: list[tuple[float | None, float | None]] = []
    places += [(43.65 + rng.uniform(-0.3, 0.3), -79.38 + rng.uniform(-0.4, 0.4)) for _ in range(200)]  # a city
    places += [(rng.uniform(-90, 90), rng.uniform(-180, 180)) for _ in range(100)]  # the world
    places += [(43.7, -79.4)] * 6  # the same spot six times: ties broken by id
    places += [(None, None), (43.65, None)]
    everything = add_buildings(make_organisation(), places)
    points = [(43.7, -79.4), (43.65, -79.38), (45.5, -73.6), (0.0, 0.0), (-33.9, 151.2)]
    points += [(rng.uniform(-90, 90), rng.uniform(-180, 180)) for _ in range(5)]
    for latitude, longitude in points:
        for limit in (1, 7, 40):
            assert found(officer, latitude, longitude, limit) == brute_force(latitude, longitude, limit, everything), \
                (latitude, longitude, limit)
    assert found(officer, 43.7, -79.4, 400) == brute_force(43.7, -79.4, 400)  # more than there are


def test_across_the_antimeridian_and_near_the_poles(app, make_user, make_organisation) -> None:
    officer = make_user(Role.OFFICER)
    add_buildings(make_organisation(), [
        (-17.0, 179.99), (-17.0, -179.99), (-17.1, -179.5), (-17.0, 178.0), (65.0, -179.9), (65.0, 179.8),
        (89.9, 0.0), (89.9, 180.0), (89.95, -90.0), (-89.9, 45.0), (-89.9, -135.0), (-90.0, 0.0), (90.0, 0.0),
        (0.0, 0.0), (43.7, -79.4),
    ])
    for latitude, longitude in [(-17.0, 180.0), (-17.0, -180.0), (-17.05, 179.999), (65.0, -179.99),
                                (89.99, 10.0), (90.0, 0.0), (-89.95, 90.0), (-90.0, 180.0), (89.9, -179.9)]:
        for limit in (1, 2, 4):
            assert found(officer, latitude, longitude, limit) == brute_force(latitude, longitude, limit), \
                (latitude, longitude, limit)
    # Across the line: the building 2 km to the "west" at +179.99 comes before one 50 km east.
    assert [n.building.longitude for n in nearest(officer, -17.0, -179.999, limit=2)] == [-179.99, 179.99]


def test_a_point_with_nothing_in_the_first_box(app, make_user, make_organisation) -> None:
    officer = make_user(Role.OFFICER)
    buildings = add_buildings(make_organisation(), [(43.7, -79.4), (49.28, -123.12), (21.3, -157.85)])
    # Mid-Pacific: the nearest is Honolulu, ~1,900 km away, far outside the first box.
    assert finding.FIRST_BOX_M < 1_000_000
    found_ids = [n.building.id for n in nearest(officer, 10.0, -170.0, limit=2)]
    assert found_ids == [buildings[2].id, buildings[1].id]
    assert found(officer, 10.0, -170.0, 3) == brute_force(10.0, -170.0, 3)


@pytest.mark.slow  # hundreds of buildings
def test_distances_are_computed_only_for_the_buildings_in_the_box(app, make_user, make_organisation,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    officer = make_user(Role.OFFICER)
    rng = random.Random(7)
    add_buildings(make_organisation(), [(43.65 + rng.uniform(-0.01, 0.01), -79.38 + rng.uniform(-0.01, 0.01))
                                        for _ in range(20)] + [(rng.uniform(-60, 60), rng.uniform(-180, 180))
                                                               for _ in range(200)])
    computed = []

    def counting(*args: float) -> tuple[float, float]:
        computed.append(args)
        return distance_and_bearing(*args)

    monkeypatch.setattr(finding, "distance_and_bearing", counting)
    assert len(nearest(officer, 43.65, -79.38, limit=5)) == 5
    assert 5 <= len(computed) < 40  # the town's twenty, maybe a stray, never the 220


@pytest.mark.parametrize("limit", [0, -1])
def test_no_buildings_asked_none_given(app, make_user, make_organisation, limit: int) -> None:
    officer = make_user(Role.OFFICER)
    add_buildings(make_organisation(), [(43.7, -79.4)])
    assert nearest(officer, 43.7, -79.4, limit=limit) == []
