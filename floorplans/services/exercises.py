"""Tabletop exercises: planners draw on a scratch layer over buildings' plans.

An exercise belongs to the planners taking part in it (its members); administrators see
every exercise.  A planner who is not a member is told the exercise does not exist, as
with another congregation's building.  Items (markers, lines, areas, notes) sit on one
page of one of the exercise's buildings, in page-relative coordinates like real markers.
Nothing here ever writes a building's real record (``Building``, ``Marker``, ``PlanPage``):
the exercise tables are the only ones changed.  A closed exercise is read-only.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import case, select

from floorplans.db import db, utcnow
from floorplans.errors import Forbidden, InvalidInput, NotFound
from floorplans.fields import Field, RecordFields
from floorplans.markers import BY_KEY
from floorplans.models import (
    Building,
    Exercise,
    ExerciseItem,
    ExerciseState,
    ItemShape,
    PlanPage,
    PlanVersion,
    Role,
    User,
    VersionState,
)
from floorplans.models.planning import exercise_planners
from floorplans.permissions import Permission, can_read, has_permission, readable_buildings
from floorplans.services import audit

EXERCISE_FIELDS = RecordFields((
    Field("name", "Exercise name", required=True, max_length=200,
          help="What the planners call it, e.g. “Friday prayers, fire in the kitchen”."),
    Field("description", "Scenario", "textarea", max_length=4000,
          help="The scenario and what the exercise should test."),
))  # fmt: skip

#: The colours a planner draws with: few, far apart, and none of them the real markers'
#: own family colours' exact shade, so a drawing never passes for the record.
PALETTE: dict[str, str] = {
    "#dc2626": "Red",
    "#2563eb": "Blue",
    "#16a34a": "Green",
    "#9333ea": "Purple",
    "#ea580c": "Orange",
    "#111827": "Black",
}
DEFAULT_COLOUR = "#dc2626"
LABEL_MAX = 200
#: Enough for any cordon or search sector drawn by hand; bounds what one request stores.
POINTS_MAX = 200
#: Points per shape: (fewest, most).
POINT_COUNTS: dict[ItemShape, tuple[int, int]] = {
    ItemShape.MARKER: (1, 1),
    ItemShape.NOTE: (1, 1),
    ItemShape.LINE: (2, POINTS_MAX),
    ItemShape.AREA: (3, POINTS_MAX),
}
_MEMBER_ROLES = (Role.PLANNER, Role.ADMIN)
_NOT_FOUND = "There is no such exercise, or you are not one of its planners."


# --- finding ----------------------------------------------------------------------------

def is_member(user: User, exercise: Exercise) -> bool:
    return any(planner.id == user.id for planner in exercise.planners)


def get_exercise(user: User, exercise_id: int) -> Exercise:
    """An exercise ``user`` takes part in (any, for an administrator).  Anyone else's is
    "not found", so exercise ids cannot be probed."""
    exercise = db.session.get(Exercise, exercise_id)
    if (
        exercise is None
        or not has_permission(user, Permission.RUN_EXERCISES)
        or not (Role(user.role) is Role.ADMIN or is_member(user, exercise))
    ):
        raise NotFound(_NOT_FOUND)
    return exercise


def get_open_exercise(user: User, exercise_id: int) -> Exercise:
    exercise = get_exercise(user, exercise_id)
    _require_open(exercise)
    return exercise


def _require_open(exercise: Exercise) -> None:
    if not exercise.is_open:
        raise Forbidden("This exercise is closed: it can be looked at, but nothing in it can be changed.")


def exercises_of(user: User) -> Sequence[Exercise]:
    """The exercises ``user`` takes part in (all of them for an administrator): open ones
    first, newest first within each."""
    query = select(Exercise)
    if Role(user.role) is not Role.ADMIN:
        query = query.join(exercise_planners).where(exercise_planners.c.user_id == user.id)
    open_first = case((Exercise.state == ExerciseState.OPEN.value, 0), else_=1)
    return db.session.scalars(query.order_by(open_first, Exercise.created_at.desc(), Exercise.id.desc())).all()


def exercise_building(exercise: Exercise, building_id: int) -> Building:
    """One of the exercise's buildings (the membership check on the exercise comes first)."""
    for building in exercise.buildings:
        if building.id == building_id:
            return building
    raise NotFound("This building is not part of the exercise.")


def item_of(exercise: Exercise, item_id: int) -> ExerciseItem:
    item = db.session.get(ExerciseItem, item_id)
    if item is None or item.exercise_id != exercise.id:
        raise NotFound("There is no such item in this exercise; someone may have deleted it.")
    return item


def items_on(exercise: Exercise, building: Building) -> Sequence[ExerciseItem]:
    query = select(ExerciseItem).where(
        ExerciseItem.exercise_id == exercise.id, ExerciseItem.building_id == building.id
    )
    return db.session.scalars(query.order_by(ExerciseItem.id)).all()


def readable_among(user: User, building_ids: Iterable[Any]) -> Sequence[Building]:
    """The buildings of ``building_ids`` that ``user`` may read (ids that are not numbers
    are ignored: this only keeps a half-filled form's ticks)."""
    ids = [int(b) for b in building_ids if str(b).strip().isdigit()]
    if not ids:
        return []
    return db.session.scalars(readable_buildings(user).where(Building.id.in_(ids)).order_by(Building.name)).all()


# --- the exercise and its members -------------------------------------------------------

def _readable_building(user: User, raw: Any) -> Building:
    try:
        building_id = int(str(raw).strip())
    except ValueError:
        raise InvalidInput({"buildings": "choose buildings from the list."}) from None
    building = db.session.get(Building, building_id)
    if building is None or not can_read(user, building):
        raise InvalidInput({"buildings": "one of the chosen buildings does not exist or is not yours to see."})
    return building


def create_exercise(raw: Mapping[str, Any], building_ids: Iterable[Any], *, by: User) -> Exercise:
    """A new open exercise over the chosen buildings, with its creator as first planner."""
    if not has_permission(by, Permission.RUN_EXERCISES):
        raise Forbidden("Only planners and administrators run exercises.")
    errors: dict[str, str] = {}
    try:
        values = EXERCISE_FIELDS.clean(raw)
    except InvalidInput as exc:
        errors.update(exc.fields)
        values = {}
    chosen: list[Building] = []
    try:
        for building_id in dict.fromkeys(str(b).strip() for b in building_ids if str(b).strip()):
            chosen.append(_readable_building(by, building_id))
    except InvalidInput as exc:
        errors.update(exc.fields)
    if not chosen and "buildings" not in errors:
        errors["buildings"] = "choose at least one building."
    if errors:
        raise InvalidInput(errors)
    exercise = Exercise(name=values["name"], description=values["description"], created_by=by,
                        state=ExerciseState.OPEN.value, buildings=chosen, planners=[by])
    db.session.add(exercise)
    db.session.flush()
    audit.record("exercise.create", target=exercise, detail={
        "name": exercise.name, "buildings": [b.id for b in chosen],
    })
    return exercise


def update_exercise(exercise: Exercise, raw: Mapping[str, Any]) -> Exercise:
    _require_open(exercise)
    values = EXERCISE_FIELDS.clean(raw)
    with audit.recording_changes(exercise, EXERCISE_FIELDS, "exercise.update", building=None):
        exercise.name = values["name"]
        exercise.description = values["description"]
        db.session.flush()
    return exercise


def add_planner(exercise: Exercise, email: str) -> User:
    """Share the exercise with another planner (or an administrator), by e-mail."""
    _require_open(exercise)
    address = (email or "").strip().lower()
    if not address:
        raise InvalidInput({"email": "type the planner's e-mail address."})
    user = db.session.scalars(select(User).where(User.email == address)).first()
    if user is None or not user.active or Role(user.role) not in _MEMBER_ROLES:
        raise InvalidInput({"email": f"{address} is not the e-mail of a planner's account."})
    if is_member(user, exercise):
        raise InvalidInput({"email": f"{address} already takes part in this exercise."})
    exercise.planners.append(user)
    db.session.flush()
    audit.record("exercise.planner.add", target=exercise, detail={"planner": user.email})
    return user


def remove_planner(exercise: Exercise, user_id: Any) -> User:
    _require_open(exercise)
    planner = next((p for p in exercise.planners if str(p.id) == str(user_id).strip()), None)
    if planner is None:
        raise InvalidInput({"planner": "choose one of the exercise's planners."})
    if len(exercise.planners) == 1:
        raise InvalidInput({"planner": "an exercise keeps at least one planner; add another one first."})
    exercise.planners.remove(planner)
    db.session.flush()
    audit.record("exercise.planner.remove", target=exercise, detail={"planner": planner.email})
    return planner


def add_building(exercise: Exercise, building_id: Any, *, by: User) -> Building:
    _require_open(exercise)
    building = _readable_building(by, building_id)
    if building in exercise.buildings:
        raise InvalidInput({"buildings": f"{building.name} is already part of this exercise."})
    exercise.buildings.append(building)
    db.session.flush()
    audit.record("exercise.building.add", target=exercise, detail={"building": building.id})
    return building


def remove_building(exercise: Exercise, building_id: Any) -> Building:
    """Take a building out of the exercise, and what was drawn on its plans with it."""
    _require_open(exercise)
    building = next((b for b in exercise.buildings if str(b.id) == str(building_id).strip()), None)
    if building is None:
        raise InvalidInput({"buildings": "choose one of the exercise's buildings."})
    if len(exercise.buildings) == 1:
        raise InvalidInput({"buildings": "an exercise keeps at least one building; add another one first."})
    dropped = [item for item in exercise.items if item.building_id == building.id]
    for item in dropped:
        exercise.items.remove(item)
    exercise.buildings.remove(building)
    db.session.flush()
    audit.record("exercise.building.remove", target=exercise,
                 detail={"building": building.id, "items_deleted": len(dropped)})
    return building


def close_exercise(exercise: Exercise) -> Exercise:
    """From now on read-only: kept as it was at the end, for the after-action review."""
    _require_open(exercise)
    exercise.state = ExerciseState.CLOSED.value
    exercise.closed_at = utcnow()
    db.session.flush()
    audit.record("exercise.close", target=exercise, detail={"items": len(exercise.items)})
    return exercise


def reopen_exercise(exercise: Exercise, *, by: User) -> Exercise:
    """An administrator's way back, for an exercise closed by mistake."""
    if Role(by.role) is not Role.ADMIN:
        raise Forbidden("Only an administrator can reopen a closed exercise.")
    if exercise.is_open:
        raise InvalidInput({"state": "this exercise is already open."})
    exercise.state = ExerciseState.OPEN.value
    exercise.closed_at = None
    db.session.flush()
    audit.record("exercise.reopen", target=exercise)
    return exercise


# --- items on the scratch layer ---------------------------------------------------------

def drawable_page(building: Building, page_id: Any) -> PlanPage:
    """A page of the building's published plan, or of another ready version of it."""
    try:
        number = int(page_id)
    except (TypeError, ValueError):
        raise InvalidInput({"page_id": "must be one of this building's plan pages."}) from None
    page = db.session.get(PlanPage, number)
    if page is None:
        raise InvalidInput({"page_id": "must be one of this building's plan pages."})
    version: PlanVersion = page.version
    if version.building_id != building.id or (
        version.id != building.published_version_id and version.state != VersionState.READY
    ):
        raise InvalidInput({"page_id": "must be one of this building's plan pages."})
    return page


def clean_points(shape: ItemShape, raw: Any) -> list[list[float]]:
    """``[[x, y], ...]`` page-relative (0..1 from the page's left and top edges)."""
    fewest, most = POINT_COUNTS[shape]
    if not isinstance(raw, list) or not raw:
        raise ValueError("must be a list of [x, y] positions on the page.")
    points: list[list[float]] = []
    for point in raw:
        if (
            not isinstance(point, list | tuple) or len(point) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in point)
        ):
            raise ValueError("must be a list of [x, y] positions on the page.")
        x, y = float(point[0]), float(point[1])
        if not (math.isfinite(x) and math.isfinite(y) and 0 <= x <= 1 and 0 <= y <= 1):
            raise ValueError("must lie on the page (each position between 0 and 1).")
        points.append([round(x, 6), round(y, 6)])
    if shape is ItemShape.AREA and len(points) > 1 and points[0] == points[-1]:
        points.pop()  # the closing point repeated: an area is closed anyway
    names = {ItemShape.MARKER: "A marker", ItemShape.NOTE: "A note",
             ItemShape.LINE: "A line", ItemShape.AREA: "An area"}  # fmt: skip
    if len(points) < fewest:
        raise ValueError(f"{names[shape]} needs at least {fewest} points.")
    if len(points) > most:
        raise ValueError(f"{names[shape]} has at most {most} point{'s' if most > 1 else ''}.")
    return points


def _clean_item(shape: ItemShape, values: Mapping[str, Any]) -> dict[str, Any]:
    """Every field of an item, checked together (an edit sends only some of them)."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    try:
        cleaned["points"] = clean_points(shape, values.get("points"))
    except ValueError as exc:
        errors["points"] = str(exc)
    label = values.get("label")
    if label is None:
        label = ""
    if not isinstance(label, str):
        errors["label"] = "must be text."
    else:
        label = label.strip()
        if len(label) > LABEL_MAX:
            errors["label"] = f"is too long ({len(label)} characters, at most {LABEL_MAX})."
        elif shape is ItemShape.NOTE and not label:
            errors["label"] = "a note needs its text."
        cleaned["label"] = label
    colour = values.get("colour") or DEFAULT_COLOUR
    if not isinstance(colour, str) or colour.lower() not in PALETTE:
        errors["colour"] = f"must be one of {', '.join(f'{name} ({code})' for code, name in PALETTE.items())}."
    else:
        cleaned["colour"] = colour.lower()
    kind = values.get("kind") or ""
    if shape is ItemShape.MARKER:
        if kind not in BY_KEY:
            errors["kind"] = "choose a kind of marker from the list."
        cleaned["kind"] = kind
    elif kind:
        errors["kind"] = "only markers have a kind."
    else:
        cleaned["kind"] = ""
    if errors:
        raise InvalidInput(errors)
    return cleaned


_ITEM_NAMES = frozenset({"page_id", "shape", "kind", "points", "label", "colour"})
_EDITABLE = frozenset({"kind", "points", "label", "colour"})


def _unknown(raw: Mapping[str, Any], allowed: frozenset[str]) -> dict[str, str]:
    return {name: "is not a field of an exercise item." for name in sorted(set(raw) - allowed)}


def add_item(exercise: Exercise, building: Building, raw: Mapping[str, Any], *, by: User) -> ExerciseItem:
    _require_open(exercise)
    if building not in exercise.buildings:
        raise NotFound("This building is not part of the exercise.")
    errors = _unknown(raw, _ITEM_NAMES)
    try:
        shape = ItemShape(raw.get("shape"))
    except ValueError:
        errors["shape"] = "must be one of: marker, line, area, note."
        shape = None
    page = None
    try:
        page = drawable_page(building, raw.get("page_id"))
    except InvalidInput as exc:
        errors.update(exc.fields)
    cleaned: dict[str, Any] = {}
    if shape is not None:
        try:
            cleaned = _clean_item(shape, raw)
        except InvalidInput as exc:
            errors.update(exc.fields)
    if errors or page is None or shape is None:
        raise InvalidInput(errors)
    item = ExerciseItem(exercise=exercise, building_id=building.id, page=page, shape=shape.value,
                        created_by=by, **cleaned)
    db.session.add(item)
    db.session.flush()
    audit.record("exercise.item.add", target=exercise, detail={
        "item": item.id, "building": building.id, "page": page.id, "shape": item.shape, "kind": item.kind,
        "points": len(item.points),
    })
    return item


def update_item(item: ExerciseItem, raw: Mapping[str, Any]) -> ExerciseItem:
    """Move (new points) or edit (label, colour, kind) an item; its shape and page stay."""
    exercise = item.exercise
    _require_open(exercise)
    errors = _unknown(raw, _EDITABLE)
    if not raw:
        errors["item"] = "send at least one of: points, label, colour, kind."
    if errors:
        raise InvalidInput(errors)
    shape = ItemShape(item.shape)
    current = {"kind": item.kind, "points": item.points, "label": item.label, "colour": item.colour}
    cleaned = _clean_item(shape, {**current, **raw})
    before = dict(current)
    item.kind, item.points, item.label, item.colour = (
        cleaned["kind"], cleaned["points"], cleaned["label"], cleaned["colour"]
    )
    db.session.flush()
    changed = sorted(name for name in cleaned if cleaned[name] != before[name])
    audit.record("exercise.item.move" if changed == ["points"] else "exercise.item.edit", target=exercise,
                 detail={"item": item.id, "building": item.building_id, "changed": changed})
    return item


def delete_item(item: ExerciseItem) -> None:
    exercise = item.exercise
    _require_open(exercise)
    detail = {"item": item.id, "building": item.building_id, "shape": item.shape, "label": item.label}
    exercise.items.remove(item)
    db.session.flush()
    audit.record("exercise.item.delete", target=exercise, detail=detail)


def item_json(item: ExerciseItem) -> dict[str, Any]:
    return {
        "id": item.id, "page_id": item.page_id, "shape": item.shape, "kind": item.kind,
        "points": item.points, "label": item.label, "colour": item.colour,
        "by": item.created_by.email if item.created_by else "",
        "updated_at": item.updated_at.isoformat(timespec="seconds") if item.updated_at else "",
    }
