"""Reading the address a CAD system sends and judging it against one building's record: the
same street address ("exact": the in-car view may open the card by itself) or only close
("near": the officer confirms first), and, in words, what differs.

Pure text: no Flask, no SQLAlchemy, no models.  Must not import blueprints, storage or
converters.  ``services.finding`` fetches the candidates and asks this module about each.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from floorplans.search import ABBREVIATIONS, tokens

# An address is a few dozen characters; a CAD system's longest ("Unit 1204, 3602 Old Mill
# Road West, Etobicoke, Ontario M8X 1G3, Canada") is under 100.  Anything past these is
# cut, which keeps the work of a lookup bounded whatever is sent.
MAX_ADDRESS_CHARS = 200
MAX_ADDRESS_WORDS = 30

# What differs, as the find page says it.
NUMBER_DIFFERS = "house number differs"
NO_NUMBER = "no house number"
SPELLING_DIFFERS = "spelling differs"
TYPE_DIFFERS = "street type differs"
NO_TYPE = "street type missing"
DIRECTION_DIFFERS = "direction differs"
NO_DIRECTION = "direction missing"
CITY_DIFFERS = "city differs"
POSTAL_CODE_DIFFERS = "postal code differs"
POSTAL_CODE_ONLY = "postal code only"
NAME_ONLY = "building name only"
WORDS_ONLY = "only some words match"
# How far from the record each difference puts a building: a wrong house number or only a
# postal code is a different door, a missing direction is usually the same one.
COST = {
    TYPE_DIFFERS: 1, NO_TYPE: 1, DIRECTION_DIFFERS: 1, NO_DIRECTION: 1,
    SPELLING_DIFFERS: 2, CITY_DIFFERS: 2, POSTAL_CODE_DIFFERS: 2,
    NUMBER_DIFFERS: 4, NO_NUMBER: 4, POSTAL_CODE_ONLY: 6, NAME_ONLY: 7, WORDS_ONLY: 8,
}

# search.tokens knows the English abbreviations; addresses in Quebec and New Brunswick use
# Canada Post's French ones.  They live here, not in search.py, because search.py also
# normalises the stored search text and a change there would need every record redone.
_MORE_SPELLINGS = {
    "ouest": "w", "o": "w", "est": "e", "nord": "n", "sud": "s",
    "chemin": "ch", "route": "rte", "montee": "mtee", "croissant": "cres", "crois": "cres",
    "terrasse": "terr", "impasse": "imp", "promenade": "prom", "autoroute": "aut",
    "bd": "blvd", "pky": "pkwy", "grove": "grv", "heights": "hts", "expressway": "expy", "freeway": "fwy",
}
DIRECTIONS = frozenset({"n", "s", "e", "w", "ne", "nw", "se", "sw"})
STREET_TYPES = frozenset({
    "st", "ave", "rd", "blvd", "dr", "cres", "ct", "ln", "pl", "sq", "pkwy", "hwy", "terr", "cir", "trl", "gdns",
    "way", "gate", "grv", "hts", "close", "mews", "path", "row", "walk", "line", "expy", "fwy",
    "rue", "ch", "rte", "mtee", "imp", "prom", "rang", "cote", "aut",
})
# Types written before the name: French ("rue Saint-Denis", "boul. René-Lévesque") and highways.
LEADING_TYPES = frozenset({"rue", "ave", "blvd", "ch", "rte", "mtee", "imp", "prom", "rang", "cote", "pl", "cres",
                           "terr", "sq", "hwy", "aut"})
UNIT_WORDS = frozenset({"unit", "apt", "apartment", "suite", "bureau", "app", "appt", "local", "rm", "room", "fl",
                        "floor", "bldg"})
COUNTRY_WORDS = frozenset({"canada", "ca"})
_PROVINCE_NAMES = (
    "on", "ont", "ontario", "qc", "que", "pq", "quebec", "bc", "british columbia", "colombie britannique",
    "ab", "alta", "alberta", "mb", "man", "manitoba", "sk", "sask", "saskatchewan", "ns", "nova scotia",
    "nouvelle ecosse", "nb", "new brunswick", "nouveau brunswick", "pe", "pei", "prince edward island",
    "ile du prince edouard", "nl", "nfld", "newfoundland and labrador", "terre neuve et labrador", "newfoundland",
    "labrador", "yt", "yukon", "nt", "nwt", "northwest territories", "territoires du nord ouest", "nu", "nunavut",
)
_HOUSE_NUMBER = re.compile(r"\d+[a-z]?")
_POSTAL_FIRST, _POSTAL_SECOND = re.compile(r"[a-z]\d[a-z]"), re.compile(r"\d[a-z]\d")
_POSTAL_WHOLE = re.compile(r"[a-z]\d[a-z]\d[a-z]\d")
# Commas, semicolons and brackets separate the parts of an address ("45, rue Saint-Denis,
# Montréal (Québec)"); a street never runs across them.
_PARTS = re.compile(r"[,;()\[\]\n]")


def words_of(text: str) -> list[str]:
    """The words of an address in one canonical spelling each: "Rue Saint-Denis Ouest" and
    "rue St-Denis O" both give ``["rue", "st", "denis", "w"]``."""
    return [_MORE_SPELLINGS.get(word, word) for word in tokens(text)]


def _spellings() -> dict[str, frozenset[str]]:
    spellings: dict[str, set[str]] = {}
    for spelling, short in (*ABBREVIATIONS.items(), *_MORE_SPELLINGS.items()):
        spellings.setdefault(short, {short}).add(spelling)
    return {short: frozenset(words) for short, words in spellings.items()}


_SPELLINGS_OF = _spellings()
_KNOWN = STREET_TYPES | DIRECTIONS | frozenset(_SPELLINGS_OF)  # canonical words: never a misspelling
_PROVINCES = tuple(tuple(words_of(name)) for name in _PROVINCE_NAMES)


@dataclass(frozen=True)
class Sent:
    """An address as sent, read once: its words in canonical spelling, in which part
    (between commas) each word is, and what looks like a house number or a postal code."""

    text: str  # what was read: the address sent, or its beginning when it was cut
    cut: bool
    words: tuple[str, ...]
    plain: tuple[str, ...]  # search.tokens' spelling, the one the stored search text has
    parts: tuple[int, ...]
    postal_codes: frozenset[str]  # letters and digits only: "m5v2t6"
    postal_at: frozenset[int]  # indexes of the words that make up a postal code
    numbers: tuple[int, ...]  # indexes of the words that may be a house number, first few only


def read(address: str) -> Sent:
    text = " ".join(address.split())
    cut = len(text) > MAX_ADDRESS_CHARS
    if cut:
        text = text[: MAX_ADDRESS_CHARS + 1].rsplit(" ", 1)[0][:MAX_ADDRESS_CHARS]
    words: list[str] = []
    plain: list[str] = []
    parts: list[int] = []
    for number, part in enumerate(_PARTS.split(text)):
        for word in tokens(part):
            plain.append(word)
            words.append(_MORE_SPELLINGS.get(word, word))
            parts.append(number)
    if len(words) > MAX_ADDRESS_WORDS:
        cut = True
        del words[MAX_ADDRESS_WORDS:], plain[MAX_ADDRESS_WORDS:], parts[MAX_ADDRESS_WORDS:]
    postal_codes: set[str] = set()
    postal_at: set[int] = set()
    for i, word in enumerate(words):
        if _POSTAL_WHOLE.fullmatch(word):
            postal_codes.add(word)
            postal_at.add(i)
        elif _POSTAL_FIRST.fullmatch(word) and i + 1 < len(words) and _POSTAL_SECOND.fullmatch(words[i + 1]):
            postal_codes.add(word + words[i + 1])
            postal_at.update((i, i + 1))
    numbers = [i for i, word in enumerate(words) if _HOUSE_NUMBER.fullmatch(word) and i not in postal_at]
    return Sent(text, cut, tuple(words), tuple(plain), tuple(parts), frozenset(postal_codes),
                frozenset(postal_at), tuple(numbers[:6]))


def street_words(sent: Sent, most: int = 2) -> list[str]:
    """A few words of the street's name as sent, in the stored search text's spelling, to
    fetch the buildings on that street whatever their number: "main" of "122 Main St, ..."."""
    start = sent.numbers[0] + 1 if sent.numbers else 0
    found: list[str] = []
    for i in range(start, len(sent.words)):
        word = sent.words[i]
        if len(found) == most or (found and (sent.parts[i] != sent.parts[i - 1] or word in STREET_TYPES)):
            break
        if len(word) > 1 and not word[0].isdigit() and word not in STREET_TYPES | DIRECTIONS | UNIT_WORDS:
            found.append(sent.plain[i])
    return found


# Words that never name a place, made once rather than for each word of each lookup.
_NOT_PLACES = STREET_TYPES | DIRECTIONS | UNIT_WORDS | COUNTRY_WORDS | {word for name in _PROVINCES for word in name}


def place_words(sent: Sent) -> list[str]:
    """The address's words that may name its place (a city, a town, the building's name), in
    the stored search text's spelling: "ottawa" of "2169 Dundas Ave, Ottawa ON".  Not its house
    numbers, its street (the words from the first house number to the end of the street's
    types and direction, within its part), types, directions, units, provinces, country or
    postal code.  Used to prefer a street's buildings in that place; a word left in only
    widens that preference, so a doubtful one is kept."""
    start = sent.numbers[0] + 1 if sent.numbers else 0
    stop = start
    named = False
    while stop < len(sent.words) and sent.parts[stop] == sent.parts[start]:
        word = sent.words[stop]
        kind = word in STREET_TYPES or word in DIRECTIONS
        if named and not kind and (sent.words[stop - 1] in STREET_TYPES or sent.words[stop - 1] in DIRECTIONS):
            break  # "Ottawa" of "2169 Dundas Ave Ottawa": a word after the street's type
        named = named or not kind
        stop += 1
    return list(dict.fromkeys(
        sent.plain[i] for i, word in enumerate(sent.words)
        if not start <= i < stop and i not in sent.postal_at and len(word) > 1 and not word[0].isdigit()
        and word not in _NOT_PLACES))


@dataclass(frozen=True)
class Street:
    """A street without its number, in parts: "rue" "st denis" - "w"; "elm" - "st" "w"."""

    lead: str | None  # a type written before the name
    name: tuple[str, ...]
    kind: str | None  # a type written after the name
    direction: str | None


def parse_street(words: Sequence[str]) -> Street:
    rest = list(words)
    direction = rest.pop() if len(rest) >= 2 and rest[-1] in DIRECTIONS else None
    kind = rest.pop() if len(rest) >= 2 and rest[-1] in STREET_TYPES else None
    # "Avenue Road" keeps "ave" as its name: a leading type needs a name after it.
    lead = rest.pop(0) if len(rest) >= 2 and rest[0] in LEADING_TYPES else None
    return Street(lead, tuple(rest), kind, direction)


@dataclass(frozen=True)
class Record:
    """What a building's record says its address is, in the words ``judge`` compares."""

    number: str | None
    street: tuple[str, ...]  # the words after the house number, any unit left out
    parsed: Street
    city: tuple[str, ...]
    region: tuple[str, ...]
    postal_code: str  # letters and digits only
    name: frozenset[str]

    @classmethod
    def of(cls, *, street: str, city: str = "", region: str = "", postal_code: str = "", name: str = "") -> Record:
        return _record(street, city, region, postal_code, name)


# A lookup on a crowded street reads the same hundreds of records as the last one did, and
# reading a record (normalising five strings) was a third of its time: a record depends on
# its strings alone, so each process keeps the latest few thousand (~1 kB each).
@functools.lru_cache(maxsize=8192)
def _record(street: str, city: str, region: str, postal_code: str, name: str) -> Record:
    number, rest = _number_and_street(street)
    return Record(number, tuple(rest), parse_street(rest), tuple(words_of(city)), tuple(words_of(region)),
                  "".join(tokens(postal_code)), frozenset(words_of(name)))


def _number_and_street(street: str) -> tuple[str | None, list[str]]:
    # A record may say "4-123 Main Street" or "123 Main Street, Unit 4": the house number is
    # the one followed by a word, the street runs to the end of its part or to a unit.
    number: str | None = None
    rest: list[str] = []
    for part in _PARTS.split(street):
        words = words_of(part)
        for i, word in enumerate(words[:-1]):
            if _HOUSE_NUMBER.fullmatch(word) and not _HOUSE_NUMBER.fullmatch(words[i + 1]):
                number, rest = word, words[i + 1:]
                break
        if number is not None:
            break
    else:
        rest = words_of(_PARTS.split(street)[0])
    for i, word in enumerate(rest):
        if word in UNIT_WORDS:
            rest = rest[:i]
            break
    # "Main St 4" is unit 4; "Highway 7" is a road.
    if len(rest) >= 3 and rest[-1][0].isdigit() and rest[-2] in STREET_TYPES | DIRECTIONS:
        rest = rest[:-1]
    return number, rest


# The largest house number kept as a number (a 32-bit integer column on PostgreSQL).
MAX_HOUSE_NUMBER = 999_999_999


def house_number(street: str) -> int | None:
    """The house number of a record's street, as a number ("4-123 Main St" and "123B Main
    St": 123), or None when it has none: the column ``services.finding`` orders a street's
    buildings by, nearest number first."""
    number, _ = _number_and_street(street)
    digits = re.match(r"\d+", number or "")
    return int(digits[0]) if digits and int(digits[0]) <= MAX_HOUSE_NUMBER else None


def sent_numbers(sent: Sent) -> list[int]:
    """The numbers the address's house number may be, as ``house_number`` reads a record's."""
    found = [int(m[0]) for m in (re.match(r"\d+", sent.words[i]) for i in sent.numbers) if m]
    return [n for n in dict.fromkeys(found) if n <= MAX_HOUSE_NUMBER]


@dataclass(frozen=True)
class Verdict:
    differences: tuple[str, ...]  # empty: the same street address
    number_gap: int = 0  # how far the house number sent is from the record's, to order near matches

    @property
    def exact(self) -> bool:
        return not self.differences

    @property
    def cost(self) -> int:
        return sum(COST[difference] for difference in self.differences)


def judge(sent: Sent, record: Record) -> Verdict | None:
    """Whether ``sent`` is ``record``'s street address (a verdict with no differences), close
    to it (the differences), or neither (None).  Tries each word that may be the house number
    and each plausible length of the street after it, so the work is bounded by the capped
    number of words, never by a search per prefix."""
    return _best(sent, record, _tried(sent, record))


def judge_all(sent: Sent, records: Sequence[Record]) -> list[Verdict | None]:
    """``judge`` of each record.  On a crowded street most records differ only in a house
    number the address does not have; those are judged once for all (the same streets and
    places tried, the same differences found), only how far each one's number is from the
    address's is worked out for each."""
    sent_numbers = {sent.words[i] for i in sent.numbers}
    sent_words = frozenset(sent.words)
    shapes: dict[tuple[object, ...], list[tuple[int | None, Verdict]]] = {}
    verdicts = []
    for record in records:
        if record.number is None or record.number in sent_numbers:
            verdicts.append(judge(sent, record))
            continue
        # All judge reads of a record but its number: of the name, only the words the address
        # has; of the postal code, only whether it has one and whether it was sent (the
        # buildings of one street in one town have as many postal codes as blocks).
        postal_code = (bool(record.postal_code), record.postal_code in sent.postal_codes)
        shape = (record.street, record.city, record.region, postal_code, record.name & sent_words)
        if shape not in shapes:
            shapes[shape] = _tried(sent, record)
        tried = [(anchor, verdict if anchor is None else Verdict(verdict.differences,
                                                                 _gap(sent.words[anchor], record.number)))
                 for anchor, verdict in shapes[shape]]
        verdicts.append(_best(sent, record, tried))
    return verdicts


def _tried(sent: Sent, record: Record) -> list[tuple[int | None, Verdict]]:
    """Every verdict worth having, with the word taken for the house number, in the order tried."""
    tried: list[tuple[int | None, Verdict]] = []
    starts: list[tuple[int | None, int]] = [(i, i + 1) for i in sent.numbers]
    # No number, or none that is this building's: the street may start a part ("Main St, ...").
    starts += [(None, sent.parts.index(part)) for part in sorted(set(sent.parts))[:3]]
    for anchor, start in starts:
        if start >= len(sent.words) or (anchor is not None and sent.parts[start] - sent.parts[anchor] > 1):
            continue
        tried += [(anchor, verdict) for verdict in _street_verdicts(sent, record, anchor, start)]
    return tried


def _best(sent: Sent, record: Record, tried: Sequence[tuple[int | None, Verdict]]) -> Verdict | None:
    best: Verdict | None = None
    for _, verdict in tried:  # the first of the closest
        if best is None or (verdict.cost, verdict.number_gap) < (best.cost, best.number_gap):
            best = verdict
    if best is None and record.postal_code and record.postal_code in sent.postal_codes:
        best = Verdict((POSTAL_CODE_ONLY,))
    return best


def _street_verdicts(sent: Sent, record: Record, anchor: int | None, start: int) -> list[Verdict]:
    length = len(record.street)
    stop = start
    while (stop < min(start + length + 2, len(sent.words)) and sent.parts[stop] == sent.parts[start]
           and stop not in sent.postal_at):
        stop += 1
    # Misspelt types put right first, so "Main Stret" is read as a street with a type.
    window, respelled = _respelled(sent.words[start:stop], record)
    verdicts = []
    for end in range(start + max(1, length - 2), stop + 1):
        if not _street_ends(sent, window, start, end, record):
            continue
        differences = _street_differences(parse_street(window[: end - start]), any(respelled[: end - start]), record)
        if differences is None:
            continue
        gap = 0
        if anchor is None:
            if record.number is not None:
                differences.append(NO_NUMBER)
        elif sent.words[anchor] != record.number:
            differences.append(NUMBER_DIFFERS)
            gap = _gap(sent.words[anchor], record.number)
        verdicts.append(Verdict(tuple(differences + _place_differences(sent, record, end)), gap))
    return verdicts


def _street_ends(sent: Sent, window: Sequence[str], start: int, end: int, record: Record) -> bool:
    """Whether the street can end before word ``end``: "123 Main St" is not all of "123 Main
    St W" (W is its direction), but is all of "123 Main St St Catharines" in St. Catharines.
    ``window`` is the words from ``start`` with misspelt types put right."""
    if end >= len(sent.words) or sent.parts[end] != sent.parts[end - 1]:
        return True
    word = window[end - start] if end - start < len(window) else sent.words[end]
    if word not in STREET_TYPES and word not in DIRECTIONS:
        return True
    following = sent.words[end + 1] if end + 1 < len(sent.words) and sent.parts[end + 1] == sent.parts[end] else ""
    if word == "st" and _HOUSE_NUMBER.fullmatch(following):
        return True  # "Ste 200": a suite
    if word == "st" and following and following not in STREET_TYPES and following not in DIRECTIONS:
        return True  # "St Catharines": a place named for a saint
    return _starts(sent.words, end, record.city) or _starts(sent.words, end, record.region)


def _respelled(words: Sequence[str], record: Record) -> tuple[list[str], list[bool]]:
    """The words with misspelt street types and directions of the record put right ("Stret"
    -> "st", "Sant" -> "st"), and which were."""
    targets = [w for w in (record.parsed.lead, record.parsed.kind, record.parsed.direction) if w]
    targets += [w for w in record.parsed.name if w in _SPELLINGS_OF]
    result = list(words)
    respelled = [False] * len(words)
    for i, word in enumerate(words):
        if len(word) < 3 or word[0].isdigit() or word in _KNOWN or word in record.parsed.name:
            continue
        for target in targets:
            if _misspells(word, target):
                result[i] = target
                respelled[i] = True
                break
    return result, respelled


# A near lookup asks this of each word sent against each type and direction of each of its
# ~40 candidates: the same few hundred pairs, whose edit distances were a tenth of its time.
@functools.lru_cache(maxsize=8192)
def _misspells(word: str, target: str) -> bool:
    """Whether ``word`` is within the typing errors forgiven of a spelling of ``target``."""
    return any(len(s) >= 3 and _distance(word, s, _allowed(len(s))) <= _allowed(len(s))
               for s in _SPELLINGS_OF.get(target, (target,)))


def _street_differences(sent: Street, respelled: bool, record: Record) -> list[str] | None:
    street = record.parsed
    if sent.name != street.name:
        theirs, ours = " ".join(sent.name), " ".join(street.name)
        most = _allowed(len(ours))
        if _distance(theirs, ours, most) > most:
            return None
        respelled = True
    differences = [SPELLING_DIFFERS] if respelled else []
    if (sent.lead, sent.kind) != (street.lead, street.kind):
        differences.append(NO_TYPE if sent.lead is None and sent.kind is None else TYPE_DIFFERS)
    if sent.direction != street.direction:
        differences.append(NO_DIRECTION if sent.direction is None else DIRECTION_DIFFERS)
    return differences


def _place_differences(sent: Sent, record: Record, end: int) -> list[str]:
    """What the words after the street say against the record: another postal code, or
    another city.  Words the record does not contradict (its city, province, country, a
    unit, the building's name) are fine; a city or postal code not sent is not checked."""
    differences = []
    if sent.postal_codes and record.postal_code and record.postal_code not in sent.postal_codes:
        differences.append(POSTAL_CODE_DIFFERS)
    rest = [w for i, w in enumerate(sent.words[end:], start=end) if i not in sent.postal_at]
    if record.city and any(_starts(rest, i, record.city) for i in range(len(rest))):
        return differences
    if _unexplained(rest, record):
        differences.append(CITY_DIFFERS)
    return differences


def _unexplained(words: Sequence[str], record: Record) -> list[str]:
    left: list[str] = []
    i = 0
    while i < len(words):
        sequence = next((s for s in (record.region, *_PROVINCES) if s and _starts(words, i, s)), None)
        if sequence:
            i += len(sequence)
            continue
        word = words[i]
        if word in UNIT_WORDS or (word == "st" and i + 1 < len(words) and _HOUSE_NUMBER.fullmatch(words[i + 1])):
            i += 2  # "Unit 4", "Ste 200"
            continue
        if not (word in COUNTRY_WORDS or word in record.name or any(c.isdigit() for c in word)):
            left.append(word)
        i += 1
    return left


def _starts(words: Sequence[str], at: int, part: Sequence[str]) -> bool:
    return bool(part) and tuple(words[at : at + len(part)]) == tuple(part)


def _gap(sent: str, record: str | None) -> int:
    digits = re.match(r"\d+", sent), re.match(r"\d+", record or "")
    return abs(int(digits[0][0]) - int(digits[1][0])) if digits[0] and digits[1] else 0


# The most typing errors forgiven in a street's name (``_allowed``).
MOST_TYPING_ERRORS = 2


def _allowed(length: int) -> int:
    """Typing errors forgiven in a word of this length: none in "St", one in "Elm" or
    "Main", two in "Saint Denis"."""
    return 0 if length < 3 else 1 if length < 7 else MOST_TYPING_ERRORS


def _distance(a: str, b: str, most: int) -> int:
    """Edit distance where swapping two neighbours counts one ("Mian" is one from "Main");
    anything over ``most`` is reported as ``most + 1`` without finishing the table."""
    if abs(len(a) - len(b)) > most:
        return most + 1
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > most:
            return most + 1
        before, previous = previous, current
    return min(previous[-1], most + 1)


def prefix_words_matched(words: Sequence[str], search_text: str) -> int:
    """How many of ``words``, from the first, a building's stored search text has, by the
    rule of the name-or-address search (a word matches at a word's start, a number whole)."""
    padded = f" {search_text} "
    for count, word in enumerate(words):
        if (f" {word} " if word.isdigit() else f" {word}") not in padded:
            return count
    return len(words)
