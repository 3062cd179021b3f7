"""Signing in and out, and changing one's own password."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user

from floorplans.auth import permission
from floorplans.db import db
from floorplans.errors import InvalidInput
from floorplans.models import Role
from floorplans.permissions import Permission
from floorplans.services import accounts

bp = Blueprint("auth", __name__)

LOGIN_FAILED = "That e-mail address and password do not match an active account."


def _safe_next(target: str | None) -> str | None:
    """Only follow ``next`` within this site, never to another host."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def home_for(role: str) -> str:
    return {
        Role.ADMIN: url_for("admin.index"),
        Role.PARTNER: url_for("partners.index"),
    }.get(Role(role), url_for("response.index"))


@bp.route("/login", methods=["GET", "POST"])
@permission(Permission.PUBLIC)
def login() -> ResponseReturnValue:
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(home_for(current_user.role))
    error = None
    email = request.form.get("email", "")
    if request.method == "POST":
        user = accounts.authenticate(email, request.form.get("password", ""))
        if user is None:
            error = LOGIN_FAILED
        else:
            session.clear()  # a fresh session on login: nothing from before carries over
            accounts.start_session(
                user,
                ip_address=request.remote_addr or "",
                user_agent=request.headers.get("User-Agent", ""),
            )
            db.session.commit()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or home_for(user.role))
    return render_template("auth/login.html", error=error, email=email), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
@permission(Permission.SIGNED_IN)
def logout() -> ResponseReturnValue:
    if current_user.login_session_id:
        accounts.end_session(current_user.login_session_id)
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
                session.clear()
                accounts.start_session(
                    current_user,
                    ip_address=request.remote_addr or "",
                    user_agent=request.headers.get("User-Agent", ""),
                )
                db.session.commit()
                login_user(current_user._get_current_object())
                flash("Your password is changed. Every other sign-in of this account has ended.", "success")
                return redirect(home_for(current_user.role))
    return render_template("auth/password.html", errors=errors), (422 if errors else 200)


@bp.route("/")
@permission(Permission.SIGNED_IN)
def index() -> ResponseReturnValue:
    return redirect(home_for(current_user.role))
