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

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Row, case, or_, select

from floorplans.congregation_names import SAME_NAME_KEPT, plain_words, same_name, word_starts
from floorplans.db import db
from floorplans.errors import InvalidInput
from floorplans.models import Building, Organisation

#: Up to this many congregations a form lists them all (a town's deployment); past it, a list
#: of every one is too long to read and most of the page's time: the administrator types.
LISTED_AT_MOST = 100
#: Matches offered at once as the administrator types; more are narrowed by typing more.
MATCHES_AT_MOST = 20
#: A congregation's cities (its buildings') named beside it in a list or a message.
CITIES_NAMED = 3


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


def matching(query: str, *, limit: int = MATCHES_AT_MOST) -> tuple[list[Congregation], bool]:
    """The congregations whose name has a word starting with each word of ``query``
    (accents and case aside, "St." and "Saint" alike: "gra ch" finds "Grace Church"), those
    whose name starts with it first, then by name; at most ``limit``, and whether more match.

    How: each congregation's name is stored folded beside it (``congregation_names``: its
    words in ``name_words``, kept by the model's listeners), and one statement finds and
    orders the matches, each query word a LIKE '% word%' on ``name_words`` (any of its
    spellings), reading at most ``limit`` + 1 rows; the shown ones' tradition and cities are
    read after, through the primary key and the buildings' organisation index.  The LIKE
    with a leading wildcard still reads every congregation's row in the database (no index
    serves a word inside a name), but compares short folded strings there instead of sending
    every name to Python to be folded: at 20,000 congregations on PostgreSQL (most have one
    building) a keystroke took p50 426 ms, p99 680 ms when every name was folded here, and
    takes p50 7.8 ms, p99 14 ms (quiet two-core machine).  Far past that size, an index of
    the words (as building_words is for buildings) is the next step.
    """
    query = query[:200]  # a name is 200 characters at most, so no more of the query is read
    # Cut as same_name is stored: only a query folding past 400 characters ("ﷺ" is 18 letters)
    # could then be taken to start alike on its first 400 alone.
    whole, plain = same_name(query)[:SAME_NAME_KEPT], " ".join(plain_words(query))
    # Words of letters and digits (word_starts, same_name, plain_words): no LIKE escaping.
    starts_alike = or_(Organisation.same_name.like(f"{whole}%"), Organisation.plain_name.like(f"{plain}%"))
    statement = (
        select(Organisation.id)
        .where(*(or_(*(Organisation.name_words.like(f"%{start}%") for start in starts))
                 for starts in word_starts(query)))
        .order_by(case((starts_alike, 0), else_=1), Organisation.folded_name, Organisation.id)
        .limit(limit + 1)
    )
    ids = list(db.session.scalars(statement))
    return _with_ids(ids[:limit]), len(ids) > limit


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
    ``search.normalise``), found by the indexed ``same_name``.  A name that is no
    congregation's, or several's, is refused with a message on ``field`` that says what to
    do (InvalidInput)."""
    if typed is None:
        return db.session.get(Organisation, chosen_id) if chosen_id else None
    typed = typed.strip()[:201]  # a name is 200 characters at most: longer is no name, and is not echoed whole
    wanted = same_name(typed)
    if not wanted:
        return None
    if chosen_id:
        picked = db.session.get(Organisation, chosen_id)
        if picked is not None and same_name(picked.name) == wanted:
            return picked
    # One indexed equality; each found name confirmed whole (same_name is kept cut, SAME_NAME_KEPT).
    same = [organisation_id for organisation_id, name in db.session.execute(
        select(Organisation.id, Organisation.name).where(Organisation.same_name == wanted[:SAME_NAME_KEPT])
        .order_by(Organisation.folded_name, Organisation.id)) if same_name(name) == wanted]
    if len(same) == 1:
        return db.session.get(Organisation, same[0])
    shown = typed
    if not same:
        raise InvalidInput({field: f"no congregation is named “{shown}”. Check the spelling, or type part of "
                                   "the name and choose it from the list; a congregation not yet in the service is "
                                   "added first (Administration, Congregations)."})
    listed = "; ".join(f"{c.name} ({c.detail})" if c.detail else c.name for c in _with_ids(same))
    raise InvalidInput({field: f"{len(same)} congregations are named “{shown}”: {listed}. Choose the one you mean "
                               "from the list that opens as you type."})
