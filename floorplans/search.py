"""Normalising names and addresses so that "123 main st" finds "123 Main Street".

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import re
import unicodedata

# Street types, directions and "Saint", each reduced to one canonical short form (as the
# postal services' own abbreviations do), so "Main Street", "main st" and "MAIN ST." agree and
# "St. Mary" matches "Saint Mary".  Both the stored text and the query go through this.
_SPELLINGS = {
    "st": ("street", "str", "saint", "ste", "sainte"),
    "ave": ("avenue", "av"),
    "rd": ("road",),
    "blvd": ("boulevard", "boul"),
    "dr": ("drive",),
    "cres": ("crescent", "cr"),
    "ct": ("court", "crt"),
    "ln": ("lane",),
    "pl": ("place",),
    "sq": ("square",),
    "pkwy": ("parkway",),
    "hwy": ("highway",),
    "terr": ("terrace", "ter"),
    "cir": ("circle",),
    "trl": ("trail",),
    "gdns": ("gardens",),
    "mt": ("mount",),
    "ft": ("fort",),
    "n": ("north",),
    "s": ("south",),
    "e": ("east",),
    "w": ("west",),
    "ne": ("northeast",),
    "nw": ("northwest",),
    "se": ("southeast",),
    "sw": ("southwest",),
}
ABBREVIATIONS = {spelling: short for short, spellings in _SPELLINGS.items() for spelling in spellings}
_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """Lower case without accents: "Église Saint-Rémi" -> "eglise saint-remi"."""
    if text.isascii():  # most addresses and names: nothing to decompose (40x sooner)
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def tokens(text: str) -> list[str]:
    return [ABBREVIATIONS.get(word, word) for word in _WORD.findall(fold(text))]


def normalise(text: str) -> str:
    """The canonical form stored for search and compared on lookup."""
    return " ".join(tokens(text))


# A word longer than this is indexed by its beginning; a search for one that long is checked
# against the stored text as well (services.buildings.with_word).  Names and streets are 200
# characters at most, but NFKD can lengthen a character, and PostgreSQL refuses index entries
# over ~2,700 bytes.
MAX_INDEXED_CHARS = 200


def indexed_words(search_text: str) -> list[str]:
    """The words of a building's stored (normalised) search text as the ``building_words``
    index holds them: each once, cut to ``MAX_INDEXED_CHARS``.  Split on the spaces the
    search text is joined with, so a word is indexed exactly when the text search
    (``' ' || search_text || ' ' LIKE '% word%'``) would see it as a word."""
    return sorted({word[:MAX_INDEXED_CHARS] for word in search_text.split()})


def following(prefix: str) -> str:
    """The first string after every string that starts with ``prefix`` in byte order ("gra"
    -> "grb"), so ``prefix <= word < following(prefix)`` is an index range for "starts with".
    Words are letters and digits (``tokens``): the last one plus one is never past ASCII."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
