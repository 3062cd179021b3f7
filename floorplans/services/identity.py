"""Agency sign-in (OpenID Connect), the accounts side: the police service's own identity
provider (Microsoft Entra ID, ADFS, Keycloak, Okta) signs its staff in, and its second
factor counts for CJIS.

The protocol with the provider (discovery, the authorisation code flow with PKCE, state,
nonce, the ID token's signature, issuer and audience) is floorplans/agency_sign_in.py, which
reads the request; this module takes the checked claims: the required ``amr``/``acr``, and
the account, found by (issuer, subject), made on the first sign-in (just in time) with the
role its groups give, its role updated at every sign-in, and no session for someone the
provider no longer puts in a mapped group.  docs/identity.md tells an agency's IT how to
register the service and what happens at each step.

Off while OIDC_ISSUER is unset: then every role signs in with a local password, as before.
Partners (faith communities) always keep local passwords.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from floorplans.config import SettingError, Settings, get_settings
from floorplans.db import db
from floorplans.models import Role, User
from floorplans.services import accounts, audit, tokens

#: The password hash of an account that signs in only through the agency: no password matches it.
NO_PASSWORD = "!"  # noqa: S105 (not a password: a hash nothing matches)
#: The staff roles, highest first: someone in groups of two roles gets the higher one.
STAFF_ROLES = (Role.ADMIN, Role.PLANNER, Role.OFFICER)


@dataclass(frozen=True)
class Agency:
    """The agency sign-in's settings, checked together at start (``init_app``)."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...]
    groups_claim: str
    groups: Mapping[Role, frozenset[str]]  # the provider's groups that give each staff role
    required_amr: frozenset[str]  # the ID token's amr must hold one of these (e.g. "mfa")...
    required_acr: tuple[str, ...]  # ...and its acr be one of these (asked for with acr_values)
    name: str  # "Sign in with <name>"
    staff_local_passwords: bool
    clock_skew: int
    timeout: float

    @property
    def checks_second_factor(self) -> bool:
        """The provider's MFA stands in for a local TOTP code (every agency sign-in is
        refused unless its amr/acr show the factor the settings require)."""
        return bool(self.required_amr or self.required_acr)

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


def agency_from(settings: Settings) -> Agency | None:
    """The agency sign-in from the settings, or None when OIDC_ISSUER is unset; a
    ``SettingError`` names what is missing."""
    if not settings.oidc_issuer:
        return None
    if not settings.oidc_issuer.startswith(("https://", "http://")):
        raise SettingError("An agency sign-in setting is wrong: OIDC_ISSUER must be the provider's issuer URL "
                           f"(https://...), not {settings.oidc_issuer!r}.")
    if not settings.oidc_client_id:
        raise SettingError("An agency sign-in setting is missing: set FLOORPLANS_OIDC_CLIENT_ID (and "
                           "FLOORPLANS_OIDC_CLIENT_SECRET) to the application's registration at the provider.")
    groups = {
        Role.ADMIN: frozenset(settings.oidc_groups_admin),
        Role.PLANNER: frozenset(settings.oidc_groups_planner),
        Role.OFFICER: frozenset(settings.oidc_groups_officer),
    }
    if not any(groups.values()):
        raise SettingError("An agency sign-in setting is missing: map at least one of the provider's groups to a "
                           "role (FLOORPLANS_OIDC_GROUPS_OFFICER, _PLANNER or _ADMIN); without one nobody gets in.")
    scopes = [scope for item in settings.oidc_scopes for scope in item.split()]
    return Agency(
        issuer=settings.oidc_issuer,
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret or "",
        scopes=tuple(dict.fromkeys(["openid", *scopes])),
        groups_claim=settings.oidc_groups_claim,
        groups=groups,
        required_amr=frozenset(settings.oidc_required_amr),
        required_acr=settings.oidc_required_acr,
        name=settings.oidc_agency_name,
        staff_local_passwords=settings.oidc_staff_local_passwords,
        clock_skew=settings.oidc_clock_skew_seconds,
        timeout=settings.oidc_timeout_seconds,
    )


def agency() -> Agency | None:
    """The current app's agency sign-in, or None when it has none."""
    return agency_from(get_settings())


def staff_may_use_passwords(settings: Settings) -> bool:
    """Whether officers, planners and administrators may still sign in with a local password."""
    return not settings.oidc_issuer or settings.oidc_staff_local_passwords


class Refused(Exception):
    """An agency sign-in this service does not accept: ``message`` is for the person (what
    happened and what to do), ``reason`` for the audit log."""

    def __init__(self, message: str, reason: str, *, status: int = 401, user: User | None = None,
                 email: str = "") -> None:
        super().__init__(reason)
        self.message = message
        self.reason = reason
        self.status = status
        self.user = user
        self.email = email


def required_agency() -> Agency:
    settings = agency()
    if settings is None:
        raise RuntimeError("agency sign-in is not configured (FLOORPLANS_OIDC_ISSUER)")
    return settings


# --- from claims to an account ------------------------------------------------------------

def _groups(claims: Mapping[str, Any], settings: Agency) -> list[str]:
    value = claims.get(settings.groups_claim) or []
    return [value] if isinstance(value, str) else [str(item) for item in value]


def role_for(claims: Mapping[str, Any], settings: Agency) -> Role | None:
    """The highest staff role one of the person's groups gives, or None."""
    groups = set(_groups(claims, settings))
    return next((role for role in STAFF_ROLES if groups & settings.groups[role]), None)


def _email(claims: Mapping[str, Any]) -> str:
    """Entra ID may send the address as ``email`` or only as ``preferred_username``/``upn``."""
    for key in ("email", "preferred_username", "upn"):
        value = accounts.normalise_email(str(claims.get(key) or ""))
        if "@" in value and len(value) <= 254:
            return value
    return ""


def _name(claims: Mapping[str, Any]) -> str:
    name = str(claims.get("name") or " ".join(str(claims.get(k) or "") for k in ("given_name", "family_name")))
    return name.strip()[:200]


def check_second_factor(claims: Mapping[str, Any], settings: Agency) -> None:
    """The provider's authentication was as strong as the settings require (its amr/acr)."""
    amr = claims.get("amr") or []
    amr = [amr] if isinstance(amr, str) else [str(item) for item in amr]
    email = _email(claims)
    weak = (f"Your {settings.name} sign-in did not use the second factor this service requires (for example an "
            "authenticator app or a smart card), so you are not signed in. Sign out of your agency account, then "
            "sign in again with the second factor; if you are not offered one, call your service desk.")
    if settings.required_amr and not settings.required_amr & set(amr):
        raise Refused(weak, f"amr {amr} has none of {sorted(settings.required_amr)}", status=403, email=email)
    if settings.required_acr and claims.get("acr") not in settings.required_acr:
        raise Refused(weak, f"acr {claims.get('acr')!r} is not one of {list(settings.required_acr)}", status=403,
                      email=email)


def _identity(user: User) -> dict[str, Any]:
    return {"role": user.role, "email": user.email, "name": user.name,
            "identity": f"{user.identity_issuer} {user.identity_subject}" if user.identity_subject else None}


def account_for(claims: Mapping[str, Any], settings: Agency) -> User:
    """The account of the person the ID token names: made on their first sign-in, its role
    (and e-mail and name) brought up to date from the provider at every sign-in.  Refused,
    with every login and token of the account ended, when none of their groups gives a role:
    the provider no longer lets them into this service."""
    check_second_factor(claims, settings)
    subject = str(claims["sub"])[:255]
    email = _email(claims)
    user = db.session.scalar(select(User).where(User.identity_issuer == settings.issuer,
                                                User.identity_subject == subject))
    role = role_for(claims, settings)
    if role is None:
        if user is not None:
            accounts.end_all_sessions(user)
            tokens.revoke_all_tokens(user, reason="no longer in an agency group that gives a role")
        raise Refused(
            f"Your {settings.name} account is not in a group that may use this service, so you are not signed in. "
            "If you need access, ask your supervisor or service desk to add you to the right group.",
            f"no group mapped to a role (groups: {_groups(claims, settings)[:20]})"[:300],
            status=403, user=user, email=email,
        )
    if user is None:
        user = _first_sign_in(subject, email, role, claims, settings)
    elif not user.active:
        raise Refused(
            "Your account in this service is disabled, so you are not signed in. Ask the service's "
            "administrator if you need it back.", "account disabled", status=403, user=user, email=user.email,
        )
    else:
        before = _identity(user)
        user.role = role.value
        user.name = _name(claims) or user.name
        if email and email != user.email and accounts.user_for_login(email) is None:
            user.email = email
        db.session.flush()
        changed = audit.changes(before, _identity(user))
        if changed:
            audit.record("account.update", actor=None, target=user,
                         detail={"email": user.email, "changes": changed, "by": "agency sign-in"})
    return user


def _first_sign_in(subject: str, email: str, role: Role, claims: Mapping[str, Any], settings: Agency) -> User:
    if not email:
        raise Refused(
            f"The {settings.name} sign-in sent no e-mail address for you, so no account can be made. Tell your "
            "service desk: the email (or preferred_username) claim must be released to this application.",
            "no e-mail address in the ID token", status=403,
        )
    existing = accounts.user_for_login(email)
    if existing is not None:
        if existing.role == Role.PARTNER.value or existing.identity_subject is not None or not existing.active:
            raise Refused(
                f"The e-mail address {email} already belongs to another account of this service, so yours cannot be "
                "made. Ask the service's administrator to sort it out.",
                "e-mail address already used by another account", status=403, user=existing, email=email,
            )
        # A staff account made before agency sign-in: it becomes this person's, history kept.
        before = _identity(existing)
        existing.identity_issuer, existing.identity_subject = settings.issuer, subject
        existing.role = role.value
        existing.name = _name(claims) or existing.name
        if not settings.staff_local_passwords:
            existing.password_hash = NO_PASSWORD
        db.session.flush()
        audit.record("account.update", actor=None, target=existing, detail={
            "email": existing.email, "changes": audit.changes(before, _identity(existing)), "by": "agency sign-in"})
        return existing
    user = User(email=email, name=_name(claims), role=role.value, password_hash=NO_PASSWORD, active=True,
                identity_issuer=settings.issuer, identity_subject=subject)
    db.session.add(user)
    db.session.flush()
    audit.record("account.create", actor=None, target=user, detail={
        "email": user.email, "role": user.role, "organisation": None, "by": "agency sign-in",
        "issuer": settings.issuer,
    })
    return user


def record_refusal(refused: Refused, *, ip_address: str) -> None:
    audit.record("login.refused", actor=None, target=refused.user, ip_address=ip_address, detail={
        "email": refused.email or (refused.user.email if refused.user else None), "reason": refused.reason,
        "method": "agency sign-in",
    })


def record_sign_in(user: User, claims: Mapping[str, Any], *, ip_address: str) -> None:
    audit.record("login.success", actor=user, target=user, ip_address=ip_address, detail={
        "email": user.email, "method": "agency sign-in", "amr": claims.get("amr"), "acr": claims.get("acr"),
    })
