"""Signing in: passwords, the lock after repeated failures, the per-address limit, TOTP
two-factor login, and the forms that ask for the current password again.

Who is held back, and for what (docs/security.md, "Signing in", says why):

- **An account from one source**: 5 failures within 15 minutes from one address (IPv4, or
  IPv6 /64), or from one browser the account signed in on before (a *known device*, by its
  signed cookie), lock the account *for that source* for 15 minutes.  An attacker elsewhere
  cannot lock the officer's car or desk out.
- **An account from every unknown device together**: at most 100 failures an hour (OWASP
  ASVS 2.2.1); past that only known devices may try, until the hour is over.
- **An address**: 30 failures within 15 minutes, on any accounts, refuse it for 15 minutes.

Every count is a slot taken before the password or code is checked (services.attempts),
so no burst of concurrent requests gets more checks than the limit.  Every attempt is also
in the audit log.  A locked account, an unknown e-mail and a wrong password look the same
to the person signing in and cost the same time (a password hash is checked each time).

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import time
from dataclasses import dataclass

import pyotp
from flask import current_app

from floorplans import secrets_at_rest
from floorplans.config import Settings, get_settings
from floorplans.db import db, utcnow
from floorplans.errors import InvalidInput
from floorplans.models import Role, User
from floorplans.services import accounts, attempts, audit

TOTP_DIGITS = 6
TOTP_STEP_SECONDS = 30
TOTP_DRIFT_STEPS = 1  # accept the code of the previous and next 30 s too (a phone's clock drifts)
ACCOUNT_WINDOW = dt.timedelta(hours=1)  # ASVS 2.2.1 counts failures per account per hour


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5  # failures on one account from one source within ``window`` lock it there...
    window: dt.timedelta = dt.timedelta(minutes=15)
    lock: dt.timedelta = dt.timedelta(minutes=15)  # ...for this long
    address_max_failures: int = 30  # failures from one address, any accounts, within ``window``
    account_max_failures: int = 100  # failures on one account from all unknown devices, per hour
    known_device: dt.timedelta = dt.timedelta(days=90)  # a browser stays known this long after a sign-in
    two_factor_roles: frozenset[str] = frozenset({Role.ADMIN.value})  # who must use two-factor sign-in
    # Officers, planners and admins may use a local password (not when agency sign-in replaces it).
    staff_passwords: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginPolicy:
        """The policy of the settings (their numbers are checked there; the roles here)."""
        return cls(
            max_failures=settings.login_max_failures,
            window=dt.timedelta(minutes=settings.login_failure_window_minutes),
            lock=dt.timedelta(minutes=settings.login_lock_minutes),
            address_max_failures=settings.login_address_max_failures,
            account_max_failures=settings.login_account_max_failures_per_hour,
            known_device=dt.timedelta(days=settings.login_known_device_days),
            two_factor_roles=frozenset(Role(r).value for r in settings.two_factor_required_roles),  # ValueError
            staff_passwords=not settings.oidc_issuer or settings.oidc_staff_local_passwords,
        )

    def requires_two_factor(self, user: User) -> bool:
        return Role(user.role).value in self.two_factor_roles


class Outcome(enum.Enum):
    SIGNED_IN = "signed in"
    SECOND_FACTOR = "second factor needed"
    FAILED = "failed"  # wrong password, unknown account, locked, disabled: one answer for all
    ADDRESS_LIMITED = "too many failures from this address"


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    user: User | None = None


@dataclass(frozen=True)
class KnownDevice:
    """A browser's device cookie, once its signature was checked (by the sign-in pages): a
    random id, and the accounts that signed in on it."""

    device_id: str
    user_ids: frozenset[int]

    def knows(self, user: User | None) -> bool:
        return user is not None and user.id in self.user_ids


# --- the counters of one attempt --------------------------------------------------------

@dataclass(frozen=True)
class _Counters:
    address: attempts.Counter | None  # the client's address (none when it is unknown)
    source: attempts.Counter | None  # this account from this address or known device
    unknown: attempts.Counter | None  # this account from every unknown device


def _counters(user: User | None, ip_address: str, device: KnownDevice | None, policy: LoginPolicy) -> _Counters:
    address = audit.address_key(ip_address) if ip_address else ""
    per_address = attempts.Counter(
        f"address {address}", attempts.Limit(policy.address_max_failures, policy.window, policy.window),
        address=address,
    ) if address else None
    if user is None:
        return _Counters(per_address, None, None)
    limit = attempts.Limit(policy.max_failures, policy.window, policy.lock)
    if device is not None and device.knows(user):
        # Only a hash of the cookie's id: the table alone cannot make a device known.
        tag = hashlib.sha256(device.device_id.encode()).hexdigest()[:32]
        return _Counters(per_address, attempts.Counter(f"account {user.id} device {tag}", limit, user_id=user.id),
                         None)
    source = attempts.Counter(f"account {user.id} from {address or 'an unknown address'}", limit,
                              user_id=user.id, address=address)
    unknown = attempts.Counter(
        f"account {user.id} from unknown devices",
        attempts.Limit(policy.account_max_failures, ACCOUNT_WINDOW, ACCOUNT_WINDOW), user_id=user.id,
    )
    return _Counters(per_address, source, unknown)


_REFUSALS = {
    "address": "too many failures from this address",
    "source": "account locked for this address or device",
    "unknown": "account locked for unknown devices",
}
_Slots = dict[str, attempts.Slot]


def _take(counters: _Counters, now: dt.datetime) -> tuple[_Slots, str | None]:
    """A slot on each counter, or none at all and the name of the one that refused."""
    slots: _Slots = {}
    for name in ("address", "source", "unknown"):
        counter: attempts.Counter | None = getattr(counters, name)
        if counter is None:
            continue
        slot = attempts.take(counter, now)
        if slot is None:
            for taken in slots.values():
                attempts.give_back(taken)
            return {}, name
        slots[name] = slot
    return slots, None


def _keep(slots: _Slots, user: User | None, ip_address: str, now: dt.datetime) -> None:
    """The attempt failed: its slots stay taken, and a counter whose last slot it took locks."""
    for slot in slots.values():
        if not slot.is_last:
            continue
        until = attempts.lock(slot, now)
        counter = slot.counter
        mine = counter.user_id is not None
        audit.record("login.lock", actor=None, target=user if mine else None, ip_address=ip_address,
                     detail={"email": user.email if user is not None and mine else None,
                             "held_back": describe(counter.key, counter.address),
                             "failures": counter.limit.most, "until": until})


def _give_back(slots: _Slots, *, clear_source: bool) -> None:
    """The attempt succeeded: it does not count; a full sign-in also clears its source."""
    for name, slot in slots.items():
        if clear_source and name == "source":
            attempts.clear(slot.counter)
        else:
            attempts.give_back(slot)


def describe(key: str, address: str) -> str:
    """What a counter holds back, in words (the audit log, the account's page)."""
    if key.startswith("address "):
        return f"sign-in from {address}, to every account"
    if key.startswith("confirm password"):
        return "the forms that ask for the current password"
    if " device " in key:
        return "sign-in on one device the account signed in on before"
    if key.endswith("unknown devices"):
        return "sign-in on every device the account never signed in on"
    return f"sign-in from {address or 'an unknown address'}"


def _refused(user: User | None, email: str, reason: str, ip_address: str) -> None:
    audit.record("login.refused", actor=None, target=user, ip_address=ip_address,
                 detail={"email": audit.safe_email(email), "reason": reason})


def attempt_login(email: str, password: str, *, ip_address: str, policy: LoginPolicy,
                  device: KnownDevice | None = None) -> Attempt:
    """Check an e-mail and password.  Taking the attempt's slots commits the session
    (services.attempts): call it before changing anything.  The caller commits whatever the
    outcome: failures and locks must be kept even though the answer is an error."""
    now = utcnow()
    user = accounts.user_for_login(email)
    slots, refused_by = _take(_counters(user, ip_address, device, policy), now)
    if refused_by is not None:
        accounts.password_matches(None, password)  # the same cost as a real check
        _refused(user, email, _REFUSALS[refused_by], ip_address)
        return Attempt(Outcome.ADDRESS_LIMITED if refused_by == "address" else Outcome.FAILED)
    if not accounts.password_matches(user, password):
        reason = "wrong password" if user else "no such account"
        audit.record("login.failure", actor=None, target=user, ip_address=ip_address,
                     detail={"email": audit.safe_email(email), "reason": reason})
        _keep(slots, user, ip_address, now)
        return Attempt(Outcome.FAILED)
    assert user is not None
    if not user.active:
        # Counted like a failure: the answer must not tell a disabled account's password apart.
        _refused(user, email, "account disabled", ip_address)
        _keep(slots, user, ip_address, now)
        return Attempt(Outcome.FAILED)
    if not policy.staff_passwords and Role(user.role) is not Role.PARTNER:
        # Staff sign in with the agency's account (services.identity); counted like a disabled one.
        _refused(user, email, "staff sign in with the agency account", ip_address)
        _keep(slots, user, ip_address, now)
        return Attempt(Outcome.FAILED)
    if user.has_two_factor:
        # The password does not count against anyone; the code step takes its own slots,
        # and only a full sign-in clears earlier failures (else each right password would
        # buy five more code guesses).
        _give_back(slots, clear_source=False)
        return Attempt(Outcome.SECOND_FACTOR, user)
    _give_back(slots, clear_source=True)
    succeed(user, ip_address=ip_address, method="password")
    return Attempt(Outcome.SIGNED_IN, user)


def attempt_second_factor(user_id: int, code: str, *, ip_address: str, policy: LoginPolicy,
                          device: KnownDevice | None = None) -> Attempt:
    """The second step of a login whose password was right: a TOTP code, counted on the
    same counters as passwords."""
    now = utcnow()
    user = db.session.get(User, user_id)
    if user is None or not user.active or not user.has_two_factor:
        return Attempt(Outcome.FAILED)
    slots, refused_by = _take(_counters(user, ip_address, device, policy), now)
    if refused_by is not None:
        _refused(user, user.email, _REFUSALS[refused_by], ip_address)
        return Attempt(Outcome.ADDRESS_LIMITED if refused_by == "address" else Outcome.FAILED)
    step = matching_step(_secret_of(user), code, after=user.totp_last_step)
    if step is None:
        audit.record("login.failure", actor=None, target=user, ip_address=ip_address,
                     detail={"email": user.email, "reason": "wrong two-factor code"})
        _keep(slots, user, ip_address, now)
        return Attempt(Outcome.FAILED)
    user.totp_last_step = step
    assert user.totp_secret_sealed is not None
    user.totp_secret_sealed = secrets_at_rest.reseal(get_settings(), user.totp_secret_sealed)
    _give_back(slots, clear_source=True)
    succeed(user, ip_address=ip_address, method="password and TOTP")
    return Attempt(Outcome.SIGNED_IN, user)


def succeed(user: User, *, ip_address: str, method: str) -> None:
    audit.record("login.success", actor=user, target=user, ip_address=ip_address,
                 detail={"email": user.email, "method": method})


def held_back(user: User) -> list[tuple[str, dt.datetime]]:
    """What holds an account back now, and until when (its administration page)."""
    return [(describe(row.key, row.address), row.locked_until)
            for row in attempts.locked(user.id, utcnow()) if row.locked_until is not None]


# --- the forms that ask for the current password again -----------------------------------

_FORM_FAILED = {"password.change": "password.change_failed", "two_factor.disable": "two_factor.disable_failed"}


def confirm_password(user: User, password: str, *, form: str, field: str, policy: LoginPolicy) -> None:
    """A signed-in person types their password again (to change it, to turn two-factor
    off).  Counted like sign-ins, per account: after ``max_failures`` wrong ones within
    ``window`` both forms refuse for ``lock``; every failure is audited.  Taking the slot
    commits the session (call it first); the caller commits even when this raises (to keep
    the record)."""
    now = utcnow()
    counter = attempts.Counter(f"confirm password {user.id}",
                               attempts.Limit(policy.max_failures, policy.window, policy.lock), user_id=user.id)
    minutes = int(policy.lock.total_seconds() // 60)
    locked = (f"was wrong too many times: this form is locked for {minutes} minutes. Wait and try again, "
              "or ask an administrator to unlock your account.")
    slot = attempts.take(counter, now)
    if slot is None:
        audit.record(_FORM_FAILED[form], target=user, detail={"email": user.email, "reason": "form locked"})
        raise InvalidInput({field: locked})
    if not accounts.password_matches(user, password):
        audit.record(_FORM_FAILED[form], target=user, detail={"email": user.email, "reason": "wrong password"})
        if slot.is_last:
            until = attempts.lock(slot, now)
            audit.record(_FORM_FAILED[form], target=user, detail={
                "email": user.email, "reason": "form locked", "failures": policy.max_failures, "until": until})
            raise InvalidInput({field: locked})
        raise InvalidInput({field: "is not your current password."})
    attempts.clear(counter)


def change_own_password(user: User, current: str, new: str, *, policy: LoginPolicy) -> None:
    """A person changes their own password: the current one first (counted), then the new
    one against the policy and the current one; every other login of theirs ends."""
    confirm_password(user, current, form="password.change", field="current_password", policy=policy)
    accounts.set_password(user, new, action="password.change", temporary=False)


# --- TOTP (RFC 6238) --------------------------------------------------------------------

def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def seal_secret(secret: str) -> str:
    """A key sealed for keeping (the database, or the session while enrolment waits)."""
    return secrets_at_rest.seal(get_settings(), secret)


def open_secret(sealed: str) -> str:
    return secrets_at_rest.unseal(get_settings(), sealed)


def _secret_of(user: User) -> str:
    try:
        return open_secret(user.totp_secret_sealed or "")
    except secrets_at_rest.SealBroken:
        current_app.logger.error("The two-factor key of user %s does not open: SECRET_KEY changed without "
                                 "SECRET_KEY_FALLBACKS? An administrator can reset their two-factor sign-in.",
                                 user.id)
        return ""


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
    user.totp_secret_sealed = seal_secret(secret)
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    db.session.flush()
    audit.record("two_factor.enable", target=user, detail={"email": user.email})


def disable_two_factor(user: User, *, password: str | None = None, policy: LoginPolicy | None = None,
                       by_admin: bool = False) -> None:
    """Turn TOTP off: by the person (who confirms with their password, counted and audited
    like a password change) or an administrator (a lost phone; the person enrols again)."""
    if not by_admin:
        confirm_password(user, password or "", form="two_factor.disable", field="password",
                         policy=policy or LoginPolicy())
    user.totp_secret_sealed = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.flush()
    audit.record("two_factor.reset" if by_admin else "two_factor.disable", target=user,
                 detail={"email": user.email})
