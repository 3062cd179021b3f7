"""The service's administration: congregations, accounts and roles, the access log, and
the audit log (filtered page and CSV export; reading it is itself audited)."""
from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints import congregation_field
from blueprints.forms import attempt
from blueprints.logs import access_log_page, kept_filters, log_range
from floorplans.auth import permission
from floorplans.config import get_settings
from floorplans.db import db, utcnow
from floorplans.errors import Conflict, InvalidInput
from floorplans.fields import form_values, record_values
from floorplans.models import Role
from floorplans.paging import PAGE_SIZE, page_number
from floorplans.permissions import Permission
from floorplans.services import accounts, administration, audit, buildings, congregation_choice, login, reviews, tokens
from floorplans.services.accounts import ORGANISATION_FIELDS

bp = Blueprint("admin", __name__)


@bp.route("/")
@permission(Permission.ADMIN)
def index() -> ResponseReturnValue:
    return render_template("admin/index.html", counts=administration.counts())


@bp.route("/organisations", methods=["GET", "POST"])
@permission(Permission.ADMIN)
def organisations() -> ResponseReturnValue:
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = form_values(request.form, ORGANISATION_FIELDS)
        organisation, errors = attempt(lambda: accounts.create_organisation(values))
        if organisation is not None:
            flash(f"{organisation.name} is added. Now give it a partner account.", "success")
            return redirect(url_for("admin.organisation", organisation_id=organisation.id))
    return render_template(
        "admin/organisations.html",
        organisations=(listed := administration.organisations_page(page_number(request.args.get("page")))),
        sizes=administration.sizes(listed),
        fields=ORGANISATION_FIELDS,
        values=values, errors=errors,
    ), (422 if errors else 200)


@bp.route("/organisations/<int:organisation_id>", methods=["GET", "POST"])
@permission(Permission.ADMIN)
def organisation(organisation_id: int) -> ResponseReturnValue:
    record = administration.organisation(organisation_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = form_values(request.form, ORGANISATION_FIELDS)
        _, errors = attempt(lambda: accounts.update_organisation(record, values))
        if errors:
            record = administration.organisation(organisation_id)
        else:
            flash("Saved.", "success")
            return redirect(url_for("admin.organisation", organisation_id=record.id))
    else:
        values = record_values(record, ORGANISATION_FIELDS)
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
        user, errors = attempt(lambda: accounts.create_user(
            email=form.get("email", ""),
            name=form.get("name", ""),
            role=form.get("role", ""),
            password=form.get("password", ""),
            organisation=congregation_field.chosen(field="organisation"),
            agency=form.get("agency", ""),
        ))
        if user is not None:
            flash(f"The account {user.email} is created. Give them the password in person or by phone.", "success")
            return redirect(url_for("admin.users"))
    return render_template(
        "admin/users.html", users=administration.accounts(page_number(request.args.get("page"))), roles=list(Role),
        congregation=congregation_field.shown(),
        errors=errors, form=form,
    ), (422 if errors else 200)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@permission(Permission.ADMIN)
def user(user_id: int) -> ResponseReturnValue:
    account = administration.account(user_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = request.form
        if account.id == current_user.id and (form.get("role") != Role.ADMIN.value or "active" not in form):
            errors["role"] = "you cannot remove your own administrator rights or disable yourself."
        else:
            def save() -> None:
                accounts.update_user(
                    account,
                    role=form.get("role", ""),
                    organisation=congregation_field.chosen(field="organisation"),
                    active="active" in form,
                    agency=form.get("agency", ""),
                    name=form.get("name", ""),
                )
                if form.get("new_password"):
                    accounts.set_password(account, form["new_password"])

            _, errors = attempt(save)
            if errors:
                account = administration.account(user_id)
            else:
                flash(f"{account.email} is saved.", "success")
                return redirect(url_for("admin.users"))
    return render_template(
        "admin/user.html", account=account, roles=list(Role),
        congregation=congregation_field.shown(account.organisation_id), errors=errors,
        held_back=login.held_back(account), api_tokens=tokens.tokens_of(account), token_status=tokens.status,
    ), (422 if errors else 200)


@bp.route("/congregations/choices")
@permission(Permission.ADMIN)
def congregation_choices() -> ResponseReturnValue:
    """The congregations whose name matches ``q`` as an administrator types it into a form's
    congregation field (static/js/congregation-choice.js): at most twenty, each with its
    tradition and cities to tell two of a name apart, and whether more match."""
    found, more = congregation_choice.matching(request.args.get("q", ""))
    return jsonify(congregations=[congregation.as_json() for congregation in found], more=more)


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@permission(Permission.ADMIN)
def unlock_user(user_id: int) -> ResponseReturnValue:
    """End a login lock before it runs out (the person called and proved who they are)."""
    account = administration.account(user_id)
    accounts.unlock(account)
    flash(f"{account.email} can sign in again now.", "success")
    return redirect(url_for("admin.user", user_id=account.id))


@bp.route("/users/<int:user_id>/tokens/<int:token_id>/revoke", methods=["POST"])
@permission(Permission.ADMIN)
def revoke_token(user_id: int, token_id: int) -> ResponseReturnValue:
    """Revoke one API token of this account (a leaked token, a retired integration)."""
    account = administration.account(user_id)
    api_token = tokens.get_revocable(current_user, token_id)
    if api_token.user_id != account.id:
        abort(404)
    try:
        with db.session.begin_nested():
            tokens.revoke_token(api_token, reason=tokens.BY_ADMIN)
    except Conflict as exc:  # revoked a moment ago, in another tab or by the command line
        flash(exc.message, "info")
    else:
        flash(f"The token {api_token.prefix} of {account.email} is revoked; it stops working now.", "success")
    return redirect(url_for("admin.user", user_id=account.id))


@bp.route("/users/<int:user_id>/two-factor/reset", methods=["POST"])
@permission(Permission.ADMIN)
def reset_two_factor(user_id: int) -> ResponseReturnValue:
    """Turn off someone's two-factor sign-in (a lost phone); they enrol again."""
    account = administration.account(user_id)
    if account.has_two_factor:
        login.disable_two_factor(account, by_admin=True)
        flash(f"Two-factor sign-in of {account.email} is off; they can turn it on again with a new phone.", "success")
    return redirect(url_for("admin.user", user_id=account.id))


@bp.route("/access-log")
@permission(Permission.ADMIN)
def access_log() -> ResponseReturnValue:
    return access_log_page("admin/access_log.html")


AUDIT_PAGE_SIZE = PAGE_SIZE
AUDIT_EXPORT_MAX_ROWS = 50_000


def _audit_filters() -> tuple[audit.Filters, list[str]]:
    """The filters in the query string; what cannot be read is named and left out."""
    args, problems = request.args, list[str]()
    found = log_range(args, problems)
    filters = audit.Filters(
        start=found.start,
        end=found.end,
        group=args.get("group", "") if args.get("group", "") in audit.ACTIONS else "",
        action=args.get("action", "").strip()[:40],
        actor=args.get("actor", "").strip()[:254],
        building_id=found.building_id,
        ip_address=args.get("ip", "").strip()[:64],
    )
    return filters, problems


@bp.route("/audit")
@permission(Permission.ADMIN)
def audit_log() -> ResponseReturnValue:
    filters, problems = _audit_filters()
    before, after = request.args.get("before", type=int), request.args.get("after", type=int)
    events = audit.page(filters, before_id=before, after_id=after, limit=AUDIT_PAGE_SIZE)
    # Reading the audit log is itself recorded, with what was looked for.
    audit.record("audit.read", detail={**filters.as_detail(), "before": before, "after": after, "shown": len(events)})
    return render_template(
        "admin/audit.html", events=events, filters=filters, problems=problems, groups=audit.ACTIONS,
        args=request.args, query=kept_filters(request.args), describe=audit.describe, retention=_retention(),
    )


@bp.route("/audit.csv")
@permission(Permission.ADMIN)
def audit_export() -> ResponseReturnValue:
    filters, problems = _audit_filters()
    if problems:
        abort(400, description="; ".join(problems) + ".")
    audit.record("audit.export", detail={**filters.as_detail(), "max_rows": AUDIT_EXPORT_MAX_ROWS})
    name = f"audit-{utcnow():%Y%m%d-%H%M%S}.csv"
    # Built whole (a few MB at the row cap) rather than streamed: the rows are read inside
    # this request's transaction, and a half-sent file on an error would look complete.
    response = Response("".join(audit.csv_lines(filters, limit=AUDIT_EXPORT_MAX_ROWS)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _retention() -> int:
    return get_settings().audit_retention_days


@bp.route("/review")
@permission(Permission.ADMIN)
def review_queue() -> ResponseReturnValue:
    """Buildings whose partners changed something not yet reviewed, the longest waiting first."""
    return render_template("admin/review_queue.html", entries=reviews.queue())


@bp.route("/review/<int:building_id>", methods=["GET", "POST"])
@permission(Permission.ADMIN)
def review(building_id: int) -> ResponseReturnValue:
    """A building's changes not yet reviewed (or, ``?show=reviewed``, those reviewed), in
    words, a page at a time; POST marks the changes named in the form reviewed."""
    building = buildings.get_readable(current_user, building_id)
    page = max(1, request.values.get("page", 1, type=int) or 1)
    if request.method == "POST":
        try:
            with db.session.begin_nested():
                marked = reviews.mark_reviewed(building, request.form.getlist("event", type=int), by=current_user)
        except (InvalidInput, Conflict) as exc:  # reviewed already, or by another administrator just now
            flash(exc.fields["event"].capitalize() if isinstance(exc, InvalidInput) else exc.message, "error")
            return redirect(url_for("admin.review", building_id=building_id, page=page))
        left = reviews.pending_count(building)
        flash(f"{building.name}: {len(marked)} change{'s' if len(marked) != 1 else ''} marked reviewed"
              + (f", {left} left." if left else ". Nothing is left to review."), "success")  # fmt: skip
        if not left:
            return redirect(url_for("admin.review_queue"))
        return redirect(url_for("admin.review", building_id=building_id, page=page))
    showing_reviewed = request.args.get("show") == "reviewed"
    changes = (reviews.reviewed_page if showing_reviewed else reviews.pending_page)(building, page)
    return render_template(
        "admin/review.html", building=building, changes=changes, showing_reviewed=showing_reviewed,
        pending=changes.total if not showing_reviewed else reviews.pending_count(building),
    )


from blueprints import admin_import  # noqa: E402,F401  (the CSV import pages register on bp)
