"""My buildings, a building's record, editing it and confirming it is current."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints import congregation_field
from blueprints.forms import attempt
from blueprints.logs import access_log_page
from blueprints.partners import bp
from blueprints.reads import log_read
from floorplans.auth import permission
from floorplans.fields import form_values, record_values
from floorplans.models import Building, Role
from floorplans.paging import PAGE_SIZE, Page, page_number
from floorplans.permissions import Permission
from floorplans.services import buildings
from floorplans.services.buildings import BUILDING_FIELDS


@bp.route("/")
@permission(Permission.EDIT_RECORDS)
def index() -> ResponseReturnValue:
    query = request.args.get("q", "")
    number = page_number(request.args.get("page"))
    # Offset pages (floorplans.paging says why): one row more than a page tells if one follows.
    rows = buildings.search(current_user, query, limit=PAGE_SIZE + 1, offset=(number - 1) * PAGE_SIZE)
    found = Page(rows[:PAGE_SIZE], number=number, more=len(rows) > PAGE_SIZE)
    return render_template("partners/index.html", buildings=found, q=query)


@bp.route("/buildings/new", methods=["GET", "POST"])
@permission(Permission.EDIT_RECORDS)
def new_building() -> ResponseReturnValue:
    is_admin = Role(current_user.role) is Role.ADMIN
    values = form_values(request.form, BUILDING_FIELDS) if request.method == "POST" else {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        def create() -> Building:
            organisation_id = request.form.get("organisation_id", type=int)
            if is_admin:  # the form's congregation field: picked from the list, or its name typed
                picked = congregation_field.chosen(field="organisation_id")
                organisation_id = picked.id if picked else None
            organisation = buildings.organisation_for_new_building(current_user, organisation_id)
            return buildings.create_building(organisation, values, by=current_user)

        building, errors = attempt(create)
        if building is not None:
            flash(f"{building.name} is added. Now add its emergency contacts.", "success")
            return redirect(url_for("partners.contacts", building_id=building.id))
    return render_template(
        "partners/building_form.html",
        building=None,
        fields=BUILDING_FIELDS,
        values=values,
        errors=errors,
        congregation=congregation_field.shown() if is_admin else None,
    ), (422 if errors else 200)


@bp.route("/buildings/<int:building_id>")
@permission(Permission.EDIT_RECORDS)
def building(building_id: int) -> ResponseReturnValue:
    record = buildings.get_editable(current_user, building_id)
    log_read(record, "view_record")
    return render_template("partners/building.html", building=record, fields=BUILDING_FIELDS)


@bp.route("/buildings/<int:building_id>/edit", methods=["GET", "POST"])
@permission(Permission.EDIT_RECORDS)
def edit_building(building_id: int) -> ResponseReturnValue:
    record = buildings.get_editable(current_user, building_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = form_values(request.form, BUILDING_FIELDS)
        _, errors = attempt(lambda: buildings.update_building(
            record, values, expected_version=request.form.get("row_version", type=int)
        ))
        if errors:
            record = buildings.get_editable(current_user, building_id)
        else:
            flash("Saved.", "success")
            return redirect(url_for("partners.building", building_id=record.id))
    else:
        values = record_values(record, BUILDING_FIELDS)
    return render_template(
        "partners/building_form.html",
        building=record,
        fields=BUILDING_FIELDS,
        values=values,
        errors=errors,
        congregation=None,
    ), (422 if errors else 200)


@bp.route("/buildings/<int:building_id>/verify", methods=["POST"])
@permission(Permission.EDIT_RECORDS)
def verify(building_id: int) -> ResponseReturnValue:
    record = buildings.get_editable(current_user, building_id)
    buildings.verify_building(record, by=current_user)
    flash("Thank you: the record is confirmed as current today.", "success")
    return redirect(url_for("partners.building", building_id=record.id))


@bp.route("/buildings/<int:building_id>/access-log")
@permission(Permission.READ_ACCESS_LOG)
def access_log(building_id: int) -> ResponseReturnValue:
    return access_log_page("partners/access_log.html", buildings.get_editable(current_user, building_id))
