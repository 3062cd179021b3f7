"""A building's emergency contacts and its gathering schedule."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.partners import bp
from floorplans.auth import permission
from floorplans.db import db
from floorplans.errors import InvalidInput
from floorplans.fields import form_values
from floorplans.models import Building
from floorplans.permissions import Permission
from floorplans.services import access, buildings, contacts, gatherings
from floorplans.services.contacts import CONTACT_FIELDS
from floorplans.services.gatherings import GATHERING_FIELDS


def _log_read(record: Building) -> None:
    """An administrator reading a congregation's contacts or schedule is an outside read."""
    if request.method == "GET" and access.record_access(
        current_user, record, "view_record", channel="web", ip_address=request.remote_addr or ""
    ):
        db.session.commit()


@bp.route("/buildings/<int:building_id>/contacts", methods=["GET", "POST"], endpoint="contacts")
@permission(Permission.EDIT_RECORDS)
def contacts_page(building_id: int) -> ResponseReturnValue:
    record = buildings.get_editable(current_user, building_id)
    _log_read(record)
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = form_values(request.form, CONTACT_FIELDS)
        try:
            contact = contacts.add_contact(record, values)
        except InvalidInput as exc:
            db.session.rollback()
            errors = exc.fields
            record = buildings.get_editable(current_user, building_id)
        else:
            db.session.commit()
            flash(f"{contact.name} is added.", "success")
            return redirect(url_for("partners.contacts", building_id=record.id))
    return render_template(
        "partners/contacts.html", building=record, fields=CONTACT_FIELDS, values=values, errors=errors
    ), (422 if errors else 200)


@bp.route("/buildings/<int:building_id>/contacts/<int:contact_id>", methods=["GET", "POST"])
@permission(Permission.EDIT_RECORDS)
def edit_contact(building_id: int, contact_id: int) -> ResponseReturnValue:
    record = buildings.get_editable(current_user, building_id)
    contact = contacts.contact_of(record, contact_id)
    _log_read(record)
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = form_values(request.form, CONTACT_FIELDS)
        try:
            contacts.update_contact(contact, values)
        except InvalidInput as exc:
            db.session.rollback()
            errors = exc.fields
        else:
            db.session.commit()
            flash("Saved.", "success")
            return redirect(url_for("partners.contacts", building_id=record.id))
    else:
        values = {f.name: getattr(contact, f.name) for f in CONTACT_FIELDS}
    return render_template(
        "partners/contact_form.html", building=record, contact=contact, fields=CONTACT_FIELDS,
        values=values, errors=errors,
    ), (422 if errors else 200)


@bp.route("/buildings/<int:building_id>/contacts/<int:contact_id>/delete", methods=["POST"])
@permission(Permission.EDIT_RECORDS)
def delete_contact(building_id: int, contact_id: int) -> ResponseReturnValue:
    record = buildings.get_editable(current_user, building_id)
    contact = contacts.contact_of(record, contact_id)
    name = contact.name
    contacts.delete_contact(contact)
    db.session.commit()
    flash(f"{name} is removed from the contacts.", "success")
    return redirect(url_for("partners.contacts", building_id=record.id))


@bp.route("/buildings/<int:building_id>/contacts/<int:contact_id>/move", methods=["POST"])
@permission(Permission.EDIT_RECORDS)
def move_contact(building_id: int, contact_id: int) -> ResponseReturnValue:
    record = buildings.get_editable(current_user, building_id)
    contact = contacts.contact_of(record, contact_id)
    contacts.move_contact(contact, -1 if request.form.get("direction") == "up" else 1)
    db.session.commit()
    return redirect(url_for("partners.contacts", building_id=record.id))


@bp.route("/buildings/<int:building_id>/gatherings", methods=["GET", "POST"], endpoint="gatherings")
@permission(Permission.EDIT_RECORDS)
def gatherings_page(building_id: int) -> ResponseReturnValue:
    record = buildings.get_editable(current_user, building_id)
    _log_read(record)
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = form_values(request.form, GATHERING_FIELDS)
        try:
            gathering = gatherings.add_gathering(record, values)
        except InvalidInput as exc:
            db.session.rollback()
            errors = exc.fields
            record = buildings.get_editable(current_user, building_id)
        else:
            db.session.commit()
            flash(f"{gathering.label} is added to the schedule.", "success")
            return redirect(url_for("partners.gatherings", building_id=record.id))
    return render_template(
        "partners/gatherings.html", building=record, fields=GATHERING_FIELDS, values=values, errors=errors
    ), (422 if errors else 200)


@bp.route("/buildings/<int:building_id>/gatherings/<int:gathering_id>", methods=["GET", "POST"])
@permission(Permission.EDIT_RECORDS)
def edit_gathering(building_id: int, gathering_id: int) -> ResponseReturnValue:
    record = buildings.get_editable(current_user, building_id)
    gathering = gatherings.gathering_of(record, gathering_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = form_values(request.form, GATHERING_FIELDS)
        try:
            gatherings.update_gathering(gathering, values)
        except InvalidInput as exc:
            db.session.rollback()
            errors = exc.fields
        else:
            db.session.commit()
            flash("Saved.", "success")
            return redirect(url_for("partners.gatherings", building_id=record.id))
    else:
        values = {f.name: getattr(gathering, f.name) for f in GATHERING_FIELDS}
    return render_template(
        "partners/gathering_form.html", building=record, gathering=gathering, fields=GATHERING_FIELDS,
        values=values, errors=errors,
    ), (422 if errors else 200)


@bp.route("/buildings/<int:building_id>/gatherings/<int:gathering_id>/delete", methods=["POST"])
@permission(Permission.EDIT_RECORDS)
def delete_gathering(building_id: int, gathering_id: int) -> ResponseReturnValue:
    record = buildings.get_editable(current_user, building_id)
    gathering = gatherings.gathering_of(record, gathering_id)
    label = gathering.label
    gatherings.delete_gathering(gathering)
    db.session.commit()
    flash(f"{label} is removed from the schedule.", "success")
    return redirect(url_for("partners.gatherings", building_id=record.id))
