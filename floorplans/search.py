"""Normalising names and addresses so that "123 main st" finds "123 Main Street".

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import re
import unicodedata

# Canada Post and USPS street-type and direction abbreviations that officers type or CAD sends.
ABBREVIATIONS = {
    "st": "street", "str": "street", "ave": "avenue", "av": "avenue", "rd": "road",
    "blvd": "boulevard", "dr": "drive", "cres": "crescent", "cr": "crescent", "ct": "court",
    "crt": "court", "ln": "lane", "pl": "place", "sq": "square", "pkwy": "parkway",
    "hwy": "highway", "ter": "terrace", "terr": "terrace", "cir": "circle", "trl": "trail",
    "gdns": "gardens", "gt": "gate", "pk": "park", "pt": "point", "mt": "mount",
    "n": "north", "s": "south", "e": "east", "w": "west", "ne": "northeast",
    "nw": "northwest", "se": "southeast", "sw": "southwest", "ste": "saint", "saint": "saint",
    "apt": "apartment", "bldg": "building", "ft": "fort",
}
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
