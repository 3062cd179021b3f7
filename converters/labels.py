"""Proposed page names, from each sheet's own title: what an officer picks a floor by.

A page whose title names one floor of the building ("GROUND FLOOR PLAN", "Level 2",
"BASEMENT") is named by that floor ("Ground floor") and is of kind "floor"; any other sheet
keeps its own title in sentence case ("Elevations", "Site plan", "First floor framing") and
is of kind "sheet", which the partner's review proposes to hide. A page with no readable
title is "Sheet A1.2" by its printed sheet number, else "Sheet 3". Partners correct the
names before publishing: a proposal only saves them typing, so when the sheet is
ambiguous (several floors drawn on one sheet, several equal titles) it says nothing
rather than guess — a wrong floor name is a wrong floor on the radio.

The title is the one the title block labels ("SHEET TITLE", "DRAWING"; converters.titles),
else the sheet's largest title-like line: short, not a note, cross-reference, scale or
dimension, and not text printed on most pages of the document (the project, the firm).

Runs inside the validation child process. Must not import Flask, SQLAlchemy, storage or
floorplans."""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import pymupdf

from converters.titles import SHEET_NUMBER, SheetText, TextLine, clean, read_sheet

MAX_NAME = 40
FLOOR = "floor"
SHEET = "sheet"

_ORDINALS = {
    "1st": "first", "2nd": "second", "3rd": "third", "4th": "fourth", "5th": "fifth",
    "6th": "sixth", "7th": "seventh", "8th": "eighth", "9th": "ninth", "10th": "tenth",
}  # fmt: skip
_FLOOR = re.compile(
    r"\b(?:(?P<ordinal>(?:lower|upper)\s+ground|ground|first|second|third|fourth|fifth|sixth|seventh|eighth|"
    r"ninth|tenth|top|upper|lower|main|entry|street|garden|\d{1,2}(?:st|nd|rd|th))\s*(?P<noun>floor|level|storey|story)\b"
    r"|(?P<numbered>floor|level|storey)\s+(?P<number>-?[a-z]?\d{1,2})\b"
    r"|(?P<single>sub-basement|basement|mezzanine|cellar|crypt|undercroft|attic|balcony|gallery level)"
    r"(?:\s+(?:floor|level)\b)?)",
    re.IGNORECASE,
)
# Words that make a sheet something other than the plan of a floor: a view, a trade's
# drawing, a list. "First floor framing" is a sheet; "Castle first floor" is a floor.
_SHEET_WORDS = frozenset(
    "elevation elevations section sections sectional detail details schedule schedules site roof cover notes "
    "note index foundation foundations framing ceiling rcp reflected electrical lighting power demolition "
    "finishes finish perspective perspectives legend specification specifications abbreviations information "
    "survey landscape drainage plumbing mechanical structural hvac reticulation wall walls partition "
    "partitions slab truss trusses joist joists rafters excavation grading doors windows door window "
    "axonometric isometric vicinity location key sheet".split()
)
# A plan with no level named, the only plan of a one-storey building: "FLOOR PLAN", "LAYOUT PLAN".
_GENERIC_PLAN = frozenset("floor plan plans layout general arrangement overall proposed existing new the of".split())
_PLAN_NOUNS = frozenset({"plan", "plans", "layout", "arrangement"})
# The nouns sheet titles end with; a line with one of them beats a larger building name,
# a line with a mere qualifier ("Power" by a socket) does not.
_TITLE_WORDS = _PLAN_NOUNS | frozenset(
    "elevation elevations section sections detail details schedule schedules notes index cover perspective "
    "perspectives floor level storey basement mezzanine cellar crypt undercroft attic balcony".split()
)
# Words that mixed-case titles capitalise by habit ("Floor Plan"), unlike proper nouns.
_COMMON_WORDS = _TITLE_WORDS | _SHEET_WORDS | _GENERIC_PLAN | frozenset("and or to in at on with for".split())
_ACRONYMS = frozenset({"RCP", "HVAC", "MEP", "WC", "AV", "ADA", "AED", "CCTV", "EV", "PA", "UK", "USA", "II", "III"})
# Not a title: cross-references, labelled fields, scales, addresses, leader notes.
_NOT_TITLE = re.compile(
    r"^(?:see|refer|ref\b|reference|sim\b|similar|match\s*line|cont\b|continued|n\.?t\.?s\b)"
    r"|\bsee\b|\brefer\b|:|@|www\.|\.com\b|\bscale\b|\d+\s*/\s*[a-z]{1,2}[-.]?\d",
    re.IGNORECASE,
)
_TRAILING_PLAN = re.compile(r"\s+(?:plans?|layout(?:\s+plan)?|general\s+arrangement(?:\s+plan)?)$", re.IGNORECASE)
_LEADING_PLAN = re.compile(r"^(?:floor\s+)?(?:plan|layout)\s*(?:of\b|[-:])\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Proposal:
    name: str
    kind: str  # FLOOR or SHEET


@dataclass(frozen=True)
class Reading:
    """A title read as a page name. ``evidence`` is FLOOR when the title is the plan of
    one floor, SHEET when its words say it is something else, None when they say neither.
    ``name`` is what the page is called on its own ("First floor"); ``full`` keeps the
    title's other words ("Castle first floor"), for documents where the floor alone is not
    enough to tell pages apart."""

    name: str
    full: str
    evidence: str | None


def _floor_name(match: re.Match[str]) -> str:
    if match.group("single"):
        return match.group("single").capitalize()
    if match.group("numbered"):
        number = match.group("number").upper()
        if number.isdigit():
            number = number.lstrip("0") or "0"  # "LEVEL 02" is Level 2
        return f"{match.group('numbered').capitalize()} {number}"
    ordinal = " ".join(match.group("ordinal").lower().split())
    ordinal = _ORDINALS.get(ordinal, ordinal)
    return f"{ordinal.capitalize()} {match.group('noun').lower()}"


def floors_named(text: str) -> set[str]:
    return {_floor_name(match) for match in _FLOOR.finditer(text)}


def sentence_case(text: str) -> str:
    """ALL-CAPS titles in sentence case; text typed in mixed case keeps its capitals (they
    are proper nouns: "Newell-Simon Hall")."""
    if any(c.islower() for c in text):
        words = text.split(" ")
        tail = [word.lower() if word.lower() in _COMMON_WORDS else word for word in words[1:]]
        return " ".join([words[0][:1].upper() + words[0][1:], *tail])
    words = []
    for word in text.split(" "):
        core = word.strip("()[],.;/&")
        keep = (
            core in _ACRONYMS
            or re.fullmatch(r"[A-Z](?:-[A-Z])+", core) is not None  # SECTION A-A
            or (any(c.isdigit() for c in core) and not re.fullmatch(r"\d+(?:ST|ND|RD|TH)", core))
        )
        words.append(word if keep else word.lower())
    cased = " ".join(words)
    return cased[:1].upper() + cased[1:]


def shorten(name: str, limit: int = MAX_NAME) -> str:
    if len(name) <= limit:
        return name
    cut = name[: limit - 1].rsplit(" ", 1)[0].rstrip(" -/&,;")
    return f"{cut}…"


def read_title(title: str) -> Reading:
    """The name a title gives its page, and whether it says the page is a floor plan."""
    text = clean(title).strip(" -:;,.")
    words = set(re.findall(r"[a-z]+", text.casefold()))
    floors = floors_named(text)
    sheet_words = words & _SHEET_WORDS
    name = sentence_case(text)
    if len(floors) == 1:
        name = _LEADING_PLAN.sub("", _TRAILING_PLAN.sub("", name))
        (floor,) = floors
        name = _FLOOR.sub(lambda match: floor if match.start() == 0 else floor[0].lower() + floor[1:], name)
        full = shorten(name[:1].upper() + name[1:])
        if sheet_words:
            return Reading(full, full, SHEET)
        return Reading(floor, full, FLOOR)
    if not floors and words <= _GENERIC_PLAN and words & _PLAN_NOUNS:
        return Reading(shorten(name), shorten(name), FLOOR)
    return Reading(shorten(name), shorten(name), SHEET if sheet_words else None)


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.casefold())


def _title_like(text: str) -> bool:
    letters = sum(c.isalpha() for c in text)
    printed = sum(not c.isspace() for c in text)
    if letters < 3 or letters < 0.6 * printed:  # dimensions, levels, grid bubbles, north arrows
        return False
    if len(text.split()) > 7 or len(text) > 50:  # notes
        return False
    return _NOT_TITLE.search(text) is None and SHEET_NUMBER.match(text) is None


def _has_title_word(text: str) -> bool:
    return bool(set(re.findall(r"[a-z]+", text.casefold())) & _TITLE_WORDS) or bool(floors_named(text))


def _rank(line: TextLine) -> tuple[bool, float, bool]:
    return (_has_title_word(line.text), round(line.size, 1), line.bold)


def _stacked(lines: Sequence[TextLine]) -> list[TextLine]:
    """Lines of one type set one under the other joined into one: a title block prints
    "ELECTRICAL GROUND" over "FLOOR PLAN", and either half alone is a wrong title."""
    merged: list[TextLine] = []
    for line in sorted(lines, key=lambda line: (line.y0, line.x0)):
        index = _line_above(merged, line)
        if index is None:
            merged.append(line)
            continue
        above = merged[index]
        merged[index] = TextLine(
            f"{above.text} {line.text}",
            above.size,
            min(above.x0, line.x0),
            above.y0,
            max(above.x1, line.x1),
            line.y1,
            above.bold,
        )
    return merged


def _line_above(merged: list[TextLine], line: TextLine) -> int | None:
    """The line ``line`` continues: same size and weight, just above, left-aligned or centred."""
    height = line.height
    for index in range(len(merged) - 1, -1, -1):
        above = merged[index]
        if above.y0 < line.y0 - 4 * height:
            return None  # merged is in reading order: nothing further up sits just above
        if line.y0 - above.y1 > 0.6 * height or line.y0 <= above.y0 + 0.5 * height:
            continue
        same_type = abs(above.size - line.size) <= 0.05 * line.size and above.bold == line.bold
        middle, above_middle = (line.x0 + line.x1) / 2, (above.x0 + above.x1) / 2
        if same_type and (abs(line.x0 - above.x0) <= height or abs(middle - above_middle) <= height):
            return index
    return None


def title_by_appearance(sheet: SheetText, repeated: frozenset[str] = frozenset()) -> str | None:
    """The sheet's largest title-like line, or None when there is none or several are equal."""
    if not sheet.lines:
        return None
    typical = statistics.median(line.size for line in sheet.lines)
    # Titles are never smaller than the sheet's ordinary text: the rest need no stacking.
    # Text on most pages goes first, or the project's name would stack onto a title below it.
    stacked = _stacked([line for line in sheet.lines if line.size >= typical and _key(line.text) not in repeated])
    candidates = [line for line in stacked if _title_like(line.text)]
    if not candidates:
        return None
    largest = max(line.size for line in candidates)
    top = [
        line
        for line in candidates
        if line.size >= 0.8 * largest
        # A title stands out from the sheet's ordinary text, or says it is a title.
        and (line.size >= 1.15 * typical or (line.size >= typical and _has_title_word(line.text)))
    ]
    if not top:
        return None
    best = max(top, key=_rank)
    if any(_rank(line) == _rank(best) and _key(line.text) != _key(best.text) for line in top):
        return None  # several view titles of the same weight: no one of them is the sheet's
    named = floors_named(best.text)
    if named and any(floors_named(line.text) - named for line in top if _has_title_word(line.text)):
        return None  # several floors drawn on one sheet
    return best.text


def _repeated(sheets: Sequence[SheetText]) -> frozenset[str]:
    """Lines printed on most pages of a document of three or more: the project, the firm."""
    if len(sheets) < 3:
        return frozenset()
    counts = Counter(key for sheet in sheets for key in {_key(line.text) for line in sheet.lines})
    return frozenset(key for key, count in counts.items() if count > len(sheets) / 2)


def propose(sheets: Sequence[SheetText]) -> list[Proposal]:
    """A name and a kind for every page of one document, in order."""
    repeated = _repeated(sheets)
    readings: list[Reading | None] = []
    for sheet in sheets:
        title = sheet.title or title_by_appearance(sheet, repeated)
        readings.append(read_title(title) if title else None)
    floors = [reading for reading in readings if reading is not None and reading.evidence == FLOOR]
    # "Castle first floor" and "Guesthouse first floor" are both "First floor" on their own:
    # when floors collide but their titles differ, every floor keeps its title's words.
    by_name: defaultdict[str, set[str]] = defaultdict(set)
    for floor in floors:
        by_name[floor.name].add(floor.full.casefold())
    use_full = any(len(fulls) > 1 for fulls in by_name.values())
    proposals = []
    for sheet, reading in zip(sheets, readings, strict=True):
        if reading is None:
            fallback = f"Sheet {sheet.sheet_number}" if sheet.sheet_number else f"Sheet {sheet.number}"
            # Nothing read: never propose hiding what may be the only plan of a floor.
            proposals.append(Proposal(shorten(fallback), FLOOR))
            continue
        # A title that says neither ("Sanctuary", "Fellowship hall") stays shown: hiding is
        # proposed only when the title's words say the sheet is not a floor plan, since a
        # floor proposed hidden and not noticed in the review is a floor officers lack.
        kind = reading.evidence or FLOOR
        proposals.append(Proposal(reading.full if use_full else reading.name, kind))
    return _told_apart(proposals, sheets)


def _told_apart(proposals: list[Proposal], sheets: Sequence[SheetText]) -> list[Proposal]:
    """Pages with the same name get their printed sheet numbers: "Elevations (A-201)"."""
    groups: defaultdict[str, list[int]] = defaultdict(list)
    for index, proposal in enumerate(proposals):
        groups[proposal.name.casefold()].append(index)
    result = list(proposals)
    for indexes in groups.values():
        numbers = {sheets[index].sheet_number for index in indexes}
        if len(indexes) < 2 or len(numbers - {None}) < 2:
            continue
        for index in indexes:
            number = sheets[index].sheet_number
            if number and not proposals[index].name.startswith("Sheet "):
                suffix = f" ({number})"
                name = shorten(proposals[index].name, MAX_NAME - len(suffix)) + suffix
                result[index] = Proposal(name, proposals[index].kind)
    return result


def suggested_label(page: pymupdf.Page, number: int) -> str:
    """The name proposed for one page on its own (no document to compare it with)."""
    return propose([read_sheet(page, number)])[0].name
