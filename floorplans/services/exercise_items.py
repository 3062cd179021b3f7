"""What planners draw on an exercise's scratch layer: markers, lines, areas and notes on one
page of one of the exercise's buildings, in page-relative coordinates like the real markers
(``points`` = ``[[x, y], ...]``, 0..1 from the page's left and top edges; the print packet
reads ``ExerciseItem`` rows with that meaning).  Only exercise rows are written here, never
the building's record; a closed exercise's items cannot change.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from floorplans.db import db
from floorplans.errors import InvalidInput, NotFound
from floorplans.marker_kinds import BY_KEY
from floorplans.models import (
    Building,
    Exercise,
    ExerciseItem,
    ItemShape,
    PlanPage,
    PlanVersion,
    User,
)
from floorplans.services import audit
from floorplans.services.carried_markers import label_key, pages_by_label
from floorplans.services.exercises import require_open

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


# --- finding ----------------------------------------------------------------------------

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


# --- drawing ----------------------------------------------------------------------------

def drawable_page(building: Building, page_id: Any) -> PlanPage:
    """A shown page of a plan of the building that officers see (or saw: a car may still
    have an earlier one open).  Never a draft or a hidden sheet: planners read what officers read."""
    try:
        number = int(page_id)
    except (TypeError, ValueError):
        raise InvalidInput({"page_id": "must be one of this building's plan pages."}) from None
    page = db.session.get(PlanPage, number)
    if page is None:
        raise InvalidInput({"page_id": "must be one of this building's plan pages."})
    version: PlanVersion = page.version
    if version.building_id != building.id or not version.shown_to_officers or page.hidden:
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
    require_open(exercise)
    if building not in exercise.buildings:
        raise NotFound("This building is not part of the exercise.")
    errors = _unknown(raw, _ITEM_NAMES)
    try:
        shape = ItemShape(raw.get("shape", ""))
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
    require_open(exercise)
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
    require_open(exercise)
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


# --- a new plan under the drawings ------------------------------------------------------

def follow_plan(previous: PlanVersion | None, new: PlanVersion) -> int:
    """When ``new`` replaces ``previous`` as the building's plan, the exercises' drawings on
    ``previous`` move onto ``new``'s page of the same label (as the real markers carry over),
    at the same page-relative place, so planners keep seeing what they drew.  A drawing on a
    floor the new plan has no longer stays where it was (counted in the audit).  Returns how
    many moved."""
    if previous is None or previous.id == new.id:
        return 0
    pages = {page.id: page for page in previous.pages}
    if not pages:
        return 0
    drawn = db.session.scalars(select(ExerciseItem).where(ExerciseItem.page_id.in_(list(pages)))
                               .order_by(ExerciseItem.id)).all()
    if not drawn:
        return 0
    targets = pages_by_label(new)
    moved, stayed = 0, 0
    for item in drawn:
        target = targets.get(label_key(pages[item.page_id].label))
        if target is None:
            stayed += 1
            continue
        item.page = target
        moved += 1
    db.session.flush()
    audit.record("exercise.items.follow", building=new.building, target=new, detail={
        "from": previous.number, "to": new.number, "moved": moved, "stayed": stayed,
    })  # fmt: skip
    return moved
