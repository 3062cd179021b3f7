"""Inviting people by e-mail: administrators invite anyone (Administration, Invitations), a
congregation's partner invites the other partners of their congregation (People).  Each
invitation can be sent again (a new link; the old one stops working) or withdrawn."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints import congregation_field
from blueprints.forms import attempt
from floorplans import jobs
from floorplans.auth import permission
from floorplans.config import get_settings
from floorplans.db import db
from floorplans.errors import InvalidInput
from floorplans.models import AccountLink, Organisation, Role, User
from floorplans.permissions import Permission
from floorplans.services import account_links

bp = Blueprint("invitations", __name__)


def _send(user: User, token: str) -> str:
    """Queue the invitation's e-mail; the message for the page."""
    subject, body = account_links.invitation_mail(user, token, by=current_user)
    if jobs.queue_mail(user.email, subject, body):
        return f"An invitation is on its way to {user.email}."
    return (f"The invitation for {user.email} is made, but this service sends no e-mail (no mail server is "
            "set): ask the administrator to set one up, then send it again.")


def _invite(organisation: Organisation | None, role: str) -> User:
    form = request.form
    user, token = account_links.invite(email=form.get("email", ""), name=form.get("name", ""), role=role,
                                       organisation=organisation, by=current_user)
    flash(_send(user, token), "success")
    return user


@bp.route("/admin/invitations", methods=["GET", "POST"])
@permission(Permission.ADMIN)
def admin_invitations() -> ResponseReturnValue:
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        invited, errors = attempt(
            lambda: _invite(congregation_field.chosen(field="organisation"), form.get("role", ""))
        )
        if invited is not None:
            return redirect(url_for("invitations.admin_invitations"))
    return render_template(
        "admin/invitations.html", invitations=account_links.invitations(), roles=list(Role),
        congregation=congregation_field.shown(), errors=errors, form=form, hours=get_settings().invitation_hours,
    ), (422 if errors else 200)


def _own_organisation() -> Organisation:
    """The partner's congregation (an administrator manages everyone's on the admin page)."""
    if current_user.organisation is None:
        abort(404)
    organisation: Organisation = current_user.organisation
    return organisation


@bp.route("/portal/people", methods=["GET", "POST"])
@permission(Permission.EDIT_RECORDS)
def people() -> ResponseReturnValue:
    """A congregation's accounts and invitations; a partner invites another partner."""
    if Role(current_user.role) is Role.ADMIN:
        return redirect(url_for("invitations.admin_invitations"))
    organisation = _own_organisation()
    errors: dict[str, str] = {}
    if request.method == "POST":
        invited, errors = attempt(lambda: _invite(organisation, Role.PARTNER.value))
        if invited is not None:
            return redirect(url_for("invitations.people"))
    return render_template(
        "partners/people.html", organisation=organisation, members=organisation.members,
        invitations=account_links.invitations(organisation), errors=errors, form=request.form,
        hours=get_settings().invitation_hours,
    ), (422 if errors else 200)


def _change(link_id: int, change: str, back: str) -> ResponseReturnValue:
    link: AccountLink = account_links.invitation_of(link_id, by=current_user)
    try:
        with db.session.begin_nested():
            if change == "resend":
                flash(_send(link.user, account_links.resend(link, by=current_user)), "success")
            else:
                account_links.revoke(link, by=current_user)
                flash(f"The invitation for {link.user.email} is withdrawn: its link no longer works.", "success")
    except InvalidInput as exc:
        flash(" ".join(exc.fields.values()).capitalize(), "error")
    return redirect(url_for(back))


@bp.route("/admin/invitations/<int:link_id>/resend", methods=["POST"])
@permission(Permission.ADMIN)
def admin_resend(link_id: int) -> ResponseReturnValue:
    return _change(link_id, "resend", "invitations.admin_invitations")


@bp.route("/admin/invitations/<int:link_id>/revoke", methods=["POST"])
@permission(Permission.ADMIN)
def admin_revoke(link_id: int) -> ResponseReturnValue:
    return _change(link_id, "revoke", "invitations.admin_invitations")


@bp.route("/portal/people/invitations/<int:link_id>/resend", methods=["POST"])
@permission(Permission.EDIT_RECORDS)
def resend(link_id: int) -> ResponseReturnValue:
    return _change(link_id, "resend", "invitations.people")


@bp.route("/portal/people/invitations/<int:link_id>/revoke", methods=["POST"])
@permission(Permission.EDIT_RECORDS)
def revoke(link_id: int) -> ResponseReturnValue:
    return _change(link_id, "revoke", "invitations.people")
