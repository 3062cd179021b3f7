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
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def tokens(text: str) -> list[str]:
    return [ABBREVIATIONS.get(word, word) for word in _WORD.findall(fold(text))]


def normalise(text: str) -> str:
    """The canonical form stored for search and compared on lookup."""
    return " ".join(tokens(text))
