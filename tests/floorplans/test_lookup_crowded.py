"""CAD lookup on a crowded street: more buildings on Main Street than the lookup judges
(``MAX_CANDIDATES``), and the one at the address sent is still found, the ones nearest to it
first among near matches; the house number that orders them."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest
from sqlalchemy import select

from floorplans import addresses
from floorplans.db import db
from floorplans.models import Building, Organisation, Role
from floorplans.search import normalise
from floorplans.services.finding import MAX_CANDIDATES, MAX_NEAR_CANDIDATES, NEAR_MATCHES_SHOWN, lookup_address


def on_main_street(organisation: Organisation, city: str, numbers: range) -> list[Building]:
    made = [Building(organisation=organisation, name=f"Church {city} {n}", street=f"{n} Main Street", city=city,
                     search_text=normalise(f"Church {city} {n} {n} Main Street {city}")) for n in numbers]
    db.session.add_all(made)
    return made


@pytest.mark.slow  # hundreds of buildings
def test_the_building_at_the_address_is_found_on_a_crowded_street(app, make_user, make_organisation,
                                                                   make_building) -> None:
    officer = make_user(Role.OFFICER)
    organisation = make_organisation()
    on_main_street(organisation, "Hamilton", range(1, 301))
    on_main_street(organisation, "Toronto", range(2000, 2300))
    db.session.commit()
    assert db.session.query(Building).count() > MAX_CANDIDATES
    # Made last: the highest id, after every other building on the street.
    synagogue = make_building(organisation, name="Beth Shalom", street="1234 Main Street", city="Toronto",
                              postal_code="")
    found = lookup_address(officer, "1234 Main St, Toronto")
    assert found.opens is not None and found.opens.id == synagogue.id
    assert [m.building.id for m in found.matches] == [synagogue.id]
    assert lookup_address(officer, "1234 MAIN STREET").opens == synagogue
    # No building at 1233: the nearest number on that street in that city comes first.
    near = lookup_address(officer, "1233 Main St, Toronto").near
    assert near[0].building.id == synagogue.id and near[0].differences == (addresses.NUMBER_DIFFERS,)
    assert all(m.building.city == "Toronto" for m in near)
    hamilton = lookup_address(officer, "12 Main St, Hamilton ON")
    assert hamilton.opens is not None and hamilton.opens.name == "Church Hamilton 12"


@pytest.mark.slow  # hundreds of buildings
def test_near_matches_on_a_crowded_street_are_the_nearest_numbers(app, make_user, make_organisation) -> None:
    """More buildings on the street than the near matches judged (``MAX_NEAR_CANDIDATES``),
    made in an order unrelated to their numbers: the ones shown are still the nearest."""
    officer = make_user(Role.OFFICER)
    organisation = make_organisation()
    numbers = list(range(1000, 1600, 2))  # 300 buildings, none at an odd number
    random.Random(8).shuffle(numbers)
    for n in numbers:
        on_main_street(organisation, "Toronto", range(n, n + 1))
    unnumbered = Building(organisation=organisation, name="Church on Main", street="Main Street", city="Toronto",
                          search_text=normalise("Church on Main Main Street Toronto"))
    db.session.add(unnumbered)
    db.session.commit()
    assert len(numbers) > 2 * MAX_NEAR_CANDIDATES
    near = lookup_address(officer, "1301 Main St, Toronto").near
    assert len(near) == NEAR_MATCHES_SHOWN and all(m.differences == (addresses.NUMBER_DIFFERS,) for m in near)
    nearest = sorted(numbers, key=lambda n: (abs(n - 1301), f"Church Toronto {n}"))[:NEAR_MATCHES_SHOWN]
    assert [m.building.name for m in near] == [f"Church Toronto {n}" for n in nearest]
    # A house number past the street's end: the highest numbers, nearest first.
    past = lookup_address(officer, "9999 Main St, Toronto").near
    assert [m.building.name for m in past[:3]] == ["Church Toronto 1598", "Church Toronto 1596", "Church Toronto 1594"]


def test_the_house_number_is_kept_with_the_street(app, make_organisation) -> None:
    building = Building(organisation=make_organisation(), name="Beth Shalom", street="4-123B Main Street")
    db.session.add(building)
    db.session.flush()
    assert building.house_number == 123
    building.street = "Rural Route 2"
    db.session.flush()
    assert db.session.scalar(select(Building.house_number).where(Building.id == building.id)) is None
    building.street = "77 Elm St"
    db.session.flush()
    assert db.session.scalar(select(Building.house_number).where(Building.id == building.id)) == 77


@pytest.mark.parametrize(("street", "number"), [("123 Main St", 123), ("4-123 Main St", 123), ("123B Main St", 123),
                                            ("123 Main Street, Unit 4", 123), ("Unit 4, 123 Main St", 123),
                                            ("Main St", None), ("Highway 7", None), ("", None),
                                            ("99999999999 Main St", None)])
def test_house_number_of_a_street(street: str, number: int | None) -> None:
    assert addresses.house_number(street) == number


def test_a_longer_word_of_the_street_s_letters_does_not_crowd_out_its_near_matches(
        app, make_user, make_organisation, make_building, monkeypatch) -> None:
    """"king" starts "kingston", which is no spelling of King: the buildings of Kingston
    Street are not judged for "11 King St" (a province has a city of that name: half the
    candidates), and cannot take the places of Kings Street's (a letter off: a near match)."""
    monkeypatch.setattr("floorplans.services.finding.MAX_NEAR_CANDIDATES", 3)
    officer = make_user(Role.OFFICER)
    organisation = make_organisation()
    for _ in range(4):  # made first: the lowest ids, one house number from the address
        make_building(organisation, name="Kingston Street Chapel", street="12 Kingston Street", city="Toronto",
                      postal_code="")
    kings = make_building(organisation, name="Grace", street="10 Kings Street", city="Toronto", postal_code="")
    king = make_building(organisation, name="Knox", street="14 King Street", city="Toronto", postal_code="")
    found = lookup_address(officer, "11 King St, Toronto")
    assert found.opens is None
    assert [m.building.id for m in found.near] == [king.id, kings.id]
    assert addresses.SPELLING_DIFFERS in found.near[1].differences


@pytest.mark.parametrize(("address", "place"), [
    ("2169 Dundas Ave, Ottawa", ["ottawa"]),
    ("2169 Dundas Ave Ottawa ON", ["ottawa"]),
    ("123 Main St W, Unit 4, Toronto ON M5V 2T6", ["toronto"]),
    ("45 rue Saint-Denis, Montréal (Québec)", ["montreal"]),
    ("123 Main Street St Catharines", ["catharines"]),
    ("1331 Bay St, Thunder Bay, Ontario, Canada", ["thunder", "bay"]),
    ("Beth Shalom, 99 Elm St, Toronto", ["beth", "shalom", "toronto"]),
    ("2169 Dundas Ave", []),
    ("123 Main", []),
])
def test_the_words_that_may_name_the_place_of_an_address(address: str, place: list[str]) -> None:
    assert addresses.place_words(addresses.read(address)) == place


def on_king_street(organisation: Organisation, kind: str, city: str, numbers: Sequence[int]) -> list[Building]:
    made = [Building(organisation=organisation, name=f"Church {city} {n}", street=f"{n} King {kind}", city=city,
                     search_text=normalise(f"Church {city} {n} {n} King {kind} {city}")) for n in numbers]
    db.session.add_all(made)
    db.session.commit()
    return made


def test_a_street_s_near_matches_in_the_town_sent_come_before_its_nearer_numbers_elsewhere(
        app, make_user, make_organisation, monkeypatch) -> None:
    """King Street runs through many towns: the near matches judged are first those in the
    town the address names (found through its name), however near the numbers elsewhere
    are.  The town misspelt or not sent, the street's buildings everywhere are judged."""
    monkeypatch.setattr("floorplans.services.finding.MAX_NEAR_CANDIDATES", 3)
    officer = make_user(Role.OFFICER)
    organisation = make_organisation()
    elsewhere = on_king_street(organisation, "Street", "Hamilton", [10, 12, 9])  # one number from 11
    in_toronto = on_king_street(organisation, "Avenue", "Toronto", [40])
    # The same words as the Hamilton buildings' (king, st) and the same number as close:
    # by house number alone, the town sent would have been left out.
    near = lookup_address(officer, "11 King St, Toronto").near
    assert near[0].building.id == in_toronto[0].id
    assert near[0].differences == (addresses.TYPE_DIFFERS, addresses.NUMBER_DIFFERS)
    assert {m.building.id for m in near[1:]} <= {b.id for b in elsewhere}
    # Room left after the town's buildings: the nearest numbers elsewhere fill it.
    assert [m.building.id for m in near[1:]] == [elsewhere[0].id, elsewhere[1].id]
    for address in ("11 King St, Toronot", "11 King St"):
        assert {m.building.id for m in lookup_address(officer, address).near} \
            == {b.id for b in elsewhere}, address


@pytest.mark.parametrize("address", ["11 King Ave", "11 King Ave, Toronot"])
def test_among_a_street_s_buildings_everywhere_those_with_more_of_the_address_s_words_are_judged_first(
        app, make_user, make_organisation, monkeypatch, address: str) -> None:
    """No town sent (or one misspelt): the street's buildings everywhere are candidates, and
    the cap keeps those having more of the address's words (its street type here) before the
    nearest numbers: King Avenue's building, forty numbers off, is the closest match where
    King Street's, one number off, differ in the type as well."""
    monkeypatch.setattr("floorplans.services.finding.MAX_NEAR_CANDIDATES", 3)
    officer = make_user(Role.OFFICER)
    organisation = make_organisation()
    on_king_street(organisation, "Street", "Hamilton", [10, 12, 9])
    avenue = on_king_street(organisation, "Avenue", "Guelph", [51])
    near = lookup_address(officer, address).near
    assert near[0].building.id == avenue[0].id, [m.building.name for m in near]
    assert near[0].differences[0] == addresses.NUMBER_DIFFERS
