"""Finding a building from the car: CAD addresses, distance and direction."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from floorplans import addresses
from floorplans.db import db
from floorplans.errors import InvalidInput
from floorplans.models import Building, Role, User
from floorplans.services import finding
from floorplans.services.finding import compass, distance_and_bearing, distance_text, lookup_address, nearest


def exact_ids(user: User, address: str) -> list[int]:
    return [b.id for b in lookup_address(user, address).exact]


def test_a_cad_address_finds_the_one_building_at_it(app, make_user, make_building) -> None:
    officer = make_user(Role.OFFICER)
    synagogue = make_building(name="Beth Shalom", street="123 Main Street", city="Toronto", postal_code="M5V 2T6")
    make_building(name="Grace Chapel", street="1234 Main Street", city="Toronto")
    make_building(name="St. Mary", street="123 Queen Street", city="Toronto")
    for address in ("123 MAIN ST, TORONTO, ON M5V 2T6", "123 main st", "Unit 4, 123 Main St.", "123 MAIN STREET"):
        found = lookup_address(officer, address)
        assert found.opens is not None and found.opens.id == synagogue.id, address
        assert [b.id for b in found.buildings] == [synagogue.id], address
    assert lookup_address(officer, "99 Nowhere Rd, Toronto").matches == ()
    assert lookup_address(officer, "").matches == ()


def test_the_city_and_postal_code_narrow_a_street_found_in_two_cities(app, make_user, make_building) -> None:
    officer = make_user(Role.OFFICER)
    toronto = make_building(name="A", street="10 King Street", city="Toronto", postal_code="M5H 1A1")
    hamilton = make_building(name="B", street="10 King Street", city="Hamilton", postal_code="L8P 1A1")
    assert exact_ids(officer, "10 King St, Hamilton ON") == [hamilton.id]
    assert exact_ids(officer, "10 King St M5H 1A1") == [toronto.id]
    both = lookup_address(officer, "10 King St")
    assert {b.id for b in both.exact} == {toronto.id, hamilton.id} and both.opens is None


def test_a_near_match_says_what_differs_and_never_opens(app, make_user, make_building) -> None:
    officer = make_user(Role.OFFICER)
    temple = make_building(name="Sri Ganesha Temple", street="5 Elm Avenue West", city="Markham")
    found = lookup_address(officer, "5 elm ave, markham, on")
    assert found.opens is None and found.exact == []
    assert [(m.building.id, m.differences) for m in found.near] == [(temple.id, (addresses.NO_DIRECTION,))]
    # Not at any street address: the building whose name has the address's first words.
    found = lookup_address(officer, "Ganesha temple")
    assert found.opens is None
    assert [(m.building.id, m.differences) for m in found.near] == [(temple.id, (addresses.NAME_ONLY,))]


def test_near_matches_come_best_first(app, make_user, make_building) -> None:
    officer = make_user(Role.OFFICER)
    main = make_building(name="Beth Shalom", street="123 Main Street", city="Toronto", postal_code="M5V 2T6")
    next_door = make_building(name="Grace Chapel", street="125 Main Street", city="Toronto", postal_code="M5V 2T8")
    elsewhere = make_building(name="Knox", street="123 Main Street", city="Hamilton", postal_code="L8P 1A1")
    found = lookup_address(officer, "123 Main Ave, Toronto")
    assert [(m.building.id, m.differences) for m in found.near] == [
        (main.id, (addresses.TYPE_DIFFERS,)),
        (elsewhere.id, (addresses.TYPE_DIFFERS, addresses.CITY_DIFFERS)),
        (next_door.id, (addresses.TYPE_DIFFERS, addresses.NUMBER_DIFFERS)),
    ]
    # Another number on the street: the nearest numbers first.
    found = lookup_address(officer, "122 Main St, Toronto")
    assert [m.building.id for m in found.near] == [main.id, next_door.id, elsewhere.id]
    assert found.near[0].differences == (addresses.NUMBER_DIFFERS,)
    assert lookup_address(officer, "M5V 2T8").near[0].differences == (addresses.POSTAL_CODE_ONLY,)


def test_partners_find_only_their_own(app, make_user, make_building) -> None:
    partner = make_user(Role.PARTNER)
    make_building(name="Theirs", street="123 Main Street")
    mine = make_building(partner.organisation, name="Mine", street="123 Main Street", city="Ottawa")
    assert exact_ids(partner, "123 Main St") == [mine.id]


def test_distance_and_direction() -> None:
    metres, bearing = distance_and_bearing(43.6455, -79.3951, 43.6532, -79.3832)  # to City Hall, north-east
    assert 1150 < metres < 1300 and compass(bearing) == "NE"
    assert compass(distance_and_bearing(43.0, -79.0, 42.9, -79.0)[1]) == "S"
    assert compass(distance_and_bearing(43.0, -79.0, 43.0, -79.1)[1]) == "W"
    assert [compass(b) for b in (0, 22, 23, 359, 180, 270)] == ["N", "N", "NE", "N", "S", "W"]
    assert [distance_text(m) for m in (42, 987, 2449, 153_000)] == ["40 m", "990 m", "2.4 km", "153 km"]


def test_nearest_skips_buildings_without_a_location(app, make_user, make_building) -> None:
    officer = make_user(Role.OFFICER)
    far = make_building(name="Far", latitude=43.70, longitude=-79.40)
    near = make_building(name="Near", latitude=43.646, longitude=-79.396)
    make_building(name="Nowhere")
    found = nearest(officer, 43.6455, -79.3951)
    assert [n.building.id for n in found] == [near.id, far.id]
    assert found[0].metres < 150 and found[1].direction == "N"
    partner = make_user(Role.PARTNER)
    assert nearest(partner, 43.6455, -79.3951) == []
    with pytest.raises(InvalidInput):
        nearest(officer, 91, 0)
    with pytest.raises(InvalidInput):
        nearest(officer, float("nan"), 0)


def test_in_city_is_the_buildings_of_that_city_by_name(app, make_user, make_building) -> None:
    officer = make_user(Role.OFFICER)
    grace = make_building(name="Grace Chapel", street="1 King St", city="Toronto")
    accents = make_building(name="Saint-Jean", street="2 King St", city="  TORONTÖ ")
    make_building(name="Toronto Korean Church", street="3 King St", city="Hamilton")  # "Toronto" in its name only
    make_building(name="Beth Tzedec", street="4 King St", city="East Toronto")
    make_building(name="Knox", street="5 King St", city="")
    grace_id, accents_id = grace.id, accents.id
    for record in [o for o in db.session.identity_map.values() if isinstance(o, Building)]:
        db.session.expunge(record)  # so that reading one is a load
    loaded: list[int] = []

    def remember(building: Building, _: object) -> None:
        loaded.append(building.id)

    event.listen(Building, "load", remember)
    try:
        found = finding.in_city(officer, "toronto")
    finally:
        event.remove(Building, "load", remember)
    assert [b.id for b in found] == [grace_id, accents_id]
    # Only the city's buildings are loaded, not every building to compare its city.
    assert sorted(loaded) == [grace_id, accents_id]
    assert [b.id for b in finding.in_city(officer, "Toronto", limit=1)] == [grace_id]
    assert [b.name for b in finding.in_city(officer, "east toronto")] == ["Beth Tzedec"]
    assert finding.in_city(officer, "Tor") == [] and finding.in_city(officer, " ") == []
