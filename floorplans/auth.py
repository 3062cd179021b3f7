"""Signing in: Flask-Login over server-side login sessions, bearer tokens for the API,
the one place where every route's declared permission is enforced, and the settings of the
session and login policies (docs/security.md explains each number).

Bearer tokens count only under /api/: a web page given one answers as to an anonymous
visitor, so a copied token never reaches the admin pages, the password or two-factor forms,
nor skips an administrator's second factor there.  And a request authenticated by a token
can change no account, password, two-factor key or token (only revoke a token), whatever
route reaches the database (``_tokens_change_no_account``).

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from flask import (
    Flask,
    Request,
    abort,
    current_app,
    flash,
    g,
    has_request_context,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event, inspect
from sqlalchemy.orm import InstanceState, ORMExecuteState, Session, UOWTransaction

from floorplans.acting import ActingLoginManager
from floorplans.config import Settings, get_settings
from floorplans.db import db
from floorplans.errors import Forbidden
from floorplans.models import ApiToken, LoginSession, Role, User
from floorplans.permissions import Permission, has_permission
from floorplans.services import accounts, tokens
from floorplans.services.login import LoginPolicy

login_manager = ActingLoginManager()  # declares the acting user for the audit log (floorplans.acting)
csrf = CSRFProtect()

F = TypeVar("F", bound=Callable[..., ResponseReturnValue])


#: Where an administrator who must enrol in two-factor login may still go.
_ENROLMENT_ENDPOINTS = frozenset({"auth.two_factor", "auth.logout", "static"})
#: Where someone whose password an administrator set (a temporary one) may still go.
_PASSWORD_CHANGE_ENDPOINTS = frozenset({"auth.change_password", "auth.logout", "static"})
#: The session key set on a login whose second factor the agency's identity provider checked
#: (services.identity, when OIDC_REQUIRED_AMR/ACR are set): it stands in for a local TOTP key.
PROVIDER_MFA = "provider_mfa"
#: Methods that only read: all a read-only token may send.
_READING = frozenset({"GET", "HEAD", "OPTIONS"})


def permission(required: Permission) -> Callable[[F], F]:
    """Declare who may use a route.  Enforcement happens in ``enforce_permission`` for
    every request, so a route without a declaration is refused, never open."""

    def declare(view: F) -> F:
        view.permission = required  # type: ignore[attr-defined]  # read back by declared_permission
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
            refusal = g.get("token_refusal")
            response = jsonify(error=refusal or "Sign in first: send an API token as 'Authorization: Bearer <token>'.")
            response.status_code = 401
            response.headers["WWW-Authenticate"] = (
                'Bearer realm="floorplans", error="invalid_token"' if refusal else 'Bearer realm="floorplans"'
            )
            return response
        return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))
    if not has_permission(current_user, required):
        _refuse()
    if g.get("api_token_read_only") and request.method not in _READING:
        response = jsonify(error="This API token may only read (GET): it was made read-only, for a CAD "
                                 "integration. Ask the service's administrator for a token that may make changes.")
        response.status_code = 403
        return response
    if current_user.must_change_password and g.get("auth_channel") != "token":
        # Before anything else, two-factor enrolment included: a password someone else chose
        # is replaced by the person's own (an account like this has no API token either).
        if request.endpoint in _PASSWORD_CHANGE_ENDPOINTS:
            return None
        if is_api_request():
            response = jsonify(error="Your password was set by an administrator: choose your own first "
                                     "(Account, Password).")
            response.status_code = 403
            return response
        flash("Your password was set by an administrator. Choose your own password now, one only you know.", "info")
        return redirect(url_for("auth.change_password"))
    if _must_enrol(current_user) and request.endpoint not in _ENROLMENT_ENDPOINTS:
        if is_api_request():
            response = jsonify(error="Your account must turn on two-factor sign-in first (Account, Two-factor).")
            response.status_code = 403
            return response
        flash("Your account must turn on two-factor sign-in before anything else: add it to an "
              "authenticator app with the key below.", "info")
        return redirect(url_for("auth.two_factor"))
    if is_api_request() and g.get("auth_channel") != "token" and request.method not in _READING:
        # A browser session calling the JSON API must prove it is our page, not another site's.
        csrf.protect()
    return None


def _refuse() -> NoReturn:
    abort(403, description="Your account does not have access to this page.")


def _must_enrol(user: User) -> bool:
    """An account of a role that must use two-factor sign-in (TWO_FACTOR_REQUIRED_ROLES,
    administrators by default) without it yet (bearer tokens are their own credential,
    issued by an operator, and are not held back)."""
    return (
        login_policy(get_settings()).requires_two_factor(user)
        and not user.has_two_factor
        and g.get("auth_channel") != "token"
        and not session.get(PROVIDER_MFA)
    )


def _minutes(minutes: float) -> dt.timedelta | None:
    """A number of minutes from the settings (never negative there); 0 means no limit."""
    return dt.timedelta(minutes=minutes) if minutes else None


def session_policy(settings: Settings) -> accounts.SessionPolicy:
    idle_by_role = {
        Role.ADMIN: settings.session_idle_minutes_admin, Role.PARTNER: settings.session_idle_minutes_partner,
        Role.OFFICER: settings.session_idle_minutes_officer, Role.PLANNER: settings.session_idle_minutes_planner,
    }  # fmt: skip
    return accounts.SessionPolicy(
        idle=_minutes(settings.session_idle_minutes),
        absolute=dt.timedelta(hours=settings.session_max_hours),
        idle_by_role={role.value: _minutes(minutes) for role, minutes in idle_by_role.items() if minutes is not None},
        in_car_networks=settings.session_in_car_networks,
        in_car_idle=_minutes(settings.session_idle_minutes_in_car),
    )


def login_policy(settings: Settings) -> LoginPolicy:
    return LoginPolicy.from_settings(settings)


def policies() -> tuple[accounts.SessionPolicy, LoginPolicy]:
    """The policies from the app's settings (checked once by ``init_app``; built per use,
    which costs microseconds)."""
    settings = get_settings()
    return session_policy(settings), login_policy(settings)


def _load_user(token: str) -> User | None:
    if is_api_request() and _bearer_token(request):
        return None  # on the API an explicit token wins over a browser session cookie
    user = accounts.resume_session(token, policies()[0])
    if user is None:
        db.session.commit()  # an ended login's row is deleted now, not left for the next request
    return user


def _bearer_token(req: Request) -> str | None:
    scheme, _, token = req.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _load_user_from_request(req: Request) -> User | None:
    """A bearer token, on the API only: elsewhere the header is not even read."""
    token = _bearer_token(req) if is_api_request(req) else None
    if token is None:
        return None
    check = tokens.check_token(token)
    if check.user is None:
        # A wrong, revoked, expired or ended token is an authentication attempt: check_token
        # recorded it; keep that, and tell the client why in its 401.
        db.session.commit()  # before any view: no unit of work of a request would keep it
        g.token_refusal = check.message
        return None
    g.auth_channel = "token"
    g.api_token_id = check.api_token.id if check.api_token else None
    g.api_token_read_only = bool(check.api_token and check.api_token.read_only)
    return check.user


# --- what a token may never do ----------------------------------------------------------

#: The account tables, and what a request authenticated by a token may change in them: a
#: token's revocation (DELETE /api/v1/tokens/{id}).  Nothing else: no account, password,
#: two-factor key, role, login session or token is made, changed or deleted with a token.
_ACCOUNT_TABLES = (User, ApiToken, LoginSession)
_TOKEN_MAY_CHANGE: dict[type, frozenset[str]] = {ApiToken: frozenset({"revoked_at", "revoked_reason"})}
_ACCOUNTS_ARE_NOT_FOR_TOKENS = (
    "An API token cannot change accounts, passwords, two-factor sign-in or tokens (it can only revoke a "
    "token). Sign in on the web as the account's owner to do that."
)


def _by_token() -> bool:
    return has_request_context() and g.get("auth_channel") == "token"


@event.listens_for(Session, "before_flush")
def _tokens_change_no_account(session: Session, context: UOWTransaction, instances: object) -> None:
    """Enforced where every change passes, so that no route, present or future, web or API,
    lets a stolen token take over an account (a new admin, an attacker's two-factor key)."""
    if not _by_token():
        return
    if any(isinstance(obj, _ACCOUNT_TABLES) for obj in (*session.new, *session.deleted)):
        raise Forbidden(_ACCOUNTS_ARE_NOT_FOR_TOKENS)
    for obj in session.dirty:
        if isinstance(obj, _ACCOUNT_TABLES):
            state: InstanceState[Any] = inspect(obj)  # annotated: mypy joins the three models' to object
            changed = {attr.key for attr in state.attrs if attr.history.has_changes()}
            if changed - _TOKEN_MAY_CHANGE.get(type(obj), frozenset()):
                raise Forbidden(_ACCOUNTS_ARE_NOT_FOR_TOKENS)


@event.listens_for(Session, "do_orm_execute")
def _no_bulk_account_changes_by_token(state: ORMExecuteState) -> None:
    """The same for ``update()``/``delete()``/``insert()`` statements, which skip the flush."""
    if not (state.is_update or state.is_delete or state.is_insert) or not _by_token():
        return
    mapper = state.bind_mapper
    if mapper is not None and issubclass(mapper.class_, _ACCOUNT_TABLES):
        raise Forbidden(_ACCOUNTS_ARE_NOT_FOR_TOKENS)


def init_app(app: Flask) -> None:
    from floorplans.models.audit import AUDIT_MIN_RETENTION_DAYS

    settings = get_settings(app)
    try:
        session_policy(settings)
        login_policy(settings)
    except (TypeError, ValueError) as error:
        raise RuntimeError(f"A session, login or audit setting is wrong: {error}") from error
    retention = settings.audit_retention_days
    if retention < AUDIT_MIN_RETENTION_DAYS:
        raise RuntimeError(f"AUDIT_RETENTION_DAYS must be at least {AUDIT_MIN_RETENTION_DAYS} (the database's floor).")
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
