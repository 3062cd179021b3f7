"""Each congregation's name folded as the congregation choice searches it
(organisations.name_words, same_name, plain_name, folded_name) follows the name through every
way it is written, and the search in SQL over them offers what the Python scan it replaced
offered: the same congregations in the same order, reading no more rows than it shows, on
SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import event, insert, select

from floorplans.congregation_names import (
    SAME_NAME_KEPT,
    STORED_COLUMNS,
    name_words,
    plain_words,
    same_name,
    stored_forms,
    word_starts,
)
from floorplans.db import db
from floorplans.errors import InvalidInput
from floorplans.models import Building, Organisation, Role, User
from floorplans.models.accounts import index_for_choosing
from floorplans.search import fold
from floorplans.services import congregation_choice


def stored(organisation_id: int) -> dict[str, str]:
    """The columns as the database holds them (not as the session remembers them)."""
    row = db.session.execute(select(*(getattr(Organisation, c) for c in STORED_COLUMNS))
                             .where(Organisation.id == organisation_id)).one()
    return dict(zip(STORED_COLUMNS, row, strict=True))


def test_the_stored_forms_of_a_name() -> None:
    assert stored_forms("Église Saint-Rémi") == {"name_words": " eglise saint remi st ", "same_name": "eglise st remi",
                                                 "plain_name": "eglise saint remi", "folded_name": "eglise saint-remi"}
    assert stored_forms("St. Mary's")["same_name"] == stored_forms("saint marys")["same_name"] == "st marys"
    assert word_starts("Saint mar") == [(" saint", " st"), (" mar",)]
    # What goes into a LIKE pattern is letters and digits: no wildcard of a name is one.
    assert plain_words("100% _Grace_") == ["100", "grace"] and same_name("50%_off") == "50 off"
    assert name_words("100% Grace") == " 100 grace "


def test_the_listeners_keep_the_columns_on_insert_and_on_rename(app, make_organisation) -> None:
    organisation = make_organisation("Église Saint-Rémi", "Catholic")
    assert stored(organisation.id) == stored_forms("Église Saint-Rémi")
    organisation.name = "St. Mary's Coptic Church"
    db.session.commit()
    assert stored(organisation.id) == stored_forms("St. Mary's Coptic Church")
    assert stored(organisation.id)["name_words"] == " st marys coptic church "
    organisation.faith_tradition = "Coptic Orthodox"  # another field: the forms stay as they are
    db.session.commit()
    assert stored(organisation.id) == stored_forms("St. Mary's Coptic Church")
    found, _ = congregation_choice.matching("saint mary")
    assert [c.name for c in found] == ["St. Mary's Coptic Church"]
    assert congregation_choice.matching("remi") == ([], False)


def test_a_bulk_insert_is_folded_by_index_for_choosing(app) -> None:
    db.session.execute(insert(Organisation), [{"name": f"Église {n}", "faith_tradition": "Catholic"}
                                              for n in range(5)])
    ids = list(db.session.scalars(select(Organisation.id).order_by(Organisation.id)))
    # The ORM's bulk insert fires no events: nothing to match yet.
    assert [stored(i)["name_words"] for i in ids] == [""] * 5
    assert congregation_choice.matching("eglise") == ([], False)
    index_for_choosing(db.session.connection(), ids[:2], batch=1)
    assert [stored(i)["name_words"] for i in ids] == [" eglise 0 ", " eglise 1 ", "", "", ""]
    index_for_choosing(db.session.connection())
    assert [stored(i) for i in ids] == [stored_forms(f"Église {n}") for n in range(5)]
    found, more = congregation_choice.matching("egl", limit=3)
    assert [c.name for c in found] == ["Église 0", "Église 1", "Église 2"] and more is True
    assert congregation_choice.chosen(None, "EGLISE 3", field="organisation").id == ids[3]  # type: ignore[union-attr]


def test_the_migration_fills_the_congregations_there(app, make_organisation, make_building, make_user) -> None:
    names = ["Grace Church", "Église Saint-Rémi", "St. Mary's", "مسجد النور"]
    made = [make_organisation(name) for name in names]
    ids = [organisation.id for organisation in made]
    # Referred to, as a deployment's are: both ways must leave the rows that refer to them.
    building, partner = make_building(made[1]).id, make_user(Role.PARTNER, made[2]).id
    db.session.remove()
    downgrade(revision="0016")
    upgrade()
    assert [stored(i) for i in ids] == [stored_forms(name) for name in names]
    assert all(stored(i)["name_words"].strip() for i in ids)
    assert db.session.scalar(select(Building.organisation_id).where(Building.id == building)) == ids[1]
    assert db.session.scalar(select(User.organisation_id).where(User.id == partner)) == ids[2]


def test_a_name_folded_past_what_same_name_keeps_is_still_told_apart(app, make_organisation) -> None:
    """"ﷺ" folds to 18 letters: such names' same_name is cut (an index entry has a size
    limit), and what was cut off still tells two names apart."""
    first, second = make_organisation("ﷺ" * 30 + " أ"), make_organisation("ﷺ" * 30 + " ب")
    assert len(same_name(first.name)) > SAME_NAME_KEPT and len(stored(first.id)["same_name"]) == SAME_NAME_KEPT
    assert stored(first.id)["same_name"] == stored(second.id)["same_name"]
    assert congregation_choice.chosen(None, first.name, field="organisation") is first
    assert congregation_choice.chosen(None, second.name, field="organisation") is second
    with pytest.raises(InvalidInput):
        congregation_choice.chosen(None, "ﷺ" * 30, field="organisation")


@contextmanager
def statements_run() -> Iterator[list[tuple[str, Any]]]:
    """Each statement sent to the database while inside, with its parameters."""
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        sent.append((statement, parameters))

    engine = db.engine
    event.listen(engine, "after_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "after_cursor_execute", record)


def rows_of(statement: str, parameters: Any) -> int:
    """How many rows ``statement`` returns, run again as it was sent."""
    return len(db.session.connection().exec_driver_sql(statement, parameters).all())


def test_a_keystroke_reads_no_more_rows_than_it_shows(app, make_building) -> None:
    db.session.add_all([Organisation(name=f"Congregation {n:04d}", faith_tradition="Muslim") for n in range(300)])
    db.session.commit()
    for organisation in db.session.scalars(select(Organisation).order_by(Organisation.id).limit(30)):
        make_building(organisation, city="Oakville")
    db.session.expire_all()
    with statements_run() as sent:
        found, more = congregation_choice.matching("congregation")
    assert [c.name for c in found] == [f"Congregation {n:04d}" for n in range(20)] and more is True
    assert all(c.cities == ("Oakville",) for c in found)
    # The matches (limit + 1), the shown ones' names and traditions, their cities.
    assert len(sent) == 3
    read = [rows_of(statement, parameters) for statement, parameters in sent]
    assert read == [21, 20, 20]
    assert "LIMIT" in sent[0][0].upper()

    # A typed name: one indexed equality, its one row.
    db.session.expire_all()
    with statements_run() as sent:
        chosen = congregation_choice.chosen(None, "congregation 0123", field="organisation")
    assert chosen is not None and chosen.name == "Congregation 0123"
    assert [rows_of(statement, parameters) for statement, parameters in sent] == [1, 1]
    assert "same_name =" in sent[0][0]


# The Python scan the SQL replaced (commit 673375e), over the same pure functions.
def by_hand(names: dict[int, str], query: str, limit: int) -> tuple[list[int], bool]:
    query = query[:200]
    wanted, whole, plain = word_starts(query), same_name(query), " ".join(plain_words(query))
    found = []
    for organisation_id, name in names.items():
        words = name_words(name)
        if all(any(start in words for start in starts) for starts in wanted):
            starts_alike = same_name(name).startswith(whole) or " ".join(plain_words(name)).startswith(plain)
            found.append((not starts_alike, fold(name), organisation_id))
    first = sorted(found)[:limit + 1]
    return [organisation_id for _, _, organisation_id in first[:limit]], len(first) > limit


WORDS = ["Grace", "Gracious", "Grand", "St.", "Saint", "Sainte", "Mary's", "Marys", "Maryland", "Beth", "Bethel",
         "Shalom", "Église", "Eglise", "église", "Temple", "Knox", "Sri", "Gurdwara", "Zion", "Ça", "ﬁrst", "First",
         "Al-Noor", "Masjid", "مسجد", "النور", "佛光山", "North", "N.", "Mount", "Mt", "of", "the", "100%", "_under_",
         "Church", "CHURCH", "Congregation", "Ste-Anne", "St-Jean", "Baháʼí", "Ōtautahi", "Ukrainian", "Orthodox"]


@pytest.mark.slow  # a few hundred congregations, a hundred queries
def test_the_search_in_sql_offers_what_the_python_scan_offered(app) -> None:
    rng = random.Random(19)
    names: set[str] = set()
    while len(names) < 250:
        names.add(" ".join(rng.sample(WORDS, rng.randint(1, 4))) + (f" {rng.randint(1, 40)}" if rng.random() < .2
                                                                    else ""))
    db.session.add_all([Organisation(name=name, faith_tradition="Other") for name in names])
    db.session.commit()
    everything = {row.id: row.name for row in db.session.execute(select(Organisation.id, Organisation.name))}
    queries = ["", "gra", "grace", "st mary", "saint marys", "ST. MARY'S", "sain", "ste", "st", "mt", "mount",
               "eglise", "Église", "ÉGLISE st", "first", "fi", "ça", "ca", "مسجد", "مس", "佛", "100", "100%", "_",
               "under", "n", "north", "al noor", "al-noor", "baha", "otautahi", "zzz", "grace grace", "church 1",
               "a" * 250, "%", "'"]
    queries += [" ".join(rng.choice(WORDS)[:rng.randint(1, 6)] for _ in range(rng.randint(1, 3))) for _ in range(60)]
    for query in queries:
        for limit in (20, 3):
            found, more = congregation_choice.matching(query, limit=limit)
            assert ([c.id for c in found], more) == by_hand(everything, query, limit), (query, limit)
