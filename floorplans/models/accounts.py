"""Organisations (congregations), user accounts, their login sessions and API tokens.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, false, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.event import listens_for
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship
from sqlalchemy.sql import bindparam, select, update

from floorplans.congregation_names import STORED_COLUMNS, stored_forms
from floorplans.db import Model, utcnow

if TYPE_CHECKING:
    from floorplans.models.buildings import Building


class Role(enum.StrEnum):
    ADMIN = "admin"  # the police service's own staff
    PARTNER = "partner"  # a member of one congregation; edits only its buildings
    OFFICER = "officer"  # read-only, every building
    PLANNER = "planner"  # read-only, every building; own exercise layers

    @property
    def label(self) -> str:
        return {
            "admin": "Service administrator",
            "partner": "Faith partner",
            "officer": "Patrol officer",
            "planner": "Emergency planner",
        }[self.value]


FAITH_TRADITIONS = (
    "Christian",
    "Muslim",
    "Jewish",
    "Sikh",
    "Hindu",
    "Buddhist",
    "Bahá'í",
    "Indigenous spirituality",
    "Other",
)


# Byte order on PostgreSQL, whatever the database's collation: offered names are ordered as
# Python orders the folded names (code points), as SQLite's default (binary) order does.
FOLDED = Text().with_variant(Text(collation="C"), "postgresql")


class Organisation(Model):
    """A congregation: the owner of one or more buildings, with partner members."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    faith_tradition: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # The name as the congregation choice searches it (``congregation_names.stored_forms``),
    # kept by the listeners below whenever the ORM writes the name; a bulk insert that
    # bypasses the ORM calls ``index_for_choosing``.  Folded lower case, so LIKE agrees on
    # SQLite (case-blind for ASCII) and PostgreSQL (case-sensitive).
    name_words: Mapped[str] = mapped_column(FOLDED, default="", server_default="")  # " eglise saint st remi "
    same_name: Mapped[str] = mapped_column(FOLDED, default="", server_default="", index=True)  # a typed name's lookup
    plain_name: Mapped[str] = mapped_column(FOLDED, default="", server_default="")  # "saint marys": starts alike?
    folded_name: Mapped[str] = mapped_column(FOLDED, default="", server_default="")  # the order matches are offered in

    members: Mapped[list[User]] = relationship(back_populates="organisation", order_by="User.email")
    buildings: Mapped[list[Building]] = relationship(
        back_populates="organisation", order_by="Building.name"
    )


def _store_forms(organisation: Organisation) -> None:
    for column, value in stored_forms(organisation.name or "").items():
        setattr(organisation, column, value)


@listens_for(Organisation, "before_insert")
def _fold_new_name(mapper: Mapper[Organisation], connection: Connection, organisation: Organisation) -> None:
    _store_forms(organisation)


@listens_for(Organisation, "before_update")
def _fold_changed_name(mapper: Mapper[Organisation], connection: Connection, organisation: Organisation) -> None:
    if inspect(organisation).attrs.name.history.has_changes():
        _store_forms(organisation)


def index_for_choosing(connection: Connection, organisation_ids: Iterable[int] | None = None, *,
                       batch: int = 1000) -> None:
    """Fold again the names of ``organisation_ids`` (every congregation when None) into the
    columns the congregation choice searches, a batch at a time: for rows written without
    the ORM (bulk loads), which the listeners above never see."""
    if organisation_ids is None:
        organisation_ids = connection.scalars(select(Organisation.id)).all()
    ids = sorted(set(organisation_ids))
    # Bound names unlike the columns' (SQLAlchemy keeps those for the SET clause).
    statement = (update(Organisation).where(Organisation.id == bindparam("row_id"))
                 .values({column: bindparam(f"new_{column}") for column in STORED_COLUMNS}))
    for start in range(0, len(ids), batch):
        rows = connection.execute(select(Organisation.id, Organisation.name)
                                  .where(Organisation.id.in_(ids[start:start + batch]))).all()
        if rows:
            connection.execute(statement, [{"row_id": row.id} | {f"new_{column}": value for column, value
                                                                 in stored_forms(row.name).items()}
                                           for row in rows])


class User(Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    password_changed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # TOTP two-factor login (RFC 6238): the base32 key once enrolled, sealed with a key the
    # database does not hold (floorplans.secrets_at_rest), and the last time step accepted,
    # so that one code cannot be used twice.  (Failed sign-ins are counted in AttemptCounter.)
    totp_secret_sealed: Mapped[str | None] = mapped_column(String(200))
    totp_enabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    # Agency sign-in (OpenID Connect): the provider's issuer and its stable subject for this
    # person, set at the first agency sign-in; such an account has no usable local password
    # (password_hash is "!", which no password matches).
    identity_issuer: Mapped[str | None] = mapped_column(String(300))
    identity_subject: Mapped[str | None] = mapped_column(String(255))
    # The agency a responder belongs to, shown in a congregation's access log ("Oakville Fire").
    agency: Mapped[str] = mapped_column(String(120), default="", server_default="")
    # A password an administrator set (a temporary one) must be replaced at the next sign-in.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    organisation: Mapped[Organisation | None] = relationship(back_populates="members")

    __table_args__ = (Index("uq_users_identity", "identity_issuer", "identity_subject", unique=True),)

    # Flask-Login's user protocol.  The login session in use is attached by the loader,
    # so that get_id() names the server-side session, never the user row.  Not a column: a
    # type comment, which SQLAlchemy's declarative scan of annotations does not read.
    login_session_id = None  # type: str | None

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        return self.login_session_id

    @property
    def has_two_factor(self) -> bool:
        return self.totp_enabled_at is not None and bool(self.totp_secret_sealed)

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class LoginSession(Model):
    """A server-side record of one browser's login: logout or a password change deletes it,
    so a copied session cookie stops working at once."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    ip_address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")

    user: Mapped[User] = relationship()


class TokenStatus(enum.StrEnum):
    """Why a bearer token works or not; the same words on the admin page, in the CLI, in
    the API's list and in the audit event of a refused token."""

    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"
    PASSWORD_CHANGED = "password changed"  # noqa: S105  (its account's password changed after it was made)
    ACCOUNT_DISABLED = "account disabled"


class ApiToken(Model):
    """A bearer token for CAD integrations and scripts; only its sha256 is stored.  It counts
    only under /api/ (floorplans.auth), never changes accounts (ibid.), and dies with a
    revocation, its expiry, a password change or a disabled account."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown to tell tokens apart
    label: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # Written at most once a minute, in a transaction of its own (services.accounts).
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Who or what ended it, in words: "revoked by an administrator", "password changed"...
    revoked_reason: Mapped[str] = mapped_column(String(80), default="", server_default="")
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # None: until revoked
    # A CAD integration's token: GET only; any write answers 403.
    read_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    user: Mapped[User] = relationship()

    def status(self, now: dt.datetime) -> TokenStatus:
        if self.revoked_at is not None:
            return TokenStatus.REVOKED
        if not self.user.active:
            return TokenStatus.ACCOUNT_DISABLED
        # A password set by any path ends older tokens, even one that forgot to revoke them.
        if self.user.password_changed_at is not None and self.created_at < self.user.password_changed_at:
            return TokenStatus.PASSWORD_CHANGED
        if self.expires_at is not None and self.expires_at <= now:
            return TokenStatus.EXPIRED
        return TokenStatus.ACTIVE

    @property
    def scope(self) -> str:
        return "read-only" if self.read_only else "read-write"


class AttemptCounter(Model):
    """Failed attempts of one kind from one source (services.attempts): one row per key,
    e.g. "address 192.0.2.7" or "account 42 from 192.0.2.7", changed only by single
    conditional UPDATEs so that concurrent attempts cannot overtake the limit."""

    __tablename__ = "attempt_counters"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    # Whose sign-in or form it counts (None: an address's), and from which address key:
    # what an unlock clears.  No foreign key: counters outlive nothing and block no delete.
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    address: Mapped[str] = mapped_column(String(64), default="")
    failures: Mapped[int] = mapped_column(Integer, default=0)  # including attempts being checked now
    window_started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)


class LinkKind(enum.StrEnum):
    INVITATION = "invitation"  # a new account's first password (72 h by default)
    RESET = "reset"  # forgot password (an hour by default)


class AccountLink(Model):
    """A single-use link e-mailed to a person: an invitation to set their first password or a
    password reset.  Only the token's sha256 is stored; a link works until it is used,
    revoked (a resend revokes the one before) or expires (services.account_links)."""

    __tablename__ = "account_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Who sent it (an administrator, a congregation's partner); None: the person asked (reset).
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
