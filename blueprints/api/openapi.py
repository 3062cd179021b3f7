"""The OpenAPI 3.0 document of API v1, built from the same field declarations that
validate the input, so the description cannot drift from the behaviour."""
from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from blueprints.api import bp
from blueprints.api.markers import MARKER_PATHS, MARKER_SCHEMA
from blueprints.api.photos import PHOTO_PATHS, PHOTO_SCHEMA
from blueprints.api.tiles import TILE_PATHS
from blueprints.api.tokens import TOKEN_PATHS, TOKEN_SCHEMA
from floorplans.auth import permission
from floorplans.bounds import MAX_RECORD_ID
from floorplans.permissions import Permission
from floorplans.services.buildings import BUILDING_FIELDS
from floorplans.services.contacts import CONTACT_FIELDS
from floorplans.services.gatherings import GATHERING_FIELDS
from floorplans.services.rooms import MAX_QUERY_CHARS as ROOM_QUERY_CHARS


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "403": {"$ref": "#/components/responses/Forbidden"},
    "404": {"$ref": "#/components/responses/NotFound"},
}
#: Operations that read a query string: a value that is not what the parameter takes (or
#: holds a control character, floorplans.bounds) is refused.
QUERY_ERRORS = {
    **ERRORS,
    "422": _json(_ref("Error"), "A query parameter is invalid; `fields` says which and why."),
}
WRITE_ERRORS = {
    **ERRORS,
    "400": _json(_ref("Error"), "The body is not a JSON object."),
    "409": _json(_ref("Error"), "Someone else changed the building first (If-Match did not match)."),
    "413": _json(_ref("Error"), "The body is too large: a plan upload over UPLOAD_MAX_MB, any other body over "
                                "BODY_MAX_KB (256 KB by default)."),
    "422": _json(_ref("Error"), "A field is invalid; `fields` says which and why."),
}
#: Packets per account and uploads per congregation are limited (services.quotas).
OVER_QUOTA = {"429": {**_json(_ref("Error"), "Over a quota: wait as long as Retry-After says."),
                      "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds."}}}}
#: A record's id: a number past it names no record (404), as someone else's record does.
ID_SCHEMA = {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_RECORD_ID}


def _id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": ID_SCHEMA}


def _file(mimetype: str, description: str) -> dict[str, Any]:
    return {"description": description + " Sent as an attachment, Cache-Control: no-store.",
            "content": {mimetype: {"schema": {"type": "string", "format": "binary"}}}}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


BUILDING_ID = _id("building_id")
GEOJSON = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "coordinates": {"type": "string", "description": "What the coordinates are (page pixels, not WGS84)."},
        "building": {"type": "object"},
        "plan_version": {"type": "integer", "nullable": True},
        "features": {"type": "array", "items": {"type": "object", "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "integer"},
            "geometry": {"type": "object"},
            "properties": {"type": "object"},
        }}},
    },
}
REMOVED = {"description": "Removed."}


ROOM_MATCH = {
    "type": "object",
    "required": ["text", "floor", "page", "x", "y", "cell"],
    "properties": {
        "text": {"type": "string", "description": "The label as the plan prints it."},
        "floor": {"type": "string", "description": "The sheet's name in the floor switcher."},
        "page": {"type": "integer", "description": "Page number in the PDF."},
        "x": {"type": "number", "minimum": 0, "maximum": 1, "description": "The label's centre, 0 = left edge."},
        "y": {"type": "number", "minimum": 0, "maximum": 1, "description": "The label's centre, 0 = top edge."},
        "cell": {"type": "string", "description": "The grid cell the plan draws there (\"C4\")."},
    },
}
PLAN_PAGE = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "number": {"type": "integer", "description": "Page number in the PDF."},
        "position": {"type": "integer", "description": "Order in the floor switcher."},
        "label": {"type": "string"},
        "hidden": {"type": "boolean", "description": "Hidden from officers by the partner (a cover, elevations...)."},
        "width_pt": {"type": "number"},
        "height_pt": {"type": "number"},
        "north_degrees": {"type": "number", "nullable": True,
                          "description": "Degrees clockwise from the page's up to true north; null: unknown."},
        "width": {"type": "integer", "description": "Pixels at full zoom (ready versions)."},
        "height": {"type": "integer"},
        "tile_size": {"type": "integer"},
        "min_zoom": {"type": "integer"},
        "max_zoom": {"type": "integer"},
        "format": {"type": "string"},
        "kind": {"type": "string", "enum": ["vector", "scan"]},
        "background": {"type": "string"},
        "tile_url": {"type": "string", "description": "Template with {z}, {x}, {y} (under /api/v1/tiles/, or a "
                     "signed URL of the tile front); send the same credentials."},
        "overview_url": {"type": "string"},
        "markers": {"type": "array", "items": _ref("Marker"), "description": "Ready versions: the page's markers."},
    },
}
PLAN_VERSION = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "building_id": {"type": "integer"},
        "number": {"type": "integer"},
        "state": {"type": "string", "enum": ["queued", "rendering", "ready", "failed"]},
        "status": {"type": "string", "enum": ["queued", "rendering", "failed", "draft", "published", "earlier",
                                              "cleaned"],
                   "description": "draft: rendered, waiting for its partner to review and publish it (officers "
                                  "never see a draft); published: what officers see now; earlier: published before."},
        "published": {"type": "boolean"},
        "filename": {"type": "string"},
        "bytes": {"type": "integer"},
        "page_count": {"type": "integer"},
        "progress": {"type": "object", "properties": {
            name: {"type": "integer"} for name in
            ("percent", "pages_done", "pages_total", "pages_stored", "tiles_rendered", "tiles_stored",
             "tiles_total")}},
        "error": {"type": "string", "nullable": True, "description": "Why it failed and what to do."},
        "created_at": {"type": "string", "format": "date-time"},
        "finished_at": {"type": "string", "format": "date-time", "nullable": True},
        "published_at": {"type": "string", "format": "date-time", "nullable": True},
        "pages": {"type": "array", "items": PLAN_PAGE},
    },
}


def document(server_url: str) -> dict[str, Any]:
    with_id = {"id": {"type": "integer", "readOnly": True}}
    contact = CONTACT_FIELDS.openapi()
    contact["properties"] = {**with_id, "position": {"type": "integer"}, **contact["properties"]}
    gathering = GATHERING_FIELDS.openapi()
    gathering["properties"] = {**with_id, **gathering["properties"]}
    new_building = BUILDING_FIELDS.openapi()
    new_building["properties"] = {
        "organisation_id": {
            **ID_SCHEMA,
            "description": "Administrators only: the congregation that owns the building.",
        },
        **new_building["properties"],
    }
    summary = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "address": {"type": "string"},
            "organisation": {
                "type": "object",
                "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
            },
            "faith_tradition": {"type": "string"},
            "latitude": {"type": "number", "nullable": True},
            "longitude": {"type": "number", "nullable": True},
            "last_verified_at": {"type": "string", "format": "date-time", "nullable": True},
        },
    }
    record = {
        "allOf": [
            _ref("BuildingSummary"),
            BUILDING_FIELDS.openapi(required=False, closed=False),
            {
                "type": "object",
                "properties": {
                    "row_version": {"type": "integer", "description": "Also sent as the ETag."},
                    "updated_at": {"type": "string", "format": "date-time"},
                    "last_verified_by": {"type": "string", "nullable": True},
                    "contacts": {"type": "array", "items": _ref("Contact")},
                    "gatherings": {"type": "array", "items": _ref("Gathering")},
                    "plan": {"allOf": [_ref("PlanVersion")], "nullable": True,
                             "description": "The published plan, or null."},
                    "photos": {"type": "array", "items": _ref("Photo"),
                               "description": "The front, the entrances, and the published plan's markers' photos "
                                              "the caller may see."},
                },
            },
        ]
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "floorplans API",
            "version": "1",
            "description": "Building records of places of worship for police response. "
            "Authenticate with 'Authorization: Bearer <token>' (flask --app wsgi tokens create). A token "
            "counts under /api/ only; a read-only token may only GET (anything else answers 403); a token "
            "stops working when revoked, when it expires, when its account's password changes or when the "
            "account is disabled (401), and it can never change an account, a password or two-factor sign-in.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "paths": {
            "/buildings": {
                "get": {
                    "summary": "Search buildings by name or address",
                    "parameters": [
                        {"name": "q", "in": "query", "schema": {"type": "string"},
                         "description": 'Words of the name or address; "123 main st" finds "123 Main Street".'},
                        {"name": "limit", "in": "query",
                         "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
                    ],
                    "responses": {
                        "200": _json(
                            {"type": "object",
                             "properties": {"buildings": {"type": "array", "items": _ref("BuildingSummary")}}},
                            "Matching buildings the caller may read.",
                        ),
                        "401": ERRORS["401"],
                        "422": QUERY_ERRORS["422"],
                    },
                },
                "post": {
                    "summary": "Add a building (partners: to their congregation; admins: any)",
                    "requestBody": _body(new_building),
                    "responses": {"201": _json(_ref("Building"), "The new record."), **WRITE_ERRORS},
                },
            },
            "/buildings/{building_id}": {
                "parameters": [BUILDING_ID],
                "get": {
                    "summary": "The whole record: building, contacts, gatherings",
                    "responses": {"200": _json(_ref("Building"), "The record; the read is logged."), **ERRORS},
                },
                "patch": {
                    "summary": "Change some fields of a building",
                    "parameters": [{"name": "If-Match", "in": "header", "schema": {"type": "string"},
                                    "description": "The ETag of the copy the change is based on."}],
                    "requestBody": _body(BUILDING_FIELDS.openapi(required=False)),
                    "responses": {"200": _json(_ref("Building"), "The changed record."), **WRITE_ERRORS},
                },
            },
            "/buildings/{building_id}/verify": {
                "parameters": [BUILDING_ID],
                "post": {
                    "summary": "Confirm the record is current today",
                    "responses": {"200": _json(_ref("Building"), "The record."), **ERRORS},
                },
            },
            "/buildings/{building_id}/rooms": {
                "parameters": [BUILDING_ID],
                "get": {
                    "summary": "Find a room on the plan officers see (its shown sheets)",
                    "description": "Labels the plan prints (its text, or OCR of a scanned sheet), matched without "
                                   "regard to case or accents and forgiving small typos; room numbers match "
                                   "exactly or as a prefix (\"204\" finds 204 and 204A). Best first. No shown "
                                   "plan: no matches. The read is logged.",
                    "parameters": [{"name": "q", "in": "query", "required": True,
                                    "schema": {"type": "string", "minLength": 1, "maxLength": ROOM_QUERY_CHARS},
                                    "description": "A room's name or number: kitchen, nursery, 204, stairs."}],
                    "responses": {
                        "200": _json(
                            {"type": "object", "required": ["matches"],
                             "properties": {"matches": {"type": "array", "items": _ref("RoomMatch")}}},
                            "The matches (at most 50).",
                        ),
                        "400": _json(_ref("Error"), "q is empty, too long or has no letter or digit."),
                        **QUERY_ERRORS,
                    },
                },
            },
            "/buildings/{building_id}/contacts": {
                "parameters": [BUILDING_ID],
                "post": {
                    "summary": "Add an emergency contact (called after the existing ones)",
                    "requestBody": _body(CONTACT_FIELDS.openapi()),
                    "responses": {"201": _json(_ref("Contact"), "The new contact."), **WRITE_ERRORS},
                },
            },
            "/buildings/{building_id}/contacts/{contact_id}": {
                "parameters": [BUILDING_ID, _id("contact_id")],
                "patch": {
                    "summary": "Change a contact; `position` moves it in the calling order",
                    "requestBody": _body({"allOf": [
                        CONTACT_FIELDS.openapi(required=False),
                        {"type": "object", "properties": {"position": {"type": "integer"}}},
                    ]}),
                    "responses": {"200": _json(_ref("Contact"), "The contact."), **WRITE_ERRORS},
                },
                "delete": {"summary": "Remove a contact", "responses": {"204": REMOVED, **ERRORS}},
            },
            "/buildings/{building_id}/gatherings": {
                "parameters": [BUILDING_ID],
                "post": {
                    "summary": "Add a gathering to the schedule",
                    "requestBody": _body(GATHERING_FIELDS.openapi()),
                    "responses": {"201": _json(_ref("Gathering"), "The new gathering."), **WRITE_ERRORS},
                },
            },
            "/buildings/{building_id}/gatherings/{gathering_id}": {
                "parameters": [BUILDING_ID, _id("gathering_id")],
                "patch": {
                    "summary": "Change a gathering",
                    "requestBody": _body(GATHERING_FIELDS.openapi(required=False)),
                    "responses": {"200": _json(_ref("Gathering"), "The gathering."), **WRITE_ERRORS},
                },
                "delete": {"summary": "Remove a gathering", "responses": {"204": REMOVED, **ERRORS}},
            },
            "/buildings/{building_id}/plans": {
                "parameters": [BUILDING_ID],
                "post": {
                    "summary": "Upload the building's plans (a PDF, or a JPEG, PNG or HEIC photo of the plan, which "
                               "becomes a one-page PDF): validated now, rendered in the background",
                    "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                        "type": "object", "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}}}}}},
                    "responses": {
                        "202": _json(_ref("PlanVersion"), "Accepted: queued for rendering; follow Location."),
                        **WRITE_ERRORS, **OVER_QUOTA,
                    },
                },
            },
            "/buildings/{building_id}/export/packet.pdf": {
                "parameters": [BUILDING_ID],
                "get": {
                    "summary": "The printed packet: the card, then every floor with grid, markers, legend and north",
                    "parameters": [
                        {"name": "paper", "in": "query",
                         "schema": {"type": "string", "enum": ["letter", "tabloid", "a4", "a3"], "default": "letter"}},
                        {"name": "exercise", "in": "query", "schema": ID_SCHEMA,
                         "description": "Draw this exercise's layer (its planners and administrators only)."},
                    ],
                    "responses": {"200": _file("application/pdf", "The packet; the download is logged."),
                                  **QUERY_ERRORS, **OVER_QUOTA},
                },
            },
            "/buildings/{building_id}/export/markers.geojson": {
                "parameters": [BUILDING_ID],
                "get": {
                    "summary": "Markers as a GeoJSON FeatureCollection in page pixels at full zoom (y down, not WGS84)",
                    "parameters": [{"name": "version", "in": "query", "schema": ID_SCHEMA,
                                    "description": "A ready plan version's id; default: the published plan."}],
                    "responses": {"200": {"description": "One Point Feature per marker; logged. Sent as an "
                                                         "attachment, Cache-Control: no-store.",
                                          "content": {"application/geo+json": {"schema": GEOJSON}}},
                                  **QUERY_ERRORS},
                },
            },
            "/buildings/{building_id}/export/pages/{page}.png": {
                "parameters": [BUILDING_ID, {"name": "page", "in": "path", "required": True,
                                             "schema": {"type": "integer"},
                                             "description": "The page's number in the PDF (as in tile URLs)."}],
                "get": {
                    "summary": "One page of the published plan as PNG",
                    "parameters": [
                        {"name": "width", "in": "query", "schema": {"type": "integer", "default": 2000},
                         "description": "Pixels; at most the page's full-zoom width and 16 million pixels."},
                        {"name": "grid", "in": "query", "schema": {"type": "boolean", "default": True}},
                        {"name": "markers", "in": "query", "schema": {"type": "boolean", "default": True}},
                    ],
                    "responses": {"200": _file("image/png", "The page; the download is logged."), **QUERY_ERRORS},
                },
            },
            "/plans/{version_id}": {
                "parameters": [_id("version_id")],
                "get": {
                    "summary": "A plan version: state, progress, error and pages",
                    "description": "Officers and planners see published versions only, without hidden sheets.",
                    "responses": {"200": _json(_ref("PlanVersion"), "The version."), **ERRORS},
                },
                "delete": {
                    "summary": "Delete a draft or a failed version, with its tiles (its partner, administrators)",
                    "responses": {
                        "204": {"description": "Deleted."},
                        "409": _json(_ref("Error"), "Officers have seen it, or it is still being prepared."),
                        **ERRORS,
                    },
                },
            },
            "/plans/{version_id}/publish": {
                "parameters": [_id("version_id")],
                "post": {
                    "summary": "Publish a reviewed draft: officers see it from now (its partner, administrators)",
                    "responses": {
                        "200": _json(_ref("PlanVersion"), "Published (or it already was)."),
                        "409": _json(_ref("Error"), "Not yet: carried-over markers unchecked, two shown sheets "
                                                    "with one name, every sheet hidden, or not ready."),
                        **ERRORS,
                    },
                },
            },
            **MARKER_PATHS,
            **PHOTO_PATHS,
            **TILE_PATHS,
            **TOKEN_PATHS,
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {"type": "string", "description": "What is wrong and what to do."},
                        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                },
                "BuildingSummary": summary,
                "RoomMatch": ROOM_MATCH,
                "Building": record,
                "Contact": contact,
                "Gathering": gathering,
                "PlanVersion": PLAN_VERSION,
                "Marker": MARKER_SCHEMA,
                "Photo": PHOTO_SCHEMA,
                "ApiToken": TOKEN_SCHEMA,
            },
            "responses": {
                "Unauthorized": _json(_ref("Error"), "No valid bearer token: none, unknown, revoked, expired, "
                                      "or ended by its account's password change or disabling."),
                "Forbidden": _json(_ref("Error"), "The token's account may not do this, or the token is "
                                   "read-only and this is not a GET."),
                "NotFound": _json(_ref("Error"), "No such record, or not the caller's to see."),
            },
        },
    }


@bp.get("/openapi.json")
@permission(Permission.SIGNED_IN)
def openapi_document() -> ResponseReturnValue:
    return jsonify(document(request.url_root.rstrip("/") + "/api/v1"))
