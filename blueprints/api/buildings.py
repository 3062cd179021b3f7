"""Buildings, their contacts and gatherings, as JSON."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.api import bp
from blueprints.api.bodies import json_body
from blueprints.reads import log_read
from floorplans.auth import permission
from floorplans.bounds import record_id
from floorplans.errors import InvalidInput
from floorplans.models import Building, Contact
from floorplans.permissions import Permission
from floorplans.representations import building_record, building_summary, contact_json, gathering_json, photo_json
from floorplans.services import buildings, contacts, gatherings, photos


def _expected_version() -> int | None:
    """An ``If-Match: "<row_version>"`` header makes an update conditional."""
    header = request.headers.get("If-Match", "").strip().removeprefix("W/").strip('"')
    if not header:
        return None
    if not header.isdigit():
        raise InvalidInput({"If-Match": "must be the building's ETag from a previous GET."})
    return int(header)


def _record_response(building: Any, status: int = 200) -> ResponseReturnValue:
    # The photos the caller may see: the front and entrances, and the published plan's
    # markers' (all of them for its congregation).
    seen = photos.readable_photos(current_user, building)
    response = jsonify({**building_record(building), "photos": [photo_json(photo) for photo in seen]})
    response.status_code = status
    response.headers["ETag"] = f'"{building.row_version}"'
    if status == 201:
        response.headers["Location"] = url_for("api.get_building", building_id=building.id)
    return response


@bp.get("/buildings")
@permission(Permission.READ_RECORDS)
def list_buildings() -> ResponseReturnValue:
    limit = max(1, min(request.args.get("limit", 50, type=int), 200))
    found = buildings.search(current_user, request.args.get("q", ""), limit=limit)
    return jsonify(buildings=[building_summary(b) for b in found])


@bp.post("/buildings")
@permission(Permission.EDIT_RECORDS)
def create_building() -> ResponseReturnValue:
    body = json_body()
    organisation_id = body.pop("organisation_id", None)
    if organisation_id is not None:
        organisation_id = record_id(organisation_id, "organisation_id")
    organisation = buildings.organisation_for_new_building(current_user, organisation_id)
    building = buildings.create_building(organisation, body, by=current_user)
    return _record_response(building, 201)


@bp.get("/buildings/<int:building_id>")
@permission(Permission.READ_RECORDS)
def get_building(building_id: int) -> ResponseReturnValue:
    building = buildings.get_readable(current_user, building_id)
    log_read(building, "view_record")
    return _record_response(building)


@bp.patch("/buildings/<int:building_id>")
@permission(Permission.EDIT_RECORDS)
def update_building(building_id: int) -> ResponseReturnValue:
    building = buildings.get_editable(current_user, building_id)
    body = json_body()
    if "row_version" in body:
        raise InvalidInput({"row_version": "is read-only: send it as an If-Match header instead."})
    buildings.update_building(building, body, partial=True, expected_version=_expected_version())
    return _record_response(building)


@bp.post("/buildings/<int:building_id>/verify")
@permission(Permission.EDIT_RECORDS)
def verify_building(building_id: int) -> ResponseReturnValue:
    building = buildings.get_editable(current_user, building_id)
    buildings.verify_building(building, by=current_user)
    return _record_response(building)


def _add_item(building_id: int, add: Callable[[Building, dict[str, Any]], Any],
              as_json: Callable[[Any], dict[str, Any]]) -> ResponseReturnValue:
    """A contact or a gathering added to the building from the request's JSON."""
    item = add(buildings.get_editable(current_user, building_id), json_body())
    return jsonify(as_json(item)), 201


def _change_item(building_id: int, item_id: int, find: Callable[[Building, int], Any],
                 delete: Callable[[Any], None], change: Callable[[Any, dict[str, Any]], Any],
                 as_json: Callable[[Any], dict[str, Any]]) -> ResponseReturnValue:
    """A contact or a gathering of the building deleted (DELETE) or changed by the fields sent (PATCH)."""
    item = find(buildings.get_editable(current_user, building_id), item_id)
    if request.method == "DELETE":
        delete(item)
        return "", 204
    change(item, json_body())
    return jsonify(as_json(item))


def _change_contact(contact: Contact, body: dict[str, Any]) -> None:
    position = body.pop("position", None)
    contacts.update_contact(contact, body, partial=True)
    if position is not None:
        if not isinstance(position, int) or isinstance(position, bool):
            raise InvalidInput({"position": "must be a whole number (1 is called first)."})
        contacts.move_contact(contact, position - contact.position)


@bp.post("/buildings/<int:building_id>/contacts")
@permission(Permission.EDIT_RECORDS)
def add_contact(building_id: int) -> ResponseReturnValue:
    return _add_item(building_id, contacts.add_contact, contact_json)


@bp.route("/buildings/<int:building_id>/contacts/<int:contact_id>", methods=["PATCH", "DELETE"])
@permission(Permission.EDIT_RECORDS)
def change_contact(building_id: int, contact_id: int) -> ResponseReturnValue:
    return _change_item(building_id, contact_id, contacts.contact_of, contacts.delete_contact, _change_contact,
                        contact_json)


@bp.post("/buildings/<int:building_id>/gatherings")
@permission(Permission.EDIT_RECORDS)
def add_gathering(building_id: int) -> ResponseReturnValue:
    return _add_item(building_id, gatherings.add_gathering, gathering_json)


@bp.route("/buildings/<int:building_id>/gatherings/<int:gathering_id>", methods=["PATCH", "DELETE"])
@permission(Permission.EDIT_RECORDS)
def change_gathering(building_id: int, gathering_id: int) -> ResponseReturnValue:
    return _change_item(building_id, gathering_id, gatherings.gathering_of, gatherings.delete_gathering,
                        lambda gathering, body: gatherings.update_gathering(gathering, body, partial=True),
                        gathering_json)


