"""The service's administration: congregations, accounts and roles, the access log."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import func, select

from floorplans.auth import permission
from floorplans.db import db
from floorplans.errors import InvalidInput
from floorplans.fields import form_values
from floorplans.models import Building, Organisation, Role, User
from floorplans.permissions import Permission
from floorplans.services import access, accounts
from floorplans.services.accounts import ORGANISATION_FIELDS

bp = Blueprint("admin", __name__)


@bp.route("/")
@permission(Permission.ADMIN)
def index() -> ResponseReturnValue:
    counts = {
        "organisations": db.session.scalar(select(func.count(Organisation.id))),
        "buildings": db.session.scalar(select(func.count(Building.id))),
        "users": db.session.scalar(select(func.count(User.id))),
    }
    return render_template("admin/index.html", counts=counts)


@bp.route("/organisations", methods=["GET", "POST"])
@permission(Permission.ADMIN)
def organisations() -> ResponseReturnValue:
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = form_values(request.form, ORGANISATION_FIELDS)
        try:
            organisation = accounts.create_organisation(values)
        except InvalidInput as exc:
            db.session.rollback()
            errors = exc.fields
        else:
            db.session.commit()
            flash(f"{organisation.name} is added. Now give it a partner account.", "success")
            return redirect(url_for("admin.organisation", organisation_id=organisation.id))
    listing = db.session.scalars(select(Organisation).order_by(Organisation.name)).all()
    return render_template(
        "admin/organisations.html", organisations=listing, fields=ORGANISATION_FIELDS, values=values,
        errors=errors,
    ), (422 if errors else 200)


@bp.route("/organisations/<int:organisation_id>", methods=["GET", "POST"])
@permission(Permission.ADMIN)
def organisation(organisation_id: int) -> ResponseReturnValue:
    record = db.session.get(Organisation, organisation_id) or abort(404)
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = form_values(request.form, ORGANISATION_FIELDS)
        try:
            accounts.update_organisation(record, values)
        except InvalidInput as exc:
            db.session.rollback()
            errors = exc.fields
            record = db.session.get(Organisation, organisation_id)
        else:
            db.session.commit()
            flash("Saved.", "success")
            return redirect(url_for("admin.organisation", organisation_id=record.id))
    else:
        values = {f.name: getattr(record, f.name) for f in ORGANISATION_FIELDS}
    return render_template(
        "admin/organisation.html", organisation=record, fields=ORGANISATION_FIELDS, values=values,
        errors=errors,
    ), (422 if errors else 200)


@bp.route("/users", methods=["GET", "POST"])
@permission(Permission.ADMIN)
def users() -> ResponseReturnValue:
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        organisation = db.session.get(Organisation, form.get("organisation_id", type=int) or 0)
        try:
            user = accounts.create_user(
                email=form.get("email", ""),
                name=form.get("name", ""),
                role=form.get("role", ""),
                password=form.get("password", ""),
                organisation=organisation,
            )
        except InvalidInput as exc:
            db.session.rollback()
            errors = exc.fields
        else:
            db.session.commit()
            flash(f"The account {user.email} is created. Give them the password in person or by phone.", "success")
            return redirect(url_for("admin.users"))
    listing = db.session.scalars(select(User).order_by(User.role, User.email)).all()
    return render_template(
        "admin/users.html", users=listing, roles=list(Role), organisations=_organisations(),
        errors=errors, form=form,
    ), (422 if errors else 200)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@permission(Permission.ADMIN)
def user(user_id: int) -> ResponseReturnValue:
    account = db.session.get(User, user_id) or abort(404)
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = request.form
        if account.id == current_user.id and (form.get("role") != Role.ADMIN.value or "active" not in form):
            errors["role"] = "you cannot remove your own administrator rights or disable yourself."
        else:
            try:
                accounts.update_user(
                    account,
                    role=form.get("role", ""),
                    organisation=db.session.get(Organisation, form.get("organisation_id", type=int) or 0),
                    active="active" in form,
                    name=form.get("name", ""),
                )
                if form.get("new_password"):
                    accounts.set_password(account, form["new_password"])
            except InvalidInput as exc:
                db.session.rollback()
                errors = exc.fields
                account = db.session.get(User, user_id)
            else:
                db.session.commit()
                flash(f"{account.email} is saved.", "success")
                return redirect(url_for("admin.users"))
    return render_template(
        "admin/user.html", account=account, roles=list(Role), organisations=_organisations(), errors=errors
    ), (422 if errors else 200)


@bp.route("/access-log")
@permission(Permission.ADMIN)
def access_log() -> ResponseReturnValue:
    return render_template("admin/access_log.html", events=access.access_log(current_user, limit=500))


def _organisations() -> list[Organisation]:
    return list(db.session.scalars(select(Organisation).order_by(Organisation.name)))
