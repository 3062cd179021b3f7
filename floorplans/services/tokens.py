"""API bearer tokens: made by an operator, checked on every API request, listed and revoked
by their owner, an administrator or the command line.

A token is the credential of a script or a CAD integration, not of a person: it counts only
under /api/ (``floorplans.auth``), can never change an account (ibid.), may be limited to
reading and to a number of days, and dies with a revocation, a password change or a
disabled account.  Only its sha256 is kept; its first 10 characters (``fpt_`` and 6 more) are
kept to tell tokens apart and are too short to use.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.exc import OperationalError

from floorplans.db import db, utcnow
from floorplans.errors import Conflict, InvalidInput, NotFound
from floorplans.models import ApiToken, Role, User
from floorplans.models.accounts import TokenStatus
from floorplans.services import audit

log = logging.getLogger(__name__)

PREFIX = "fpt_"
SHOWN_CHARACTERS = 10  # "fpt_" and 6 characters of the secret: enough to tell tokens apart
#: "Last used" is written at most this often per token: a write per request would serialise
#: SQLite under a CAD integration's polling (issue 15, item 6).
LAST_USED_GRANULARITY = dt.timedelta(minutes=1)
#: How long that write may wait for a database busy with someone else's write before it is
#: skipped (the time is bookkeeping; it must never hold up an officer's request).
LAST_USED_WAIT_MS = 1000
MAX_EXPIRY_DAYS = 3650

# The reasons kept with a revocation (shown on the admin page and in the CLI's list).
BY_OWNER = "revoked by its owner"
BY_ADMIN = "revoked by an administrator"
BY_OPERATOR = "revoked from the command line"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    user: User, label: str = "", *, expires_in: dt.timedelta | None = None, read_only: bool = False
) -> str:
    """A new bearer token; the caller shows it once, only its hash is kept."""
    if expires_in is not None and not dt.timedelta(days=1) <= expires_in <= dt.timedelta(days=MAX_EXPIRY_DAYS):
        raise InvalidInput({"expires_days": f"must be between 1 and {MAX_EXPIRY_DAYS} days."})
    if not user.active:
        raise InvalidInput({"email": "is a disabled account; enable it first."})
    if user.must_change_password:
        raise InvalidInput({"email": "has a temporary password an administrator set; its owner signs in and "
                                     "chooses their own first, then it can have a token."})
    now = utcnow()
    token = PREFIX + secrets.token_urlsafe(32)
    api_token = ApiToken(
        user=user,
        token_hash=hash_token(token),
        prefix=token[:SHOWN_CHARACTERS],
        label=label.strip()[:200],
        created_at=now,  # the same clock as the account's password_changed_at
        expires_at=now + expires_in if expires_in is not None else None,
        read_only=read_only,
    )
    db.session.add(api_token)
    db.session.flush()
    audit.record("token.create", target=api_token, detail={
        "email": user.email, "prefix": api_token.prefix, "label": api_token.label,
        "expires_at": api_token.expires_at, "scope": api_token.scope,
    })  # fmt: skip
    return token


@dataclass(frozen=True)
class TokenCheck:
    """What a presented token is worth: its row (None when no token has that value) and why it
    works or not."""

    api_token: ApiToken | None
    status: TokenStatus | None

    @property
    def user(self) -> User | None:
        return self.api_token.user if self.api_token is not None and self.status is TokenStatus.ACTIVE else None

    @property
    def message(self) -> str:
        """Why it was refused, for the API client's 401."""
        if self.status is TokenStatus.EXPIRED and self.api_token is not None:
            why = f"expired on {self.api_token.expires_at:%Y-%m-%d %H:%M} UTC"
        else:
            why = "is unknown, was revoked, or ended when its account's password changed or it was disabled"
        return (f"This API token {why}. Send a current one as 'Authorization: Bearer <token>'; "
                "the service's administrator can make a new one.")


def check_token(token: str) -> TokenCheck:
    """The token presented by an API request.  A refused one is recorded (never the token
    itself: its first characters only when it has our prefix); a working one has its "last
    used" time written, at most once a minute, in a transaction of its own."""
    api_token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    now = utcnow()
    if api_token is None:
        audit.record("token.rejected", detail={
            "prefix": token[:SHOWN_CHARACTERS] if token.startswith(PREFIX) else "", "reason": "unknown",
        })  # fmt: skip
        return TokenCheck(None, None)
    status = api_token.status(now)
    if status is not TokenStatus.ACTIVE:
        audit.record("token.rejected", target=api_token, detail={
            "email": api_token.user.email, "prefix": api_token.prefix, "reason": status.value,
        })  # fmt: skip
        return TokenCheck(api_token, status)
    if api_token.last_used_at is None or now - api_token.last_used_at >= LAST_USED_GRANULARITY:
        _note_use(api_token.id, now)
    return TokenCheck(api_token, status)


def _note_use(token_id: int, now: dt.datetime) -> None:
    """Write "last used" in a short transaction of its own, committed at once, so that it is
    kept whatever the request does and never widens the request's own transaction.  It runs
    while the token is checked, before the request's work, on the request's own connection
    (a second connection per request ran the pool dry under a threaded server).  The
    condition makes concurrent requests of one token write once; a busy database skips it
    after a second."""
    statement = (
        update(ApiToken)
        .where(ApiToken.id == token_id)
        .where(or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - LAST_USED_GRANULARITY))
        .values(last_used_at=now)
    )
    try:
        connection = db.session.connection()
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            waited = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
            connection.exec_driver_sql(f"PRAGMA busy_timeout={LAST_USED_WAIT_MS}")
        else:
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = {LAST_USED_WAIT_MS}")
        try:
            db.session.execute(statement.execution_options(synchronize_session=False))
        finally:
            if sqlite:  # pooled: give the next user the connection's usual patience
                connection.exec_driver_sql(f"PRAGMA busy_timeout={int(waited or 0)}")
        db.session.commit()
    except OperationalError as error:
        db.session.rollback()
        log.warning("API token %s: last-used time not written (database busy): %s", token_id, error.orig)


def status(api_token: ApiToken) -> TokenStatus:
    return api_token.status(utcnow())


def tokens_of(user: User) -> list[ApiToken]:
    """An account's tokens, newest first, revoked ones included (with why)."""
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ))  # fmt: skip


def get_revocable(actor: User, token_id: int) -> ApiToken:
    """A token ``actor`` may see and revoke: their own, or anyone's for an administrator.
    Another's is "not found", so ids cannot be probed."""
    api_token = db.session.get(ApiToken, token_id)
    if api_token is None or (api_token.user_id != actor.id and Role(actor.role) is not Role.ADMIN):
        raise NotFound("There is no such token among yours.")
    return api_token


def find_by_prefix(prefix: str) -> ApiToken:
    """The one token whose shown characters start with ``prefix`` (the whole token works
    too), for the command line."""
    shown = prefix.strip()[:SHOWN_CHARACTERS]
    if len(shown) < len(PREFIX) + 2 or not shown.startswith(PREFIX):
        raise InvalidInput({"prefix": f"must be the token's first characters, like {PREFIX}Ab12Cd."})
    found = list(db.session.scalars(select(ApiToken).where(ApiToken.prefix.startswith(shown, autoescape=True))))
    if not found:
        raise NotFound(f"No token starts with {shown}.")
    if len(found) > 1:
        ids = ", ".join(str(t.id) for t in found)
        raise InvalidInput({"prefix": f"matches {len(found)} tokens (ids {ids}); give more characters or --id."})
    return found[0]


def get_by_id(token_id: int) -> ApiToken:
    api_token = db.session.get(ApiToken, token_id)
    if api_token is None:
        raise NotFound(f"There is no token {token_id}.")
    return api_token


def revoke_token(api_token: ApiToken, *, reason: str) -> None:
    if api_token.revoked_at is not None:
        raise Conflict(f"This token was already revoked on {api_token.revoked_at:%Y-%m-%d %H:%M} UTC.")
    api_token.revoked_at = utcnow()
    api_token.revoked_reason = reason[:80]
    db.session.flush()
    audit.record("token.revoke", target=api_token, detail={
        "email": api_token.user.email, "prefix": api_token.prefix, "reason": reason,
    })  # fmt: skip


def revoke_all_tokens(user: User, *, reason: str) -> int:
    """End every token of an account (its password changed, it was disabled): a copied token
    must not outlive the credential or the account that vouched for it."""
    live = [t for t in tokens_of(user) if t.revoked_at is None]
    for api_token in live:
        revoke_token(api_token, reason=reason)
    return len(live)
