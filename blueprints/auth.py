"""Signing in (password, then a TOTP code when the account has one) and out, changing one's
own password, and turning two-factor sign-in on and off."""
from __future__ import annotations

import secrets
import time
import unicodedata
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response  # what redirect() makes (Flask's Response is one)

from blueprints.forms import attempt
from floorplans import agency_sign_in
from floorplans.auth import PROVIDER_MFA, login_policy, permission
from floorplans.config import get_settings
from floorplans.db import db
from floorplans.errors import InvalidInput
from floorplans.models import Role, User
from floorplans.permissions import Permission
from floorplans.secrets_at_rest import SealBroken
from floorplans.services import accounts, audit, identity
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
_ENROLMENT = "totp_enrolment"  # the session key of a TOTP key waiting for its first code (sealed)
#: The browser's "known device" cookie: which accounts signed in on it (services.login).
DEVICE_COOKIE = "known_device"
_DEVICE_SALT = "floorplans.known-device"
_DEVICE_ACCOUNTS = 20  # a shared in-car computer: the last 20 accounts signed in on it
_NEXT_MAX = 2000


def _safe_next(target: str | None) -> str | None:
    """Follow ``next`` only to a path of this site: no scheme, no host, no ``//`` or
    backslash (browsers read ``/\\host`` as ``//host``), no control or invisible format
    characters (a CR LF would split the Location header; a tab or newline is dropped by
    browsers, so ``/\\t/host`` is ``//host``)."""
    if not target or len(target) > _NEXT_MAX or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(unicodedata.category(ch)[0] == "C" for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def home_for(role: str) -> str:
    return {
        Role.ADMIN: url_for("admin.index"),
        Role.PARTNER: url_for("partners.index"),
    }.get(Role(role), url_for("response.index"))


def _client() -> str:
    return request.remote_addr or ""


# --- the known-device cookie -------------------------------------------------------------

def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret_key, salt=_DEVICE_SALT)


def _known_device() -> sign_in.KnownDevice | None:
    """This browser's device cookie, if its signature holds and it is not too old."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None
    max_age = int(login_policy(get_settings()).known_device.total_seconds())
    try:
        value = _device_serializer().loads(raw, max_age=max_age)
        return sign_in.KnownDevice(str(value["d"]), frozenset(int(i) for i in value["u"]))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def _remember_device(response: Response, user: User) -> None:
    """After a full sign-in: this browser is known to the account (its own lock counter)."""
    known = _known_device()
    device_id = known.device_id if known else secrets.token_urlsafe(16)
    others = [i for i in (known.user_ids if known else ()) if i != user.id]
    value = _device_serializer().dumps({"d": device_id, "u": [user.id, *others][:_DEVICE_ACCOUNTS]})
    response.set_cookie(
        DEVICE_COOKIE, value, max_age=int(login_policy(get_settings()).known_device.total_seconds()),
        path="/login", httponly=True, samesite="Lax",
        secure=get_settings().session_cookie_secure or request.is_secure,
    )


# --- signing in and out ------------------------------------------------------------------

def _begin_session(user: User) -> None:
    session.clear()  # a fresh session on login: nothing from before carries over
    accounts.start_session(user, ip_address=_client(), user_agent=request.headers.get("User-Agent", ""))
    login_user(user)


def _start_session(user: User, target: str | None, *, provider_mfa: bool = False) -> ResponseReturnValue:
    _begin_session(user)
    if provider_mfa:
        session[PROVIDER_MFA] = True  # the agency's provider checked the second factor (identity)
    if login_policy(get_settings()).requires_two_factor(user) and not user.has_two_factor and not provider_mfa:
        # Nothing else until it is on (floorplans.auth holds every other page back too).
        flash("Your account must use two-factor sign-in. Add it to an authenticator app with the key below, "
              "then type the code the app shows.", "info")
        response = redirect(url_for("auth.two_factor"))
    else:
        response = redirect(_safe_next(target) or home_for(user.role))
    _remember_device(response, user)
    return response


@bp.route("/login", methods=["GET", "POST"])
@permission(Permission.PUBLIC)
def login() -> ResponseReturnValue:
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(home_for(current_user.role))
    error, status = None, 200
    email = request.form.get("email", "")
    policy = login_policy(get_settings())
    if request.method == "POST":
        attempt = sign_in.attempt_login(
            email, request.form.get("password", ""), ip_address=_client(), policy=policy, device=_known_device()
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
    return render_template("auth/login.html", error=error, email=email, policy=policy,
                           agency=identity.agency()), status


@bp.route("/login/code", methods=["GET", "POST"])
@permission(Permission.PUBLIC)
def login_code() -> ResponseReturnValue:
    """The second step: the password was right, now the code from the authenticator app."""
    pending = session.get(_PENDING)
    minutes = get_settings().login_code_minutes
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > minutes * 60:
        session.pop(_PENDING, None)
        if request.method == "POST" or pending:
            flash("Sign in again: the code must be typed within a few minutes of the password.", "info")
        return redirect(url_for("auth.login"))
    error, status = None, 200
    if request.method == "POST":
        attempt = sign_in.attempt_second_factor(
            int(pending["user"]), request.form.get("code", ""), ip_address=_client(),
            policy=login_policy(get_settings()), device=_known_device(),
        )
        db.session.commit()  # failures and locks are kept whatever the answer
        if attempt.outcome is sign_in.Outcome.SIGNED_IN and attempt.user is not None:
            return _start_session(attempt.user, pending.get("next"))
        limited = attempt.outcome is sign_in.Outcome.ADDRESS_LIMITED
        error, status = (ADDRESS_LIMITED, 429) if limited else (CODE_FAILED, 401)
    return render_template("auth/login_code.html", error=error), status


@bp.route("/logout", methods=["POST"])
@permission(Permission.SIGNED_IN)
def logout() -> ResponseReturnValue:
    agency = identity.agency() if current_user.identity_subject else None
    if current_user.login_session_id:
        accounts.end_session(current_user.login_session_id)
    audit.record("logout", target=current_user._get_current_object())
    logout_user()
    session.clear()
    if agency is not None:
        # Signed out here; the agency's own sign-in is offered, not forced (it may serve other apps).
        return render_template("auth/signed_out.html", agency=agency,
                               end_session_url=agency_sign_in.end_session_url(_external("auth.login")))
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


# --- one's own password and two-factor sign-in ---------------------------------------------

@bp.route("/account/password", methods=["GET", "POST"])
@permission(Permission.SIGNED_IN)
def change_password() -> ResponseReturnValue:
    if current_user.password_hash == identity.NO_PASSWORD:
        # An account made by agency sign-in: its password is the agency's, changed there.
        return render_template("auth/agency_password.html", agency=identity.agency())
    errors: dict[str, str] = {}
    if request.method == "POST":
        new = request.form.get("new_password", "")
        if new != request.form.get("confirm_password", ""):
            errors["confirm_password"] = "does not match the new password."  # noqa: S105 (a message)
        else:
            user: User = current_user._get_current_object()
            try:
                sign_in.change_own_password(user, request.form.get("current_password", ""), new,
                                            policy=login_policy(get_settings()))
            except InvalidInput as exc:
                # A wrong current password is counted and audited, and the 422 keeps that (no
                # savepoint).  Nothing else changed (the new password is checked first).
                errors = {("new_password" if name == "password" else name): problem
                          for name, problem in exc.fields.items()}
            else:
                # Every other login ended with the change; start this browser afresh.
                _begin_session(user)
                flash("Your password is changed. Every other sign-in of this account has ended.", "success")
                return redirect(home_for(user.role))
    return render_template("auth/password.html", errors=errors), (422 if errors else 200)


@bp.route("/account/two-factor", methods=["GET", "POST"])
@permission(Permission.SIGNED_IN)
def two_factor() -> ResponseReturnValue:
    """Turn two-factor sign-in on (a new key, confirmed by a code) or off (with the password)."""
    user: User = current_user._get_current_object()
    agency = identity.agency()
    if agency is not None and agency.checks_second_factor and user.password_hash == identity.NO_PASSWORD:
        # The provider checks a second factor at every sign-in of this account: nothing to manage here.
        return render_template("auth/agency_password.html", agency=agency, topic="two-factor")
    errors: dict[str, str] = {}
    policy = login_policy(get_settings())
    required = policy.requires_two_factor(user)
    action = request.form.get("action", "")
    if request.method == "POST" and action == "enable" and not user.has_two_factor:
        secret = _enrolment_secret() or ""
        _, errors = attempt(lambda: sign_in.enable_two_factor(user, secret, request.form.get("code", "")))
        if not errors:
            session.pop(_ENROLMENT, None)
            flash("Two-factor sign-in is on. From now on you will be asked for a code after your password.", "success")
            return redirect(url_for("auth.two_factor"))
    elif request.method == "POST" and action == "disable" and user.has_two_factor:
        if required:
            errors["password"] = "accounts of your role must keep two-factor sign-in on."  # noqa: S105 (a message)
        else:
            try:
                sign_in.disable_two_factor(user, password=request.form.get("password", ""), policy=policy)
            except InvalidInput as exc:  # the wrong password is counted and audited (the 422 keeps it)
                errors = exc.fields
            else:
                flash("Two-factor sign-in is off.", "success")
                return redirect(url_for("auth.two_factor"))
    enrolment = None
    if not user.has_two_factor:
        # The key waits in the session, sealed (the cookie is signed, not encrypted), until
        # a code proves the app holds it.
        secret = _enrolment_secret() or sign_in.new_secret()
        session[_ENROLMENT] = sign_in.seal_secret(secret)
        issuer = get_settings().service_name
        uri = sign_in.provisioning_uri(user, secret, issuer)
        enrolment = {"key": sign_in.grouped(secret), "uri": uri, "issuer": issuer}
    return render_template(
        "auth/two_factor.html", user=user, enrolment=enrolment, errors=errors, required=required
    ), (422 if errors else 200)


def _enrolment_secret() -> str | None:
    sealed = session.get(_ENROLMENT)
    if not isinstance(sealed, str):
        return None
    try:
        return sign_in.open_secret(sealed)
    except SealBroken:  # sealed before SECRET_KEY changed: start with a new key
        return None


@bp.route("/")
@permission(Permission.SIGNED_IN)
def index() -> ResponseReturnValue:
    return redirect(home_for(current_user.role))


# --- agency sign-in (OpenID Connect: floorplans.services.identity, docs/identity.md) ------

_AGENCY_NEXT = "agency_next"  # where to go once the provider has signed the person in


def _external(endpoint: str) -> str:
    """A URL of this service as the provider must see it: under BASE_URL when it is set (a
    proxy in front), else from the request.  It must match the app's registration exactly."""
    base = get_settings().base_url
    return base.rstrip("/") + url_for(endpoint) if base else url_for(endpoint, _external=True)


def _agency() -> identity.Agency:
    agency = identity.agency()
    if agency is None:
        abort(404)
    return agency


def _agency_refused(refused: identity.Refused) -> ResponseReturnValue:
    identity.record_refusal(refused, ip_address=_client())
    return render_template("auth/login.html", error=refused.message, email="",
                           policy=login_policy(get_settings()), agency=identity.agency()), refused.status


@bp.route("/login/agency")
@permission(Permission.PUBLIC)
def agency_login() -> ResponseReturnValue:
    """Off to the agency's provider (its sign-in and second factor); back at the callback."""
    _agency()
    if current_user.is_authenticated:
        return redirect(home_for(current_user.role))
    session[_AGENCY_NEXT] = _safe_next(request.args.get("next"))
    try:
        return agency_sign_in.start(_external("auth.agency_callback"))
    except identity.Refused as refused:
        return _agency_refused(refused)


@bp.route("/login/agency/callback")
@permission(Permission.PUBLIC)
def agency_callback() -> ResponseReturnValue:
    """The provider's answer: checked, then a login like any other (the same server-side
    session, idle and absolute limits, audit), or a refusal that says why."""
    agency = _agency()
    target = session.pop(_AGENCY_NEXT, None)
    try:
        claims = agency_sign_in.finish()
        user = identity.account_for(claims, agency)
    except identity.Refused as refused:
        return _agency_refused(refused)
    if user.has_two_factor and not agency.checks_second_factor:
        # The provider stood in for the password; the account's own code still follows.
        session.clear()
        session[_PENDING] = {"user": user.id, "at": time.time(), "next": target}
        return redirect(url_for("auth.login_code"))
    identity.record_sign_in(user, claims, ip_address=_client())
    return _start_session(user, target, provider_mfa=agency.checks_second_factor)
