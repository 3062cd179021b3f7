"""A congregation's name as the administrators' congregation choice searches it
(services.congregation_choice): worked out once when a name is written and stored beside it
on ``organisations`` (``stored_forms``), so that a keystroke's search and a typed name's
lookup are a statement's conditions instead of folding every congregation's name in Python.

Pure functions.  The model's listeners, ``models.accounts.index_for_choosing`` and migration
0017 store what ``stored_forms`` gives; the service asks with ``word_starts`` and
``same_name``: the two sides must change together.

Must not import blueprints, services, storage or converters.
"""
from __future__ import annotations

from floorplans.search import fold, normalise, tokens

#: An apostrophe joins a word's letters ("Mary's" is one word, as "Marys" typed without it).
_APOSTROPHES = str.maketrans("", "", "'’ʼ`")

#: ``organisations.same_name`` keeps this many characters: it is indexed, and PostgreSQL
#: refuses an index entry over ~2,700 bytes.  NFKD can make a 200-character name far longer
#: ("ﷺ" is 18 letters); 400 characters are 1,600 bytes at most.  A lookup by it is
#: confirmed against the whole name (``same_name``) for that reason.
SAME_NAME_KEPT = 400

#: The columns ``stored_forms`` fills, by their names on ``organisations``.
STORED_COLUMNS = ("name_words", "same_name", "plain_name", "folded_name")


def plain_words(text: str) -> list[str]:
    """The words of ``text`` folded ("Église" -> "eglise") but not respelled ("saint").
    Letters and digits only (``str.isalnum``): never a LIKE wildcard ("%", "_") or escape."""
    return "".join(c if c.isalnum() else " " for c in fold(text.translate(_APOSTROPHES))).split()


def same_name(text: str) -> str:
    """What two names must share to be the same name: ``search.normalise`` (case, accents,
    "St." or "Saint" aside) without apostrophes ("St Marys" is "St. Mary's"), or the folded
    words of a name in a script normalise keeps nothing of (it reads Latin letters and digits).
    Words of letters and digits joined by single spaces."""
    text = text.translate(_APOSTROPHES)
    return normalise(text) or " ".join(plain_words(text))


def name_words(name: str) -> str:
    """" eglise saint st remi ": each word of ``name`` folded as typed and as the search
    spells it (``search.tokens``), once, between spaces, so that "sain" and "st" both find
    "Saint" as ``name_words LIKE '% sain%'``: a word's start is a space and its letters."""
    plain = plain_words(name)
    words = dict.fromkeys([*plain, *tokens(name.translate(_APOSTROPHES))])
    return " " + " ".join(words) + " "


def stored_forms(name: str) -> dict[str, str]:
    """What ``organisations`` stores of a congregation called ``name``, by column:
    ``name_words`` (matched: ``name_words``), ``same_name`` (the lookup of a typed name and
    "starts alike": ``same_name``, cut to ``SAME_NAME_KEPT``), ``plain_name`` (its words
    folded as typed, "saint marys": "starts alike" too) and ``folded_name`` (the order
    names are offered in, accents and case aside)."""
    return {
        "name_words": name_words(name),
        "same_name": same_name(name)[:SAME_NAME_KEPT],
        "plain_name": " ".join(plain_words(name)),
        "folded_name": fold(name),
    }


def word_starts(query: str) -> list[tuple[str, ...]]:
    """Each word of ``query`` as a word's beginning in ``name_words``, as typed and as the
    search spells it ("saint" -> (" saint", " st")).  Letters and digits after a space,
    nothing else (``plain_words``, ``search.tokens``): safe in a LIKE pattern unescaped."""
    return [tuple(dict.fromkeys([f" {word}", *(f" {short}" for short in tokens(word))]))
            for word in plain_words(query)]
