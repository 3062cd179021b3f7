"""Links e-mailed to a person: an invitation to a new account (they choose their own
password) and a password reset (forgot password).

A link is a random token (256 bits) of which only the sha256 is stored (``AccountLink``,
like ``ApiToken`` and ``LoginSession``).  It works once, until it expires
(``INVITATION_HOURS``, 72 by default; ``PASSWORD_RESET_MINUTES``, 60), and never after a
newer link of the same kind was sent (a resend revokes the one before) or it was revoked.
Using one sets the person's own password (the policy applies: services.passwords), which
ends every login and API token of the account (``accounts.set_password``).

Forgot password answers the same whether the address has an account or not, and takes as
long: the web request only counts the request against its address's limit and queues a
job; the job looks the address up, makes the link and sends the e-mail (floorplans.jobs).
Requests are limited per address (the request) and per account (the job, silently).

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from floorplans import mail
from floorplans.config import Settings, get_settings
from floorplans.db import after_commit, db, utcnow
from floorplans.errors import Forbidden, InvalidInput, NotFound
from floorplans.models import AccountLink, Organisation, Role, User
from floorplans.models.accounts import LinkKind
from floorplans.services import accounts, audit, quotas

#: An account that has never had a password: no password matches this hash.
NO_PASSWORD = "!"  # noqa: S105  (a hash no password matches, not a password)
#: Forgot-password requests: per address (a script trying addresses), per account (a
#: mailbox flooded with resets).  The account's limit is silent: it must not tell anyone
#: that the address has an account.
RESETS_PER_ADDRESS_PER_HOUR = 10
RESETS_PER_ACCOUNT_PER_HOUR = 3


class LinkState(enum.StrEnum):
    """An invitation's state, in the words of the admin and people pages."""

    WAITING = "waiting"
    ACCEPTED = "accepted"
    EXPIRED = "expired"
    REVOKED = "revoked"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def state(link: AccountLink, now: dt.datetime | None = None) -> LinkState:
    if link.used_at is not None:
        return LinkState.ACCEPTED
    if link.revoked_at is not None:
        return LinkState.REVOKED
    if link.expires_at <= (now or utcnow()):
        return LinkState.EXPIRED
    return LinkState.WAITING


def _lifetime(kind: LinkKind, settings: Settings) -> dt.timedelta:
    if kind is LinkKind.INVITATION:
        return dt.timedelta(hours=settings.invitation_hours)
    return dt.timedelta(minutes=settings.password_reset_minutes)


def _new_link(user: User, kind: LinkKind, *, by: User | None) -> str:
    """A new link for ``user``; the earlier unused links of this kind stop working."""
    now = utcnow()
    db.session.execute(
        update(AccountLink)
        .where(AccountLink.user_id == user.id, AccountLink.kind == kind.value,
               AccountLink.used_at.is_(None), AccountLink.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    token = secrets.token_urlsafe(32)
    db.session.add(AccountLink(
        kind=kind.value, user=user, token_hash=hash_token(token), created_at=now,
        expires_at=now + _lifetime(kind, get_settings()), created_by=by,
    ))
    db.session.flush()
    return token


# --- invitations ---------------------------------------------------------------------------

def may_invite(by: User, role: Role, organisation: Organisation | None) -> bool:
    """Administrators invite anyone; a congregation's partner invites other partners of
    their own congregation (they already manage all of its records)."""
    if Role(by.role) is Role.ADMIN:
        return True
    return (Role(by.role) is Role.PARTNER and role is Role.PARTNER and organisation is not None
            and organisation.id == by.organisation_id)


def invite(*, email: str, name: str, role: str, organisation: Organisation | None, by: User) -> tuple[User, str]:
    """Make the account (no password yet: nobody can sign in to it) and its invitation;
    returns the account and the link's token, for the e-mail.  An account that exists
    without a password (a CSV import's partner, a withdrawn invitation) is invited as it is."""
    errors: dict[str, str] = {}
    address = accounts.normalise_email(email)
    existing = db.session.scalar(select(User).where(User.email == address)) if address else None
    if (existing is not None and existing.password_hash == NO_PASSWORD and existing.identity_issuer is None
            and may_invite(by, Role(existing.role), existing.organisation)):
        existing.active = True
        return existing, invite_account(existing, by=by)
    if not address or "@" not in address or len(address) > 254 or any(ch.isspace() for ch in address):
        errors["email"] = "is not an e-mail address (for example name@example.org)."
    elif existing is not None:
        errors["email"] = "already has an account."
    try:
        role_value = Role(role)
    except ValueError:
        errors["role"] = f"must be one of: {', '.join(r.value for r in Role)}."
        role_value = None
    if role_value is Role.PARTNER and organisation is None:
        errors["organisation"] = "is required for a partner (the congregation they belong to)."
    if role_value is not None and role_value is not Role.PARTNER and organisation is not None:
        errors["organisation"] = "is only for partners; leave it empty for this role."
    if len(name.strip()) > 200:
        errors["name"] = "is too long (at most 200 characters)."
    if errors:
        raise InvalidInput(errors)
    assert role_value is not None
    if not may_invite(by, role_value, organisation):
        raise Forbidden("You can invite people to your own congregation only.")
    user = User(email=address, name=name.strip(), role=role_value.value, organisation=organisation,
                password_hash=NO_PASSWORD, active=True, must_change_password=False)
    db.session.add(user)
    db.session.flush()
    return user, invite_account(user, by=by)


def invite_account(user: User, *, by: User | None) -> str:
    """An invitation for an account that has no password yet (made just now, or by a CSV
    import); returns the link's token, for the e-mail (``invitation_mail``)."""
    if user.password_hash != NO_PASSWORD:
        raise InvalidInput({"email": "has a password already; they can use 'Forgot your password?'."})
    token = _new_link(user, LinkKind.INVITATION, by=by)
    audit.record("invitation.send", actor=by, target=user, detail={
        "email": user.email, "role": user.role, "organisation": user.organisation.name if user.organisation else None,
    })  # fmt: skip
    return token


def invitation_of(link_id: int, *, by: User) -> AccountLink:
    """An invitation ``by`` may resend or revoke; any other is 'not found'."""
    link = db.session.get(AccountLink, link_id)
    if link is None or link.kind != LinkKind.INVITATION.value or not may_invite(
            by, Role(link.user.role), link.user.organisation):
        raise NotFound("No such invitation.")
    return link


def resend(link: AccountLink, *, by: User) -> str:
    """A new link for an invitation not yet accepted (the old one stops working); an
    account whose invitation was revoked is opened again."""
    if link.user.password_hash != NO_PASSWORD:
        raise InvalidInput({"invitation": f"{link.user.email} has accepted it already and signs in with their "
                                          "own password (they can use 'Forgot your password?')."})
    link.user.active = True
    token = _new_link(link.user, LinkKind.INVITATION, by=by)
    audit.record("invitation.resend", target=link.user, detail={"email": link.user.email})
    return token


def revoke(link: AccountLink, *, by: User) -> None:
    """The link stops working; an account that never set a password is disabled with it."""
    if state(link) is not LinkState.WAITING:
        raise InvalidInput({"invitation": f"is {state(link).value} already; there is nothing to revoke."})
    link.revoked_at = utcnow()
    if link.user.password_hash == NO_PASSWORD:
        link.user.active = False
    db.session.flush()
    audit.record("invitation.revoke", target=link.user, detail={"email": link.user.email})


def send_invitations(users: Sequence[User], *, by: User | None) -> list[str]:
    """Invite accounts made without a password (a CSV import's new partners): the links now,
    the e-mails over one SMTP connection once the unit of work is committed.  Returns the
    addresses invited; none when no mail server is set (they wait for an administrator)."""
    settings = get_settings()
    if not mail.is_configured(settings):
        return []
    messages = []
    for user in users:
        subject, body = invitation_mail(user, invite_account(user, by=by), by=by)
        messages.append(mail.message(settings, to=user.email, subject=subject, body=body))

    def send() -> None:
        with mail.connection(settings) as smtp:
            for message in messages:
                smtp.send_message(message)

    after_commit(send)  # a failure is logged; each invitation can be sent again from its list
    return [user.email for user in users]


@dataclass(frozen=True)
class Invitation:
    """One invited account's latest invitation, for the lists."""

    link: AccountLink
    state: LinkState

    @property
    def user(self) -> User:
        return self.link.user


def invitations(organisation: Organisation | None = None) -> list[Invitation]:
    """The latest invitation of each invited account (of one congregation, or all), the
    newest first."""
    query = select(AccountLink).join(User, AccountLink.user_id == User.id).where(
        AccountLink.kind == LinkKind.INVITATION.value).options(  # a CSV import invites hundreds at once
        selectinload(AccountLink.user).selectinload(User.organisation), selectinload(AccountLink.created_by))
    if organisation is not None:
        query = query.where(User.organisation_id == organisation.id)
    latest: dict[int, AccountLink] = {}
    for link in db.session.scalars(query.order_by(AccountLink.id.desc())):
        latest.setdefault(link.user_id, link)
    now = utcnow()
    return [Invitation(link, state(link, now)) for link in latest.values()]


# --- forgot password -----------------------------------------------------------------------

def take_reset_request(ip_address: str) -> None:
    """Count one forgot-password request from this address (the web request's only work,
    the same for any e-mail), or raise ``QuotaExceeded``."""
    wait = quotas.take(f"reset:address:{ip_address}", quotas.Limit(RESETS_PER_ADDRESS_PER_HOUR, 3_600_000))
    if wait:
        raise quotas.QuotaExceeded(
            f"Too many password reset requests from your network. Try again in {quotas.in_words(wait)}, or "
            "ask the service's administrator.", wait)


def reset_link(email: str, *, ip_address: str) -> tuple[User, str] | None:
    """In the job queue, after the request answered: a reset link for the active account
    with a local password at ``email``, or None (no such account, or its hourly limit is
    reached).  Either way recorded in the audit log."""
    address = accounts.normalise_email(email)[:254]
    user = db.session.scalar(select(User).where(User.email == address))
    # Accounts signed in through the agency's identity provider have no local password to reset.
    if user is None or not user.active or user.identity_issuer is not None:
        audit.record("password_reset.request", actor=None, detail={
            "email": address, "sent": False, "reason": "no account with a password to reset"},
            ip_address=ip_address)  # fmt: skip
        return None
    if quotas.take(f"reset:account:{user.id}", quotas.Limit(RESETS_PER_ACCOUNT_PER_HOUR, 3_600_000)):
        audit.record("password_reset.request", actor=user, target=user,
                     detail={"email": user.email, "sent": False, "reason": "hourly limit"}, ip_address=ip_address)
        return None
    token = _new_link(user, LinkKind.RESET, by=None)
    audit.record("password_reset.request", actor=user, target=user, detail={"email": user.email, "sent": True},
                 ip_address=ip_address)
    return user, token


# --- using a link ----------------------------------------------------------------------------

def usable(token: str, kind: LinkKind) -> AccountLink | None:
    """The link of this token if it still works: not used, revoked or expired, of an
    active account.  None otherwise, whatever the reason (the page says one thing)."""
    if not token or len(token) > 100:
        return None
    link = db.session.scalar(select(AccountLink).where(AccountLink.token_hash == hash_token(token)))
    if link is None or link.kind != kind.value or state(link) is not LinkState.WAITING or not link.user.active:
        return None
    return link


def use(link: AccountLink, password: str, confirm: str) -> User:
    """Set the person's own password through the link; the link and every other link of
    theirs stop working, every login and API token of the account ends."""
    if password != confirm:
        raise InvalidInput({"confirm_password": "does not match the password."})
    user = link.user
    kind = LinkKind(link.kind)
    action = "invitation.accept" if kind is LinkKind.INVITATION else "password_reset.use"
    # The policy applies (and, for a reset, not the current password); an invited account
    # has none yet ("!", which no password matches).
    accounts.set_password(user, password, action=action, temporary=False)
    now = utcnow()
    db.session.execute(
        update(AccountLink)
        .where(AccountLink.user_id == user.id, AccountLink.used_at.is_(None), AccountLink.revoked_at.is_(None),
               AccountLink.id != link.id)
        .values(revoked_at=now)
    )
    link.used_at = now
    db.session.flush()
    return user


# --- the e-mails -----------------------------------------------------------------------------

#: The link pages (blueprints/account_links.py): built here, for the job that has no request.
INVITATION_PATH = "/invitation/{token}"
RESET_PATH = "/password-reset/{token}"


def _link(settings: Settings, path: str) -> str:
    return (settings.base_url or "").rstrip("/") + path


def invitation_mail(user: User, token: str, *, by: User | None) -> tuple[str, str]:
    """Subject and body of an invitation."""
    settings = get_settings()
    path = INVITATION_PATH.format(token=token)
    hours = settings.invitation_hours
    where = f" for {user.organisation.name}" if user.organisation else ""
    return (
        f"{settings.service_name}: you are invited{where}",
        f"Hello{' ' + user.name if user.name else ''},\n\n"
        f"{(by.name or by.email) if by else 'The service'} invited you to {settings.service_name}{where}, "
        "where your congregation "
        "keeps the floor plans and emergency contacts that police officers see when they respond.\n\n"
        f"Choose your own password here (the link works once, for {hours:g} hours):\n\n"
        f"{_link(settings, path)}\n\n"
        f"Your sign-in name is {user.email}. If you did not expect this, ignore this e-mail: "
        "no account can be used until a password is chosen.\n",
    )


def reset_mail(user: User, token: str) -> tuple[str, str]:
    settings = get_settings()
    path = RESET_PATH.format(token=token)
    minutes = settings.password_reset_minutes
    return (
        f"{settings.service_name}: choose a new password",
        f"Hello{' ' + user.name if user.name else ''},\n\n"
        f"Someone (we hope you) asked to reset the password of {user.email} on {settings.service_name}. "
        f"Choose a new one here (the link works once, for {minutes:g} minutes):\n\n"
        f"{_link(settings, path)}\n\n"
        "Choosing a new password signs this account out everywhere. If you did not ask, ignore this "
        "e-mail: your password stays as it is.\n",
    )
