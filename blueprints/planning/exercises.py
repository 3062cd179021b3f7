"""The planner's exercises: the list, a new exercise, one exercise's page (its buildings and
planners, added and removed), closing it (and, for an administrator, reopening it)."""
from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.forms import attempt
from blueprints.planning import bp
from floorplans.auth import permission
from floorplans.fields import form_values
from floorplans.models import Exercise
from floorplans.permissions import Permission
from floorplans.services import buildings, exercises


@bp.route("/")
@permission(Permission.RUN_EXERCISES)
def index() -> ResponseReturnValue:
    return render_template("planning/index.html", exercises=exercises.exercises_of(current_user))


@bp.route("/new", methods=["GET", "POST"])
@permission(Permission.RUN_EXERCISES)
def new() -> ResponseReturnValue:
    """Name the exercise and tick its buildings; the search narrows the list of buildings
    (a GET, so what was typed in the form is carried in the query string)."""
    query = request.values.get("q", "").strip()
    values: dict[str, Any] = {"name": request.values.get("name", ""),
                              "description": request.values.get("description", "")}  # fmt: skip
    chosen = [str(b) for b in request.values.getlist("buildings")]
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = form_values(request.form, exercises.EXERCISE_FIELDS)
        exercise, errors = attempt(lambda: exercises.create_exercise(values, chosen, by=current_user))
        if exercise is not None:
            flash(f"{exercise.name} is created. Add the other planners below.", "success")
            return redirect(url_for("planning.exercise", exercise_id=exercise.id))
    found = list(buildings.search(current_user, query))
    # Buildings already ticked stay listed (and ticked) whatever the search shows.
    ticked = list(exercises.readable_among(current_user, chosen))
    listed = ticked + [b for b in found if b not in ticked]
    return render_template(
        "planning/new.html", fields=exercises.EXERCISE_FIELDS, values=values, errors=errors, q=query,
        buildings=listed, chosen=set(chosen),
    ), (422 if errors else 200)


def _exercise_page(exercise: Exercise, errors: dict[str, str] | None = None) -> ResponseReturnValue:
    query = request.args.get("q", "").strip()
    candidates = [b for b in buildings.search(current_user, query, limit=20) if b not in exercise.buildings] \
        if query else []
    return render_template(
        "planning/exercise.html", exercise=exercise, errors=errors or {}, q=query, candidates=candidates,
        is_admin=current_user.role == "admin",
    ), (422 if errors else 200)


@bp.route("/<int:exercise_id>")
@permission(Permission.RUN_EXERCISES)
def exercise(exercise_id: int) -> ResponseReturnValue:
    return _exercise_page(exercises.get_exercise(current_user, exercise_id))


def _change(exercise_id: int, change: Any, done: str) -> ResponseReturnValue:
    """Run one change of the exercise's membership; on a mistake, the page again with it."""
    exercise = exercises.get_exercise(current_user, exercise_id)
    result, errors = attempt(lambda: change(exercise))
    if errors:
        return _exercise_page(exercises.get_exercise(current_user, exercise_id), errors)
    flash(done.format(result=result), "success")
    return redirect(url_for("planning.exercise", exercise_id=exercise_id))


@bp.route("/<int:exercise_id>/edit", methods=["POST"])
@permission(Permission.RUN_EXERCISES)
def edit(exercise_id: int) -> ResponseReturnValue:
    """Rename the exercise or change its scenario."""
    values = form_values(request.form, exercises.EXERCISE_FIELDS)
    return _change(exercise_id, lambda e: exercises.update_exercise(e, values).name, "Saved: {result}.")


@bp.route("/<int:exercise_id>/planners", methods=["POST"])
@permission(Permission.RUN_EXERCISES)
def add_planner(exercise_id: int) -> ResponseReturnValue:
    """One answer whether the address is a planner's, another account's or nobody's (so the
    form tells nobody which addresses are staff accounts); the list of planners on the page
    shows who takes part."""
    email = request.form.get("email", "").strip().lower()

    def add(exercise: Exercise) -> str:
        exercises.add_planner(exercise, email)
        return email

    return _change(exercise_id, add, "If {result} is the e-mail of a planner's account, they take part now: "
                                     "see the list of planners.")


@bp.route("/<int:exercise_id>/planners/remove", methods=["POST"])
@permission(Permission.RUN_EXERCISES)
def remove_planner(exercise_id: int) -> ResponseReturnValue:
    user_id = request.form.get("user_id", "")
    return _change(exercise_id, lambda e: exercises.remove_planner(e, user_id).email,
                   "{result} no longer takes part.")


@bp.route("/<int:exercise_id>/buildings", methods=["POST"])
@permission(Permission.RUN_EXERCISES)
def add_building(exercise_id: int) -> ResponseReturnValue:
    building_id = request.form.get("building_id", "")
    return _change(exercise_id, lambda e: exercises.add_building(e, building_id, by=current_user).name,
                   "{result} is part of the exercise now.")


@bp.route("/<int:exercise_id>/buildings/remove", methods=["POST"])
@permission(Permission.RUN_EXERCISES)
def remove_building(exercise_id: int) -> ResponseReturnValue:
    building_id = request.form.get("building_id", "")
    return _change(exercise_id, lambda e: exercises.remove_building(e, building_id).name,
                   "{result} is taken out of the exercise, with what was drawn on its plans.")


@bp.route("/<int:exercise_id>/close", methods=["GET", "POST"])
@permission(Permission.RUN_EXERCISES)
def close(exercise_id: int) -> ResponseReturnValue:
    """Closing asks first: the planner ticks that nothing can be changed afterwards."""
    exercise = exercises.get_exercise(current_user, exercise_id)
    error = ""
    if request.method == "POST":
        if request.form.get("confirm") != "yes":
            error = "Tick the box to confirm that the exercise becomes read-only."
        else:
            exercises.close_exercise(exercise)
            flash(f"{exercise.name} is closed. It stays here, read-only, for the review.", "success")
            return redirect(url_for("planning.exercise", exercise_id=exercise.id))
    return render_template("planning/close.html", exercise=exercise, error=error), (422 if error else 200)


@bp.route("/<int:exercise_id>/reopen", methods=["POST"])
@permission(Permission.ADMIN)
def reopen(exercise_id: int) -> ResponseReturnValue:
    return _change(exercise_id, lambda e: exercises.reopen_exercise(e, by=current_user).name,
                   "{result} is open again.")
