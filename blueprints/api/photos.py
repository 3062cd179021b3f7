"""Photos through the API: each size of a photo (the ``url``s of a building's ``photos`` and
of a marker's ``photo``), and for partners: upload one (multipart, like a plan) and delete
one.  The same rules as the portal and the in-car view (services.photos)."""
from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.api import bp
from blueprints.api.bodies import uploaded_file
from blueprints.limits import count_upload
from blueprints.response.photos import photo_response
from floorplans.auth import permission
from floorplans.bounds import MAX_RECORD_ID
from floorplans.permissions import Permission
from floorplans.representations import photo_json
from floorplans.services import buildings, photos


@bp.get("/photos/<int:photo_id>/<photo_token>/<int:size>.webp")
@permission(Permission.READ_RECORDS)
def photo(photo_id: int, photo_token: str, size: int) -> ResponseReturnValue:
    return photo_response(photo_id, photo_token, size)  # the in-car route's answer


@bp.post("/buildings/<int:building_id>/photos")
@permission(Permission.EDIT_RECORDS)
def upload_photo(building_id: int) -> ResponseReturnValue:
    building = buildings.get_editable(current_user, building_id)
    upload = uploaded_file(photos.PhotoRejected(
        "Send the photo (JPEG, PNG or HEIC) as multipart/form-data in a field named 'file', with 'subject' "
        "(front, entrance or marker) and, for a marker, 'marker_id'."
    ))
    subject = request.form.get("subject", "")
    marker = photos.marker_of(building, request.form.get("marker_id", type=int)) if subject == "marker" else None
    count_upload()
    building = buildings.get_editable(current_user, building_id)
    marker = photos.marker_of(building, marker.id) if marker is not None else None
    added = photos.add(current_user, building, upload.stream, subject=subject, marker=marker,
                       caption=request.form.get("caption", ""))
    return jsonify(photo_json(added)), 201


@bp.delete("/photos/<int:photo_id>")
@permission(Permission.EDIT_RECORDS)
def delete_photo(photo_id: int) -> ResponseReturnValue:
    photos.delete(current_user, photos.get_own(current_user, photo_id))
    return "", 204


def _answer(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"description": description}
    if schema is not None:
        body["content"] = {"application/json": {"schema": schema}}
    return body


_SIZE = {"type": "object", "properties": {
    "size": {"type": "integer", "description": "The long side asked for (320 or 1280)."},
    "width": {"type": "integer"}, "height": {"type": "integer"}, "bytes": {"type": "integer"},
    "url": {"type": "string", "description": "Send the same credentials; cached for good (the token changes "
                                             "when the photo is replaced)."},
}}  # fmt: skip
PHOTO_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "subject": {"type": "string", "enum": ["front", "entrance", "marker"]},
        "marker_id": {"type": "integer", "nullable": True},
        "caption": {"type": "string"},
        "width": {"type": "integer", "description": "The upright photo as received, in pixels."},
        "height": {"type": "integer"},
        "uploaded_at": {"type": "string", "format": "date-time"},
        "small": {"type": "string", "nullable": True, "description": "URL of the smallest size."},
        "large": {"type": "string", "nullable": True, "description": "URL of the largest size."},
        "sizes": {"type": "array", "items": _SIZE},
    },
}
_ERRORS = {code: {"$ref": f"#/components/responses/{name}"}
           for code, name in (("401", "Unauthorized"), ("403", "Forbidden"), ("404", "NotFound"))}
_ID = {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_RECORD_ID}
_IMAGE = {"description": "A WebP image, upright, without metadata; Cache-Control: private, immutable.",
          "content": {"image/webp": {"schema": {"type": "string", "format": "binary"}}}}
PHOTO_PATHS: dict[str, Any] = {
    "/buildings/{building_id}/photos": {
        "parameters": [{"name": "building_id", "in": "path", "required": True, "schema": _ID}],
        "post": {
            "summary": "Add a photo of the building's front, an entrance or a marker (partners: their buildings)",
            "description": "JPEG, PNG or HEIC from a phone: turned upright, every metadata field (GPS included) "
                           "removed, kept as WebP 320 and 1280 px on the long side. A second photo of the front, "
                           "or of the same marker, replaces the first.",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file", "subject"],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "subject": {"type": "string", "enum": ["front", "entrance", "marker"]},
                    "marker_id": {"type": "integer", "description": "For subject marker: one of the building's."},
                    "caption": {"type": "string", "maxLength": photos.CAPTION_MAX},
                }}}}},
            "responses": {
                "201": _answer("The photo.", {"$ref": "#/components/schemas/Photo"}),
                "422": _answer("Not a photo we can keep (the message says why and what to do), or a field is "
                               "invalid.", {"$ref": "#/components/schemas/Error"}),
                "429": _answer("Too many uploads: try again after Retry-After seconds.",
                               {"$ref": "#/components/schemas/Error"}),
                **_ERRORS,
            },
        },
    },
    "/photos/{photo_id}": {
        "parameters": [{"name": "photo_id", "in": "path", "required": True, "schema": _ID}],
        "delete": {"summary": "Delete a photo (partners: their buildings)",
                   "responses": {"204": _answer("Deleted."), **_ERRORS}},
    },
    "/photos/{photo_id}/{photo_token}/{size}.webp": {
        "parameters": [
            {"name": "photo_id", "in": "path", "required": True, "schema": _ID},
            {"name": "photo_token", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "size", "in": "path", "required": True, "schema": {"type": "integer", "enum": list(photos.SIZES)}},
        ],
        "get": {"summary": "One size of a photo (use the url of a photo's sizes)",
                "responses": {"200": _IMAGE, "304": {"description": "Not modified (If-None-Match)."}, **_ERRORS}},
    },
}
