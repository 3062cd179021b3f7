"""The index of each building's search words (building_words) follows its search text through
every way it is written, and the name-or-address search through it finds what the text scan
it replaced found: the same buildings, in the same order, page for page, on SQLite and
PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import and_, delete, event, func, insert, select, text

from floorplans.db import db
from floorplans.models import Building, Contact, Role, User
from floorplans.models.buildings import BuildingWord, index_for_finding
from floorplans.permissions import readable_buildings
from floorplans.search import MAX_INDEXED_CHARS, indexed_words, normalise
from floorplans.services import buildings


def words_of(building_id: int) -> list[str]:
    return sorted(db.session.scalars(select(BuildingWord.word).where(BuildingWord.building_id == building_id)))


def test_the_words_follow_the_search_text(app, make_user, make_organisation) -> None:
    organisation = make_organisation()
    admin = make_user(Role.ADMIN)
    building = buildings.create_building(organisation, {"name": "Église Saint-Rémi", "street": "12 Main Street",
                                                        "city": "Montréal"}, by=admin)
    db.session.commit()
    assert words_of(building.id) == ["12", "eglise", "main", "montreal", "remi", "st"]
    buildings.update_building(building, {"name": "Grace Chapel"}, partial=True)
    db.session.commit()
    assert words_of(building.id) == ["12", "chapel", "grace", "main", "montreal", "st"]
    # Written straight through the ORM, as fixtures and scripts do.
    building.search_text = normalise("Beth Shalom 7 Elm Avenue")
    db.session.commit()
    assert words_of(building.id) == ["7", "ave", "beth", "elm", "shalom"]
    building.capacity = 300  # another field: the words stay
    db.session.commit()
    assert words_of(building.id) == ["7", "ave", "beth", "elm", "shalom"]
    db.session.delete(building)
    db.session.commit()
    assert db.session.scalars(select(BuildingWord)).all() == []


def test_a_bulk_load_is_indexed_by_index_for_finding(app, make_user, make_organisation) -> None:
    officer, organisation = make_user(Role.OFFICER), make_organisation()
    db.session.execute(insert(Building), [{"name": f"Church {n}", "organisation_id": organisation.id,
                                           "search_text": f"church {n} church", "street": f"{10 + n} Elm St"}
                                          for n in range(5)])
    ids = list(db.session.scalars(select(Building.id).order_by(Building.id)))
    assert db.session.scalars(select(BuildingWord)).all() == []  # the ORM's bulk insert fires no events
    numbers = lambda: list(db.session.scalars(select(Building.house_number).order_by(Building.id)))  # noqa: E731
    assert numbers() == [None] * 5
    index_for_finding(db.session.connection(), ids[:2], batch=1)
    assert [words_of(i) for i in ids] == [["0", "church"], ["1", "church"], [], [], []]
    assert numbers() == [10, 11, None, None, None]
    index_for_finding(db.session.connection())
    assert [words_of(i) for i in ids] == [[str(n), "church"] for n in range(5)]
    assert numbers() == [10, 11, 12, 13, 14]
    index_for_finding(db.session.connection(), [max(ids) + 1])  # a building gone meanwhile: nothing to do
    assert numbers() == [10, 11, 12, 13, 14]
    assert [b.id for b in buildings.search(officer, "chu 3")] == [ids[3]]


def test_the_migration_fills_the_words_of_the_buildings_there(app, make_building) -> None:
    made = [make_building(name=f"Temple {n}", street=f"{n} Queen St W") for n in range(3)]
    expected = {b.id: indexed_words(b.search_text) for b in made}
    db.session.remove()
    downgrade(revision="0014")
    upgrade()
    assert {b.id: words_of(b.id) for b in made} == expected


def test_the_migration_fills_the_house_numbers_of_the_buildings_there(app, make_building) -> None:
    made = [make_building(name=f"Temple {n}", street=street)
            for n, street in enumerate(["12 Queen St W", "4-300B Elm St", "Rural Route 2"])]
    ids = [b.id for b in made]
    db.session.add(Contact(building_id=ids[0], name="Imam Yusuf", phone="416-555-0101"))
    db.session.commit()
    db.session.remove()
    downgrade(revision="0015")
    # Down and up again in place: a copy of the table would have taken the contacts with it.
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 1
    upgrade()
    stored = {row.id: row.house_number for row in db.session.execute(select(Building.id, Building.house_number))}
    assert [stored[i] for i in ids] == [12, 300, None]
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 1


def test_a_word_longer_than_the_index_keeps_is_checked_against_the_text(app, make_building) -> None:
    long = "x" * (MAX_INDEXED_CHARS + 50)
    building = make_building(name="A")
    building.search_text = f"a {long} toronto"  # NFKD can make a 200-character name longer
    db.session.commit()
    assert max(map(len, words_of(building.id))) == MAX_INDEXED_CHARS
    found = lambda word, whole=None: list(db.session.scalars(buildings.with_word(word, whole=whole)))  # noqa: E731
    assert found(long) == found(long[:-10]) == found(long, whole=True) == [building.id]
    assert found(long + "x") == found(long[:-1], whole=True) == []


# The text scan the index replaced: every word in the stored text, at a word's start
# (a number whole), by LIKE over each building.
def scanned(user: User, query: str, limit: int, offset: int) -> list[int]:
    words, _ = buildings.search_words(query)
    padded = " " + Building.search_text + " "
    statement = readable_buildings(user)
    if words:
        statement = statement.where(and_(*(padded.contains(f" {w} " if w.isdigit() else f" {w}") for w in words)))
    statement = statement.order_by(Building.name, Building.id).offset(offset).limit(limit)
    return list(db.session.scalars(statement.with_only_columns(Building.id)))


def by_hand(everything: Sequence[tuple[int, int, str]], organisation_id: int | None, query: str) -> set[int]:
    words, _ = buildings.search_words(query)
    return {building_id for building_id, owner, text in everything
            if organisation_id in (None, owner)
            and all((f" {w} " if w.isdigit() else f" {w}") in f" {text} " for w in words)}


NAMES = ["Grace", "Gracious", "Grand", "St. Mary", "Saint Marys", "Maryland", "Beth", "Bethel", "Shalom", "Église",
         "Eglise", "Temple", "Mainland", "Domain", "Knox", "Sri", "Gurdwara", "Zion", "Ça", "ﬁrst"]
STREETS = ["Main", "Maine", "King", "Kingsway", "Queen", "Elm", "Elmwood", "Saint-Denis", "Avenue"]
TYPES = ["Street", "St", "Ave", "Avenue", "Road", "Rd", "Boulevard", ""]
CITIES = ["Toronto", "Hamilton", "St. Catharines", "Montréal", "Markham"]


@pytest.mark.slow  # a few hundred buildings
def test_search_through_the_index_finds_what_the_text_scan_found(app, make_organisation) -> None:
    rng = random.Random(19)
    ours, theirs = make_organisation(), make_organisation()
    records = []
    for n in range(300):
        name = " ".join(rng.sample(NAMES, rng.randint(1, 3))) + (f" {n}" if n % 3 == 0 else "")
        number = rng.choice(["12", "123", "1234", "12a", "7", "70", str(rng.randint(1, 2000))])
        street = f"{number} {rng.choice(STREETS)} {rng.choice(TYPES)}".strip()
        city, postal_code = rng.choice(CITIES), rng.choice(["", "M5V 2T6", "L8P 1A1"])
        building = Building(organisation=rng.choice([ours, theirs]), name=name, street=street, city=city,
                            postal_code=postal_code,
                            search_text=normalise(" ".join((name, street, city, postal_code))))
        records.append(building)
    db.session.add_all(records)
    db.session.flush()
    officer = User(email="officer@example.org", role=Role.OFFICER.value, password_hash="!")
    partner = User(email="partner@example.org", role=Role.PARTNER.value, password_hash="!", organisation=ours)
    db.session.add_all([officer, partner])
    db.session.commit()
    everything = [(b.id, b.organisation_id, b.search_text) for b in records]
    vocabulary = sorted({word for _, _, text in everything for word in text.split()})
    queries = ["", "gra", "grace", "st mary", "saint marys", "ST. MARY'S", "12", "123", "12a", "1", "main st",
               "mai", "domain", "eglise", "Église", "église saint", "z", "9", "toronto 12", "m5v 2t6", "m5v2t6",
               "st catharines", "first", "ça", "zzz", "grace grace", "a" * 150]
    for _ in range(60):
        picked = rng.sample(vocabulary, rng.randint(1, 3))
        queries.append(" ".join(w if w.isdigit() else w[: rng.randint(1, len(w))] for w in picked))
    for user, organisation_id in ((officer, None), (partner, ours.id)):
        for query in queries:
            found = [b.id for b in buildings.search(user, query, limit=1000)]
            assert found == scanned(user, query, 1000, 0), query
            assert set(found) == by_hand(everything, organisation_id, query), query
            for limit, offset in ((5, 0), (5, 5), (3, 7), (50, 100)):
                assert [b.id for b in buildings.search(user, query, limit=limit, offset=offset)] \
                    == scanned(user, query, limit, offset), (query, limit, offset)
    # Every stored word is indexed as the text scan sees it.
    rows = db.session.execute(select(BuildingWord.building_id, BuildingWord.word)).all()
    assert sorted(rows) == sorted((i, w) for i, _, text in everything for w in indexed_words(text))
    db.session.execute(delete(Building).where(Building.organisation_id == theirs.id))
    db.session.commit()
    assert {i for i, _ in db.session.execute(select(BuildingWord.building_id, BuildingWord.word))} \
        == {b for b, owner, _ in everything if owner == ours.id}


def _plan(statement: str, parameters: Any) -> str:
    """How the database would run ``statement``."""
    prefix = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
    return " ".join(str(row) for row in db.session.connection().exec_driver_sql(prefix + statement, parameters))


def test_a_list_page_reads_the_name_index_and_a_search_sorts_its_matches(app, make_user, make_organisation) -> None:
    """The lists read a page of the name index however far in (migration 0018); a search by
    words sorts its matches, never walking the names in order: PostgreSQL would, expecting
    the matches spread evenly over the names, but "masjid" starts the second half of them."""
    officer, organisation = make_user(Role.OFFICER), make_organisation()
    names = [f"{kind} {n:04d}" for kind in ("Church", "Masjid") for n in range(1500)]
    db.session.execute(insert(Building), [{"name": name, "organisation_id": organisation.id,
                                           "search_text": normalise(f"{name} 1 Elm St")} for name in names])
    index_for_finding(db.session.connection())
    db.session.execute(text("ANALYZE"))
    plans = []
    sent: list[tuple[str, Any]] = []

    def remember(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        sent.append((statement, parameters))

    for query, offset in (("", 1200), ("masjid", 0)):
        sent.clear()
        event.listen(db.engine, "before_cursor_execute", remember)
        try:
            found = buildings.search(officer, query, limit=5, offset=offset)
        finally:
            event.remove(db.engine, "before_cursor_execute", remember)
        expected = names[offset:offset + 5] if query == "" else names[1500:1505]  # the first Masjids
        assert [b.name for b in found] == expected
        ids = [(statement, parameters) for statement, parameters in sent
               if statement.startswith("SELECT buildings.id \nFROM buildings")]
        plans.append(_plan(*ids[0]))  # the page's ids
    list_plan, search_plan = plans
    assert "ix_buildings_name_id" in list_plan, list_plan
    sorted_here = "TEMP B-TREE FOR ORDER BY" if db.engine.dialect.name == "sqlite" else "Sort"
    assert sorted_here in search_plan and sorted_here not in list_plan, (search_plan, list_plan)


def test_folding_ascii_text_is_lower_case_and_accents_are_dropped_from_the_rest() -> None:
    """fold() skips Unicode decomposition for ASCII text: the same answer as decomposing it."""
    import unicodedata

    from floorplans.search import fold

    def decomposed(text: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()

    ascii_text = "".join(map(chr, range(128)))
    assert fold(ascii_text) == decomposed(ascii_text) == ascii_text.lower()
    assert fold("Église Saint-Rémi, 1234 Rue Côté") == "eglise saint-remi, 1234 rue cote"
    assert fold("ﬁrst Ａve") == decomposed("ﬁrst Ａve") == "first ave"  # compatibility forms, not ASCII
