"""Finding a room on the plan officers see: "kitchen", "nursery", "204", "boiler", "stairs".

The labels are read when a version renders (converters.rooms) and kept as one JSON object
beside its tiles (objects.labels_key). A search reads the building's shown plan only
(Building.shown_plan: published and tiled; drafts are never searched), its shown sheets
only, and answers each match with the sheet's floor name and the grid cell the in-car plan
draws there (floorplans.grid), so "Kitchen: Ground floor, C4" is the same square on every
screen and on paper.

Matching forgives what a hurried officer types: case and accents ("creche" finds
"Crèche"), one wrong letter in a word of 4+ letters and two in one of 8+ ("kitchn",
"nursary"), a plural ("stairs" finds "Stair 2"), a word's beginning ("kitch"). Numbers are
matched exactly or as a prefix ("204" finds "204" and "204A", never "1204"). The in-car
plan's Find box (static/js/rooms.js) applies the same rules to the same JSON, offline.

Must not import blueprints.
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from threading import Lock

from converters import rooms
from floorplans import objects
from floorplans.errors import FloorplansError
from floorplans.grid import cell_name, plan_grid
from floorplans.models import Building, PlanPage, PlanVersion

MAX_QUERY_CHARS = 80
MAX_MATCHES = 50
_WORD = re.compile(r"[a-z0-9]+")
_CACHE_SIZE = 64
# A version's labels never change once written (its key names it): the last few read are
# kept, so typing in the Find box does not fetch the same object at every letter.
_cache: OrderedDict[str, list[rooms.PageLabels]] = OrderedDict()
_cache_lock = Lock()


class RoomQueryRejected(FloorplansError):
    status = 400


@dataclass(frozen=True)
class RoomMatch:
    text: str
    floor: str
    page: int  # the page's number in the PDF
    x: float  # the label's centre, page-relative 0-1
    y: float
    cell: str
    score: float

    def as_json(self) -> dict[str, object]:
        return {"text": self.text, "floor": self.floor, "page": self.page, "x": round(self.x, 5),
                "y": round(self.y, 5), "cell": self.cell}


def fold(text: str) -> str:
    """Lower case, accents and ligatures gone: "Crèche" -> "creche", "ﬁre" -> "fire"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def allowed_edits(word: str) -> int:
    """Typos forgiven in a query word: none under 4 letters, one from 4, two from 8."""
    return 2 if len(word) >= 8 else 1 if len(word) >= 4 else 0


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (a swap of two letters is one edit), or limit + 1 once
    it is certainly over ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def word_score(query: str, word: str) -> float:
    """How well one query word matches one label word: 1 exactly, less for a prefix, a
    plural or a typo, 0 not at all."""
    if query == word:
        return 1.0
    if any(c.isdigit() for c in query):
        return 0.8 if word.startswith(query) else 0.0  # room numbers: exact or prefix only
    if len(query) >= 3 and word.startswith(query):
        return 0.85
    if len(query) >= 4 and query.endswith("s") and word.startswith(query[:-1]):
        return 0.8  # "stairs" finds "Stair 2" and "Staircase"
    limit = allowed_edits(query)
    if limit and not any(c.isdigit() for c in word):
        distance = edit_distance(query, word, limit)
        if distance <= limit:
            return 0.75 - 0.1 * (distance - 1)
        # A typo in what is being typed: "kitche" against "kitchen"'s start.
        if len(word) > len(query) and edit_distance(query, word[: len(query)], limit) <= limit:
            return 0.6
    return 0.0


def label_score(query: list[str], text: str) -> float:
    """Every query word must match a word of the label; 0 when one does not."""
    label = words(text)
    if not label or not query:
        return 0.0
    total = 0.0
    for word in query:
        best = max(word_score(word, candidate) for candidate in label)
        if best == 0.0:
            return 0.0
        total += best
    score = total / len(query)
    # A label that is just the words asked for ranks above one that also says more.
    return score + 0.1 * len(query) / len(label)


def parse_query(q: str | None) -> list[str]:
    text = (q or "").strip()
    if not text:
        raise RoomQueryRejected("Say what to find: a room's name or number, e.g. ?q=kitchen or ?q=204.")
    if len(text) > MAX_QUERY_CHARS:
        raise RoomQueryRejected(f"A room's name or number is at most {MAX_QUERY_CHARS} characters; shorten the search.")
    found = words(text)
    if not found:
        raise RoomQueryRejected("Type letters or digits of a room's name or number, e.g. kitchen or 204.")
    return found


def version_labels(version: PlanVersion) -> list[rooms.PageLabels]:
    """The version's labels (none when it was rendered before labels were read and the
    plans find-rooms command has not added them yet)."""
    with _cache_lock:
        if version.key in _cache:
            _cache.move_to_end(version.key)
            return _cache[version.key]
    try:
        data = objects.get_storage().get(objects.labels_key(version.key))
    except FileNotFoundError:
        return []
    try:
        pages = rooms.pages_of(json.loads(data))
    except (ValueError, KeyError, TypeError):
        pages = []  # a damaged object: no labels rather than an error page in the car
    with _cache_lock:
        _cache[version.key] = pages
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return pages


def forget(version_key: str) -> None:
    with _cache_lock:
        _cache.pop(version_key, None)


def _match(page: PlanPage, label: rooms.Label, score: float) -> RoomMatch:
    x, y = label.centre
    cell = cell_name(plan_grid(page.width, page.height), x * page.width, y * page.height) \
        if page.width and page.height else ""
    return RoomMatch(label.text, page.label, page.number, x, y, cell, score)


def viewer_labels(version: PlanVersion) -> dict[int, list[list[object]]]:
    """Each page's labels as the in-car Find box reads them (static/js/rooms.js), compact:
    [text, x0, y0, x1, y1] (page-relative, 4 decimals: a tenth of a millimetre on an A0
    sheet), with a sixth item 1 for title-block boilerplate."""
    found: dict[int, list[list[object]]] = {}
    for page in version_labels(version):
        found[page.number] = [
            [label.text, *(round(value, 4) for value in label.box), *([1] if label.repeated else [])]
            for label in page.labels
        ]
    return found


def search_version(version: PlanVersion, q: str | None, *, limit: int = MAX_MATCHES) -> list[RoomMatch]:
    """Labels of the version's shown sheets matching ``q``, best first (then in the
    partner's floor order, top to bottom)."""
    query = parse_query(q)
    pages = {page.number: page for page in version.shown_pages}
    found: list[tuple[float, int, float, float, RoomMatch]] = []
    for labels in version_labels(version):
        page = pages.get(labels.number)
        if page is None:
            continue  # a hidden sheet (cover, elevations): officers never see it
        for label in labels.labels:
            score = label_score(query, label.text)
            if score <= 0:
                continue
            if label.repeated:
                score *= 0.5  # title-block boilerplate printed on every sheet
            match = _match(page, label, score)
            found.append((-score, page.position, match.y, match.x, match))
    found.sort(key=lambda entry: entry[:4])
    return [entry[4] for entry in found[:limit]]


def search(building: Building, q: str | None, *, limit: int = MAX_MATCHES) -> list[RoomMatch]:
    """Matches on the plan officers see of ``building`` (none without a shown plan). The
    caller has checked that the reader may read the building."""
    version = building.shown_plan
    if version is None:
        parse_query(q)  # a bad query is still said to be bad
        return []
    return search_version(version, q, limit=limit)


# What the card names when the plan does: where the children are, the boiler or mechanical
# room (gas, fire's fuel, the shut-offs), the kitchen (gas, fire's start). Words compared
# folded (no accents, lower case), whole words; phrases as consecutive words.
CARD_PLACES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("children", ("nursery", "nurseries", "children", "childrens", "child", "kids", "creche", "garderie",
                  "sunday school", "daycare", "day care", "toddler", "toddlers", "preschool", "cry room",
                  "enfants", "pouponniere")),
    ("mechanical", ("boiler", "boilers", "mechanical", "mech", "furnace", "electrical", "elec", "plant room",
                    "chaufferie", "chaudiere", "mecanique", "electrique", "utility room")),
    ("kitchen", ("kitchen", "kitchenette", "cuisine")),
)
CARD_PLACES_EACH = 3  # lines per kind at most: the card is one screen


@dataclass(frozen=True)
class CardPlace:
    kind: str  # children, mechanical or kitchen
    text: str  # the label as the plan prints it
    floor: str
    cell: str


def _names(label: list[str], phrase: str) -> bool:
    wanted = phrase.split()
    return any(label[i:i + len(wanted)] == wanted for i in range(len(label) - len(wanted) + 1))


def card_places(building: Building) -> list[CardPlace]:
    """The children's areas, boiler or mechanical rooms and kitchens the shown plan names,
    in that order (then in the partner's floor order, top to bottom), each once."""
    version = building.shown_plan
    if version is None:
        return []
    pages = {page.number: page for page in version.shown_pages}
    found: list[CardPlace] = []
    for kind, phrases in CARD_PLACES:
        places: list[tuple[int, float, float, CardPlace]] = []
        seen: set[tuple[str, str, str]] = set()
        for labels in version_labels(version):
            page = pages.get(labels.number)
            if page is None:
                continue
            for label in labels.labels:
                if label.repeated or not any(_names(words(label.text), phrase) for phrase in phrases):
                    continue
                match = _match(page, label, 1.0)
                if (key := (match.text.casefold(), match.floor, match.cell)) in seen:
                    continue  # the same label printed twice in one cell (a room and its door tag)
                seen.add(key)
                places.append((page.position, match.y, match.x, CardPlace(kind, match.text, match.floor, match.cell)))
        places.sort(key=lambda entry: entry[:3])
        found.extend(entry[3] for entry in places[:CARD_PLACES_EACH])
    return found


@dataclass
class FindRoomsReport:
    versions: int = 0  # versions given labels
    labels: int = 0
    pages_without: int = 0  # pages whose labels could not be read (OCR missing or failed)
    skipped: int = 0  # versions that had labels already


def versions_without_labels(*, every_version: bool) -> list[PlanVersion]:
    """The versions to give labels: those officers see (one per building), or with
    ``every_version`` every rendered version whose tiles are kept (drafts and earlier ones)."""
    from sqlalchemy import select

    from floorplans.db import db
    from floorplans.models import VersionState

    if every_version:
        query = select(PlanVersion).where(PlanVersion.state == VersionState.READY.value,
                                          PlanVersion.tiles_deleted_at.is_(None)).order_by(PlanVersion.id)
        return list(db.session.scalars(query))
    buildings = db.session.scalars(select(Building).where(Building.published_version_id.is_not(None))
                                   .order_by(Building.id))
    return [version for building in buildings if (version := building.shown_plan) is not None]


def find_rooms(
    versions: list[PlanVersion], *, on_version: Callable[[PlanVersion, int, int], None] | None = None,
) -> FindRoomsReport:
    """Give each version without labels its labels, read from its kept original PDF in a
    child process with the render's limits (converters.isolation.read_labels_isolated);
    the tiles are left as they are. Writes storage only (no database change).
    ``on_version(version, done, total)`` after each version."""
    import tempfile
    from pathlib import Path

    from converters.isolation import read_labels_isolated
    from floorplans.services.plans import work_folder
    from floorplans.services.rendering import put_labels, render_limits

    store = objects.get_storage()
    report = FindRoomsReport()
    for done, version in enumerate(versions, start=1):
        if store.exists(objects.labels_key(version.key)):
            report.skipped += 1
        else:
            with tempfile.TemporaryDirectory(prefix=f"rooms-{version.key}-", dir=work_folder()) as folder:
                pdf = Path(folder) / "original.pdf"
                pdf.write_bytes(store.get(objects.original_key(version.original_sha256)))
                numbers = sorted(page.number for page in version.pages)
                pages = read_labels_isolated(pdf, numbers, limits=render_limits())
            put_labels(store, version.key, pages)
            forget(version.key)
            report.versions += 1
            report.labels += sum(len(page.labels) for page in pages)
            report.pages_without += sum(1 for page in pages if page.source in ("failed", "ocr-failed", "ocr-missing"))
        if on_version is not None:
            on_version(version, done, len(versions))
    return report
