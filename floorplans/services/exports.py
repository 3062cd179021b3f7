"""Exports of a building for planners, partners and officers: the printed packet (PDF),
the markers as GeoJSON and one page of the plan as PNG.

An export leaves the service as a file nobody can recall, so every download is written to
the access log, the building's own partners' included (``always=True``), and so to the
audit log (as ``access.export.*``, by the access log's mirror).  Plan images come from our
own rendered tiles (converters.stitch), never from the partner's original PDF, so nothing
untrusted is parsed in the web process.

Markers and exercise items are read with direct queries on their models, so this module
does not depend on the services that edit them.  Must not import blueprints.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from converters import packet as drawing
from converters import plan_drawing, stitch
from converters.pyramid import grid_size, level_size
from floorplans import marker_kinds, objects
from floorplans.bounds import neutralise_bidi as plain
from floorplans.config import get_settings
from floorplans.db import db
from floorplans.errors import InvalidInput, NotFound
from floorplans.grid import cell_name, column_label, plan_grid
from floorplans.local_times import local_time
from floorplans.models import Building, PlanPage, PlanVersion, Role, User
from floorplans.models.planning import Exercise, ExerciseItem, Marker, exercise_buildings
from floorplans.permissions import Permission, has_permission
from floorplans.services import access, buildings, photos, plan_tiles
from floorplans.services.briefing import brief, hours_text
from storage import Storage

PAPERS = tuple(drawing.PAPERS)  # letter, tabloid, a4, a3
PNG_WIDTHS = (1000, 2000, 4000)
PACKET_THREADS = 2
SENSITIVITY = "Sensitive: security plan of a place of worship. Do not share."


@dataclass(frozen=True)
class Download:
    data: bytes
    filename: str  # safe: ASCII letters, digits, dashes and one extension
    mimetype: str


def safe_filename(*parts: str, extension: str) -> str:
    """"Masjid Al-Nûr", "plan" -> "masjid-al-nur-plan.pdf": never a path, never a quote."""
    text = unicodedata.normalize("NFKD", "-".join(parts)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80].strip("-")
    return f"{slug or 'building'}.{extension}"


def _record(user: User, building: Building, action: str, *, channel: str, ip_address: str,
            detail: dict[str, Any]) -> None:
    """One access-log event; the audit log gets its copy as ``access.<action>`` from the
    access log's own mirror (services.audit), so it is not recorded twice here."""
    text = ", ".join(f"{key} {value}" for key, value in detail.items() if value not in (None, ""))
    access.record_access(user, building, action, channel=channel, ip_address=ip_address, detail=text, always=True)


def printable_version(building: Building) -> PlanVersion | None:
    """The plan officers see, if its tiles are there to export (``Building.shown_plan``)."""
    return building.shown_plan


def _version(user: User, building: Building, version_id: int | None) -> PlanVersion:
    if version_id is None:
        version = printable_version(building)
        if version is None:
            raise NotFound("This building has no plan to export yet.")
        return version
    version = db.session.get(PlanVersion, version_id)
    if version is None or version.building_id != building.id or not plan_tiles.may_read_version(user, version):
        raise NotFound("This building has no such plan version ready.")
    return version


def _shown(version: PlanVersion | None) -> list[PlanPage]:
    """The rendered pages officers see, in the partner's order (hidden sheets left out)."""
    return [page for page in version.shown_pages if _rendered(page)] if version is not None else []


def _rendered(page: PlanPage) -> bool:
    return bool(page.width and page.height and page.tile_size and page.max_zoom is not None)


def _size(page: PlanPage) -> tuple[int, int]:
    """Full-zoom pixels of a rendered page (``_rendered``)."""
    return page.width or 1, page.height or 1


def _markers_of(pages: list[PlanPage]) -> dict[int, list[Marker]]:
    found: dict[int, list[Marker]] = {page.id: [] for page in pages}
    if pages:
        query = select(Marker).where(Marker.page_id.in_(list(found))).order_by(Marker.id)
        for marker in db.session.scalars(query):
            found[marker.page_id].append(marker)
    return found


def marker_text(marker: Marker) -> str:
    """What is printed beside the icon: "Door 1 (side A) Main entrance", "AED by the office"."""
    number = marker_kinds.door_label(marker.number, marker.side) if marker.kind == "door" else ""
    label = marker.label
    if not label and marker.kind == "note":  # a note says what it is in its text
        label = marker.note if len(marker.note) <= 60 else marker.note[:59].rstrip() + "…"
    return " ".join(part for part in (number, label) if part)


# ---------------------------------------------------------------------------------------
# Exercise layer


def exercise_for(user: User, building: Building, exercise_id: int) -> Exercise:
    """An exercise whose layer ``user`` may print over ``building``: planners of that
    exercise and administrators, and only if the exercise covers the building."""
    exercise = db.session.get(Exercise, exercise_id)
    allowed = exercise is not None and has_permission(user, Permission.RUN_EXERCISES) and (
        Role(user.role) is Role.ADMIN or any(planner.id == user.id for planner in exercise.planners)
    )
    if not allowed or exercise is None or not any(b.id == building.id for b in exercise.buildings):
        raise NotFound("There is no such exercise for this building, or you are not one of its planners.")
    return exercise


def exercises_for(user: User, building: Building) -> list[Exercise]:
    """Exercises over ``building`` that ``user`` may print (for the export form)."""
    if not has_permission(user, Permission.RUN_EXERCISES):
        return []
    found = db.session.scalars(
        select(Exercise)
        .join(exercise_buildings, exercise_buildings.c.exercise_id == Exercise.id)
        .where(exercise_buildings.c.building_id == building.id)
        .order_by(Exercise.created_at.desc(), Exercise.id.desc())
    ).all()
    return [e for e in found if Role(user.role) is Role.ADMIN or any(p.id == user.id for p in e.planners)]


def _sketches_of(exercise: Exercise, building: Building, pages: list[PlanPage]) -> dict[int, list[drawing.Sketch]]:
    found: dict[int, list[drawing.Sketch]] = {page.id: [] for page in pages}
    query = select(ExerciseItem).where(
        ExerciseItem.exercise_id == exercise.id, ExerciseItem.building_id == building.id,
        ExerciseItem.page_id.in_(list(found)),
    ).order_by(ExerciseItem.id)
    for item in db.session.scalars(query):
        points = [(float(p[0]), float(p[1])) for p in item.points or [] if isinstance(p, list | tuple) and len(p) >= 2]
        found[item.page_id].append(drawing.Sketch(shape=item.shape, points=points, colour=item.colour or "#dc2626",
                                                  text=item.label or "", kind=item.kind or ""))
    return found


# ---------------------------------------------------------------------------------------
# The packet


def _kinds() -> dict[str, drawing.KindStyle]:
    return {kind.key: drawing.KindStyle(kind.label, marker_kinds.icon_svg(kind.key)) for kind in marker_kinds.KINDS}


@dataclass(frozen=True)
class _Pyramid:
    """A rendered page's tiles, as plain values a worker thread can use without the session."""

    version_key: str
    number: int
    width: int
    height: int
    max_zoom: int
    tile_format: str
    background: str
    line_art: bool


def _pyramid(version: PlanVersion, page: PlanPage) -> _Pyramid:
    width, height = _size(page)
    return _Pyramid(version.key, page.number, width, height, page.max_zoom or 0, page.tile_format,
                    page.background or "#ffffff", page.kind != "scan")


def _stitched(store: Storage, pyramid: _Pyramid, zoom: int, size: tuple[int, int] | None,
              readers: int | None = None) -> Any:
    """Level ``zoom`` of the page from its tiles, read concurrently (``readers`` threads):
    from S3 one at a time, a 25-sheet packet waited on thousands of round trips."""
    def key(column: int, row: int) -> str:
        return objects.tile_key(pyramid.version_key, pyramid.number, zoom, column, row, pyramid.tile_format)

    columns, rows = grid_size(*level_size(pyramid.width, pyramid.height, zoom, pyramid.max_zoom))
    tiles = store.get_many((key(c, r) for r in range(rows) for c in range(columns)), workers=readers)
    return stitch.stitch(lambda column, row: tiles.get(key(column, row)), pyramid.width, pyramid.height, zoom,
                         pyramid.max_zoom, pyramid.background, size)


def _print_image(store: Storage, pyramid: _Pyramid, long_side: int) -> bytes | stitch.Raster:
    """The page's image for paper: about ``long_side`` pixels along its longer side."""
    zoom, size = stitch.print_plan(pyramid.width, pyramid.height, pyramid.max_zoom, long_side)
    readers = max(1, store.max_workers // PACKET_THREADS)  # the packet's threads share the storage's pool
    return stitch.for_pdf(_stitched(store, pyramid, zoom, size, readers), line_art=pyramid.line_art)


def _floor(page: PlanPage, marks: list[Marker], sketches: list[drawing.Sketch],
           image: bytes | stitch.Raster = b"") -> drawing.Floor:
    """What the packet draws for a page: its image, grid (floorplans.grid), markers, sketches."""
    width, height = _size(page)
    grid = plan_grid(width, height)
    return drawing.Floor(
        label=page.label,
        image=image,
        width=width,
        height=height,
        grid_columns=[column_label(i) for i in range(grid.columns)],
        grid_rows=grid.rows,
        grid_cell=grid.cell,
        north_degrees=page.north_degrees,
        marks=[drawing.Mark(kind=m.kind, x=m.x, y=m.y, text=marker_text(m), confirmed=not m.needs_confirmation)
               for m in marks],
        sketches=sketches,
    )


def _card(building: Building, now: dt.datetime) -> drawing.Card:
    settings = get_settings()
    summary = brief(building, now=now, timezone=settings.timezone, stale_after_days=settings.stale_after_days)
    gatherings = [f"When printed: NOW {text}" for text in summary.happening_text]
    if summary.upcoming is not None:
        gatherings.append(f"Next: {summary.upcoming_text}")
    gatherings += schedule_lines(building, now.astimezone(settings.zone).date())
    contacts = []
    for contact in building.contacts:  # the partner's calling order: a printed copy has no "now"
        details = [contact.role, "KEYS" if contact.key_holder else "", contact.languages,
                   f"alt. {contact.phone_alt}" if contact.phone_alt else ""]
        contacts.append(drawing.CardContact(name=plain(contact.name), phone=plain(contact.phone),
                                            hours=hours_text(contact),
                                            details=plain(" · ".join(d for d in details if d))))
    warning = ""
    if summary.stale:
        warning = ("May be out of date: last confirmed by the congregation "
                   f"{summary.verified_days_ago} days before printing." if summary.verified_days_ago is not None
                   else "May be out of date: never confirmed by the congregation.")
    facts = [
        ("Capacity", str(building.capacity) if building.capacity else ""),
        ("Entrances", building.entrances), ("Key box", building.key_box), ("Hazards", building.hazards),
        ("Gas shut-off", building.shutoff_gas), ("Electric shut-off", building.shutoff_electric),
        ("Water shut-off", building.shutoff_water), ("Alarm panel", building.alarm_panel),
        ("Alarm company", building.alarm_company), ("Notes", building.notes),
    ]
    # Bidirectional controls in the partner's text are dropped on paper as on the pages (floorplans.bounds).
    return drawing.Card(building_name=plain(building.name), address=plain(building.address),
                        facts=[(label, plain(text)) for label, text in facts], contacts=contacts,
                        gatherings=[plain(line) for line in gatherings], warning=warning)


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def schedule_lines(building: Building, today: dt.date) -> list[str]:
    """The gathering schedule for paper, which outlives "now": weekly ones by day and time,
    then dated ones from ``today`` on."""
    weekly = sorted((g for g in building.gatherings if g.weekday is not None),
                    key=lambda g: (g.weekday, g.start_time))
    dated = sorted((g for g in building.gatherings if g.weekday is None and g.on_date and g.on_date >= today),
                   key=lambda g: (g.on_date, g.start_time))
    lines = []
    for gathering in [*weekly, *dated]:
        when = _DAYS[gathering.weekday] if gathering.weekday is not None else f"{gathering.on_date:%Y-%m-%d}"
        parts = [f"{when} {gathering.start_time:%H:%M}–{gathering.end_time:%H:%M} {gathering.label}"]
        if gathering.expected_attendance:
            parts.append(f"~{gathering.expected_attendance} expected")
        if gathering.children_areas_in_use:
            parts.append("children's area in use")
        lines.append(", ".join(parts))
    return lines


def _paper(paper: str) -> drawing.Paper:
    found = drawing.PAPERS.get((paper or "letter").lower())
    if found is None:
        raise InvalidInput({"paper": f"must be one of {', '.join(PAPERS)}."})
    return found


def build_packet(user: User, building: Building, *, paper: str = "letter", exercise: Exercise | None = None,
                 now: dt.datetime | None = None) -> bytes:
    """The packet PDF of ``building``'s published plan (just the card when it has none)."""
    sheet = _paper(paper)
    now = now or dt.datetime.now(dt.UTC)
    version = printable_version(building)
    pages = _shown(version)
    marks = _markers_of(pages)
    sketches = _sketches_of(exercise, building, pages) if exercise is not None else {}
    long_side = drawing.plan_pixels(sheet)
    store = objects.get_storage()
    pyramids = [_pyramid(version, page) for page in pages] if version is not None else []
    # Stitching and encoding are Pillow and zlib, which let go of the GIL: two pages at once.
    with ThreadPoolExecutor(max_workers=PACKET_THREADS) as pool:
        images = list(pool.map(lambda pyramid: _print_image(store, pyramid, long_side), pyramids))
    floors = [_floor(page, marks[page.id], sketches.get(page.id, []), image)
              for page, image in zip(pages, images, strict=True)]
    floor_photos = [_mark_photos(store, page, marks[page.id]) for page in pages]
    zone = get_settings().zone
    verified = building.last_verified_at
    return drawing.build_packet(drawing.Packet(
        paper=sheet,
        card=_card(building, now),
        floors=floors,
        kinds=_kinds(),
        printed=f"Printed {now.astimezone(zone):%Y-%m-%d %H:%M %Z} by {user.name or user.email}",
        verified=f"Record last verified {local_time(verified, '%Y-%m-%d')}" if verified else "Record never verified",
        plan_version=version.number if version else None,
        sensitivity=SENSITIVITY,
        exercise=exercise.name if exercise is not None else "",
        photos=floor_photos,
    ))


def _mark_photos(store: Storage, page: PlanPage, marks: list[Marker]) -> list[drawing.MarkPhoto]:
    """The photos of a printed floor's markers (their small size), each with the marker's
    name and grid square, for the legend (converters.packet)."""
    width, height = _size(page)
    grid = plan_grid(width, height)
    found = []
    shown = photos.photos_for_markers(marks)
    for marker in marks:
        photo = shown.get(marker.id)
        if photo is None:
            continue
        try:
            data = store.get(objects.photo_key(photo.building_id, photo.token, photos.SMALL))
        except FileNotFoundError:
            continue  # the packet still prints; the marker's legend entry stays
        found.append(drawing.MarkPhoto(kind=marker.kind, text=marker_text(marker) or marker.kind,
                                       cell=cell_name(grid, marker.x * width, marker.y * height), image=data))
    return found


def packet_download(user: User, building_id: int, *, paper: str = "letter", exercise_id: int | None = None,
                    channel: str = "web", ip_address: str = "") -> Download:
    building = buildings.get_readable(user, building_id)
    exercise = exercise_for(user, building, exercise_id) if exercise_id is not None else None
    data = build_packet(user, building, paper=paper, exercise=exercise)
    version = printable_version(building)
    _record(user, building, "export.packet", channel=channel, ip_address=ip_address, detail={
        "paper": _paper(paper).key, "version": version.number if version else None,
        "exercise": exercise.id if exercise is not None else None,
    })  # fmt: skip
    name = [building.name, "packet", _paper(paper).key] + (["exercise"] if exercise is not None else [])
    return Download(data, safe_filename(*name, extension="pdf"), "application/pdf")


# ---------------------------------------------------------------------------------------
# GeoJSON


def markers_geojson(building: Building, version: PlanVersion | None) -> dict[str, Any]:
    """One Feature per marker, its Point in the page's full-zoom pixels (y down); no
    features for a building without a plan."""
    pages = _shown(version)
    by_page = _markers_of(pages)
    features = []
    for page in pages:
        width, height = _size(page)
        for marker in by_page[page.id]:
            features.append({
                "type": "Feature",
                "id": marker.id,
                "geometry": {"type": "Point", "coordinates": [marker.x * width, marker.y * height]},
                "properties": {
                    "kind": marker.kind, "kind_label": marker_kinds.BY_KEY[marker.kind].label
                    if marker.kind in marker_kinds.BY_KEY else marker.kind,
                    "label": marker.label, "number": marker.number, "side": marker.side or None,
                    "note": marker.note, "needs_confirmation": marker.needs_confirmation,
                    "page": page.number, "page_label": page.label,
                    "page_width": width, "page_height": height,
                },
            })
    return {
        "type": "FeatureCollection",
        "coordinates": "page pixels at full zoom: x from the page's left edge, y down from its top edge; "
                       "not WGS84 longitude/latitude",
        "building": {"id": building.id, "name": building.name, "address": building.address},
        "plan_version": version.number if version is not None else None,
        "features": features,
    }


def geojson_download(user: User, building_id: int, *, version_id: int | None = None, channel: str = "web",
                     ip_address: str = "") -> tuple[dict[str, Any], str]:
    building = buildings.get_readable(user, building_id)
    version = _version(user, building, version_id) if version_id is not None else printable_version(building)
    body = markers_geojson(building, version)
    _record(user, building, "export.geojson", channel=channel, ip_address=ip_address,
            detail={"version": body["plan_version"], "markers": len(body["features"])})
    suffix = [f"v{version.number}"] if version is not None else []
    return body, safe_filename(building.name, "markers", *suffix, extension="geojson")


# ---------------------------------------------------------------------------------------
# One page as PNG


def page_png(user: User, building_id: int, page_number: int, *, width: int = 2000, grid: bool = True,
             with_markers: bool = True, channel: str = "web", ip_address: str = "") -> Download:
    """Page ``page_number`` (its number in the PDF, as in tile URLs) of the published plan,
    ``width`` pixels wide (at most its full-zoom width and the export pixel budget)."""
    building = buildings.get_readable(user, building_id)
    version = _version(user, building, None)
    page = next((p for p in _shown(version) if p.number == page_number), None)
    if page is None:
        raise NotFound("This plan has no such page.")
    if width < 16:
        raise InvalidInput({"width": "must be at least 16 pixels."})
    page_width, page_height = _size(page)
    width = min(width, page_width, int((stitch.MAX_PIXELS * page_width / page_height) ** 0.5))
    height = max(1, round(page_height * width / page_width))
    pyramid = _pyramid(version, page)
    zoom = stitch.zoom_for(pyramid.width, pyramid.height, pyramid.max_zoom, max(width, height), max_pixels=None)
    image = _stitched(objects.get_storage(), pyramid, zoom, (width, height))
    if grid or with_markers:
        floor = _floor(page, _markers_of([page])[page.id], [])
        data = plan_drawing.annotate_plan(stitch.encode(image, line_art=True), width, height, floor, _kinds(),
                                     grid=grid, marks=with_markers)
    else:
        data = stitch.encode(image, line_art=True)
    _record(user, building, "export.png", channel=channel, ip_address=ip_address, detail={
        "version": version.number, "page": page.number, "width": width, "grid": grid, "markers": with_markers,
    })  # fmt: skip
    return Download(data, safe_filename(building.name, page.label, f"{width}px", extension="png"), "image/png")

