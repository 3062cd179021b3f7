"""Accounts: organisations, users, passwords and server-side login sessions (API tokens:
``services.tokens``; a password change or a disabled account ends them here).

Signing in (``attempt_login``, ``attempt_second_factor``) and TOTP live in
``services.login``; this module keeps the accounts themselves and their sessions.
Every change here is written to the audit log in the same transaction.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from flask import has_app_context
from sqlalchemy import Select, bindparam, delete, func, select
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from floorplans.config import get_settings
from floorplans.db import db, utcnow
from floorplans.errors import InvalidInput, NotFound
from floorplans.fields import Field, RecordFields
from floorplans.models import FAITH_TRADITIONS, LoginSession, Organisation, Role, User
from floorplans.services import attempts, audit, passwords, tokens
from floorplans.services.tokens import create_token  # noqa: F401  (where callers have always found it)

MIN_PASSWORD_LENGTH = passwords.MIN_LENGTH  # the whole policy: services.passwords
# Verified against when the e-mail is unknown, so a failed login takes as long either way.
_DUMMY_HASH = generate_password_hash("not-a-real-password-" + "x" * 20)

ORGANISATION_FIELDS = RecordFields((
    Field("name", "Name of the congregation", required=True),
    Field("faith_tradition", "Faith tradition", "choice", required=True, choices=FAITH_TRADITIONS),
))

#: The agency of a responder from another service (fire, EMS), shown with their name in a
#: congregation's access log ("Oakville Fire: J. Smith").  Partners have a congregation instead.
AGENCY = Field("agency", "Agency", max_length=120)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_organisation(raw: dict[str, object]) -> Organisation:
    values = ORGANISATION_FIELDS.clean(raw)
    if db.session.scalar(select(Organisation).where(func.lower(Organisation.name) == values["name"].lower())):
        raise InvalidInput({"name": "another organisation already has this name."})
    organisation = Organisation(**values)
    db.session.add(organisation)
    db.session.flush()
    audit.record("organisation.create", target=organisation, detail={"values": values})
    return organisation


def update_organisation(organisation: Organisation, raw: dict[str, object]) -> Organisation:
    values = ORGANISATION_FIELDS.clean(raw)
    clash = db.session.scalar(
        select(Organisation).where(
            func.lower(Organisation.name) == values["name"].lower(), Organisation.id != organisation.id
        )
    )
    if clash:
        raise InvalidInput({"name": "another organisation already has this name."})
    before = audit.snapshot(organisation, values)
    for name, value in values.items():
        setattr(organisation, name, value)
    db.session.flush()
    changed = audit.changes(before, values)
    if changed:
        audit.record("organisation.update", target=organisation, detail={"changes": changed})
    return organisation


def organisation_by_name(name: str) -> Organisation:
    organisation = db.session.scalar(
        select(Organisation).where(func.lower(Organisation.name) == name.strip().lower())
    )
    if organisation is None:
        raise NotFound(f"No organisation is called {name!r}.")
    return organisation


def check_password_strength(
    password: str, *, email: str = "", name: str = "", organisation: Organisation | None = None
) -> None:
    """The password policy (services.passwords), with this account's own words as the
    first guesses: its e-mail, its name, its congregation's name and the service's name."""
    service = get_settings().service_name if has_app_context() else ""
    passwords.check(password, email=email, context=[name, organisation.name if organisation else "", service])


def generate_password() -> str:
    """A password to hand over once (``flask users create`` without --password-stdin, the
    demo): 16 random URL-safe characters, about 96 bits; checked like any other."""
    while True:
        password = secrets.token_urlsafe(12)
        try:
            check_password_strength(password)
        except InvalidInput:
            continue  # a random draw that happens to look like a word or a pattern; rare
        return password


def _agency(raw: str, role: str, errors: dict[str, str]) -> str:
    """A responder's agency, cleaned by its field; a partner's account has none."""
    try:
        value: str = AGENCY.clean(raw)
    except ValueError as exc:
        errors["agency"] = str(exc)
        return ""
    if value and role == Role.PARTNER.value:
        errors["agency"] = "is for responders of other services (fire, EMS); a partner belongs to a congregation."
    return value


def create_user(
    *,
    email: str,
    role: str,
    password: str,
    name: str = "",
    agency: str = "",
    organisation: Organisation | None = None,
    temporary: bool = True,
) -> User:
    """A new account.  The password an administrator typed is ``temporary`` (to be replaced
    at the first sign-in: they read or sent it to the person); the demo's printed logins and
    ``flask users create --permanent`` are not."""
    errors: dict[str, str] = {}
    email = normalise_email(email)
    if not email or "@" not in email or len(email) > 254:
        errors["email"] = "is not an e-mail address."
    elif db.session.scalar(select(User).where(User.email == email)):
        errors["email"] = "already has an account."
    try:
        role_value = Role(role)
    except ValueError:
        errors["role"] = f"must be one of: {', '.join(r.value for r in Role)}."
    else:
        if role_value is Role.PARTNER and organisation is None:
            errors["organisation"] = "is required for a partner (the congregation they belong to)."
        if role_value is not Role.PARTNER and organisation is not None:
            errors["organisation"] = "is only for partners; leave it empty for this role."
    try:
        check_password_strength(password, email=email, name=name, organisation=organisation)
    except InvalidInput as exc:
        errors.update(exc.fields)
    agency = _agency(agency, role, errors)
    if errors:
        raise InvalidInput(errors)
    user = User(
        email=email,
        name=name.strip()[:200],
        role=role_value.value,
        agency=agency,
        organisation=organisation,
        password_hash=generate_password_hash(password),
        active=True,
        must_change_password=temporary,
    )
    db.session.add(user)
    db.session.flush()
    audit.record("account.create", target=user, detail={
        "agency": user.agency,
        "email": user.email, "role": user.role, "organisation": organisation.name if organisation else None,
        "temporary_password": temporary,
    })  # fmt: skip
    return user


def _permissions_of(user: User) -> dict[str, Any]:
    return {
        "agency": user.agency,
        "role": user.role,
        "organisation": user.organisation.name if user.organisation else None,
        "active": user.active,
        "name": user.name,
    }


def update_user(user: User, *, role: str, organisation: Organisation | None, active: bool, name: str,
                agency: str | None = None) -> User:
    try:
        role_value = Role(role)
    except ValueError:
        raise InvalidInput({"role": "is not a role."}) from None
    if role_value is Role.PARTNER and organisation is None:
        raise InvalidInput({"organisation": "is required for a partner."})
    if role_value is not Role.PARTNER:
        organisation = None
    errors: dict[str, str] = {}
    if agency is None:  # a caller that does not manage agencies keeps it (a partner has none)
        agency = user.agency if role_value is not Role.PARTNER else ""
    agency = _agency(agency, role_value.value, errors)
    if errors:
        raise InvalidInput(errors)
    before = _permissions_of(user)
    was_active = user.active
    user.role = role_value.value
    user.organisation = organisation
    user.active = active
    user.name = name.strip()[:200]
    user.agency = agency
    if was_active and not active:
        end_all_sessions(user)
        tokens.revoke_all_tokens(user, reason="account disabled")  # not revived by enabling it again
    db.session.flush()
    changed = audit.changes(before, _permissions_of(user))
    if changed:
        audit.record("account.update", target=user, detail={"email": user.email, "changes": changed})
    return user


def user_for_login(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def password_matches(user: User | None, password: str) -> bool:
    """Check a password; for no user, spend the same time on a dummy hash so that a failed
    login takes as long whether the account exists or not."""
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(user.password_hash, password)


def set_password(user: User, new: str, *, action: str = "account.password_reset", temporary: bool = True) -> None:
    """Set a new password and end every existing login of this user, everywhere.  (A
    person's own change confirms the current one first: services.login.confirm_password.)

    A password someone else chose (an administrator's reset, the default) is ``temporary``:
    the person must replace it before reaching any other page (floorplans.auth).  The
    person's own choice (their change, an invitation or reset link) is not.  An account that
    signs in through the agency (OpenID Connect) has no password here to set."""
    if user.identity_issuer:
        raise InvalidInput({"password": "is not set here: this account signs in with the agency's own account, "
                                        "whose password the agency's service desk resets."})
    check_password_strength(new, email=user.email, name=user.name, organisation=user.organisation)
    if check_password_hash(user.password_hash, new):
        raise InvalidInput({"password": f"must not be the current password. {passwords.ADVICE}"})
    user.password_hash = generate_password_hash(new)
    user.password_changed_at = utcnow()
    user.must_change_password = temporary
    end_all_sessions(user)
    db.session.flush()
    audit.record(action, target=user, detail={"email": user.email, "temporary": temporary})
    tokens.revoke_all_tokens(user, reason="password changed")  # a copied token dies with the password


def unlock(user: User) -> None:
    """An administrator (or ``flask users unlock``) ends every lock of an account at once:
    its sign-in from every address and device, its password forms, and the per-address
    limit of each address that failed on it; failures before now stop counting."""
    addresses = attempts.forget_account(user.id)
    audit.record("account.unlock", target=user, detail={"email": user.email, "addresses": addresses})


# --- session policy ---------------------------------------------------------------------

@dataclass(frozen=True)
class SessionPolicy:
    """How long a login lasts.  ``None`` as an idle limit means no idle limit (the absolute
    one still applies); see docs/security.md for the in-car exemption."""

    idle: dt.timedelta | None = dt.timedelta(minutes=30)
    absolute: dt.timedelta = dt.timedelta(hours=12)
    idle_by_role: Mapping[str, dt.timedelta | None] = field(default_factory=dict)
    in_car_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    in_car_roles: frozenset[str] = frozenset({Role.OFFICER.value})
    in_car_idle: dt.timedelta | None = None

    def is_in_car(self, role: str, ip_address: str) -> bool:
        if not self.in_car_networks or role not in self.in_car_roles:
            return False
        try:
            address = ipaddress.ip_address(ip_address)
        except ValueError:
            return False
        return any(address in network for network in self.in_car_networks)

    def idle_for(self, role: str, ip_address: str) -> dt.timedelta | None:
        if self.is_in_car(role, ip_address):
            return self.in_car_idle
        return self.idle_by_role.get(role, self.idle)


# --- server-side login sessions -------------------------------------------------------

#: How finely the idle limit is measured: a login's last request is written when it is at
#: least this much later than the one written before.
LAST_SEEN_PRECISION = dt.timedelta(seconds=10)

def start_session(user: User, *, ip_address: str, user_agent: str) -> str:
    """Record a new login; returns the secret that goes into the signed session cookie."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        LoginSession(
            token_hash=_hash_token(token),
            user=user,
            ip_address=ip_address[:64],
            user_agent=user_agent[:300],
        )
    )
    db.session.flush()
    user.login_session_id = token
    return token


@cache
def _login_statement() -> Select[LoginSession]:
    """A login by its token's hash, with its user in the same query: this runs on every
    request, tiles included, so it is built once per process (building it cost a third of
    what running it does)."""
    return (select(LoginSession).where(LoginSession.token_hash == bindparam("token_hash"))
            .options(joinedload(LoginSession.user)))


def resume_session(token: str, policy: SessionPolicy) -> User | None:
    """The user of a live login session, or None when it ended, idled out or grew too old.
    The idle limit depends on the role and on where the login came from (the address kept
    at login: an in-car network keeps its exemption while the car changes cell)."""
    login = db.session.scalar(_login_statement(), {"token_hash": _hash_token(token)})
    if login is None:
        return None
    now = utcnow()
    idle = policy.idle_for(login.user.role, login.ip_address)
    idled_out = idle is not None and now - login.last_seen_at > idle
    if idled_out or now - login.created_at > policy.absolute or not login.user.active:
        db.session.delete(login)
        db.session.flush()
        return None
    # Written at most every LAST_SEEN_PRECISION: a write per request would serialise SQLite
    # under an officer's burst of requests, and a login may end that much early, never late.
    if now - login.last_seen_at >= LAST_SEEN_PRECISION:
        login.last_seen_at = now
        # Committed now (this runs first in a request, when the signed-in user is loaded,
        # before any view's unit of work): kept whatever the request answers, a 404 or a
        # refused form included, so the idle timer follows every use.
        db.session.commit()
    login.user.login_session_id = token
    return login.user


def end_session(token: str) -> None:
    db.session.execute(delete(LoginSession).where(LoginSession.token_hash == _hash_token(token)))
    db.session.flush()


def end_all_sessions(user: User) -> None:
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    db.session.flush()


def user_by_email(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound(f"No account has the e-mail address {email!r}.")
    return user
