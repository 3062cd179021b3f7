"""The CAD deep link over HTTP with a few hundred addresses written the ways CAD systems and
call-takers write them.  Exact ones (abbreviations, case, punctuation, a unit, the city,
province, postal code, "Canada") open the card; near ones (another street type, another or
no direction, a typing error, only the postal code, another house number, another city)
never do: they show the closest building first and say what differs."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape, unescape
from urllib.parse import quote

import pytest
from sqlalchemy import event

from floorplans import addresses
from floorplans.db import db
from floorplans.models import Building, Role, User
from floorplans.services.buildings import MAX_SEARCH_WORDS, search
from floorplans.services.finding import lookup_address


@dataclass(frozen=True)
class Place:
    """A building of the test, and how its street may be written."""

    key: str
    name: str
    street: str
    city: str
    region: str
    postal_code: str
    numbers: tuple[str, ...]  # its house number, as CAD may send it
    streets: tuple[str, ...]  # the rest of its street, every way that means the same street
    provinces: tuple[str, ...]
    other_numbers: tuple[str, ...]  # close to it, further from the decoy next door
    other_types: tuple[str, ...]
    other_directions: tuple[tuple[str, str], ...]  # (street as sent, what differs)
    typo_words: tuple[str, ...]  # the words of the name that typing errors are made in
    type_typos: tuple[str, ...]
    untyped: tuple[str, ...]  # the street without its type


PLACES = (
    Place("main", "Beth Shalom", "123 Main Street", "Toronto", "ON", "M5V 2T6", ("123",),
          ("Main Street", "Main St", "Main St.", "MAIN STR", "main street"), ("ON", "Ont.", "Ontario"),
          ("122", "121"), ("Main Ave", "Main Avenue", "Main Rd", "Main Blvd", "Main Dr", "Main Cres"),
          (("Main St W", addresses.DIRECTION_DIFFERS), ("Main Street East", addresses.DIRECTION_DIFFERS),
           ("Main St N.", addresses.DIRECTION_DIFFERS)),
          ("Main",), ("Stret", "Sreet", "Stree", "Steet"), ("Main", "MAIN")),
    Place("denis", "Église Saint-Denis", "45 Rue Saint-Denis", "Montréal", "QC", "H2X 3K8", ("45",),
          ("rue Saint-Denis", "Rue St-Denis", "RUE ST. DENIS", "rue Saint Denis", "r\u0075e saint-denis"),
          ("QC", "Québec", "Quebec"),
          ("44", "46"), ("boul. Saint-Denis", "avenue Saint-Denis", "chemin Saint-Denis", "Saint-Denis St"),
          (("rue Saint-Denis Ouest", addresses.DIRECTION_DIFFERS), ("rue Saint-Denis E", addresses.DIRECTION_DIFFERS)),
          ("Saint", "Denis"), (), ("Saint-Denis", "St-Denis")),
    Place("elm", "Grace Chapel", "9 Elm Street West", "Toronto", "ON", "M5H 1A1", ("9",),
          ("Elm Street West", "Elm St W", "Elm St. W.", "ELM ST WEST", "Elm Street Ouest", "elm st w"),
          ("ON", "Ontario"),
          ("8", "10"), ("Elm Ave W", "Elm Rd West", "Elm Cres W"),
          (("Elm St", addresses.NO_DIRECTION), ("Elm Street", addresses.NO_DIRECTION),
           ("Elm St E", addresses.DIRECTION_DIFFERS), ("Elm Street East", addresses.DIRECTION_DIFFERS)),
          ("Elm",), ("Stret", "Streeet"), ("Elm W", "Elm West")),
    Place("mill", "Old Mill Temple", "3602 Old Mill Road", "Etobicoke", "ON", "M8X 1G3", ("3602",),
          ("Old Mill Road", "Old Mill Rd", "Old Mill Rd.", "OLD MILL RD", "old mill road"), ("ON", "Ontario"),
          ("3603", "3604"), ("Old Mill St", "Old Mill Ave", "Old Mill Dr", "Old Mill Way"),
          (("Old Mill Rd W", addresses.DIRECTION_DIFFERS), ("Old Mill Road South", addresses.DIRECTION_DIFFERS)),
          ("Old", "Mill"), ("Raod", "Roda", "Rod"), ("Old Mill",)),
)
# Decoys: the same number on another street, the next number on the same street, another
# street in the same city.  None of them is any variant's exact address.
DECOYS = (
    ("Knox Church", "125 Main Street", "Toronto", "ON", "M5V 2T8"),
    ("St. Mary", "123 Queen Street", "Toronto", "ON", "M5H 2M9"),
    ("Masjid Elm", "19 Elm Street West", "Toronto", "ON", "M5H 1A3"),
    ("Sainte-Catherine", "45 Rue Sainte-Catherine", "Montréal", "QC", "H2X 1K4"),
    ("Mill Chapel", "3600 Old Mill Road", "Etobicoke", "ON", "M8X 1G5"),
)


def places_after(place: Place) -> Iterator[str]:
    """What may follow the street without contradicting the record."""
    postal = place.postal_code
    yield ""
    yield f", {place.city}"
    yield f" {place.city.upper()}"
    for province in place.provinces:
        yield f", {place.city}, {province}"
        yield f", {place.city}, {province} {postal}"
    yield f", {place.city} ({place.provinces[-1]}) {postal}"
    yield f" {place.city} {place.provinces[0]} {postal.replace(' ', '')}"
    yield f", {place.city}, {place.provinces[-1]}, Canada"
    yield f", {postal}"
    yield f" {postal.lower()}, Canada"


UNITS = (("", ""), ("Unit 4, ", ""), ("4-", ""), ("#4 ", ""), ("", " #4"), ("", ", Unit 4"), ("", " Apt 12"),
         ("Suite 200, ", ""), ("", " Ste 200"))


def exact_variants(place: Place) -> list[str]:
    variants = []
    after = list(places_after(place))
    for n, (street, (before, unit)) in enumerate(itertools.product(place.streets, UNITS)):
        number = place.numbers[0]
        # Every street spelling with every unit, each with a different way of ending.
        variants.append(f"{before}{number} {street}{unit}{after[n % len(after)]}")
    variants += [f"{place.numbers[0]} {place.streets[0]}{ending}" for ending in after]
    if place.key == "denis":
        variants.append("45, rue Saint-Denis, Montréal (Québec) H2X 3K8")  # the French comma after the number
    return variants


def typos(word: str) -> Iterator[str]:
    """One typing error at each letter: another letter, a letter left out, two swapped, one doubled."""
    for i in range(len(word)):
        yield word[:i] + ("x" if word[i].lower() != "x" else "q") + word[i + 1:]
        if len(word) > 2:
            yield word[:i] + word[i + 1:]
        if i + 1 < len(word) and word[i] != word[i + 1]:
            yield word[:i] + word[i + 1] + word[i] + word[i + 2:]
        yield word[:i] + word[i] + word[i:]


def near_variants(place: Place) -> list[tuple[str, tuple[str, ...]]]:
    """(address, what the page must say differs)."""
    number, street, city = place.numbers[0], place.streets[1], place.city
    variants = [(f"{other} {street}, {city}", (addresses.NUMBER_DIFFERS,)) for other in place.other_numbers]
    variants += [(f"{number} {other}, {city}", (addresses.TYPE_DIFFERS,)) for other in place.other_types]
    variants += [(f"{number} {other}, {city}", (why,)) for other, why in place.other_directions]
    variants += [(f"{number} {other}, {city}", (addresses.NO_TYPE,)) for other in place.untyped]
    for word in place.typo_words:
        for typo in dict.fromkeys(typos(word)):
            if typo.lower() != word.lower():
                for written in {place.streets[0], street}:
                    spelled = written.replace(word, typo)
                    if spelled != written:
                        variants.append((f"{number} {spelled}, {city}", (addresses.SPELLING_DIFFERS,)))
    for typo in place.type_typos:
        spelled = re.sub(r"\b(Street|St|Road|Rd)\b", typo, place.streets[0])
        variants.append((f"{number} {spelled}, {city}", (addresses.SPELLING_DIFFERS,)))
    variants += [(place.postal_code, (addresses.POSTAL_CODE_ONLY,)),
                 (place.postal_code.replace(" ", "").lower(), (addresses.POSTAL_CODE_ONLY,))]
    variants.append((f"{number} {street}, Hamilton", (addresses.CITY_DIFFERS,)))
    variants.append((f"{number} {street}, {city} Z9Z 9Z9", (addresses.POSTAL_CODE_DIFFERS,)))
    # "Old Mill Temple" also reads as a street with neither number nor type: either is said.
    by_name = (addresses.NO_TYPE, addresses.NO_NUMBER) if place.key == "mill" else (addresses.NAME_ONLY,)
    variants.append((place.name, by_name))
    return variants


@pytest.fixture
def town(make_building, make_organisation) -> dict[str, Building]:
    organisation = make_organisation()
    built = {p.key: make_building(organisation, name=p.name, street=p.street, city=p.city, region=p.region,
                                  postal_code=p.postal_code) for p in PLACES}
    for name, street, city, region, postal_code in DECOYS:
        make_building(organisation, name=name, street=street, city=city, region=region, postal_code=postal_code)
    return built


def test_there_are_a_few_hundred_variants() -> None:
    exact = sum(len(exact_variants(p)) for p in PLACES)
    near = sum(len(near_variants(p)) for p in PLACES)
    assert exact >= 200 and near >= 150, (exact, near)


@pytest.mark.parametrize("place", PLACES, ids=lambda p: p.key)
def test_exact_addresses_open_the_card(place, town, browser_for, make_user) -> None:
    officer = browser_for(make_user(Role.OFFICER))
    card = f"/r/buildings/{town[place.key].id}"
    wrong = []
    for address in exact_variants(place):
        response = officer.get(f"/r/lookup?address={quote(address)}")
        if response.status_code != 302 or response.headers["Location"] != card:
            wrong.append(address)
    assert wrong == []


_BANNER = re.compile(r'<section class="lookup-near".*?</section>', re.S)
_LINK = re.compile(r'href="(/r/buildings/\d+)"')


@pytest.mark.parametrize("place", PLACES, ids=lambda p: p.key)
def test_near_addresses_show_the_closest_and_what_differs(place, town, browser_for, make_user) -> None:
    officer = browser_for(make_user(Role.OFFICER))
    card = f"/r/buildings/{town[place.key].id}"
    wrong = []
    for address, differences in near_variants(place):
        response = officer.get(f"/r/lookup?address={quote(address)}")
        page = response.get_data(as_text=True)
        banner = _BANNER.search(page)
        results = page[page.find('<ul class="results">'):]
        said = f"Not the same address: {', '.join(differences)}."
        if not (response.status_code == 200 and banner and "Closest match:" in banner[0]
                and _LINK.findall(banner[0]) == [card] and _LINK.findall(results)[:1] == [card]
                and said in unescape(banner[0]) and f"(you sent {escape(address)})" in banner[0]):
            wrong.append((address, response.status_code, banner and unescape(re.sub(r"<[^>]+>", " ", banner[0]))))
    assert wrong == []


def test_the_banner_reads_as_the_radio_would_say_it(town, browser_for, make_user) -> None:
    officer = browser_for(make_user(Role.OFFICER))
    page = unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", officer.get(
        "/r/lookup?address=123+Main+Ave").get_data(as_text=True))))
    assert "Closest match: 123 Main Street, Toronto (you sent 123 Main Ave)" in page
    assert "Not the same address: street type differs." in page and "Open Beth Shalom" in page
    # The next one down the list says what differs too.
    assert "Knox Church 125 Main Street, Toronto, ON, M5V 2T8 street type differs, house number differs" in page


def test_no_match_says_so_and_offers_search(town, browser_for, make_user) -> None:
    officer = browser_for(make_user(Role.OFFICER))
    page = officer.get("/r/lookup?address=99+Nowhere+Rd%2C+Sudbury").get_data(as_text=True)
    assert "No building on record matches the address “99 Nowhere Rd, Sudbury”" in page
    assert 'name="q" value="99 Nowhere Rd, Sudbury"' in page and "Closest match" not in page


@pytest.fixture
def statements(app) -> Iterator[list[str]]:
    """Every SQL statement the database is sent while the test runs."""
    sent: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    yield sent
    event.remove(db.engine, "before_cursor_execute", count)


def test_a_5000_word_address_is_cut_and_answers_in_a_few_statements(town, make_user, statements) -> None:
    officer = make_user(Role.OFFICER)
    main = town["main"]
    assert officer.role  # loaded now, not counted below
    statements.clear()
    found = lookup_address(officer, "Beth Shalom " + "synagogue " * 5000)
    assert found.cut and len(found.sent) <= addresses.MAX_ADDRESS_CHARS
    assert [m.building.id for m in found.near] == [main.id] and found.opens is None
    # The near matches, then the search by its first words (services.buildings.search: the
    # page's ids, then their buildings; no congregations, which the page does not show).
    assert len(statements) <= 3, len(statements)
    # An exact address followed by 5,000 words is not opened: what was cut might have said otherwise.
    statements.clear()
    found = lookup_address(officer, "123 Main St, Toronto " + "word " * 5000)
    assert found.exact == [main] and found.opens is None and len(statements) <= 3


def test_a_long_address_page_answers_and_says_it_was_cut(town, browser_for, make_user) -> None:
    """A thousand words (7 KB of URL: longer ones are refused whole with 414, Bounded input)."""
    officer = browser_for(make_user(Role.OFFICER))
    long = quote("123 Main St, Toronto " + "word " * 1000)
    page = officer.get(f"/r/lookup?address={long}").get_data(as_text=True)
    assert f"only its first {addresses.MAX_ADDRESS_CHARS} characters were read" in page
    assert f'href="/r/buildings/{town["main"].id}"' in page
    page = officer.get(f"/r/?q={quote('Beth Shalom ' + 'Toronto ' * 700)}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Beth Shalom" in text and "Knox Church" not in text
    assert f"only its first {MAX_SEARCH_WORDS} words were looked for" in text


def test_search_with_5000_words_costs_three_statements(town, make_user, statements) -> None:
    officer = make_user(Role.OFFICER)
    assert officer.role  # loaded now, not counted below
    statements.clear()
    found = search(officer, "Old Mill " + "road " * 5000)
    assert sorted(b.name for b in found) == ["Mill Chapel", "Old Mill Temple"]
    # The page's ids, their buildings, their congregations.
    assert len(statements) <= 3 and "FROM organisations" in statements[-1]
    # The Find page shows no congregation: none is read.
    db.session.expunge_all()
    officer = db.session.get(User, officer.id)
    statements.clear()
    found = search(officer, "Old Mill " + "road " * 5000, congregations=False)
    assert sorted(b.name for b in found) == ["Mill Chapel", "Old Mill Temple"]
    assert len(statements) <= 2 and not any("FROM organisations" in s for s in statements)
