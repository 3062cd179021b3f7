"""A building's real markers (doors, AEDs, shut-offs...) on the pages of its plan versions:
list, place, move, edit, delete and confirm them (carrying them onto a new version is
``services.carried_markers``).

Who: everyone who may read the building reads its markers; only those for whom
``permissions.can_edit`` holds (the building's own partners, administrators) change them.
Someone else's building is "not found"; a reader without edit rights is "forbidden".
Where: markers are placed on any *ready* version, so a partner can prepare the markers of a
new upload before publishing it; officers see those of the published version.
Positions are page-relative (0..1 from the page's left and top edges).  Every change is
written to the audit log (``marker.place``, ``marker.move``, ``marker.update``,
``marker.delete``, ``marker.confirm``, ``marker.carry``).

Must not import blueprints, storage or converters (nor ``services.plans``).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from floorplans.db import db
from floorplans.errors import Conflict, Forbidden, InvalidInput, NotFound
from floorplans.fields import Field, RecordFields
from floorplans.marker_kinds import BY_KEY, DOOR_SIDES, KINDS, MarkerKind
from floorplans.models import Building, Marker, PlanPage, PlanVersion, User, VersionState
from floorplans.permissions import can_edit, can_read, can_see_version
from floorplans.services import audit

MARKER_FIELDS = RecordFields((
    Field("kind", "Kind of marker", "choice", required=True, max_length=40, choices=tuple(BY_KEY),
          help="One of the keys of the marker catalogue (door, aed, gas_shutoff, rally_point...)."),
    Field("number", "Door number", "int", minimum=1, maximum=99,
          help="Exterior doors only: 1 is the main entrance, then clockwise around the building."),
    Field("side", "Side of the building", "choice", max_length=1, choices=DOOR_SIDES,
          help="Exterior doors only: A is the address side, then B, C, D clockwise."),
    Field("label", "Label", max_length=80, help="Short text shown beside the icon, e.g. Main entrance."),
    Field("note", "Note", "textarea", max_length=2000, help="Anything responders should know about it."),
))
POSITION = ("x", "y")
#: A drag released just past the page's edge lands on the edge; further out is a mistake
#: (pixels sent instead of fractions of the page), refused with a message.
EDGE_TOLERANCE = 0.05
#: What the audit log keeps of a marker.
AUDITED = ("kind", "number", "side", "label", "note", "x", "y")


# --- reading ---------------------------------------------------------------------------

def markers_of(version: PlanVersion) -> list[Marker]:
    """Every marker on the version's pages, in the floor switcher's order, oldest first."""
    return list(db.session.scalars(
        select(Marker).join(PlanPage, PlanPage.id == Marker.page_id)
        .where(PlanPage.version_id == version.id)
        .order_by(PlanPage.position, PlanPage.number, Marker.id)
    ))


def markers_by_page(version: PlanVersion) -> dict[int, list[Marker]]:
    """Page id -> its markers (one query for the whole version)."""
    by_page: dict[int, list[Marker]] = {page.id: [] for page in version.pages}
    for marker in markers_of(version):
        by_page.setdefault(marker.page_id, []).append(marker)
    return by_page


def building_of(marker: Marker) -> Building:
    building = db.session.get(Building, marker.building_id)
    assert building is not None  # the foreign key cascades
    return building


def get_marker(user: User, marker_id: int, *, edit: bool = False) -> Marker:
    """A marker ``user`` may read (``edit``: and change).  Someone else's is "not found"."""
    marker = db.session.get(Marker, marker_id)
    if marker is None or not can_read(user, building_of(marker)) or not can_see_marker(user, marker):
        raise NotFound("There is no such marker, or it is not yours to see.")
    if edit:
        require_edit(user, building_of(marker))
    return marker


def can_see_marker(user: User, marker: Marker) -> bool:
    """Officers and planners see the markers of shown sheets of published plans; the
    congregation and administrators every marker of every version."""
    return can_edit(user, building_of(marker)) or (
        can_see_version(user, marker.page.version) and not marker.page.hidden
    )


def visible_markers(user: User, version: PlanVersion) -> list[Marker]:
    """``markers_of`` as ``user`` may see them (hidden sheets' markers left out for readers)."""
    return [marker for marker in markers_of(version) if can_edit(user, version.building) or not marker.page.hidden]


def marker_of(version: PlanVersion, marker_id: int) -> Marker:
    """A marker of this version (the portal's routes name the version in the address)."""
    marker = db.session.get(Marker, marker_id)
    if marker is None or marker.page.version_id != version.id:
        raise NotFound("This plan version has no such marker.")
    return marker


def require_edit(user: User, building: Building) -> None:
    if not can_read(user, building):
        raise NotFound("There is no such building, or it is not yours to see.")
    if not can_edit(user, building):
        raise Forbidden("Markers are kept by the building's own congregation: you can see them but not change them.")


def flagged_count(version: PlanVersion) -> int:
    return db.session.scalar(
        select(func.count(Marker.id)).join(PlanPage, PlanPage.id == Marker.page_id)
        .where(PlanPage.version_id == version.id, Marker.needs_confirmation.is_(True))
    ) or 0


def flagged_markers(version: PlanVersion) -> list[Marker]:
    """The carried-over markers of the version its partner has not checked yet."""
    return [marker for marker in markers_of(version) if marker.needs_confirmation]


def carried_from_numbers(version: PlanVersion) -> list[int]:
    """The numbers of the versions this version's flagged markers were carried over from."""
    source = aliased(Marker)
    source_page = aliased(PlanPage)
    return sorted(db.session.scalars(
        select(PlanVersion.number).distinct()
        .join(source_page, source_page.version_id == PlanVersion.id)
        .join(source, source.page_id == source_page.id)
        .join(Marker, Marker.carried_from_id == source.id)
        .join(PlanPage, PlanPage.id == Marker.page_id)
        .where(PlanPage.version_id == version.id, Marker.needs_confirmation.is_(True))
    ))


def page_by_number(version: PlanVersion, raw: Any) -> PlanPage:
    """The version's page named by its number in the PDF (1-based), as the API takes it."""
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).strip().isdigit():
        raise InvalidInput({"page": "must be the page's number in the PDF (1, 2, 3...): see the plan's pages."})
    for page in version.pages:
        if page.number == int(str(raw).strip()):
            return page
    raise InvalidInput({"page": f"this plan has no page {int(str(raw).strip())} (it has {version.page_count})."})


# --- changing --------------------------------------------------------------------------

def _coordinate(raw: Any) -> float:
    if isinstance(raw, bool) or raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ValueError("is required: a fraction of the page (0 at one edge, 1 at the other).")
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise ValueError("must be a number between 0 and 1 (a fraction of the page).") from None
    if not math.isfinite(value) or value < -EDGE_TOLERANCE or value > 1 + EDGE_TOLERANCE:
        raise ValueError("must be between 0 and 1: a fraction of the page's width (x) or height (y), not pixels.")
    return min(1.0, max(0.0, value))


def _clean(raw: Mapping[str, Any], *, partial: bool, marker: Marker | None = None) -> dict[str, Any]:
    """Validate a marker's values (``partial``: only those given), every problem at once.
    Unknown names are refused.  Numbers and sides are for exterior doors: giving them to
    something else is a mistake worth saying; turning a door into something else drops them."""
    given = dict(raw)
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name in POSITION:
        if name not in given:
            if not partial:
                errors[name] = "is required: a fraction of the page (0 at one edge, 1 at the other)."
            continue
        try:
            values[name] = _coordinate(given.pop(name))
        except ValueError as problem:
            errors[name] = str(problem)
    if isinstance(given.get("side"), str):
        given["side"] = given["side"].strip().upper()
    if isinstance(given.get("kind"), str):
        given["kind"] = given["kind"].strip().lower()
    try:
        values.update(MARKER_FIELDS.clean(given, partial=partial))
    except InvalidInput as invalid:
        errors.update(invalid.fields)
    named = given.get("kind") if isinstance(given.get("kind"), str) else None
    kind = BY_KEY.get(values.get("kind") or named or (marker.kind if marker is not None else ""))
    if kind is not None and not kind.numbered:
        for name in ("number", "side"):
            if given.get(name) not in (None, "") and name not in errors:
                errors[name] = f"is for exterior doors only, not for “{kind.label}”."
        values["number"], values["side"] = None, ""
    if errors:
        raise InvalidInput(errors)
    return values


def _check_ready(version: PlanVersion) -> None:
    if version.state != VersionState.READY:
        raise Conflict("Markers go on a plan once it is ready: wait until its pages are prepared.")
    if version.tiles_deleted_at is not None:
        raise Conflict("This old version was cleaned up: place markers on a current version.")


def _refuse_second_door(version: PlanVersion, kind: str | None, number: int | None, but: Marker | None = None) -> None:
    """Exterior doors are numbered once around the building: "Door 2" on the radio must be
    one door, whatever floor it is drawn on."""
    if kind != "door" or number is None:
        return
    query = (
        select(Marker).join(PlanPage, PlanPage.id == Marker.page_id)
        .where(PlanPage.version_id == version.id, Marker.kind == "door", Marker.number == number)
    )
    if but is not None:
        query = query.where(Marker.id != but.id)
    other = db.session.scalars(query.limit(1)).first()
    if other is not None:
        where = f"on {other.page.label}" + (f" (“{other.label}”)" if other.label else "")
        raise InvalidInput({"number": (
            f"Door {number} is already {where}. Each exterior door has its own number "
            "(1 is the main entrance, then clockwise): choose another number, or move that door instead."
        )})


def _where(marker: Marker) -> dict[str, Any]:
    return {"version": marker.page.version.number, "page": marker.page.label}


def place(page: PlanPage, raw: Mapping[str, Any], *, by: User, before_rendering: bool = False) -> Marker:
    """Put a new marker on ``page`` of a ready version (``before_rendering``: of any version,
    for the demo, which knows where its drawing's doors are before the worker renders it)."""
    version = page.version
    building = version.building
    require_edit(by, building)
    if not before_rendering:
        _check_ready(version)
    values = _clean(raw, partial=False)
    _refuse_second_door(version, values.get("kind"), values.get("number"))
    marker = Marker(building_id=building.id, page=page, created_by=by, needs_confirmation=False, **values)
    db.session.add(marker)
    db.session.flush()
    audit.record("marker.place", actor=by, building=building, target=marker,
                 detail={**_where(marker), "values": audit.values(marker, AUDITED)})
    return marker


def place_on(version: PlanVersion, raw: Mapping[str, Any], *, by: User) -> Marker:
    """``place`` with the page named in ``raw["page"]`` by its number in the PDF (the API's
    and the editor's way); every problem with the values is reported at once."""
    require_edit(by, version.building)
    _check_ready(version)
    values = dict(raw)
    errors: dict[str, str] = {}
    page = None
    try:
        page = page_by_number(version, values.pop("page", None))
    except InvalidInput as invalid:
        errors.update(invalid.fields)
    try:
        _clean(values, partial=False)
    except InvalidInput as invalid:
        errors.update(invalid.fields)
    if errors or page is None:
        raise InvalidInput(errors)
    return place(page, values, by=by)


def update(marker: Marker, raw: Mapping[str, Any], *, by: User, page: PlanPage | None = None) -> Marker:
    """Move (x, y, and ``page``: another page of the same version) or edit a marker.  Moving a
    carried-over marker confirms it: the partner has put it where it belongs."""
    building = building_of(marker)
    require_edit(by, building)
    if page is not None and page.version_id != marker.page.version_id:
        raise InvalidInput({"page": "must be a page of the same plan version."})
    values = _clean(raw, partial=True, marker=marker)
    _refuse_second_door(marker.page.version, values.get("kind", marker.kind),
                        values["number"] if "number" in values else marker.number, but=marker)
    before = audit.snapshot(marker, AUDITED)
    before_page = marker.page
    for name, value in values.items():
        setattr(marker, name, value)
    if page is not None:
        marker.page = page
    changed = audit.changes(before, audit.snapshot(marker, AUDITED))
    if page is not None and page.id != before_page.id:
        changed["page"] = [before_page.label, page.label]
    if not changed:
        return marker
    moved_only = set(changed) <= {"x", "y", "page"}
    if changed.keys() & {"x", "y", "page"}:
        marker.needs_confirmation = False
    db.session.flush()
    audit.record("marker.move" if moved_only else "marker.update", actor=by, building=building, target=marker,
                 detail={**_where(marker), "kind": marker.kind, "changes": changed})
    return marker


def delete(marker: Marker, *, by: User) -> None:
    building = building_of(marker)
    require_edit(by, building)
    audit.record("marker.delete", actor=by, building=building, target=marker,
                 detail={**_where(marker), "values": audit.values(marker, AUDITED)})
    db.session.delete(marker)
    db.session.flush()


def confirm(marker: Marker, *, by: User) -> Marker:
    """The partner checked a carried-over marker: it is where it belongs."""
    building = building_of(marker)
    require_edit(by, building)
    if marker.needs_confirmation:
        marker.needs_confirmation = False
        db.session.flush()
        audit.record("marker.confirm", actor=by, building=building, target=marker,
                     detail={**_where(marker), "kind": marker.kind, "count": 1})
    return marker


def kinds_present(markers: list[Marker]) -> list[MarkerKind]:
    """The catalogue's kinds that appear among ``markers``, in the catalogue's order (legends)."""
    present = {marker.kind for marker in markers}
    return [kind for kind in KINDS if kind.key in present]
