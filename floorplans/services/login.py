"""Signing in: passwords, the lockout and the per-address limit, and TOTP two-factor login.

Every attempt is written to the audit log, and the counts that decide a lock are read back
from it: one record of what happened, nothing to drift out of step.  A locked account, an
unknown e-mail and a wrong password all look the same to the person signing in, and cost
the same time (a password hash is checked in each case).

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
import enum
import hmac
import time
from dataclasses import dataclass

import pyotp
from sqlalchemy import func, select

from floorplans.db import db, utcnow
from floorplans.errors import InvalidInput
from floorplans.models import AuditEvent, User
from floorplans.services import accounts, audit

TOTP_DIGITS = 6
TOTP_STEP_SECONDS = 30
TOTP_DRIFT_STEPS = 1  # accept the code of the previous and next 30 s too (a phone's clock drifts)


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5  # failed attempts on one account within ``window`` lock it...
    window: dt.timedelta = dt.timedelta(minutes=15)
    lock: dt.timedelta = dt.timedelta(minutes=15)  # ...for this long
    address_max_failures: int = 30  # failed attempts from one address within ``window``


class Outcome(enum.Enum):
    SIGNED_IN = "signed in"
    SECOND_FACTOR = "second factor needed"
    FAILED = "failed"  # wrong password, unknown account, locked, disabled: one answer for all
    ADDRESS_LIMITED = "too many failures from this address"


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    user: User | None = None


def _address_limited(ip_address: str, policy: LoginPolicy, now: dt.datetime) -> bool:
    if not ip_address:
        return False
    failures = db.session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "login.failure",
            AuditEvent.at >= now - policy.window,
            AuditEvent.address_key == audit.address_key(ip_address),
        )
    )
    return (failures or 0) >= policy.address_max_failures


def _fail(user: User | None, email: str, reason: str, policy: LoginPolicy, ip_address: str) -> Attempt:
    """Record a failure; lock the account when it reaches the limit within the window."""
    now = utcnow()
    audit.record("login.failure", actor=None, target=user, ip_address=ip_address,
                 detail={"email": audit.safe_email(email), "reason": reason})
    if user is not None:
        since = now - policy.window
        if user.login_failures_reset_at is not None and user.login_failures_reset_at > since:
            since = user.login_failures_reset_at
        failures = db.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.action == "login.failure",
                AuditEvent.target_type == "user",
                AuditEvent.target_id == user.id,
                AuditEvent.at >= since,
            )
        )
        if (failures or 0) >= policy.max_failures:
            user.locked_until = now + policy.lock
            user.login_failures_reset_at = now  # the next lock needs as many new failures
            db.session.flush()
            audit.record("login.lock", actor=None, target=user, ip_address=ip_address,
                         detail={"email": user.email, "failures": failures, "until": user.locked_until})
    return Attempt(Outcome.FAILED)


def _refused(user: User | None, email: str, reason: str, ip_address: str) -> None:
    audit.record("login.refused", actor=None, target=user, ip_address=ip_address,
                 detail={"email": audit.safe_email(email), "reason": reason})


def attempt_login(email: str, password: str, *, ip_address: str, policy: LoginPolicy) -> Attempt:
    """Check an e-mail and password.  The caller commits whatever the outcome: failures
    and locks must be kept even though the answer is an error."""
    now = utcnow()
    if _address_limited(ip_address, policy, now):
        accounts.password_matches(None, password)
        _refused(None, email, "too many failures from this address", ip_address)
        return Attempt(Outcome.ADDRESS_LIMITED)
    user = accounts.user_for_login(email)
    if user is not None and user.is_locked(now):
        accounts.password_matches(None, password)  # the same cost as a real check
        _refused(user, email, "account locked", ip_address)
        return Attempt(Outcome.FAILED)
    if not accounts.password_matches(user, password):
        return _fail(user, email, "wrong password" if user else "no such account", policy, ip_address)
    assert user is not None
    if not user.active:
        _refused(user, email, "account disabled", ip_address)
        return Attempt(Outcome.FAILED)
    if user.has_two_factor:
        return Attempt(Outcome.SECOND_FACTOR, user)
    succeed(user, ip_address=ip_address, method="password")
    return Attempt(Outcome.SIGNED_IN, user)


def attempt_second_factor(user_id: int, code: str, *, ip_address: str, policy: LoginPolicy) -> Attempt:
    """The second step of a login whose password was right: a TOTP code."""
    now = utcnow()
    user = db.session.get(User, user_id)
    if _address_limited(ip_address, policy, now):
        _refused(user, user.email if user else "", "too many failures from this address", ip_address)
        return Attempt(Outcome.ADDRESS_LIMITED)
    if user is None or not user.active or not user.has_two_factor:
        return Attempt(Outcome.FAILED)
    if user.is_locked(now):
        _refused(user, user.email, "account locked", ip_address)
        return Attempt(Outcome.FAILED)
    step = matching_step(user.totp_secret or "", code, after=user.totp_last_step)
    if step is None:
        return _fail(user, user.email, "wrong two-factor code", policy, ip_address)
    user.totp_last_step = step
    succeed(user, ip_address=ip_address, method="password and TOTP")
    return Attempt(Outcome.SIGNED_IN, user)


def succeed(user: User, *, ip_address: str, method: str) -> None:
    user.login_failures_reset_at = utcnow()
    user.locked_until = None
    db.session.flush()
    audit.record("login.success", actor=user, target=user, ip_address=ip_address,
                 detail={"email": user.email, "method": method})


# --- TOTP (RFC 6238) --------------------------------------------------------------------

def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def provisioning_uri(user: User, secret: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def grouped(secret: str) -> str:
    """The key as a person types it into an authenticator app: groups of four."""
    return " ".join(secret[i: i + 4] for i in range(0, len(secret), 4))


def matching_step(secret: str, code: str, *, after: int | None = None, now: float | None = None) -> int | None:
    """The time step whose code is ``code`` (within the allowed drift), or None.  A step at
    or before ``after`` was used already and is refused: a code works once."""
    code = "".join(code.split())
    if not secret or len(code) != TOTP_DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_SECONDS)
    current = int((time.time() if now is None else now) // TOTP_STEP_SECONDS)
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def enable_two_factor(user: User, secret: str, code: str) -> None:
    """Turn TOTP on once the person proved their app holds ``secret``."""
    step = matching_step(secret, code)
    if step is None:
        raise InvalidInput({"code": "is not the code your app shows for this key. Check the key and the "
                                    "phone's clock, then type the code shown now."})
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    db.session.flush()
    audit.record("two_factor.enable", target=user, detail={"email": user.email})


def disable_two_factor(user: User, *, password: str | None = None, by_admin: bool = False) -> None:
    """Turn TOTP off: by the person (who confirms with their password) or an administrator
    (a lost phone; the person enrols again)."""
    if not by_admin and (password is None or not accounts.password_matches(user, password)):
        raise InvalidInput({"password": "is not your current password."})
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.flush()
    audit.record("two_factor.reset" if by_admin else "two_factor.disable", target=user,
                 detail={"email": user.email})
