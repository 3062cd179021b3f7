"""Signing in (password, then a TOTP code when the account has one) and out, changing one's
own password, and turning two-factor sign-in on and off."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user

from floorplans.auth import login_policy, permission
from floorplans.db import db
from floorplans.errors import InvalidInput
from floorplans.models import Role, User
from floorplans.permissions import Permission
from floorplans.services import accounts, audit
from floorplans.services import login as sign_in

bp = Blueprint("auth", __name__)

# One answer for a wrong password, an unknown e-mail, a locked and a disabled account.
LOGIN_FAILED = "That e-mail address and password do not match an active account."
CODE_FAILED = "That code is not right. Type the 6-digit code your authenticator app shows now."
ADDRESS_LIMITED = (
    "There have been too many failed sign-ins from your network. Wait 15 minutes and try again, "
    "or call the service's community liaison office."
)
_PENDING = "pending_login"  # the session key of a login waiting for its second factor


def _safe_next(target: str | None) -> str | None:
    """Only follow ``next`` within this site, never to another host."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def home_for(role: str) -> str:
    return {
        Role.ADMIN: url_for("admin.index"),
        Role.PARTNER: url_for("partners.index"),
    }.get(Role(role), url_for("response.index"))


def _client() -> str:
    return request.remote_addr or ""


def _begin_session(user: User) -> None:
    session.clear()  # a fresh session on login: nothing from before carries over
    accounts.start_session(user, ip_address=_client(), user_agent=request.headers.get("User-Agent", ""))
    db.session.commit()
    login_user(user)


def _start_session(user: User, target: str | None) -> ResponseReturnValue:
    _begin_session(user)
    return redirect(_safe_next(target) or home_for(user.role))


@bp.route("/login", methods=["GET", "POST"])
@permission(Permission.PUBLIC)
def login() -> ResponseReturnValue:
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(home_for(current_user.role))
    error, status = None, 200
    email = request.form.get("email", "")
    if request.method == "POST":
        attempt = sign_in.attempt_login(
            email, request.form.get("password", ""), ip_address=_client(), policy=login_policy(current_app.config)
        )
        db.session.commit()  # failures and locks are kept whatever the answer
        outcome = attempt.outcome
        if outcome is sign_in.Outcome.SIGNED_IN and attempt.user is not None:
            return _start_session(attempt.user, request.args.get("next"))
        if outcome is sign_in.Outcome.SECOND_FACTOR and attempt.user is not None:
            session.clear()
            pending = {"user": attempt.user.id, "at": time.time(), "next": _safe_next(request.args.get("next"))}
            session[_PENDING] = pending
            return redirect(url_for("auth.login_code"))
        error, status = (ADDRESS_LIMITED, 429) if outcome is sign_in.Outcome.ADDRESS_LIMITED else (LOGIN_FAILED, 401)
    return render_template("auth/login.html", error=error, email=email, policy=login_policy(current_app.config)), status


@bp.route("/login/code", methods=["GET", "POST"])
@permission(Permission.PUBLIC)
def login_code() -> ResponseReturnValue:
    """The second step: the password was right, now the code from the authenticator app."""
    pending = session.get(_PENDING)
    minutes = float(current_app.config["LOGIN_CODE_MINUTES"])
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > minutes * 60:
        session.pop(_PENDING, None)
        if request.method == "POST" or pending:
            flash("Sign in again: the code must be typed within a few minutes of the password.", "info")
        return redirect(url_for("auth.login"))
    error, status = None, 200
    if request.method == "POST":
        attempt = sign_in.attempt_second_factor(
            int(pending["user"]), request.form.get("code", ""), ip_address=_client(),
            policy=login_policy(current_app.config),
        )
        db.session.commit()
        if attempt.outcome is sign_in.Outcome.SIGNED_IN and attempt.user is not None:
            return _start_session(attempt.user, pending.get("next"))
        limited = attempt.outcome is sign_in.Outcome.ADDRESS_LIMITED
        error, status = (ADDRESS_LIMITED, 429) if limited else (CODE_FAILED, 401)
    return render_template("auth/login_code.html", error=error), status


@bp.route("/logout", methods=["POST"])
@permission(Permission.SIGNED_IN)
def logout() -> ResponseReturnValue:
    if current_user.login_session_id:
        accounts.end_session(current_user.login_session_id)
    audit.record("logout", target=current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@permission(Permission.SIGNED_IN)
def change_password() -> ResponseReturnValue:
    errors: dict[str, str] = {}
    if request.method == "POST":
        new = request.form.get("new_password", "")
        if new != request.form.get("confirm_password", ""):
            errors["confirm_password"] = "does not match the new password."  # noqa: S105 (a message)
        else:
            try:
                accounts.change_password(current_user, request.form.get("current_password", ""), new)
            except InvalidInput as exc:
                db.session.rollback()
                errors = exc.fields
            else:
                # Every other login ended with the change; start this browser afresh.
                _begin_session(current_user._get_current_object())
                flash("Your password is changed. Every other sign-in of this account has ended.", "success")
                return redirect(home_for(current_user.role))
    return render_template("auth/password.html", errors=errors), (422 if errors else 200)


@bp.route("/account/two-factor", methods=["GET", "POST"])
@permission(Permission.SIGNED_IN)
def two_factor() -> ResponseReturnValue:
    """Turn two-factor sign-in on (a new key, confirmed by a code) or off (with the password)."""
    user: User = current_user._get_current_object()
    errors: dict[str, str] = {}
    required = bool(current_app.config["REQUIRE_2FA_FOR_ADMINS"]) and Role(user.role) is Role.ADMIN
    action = request.form.get("action", "")
    if request.method == "POST" and action == "enable" and not user.has_two_factor:
        secret = session.get("totp_enrolment", "")
        try:
            sign_in.enable_two_factor(user, secret, request.form.get("code", ""))
        except InvalidInput as exc:
            db.session.rollback()
            errors = exc.fields
        else:
            db.session.commit()
            session.pop("totp_enrolment", None)
            flash("Two-factor sign-in is on. From now on you will be asked for a code after your password.", "success")
            return redirect(url_for("auth.two_factor"))
    elif request.method == "POST" and action == "disable" and user.has_two_factor:
        if required:
            errors["password"] = "administrators must keep two-factor sign-in on."  # noqa: S105 (a message)
        else:
            try:
                sign_in.disable_two_factor(user, password=request.form.get("password", ""))
            except InvalidInput as exc:
                db.session.rollback()
                errors = exc.fields
            else:
                db.session.commit()
                flash("Two-factor sign-in is off.", "success")
                return redirect(url_for("auth.two_factor"))
    enrolment = None
    if not user.has_two_factor:
        # The key waits in the signed session until a code proves the app holds it.
        secret = session.get("totp_enrolment") or sign_in.new_secret()
        session["totp_enrolment"] = secret
        issuer = str(current_app.config["SERVICE_NAME"])
        uri = sign_in.provisioning_uri(user, secret, issuer)
        enrolment = {"key": sign_in.grouped(secret), "uri": uri, "issuer": issuer}
    return render_template(
        "auth/two_factor.html", user=user, enrolment=enrolment, errors=errors, required=required
    ), (422 if errors else 200)


@bp.route("/")
@permission(Permission.SIGNED_IN)
def index() -> ResponseReturnValue:
    return redirect(home_for(current_user.role))
