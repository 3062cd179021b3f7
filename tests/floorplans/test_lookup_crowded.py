"""CAD lookup on a crowded street: more buildings on Main Street than the lookup judges
(``MAX_CANDIDATES``), and the one at the address sent is still found, the one nearest to it
still first among near matches."""

from __future__ import annotations

import pytest

from floorplans import addresses
from floorplans.db import db
from floorplans.models import Building, Organisation, Role
from floorplans.search import normalise
from floorplans.services.finding import MAX_CANDIDATES, lookup_address


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
