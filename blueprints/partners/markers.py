"""The partner's marker editor: a plan version in the viewer with a palette of marker kinds;
static/js/markers.js places, moves, edits, deletes and confirms through the JSON routes
below (CSRF-protected like every form: the page's token goes in an X-CSRFToken header)."""
from __future__ import annotations

from typing import Any

from flask import jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.partners import bp
from blueprints.reads import log_read
from blueprints.response.building import viewer_pages
from floorplans.auth import permission
from floorplans.errors import InvalidInput
from floorplans.marker_kinds import KINDS
from floorplans.models import Marker, PlanVersion, VersionState
from floorplans.permissions import Permission
from floorplans.representations import marker_json
from floorplans.services import buildings, markers, photos, plans


def _version(building_id: int, version_id: int) -> PlanVersion:
    return plans.version_of(buildings.get_editable(current_user, building_id), version_id)


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput({"body": "must be a JSON object"}, "The change did not arrive in a form we understand.")
    return body


def _marker(marker: Marker, status: int = 200) -> ResponseReturnValue:
    return jsonify(marker_json(marker)), status


@bp.app_template_global("markers_to_check")
def markers_to_check(version: PlanVersion) -> int:
    """How many carried-over markers of a ready version wait for the partner (version and plans pages)."""
    return markers.flagged_count(version) if version.state == VersionState.READY else 0


@bp.route("/buildings/<int:building_id>/plans/<int:version_id>/markers", endpoint="plan_markers")
@permission(Permission.EDIT_RECORDS)
def markers_page(building_id: int, version_id: int) -> ResponseReturnValue:
    version = _version(building_id, version_id)
    building = version.building
    log_read(building, "view_plan", f"markers of version {version.number}")
    editable = version.has_tiles
    flagged = markers.flagged_count(version)
    return render_template(
        "partners/plan_markers.html", building=building, version=version, kinds=KINDS,
        pages=viewer_pages(version, with_hidden=True) if editable else [], editable=editable, flagged=flagged,
        carried_from=markers.carried_from_numbers(version) if flagged else [],
        markers_url=url_for("partners.plan_markers", building_id=building.id, version_id=version.id),
    )


@bp.route("/buildings/<int:building_id>/plans/<int:version_id>/markers", methods=["POST"])
@permission(Permission.EDIT_RECORDS)
def place_marker(building_id: int, version_id: int) -> ResponseReturnValue:
    marker = markers.place_on(_version(building_id, version_id), _body(), by=current_user)
    return _marker(marker, 201)


@bp.route("/buildings/<int:building_id>/plans/<int:version_id>/markers/<int:marker_id>", methods=["POST"])
@permission(Permission.EDIT_RECORDS)
def change_marker(building_id: int, version_id: int, marker_id: int) -> ResponseReturnValue:
    version = _version(building_id, version_id)
    marker = markers.marker_of(version, marker_id)
    body = _body()
    page = markers.page_by_number(version, body.pop("page")) if "page" in body else None
    markers.update(marker, body, by=current_user, page=page)
    return _marker(marker)


@bp.route("/buildings/<int:building_id>/plans/<int:version_id>/markers/<int:marker_id>/delete", methods=["POST"])
@permission(Permission.EDIT_RECORDS)
def delete_marker(building_id: int, version_id: int, marker_id: int) -> ResponseReturnValue:
    marker = markers.marker_of(_version(building_id, version_id), marker_id)
    photos.forget_marker(marker)  # its photo's stored sizes, once the deletion is committed
    markers.delete(marker, by=current_user)
    return jsonify(deleted=marker_id)


@bp.route("/buildings/<int:building_id>/plans/<int:version_id>/markers/<int:marker_id>/confirm", methods=["POST"])
@permission(Permission.EDIT_RECORDS)
def confirm_marker(building_id: int, version_id: int, marker_id: int) -> ResponseReturnValue:
    marker = markers.confirm(markers.marker_of(_version(building_id, version_id), marker_id), by=current_user)
    return _marker(marker)
