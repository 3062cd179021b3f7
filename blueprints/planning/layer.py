"""The exercise's scratch layer over one building's plan: the drawing page (the plan viewer
with the building's real markers, read-only, and the exercise's items on top) and the JSON
endpoints static/js/exercise.js saves through.  Errors answer JSON when the script asks
for it (``Accept: application/json``), through the one error handler."""
from __future__ import annotations

from typing import Any

from flask import jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.planning import bp
from blueprints.reads import log_read
from blueprints.response.building import marker_legend, published_plan, viewer_pages
from floorplans.auth import permission
from floorplans.errors import InvalidInput
from floorplans.marker_kinds import KINDS
from floorplans.models import Building, Exercise
from floorplans.permissions import Permission
from floorplans.services import buildings, exercise_items, exercises


def _exercise_and_building(exercise_id: int, building_id: int) -> tuple[Exercise, Building]:
    exercise = exercises.get_exercise(current_user, exercise_id)
    building = exercises.exercise_building(exercise, building_id)
    return exercise, buildings.get_readable(current_user, building.id)


def _layer(exercise: Exercise, building: Building) -> dict[str, Any]:
    return {
        "state": exercise.state,
        "items": [exercise_items.item_json(item) for item in exercise_items.items_on(exercise, building)],
    }


@bp.route("/<int:exercise_id>/buildings/<int:building_id>")
@permission(Permission.RUN_EXERCISES)
def draw(exercise_id: int, building_id: int) -> ResponseReturnValue:
    exercise, building = _exercise_and_building(exercise_id, building_id)
    version = published_plan(building)
    if version is not None:
        # A planner reading the plan is an outside read like any other: the partner sees it.
        log_read(building, "view_plan", f"exercise {exercise.id}")
    layer_urls = {
        "items": url_for("planning.items", exercise_id=exercise.id, building_id=building.id),
        "item": url_for("planning.update_item", exercise_id=exercise.id, item_id=0),
    }
    pages = viewer_pages(version) if version else []
    return render_template(
        "planning/draw.html", exercise=exercise, building=building, version=version, pages=pages,
        legend=marker_legend(pages), layer=_layer(exercise, building), layer_urls=layer_urls,
        kinds=[kind.as_json() for kind in KINDS], palette=exercise_items.PALETTE,
        exercise_url=url_for("planning.exercise", exercise_id=exercise.id),
    )


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput({"item": "send the item as a JSON object."})
    return body


@bp.route("/<int:exercise_id>/buildings/<int:building_id>/items")
@permission(Permission.RUN_EXERCISES)
def items(exercise_id: int, building_id: int) -> ResponseReturnValue:
    """What the drawing page polls: every item on this building's plans, and the state."""
    exercise, building = _exercise_and_building(exercise_id, building_id)
    response = jsonify(_layer(exercise, building))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:exercise_id>/buildings/<int:building_id>/items", methods=["POST"])
@permission(Permission.RUN_EXERCISES)
def add_item(exercise_id: int, building_id: int) -> ResponseReturnValue:
    exercise, building = _exercise_and_building(exercise_id, building_id)
    item = exercise_items.add_item(exercise, building, _json_body(), by=current_user)
    return jsonify(item=exercise_items.item_json(item)), 201


@bp.route("/<int:exercise_id>/items/<int:item_id>", methods=["POST"])
@permission(Permission.RUN_EXERCISES)
def update_item(exercise_id: int, item_id: int) -> ResponseReturnValue:
    """Move (``points``) or edit (``label``, ``colour``, ``kind``) one item."""
    exercise = exercises.get_exercise(current_user, exercise_id)
    item = exercise_items.update_item(exercise_items.item_of(exercise, item_id), _json_body())
    return jsonify(item=exercise_items.item_json(item))


@bp.route("/<int:exercise_id>/items/<int:item_id>/delete", methods=["POST"])
@permission(Permission.RUN_EXERCISES)
def delete_item(exercise_id: int, item_id: int) -> ResponseReturnValue:
    exercise = exercises.get_exercise(current_user, exercise_id)
    exercise_items.delete_item(exercise_items.item_of(exercise, item_id))
    return jsonify(deleted=item_id)
