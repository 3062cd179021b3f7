"""The pages an e-mailed link opens, and the form that sends one: forgot password, a
password reset, an invitation.  The only anonymous pages besides signing in: each declares
``Permission.PUBLIC``.  A token that does not work (wrong, used, replaced, revoked,
expired, of a disabled account) gets one answer, 404 with one message, whatever the
reason (services.account_links)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from floorplans import jobs
from floorplans.auth import permission
from floorplans.config import get_settings
from floorplans.errors import InvalidInput
from floorplans.models.accounts import LinkKind
from floorplans.permissions import Permission
from floorplans.services import account_links, quotas

bp = Blueprint("account_links", __name__)

#: The one answer for every link that does not work, and for every forgot-password request.
LINK_GONE = ("This link does not work: it was used already, a newer one was sent, it was withdrawn, or it "
             "expired. Ask for a new one: 'Forgot your password?' on the sign-in page, or, for an invitation, "
             "the person who invited you.")
REQUEST_TAKEN = ("If {email} is the address of an account here, an e-mail with a link to choose a new password "
                 "is on its way; the link works for {minutes:g} minutes. Nothing arrived? Check the spam folder, "
                 "or ask the service's administrator.")


def _gone() -> ResponseReturnValue:
    return render_template("links/gone.html", message=LINK_GONE), 404


@bp.route("/forgot-password", methods=["GET", "POST"])
@permission(Permission.PUBLIC)
def forgot_password() -> ResponseReturnValue:
    email = request.form.get("email", "").strip()
    errors: dict[str, str] = {}
    if request.method == "POST":
        if "@" not in email or len(email) > 254:
            errors["email"] = "type the e-mail address you sign in with (for example name@example.org)."
        else:
            try:
                account_links.take_reset_request(request.remote_addr or "")
            except quotas.QuotaExceeded as over:
                page = render_template("links/forgot_password.html", email=email, errors={"email": over.message})
                return page, 429, {"Retry-After": str(over.retry_after)}
            # The rest happens in the job queue, whether or not the address has an account.
            jobs.queue_password_reset(email, request.remote_addr or "")
            minutes = get_settings().password_reset_minutes
            flash(REQUEST_TAKEN.format(email=email, minutes=minutes), "info")
            return redirect(url_for("auth.login"))
    return render_template("links/forgot_password.html", email=email, errors=errors), (422 if errors else 200)


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
@permission(Permission.PUBLIC)
def reset_password(token: str) -> ResponseReturnValue:
    return _choose_password(token, LinkKind.RESET, "links/reset_password.html")


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@permission(Permission.PUBLIC)
def accept_invitation(token: str) -> ResponseReturnValue:
    # Two-factor sign-in is offered, not imposed (administrators' roles impose it anyway):
    # the box is ticked when the page opens, and a ticked box leads to its page right after
    # signing in.
    return _choose_password(token, LinkKind.INVITATION, "links/invitation.html",
                            two_factor="two_factor" in request.form or request.method == "GET")


def _choose_password(token: str, kind: LinkKind, template: str, *, two_factor: bool = False) -> ResponseReturnValue:
    """A link's page: the person chooses their password (the policy applies), once."""
    link = account_links.usable(token, kind)
    if link is None:
        return _gone()
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            user = account_links.use(link, request.form.get("password", ""), request.form.get("confirm_password", ""))
        except InvalidInput as exc:
            errors = exc.fields
        else:
            if kind is LinkKind.RESET:
                flash("Your new password is set, and every sign-in of this account has ended. Sign in with it now.",
                      "success")
                return redirect(url_for("auth.login"))
            flash(f"Welcome! Your password is set. Sign in as {user.email}.", "success")
            if two_factor:
                return redirect(url_for("auth.login", next=url_for("auth.two_factor")))
            return redirect(url_for("auth.login"))
    return render_template(template, link=link, errors=errors, two_factor=two_factor), (422 if errors else 200)
