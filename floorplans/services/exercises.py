"""Tabletop exercises: who takes part, over which buildings, and closing.

An exercise belongs to the planners taking part in it (its members); administrators see
every exercise.  A planner who is not a member is told the exercise does not exist, as
with another congregation's building.  What planners draw is in ``exercise_items``.
Nothing here ever writes a building's real record (``Building``, ``Marker``, ``PlanPage``):
the exercise tables are the only ones changed.  A closed exercise is read-only.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import case, select

from floorplans.db import db, utcnow
from floorplans.errors import Forbidden, InvalidInput, NotFound
from floorplans.fields import Field, RecordFields
from floorplans.models import (
    Building,
    Exercise,
    ExerciseState,
    Role,
    User,
)
from floorplans.models.planning import exercise_planners
from floorplans.permissions import Permission, can_read, has_permission, readable_buildings
from floorplans.services import audit

#: A planner or a building of an exercise.
Member = TypeVar("Member", User, Building)

EXERCISE_FIELDS = RecordFields((
    Field("name", "Exercise name", required=True, max_length=200,
          help="What the planners call it, e.g. “Friday prayers, fire in the kitchen”."),
    Field("description", "Scenario", "textarea", max_length=4000,
          help="The scenario and what the exercise should test."),
))  # fmt: skip

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


def require_open(exercise: Exercise) -> None:
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
    require_open(exercise)
    values = EXERCISE_FIELDS.clean(raw)
    with audit.recording_changes(exercise, EXERCISE_FIELDS, "exercise.update", building=None):
        exercise.name = values["name"]
        exercise.description = values["description"]
        db.session.flush()
    return exercise


def add_planner(exercise: Exercise, email: str) -> User | None:
    """Share the exercise with another planner, by e-mail: the planner added, or None when
    the address is not an active planner's account or already takes part.

    The caller answers the same in every case: a planner typing addresses must not learn
    which are administrators', officers' or partners' accounts (or which exist at all).
    Each case costs one query and nothing else.  Only planners are added: administrators
    see every exercise already, and adding one would show their address in the list."""
    require_open(exercise)
    address = (email or "").strip().lower()
    if not address:
        raise InvalidInput({"email": "type the planner's e-mail address."})
    user = db.session.scalars(select(User).where(User.email == address)).first()
    if user is None or not user.active or Role(user.role) is not Role.PLANNER or is_member(user, exercise):
        return None
    exercise.planners.append(user)
    db.session.flush()
    audit.record("exercise.planner.add", target=exercise, detail={"planner": user.email})
    return user


def _leaving(members: Sequence[Member], member_id: Any, what: str, *, field: str) -> Member:
    """The planner or building of the exercise that the form's ``member_id`` names, which
    may leave it: refused when it names none, or the last one (an exercise keeps one)."""
    member = next((m for m in members if str(m.id) == str(member_id).strip()), None)
    if member is None:
        raise InvalidInput({field: f"choose one of the exercise's {what}s."})
    if len(members) == 1:
        raise InvalidInput({field: f"an exercise keeps at least one {what}; add another one first."})
    return member


def remove_planner(exercise: Exercise, user_id: Any) -> User:
    require_open(exercise)
    planner = _leaving(exercise.planners, user_id, "planner", field="planner")
    exercise.planners.remove(planner)
    db.session.flush()
    audit.record("exercise.planner.remove", target=exercise, detail={"planner": planner.email})
    return planner


def add_building(exercise: Exercise, building_id: Any, *, by: User) -> Building:
    require_open(exercise)
    building = _readable_building(by, building_id)
    if building in exercise.buildings:
        raise InvalidInput({"buildings": f"{building.name} is already part of this exercise."})
    exercise.buildings.append(building)
    db.session.flush()
    audit.record("exercise.building.add", target=exercise, detail={"building": building.id})
    return building


def remove_building(exercise: Exercise, building_id: Any) -> Building:
    """Take a building out of the exercise, and what was drawn on its plans with it."""
    require_open(exercise)
    building = _leaving(exercise.buildings, building_id, "building", field="buildings")
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
    require_open(exercise)
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
