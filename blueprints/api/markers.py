"""A plan version's markers through the API: list, place, read one, move or edit, delete,
confirm a carried-over one.  A marker's ``page`` is the page's number in the PDF (1-based,
``pages[].number`` of GET /plans/<id>), stable for a version whatever the partner's order."""
from __future__ import annotations

from collections.abc import Mapping

from flask import jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.api import bp
from blueprints.api.bodies import json_body
from blueprints.reads import log_read
from floorplans.auth import permission
from floorplans.bounds import MAX_RECORD_ID
from floorplans.models import Marker
from floorplans.permissions import Permission
from floorplans.representations import marker_json
from floorplans.services import markers, photos, plans


def _marker_response(marker: Marker, status: int = 200) -> ResponseReturnValue:
    response = jsonify(marker_json(marker, photos.photo_for_marker(marker)))
    response.status_code = status
    if status == 201:
        response.headers["Location"] = url_for("api.get_marker", marker_id=marker.id)
    return response


@bp.get("/plans/<int:version_id>/markers")
@permission(Permission.READ_RECORDS)
def list_markers(version_id: int) -> ResponseReturnValue:
    version = plans.get_version(current_user, version_id)
    log_read(version.building, "view_plan", f"markers of version {version.number}")
    shown = markers.visible_markers(current_user, version)
    by_marker = photos.photos_for_markers(shown)
    return jsonify(markers=[marker_json(marker, by_marker.get(marker.id)) for marker in shown])


@bp.post("/plans/<int:version_id>/markers")
@permission(Permission.EDIT_RECORDS)
def place_marker(version_id: int) -> ResponseReturnValue:
    version = plans.get_version(current_user, version_id)
    marker = markers.place_on(version, json_body(), by=current_user)
    return _marker_response(marker, 201)


@bp.get("/markers/<int:marker_id>")
@permission(Permission.READ_RECORDS)
def get_marker(marker_id: int) -> ResponseReturnValue:
    return _marker_response(markers.get_marker(current_user, marker_id))


@bp.route("/markers/<int:marker_id>", methods=["PATCH", "DELETE"])
@permission(Permission.EDIT_RECORDS)
def change_marker(marker_id: int) -> ResponseReturnValue:
    marker = markers.get_marker(current_user, marker_id, edit=True)
    if request.method == "DELETE":
        photos.forget_marker(marker)  # its photo's stored sizes, once the deletion is committed
        markers.delete(marker, by=current_user)
        return "", 204
    body = json_body()
    page = markers.page_by_number(marker.page.version, body.pop("page")) if "page" in body else None
    markers.update(marker, body, by=current_user, page=page)
    return _marker_response(marker)


@bp.post("/markers/<int:marker_id>/confirm")
@permission(Permission.EDIT_RECORDS)
def confirm_marker(marker_id: int) -> ResponseReturnValue:
    marker = markers.confirm(markers.get_marker(current_user, marker_id, edit=True), by=current_user)
    return _marker_response(marker)


# --- the OpenAPI description (merged into blueprints/api/openapi.py) -----------------------

def _schema(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _answer(description: str, schema: Mapping[str, object] | None = None) -> dict[str, object]:
    if schema is None:
        return {"description": description}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_POSITION = {
    "page": {"type": "integer", "minimum": 1,
             "description": "The page's number in the PDF (pages[].number of the plan version)."},
    "x": {"type": "number", "minimum": 0, "maximum": 1,
          "description": "From the page's left edge (0) to its right edge (1); up to 0.05 past an edge is clamped."},
    "y": {"type": "number", "minimum": 0, "maximum": 1,
          "description": "From the page's top edge (0) to its bottom edge (1)."},
}
NEW_MARKER = {
    "type": "object", "additionalProperties": False, "required": ["page", "kind", "x", "y"],
    "properties": {**_POSITION, **markers.MARKER_FIELDS.openapi()["properties"]},
}
MARKER_CHANGE = {
    "type": "object", "additionalProperties": False,
    "description": "Only the fields given change.  Moving (x, y, page) a carried-over marker confirms it.",
    "properties": {**_POSITION, **markers.MARKER_FIELDS.openapi(required=False)["properties"]},
}
MARKER_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "page_id": {"type": "integer"},
        **_POSITION,
        **markers.MARKER_FIELDS.openapi()["properties"],
        "kind_label": {"type": "string", "description": "What the legend calls the kind."},
        "door": {"type": "string", "description": "A door's side and number as said on the radio, e.g. A1."},
        "needs_confirmation": {
            "type": "boolean", "description": "Carried over from the previous version: the partner has not checked it.",
        },
        "carried_from_id": {"type": "integer", "nullable": True},
        "updated_at": {"type": "string", "format": "date-time"},
        "photo": {"allOf": [_schema("Photo")], "nullable": True,
                  "description": "The photo of what the marker stands for (the shut-off, the key box), or null."},
    },
}
_ERRORS = {code: {"$ref": f"#/components/responses/{name}"}
           for code, name in (("401", "Unauthorized"), ("403", "Forbidden"), ("404", "NotFound"))}
_WRITE_ERRORS = {
    **_ERRORS,
    "400": _answer("The body is not a JSON object.", _schema("Error")),
    "409": _answer("The version is not ready (still rendering, or cleaned up).", _schema("Error")),
    "413": _answer("The body is larger than BODY_MAX_KB (256 KB by default).", _schema("Error")),
    "422": _answer("A field is invalid; `fields` says which and why.", _schema("Error")),
}
_ID = {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_RECORD_ID}
_VERSION_ID = {"name": "version_id", "in": "path", "required": True, "schema": _ID}
_MARKER_ID = {"name": "marker_id", "in": "path", "required": True, "schema": _ID}
MARKER_PATHS = {
    "/plans/{version_id}/markers": {
        "parameters": [_VERSION_ID],
        "get": {
            "summary": "The markers on a plan version's pages (doors, AEDs, shut-offs...)",
            "responses": {"200": _answer("The markers; the read is logged.", {
                "type": "object", "properties": {"markers": {"type": "array", "items": _schema("Marker")}}}),
                **_ERRORS},
        },
        "post": {
            "summary": "Place a marker on a page of a ready version (partners: their buildings; admins)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": NEW_MARKER}}},
            "responses": {"201": _answer("The new marker; Location is its address.", _schema("Marker")),
                          **_WRITE_ERRORS},
        },
    },
    "/markers/{marker_id}": {
        "parameters": [_MARKER_ID],
        "get": {"summary": "One marker", "responses": {"200": _answer("The marker.", _schema("Marker")), **_ERRORS}},
        "patch": {
            "summary": "Move or edit a marker",
            "requestBody": {"required": True, "content": {"application/json": {"schema": MARKER_CHANGE}}},
            "responses": {"200": _answer("The marker.", _schema("Marker")), **_WRITE_ERRORS},
        },
        "delete": {"summary": "Remove a marker", "responses": {"204": _answer("Removed."), **_ERRORS}},
    },
    "/markers/{marker_id}/confirm": {
        "parameters": [_MARKER_ID],
        "post": {
            "summary": "Confirm a carried-over marker is in the right place (clears needs_confirmation)",
            "responses": {"200": _answer("The marker.", _schema("Marker")), **_ERRORS},
        },
    },
}
