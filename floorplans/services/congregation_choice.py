"""Choosing a congregation on an administrator's form: a new account's or invitation's, an
account's, a new building's.  While a deployment has few congregations the form lists them
all (a ``<select>``, ``choice``); past ``LISTED_AT_MOST`` the administrator types part of a
name and the page offers the matches as they type (``matching``, asked by
static/js/congregation-choice.js through the administrators' JSON route).  ``chosen`` says
which congregation a post meant: the one picked from the list, or else the one the typed
name is (none, or several of that name, is a message on the field).

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import functools
import heapq
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Row, select

from floorplans.db import db
from floorplans.errors import InvalidInput
from floorplans.models import Building, Organisation
from floorplans.search import fold, normalise, tokens

#: Up to this many congregations a form lists them all (a town's deployment); past it, a list
#: of every one is too long to read and most of the page's time: the administrator types.
LISTED_AT_MOST = 100
#: Matches offered at once as the administrator types; more are narrowed by typing more.
MATCHES_AT_MOST = 20
#: A congregation's cities (its buildings') named beside it in a list or a message.
CITIES_NAMED = 3
#: Names kept worked out (``_name``): a province's congregations four times over, a few MB.
_NAMES_KEPT = 8_192


@dataclass(frozen=True)
class Congregation:
    """A congregation as a choice shows it: enough to tell two of one name apart."""

    id: int
    name: str
    faith_tradition: str
    cities: tuple[str, ...] = ()

    @property
    def detail(self) -> str:
        """Its tradition and its buildings' cities: "Anglican; Oakville, Milton"."""
        places = ", ".join(self.cities[:CITIES_NAMED])
        if len(self.cities) > CITIES_NAMED:
            places += f" and {len(self.cities) - CITIES_NAMED} more"
        return "; ".join(part for part in (self.faith_tradition, places) if part)

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "faith_tradition": self.faith_tradition,
                "cities": list(self.cities), "detail": self.detail}


@dataclass(frozen=True)
class Choice:
    """What a form's congregation field shows: every congregation's id and name when there
    are few (``listed``; None when the administrator types instead), the one chosen (its id)
    and the text in the typed field (the chosen one's name, or what was typed)."""

    listed: Sequence[Row[int, str]] | None
    chosen_id: int | None
    typed: str

    @property
    def searches(self) -> bool:
        return self.listed is None


def choice(chosen_id: int | None, typed: str | None = None) -> Choice:
    """The field for ``chosen_id`` (None: none yet), in one statement while the congregations
    are few.  ``typed``: what a refused post's typed field held, shown again as it was; when
    None the field shows the chosen congregation's name."""
    first = db.session.execute(
        select(Organisation.id, Organisation.name).order_by(Organisation.name, Organisation.id)
        .limit(LISTED_AT_MOST + 1)
    ).all()
    if len(first) <= LISTED_AT_MOST:
        return Choice(first, chosen_id, typed or "")
    if typed is None:
        named = db.session.scalar(select(Organisation.name).where(Organisation.id == chosen_id)) if chosen_id else None
        typed = named or ""
    return Choice(None, chosen_id, typed)


#: An apostrophe joins a word's letters ("Mary's" is one word, as "Marys" typed without it).
_APOSTROPHES = str.maketrans("", "", "'’ʼ`")


def _plain_words(text: str) -> list[str]:
    """The words of ``text`` folded ("Église" -> "eglise") but not respelled ("saint")."""
    return "".join(c if c.isalnum() else " " for c in fold(text.translate(_APOSTROPHES))).split()


@dataclass(frozen=True)
class _Name:
    """What matching and ordering need of a congregation's name, worked out once a process
    per name (``_name``), not at every keystroke."""

    same: str  # what "the same name" means (``_same``)
    plain: str  # its words folded, as typed ("saint marys"): does it start as the query does?
    folded: str  # the order names are listed in, accents and case aside
    words: str  # " eglise saint st remi ": as typed and as the search spells them, so "sain" and "st" find "Saint"


@functools.lru_cache(maxsize=_NAMES_KEPT)
def _name(name: str) -> _Name:
    plain = _plain_words(name)
    words = dict.fromkeys([*plain, *tokens(name.translate(_APOSTROPHES))])
    return _Name(_same(name), " ".join(plain), fold(name), " " + " ".join(words) + " ")


def _same(text: str) -> str:
    """What two names must share to be the same name: ``search.normalise`` (case, accents,
    "St." or "Saint" aside) without apostrophes ("St Marys" is "St. Mary's"), or the folded
    words of a name in a script normalise keeps nothing of (it reads Latin letters and digits)."""
    text = text.translate(_APOSTROPHES)
    return normalise(text) or " ".join(_plain_words(text))


def _query_words(query: str) -> list[tuple[str, ...]]:
    """Each word of ``query`` as a word's beginning in ``_Name.words``, as typed and as the
    search spells it ("saint" -> (" saint", " st")); a name is 200 characters at most, so no
    more of the query is read."""
    return [tuple(dict.fromkeys([f" {word}", *(f" {short}" for short in tokens(word))]))
            for word in _plain_words(query[:200])]


def matching(query: str, *, limit: int = MATCHES_AT_MOST) -> tuple[list[Congregation], bool]:
    """The congregations whose name has a word starting with each word of ``query``
    (accents and case aside, "St." and "Saint" alike: "gra ch" finds "Grace Church"), those
    whose name starts with it first, then by name; at most ``limit``, and whether more match.

    How, and why not an index: one statement reads every congregation's id and name, and
    the words are matched here; the shown ones' tradition and cities are read after, through
    the primary key and the buildings' organisation index.  Names cannot be matched in SQL
    as ``floorplans.search`` folds them (SQLite has no accent folding, PostgreSQL only with
    the unaccent extension), the unique index on ``name`` is case- and accent-sensitive (no
    prefix range on it finds "eglise" in "Église"), and the schema keeps no folded copy of the
    name to index.  At a province's ~2,000 congregations a keystroke costs 4-7 ms on either
    database (measured on a busy two-core machine; each name's words are worked out once a
    process, ``_name``).  At 20,000 the names outgrow what is kept and a keystroke takes
    ~230 ms: a folded name column with an index of its words (a migration, as
    building_words is for buildings) is the step then.
    """
    wanted = _query_words(query)
    whole, plain = _same(query[:200]), " ".join(_plain_words(query[:200]))
    found: list[tuple[bool, str, int]] = []
    for organisation_id, name in db.session.execute(select(Organisation.id, Organisation.name)):
        known = _name(name)
        if all(any(start in known.words for start in starts) for starts in wanted):
            starts_alike = known.same.startswith(whole) or known.plain.startswith(plain)
            found.append((not starts_alike, known.folded, organisation_id))
    first = heapq.nsmallest(limit + 1, found)
    ids = [organisation_id for _, _, organisation_id in first[:limit]]
    return _with_ids(ids), len(first) > limit


def _with_ids(ids: Sequence[int]) -> list[Congregation]:
    """The congregations of ``ids``, in that order, described (``_described``)."""
    if not ids:
        return []
    rows = {row.id: row for row in db.session.execute(
        select(Organisation.id, Organisation.name, Organisation.faith_tradition).where(Organisation.id.in_(ids)))}
    return _described(rows[i] for i in ids if i in rows)


def _described(rows: Iterable[Row[int, str, str]]) -> list[Congregation]:
    """Congregations from (id, name, tradition) rows, each with its buildings' cities (one
    statement for all of them)."""
    rows = list(rows)
    cities: dict[int, list[str]] = defaultdict(list)
    if rows:
        places = db.session.execute(
            select(Building.organisation_id, Building.city).where(Building.organisation_id.in_([r.id for r in rows]))
            .group_by(Building.organisation_id, Building.city).order_by(Building.organisation_id, Building.city)
        )
        for organisation_id, city in places:
            cities[organisation_id].append(city)
    return [Congregation(r.id, r.name, r.faith_tradition, tuple(cities[r.id])) for r in rows]


def chosen(chosen_id: int | None, typed: str | None, *, field: str) -> Organisation | None:
    """The congregation a post chose.  ``typed`` None: the form listed them all and
    ``chosen_id`` is the one picked (or none).  Otherwise the typed field decides: empty is
    none; the name of the congregation picked from the offered matches is that one; any
    other text is the one congregation of that name (case, accents and "St."/"Saint" aside,
    ``search.normalise``).  A name that is no congregation's, or several's, is refused with
    a message on ``field`` that says what to do (InvalidInput)."""
    if typed is None:
        return db.session.get(Organisation, chosen_id) if chosen_id else None
    typed = typed.strip()[:201]  # a name is 200 characters at most: longer is no name, and is not echoed whole
    wanted = _same(typed)
    if not wanted:
        return None
    if chosen_id:
        picked = db.session.get(Organisation, chosen_id)
        if picked is not None and _name(picked.name).same == wanted:
            return picked
    # Every name read, as ``matching`` does and for its reasons: equal once normalised.
    same = sorted((_name(name).folded, organisation_id)
                  for organisation_id, name in db.session.execute(select(Organisation.id, Organisation.name))
                  if _name(name).same == wanted)
    if len(same) == 1:
        return db.session.get(Organisation, same[0][1])
    shown = typed
    if not same:
        raise InvalidInput({field: f"no congregation is named “{shown}”. Check the spelling, or type part of "
                                   "the name and choose it from the list; a congregation not yet in the service is "
                                   "added first (Administration, Congregations)."})
    listed = "; ".join(f"{c.name} ({c.detail})" if c.detail else c.name for c in _with_ids([i for _, i in same]))
    raise InvalidInput({field: f"{len(same)} congregations are named “{shown}”: {listed}. Choose the one you mean "
                               "from the list that opens as you type."})
