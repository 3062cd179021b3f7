"""Signing in: Flask-Login over server-side login sessions, bearer tokens for the API,
and the one place where every route's declared permission is enforced.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import NoReturn, TypeVar

from flask import Flask, Request, abort, current_app, g, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from floorplans.models import User
from floorplans.permissions import Permission, has_permission
from floorplans.services import accounts

login_manager = LoginManager()
csrf = CSRFProtect()

F = TypeVar("F", bound=Callable[..., ResponseReturnValue])


def permission(required: Permission) -> Callable[[F], F]:
    """Declare who may use a route.  Enforcement happens in ``enforce_permission`` for
    every request, so a route without a declaration is refused, never open."""

    def declare(view: F) -> F:
        view.permission = required  # type: ignore[attr-defined]
        return view

    return declare


def declared_permission(app: Flask, endpoint: str) -> Permission | None:
    if endpoint == "static" or endpoint.endswith(".static"):
        return Permission.PUBLIC
    return getattr(app.view_functions.get(endpoint), "permission", None)


def is_api_request(req: Request | None = None) -> bool:
    return (req or request).path.startswith("/api/")


def enforce_permission() -> ResponseReturnValue | None:
    if request.endpoint is None:  # no route matched: let the 404/405 handler speak
        return None
    required = declared_permission(current_app, request.endpoint)
    if required is None:
        current_app.logger.error("Route %s declares no permission; refused.", request.endpoint)
        _refuse()
    if required is Permission.PUBLIC:
        return None
    if not current_user.is_authenticated:
        if is_api_request():
            response = jsonify(error="Sign in first: send an API token as 'Authorization: Bearer <token>'.")
            response.status_code = 401
            response.headers["WWW-Authenticate"] = 'Bearer realm="floorplans"'
            return response
        return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))
    if not has_permission(current_user, required):
        _refuse()
    if is_api_request() and g.get("auth_channel") != "token" and request.method not in ("GET", "HEAD", "OPTIONS"):
        # A browser session calling the JSON API must prove it is our page, not another site's.
        csrf.protect()
    return None


def _refuse() -> NoReturn:
    abort(403, description="Your account does not have access to this page.")


def _load_user(token: str) -> User | None:
    if _bearer_token(request):
        return None  # an explicit API token wins over a browser session cookie
    config = current_app.config
    return accounts.resume_session(
        token,
        idle=dt.timedelta(minutes=int(config["SESSION_IDLE_MINUTES"])),
        absolute=dt.timedelta(hours=int(config["SESSION_MAX_HOURS"])),
    )


def _bearer_token(req: Request) -> str | None:
    scheme, _, token = req.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _load_user_from_request(req: Request) -> User | None:
    token = _bearer_token(req)
    if token is None:
        return None
    user = accounts.user_for_token(token)
    if user is not None:
        g.auth_channel = "token"
    return user


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see this page."
    login_manager.login_message_category = "info"
    # Server-side sessions already make a copied cookie useless after logout; "strong"
    # protection would sign an officer out each time the car changes cell tower.
    login_manager.session_protection = None
    login_manager.user_loader(_load_user)
    login_manager.request_loader(_load_user_from_request)
    csrf.init_app(app)
    app.before_request(enforce_permission)
