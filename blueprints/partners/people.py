"""A building's emergency contacts and its gathering schedule.

Both are lists of small records belonging to one building, listed with an "add" form, edited
one by one and removed; one set of view bodies serves both (``ItemKind``), while each route
stays declared where it can be read."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.forms import attempt
from blueprints.partners import bp
from blueprints.reads import log_read
from floorplans.auth import permission
from floorplans.fields import RecordFields, form_values, record_values
from floorplans.models import Building
from floorplans.permissions import Permission
from floorplans.services import buildings, contacts, gatherings


@dataclass(frozen=True)
class ItemKind:
    endpoint: str  # the list page, e.g. "partners.contacts"
    name: str  # what the edit template calls one item
    fields: RecordFields
    add: Callable[[Building, Mapping[str, Any]], Any]
    update: Callable[[Any, Mapping[str, Any]], Any]
    delete: Callable[[Any], None]
    find: Callable[[Building, int], Any]
    list_template: str
    form_template: str
    added: Callable[[Any], str]
    removed: Callable[[Any], str]


CONTACTS = ItemKind(
    endpoint="partners.contacts", name="contact", fields=contacts.CONTACT_FIELDS,
    add=contacts.add_contact, update=contacts.update_contact, delete=contacts.delete_contact,
    find=contacts.contact_of, list_template="partners/contacts.html", form_template="partners/contact_form.html",
    added=lambda c: f"{c.name} is added.", removed=lambda c: f"{c.name} is removed from the contacts.",
)
GATHERINGS = ItemKind(
    endpoint="partners.gatherings", name="gathering", fields=gatherings.GATHERING_FIELDS,
    add=gatherings.add_gathering, update=gatherings.update_gathering, delete=gatherings.delete_gathering,
    find=gatherings.gathering_of, list_template="partners/gatherings.html",
    form_template="partners/gathering_form.html",
    added=lambda g: f"{g.label} is added to the schedule.",
    removed=lambda g: f"{g.label} is removed from the schedule.",
)


def _log_read(record: Building) -> None:
    """An administrator reading a congregation's contacts or schedule is an outside read."""
    if request.method == "GET":
        log_read(record, "view_record")


def list_and_add(kind: ItemKind, building_id: int) -> ResponseReturnValue:
    record = buildings.get_editable(current_user, building_id)
    _log_read(record)
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = form_values(request.form, kind.fields)
        item, errors = attempt(lambda: kind.add(record, values))
        if errors:
            record = buildings.get_editable(current_user, building_id)
        else:
            flash(kind.added(item), "success")
            return redirect(url_for(kind.endpoint, building_id=record.id))
    return render_template(
        kind.list_template, building=record, fields=kind.fields, values=values, errors=errors
    ), (422 if errors else 200)


def edit_item(kind: ItemKind, building_id: int, item_id: int) -> ResponseReturnValue:
    record = buildings.get_editable(current_user, building_id)
    item = kind.find(record, item_id)
    _log_read(record)
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = form_values(request.form, kind.fields)
        _, errors = attempt(lambda: kind.update(item, values))
        if not errors:
            flash("Saved.", "success")
            return redirect(url_for(kind.endpoint, building_id=record.id))
    else:
        values = record_values(item, kind.fields)
    return render_template(
        kind.form_template, building=record, fields=kind.fields, values=values, errors=errors, **{kind.name: item}
    ), (422 if errors else 200)


def delete_item(kind: ItemKind, building_id: int, item_id: int) -> ResponseReturnValue:
    record = buildings.get_editable(current_user, building_id)
    item = kind.find(record, item_id)
    message = kind.removed(item)
    kind.delete(item)
    flash(message, "success")
    return redirect(url_for(kind.endpoint, building_id=record.id))


@bp.route("/buildings/<int:building_id>/contacts", methods=["GET", "POST"], endpoint="contacts")
@permission(Permission.EDIT_RECORDS)
def contacts_page(building_id: int) -> ResponseReturnValue:
    return list_and_add(CONTACTS, building_id)


@bp.route("/buildings/<int:building_id>/contacts/<int:contact_id>", methods=["GET", "POST"])
@permission(Permission.EDIT_RECORDS)
def edit_contact(building_id: int, contact_id: int) -> ResponseReturnValue:
    return edit_item(CONTACTS, building_id, contact_id)


@bp.route("/buildings/<int:building_id>/contacts/<int:contact_id>/delete", methods=["POST"])
@permission(Permission.EDIT_RECORDS)
def delete_contact(building_id: int, contact_id: int) -> ResponseReturnValue:
    return delete_item(CONTACTS, building_id, contact_id)


@bp.route("/buildings/<int:building_id>/contacts/<int:contact_id>/move", methods=["POST"])
@permission(Permission.EDIT_RECORDS)
def move_contact(building_id: int, contact_id: int) -> ResponseReturnValue:
    record = buildings.get_editable(current_user, building_id)
    contact = contacts.contact_of(record, contact_id)
    contacts.move_contact(contact, -1 if request.form.get("direction") == "up" else 1)
    return redirect(url_for("partners.contacts", building_id=record.id))


@bp.route("/buildings/<int:building_id>/gatherings", methods=["GET", "POST"], endpoint="gatherings")
@permission(Permission.EDIT_RECORDS)
def gatherings_page(building_id: int) -> ResponseReturnValue:
    return list_and_add(GATHERINGS, building_id)


@bp.route("/buildings/<int:building_id>/gatherings/<int:gathering_id>", methods=["GET", "POST"])
@permission(Permission.EDIT_RECORDS)
def edit_gathering(building_id: int, gathering_id: int) -> ResponseReturnValue:
    return edit_item(GATHERINGS, building_id, gathering_id)


@bp.route("/buildings/<int:building_id>/gatherings/<int:gathering_id>/delete", methods=["POST"])
@permission(Permission.EDIT_RECORDS)
def delete_gathering(building_id: int, gathering_id: int) -> ResponseReturnValue:
    return delete_item(GATHERINGS, building_id, gathering_id)
